"""extract_study: raw study package + mapping -> one row per subject with harmonized names."""

from __future__ import annotations

from pathlib import Path

from ..io import write_json, write_parquet
from ..mapping import apply_mapping, load_mapping


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    study = wildcards["study"]
    mapping = load_mapping(inputs.mapping, study=study)
    result = apply_mapping(mapping, Path(params["package_dir"]))
    logger.info("study %s: %d subjects extracted from %d files", study, len(result.data), len(result.qc["files"]))
    for exclusion in result.qc["subjects"].get("excluded", []):
        logger.info("study %s: %d subjects excluded: %s", study, exclusion["count"], exclusion["reason"])
    write_parquet(outputs.data, result.data)
    write_json(outputs.qc, result.qc)
