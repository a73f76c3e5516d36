"""Declarative per-study extraction mappings: load, validate and apply.

A mapping is data (YAML validated by schemas/mapping.json), never code: it names files,
row filters (her2meta.conditions), long-to-wide pivots or reductions of several records per
subject (her2meta.reductions, her2meta.recist), the subject key to join on and its declared
normalization (her2meta.subject_keys), and for each harmonized field the source column (or
columns to coalesce) with its parsing, code map and unit. Applying it gives one row per subject
with harmonized field names, and a QC record that counts every exclusion, every unmatched key,
every reduction and every missing value with its reason.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from . import conditions, reductions, subject_keys
from . import dates as _dates
from .conditions import canonical_code, is_blank
from .cutoff import apply_cutoff, check_cutoff
from .dates import DAYS_PER_MONTH  # one definition, shared with dates and cutoff
from .errors import StudyDataError
from .io import read_manifest, read_table, sha256_file, verify_against_manifest
from .schemas import field_kind, harmonized_fields, load_schema

UNIT_TO_MONTHS = {"days": 1 / DAYS_PER_MONTH, "weeks": 7 / DAYS_PER_MONTH, "months": 1.0, "years": 12.0}

# Time-to-event fields and their event indicators (harmonized model).
TIME_EVENT_PAIRS = [("efs_months", "efs_event"), ("os_months", "os_event"), ("idfs_months", "idfs_event"), ("pfs_months", "pfs_event")]

# Code-map targets accepted for a yes/no field.
_TRUE_CODES = {"true", "1"}
_FALSE_CODES = {"false", "0"}

log = logging.getLogger("her2meta.mapping")

# Fields a mapping may fill that are not part of the harmonized model: inputs of a derivation.
EXTRACTION_ONLY_FIELDS = {
    "her2_ish_amplified": {
        "type": ["boolean", "null"],
        "description": "Single-result ISH call (amplified / not amplified) when the source has no ratio or copy number.",
    },
}

# Harmonized fields that only the harmonization step derives; a mapping must not set them.
DERIVED_ONLY_FIELDS = {"study_id", "her2_ish_group", "her2_status", "hr_status", "hr_status_source", "er_low", "pcr_source"}


def mappable_fields() -> dict[str, dict[str, Any]]:
    fields = {name: prop for name, prop in harmonized_fields().items() if name not in DERIVED_ONLY_FIELDS}
    fields.update(EXTRACTION_ONLY_FIELDS)
    return fields


@dataclass
class Mapping:
    study_id: str
    spec: dict[str, Any]
    path: Path

    @property
    def abbreviations(self) -> dict[str, str]:
        return dict(self.spec.get("abbreviations", {}))

    @property
    def receptor_cutoff(self) -> float | None:
        return self.spec.get("receptor_categories_cutoff_percent")


def load_mapping(path: Path | str, *, study: str | None = None) -> Mapping:
    """Read and validate a mapping file. YAML syntax errors report line and column."""
    import jsonschema

    path = Path(path)
    label = study or path.stem
    if not path.is_file():
        raise StudyDataError(label, f"mapping file not found: {path}", file=str(path), hint="check the study sheet's `mapping` column")
    text = path.read_text(encoding="utf-8")
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise StudyDataError(label, f"the mapping is not valid YAML{where}: {getattr(exc, 'problem', exc)}", file=str(path),
                             hint="fix the YAML there (often an unclosed bracket or quote, or a tab used for indentation); "
                                  "check it with `her2meta config check`") from exc
    if not isinstance(spec, dict):
        raise StudyDataError(label, "the mapping must be a YAML mapping (key: value) at the top level", file=str(path))
    cutoff = spec.get("data_cutoff")
    if isinstance(cutoff, dict) and isinstance(cutoff.get("date"), _dt.date):  # YAML reads 2016-03-31 as a date
        cutoff["date"] = cutoff["date"].isoformat()
    validator = jsonschema.Draft202012Validator(load_schema("mapping"))
    errors = sorted(validator.iter_errors(spec), key=lambda e: list(e.absolute_path))
    if errors:
        broken = [f"at {'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in errors]
        message = (f"the mapping breaks its schema {broken[0]}" if len(broken) == 1 else
                   f"the mapping breaks its schema in {len(broken)} places:\n    " + "\n    ".join(broken))
        raise StudyDataError(label, message, file=str(path), hint="see config/README.md, section 'Mapping files'")
    if study is not None and spec["study_id"] != study:
        raise StudyDataError(study, f"the mapping declares study_id {spec['study_id']!r}", file=str(path),
                             hint="the mapping's study_id must equal the study sheet's study_id")
    _check_references(spec, path)
    return Mapping(study_id=spec["study_id"], spec=spec, path=path)


class MappingProblems(StudyDataError):
    """Several problems of one mapping found at once: every one is listed (`problems`)."""

    def __init__(self, study: str, problems: list[StudyDataError], *, file: str):
        self.problems = list(problems)
        lines = [f"the mapping has {len(problems)} problems:"]
        for problem in problems:
            lines += ["  - " + line if i == 0 else "    " + line for i, line in enumerate(str(problem).splitlines())]
        super().__init__(study, "\n".join(lines), file=file, hint="fix each of them; `her2meta config check` lists them all")


def _check_references(spec: dict[str, Any], path: Path) -> None:
    """Every cross-reference and field rule of a schema-valid mapping; all problems are listed."""
    study = spec["study_id"]
    datasets = spec["datasets"]
    allowed = mappable_fields()
    problems: list[StudyDataError] = []

    def attempt(check, *args) -> None:
        try:
            check(*args)
        except MappingProblems as exc:
            problems.extend(exc.problems)
        except StudyDataError as exc:
            problems.append(exc)

    if spec["subjects"] not in datasets:
        problems.append(StudyDataError(study, f"subjects names dataset {spec['subjects']!r}, which is not declared",
                                       file=str(path), hint=f"declared datasets: {', '.join(datasets)}"))
    for name, rule in spec["fields"].items():
        attempt(_check_field, study, name, rule, allowed, datasets, path)
    if "patient_id" not in spec["fields"]:
        problems.append(StudyDataError(study, "the mapping does not say where patient_id comes from", file=str(path),
                                       field="patient_id"))
    for name, value in spec.get("constants", {}).items():
        attempt(_check_constant, study, name, value, allowed, path)
    if not problems:  # the checks below assume the fields, datasets and constants are sound
        attempt(_check_dataset_options, study, spec, path)
        attempt(_dates.check_date_keys, spec, str(path))
        attempt(check_cutoff, spec, path)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise MappingProblems(study, problems, file=str(path))


def _check_field(study, name, rule, allowed, datasets, path) -> None:
    if name not in allowed:
        raise StudyDataError(study, f"unknown field name {name!r}", file=str(path), field=name,
                             hint=f"harmonized fields a mapping can fill: {', '.join(allowed)}")
    kind = field_kind(allowed[name])
    if kind == "boolean" and "codes" not in rule:
        raise StudyDataError(study, f"field {name} is yes/no: it needs a `codes:` map (e.g. Yes: true, No: false)",
                             file=str(path), field=name, hint="list every source value under codes")
    numeric = kind in ("number", "integer")
    duration_key = next((key for key in ("unit", "dates", "study_days") if key in rule), None)
    if not numeric and duration_key:
        raise StudyDataError(study, f"field {name} is {kind}: `{duration_key}:` applies to durations only",
                             file=str(path), field=name, hint="remove it, or map it to a time field")
    if numeric and rule.get("parse") in ("text", "date"):
        raise StudyDataError(study, f"field {name} is a number: `parse: {rule['parse']}` cannot give one",
                             file=str(path), field=name, hint="use parse: number, integer or percent (or `dates:` for a duration)")
    for source, target in (rule.get("codes") or {}).items():
        problem = _code_target_problem(kind, target)
        if problem:
            raise StudyDataError(study, f"the code map of field {name} turns {source!r} into {target!r}: {problem}",
                                 file=str(path), field=name, example=f"codes: {{{source}: {target}}}",
                                 hint=_CODE_HINTS[kind])
    _check_code_keys(study, name, rule, path)
    if "no_record" in rule:
        problem = "applies to `from:` fields only" if "from" not in rule else _code_target_problem(kind, rule["no_record"])
        if problem:
            raise StudyDataError(study, f"field {name}: no_record {rule['no_record']!r}: {problem}", file=str(path),
                                 field=name, hint=_CODE_HINTS[kind])
    refs = _refs(rule.get("from")) + [r for key in ("dates", "study_days") for part in ("start", "end")
                                      for r in _refs((rule.get(key) or {}).get(part))]
    for ref in refs:
        if ref.split(".", 1)[0] not in datasets:
            raise StudyDataError(study, f"field {name} reads from dataset {ref.split('.', 1)[0]!r}, which is not declared",
                                 file=str(path), field=name, hint=f"declared datasets: {', '.join(datasets)}")


def _check_constant(study, name, value, allowed, path) -> None:
    if name not in allowed:
        raise StudyDataError(study, f"unknown constant field {name!r}", file=str(path), field=name,
                             hint=f"harmonized fields: {', '.join(allowed)}")
    problem = _code_target_problem(field_kind(allowed[name]), value)
    if problem:
        raise StudyDataError(study, f"constant {name} = {value!r}: {problem}", file=str(path), field=name,
                             hint=_CODE_HINTS[field_kind(allowed[name])])


def _refs(ref) -> list[str]:
    """The dataset.COLUMN references of a `from:` or a date part (one, or several to coalesce)."""
    if ref is None or isinstance(ref, int):
        return []
    return [ref] if isinstance(ref, str) else list(ref)


def _check_code_keys(study, name, rule, path) -> None:
    """Code-map keys that could never match a value stop the mapping check."""
    codes = rule.get("codes") or {}
    if None in codes:
        raise StudyDataError(study, f"the code map of field {name} has a null key, which matches no value", file=str(path),
                             field=name, example=f"codes: {{null: {codes[None]!r}}}",
                             hint='write "" (two double quotes) for the blank value, e.g. codes: {Y: 1, "": 0}')
    seen: dict[str | None, Any] = {}
    for key in codes:
        code = canonical_code(key)
        if code in seen:
            raise StudyDataError(study, f"the code map of field {name} lists the same source value twice: {seen[code]!r} and "
                                 f"{key!r}", file=str(path), field=name,
                                 hint="keep one of them (1, 1.0 and \"1\" are the same value; surrounding spaces are ignored)")
        seen[code] = key
    missing = {canonical_code(v) for v in rule.get("missing", [])}
    both = [key for key in codes if canonical_code(key) in missing]
    if both:
        raise StudyDataError(study, f"field {name} lists {both[0]!r} both under codes and under missing: the code can never "
                             "apply", file=str(path), field=name, hint="keep it in one of the two")


def _check_dataset_options(study, spec, path) -> None:
    datasets, subjects = spec["datasets"], spec["subjects"]
    for name, dspec in datasets.items():
        if name == subjects:
            for key in ("key_normalize", "join_to", "max_unmatched_fraction"):
                if key in dspec:
                    raise StudyDataError(study, f"`{key}:` is set on the subjects dataset {name}, which joins to nothing",
                                         file=str(path), field=key,
                                         hint="declare it on the dataset whose keys differ from the subjects dataset's")
        if "pivot" in dspec and "reduce" in dspec:
            raise StudyDataError(study, f"dataset {name} has both `pivot:` and `reduce:`", file=str(path), field="reduce",
                                 hint="declare two datasets from the same file: one pivoted, one reduced")
        if dspec.get("thousands") and dspec.get("thousands") == dspec.get("decimal", "."):
            raise StudyDataError(study, f"dataset {name} uses {dspec['thousands']!r} both as decimal mark and thousands separator",
                                 file=str(path), field="thousands", hint="set one of them to another character")
        for other in _cross_references(dspec):
            if other not in datasets:
                raise StudyDataError(study, f"dataset {name} reads dataset {other!r}, which is not declared", file=str(path),
                                     field="filter", hint=f"declared datasets: {', '.join(datasets)}")
            if other == name:
                raise StudyDataError(study, f"dataset {name} names itself in `dataset:`", file=str(path), field="filter",
                                     hint="a condition on the dataset's own column needs no `dataset:`")
            if name == subjects and "." in ((dspec.get("reduce") or {}).get("best_response") or {}).get("start", ""):
                raise StudyDataError(study, f"the subjects dataset {name} takes its best_response start date from {other}",
                                     file=str(path), field="reduce",
                                     hint="reduce response records in their own dataset, not in the subjects dataset")
            if other != subjects and _cross_references(datasets[other]):
                raise StudyDataError(study, f"dataset {name} reads dataset {other}, which itself reads another dataset",
                                     file=str(path), field="filter",
                                     hint="a population flag or start date must come from the subjects dataset or from "
                                          "a dataset without `dataset:` conditions")
        if ((dspec.get("reduce") or {}).get("any") or {}).get("dataset"):
            raise StudyDataError(study, f"dataset {name}: `reduce: {{any: ...}}` tests this dataset's own records; it takes "
                                 "no `dataset:`", file=str(path), field="reduce",
                                 hint="remove `dataset:`, or declare the reduction on the other dataset")
        best = (dspec.get("reduce") or {}).get("best_response")
        if best and best["sd_min_days"] > 0 and not best.get("start"):
            raise StudyDataError(study, f"dataset {name}: best_response with sd_min_days {best['sd_min_days']} needs `start:`",
                                 file=str(path), field="reduce",
                                 hint="name the start date (randomization or first dose): a column of this dataset, or "
                                      "dataset.COLUMN of the subjects dataset (e.g. adsl.RANDDT)")


_CODE_HINTS = {
    "boolean": "a yes/no field takes true or false (or 1 / 0); use null for 'not recorded'",
    "number": "a numeric field takes numbers; use null (or `missing:`) for 'not recorded'",
    "integer": "a numeric field takes whole numbers; use null (or `missing:`) for 'not recorded'",
    "string": "a text field takes text, numbers or true/false",
}


def _code_target_problem(kind: str, target: Any) -> str | None:
    """Why a code-map target (or constant) cannot be a value of a field of this kind, or None."""
    if target is None:
        return None
    if kind == "boolean":
        if isinstance(target, bool) or str(target).strip().lower() in _TRUE_CODES | _FALSE_CODES:
            return None
        return "a yes/no field needs true or false"
    if kind in ("number", "integer"):
        if isinstance(target, bool):
            return "a numeric field needs a number, not true/false"
        try:
            value = float(target)
        except (TypeError, ValueError):
            return "a numeric field needs a number"
        if not np.isfinite(value):
            return "a numeric field needs a finite number"
        return None
    return None


def _as_bool(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return pd.NA
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return str(value).strip().lower() in _TRUE_CODES


# ----------------------------------------------------------------------------------------------
# Applying a mapping


@dataclass
class _Dataset:
    name: str
    frame: pd.DataFrame  # indexed by subject key (unique)
    file: str
    decimal: str = "."
    thousands: str | None = None


@dataclass
class ExtractionResult:
    data: pd.DataFrame
    qc: dict[str, Any] = field(default_factory=dict)


def apply_mapping(mapping: Mapping, package_dir: Path | str) -> ExtractionResult:
    """Read the study package and return one row per subject with harmonized field names.

    Each dataset is read and filtered on its own columns; the subjects dataset gives the subject
    index; every other dataset is joined to it (declared key normalization, unmatched keys counted
    and checked), filtered on other datasets' columns, and pivoted or reduced to one row per
    subject; last, the subjects dataset's filters on other datasets' columns exclude subjects."""
    spec, study = mapping.spec, mapping.study_id
    package_dir = Path(package_dir)
    qc: dict[str, Any] = {"study_id": study, "mapping": str(mapping.path), "files": [], "subjects": {}, "fields": {},
                          "unmatched_rows": {}, "joins": {}, "reductions": {}, "filters": {}, "warnings": [], "exclusions": []}
    raw_cache: dict[tuple, pd.DataFrame] = {}
    manifest = read_manifest(package_dir)
    qc["manifest_checked"] = bool(manifest)

    subjects_name = spec["subjects"]
    loaded = {name: _read_and_filter(study, name, dspec, package_dir, raw_cache, qc, is_subjects=(name == subjects_name),
                                     manifest=manifest)
              for name, dspec in spec["datasets"].items()}
    datasets: dict[str, _Dataset] = {subjects_name: _dataset_of(study, loaded[subjects_name], loaded[subjects_name].frame, {}, qc)}
    subjects = datasets[subjects_name]
    for name in sorted((n for n in loaded if n != subjects_name), key=lambda n: bool(_cross_references(spec["datasets"][n]))):
        datasets[name] = _join_to_subjects(study, loaded[name], subjects, loaded[subjects_name], spec, datasets, qc)
    datasets = {name: datasets[name] for name in spec["datasets"]}  # declaration order again
    _filter_subjects_on_other_datasets(study, subjects, spec, datasets, qc)
    index = subjects.frame.index

    out = pd.DataFrame(index=index)
    allowed = mappable_fields()
    calendar: dict[str, tuple[pd.Series, pd.Series]] = {}
    for fname, rule in spec["fields"].items():
        out[fname], qc["fields"][fname] = _map_field(study, fname, _with_mapping_date_rule(rule, spec), allowed[fname],
                                                     datasets, index, calendar)
    for fname, value in (spec.get("constants") or {}).items():
        kind = field_kind(allowed[fname])
        out[fname] = _as_bool(value) if kind == "boolean" else value
        qc["fields"][fname] = {"source": "constant", "value": value, "missing": 0}
    if out["patient_id"].isna().any():
        raise StudyDataError(study, f"patient_id is missing for {int(out['patient_id'].isna().sum())} subjects",
                             field="patient_id", file=subjects.file,
                             example=f"subject key {out.index[out['patient_id'].isna()][0]!r}",
                             hint=f"map patient_id from the subject key column {spec['datasets'][subjects_name]['key']}")
    if "__stop__" in qc:  # keys that match no subject, found while joining (see _check_unknown_keys)
        raise qc.pop("__stop__")
    _record_dates_and_apply_cutoff(study, spec, out, calendar, datasets, index, qc)
    out.insert(0, "study_id", study)
    out = out.reset_index(drop=True)
    qc["subjects"]["rows_out"] = len(out)
    return ExtractionResult(data=out, qc=qc)


SUBJECT = reductions.SUBJECT  # column holding, for each record, the subject (index of the subjects dataset) it belongs to
DEFAULT_MAX_UNMATCHED_FRACTION = 0.05


@dataclass
class _Loaded:
    """A dataset read and filtered on its own columns, before it is joined to the subjects."""

    name: str
    spec: dict[str, Any]
    frame: pd.DataFrame  # rows kept by the own-column filters; SUBJECT holds the canonical key
    raw: pd.DataFrame  # every row of the file
    file: str


def _cross_references(dspec: dict[str, Any]) -> list[str]:
    """Other datasets this dataset's filters or reduction read (population flags, start dates)."""
    names = [cond["dataset"] for cond in dspec.get("filter", []) if cond.get("dataset")]
    start = ((dspec.get("reduce") or {}).get("best_response") or {}).get("start")
    if start and "." in start:
        names.append(start.split(".", 1)[0])
    return names


