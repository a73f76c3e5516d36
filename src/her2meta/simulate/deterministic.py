"""Byte-stable writing of the synthetic demo files.

Everything the demo generator writes goes through this module, so that
``write_demo(dir, seed)`` reproduces the committed files byte for byte:

* random streams are derived from a SHA-256 of ``"{seed}:{study_id}[:{stream}]"``
  (never Python's salted ``hash()``);
* CSV is written with the ``csv`` module from pre-formatted strings (fixed
  column order, ``"\\n"`` line ends, no float formatting left to a library);
* SAS transport v5 headers carry the wall-clock time of writing: every
  16-character ``DDMONYY:HH:MM:SS`` stamp in the header records is replaced
  with :data:`XPT_FIXED_STAMP`;
* Excel workbooks are re-zipped with fixed entry dates, a fixed entry order,
  no compression (stored entries do not depend on the zlib build) and fixed
  document properties;
* every file is written atomically (temporary file in the same folder, then
  ``os.replace``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import tempfile
import zipfile
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from ..io import atomic_write_bytes  # noqa: F401  (re-exported: the simulator writes through it)

#: Replacement for the creation/modification stamps of SAS transport headers.
XPT_FIXED_STAMP = b"01JAN25:00:00:00"
#: Date written into every zip entry and the document properties of workbooks.
FIXED_ZIP_DATE = (2025, 1, 1, 0, 0, 0)
FIXED_ISO_DATETIME = "2025-01-01T00:00:00Z"

_XPT_STAMP_RE = re.compile(rb"\d{2}[A-Z]{3}\d{2}:\d{2}:\d{2}:\d{2}")
_XPT_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"


# --------------------------------------------------------------------------- seeds
def derive_seed(seed: int, study_id: str, stream: str = "") -> int:
    """A 256-bit integer seed from SHA-256 of ``"{seed}:{study_id}"`` (``":{stream}"`` appended if given)."""
    key = f"{seed}:{study_id}" if not stream else f"{seed}:{study_id}:{stream}"
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest(), "big")


def rng_for(seed: int, study_id: str, stream: str = "") -> np.random.Generator:
    """``numpy.random.Generator(PCG64)`` for one study (and optionally one named stream)."""
    return np.random.Generator(np.random.PCG64(derive_seed(seed, study_id, stream)))


# ----------------------------------------------------------------------- formatting
def fmt_float(value: Any, decimals: int, decimal_sep: str = ".") -> str:
    """Fixed-decimals text for a number; ``""`` for missing values."""
    if value is None:
        return ""
    x = float(value)
    if math.isnan(x):
        return ""
    text = f"{x:.{decimals}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text.replace(".", decimal_sep) if decimal_sep != "." else text


def fmt_int(value: Any) -> str:
    """Integer text; ``""`` for missing values."""
    if value is None:
        return ""
    x = float(value)
    if math.isnan(x):
        return ""
    return str(int(round(x)))


# ------------------------------------------------------------------------ encoders
def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[str]], sep: str = ",") -> bytes:
    """UTF-8 CSV from already formatted string cells, ``"\\n"`` line ends."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(list(columns))
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row has {len(row)} cells, header has {len(columns)}")
        writer.writerow([str(c) for c in row])
    return buf.getvalue().encode("utf-8")


def json_bytes(obj: Any) -> bytes:
    """Deterministic JSON: sorted keys, indent 2, trailing newline."""
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode(
        "utf-8"
    )


def normalise_xpt_stamps(data: bytes) -> bytes:
    """Replace every ``DDMONYY:HH:MM:SS`` stamp in the header records with a fixed one.

    Only the part before the first observation header is touched, so data
    values can never be rewritten.
    """
    cut = data.find(_XPT_OBS_HEADER)
    if cut < 0:
        raise ValueError("not a SAS transport file: no OBS header record")
    head, tail = data[:cut], data[cut:]
    return _XPT_STAMP_RE.sub(XPT_FIXED_STAMP, head) + tail


def xpt_bytes(
    df: Any,
    table_name: str,
    column_labels: Sequence[str] | None = None,
    variable_format: Mapping[str, str] | None = None,
    file_label: str = "",
) -> bytes:
    """SAS transport v5 bytes of a DataFrame, with fixed header stamps."""
    import pyreadstat  # local import: only the writers need it

    with tempfile.TemporaryDirectory(prefix="her2meta-xpt-") as tmp:
        path = os.path.join(tmp, f"{table_name.lower()}.xpt")
        kwargs: dict[str, Any] = {"file_format_version": 5, "table_name": table_name}
        if column_labels is not None:
            kwargs["column_labels"] = list(column_labels)
        if variable_format:
            kwargs["variable_format"] = dict(variable_format)
        if file_label:
            kwargs["file_label"] = file_label
        pyreadstat.write_xport(df, path, **kwargs)
        with open(path, "rb") as fh:
            raw = fh.read()
    return normalise_xpt_stamps(raw)


_CORE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:title>{title}</dc:title><dc:creator>her2meta.simulate</dc:creator>"
    '<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
    "</cp:coreProperties>"
)
_APP_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>her2meta synthetic demo</Application></Properties>"
)


def stable_zip(data: bytes, overrides: Mapping[str, bytes] | None = None) -> bytes:
    """Re-zip an OOXML package: fixed order, fixed dates, stored entries, fixed attributes."""
    overrides = dict(overrides or {})
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        entries = {info.filename: src.read(info.filename) for info in src.infolist()}
    entries.update(overrides)
    # [Content_Types].xml first (as Office writes it), then the rest by name.
    names = sorted(entries, key=lambda n: (n != "[Content_Types].xml", n))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 0
            info.external_attr = 0
            dst.writestr(info, entries[name])
    return out.getvalue()


def xlsx_bytes(workbook: Any, title: str = "") -> bytes:
    """Bytes of an openpyxl workbook with fixed properties and a stable zip layout."""
    import datetime as _dt

    workbook.properties.created = _dt.datetime(*FIXED_ZIP_DATE)
    workbook.properties.modified = _dt.datetime(*FIXED_ZIP_DATE)
    buf = io.BytesIO()
    workbook.save(buf)
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return stable_zip(
        buf.getvalue(),
        overrides={
            "docProps/core.xml": _CORE_XML.format(title=safe_title, stamp=FIXED_ISO_DATETIME).encode("utf-8"),
            "docProps/app.xml": _APP_XML.encode("utf-8"),
        },
    )


# -------------------------------------------------------------------------- output
def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
