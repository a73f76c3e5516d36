"""Estimators of the between-study variance tau^2.

Each estimator works for the intercept-only model (``X=None``) and for a
meta-regression design ``X`` (k x p, with intercept column).  The formulas and
the starting values follow metafor 3.8 (``rma.uni``) so that converged values
agree with it:

* ``DL``  DerSimonian & Laird (1986), method of moments with weights 1/vi.
* ``HE``  Hedges (1983) / Hedges & Olkin (1985), unweighted method of moments.
* ``HS``  Hunter & Schmidt (2004).
* ``SJ``  Sidik & Jonkman (2005), one step from the starting value var(yi).
* ``PM``  Paule & Mandel (1982): generalised Q(tau^2) = k - p, solved by Brent.
* ``EB``  empirical Bayes (Morris 1983; Berkey et al. 1995), iterated.
* ``ML``/``REML``  maximum / restricted maximum likelihood (Viechtbauer 2005)
  by Fisher scoring started at max(0, HE), as metafor does.

Convergence: iterative estimators (Fisher scoring, then Newton steps near the
root) stop when the change in tau^2 is below
``tol * (tau2 + mean(vi))`` (default ``tol = 1e-12``, i.e. relative to the
scale of the data), much tighter than metafor's default absolute 1e-5.
Root-finding estimators (PM, fallbacks) use Brent's method with
``xtol = 1e-15`` and ``rtol = 4e-15``.

Fallback (documented in docs/methods/pooling.md): if Fisher scoring does not
converge within ``maxiter`` steps, the estimating equation of the same
estimator (REML: y'PPy = tr P; ML: y'PPy = sum w; EB: Q k/(k-p) = k) is solved
by bracketing and Brent's method on [0, upper], and the result says so in
``notes`` (``converged`` stays True only if that root-finding succeeds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from ._wls import WeightedFit, n_coef
from .errors import PoolingError

RANDOM_EFFECTS_METHODS = ("DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")
FIXED_EFFECT_ALIASES = ("FE", "EE", "EQUAL", "CE")
ITERATIVE_METHODS = ("ML", "REML", "EB")
#: estimators whose formula divides by vi (need every vi > 0)
NEEDS_POSITIVE_VI = ("DL", "HS", "PM")

DEFAULT_TOL = 1e-12
DEFAULT_MAXITER = 100
BRENT_XTOL = 1e-15
BRENT_RTOL = 4e-15


@dataclass
class Tau2Fit:
    """Estimated tau^2 with how it was obtained."""

    tau2: float
    method: str
    converged: bool = True
    iterations: int = 0
    se_tau2: float | None = None
    notes: list[str] = field(default_factory=list)


def canonical_method(method: str) -> str:
    """Upper-case estimator name; FE/EE/equal/CE all map to ``"FE"``."""
    name = str(method).strip().upper()
    if name in FIXED_EFFECT_ALIASES:
        return "FE"
    if name not in RANDOM_EFFECTS_METHODS:
        raise PoolingError(f"unknown method {method!r}; choose FE (alias EE/equal) or one of "
                           f"{', '.join(RANDOM_EFFECTS_METHODS)}")
    return name


def estimate_tau2(method: str, yi: np.ndarray, vi: np.ndarray, X: np.ndarray | None = None,
                  *, tol: float = DEFAULT_TOL, maxiter: int = DEFAULT_MAXITER) -> Tau2Fit:
    """Estimate tau^2 with ``method`` for outcomes ``yi``, variances ``vi``.

    Raises :class:`PoolingError` with a clear message when the estimator is
    not defined for the data (e.g. DL with a zero variance, or k <= p).
    """
    method = canonical_method(method)
    k, p = yi.size, n_coef(X)
    if method == "FE":
        return Tau2Fit(0.0, "FE")
    if k <= p:
        raise PoolingError(f"{method} needs more studies than coefficients (k = {k}, p = {p}); "
                           "use method='FE' or fix tau2")
    if method in NEEDS_POSITIVE_VI and np.any(vi <= 0):
        raise PoolingError(f"the {method} estimator divides by vi and cannot be used with a "
                           "study whose sampling variance is 0; use REML, ML, EB, HE or SJ")
    estimator = _ESTIMATORS[method]
    if method in ITERATIVE_METHODS:
        fit = estimator(yi, vi, X, tol=tol, maxiter=maxiter)
    else:
        fit = estimator(yi, vi, X)
    fit.tau2 = max(0.0, float(fit.tau2))
    return fit


# ---------------------------------------------------------------- moments ---

def _hedges(yi, vi, X) -> Tau2Fit:
    """HE: (RSS_OLS - tr(P_OLS V)) / (k - p), Hedges (1983)."""
    k, p = yi.size, n_coef(X)
    ols = WeightedFit(yi, np.ones(k), X)
    tr_pv = ols.trace_pd(vi)
    tau2 = (ols.rss - tr_pv) / (k - p)
    t = max(tau2, 0.0)
    se = np.sqrt((2 * ols.trace_pdpd(vi) + 4 * t * tr_pv + 2 * t * t * (k - p)) / (k - p) ** 2)
    return Tau2Fit(tau2, "HE", se_tau2=float(se))


def _dersimonian_laird(yi, vi, X) -> Tau2Fit:
    """DL: (Q - (k - p)) / tr P with weights 1/vi, DerSimonian & Laird (1986)."""
    k, p = yi.size, n_coef(X)
    fe = WeightedFit(yi, 1.0 / vi, X)
    tr_p = fe.trace_p()
    tau2 = (fe.rss - (k - p)) / tr_p
    t = max(tau2, 0.0)
    se = np.sqrt((2 * (k - p) + 4 * t * tr_p + 2 * t * t * fe.trace_pp()) / tr_p ** 2)
    return Tau2Fit(tau2, "DL", se_tau2=float(se))


def _hunter_schmidt(yi, vi, X) -> Tau2Fit:
    """HS: (Q - k) / sum(1/vi), Hunter & Schmidt (2004)."""
    k, p = yi.size, n_coef(X)
    fe = WeightedFit(yi, 1.0 / vi, X)
    sw = fe.w.sum()
    tau2 = (fe.rss - k) / sw
    t = max(tau2, 0.0)
    se = np.sqrt((2 * (k - p) + 4 * t * fe.trace_p() + 2 * t * t * fe.trace_pp())) / sw
    return Tau2Fit(tau2, "HS", se_tau2=float(se))


def _sidik_jonkman(yi, vi, X) -> Tau2Fit:
    """SJ: tau0^2 Q(tau0^2) / (k - p) with tau0^2 = var(yi) (divisor k).

    Sidik & Jonkman (2005); metafor's default starting value.
    """
    k, p = yi.size, n_coef(X)
    tau2_0 = float(np.mean((yi - yi.mean()) ** 2))
    if tau2_0 <= 0:
        note = "all estimates equal: SJ starting value var(yi) = 0, tau2 set to 0"
        return Tau2Fit(0.0, "SJ", se_tau2=0.0, notes=[note])
    fit = WeightedFit(yi, 1.0 / (vi + tau2_0), X)
    tau2 = tau2_0 * fit.rss / (k - p)
    t = max(tau2, 0.0)
    se = tau2_0 / (k - p) * np.sqrt(2 * fit.trace_pdpd(vi) + 4 * t * fit.trace_ppd(vi)
                                    + 2 * t * t * fit.trace_pp())
    return Tau2Fit(tau2, "SJ", se_tau2=float(se))


def _paule_mandel(yi, vi, X) -> Tau2Fit:
    """PM: root of Q(tau^2) = k - p (Paule & Mandel 1982), Brent's method."""
    k, p = yi.size, n_coef(X)
    target = k - p
    notes: list[str] = []
    tau2 = root_of_decreasing(lambda t: WeightedFit(yi, 1.0 / (vi + t), X).rss - target,
                              start_upper=initial_upper_bound(yi), notes=notes)
    return Tau2Fit(tau2, "PM", se_tau2=_se_pm_eb(tau2, vi, k, p), notes=notes)


