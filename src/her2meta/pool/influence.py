"""Leave-one-out analysis and case-deletion influence diagnostics.

Both refit the model of a :class:`MetaResult` (same estimator, test, level,
prediction-interval convention and, if fixed, tau2) k times, each time
without one study -- metafor's ``leave1out`` and ``influence.rma.uni``
(Viechtbauer & Cheung 2010).

Diagnostics for study i, with the fit without study i marked "(-i)":

* studentized deleted residual  (y_i - b(-i)) / sqrt(s2(-i) (v_i + tau2(-i)) + Var b(-i))
* DFFITS  (b - b(-i)) / sqrt(s2(-i) h_i (tau2(-i) + v_i))
* DFBETAS (b - b(-i)) / sqrt(s2(-i) [(X' W(-i) X)^-1]) with W(-i) = 1/(v + tau2(-i))
  over all k studies
* Cook's distance (b - b(-i))^2 / Var b,  covariance ratio Var b(-i) / Var b
* hat value h_i = w_i / sum w,  weight (percent), tau2(-i), Q(-i)

s2 is the Knapp-Hartung scale factor (1 for z tests).  A study is flagged
as influential with metafor's rules: |DFFITS| > 3 sqrt(p/(k-p)), Cook's
distance > the median of chi^2(p), hat > 3p/k, or |DFBETAS| > 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import PoolingError
from .result import MetaResult, fmt, to_jsonable
from .uni import rma
from .. import distributions as dist

#: residuals smaller than this are set to 0 (as metafor)
RESIDUAL_ZERO = 100 * np.finfo(float).eps


def refit_without(res: MetaResult, drop: int, *, tau2_ci: bool = True) -> MetaResult:
    """Refit the model of ``res`` without study number ``drop`` (0-based)."""
    keep = [j for j in range(res.k) if j != drop]
    return rma([res.yi[j] for j in keep], [res.vi[j] for j in keep],
               study=[res.study[j] for j in keep], method=res.method, test=res.test,
               level=res.level, pi_dist=res.pi_dist,
               tau2=res.tau2 if res.tau2_fixed else None, tau2_ci=tau2_ci)


@dataclass
class LeaveOneOutResult:
    """One refit per omitted study; ``refits[i]`` is None if it failed."""

    study: list[str]
    refits: list[MetaResult | None]
    errors: list[str | None]

    def column(self, name: str) -> list[float | None]:
        """One number across all refits, e.g. ``column("estimate")``."""
        return [getattr(r, name) if r is not None else None for r in self.refits]

    def to_dict(self) -> dict[str, Any]:
        table_fields = ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Q_p", "tau2",
                        "I2", "H2", "pi_lb", "pi_ub"]
        return to_jsonable({
            "study": self.study,
            "table": {name: self.column(name) for name in table_fields},
            "refits": [r.to_dict() if r is not None else None for r in self.refits],
            "errors": self.errors})

    def summary(self, digits: int = 4) -> str:
        d = digits
        lines = ["Leave-one-out analysis", "",
                 f"{'omitted':>16} {'estimate':>10} {'se':>9} {'ci.lb':>10} {'ci.ub':>10} "
                 f"{'Q':>10} {'tau2':>9} {'I2':>7}"]
        for name, r, err in zip(self.study, self.refits, self.errors):
            if r is None:
                lines.append(f"{name[:16]:>16} failed: {err}")
                continue
            lines.append(f"{name[:16]:>16} {fmt(r.estimate, d):>10} {fmt(r.se, d):>9} "
                         f"{fmt(r.ci_lb, d):>10} {fmt(r.ci_ub, d):>10} {fmt(r.Q, d):>10} "
                         f"{fmt(r.tau2, d):>9} {fmt(r.I2, 2):>7}")
        return "\n".join(lines)


def leave_one_out(res: MetaResult, *, tau2_ci: bool = True) -> LeaveOneOutResult:
    """Refit ``res`` k times, each time without one study (metafor ``leave1out``)."""
    if res.k < 2:
        raise PoolingError("leave-one-out needs at least 2 studies")
    refits: list[MetaResult | None] = []
    errors: list[str | None] = []
    for i in range(res.k):
        try:
            refits.append(refit_without(res, i, tau2_ci=tau2_ci))
            errors.append(None)
        except PoolingError as exc:
            refits.append(None)
            errors.append(str(exc))
    return LeaveOneOutResult(list(res.study), refits, errors)


@dataclass
class InfluenceResult:
    study: list[str]
    rstudent: list[float | None]
    dffits: list[float | None]
    cook_d: list[float | None]
    cov_r: list[float | None]
    tau2_del: list[float | None]
    Q_del: list[float | None]
    hat: list[float]
    weight: list[float]
    dfbetas: list[float | None]
    is_influential: list[bool]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    def summary(self, digits: int = 4) -> str:
        d = digits
        lines = ["Influence diagnostics", "",
                 f"{'study':>16} {'rstudent':>9} {'dffits':>9} {'cook.d':>9} {'cov.r':>9} "
                 f"{'tau2.del':>9} {'QE.del':>9} {'hat':>7} {'weight':>7} {'dfbs':>8} inf"]
        for i, name in enumerate(self.study):
            lines.append(
                f"{name[:16]:>16} {fmt(self.rstudent[i], d):>9} {fmt(self.dffits[i], d):>9} "
                f"{fmt(self.cook_d[i], d):>9} {fmt(self.cov_r[i], d):>9} "
                f"{fmt(self.tau2_del[i], d):>9} {fmt(self.Q_del[i], d):>9} "
                f"{fmt(self.hat[i], d):>7} {fmt(self.weight[i], 2):>7} "
                f"{fmt(self.dfbetas[i], d):>8} {'*' if self.is_influential[i] else ''}")
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)


def influence(res: MetaResult) -> InfluenceResult:
    """Case-deletion diagnostics of an intercept-only model (metafor ``influence``)."""
    k, p = res.k, 1
    if k < 2:
        raise PoolingError("influence diagnostics need at least 2 studies")
    yi, vi = np.asarray(res.yi), np.asarray(res.vi)
    w = 1.0 / (vi + res.tau2)
    hat = w / w.sum()
    var_full = res.se ** 2
    n = k
    rstudent, dffits, cook_d, cov_r, tau2_del, q_del, dfbetas = ([None] * n for _ in range(7))
    notes: list[str] = []
    for i in range(k):
        try:
            sub = refit_without(res, i, tau2_ci=False)
        except PoolingError as exc:
            notes.append(f"refit without {res.study[i]} failed: {exc}")
            continue
        diff = res.estimate - sub.estimate
        resid = yi[i] - sub.estimate
        if abs(resid) < RESIDUAL_ZERO:
            resid = 0.0
        s2 = sub.s2w
        se_resid = np.sqrt(vi[i] * s2 + sub.se ** 2 + sub.tau2 * s2)
        rstudent[i] = _ratio(resid, se_resid)
        dffits[i] = _ratio(diff, np.sqrt(s2 * hat[i] * (sub.tau2 + vi[i])))
        var_del_all = 1.0 / np.sum(1.0 / (vi + sub.tau2))
        dfbetas[i] = _ratio(diff, np.sqrt(s2 * var_del_all))
        cook_d[i] = _ratio(diff * diff, var_full)
        cov_r[i] = _ratio(sub.se ** 2, var_full)
        tau2_del[i] = sub.tau2
        q_del[i] = sub.Q
    cut_dffits = 3 * np.sqrt(p / (k - p)) if k > p else np.inf
    cook_cut = dist.chi2_ppf(0.5, p)
    flagged = []
    for i in range(k):
        flags = [dffits[i] is not None and abs(dffits[i]) > cut_dffits,
                 cook_d[i] is not None and cook_d[i] > cook_cut,
                 hat[i] > 3 * p / k,
                 dfbetas[i] is not None and abs(dfbetas[i]) > 1]
        flagged.append(any(flags))
    return InfluenceResult(list(res.study), rstudent, dffits, cook_d, cov_r, tau2_del, q_del,
                           hat.tolist(), list(res.weights), dfbetas, flagged, notes)


def _ratio(num: float, den: float) -> float | None:
    if den == 0 or not np.isfinite(den):
        return None if num != 0 else 0.0
    return float(num / den)
