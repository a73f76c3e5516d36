"""Fast tail probabilities and quantiles (scipy.special; no scipy.stats overhead).

The rma hot path calls these a handful of times per fit; scipy.stats'
distribution objects cost ~50 us per call, the special functions ~1 us.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def norm_two_sided_p(z):
    """2 P(Z > |z|)."""
    return 2.0 * special.ndtr(-np.abs(z))


def norm_crit(alpha: float) -> float:
    """z with P(Z > z) = alpha / 2."""
    return float(-special.ndtri(alpha / 2.0))


def t_two_sided_p(t, df: float):
    """2 P(T_df > |t|)."""
    return 2.0 * special.stdtr(df, -np.abs(t))


def t_crit(alpha: float, df: float) -> float:
    """t with P(T_df > t) = alpha / 2."""
    return float(-special.stdtrit(df, alpha / 2.0))


def chi2_sf(q: float, df: float) -> float:
    """P(X^2_df > q)."""
    return float(special.chdtrc(df, q))


def chi2_upper_quantile(p: float, df: float) -> float:
    """x with P(X^2_df > x) = p."""
    return float(special.chdtri(df, p))
