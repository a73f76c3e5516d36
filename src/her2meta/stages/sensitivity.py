"""Sensitivity rules: one kind of sensitivity analysis per job (they run in parallel), then the
robustness table that puts every variant of an analysis side by side."""

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


def run_from_estimates(*, inputs, outputs, params, wildcards, logger) -> None:
    ctx = _context(params, wildcards)
    kind = wildcards["kind"]
    estimates = _estimates(inputs.estimates)
    if kind == "by_method":
        onestage = json.loads(Path(inputs.onestage[0]).read_text()) if inputs.onestage else None
        variants = sens.by_method_variants(estimates, ctx, onestage)
    else:
        variants = FROM_ESTIMATES[kind](estimates, ctx)
    write_tsv(outputs.table, sens.to_frame(variants))
    logger.info("%s: %d variants of %s", kind, len(variants), ctx.analysis)


def run_from_ipd(*, inputs, outputs, params, wildcards, logger) -> None:
    ctx = _context(params, wildcards)
    data = {Path(p).stem: read_parquet(p) for p in inputs.data}
    variants = FROM_IPD[wildcards["kind"]](data, ctx)
    write_tsv(outputs.table, sens.to_frame(variants))
    logger.info("%s: %d variants of %s (IPD studies only)", wildcards["kind"], len(variants), ctx.analysis)


def run_influence(*, inputs, outputs, params, wildcards, logger) -> None:
    """Influence diagnostics per study, and the funnel plot of the key block (the interaction
    for `within` analyses, else the only block). The report shows the funnel only where k
    reaches the configured minimum for small-study assessment."""
    from ..figures import MEASURE_LABELS
    from ..plots import funnel_plot, save_figure

    ctx = _context(params, wildcards)
    estimates = _estimates(inputs.estimates)
    write_tsv(outputs.table, sens.influence_table(estimates, ctx))
    name, rows = sens.blocks(estimates)[-1]
    usable = rows[rows["estimable"].astype(bool)]
    res = sens.fit(rows, ctx)
    figure = funnel_plot(usable["estimate"].to_numpy(float), usable["se"].to_numpy(float),
                         estimate=res.estimate if res is not None else 0.0,
                         measure_label=MEASURE_LABELS[ctx.spec["measure"]] + (" (interaction)" if name == "interaction" else ""),
                         exponentiate=ctx.spec["measure"] != "RD")
    save_figure(figure, Path(outputs.funnel).with_suffix(""))


def run_robustness(*, inputs, outputs, params, wildcards, logger) -> None:
    document = json.loads(Path(inputs.pooled).read_text())
    variants = pd.concat([read_tsv(p) for p in inputs.variants], ignore_index=True)
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
    write_tsv(outputs.table, table)
    write_json(outputs.json, {"analysis": document["analysis"], "verdicts": verdicts})
    for name, text in verdicts.items():
        logger.info("%s (%s): %s", document["analysis"], name, text)
