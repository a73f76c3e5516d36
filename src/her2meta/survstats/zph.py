"""Proportional-hazards test as R survival 3.x ``cox.zph(fit, transform = ...)``.

Since survival 3.0, cox.zph is a score test (zph1.c), not Grambsch-Therneau's regression of
scaled Schoenfeld residuals on g(t). At the fitted beta, each covariate x_j is augmented with
x_j * g(t), where g is the transformed time centred at its mean over the events; the statistic
for a term is u' I^-1 u with u = (0, U_g) (the score of the new terms; the score of the fitted
terms is set to 0) and I the 2p x 2p information at beta restricted to the fitted terms plus
that term's time interaction. GLOBAL uses all p interactions together (df = p).

transform = "km": g(t) = 1 - S(t-) with S the Kaplan-Meier curve of all patients (ignoring
strata); "rank": rank of the time among all observed times (average ties); "identity": t;
"log": log t.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import SurvivalError, as_binary, as_labels, as_matrix, as_time, check_lengths
from ._efron import CoxData
from .cox import cox_fit
from .km import km_table
from .. import distributions as dist

TRANSFORMS = ("km", "rank", "identity", "log")


def _gtime(t: np.ndarray, d: np.ndarray, transform: str) -> np.ndarray:
    if transform == "km":
        ut, *_rest, surv, _v = km_table(t, d)
        s_before = np.r_[1.0, surv][np.searchsorted(ut, t, side="left")]  # S(t-)
        return 1.0 - s_before
    if transform == "rank":
        from scipy.stats import rankdata

        return rankdata(t)
    if transform == "log":
        if (t <= 0).any():
            raise SurvivalError("ph_test: transform='log' needs all times > 0; use transform='km' or 'rank'")
        return np.log(t)
    return t.copy()


def ph_test(time, event, X, *, transform: str = "km", ties: str = "efron", strata=None) -> dict[str, Any]:
    """Test of proportional hazards for each covariate and globally, as R ``cox.zph(coxph(...))``.

    The Cox model is fitted with :func:`cox_fit` (``ties``, ``strata`` as there). Returns
    ``{"covariates": {name: {"chisq", "df", "p"}}, "global": {"chisq", "df", "p"},
    "transform", "ties", "n", "events", "estimable", "reason"}``; when the Cox model has no
    finite estimate the test is not estimable either (NaN statistics, the fit's reason).
    """
    func = "ph_test"
    if transform not in TRANSFORMS:
        raise SurvivalError(f"{func}: transform must be one of {TRANSFORMS}; got {transform!r}")
    t = as_time(time, func)
    d = as_binary(event, func, "event")
    x, names = as_matrix(X, func)
    s = as_labels(strata, func, "strata") if strata is not None else None
    n = check_lengths(func, time=t, event=d, X=x, strata=s)
    fit = cox_fit(t, d, pd.DataFrame(x, columns=names), ties=ties, strata=s)
    nan_row = {"chisq": float("nan"), "df": 1, "p": float("nan")}
    out: dict[str, Any] = {"covariates": {nm: dict(nan_row) for nm in names},
                           "global": {"chisq": float("nan"), "df": len(names), "p": float("nan")},
                           "transform": transform, "ties": ties, "n": n, "events": int(d.sum()),
                           "estimable": False, "reason": None}
    if not fit.estimable:
        out["reason"] = f"the Cox model is not estimable: {fit.reason}"
        return out
    g = _gtime(t, d.astype(float), transform)
    g = g - g[d == 1].mean()
    strata_codes = s if s is not None else np.zeros(n, dtype=np.int64)
    data = CoxData(t, d.astype(float), x, strata_codes, ties)
    beta = fit._beta
    etime, _strat, u_t, v_t = data.per_event_time(beta)
    # g depends on the time only (it is computed over all patients), so look it up by time
    ut, first = np.unique(t, return_index=True)
    gk = g[first][np.searchsorted(ut, etime)]
    p = x.shape[1]
    u2 = (gk[:, None] * u_t).sum(axis=0)
    i11 = v_t.sum(axis=0)
    i12 = (gk[:, None, None] * v_t).sum(axis=0)
    i22 = (gk[:, None, None] ** 2 * v_t).sum(axis=0)
    imat = np.block([[i11, i12], [i12.T, i22]])
    u = np.r_[np.zeros(p), u2]
    # all events at one time (g = 0 at every event) or a time interaction without information
    if np.linalg.matrix_rank(imat) < 2 * p or np.allclose(gk, 0):
        out["reason"] = ("the time-interaction terms carry no information (e.g. all events at a single time): "
                         "no proportional-hazards test")
        return out
    for j, nm in enumerate(names):
        kk = np.r_[np.arange(p), p + j]
        uu = u[kk]
        chisq = float(uu @ np.linalg.solve(imat[np.ix_(kk, kk)], uu))
        out["covariates"][nm] = {"chisq": chisq, "df": 1, "p": float(dist.chi2_sf(chisq, 1))}
    chisq = float(u @ np.linalg.solve(imat, u))
    out["global"] = {"chisq": chisq, "df": p, "p": float(dist.chi2_sf(chisq, p))}
    out["estimable"] = True
    return out
