"""Subgroup analysis: pooled estimate per level and the test for differences.

Two conventions, as in the literature and in metafor usage:

* ``tau2="separate"`` (default; Borenstein et al. 2009, ch. 19, and
  RevMan): each subgroup is pooled on its own with its own tau2; the test
  for subgroup differences is Cochran's Q between the subgroup estimates,
  i.e. a fixed-effect meta-analysis of the subgroup estimates with their
  standard errors, chi^2 with (number of subgroups - 1) df.  In metafor:
  ``rma(estimates, sei = ses, method = "FE")$QE``.
* ``tau2="common"``: one mixed-effects model with the subgroup as a factor
  moderator and a single (residual) tau2; the test is the omnibus QM test of
  the group dummies (chi^2, or F with Knapp-Hartung).  Subgroup estimates are
  the fitted cell means with their standard errors.  In metafor:
  ``rma(yi, vi, mods = ~ factor(group))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ._inputs import alpha_from_level, validate_study_data
from .engine import fit_model
from .errors import PoolingError, PoolingInputError
from .metareg import omnibus_test
from .result import MetaResult, fmt, fmt_p, to_jsonable
from .uni import rma
from .. import distributions as dist


@dataclass
class SubgroupEstimate:
    level: str
    k: int
    estimate: float
    se: float
    ci_lb: float
    ci_ub: float
    pval: float
    tau2: float
    I2: float | None = None
    Q: float | None = None
    result: MetaResult | None = None


@dataclass
class SubgroupResult:
    tau2_mode: str
    method: str
    test: str
    level: float
    subgroups: list[SubgroupEstimate]
    Q_between: float
    Q_between_df: int
    Q_between_p: float
    Q_between_dist: str
    common_tau2: float | None = None
    overall: MetaResult | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = to_jsonable(self)
        for entry, sub in zip(out["subgroups"], self.subgroups):
            entry["result"] = sub.result.to_dict() if sub.result is not None else None
        out["overall"] = self.overall.to_dict() if self.overall is not None else None
        return out

    def summary(self, digits: int = 4) -> str:
        d = digits
        lines = [f"Subgroup analysis ({self.method}, {self.tau2_mode} tau2, test {self.test})", "",
                 f"{'subgroup':>16} {'k':>4} {'estimate':>10} {'se':>9} {'ci.lb':>10} "
                 f"{'ci.ub':>10} {'tau2':>9}"]
        for s in self.subgroups:
            lines.append(f"{s.level[:16]:>16} {s.k:>4} {fmt(s.estimate, d):>10} {fmt(s.se, d):>9} "
                         f"{fmt(s.ci_lb, d):>10} {fmt(s.ci_ub, d):>10} {fmt(s.tau2, d):>9}")
        lines.append("")
        lines.append(f"Test for subgroup differences: {self.Q_between_dist}"
                     f"(df = {self.Q_between_df}) = {fmt(self.Q_between, d)}, "
                     f"p-val = {fmt_p(self.Q_between_p)}")
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)


def subgroup_analysis(yi, vi, groups: Sequence[Any], *, sei=None, study=None,
                      method: str = "REML", test: str = "z", level: float = 95.0,
                      tau2: str = "separate", pi_dist: str = "auto",
                      na_action: str = "omit") -> SubgroupResult:
    """Pool within each level of ``groups`` and test for subgroup differences."""
    groups = [None if g is None else str(g) for g in groups]
    data = validate_study_data(yi, vi, sei=sei, study=study, na_action="fail")
    if len(groups) != data.k:
        raise PoolingInputError(f"groups has {len(groups)} entries for {data.k} studies")
    keep = np.array([g is not None for g in groups])
    notes = list(data.notes)
    if not keep.all():
        notes.append(f"{int((~keep).sum())} studies without a subgroup omitted")
    y, v = data.yi[keep], data.vi[keep]
    labels = [s for s, kp in zip(data.study, keep) if kp]
    g = [x for x in groups if x is not None]
    levels = sorted(set(g), key=lambda x: g.index(x))     # order of first appearance
    if len(levels) < 2:
        raise PoolingError("subgroup analysis needs at least two subgroups")
    overall = rma(y, v, study=labels, method=method, test=test, level=level, pi_dist=pi_dist)
    mode = str(tau2).lower()
    if mode == "separate":
        return _separate(y, v, labels, g, levels, method, test, level, pi_dist, overall, notes)
    if mode == "common":
        return _common(y, v, g, levels, method, test, level, overall, notes)
    raise PoolingError(f"tau2 must be 'separate' or 'common', not {tau2!r}")


def _separate(y, v, labels, g, levels, method, test, level, pi_dist, overall, notes):
    subgroups = []
    g = np.asarray(g, dtype=object)
    for lev in levels:
        idx = np.flatnonzero(g == lev)
        res = rma(y[idx], v[idx], study=[labels[i] for i in idx], method=method, test=test,
                  level=level, pi_dist=pi_dist)
        notes.extend(f"[{lev}] {n}" for n in res.notes)
        subgroups.append(SubgroupEstimate(lev, res.k, res.estimate, res.se, res.ci_lb, res.ci_ub,
                                          res.pval, res.tau2, res.I2, res.Q, res))
    est = np.array([s.estimate for s in subgroups])
    w = 1.0 / np.array([s.se for s in subgroups]) ** 2
    mean = np.sum(w * est) / np.sum(w)
    q = float(np.sum(w * (est - mean) ** 2))
    df = len(levels) - 1
    return SubgroupResult("separate", overall.method, overall.test, overall.level, subgroups,
                          q, df, float(dist.chi2_sf(q, df)), "Q", overall=overall, notes=notes)


def _common(y, v, g, levels, method, test, level, overall, notes):
    k = y.size
    dummies = np.column_stack([[1.0 if x == lev else 0.0 for x in g] for lev in levels[1:]])
    X = np.column_stack([np.ones(k), dummies])
    fit = fit_model(y, v, X, method=method, test=test, alpha=alpha_from_level(level))
    notes.extend(fit.notes)
    qm, df1, df2, p = omnibus_test(fit, list(range(1, fit.p)))
    contrasts = np.zeros((len(levels), fit.p))
    contrasts[:, 0] = 1.0
    for j in range(1, len(levels)):
        contrasts[j, j] = 1.0
    est = contrasts @ fit.beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", contrasts, fit.vb, contrasts))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    if fit.df is None:
        pval = 2 * dist.norm_sf(np.abs(z))
    else:
        pval = 2 * dist.t_sf(np.abs(z), fit.df)
    subgroups = []
    for j, lev in enumerate(levels):
        n = sum(1 for x in g if x == lev)
        subgroups.append(SubgroupEstimate(lev, n, float(est[j]), float(se[j]),
                                          float(est[j] - fit.crit * se[j]),
                                          float(est[j] + fit.crit * se[j]), float(pval[j]),
                                          float(fit.tau2)))
    q_dist = "QM" if df2 is None else f"F(df2 = {df2})"
    return SubgroupResult("common", overall.method, overall.test, overall.level, subgroups, qm, df1,
                          p, q_dist, common_tau2=float(fit.tau2), overall=overall, notes=notes)