def _read_and_filter(study, name, dspec, package_dir, raw_cache, qc, *, is_subjects, manifest=None) -> _Loaded:
    path = package_dir / dspec["file"]
    read_opts = {k: dspec[k] for k in ("encoding", "sep", "decimal", "sheet") if k in dspec}
    cache_key = (str(path), dspec.get("format"), tuple(sorted(read_opts.items())))
    if cache_key not in raw_cache:
        digest = sha256_file(path) if path.is_file() else None  # hashed once: for the manifest and for QC
        if manifest and digest:
            verify_against_manifest(path, manifest, study=study, name=Path(dspec["file"]).as_posix(), sha256=digest)
        raw_cache[cache_key] = read_table(path, study=study, file_format=dspec.get("format"), **read_opts)
        qc["files"].append({"file": str(path), "sha256": digest, "rows": len(raw_cache[cache_key])})
    raw = raw_cache[cache_key]
    own = [cond for cond in dspec.get("filter", []) if not cond.get("dataset")]
    needed = [dspec["key"]] + [c["column"] for c in own]
    needed += [dspec["pivot"]["names_from"], dspec["pivot"]["values_from"]] if "pivot" in dspec else []
    needed += reductions.columns_needed(dspec["reduce"]) if "reduce" in dspec else []
    _require_columns(study, name, raw, needed, str(path))
    key = dspec["key"]
    keys = raw[key].map(canonical_code)
    frame = raw.assign(**{key: keys, SUBJECT: keys})
    rows_in = keys.dropna().nunique() + int(keys.isna().sum())
    exclusions, record_counts = [], []
    for cond in own:
        keep = _keep(study, name, frame, cond, dspec, str(path))
        if is_subjects:
            exclusions.append({"reason": conditions.exclusion_reason(cond), "count": _subjects_lost(frame, keep)})
        record_counts.append({"condition": conditions.describe_kept(cond), "records_excluded": int((~keep).sum())})
        frame = frame[keep]
    if record_counts and not is_subjects:
        qc["filters"][name] = record_counts
    if is_subjects:
        qc["subjects"] = {"dataset": name, "rows_in": rows_in, "records_in": len(raw), "excluded": exclusions}
        for cond, exclusion in zip(own, exclusions):
            _record_subject_exclusion(qc, f"{name}.{cond['column']}", exclusion)
        if rows_in == 0:
            raise StudyDataError(study, f"the subjects dataset {name} has no rows", file=str(path),
                                 hint="check that the file is the complete subject-level dataset (ADSL, DM or equivalent)")
        if len(frame) == 0:
            raise StudyDataError(study, f"the filters of the subjects dataset {name} leave no subject (of {rows_in} rows)",
                                 file=str(path), field=own[-1]["column"],
                                 example="; ".join(f"{e['count']} rows excluded: {e['reason']}" for e in exclusions),
                                 hint=f"check the filter values against the codes present: {_present_codes(raw, own)}")
    elif len(frame) == 0:
        raise StudyDataError(study, f"the filter of dataset {name} selects no row (of {rows_in})", file=str(path),
                             field=(own or [{}])[-1].get("column"),
                             hint=f"filters: {dspec.get('filter')}; codes present: {_present_codes(raw, own)}")
    if frame[SUBJECT].isna().any():
        raise StudyDataError(study, f"{int(frame[SUBJECT].isna().sum())} rows of dataset {name} have no subject identifier",
                             file=str(path), field=key, hint="every row must carry the subject key")
    return _Loaded(name=name, spec=dspec, frame=frame, raw=raw, file=str(path))


