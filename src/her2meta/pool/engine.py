"""Fit of the (mixed-effects) meta-analytic model  y = X b + u + e.

``fit_model`` is the one place where coefficients, their covariance, the
test statistics and the heterogeneity statistics are computed; ``rma``
(intercept-only) and ``metareg`` (moderators) only package its output.

Inference on the coefficients (metafor 3.8 conventions):

* ``test="z"``: Wald z tests and intervals, Var(b) = (X'WX)^-1.
* ``test="knha"``: Knapp & Hartung (2003) / Hartung-Knapp-Sidik-Jonkman:
  Var(b) = s2 (X'WX)^-1 with s2 = sum w e^2 / (k - p), t(k - p) reference
  distribution; *not* truncated (s2 may be < 1).
* ``test="adhoc"``: the same with s2 truncated below at 1 ("ad hoc"
  variance correction, Knapp & Hartung 2003; Jackson et al. 2017).
* ``test="t"``: t(k - p) reference distribution without rescaling.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from .. import distributions as _dist
from ._wls import WeightedFit, n_coef
from .errors import PoolingError
from .heterogeneity import Heterogeneity, heterogeneity
from .tau2 import DEFAULT_MAXITER, DEFAULT_TOL, Tau2Fit, canonical_method, estimate_tau2, \
    log_likelihood

TEST_ALIASES = {"z": "z", "wald": "z", "knha": "knha", "hksj": "knha", "hk": "knha",
                "adhoc": "adhoc", "knha_adhoc": "adhoc", "t": "t"}
#: below this, the Knapp-Hartung residual sum of squares counts as zero (as metafor)
KNHA_ZERO_RSS = np.finfo(float).eps


def canonical_test(test: str) -> str:
    name = str(test).strip().lower()
    if name not in TEST_ALIASES:
        raise PoolingError(f"unknown test {test!r}; choose 'z', 'knha' (Hartung-Knapp-"
                           "Sidik-Jonkman), 'adhoc' (truncated knha) or 't'")
    return TEST_ALIASES[name]


@dataclass
class ModelFit:
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray | None
    method: str
    test: str
    alpha: float
    tau2: float
    tau2_fit: Tau2Fit
    tau2_fixed: bool
    w: np.ndarray
    beta: np.ndarray
    vb: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    crit: float
    df: int | None
    s2w: float
    het: Heterogeneity
    loglik: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def k(self) -> int:
        return self.yi.size

    @property
    def p(self) -> int:
        return n_coef(self.X)

    @property
    def fixed_effect(self) -> bool:
        return self.method == "FE"

    @property
    def n_params(self) -> int:
        """Number of estimated parameters (metafor's ``parms``)."""
        return self.p + (0 if self.fixed_effect or self.tau2_fixed else 1)


def fit_model(yi: np.ndarray, vi: np.ndarray, X: np.ndarray | None = None, *,
              method: str = "REML", test: str = "z", alpha: float = 0.05,
              tau2: float | None = None, tol: float = DEFAULT_TOL,
              maxiter: int = DEFAULT_MAXITER) -> ModelFit:
    """Estimate tau^2, then the coefficients with the requested inference."""
    method = canonical_method(method)
    test = canonical_test(test)
    k, p = yi.size, n_coef(X)
    notes: list[str] = []
    if p > k:
        raise PoolingError(f"more coefficients ({p}) than studies ({k})")
    if k == 1 and test != "z":
        notes.append("k = 1: test set to 'z' (no degrees of freedom for a t test)")
        test = "z"

    tau2_fit = _tau2_for(method, yi, vi, X, tau2, tol, maxiter, notes)
    tau2_value = tau2_fit.tau2
    notes.extend(tau2_fit.notes)

    total = vi + tau2_value
    if np.any(total <= 0):
        bad = int(np.flatnonzero(total <= 0)[0])
        raise PoolingError(
            f"study #{bad + 1} has vi = 0 and tau2 = {tau2_value:g}: its inverse-variance weight is "
            "infinite. Remove it, give it a positive variance, or use a random-effects "
            "estimator that yields tau2 > 0.")
    w = 1.0 / total
    wfit = WeightedFit(yi, w, X)
    vb = wfit.cov.copy()

    s2w = 1.0
    df: int | None = None
    if test in ("knha", "adhoc"):
        if method == "FE":
            notes.append("Knapp-Hartung adjustment is not meant for fixed-effect models")
        s2w = 0.0 if wfit.rss <= KNHA_ZERO_RSS else wfit.rss / (k - p)
        if test == "adhoc" and s2w < 1.0:
            s2w = 1.0
        if s2w == 0.0:
            notes.append("Knapp-Hartung scale factor is 0 (every estimate equals its fitted "
                         "value): standard errors are 0 and the interval has zero width")
        vb = s2w * vb
    if test != "z":
        df = k - p

    se = np.sqrt(np.diag(vb))
    beta = wfit.beta
    zval = _safe_ratio(beta, se)
    if df is None:
        crit = _dist.norm_crit(alpha)
        pval = _dist.norm_two_sided_p(zval)
    else:
        crit = _dist.t_crit(alpha, df) if df > 0 else float("nan")
        pval = _dist.t_two_sided_p(zval, df) if df > 0 else np.full(p, np.nan)
        if df <= 0:
            notes.append("no residual degrees of freedom: t-based p-value and interval undefined")
    het = heterogeneity(yi, vi, X, tau2_value, fixed_effect=method == "FE")
    notes.extend(het.notes)
    loglik = None
    if np.all(total > 0):
        loglik = log_likelihood(tau2_value, yi, vi, X, reml=method == "REML")
    return ModelFit(
        yi=yi, vi=vi, X=X, method=method, test=test, alpha=alpha, tau2=tau2_value,
        tau2_fit=tau2_fit, tau2_fixed=tau2 is not None and method != "FE", w=w, beta=beta,
        vb=vb, se=se, zval=zval, pval=np.asarray(pval, dtype=float),
        ci_lb=beta - crit * se, ci_ub=beta + crit * se, crit=crit, df=df, s2w=s2w,
        het=het, loglik=loglik, notes=notes)


def _tau2_for(method, yi, vi, X, tau2, tol, maxiter, notes) -> Tau2Fit:
    if method == "FE":
        return Tau2Fit(0.0, "FE")
    if tau2 is not None:
        tau2 = float(tau2)
        if not np.isfinite(tau2) or tau2 < 0:
            raise PoolingError(f"fixed tau2 must be a finite value >= 0, got {tau2}")
        return Tau2Fit(tau2, method, notes=["tau2 fixed by the user"])
    if yi.size == 1:
        notes.append("k = 1: tau2 cannot be estimated and is set to 0")
        return Tau2Fit(0.0, method)
    return estimate_tau2(method, yi, vi, X, tol=tol, maxiter=maxiter)


def _safe_ratio(beta: np.ndarray, se: np.ndarray) -> np.ndarray:
    """beta / se, with 0/0 defined as 0 (a zero estimate with zero SE)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / se
    return np.where((se == 0) & (beta == 0), 0.0, z)


def prediction_crit(fit: ModelFit, pi_dist: str) -> tuple[float, int | None]:
    """Critical value and df of the prediction interval.

    ``"auto"`` (default) follows metafor 3.8 ``predict.rma``: the reference
    distribution of the coefficient tests (normal for z, t(k - p) for knha).
    ``"norm"`` always uses the normal distribution.  ``"t"`` uses
    t(k - p - 1), i.e. t(k - 2) for a random-effects meta-analysis
    (Higgins, Thompson & Spiegelhalter 2009; IntHout et al. 2016), which is
    metafor's ``pi.type="riley"``; df is at least 1.
    """
    name = str(pi_dist).strip().lower()
    if name in ("auto", "default"):
        return (fit.crit, fit.df) if fit.df is not None else (fit.crit, None)
    if name in ("norm", "normal", "z"):
        return _dist.norm_crit(fit.alpha), None
    if name in ("t", "riley", "higgins"):
        df = max(1, fit.k - fit.n_params)
        return _dist.t_crit(fit.alpha, df), df
    raise PoolingError(f"unknown pi_dist {pi_dist!r}; choose 'auto', 'norm' or 't'")


def canonical_pi_dist(pi_dist: str) -> str:
    name = str(pi_dist).strip().lower()
    return {"default": "auto", "normal": "norm", "z": "norm", "riley": "t",
            "higgins": "t"}.get(name, name)
