"""Pool the per-study estimates of one analysis with every configured model.

The numbers come from the pooling engine (her2meta.pool); this module selects the estimable
studies, lists the others with their reason, and lays the results out as one table row per
(subgroup, model) and one JSON document per analysis. Besides the configured models it adds,
where the data allow:
- the pooled event rate in each compared group (logit-transformed, back-transformed);
- for survival: the Peto (log-rank O-E / V) pooled log HR and the pooled RMST difference;
- for `within` analyses: the pooled within-trial interaction and, beside it, the naive
  across-trial comparison of the level-specific pooled effects (test for subgroup differences).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .coverage import spec_reason
from .effects import ESTIMATE_COLUMNS, INTERACTION, OVERALL, config_values
from .pool import pool_proportions, rma, subgroup_analysis
from .pool.errors import PoolingError
from . import distributions as dist

EXP_MEASURES = {"OR", "RR", "HR"}
POOLED_COLUMNS = ["analysis", "subgroup", "measure", "method", "k", "estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "I2",
                  "Q", "Q_df", "Q_p", "pi_lb", "pi_ub", "exp_estimate", "exp_ci_lb", "exp_ci_ub", "primary"]


def _builtin(value: Any) -> Any:
    """numpy scalars -> Python scalars; non-finite floats -> None (JSON has no NaN)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _exp(value: Any) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    try:
        return math.exp(value)
    except OverflowError:  # a log ratio above ~709: no finite ratio to show
        return None


def _fit_models(usable: pd.DataFrame, pooling: dict[str, Any], why_not: str = "") -> dict[str, Any]:
    models: dict[str, Any] = {}
    for method in pooling["methods"]:
        if len(usable) == 0:
            models[method] = {"error": f"not estimable: {why_not or 'no study could contribute an estimate'}"}
            continue
        try:
            res = rma(usable["estimate"].to_numpy(float), usable["se"].to_numpy(float) ** 2, method=method,
                      test=pooling["test"] if method != "FE" else "z", level=pooling["level"],
                      pi_dist=pooling["prediction_interval"], study=usable["study_id"].tolist())
        except PoolingError as exc:  # the engine refuses with its reason: shown in place of the model
            models[method] = {"error": f"not fitted: {exc}"}
            continue
        models[method] = res.to_dict()
    return models


def _peto(usable: pd.DataFrame, level: float) -> dict[str, Any] | None:
    """Peto / EBCTCG pooled log HR: sum(O-E) / sum(V), SE 1/sqrt(sum V) (a fixed-effect method)."""
    rows = usable.dropna(subset=["logrank_oe", "logrank_v"])
    rows = rows[rows["logrank_v"] > 0]
    if len(rows) == 0:
        return None
    oe, v = float(rows["logrank_oe"].sum()), float(rows["logrank_v"].sum())
    estimate, se = oe / v, 1 / math.sqrt(v)
    if not (math.isfinite(estimate) and math.isfinite(se) and se > 0):
        return None
    z = float(dist.norm_ppf(1 - (1 - level / 100) / 2))
    pval = float(2 * dist.norm_sf(abs(estimate / se)))
    return {"estimate": estimate, "se": se, "ci_lb": estimate - z * se, "ci_ub": estimate + z * se, "pval": pval,
            "k": int(len(rows)), "sum_o_minus_e": oe, "sum_v": v}


def _rmst(usable: pd.DataFrame, pooling: dict[str, Any]) -> dict[str, Any] | None:
    rows = usable.dropna(subset=["rmst_diff", "rmst_se"])
    rows = rows[rows["rmst_se"] > 0]
    if len(rows) == 0:
        return None
    try:
        res = rma(rows["rmst_diff"].to_numpy(float), rows["rmst_se"].to_numpy(float) ** 2, method=pooling["primary"],
                  test=pooling["test"] if pooling["primary"] != "FE" else "z", level=pooling["level"],
                  pi_dist=pooling["prediction_interval"], study=rows["study_id"].tolist())
    except PoolingError:
        return None
    return res.to_dict()


def _group_rates(rows: pd.DataFrame, pooling: dict[str, Any]) -> dict[str, Any]:
    """Pooled proportion with the outcome in each compared group (logit scale, primary model)."""
    method = pooling["primary"] if pooling["primary"] != "FE" else "FE"
    out = {}
    for side in ("exposed", "reference"):
        usable = rows[rows[f"n_{side}"] > 0]
        if len(usable) == 0:
            continue
        try:
            res = pool_proportions(usable[f"events_{side}"].to_numpy(float), usable[f"n_{side}"].to_numpy(float),
                                   study=usable["study_id"].tolist(), method=method, level=pooling["level"])
        except PoolingError:
            continue
        out[side] = {"proportion": res.proportion, "ci_lb": res.ci_lb, "ci_ub": res.ci_ub, "k": res.k, "method": res.method}
    return out