def _keep(study, name, frame, cond, dspec, file, values=None) -> pd.Series:
    """The rows a condition keeps; a comparison that meets non-numbers stops the study."""
    values = frame[cond["column"]] if values is None else values
    try:
        return pd.Series(conditions.keep_mask(values, cond, dspec.get("decimal", ".")).to_numpy(), index=frame.index)
    except conditions.NotNumbers as exc:
        raise StudyDataError(study, f"the filter `{conditions.describe_kept(cond)}` of dataset {name} compares numbers, but "
                             f"{cond['column']} holds values that are not numbers: {exc}", file=file, field=cond["column"],
                             hint="compare numbers only (gt, ge, lt, le); select text values with equals, in or not_in") from None


def _subjects_lost(frame: pd.DataFrame, keep: pd.Series) -> int:
    """Subjects (keys) with a record before a filter and none after it; rows without a key count one each."""
    before = set(frame[SUBJECT].dropna())
    after = set(frame.loc[keep, SUBJECT].dropna())
    return len(before - after) + int((~keep & frame[SUBJECT].isna()).sum())


def _record_subject_exclusion(qc, field_name: str, exclusion: dict[str, Any]) -> None:
    if exclusion["count"]:
        qc["exclusions"].append({"stage": "extract", "field": field_name, "reason": exclusion["reason"],
                                 "action": "excluded from the study", "count": exclusion["count"]})


