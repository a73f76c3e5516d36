"""Cross-checks of a study's size against what the sponsor and the publication say.

A SAS transport file cut at an 80-byte record boundary is still a valid file: it simply reads
as fewer subjects, and nothing downstream notices. Three independent statements of the size
are set beside the rows actually read:

1. define.xml (her2meta.define): a record count per dataset, where the sponsor put one in
   (Define-XML itself has no place for it; see her2meta.define for the forms read);
2. the package manifest (her2meta.io): an optional fourth column, `name bytes sha256 records`;
3. the study sheet's `published_n`: the randomized (or enrolled) patients as published.

(1) and (2) describe the files exactly: any difference stops the study (`check_record_counts`,
called by the extraction stage). (3) is a different population (published analyses exclude and
add patients), so a count far from it is a warning in the QC record and the report
(`published_n_warning`, called by the harmonization): below 90% or above 110% of published_n.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .define import DefineError, find_defines, read_define
from .errors import StudyDataError
from .hashing import sha256_file
from .io import MANIFEST_NAME, read_manifest_records

# A harmonized study this far from its published size gets a warning (fractions of published_n).
PUBLISHED_N_LOW = 0.90
PUBLISHED_N_HIGH = 1.10

log = logging.getLogger("her2meta.crosscheck")


def check_record_counts(study: str, package_dir: Path | str, qc: dict[str, Any], *,
                        ignore_reason: str | None = None) -> dict[str, Any]:
    """Compare the rows read from each file (qc["files"], from apply_mapping) with the record
    counts of the manifest and of define.xml. Returns the record stored as qc["record_counts"].

    A difference stops the study (StudyDataError naming the file, both counts and where the
    expected count was read), unless the mapping's `ignore_record_counts` gives a reason: then
    the differences are recorded with it and logged."""
    package_dir = Path(package_dir)
    manifest = read_manifest_records(package_dir)
    defines, define_files = _defines(study, package_dir, ignore_reason)
    checked, mismatches = [], []
    for entry in qc.get("files", []):
        name = _relative(entry["file"], package_dir)
        rows = int(entry["rows"])
        row: dict[str, Any] = {"file": name, "rows": rows}
        expected = []
        if name in manifest:
            row["manifest_records"] = manifest[name]
            expected.append((manifest[name], f"{MANIFEST_NAME} lists {manifest[name]} records for {name}",
                             str(package_dir / MANIFEST_NAME)))
        for path, define in defines:
            dataset = define.dataset_for_file(name)
            if dataset is not None and dataset.records is not None:
                row.setdefault("define_records", dataset.records)
                expected.append((dataset.records, f"{path.name} gives {dataset.records} records for dataset "
                                 f"{dataset.name} ({dataset.records_source})", str(path)))
        if not expected:
            continue
        checked.append(row)
        for count, said, where in expected:
            if count != rows:
                mismatches.append({"file": name, "rows": rows, "expected": count, "source": said, "source_file": where,
                                   "path": entry["file"]})
    record = {"checked": checked, "define_files": define_files, "manifest_records": bool(manifest)}
    if mismatches and ignore_reason:
        record["mismatches"] = [{k: m[k] for k in ("file", "rows", "expected", "source")} for m in mismatches]
        record["ignored_because"] = ignore_reason
        for m in mismatches:
            log.warning("study %s: %s has %d records but %s; ignored by the mapping: %s", study, m["file"], m["rows"],
                        m["source"], ignore_reason)
    elif mismatches:
        first = mismatches[0]
        fewer = first["rows"] < first["expected"]
        more = f" ({len(mismatches) - 1} more difference(s): " + "; ".join(
            f"{m['file']} {m['rows']} vs {m['expected']}" for m in mismatches[1:]) + ")" if len(mismatches) > 1 else ""
        raise StudyDataError(
            study,
            f"{first['file']} has {first['rows']} records, but {first['source']}: the file is "
            + ("incomplete (a SAS transport file cut at a record boundary reads as fewer records)" if fewer
               else "not the one described (more records than listed)") + more,
            file=first["path"], field=Path(first["source_file"]).name,
            example=f"{first['file']}: {first['rows']} rows read, {first['expected']} expected",
            hint="get a complete copy of the file (and, if the sponsor re-delivered it, its new define.xml / manifest); "
                 "if the listed count is known to be wrong, say why under `ignore_record_counts:` in the mapping",
        )
    return record


def published_n_warning(n: int, study: dict[str, Any]) -> str | None:
    """A QC warning when the harmonized count is below 90% or above 110% of published_n."""
    published = study.get("published_n")
    if published is None or int(published) <= 0:
        return None
    share = n / int(published)
    if PUBLISHED_N_LOW <= share <= PUBLISHED_N_HIGH:
        return None
    if share < PUBLISHED_N_LOW:
        return (f"{n} patients, {100 * share:.0f}% of the {published} published (published_n): check that the package "
                "is complete (a file cut at a record boundary reads as fewer subjects) and the population filters")
    return (f"{n} patients, {100 * share:.0f}% of the {published} published (published_n): check the population "
            "filters (e.g. ITT) and that the package holds this study only")


def _defines(study: str, package_dir: Path, ignore_reason: str | None):
    defines, files = [], []
    for path in find_defines(package_dir):
        entry = {"file": _relative(str(path), package_dir), "sha256": sha256_file(path)}
        try:
            defines.append((path, read_define(path)))
        except DefineError as exc:
            if not ignore_reason:
                raise StudyDataError(study, f"the package's {path.name} cannot be read: {exc}", file=str(path),
                                     hint="get a complete copy of define.xml from the sponsor; to go on without its "
                                          "record counts, say why under `ignore_record_counts:` in the mapping") from exc
            entry["unreadable"] = str(exc)
        files.append(entry)
    return defines, files


def _relative(file: str, package_dir: Path) -> str:
    path = Path(file)
    try:
        return path.relative_to(package_dir).as_posix()
    except ValueError:
        return path.name
