"""Estimates of one simulated meta-analysis by every method under test.

Two-stage: per-study estimates with the project's first-stage code (:mod:`her2meta.effects`),
pooled with :func:`her2meta.pool.rma` by fixed effect, DerSimonian-Laird (z), REML (z) and
REML + Knapp-Hartung. One-stage: :mod:`her2meta.onestage` (logistic regression with
study-specific intercepts, conditional logistic regression; Cox model with a baseline hazard
per study, model-based and robust SEs).

Each method gives one :class:`MethodResult` per estimand; a method that cannot give an estimate
(no estimable study, a model that did not converge) is recorded with ``available = False`` and
the reason, never dropped silently.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..effects import binary_effect, cox_effect, estimate_analysis

HR_COMPARE = {"field": "hr_status", "exposed": "positive", "reference": "negative"}
PCR_COMPARE = {"field": "pcr", "exposed": "true", "reference": "false"}
INTERACTION_SPEC = {
    "type": "survival", "time": "efs_months", "event": "efs_event", "compare": PCR_COMPARE,
    "within": {"field": "hr_status", "levels": ["positive", "negative"]}, "measure": "HR",
}

#: (method id, rma method, rma test, label)
TWO_STAGE_METHODS = (
    ("FE", "FE", "z", "two-stage FE"),
    ("DL", "DL", "z", "two-stage DL (z)"),
    ("REML", "REML", "z", "two-stage REML (z)"),
    ("REML_KH", "REML", "knha", "two-stage REML + Knapp-Hartung"),
)
ONE_STAGE_BINARY = (
    ("1S_LOGIT_FI", "fixed_intercepts", "one-stage logistic, study intercepts"),
    ("1S_CLOGIT", "conditional", "one-stage conditional logistic"),
)
ONE_STAGE_COX = (
    ("1S_COX", False, "one-stage stratified Cox"),
    ("1S_COX_ROBUST", True, "one-stage stratified Cox, robust SE"),
)
METHOD_LABELS = {m[0]: m[-1] for m in TWO_STAGE_METHODS + ONE_STAGE_BINARY + ONE_STAGE_COX}
METHOD_ORDER = tuple(METHOD_LABELS)


@dataclass
class MethodResult:
    estimand: str
    method: str
    estimate: float = math.nan
    se: float = math.nan
    ci_lb: float = math.nan
    ci_ub: float = math.nan
    #: studies contributing (two-stage: estimable studies; one-stage: studies in the model)
    k: int = 0
    tau2: float = math.nan
    available: bool = False
    note: str = ""

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def _finite(*values: float) -> bool:
    return all(v is not None and math.isfinite(float(v)) for v in values)


def pool_two_stage(estimand: str, yi: list[float], vi: list[float]) -> list[MethodResult]:
    """The four two-stage poolings of the estimable per-study estimates."""
    from ..pool import rma

    out = []
    for method_id, method, test, _ in TWO_STAGE_METHODS:
        res = MethodResult(estimand, method_id, k=len(yi))
        if not yi:
            res.note = "no estimable study"
        else:
            try:
                fit = rma(np.asarray(yi, float), np.asarray(vi, float), method=method, test=test, tau2_ci=False)
            except Exception as exc:  # noqa: BLE001 - recorded, the replicate goes on
                res.note = f"{type(exc).__name__}: {exc}"
            else:
                res.estimate, res.se, res.ci_lb, res.ci_ub = fit.estimate, fit.se, fit.ci_lb, fit.ci_ub
                res.tau2 = float(fit.tau2)
                res.available = _finite(fit.estimate, fit.se, fit.ci_lb, fit.ci_ub)
                if not res.available:
                    res.note = "non-finite pooled estimate or interval"
        out.append(res)
    return out


def _one_stage(estimand: str, method_id: str, fit: Callable[[], Any], term: str) -> MethodResult:
    res = MethodResult(estimand, method_id)
    try:
        r = fit()
    except Exception as exc:  # noqa: BLE001
        res.note = f"{type(exc).__name__}: {exc}"
        return res
    res.k = int(getattr(r, "k_studies", 0) or 0)
    if not getattr(r, "estimable", True):
        res.note = str(getattr(r, "reason", "") or "not estimable")
        return res
    res.estimate, res.se = float(r.coef[term]), float(r.se[term])
    res.ci_lb, res.ci_ub = float(r.ci_lb[term]), float(r.ci_ub[term])
    res.available = _finite(res.estimate, res.se, res.ci_lb, res.ci_ub)
    if not res.available:
        res.note = "non-finite estimate or interval"
    return res


def one_stage_frame(patients: pd.DataFrame) -> pd.DataFrame:
    """Numeric covariates of the one-stage models: hr_pos, pcr_f, pcr_x_hr_pos, y (pCR 0/1)."""
    d = patients.copy()
    d["hr_pos"] = (d["hr_status"] == "positive").astype(float)
    d["pcr_f"] = d["pcr"].astype(float)
    d["pcr_x_hr_pos"] = d["pcr_f"] * d["hr_pos"]
    d["y"] = d["pcr"].astype(int)
    return d


# ---------------------------------------------------------------------------------- pCR
def pcr_two_stage(patients: pd.DataFrame) -> list[MethodResult]:
    yi, vi = [], []
    for study_id, sub in patients.groupby("study_id", sort=True):
        est = binary_effect(sub, study_id=str(study_id), analysis="pcr_log_or", outcome="pcr",
                            compare=HR_COMPARE, measure="OR")
        if est.estimable:
            yi.append(est.estimate)
            vi.append(est.se ** 2)
    return pool_two_stage("pcr_log_or", yi, vi)


def pcr_one_stage(frame: pd.DataFrame) -> list[MethodResult]:
    from ..onestage import stratified_logistic

    return [_one_stage("pcr_log_or", mid,
                       lambda m=method: stratified_logistic(frame, "y", ["hr_pos"], study_col="study_id", method=m),
                       "hr_pos")
            for mid, method, _ in ONE_STAGE_BINARY]


# ---------------------------------------------------------------------------------- EFS
def efs_two_stage(patients: pd.DataFrame) -> list[MethodResult]:
    """HR+ vs HR- without pCR, and the within-study pCR x HR interaction, pooled."""
    hr_y, hr_v, int_y, int_v = [], [], [], []
    for study_id, sub in patients.groupby("study_id", sort=True):
        est = cox_effect(sub.loc[~sub["pcr"]], study_id=str(study_id), analysis="efs_log_hr", time="efs_months",
                         event="efs_event", compare=HR_COMPARE)
        if est.estimable:
            hr_y.append(est.estimate)
            hr_v.append(est.se ** 2)
        rows = estimate_analysis(sub, study_id=str(study_id), analysis="efs_pcr_interaction", spec=INTERACTION_SPEC)
        inter = rows[-1]
        if inter.estimable:
            int_y.append(inter.estimate)
            int_v.append(inter.se ** 2)
    return pool_two_stage("efs_log_hr", hr_y, hr_v) + pool_two_stage("efs_pcr_interaction", int_y, int_v)


def efs_one_stage(frame: pd.DataFrame) -> list[MethodResult]:
    from ..onestage import stratified_cox

    covariates = ["hr_pos", "pcr_f", "pcr_x_hr_pos"]
    out = []
    for mid, robust, _ in ONE_STAGE_COX:
        cache: dict[str, Any] = {}

        def fit(robust=robust, cache=cache):
            if "r" not in cache:
                cache["r"] = stratified_cox(frame, "efs_months", "efs_event", covariates, study_col="study_id",
                                            robust=robust)
            return cache["r"]

        out.append(_one_stage("efs_log_hr", mid, fit, "hr_pos"))
        out.append(_one_stage("efs_pcr_interaction", mid, fit, "pcr_x_hr_pos"))
    return out


PARTS = ("pcr_two_stage", "pcr_one_stage", "efs_two_stage", "efs_one_stage")


def estimate_replicate(patients: pd.DataFrame, parts: tuple[str, ...] = PARTS) -> tuple[list[MethodResult], dict[str, float]]:
    """Every method's result on one simulated meta-analysis, and the CPU seconds spent per part.

    CPU time of the process (``time.process_time``), not wall time: on a shared machine the wall
    time of a part also counts the other jobs'."""
    timings: dict[str, float] = {}
    results: list[MethodResult] = []
    frame = one_stage_frame(patients) if any(p.endswith("one_stage") for p in parts) else None
    for part in parts:
        start = time.process_time()
        if part == "pcr_two_stage":
            results += pcr_two_stage(patients)
        elif part == "pcr_one_stage":
            results += pcr_one_stage(frame)
        elif part == "efs_two_stage":
            results += efs_two_stage(patients)
        elif part == "efs_one_stage":
            results += efs_one_stage(frame)
        else:
            raise ValueError(f"unknown part {part!r}; choose from {', '.join(PARTS)}")
        timings[part] = time.process_time() - start
    return results, timings
