"""Per-study effect sizes between two groups of patients (first stage of the two-stage approach).

An analysis (config.yaml) names an outcome, the two groups compared (`compare`), an optional
population restriction (`population`), and optionally `within` levels (e.g. HR+ and HR-): the
comparison is then made within each level and their difference on the log scale (the
within-study interaction, Fisher et al. 2017) is added as its own row.

- binary outcome: the 2x2 table, then log OR / log RR / RD through the pooling engine's
  effect-size function (continuity correction only for a study with a zero cell);
- time to event: Cox log HR with Efron ties (optionally adjusted), plus the log-rank O-E and V
  (Peto), the RMST difference at a horizon and the proportional-hazards test.

A study (or level) that cannot give an estimate returns a row with estimable = False and the reason.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from . import distributions as dist

OVERALL = "all"
INTERACTION = "interaction"


@dataclass
class StudyEstimate:
    study_id: str
    analysis: str
    measure: str
    subgroup: str = OVERALL
    estimate: float = math.nan  # log scale for OR, RR, HR; risk difference for RD
    se: float = math.nan
    ci_lb: float = math.nan
    ci_ub: float = math.nan
    # Every int field counts people (COUNT_COLUMNS): a new one is suppressed for release too.
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
    excluded_before_landmark: int = 0
    # Outside the analysis `population` (e.g. chemo_taxane not true, or not recorded).
    excluded_population: int = 0
    # Within analyses, on the interaction row only: in the population, but the `within` field is
    # none of the levels (e.g. HR status unknown).
    excluded_unknown_level: int = 0
    logrank_oe: float = math.nan
    logrank_v: float = math.nan
    rmst_diff: float = math.nan
    rmst_se: float = math.nan
    ph_pval: float = math.nan
    source: str = "ipd"
    notes: list[str] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["notes"] = "; ".join(self.notes)
        for key, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                row[key] = math.nan
        return row


ESTIMATE_COLUMNS = list(StudyEstimate.__dataclass_fields__)
#: Every count of people an estimate row carries (its int fields): each is suppressed below the
#: minimum cell count before a pooled document leaves the secure zone.
COUNT_COLUMNS = tuple(name for name, f in StudyEstimate.__dataclass_fields__.items() if f.type == "int")
#: The patients of a study left out of an estimate, one count per reason (the excluded_* fields).
LEFT_OUT_COLUMNS = tuple(name for name in COUNT_COLUMNS if name.startswith("excluded_"))


def wald_interval(estimate: float, se: float, level: float) -> tuple[float, float]:
    z = dist.norm_ppf(1 - (1 - level / 100) / 2)
    return estimate - z * se, estimate + z * se


def config_values(value: Any) -> list[str]:
    return [str(v).lower() for v in (value if isinstance(value, list) else [value])]


def _canonical(v) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    return str(v).lower()


def canonical_values(values: pd.Series) -> pd.Series:
    """Lower-case strings for matching config values; booleans become 'true'/'false'.

    Each distinct value is converted once (a study has thousands of patients and a handful of
    distinct values). Columns whose values are not all of one kind (e.g. True beside 1, which
    hash alike) take the value-by-value path."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind not in ("string", "boolean", "integer", "floating", "empty", "categorical"):
        return values.astype(object).map(_canonical)
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    lookup = np.array([_canonical(v) for v in uniques] + [None], dtype=object)
    return pd.Series(lookup[codes], index=values.index, dtype=object)


def select_population(data: pd.DataFrame, population: dict[str, Any] | None) -> pd.DataFrame:
    """Rows whose fields take the listed values (e.g. hr_status: [positive])."""
    mask = pd.Series(True, index=data.index)
    for name, allowed in (population or {}).items():
        mask &= canonical_values(data[name]).isin(config_values(allowed))
    return data.loc[mask]


def split_groups(data: pd.DataFrame, compare: dict[str, Any], needed: list[str]) -> tuple[pd.DataFrame, int, int]:
    """Keep patients in the two compared groups with the needed outcome fields present.

    Returns the kept rows (with an `exposed` 0/1 column), and the counts of patients excluded
    for being in neither group (e.g. HR unknown) and for a missing outcome.
    """
    group = canonical_values(data[compare["field"]])
    exposed = group.isin(config_values(compare["exposed"]))
    reference = group.isin(config_values(compare["reference"]))
    in_groups = exposed | reference
    outcome_present = data[needed].notna().all(axis=1)
    kept = data.loc[in_groups & outcome_present].copy()
    kept["exposed"] = exposed.loc[kept.index].astype(int)
    return kept, int((~in_groups).sum()), int((in_groups & ~outcome_present).sum())


def _group_label(compare: dict[str, Any], side: str) -> str:
    return f"{compare['field']} = {' or '.join(config_values(compare[side]))}"


def _empty_reason(data: pd.DataFrame, compare: dict[str, Any], outcome: str, est: StudyEstimate) -> str:
    """Why a compared group is empty: the outcome is never recorded, or the group has no patients."""
    if len(data) and outcome in data and data[outcome].isna().all():
        return f"{outcome} is not recorded in this study"
    return f"no patients with {_group_label(compare, 'exposed' if est.n_exposed == 0 else 'reference')}"