def _dataset_of(study, loaded: _Loaded, frame: pd.DataFrame, datasets, qc) -> _Dataset:
    """One row per subject (pivot, reduce, or a check that keys are unique), indexed by subject."""
    dspec, name, key = loaded.spec, loaded.name, loaded.spec["key"]
    if "pivot" in dspec:
        frame = _pivot(study, name, frame, key, dspec["pivot"], loaded.file)
    elif "reduce" in dspec:
        frame, qc["reductions"][name] = _reduce(study, loaded, frame, datasets)
    else:
        dup = frame[SUBJECT].duplicated(keep=False)
        if dup.any():
            example = frame.loc[dup, key].iloc[0]
            raise StudyDataError(
                study,
                f"dataset {name} has {int(frame[SUBJECT].duplicated().sum())} duplicated subject identifiers",
                file=loaded.file, field=key, example=f"{key} = {example!r}",
                hint="add a filter that leaves one row per subject (e.g. PARAMCD), a pivot, or a `reduce:` "
                     "(first, last, earliest, latest, any, best_response)",
            )
        frame = frame.set_index(SUBJECT)
    frame.index.name = None
    frame = frame.drop(columns=[SUBJECT], errors="ignore")
    return _Dataset(name=name, frame=frame, file=loaded.file, decimal=dspec.get("decimal", "."), thousands=dspec.get("thousands"))


