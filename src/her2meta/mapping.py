"""Declarative per-study extraction mappings: load, validate and apply.

A mapping is data (YAML validated by schemas/mapping.json), never code: it names files,
row filters, long-to-wide pivots, the subject key to join on, and for each harmonized field
the source column with its parsing, code map and unit. Applying it gives one row per subject
with harmonized field names, and a QC record that counts every exclusion and every missing
value with its reason.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from . import dates as _dates
from .cutoff import apply_cutoff, check_cutoff
from .errors import StudyDataError
from .io import read_manifest, read_table, sha256_file, verify_against_manifest
from .schemas import field_kind, harmonized_fields, load_schema

DAYS_PER_MONTH = 365.25 / 12
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


def _check_references(spec: dict[str, Any], path: Path) -> None:
    study = spec["study_id"]
    datasets = spec["datasets"]
    if spec["subjects"] not in datasets:
        raise StudyDataError(study, f"subjects names dataset {spec['subjects']!r}, which is not declared", file=str(path),
                             hint=f"declared datasets: {', '.join(datasets)}")
    allowed = mappable_fields()
    for name, rule in spec["fields"].items():
        if name not in allowed:
            raise StudyDataError(study, f"unknown field name {name!r}", file=str(path), field=name,
                                 hint=f"harmonized fields a mapping can fill: {', '.join(allowed)}")
        kind = field_kind(allowed[name])
        if kind == "boolean" and "codes" not in rule:
            raise StudyDataError(study, f"field {name} is yes/no: it needs a `codes:` map (e.g. Yes: true, No: false)",
                                 file=str(path), field=name, hint="list every source value under codes")
        numeric = kind in ("number", "integer")
        if not numeric and ("unit" in rule or "dates" in rule):
            raise StudyDataError(study, f"field {name} is {kind}: `{'unit' if 'unit' in rule else 'dates'}:` applies to "
                                 "durations only", file=str(path), field=name, hint="remove it, or map it to a time field")
        if numeric and rule.get("parse") in ("text", "date"):
            raise StudyDataError(study, f"field {name} is a number: `parse: {rule['parse']}` cannot give one",
                                 file=str(path), field=name, hint="use parse: number, integer or percent (or `dates:` for a duration)")
        for source, target in (rule.get("codes") or {}).items():
            problem = _code_target_problem(kind, target)
            if problem:
                raise StudyDataError(study, f"the code map of field {name} turns {source!r} into {target!r}: {problem}",
                                     file=str(path), field=name, example=f"codes: {{{source}: {target}}}",
                                     hint=_CODE_HINTS[kind])
        for ref in [rule.get("from")] + list((rule.get("dates") or {}).get(k) for k in ("start", "end")):
            if ref is not None and ref.split(".", 1)[0] not in datasets:
                raise StudyDataError(study, f"field {name} reads from dataset {ref.split('.', 1)[0]!r}, which is not declared",
                                     file=str(path), field=name, hint=f"declared datasets: {', '.join(datasets)}")
    if "patient_id" not in spec["fields"]:
        raise StudyDataError(study, "the mapping does not say where patient_id comes from", file=str(path), field="patient_id")
    for name, value in spec.get("constants", {}).items():
        if name not in allowed:
            raise StudyDataError(study, f"unknown constant field {name!r}", file=str(path), field=name,
                                 hint=f"harmonized fields: {', '.join(allowed)}")
        problem = _code_target_problem(field_kind(allowed[name]), value)
        if problem:
            raise StudyDataError(study, f"constant {name} = {value!r}: {problem}", file=str(path), field=name,
                                 hint=_CODE_HINTS[field_kind(allowed[name])])
    _dates.check_date_keys(spec, str(path), {name: field_kind(allowed[name]) for name in spec["fields"]})
    check_cutoff(spec, path)


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


@dataclass
class ExtractionResult:
    data: pd.DataFrame
    qc: dict[str, Any] = field(default_factory=dict)


def canonical_code(value: Any) -> str | None:
    """The string form under which a source value is looked up in a code map."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip()


