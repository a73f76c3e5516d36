"""harmonize_study: extracted study -> harmonized data model + QC counts."""

from __future__ import annotations

import json

from ..harmonize import harmonize_study
from ..io import read_parquet, write_json, write_parquet
from ..mapping import load_mapping


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    study = params["study"]
    mapping = load_mapping(inputs.mapping, study=study["study_id"])
    extracted = read_parquet(inputs.data)
    settings = params["harmonization"]
    data, qc = harmonize_study(
        extracted,
        study=study,
        abbreviations=mapping.abbreviations,
        receptor_cutoff=mapping.receptor_cutoff,
        hr_threshold=settings["hr_threshold_percent"],
        itc_is_pcr=settings["itc_is_pcr"],
        source_file=str(inputs.data),
    )
    with open(inputs.qc, encoding="utf-8") as handle:
        qc["extraction"] = json.load(handle)
    for warning in qc["warnings"]:
        logger.warning("study %s: %s", study["study_id"], warning)
    write_parquet(outputs.data, data)
    write_json(outputs.qc, qc)
