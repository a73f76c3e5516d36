"""Read sponsor study files into pandas DataFrames, and write outputs atomically.

Sponsors deliver SAS transport (.xpt), SAS binary (.sas7bdat), Stata (.dta), CSV/TSV and Excel.
Every reader returns string column names exactly as the source spells them and never
coerces values beyond what the format itself stores; parsing of text values belongs to the
mapping step, where it is declared.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import StudyDataError
from .hashing import sha256_file  # noqa: F401  (re-exported: callers use io.sha256_file)

READERS = {
    ".xpt": "sas_transport",
    ".sas7bdat": "sas7bdat",
    ".dta": "stata",
    ".csv": "delimited",
    ".tsv": "delimited",
    ".txt": "delimited",
    ".xlsx": "excel",
    ".xls": "excel",
}


def read_table(
    path: Path,
    *,
    study: str,
    file_format: str | None = None,
    encoding: str = "utf-8",
    sep: str | None = None,
    decimal: str = ".",
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read one source file. Errors name the study and the file and say what to do."""
    path = Path(path)
    if not path.is_file():
        siblings = sorted(p.name for p in path.parent.glob("*")) if path.parent.is_dir() else []
        raise StudyDataError(
            study,
            f"file not found: {path}",
            file=str(path),
            hint=(
                f"files in {path.parent}: {', '.join(siblings) or '(none)'}; "
                "fix `file:` in the study's mapping or the study sheet's `path`"
            ),
        )
    kind = file_format or READERS.get(path.suffix.lower())
    if kind is None:
        raise StudyDataError(
            study,
            f"cannot tell the format of {path.name}",
            file=str(path),
            hint=f"set `format:` in the mapping to one of {sorted(set(READERS.values()))}",
        )
    try:
        if kind == "sas_transport":
            size = path.stat().st_size
            if size % 80:  # SAS transport files are made of 80-byte records
                raise StudyDataError(study, f"{path.name} is {size} bytes, not a whole number of 80-byte SAS transport "
                                     "records: the file is truncated", file=str(path),
                                     hint="get a complete copy from the sponsor")
            frame = _read_sas(path, "xport", encoding)
        elif kind == "sas7bdat":
            frame = _read_sas(path, "sas7bdat", encoding)
        elif kind == "stata":
            frame = pd.read_stata(path, convert_categoricals=False)
        elif kind == "delimited":
            delimiter = sep if sep is not None else ("\t" if path.suffix.lower() == ".tsv" else ",")
            frame = pd.read_csv(
                path,
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
                decimal=decimal,
            )
        elif kind == "excel":
            frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=object)
        else:
            raise StudyDataError(study, f"unknown format {kind!r}", file=str(path))
    except StudyDataError:
        raise
    except UnicodeDecodeError as exc:
        where, example = _first_undecodable_line(path, encoding) or (exc.reason, None)
        raise StudyDataError(
            study,
            f"{path.name} is not valid {encoding} text: {where}",
            file=str(path),
            example=example,
            hint="set `encoding:` for this dataset in the mapping (e.g. latin-1 or cp1252)",
        ) from exc
    except Exception as exc:  # the readers raise many types; all mean the file is unreadable
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "encoding" in text.lower() or "byte sequence" in text.lower():
            hint = "set `encoding:` for this dataset in the mapping (e.g. latin-1 or cp1252)"
        else:
            hint = ("check the file is complete (not truncated: compare its size with the sponsor's manifest) and of the "
                    "declared format; ask the sponsor for a new copy if it is damaged")
        raise StudyDataError(study, f"cannot read {path.name} as {kind}: {text}", file=str(path), hint=hint) from exc
    frame.columns = [str(column) for column in frame.columns]
    if kind == "delimited":
        _check_field_counts(path, study, delimiter=delimiter, encoding=encoding)
    return frame


def _first_undecodable_line(path: Path, encoding: str) -> tuple[str, str] | None:
    """Where the first undecodable byte is ("line 4, byte b'\\xe9'") and the line as an example.

    The line's text goes only into the error's example (logs, secure zone): a data row must not
    reach the one-line summary that estimates and the report show."""
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    shown = raw.decode(encoding, errors="replace").rstrip("\r\n")
                    return f"line {number}, byte {raw[exc.start:exc.start + 1]!r}", f"line {number} reads {shown[:120]!r}"
                except LookupError:
                    return None
    except OSError:
        return None
    return None


