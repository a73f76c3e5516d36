"""Load and validate the workflow configuration and the study sheet, before any job runs."""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .schemas import harmonized_fields, load_schema

SHEET_INTEGER_COLUMNS = {"year", "published_n"}
SHEET_BOOLEAN_COLUMNS = {"include"}


def _validate(instance: Any, schema_name: str, *, file: str, where: str = "") -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        key = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ConfigError(first.message + more, file=file, key=f"{where}{key}",
                          hint="see config/README.md for every key and its allowed values")


def _apply_defaults(instance: dict, schema: dict, root: dict) -> None:
    """Fill in `default` values of properties declared in the schema (objects only, recursively)."""
    for name, prop in schema.get("properties", {}).items():
        if "$ref" in prop:
            prop = _resolve(prop["$ref"], root)
        if name not in instance and "default" in prop:
            instance[name] = copy.deepcopy(prop["default"])
        if isinstance(instance.get(name), dict):
            _apply_defaults(instance[name], prop, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        sub = _resolve(extra["$ref"], root) if "$ref" in extra else extra
        for name, value in instance.items():
            if name not in schema.get("properties", {}) and isinstance(value, dict):
                _apply_defaults(value, sub, root)


def _resolve(ref: str, root: dict) -> dict:
    node = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def validate_config(config: dict[str, Any], *, file: str = "config/config.yaml") -> dict[str, Any]:
    """Validate against the schema, fill defaults and check cross-references. Returns a new dict."""
    config = copy.deepcopy(config)
    _validate(config, "config", file=file)
    schema = load_schema("config")
    _apply_defaults(config, schema, schema)
    config.setdefault("harmonization", {})
    _apply_defaults(config["harmonization"], schema["properties"]["harmonization"], schema)
    if config["pooling"]["primary"] not in config["pooling"]["methods"]:
        raise ConfigError(f"primary method {config['pooling']['primary']!r} is not among methods {config['pooling']['methods']}",
                          file=file, key="pooling/primary")
    fields = harmonized_fields()
    primary = config.get("report", {}).get("primary_analysis")
    if primary is not None and primary not in config["analyses"]:
        raise ConfigError(f"report.primary_analysis names {primary!r}, which is not defined", file=file,
                          key="report/primary_analysis", hint=f"analyses: {', '.join(config['analyses'])}")
    for name in config.get("sensitivity", {}).get("analyses", []):
        if name not in config["analyses"]:
            raise ConfigError(f"sensitivity names analysis {name!r}, which is not defined", file=file, key="sensitivity/analyses",
                              hint=f"analyses: {', '.join(config['analyses'])}")
    for name, analysis in config["analyses"].items():
        for role in ("outcome", "time", "event"):
            if role in analysis and analysis[role] not in fields:
                raise ConfigError(f"analysis {name} names field {analysis[role]!r}, which is not in the harmonized data model",
                                  file=file, key=f"analyses/{name}/{role}", hint=f"fields: {', '.join(fields)}")
        for group_field in list(analysis.get("population", {})) + ([analysis["within"]["field"]] if "within" in analysis else []) \
                + list(analysis.get("adjust", [])):
            if group_field not in fields:
                raise ConfigError(f"analysis {name} uses field {group_field!r}, which is not in the harmonized data model",
                                  file=file, key=f"analyses/{name}", hint=f"fields: {', '.join(fields)}")
        compare = analysis["compare"]["field"]
        if compare not in fields:
            raise ConfigError(f"analysis {name} compares groups of {compare!r}, which is not in the harmonized data model",
                              file=file, key=f"analyses/{name}/compare/field", hint=f"fields: {', '.join(fields)}")
        allowed = fields[compare].get("enum")
        for side in ("exposed", "reference"):
            values = analysis["compare"][side] if isinstance(analysis["compare"][side], list) else [analysis["compare"][side]]
            bad = [v for v in values if allowed and v not in allowed]
            if fields[compare]["type"] == ["boolean", "null"]:
                bad = [v for v in values if str(v).lower() not in ("true", "false")]
            if bad:
                raise ConfigError(f"{bad[0]!r} is not a value of {compare}",
                                  file=file, key=f"analyses/{name}/compare/{side}",
                                  hint=f"values: {', '.join(str(v) for v in (allowed or ['true', 'false']) if v is not None)}")
    return config


def load_config(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path), key=where,
                          hint="fix the YAML there (often an unclosed bracket or quote, or a tab used for indentation)") from exc
    return validate_config(raw or {}, file=str(path))