def _reduce(study, loaded: _Loaded, frame: pd.DataFrame, datasets) -> tuple[pd.DataFrame, dict[str, Any]]:
    rspec = loaded.spec["reduce"]
    start = None
    ref = (rspec.get("best_response") or {}).get("start")
    if ref and "." in ref:
        ds_name, column = ref.split(".", 1)
        source = datasets[ds_name]
        if column not in source.frame.columns:
            raise StudyDataError(study, f"dataset {ds_name} has no column {column!r} (the start date of {loaded.name}'s best_response)",
                                 file=source.file, field=column, hint=f"columns that exist: {', '.join(map(str, source.frame.columns))}")
        start = source.frame[column]
    try:
        out, info = reductions.reduce_records(frame, rspec, decimal=loaded.spec.get("decimal", "."), start=start)
    except reductions.ReductionError as exc:
        listing = _listing(exc.values) if exc.values is not None else ""
        raise StudyDataError(study, f"reduce of dataset {loaded.name}: {exc}" + (f": {listing}" if listing else ""),
                             file=loaded.file, field=exc.column, hint=exc.hint) from None
    log.info("study %s: dataset %s: %s of %d records per subject: %s", study, loaded.name, info["method"], len(frame),
             info["records_per_subject"])
    return out.rename_axis(None), info


def _listing(counts: pd.Series, limit: int = 10) -> str:
    """At most `limit` distinct values with their row counts, most frequent first."""
    counts = counts.sort_index(kind="mergesort").sort_values(ascending=False, kind="mergesort")
    shown = ", ".join(f"{value!r} ({n} rows)" for value, n in counts.head(limit).items())
    return shown + (f", and {len(counts) - limit} more distinct values" if len(counts) > limit else "")


def _join_to_subjects(study, loaded: _Loaded, subjects: _Dataset, subjects_loaded: _Loaded, spec, datasets, qc) -> _Dataset:
    """Match each record to a subject (declared normalization only), count and check what does
    not match, apply filters on other datasets, and reduce to one row per subject."""
    name, dspec = loaded.name, loaded.spec
    steps = list(dspec.get("key_normalize", []))
    norm = subject_keys.normalizer(steps)
    subjects_name = spec["subjects"]
    join_col = dspec.get("join_to") or spec["datasets"][subjects_name]["key"]
    if join_col not in subjects.frame.columns:
        raise StudyDataError(study, f"dataset {name} joins to column {join_col!r} of the subjects dataset {subjects_name}, "
                             "which it does not have", file=subjects.file, field=join_col,
                             hint=f"columns that exist: {', '.join(map(str, subjects.frame.columns))}")
    targets = subjects.frame[join_col].map(canonical_code).map(norm)
    present_targets = targets.dropna()
    clash = present_targets.duplicated(keep=False)
    if clash.any():
        raise StudyDataError(study, f"{int(clash.sum())} subjects of {subjects_name} share a {join_col} value"
                             + (f" after key_normalize {steps}" if steps else ""), file=subjects.file, field=join_col,
                             example=f"{join_col} = {present_targets[clash].iloc[0]!r}",
                             hint=f"dataset {name} must join on a column that identifies one subject (join_to)")
    lookup = dict(zip(present_targets.to_numpy(), present_targets.index))
    frame = loaded.frame
    own = frame[SUBJECT].map(norm)
    subject = own.map(lookup)
    matched = subject.notna()
    n_keys = own.nunique()
    unmatched = own[~matched]
    all_subject_values = subjects_loaded.raw[join_col].map(canonical_code) if join_col in subjects_loaded.raw.columns \
        else subjects.frame[join_col].map(canonical_code)
    excluded_values = set(all_subject_values.dropna().map(norm))
    unknown = unmatched[~unmatched.isin(excluded_values)]
    unknown_keys = sorted(set(frame.loc[unknown.index, SUBJECT]))  # as the file spells them
    info = {"key": dspec["key"], "joins_to": join_col, "key_normalize": steps, "records": len(frame), "keys": int(n_keys),
            "subjects_matched": int(subject[matched].nunique()), "unmatched_keys": int(unmatched.nunique()),
            "unmatched_records": int((~matched).sum()),
            "keys_of_excluded_subjects": int(unmatched.nunique()) - int(unknown.nunique()),
            "unknown_keys": int(unknown.nunique()), "unknown_key_examples": unknown_keys[:10],
            "subjects_without_join_value": int(targets.isna().sum())}
    qc["joins"][name] = info
    qc["unmatched_rows"][name] = info["unmatched_keys"]
    _check_unknown_keys(study, loaded, subjects_name, frame, unknown_keys, all_subject_values, steps, join_col, info, qc,
                        nothing_matched=bool(len(frame)) and not matched.any(), subjects=subjects)
    frame = frame[matched].assign(**{SUBJECT: subject[matched]})
    cross = [cond for cond in dspec.get("filter", []) if cond.get("dataset")]
    for cond in cross:
        values = _other_dataset_column(study, datasets, cond, name).reindex(frame[SUBJECT].to_numpy())
        keep = _keep(study, name, frame, cond, spec["datasets"][cond["dataset"]], loaded.file,
                     values=pd.Series(values.to_numpy(), index=frame.index))
        qc["filters"].setdefault(name, []).append({"condition": conditions.describe_kept(cond),
                                                   "records_excluded": int((~keep).sum())})
        frame = frame[keep]
    return _dataset_of(study, loaded, frame, datasets, qc)


def _other_dataset_column(study, datasets, cond, name) -> pd.Series:
    source = datasets[cond["dataset"]]
    if cond["column"] not in source.frame.columns:
        raise StudyDataError(study, f"the filter of dataset {name} reads column {cond['column']!r} of dataset {cond['dataset']}, "
                             "which it does not have", file=source.file, field=cond["column"],
                             hint=f"columns that exist: {', '.join(map(str, source.frame.columns))}")
    return source.frame[cond["column"]]


