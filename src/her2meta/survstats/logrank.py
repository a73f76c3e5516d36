"""Two-group log-rank test as R ``survdiff(Surv(time, event) ~ group (+ strata(s)))``, with the
Peto one-step log hazard ratio (O - E)/V used by the EBCTCG overviews."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_binary, as_labels, as_time, check_lengths
from .. import distributions as dist


def _o_e_v(t: np.ndarray, d: np.ndarray, g: np.ndarray) -> tuple[float, float, float]:
    """Observed and expected events in group 1 and the hypergeometric variance, one stratum."""
    ut, inv = np.unique(t, return_inverse=True)
    n_at = np.bincount(inv, minlength=len(ut)).astype(float)
    n1_at = np.bincount(inv, weights=g, minlength=len(ut))
    dead = np.bincount(inv, weights=d, minlength=len(ut))
    dead1 = np.bincount(inv, weights=d * g, minlength=len(ut))
    n = len(t) - np.r_[0.0, np.cumsum(n_at)[:-1]]  # at risk: time >= u
    n1 = g.sum() - np.r_[0.0, np.cumsum(n1_at)[:-1]]
    ev = dead > 0
    n, n1, dead = n[ev], n1[ev], dead[ev]
    e1 = dead * n1 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(n > 1, dead * (n1 / n) * (1 - n1 / n) * (n - dead) / (n - 1), 0.0)
    return float(dead1.sum()), float(e1.sum()), float(v.sum())


def logrank(time, event, group, *, strata=None) -> dict[str, Any]:
    """Log-rank test of group 1 (exposed) vs group 0 (reference), as R ``survdiff`` (rho = 0).

    Returns ``observed`` / ``expected`` (events in the exposed group), ``observed_reference`` /
    ``expected_reference``, ``o_minus_e`` = O - E for the exposed group, ``variance`` = V (the
    hypergeometric variance, survdiff's ``var[2, 2]``), ``chisq`` = (O - E)^2 / V, ``df`` = 1,
    ``pval``, ``log_hr_peto`` = (O - E)/V, ``se_peto`` = 1/sqrt(V), ``hr_peto``, ``n``, ``events``,
    ``estimable`` and ``reason``. With ``strata``, O - E and V are summed over strata (survdiff
    with ``+ strata(s)``).
    """
    func = "logrank"
    t = as_time(time, func)
    d = as_binary(event, func, "event").astype(float)
    g = as_binary(group, func, "group").astype(float)
    s = as_labels(strata, func, "strata") if strata is not None else None
    n = check_lengths(func, time=t, event=d, group=g, strata=s)
    nan = float("nan")
    out: dict[str, Any] = {"observed": nan, "expected": nan, "observed_reference": nan, "expected_reference": nan,
                           "o_minus_e": nan, "variance": nan, "chisq": nan, "df": 1, "pval": nan,
                           "log_hr_peto": nan, "se_peto": nan, "hr_peto": nan, "n": n, "events": int(d.sum()),
                           "n_strata": int(len(np.unique(s))) if (s is not None and n) else 1,
                           "estimable": False, "reason": None}
    n1 = int(g.sum())
    if n1 < 2 or n - n1 < 2:
        out["reason"] = (f"fewer than 2 patients in a group ({n1} exposed, {n - n1} reference): "
                         "no log-rank comparison")
        return out
    if d.sum() == 0:
        out["reason"] = "no events: the log-rank statistic is undefined"
        return out
    o = e = v = 0.0
    for lab in (np.unique(s) if s is not None else [None]):
        m = slice(None) if lab is None else (s == lab)
        oo, ee, vv = _o_e_v(t[m], d[m], g[m])
        o, e, v = o + oo, e + ee, v + vv
    events = float(d.sum())
    out.update(observed=o, expected=e, observed_reference=events - o, expected_reference=events - e,
               o_minus_e=o - e, variance=v)
    if not v > 0:
        out["reason"] = "the log-rank variance is 0 (no event time with patients of both groups at risk)"
        return out
    chisq = (o - e) ** 2 / v
    out.update(chisq=chisq, pval=float(dist.chi2_sf(chisq, 1)), log_hr_peto=(o - e) / v, se_peto=1 / math.sqrt(v),
               hr_peto=math.exp((o - e) / v), estimable=True)
    return out
