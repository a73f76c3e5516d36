"""Normal, t, chi-square and F tail probabilities and quantiles from scipy.special.

The same functions scipy.stats evaluates underneath, without importing scipy.stats, which
costs about 0.4 s per process: every Snakemake job is a fresh process, so the statistics
modules import this instead. Out-of-support arguments follow scipy.stats (a negative
chi-square or F value has upper tail 1; a non-positive df gives NaN).
"""

from __future__ import annotations

import numpy as np
from scipy import special


def _scalar_or_array(values: np.ndarray):
    return values[()] if values.ndim == 0 else values


def _positive(df) -> np.ndarray:
    return np.asarray(df, dtype=float) > 0


def norm_sf(z):
    """P(Z > z)."""
    return special.ndtr(-np.asarray(z, dtype=float))[()]


def norm_ppf(p):
    """z with P(Z <= z) = p."""
    return special.ndtri(np.asarray(p, dtype=float))[()]


def norm_isf(p):
    """z with P(Z > z) = p."""
    return -special.ndtri(np.asarray(p, dtype=float))[()]


def t_sf(t, df):
    """P(T_df > t)."""
    out = np.where(_positive(df), special.stdtr(df, -np.asarray(t, dtype=float)), np.nan)
    return _scalar_or_array(out)


def t_isf(p, df):
    """t with P(T_df > t) = p."""
    p = np.asarray(p, dtype=float)
    out = np.where(_positive(df), np.where(p == 0, np.inf, -special.stdtrit(df, p)), np.nan)
    return _scalar_or_array(out)


def chi2_sf(q, df):
    """P(X^2_df > q)."""
    q = np.maximum(np.asarray(q, dtype=float), 0.0)
    out = np.where(_positive(df), special.chdtrc(df, q), np.nan)
    return _scalar_or_array(np.where(np.isnan(q), np.nan, out))


def chi2_ppf(p, df):
    """x with P(X^2_df <= x) = p (as scipy.stats: 2 * gammaincinv(df / 2, p))."""
    df = np.asarray(df, dtype=float)
    out = np.where(df > 0, 2.0 * special.gammaincinv(df / 2.0, np.asarray(p, dtype=float)), np.nan)
    return _scalar_or_array(out)


def f_sf(x, dfn, dfd):
    """P(F_dfn,dfd > x)."""
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    ok = _positive(dfn) & _positive(dfd)
    out = np.where(ok, special.fdtrc(dfn, dfd, x), np.nan)
    return _scalar_or_array(np.where(np.isnan(x), np.nan, out))


# Shorthands for the pooling engine's hot path (a handful of calls per rma fit).


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


def chi2_upper_quantile(p: float, df: float) -> float:
    """x with P(X^2_df > x) = p."""
    return float(special.chdtri(df, p))
