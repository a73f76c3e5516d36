"""Harmonize step of study_chain: extracted study -> harmonized data model + QC counts.

Under `snakemake --keep-going` a study that failed at extraction, or fails here, gets marker
outputs: an empty table with the data model's columns (its parquet metadata says `failed`) and
a QC record with the usual keys, all counts zero, plus `failed` (see harmonize.failed_qc)."""

from __future__ import annotations

import json
import traceback

from ..errors import Her2MetaError, failed_reason, failure_record, keep_going
from ..harmonize import empty_harmonized, failed_qc, harmonize_study
from ..io import read_parquet, write_json, write_parquet
from ..mapping import load_mapping


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    study = params["study"]
    sid = study["study_id"]
    with open(inputs.qc, encoding="utf-8") as handle:
        extraction_qc = json.load(handle)
    extracted = read_parquet(inputs.data)
    upstream = extracted.attrs.get("failed") or extraction_qc.get("failed")
    if upstream:
        logger.error("study %s: %s (at extraction); writing the failed-study marker", sid, failed_reason(upstream))
        _write_failed(outputs, sid, upstream, extraction_qc)
        return
    try:
        mapping = load_mapping(inputs.mapping, study=sid)
        settings = params["harmonization"]
        data, qc = harmonize_study(
            extracted,
            study=study,
            abbreviations=mapping.abbreviations,
            receptor_cutoff=mapping.receptor_cutoff,
            hr_threshold=settings["hr_threshold_percent"],
            itc_is_pcr=settings["itc_is_pcr"],
            source_file=str(inputs.data),
            field_sources={name: f"{info['file']} ({info['source']})" for name, info in extraction_qc.get("fields", {}).items()
                           if info.get("file")},
            mapping_file=str(inputs.mapping),
            mapping_spec=mapping.spec,
        )
    except Exception as exc:
        if not keep_going(params):
            raise
        if not isinstance(exc, Her2MetaError):  # a bug, not bad data: keep the traceback for the report to the developers
            logger.error("unexpected failure:\n%s", traceback.format_exc())
        record = failure_record(exc, stage="harmonize", study=sid)
        logger.error("%s", record["message"])
        logger.error("study %s: --keep-going: the study is marked as failed (%s); the other studies go on", sid,
                     failed_reason(record))
        _write_failed(outputs, sid, record, extraction_qc)
        return
    qc["extraction"] = extraction_qc
    # Every exclusion of the study, in order: population filters and the data cut-off (extraction),
    # then endpoint exclusions (harmonization). The report's flow diagram lists them.
    qc["exclusions"] = list(extraction_qc.get("exclusions", [])) + qc["exclusions"]
    # Extraction warnings (e.g. keys of a dataset that match no subject) reach the report with the
    # harmonization ones; they carry counts only, the example keys stay in the log.
    qc["warnings"] = list(extraction_qc.get("warnings", [])) + qc["warnings"]
    for warning in qc["warnings"]:
        logger.warning("study %s: %s", sid, warning)
    write_parquet(outputs.data, data)
    write_json(outputs.qc, qc)


def _write_failed(outputs, sid: str, record: dict, extraction_qc: dict) -> None:
    frame = empty_harmonized()
    frame.attrs = {"failed": record}
    write_parquet(outputs.data, frame)
    write_json(outputs.qc, failed_qc(sid, record, extraction_qc))