def _studies(rows: pd.DataFrame, usable: pd.DataFrame, models: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    studies = []
    order = list(usable["study_id"])
    for _, est in rows.iterrows():
        entry = {k: _builtin(v) for k, v in est.items()}
        entry["label"] = labels.get(est["study_id"], est["study_id"])
        entry["estimable"] = bool(est["estimable"])
        entry["weights"] = {}
        for method, result in models.items():
            weights = result.get("weights")
            if weights and entry["estimable"]:
                entry["weights"][method] = weights[order.index(est["study_id"])]
        studies.append(entry)
    return studies


def _studies_text(count: int) -> str:
    return f"{count} study" if count == 1 else f"{count} studies"


def group_text(compare: dict[str, Any], side: str) -> str:
    """A compared group for a sentence, e.g. "HER2-low/ultralow/null", "HR+", "regimen_class = trastuzumab"."""
    values = config_values(compare[side])
    text = "/".join(values)
    short = {"hr_status": "HR", "her2_status": "HER2", "pcr_ypt0is_ypn0": "pCR", "pcr_ypt0_ypn0": "pCR (ypT0 ypN0)",
             "pcr_breast": "breast pCR"}.get(compare["field"])
    if short is None:
        return f"{compare['field']} = {' or '.join(values)}"
    return short + {"positive": "+", "negative": "-", "true": "", "false": " absent"}.get(text, f"-{text}")


def why_not_estimable(rows: pd.DataFrame, name: str, spec: dict[str, Any], no_study_reason: str | None = None) -> str:
    """Why no study gives an estimate in this block: no study takes the analysis, every study
    failed, one compared group is empty in every study, or each study's own reason, counted."""
    if len(rows) == 0:
        return no_study_reason or spec_reason(spec)
    rows = rows.assign(reason=rows["reason"].fillna("").astype(str))
    is_failed = rows["reason"].str.startswith("study failed")
    live = rows[~is_failed]
    failed = rows[is_failed].drop_duplicates("study_id")  # a within analysis has a row per level
    failures = "; ".join(f"{r.study_id}: {r.reason.removeprefix('study failed: ')}" for r in failed.itertuples())
    if len(live) == 0:
        return f"every study that takes this analysis failed (--keep-going): {failures}"
    failed_text = f"{_studies_text(len(failed))} failed (--keep-going): {failures}" if len(failed) else ""
    text = ""
    if name != INTERACTION and {"n_exposed", "n_reference"} <= set(live.columns):
        exposed, reference = int(live["n_exposed"].fillna(0).sum()), int(live["n_reference"].fillna(0).sum())
        if (exposed == 0) != (reference == 0):  # both empty: the studies' own reasons say why (outcome not recorded, ...)
            empty = "exposed" if exposed == 0 else "reference"
            among = f" with {spec['within']['field']} = {name}" if spec.get("within") and name != OVERALL else ""
            text = (f"no study has patients in both groups: 0 {group_text(spec['compare'], empty)} patients{among} "
                    f"in {_studies_text(live['study_id'].nunique())}")
    if not text:
        studies = live.groupby("reason", sort=False)["study_id"].nunique()
        text = "no study gives an estimate: " + "; ".join(f"{reason or 'no reason recorded'} ({_studies_text(int(n))})"
                                                         for reason, n in studies.items())
    return f"{text}; {failed_text}" if failed_text else text


def _subgroup_block(rows: pd.DataFrame, name: str, spec: dict[str, Any], pooling: dict[str, Any],
                    labels: dict[str, str], no_study_reason: str | None = None) -> dict[str, Any]:
    rows = rows.sort_values("study_id").reset_index(drop=True)
    usable = rows[rows["estimable"].astype(bool)]
    why_not = why_not_estimable(rows, name, spec, no_study_reason) if len(usable) == 0 else ""
    models = _fit_models(usable, pooling, why_not)
    block: dict[str, Any] = {
        "name": name,
        "k_used": int(len(usable)),
        "n_total": int(usable["n"].sum()),
        "models": models,
        "studies": _studies(rows, usable, models, labels),
        "not_estimable": [{"study_id": r.study_id, "reason": r.reason} for r in rows[~rows["estimable"].astype(bool)].itertuples()],
    }
    if why_not:  # only on blocks no study informs: an estimable block's document is as before
        block["not_estimable_reason"] = why_not
    if name == INTERACTION:
        return block
    if spec["type"] == "binary":
        block["group_rates"] = _group_rates(rows, pooling)
    else:
        block["peto"] = _peto(usable, pooling["level"])
        if spec.get("rmst_horizon_months") is not None:
            block["rmst"] = _rmst(usable, pooling)
    return block


def _naive_comparison(estimates: pd.DataFrame, levels: list[str], pooling: dict[str, Any]) -> dict[str, Any] | None:
    """Across-trial comparison: pooled effect per level and the test for subgroup differences.

    Shown beside the within-trial interaction; it mixes within- and between-trial information
    and is open to ecological bias (Fisher et al. 2017)."""
    rows = estimates[estimates["subgroup"].isin(levels) & estimates["estimable"].astype(bool)]
    if rows["subgroup"].nunique() < 2:
        return None
    try:
        res = subgroup_analysis(rows["estimate"].to_numpy(float), rows["se"].to_numpy(float) ** 2,
                                rows["subgroup"].tolist(), study=rows["study_id"].tolist(), method=pooling["primary"],
                                test=pooling["test"] if pooling["primary"] != "FE" else "z", level=pooling["level"])
    except PoolingError:
        return None
    return {"Q_between": _builtin(res.Q_between), "Q_between_df": res.Q_between_df, "Q_between_p": _builtin(res.Q_between_p),
            "dist": res.Q_between_dist, "tau2": "separate"}


def analysis_not_estimable(estimates: pd.DataFrame, blocks: list[dict[str, Any]], spec: dict[str, Any],
                           no_study_reason: str | None = None) -> str | None:
    """The analysis's "not estimable: why" when no block has a study estimate; None otherwise.
    With `within`, from the levels' rows taken together (the interaction follows from them)."""
    if any(block["k_used"] for block in blocks):
        return None
    levels = estimates[estimates["subgroup"] != INTERACTION] if spec.get("within") else estimates
    return why_not_estimable(levels, OVERALL, spec, no_study_reason)


def _not_estimable_rows(blocks: list[dict[str, Any]], analysis: str, measure: str) -> list[dict[str, Any]]:
    """One table row per block no study informs, its reason in the method column."""
    return [{"analysis": analysis, "subgroup": b["name"], "measure": measure, "method": f"not estimable: {b['not_estimable_reason']}",
             "k": 0, "primary": False} for b in blocks if "not_estimable_reason" in b]


def pool_analysis(estimates: pd.DataFrame, *, analysis: str, spec: dict[str, Any], pooling: dict[str, Any],
                  labels: dict[str, str], no_study_reason: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """no_study_reason: why no included study takes the analysis (her2meta.coverage), shown when
    `estimates` is empty."""
    if len(estimates.columns) == 0:  # no study takes the analysis: no estimate files at all
        estimates = pd.DataFrame(columns=ESTIMATE_COLUMNS)
    if "subgroup" not in estimates:
        estimates = estimates.assign(subgroup=OVERALL)
    estimates = estimates.assign(subgroup=estimates["subgroup"].astype(str))
    within = spec.get("within")
    names = [str(v) for v in within["levels"]] + [INTERACTION] if within else [OVERALL]
    measure = spec["measure"]
    blocks = [_subgroup_block(estimates[estimates["subgroup"] == name], name, spec, pooling, labels, no_study_reason)
              for name in names]
    rows = []
    for block in blocks:
        for method in pooling["methods"]:
            result = block["models"][method]
            if "error" in result:
                continue
            row = {c: result.get(c) for c in POOLED_COLUMNS if c in result}
            row.update(analysis=analysis, subgroup=block["name"], measure=measure, method=method,
                       primary=method == pooling["primary"])
            if measure in EXP_MEASURES:
                row.update(exp_estimate=_exp(result["estimate"]), exp_ci_lb=_exp(result["ci_lb"]), exp_ci_ub=_exp(result["ci_ub"]))
            rows.append(row)
    rows += _not_estimable_rows(blocks, analysis, measure)
    table = pd.DataFrame(rows, columns=POOLED_COLUMNS)
    document = {
        "analysis": analysis,
        "spec": spec,
        "measure": measure,
        "exponentiate": measure in EXP_MEASURES,
        "pooling": pooling,
        "primary": pooling["primary"],
        "subgroups": blocks,
        "naive_comparison": _naive_comparison(estimates, names[:-1], pooling) if within else None,
    }
    why_not = analysis_not_estimable(estimates, blocks, spec, no_study_reason)
    if why_not:
        document["not_estimable"] = why_not
    return table, document