def apply_mapping(mapping: Mapping, package_dir: Path | str) -> ExtractionResult:
    """Read the study package and return one row per subject with harmonized field names."""
    spec, study = mapping.spec, mapping.study_id
    package_dir = Path(package_dir)
    qc: dict[str, Any] = {"study_id": study, "mapping": str(mapping.path), "files": [], "subjects": {}, "fields": {},
                          "unmatched_rows": {}, "exclusions": []}
    raw_cache: dict[tuple, pd.DataFrame] = {}
    datasets: dict[str, _Dataset] = {}
    manifest = read_manifest(package_dir)
    qc["manifest_checked"] = bool(manifest)

    subjects_name = spec["subjects"]
    for name, dspec in spec["datasets"].items():
        datasets[name] = _load_dataset(study, name, dspec, package_dir, raw_cache, qc, is_subjects=(name == subjects_name),
                                       manifest=manifest)

    subjects = datasets[subjects_name]
    index = subjects.frame.index
    for name, ds in datasets.items():
        if name == subjects_name:
            continue
        matched = ds.frame.index.isin(index)
        unmatched = int((~matched).sum())
        qc["unmatched_rows"][name] = unmatched
        if len(ds.frame) and not matched.any():
            raise StudyDataError(
                study,
                f"no subject of dataset {name} matches a subject of {subjects_name} on the key",
                file=ds.file,
                field=spec["datasets"][name]["key"],
                example=f"{name} key {ds.frame.index[0]!r} vs {subjects_name} key {index[0] if len(index) else '(none)'!r}",
                hint="check `key:` of both datasets; identifiers must be spelled identically",
            )

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
    _record_dates_and_apply_cutoff(study, spec, out, calendar, datasets, index, qc)
    out.insert(0, "study_id", study)
    out = out.reset_index(drop=True)
    qc["subjects"]["rows_out"] = len(out)
    return ExtractionResult(data=out, qc=qc)


