"""Aggregate-data studies: published figures that enter the two-stage analyses beside IPD.

A study sheet row with data_source = aggregate points to a TSV with one row per analysis (and
subgroup) it reports:

    analysis  subgroup  events_exposed  n_exposed  events_reference  n_reference  ratio  ratio_ci_lb  ratio_ci_ub  source

Binary analyses use the four counts (the effect size is computed exactly as for IPD); survival
analyses use a published ratio (hazard ratio) with its 95% CI, from which the log ratio and its
standard error are recovered (SE = (log upper - log lower) / (2 x 1.959964)). An analysis the
table does not report is listed as not estimable for that study, with that reason.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from .effects import OVERALL, StudyEstimate, wald_interval, binary_effect
from .errors import StudyDataError
from . import distributions as dist

COLUMNS = ["analysis", "subgroup", "events_exposed", "n_exposed", "events_reference", "n_reference", "ratio", "ratio_ci_lb",
           "ratio_ci_ub", "source"]
Z95 = float(dist.norm_ppf(0.975))


def read_aggregate(path: Path | str, study: str) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t", dtype={"analysis": str, "subgroup": str, "source": str}, keep_default_na=False,
                        na_values=[""])
    missing = [c for c in ("analysis", "source") if c not in table]
    if missing:
        raise StudyDataError(study, f"the aggregate table has no column {', '.join(missing)}", file=str(path),
                             hint=f"columns: {', '.join(COLUMNS)}")
    if "subgroup" not in table:
        table["subgroup"] = OVERALL
    table["subgroup"] = table["subgroup"].fillna(OVERALL)
    return table


def _from_counts(row: pd.Series, *, study: str, analysis: str, spec: dict[str, Any], level: float) -> StudyEstimate:
    counts = {k: int(row[k]) for k in ("events_exposed", "n_exposed", "events_reference", "n_reference")}
    outcome = pd.Series([True] * counts["events_exposed"] + [False] * (counts["n_exposed"] - counts["events_exposed"])
                        + [True] * counts["events_reference"] + [False] * (counts["n_reference"] - counts["events_reference"]))
    group = ["exposed"] * counts["n_exposed"] + ["reference"] * counts["n_reference"]
    frame = pd.DataFrame({"group": group, "y": outcome})
    est = binary_effect(frame, study_id=study, analysis=analysis, outcome="y",
                        compare={"field": "group", "exposed": "exposed", "reference": "reference"},
                        measure=spec["measure"], correction=spec.get("correction", 0.5), level=level, subgroup=str(row["subgroup"]))
    return est


def _from_ratio(row: pd.Series, *, study: str, analysis: str, spec: dict[str, Any], level: float) -> StudyEstimate:
    est = StudyEstimate(study, analysis, spec["measure"], str(row["subgroup"]))
    lower, upper, ratio = float(row["ratio_ci_lb"]), float(row["ratio_ci_ub"]), float(row["ratio"])
    if not (0 < lower <= ratio <= upper):
        est.reason = f"published ratio {ratio} with CI {lower} to {upper} is not a valid ratio and interval"
        return est
    est.estimate = math.log(ratio)
    est.se = (math.log(upper) - math.log(lower)) / (2 * Z95)
    est.ci_lb, est.ci_ub = wald_interval(est.estimate, est.se, level)
    for key in ("events_exposed", "n_exposed", "events_reference", "n_reference"):
        if key in row and pd.notna(row[key]):
            setattr(est, key, int(row[key]))
    est.n, est.events = est.n_exposed + est.n_reference, est.events_exposed + est.events_reference
    est.estimable = est.se > 0
    est.reason = "" if est.estimable else "published CI has zero width"
    return est


def aggregate_estimates(table: pd.DataFrame, *, study: str, analysis: str, spec: dict[str, Any], level: float = 95.0,
                        subgroups: list[str] | None = None) -> list[StudyEstimate]:
    """Estimates of one analysis from a published-figures table (same rows as an IPD study)."""
    wanted = subgroups or [OVERALL]
    rows = []
    for subgroup in wanted:
        match = table[(table["analysis"] == analysis) & (table["subgroup"].astype(str) == subgroup)]
        if len(match) == 0:
            est = StudyEstimate(study, analysis, spec["measure"], subgroup, reason="not reported in the published aggregate data")
        elif spec["type"] == "binary" and match[["events_exposed", "n_exposed", "events_reference", "n_reference"]].notna().all(axis=None):
            est = _from_counts(match.iloc[0], study=study, analysis=analysis, spec=spec, level=level)
        elif match[["ratio", "ratio_ci_lb", "ratio_ci_ub"]].notna().all(axis=None):
            est = _from_ratio(match.iloc[0], study=study, analysis=analysis, spec=spec, level=level)
        else:
            est = StudyEstimate(study, analysis, spec["measure"], subgroup,
                                reason="the aggregate row has neither complete 2x2 counts nor a ratio with its CI")
        est.source = "aggregate"
        if len(match):
            est.notes.append(f"published: {match.iloc[0]['source']}")
        rows.append(est)
    return rows
