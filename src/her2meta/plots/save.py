"""Deterministic, atomic saving of figures as SVG + PNG.

Byte-identical output across runs on the same software stack:

* SVG: ``metadata={"Date": None}`` (no ``<dc:date>``; this also overrides
  ``SOURCE_DATE_EPOCH``) and a fixed ``svg.hashsalt`` so clip-path / glyph ids
  do not come from ``uuid4``.
* PNG: matplotlib's Agg writer (through Pillow) stores only a ``Software``
  tEXt chunk (``"Matplotlib version<x.y.z>, https://matplotlib.org/"``), the
  ``pHYs`` resolution and no ``tIME`` chunk; we pass the metadata explicitly
  so this does not depend on library defaults.

Each file is written to a temporary file in the destination folder and moved
into place with :func:`os.replace`, so readers never see a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from .style import PNG_DPI, RC, SVG_HASHSALT

#: Metadata written into PNGs (no timestamp).
PNG_METADATA: dict[str, str] = {"Software": f"Matplotlib version{mpl.__version__}, https://matplotlib.org/"}
#: Metadata written into SVGs: ``Date`` suppressed.
SVG_METADATA: dict[str, str | None] = {"Date": None}


def _with_suffix(stem: Path, suffix: str) -> Path:
    # Not Path.with_suffix: a stem such as "forest.os" must keep its dot part.
    return stem.with_name(stem.name + suffix)


def _atomic_savefig(fig: Figure, dest: Path, fmt: str, **kwargs) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format=fmt, **kwargs)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_figure(fig: Figure, stem: Path) -> list[Path]:
    """Write ``<stem>.svg`` and ``<stem>.png`` (dpi 200); return both paths.

    Output is byte-identical for identical figures. The parent folder is
    created if needed.
    """
    stem = Path(stem)
    svg_path = _with_suffix(stem, ".svg")
    png_path = _with_suffix(stem, ".png")
    # Apply the package style too: some rcParams are read at draw time.
    with mpl.rc_context({**RC, "svg.hashsalt": SVG_HASHSALT}):
        _atomic_savefig(fig, svg_path, "svg", metadata=dict(SVG_METADATA))
        _atomic_savefig(fig, png_path, "png", dpi=PNG_DPI, metadata=dict(PNG_METADATA))
    return [svg_path, png_path]
