"""One-stage models on pooled individual-participant data from many studies.

- :func:`stratified_logistic` -- logistic regression with a separate intercept per study, either
  as fixed study intercepts (Newton-Raphson that never builds the study dummies; R
  ``glm(y ~ factor(study) + x, family = binomial)``) or by conditioning them out (exact conditional
  likelihood; R ``survival::clogit(y ~ x + strata(study))``, whose default method is "exact").
- :func:`stratified_cox` -- Cox model with a baseline hazard per study (Efron ties; optional
  sandwich SE with each patient as a cluster), R
  ``coxph(Surv(t, e) ~ x + strata(study), robust = TRUE)``.

Covariates are columns of ``data``; interactions (e.g. ``treat_x_hr``) are built by the caller.
Invalid input raises :class:`OneStageError` (a :class:`~her2meta.survival.SurvivalError`, hence
a ValueError); models without a finite estimate return ``estimable=False`` with a ``reason``.
All intervals and p-values are Wald (normal) ones, as R's ``summary()`` / ``confint.default()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit
import pandas as pd

from .survstats import condlogit
from .survstats._common import SurvivalError, check_level
from .survstats.cox import cox_fit
from . import distributions as dist

METHODS = ("fixed_intercepts", "conditional")


class OneStageError(SurvivalError):
    """Invalid input to a one-stage model."""


@dataclass
class OneStageResult:
    coef: pd.Series
    se: pd.Series
    ci_lb: pd.Series
    ci_ub: pd.Series
    pval: pd.Series
    n: int
    k_studies: int
    method: str
    estimable: bool
    reason: str | None = None
    events: int = 0
    loglik: float = float("nan")
    converged: bool = False
    conf_level: float = 0.95
    robust: bool = False
    naive_se: pd.Series | None = None
    dropped_studies: list[str] = field(default_factory=list)
    study_intercepts: pd.Series | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        def ser(s):
            if s is None:
                return None
            return {str(k): (None if not math.isfinite(v) else float(v)) for k, v in s.items()}

        return {"coef": ser(self.coef), "se": ser(self.se), "ci_lb": ser(self.ci_lb), "ci_ub": ser(self.ci_ub),
                "pval": ser(self.pval), "n": self.n, "k_studies": self.k_studies, "method": self.method,
                "estimable": self.estimable, "reason": self.reason, "events": self.events,
                "loglik": None if not math.isfinite(self.loglik) else float(self.loglik),
                "converged": self.converged, "conf_level": self.conf_level, "robust": self.robust,
                "naive_se": ser(self.naive_se), "dropped_studies": list(self.dropped_studies),
                "study_intercepts": ser(self.study_intercepts), "note": self.note}


def _result(coef, se, *, conf_level, **kw) -> OneStageResult:
    z = dist.norm_ppf(0.5 + conf_level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = pd.Series(2 * dist.norm_sf(np.abs(coef / se)), index=coef.index)
    return OneStageResult(coef=coef, se=se, ci_lb=coef - z * se, ci_ub=coef + z * se, pval=p,
                          conf_level=conf_level, **kw)


def _empty(covariates, *, method, n, k, reason, conf_level, events=0, **kw) -> OneStageResult:
    nan = pd.Series(np.nan, index=list(covariates), dtype=float)
    return OneStageResult(coef=nan.copy(), se=nan.copy(), ci_lb=nan.copy(), ci_ub=nan.copy(), pval=nan.copy(),
                          n=n, k_studies=k, method=method, estimable=False, reason=reason, events=events,
                          conf_level=conf_level, **kw)


def _check_frame(data, columns: dict[str, Any], covariates, func: str) -> tuple[pd.DataFrame, list[str]]:
    if not isinstance(data, pd.DataFrame):
        raise OneStageError(f"{func}: data must be a pandas DataFrame with one row per patient; got {type(data).__name__}")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = [str(c) for c in covariates]
    if not covariates:
        raise OneStageError(f"{func}: no covariates given; pass e.g. covariates=['treat', 'hr', 'treat_x_hr']")
    if len(set(covariates)) != len(covariates):
        raise OneStageError(f"{func}: covariates listed twice: {covariates}")
    need = [c for c in list(columns.values()) + covariates if c not in data.columns]
    if need:
        raise OneStageError(f"{func}: data has no column(s) {need}; available: {list(data.columns)}")
    for c in covariates:
        col = data[c]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise OneStageError(f"{func}: covariate {c!r} is not numeric; code categories as 0/1 indicator columns")
        if col.isna().any():
            raise OneStageError(f"{func}: covariate {c!r} has {int(col.isna().sum())} missing value(s); drop or impute "
                                "them first (complete-case analysis)")
        if not np.isfinite(col.to_numpy(dtype=float)).all():
            raise OneStageError(f"{func}: covariate {c!r} has infinite values")
    for role, c in columns.items():
        if data[c].isna().any():
            raise OneStageError(f"{func}: {role} column {c!r} has {int(data[c].isna().sum())} missing value(s); drop "
                                "those patients first")
    return data, covariates


def _binary(col: pd.Series, name: str, func: str) -> np.ndarray:
    try:
        v = col.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise OneStageError(f"{func}: {name} column {col.name!r} must be coded 0/1") from None
    if not np.isin(v, (0.0, 1.0)).all():
        bad = ", ".join(f"{b:g}" for b in np.unique(v[~np.isin(v, (0.0, 1.0))])[:5])
        raise OneStageError(f"{func}: {name} column {col.name!r} must be 0 or 1; found {bad}")
    return v


def _design_problem(x: np.ndarray, study: np.ndarray, names: list[str]) -> str | None:
    codes = np.unique(study, return_inverse=True)[1]
    sizes = np.bincount(codes).astype(float)
    means = np.column_stack([np.bincount(codes, weights=x[:, j]) / sizes for j in range(x.shape[1])])
    xc = x - means[codes]
    for j, nm in enumerate(names):
        if np.allclose(xc[:, j], 0):
            return (f"covariate {nm!r} does not vary within any study: its effect is confounded with the study "
                    "intercepts")
    if np.linalg.matrix_rank(xc) < x.shape[1]:
        return f"covariates {names} are collinear within studies: the coefficients are not identifiable"
    return None


def stratified_logistic(data: pd.DataFrame, outcome: str, covariates, study_col: str = "study_id",
                        method: str = "fixed_intercepts", *, conf_level: float = 0.95) -> OneStageResult:
    """Logistic regression of ``outcome`` (0/1) on ``covariates`` with study-specific intercepts.

    ``method="fixed_intercepts"``: one intercept per study (Newton-Raphson on the block structure
    of the information, to a relative step of 1e-10: _logistic_study_intercepts), as R
    ``glm(y ~ factor(study) + x, family = binomial)``; ``study_intercepts`` holds
    the per-study log odds at covariates 0.
    ``method="conditional"``: the study intercepts are conditioned out (exact conditional
    likelihood, as R ``clogit(y ~ x + strata(study))`` with its default method = "exact").

    Studies in which every patient has the same outcome carry no information on the
    covariates under either method (their intercept would be +-infinite); they are left out and
    listed in ``dropped_studies``; ``n`` and ``k_studies`` count what was used.
    """
    func = "stratified_logistic"
    if method not in METHODS:
        raise OneStageError(f"{func}: method must be one of {METHODS}; got {method!r}")
    conf_level = check_level(conf_level, func)
    data, covariates = _check_frame(data, {"outcome": outcome, "study": study_col}, covariates, func)
    y_all = _binary(data[outcome], "outcome", func)
    studies_all = data[study_col].astype(str).to_numpy()
    # studies without outcome variation
    names, codes_all = np.unique(studies_all, return_inverse=True)
    events_all = np.bincount(codes_all, weights=y_all, minlength=len(names))
    sizes_all = np.bincount(codes_all, minlength=len(names))
    dropped = sorted(str(s) for s in names[(events_all == 0) | (events_all == sizes_all)])
    keep = ~np.isin(studies_all, dropped)
    y = y_all[keep]
    study = studies_all[keep]
    x = data.loc[keep, covariates].to_numpy(dtype=float)
    k = int(len(np.unique(study)))
    base = {"method": method, "n": int(keep.sum()), "k": k, "conf_level": conf_level, "events": int(y.sum()),
            "dropped_studies": dropped}
    if k == 0:
        return _empty(covariates, reason="no study has both outcomes (0 and 1): nothing to estimate", **base)
    problem = _design_problem(x, study, covariates)
    if problem:
        return _empty(covariates, reason=problem, **base)
    note = (f"left out (all patients with the same outcome): {', '.join(dropped)}" if dropped else None)
    idx = pd.Index(covariates)
    # spread within studies: the study intercepts absorb differences in a covariate's level between studies
    sd = (x - pd.DataFrame(x).groupby(study).transform("mean").to_numpy()).std(axis=0)
    if method == "conditional":
        beta, var, ll, _ll0, converged, _it, _k_inf = condlogit.fit(x, y, np.unique(study, return_inverse=True)[1])
        if var is None or not np.all(np.isfinite(beta)) or np.any(np.diag(var) <= 0):
            return _empty(covariates, reason="the conditional likelihood has no finite maximum (separation)", **base)
        if not converged or np.any(np.abs(beta) * sd > 25):
            return _empty(covariates, reason="the conditional likelihood has no finite maximum (quasi-complete "
                          "separation: a covariate predicts the outcome perfectly within studies)", **base)
        return _result(pd.Series(beta, index=idx), pd.Series(np.sqrt(np.diag(var)), index=idx),
                       n=base["n"], k_studies=k, method=method, estimable=True, events=base["events"],
                       loglik=ll, converged=True, dropped_studies=dropped, note=note, conf_level=conf_level)

    levels, codes = np.unique(study, return_inverse=True)
    fit = _logistic_study_intercepts(x, y, codes, len(levels))
    beta, se, mu, converged = fit["beta"], fit["se"], fit["mu"], fit["converged"]
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(se))) or not converged \
            or np.any(np.abs(beta) * sd > 25) or (np.min(np.minimum(mu, 1 - mu)) < 1e-10):
        return _empty(covariates, reason="the likelihood has no finite maximum (separation: fitted probabilities of "
                      "0 or 1); consider method='conditional' or exact methods", **base)
    return _result(pd.Series(beta, index=idx), pd.Series(se, index=idx), n=base["n"], k_studies=k, method=method,
                   estimable=True, events=base["events"], loglik=fit["loglik"], converged=converged,
                   dropped_studies=dropped, note=note, conf_level=conf_level,
                   study_intercepts=pd.Series(fit["alpha"], index=pd.Index(levels, name=study_col)))


def _logistic_study_intercepts(x: np.ndarray, y: np.ndarray, codes: np.ndarray, k: int,
                               max_iter: int = 100) -> dict[str, Any]:
    """Maximum likelihood for logit P(y = 1) = alpha[study] + x beta (R's
    ``glm(y ~ 0 + factor(study) + x, family = binomial)``) by Newton-Raphson that uses the
    structure of the information matrix: the intercepts' block is diagonal, so each step solves
    a p x p system (the Schur complement) instead of a (k + p)-square one, and the design
    matrix with k study dummies is never built. Converged when no parameter moves by more than
    1e-10 (relative); the SEs of beta come from the inverse information at the estimate (its
    beta block, the inverse Schur complement), as glm's."""
    n, p = x.shape
    events = np.bincount(codes, weights=y, minlength=k)
    sizes = np.bincount(codes, minlength=k).astype(float)
    alpha = np.log((events + 0.5) / (sizes - events + 0.5))
    beta = np.zeros(p)
    converged = False

    def information(mu):
        w = mu * (1.0 - mu)
        h_aa = np.bincount(codes, weights=w, minlength=k)
        h_ab = np.column_stack([np.bincount(codes, weights=w * x[:, j], minlength=k) for j in range(p)])
        h_bb = (x * w[:, None]).T @ x
        schur = h_bb - h_ab.T @ (h_ab / h_aa[:, None])
        return h_aa, h_ab, schur

    for _ in range(max_iter):
        mu = expit(alpha[codes] + x @ beta)
        r = y - mu
        h_aa, h_ab, schur = information(mu)
        g_a = np.bincount(codes, weights=r, minlength=k)
        g_b = x.T @ r
        try:
            d_b = np.linalg.solve(schur, g_b - h_ab.T @ (g_a / h_aa))
        except np.linalg.LinAlgError:
            break
        d_a = (g_a - h_ab @ d_b) / h_aa
        alpha, beta = alpha + d_a, beta + d_b
        if not (np.all(np.isfinite(alpha)) and np.all(np.isfinite(beta))):
            break
        if max(np.max(np.abs(d_a) / (1.0 + np.abs(alpha))), np.max(np.abs(d_b) / (1.0 + np.abs(beta)), initial=0.0)) < 1e-10:
            converged = True
            break
    mu = expit(alpha[codes] + x @ beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        _, _, schur = information(mu)
        try:
            se = np.sqrt(np.diag(np.linalg.inv(schur)))
        except np.linalg.LinAlgError:
            se = np.full(p, np.nan)
        loglik = float(np.sum(y * np.log(mu) + (1.0 - y) * np.log1p(-mu)))
    return {"alpha": alpha, "beta": beta, "se": se, "mu": mu, "converged": converged, "loglik": loglik}


def stratified_cox(data: pd.DataFrame, time: str, event: str, covariates, study_col: str = "study_id",
                   robust: bool = False, *, ties: str = "efron", conf_level: float = 0.95) -> OneStageResult:
    """Cox model with a separate baseline hazard per study (R ``coxph(Surv(time, event) ~ x +
    strata(study))``), Efron ties by default. ``robust=True`` gives the sandwich SE with each
    patient as their own cluster (``coxph(..., robust = TRUE)``); the model-based SE is then in
    ``naive_se``. Studies without events contribute nothing to the partial likelihood (they
    stay in ``n`` and ``k_studies``, as in R)."""
    func = "stratified_cox"
    conf_level = check_level(conf_level, func)
    data, covariates = _check_frame(data, {"time": time, "event": event, "study": study_col}, covariates, func)
    method = "stratified_cox"
    study = data[study_col].astype(str).to_numpy()
    k = int(len(np.unique(study)))
    fit = cox_fit(data[time], data[event], data[covariates], ties=ties, robust=robust, strata=study)
    base = {"method": method, "n": fit.n, "k": k, "conf_level": conf_level, "events": fit.events, "robust": fit.robust}
    if not fit.estimable:
        return _empty(covariates, reason=fit.reason, **base)
    return _result(fit.coef, fit.se, n=fit.n, k_studies=k, method=method, estimable=True, events=fit.events,
                   loglik=fit.loglik, converged=fit.converged, robust=fit.robust,
                   naive_se=fit.naive_se if fit.robust else None, conf_level=conf_level)


__all__ = ["OneStageError", "OneStageResult", "stratified_logistic", "stratified_cox"]
