"""Heterogeneity statistics: Q, I^2, H^2 and the Q-profile interval for tau^2.

Conventions (metafor 3.8, ``rma.uni`` with the default ``i2def="1"``):

* Q (Cochran 1954) is the weighted residual sum of squares with weights 1/vi.
* The "typical" within-study variance is vt = (k - p) / tr P (Higgins &
  Thompson 2002, generalised to meta-regression).
* For random-effects fits I^2 = 100 tau2 / (vt + tau2) and H^2 = tau2/vt + 1
  (tau2-based, so they depend on the estimator); for fixed-effect fits
  I^2 = max(0, 100 (Q - df) / Q) and H^2 = Q / df (Q-based).
* ``I2_Q`` always holds the Q-based I^2 of Higgins & Thompson (2002).
* The tau^2 interval is the Q-profile interval of Viechtbauer (2007):
  the tau^2 values at which the generalised Q equals the chi^2_{k-p}
  quantiles; bounds truncated at 0, and the interval is [0, 0] when even
  tau^2 = 0 gives Q below the lower quantile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from .. import distributions as _dist
from ._wls import WeightedFit, n_coef, qe_at
from .tau2 import initial_upper_bound, root_of_decreasing


@dataclass
class Heterogeneity:
    Q: float | None
    Q_df: int
    Q_p: float | None
    I2: float | None
    H2: float | None
    I2_Q: float | None
    vt: float | None
    notes: list[str] = field(default_factory=list)


def heterogeneity(yi: np.ndarray, vi: np.ndarray, X: np.ndarray | None, tau2: float,
                  *, fixed_effect: bool) -> Heterogeneity:
    """Cochran's Q with its test, I^2, H^2 (metafor conventions) and Q-based I^2."""
    k, p = yi.size, n_coef(X)
    df = k - p
    if np.any(vi <= 0):
        return Heterogeneity(None, df, None, None, None, None, None,
                             ["Q, I2 and H2 are not defined when a study has vi = 0"])
    if df <= 0:
        return Heterogeneity(0.0, 0, 1.0, 0.0, 1.0, 0.0, 0.0,
                             [f"k = {k}: no degrees of freedom for heterogeneity "
                              "(Q = 0, I2 = 0, H2 = 1 by convention)"])
    fe = WeightedFit(yi, 1.0 / vi, X)
    q = max(0.0, fe.rss)
    q_p = _dist.chi2_sf(q, df)
    vt = df / fe.trace_p()
    i2_q = q_based_i2(q, df)
    if fixed_effect:
        i2, h2 = i2_q, q / df
    else:
        i2, h2 = tau2_based_i2(tau2, vt), tau2 / vt + 1.0
    return Heterogeneity(q, df, q_p, i2, h2, i2_q, vt)


def q_based_i2(q: float, df: int) -> float:
    """I^2 = max(0, (Q - df) / Q) in percent (0 when Q = 0)."""
    if q <= 0:
        return 0.0
    return max(0.0, 100.0 * (q - df) / q)


def tau2_based_i2(tau2: float, vt: float) -> float:
    return 100.0 * tau2 / (vt + tau2)


@dataclass
class Tau2Interval:
    lower: float | None
    upper: float | None
    notes: list[str] = field(default_factory=list)


def q_profile_interval(yi: np.ndarray, vi: np.ndarray, X: np.ndarray | None,
                       alpha: float) -> Tau2Interval:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007)."""
    k, p = yi.size, n_coef(X)
    df = k - p
    if df <= 0:
        return Tau2Interval(None, None, ["tau2 interval needs k > p studies"])
    if np.any(vi <= 0):
        return Tau2Interval(None, None, ["Q-profile interval not defined when a study has vi = 0"])
    crit_upper = _dist.chi2_upper_quantile(alpha / 2, df)       # Q at the lower bound
    crit_lower = _dist.chi2_upper_quantile(1 - alpha / 2, df)   # Q at the upper bound
    notes: list[str] = []
    start = initial_upper_bound(yi)
    q0 = qe_at(0.0, yi, vi, X)
    if q0 < crit_lower:
        notes.append("Q-profile interval is the null set at tau2 = 0 (reported as [0, 0])")
        return Tau2Interval(0.0, 0.0, notes)
    upper = root_of_decreasing(lambda t: qe_at(t, yi, vi, X) - crit_lower,
                               start_upper=start, notes=notes)
    lower = 0.0 if q0 < crit_upper else root_of_decreasing(
        lambda t: qe_at(t, yi, vi, X) - crit_upper, start_upper=start, notes=notes)
    return Tau2Interval(lower, upper, notes)
