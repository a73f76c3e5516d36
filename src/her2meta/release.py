"""Safe Outputs: what may leave the secure research environment, checked before it does.

Outputs live in two zones (docs/audit.md):

* secure zone: results/extracted, results/harmonized (participant-level data),
  results/estimates (per-study counts before small-cell suppression) and logs/;
* simulation zone: results/simulation (the method-validation study on simulated data, no
  participant data; `snakemake simulation_check`): neither scanned nor listed, not released;
* release zone: everything else under results/ (pooled tables, figures, report, provenance
  records, pipeline_info/), which is what a user exports.

`check_release` scans every release-zone file and finds

* patient identifiers: any `patient_id` of the harmonized data, matched as a whole token
  (also inside figures embedded in the report, SVG text and PNG text chunks);
* row-level tables: a participant-level file format (parquet, SAS, Stata, ...), a table or JSON
  record with an identifier column, a table with two or more per-patient measurement columns
  of the harmonized data model and at least 20 rows, or any table of more than 500 rows (10 per
  study when there are more than 50 studies);
* small cells: a count of people below the minimum (default 5) in a count column of a table or
  JSON record (n, events, n_*, events_*, *_n, excluded_*, ...), in the complement of an
  events/N pair (N - events), or in an "events/N" fraction of the report or a figure.

Identifiers and row-level tables always fail the check. Small cells fail it only in strict
mode; otherwise they are listed in the release manifest as "to be suppressed". The manifest
lists every release-zone file with its SHA-256 (release_manifest.json, and
release_manifest.sha256 in `sha256sum -c` format for a reviewer to verify and sign).

`suppress_small_counts` is the function the stages that write release-zone tables call to
suppress such cells (and their complements and totals) and list what they suppressed.

Standard library only, except pyarrow to read the identifiers from the harmonized data.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import itertools
import json
import re
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .provenance import SECURE_DIRS

DEFAULT_MIN_CELL_COUNT = 5
#: Column / key names that identify a participant.
ID_COLUMNS = {"patient_id", "usubjid", "subjid", "subject_id", "subject", "patid", "pat_id", "ptid", "pt_id", "pt_no",
              "participant_id", "participant", "record_id", "patient"}
#: File formats that hold participant-level data and never belong to the release zone.
DATA_FORMATS = {".parquet", ".feather", ".arrow", ".xpt", ".sas7bdat", ".dta", ".sav", ".rds", ".rdata", ".rda",
                ".sqlite", ".db", ".pkl", ".pickle", ".npy", ".npz", ".h5", ".hdf5", ".xlsx", ".xls"}
#: A table with more rows than this is not an aggregate output of this workflow: 500, or 10 per
#: study in larger meta-analyses (tables of one or a few rows per study: forest plots, integrity
#: checks, the run manifest's input files). Patient-level tables have hundreds of rows per study.
MAX_AGGREGATE_ROWS = 500
MAX_AGGREGATE_ROWS_PER_STUDY = 10


def max_aggregate_rows(studies: int) -> int:
    return max(MAX_AGGREGATE_ROWS, MAX_AGGREGATE_ROWS_PER_STUDY * int(studies))
#: Rows from which a table with per-patient measurement columns counts as row-level.
MIN_ROWS_ROW_LEVEL = 20
#: Count columns/keys: counts of people.
COUNT_NAME = re.compile(r"^(n|events|count|responders|cases|rows_in|rows_out|n_\w+|events_\w+|\w+_n|\w+_count|\w+_events|"
                        r"excluded_\w+|\w+_excluded)$", re.IGNORECASE)
NOT_COUNT = re.compile(r"^(published_\w+)$|stud(y|ies)|files?$|models?$|methods?$|_df$|^k$", re.IGNORECASE)
#: "events/N" in text: a count of people and its denominator.
FRACTION = re.compile(r"(?<![\w./])(\d+)\s*/\s*(\d+)(?![\w/]|\.\d)")
DATA_URI = re.compile(r"data:([\w.+/-]+);base64,([A-Za-z0-9+/=\s]+)")
SVG_TEXT = re.compile(r"<!--(.*?)-->|<text\b[^>]*>(.*?)</text>", re.DOTALL)
ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_MAX_ALTERNATIVES = 32
#: Files written by or after the release check: not listed in the manifest (they would change after it).
MANIFEST_JSON = "pipeline_info/release_manifest.json"
MANIFEST_SHA256 = "pipeline_info/release_manifest.sha256"
NOT_IN_MANIFEST = (MANIFEST_JSON, MANIFEST_SHA256, "ro-crate-metadata.json", "pipeline_info/workflow/",
                   "provenance/pipeline_info/release_manifest.", "provenance/ro-crate-metadata.json.json",
                   "provenance/pipeline_info/workflow/")
#: The simulation check's outputs: simulated replicates (row-level by design), no participant data.
SIMULATION_ZONE = ("simulation/", "provenance/simulation/")


@dataclass
class Finding:
    kind: str        # patient_identifier | row_level_table | small_cell | note
    file: str        # relative to the results folder
    where: str       # line, column, key, embedded figure ...
    detail: str
    value: Any = None

    def to_dict(self, *, with_value: bool = True) -> dict[str, Any]:
        out = {"kind": self.kind, "file": self.file, "where": self.where, "detail": self.detail}
        if with_value and self.value is not None:
            out["value"] = self.value
        return out

    def line(self) -> str:
        return f"{self.file} ({self.where}): {self.detail}"


@dataclass
class ReleaseCheck:
    results_dir: str
    min_cell_count: int
    strict: bool
    files: list[dict[str, Any]] = field(default_factory=list)
    identifiers: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def failures(self) -> list[Finding]:
        kinds = {"patient_identifier", "row_level_table"} | ({"small_cell"} if self.strict else set())
        return [f for f in self.findings if f.kind in kinds]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def status(self) -> str:
        if not self.passed:
            return "failed"
        if self.of_kind("small_cell"):
            return "passed, with small cells to be suppressed"
        return "passed"

    def summary(self) -> str:
        ids, rows, small = (self.of_kind(k) for k in ("patient_identifier", "row_level_table", "small_cell"))
        lines = [f"release check of {self.results_dir}: {self.status}",
                 f"  {len(self.files)} release-zone files scanned; secure zone (not for export): "
                 f"{', '.join(f'results/{d}/' for d in SECURE_DIRS)}, logs/; not scanned, not for release: "
                 "results/simulation/ (simulated data)",
                 f"  patient identifiers: {len(ids)} found ({self.identifiers.get('searched', 0)} identifiers searched, "
                 f"{self.identifiers.get('not_searched', 0)} too short to search: {self.identifiers.get('not_searched_reason', '')})",
                 f"  row-level tables: {len(rows)} found",
                 f"  cells below {self.min_cell_count}: {len(small)} "
                 + ("(strict: these fail the check)" if self.strict else "(listed as 'to be suppressed'; strict mode fails on them)")]
        for finding in ids + rows:
            lines.append(f"  FAIL {finding.kind}: {finding.line()}")
        for finding in small:
            lines.append(f"  {'FAIL' if self.strict else 'to be suppressed'}: {finding.line()}")
        for finding in self.of_kind("note"):
            lines.append(f"  note: {finding.line()}")
        return "\n".join(lines)

    def manifest(self) -> dict[str, Any]:
        small = self.of_kind("small_cell")
        return {
            "schema": "her2meta.release_manifest/1",
            "results_dir": self.results_dir,
            "status": self.status,
            "zones": {
                "secure": [f"results/{d}/" for d in SECURE_DIRS] + ["logs/"],
                "simulation": ["results/simulation/", "results/provenance/simulation/"],
                "release": "every other file under results/; the files listed here",
            },
            "checks": {
                "patient_identifiers": {"found": [f.to_dict(with_value=False) for f in self.of_kind("patient_identifier")],
                                        **self.identifiers},
                "row_level_tables": {"found": [f.to_dict() for f in self.of_kind("row_level_table")]},
                "small_cells": {
                    "min_cell_count": self.min_cell_count,
                    "strict": self.strict,
                    "status": ("fail" if self.strict else "to be suppressed") if small else "none",
                    "found": [f.to_dict() for f in small],
                },
                "notes": [f.to_dict() for f in self.of_kind("note")],
            },
            "files": self.files,
            "how_to_verify": f"cd {self.results_dir} && sha256sum -c {MANIFEST_SHA256}",
        }


# -- identifiers ----------------------------------------------------------------------------------

def load_identifiers(paths: Iterable[Path | str], column: str = "patient_id", *, skipped: list[str] | None = None) -> set[str]:
    """Every value of the identifier column in the harmonized data (parquet files).

    With `skipped` (a list), a file that is not a parquet table with that column (e.g. the marker
    a failed study leaves under --keep-going) is named there instead of raising."""
    import pyarrow.parquet as pq  # only the release check needs it

    ids: set[str] = set()
    for path in paths:
        try:
            table = pq.read_table(path, columns=[column])
        except Exception as exc:  # pyarrow raises several types for "not this table"
            if skipped is None:
                raise
            skipped.append(f"{path}: {type(exc).__name__}")
            continue
        ids.update(str(v) for v in table.column(0).to_pylist() if v is not None and str(v).strip())
    return ids


def _searchable(identifier: str) -> bool:
    """Numbers shorter than 6 digits (1, 2, 3, ...) would match any count or year: not searched."""
    return len(identifier) >= 6 if identifier.isdigit() else len(identifier) >= 4


class IdentifierIndex:
    """Finds whole-token occurrences of any of many identifiers in text, in linear time.

    An identifier matches where it starts at the start of a letters-and-digits run and ends at
    the end of one (so SIM-0012 does not match inside SIM-00123); matching ignores case. A purely
    numeric identifier does not match inside a decimal number (0.123456)."""

    def __init__(self, identifiers: Iterable[str]):
        core = {}
        self.not_searched = 0
        for identifier in identifiers:
            stripped = identifier.strip()
            token = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", stripped)
            if not token or not _searchable(token):
                self.not_searched += 1
                continue
            core[token.lower()] = identifier
        self.ids = core
        self.first_runs = {ALNUM_RUN.match(k).group(0) for k in core}
        self.max_runs = max((len(ALNUM_RUN.findall(k)) for k in core), default=0)

    def __len__(self) -> int:
        return len(self.ids)

    def find(self, text: str) -> list[tuple[str, int]]:
        """(identifier, offset) for each occurrence."""
        if not self.ids:
            return []
        lowered = text.lower()
        # Most text holds none or a few of the identifiers' first runs (study names, site
        # numbers): find which, in C, and visit only the places where one stands.
        present = self.first_runs.intersection(ALNUM_RUN.findall(lowered))
        if not present:
            return []
        if len(present) > _MAX_ALTERNATIVES:  # an alternation this long is slower than the plain walk
            return self._find_walking_every_run(lowered)
        first_run = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, sorted(present))) + r")(?![A-Za-z0-9])")
        hits = []
        for match in first_run.finditer(lowered):
            start = match.start()
            stops = [match.end()] + [m.end() for m in itertools.islice(ALNUM_RUN.finditer(lowered, match.end()),
                                                                           self.max_runs - 1)]
            for stop in stops:
                candidate = lowered[start:stop]
                if candidate in self.ids and not _inside_number(lowered, start, stop, candidate):
                    hits.append((self.ids[candidate], start))
        return hits

    def _find_walking_every_run(self, lowered: str) -> list[tuple[str, int]]:
        """The same as `find`, by visiting every letters-and-digits run (the reference for it)."""
        runs = [(m.start(), m.end()) for m in ALNUM_RUN.finditer(lowered)]
        hits = []
        for index, (start, end) in enumerate(runs):
            if lowered[start:end] not in self.first_runs:
                continue
            for count in range(1, self.max_runs + 1):
                if index + count - 1 >= len(runs):
                    break
                stop = runs[index + count - 1][1]
                candidate = lowered[start:stop]
                if candidate in self.ids and not _inside_number(lowered, start, stop, candidate):
                    hits.append((self.ids[candidate], start))
        return hits


def _inside_number(text: str, start: int, stop: int, candidate: str) -> bool:
    if not candidate.isdigit():
        return False
    before = text[start - 1] if start > 0 else ""
    after = text[stop:stop + 2]
    # a tuple, not ".,": the empty string (an identifier at the start of the text) is in every string
    return before in (".", ",") or (len(after) == 2 and after[0] in ".," and after[1].isdigit())


# -- text of a file -----------------------------------------------------------------------------

def png_text(data: bytes) -> str:
    """The text chunks (tEXt, zTXt, iTXt) of a PNG: the only text a PNG carries besides its pixels."""
    out, pos = [], 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        try:
            if kind == b"tEXt":
                key, _, value = chunk.partition(b"\0")
                out.append(f"{key.decode('latin-1')}: {value.decode('latin-1')}")
            elif kind == b"zTXt":
                key, _, rest = chunk.partition(b"\0")
                out.append(f"{key.decode('latin-1')}: {zlib.decompress(rest[1:]).decode('latin-1')}")
            elif kind == b"iTXt":
                key, _, rest = chunk.partition(b"\0")
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\0")
                _translated, _, value = rest.partition(b"\0")
                out.append(f"{key.decode('latin-1')}: {(zlib.decompress(value) if compressed else value).decode('utf-8', 'replace')}")
        except (zlib.error, IndexError):
            out.append(f"(unreadable {kind.decode('latin-1', 'replace')} chunk)")
        if kind == b"IEND":
            break
    return "\n".join(out)


def svg_strings(svg: str) -> str:
    """The text an SVG shows: <text> elements, and the comments matplotlib writes before each text
    drawn as paths. One string per line, in drawing order."""
    parts = []
    for comment, text in SVG_TEXT.findall(svg):
        value = (comment or re.sub(r"<[^>]+>", "", text)).strip()
        if value:
            parts.append(value)
    return "\n".join(parts)


def file_texts(path: Path) -> list[tuple[str, str, str]]:
    """(where, kind, text) pieces of a file to scan: kind is html, svg, json, table or text.

    HTML: the page without its data URIs, and each embedded figure decoded."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".png":
        return [("PNG text chunks", "text", png_text(data))]
    text = data.decode("utf-8", errors="replace")
    if suffix in (".html", ".htm"):
        pieces = [("page", "html", DATA_URI.sub("data:removed", text))]
        for number, match in enumerate(DATA_URI.finditer(text), start=1):
            try:
                decoded = base64.b64decode(re.sub(r"\s+", "", match.group(2))).decode("utf-8", errors="replace")
            except ValueError:
                continue
            kind = "svg" if "svg" in match.group(1) else "text"
            pieces.append((f"embedded figure {number}", kind, decoded))
        return pieces
    if suffix == ".svg":
        return [("figure", "svg", text)]
    if suffix == ".json":
        return [("", "json", text)]
    if suffix in (".tsv", ".csv"):
        return [("", "table", text)]
    return [("", "text", text)]