def _se_pm_eb(tau2, vi, k, p) -> float:
    sw = np.sum(1.0 / (vi + tau2))
    return float(np.sqrt(2.0 * k * k / (k - p) / sw ** 2))


# ------------------------------------------------------- Fisher scoring ---

class _NumericalBreakdown(ArithmeticError):
    """Fisher information not positive (loss of precision): use the fallback."""


#: switch from Fisher scoring to Newton steps once the step is this small
#: relative to tau2 + mean(vi) (Newton converges quadratically near the root)
NEWTON_SWITCH = 1e-2


def _score_step(method: str, fit: WeightedFit, k: int, p: int, newton: bool) -> float:
    """Fisher scoring step for ML, REML, EB; a Newton step when ``newton``.

    Estimating functions f (zero at the estimate) and their expected (Fisher)
    and observed (Newton) slopes, with P = P(tau2):
    REML f = y'PPy - tr P,   Fisher tr PP,       Newton 2 y'PPPy - tr PP;
    ML   f = y'PPy - sum w,  Fisher sum w^2,     Newton 2 y'PPPy - sum w^2;
    EB   f = k/(k-p) y'Py - k,  metafor's step uses sum w, Newton k/(k-p) y'PPy.
    """
    if method == "REML":
        num, info = fit.quad_pp() - fit.trace_p(), fit.trace_pp()
        observed = 2.0 * fit.quad_ppp() - info if newton else 0.0
    elif method == "ML":
        num, info = fit.quad_pp() - fit.w.sum(), float(np.sum(fit.w ** 2))
        observed = 2.0 * fit.quad_ppp() - info if newton else 0.0
    else:                                                  # EB
        num, info = fit.rss * k / (k - p) - k, float(fit.w.sum())
        observed = fit.quad_pp() * k / (k - p) if newton else 0.0
    if not (info > 0 and np.isfinite(info) and np.isfinite(num)):
        raise _NumericalBreakdown(method)
    if newton and observed > 0 and np.isfinite(observed):
        return num / observed
    return num / info


