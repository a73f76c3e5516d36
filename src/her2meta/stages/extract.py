"""Extract step of study_chain: raw study package + mapping -> one row per subject with harmonized names.

A study whose package or mapping is broken stops with a clear message (StudyDataError). Under
`snakemake --keep-going` it instead leaves marker outputs (an empty table whose parquet
metadata, and QC record, say `failed`) so the other studies, pooling and the report still run;
the report and every estimate of the study say why it failed."""

from __future__ import annotations

import traceback
from pathlib import Path

import pandas as pd

from ..crosscheck import check_record_counts
from ..errors import Her2MetaError, failed_reason, failure_record, keep_going
from ..io import write_json, write_parquet
from ..mapping import apply_mapping, load_mapping


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    study = wildcards["study"]
    try:
        mapping = load_mapping(inputs.mapping, study=study)
        package_dir = local_package_dir(inputs, params)
        result = apply_mapping(mapping, package_dir)
        result.qc["record_counts"] = check_record_counts(study, package_dir, result.qc,
                                                         ignore_reason=mapping.spec.get("ignore_record_counts"))
    except Exception as exc:
        if not keep_going(params):
            raise
        if not isinstance(exc, Her2MetaError):  # a bug, not bad data: keep the traceback for the report to the developers
            logger.error("unexpected failure:\n%s", traceback.format_exc())
        write_failed(outputs, study, failure_record(exc, stage="extract", study=study), logger)
        return
    logger.info("study %s: %d subjects extracted from %d files", study, len(result.data), len(result.qc["files"]))
    for exclusion in result.qc["exclusions"]:
        logger.info("study %s: %d subjects: %s (%s): %s", study, exclusion["count"], exclusion["reason"], exclusion["field"],
                    exclusion["action"])
    write_parquet(outputs.data, result.data)
    write_json(outputs.qc, result.qc)


def local_package_dir(inputs, params) -> Path:
    """The study package folder as this job sees it. On a shared file system that is the
    configured folder; with a storage plugin (cloud) the declared package files are downloaded
    to a local copy with the same layout, so the folder is the first file's local path minus its
    path inside the package. Only declared inputs are read either way."""
    files = [str(f) for f in getattr(inputs, "package", []) or []]
    relative = params.get("package_first_file") or ""
    if files and relative and Path(files[0]).as_posix().endswith("/" + relative):
        return Path(Path(files[0]).as_posix()[: -len(relative) - 1])
    return Path(params["package_dir"])


def write_failed(outputs, study: str, record: dict, logger) -> None:
    """Marker outputs of a failed extraction (keep-going only)."""
    logger.error("%s", record["message"])
    logger.error("study %s: --keep-going: the study is marked as failed (%s); the other studies go on. "
                 "Fix the input and rerun: the changed file reruns this study.", study, failed_reason(record))
    frame = pd.DataFrame({"study_id": pd.Series([], dtype=object), "patient_id": pd.Series([], dtype=object)})
    frame.attrs = {"failed": record}
    write_parquet(outputs.data, frame)
    write_json(outputs.qc, {"study_id": study, "failed": record, "files": [], "fields": {}, "unmatched_rows": {},
                            "subjects": {"rows_in": 0, "excluded": []}, "exclusions": []})