def _check_unknown_keys(study, loaded, subjects_name, frame, unknown_keys, subject_values, steps, join_col, info, qc, *,
                        nothing_matched, subjects) -> None:
    """Keys that match no subject of the subjects file: a warning, or a stop with the evidence.

    The study stops when no key matches, when a normalization the mapping does not declare would
    match them (case, padding, spaces), or when they are more than max_unmatched_fraction of the
    dataset's keys; below that they are counted and logged."""
    name, dspec = loaded.name, loaded.spec
    if not unknown_keys and not nothing_matched:
        return
    originals = unknown_keys or sorted(set(frame[SUBJECT]))
    extra, would = subject_keys.undeclared_matches(originals, subject_values.dropna().unique(), steps)
    examples = ", ".join(map(repr, originals[:10]))
    field_name = dspec["key"]
    if extra:
        error = StudyDataError(
            study, f"{len(originals)} keys of dataset {name} ({field_name}) match no subject of {subjects_name} ({join_col}); "
                   f"{len(would)} of them match once normalized with {', '.join(extra)}",
            file=loaded.file, field=field_name, example=f"unmatched keys: {examples}",
            hint=f"declare the normalization for dataset {name}: key_normalize: [{', '.join(steps + extra)}] "
                 "(applied to both sides of this join, and recorded in QC)")
        if nothing_matched:
            raise error
        qc.setdefault("__stop__", error)
        return
    if nothing_matched:
        index = subjects.frame.index
        raise StudyDataError(
            study, f"no subject of dataset {name} matches a subject of {subjects_name} on the key",
            file=loaded.file, field=field_name,
            example=f"{name} key {frame[SUBJECT].iloc[0]!r} vs {subjects_name} key {index[0] if len(index) else '(none)'!r}",
            hint="check `key:` of both datasets (and `join_to:` when this dataset carries another identifier, e.g. SUBJID); "
                 "identifiers must be spelled identically, or the difference declared with key_normalize")
    fraction = info["unknown_keys"] / max(info["keys"], 1)
    limit = dspec.get("max_unmatched_fraction", DEFAULT_MAX_UNMATCHED_FRACTION)
    message = (f"{info['unknown_keys']} of {info['keys']} keys of dataset {name} match no subject of {subjects_name}, "
               "not even an excluded one")
    if fraction > limit:  # raised once the fields are read, so that a field's own error shows first
        qc.setdefault("__stop__", StudyDataError(study, f"{message}: {fraction:.0%}, more than max_unmatched_fraction {limit:g}", file=loaded.file,
                             field=field_name, example=f"unmatched keys: {examples}",
                             hint=f"check that {name} belongs to this study and that `key:`/`join_to:` name the same "
                                  "identifier; if these records are known to be of other subjects, raise "
                                  f"datasets.{name}.max_unmatched_fraction"))
        return
    warning = f"{message}: their records are not used"
    qc["warnings"].append(warning)
    log.warning("study %s: %s (examples: %s)", study, warning, examples)


def _filter_subjects_on_other_datasets(study, subjects: _Dataset, spec, datasets, qc) -> None:
    """The subjects dataset's conditions on other datasets (e.g. SUPPDM ITTFL), counted in subjects."""
    name = spec["subjects"]
    for cond in (c for c in spec["datasets"][name].get("filter", []) if c.get("dataset")):
        values = _other_dataset_column(study, datasets, cond, name).reindex(subjects.frame.index)
        keep = _keep(study, name, subjects.frame, cond, spec["datasets"][cond["dataset"]], subjects.file, values=values)
        exclusion = {"reason": conditions.exclusion_reason(cond), "count": int((~keep).sum())}
        qc["subjects"]["excluded"].append(exclusion)
        _record_subject_exclusion(qc, f"{cond['dataset']}.{cond['column']}", exclusion)
        subjects.frame = subjects.frame[keep]
        if subjects.frame.empty:
            raise StudyDataError(study, f"the filters of the subjects dataset {name} leave no subject",
                                 file=datasets[cond["dataset"]].file, field=cond["column"],
                                 example="; ".join(f"{e['count']} subjects excluded: {e['reason']}" for e in qc["subjects"]["excluded"]),
                                 hint=f"check the values of {cond['dataset']}.{cond['column']}")


def _present_codes(frame: pd.DataFrame, conds) -> str:
    """The values present in each filtered column (up to 10 each), for the hint of an empty filter."""
    parts = []
    for cond in conds:
        values = frame[cond["column"]].map(canonical_code).dropna().unique().tolist()
        shown = ", ".join(map(repr, sorted(values, key=str)[:10])) + (", ..." if len(values) > 10 else "")
        parts.append(f"{cond['column']}: {shown or '(all empty)'}")
    return "; ".join(parts)


def _require_columns(study, name, frame, columns, file):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StudyDataError(study, f"dataset {name} has no column {', '.join(map(repr, missing))}", file=file,
                             field=missing[0], hint=f"columns that exist: {', '.join(frame.columns)}")


def _pivot(study, name, frame, key, pivot, file) -> pd.DataFrame:
    names, values = pivot["names_from"], pivot["values_from"]
    dup = frame.duplicated([SUBJECT, names], keep=False)
    if dup.any():
        row = frame.loc[dup].iloc[0]
        raise StudyDataError(study, f"dataset {name} has more than one {values} per subject and {names}", file=file,
                             field=names, example=f"{key} = {row[key]!r}, {names} = {row[names]!r}",
                             hint="add a filter that selects one record per subject and parameter, or a `reduce:`")
    wide = frame.pivot(index=SUBJECT, columns=names, values=values)
    wide.columns = [str(c) for c in wide.columns]
    wide.columns.name = None
    wide[key] = frame.groupby(SUBJECT, sort=True)[key].first().reindex(wide.index)
    return wide


def _column(study, datasets, ref, index, fname):
    """A column, or several to coalesce, on the subjects index: the values, the (first) dataset,
    which subjects have a record (bool array) and, when coalesced, how many took each column."""
    if isinstance(ref, list):
        return _coalesce(study, datasets, ref, index, fname)
    ds_name, column = ref.split(".", 1)
    ds = datasets[ds_name]
    if column not in ds.frame.columns:
        raise StudyDataError(study, f"dataset {ds_name} has no column {column!r} (needed for field {fname})", file=ds.file,
                             field=fname, hint=f"columns that exist: {', '.join(map(str, ds.frame.columns))}")
    return ds.frame[column].reindex(index), ds, index.isin(ds.frame.index), {}


def _coalesce(study, datasets, refs: list[str], index, fname):
    """The first non-blank of several columns, per subject (`from: [ds.DTHDT, ds.LSTALVDT]`).

    Returns the values, the first column's dataset, which subjects have a record in one of the
    datasets, and how many subjects took their value from each column ("none": from no column)."""
    values, counts, present = None, {}, np.zeros(len(index), dtype=bool)
    first_ds = None
    for ref in refs:
        column, ds, has_record, _ = _column(study, datasets, ref, index, fname)
        first_ds = first_ds or ds
        present |= has_record
        if values is None:
            values = column.astype(object)
            taken = ~column.map(is_blank)
        else:
            fill = ~taken & ~column.map(is_blank)
            values = values.where(~fill, column.astype(object))
            taken = taken | fill
            counts[ref] = int(fill.sum())
            continue
        counts[ref] = int(taken.sum())
    counts["none"] = int((~taken).sum())
    return values, first_ds, present, counts


def _ref_text(ref) -> str:
    return ref if isinstance(ref, str) else ", else ".join(ref)


