"""Clinical derivations of the harmonized data model (see docs/methods/derivations.md).

Every public function works on pandas Series, returns new objects carrying the input index
and never mutates its inputs. Missing values (None, NaN, pd.NA, NaT and blank strings) map
explicitly to ``"unknown"`` or ``<NA>``; a value outside a field's vocabulary raises
:class:`DerivationError` naming the field, each offending value with its row count, and what
to do. Callers add the study and file names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DerivationError",
    # receptors
    "receptor_status_from_percent", "er_low", "hr_status", "normalize_status",
    # her2
    "normalize_ihc", "normalize_ihc0_staining", "ish_group", "her2_status", "ish_candidates", "her2_unknown_reasons",
    # pcr
    "parse_ypt", "parse_ypn", "pcr_variants", "pcr_consistency",
    # response
    "normalize_bor", "objective_response",
    # drugs
    "DrugDictionary", "Regimen", "parse_regimen", "parse_regimens", "DECLARED_CLASSES",
]

_MAX_LISTED = 20


class DerivationError(ValueError):
    """A source value cannot be derived into a harmonized field.

    ``value`` and ``count`` are either scalars or equally long sequences (one count per
    offending value). ``counts`` gives them as a ``{value: rows}`` dict.
    """

    def __init__(self, field: str, value: Any, count: Any = None, hint: str = "") -> None:
        self.field, self.value, self.count, self.hint = field, value, count, hint
        if isinstance(value, (list, tuple)):
            counts = list(count) if isinstance(count, (list, tuple)) else [count] * len(value)
            self.counts = dict(zip(value, counts))
        else:
            self.counts = {value: count}
        shown = [f"{v!r}{_rows(n)}" for v, n in list(self.counts.items())[:_MAX_LISTED]]
        more = len(self.counts) - len(shown)
        listed = ", ".join(shown) + (f", ... and {more} more" if more > 0 else "")
        super().__init__(
            f"field {field!r}: {len(self.counts)} value(s) cannot be derived: {listed}. {hint}".strip()
        )

    def __reduce__(self):  # keep the exception picklable (multiprocessing, Snakemake)
        return (self.__class__, (self.field, self.value, self.count, self.hint))


def _rows(n: Any) -> str:
    return "" if n is None else f" ({n} row{'s' if n != 1 else ''})"


# ---------------------------------------------------------------------------------------
# Shared helpers for the submodules (private)


def _series(x: Any, name: str | None = None) -> pd.Series:
    """Accept a Series as is (never copied or changed); wrap other array-likes."""
    if isinstance(x, pd.Series):
        return x
    return pd.Series(x, name=name, dtype=object if not hasattr(x, "dtype") else None)


def _same_index(*series: pd.Series) -> None:
    first = series[0].index
    for s in series[1:]:
        if not first.equals(s.index):
            raise ValueError("input Series must share the same index (align them first)")


def _missing_mask(s: pd.Series) -> np.ndarray:
    """True for None, NaN, pd.NA, NaT and blank/whitespace-only strings."""
    miss = s.isna().to_numpy(dtype=bool)
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        blank = np.fromiter(
            (isinstance(v, str) and not v.strip() for v in s.array), dtype=bool, count=len(s)
        )
        miss = miss | blank
    return miss


def _raise_bad(field: str, bad: dict, hint: str) -> None:
    if bad:
        raise DerivationError(field, list(bad), list(bad.values()), hint)


def _translate(
    s: pd.Series,
    fn: Callable[[Any], Any],
    *,
    field: str,
    hint: str,
    missing: Any = pd.NA,
    dtype: str | None = "string",
    name: Hashable | None = None,
) -> pd.Series:
    """Map each distinct non-missing value once through ``fn``.

    ``fn`` returns the canonical value or raises KeyError/ValueError/TypeError for a value
    outside the vocabulary; all such values are collected into one DerivationError.
    """
    miss = _missing_mask(s)
    present = s[~miss]
    mapping: dict = {}
    bad: dict = {}
    for v, n in present.value_counts(sort=False).items():
        if n == 0:  # unused categories of a Categorical
            continue
        try:
            mapping[v] = fn(v)
        except (KeyError, ValueError, TypeError):
            bad[v] = int(n)
    _raise_bad(field, bad, hint)
    out = np.full(len(s), missing, dtype=object)
    if len(present):
        out[~miss] = [mapping[v] for v in present.array]
    return pd.Series(out, index=s.index, dtype=dtype, name=s.name if name is None else name)


_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)


def _parse_number(v: Any) -> float:
    if isinstance(v, (bool, np.bool_)):
        raise TypeError("boolean is not a number")
    if isinstance(v, str):
        if not _NUMBER.match(v.strip()):
            raise ValueError(v)
        v = v.strip()
    x = float(v)
    if not math.isfinite(x):
        raise ValueError("not finite")
    return x


def _numeric(
    s: pd.Series, *, field: str, lo: float | None, hi: float | None, hint: str
) -> pd.Series:
    """Float Series (NaN for missing); non-numbers or values outside [lo, hi] raise."""
    if pd.api.types.is_bool_dtype(s.dtype):
        x = _translate(s, _parse_number, field=field, hint=hint, missing=np.nan, dtype="float64")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        x = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index, name=s.name)
    else:
        x = _translate(s, _parse_number, field=field, hint=hint, missing=np.nan, dtype="float64")
    arr = x.to_numpy()
    out = np.isinf(arr)
    if lo is not None:
        out |= arr < lo
    if hi is not None:
        out |= arr > hi
    if out.any():
        bad = pd.Series(arr[out]).value_counts(sort=False)
        _raise_bad(field, {float(k): int(v) for k, v in bad.items()}, hint)
    return x


from .receptors import er_low, hr_status, normalize_status, receptor_status_from_percent  # noqa: E402
from .her2 import her2_status, her2_unknown_reasons, ish_candidates, ish_group, normalize_ihc, normalize_ihc0_staining  # noqa: E402
from .pcr import parse_ypn, parse_ypt, pcr_consistency, pcr_variants  # noqa: E402
from .response import normalize_bor, objective_response  # noqa: E402
from .drugs import DECLARED_CLASSES, DrugDictionary, Regimen, parse_regimen, parse_regimens  # noqa: E402