def _load_dataset(study, name, dspec, package_dir, raw_cache, qc, *, is_subjects, manifest=None) -> _Dataset:
    path = package_dir / dspec["file"]
    read_opts = {k: dspec[k] for k in ("encoding", "sep", "decimal", "sheet") if k in dspec}
    cache_key = (str(path), dspec.get("format"), tuple(sorted(read_opts.items())))
    if cache_key not in raw_cache:
        if manifest and path.is_file():
            verify_against_manifest(path, manifest, study=study, name=Path(dspec["file"]).as_posix())
        raw_cache[cache_key] = read_table(path, study=study, file_format=dspec.get("format"), **read_opts)
        qc["files"].append({"file": str(path), "sha256": sha256_file(path), "rows": len(raw_cache[cache_key])})
    frame = raw_cache[cache_key]
    _require_columns(study, name, frame, [dspec["key"]] + [c["column"] for c in dspec.get("filter", [])]
                     + ([dspec["pivot"]["names_from"], dspec["pivot"]["values_from"]] if "pivot" in dspec else []), str(path))
    rows_in = len(frame)
    exclusions = []
    for cond in dspec.get("filter", []):
        keep = _condition_mask(frame, cond)
        dropped = int((~keep).sum())
        if is_subjects:
            exclusions.append({"reason": cond.get("reason") or _describe_condition(cond), "count": dropped})
        frame = frame[keep]
    if is_subjects:
        qc["subjects"] = {"dataset": name, "rows_in": rows_in, "excluded": exclusions}
        for cond, exclusion in zip(dspec.get("filter", []), exclusions):
            if exclusion["count"]:
                qc["exclusions"].append({"stage": "extract", "field": f"{name}.{cond['column']}", "reason": exclusion["reason"],
                                         "action": "excluded from the study", "count": exclusion["count"]})
        if rows_in == 0:
            raise StudyDataError(study, f"the subjects dataset {name} has no rows", file=str(path),
                                 hint="check that the file is the complete subject-level dataset (ADSL, DM or equivalent)")
        if len(frame) == 0:
            raise StudyDataError(study, f"the filters of the subjects dataset {name} leave no subject (of {rows_in} rows)",
                                 file=str(path), field=dspec["filter"][-1]["column"],
                                 example="; ".join(f"{e['count']} rows excluded: {e['reason']}" for e in exclusions),
                                 hint=f"check the filter values against the codes present: {_present_codes(raw_cache, cache_key, dspec)}")
    elif len(frame) == 0:
        raise StudyDataError(study, f"the filter of dataset {name} selects no row (of {rows_in})", file=str(path),
                             field=(dspec.get("filter") or [{}])[-1].get("column"),
                             hint=f"filters: {dspec.get('filter')}; codes present: {_present_codes(raw_cache, cache_key, dspec)}")
    key = dspec["key"]
    keys = frame[key].map(canonical_code)
    if keys.isna().any():
        raise StudyDataError(study, f"{int(keys.isna().sum())} rows of dataset {name} have no subject identifier",
                             file=str(path), field=key, hint="every row must carry the subject key")
    frame = frame.assign(**{key: keys})
    if "pivot" in dspec:
        frame = _pivot(study, name, frame, key, dspec["pivot"], str(path))
    else:
        dup = frame[key].duplicated(keep=False)
        if dup.any():
            example = frame.loc[dup, key].iloc[0]
            raise StudyDataError(
                study,
                f"dataset {name} has {int(frame[key].duplicated().sum())} duplicated subject identifiers",
                file=str(path), field=key, example=f"{key} = {example!r}",
                hint="add a filter that leaves one row per subject (e.g. PARAMCD), or a pivot",
            )
        frame = frame.set_index(key, drop=False)
    return _Dataset(name=name, frame=frame, file=str(path), decimal=dspec.get("decimal", "."))


def _present_codes(raw_cache, cache_key, dspec) -> str:
    """The values present in each filtered column (up to 10 each), for the hint of an empty filter."""
    frame = raw_cache[cache_key]
    parts = []
    for cond in dspec.get("filter", []):
        values = frame[cond["column"]].map(canonical_code).dropna().unique().tolist()
        shown = ", ".join(map(repr, sorted(values, key=str)[:10])) + (", ..." if len(values) > 10 else "")
        parts.append(f"{cond['column']}: {shown or '(all empty)'}")
    return "; ".join(parts)


def _require_columns(study, name, frame, columns, file):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StudyDataError(study, f"dataset {name} has no column {', '.join(map(repr, missing))}", file=file,
                             field=missing[0], hint=f"columns that exist: {', '.join(frame.columns)}")


def _condition_mask(frame: pd.DataFrame, cond: dict[str, Any]) -> pd.Series:
    values = frame[cond["column"]].map(canonical_code)
    if "equals" in cond:
        return values == canonical_code(cond["equals"])
    if "in" in cond:
        return values.isin([canonical_code(v) for v in cond["in"]])
    return ~values.isin([canonical_code(v) for v in cond["not_in"]])


def _describe_condition(cond: dict[str, Any]) -> str:
    for op in ("equals", "in", "not_in"):
        if op in cond:
            return f"{cond['column']} {op.replace('_', ' ')} {cond[op]}"
    return str(cond)


def _pivot(study, name, frame, key, pivot, file) -> pd.DataFrame:
    names, values = pivot["names_from"], pivot["values_from"]
    dup = frame.duplicated([key, names], keep=False)
    if dup.any():
        row = frame.loc[dup].iloc[0]
        raise StudyDataError(study, f"dataset {name} has more than one {values} per subject and {names}", file=file,
                             field=names, example=f"{key} = {row[key]!r}, {names} = {row[names]!r}",
                             hint="add a filter that selects one record per subject and parameter")
    wide = frame.pivot(index=key, columns=names, values=values)
    wide.columns = [str(c) for c in wide.columns]
    wide.columns.name = None
    wide[key] = wide.index
    return wide


