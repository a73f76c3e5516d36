"""``rma``: generic inverse-variance pooling of (yi, vi), metafor's ``rma.uni``.

Fixed-effect ("equal effects") pooling uses weights 1/vi; random-effects
pooling uses 1/(vi + tau2) with tau2 from one of the estimators in
:mod:`her2meta.pool.tau2` (REML by default, as in metafor).
"""

from __future__ import annotations

import math

from ._inputs import StudyData, alpha_from_level, validate_study_data
from .engine import ModelFit, canonical_pi_dist, fit_model, prediction_crit
from .heterogeneity import q_profile_interval, tau2_based_i2
from .result import MetaResult
from .tau2 import DEFAULT_MAXITER, DEFAULT_TOL


def rma(yi, vi=None, *, sei=None, study=None, method: str = "REML", test: str = "z",
        level: float = 95.0, pi_dist: str = "auto", tau2: float | None = None,
        mods=None, tau2_ci: bool = True, na_action: str = "omit",
        tol: float = DEFAULT_TOL, maxiter: int = DEFAULT_MAXITER):
    """Pool outcomes ``yi`` with sampling variances ``vi`` (or SEs ``sei``).

    Parameters
    ----------
    method : "FE" (aliases "EE", "equal") or a tau2 estimator: "DL", "REML"
        (default), "ML", "PM", "EB", "HE", "SJ", "HS".
    test : "z" (Wald, default), "knha" (Hartung-Knapp-Sidik-Jonkman, t(k-1),
        untruncated), "adhoc" (knha with the scale factor truncated at 1), "t".
    level : confidence level in percent (95) or as a fraction (0.95).
    pi_dist : prediction-interval distribution: "auto" (default; metafor 3.8:
        normal for test="z", t(k-1) for knha), "norm", or "t" (t(k-2),
        Higgins et al. 2009).
    tau2 : fix tau2 at this value instead of estimating it.
    mods : moderators; when given, the call is forwarded to
        :func:`her2meta.pool.metareg.metareg` and returns a ``MetaRegResult``.
    tau2_ci : compute the Q-profile interval for tau2 (and I2/H2 bounds).
    na_action : "omit" (drop and record studies with missing values) or "fail".

    Returns
    -------
    MetaResult
    """
    if mods is not None:
        from .metareg import metareg
        return metareg(yi, vi, mods, sei=sei, study=study, method=method, test=test,
                       level=level, tau2=tau2, na_action=na_action, tol=tol, maxiter=maxiter)
    data = validate_study_data(yi, vi, sei=sei, study=study, na_action=na_action)
    alpha = alpha_from_level(level)
    fit = fit_model(data.yi, data.vi, None, method=method, test=test, alpha=alpha, tau2=tau2,
                    tol=tol, maxiter=maxiter)
    return build_result(fit, data, level=level, pi_dist=pi_dist, tau2_ci=tau2_ci)


def build_result(fit: ModelFit, data: StudyData, *, level: float, pi_dist: str,
                 tau2_ci: bool) -> MetaResult:
    """Package an intercept-only :class:`ModelFit` as a :class:`MetaResult`."""
    notes = list(data.notes) + list(fit.notes)
    pi_dist = canonical_pi_dist(pi_dist)
    pi_crit, pi_df = prediction_crit(fit, pi_dist)
    estimate, se = float(fit.beta[0]), float(fit.se[0])
    pi_half = pi_crit * math.sqrt(se * se + fit.tau2)

    tau2_lb = tau2_ub = None
    if tau2_ci and not fit.fixed_effect and not fit.tau2_fixed:
        if fit.k > 1:
            interval = q_profile_interval(fit.yi, fit.vi, None, fit.alpha)
            tau2_lb, tau2_ub = interval.lower, interval.upper
            notes.extend(interval.notes)
        else:
            notes.append("k = 1: no confidence interval for tau2")
    i2_lb = i2_ub = h2_lb = h2_ub = None
    vt = fit.het.vt
    if tau2_lb is not None and vt is not None and vt > 0:
        i2_lb, i2_ub = tau2_based_i2(tau2_lb, vt), tau2_based_i2(tau2_ub, vt)
        h2_lb, h2_ub = tau2_lb / vt + 1.0, tau2_ub / vt + 1.0

    weights = 100.0 * fit.w / fit.w.sum()
    return MetaResult(
        estimate=estimate, se=se, zval=float(fit.zval[0]), pval=float(fit.pval[0]),
        ci_lb=float(fit.ci_lb[0]), ci_ub=float(fit.ci_ub[0]),
        tau2=float(fit.tau2), se_tau2=fit.tau2_fit.se_tau2,
        tau2_ci_lb=tau2_lb, tau2_ci_ub=tau2_ub,
        I2=fit.het.I2, I2_ci_lb=i2_lb, I2_ci_ub=i2_ub,
        H2=fit.het.H2, H2_ci_lb=h2_lb, H2_ci_ub=h2_ub, I2_Q=fit.het.I2_Q,
        Q=fit.het.Q, Q_df=fit.het.Q_df, Q_p=fit.het.Q_p,
        pi_lb=estimate - pi_half, pi_ub=estimate + pi_half,
        k=fit.k, weights=weights.tolist(), study=list(data.study),
        yi=fit.yi.tolist(), vi=fit.vi.tolist(),
        method=fit.method, test=fit.test, level=float(level if level > 1 else 100 * level),
        df=fit.df, pi_dist=pi_dist, pi_df=pi_df,
        converged=fit.tau2_fit.converged, iterations=fit.tau2_fit.iterations,
        s2w=float(fit.s2w), loglik=fit.loglik, tau2_fixed=fit.tau2_fixed,
        omitted=list(data.omitted), notes=notes)