def _estimating_equation(method: str, fit: WeightedFit, k: int, p: int) -> float:
    """Left-hand side of the estimator's estimating equation (0 at the root)."""
    if method == "REML":
        return fit.quad_pp() - fit.trace_p()
    if method == "ML":
        return fit.quad_pp() - fit.w.sum()
    return fit.rss * k / (k - p) - k


def _iterative(method: str):
    def estimator(yi, vi, X, *, tol, maxiter) -> Tau2Fit:
        return _fisher_scoring(method, yi, vi, X, tol=tol, maxiter=maxiter)
    estimator.__name__ = f"_fisher_scoring_{method.lower()}"
    estimator.__doc__ = f"{method} by Fisher scoring (see module docstring)."
    return estimator


def _fisher_scoring(method, yi, vi, X, *, tol, maxiter) -> Tau2Fit:
    """Fisher scoring started at max(0, HE) (metafor's start), Newton near the root.

    Fisher scoring (metafor's algorithm) converges only linearly; once its
    step is small the iteration switches to Newton steps on the same
    estimating equation, which converge quadratically to the same root.  If
    a Fisher step overshoots (the estimating function changes sign), the
    root is bracketed by the last two iterates and is found by Brent's
    method (metafor would oscillate, and may fail to converge).
    A step that would make tau^2 negative is halved until it does not (as
    metafor), unless the estimating function is already <= 0 at tau^2 = 0,
    in which case the estimate is 0 (the boundary maximum) at once.
    """
    k, p = yi.size, n_coef(X)
    tau2 = max(0.0, _hedges(yi, vi, X).tau2)
    scale = float(np.mean(vi))
    notes: list[str] = []
    converged = False
    iterations = 0
    reason = f"Fisher scoring did not converge in {maxiter} iterations"
    newton = False
    previous: tuple[float, float] | None = None      # (tau2, step) of the last Fisher step
    try:
        for iterations in range(1, maxiter + 1):
            fit = _fit_at(yi, vi, X, tau2)
            step = _score_step(method, fit, k, p, newton)
            if not newton and previous is not None and step * previous[1] < 0:
                # Fisher scoring overshot: the root is bracketed, finish with Brent
                tau2 = _root_in_bracket(method, yi, vi, X, k, p, previous[0], tau2)
                converged = True
                break
            previous = (tau2, step)
            newton = newton or abs(step) <= NEWTON_SWITCH * (tau2 + scale)
            if tau2 + step < 0:
                if tau2 == 0 or _score_step(method, _fit_at(yi, vi, X, 0.0), k, p, False) <= 0:
                    tau2, converged = 0.0, True      # maximum on the boundary
                    break
                while tau2 + step < 0:               # metafor's step halving
                    step *= 0.5
            new = tau2 + step
            change = abs(new - tau2)
            tau2 = new
            if change <= tol * (tau2 + scale):
                converged = True
                break
    except _NumericalBreakdown:
        reason = "Fisher scoring broke down numerically (information matrix not positive)"
    if not converged:
        notes.append(f"{reason}; solved the estimating equation by Brent's method instead")
        tau2 = root_of_decreasing(
            lambda t: _estimating_equation(method, _fit_at(yi, vi, X, t), k, p),
            start_upper=initial_upper_bound(yi), notes=notes)
        converged = not any("not bracketed" in n for n in notes)
    if method in ("ML", "REML") and tau2 > 0 and np.all(vi > 0):
        if log_likelihood(0.0, yi, vi, X, reml=method == "REML") > \
                log_likelihood(tau2, yi, vi, X, reml=method == "REML") + 1e-10:
            notes.append("likelihood at tau2 = 0 exceeds that at the Fisher-scoring solution "
                         "(local maximum); tau2 set to 0 as metafor does")
            tau2 = 0.0
    fit = _fit_at(yi, vi, X, tau2)
    if method == "REML":
        info = fit.trace_pp()
        se = np.sqrt(2.0 / info) if info > 0 else None
    elif method == "ML":
        se = np.sqrt(2.0 / np.sum(fit.w ** 2))
    else:
        se = _se_pm_eb(tau2, vi, k, p)
    return Tau2Fit(tau2, method, converged=converged, iterations=iterations,
                   se_tau2=None if se is None else float(se), notes=notes)


