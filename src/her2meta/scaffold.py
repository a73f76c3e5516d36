"""`her2meta mapping scaffold PACKAGE`: a mapping skeleton written from what the sponsor ships.

The package describes itself: each dataset's structure (one row per subject, CDISC BDS with
PARAMCD, SDTM findings with --TESTCD), its parameter codes with counts, its variables with the
labels of define.xml (or of the SAS file itself) and code lists. From that the skeleton

- takes the subject-level dataset by CDISC structure: ADSL, then DM, then a dataset that
  define.xml calls subject-level, then the dataset with one row per subject identifier and the
  most subjects (never the first file in alphabetical order);
- writes one dataset entry per recognised parameter of a BDS dataset (ADTTE EFS, OS, PFS, IDFS;
  ADRS BOR), with the PARAMCD filter; every other parameter is listed, commented, with counts;
- fills the fields whose CDISC variable says what they are (USUBJID, ARM, AGE, AVAL + CNSR with
  CNSR 0 = event, BOR AVALC), after checking their values against the data (a regimen text the
  drug dictionary cannot read, a response code it does not know, stay commented with the reason);
- fills in biomarker columns found by their name or define.xml label only when their values are
  what the field takes (ER/PR percentages 0-100, IHC scores 0/1+/2+/3+, non-negative ISH
  numbers);
- suggests, commented, the fields a person must confirm (population flags other than ITTFL,
  receptor categories, staging, grade, SDTM DTHFL, findings to pivot).

The result is valid YAML that `her2meta mapping check` runs as it is; a person then chooses the
PARAMCD values and uncomments what applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import Her2MetaError

SUBJECT_KEYS = ("USUBJID", "SUBJID", "PATID", "PATIENT_ID", "PATIENT", "PT_NO", "PATNO", "SUBJECT_ID", "SUBJECT", "ID")
# PARAMCD of a time-to-event BDS dataset -> harmonized field prefix.
TTE_PARAMS = {"EFS": "efs", "OS": "os", "PFS": "pfs", "IDFS": "idfs"}
# PARAMCD of a response BDS dataset giving one best overall response per subject.
BOR_PARAMS = ("BOR", "BESTRESP", "CBOR")
# Visit-level overall response parameters (ADaM ADRS OVR, SDTM RS OVRLRESP): several per subject.
VISIT_RESPONSE_PARAMS = ("OVR", "OVRLRESP")
# Post-neoadjuvant pathological stage parameters (sponsor-defined BDS datasets).
STAGE_PARAMS = {"YPT": "ypt", "YPN": "ypn"}
POPULATION_FLAGS = ("ITTFL", "FASFL", "RANDFL", "SAFFL", "PPROTFL", "EFFFL", "ENRLFL")
# Label keywords -> field, for commented suggestions (sponsor-specific variables).
LABEL_HINTS = (
    (re.compile(r"estrogen|oestrogen|\bER\b", re.I), "er_percent", "parse: percent"),
    (re.compile(r"progesterone|\bPG?R\b", re.I), "pr_percent", "parse: percent"),
    (re.compile(r"HER2.*(stain|membrane)", re.I), "her2_ihc0_staining", "codes: {...}"),
    (re.compile(r"HER2.*(IHC|immuno)", re.I), "her2_ihc", None),
    (re.compile(r"HER2.*(ratio|CEP17)", re.I), "her2_ish_ratio", None),
    (re.compile(r"HER2.*(copy|signals)", re.I), "her2_ish_copy_number", None),
    (re.compile(r"menopaus", re.I), "menopausal_status", "codes: {...}"),
    (re.compile(r"clinical\s+T|\bcT\b|tumou?r stage", re.I), "ct_stage", None),
    (re.compile(r"clinical\s+N|\bcN\b|nod(e|al) stage", re.I), "cn_stage", None),
    (re.compile(r"grade", re.I), "grade", None),
    (re.compile(r"\bki-?67\b", re.I), "ki67_percent", "parse: percent"),
)
UNIT_WORDS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}


@dataclass
class DatasetInfo:
    name: str
    relative: str
    frame: pd.DataFrame
    labels: dict[str, str]
    codelists: dict[str, dict[str, Any]]
    define_label: str | None = None
    define_structure: str | None = None
    key: str | None = None
    param_column: str | None = None
    param_counts: dict[str, int] = field(default_factory=dict)
    sep: str | None = None  # the --sep of a delimited file, written into its entries

    # Computed once, on first use (after read_package has set `key`): choosing the subjects
    # dataset and describing each dataset ask several times.
    @cached_property
    def subjects(self) -> int:
        return int(self.frame[self.key].nunique()) if self.key else 0

    @cached_property
    def one_row_per_subject(self) -> bool:
        return bool(self.key) and not self.frame[self.key].duplicated().any() and self.frame[self.key].notna().all()

    @property
    def is_bds(self) -> bool:
        return self.param_column == "PARAMCD"


def scaffold(package: Path | str, *, study: str | None = None, sep: str | None = None) -> str:
    """The mapping skeleton of a package, as YAML text with comments."""
    package = Path(package)
    study = study or package.name
    datasets, defines, define = read_package(package, study=study, sep=sep)
    subjects, why = choose_subjects(datasets)
    writer = _Writer(study, datasets, subjects, why, defines=defines, package=package)
    writer.missing = _define_datasets_without_file(define, datasets)
    return writer.text()


def _define_datasets_without_file(define, datasets: list[DatasetInfo]) -> list[str]:
    """Datasets define.xml describes whose file is not in the package (an incomplete delivery)."""
    if define is None:
        return []
    present = {Path(d.relative).name.lower() for d in datasets} | {Path(d.relative).stem.upper() for d in datasets}
    return sorted(name for name, ds in define.datasets.items()
                  if name not in present and not (ds.file and Path(ds.file.replace("\\", "/")).name.lower() in present))


# ----------------------------------------------------------------------------------------------
# Reading the package


def read_package(package: Path, *, study: str, sep: str | None = None):
    """(the package's datasets, its define.xml files, the first of them read, or None): each
    file read once."""
    from .define import find_defines
    from .io import READERS, read_table

    if not package.is_dir():
        raise Her2MetaError(f"{package} is not a folder: give the study package folder")
    files = sorted(p for p in package.rglob("*") if p.is_file() and p.suffix.lower() in READERS
                   and p.suffix.lower() != ".txt" and not p.name.startswith("."))
    if not files:
        raise Her2MetaError(f"no readable data files (.xpt, .sas7bdat, .csv, .tsv, .dta, .xlsx) under {package}")
    defines = find_defines(package)
    define = _read_define(defines)
    names: set[str] = set()
    out = []
    for path in files:
        delimited = READERS[path.suffix.lower()] == "delimited"
        try:
            frame = read_table(path, study=study, sep=sep if delimited else None)
        except Her2MetaError as exc:
            if delimited and sep is None:
                raise Her2MetaError(f"{exc}\n  scaffold: if the file uses another separator, give it: --sep ';' "
                                    f"(first line: {_first_line(path)!r})") from exc
            raise
        if delimited and sep is None and len(frame.columns) == 1 and any(c in frame.columns[0] for c in ";\t|"):
            raise Her2MetaError(f"{path.name} reads as one column ({frame.columns[0][:60]!r}): it uses another separator; "
                                "give it: --sep ';' (or '\\t', '|')")
        relative = path.relative_to(package).as_posix()
        name = _unique_name(re.sub(r"[^a-z0-9_]", "_", path.stem.lower()), names)
        labels = _file_labels(path)
        codelists: dict[str, dict[str, Any]] = {}
        info = DatasetInfo(name=name, relative=relative, frame=frame, labels=labels, codelists=codelists,
                           sep=sep if delimited else None)
        entry = define.dataset_for_file(path.name) if define else None
        if entry is not None:
            info.define_label, info.define_structure = entry.label, entry.structure
            for column, item in entry.items.items():
                if item.label:
                    labels[column] = item.label
                if item.codelist is not None and item.codelist.items:
                    codelists[column] = dict(item.codelist.items)
        info.key = _subject_key(frame)
        info.param_column = _param_column(frame)
        if info.param_column:
            counts = frame[info.param_column].astype(str).str.strip().value_counts()
            info.param_counts = {str(k): int(v) for k, v in sorted(counts.items())}
        out.append(info)
    return out, defines, define


def _first_line(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.readline().rstrip("\r\n")[:100]


def _unique_name(name: str, taken: set[str]) -> str:
    name = name if re.match(r"^[a-z]", name) else f"d_{name}"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _read_define(paths: list[Path]):
    from .define import DefineError, read_define

    if not paths:
        return None
    try:
        return read_define(paths[0])
    except DefineError as exc:
        raise Her2MetaError(f"{paths[0]} is not readable as Define-XML: {exc}; move it out of the package folder "
                            "to scaffold without it") from exc


def _file_labels(path: Path) -> dict[str, str]:
    """Variable labels stored in a SAS file itself (define.xml's labels take precedence)."""
    suffix = path.suffix.lower()
    if suffix not in (".xpt", ".sas7bdat"):
        return {}
    import pyreadstat

    reader = pyreadstat.read_xport if suffix == ".xpt" else pyreadstat.read_sas7bdat
    try:
        _, meta = reader(str(path), metadataonly=True)
    except Exception:  # the data read above succeeded; labels are only a help
        return {}
    return {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}


def _subject_key(frame: pd.DataFrame) -> str | None:
    """The subject identifier column: USUBJID first, then the usual sponsor names, compared
    without case, spaces or punctuation ("Patient ID" is PATIENTID)."""
    by_name = {}
    for column in frame.columns:
        by_name.setdefault(re.sub(r"[^A-Z0-9]", "", str(column).upper()), column)
    for key in SUBJECT_KEYS:
        if key.replace("_", "") in by_name:
            return by_name[key.replace("_", "")]
    return None


def _param_column(frame: pd.DataFrame) -> str | None:
    if "PARAMCD" in frame.columns:
        return "PARAMCD"
    tests = [c for c in frame.columns if re.fullmatch(r"[A-Z]{2}TESTCD", c)]
    return tests[0] if tests else None


def choose_subjects(datasets: list[DatasetInfo]) -> tuple[DatasetInfo, str]:
    """The subject-level dataset and why it was chosen."""
    by_stem = {Path(d.relative).stem.upper(): d for d in datasets}
    for name in ("ADSL", "DM"):
        if name in by_stem and by_stem[name].key:
            return by_stem[name], f"{name} is the CDISC subject-level dataset"
    for d in datasets:
        structure = (d.define_structure or "").lower()
        if d.key and "per subject" in structure and "per parameter" not in structure and d.one_row_per_subject:
            return d, f"define.xml gives its structure as {d.define_structure!r}"
    candidates = [d for d in datasets if d.one_row_per_subject and not d.param_column]
    if candidates:
        best = max(candidates, key=lambda d: (d.subjects, len(d.frame.columns)))
        return best, f"one row per {best.key} ({best.subjects} subjects), the most of any such dataset"
    keyed = [d for d in datasets if d.key]
    if not keyed:
        raise Her2MetaError("no dataset has a subject identifier column (" + ", ".join(SUBJECT_KEYS) + "); "
                            "write the mapping by hand (config/README.md)")
    best = max(keyed, key=lambda d: d.subjects)
    return best, (f"no dataset has one row per subject: {best.name} has the most subjects ({best.subjects}); "
                  "add a filter that leaves one row per subject")


# ----------------------------------------------------------------------------------------------
# Writing the skeleton


def _q(value: Any) -> str:
    """A YAML scalar: quoted unless it is a plain word."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_./-]*", text) and text.lower() not in {"y", "n", "yes", "no", "true", "false",
                                                                                   "on", "off", "null", "none"}:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stripped(series: pd.Series) -> pd.Series:
    """Each value as stripped text, "" for None and NaN."""
    return series.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip())


def _values(series: pd.Series, limit: int = 8) -> str:
    counts = _stripped(series).value_counts()
    shown = ", ".join(f"{(k or '(blank)')} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])
    return shown + (f", ... ({len(counts)} distinct)" if len(counts) > limit else "")


class _Writer:
    def __init__(self, study, datasets, subjects, why, *, defines, package):
        self.study, self.datasets, self.subjects, self.why = study, datasets, subjects, why
        self.defines, self.package = defines, package
        self.entries: list[str] = []
        self.fields: list[str] = []
        self.suggestions: list[str] = []
        self.mapped: set[str] = set()
        self.missing: list[str] = []

    def text(self) -> str:
        s = self.subjects
        head = [
            f"# Mapping skeleton written by `her2meta mapping scaffold` from {self.package}.",
            "# Active lines were checked against the data; commented ones need a person's decision.",
            "# Check it: her2meta mapping check THIS_FILE PACKAGE (config/README.md, 'Mapping files').",
            f"# define.xml: {', '.join(p.relative_to(self.package).as_posix() for p in self.defines) or 'none in the package'}",
            *([f"# define.xml describes datasets whose file is not in the package: {', '.join(self.missing)} "
               "(ask the sponsor whether the delivery is complete)"] if self.missing else []),
            "mapping_version: 1",
            f"study_id: {_q(self.study)}",
            "datasets:",
        ]
        self._subjects_entry(s)
        for d in self.datasets:
            if d is not s:
                self._other_entry(d)
        self._subject_fields(s)
        lines = head + self.entries + [f"subjects: {s.name}   # {self.why}", "fields:"] + self.fields
        if self.suggestions:
            lines += ["  # Suggestions to confirm (uncomment what applies):"] + self.suggestions
        lines += ["# setting (neoadjuvant, adjuvant, metastatic) comes from the study sheet; set it here only to override:",
                  "# constants:", "#   setting: neoadjuvant"]
        return "\n".join(lines) + "\n"

    # -- datasets
    @staticmethod
    def _head(d: DatasetInfo, indent: str = "    ") -> list[str]:
        lines = [f"{indent}file: {_q(d.relative)}"] + ([f"{indent}sep: {_q(d.sep)}"] if d.sep else [])
        return lines + [f"{indent}key: {_q(d.key)}"]

    def _describe(self, d: DatasetInfo) -> list[str]:
        lines = [f"    # {len(d.frame)} rows, {d.subjects} subjects" + (f"; define.xml: {d.define_label}" if d.define_label else "")
                 + (f" ({d.define_structure})" if d.define_structure else "")]
        for column in d.frame.columns:
            label = d.labels.get(column)
            codes = d.codelists.get(column)
            extra = f"; codelist {', '.join(f'{k}={v}' if v else k for k, v in list(codes.items())[:8])}" if codes else ""
            lines.append(f"    #   {column}" + (f": {label}" if label else "") + extra)
        if d.param_column:
            lines.append(f"    # {d.param_column} values (rows): " + ", ".join(f"{k} {v}" for k, v in d.param_counts.items()))
        return lines

    def _subjects_entry(self, s: DatasetInfo) -> None:
        self.entries += [f"  {s.name}:"] + self._head(s)
        flags = [c for c in POPULATION_FLAGS if c in s.frame.columns]
        if "ITTFL" in flags:
            values = s.frame["ITTFL"].astype(str).str.strip()
            if (values == "Y").any():
                excluded = int((values != "Y").sum())
                self.entries += ["    filter:", f'      - {{column: ITTFL, equals: "Y", reason: "not in the intention-to-treat '
                                 f'population (ITTFL not Y)"}}   # {excluded} of {len(values)} rows excluded']
        for flag in (f for f in flags if f != "ITTFL"):
            self.entries.append(f'    # population flag {flag} ({_values(s.frame[flag])}): to restrict, add '
                                f'{{column: {flag}, equals: "Y", reason: "..."}} under filter')
        self.entries += self._describe(s)

    def _other_entry(self, d: DatasetInfo) -> None:
        if d.key is None:
            self.entries += [f"  # {d.name}: {d.relative} has no subject identifier column ({', '.join(SUBJECT_KEYS)}): "
                             "declare it with key: COLUMN to use it"]
            return
        if d.is_bds:
            self._bds_entries(d)
        elif d.param_column:
            self._findings_entry(d)
        elif d.one_row_per_subject:
            self.entries += [f"  {d.name}:"] + self._head(d) + self._describe(d)
        else:
            self.entries += [f"  # {d.name}: {d.relative} has several rows per {d.key}: declare it with a filter that "
                             "leaves one row per subject"] + self._describe(d)

    def _bds_entries(self, d: DatasetInfo) -> None:
        codes = d.frame["PARAMCD"].astype(str).str.strip()
        others = [k for k in d.param_counts if self._bds_target(d, k) is None]
        self.entries.append(f"  # {d.name} ({d.relative}) is a BDS dataset: one entry per PARAMCD.")
        if others:
            self.entries.append("  # Other parameters, to map if needed (copy an entry below and change the PARAMCD): "
                                + ", ".join(f"{k} ({d.param_counts[k]} rows)" for k in others))
        self.entries += [line.replace("    #", "  #", 1) for line in self._describe(d)]
        used = []
        for value in d.param_counts:
            target = self._bds_target(d, value)
            if target is None:
                continue
            rows = d.frame[codes == value]
            name = _unique_name(target, {e.name for e in self.datasets} | set(used))
            used.append(name)
            self.entries += [f"  {name}:   # {d.relative}, PARAMCD {value}: {len(rows)} rows, {rows[d.key].nunique()} subjects",
                             *self._head(d), f"    filter: [{{column: PARAMCD, equals: {_q(value)}}}]"]
            self._bds_fields(d, name, value, rows)
        for value in (v for v in VISIT_RESPONSE_PARAMS if v in d.param_counts and "AVALC" in d.frame.columns):
            self._visit_response_suggestion(d, "PARAMCD", value, "AVALC", "ADT")

    def _visit_response_suggestion(self, d: DatasetInfo, test: str, value: str, response: str, date: str) -> None:
        """Visit-level overall responses (ADRS OVR, SDTM RS OVRLRESP): a commented entry reducing
        them to the RECIST 1.1 best overall response (the protocol's SD minimum must be chosen)."""
        start = next((f"{self.subjects.name}.{c}" for c in ("RANDDT", "TRTSDT", "RFSTDTC", "RFXSTDTC")
                      if c in self.subjects.frame.columns), f"{self.subjects.name}.RANDDT")
        have_date = date in d.frame.columns
        self.entries += [f"  # {value} ({d.param_counts[value]} records, visit-level): to derive the RECIST 1.1 best overall "
                         "response yourself (config/README.md, 'Reductions'), set sd_min_days from the protocol:",
                         f"  # {value.lower()}:", *self._head(d, "  #   "),
                         f"  #   filter: [{{column: {test}, equals: {_q(value)}}}]",
                         f"  #   reduce: {{best_response: {{response: {response}, date: {date if have_date else 'DATE_COLUMN'}, "
                         f"start: {start}, confirmation: confirmed, confirm_days: 28, sd_min_days: 42}}}}",
                         f"  # and the field  best_overall_response: {{from: {value.lower()}.BOR}}"]

    @staticmethod
    def _bds_target(d: DatasetInfo, value: str) -> str | None:
        columns = set(d.frame.columns)
        if value in TTE_PARAMS and {"AVAL", "CNSR"} <= columns:
            return value.lower()
        if value in BOR_PARAMS and "AVALC" in columns:
            return "bor"
        if value in STAGE_PARAMS and "AVALC" in columns:
            return value.lower()
        return None

    def _bds_fields(self, d: DatasetInfo, name: str, value: str, rows: pd.DataFrame) -> None:
        target = {**{k: f"{v}_months" for k, v in TTE_PARAMS.items()}, **STAGE_PARAMS,
                  **{k: "best_overall_response" for k in BOR_PARAMS}}[value]
        if target in self.mapped:
            self.fields.append(f"  # {name} could also give {target}, already mapped above: choose one")
            return
        self.mapped.add(target)
        duplicated = int(rows[d.key].duplicated().sum())
        if duplicated:
            self.fields.append(f"  # {name}: PARAMCD {value} has {duplicated} subjects with more than one row; "
                               "add a filter (e.g. on AVISIT or a flag) before mapping it")
            return
        if value in TTE_PARAMS:
            prefix = TTE_PARAMS[value]
            unit, evidence = _time_unit(d, rows)
            self.fields.append(f"  {prefix}_months: {{from: {name}.AVAL, unit: {unit}}}   # {evidence}")
            cnsr = pd.to_numeric(rows["CNSR"], errors="coerce")
            observed = sorted({int(v) for v in cnsr.dropna() if float(v).is_integer()})
            bad = int((cnsr.isna() & rows["CNSR"].notna()).sum() + sum(1 for v in cnsr.dropna() if not float(v).is_integer()
                                                                        or v < 0))
            codes = {0: 1, 1: 0, **{v: 0 for v in observed if v > 0}}
            text = ", ".join(f"{k}: {v}" for k, v in sorted(codes.items()))
            note = f"CDISC: CNSR 0 = event, > 0 = censored; observed {', '.join(map(str, observed)) or 'none'}"
            if bad or any(v < 0 for v in observed):
                self.fields.append(f"  # {prefix}_event: {{from: {name}.CNSR, codes: {{{text}}}}}   # CNSR has values that are "
                                   "not 0 or a positive whole number: map them by hand")
            else:
                self.fields.append(f"  {prefix}_event: {{from: {name}.CNSR, codes: {{{text}}}}}   # {note}")
        elif value in BOR_PARAMS:
            problem = _bor_problem(rows["AVALC"])
            line = f"best_overall_response: {{from: {name}.AVALC}}   # {_values(rows['AVALC'])}"
            self.fields.append(f"  # {line}; {problem}" if problem else f"  {line}")
        elif value in STAGE_PARAMS:
            self.fields.append(f"  {STAGE_PARAMS[value]}: {{from: {name}.AVALC}}   # {_values(rows['AVALC'])}")

    def _findings_entry(self, d: DatasetInfo) -> None:
        test = d.param_column
        result = next((c for c in (test[:2] + "ORRES", test[:2] + "STRESC") if c in d.frame.columns), None)
        self.entries += [f"  # {d.name} ({d.relative}) holds findings, one row per {d.key} and {test}."]
        if result and not d.frame.duplicated([d.key, test]).any():
            self.entries += [f"  # To use it, pivot one column per {test} (then map e.g. {d.name}.{next(iter(d.param_counts), 'CODE')}):",
                             f"  # {d.name}:", *self._head(d, "  #   "),
                             f"  #   pivot: {{names_from: {test}, values_from: {result}}}"]
        else:
            self.entries.append(f"  # It has several rows per {d.key} and {test} (visits): filter one record per subject "
                                "and test first")
        self.entries += self._describe(d)
        for value in (v for v in VISIT_RESPONSE_PARAMS if v in d.param_counts):
            response = next((c for c in (test[:2] + "STRESC", test[:2] + "ORRES") if c in d.frame.columns), None)
            if response:
                self._visit_response_suggestion(d, test, value, response, test[:2] + "DTC")

    # -- fields from the subjects dataset
    def _subject_fields(self, s: DatasetInfo) -> None:
        columns = {c.upper(): c for c in s.frame.columns}
        first = [f"  patient_id: {{from: {_q(s.name + '.' + s.key)}}}"]
        arm = next((columns[c] for c in ("ARM", "TRT01P", "ARMCD", "TRT01A") if c in columns), None)
        regimen = next((columns[c] for c in ("TRT01P", "ARM", "TRT01A") if c in columns), None)
        problem = _regimen_problem(s.frame[regimen]) if regimen else None
        if arm:
            line = f"arm: {{from: {_q(s.name + '.' + arm)}}}   # {_values(s.frame[arm], 5)}"
            # without a regimen field, harmonization reads the regimen from the arm text
            first.append(f"  # {line}; regimen read from it: {problem}" if problem and _regimen_problem(s.frame[arm])
                         else f"  {line}")
        else:
            for column in (c for c in s.frame.columns if re.search(r"arm|trt|treat", c, re.I)):
                self.suggestions.append(f"  # arm: {{from: {_q(s.name + '.' + column)}}}   # {_values(s.frame[column], 5)}")
        if regimen:
            line = f"regimen: {{from: {_q(s.name + '.' + regimen)}}}   # read by the drug dictionary"
            first.append(f"  # {line}; {problem}" if problem else f"  {line}")
        if "AGE" in columns:
            units = s.frame[columns["AGEU"]].astype(str).str.strip().str.upper().unique() if "AGEU" in columns else ["YEARS"]
            age = columns["AGE"]
            numeric = pd.to_numeric(s.frame[age], errors="coerce")
            if set(units) <= {"YEARS", "", "NAN"} and numeric.notna().sum() == s.frame[age].notna().sum():
                first.append(f"  age_years: {{from: {_q(s.name + '.' + age)}}}   # min {numeric.min():g}, max {numeric.max():g}")
            elif set(units) <= {"YEARS", "", "NAN"}:
                self.suggestions.append(f"  # age_years: {{from: {_q(s.name + '.' + age)}}}   # not every value is a number "
                                        f"({_values(s.frame[age], 3)}): a decimal comma needs decimal: ',' on the dataset")
            else:
                self.suggestions.append(f"  # age_years: {{from: {_q(s.name + '.' + age)}}}   # AGEU {', '.join(map(str, units))}: "
                                        "not years: convert in the source or leave it out")
        self.fields[:0] = first
        if "DTHFL" in columns:
            self.suggestions.append(f"  # os_event: {{from: {s.name}.DTHFL, codes: {{Y: 1, \"\": 0}}}}   # DTHFL is Y or blank "
                                    f"({_values(s.frame[columns['DTHFL']])}); needs os_months too (e.g. dates: DTHDTC "
                                    "or last contact)")
        mapped = {s.key, arm, regimen, columns.get("AGE"), columns.get("AGEU"), columns.get("DTHFL")}
        for column in s.frame.columns:
            if column in mapped or column.upper() in POPULATION_FLAGS:
                continue
            text = f"{column} {s.labels.get(column, '')}"
            for pattern, fname, option in LABEL_HINTS:
                if pattern.search(text):
                    self._biomarker(s, column, fname, option)
                    break

    def _biomarker(self, s: DatasetInfo, column: str, fname: str, option: str | None) -> None:
        """A column found by its name or label: filled in when its values are what the field
        takes (percentages 0-100, IHC scores, non-negative ISH numbers), else suggested."""
        values = s.frame[column]
        text = _stripped(values)
        present = text[text != ""]
        numbers = pd.to_numeric(present.str.rstrip("%").str.strip(), errors="coerce")
        label = s.labels.get(column)
        evidence = (f"label {label!r}; " if label else f"column {column}; ") + _values(values, 5)
        active = None
        if fname in self.mapped or present.empty:
            active = None
        elif fname.endswith("_percent"):
            if numbers.notna().all() and numbers.between(0, 100).all():
                active = f"{{from: {_q(s.name + '.' + column)}" + (", parse: percent}" if present.str.contains("%").any() else "}")
            elif numbers.isna().any():
                fname, option = fname.replace("_percent", "_status"), "codes: {...: positive, ...: negative}"
        elif fname == "her2_ihc":
            if present.isin(["0", "1+", "2+", "3+", "0.0", "1", "2", "3"]).all() and present.isin(["1+", "2+", "3+", "0"]).any():
                active = f"{{from: {_q(s.name + '.' + column)}}}"
        elif fname in ("her2_ish_ratio", "her2_ish_copy_number"):
            if numbers.notna().all() and (numbers >= 0).all():
                active = f"{{from: {_q(s.name + '.' + column)}}}"
        if active:
            self.mapped.add(fname)
            self.fields.append(f"  {fname}: {active}   # found by its {'label' if label else 'name'}, values checked: {evidence}")
        else:
            extra = f", {option}" if option else ""
            self.suggestions.append(f"  # {fname}: {{from: {_q(s.name + '.' + column)}{extra}}}   # {evidence}")


def _time_unit(d: DatasetInfo, rows: pd.DataFrame) -> tuple[str, str]:
    """The unit of AVAL for one parameter, and the evidence for it."""
    for column in ("AVALU", "PARAM"):
        if column in rows.columns:
            texts = rows[column].dropna().astype(str).str.strip().str.lower().unique()
            found = {unit for text in texts for word, unit in UNIT_WORDS.items() if re.search(rf"\b{word}s?\b", text)}
            if len(found) == 1:
                unit = found.pop()
                return unit, f"unit from {column} ({texts[0]!r})"
            if len(found) > 1:
                return "days", f"CHECK: {column} names several units ({', '.join(sorted(found))})"
    label = d.labels.get("AVAL", "")
    found = {unit for word, unit in UNIT_WORDS.items() if re.search(rf"\b{word}s?\b", label.lower())}
    if len(found) == 1:
        return found.pop(), f"unit from the label of AVAL ({label!r})"
    return "days", "CHECK the unit: neither AVALU, PARAM nor the label of AVAL names one; ADaM ADTTE usually counts days"


def _regimen_problem(series: pd.Series) -> str | None:
    from .dictionary import drugs

    values = series.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return "the column is empty"
    try:
        parsed = drugs.parse_regimens(pd.Series(sorted(values.unique())))
    except Exception as exc:  # DerivationError: a name the drug dictionary does not know
        first = str(exc).splitlines()[0].split(". ")[0]
        return f"the drug dictionary cannot read every value ({first}): add `abbreviations:` (config/README.md), then uncomment"
    if parsed["regimen"].isna().any():
        return "the drug dictionary reads no drug in some values: add `abbreviations:` (config/README.md), then uncomment"
    return None


def _bor_problem(series: pd.Series) -> str | None:
    from .dictionary import response

    try:
        response.normalize_bor(series.replace("", None))
    except Exception as exc:  # DerivationError: a response label outside RECIST's
        return f"not every value is a RECIST response ({str(exc).splitlines()[0]}): add codes:"
    return None
