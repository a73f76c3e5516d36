"""`her2meta mapping check MAPPING PACKAGE`: run one study's chain as the workflow would, and show it.

The study's chain (her2meta.stages.study_chain: extract, harmonize, estimate) runs in a temporary
folder with the configuration's harmonization settings and the study's row of the study sheet
(or, for a study not yet in the sheet, minimal defaults that are printed). The summary shows
each field, the exclusions by reason, the unmatched rows of each dataset, the derived HR, HER2,
pCR and regimen counts and what each analysis can estimate.

Every problem the run would stop on is listed, not only the first: when the chain stops on a
field, that field (and its time/event partner) is set aside and the chain runs again, until it
completes or stops on something that is not one field (a file, a dataset, the subjects).
"""

from __future__ import annotations

import copy
import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from .errors import Her2MetaError, StudyDataError

MAX_ROUNDS = 25
DERIVED_COUNTS = ("hr_status", "her2_status", "pcr_source", "regimen_class")
PCR_FIELDS = ("pcr_ypt0is_ypn0", "pcr_ypt0_ypn0", "pcr_breast", "objective_response")


@dataclass
class CheckResult:
    study_id: str
    study: dict[str, Any]
    assumed: list[str]
    problems: list[StudyDataError] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    extracted_qc: dict[str, Any] | None = None
    harmonized_qc: dict[str, Any] | None = None
    harmonized: Any = None
    estimates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def study_context(study_id: str, spec: dict[str, Any], *, config_path: Path | None, directory: Path,
                  setting: str | None = None, design: str | None = None) -> tuple[dict, dict, list[str]]:
    """(configuration, study sheet row, what was assumed): the study's row when the config's sheet
    lists it, else minimal defaults (the mapping's `setting` constant, --setting, --design)."""
    from .config import layered_config, study_sheet_problems, validate_config
    from .schemas import load_schema

    assumed: list[str] = []
    config = None
    if config_path is not None and Path(config_path).is_file():
        raw, _, label = layered_config(config_path, directory=directory)
        config = validate_config(raw, file=label)
    if config is None:
        schema = load_schema("config")["properties"]["harmonization"]["properties"]
        config = {"harmonization": {k: v["default"] for k, v in schema.items() if "default" in v}, "analyses": {},
                  "pooling": {"level": 95}}
        assumed.append(f"no config file: harmonization defaults {config['harmonization']}, no analyses")
    row = None
    if "studies" in config:
        rows, _ = study_sheet_problems(directory / config["studies"], project_root=directory, data_root=None)
        row = next((r for r in rows if r["study_id"] == study_id), None)
    if row is None:
        constant = (spec.get("constants") or {}).get("setting")
        row = {"study_id": study_id, "label": study_id, "data_source": "ipd", "path": ".", "include": True,
               "setting": setting or constant or "neoadjuvant", "design": design or "rct"}
        assumed.append(f"{study_id} is not in the study sheet: setting {row['setting']}"
                       f"{'' if setting or constant else ' (assumed; give --setting)'}, design {row['design']}"
                       f"{'' if design else ' (assumed; give --design)'}")
    else:
        row = {**row, **({"setting": setting} if setting else {}), **({"design": design} if design else {})}
    return config, row, assumed


