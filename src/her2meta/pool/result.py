"""Result object of a univariate (intercept-only) meta-analysis.

Every number is exposed under the name metafor uses for it (``ci.lb`` becomes
``ci_lb``; ``QE``/``QEp`` are ``Q``/``Q_p`` here, as in metafor's
``leave1out`` output).  ``to_dict()`` gives a JSON-safe dictionary with the
same field names and ``summary()`` a readable text block.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Recursively convert numpy types to Python ones; NaN/inf become None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def fmt(value: Any, digits: int = 4) -> str:
    """Fixed-point number for summaries; None/NaN print as 'NA'."""
    if value is None:
        return "NA"
    value = float(value)
    if not math.isfinite(value):
        return "NA" if math.isnan(value) else ("Inf" if value > 0 else "-Inf")
    return f"{value:.{digits}f}"


def fmt_p(value: Any) -> str:
    if value is None or not math.isfinite(float(value)):
        return "NA"
    return "<.0001" if value < 1e-4 else f"{value:.4f}"


TEST_LABELS = {
    "z": "Wald z",
    "t": "t",
    "knha": "Knapp-Hartung (HKSJ) t",
    "adhoc": "Knapp-Hartung t, ad hoc truncated (s2 >= 1)",
}


@dataclass
class MetaResult:
    """Pooled estimate of an intercept-only fixed- or random-effects model."""

    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float
    se_tau2: float | None
    tau2_ci_lb: float | None
    tau2_ci_ub: float | None
    I2: float | None
    I2_ci_lb: float | None
    I2_ci_ub: float | None
    H2: float | None
    H2_ci_lb: float | None
    H2_ci_ub: float | None
    I2_Q: float | None
    Q: float | None
    Q_df: int
    Q_p: float | None
    pi_lb: float
    pi_ub: float
    k: int
    weights: list[float]
    study: list[str]
    yi: list[float]
    vi: list[float]
    method: str
    test: str
    level: float
    df: int | None
    pi_dist: str
    pi_df: int | None
    converged: bool
    iterations: int
    s2w: float
    loglik: float | None
    tau2_fixed: bool = False
    omitted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def tval(self) -> float | None:
        """The test statistic when it follows a t distribution, else None."""
        return self.zval if self.test != "z" else None

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def fixed_effect(self) -> bool:
        return self.method == "FE"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (plus ``tval`` and ``tau``)."""
        out = to_jsonable(self)
        out["tval"] = to_jsonable(self.tval)
        out["tau"] = to_jsonable(self.tau)
        return out

    def summary(self, digits: int = 4) -> str:
        """Readable multi-line report in the spirit of metafor's print method."""
        return format_meta_summary(self, digits)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()


def format_meta_summary(res: MetaResult, digits: int = 4) -> str:
    d = digits
    model = "Fixed-effect (equal-effects)" if res.fixed_effect else \
        f"Random-effects ({res.method})"
    lines = [f"{model} model (k = {res.k}); test: {TEST_LABELS.get(res.test, res.test)}"]
    lines.append("")
    if not res.fixed_effect:
        tau2_ci = ""
        if res.tau2_ci_lb is not None:
            tau2_ci = f"  [{fmt(res.tau2_ci_lb, d)}, {fmt(res.tau2_ci_ub, d)}] (Q-profile)"
        se_t = f" (SE = {fmt(res.se_tau2, d)})" if res.se_tau2 is not None else ""
        lines.append(f"tau^2 (estimated amount of total heterogeneity): "
                     f"{fmt(res.tau2, d)}{se_t}{tau2_ci}")
        lines.append(f"tau (square root of estimated tau^2 value):      {fmt(res.tau, d)}")
    if res.I2 is not None:
        label = "Q-based" if res.fixed_effect else "tau2-based"
        lines.append(f"I^2 (total heterogeneity / total variability):   {fmt(res.I2, 2)}% "
                     f"({label}; Q-based I^2 = {fmt(res.I2_Q, 2)}%)")
        lines.append(f"H^2 (total variability / sampling variability):  {fmt(res.H2, 2)}")
    if res.Q is not None:
        lines.append("")
        lines.append(f"Test for Heterogeneity:\nQ(df = {res.Q_df}) = {fmt(res.Q, d)}, "
                     f"p-val = {fmt_p(res.Q_p)}")
    lines.append("")
    stat = "zval" if res.test == "z" else f"tval (df = {res.df})"
    lines.append("Model Results:")
    lines.append(f"{'estimate':>10} {'se':>10} {stat:>18} {'pval':>8} {'ci.lb':>10} {'ci.ub':>10}")
    lines.append(f"{fmt(res.estimate, d):>10} {fmt(res.se, d):>10} {fmt(res.zval, d):>18} "
                 f"{fmt_p(res.pval):>8} {fmt(res.ci_lb, d):>10} {fmt(res.ci_ub, d):>10}")
    lines.append("")
    pi_label = "normal" if res.pi_df is None else f"t(df = {res.pi_df})"
    lines.append(f"{fmt(res.level, 0)}% prediction interval: [{fmt(res.pi_lb, d)}, "
                 f"{fmt(res.pi_ub, d)}] ({pi_label})")
    if not res.converged:
        lines.append("WARNING: the tau^2 estimator did not converge.")
    for note in res.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines)