def _map_field(study, fname, rule, prop, datasets, index, calendar=None):
    kind = field_kind(prop)
    info: dict[str, Any] = {}
    if "dates" in rule:
        values, ds, absent, start, end, info["partial_dates"], sources = _duration_from_dates(study, fname, rule, datasets, index)
        if calendar is not None:
            calendar[fname] = (start, end)
        info["source"] = f"{_ref_text(rule['dates']['start'])} -> {_ref_text(rule['dates']['end'])}"
    elif "study_days" in rule:
        values, ds, absent = _duration_from_study_days(study, fname, rule, datasets, index)
        info["source"] = f"study days {rule['study_days']['start']} -> {rule['study_days']['end']}"
        sources = {}
    else:
        raw, ds, present, sources = _column(study, datasets, rule["from"], index, fname)
        absent = int((~present).sum())
        info["source"] = _ref_text(rule["from"])
        values = _convert(study, fname, rule, kind, raw, ds, present)
        if "partial_dates" in values.attrs:
            info["partial_dates"] = values.attrs.pop("partial_dates")
        if "" in (rule.get("codes") or {}):
            info["blank_coded"] = int((raw.map(is_blank) & present).sum())
        if "no_record" in rule:
            values = values.astype(object).where(present, rule["no_record"])
            info["no_record_coded"] = int((~present).sum())
    info["file"] = ds.file
    info["no_record"] = absent
    info["missing"] = int(pd.isna(values).sum())
    if sources:
        info["sources"] = sources
    return _typed(study, fname, values, kind, ds), info


def _convert(study, fname, rule, kind, raw: pd.Series, ds: _Dataset, present=None) -> pd.Series:
    codes = {canonical_code(k): v for k, v in (rule.get("codes") or {}).items()}
    missing_tokens = {canonical_code(v) for v in rule.get("missing", [])}
    keys = raw.map(canonical_code)
    blank = keys.isna() | (keys == "")
    keys = keys.where(~keys.isin(missing_tokens) & (keys != ""), None)
    if codes:
        _check_codes_can_match(study, fname, codes, raw, ds)
        if "" in codes:  # a blank of a subject who has a record is the blank code; no record stays missing
            has_record = np.ones(len(keys), dtype=bool) if present is None else present
            keys = keys.where(~(blank & has_record), "")
        observed = keys.dropna()
        unknown = observed[~observed.isin(list(codes))]
        if len(unknown):
            raise StudyDataError(study, f"value(s) with no code mapping: {_listing(unknown.value_counts())}", file=ds.file,
                                 field=fname, example=f"subject {unknown.index[0]!r} has {unknown.iloc[0]!r}",
                                 hint=_unmapped_hint(fname, codes, unknown))
        return keys.map(lambda k: None if k is None else codes[k]).astype(object)
    parse = rule.get("parse") or ("number" if kind in ("number", "integer") else "text")
    if parse == "text":
        return keys
    if parse == "date":
        return _parse_dates(study, fname, keys, rule, ds)
    numbers = _parse_numbers(study, fname, keys, parse, ds, rule)
    if "unit" in rule:
        numbers = numbers * UNIT_TO_MONTHS[rule["unit"]]
    return numbers


_YAML_BOOLEAN_WORDS = {"yes", "no", "on", "off", "y", "n"}


def _unmapped_hint(fname, codes, unknown: pd.Series) -> str:
    hint = f"add them under fields.{fname}.codes (or `missing:` if they mean not recorded)"
    if {"true", "false"} & set(codes) and {str(v).lower() for v in unknown} & _YAML_BOOLEAN_WORDS:
        hint += ("; YAML reads an unquoted Yes / No / On / Off key as true / false: quote the keys "
                 "(\"Yes\": true, \"No\": false)")
    return hint


def _check_codes_can_match(study, fname, codes, raw: pd.Series, ds: _Dataset) -> None:
    """A code-map key that can never match the column (text keys on a numeric column) is an error."""
    if not (pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)):
        return
    never = [k for k in codes if k != "" and not conditions.NUMBER.match(k)]
    if never:
        raise StudyDataError(study, f"the code map of field {fname} lists {', '.join(map(repr, never))}, which can never match: "
                             "the source column holds numbers", file=ds.file, field=fname,
                             example=f"values present: {_listing(raw.map(canonical_code).dropna().value_counts(), 5)}",
                             hint="list the numeric codes the column holds (e.g. 0: ..., 1: ...), or read the column that "
                                  "holds the text")


_BELOW_LIMIT = re.compile(r"^<\s*(\d+(?:\.\d+)?)$")
_SUFFIXED = re.compile(r"^([+-]?[\d.,]+)\s*([^\d\s.,%][^\d]*)$")


def _grouped(thousands: str, decimal: str) -> re.Pattern:
    """Numbers written with a thousands separator in groups of three (1,237 or 1.237,5)."""
    t, d = re.escape(thousands), re.escape(decimal)
    return re.compile(rf"^[+-]?\d{{1,3}}(?:{t}\d{{3}})+(?:{d}\d+)?$")


def _parse_numbers(study, fname, keys: pd.Series, parse: str, ds: _Dataset, rule=None) -> pd.Series:
    rule = rule or {}
    thousands = rule.get("thousands", ds.thousands)
    suffixes = rule.get("strip_suffix") or []
    suffixes = [suffixes] if isinstance(suffixes, str) else list(suffixes)
    grouped = _grouped(thousands, ds.decimal) if thousands else None

    def one(text):
        if text is None:
            return np.nan
        s = text.strip()
        for suffix in suffixes:
            if s.lower().endswith(suffix.lower()):
                s = s[: len(s) - len(suffix)].rstrip()
                break
        if parse == "percent":
            s = s.rstrip("%").rstrip()
            below = _BELOW_LIMIT.match(s)
            if below and float(below.group(1)) <= 1.0:
                return 0.0  # "<1%" is below every positivity threshold used (1% and 10%): read as 0
        if grouped is not None and grouped.match(s):
            s = s.replace(thousands, "")
        if ds.decimal == ",":
            s = s.replace(",", ".")
        if not conditions.NUMBER.match(s):
            return _UNPARSEABLE
        value = float(s)
        return value if np.isfinite(value) else _UNPARSEABLE

    parsed = keys.map(one)
    bad = parsed.map(lambda v: v is _UNPARSEABLE).astype(bool)
    if bad.any():
        counts = keys[bad].value_counts()
        raise StudyDataError(study, f"value(s) that are not {'percentages' if parse == 'percent' else 'numbers'}: "
                             f"{_listing(counts)}", file=ds.file, field=fname,
                             example=f"subject {keys[bad].index[0]!r} has {keys[bad].iloc[0]!r}",
                             hint=_number_hint(fname, ds, list(counts.index), parse))
    return parsed.astype(float)


