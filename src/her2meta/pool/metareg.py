"""Mixed-effects meta-regression (metafor's ``rma(yi, vi, mods = ...)``).

y_i = b0 + b1 x_i1 + ... + u_i + e_i,  u_i ~ N(0, tau2),  e_i ~ N(0, v_i).

* tau2 by any estimator of :mod:`her2meta.pool.tau2` (REML default; ML, DL,
  ... and FE for a fixed-effects meta-regression).
* Coefficient tests: Wald z or Knapp & Hartung (2003) t(k - p).
* QM: omnibus test of all moderators (not the intercept), chi^2(m) for z,
  F(m, k - p) (QM / m) for Knapp-Hartung.  QE: residual heterogeneity.
* R2: proportional reduction of tau2 relative to the intercept-only model
  fitted with the same estimator, max(0, 100 (tau2_0 - tau2) / tau2_0)
  (Raudenbush 2009; metafor's default ``r2def="1"``); for FE models the
  adjusted R^2 of the weighted regression, as metafor.
* Categorical moderators are dummy-coded against their first level in sorted
  order, like R's ``factor()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ._inputs import alpha_from_level, validate_study_data
from ._wls import WeightedFit, design_with_intercept
from .engine import ModelFit, fit_model
from .errors import PoolingError, PoolingInputError
from .heterogeneity import q_profile_interval
from .result import fmt, fmt_p, to_jsonable, TEST_LABELS
from .tau2 import DEFAULT_MAXITER, DEFAULT_TOL
from .. import distributions as dist


@dataclass
class MetaRegResult:
    """Coefficients and tests of a meta-regression (one entry per coefficient)."""

    coef_names: list[str]
    beta: list[float]
    se: list[float]
    zval: list[float]
    pval: list[float]
    ci_lb: list[float]
    ci_ub: list[float]
    tau2: float
    se_tau2: float | None
    tau2_ci_lb: float | None
    tau2_ci_ub: float | None
    I2: float | None
    H2: float | None
    R2: float | None
    Q: float | None
    Q_df: int
    Q_p: float | None
    QM: float
    QM_df: int
    QM_df2: int | None
    QM_p: float
    k: int
    p: int
    weights: list[float]
    study: list[str]
    method: str
    test: str
    level: float
    df: int | None
    converged: bool
    s2w: float
    loglik: float | None
    omitted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def tval(self) -> list[float] | None:
        return self.zval if self.test != "z" else None

    def to_dict(self) -> dict[str, Any]:
        out = to_jsonable(self)
        out["tval"] = to_jsonable(self.tval)
        return out

    def summary(self, digits: int = 4) -> str:
        d = digits
        lines = [f"Mixed-effects meta-regression ({self.method}; k = {self.k}; "
                 f"test: {TEST_LABELS.get(self.test, self.test)})", ""]
        if self.method != "FE":
            lines.append(f"tau^2 (estimated amount of residual heterogeneity): {fmt(self.tau2, d)}")
        if self.I2 is not None:
            lines.append(f"I^2 (residual heterogeneity / unaccounted variability): {fmt(self.I2, 2)}%")
        if self.R2 is not None:
            lines.append(f"R^2 (amount of heterogeneity accounted for): {fmt(self.R2, 2)}%")
        if self.Q is not None:
            lines.append(f"Test for Residual Heterogeneity: QE(df = {self.Q_df}) = "
                         f"{fmt(self.Q, d)}, p-val = {fmt_p(self.Q_p)}")
        dfs = f"df = {self.QM_df}" if self.QM_df2 is None else f"df1 = {self.QM_df}, df2 = {self.QM_df2}"
        stat = "QM" if self.QM_df2 is None else "F"
        lines.append(f"Test of Moderators: {stat}({dfs}) = {fmt(self.QM, d)}, p-val = {fmt_p(self.QM_p)}")
        lines.append("")
        lines.append(f"{'':>12} {'estimate':>10} {'se':>10} {'zval' if self.test == 'z' else 'tval':>10} "
                     f"{'pval':>8} {'ci.lb':>10} {'ci.ub':>10}")
        for i, name in enumerate(self.coef_names):
            lines.append(f"{name[:12]:>12} {fmt(self.beta[i], d):>10} {fmt(self.se[i], d):>10} "
                         f"{fmt(self.zval[i], d):>10} {fmt_p(self.pval[i]):>8} "
                         f"{fmt(self.ci_lb[i], d):>10} {fmt(self.ci_ub[i], d):>10}")
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)


def design_from_columns(columns: Mapping[str, Sequence[Any]]) -> tuple[np.ndarray, list[str]]:
    """Moderator matrix (no intercept) from named columns.

    Numeric columns enter as they are; any other column is treated as a
    factor and dummy-coded against its first level in sorted order.
    Missing numeric values stay NaN (the study is then omitted).
    """
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for name, values in columns.items():
        values = list(values)
        numeric = _as_numeric(values)
        if numeric is not None:
            blocks.append(numeric.reshape(-1, 1))
            names.append(str(name))
            continue
        text = [None if _is_missing(v) else str(v) for v in values]
        levels = sorted({v for v in text if v is not None})
        for level in levels[1:]:
            col = np.array([np.nan if v is None else float(v == level) for v in text])
            blocks.append(col.reshape(-1, 1))
            names.append(f"{name}{level}")
    if not blocks:
        raise PoolingInputError("no moderator columns given")
    return np.hstack(blocks), names


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == ""


def _as_numeric(values) -> np.ndarray | None:
    try:
        return np.array([np.nan if _is_missing(v) else float(v) for v in values], dtype=float)
    except (TypeError, ValueError):
        return None


def _moderators(mods, mod_names) -> tuple[np.ndarray, list[str]]:
    if isinstance(mods, Mapping):
        return design_from_columns(mods)
    if hasattr(mods, "columns") and hasattr(mods, "to_dict"):      # pandas DataFrame
        return design_from_columns({c: list(mods[c]) for c in mods.columns})
    arr = np.asarray(mods)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.dtype.kind not in "fiub":
        cols = {(mod_names[j] if mod_names else f"mod{j + 1}"): list(arr[:, j])
                for j in range(arr.shape[1])}
        return design_from_columns(cols)
    names = list(mod_names) if mod_names else [f"mod{j + 1}" for j in range(arr.shape[1])]
    if len(names) != arr.shape[1]:
        raise PoolingInputError(f"{len(names)} moderator names for {arr.shape[1]} columns")
    return arr.astype(float), names


def metareg(yi, vi, mods, *, sei=None, study=None, mod_names: Sequence[str] | None = None,
            method: str = "REML", test: str = "z", level: float = 95.0,
            tau2: float | None = None, tau2_ci: bool = False, na_action: str = "omit",
            tol: float = DEFAULT_TOL, maxiter: int = DEFAULT_MAXITER) -> MetaRegResult:
    """Fit a mixed-effects meta-regression of ``yi`` on the moderators ``mods``.

    ``mods`` is a (k, q) array, a mapping name -> column, or a DataFrame.
    """
    matrix, names = _moderators(mods, mod_names)
    data = validate_study_data(yi, vi, sei=sei, study=study, mods=matrix, na_action=na_action)
    alpha = alpha_from_level(level)
    X = design_with_intercept(data.mods, data.k)
    _check_rank(X, names)
    fit = fit_model(data.yi, data.vi, X, method=method, test=test, alpha=alpha, tau2=tau2,
                    tol=tol, maxiter=maxiter)
    notes = list(data.notes) + list(fit.notes)
    qm, qm_df, qm_df2, qm_p = omnibus_test(fit, list(range(1, fit.p)))
    r2 = pseudo_r2(fit, tol=tol, maxiter=maxiter, notes=notes)
    tau2_lb = tau2_ub = None
    if tau2_ci and fit.method != "FE" and not fit.tau2_fixed:
        interval = q_profile_interval(fit.yi, fit.vi, X, alpha)
        tau2_lb, tau2_ub = interval.lower, interval.upper
        notes.extend(interval.notes)
    return MetaRegResult(
        coef_names=["intrcpt"] + names, beta=fit.beta.tolist(), se=fit.se.tolist(),
        zval=fit.zval.tolist(), pval=fit.pval.tolist(), ci_lb=fit.ci_lb.tolist(),
        ci_ub=fit.ci_ub.tolist(), tau2=float(fit.tau2), se_tau2=fit.tau2_fit.se_tau2,
        tau2_ci_lb=tau2_lb, tau2_ci_ub=tau2_ub, I2=fit.het.I2, H2=fit.het.H2, R2=r2,
        Q=fit.het.Q, Q_df=fit.het.Q_df, Q_p=fit.het.Q_p, QM=qm, QM_df=qm_df, QM_df2=qm_df2,
        QM_p=qm_p, k=fit.k, p=fit.p, weights=(100 * fit.w / fit.w.sum()).tolist(),
        study=list(data.study), method=fit.method, test=fit.test,
        level=float(level if level > 1 else 100 * level), df=fit.df,
        converged=fit.tau2_fit.converged, s2w=float(fit.s2w), loglik=fit.loglik,
        omitted=list(data.omitted), notes=notes)


def _check_rank(X: np.ndarray | None, names: list[str]) -> None:
    if X is None:
        return
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise PoolingError(f"moderators {names} are collinear (or constant): the model matrix "
                           "is not of full rank; drop redundant moderators")


def omnibus_test(fit: ModelFit, which: list[int]) -> tuple[float, int, int | None, float]:
    """Wald-type test that the coefficients ``which`` are all zero.

    Returns (QM, df1, df2, p): chi^2(df1) for z tests, F(df1, df2) with
    QM divided by df1 for t-based tests (metafor's QM convention).
    """
    m = len(which)
    if m == 0:
        return float("nan"), 0, None, float("nan")
    b = fit.beta[which]
    v = fit.vb[np.ix_(which, which)]
    try:
        qm = float(b @ np.linalg.solve(v, b))
    except np.linalg.LinAlgError:
        return float("nan"), m, None, float("nan")
    if fit.df is None:
        return qm, m, None, float(dist.chi2_sf(qm, m))
    qm /= m
    p = float(dist.f_sf(qm, m, fit.df)) if fit.df > 0 else float("nan")
    return qm, m, fit.df, p


def pseudo_r2(fit: ModelFit, *, tol: float, maxiter: int, notes: list[str]) -> float | None:
    """Proportion of heterogeneity accounted for by the moderators (percent)."""
    if fit.X is None:
        return None
    if fit.method == "FE":
        return _weighted_adjusted_r2(fit)
    if fit.tau2_fixed:
        return None
    try:
        null = fit_model(fit.yi, fit.vi, None, method=fit.method, test="z", tol=tol,
                         maxiter=maxiter)
    except PoolingError as exc:
        notes.append(f"R2 not computed: intercept-only model failed ({exc})")
        return None
    if null.tau2 <= 0:
        return 0.0
    return max(0.0, 100.0 * (null.tau2 - fit.tau2) / null.tau2)


def _weighted_adjusted_r2(fit: ModelFit) -> float | None:
    yi, w = fit.yi, 1.0 / fit.vi
    if np.all(yi == yi[0]):
        return 0.0
    if fit.k == fit.p:              # no residual df: the adjusted R^2 is undefined (R's lm: NaN)
        return None
    rss = WeightedFit(yi, w, fit.X).rss
    tss = WeightedFit(yi, w, None).rss
    r2 = 1.0 - rss / tss
    adj = 1.0 - (1.0 - r2) * (fit.k - 1) / (fit.k - fit.p)
    return max(0.0, 100.0 * adj)
