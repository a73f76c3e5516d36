"""Pool the per-study estimates of one analysis with every configured model.

The numbers come from the pooling engine (her2meta.pool); this module only selects the
estimable studies, lists the others with their reason, and lays the results out as one
table row per model and one JSON document per analysis.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .pool import rma

EXP_MEASURES = {"OR", "RR", "HR"}
POOLED_COLUMNS = ["analysis", "measure", "method", "k", "estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "I2", "Q", "Q_df",
                  "Q_p", "pi_lb", "pi_ub", "exp_estimate", "exp_ci_lb", "exp_ci_ub", "primary"]


def _exp(value: Any) -> float | None:
    return None if value is None or not math.isfinite(value) else math.exp(value)


def _builtin(value: Any) -> Any:
    """numpy scalars -> Python scalars; non-finite floats -> None (JSON has no NaN)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def pool_analysis(estimates: pd.DataFrame, *, analysis: str, spec: dict[str, Any], pooling: dict[str, Any],
                  labels: dict[str, str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    estimates = estimates.sort_values("study_id").reset_index(drop=True)
    usable = estimates[estimates["estimable"].astype(bool)]
    not_used = estimates[~estimates["estimable"].astype(bool)]
    measure = spec["measure"]
    models: dict[str, Any] = {}
    rows = []
    for method in pooling["methods"]:
        if len(usable) == 0:
            models[method] = {"error": "no study could contribute an estimate"}
            continue
        res = rma(usable["estimate"].to_numpy(float), (usable["se"].to_numpy(float)) ** 2, method=method,
                  test=pooling["test"] if method != "FE" else "z", level=pooling["level"], pi_dist=pooling["prediction_interval"],
                  study=usable["study_id"].tolist())
        result = res.to_dict()
        models[method] = result
        row = {c: result.get(c) for c in POOLED_COLUMNS if c in result}
        row.update(analysis=analysis, measure=measure, method=method, primary=method == pooling["primary"])
        if measure in EXP_MEASURES:
            row.update(exp_estimate=_exp(result["estimate"]), exp_ci_lb=_exp(result["ci_lb"]), exp_ci_ub=_exp(result["ci_ub"]))
        rows.append(row)
    table = pd.DataFrame(rows, columns=POOLED_COLUMNS)
    studies = []
    for _, est in estimates.iterrows():
        entry = {k: _builtin(v) for k, v in est.items()}
        entry["label"] = labels.get(est["study_id"], est["study_id"])
        entry["estimable"] = bool(est["estimable"])
        entry["weights"] = {}
        for method, result in models.items():
            weights = result.get("weights") if isinstance(result, dict) else None
            if weights and entry["estimable"]:
                position = list(usable["study_id"]).index(est["study_id"])
                entry["weights"][method] = weights[position]
        studies.append(entry)
    document = {
        "analysis": analysis,
        "spec": spec,
        "measure": measure,
        "exponentiate": measure in EXP_MEASURES,
        "pooling": pooling,
        "primary": pooling["primary"],
        "k_used": int(len(usable)),
        "studies": studies,
        "not_estimable": [{"study_id": r.study_id, "reason": r.reason} for r in not_used.itertuples()],
        "models": models,
    }
    return table, document