def _column(study, datasets, ref, index, fname):
    ds_name, column = ref.split(".", 1)
    ds = datasets[ds_name]
    if column not in ds.frame.columns:
        raise StudyDataError(study, f"dataset {ds_name} has no column {column!r} (needed for field {fname})", file=ds.file,
                             field=fname, hint=f"columns that exist: {', '.join(map(str, ds.frame.columns))}")
    present = index.isin(ds.frame.index)
    values = ds.frame[column].reindex(index)
    return values, ds, int((~present).sum())


def _map_field(study, fname, rule, prop, datasets, index, calendar=None):
    kind = field_kind(prop)
    info: dict[str, Any] = {}
    if "dates" in rule:
        values, ds, absent, start, end, info["partial_dates"] = _duration_from_dates(study, fname, rule, datasets, index)
        if calendar is not None:
            calendar[fname] = (start, end)
        info["source"] = f"{rule['dates']['start']} -> {rule['dates']['end']}"
    elif "study_days" in rule:
        values, ds, absent = _duration_from_study_days(study, fname, rule, datasets, index)
        info["source"] = f"study days {rule['study_days']['start']} -> {rule['study_days']['end']}"
    else:
        raw, ds, absent = _column(study, datasets, rule["from"], index, fname)
        info["source"] = rule["from"]
        values = _convert(study, fname, rule, kind, raw, ds)
        if "partial_dates" in values.attrs:
            info["partial_dates"] = values.attrs.pop("partial_dates")
    info["file"] = ds.file
    info["no_record"] = absent
    info["missing"] = int(pd.isna(values).sum())
    return _typed(study, fname, values, kind, ds), info


def _convert(study, fname, rule, kind, raw: pd.Series, ds: _Dataset) -> pd.Series:
    codes = {canonical_code(k): v for k, v in (rule.get("codes") or {}).items()}
    missing_tokens = {canonical_code(v) for v in rule.get("missing", [])}
    keys = raw.map(canonical_code)
    keys = keys.where(~keys.isin(missing_tokens) & (keys != ""), None)
    if codes:
        present = keys.dropna()
        unknown = present[~present.isin(list(codes))]
        if len(unknown):
            counts = unknown.value_counts()
            listing = ", ".join(f"{value!r} ({n} rows)" for value, n in counts.items())
            raise StudyDataError(study, f"value(s) with no code mapping: {listing}", file=ds.file, field=fname,
                                 example=f"subject {unknown.index[0]!r} has {unknown.iloc[0]!r}",
                                 hint=f"add them under fields.{fname}.codes (or `missing:` if they mean not recorded)")
        return keys.map(lambda k: None if k is None else codes[k]).astype(object)
    parse = rule.get("parse") or ("number" if kind in ("number", "integer") else "text")
    if parse == "text":
        return keys
    if parse == "date":
        return _parse_dates(study, fname, keys, rule, ds)
    numbers = _parse_numbers(study, fname, keys, parse, ds)
    if "unit" in rule:
        numbers = numbers * UNIT_TO_MONTHS[rule["unit"]]
    return numbers