def binary_effect(data: pd.DataFrame, *, study_id: str, analysis: str, outcome: str, compare: dict[str, Any],
                  measure: str = "OR", correction: float = 0.5, level: float = 95.0, subgroup: str = OVERALL) -> StudyEstimate:
    from .pool import escalc_2x2

    kept, unknown, missing = split_groups(data, compare, [outcome])
    y = kept[outcome].astype(bool)
    exposed = kept["exposed"] == 1
    ai, bi = int((y & exposed).sum()), int((~y & exposed).sum())
    ci, di = int((y & ~exposed).sum()), int((~y & ~exposed).sum())
    est = StudyEstimate(study_id, analysis, measure, subgroup, n=len(kept), events=ai + ci, n_exposed=ai + bi,
                        n_reference=ci + di, events_exposed=ai, events_reference=ci, excluded_unknown_group=unknown,
                        excluded_missing_outcome=missing)
    if est.n_exposed == 0 or est.n_reference == 0:
        est.reason = _empty_reason(data, compare, outcome, est)
        return est
    if measure in ("OR", "RR") and (ai + ci == 0 or (measure == "OR" and bi + di == 0)):
        est.reason = "no events in either group" if ai + ci == 0 else "every patient had the event"
        return est
    # a double zero has no OR or RR, but has an RD (of about 0): kept for RD, as escalc_2x2 does by default
    es = escalc_2x2([ai], [bi], [ci], [di], measure=measure, add=correction, to="only0", drop00=measure in ("OR", "RR"))
    yi, vi = float(es.yi[0]), float(es.vi[0])
    if not (math.isfinite(yi) and math.isfinite(vi) and vi > 0):
        est.reason = "effect size not estimable from the 2x2 table"
        return est
    est.estimate, est.se = yi, math.sqrt(vi)
    est.ci_lb, est.ci_ub = wald_interval(yi, est.se, level)
    est.correction = correction if min(ai, bi, ci, di) == 0 else 0.0
    if est.correction:
        est.notes.append(f"{correction:g} added to each cell (zero cell)")
    est.estimable = True
    return est


