"""Deterministic, atomic saving of figures (her2meta.plots.save)."""

from __future__ import annotations

import math
import os
import re
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from her2meta.plots import forest_plot, km_plot, save_figure

SRC = Path(__file__).resolve().parents[1] / "src"


def _forest(title: str = "Example"):
    rows = pd.DataFrame(
        {
            "label": ["Trial A", "Trial B", "Trial C"],
            "estimate": [math.log(0.8), math.log(1.1), math.log(0.6)],
            "ci_lb": [math.log(0.6), math.log(0.8), math.log(0.3)],
            "ci_ub": [math.log(1.05), math.log(1.5), math.log(1.2)],
            "weight": [50.0, 35.0, 15.0],
        }
    )
    pooled = [{"label": "Random effects (REML)", "estimate": math.log(0.85), "ci_lb": math.log(0.7),
               "ci_ub": math.log(1.02), "pi_lb": math.log(0.5), "pi_ub": math.log(1.4),
               "note": "tau² = 0.01, I² = 12%, Q p = 0.30"}]
    return forest_plot(rows, pooled, measure_label="Hazard ratio", title=title)


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        chunks.append((ctype, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


DATE_RE = re.compile(rb"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}")


def test_save_writes_svg_and_png(tmp_path):
    paths = save_figure(_forest(), tmp_path / "out" / "forest")
    assert paths == [tmp_path / "out" / "forest.svg", tmp_path / "out" / "forest.png"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    # nothing left behind by the atomic write
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["forest.png", "forest.svg"]
    assert (paths[0].stat().st_mode & 0o777) == 0o644


def test_stem_with_dot_keeps_its_name(tmp_path):
    paths = save_figure(_forest(), tmp_path / "forest.os")
    assert [p.name for p in paths] == ["forest.os.svg", "forest.os.png"]


def test_same_figure_saved_twice_is_byte_identical(tmp_path):
    fig = _forest()
    a = save_figure(fig, tmp_path / "a" / "fig")
    b = save_figure(fig, tmp_path / "b" / "fig")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.suffix


def test_rebuilt_figure_is_byte_identical(tmp_path):
    a = save_figure(_forest(), tmp_path / "a" / "fig")
    b = save_figure(_forest(), tmp_path / "b" / "fig")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.suffix


def test_different_content_gives_different_bytes(tmp_path):
    a = save_figure(_forest("Example"), tmp_path / "a" / "fig")
    b = save_figure(_forest("Another title"), tmp_path / "b" / "fig")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() != pb.read_bytes(), pa.suffix


def test_svg_has_no_date(tmp_path):
    svg = save_figure(_forest(), tmp_path / "fig")[0].read_bytes()
    assert b"<dc:date>" not in svg
    assert DATE_RE.search(svg) is None


def test_svg_has_no_date_even_with_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    svg = save_figure(_forest(), tmp_path / "fig")[0].read_bytes()
    assert b"<dc:date>" not in svg


def test_png_metadata_has_no_timestamp(tmp_path):
    png = save_figure(_forest(), tmp_path / "fig")[1].read_bytes()
    chunks = _png_chunks(png)
    types = [c for c, _ in chunks]
    assert b"tIME" not in types
    text = [body for c, body in chunks if c in (b"tEXt", b"iTXt", b"zTXt")]
    assert all(DATE_RE.search(body) is None for body in text)
    keys = {body.split(b"\x00", 1)[0] for body in text}
    assert keys <= {b"Software"}


def test_png_resolution_is_200_dpi(tmp_path):
    png = save_figure(_forest(), tmp_path / "fig")[1].read_bytes()
    (phys,) = [body for c, body in _png_chunks(png) if c == b"pHYs"]
    ppm_x, ppm_y, unit = struct.unpack(">IIB", phys)
    assert unit == 1 and round(ppm_x * 0.0254) == 200


def test_failed_save_leaves_no_temp_file(tmp_path, monkeypatch):
    fig = _forest()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(RuntimeError):
        save_figure(fig, tmp_path / "fig")
    assert list(tmp_path.iterdir()) == []


def test_save_does_not_leak_rcparams(tmp_path):
    import matplotlib as mpl

    before = dict(mpl.rcParams)
    save_figure(_forest(), tmp_path / "fig")
    km_plot([{"label": "A", "timeline": [0, 1, 2], "survival": [1, 0.8, 0.5]}], title="t", ylabel="S")
    after = dict(mpl.rcParams)
    assert before == after


_SCRIPT = textwrap.dedent(
    """
    import math, sys
    from pathlib import Path
    import pandas as pd
    from her2meta.plots import forest_plot, km_plot, save_figure
    rows = pd.DataFrame({"label": ["A", "B"], "estimate": [0.1, -0.2], "ci_lb": [-0.3, -0.5],
                         "ci_ub": [0.5, 0.1], "weight": [40.0, 60.0]})
    fig = forest_plot(rows, [{"label": "Pooled", "estimate": -0.1, "ci_lb": -0.3, "ci_ub": 0.1}],
                      measure_label="Hazard ratio", title="Run")
    save_figure(fig, Path(sys.argv[1]) / "forest")
    fig = km_plot([{"label": "A", "timeline": [0, 3, 6], "survival": [1, 0.9, 0.7],
                    "at_risk": {0: 20, 6: 3}}], title="KM", ylabel="Survival", risk_table_times=[0, 6])
    save_figure(fig, Path(sys.argv[1]) / "km")
    assert "matplotlib.pyplot" not in sys.modules
    """
)


def test_byte_identical_across_processes(tmp_path):
    outs = []
    for i, seed in enumerate(["1", "2"]):
        out = tmp_path / f"run{i}"
        env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONHASHSEED": seed, "MPLBACKEND": "Agg"}
        subprocess.run([sys.executable, "-c", _SCRIPT, str(out)], check=True, env=env)
        outs.append(out)
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == ["forest.png", "forest.svg", "km.png", "km.svg"]
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