_BELOW_LIMIT = re.compile(r"^<\s*(\d+(?:\.\d+)?)$")
# A plain decimal number: no "nan", "inf", "1_000" or hex, which float() would also take.
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def _parse_numbers(study, fname, keys: pd.Series, parse: str, ds: _Dataset) -> pd.Series:
    def one(text):
        if text is None:
            return np.nan
        s = text.replace(" ", "")
        if parse == "percent":
            s = s.rstrip("%")
            below = _BELOW_LIMIT.match(s)
            if below and float(below.group(1)) <= 1.0:
                return 0.0  # "<1%" is below every positivity threshold used (1% and 10%): read as 0
        if ds.decimal == ",":
            s = s.replace(",", ".")
        if not _NUMBER.match(s):
            return _UNPARSEABLE
        value = float(s)
        return value if np.isfinite(value) else _UNPARSEABLE

    parsed = keys.map(one)
    bad = parsed.map(lambda v: v is _UNPARSEABLE).astype(bool)
    if bad.any():
        counts = keys[bad].value_counts()
        listing = ", ".join(f"{value!r} ({n} rows)" for value, n in counts.items())
        raise StudyDataError(study, f"value(s) that are not {'percentages' if parse == 'percent' else 'numbers'}: {listing}",
                             file=ds.file, field=fname, example=f"subject {keys[bad].index[0]!r} has {keys[bad].iloc[0]!r}",
                             hint=f"list them under fields.{fname}.missing if they mean 'not recorded', or correct the source")
    return parsed.astype(float)


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
    raw, ds, absent = _column(study, datasets, ref, index, fname)
    missing = {canonical_code(v) for v in rule.get("missing", [])}
    column = _dates.read_dates(raw, study=study, field_name=fname, column=ref, file=ds.file,
                               date_format=(rule.get("dates") or {}).get("date_format") or rule.get("date_format"),
                               rule=_dates.rule_for(part, rule.get("partial_dates")), part=part, missing_tokens=missing)
    return column, ds, absent


def _duration_from_dates(study, fname, rule, datasets, index):
    """Months between two date columns, partial dates completed by the mapping's rule."""
    dates = rule["dates"]
    start, _, absent_start = _date_column(study, fname, dates["start"], rule, "start", datasets, index)
    end, ds, absent_end = _date_column(study, fname, dates["end"], rule, "end", datasets, index)
    days, start_day, end_day, ordering = _dates.duration_days(start, end, study=study, field_name=fname, file=ds.file)
    return days / DAYS_PER_MONTH, ds, absent_start + absent_end, start_day, end_day, start.records + end.records + ordering


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
        raw, ds, absent = _column(study, datasets, ref, index, fname)
        parts[part] = _dates.read_study_days(raw, study=study, field_name=fname, column=ref, file=ds.file, missing_tokens=missing)
        absent_total += absent
    days = _dates.duration_from_study_days(parts["start"], parts["end"])
    return days / DAYS_PER_MONTH, ds, absent_total


def _record_dates_and_apply_cutoff(study, spec, out, calendar, datasets, index, qc) -> None:
    """Count every completed or excluded partial date in QC (qc["dates"] and, in the shape the
    report's data flow lists, qc["exclusions"]); then apply the data cut-off (cutoff.py)."""
    records = [record for info in qc["fields"].values() for record in info.get("partial_dates", [])]
    cutoff = spec.get("data_cutoff") or {}
    start_dates = None
    if cutoff.get("start"):
        start_rule = {"partial_dates": spec["partial_dates"]} if "partial_dates" in spec else {}
        column, _, _ = _date_column(study, "data_cutoff", cutoff["start"], {**start_rule, "date_format": cutoff.get("date_format")},
                                    "value", datasets, index)
        start_dates = column.values
        records += column.records
    qc["dates"] = {"anonymization": spec.get("date_anonymization", "none"), "partial_dates": records}
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
                                 hint=f"map them to numbers under fields.{fname}.codes, or list them under `missing:`")
        numeric = numeric.astype(float)
        present = numeric.dropna()
        whole = bool(((present % 1 == 0) & (present.abs() < 2 ** 53)).all())
        return numeric.astype("Int64") if kind == "integer" and whole else numeric
    if kind == "boolean":
        return values.map(_as_bool).astype("boolean")
    return values.map(lambda v: None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)).astype(object)