def _check_field_counts(path: Path, study: str, *, delimiter: str, encoding: str) -> None:
    """Every record of a delimited file has as many fields as the header.

    The pandas reader pads a short row with empty fields and, when the first data row has one
    field too many, silently takes the first column as an index (shifting every value): neither
    may pass. A short last row is the usual sign of a truncated file."""
    if len(delimiter) != 1:
        return  # a regular-expression or multi-character separator: the csv module cannot follow it
    with open(path, newline="", encoding=encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        rows, bad, first = 0, 0, None
        for row in reader:
            if not row:
                continue
            rows += 1
            if len(row) != len(header):
                bad += 1
                if first is None:
                    first = (rows, reader.line_num, row)
        if first is None:
            return
    number, line, row = first
    last = " (the last row: the file looks cut off)" if number == rows and len(row) < len(header) else ""
    field = header[len(row)] if len(row) < len(header) else None
    raise StudyDataError(
        study,
        f"{path.name} has {bad} row(s) whose number of fields differs from its header ({len(header)}); the first is "
        f"data row {number} (file line {line}){last}, with {len(row)}",
        file=str(path),
        field=field,
        example=f"data row {number}: " + ", ".join(f"{c}={v!r}" for c, v in zip(header + ["(extra)"] * len(row), row))[:200],
        hint="the file looks truncated or a row is broken (an unquoted separator or line break): ask the sponsor for a "
             "complete copy, or fix `sep:` in the mapping",
    )


# ----------------------------------------------------------------------------------------------
# Package manifests: sponsors (and data-sharing platforms) list each delivered file with its size
# and checksum; a file that does not match was truncated or changed after delivery. A line may
# also carry the file's number of records (rows): `name  bytes  sha256  records`. A SAS transport
# file cut at a record boundary, with no size in the manifest to betray it, still reads as fewer
# rows than listed (her2meta.crosscheck compares them).

MANIFEST_NAME = "MANIFEST.txt"
_MANIFEST_LINE = re.compile(r"^\s*(\S+)\s+(\d+)\s+([0-9a-fA-F]{64})(?:\s+(\d+))?\s*$")


def _manifest_matches(package_dir: Path | str):
    path = Path(package_dir) / MANIFEST_NAME
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _MANIFEST_LINE.match(line)
        if match:
            yield match


def read_manifest(package_dir: Path | str) -> dict[str, tuple[int, str]]:
    """File name -> (bytes, sha256) from the package's MANIFEST.txt, if there is one.

    Only lines of the form `name  bytes  sha256` (optionally followed by the number of records)
    count; anything else (titles, notes) is ignored, so a package without such lines is simply
    not checked."""
    return {m.group(1): (int(m.group(2)), m.group(3).lower()) for m in _manifest_matches(package_dir)}


def read_manifest_records(package_dir: Path | str) -> dict[str, int]:
    """File name -> number of records, for the manifest lines that give one (a fourth column)."""
    return {m.group(1): int(m.group(4)) for m in _manifest_matches(package_dir) if m.group(4) is not None}


def verify_against_manifest(path: Path | str, manifest: dict[str, tuple[int, str]], *, study: str, name: str,
                            sha256: str | None = None) -> None:
    """Stop the study if a file differs from its manifest entry (size first: the usual truncation).

    `sha256`: the file's digest when the caller has it already (the extraction records it in QC),
    so the file is not hashed twice."""
    if name not in manifest:
        return
    path = Path(path)
    size, digest = manifest[name]
    actual = path.stat().st_size
    if actual != size:
        state = "shorter than" if actual < size else "longer than"
        raise StudyDataError(
            study,
            f"{name} is {actual} bytes, {state} the {size} bytes its package manifest lists: the file is "
            + ("truncated" if actual < size else "changed"),
            file=str(path), field=MANIFEST_NAME,
            hint="get a complete copy from the sponsor (or the data-sharing platform); if they re-delivered the file, "
                 "use the new manifest too",
        )
    if (sha256 or sha256_file(path)) != digest:
        raise StudyDataError(
            study,
            f"{name} does not match the SHA-256 checksum its package manifest lists: the file was changed or damaged",
            file=str(path), field=MANIFEST_NAME,
            hint="get a fresh copy from the sponsor; if the file was changed on purpose, record why and update the manifest",
        )


def _read_sas(path: Path, flavour: str, encoding: str) -> pd.DataFrame:
    import pyreadstat  # imported here: only extraction jobs pay for it

    reader = pyreadstat.read_xport if flavour == "xport" else pyreadstat.read_sas7bdat
    kwargs: dict[str, Any] = {}
    if encoding and encoding.lower() not in {"utf-8", "utf8"}:
        kwargs["encoding"] = encoding
    frame, _meta = reader(str(path), **kwargs)
    return frame


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write via a temporary file in the same folder, then rename: never a half-written file.

    The file is flushed to disk before the rename and made world-readable (0644), like a file
    written directly (mkstemp would leave it private to the writer)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _remove_stale_temporaries(path: Path) -> None:
    """Delete temporary files a killed writer of this same output left behind (`.<name>.*.tmp`).

    Only one job writes a given output at a time (Snakemake guarantees it), so any such file is
    debris of an interrupted earlier attempt, never a concurrent write."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, fixed indentation, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, canonical_json(obj))


def write_tsv(path: Path | str, frame: pd.DataFrame, float_format: str = "%.10g") -> None:
    text = frame.to_csv(sep="\t", index=False, lineterminator="\n", float_format=float_format, na_rep="NA")
    atomic_write_text(path, text)


def read_tsv(path: Path | str) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False)


PARQUET_ATTRS_KEY = b"her2meta.attrs"


def write_parquet(path: Path | str, frame: pd.DataFrame) -> None:
    """Parquet without pandas' index metadata and with a fixed writer, so bytes are stable.

    `frame.attrs` (JSON) travels in the file's schema metadata: a failed study's marker table
    carries {"failed": {...}} there (her2meta.errors.failure_record). Empty attrs add nothing."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if frame.attrs:
        metadata = dict(table.schema.metadata or {})
        metadata[PARQUET_ATTRS_KEY] = canonical_json(frame.attrs).encode("utf-8")
        table = table.replace_schema_metadata(metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)
        with open(tmp, "rb") as handle:  # on disk before the rename, like atomic_write_bytes
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_parquet(path: Path | str) -> pd.DataFrame:
    """Read a table written by write_parquet, with its attrs (e.g. a failed study's marker)."""
    import pyarrow.parquet as pq

    frame = pd.read_parquet(path)
    metadata = pq.read_schema(path).metadata or {}
    frame.attrs = json.loads(metadata[PARQUET_ATTRS_KEY]) if PARQUET_ATTRS_KEY in metadata else {}
    return frame
