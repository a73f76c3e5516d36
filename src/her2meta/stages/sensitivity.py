"""sensitivity_analysis: every sensitivity analysis of one analysis in one job.

Each kind's variants go to their own table (results/sensitivity/<analysis>/<kind>.tsv), then
the influence diagnostics with the funnel plot, and the robustness table that puts the primary
result and every variant side by side with a verdict per block."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import sensitivity as sens
from ..io import read_parquet, read_tsv, write_json, write_tsv

FROM_ESTIMATES = {
    "leave_one_out": sens.leave_one_out_variants,
    "exclusions": sens.exclusion_variants,
    "cumulative": sens.cumulative_variants,
    "small_study": sens.small_study_variants,
}
FROM_IPD = {
    "by_regimen": sens.by_regimen_variants,
    "by_pcr_definition": sens.by_pcr_definition_variants,
    "by_hr_cutoff": sens.by_hr_cutoff_variants,
}


def _context(params, wildcards) -> sens.Context:
    return sens.Context(analysis=wildcards["analysis"], spec=params["analysis"], pooling=params["pooling"],
                        studies=params["studies"], settings=params["settings"])


def _estimates(paths) -> pd.DataFrame:
    return pd.concat([read_tsv(p) for p in paths], ignore_index=True)


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    ctx = _context(params, wildcards)
    pooled = json.loads(Path(inputs.pooled).read_text(encoding="utf-8"))
    if pooled.get("not_estimable"):
        write_not_estimable(ctx, pooled, params["kinds"], outputs, logger)
        return
    estimates = _estimates(inputs.estimates)
    data = {Path(p).stem: read_parquet(p) for p in inputs.data}
    onestage = json.loads(Path(inputs.onestage[0]).read_text(encoding="utf-8")) if inputs.onestage else None
    tables = []
    for kind, path in zip(params["kinds"], outputs.variants, strict=True):
        variants = kind_variants(kind, ctx, estimates=estimates, data=data, onestage=onestage)
        write_tsv(path, sens.to_frame(variants))
        tables.append(read_tsv(path))  # as written: the verdicts see exactly what the tables say
        logger.info("%s: %d variants of %s", kind, len(variants), ctx.analysis)
    write_influence(ctx, estimates, outputs.influence, outputs.funnel)
    write_robustness(pooled, pd.concat(tables, ignore_index=True), outputs.table, outputs.json, logger)


def kind_variants(kind: str, ctx: sens.Context, *, estimates: pd.DataFrame, data: dict[str, pd.DataFrame],
                  onestage: dict | None) -> list:
    """One kind's variants: from the study estimates, or re-estimated from the IPD studies."""
    if kind == "by_method":
        return sens.by_method_variants(estimates, ctx, onestage)
    if kind in FROM_ESTIMATES:
        return FROM_ESTIMATES[kind](estimates, ctx)
    if not data:  # e.g. only aggregate-data studies
        return [sens.Variant(ctx.analysis, kind, "not possible", note="no study with individual patient data takes this analysis")]
    return FROM_IPD[kind](data, ctx)


def write_influence(ctx: sens.Context, estimates: pd.DataFrame, table_path, funnel_path) -> None:
    """Influence diagnostics per study, and the funnel plot of the key block (the interaction
    for `within` analyses, else the only block). The report shows the funnel only where k
    reaches the configured minimum for small-study assessment."""
    from ..figures import MEASURE_LABELS
    from ..plots import funnel_plot, save_figure

    write_tsv(table_path, sens.influence_table(estimates, ctx))
    name, rows = sens.blocks(estimates)[-1]
    usable = rows[rows["estimable"].astype(bool)]
    res = sens.fit(rows, ctx)
    figure = funnel_plot(usable["estimate"].to_numpy(float), usable["se"].to_numpy(float),
                         estimate=res.estimate if res is not None else 0.0,
                         measure_label=MEASURE_LABELS[ctx.spec["measure"]] + (" (interaction)" if name == "interaction" else ""),
                         exponentiate=ctx.spec["measure"] != "RD")
    save_figure(figure, Path(funnel_path).with_suffix(""))


def write_robustness(document: dict, variants: pd.DataFrame, table_path, json_path, logger) -> None:
    primary_rows, verdicts = [], {}
    for block in document["subgroups"]:
        result = block["models"].get(document["primary"], {})
        if "estimate" not in result:
            continue
        primary = pd.Series({"ci_lb": result["ci_lb"], "ci_ub": result["ci_ub"]})
        verdicts[block["name"]] = sens.verdict(primary, variants[variants["subgroup"].astype(str) == block["name"]])
        primary_rows.append({"analysis": document["analysis"], "kind": "primary", "variant": f"primary ({document['primary']})",
                             "subgroup": block["name"], "k": result["k"], "estimate": result["estimate"], "ci_lb": result["ci_lb"],
                             "ci_ub": result["ci_ub"], "pval": result["pval"], "tau2": result.get("tau2"), "I2": result.get("I2"),
                             "changes_conclusion": False, "note": ""})
    table = pd.concat([pd.DataFrame(primary_rows, columns=sens.VARIANT_COLUMNS), variants], ignore_index=True)
    write_tsv(table_path, table)
    write_json(json_path, {"analysis": document["analysis"], "verdicts": verdicts})
    for name, text in verdicts.items():
        logger.info("%s (%s): %s", document["analysis"], name, text)


def write_not_estimable(ctx: sens.Context, document: dict, kinds: list[str], outputs, logger) -> None:
    """An analysis no study informs has nothing to vary: every declared output says so, with the
    reason from the pooled document (one row per kind and block, an empty influence table, a
    placeholder funnel plot)."""
    from ..figures import placeholder

    reason = document["not_estimable"]
    logger.warning("%s: no sensitivity analysis: not estimable: %s", ctx.analysis, reason)
    names = [block["name"] for block in document["subgroups"]]
    for kind, path in zip(kinds, outputs.variants, strict=True):
        write_tsv(path, sens.to_frame([sens.Variant(ctx.analysis, kind, "not estimable", name, note=reason) for name in names]))
    write_tsv(outputs.influence, sens.influence_table(pd.DataFrame(columns=["subgroup"]), ctx))
    placeholder(f"Funnel plot: {ctx.spec.get('title', ctx.analysis)}", reason, Path(outputs.funnel).with_suffix(""))
    rows = [sens.Variant(ctx.analysis, "primary", f"primary ({document['primary']})", name, note=f"not estimable: {reason}")
            for name in names]
    write_tsv(outputs.table, sens.to_frame(rows))
    write_json(outputs.json, {"analysis": ctx.analysis, "verdicts": {name: f"not estimable: {reason}" for name in names}})
