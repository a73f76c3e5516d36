"""Small-study effects / publication bias: Egger, Begg, trim-and-fill.

* :func:`egger_test` -- regression test for funnel-plot asymmetry (Egger et
  al. 1997).  ``model="lm"`` is the classical test: weighted least squares of
  yi on sei with weights 1/vi and a t(k-2) test of the slope (identical to
  regressing yi/sei on 1/sei and testing the intercept).  ``model="rma"``
  (metafor's default in ``regtest``) adds sei as a moderator to the
  meta-analytic model with the same estimator and test.  The intercept is
  the "limit estimate" (effect as sei -> 0).
* :func:`begg_test` -- rank correlation test (Begg & Mazumdar 1994):
  Kendall's tau between the standardised deviates (yi - b_FE)/sqrt(vi - 1/sum w)
  and vi.  As R's ``cor.test``: exact p-value when k < 50 and there are no
  ties, else the normal approximation with the tie-corrected variance.
* :func:`trimfill` -- trim-and-fill (Duval & Tweedie 2000a,b) with the L0,
  R0 (and Q0) estimators; the side with the missing studies is chosen as in
  metafor: from the sign of the slope of sei in a meta-regression of yi on sei
  (negative slope: missing on the right).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._inputs import alpha_from_level, validate_study_data
from ._wls import WeightedFit
from .errors import PoolingError
from .metareg import metareg
from .result import MetaResult, fmt, fmt_p, to_jsonable
from .uni import rma
from .. import distributions as dist


def _data_of(res_or_yi, vi):
    if isinstance(res_or_yi, MetaResult):
        return (np.asarray(res_or_yi.yi), np.asarray(res_or_yi.vi), res_or_yi.method,
                res_or_yi.test, res_or_yi.level)
    if vi is None:
        raise PoolingError("give a MetaResult or yi and vi")
    data = validate_study_data(res_or_yi, vi)
    return data.yi, data.vi, "REML", "z", 95.0


# ---------------------------------------------------------------- Egger ---

@dataclass
class EggerResult:
    model: str
    method: str | None
    test: str
    zval: float
    pval: float
    df: int | None
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_lb: float
    limit_ci_ub: float
    k: int

    @property
    def tval(self) -> float | None:
        return self.zval if self.df is not None else None

    def to_dict(self) -> dict[str, Any]:
        out = to_jsonable(self)
        out["tval"] = to_jsonable(self.tval)
        return out

    def summary(self, digits: int = 4) -> str:
        stat = "z" if self.df is None else f"t(df = {self.df})"
        return (f"Egger's regression test for funnel plot asymmetry ({self.model}; predictor: sei)\n"
                f"{stat} = {fmt(self.zval, digits)}, p = {fmt_p(self.pval)}\n"
                f"Limit estimate (as sei -> 0): {fmt(self.limit_estimate, digits)} "
                f"[{fmt(self.limit_ci_lb, digits)}, {fmt(self.limit_ci_ub, digits)}]")


def egger_test(res_or_yi, vi=None, *, model: str = "rma", method: str | None = None,
               test: str | None = None, level: float | None = None) -> EggerResult:
    """Egger's regression test; see the module docstring for the two models."""
    yi, vi, fit_method, fit_test, fit_level = _data_of(res_or_yi, vi)
    method = method or fit_method
    test = test or fit_test
    level = level or fit_level
    k = yi.size
    if k < 3:
        raise PoolingError(f"Egger's test needs at least 3 studies (k = {k})")
    sei = np.sqrt(vi)
    if model == "rma":
        reg = metareg(yi, vi, {"sei": sei}, method=method, test=test, level=level)
        return EggerResult("rma", reg.method, reg.test, reg.zval[1], reg.pval[1], reg.df,
                           reg.beta[1], reg.se[1], reg.beta[0], reg.ci_lb[0], reg.ci_ub[0], k)
    if model != "lm":
        raise PoolingError(f"model must be 'rma' or 'lm', not {model!r}")
    X = np.column_stack([np.ones(k), sei])
    fit = WeightedFit(yi, 1.0 / vi, X)
    df = k - 2
    sigma2 = fit.rss / df
    se = np.sqrt(np.diag(fit.cov) * sigma2)
    tval = fit.beta / se
    crit = dist.t_isf(alpha_from_level(level) / 2, df)
    return EggerResult("lm", None, "t", float(tval[1]), float(2 * dist.t_sf(abs(tval[1]), df)),
                       df, float(fit.beta[1]), float(se[1]), float(fit.beta[0]),
                       float(fit.beta[0] - crit * se[0]), float(fit.beta[0] + crit * se[0]), k)


# ----------------------------------------------------------------- Begg ---

@dataclass
class BeggResult:
    tau: float
    pval: float
    method: str
    k: int

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    def summary(self, digits: int = 4) -> str:
        return (f"Begg's rank correlation test for funnel plot asymmetry\n"
                f"Kendall's tau = {fmt(self.tau, digits)}, p = {fmt_p(self.pval)} ({self.method})")


def begg_test(res_or_yi, vi=None) -> BeggResult:
    """Begg & Mazumdar (1994) rank correlation test (metafor ``ranktest``)."""
    yi, vi, *_ = _data_of(res_or_yi, vi)
    k = yi.size
    if k < 3:
        raise PoolingError(f"Begg's test needs at least 3 studies (k = {k})")
    w = 1.0 / vi
    theta = np.sum(w * yi) / w.sum()
    v_star = vi - 1.0 / w.sum()
    y_star = (yi - theta) / np.sqrt(v_star)
    ties = len(np.unique(y_star)) < k or len(np.unique(vi)) < k
    method = "asymptotic" if ties or k >= 50 else "exact"
    from scipy.stats import kendalltau

    result = kendalltau(y_star, vi, method=method)
    return BeggResult(float(result.statistic), float(result.pvalue), method, k)


