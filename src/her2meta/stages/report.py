"""render_report: pooled results, QC counts and figures -> results/report/index.html."""

from __future__ import annotations

import json
from pathlib import Path

from ..audit import report_appendix
from ..io import atomic_write_text, read_tsv
from ..baseline import labels_from_studies
from ..baseline import report_context as baseline_context
from ..integrity import report_context as integrity_context
from ..report import render
from .flow import report_context as flow_context


def _load(path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    qcs = {}
    for path in inputs.qc:
        qc = _load(path)
        qcs[qc["study_id"]] = qc
    km = {Path(p).parent.name: Path(p) for p in inputs.km}
    km_by_study = {Path(p).parent.name: Path(p) for p in inputs.km_by_study}
    onestage = {Path(p).stem: _load(p) for p in inputs.onestage}
    robustness = {}
    for verdicts, table, influence, funnel in zip(inputs.robustness_json, inputs.robustness_tsv, inputs.influence, inputs.funnel):
        name = Path(verdicts).parent.name
        robustness[name] = {**_load(verdicts), "table": read_tsv(table).to_dict("records"),
                            "influence": read_tsv(influence).to_dict("records"), "funnel": Path(funnel),
                            "min_k": params["config"]["sensitivity"]["min_k_small_study_tests"]}
    html = render(config=params["config"], studies=params["studies"], qcs=qcs,
                  documents=[_load(p) for p in inputs.pooled], forest_svgs=[Path(p) for p in inputs.forest],
                  km_svgs=km, km_by_study_svgs=km_by_study, onestage=onestage, robustness=robustness,
                  extra={"integrity": integrity_context(inputs.integrity, params["config"]),
                         "baseline": baseline_context(inputs.baseline, labels_from_studies(params["studies"])),
                         "prisma_flow": flow_context(inputs.flow, inputs.flow_svg),
                         "provenance": report_appendix([*inputs.pooled, *inputs.forest, *inputs.km, *inputs.km_by_study,
                                                        *inputs.onestage, *inputs.robustness_tsv])})
    atomic_write_text(outputs.html, html)
    logger.info("report written: %s", outputs.html)
