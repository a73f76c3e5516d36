"""Cox proportional-hazards fit matching R ``survival::coxph`` (3.5-3).

Newton-Raphson on the Efron (default) or Breslow partial likelihood, from beta = 0, with step
halving when the log-likelihood drops (as coxph does), iterated to full convergence (the step
is below 1e-10 relative), so coefficients agree with coxph to ~1e-9 and SEs to ~1e-12.

Robust variance (``robust=True`` or ``cluster=``): the grouped-dfbeta sandwich of coxph,
``D'D`` with ``D = rowsum(score_residuals %*% naive_var, cluster)``; without ``cluster`` each
patient is their own cluster (coxph(..., robust = TRUE)).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._common import SurvivalError, as_binary, as_labels, as_matrix, as_time, check_lengths, check_level
from ._efron import CoxData
from .. import distributions as dist

MAX_ITER = 50


@dataclass
class CoxResult:
    """A Cox fit. ``se`` is the robust (sandwich) SE when robust/cluster was requested, else the
    model-based one (then equal to ``naive_se``). ``loglik`` is the log partial likelihood at the
    estimate (R's ``fit$loglik[2]``), ``loglik_null`` at beta = 0 (``fit$loglik[1]``)."""

    coef: pd.Series
    se: pd.Series
    naive_se: pd.Series
    loglik: float
    n: int
    events: int
    converged: bool
    estimable: bool
    reason: str | None = None
    loglik_null: float = float("nan")
    var: pd.DataFrame | None = None
    naive_var: pd.DataFrame | None = None
    ties: str = "efron"
    robust: bool = False
    n_strata: int = 1
    n_clusters: int | None = None
    iterations: int = 0
    _beta: np.ndarray | None = field(default=None, repr=False)

    @property
    def hr(self) -> pd.Series:
        return np.exp(self.coef)

    @property
    def pval(self) -> pd.Series:
        return pd.Series(2 * dist.norm_sf(np.abs(self.coef / self.se)), index=self.coef.index)

    def ci(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Wald interval for the coefficients (log HR scale), from ``se``."""
        z = dist.norm_ppf(0.5 + check_level(conf_level, "CoxResult.ci") / 2)
        return pd.DataFrame({"lower": self.coef - z * self.se, "upper": self.coef + z * self.se})

    def to_dict(self) -> dict[str, Any]:
        def ser(s):
            return {k: (None if not math.isfinite(v) else float(v)) for k, v in s.items()}

        def num(v):
            return None if v is None or not math.isfinite(v) else float(v)

        return {"coef": ser(self.coef), "se": ser(self.se), "naive_se": ser(self.naive_se),
                "loglik": num(self.loglik), "loglik_null": num(self.loglik_null), "n": self.n,
                "events": self.events, "converged": self.converged, "estimable": self.estimable,
                "reason": self.reason, "ties": self.ties, "robust": self.robust, "n_strata": self.n_strata,
                "n_clusters": self.n_clusters, "iterations": self.iterations}


def _not_estimable(names, n, events, reason, *, ties, robust, n_strata, n_clusters=None) -> CoxResult:
    nan = pd.Series(np.nan, index=names, dtype=float)
    return CoxResult(coef=nan.copy(), se=nan.copy(), naive_se=nan.copy(), loglik=float("nan"), n=n, events=events,
                     converged=False, estimable=False, reason=reason, ties=ties, robust=robust, n_strata=n_strata,
                     n_clusters=n_clusters)


def _precheck(t, d, x, names, strata) -> str | None:
    """Reasons the model has no finite estimate, found before fitting (None if none)."""
    if d.sum() == 0:
        return "no events: a Cox model needs at least one event"
    for j, name in enumerate(names):
        col = x[:, j]
        # variation within at least one stratum (a covariate constant within every stratum is
        # absorbed by the stratum-specific baseline hazards)
        varies = False
        for s in np.unique(strata):
            c = col[strata == s]
            if c.size and (c != c[0]).any():
                varies = True
                break
        if not varies:
            where = "within strata" if len(np.unique(strata)) > 1 else "across patients"
            return f"no variation in covariate {name!r} {where}: its coefficient is not identifiable"
        levels = np.unique(col)
        if levels.size == 2 and set(levels.tolist()) <= {0.0, 1.0}:
            for lev in (0, 1):
                k = int((col == lev).sum())
                if k < 2:
                    return (f"only {k} patient(s) with {name} = {lev}: fewer than 2 patients in a group, "
                            "no hazard ratio is estimated")
                if d[col == lev].sum() == 0:
                    return (f"no events among patients with {name} = {lev}: the partial likelihood has no finite "
                            "maximum (the hazard ratio is 0 or infinite)")
    # collinearity (after removing stratum means)
    xc = x.copy()
    for s in np.unique(strata):
        m = strata == s
        xc[m] -= xc[m].mean(axis=0)
    if np.linalg.matrix_rank(xc) < x.shape[1]:
        return f"covariates {names} are collinear (given the strata): the coefficients are not identifiable"
    return None


def cox_fit(time, event, X, *, ties: str = "efron", robust: bool = False, strata=None, cluster=None) -> CoxResult:
    """Cox proportional-hazards model (as R ``coxph(Surv(time, event) ~ X + strata(strata), ties=...)``).

    Parameters
    ----------
    time, event : array-like, one value per patient (months; 0/1).
    X : pandas.DataFrame of numeric covariates (a Series or 2-D array is accepted too).
    ties : "efron" (default, as coxph) or "breslow".
    robust : sandwich variance with each patient as their own cluster (coxph(..., robust = TRUE)).
    strata : optional stratum labels: a separate baseline hazard per stratum (coxph's strata()).
    cluster : optional cluster labels: grouped-dfbeta robust variance (coxph's cluster());
        implies robust=True.

    Returns a :class:`CoxResult`; ``estimable=False`` with a ``reason`` (and NaN estimates) when
    there is no finite estimate (no events, a 0/1 covariate level with < 2 patients or no events,
    a covariate without variation, collinear covariates, or a likelihood without a finite maximum).
    """
    func = "cox_fit"
    if ties not in ("efron", "breslow"):
        raise SurvivalError(f"{func}: ties must be 'efron' or 'breslow'; got {ties!r}")
    t = as_time(time, func)
    d = as_binary(event, func, "event")
    x, names = as_matrix(X, func)
    s = as_labels(strata, func, "strata") if strata is not None else None
    c = as_labels(cluster, func, "cluster") if cluster is not None else None
    n = check_lengths(func, time=t, event=d, X=x, strata=s, cluster=c)
    robust = bool(robust) or c is not None
    s = np.zeros(n, dtype=np.int64) if s is None else s
    n_strata = int(len(np.unique(s))) if n else 0
    n_clusters = (int(len(np.unique(c))) if c is not None else n) if robust else None
    events = int(d.sum())
    kw = {"ties": ties, "robust": robust, "n_strata": n_strata, "n_clusters": n_clusters}
    if n == 0:
        return _not_estimable(names, 0, 0, "no patients", **kw)
    reason = _precheck(t, d, x, names, s)
    if reason:
        return _not_estimable(names, n, events, reason, **kw)

    data = CoxData(t, d.astype(float), x, s, ties)
    beta = np.zeros(x.shape[1])
    ll, u, info = data.evaluate(beta)
    ll_null = ll
    converged, it, flat_runs = False, 0, 0
    step = np.zeros_like(beta)
    for it in range(1, MAX_ITER + 1):
        try:
            step = np.linalg.solve(info, u)
        except np.linalg.LinAlgError:
            return _not_estimable(names, n, events, "the information matrix is singular: the covariates carry no "
                                  "information on the hazard (check for a group without events)", **kw)
        if np.max(np.abs(step)) <= 1e-10 * max(1.0, np.max(np.abs(beta))):
            converged = True  # the Newton step from the current beta is negligible
            break
        new = beta + step
        ll_new, u_new, info_new = data.evaluate(new)
        halvings = 0
        while not (ll_new >= ll - 1e-10 * max(1.0, abs(ll))) and halvings < 30:  # also catches NaN
            step = step / 2
            new = beta + step
            ll_new, u_new, info_new = data.evaluate(new)
            halvings += 1
        flat_runs = flat_runs + 1 if abs(ll_new - ll) <= 1e-13 * max(1.0, abs(ll)) else 0
        beta, ll, u, info = new, ll_new, u_new, info_new
        if flat_runs >= 3:
            break  # the log-likelihood no longer moves but the steps do: climbing towards an infinite estimate
    if not np.all(np.isfinite(beta)) or not math.isfinite(ll):
        return _not_estimable(names, n, events, "the Cox model did not converge (non-finite estimate)", **kw)
    try:
        naive = np.linalg.inv(info)
        last_step = naive @ u
    except np.linalg.LinAlgError:
        naive, last_step = None, None
    if naive is None or not np.all(np.isfinite(naive)) or np.any(np.diag(naive) <= 0):
        return _not_estimable(names, n, events, "the information matrix is singular at the estimate", **kw)
    # the scale of a covariate is its spread within strata: a stratified model is blind to a shift between strata
    _, stratum = np.unique(s, return_inverse=True)
    stratum_means = np.stack([np.bincount(stratum, weights=x[:, j]) for j in range(x.shape[1])], axis=1) \
        / np.bincount(stratum)[:, None]
    sd = (x - stratum_means[stratum]).std(axis=0)
    infinite = [nm for j, nm in enumerate(names)
                if abs(last_step[j]) > 1e-6 * (1 + abs(beta[j])) or abs(beta[j]) * sd[j] > 25]
    if infinite:
        return _not_estimable(names, n, events, f"the partial likelihood has no finite maximum for {infinite} "
                              "(monotone likelihood, e.g. a group without events): coefficient would be infinite",
                              **kw)
    if not converged:
        warnings.warn(f"cox_fit: Newton-Raphson stopped after {it} iterations with a last step of "
                      f"{np.max(np.abs(step)):.2g}", RuntimeWarning, stacklevel=2)
    var = naive
    if robust:
        dfb = data.score_residuals(beta) @ naive
        if c is not None:
            grouped = np.zeros((int(c.max()) + 1, x.shape[1]))
            np.add.at(grouped, c, dfb)
            dfb = grouped
        var = dfb.T @ dfb
        if not np.all(np.diag(var) > 1e-20 * np.diag(naive)):
            # e.g. every patient dies at one time: all score residuals vanish (R reports a robust SE of 0)
            return _not_estimable(names, n, events, "the robust standard error is 0: the score residuals vanish "
                                  "(e.g. all patients have the event at the same time), no usable estimate", **kw)
    idx = pd.Index(names)
    return CoxResult(coef=pd.Series(beta, index=idx), se=pd.Series(np.sqrt(np.diag(var)), index=idx),
                     naive_se=pd.Series(np.sqrt(np.diag(naive)), index=idx), loglik=float(ll), n=n, events=events,
                     converged=True, estimable=True, reason=None, loglik_null=float(ll_null),
                     var=pd.DataFrame(var, index=idx, columns=idx), naive_var=pd.DataFrame(naive, index=idx, columns=idx),
                     iterations=it, _beta=beta, **kw)