def check_mapping(mapping_path: Path | str, package: Path | str, *, config_path: Path | str | None = "config/config.yaml",
                  directory: Path | str = ".", setting: str | None = None, design: str | None = None) -> CheckResult:
    from .config import analyses_for_study
    from .mapping import TIME_EVENT_PAIRS, load_mapping
    from .stages import study_chain

    mapping = load_mapping(mapping_path)  # a broken mapping stops here: nothing else can be checked
    spec = copy.deepcopy(mapping.spec)
    config, row, assumed = study_context(mapping.study_id, spec, config_path=Path(config_path) if config_path else None,
                                         directory=Path(directory), setting=setting, design=design)
    result = CheckResult(study_id=mapping.study_id, study=row, assumed=assumed)
    analyses = config.get("analyses", {})
    applicable = analyses_for_study(config, row) if analyses else []
    partner = {a: b for pair in TIME_EVENT_PAIRS for a, b in (pair, pair[::-1])}
    package = Path(package)
    files = sorted(p for p in package.rglob("*") if p.is_file() and not p.name.startswith("."))
    logger = logging.getLogger("her2meta.mapping_check")  # the stages' own messages: summarized by render()
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    params = {"seed": config.get("seed", 0), "package_dir": str(package),
              "package_first_file": files[0].relative_to(package).as_posix() if files else "",
              "study": row, "harmonization": config["harmonization"], "analyses": analyses,
              "applicable": applicable, "level": config.get("pooling", {}).get("level", 95), "keep_going": False}
    with tempfile.TemporaryDirectory(prefix="her2meta-check-") as tmp:
        work = Path(tmp)
        mapping_file = work / "mapping.yaml"
        outputs = SimpleNamespace(
            extracted=work / "extracted.parquet", extracted_qc=work / "extracted.qc.json",
            harmonized=work / "harmonized.parquet", harmonized_qc=work / "harmonized.qc.json",
            tables=[work / "estimates" / name / f"{mapping.study_id}.tsv" for name in analyses])
        for _ in range(MAX_ROUNDS):  # each round: the mapping without the fields set aside so far
            mapping_file.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
            try:
                study_chain.run(inputs=SimpleNamespace(mapping=mapping_file, package=files), outputs=outputs, params=params,
                                wildcards={"study": mapping.study_id}, logger=logger)
            except StudyDataError as exc:
                result.problems.append(exc)
                names = [n for n in (exc.field, partner.get(exc.field)) if n and n in spec["fields"] and n != "patient_id"]
                if not names:
                    break
                for name in names:
                    del spec["fields"][name]
                result.set_aside.append(", ".join(names))
                continue
            except Her2MetaError as exc:
                result.problems.append(StudyDataError(mapping.study_id, str(exc)))
                break
            _collect_outputs(result, outputs, analyses)
            break
    return result


def _collect_outputs(result: CheckResult, outputs, analyses) -> None:
    from .io import read_parquet, read_tsv

    result.extracted_qc = json.loads(Path(outputs.extracted_qc).read_text(encoding="utf-8"))
    result.harmonized_qc = json.loads(Path(outputs.harmonized_qc).read_text(encoding="utf-8"))
    result.harmonized = read_parquet(outputs.harmonized)
    for name, path in zip(analyses, outputs.tables):
        result.estimates[name] = read_tsv(path).to_dict("records")


def render(result: CheckResult) -> str:
    lines = [f"study {result.study_id}: {result.study.get('label', result.study_id)} "
             f"({result.study['setting']}, {result.study['design']})"]
    lines += [f"  assumed: {text}" for text in result.assumed]
    if result.extracted_qc is not None:
        lines += _render_run(result)
    if result.problems:
        lines.append(f"{len(result.problems)} problem{'s' if len(result.problems) > 1 else ''} the run would stop on"
                     + (f" (set aside to find the next: {'; '.join(result.set_aside)})" if result.set_aside else "") + ":")
        for number, problem in enumerate(result.problems, start=1):
            text = str(problem).splitlines()
            lines.append(f"{number:>3}. {text[0]}")
            lines += [f"     {line.strip()}" for line in text[1:]]
    else:
        lines.append("no problem: the study's chain runs as the workflow would run it")
    return "\n".join(lines) + "\n"