# -- row-level tables ----------------------------------------------------------------------------

def _numeric_fields() -> set[str]:
    from .schemas import field_kind, harmonized_fields

    return {name for name, prop in harmonized_fields().items() if field_kind(prop) in ("number", "integer")}


class _Tables(HTMLParser):
    """Tables of an HTML page as lists of rows of (is_header, text) cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[tuple[bool, str]]]] = []
        self._stack: list[list[list[tuple[bool, str]]]] = []
        self._cell: list[str] | None = None
        self._header = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack:
            self._cell, self._header = [], tag == "th"

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._stack and self._stack[-1]:
            self._stack[-1][-1].append((self._header, " ".join("".join(self._cell).split())))
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _table_findings(file: str, where: str, header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[str],
                    max_rows: int = MAX_AGGREGATE_ROWS) -> list[Finding]:
    names = [_norm(h) for h in header]
    found = []
    ids = [h for h, n in zip(header, names) if n in ID_COLUMNS]
    if ids:
        found.append(Finding("row_level_table", file, where, f"identifier column {ids[0]!r}: one row per participant"))
    measured = [h for h, n in zip(header, names) if n in numeric]
    if len(measured) >= 2 and len(rows) >= MIN_ROWS_ROW_LEVEL:
        found.append(Finding("row_level_table", file, where,
                             f"{len(rows)} rows with per-patient measurement columns {', '.join(measured[:4])}"))
    if len(rows) > max_rows:
        found.append(Finding("row_level_table", file, where, f"{len(rows)} rows: more than any aggregate table ({max_rows})"))
    return found


def _json_row_level(file: str, document: Any, numeric: set[str], max_rows: int = MAX_AGGREGATE_ROWS) -> list[Finding]:
    found: list[Finding] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            ids = [k for k in node if _norm(str(k)) in ID_COLUMNS]
            if ids:
                found.append(Finding("row_level_table", file, where or "top level", f"a record with identifier key {ids[0]!r}"))
            for key, value in node.items():
                walk(value, f"{where}.{key}" if where else str(key))
        elif isinstance(node, list):
            records = [item for item in node if isinstance(item, dict)]
            measured = [r for r in records if len(numeric.intersection(r)) >= 2]
            if len(measured) >= MIN_ROWS_ROW_LEVEL:
                found.append(Finding("row_level_table", file, where, f"{len(measured)} records with per-patient measurement keys"))
            elif len(node) > max_rows and records:
                found.append(Finding("row_level_table", file, where, f"{len(node)} records: more than any aggregate table ({max_rows})"))
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]")

    walk(document, "")
    return found


# -- small cells ---------------------------------------------------------------------------------

def is_count_name(name: str) -> bool:
    name = str(name)
    return bool(COUNT_NAME.match(name)) and not NOT_COUNT.search(name)


def _as_count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return int(value)
    return None


def _pairs(names: Iterable[str]) -> list[tuple[str, str]]:
    """(events column, n column) pairs among column names: events/n, events_x/n_x, x_events/x_n."""
    names = set(names)
    pairs = []
    for name in names:
        lower = name.lower()
        if lower == "events" and "n" in names:
            pairs.append((name, "n"))
        elif lower.startswith("events_") and f"n_{name[7:]}" in names:
            pairs.append((name, f"n_{name[7:]}"))
        elif lower.endswith("_events") and f"{name[:-7]}_n" in names:
            pairs.append((name, f"{name[:-7]}_n"))
    return sorted(pairs)


def small_cells_in_record(record: Mapping[str, Any], min_count: int, *, include_zero: bool = False) -> list[tuple[str, int, str]]:
    """(column, value, rule) for every small cell of one row/record: count columns, and the
    complement N - events of each events/N pair."""
    out = []
    lowest = 0 if include_zero else 1
    for name, value in record.items():
        count = _as_count(value) if is_count_name(name) else None
        if count is not None and lowest <= count < min_count:
            out.append((str(name), count, f"{name} = {count} < {min_count}"))
    for events, n in _pairs(k for k in record if isinstance(k, str)):
        e, total = _as_count(record[events]), _as_count(record[n])
        if e is not None and total is not None and total >= e and lowest <= total - e < min_count:
            out.append((f"{n} - {events}", total - e, f"{n} - {events} = {total - e} < {min_count}"))
    return out


def _label_of(record: Mapping[str, Any]) -> str:
    for key in ("study_id", "label", "subgroup", "method"):
        if record.get(key) not in (None, ""):
            return f"{key}={record[key]}"
    return ""


def _context(text: str, offset: int) -> str:
    """The nearest text with letters before an offset (a row label, usually), shortened."""
    for line in reversed(text[:offset].splitlines()[-12:]):
        line = line.strip()
        if re.search(r"[A-Za-z]{3}", line):
            return line[:60]
    return ""


def _fraction_findings(file: str, where: str, text: str, min_count: int, *, include_zero: bool = False) -> list[Finding]:
    found, lowest = [], 0 if include_zero else 1
    for match in FRACTION.finditer(text):
        events, total = int(match.group(1)), int(match.group(2))
        if events > total or text[max(0, match.start() - 4):match.start()].endswith(("<", "&lt;")):
            continue  # "<5/8": the count is already suppressed
        label = _context(text, match.start())
        context = f"{where}{', after ' + repr(label) if label else ''}".lstrip(", ")
        shown = " ".join(match.group(0).split())
        if lowest <= events < min_count:
            found.append(Finding("small_cell", file, context, f"'{shown}': {events} < {min_count}", events))
        elif lowest <= total - events < min_count:
            found.append(Finding("small_cell", file, context, f"'{shown}': N - events = {total - events} < {min_count}",
                                 total - events))
    return found


HTML_COUNT_HEADER = re.compile(r"^(n|count|events|responders|hr[+-]|hr unknown|rows delivered|patients.*|excluded.*|.*\(n\))$",
                               re.IGNORECASE)


def _html_findings(file: str, where: str, html: str, min_count: int, numeric: set[str],
                   max_rows: int = MAX_AGGREGATE_ROWS) -> list[Finding]:
    parser = _Tables()
    parser.feed(html)
    found = []
    for number, table in enumerate(parser.tables, start=1):
        if not table:
            continue
        header_row = next((row for row in table if row and all(is_header for is_header, _ in row)), None)
        header = [text for _, text in header_row] if header_row else []
        body = [row for row in table if row is not header_row]
        found += _table_findings(file, f"{where}, table {number}".lstrip(", "), header, body, numeric, max_rows)
        for row_number, row in enumerate(body, start=1):
            for column, (_, text) in enumerate(row):
                name = header[column] if column < len(header) else ""
                if not HTML_COUNT_HEADER.match(name) or "/" in text:
                    continue
                counts = [int(t) for t in re.findall(r"(?<![\w.])\d+(?![\w.%])", text)]
                for count in counts:
                    if 1 <= count < min_count:
                        row_label = row[0][1] if row else ""
                        found.append(Finding("small_cell", file, f"{where}, table {number}, row {row_number} ({row_label}), "
                                             f"column {name!r}".lstrip(", "), f"{count} < {min_count}", count))
    text = re.sub(r"<[^>]+>", "\n", html)
    found += _fraction_findings(file, where, text, min_count)
    return found


def _json_small_cells(file: str, document: Any, min_count: int) -> list[Finding]:
    found = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            label = _label_of(node)
            for column, value, rule in small_cells_in_record(node, min_count):
                found.append(Finding("small_cell", file, f"{where or 'top level'}{' (' + label + ')' if label else ''}", rule, value))
            for key, value in node.items():
                walk(value, f"{where}.{key}" if where else str(key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]")

    walk(document, "")
    return found


def _read_table(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return (rows[0], rows[1:]) if rows else ([], [])


# -- the check ----------------------------------------------------------------------------------

def release_files(results_dir: Path | str) -> list[Path]:
    """Every release-zone file: under results/ but not in a secure folder, not a temporary file,
    not one written by or after the release check."""
    results = Path(results_dir)
    files = []
    for path in sorted(results.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        relative = path.relative_to(results).as_posix()
        if relative.split("/")[0] in SECURE_DIRS or any(relative == p or relative.startswith(p) for p in NOT_IN_MANIFEST):
            continue
        if relative.startswith(SIMULATION_ZONE):
            continue
        files.append(path)
    return files


def scan_file(path: Path, relative: str, index: IdentifierIndex, min_count: int, numeric: set[str],
              max_rows: int = MAX_AGGREGATE_ROWS) -> list[Finding]:
    """Everything the release check finds in one file."""
    findings: list[Finding] = []
    suffix = path.suffix.lower()
    if suffix in DATA_FORMATS:
        findings.append(Finding("row_level_table", relative, "file", f"{suffix} is a participant-level data format"))
    for where, kind, text in file_texts(path):
        for identifier, offset in index.find(text):
            line = text.count("\n", 0, offset) + 1
            findings.append(Finding("patient_identifier", relative, f"{where}, line {line}".lstrip(", "),
                                    f"patient identifier {identifier!r} of the harmonized data", identifier))
        if kind == "json":
            try:
                document = json.loads(text)
            except ValueError:
                continue
            findings += _json_row_level(relative, document, numeric, max_rows)
            if not relative.startswith(("provenance/", "pipeline_info/")):
                findings += _json_small_cells(relative, document, min_count)
        elif kind == "table":
            header, rows = _read_table(text, "\t" if suffix == ".tsv" else ",")
            findings += _table_findings(relative, "table", header, rows, numeric, max_rows)
            for number, row in enumerate(rows, start=1):
                record = dict(zip(header, row))
                label = _label_of(record)
                for column, value, rule in small_cells_in_record(record, min_count):
                    findings.append(Finding("small_cell", relative, f"row {number}{' (' + label + ')' if label else ''}", rule, value))
        elif kind == "html":
            findings += _html_findings(relative, where, text, min_count, numeric, max_rows)
        elif kind == "svg":
            findings += _fraction_findings(relative, where, svg_strings(text), min_count)
    if suffix == ".png" and not path.with_suffix(".svg").is_file():
        findings.append(Finding("note", relative, "file", "PNG pixels are not scanned and there is no SVG twin to scan"))
    return findings


def check_release(results_dir: Path | str, *, identifiers: Iterable[str], min_cell_count: int = DEFAULT_MIN_CELL_COUNT,
                  strict: bool = False, identifier_sources: Sequence[Mapping[str, Any]] = (), studies: int = 0) -> ReleaseCheck:
    """Scan every release-zone file under results_dir. Nothing is written. `studies` (the number
    of studies in the run) raises the row count above which a table is row-level
    (max_aggregate_rows)."""
    results = Path(results_dir)
    identifiers = list(identifiers)
    index = IdentifierIndex(identifiers)
    numeric = _numeric_fields()
    check = ReleaseCheck(results_dir=str(results), min_cell_count=int(min_cell_count), strict=bool(strict))
    check.identifiers = {
        "source": "patient_id of the harmonized data",
        "sources": list(identifier_sources),
        "identifiers": len(set(identifiers)),
        "searched": len(index),
        "not_searched": index.not_searched,
        "not_searched_reason": "numeric identifiers of fewer than 6 digits and identifiers of fewer than 4 characters "
                               "would match ordinary numbers and words; row-level tables are caught by the row-level check",
    }
    for path in release_files(results):
        relative = path.relative_to(results).as_posix()
        data = path.read_bytes()
        check.files.append({"path": relative, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
        check.findings += scan_file(path, relative, index, check.min_cell_count, numeric, max_aggregate_rows(studies))
    return check


def write_manifest(check: ReleaseCheck, json_path: Path | str, sha256_path: Path | str) -> None:
    from .io import atomic_write_text, write_json

    write_json(json_path, check.manifest())
    atomic_write_text(sha256_path, "".join(f"{f['sha256']}  {f['path']}\n" for f in check.files))


# -- suppression ---------------------------------------------------------------------------------

def suppress_small_counts(
    rows: Sequence[Mapping[str, Any]],
    count_columns: Sequence[str],
    min_count: int = DEFAULT_MIN_CELL_COUNT,
    *,
    pairs: Sequence[tuple[str, str]] = (),
    totals: Mapping[str, Sequence[str]] | None = None,
    label_column: str = "study_id",
    placeholder: Any = None,
    include_zero: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Suppress counts of people below `min_count` in release-zone rows; list what was suppressed.

    rows: dicts (e.g. per-study rows of a pooled document). count_columns: the columns that
    count people; a value from 1 to min_count - 1 (0 too with include_zero) is replaced by
    `placeholder`. pairs: (events column, n column): the complement n - events is a cell too, so
    when it is small the events count is suppressed (and when n itself is small, both).
    totals: {total column: [part columns]}: when a part is suppressed, the total is too, so the
    part cannot be recovered by subtraction.

    Returns (new rows, suppressed), where each suppressed entry is {"row", "label", "column",
    "reason"}; the values themselves are not listed, so the list can be released with the rows.
    """
    lowest = 0 if include_zero else 1
    totals = dict(totals or {})
    out_rows, suppressed = [], []
    for index, row in enumerate(rows):
        new = dict(row)
        hidden: dict[str, str] = {}
        for column in count_columns:
            count = _as_count(row.get(column))
            if count is not None and lowest <= count < min_count:
                hidden[column] = f"below {min_count}"
        for events, n in pairs:
            e, total = _as_count(row.get(events)), _as_count(row.get(n))
            if e is None or total is None:
                continue
            if lowest <= total - e < min_count and events not in hidden:
                hidden[events] = f"{n} - {events} below {min_count}"
            if n in hidden and events not in hidden:
                hidden[events] = f"its denominator {n} is suppressed"
        changed = True
        while changed:
            changed = False
            for total, parts in totals.items():
                if total in hidden or total not in row:
                    continue
                if any(p in hidden for p in parts):
                    hidden[total] = f"a part ({', '.join(p for p in parts if p in hidden)}) is suppressed"
                    changed = True
        for column, reason in hidden.items():
            new[column] = placeholder
            suppressed.append({"row": index, "label": row.get(label_column), "column": column, "reason": reason})
        out_rows.append(new)
    return out_rows, suppressed
