"""ER, PgR and hormone-receptor status (ASCO/CAP 2020 ER/PgR testing guideline update).

ER (and PgR) is positive when 1-100% of tumour nuclei stain, negative below 1%; 1-10% is the
"ER Low Positive" reporting category. HR status follows the trial convention: HR-positive
when ER and/or PgR is positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _numeric, _same_index, _series, _translate

STATUSES = ("positive", "negative", "unknown")


def receptor_status_from_percent(percent, threshold: float = 1.0, field: str | None = None) -> pd.Series:
    """positive if percent >= threshold, negative below it, unknown when missing.

    ASCO/CAP 2020: positive = 1-100% of nuclei (default threshold 1.0; 10 is the usual
    sensitivity cut-off). Values outside 0..100 raise DerivationError.
    """
    s = _series(percent)
    if not 0 < threshold <= 100:
        raise ValueError(f"threshold must be in (0, 100], got {threshold!r}")
    field = field or str(s.name or "receptor_percent")
    x = _numeric(s, field=field, lo=0.0, hi=100.0,
                 hint="Percentages of stained nuclei must be numbers in 0..100; fix the source or the mapping's code map.")
    arr = x.to_numpy()
    out = np.where(np.isnan(arr), "unknown", np.where(arr >= threshold, "positive", "negative"))
    return pd.Series(out, index=s.index, dtype="string", name=s.name)


def er_low(er_percent) -> pd.Series:
    """ASCO/CAP 2020 "ER Low Positive": True for 1 <= ER% <= 10, False otherwise, <NA> if missing."""
    s = _series(er_percent)
    x = _numeric(s, field=str(s.name or "er_percent"), lo=0.0, hi=100.0,
                 hint="ER percentages must be numbers in 0..100.")
    arr = x.to_numpy()
    out = pd.array((arr >= 1.0) & (arr <= 10.0), dtype="boolean")
    out[np.isnan(arr)] = pd.NA
    return pd.Series(out, index=s.index, name="er_low")


def normalize_status(status, field: str = "receptor_status") -> pd.Series:
    """Case/whitespace-insensitive check of positive/negative/unknown; missing -> unknown."""
    s = _series(status)

    def fn(v):
        key = v.strip().lower() if isinstance(v, str) else None
        if key not in STATUSES:
            raise KeyError(v)
        return key

    return _translate(s, fn, field=field, missing="unknown",
                      hint=f"Allowed values: {', '.join(STATUSES)}; recode other source labels in the study mapping.")


def hr_status(er_status, pr_status) -> pd.Series:
    """HR status: positive if ER or PgR positive; negative only if both negative; else unknown.

    ER negative with PgR unknown is unknown (a missing PgR could be positive).
    """
    er = normalize_status(er_status, "er_status")
    pr = normalize_status(pr_status, "pr_status")
    _same_index(er, pr)
    e, p = er.to_numpy(dtype=object), pr.to_numpy(dtype=object)
    out = np.where((e == "positive") | (p == "positive"), "positive",
                   np.where((e == "negative") & (p == "negative"), "negative", "unknown"))
    return pd.Series(out, index=er.index, dtype="string", name="hr_status")