# ------------------------------------------------------------ trim and fill ---

@dataclass
class TrimFillResult:
    """Trim-and-fill: number of missing studies, their imputed values, refit."""

    estimator: str
    side: str
    k0: int
    se_k0: float | None
    p_k0: float | None
    filled_yi: list[float]
    filled_vi: list[float]
    filled_study: list[str]
    result: MetaResult
    notes: list[str] = field(default_factory=list)

    def __getattr__(self, name):
        # estimate, se, ci_lb, ... of the model fitted to observed + filled studies
        if name in ("result", "__setstate__", "__getstate__") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.result, name)

    def to_dict(self) -> dict[str, Any]:
        out = to_jsonable({k: v for k, v in self.__dict__.items() if k != "result"})
        out["result"] = self.result.to_dict()
        for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "k"):
            out[key] = out["result"][key]
        return out

    def summary(self, digits: int = 4) -> str:
        lines = [f"Trim-and-fill ({self.estimator}): estimated {self.k0} missing studies on the "
                 f"{self.side} side" + (f" (SE = {fmt(self.se_k0, digits)})"
                                        if self.se_k0 is not None else ""), ""]
        lines.append(self.result.summary(digits))
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)


def trimfill(res: MetaResult, *, estimator: str = "L0", side: str | None = None,
             maxiter: int = 100) -> TrimFillResult:
    """Duval & Tweedie trim-and-fill for an intercept-only model ``res``.

    The filled model keeps the estimator, test and level of ``res``
    (metafor 3.8 refits with its default test).
    """
    estimator = estimator.upper()
    if estimator not in ("L0", "R0", "Q0"):
        raise PoolingError("estimator must be 'L0', 'R0' or 'Q0'")
    if res.k < 3:
        raise PoolingError(f"trim-and-fill needs at least 3 studies (k = {res.k})")
    yi0, vi0 = np.asarray(res.yi), np.asarray(res.vi)
    notes: list[str] = []
    if side is None:
        side = _missing_side(yi0, vi0, res.method)
    elif side not in ("left", "right"):
        raise PoolingError("side must be 'left' or 'right'")
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * yi0, kind="stable")
    yi, vi = sign * yi0[order], vi0[order]
    k = yi.size
    k0, previous, se_k0, beta = 0, -1, None, 0.0
    for _ in range(maxiter):
        if k0 == previous:
            break
        previous = k0
        beta = rma(yi[:k - k0], vi[:k - k0], method=res.method, tau2_ci=False).estimate
        k0, se_k0 = _estimate_k0(yi - beta, k, estimator, notes)
    else:
        raise PoolingError(f"trim-and-fill did not converge in {maxiter} iterations")
    filled_working = 2.0 * beta - yi[k - k0:] if k0 > 0 else np.array([])
    filled_yi = sign * filled_working
    filled_vi = vi[k - k0:] if k0 > 0 else np.array([])
    filled_study = [f"Filled {i + 1}" for i in range(k0)]
    final = res if k0 == 0 else rma(
        np.concatenate([yi0, filled_yi]), np.concatenate([vi0, filled_vi]),
        study=list(res.study) + filled_study, method=res.method, test=res.test,
        level=res.level, pi_dist=res.pi_dist)
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else None
    return TrimFillResult(estimator, side, int(k0), se_k0, p_k0, filled_yi.tolist(),
                          filled_vi.tolist(), filled_study, final, notes)


def _missing_side(yi, vi, method) -> str:
    """metafor's rule: slope of sei in rma(yi ~ sei) < 0 means missing on the right."""
    slope = metareg(yi, vi, {"sei": np.sqrt(vi)}, method=method).beta[1]
    return "right" if slope < 0 else "left"


def _estimate_k0(centred: np.ndarray, k: int, estimator: str, notes: list[str]):
    """k0 from the signed ranks of the centred values (Duval & Tweedie 2000)."""
    ranks = np.empty(k)
    ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
    signed = np.sign(centred) * ranks
    if estimator == "R0":
        negative = -signed[signed < 0]
        if negative.size == 0:
            notes.append("R0: no study below the centre; k0 set to k - 1")
            k0 = k - 1.0
        else:
            k0 = (k - negative.max()) - 1.0
        se_k0 = np.sqrt(2 * max(0.0, k0) + 2)
    else:
        s_r = signed[signed > 0].sum()
        if estimator == "L0":
            k0 = (4 * s_r - k * (k + 1)) / (2 * k - 1)
        else:
            radicand = 2 * k * k - 4 * s_r + 0.25
            if radicand < 0:
                raise PoolingError(
                    f"the Q0 estimator is not defined for these studies: the rank sum of the "
                    f"studies above the centre ({s_r:g}) exceeds k^2/2 ({k * k / 2:g}); "
                    "use estimator='L0' or 'R0'")
            k0 = k - 0.5 - np.sqrt(radicand)
        var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0 ** 3 + 27 * k0 ** 2 + 17 * k0
                  - 18 * k * k0 ** 2 - 18 * k * k0 + 6 * k * k * k0) / 24
        if var_sr < 0:
            se_k0 = None
        elif estimator == "L0":
            se_k0 = 4 * np.sqrt(var_sr) / (2 * k - 1)
        else:
            denom = (k - 0.5) ** 2 - k0 * (2 * k - k0 - 1)
            se_k0 = 2 * np.sqrt(var_sr) / np.sqrt(denom) if denom > 0 else None
    k0 = int(max(0, np.round(k0)))
    if se_k0 is not None:
        se_k0 = float(max(0.0, se_k0))
    return k0, se_k0