def _design_matrix(kept: pd.DataFrame, adjust: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Group indicator plus adjustment covariates (categorical ones as dummies); rows complete."""
    if not adjust:
        return kept[["exposed"]].astype(float), pd.Series(True, index=kept.index)
    columns = {"exposed": kept["exposed"].astype(float)}
    frame = pd.DataFrame(columns, index=kept.index)
    for name in adjust:
        values = kept[name]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            frame[name] = values.astype(float)
        else:
            dummies = pd.get_dummies(values.astype("string"), prefix=name, drop_first=True, dtype=float)
            frame = frame.join(dummies)
            frame.loc[values.isna(), dummies.columns] = np.nan
    complete = frame.notna().all(axis=1)
    return frame.loc[complete], complete


def cox_effect(data: pd.DataFrame, *, study_id: str, analysis: str, time: str, event: str, compare: dict[str, Any],
               level: float = 95.0, subgroup: str = OVERALL, adjust: list[str] | None = None,
               horizon: float | None = None, landmark: float | None = None) -> StudyEstimate:
    from . import survival

    kept, unknown, missing = split_groups(data, compare, [time, event])
    before_landmark = 0
    if landmark is not None and len(kept):
        mask, shifted = survival.landmark(kept[time].to_numpy(float), kept[event].to_numpy(int), landmark)
        before_landmark = int((~mask).sum())
        kept = kept.loc[mask].copy()
        kept[time] = shifted[mask]
    exposed = kept["exposed"] == 1
    events = kept[event].astype(int)
    est = StudyEstimate(study_id, analysis, "HR", subgroup, n=len(kept), events=int(events.sum()),
                        n_exposed=int(exposed.sum()), n_reference=int((~exposed).sum()),
                        events_exposed=int(events[exposed].sum()), events_reference=int(events[~exposed].sum()),
                        excluded_unknown_group=unknown, excluded_missing_outcome=missing,
                        excluded_before_landmark=before_landmark)
    if est.n_exposed == 0 or est.n_reference == 0:
        est.reason = _empty_reason(data, compare, time, est)
        return est
    if est.events_exposed == 0 or est.events_reference == 0:
        # The partial likelihood is monotone: the maximum is at an infinite log hazard ratio.
        est.reason = "no events in one group: the Cox model has no finite estimate"
        return est
    t, e, g = kept[time].to_numpy(float), events.to_numpy(int), kept["exposed"].to_numpy(int)
    X, complete = _design_matrix(kept, adjust or [])
    if adjust and (~complete).any():
        est.notes.append(f"{int((~complete).sum())} patients without {', '.join(adjust)} left out of the adjusted model")
    fit = survival.cox_fit(t[complete.to_numpy()], e[complete.to_numpy()], X)
    if not fit.estimable or not math.isfinite(float(fit.se["exposed"])):
        est.reason = (fit.reason or "the Cox model did not converge").replace(
            "exposed = 1", _group_label(compare, "exposed")).replace("exposed = 0", _group_label(compare, "reference"))
        return est
    est.estimate, est.se = float(fit.coef["exposed"]), float(fit.se["exposed"])
    est.ci_lb, est.ci_ub = wald_interval(est.estimate, est.se, level)
    est.estimable = True
    if adjust:
        est.notes.append(f"adjusted for {', '.join(adjust)}")
    lr = survival.logrank(t, e, g)
    est.logrank_oe, est.logrank_v = float(lr["o_minus_e"]), float(lr["variance"])
    try:
        ph = survival.ph_test(t, e, pd.DataFrame({"exposed": g.astype(float)}))
        if ph.get("estimable", True):
            est.ph_pval = float(ph["global"]["p"])
        else:
            est.notes.append(f"proportional-hazards test not available: {ph.get('reason')}")
    except survival.SurvivalError as exc:
        est.notes.append(f"proportional-hazards test not available: {exc}")
    if horizon is not None:
        rmst = survival.rmst_difference(t, e, g, tau=horizon)
        if rmst.get("estimable", True):
            est.rmst_diff, est.rmst_se = float(rmst["difference"]), float(rmst["difference_se"])
        else:
            est.notes.append(f"RMST at {horizon:g} months not estimable: {rmst.get('reason')}")
    return est


def interaction(first: StudyEstimate, second: StudyEstimate, *, level: float = 95.0) -> StudyEstimate:
    """Within-study interaction: difference of the two levels' estimates (log ratio of ratios).

    The levels are disjoint groups of patients, so the estimates are independent and the
    variance of the difference is the sum of the variances."""
    est = StudyEstimate(first.study_id, first.analysis, first.measure, INTERACTION, n=first.n + second.n,
                        events=first.events + second.events)
    if not (first.estimable and second.estimable):
        missing = [s.subgroup for s in (first, second) if not s.estimable]
        est.reason = f"not estimable in {' and '.join(missing)}"
        return est
    est.estimate = first.estimate - second.estimate
    est.se = math.sqrt(first.se ** 2 + second.se ** 2)
    est.ci_lb, est.ci_ub = wald_interval(est.estimate, est.se, level)
    est.estimable = True
    est.notes.append(f"{first.subgroup} vs {second.subgroup}")
    return est


def _one(data: pd.DataFrame, *, study_id: str, analysis: str, spec: dict[str, Any], level: float, subgroup: str) -> StudyEstimate:
    if spec["type"] == "binary":
        return binary_effect(data, study_id=study_id, analysis=analysis, outcome=spec["outcome"], compare=spec["compare"],
                             measure=spec["measure"], correction=spec.get("correction", 0.5), level=level, subgroup=subgroup)
    return cox_effect(data, study_id=study_id, analysis=analysis, time=spec["time"], event=spec["event"],
                      compare=spec["compare"], level=level, subgroup=subgroup, adjust=spec.get("adjust"),
                      horizon=spec.get("rmst_horizon_months"), landmark=spec.get("landmark_months"))


def estimate_analysis(data: pd.DataFrame, *, study_id: str, analysis: str, spec: dict[str, Any],
                      level: float = 95.0) -> list[StudyEstimate]:
    """One study's estimates for one configured analysis: one row, or one per `within` level
    plus the interaction row."""
    within = spec.get("within")
    if data.attrs.get("failed"):  # the study failed upstream (snakemake --keep-going): her2meta.errors.failure_record
        from .errors import failed_reason

        names = [str(v) for v in within["levels"]] + [INTERACTION] if within else [OVERALL]
        return [StudyEstimate(study_id, analysis, spec["measure"], name, reason=failed_reason(data.attrs["failed"]))
                for name in names]
    population = select_population(data, spec.get("population"))
    if not within:
        row = _one(population, study_id=study_id, analysis=analysis, spec=spec, level=level, subgroup=OVERALL)
        row.excluded_population = len(data) - len(population)
        return [row]
    rows = []
    levels = [str(v) for v in within["levels"]]
    level_of_all = canonical_values(data[within["field"]])
    level_of_population = level_of_all.loc[population.index]
    for value in levels:
        part = population.loc[level_of_population == value.lower()]
        if len(part) == 0:
            row = StudyEstimate(study_id, analysis, spec["measure"], value, reason=f"no patients with {within['field']} = {value}")
        else:
            row = _one(part, study_id=study_id, analysis=analysis, spec=spec, level=level, subgroup=value)
        row.excluded_population = int((level_of_all == value.lower()).sum()) - len(part)
        rows.append(row)
    combined = interaction(rows[0], rows[1], level=level)
    combined.excluded_population = len(data) - len(population)
    combined.excluded_unknown_level = int((~level_of_population.isin([v.lower() for v in levels])).sum())
    rows.append(combined)
    return rows
