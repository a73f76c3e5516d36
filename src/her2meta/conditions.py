"""Row conditions of a mapping's `filter:` (and of `reduce: {any: ...}`): which values a condition
keeps, and the exclusion reason, which is the condition's negation ("ITTFL is not 'Y'"), never
the kept condition.

A blank (empty text, or an empty numeric or date cell) is written "" in a condition. Comparisons
(gt, ge, lt, le) read numbers; a blank fails them, so the subject is excluded as "... or missing".
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

OPERATORS = ("equals", "in", "not_in", "gt", "ge", "lt", "le", "not_missing")
COMPARISONS = {"gt": np.greater, "ge": np.greater_equal, "lt": np.less, "le": np.less_equal}
# op -> (what the condition keeps, why a row failing it is excluded: its negation). {v}: the value
# or values; {absent}: " (or no DS record)" for a condition on another dataset; {one_of}: "one of "
# before several values.
_PHRASES = {
    "not_missing": ("is not missing", "is missing{absent}"),
    "gt": ("is above {v}", "is {v} or below, or missing{absent}"),
    "ge": ("is at least {v}", "is below {v}, or missing{absent}"),
    "lt": ("is below {v}", "is {v} or above, or missing{absent}"),
    "le": ("is at most {v}", "is above {v}, or missing{absent}"),
    "equals": ("is {v}", "is not {v}{absent}"),
    "in": ("is one of {v}", "is none of {v}{absent}"),
    "not_in": ("is none of {v}", "is {one_of}{v}"),
}
# A plain decimal number: no "nan", "inf", "1_000" or hex, which float() would also take.
# The one definition: mapping and reductions read numbers with it too.
NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


class NotNumbers(ValueError):
    """A comparison met values that are not numbers; `counts` maps each to its row count."""

    def __init__(self, counts: pd.Series):
        self.counts = counts
        super().__init__(", ".join(f"{v!r} ({n} rows)" for v, n in counts.head(10).items()))


def canonical_code(value: Any) -> str | None:
    """The string form under which a source value is looked up in a code map or a condition."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip()


def is_blank(value: Any) -> bool:
    """Missing or empty: None, NaN, NA, NaT, or text of only spaces."""
    return canonical_code(value) in (None, "")


def operator(cond: dict[str, Any]) -> str:
    return next(op for op in OPERATORS if op in cond)


def keep_mask(values: pd.Series, cond: dict[str, Any], decimal: str = ".") -> pd.Series:
    """True for the rows (or subjects) the condition keeps."""
    codes = values.map(canonical_code)
    blank = codes.isna() | (codes == "")
    op = operator(cond)
    if op == "not_missing":
        return ~blank
    if op in COMPARISONS:
        numbers = _numbers(codes.where(~blank, None), decimal)
        compare = COMPARISONS[op]
        return pd.Series(compare(numbers.to_numpy(dtype=float), float(cond[op])), index=values.index) & ~blank
    targets = [cond["equals"]] if op == "equals" else cond[op]
    wanted = {canonical_code(t) for t in targets}
    hit = codes.isin(wanted - {""}) | (blank & ("" in wanted))
    return ~hit if op == "not_in" else hit


def _numbers(codes: pd.Series, decimal: str) -> pd.Series:
    text = codes.map(lambda c: None if c is None else (c.replace(",", ".") if decimal == "," else c))
    bad = text.notna() & ~text.map(lambda t: t is not None and bool(NUMBER.match(t)))
    if bad.any():
        raise NotNumbers(codes[bad].value_counts())
    return text.map(lambda t: np.nan if t is None else float(t)).astype(float)


def _shown(value: Any) -> str:
    return "blank" if value == "" else repr(value)


def describe_kept(cond: dict[str, Any]) -> str:
    """The condition as written: what it keeps."""
    return _phrase(cond, 0)


def exclusion_reason(cond: dict[str, Any]) -> str:
    """Why a row (or subject) failing the condition is excluded: the user's reason, else the negation."""
    return cond.get("reason") or _phrase(cond, 1)


def _phrase(cond: dict[str, Any], which: int) -> str:
    op = operator(cond)
    value, one_of = cond[op], ""
    if op in ("in", "not_in"):
        value, one_of = ", ".join(map(_shown, cond[op])), "" if len(cond[op]) == 1 else "one of "
    elif op == "equals":
        value = _shown(value)
    absent = f" (or no {cond['dataset']} record)" if cond.get("dataset") else ""
    return f"{_subject(cond)} " + _PHRASES[op][which].format(v=value, absent=absent, one_of=one_of)


def _subject(cond: dict[str, Any]) -> str:
    return f"{cond['dataset']}.{cond['column']}" if cond.get("dataset") else cond["column"]
