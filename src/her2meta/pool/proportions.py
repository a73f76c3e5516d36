"""Pooling of proportions (e.g. pCR rates) on the logit scale.

yi = log(x / (n - x)), vi = 1/x + 1/(n - x) (metafor ``escalc(measure="PLO")``),
pooled with :func:`her2meta.pool.rma`, and the estimate, confidence and
prediction limits back-transformed with the inverse logit (metafor
``predict(res, transf = transf.ilogit)``).  Studies with 0 or n events get
0.5 added to events and non-events (``to="only0"``, metafor's default).

With ``groups`` the pooled rate is also given per subgroup (each with its own
tau2) together with the test for subgroup differences on the logit scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.special import expit

from ._inputs import as_float_vector, study_labels
from .errors import PoolingInputError
from .result import MetaResult, fmt, fmt_p, to_jsonable
from .uni import rma
from .. import distributions as dist


@dataclass
class LogitProportions:
    yi: np.ndarray
    vi: np.ndarray
    corrected: np.ndarray
    study: list[str]


def escalc_proportion(xi, ni, *, add: float = 0.5, to: str = "only0", study=None
                      ) -> LogitProportions:
    """Logit-transformed proportions with zero/all-event handling."""
    x, n = as_float_vector(xi, "events"), as_float_vector(ni, "totals")
    if x.shape != n.shape:
        raise PoolingInputError("events and totals must have the same length")
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(n)):
        raise PoolingInputError("events and totals must be finite numbers")
    if np.any(x < 0) or np.any(n <= 0) or np.any(x > n):
        raise PoolingInputError("need 0 <= events <= totals and totals > 0 for every study")
    labels = study_labels(study, x.size)
    m = n - x
    extreme = (x == 0) | (m == 0)
    if to == "only0":
        corrected = extreme
    elif to == "all":
        corrected = np.ones(x.size, bool)
    elif to == "if0all":
        corrected = np.full(x.size, bool(extreme.any()))
    elif to == "none":
        corrected = np.zeros(x.size, bool)
        if extreme.any():
            bad = [labels[i] for i in np.flatnonzero(extreme)]
            raise PoolingInputError(f"0 or all events in studies {bad}: the logit is infinite; "
                                    "use to='only0'")
    else:
        raise PoolingInputError(f"unknown zero-event rule {to!r}")
    inc = np.where(corrected, add, 0.0)
    x, m = x + inc, m + inc
    return LogitProportions(np.log(x / m), 1 / x + 1 / m, corrected, list(labels))


@dataclass
class ProportionResult:
    """Pooled proportion: logit-scale result plus back-transformed limits."""

    proportion: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    k: int
    method: str
    level: float
    logit: MetaResult
    corrected: list[str] = field(default_factory=list)
    subgroups: dict[str, "ProportionResult"] = field(default_factory=dict)
    Q_between: float | None = None
    Q_between_df: int | None = None
    Q_between_p: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = to_jsonable(self)
        out["logit"] = self.logit.to_dict()
        out["subgroups"] = {k: v.to_dict() for k, v in self.subgroups.items()}
        return out

    def summary(self, digits: int = 4) -> str:
        d = digits
        lines = [f"Pooled proportion (logit, {self.method}; k = {self.k}): "
                 f"{fmt(self.proportion, d)} [{fmt(self.ci_lb, d)}, {fmt(self.ci_ub, d)}], "
                 f"{fmt(self.level, 0)}% PI [{fmt(self.pi_lb, d)}, {fmt(self.pi_ub, d)}]"]
        for name, sub in self.subgroups.items():
            lines.append(f"  {name}: {fmt(sub.proportion, d)} [{fmt(sub.ci_lb, d)}, "
                         f"{fmt(sub.ci_ub, d)}] (k = {sub.k})")
        if self.Q_between is not None:
            lines.append(f"Test for subgroup differences: Q(df = {self.Q_between_df}) = "
                         f"{fmt(self.Q_between, d)}, p-val = {fmt_p(self.Q_between_p)}")
        if self.corrected:
            lines.append(f"Note: 0.5 added to events and non-events of {self.corrected}")
        return "\n".join(lines)


def pool_proportions(events, totals, *, study=None, groups: Sequence[Any] | None = None,
                     method: str = "REML", test: str = "z", level: float = 95.0,
                     pi_dist: str = "auto", add: float = 0.5, to: str = "only0"
                     ) -> ProportionResult:
    """Pool proportions on the logit scale (and per subgroup if ``groups``)."""
    lp = escalc_proportion(events, totals, add=add, to=to, study=study)
    overall = _pooled(lp, np.arange(lp.yi.size), method, test, level, pi_dist)
    if groups is None:
        return overall
    groups = [str(g) for g in groups]
    if len(groups) != lp.yi.size:
        raise PoolingInputError(f"groups has {len(groups)} entries for {lp.yi.size} studies")
    levels = list(dict.fromkeys(groups))
    g = np.asarray(groups, dtype=object)
    for lev in levels:
        overall.subgroups[lev] = _pooled(lp, np.flatnonzero(g == lev), method, test, level,
                                         pi_dist)
    if len(levels) > 1:
        est = np.array([s.logit.estimate for s in overall.subgroups.values()])
        w = 1 / np.array([s.logit.se for s in overall.subgroups.values()]) ** 2
        q = float(np.sum(w * (est - np.sum(w * est) / w.sum()) ** 2))
        overall.Q_between, overall.Q_between_df = q, len(levels) - 1
        overall.Q_between_p = float(dist.chi2_sf(q, len(levels) - 1))
    return overall


def _pooled(lp: LogitProportions, idx: np.ndarray, method, test, level, pi_dist):
    res = rma(lp.yi[idx], lp.vi[idx], study=[lp.study[i] for i in idx], method=method,
              test=test, level=level, pi_dist=pi_dist)
    return ProportionResult(
        proportion=float(expit(res.estimate)), ci_lb=float(expit(res.ci_lb)),
        ci_ub=float(expit(res.ci_ub)), pi_lb=float(expit(res.pi_lb)),
        pi_ub=float(expit(res.pi_ub)), k=res.k, method=res.method, level=res.level, logit=res,
        corrected=[lp.study[i] for i in idx if lp.corrected[i]])