def _number_hint(fname: str, ds: _Dataset, values: list[str], parse: str) -> str:
    """How to state what makes these values unreadable: a unit, a separator, a percent sign."""
    hints = []
    if parse != "percent" and any("%" in v for v in values):
        hints.append(f"values with a percent sign: write `parse: percent` under fields.{fname}")
    for sep in (",", ".", " ", "'"):
        if sep != ds.decimal and any(_grouped(sep, ds.decimal).match(v.strip()) for v in values):
            hints.append(f"numbers with a thousands separator: declare `thousands: {sep!r}` under fields.{fname} "
                         f"(or under datasets.{ds.name} for all its fields)")
            break
    found = Counter(m.group(2).strip().lower() for v in values if (m := _SUFFIXED.match(v.strip())))
    suffixes = [suffix for suffix, _ in sorted(found.items(), key=lambda item: (-item[1], item[0]))]
    if suffixes:
        hints.append(f"numbers followed by a unit: state it with `strip_suffix: {suffixes[0]}` under fields.{fname}"
                     + (f" (a list for several: [{', '.join(suffixes[:3])}])" if len(suffixes) > 1 else "")
                     + " (case is ignored); for a duration also set `unit:`")
    if ds.decimal == "." and any(re.match(r"^[+-]?\d+,\d{1,2}$|^[+-]?\d+,\d{4,}$", v.strip()) for v in values):
        hints.append(f"decimal commas: declare `decimal: \",\"` for dataset {ds.name}")
    if any(not re.search(r"\d", v) for v in values):
        hints.append(f"values with no digits that mean 'not recorded' (e.g. 'unknown'): list them under fields.{fname}.missing")
    return "; ".join(hints) or "correct the source values (ask the sponsor what they mean); a number must not be listed as missing"


_UNPARSEABLE = object()


def _parse_dates(study, fname, keys: pd.Series, rule, ds: _Dataset) -> pd.Series:
    """A `parse: date` field; its partial-date records ride in attrs to the field's QC."""
    column = _dates.read_dates(keys, study=study, field_name=fname, column=rule["from"], file=ds.file,
                               date_format=rule.get("date_format"), rule=_dates.rule_for("value", rule.get("partial_dates")))
    values = column.values
    values.attrs["partial_dates"] = column.records
    return values


def _with_mapping_date_rule(rule: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The field's rule with the mapping's `partial_dates` when the field states none of its own."""
    if "partial_dates" in rule or "partial_dates" not in spec:
        return rule
    return {**rule, "partial_dates": spec["partial_dates"]}


def _date_column(study, fname, ref, rule, part, datasets, index):
    raw, ds, present, sources = _column(study, datasets, ref, index, fname)
    missing = {canonical_code(v) for v in rule.get("missing", [])}
    column = _dates.read_dates(raw, study=study, field_name=fname, column=ref, file=ds.file,
                               date_format=(rule.get("dates") or {}).get("date_format") or rule.get("date_format"),
                               rule=_dates.rule_for(part, rule.get("partial_dates")), part=part, missing_tokens=missing)
    return column, ds, int((~present).sum()), sources


def _duration_from_dates(study, fname, rule, datasets, index):
    """Months between two date columns, partial dates completed by the mapping's rule."""
    dates = rule["dates"]
    start, _, absent_start, start_sources = _date_column(study, fname, dates["start"], rule, "start", datasets, index)
    end, ds, absent_end, end_sources = _date_column(study, fname, dates["end"], rule, "end", datasets, index)
    days, start_day, end_day, ordering = _dates.duration_days(start, end, study=study, field_name=fname, file=ds.file)
    sources = {part: counts for part, counts in (("start", start_sources), ("end", end_sources)) if counts}  # coalesced parts
    return (days / DAYS_PER_MONTH, ds, absent_start + absent_end, start_day, end_day, start.records + end.records + ordering,
            sources)


def _duration_from_study_days(study, fname, rule, datasets, index):
    """Months between two CDISC study days (no day 0); the start may be one day for everyone."""
    spec = rule["study_days"]
    missing = {canonical_code(v) for v in rule.get("missing", [])}
    absent_total = 0
    parts = {}
    for part in ("start", "end"):
        ref = spec[part]
        if isinstance(ref, int):
            parts[part] = float(ref)
            continue
        raw, ds, present, _ = _column(study, datasets, ref, index, fname)
        parts[part] = _dates.read_study_days(raw, study=study, field_name=fname, column=ref, file=ds.file, missing_tokens=missing)
        absent_total += int((~present).sum())
    days = _dates.duration_from_study_days(parts["start"], parts["end"])
    return days / DAYS_PER_MONTH, ds, absent_total


def _record_dates_and_apply_cutoff(study, spec, out, calendar, datasets, index, qc) -> None:
    """Count every completed or excluded partial date in QC (qc["dates"] and, in the shape the
    report's data flow lists, qc["exclusions"]); then apply the data cut-off (cutoff.py)."""
    records = [record for info in qc["fields"].values() for record in info.get("partial_dates", [])]
    cutoff = spec.get("data_cutoff") or {}
    start_dates = None
    if cutoff.get("start"):
        start_rule = _with_mapping_date_rule({"date_format": cutoff.get("date_format")}, spec)
        column, *_ = _date_column(study, "data_cutoff", cutoff["start"], start_rule, "value", datasets, index)
        start_dates = column.values
        records += column.records
    qc["dates"] = {"anonymization": _dates.date_anonymization(spec), "partial_dates": records}
    qc["exclusions"].extend(_dates.qc_exclusion(record) for record in records)
    if cutoff:
        apply_cutoff(study, spec, out, calendar, qc, start_dates=start_dates, files={name: ds.file for name, ds in datasets.items()})


def _typed(study: str, fname: str, values: pd.Series, kind: str, ds: _Dataset | None = None) -> pd.Series:
    if kind in ("number", "integer"):
        numeric = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & numeric.isna()
        if bad.any():
            raise StudyDataError(study, f"field {fname} is a number but {int(bad.sum())} value(s) are not",
                                 file=ds.file if ds else None, field=fname,
                                 example=f"subject {values.index[bad][0]!r} has {values[bad].iloc[0]!r}",
                                 hint=f"map them to numbers under fields.{fname}.codes; a value meaning 'not recorded' "
                                      "goes under `missing:`")
        numeric = numeric.astype(float)
        present = numeric.dropna()
        whole = bool(((present % 1 == 0) & (present.abs() < 2 ** 53)).all())
        return numeric.astype("Int64") if kind == "integer" and whole else numeric
    if kind == "boolean":
        return values.map(_as_bool).astype("boolean")
    return values.map(lambda v: None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)).astype(object)