def _root_in_bracket(method, yi, vi, X, k, p, a: float, b: float) -> float:
    """Root of the estimating equation between two iterates of opposite sign."""
    lo, hi = min(a, b), max(a, b)
    return float(optimize.brentq(
        lambda t: _estimating_equation(method, _fit_at(yi, vi, X, t), k, p), lo, hi,
        xtol=BRENT_XTOL, rtol=BRENT_RTOL, maxiter=500))


def _fit_at(yi, vi, X, tau2) -> WeightedFit:
    total = vi + tau2
    if np.any(total <= 0):
        raise PoolingError("a study with vi = 0 gets infinite weight when tau2 = 0; "
                           "remove it, give it a positive variance, or fix tau2 > 0")
    return WeightedFit(yi, 1.0 / total, X)


def log_likelihood(tau2: float, yi: np.ndarray, vi: np.ndarray, X: np.ndarray | None,
                   *, reml: bool) -> float:
    """ML or REML log-likelihood of the normal-normal model at ``tau2``.

    The REML version includes metafor's constant 1/2 log|X'X| (REMLf=TRUE).
    """
    k, p = yi.size, n_coef(X)
    fit = _fit_at(yi, vi, X, tau2)
    sum_log_var = float(np.sum(np.log(vi + tau2)))
    if not reml:
        return -0.5 * (k * np.log(2 * np.pi) + sum_log_var + fit.rss)
    logdet_xwx = -np.linalg.slogdet(fit.cov)[1]
    logdet_xx = np.log(k) if X is None else np.linalg.slogdet(X.T @ X)[1]
    return -0.5 * ((k - p) * np.log(2 * np.pi) + sum_log_var + logdet_xwx + fit.rss) \
        + 0.5 * logdet_xx


# ----------------------------------------------------------- root finding ---

def initial_upper_bound(yi: np.ndarray) -> float:
    """metafor's tau2.max: max(100, 10 * mad(yi)^2), with R's mad constant."""
    mad = 1.4826 * np.median(np.abs(yi - np.median(yi)))
    return float(max(100.0, 10.0 * mad * mad))


def root_of_decreasing(func, *, start_upper: float, notes: list[str],
                       max_doublings: int = 60) -> float:
    """Root of a (generally) decreasing function on [0, inf), truncated at 0.

    Returns 0 when ``func(0) <= 0``.  The upper end starts at ``start_upper``
    and is doubled until ``func`` is negative there (metafor instead stops
    with "tau2.max too low").
    """
    f0 = func(0.0)
    if f0 <= 0:
        return 0.0
    upper = start_upper
    for _ in range(max_doublings):
        if func(upper) < 0:
            break
        upper *= 2.0
    else:
        notes.append(f"root not bracketed below {upper:g}; returning the upper end")
        return upper
    return float(optimize.brentq(func, 0.0, upper, xtol=BRENT_XTOL, rtol=BRENT_RTOL,
                                 maxiter=500))


_ESTIMATORS = {
    "DL": _dersimonian_laird,
    "HE": _hedges,
    "HS": _hunter_schmidt,
    "SJ": _sidik_jonkman,
    "PM": _paule_mandel,
    "EB": _iterative("EB"),
    "ML": _iterative("ML"),
    "REML": _iterative("REML"),
}
