"""Per-study effect sizes between two groups of patients (e.g. HR+ vs HR-).

- binary outcome: the 2x2 table, then log OR / log RR / RD through the pooling engine's
  effect-size function (continuity correction only for a study with a zero cell);
- time to event: Cox proportional-hazards log HR with Efron's tie handling (lifelines, as
  R's survival::coxph(ties = "efron")), with events per group.

A study that cannot give an estimate returns a row with estimable = False and the reason.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


@dataclass
class StudyEstimate:
    study_id: str
    analysis: str
    measure: str
    estimate: float = math.nan  # log scale for OR, RR, HR; risk difference for RD
    se: float = math.nan
    ci_lb: float = math.nan
    ci_ub: float = math.nan
    n: int = 0
    events: int = 0
    n_exposed: int = 0
    n_reference: int = 0
    events_exposed: int = 0
    events_reference: int = 0
    estimable: bool = False
    reason: str = ""
    correction: float = 0.0
    excluded_unknown_group: int = 0
    excluded_missing_outcome: int = 0
    notes: list[str] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["notes"] = "; ".join(self.notes)
        for key in ("estimate", "se", "ci_lb", "ci_ub"):
            if row[key] is not None and not math.isfinite(row[key]):
                row[key] = math.nan
        return row


ESTIMATE_COLUMNS = list(StudyEstimate.__dataclass_fields__)


def _wald(estimate: float, se: float, level: float) -> tuple[float, float]:
    z = stats.norm.ppf(1 - (1 - level / 100) / 2)
    return estimate - z * se, estimate + z * se


def split_groups(data: pd.DataFrame, compare: dict[str, str], needed: list[str]) -> tuple[pd.DataFrame, int, int]:
    """Keep patients in the two compared groups with the needed outcome fields present.

    Returns the kept rows (with an `exposed` 0/1 column), and the counts of patients excluded
    for being in neither group (e.g. HR unknown) and for a missing outcome.
    """
    group = data[compare["field"]]
    in_groups = group.isin([compare["exposed"], compare["reference"]])
    outcome_present = data[needed].notna().all(axis=1)
    kept = data.loc[in_groups & outcome_present].copy()
    kept["exposed"] = (kept[compare["field"]] == compare["exposed"]).astype(int)
    return kept, int((~in_groups).sum()), int((in_groups & ~outcome_present).sum())


def binary_effect(data: pd.DataFrame, *, study_id: str, analysis: str, outcome: str, compare: dict[str, str],
                  measure: str = "OR", correction: float = 0.5, level: float = 95.0) -> StudyEstimate:
    from .pool import escalc_2x2

    kept, unknown, missing = split_groups(data, compare, [outcome])
    y = kept[outcome].astype(bool)
    exposed = kept["exposed"] == 1
    ai, bi = int((y & exposed).sum()), int((~y & exposed).sum())
    ci, di = int((y & ~exposed).sum()), int((~y & ~exposed).sum())
    est = StudyEstimate(study_id, analysis, measure, n=len(kept), events=ai + ci, n_exposed=ai + bi, n_reference=ci + di,
                        events_exposed=ai, events_reference=ci, excluded_unknown_group=unknown, excluded_missing_outcome=missing)
    if est.n_exposed == 0 or est.n_reference == 0:
        empty = compare["exposed"] if est.n_exposed == 0 else compare["reference"]
        est.reason = f"no patients with {compare['field']} = {empty}"
        return est
    if measure in ("OR", "RR") and (ai + ci == 0 or (measure == "OR" and bi + di == 0)):
        est.reason = "no events in either group" if ai + ci == 0 else "every patient had the event"
        return est
    es = escalc_2x2([ai], [bi], [ci], [di], measure=measure, add=correction, to="only0", drop00=True)
    yi, vi = float(es.yi[0]), float(es.vi[0])
    if not (math.isfinite(yi) and math.isfinite(vi) and vi > 0):
        est.reason = "effect size not estimable from the 2x2 table"
        return est
    est.estimate, est.se = yi, math.sqrt(vi)
    est.ci_lb, est.ci_ub = _wald(yi, est.se, level)
    est.correction = correction if min(ai, bi, ci, di) == 0 else 0.0
    if est.correction:
        est.notes.append(f"{correction:g} added to each cell (zero cell)")
    est.estimable = True
    return est


def cox_effect(data: pd.DataFrame, *, study_id: str, analysis: str, time: str, event: str, compare: dict[str, str],
               level: float = 95.0) -> StudyEstimate:
    kept, unknown, missing = split_groups(data, compare, [time, event])
    exposed = kept["exposed"] == 1
    events = kept[event].astype(int)
    est = StudyEstimate(study_id, analysis, "HR", n=len(kept), events=int(events.sum()), n_exposed=int(exposed.sum()),
                        n_reference=int((~exposed).sum()), events_exposed=int(events[exposed].sum()),
                        events_reference=int(events[~exposed].sum()), excluded_unknown_group=unknown, excluded_missing_outcome=missing)
    if est.n_exposed == 0 or est.n_reference == 0:
        empty = compare["exposed"] if est.n_exposed == 0 else compare["reference"]
        est.reason = f"no patients with {compare['field']} = {empty}"
        return est
    if est.events_exposed == 0 or est.events_reference == 0:
        # The partial likelihood is monotone: the maximum is at an infinite log HR.
        est.reason = "no events in one group: the Cox model has no finite estimate"
        return est
    log_hr, se = cox_log_hr(kept[time].to_numpy(float), events.to_numpy(int), kept["exposed"].to_numpy(float))
    if not (math.isfinite(log_hr) and math.isfinite(se) and se > 0):
        est.reason = "the Cox model did not converge"
        return est
    est.estimate, est.se = log_hr, se
    est.ci_lb, est.ci_ub = _wald(log_hr, se, level)
    est.estimable = True
    return est


def cox_log_hr(time: np.ndarray, event: np.ndarray, covariate: np.ndarray) -> tuple[float, float]:
    """Log hazard ratio and its model-based SE for one covariate, Efron ties (lifelines)."""
    from lifelines import CoxPHFitter

    frame = pd.DataFrame({"time": time, "event": event, "x": covariate})
    fitter = CoxPHFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter.fit(frame, duration_col="time", event_col="event")
    return float(fitter.params_["x"]), float(fitter.standard_errors_["x"])


def estimate_analysis(data: pd.DataFrame, *, study_id: str, analysis: str, spec: dict[str, Any], level: float = 95.0) -> StudyEstimate:
    """One study's estimate for one configured analysis."""
    if spec["type"] == "binary":
        return binary_effect(data, study_id=study_id, analysis=analysis, outcome=spec["outcome"], compare=spec["compare"],
                             measure=spec["measure"], correction=spec.get("correction", 0.5), level=level)
    return cox_effect(data, study_id=study_id, analysis=analysis, time=spec["time"], event=spec["event"],
                      compare=spec["compare"], level=level)
