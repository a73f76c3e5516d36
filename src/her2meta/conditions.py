"""Row conditions of a mapping's `filter:` (and of `reduce: {any: ...}`): which values a condition
keeps, and the exclusion reason, which is the condition's negation ("ITTFL is not 'Y'"), never
the kept condition.

A blank (empty text, or an empty numeric or date cell) is written "" in a condition. Comparisons
(gt, ge, lt, le) read numbers; a blank fails them, so the subject is excluded as "... or missing".
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import pandas as pd

OPERATORS = ("equals", "in", "not_in", "gt", "ge", "lt", "le", "not_missing")
COMPARISONS = {"gt": (np.greater, "above", "{v} or below"), "ge": (np.greater_equal, "at least", "below {v}"),
               "lt": (np.less, "below", "{v} or above"), "le": (np.less_equal, "at most", "above {v}")}
# A plain decimal number: no "nan", "inf", "1_000" or hex, which float() would also take.
# The one definition: mapping and reductions read numbers with it too.
NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


class NotNumbers(ValueError):
    """A comparison met values that are not numbers; `counts` maps each to its row count."""

    def __init__(self, counts: pd.Series):
        self.counts = counts
        super().__init__(", ".join(f"{v!r} ({n} rows)" for v, n in counts.head(10).items()))


def operator(cond: dict[str, Any]) -> str:
    return next(op for op in OPERATORS if op in cond)


def keep_mask(values: pd.Series, cond: dict[str, Any], canonical: Callable[[Any], str | None], decimal: str = ".") -> pd.Series:
    """True for the rows (or subjects) the condition keeps."""
    codes = values.map(canonical)
    blank = codes.isna() | (codes == "")
    op = operator(cond)
    if op == "not_missing":
        return ~blank
    if op in COMPARISONS:
        numbers = _numbers(codes.where(~blank, None), decimal)
        compare = COMPARISONS[op][0]
        return pd.Series(compare(numbers.fillna(np.nan).to_numpy(dtype=float), float(cond[op])), index=values.index) & ~blank
    targets = [cond["equals"]] if op == "equals" else cond[op]
    wanted = {canonical(t) for t in targets}
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
    subject = _subject(cond)
    op = operator(cond)
    if op == "not_missing":
        return f"{subject} is not missing"
    if op in COMPARISONS:
        return f"{subject} is {COMPARISONS[op][1]} {cond[op]}"
    if op == "equals":
        return f"{subject} is {_shown(cond['equals'])}"
    listed = ", ".join(map(_shown, cond[op]))
    return f"{subject} is one of {listed}" if op == "in" else f"{subject} is none of {listed}"


def exclusion_reason(cond: dict[str, Any]) -> str:
    """Why a row (or subject) failing the condition is excluded: the user's reason, else the negation."""
    if cond.get("reason"):
        return cond["reason"]
    subject = _subject(cond)
    op = operator(cond)
    absent = f" (or no {cond['dataset']} record)" if cond.get("dataset") else ""
    if op == "not_missing":
        return f"{subject} is missing{absent}"
    if op in COMPARISONS:
        return f"{subject} is {COMPARISONS[op][2].format(v=cond[op])}, or missing{absent}"
    if op == "equals":
        return f"{subject} is not {_shown(cond['equals'])}{absent}"
    listed = ", ".join(map(_shown, cond[op]))
    if op == "in":
        return f"{subject} is none of {listed}{absent}"
    return f"{subject} is {listed}" if len(cond[op]) == 1 else f"{subject} is one of {listed}"


def _subject(cond: dict[str, Any]) -> str:
    return f"{cond['dataset']}.{cond['column']}" if cond.get("dataset") else cond["column"]
