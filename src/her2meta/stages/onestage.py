"""onestage_analysis: the one-stage model of an analysis on all studies' IPD, stratified by study.

Binary outcomes: logistic regression with study-specific intercepts, and conditional logistic
regression stratified by study. Time to event: Cox model with a baseline hazard per study,
with model-based and robust (sandwich) standard errors. With `within`, the model holds the
group indicator, the level indicator and their product: the product's coefficient is the
one-stage interaction (it pools within- and across-trial information, unlike the two-stage
within-trial interaction)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..effects import canonical_values, select_population, split_groups
from ..io import read_parquet, write_json


def design(data: pd.DataFrame, spec: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    population = select_population(data, spec.get("population"))
    needed = [spec["outcome"]] if spec["type"] == "binary" else [spec["time"], spec["event"]]
    kept, _, _ = split_groups(population, spec["compare"], needed)
    if spec["type"] == "survival" and spec.get("landmark_months") is not None and len(kept):
        # The patients and times of the two-stage landmark analysis (effects.cox_effect).
        from .. import survival

        mask, shifted = survival.landmark(kept[spec["time"]].to_numpy(float), kept[spec["event"]].to_numpy(int),
                                          spec["landmark_months"])
        kept = kept.loc[mask].copy()
        kept[spec["time"]] = shifted[mask]
    covariates = ["exposed"]
    within = spec.get("within")
    if within:
        first = str(within["levels"][0]).lower()
        level = canonical_values(kept[within["field"]])
        kept = kept.loc[level.isin([str(v).lower() for v in within["levels"]])].copy()
        kept["level"] = (canonical_values(kept[within["field"]]) == first).astype(float)
        kept["exposed_x_level"] = kept["exposed"] * kept["level"]
        covariates += ["level", "exposed_x_level"]
    kept["exposed"] = kept["exposed"].astype(float)
    if spec["type"] == "binary":
        kept["y"] = kept[spec["outcome"]].astype(bool).astype(int)
    return kept, covariates


TERM_LABELS = {"exposed": "group effect", "level": "level", "exposed_x_level": "interaction (group x level)"}


def _terms(result, covariates: list[str], spec: dict[str, Any]) -> list[dict[str, Any]]:
    within = spec.get("within")
    out = []
    for name in covariates:
        label = TERM_LABELS[name]
        if within and name == "exposed":
            label = f"group effect in {within['field']} = {within['levels'][1]}"
        if within and name == "level":
            label = f"{within['field']} = {within['levels'][0]} vs {within['levels'][1]}"
        out.append({"term": label, "coef": float(result.coef[name]), "se": float(result.se[name]),
                    "ci_lb": float(result.ci_lb[name]), "ci_ub": float(result.ci_ub[name]), "pval": float(result.pval[name])})
    return out


def fit_onestage(data: pd.DataFrame, spec: dict[str, Any], level: float = 95.0) -> dict[str, Any]:
    """level: confidence level in percent (pooling.level), as for the two-stage estimates."""
    from ..onestage import stratified_cox, stratified_logistic

    kept, covariates = design(data, spec)
    models = []
    conf = level / 100
    if spec["type"] == "binary":
        variants = [("Logistic, study-specific intercepts",
                     lambda: stratified_logistic(kept, "y", covariates, method="fixed_intercepts", conf_level=conf)),
                    ("Conditional logistic, stratified by study",
                     lambda: stratified_logistic(kept, "y", covariates, method="conditional", conf_level=conf))]
    else:
        variants = [("Cox, baseline hazard per study",
                     lambda: stratified_cox(kept, spec["time"], spec["event"], covariates, conf_level=conf)),
                    ("Cox, baseline hazard per study, robust SE",
                     lambda: stratified_cox(kept, spec["time"], spec["event"], covariates, robust=True, conf_level=conf))]
    for label, fit in variants:
        result = fit()
        entry: dict[str, Any] = {"label": label, "n": int(result.n), "k": int(result.k_studies), "method": result.method}
        if result.estimable:
            entry["terms"] = _terms(result, covariates, spec)
        else:
            entry["error"] = result.reason
        models.append(entry)
    return {"analysis_type": spec["type"], "measure": spec["measure"], "covariates": covariates, "models": models,
            "note": ("One-stage models use all patients of the contributing studies at once, with study as a stratum; "
                     "estimates are on the ratio scale (exp of the coefficient).")}


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    frames = {Path(p).stem: read_parquet(p) for p in inputs.data}
    data = pd.concat(frames.values(), ignore_index=True)
    spec = params["analysis"]
    result = fit_onestage(data, spec, params["level"])
    failed = sorted(study for study, frame in frames.items() if frame.attrs.get("failed"))
    if failed:  # --keep-going: say which studies gave no patients, and why the model may have none
        result["note"] += f" Studies that failed (--keep-going) contribute no patients: {', '.join(failed)}."
    for model in result["models"]:
        for term in model.get("terms", []):
            logger.info("%s: %s exp(coef) = %.3f", model["label"], term["term"], math.exp(term["coef"]))
    write_json(outputs.json, result)
