"""Load and validate the workflow configuration and the study sheet, before any job runs."""

from __future__ import annotations

import copy
import csv
import logging
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .schemas import harmonized_fields, load_schema

SHEET_INTEGER_COLUMNS = {"year", "published_n"}
SHEET_BOOLEAN_COLUMNS = {"include"}


class ConfigProblems(ConfigError):
    """Several problems found at once: every one is listed, each with its key (and line)."""

    def __init__(self, problems: list[ConfigError], *, file: str | None = None):
        self.problems = list(problems)
        self.file, self.key, self.hint = file, None, problems[0].hint if len(problems) == 1 else None
        lines = [f"configuration error{f' in {file}' if file else ''}: {len(problems)} problems"]
        for problem in problems:
            lines += ["  - " + line if i == 0 else "    " + line for i, line in enumerate(str(problem).splitlines())]
        Exception.__init__(self, "\n".join(lines))


def raise_problems(problems: list[ConfigError], *, file: str | None = None) -> None:
    """Raise the one problem as it is, or all of them together (ConfigProblems)."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ConfigProblems(problems, file=file)


def _schema_problems(instance: Any, schema_name: str, *, file: str, where: str = "") -> list[ConfigError]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    return [ConfigError(error.message, file=file, key=f"{where}{'/'.join(str(p) for p in error.absolute_path) or '(top level)'}",
                        hint="see config/README.md for every key and its allowed values") for error in errors]


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


DEPRECATED_KEYS = {
    "demo": "the `demo` key is ignored (deprecated): the report's synthetic-data banner now follows the data, "
            "from the SYNTHETIC marker file each generated demo package carries; remove the key from your config",
}

log = logging.getLogger("her2meta.config")


def deprecation_warnings(config: dict[str, Any]) -> list[str]:
    """One line for each deprecated key the configuration still sets."""
    return [text for key, text in DEPRECATED_KEYS.items() if key in config]


def validate_config(config: dict[str, Any], *, file: str = "config/config.yaml") -> dict[str, Any]:
    """Validate against the schema, fill defaults and check cross-references. Returns a new dict.

    Every problem is reported (ConfigProblems when there are several); a deprecated key is
    accepted, dropped and logged."""
    config = copy.deepcopy(config)
    raise_problems(_schema_problems(config, "config", file=file), file=file)
    for text in deprecation_warnings(config):
        log.warning("%s: %s", file, text)
    for key in DEPRECATED_KEYS:
        config.pop(key, None)
    schema = load_schema("config")
    _apply_defaults(config, schema, schema)
    config.setdefault("harmonization", {})
    _apply_defaults(config["harmonization"], schema["properties"]["harmonization"], schema)
    raise_problems(_reference_problems(config, file), file=file)
    return config


def _reference_problems(config: dict[str, Any], file: str) -> list[ConfigError]:
    """Keys that name something (a method, an analysis, a field, a field's value) that does not exist."""
    problems = []
    if config["pooling"]["primary"] not in config["pooling"]["methods"]:
        problems.append(ConfigError(f"primary method {config['pooling']['primary']!r} is not among methods "
                                    f"{config['pooling']['methods']}", file=file, key="pooling/primary"))
    fields = harmonized_fields()
    field_list = ", ".join(fields)
    primary = config.get("report", {}).get("primary_analysis")
    if primary is not None and primary not in config["analyses"]:
        problems.append(ConfigError(f"report.primary_analysis names {primary!r}, which is not defined", file=file,
                                    key="report/primary_analysis", hint=f"analyses: {', '.join(config['analyses'])}"))
    for name in config.get("sensitivity", {}).get("analyses", []):
        if name not in config["analyses"]:
            problems.append(ConfigError(f"sensitivity names analysis {name!r}, which is not defined", file=file,
                                        key="sensitivity/analyses", hint=f"analyses: {', '.join(config['analyses'])}"))
    for name, analysis in config["analyses"].items():
        for role in ("outcome", "time", "event"):
            if role in analysis and analysis[role] not in fields:
                problems.append(ConfigError(f"analysis {name} names field {analysis[role]!r}, which is not in the harmonized "
                                            "data model", file=file, key=f"analyses/{name}/{role}", hint=f"fields: {field_list}"))
        for group_field in list(analysis.get("population", {})) + ([analysis["within"]["field"]] if "within" in analysis else []) \
                + list(analysis.get("adjust", [])):
            if group_field not in fields:
                problems.append(ConfigError(f"analysis {name} uses field {group_field!r}, which is not in the harmonized data "
                                            "model", file=file, key=f"analyses/{name}", hint=f"fields: {field_list}"))
        compare = analysis["compare"]["field"]
        if compare not in fields:
            problems.append(ConfigError(f"analysis {name} compares groups of {compare!r}, which is not in the harmonized data "
                                        "model", file=file, key=f"analyses/{name}/compare/field", hint=f"fields: {field_list}"))
            continue
        allowed = fields[compare].get("enum")
        for side in ("exposed", "reference"):
            values = analysis["compare"][side] if isinstance(analysis["compare"][side], list) else [analysis["compare"][side]]
            bad = [v for v in values if allowed and v not in allowed]
            if fields[compare]["type"] == ["boolean", "null"]:
                bad = [v for v in values if str(v).lower() not in ("true", "false")]
            if bad:
                problems.append(ConfigError(
                    f"{bad[0]!r} is not a value of {compare}", file=file, key=f"analyses/{name}/compare/{side}",
                    hint=f"values: {', '.join(str(v) for v in (allowed or ['true', 'false']) if v is not None)}"))
    return problems


def merge_config(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` layered over `base` key by key, as Snakemake layers `--configfile` files over
    the Snakefile's config file (mappings merged recursively, every other value replaced)."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def select_user_analyses(config: dict[str, Any], user: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The analyses of a user's own config file replace the shipped ones instead of adding to them.

    `config` is the configuration as Snakemake merged it (config/config.yaml, then every
    `--configfile` and `--config` over it); `user` is what the command line gave (merged the same
    way). When the user's files define `analyses`, exactly those run. Sensitivity analyses and the
    report's primary analysis the user did not set are kept only where they name one of the
    user's analyses. Returns the configuration and one note per thing it left out."""
    if not isinstance(user.get("analyses"), dict):
        return config, []
    selected = copy.deepcopy(config)
    selected["analyses"] = copy.deepcopy(user["analyses"])
    names = set(selected["analyses"])
    dropped = sorted(set(config.get("analyses", {})) - names)
    notes = [f"analyses from your config file replace the shipped ones: {', '.join(selected['analyses'])} "
             f"(not run: {', '.join(dropped)})"] if dropped else []
    user_sensitivity = user.get("sensitivity") if isinstance(user.get("sensitivity"), dict) else {}
    sensitivity = selected.get("sensitivity")
    if isinstance(sensitivity, dict) and "analyses" not in user_sensitivity and isinstance(sensitivity.get("analyses"), list):
        kept = [name for name in sensitivity["analyses"] if name in names]
        if kept != sensitivity["analyses"]:
            notes.append("sensitivity analyses of the shipped config for analyses you did not define are left out "
                         f"(kept: {', '.join(kept) or 'none'}); set sensitivity.analyses in your config file to choose")
        sensitivity["analyses"] = kept
    user_report = user.get("report") if isinstance(user.get("report"), dict) else {}
    report = selected.get("report")
    if isinstance(report, dict) and "primary_analysis" not in user_report and report.get("primary_analysis") not in (None, *names):
        notes.append(f"report.primary_analysis {report['primary_analysis']!r} of the shipped config is not among your "
                     "analyses: the flow diagram ends with your first analysis; set report.primary_analysis to choose")
        del report["primary_analysis"]
    return selected, notes


def read_config_file(path: Path | str) -> dict[str, Any]:
    """The YAML of a config file, unvalidated; a syntax error names the line and column."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found", file=str(path),
                          hint="give the path from the folder you run in, e.g. config/config.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path), key=where,
                          hint="fix the YAML there (often an unclosed bracket or quote, or a tab used for indentation)") from exc
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError("a config file must be a YAML mapping (key: value) at the top level", file=str(path))
    return raw or {}


def load_config(path: Path | str) -> dict[str, Any]:
    return validate_config(read_config_file(path), file=str(path))


WORKFLOW_CONFIG = Path("config") / "config.yaml"


def layered_config(path: Path | str, *, directory: Path | str = ".") -> tuple[dict[str, Any], list[str], str]:
    """The unvalidated configuration `snakemake --directory DIRECTORY --configfile PATH` runs with.

    The Snakefile reads DIRECTORY/config/config.yaml; PATH, when it is another file, is layered
    over it key by key and its `analyses` replace the shipped ones (select_user_analyses).
    Returns the configuration, the notes of select_user_analyses and a label naming the files."""
    path, shipped = Path(path), Path(directory) / WORKFLOW_CONFIG
    if not shipped.is_file() or (path.is_file() and path.resolve() == shipped.resolve()):
        return read_config_file(path), [], str(path)
    user = read_config_file(path)
    config, notes = select_user_analyses(merge_config(read_config_file(shipped), user), user)
    return config, notes, f"{shipped} + {path}"


def read_study_sheet(path: Path | str, *, project_root: Path | str = ".", data_root: str | None = None) -> list[dict[str, Any]]:
    """Read config/studies.tsv into typed, validated rows (empty cells are absent keys).

    `project_root` is the folder the sheet's `mapping` paths and `data_root` are relative to: the
    working directory of the run. Every problem of every row is reported (ConfigProblems when
    there are several)."""
    rows, problems = study_sheet_problems(path, project_root=project_root, data_root=data_root)
    raise_problems(problems, file=str(path))
    return rows


def study_sheet_problems(path: Path | str, *, project_root: Path | str = ".",
                         data_root: str | None = None) -> tuple[list[dict[str, Any]], list[ConfigError]]:
    """(the rows without a problem, every problem found): what read_study_sheet raises on."""
    path = Path(path)
    root = Path(project_root)
    if not path.is_file():
        raise ConfigError("study sheet not found", file=str(path), hint="set `studies:` in config.yaml")
    problems: list[ConfigError] = []
    rows, lines = [], []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        for line_no, raw in enumerate(reader, start=2):
            if None in raw:
                problems.append(ConfigError(f"line {line_no} has more cells than the header", file=str(path),
                                            key=f"line {line_no}"))
                continue
            row, row_problems = {}, []
            for column, cell in raw.items():
                cell = (cell or "").strip()
                if cell == "":
                    continue
                try:
                    row[column] = _typed_cell(column, cell, path, line_no)
                except ConfigError as exc:
                    row_problems.append(exc)
            if not row_problems:
                row_problems = _schema_problems(row, "studies", file=str(path),
                                                where=f"line {line_no} ({row.get('study_id', '?')}): ")
            problems += row_problems
            if not row_problems:
                rows.append(row)
                lines.append(line_no)
    seen: dict[str, int] = {}
    for line_no, row in zip(lines, rows):
        if row["study_id"] in seen:
            problems.append(ConfigError(f"study {row['study_id']} is listed twice (lines {seen[row['study_id']]} and {line_no})",
                                        file=str(path), key=f"line {line_no}/study_id",
                                        hint="remove one of the two lines, or give the second study its own study_id"))
        else:
            seen[row["study_id"]] = line_no
    if data_root is None:
        return rows, problems
    usable = []
    for line_no, row in zip(lines, rows):
        found = _path_problems(row, line_no, path, root, data_root)
        problems += found
        if not found:
            usable.append(row)
    return usable, problems


def _path_problems(row: dict[str, Any], line_no: int, path: Path, root: Path, data_root: str) -> list[ConfigError]:
    base = (root / data_root).resolve()
    target = (base / row["path"]).resolve()
    if base != target and base not in target.parents:
        return [ConfigError(f"study {row['study_id']}: path {row['path']!r} points outside the data folder {data_root}",
                            file=str(path), key=f"line {line_no}/path",
                            hint="paths are relative to data_root and must stay inside it (no '..', no absolute path "
                                 "elsewhere); move the package under data_root or change data_root in config.yaml")]
    problems = []
    if row.get("include", True) and not target.exists():
        problems.append(ConfigError(f"study {row['study_id']}: {target} does not exist", file=str(path),
                                    key=f"line {line_no}/path",
                                    hint=f"paths are relative to data_root ({base}); fix the path, or set include to false "
                                         "with an exclusion_reason"))
    if row["data_source"] == "ipd" and row.get("include", True) and not (root / row["mapping"]).is_file():
        problems.append(ConfigError(f"study {row['study_id']}: mapping file {row['mapping']} does not exist",
                                    file=str(path), key=f"line {line_no}/mapping",
                                    hint="create it (her2meta mapping scaffold PACKAGE_DIR; see config/README.md) or fix the "
                                         f"path (relative to the working directory, {root.resolve()})"))
    return problems


def mark_synthetic(rows: list[dict[str, Any]], *, data_root: str, project_root: Path | str = ".") -> list[dict[str, Any]]:
    """The rows, each with `synthetic`: whether its package carries the synthetic-data marker
    (her2meta.synthetic). The report's banner names the synthetic studies from it."""
    from .synthetic import is_synthetic

    base = Path(project_root) / data_root
    return [{**row, "synthetic": is_synthetic(base / row["path"])} for row in rows]


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
