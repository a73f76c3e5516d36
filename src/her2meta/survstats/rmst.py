"""Restricted mean survival time (RMST) up to tau and its between-group contrasts, as
``survRM2::rmst2`` (unadjusted; survRM2 1.0-4).

RMST(tau) = integral_0^tau S(u) du with the Kaplan-Meier S. Variance (Uno et al. 2014, the
Greenwood plug-in; survRM2::rmst1):

    var = sum_{t_i <= tau} d_i / (n_i (n_i - d_i)) * (integral_{t_i}^{tau} S(u) du)^2,

with the term set to 0 when n_i = d_i (the last patient at risk dies). survival's own
``print(survfit(...), rmean = tau)`` uses the same sum in 3.5-3 (survmean(), same zero rule), so
the two agree to rounding; see docs/methods/survival_and_onestage.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import SurvivalError, as_binary, as_time, check_lengths, check_level
from .km import km_table
from .. import distributions as dist

VARIANCE_METHOD = ("Greenwood plug-in (Uno et al. 2014; survRM2::rmst1): sum over times <= tau of "
                   "d/(n(n-d)) * (area under S from t to tau)^2, 0 when n = d")


def rmst_one(t: np.ndarray, d: np.ndarray, tau: float) -> tuple[float, float]:
    """RMST up to tau and its variance for one group (survRM2::rmst1)."""
    ut, n_risk, n_event, _, surv, _ = km_table(t, d)
    keep = ut <= tau
    wk_time = np.r_[ut[keep], tau]
    areas = np.diff(np.r_[0.0, wk_time]) * np.r_[1.0, surv[keep]]
    rmst = float(areas.sum())
    n, e = n_risk[keep], n_event[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n - e == 0, 0.0, e / (n * (n - e)))
    after = np.cumsum(areas[1:][::-1])[::-1]  # area from each t_i to tau
    var = float(np.sum(hh * after ** 2))
    return rmst, var


def tau_limit(t: np.ndarray, d: np.ndarray, g: np.ndarray) -> float:
    """Largest tau survRM2::rmst2 accepts: the smaller of the two groups' largest follow-up
    times, unless the group with the smaller one ends with events only (its KM reaches 0 and
    stays defined), in which case the larger one."""
    ends = []
    for lev in (0, 1):
        tt, dd = t[g == lev], d[g == lev]
        tmax = tt.max()
        ends.append((tmax, bool(dd[tt == tmax].min() == 1)))
    (t0, e0), (t1, e1) = ends
    if t0 < t1:
        shorter_event = e0
    elif t1 < t0:
        shorter_event = e1
    else:
        shorter_event = e0 or e1
    return float(max(t0, t1) if shorter_event else min(t0, t1))


def _ratio(a: float, va: float, b: float, vb: float, z: float):
    if not (a > 0 and b > 0):
        return (float("nan"),) * 4
    lr = math.log(a) - math.log(b)
    se = math.sqrt(va / a ** 2 + vb / b ** 2)
    if not se > 0:
        return math.exp(lr), float("nan"), float("nan"), float("nan")
    return (math.exp(lr), math.exp(lr - z * se), math.exp(lr + z * se), float(2 * dist.norm_sf(abs(lr) / se)))


def rmst_difference(time, event, group, *, tau: float, conf_level: float = 0.95) -> dict[str, Any]:
    """RMST in each group up to ``tau`` and their difference (exposed - reference) and ratios.

    Returns ``rmst_exposed``, ``se_exposed``, ``rmst_reference``, ``se_reference``,
    ``difference``, ``difference_se``, ``difference_ci_lower``, ``difference_ci_upper``,
    ``difference_pval``, ``ratio`` (exposed/reference) with ``ratio_ci_lower``/``_upper`` and
    ``ratio_pval`` (delta method on the log scale), ``rmtl_exposed``/``rmtl_reference`` (restricted
    mean time lost, tau - RMST) with ``rmtl_ratio`` and its CI/p, ``tau``, ``tau_max``,
    ``conf_level``, ``variance_method``, ``n_exposed``, ``n_reference``, ``estimable``, ``reason``.

    ``tau`` beyond ``tau_max`` (survRM2's rule, see :func:`tau_limit`: normally the smaller of
    the two groups' largest follow-up times) gives ``estimable=False``, as survRM2 refuses it.
    """
    func = "rmst_difference"
    conf_level = check_level(conf_level, func)
    try:
        tau = float(tau)
    except (TypeError, ValueError):
        raise SurvivalError(f"{func}: tau must be a number of months; got {tau!r}") from None
    if not (math.isfinite(tau) and tau > 0):
        raise SurvivalError(f"{func}: tau must be a positive, finite number of months; got {tau!r}")
    t = as_time(time, func)
    d = as_binary(event, func, "event").astype(float)
    g = as_binary(group, func, "group")
    n = check_lengths(func, time=t, event=d, group=g)
    nan = float("nan")
    keys = ["rmst_exposed", "se_exposed", "rmst_reference", "se_reference", "difference", "difference_se",
            "difference_ci_lower", "difference_ci_upper", "difference_pval", "ratio", "ratio_ci_lower",
            "ratio_ci_upper", "ratio_pval", "rmtl_exposed", "rmtl_reference", "rmtl_ratio", "rmtl_ratio_ci_lower",
            "rmtl_ratio_ci_upper", "rmtl_ratio_pval", "tau_max"]
    out: dict[str, Any] = {k: nan for k in keys}
    n1 = int(g.sum())
    out.update(tau=tau, conf_level=conf_level, variance_method=VARIANCE_METHOD, n_exposed=n1,
               n_reference=n - n1, estimable=False, reason=None)
    if n1 < 2 or n - n1 < 2:
        out["reason"] = f"fewer than 2 patients in a group ({n1} exposed, {n - n1} reference): no RMST comparison"
        return out
    tau_max = tau_limit(t, d, g)
    out["tau_max"] = tau_max
    if tau > tau_max:
        out["reason"] = (f"tau = {tau:g} months is beyond the follow-up of one group (the Kaplan-Meier curve is "
                         f"not defined there); choose tau <= {tau_max:g}, as survRM2::rmst2 requires")
        return out
    z = dist.norm_ppf(0.5 + conf_level / 2)
    r1, v1 = rmst_one(t[g == 1], d[g == 1], tau)
    r0, v0 = rmst_one(t[g == 0], d[g == 0], tau)
    diff, se = r1 - r0, math.sqrt(v1 + v0)
    lo, hi, p = (diff - z * se, diff + z * se, float(2 * dist.norm_sf(abs(diff) / se))) if se > 0 else (nan, nan, nan)
    ratio = _ratio(r1, v1, r0, v0, z)
    rmtl = _ratio(tau - r1, v1, tau - r0, v0, z)
    out.update(rmst_exposed=r1, se_exposed=math.sqrt(v1), rmst_reference=r0, se_reference=math.sqrt(v0),
               difference=diff, difference_se=se, difference_ci_lower=lo, difference_ci_upper=hi, difference_pval=p,
               ratio=ratio[0], ratio_ci_lower=ratio[1], ratio_ci_upper=ratio[2], ratio_pval=ratio[3],
               rmtl_exposed=tau - r1, rmtl_reference=tau - r0, rmtl_ratio=rmtl[0], rmtl_ratio_ci_lower=rmtl[1],
               rmtl_ratio_ci_upper=rmtl[2], rmtl_ratio_pval=rmtl[3], estimable=True)
    if not se > 0:
        out["reason"] = "no events before tau in either group: the RMST difference has no sampling variance"
    return out
