"""Kaplan-Meier estimate as R ``survfit(Surv(time, event) ~ 1, conf.type = ...)`` (survival 3.5-3)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import SurvivalError, as_binary, as_time, check_lengths, check_level
from .. import distributions as dist

CONF_TYPES = ("log-log", "log")


def km_table(t: np.ndarray, d: np.ndarray):
    """Distinct observed times (events and censorings) with n_risk, n_event, n_censor, S(t) and
    Greenwood's var(log S) = sum d/(n(n-d)) (inf once n == d, as survfit's std.err)."""
    ut, inv = np.unique(t, return_inverse=True)
    n_event = np.bincount(inv, weights=d, minlength=len(ut))
    n_all = np.bincount(inv, minlength=len(ut)).astype(float)
    n_censor = n_all - n_event
    n_risk = len(t) - np.r_[0.0, np.cumsum(n_all)[:-1]]
    surv = np.cumprod(1.0 - n_event / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    varlog = np.cumsum(term)
    return ut, n_risk, n_event, n_censor, surv, varlog


def confint(surv: np.ndarray, se_log: np.ndarray, conf_type: str, conf_level: float):
    """survfit's pointwise interval (survfit_confint). S = 0 gives NaN like R's NA; for
    "log-log" R also gives NA where S = 1 -- here the limit (1, 1) is returned instead."""
    z = dist.norm_ppf(0.5 + conf_level / 2)
    lower = np.full(surv.shape, np.nan)
    upper = np.full(surv.shape, np.nan)
    pos = surv > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            lower[pos] = np.exp(np.log(surv[pos]) - z * se_log[pos])
            upper[pos] = np.minimum(np.exp(np.log(surv[pos]) + z * se_log[pos]), 1.0)
        else:
            one = surv >= 1.0
            mid = pos & ~one
            ll = np.log(-np.log(surv[mid]))
            se2 = z * se_log[mid] / np.log(surv[mid])
            lower[mid] = np.exp(-np.exp(ll - se2))
            upper[mid] = np.exp(-np.exp(ll + se2))
            lower[one] = upper[one] = 1.0
    return lower, upper


def _median(surv: np.ndarray, times: np.ndarray) -> float:
    """survfit's median rule (survmean's minmin): the first time S <= 0.5; if S is exactly 0.5
    on a flat stretch, the midpoint of that stretch's start and the next drop."""
    tol = np.sqrt(np.finfo(float).eps)
    keep = ~np.isnan(surv) & (surv < 0.5 + tol)
    if not keep.any():
        return float("nan")
    x, y = times[keep], surv[keep]
    if abs(y[0] - 0.5) < tol and (y < y[0]).any():
        return float((x[0] + x[np.argmax(y < y[0])]) / 2)
    return float(x[0])


def km(time, event, *, times=None, conf_type: str = "log-log", conf_level: float = 0.95) -> dict[str, Any]:
    """Kaplan-Meier summary matching R ``survfit()`` / ``summary(survfit(), times=, extend=TRUE)``.

    Without ``times``: one row per distinct observed time (events and censorings), as
    ``survfit()$time``. With ``times``: one row per requested time (sorted), as
    ``summary(fit, times = times, extend = TRUE)``: S and its SE at that time, n_risk = patients
    with time >= t, n_event / n_censor = counts in (previous requested time, t]; beyond the last
    follow-up S is carried forward and n_risk is 0.

    Returns a dict of numpy arrays ``timeline``, ``survival``, ``se`` (Greenwood SE of S(t), as
    summary.survfit's std.err), ``se_log`` (SE of log S(t), survfit's std.err), ``ci_lower``,
    ``ci_upper``, ``n_risk``, ``n_event``, ``n_censor`` and scalars ``n``, ``events``, ``median``,
    ``median_ci_lower``, ``median_ci_upper``, ``conf_type``, ``conf_level``, ``estimable``, ``reason``.

    ``conf_type="log-log"`` (default) is R's conf.type = "log-log" and is the same interval as
    lifelines' KaplanMeierFitter default ("exponential Greenwood"); R's own default is "log".
    """
    func = "km"
    if conf_type not in CONF_TYPES:
        raise SurvivalError(f"{func}: conf_type must be one of {CONF_TYPES}; got {conf_type!r}")
    conf_level = check_level(conf_level, func)
    t = as_time(time, func)
    d = as_binary(event, func, "event").astype(float)
    n = check_lengths(func, time=t, event=d)
    req = None
    if times is not None:
        req = np.sort(as_time(times, func, "times"))
    out: dict[str, Any] = {"n": n, "events": int(d.sum()), "conf_type": conf_type, "conf_level": conf_level,
                           "estimable": n > 0, "reason": None if n > 0 else "no patients"}
    ut, n_risk, n_event, n_censor, surv, varlog = km_table(t, d) if n else (np.zeros(0),) * 6
    se_log = np.sqrt(varlog)
    with np.errstate(invalid="ignore"):
        se = surv * se_log  # 0 * inf -> NaN where S = 0, as R
    lower, upper = confint(surv, se_log, conf_type, conf_level)
    out["median"] = _median(surv, ut) if n else float("nan")
    out["median_ci_lower"] = _median(lower, ut) if n else float("nan")
    out["median_ci_upper"] = _median(upper, ut) if n else float("nan")
    if req is None:
        out.update(timeline=ut, survival=surv, se=se, se_log=se_log, ci_lower=lower, ci_upper=upper,
                   n_risk=n_risk.astype(np.int64), n_event=n_event.astype(np.int64),
                   n_censor=n_censor.astype(np.int64))
        return out
    pos = np.searchsorted(ut, req, side="right") - 1  # last observed time <= requested time
    before = pos < 0
    p = np.where(before, 0, pos)

    def pick(a, first):
        v = a[p] if len(a) else np.full(len(req), first)
        return np.where(before, first, v)

    s_at = pick(surv, 1.0)
    cum_ev = np.r_[0.0, np.cumsum(n_event)]
    cum_cn = np.r_[0.0, np.cumsum(n_censor)]
    ev_upto = cum_ev[pos + 1]
    cn_upto = cum_cn[pos + 1]
    out.update(timeline=req, survival=s_at, se=pick(se, 0.0), se_log=pick(se_log, 0.0),
               ci_lower=pick(lower, 1.0), ci_upper=pick(upper, 1.0),
               n_risk=(n - np.searchsorted(np.sort(t), req, side="left")).astype(np.int64),
               n_event=np.diff(np.r_[0.0, ev_upto]).astype(np.int64),
               n_censor=np.diff(np.r_[0.0, cn_upto]).astype(np.int64))
    return out