def _record_count_lines(record: dict[str, Any] | None) -> list[str]:
    """What the record-count cross-check compared (her2meta.crosscheck), in one or a few lines."""
    if not record:
        return []
    checked = record.get("checked") or []
    if not checked:
        return ["  record counts: not checked (no count in MANIFEST.txt or define.xml)"]
    parts = []
    for row in checked:
        sources = [f"{label} {row[key]}" for key, label in (("manifest_records", "manifest"), ("define_records", "define.xml"))
                   if key in row]
        parts.append(f"{row['file']} {row['rows']} rows ({', '.join(sources)})")
    lines = ["  record counts checked: " + "; ".join(parts)]
    if record.get("ignored_because"):
        lines.append(f"  record counts differ, ignored by the mapping: {record['ignored_because']}")
    return lines


def _render_run(result: CheckResult) -> list[str]:
    qc, hqc, data = result.extracted_qc, result.harmonized_qc, result.harmonized
    rows_in = qc.get("subjects", {}).get("rows_in")
    lines = [f"  subjects: {qc['subjects'].get('rows_out', len(data))} extracted"
             + (f" of {rows_in} rows in the subjects dataset" if rows_in is not None else "")
             + f", {hqc.get('rows_out', len(data))} harmonized"
             + (" (partial: fields set aside after a problem, see below)" if result.problems else "")]
    exclusions = [e for e in hqc.get("exclusions", []) if e.get("count")]
    lines.append("  exclusions by reason:" + ("" if exclusions else " none"))
    lines += [f"    {e['count']:>6}  {e['reason']} ({e.get('field', '')}): {e.get('action', '')}" for e in exclusions]
    unmatched = qc.get("unmatched_rows", {})
    lines.append("  rows with no subject in the subjects dataset: "
                 + (", ".join(f"{name} {n}" for name, n in unmatched.items()) if unmatched else "none (one dataset)"))
    lines.append(f"  {'field':<24} {'source':<34} {'missing':>8}  values")
    for name, info in qc.get("fields", {}).items():
        if name == "patient_id" or name not in data:
            continue
        lines.append(f"  {name:<24} {str(info.get('source')):<34} {info.get('missing', 0):>8}  {_values(data[name])}")
    lines.append("  derived:")
    counts = hqc.get("counts", {})
    for name in DERIVED_COUNTS:
        if name in counts:
            lines.append(f"    {name:<22} " + ", ".join(f"{k} {v}" for k, v in counts[name].items()))
    unknown_her2 = (hqc.get("derivations", {}).get("her2_unknown") or {}).get("by_reason") or {}
    if unknown_her2:
        lines.append(f"    {'her2_status unknown':<22} " + ", ".join(f"{reason} {n}" for reason, n in unknown_her2.items()))
    for name in PCR_FIELDS:
        if name in data and data[name].notna().any():
            lines.append(f"    {name:<22} {_values(data[name])}")
    lines += _record_count_lines(qc.get("record_counts"))
    for warning in hqc.get("warnings", []):
        lines.append(f"  warning: {warning}")
    if result.estimates:
        lines.append("  analyses:")
        not_applicable = [name for name, rows in result.estimates.items()
                          if rows and all(str(r.get("reason", "")).startswith("not applicable") for r in rows)]
        if not_applicable:
            lines.append(f"    not applicable to this study's setting or design: {', '.join(not_applicable)}")
        for name, rows in result.estimates.items():
            if name in not_applicable:
                continue
            for est in rows:
                subgroup = f" [{est['subgroup']}]" if est.get("subgroup") not in (None, "", "all") and str(est.get("subgroup")) != "nan" else ""
                if est.get("estimable") in (True, "True", 1):
                    lines.append(f"    {name}{subgroup}: estimable (n {est.get('n')})")
                else:
                    lines.append(f"    {name}{subgroup}: {est.get('reason')}")
    return lines


def _values(column) -> str:
    if column.dtype.kind in "fiu" and column.notna().any():
        return f"min {column.min():.4g}, max {column.max():.4g}"
    counts = column.astype(str).value_counts()
    return ", ".join(f"{k} ({v})" for k, v in counts.head(6).items()) + (" ..." if len(counts) > 6 else "")
