"""Read sponsor study files into pandas DataFrames, and write outputs atomically.

Sponsors deliver SAS transport (.xpt), SAS binary (.sas7bdat), Stata (.dta), CSV/TSV and Excel.
Every reader returns string column names exactly as the source spells them and never
coerces values beyond what the format itself stores; parsing of text values belongs to the
mapping step, where it is declared.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import StudyDataError

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


def sha256_file(path: Path | str, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
        raise StudyDataError(
            study,
            f"{path.name} is not valid {encoding} text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r})",
            file=str(path),
            hint="set `encoding:` for this dataset in the mapping (e.g. latin-1)",
        ) from exc
    except Exception as exc:  # the readers raise many types; all mean the file is unreadable
        raise StudyDataError(
            study,
            f"cannot read {path.name} as {kind}: {exc}",
            file=str(path),
            hint="check the file is complete (not truncated) and of the declared format",
        ) from exc
    frame.columns = [str(column) for column in frame.columns]
    return frame


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


def write_parquet(path: Path | str, frame: pd.DataFrame) -> None:
    """Parquet without pandas' index metadata and with a fixed writer, so bytes are stable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_parquet(path: Path | str) -> pd.DataFrame:
    return pd.read_parquet(path)