def read_study_sheet(path: Path | str, *, project_root: Path | str = ".", data_root: str | None = None) -> list[dict[str, Any]]:
    """Read config/studies.tsv into typed, validated rows (empty cells are absent keys)."""
    path = Path(path)
    root = Path(project_root)
    if not path.is_file():
        raise ConfigError("study sheet not found", file=str(path), hint="set `studies:` in config.yaml")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        rows = []
        for line_no, raw in enumerate(reader, start=2):
            if None in raw:
                raise ConfigError(f"line {line_no} has more cells than the header", file=str(path), key=f"line {line_no}")
            row = {}
            for column, cell in raw.items():
                cell = (cell or "").strip()
                if cell == "":
                    continue
                row[column] = _typed_cell(column, cell, path, line_no)
            _validate(row, "studies", file=str(path), where=f"line {line_no} ({row.get('study_id', '?')}): ")
            rows.append(row)
    seen: dict[str, int] = {}
    for index, row in enumerate(rows, start=2):
        if row["study_id"] in seen:
            raise ConfigError(f"study {row['study_id']} is listed twice (lines {seen[row['study_id']]} and {index})",
                              file=str(path), key=f"line {index}/study_id",
                              hint="remove one of the two lines, or give the second study its own study_id")
        seen[row["study_id"]] = index
    lines = dict(seen)
    if data_root is not None:
        base = (root / data_root).resolve()
        for row in rows:
            target = (base / row["path"]).resolve()
            if base != target and base not in target.parents:
                raise ConfigError(f"study {row['study_id']}: path {row['path']!r} points outside the data folder {data_root}",
                                  file=str(path), key=f"line {lines[row['study_id']]}/path",
                                  hint="paths are relative to data_root and must stay inside it (no '..', no absolute path "
                                       "elsewhere); move the package under data_root or change data_root in config.yaml")
            if row.get("include", True) and not target.exists():
                raise ConfigError(f"study {row['study_id']}: {target} does not exist", file=str(path),
                                  key=f"line {lines[row['study_id']]}/path",
                                  hint=f"paths are relative to data_root ({base}); fix the path, or set include to false "
                                       "with an exclusion_reason")
            if row["data_source"] == "ipd" and row.get("include", True) and not (root / row["mapping"]).is_file():
                raise ConfigError(f"study {row['study_id']}: mapping file {row['mapping']} does not exist",
                                  file=str(path), key=f"line {lines[row['study_id']]}/mapping",
                                  hint="create it (her2meta mapping scaffold PACKAGE_DIR; see config/README.md) or fix the path")
    return rows


def _typed_cell(column: str, cell: str, path: Path, line_no: int) -> Any:
    if column in SHEET_INTEGER_COLUMNS:
        try:
            return int(cell)
        except ValueError:
            raise ConfigError(f"{column} must be a whole number, got {cell!r}", file=str(path), key=f"line {line_no}/{column}") from None
    if column in SHEET_BOOLEAN_COLUMNS:
        lowered = cell.lower()
        if lowered in {"true", "yes", "1"}:
            return True
        if lowered in {"false", "no", "0"}:
            return False
        raise ConfigError(f"{column} must be true or false, got {cell!r}", file=str(path), key=f"line {line_no}/{column}")
    return cell


def included_studies(rows: list[dict[str, Any]], *, source: str | None = None) -> list[str]:
    return [r["study_id"] for r in rows if r["include"] and (source is None or r["data_source"] == source)]


def analyses_for_study(config: dict[str, Any], row: dict[str, Any]) -> list[str]:
    return [name for name, a in config["analyses"].items() if row["setting"] in a["settings"] and row["design"] in a["designs"]]
