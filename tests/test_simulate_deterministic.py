"""Byte-stability of the demo writers (seeds, CSV, SAS transport, Excel, atomic writes)."""

from __future__ import annotations

import hashlib
import io
import time
import zipfile

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from openpyxl import Workbook, load_workbook

from her2meta.simulate import get_spec, simulate_study
from her2meta.simulate.deterministic import (
    FIXED_ZIP_DATE,
    XPT_FIXED_STAMP,
    atomic_write_bytes,
    csv_bytes,
    derive_seed,
    fmt_float,
    json_bytes,
    normalise_xpt_stamps,
    rng_for,
    xlsx_bytes,
    xpt_bytes,
)
from her2meta.simulate.writers import render_study

STAMP = rb"\d{2}[A-Z]{3}\d{2}:\d{2}:\d{2}:\d{2}"


def test_seed_is_sha256_of_seed_and_study_id():
    expected = int.from_bytes(hashlib.sha256(b"20261121:SIM-NEOSPHERE").digest(), "big")
    assert derive_seed(20261121, "SIM-NEOSPHERE") == expected
    assert derive_seed(20261121, "SIM-NEOSPHERE", "render") == int.from_bytes(
        hashlib.sha256(b"20261121:SIM-NEOSPHERE:render").digest(), "big"
    )
    a = rng_for(1, "X").random(5)
    b = rng_for(1, "X").random(5)
    c = rng_for(1, "Y").random(5)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_simulation_is_reproducible_and_seed_sensitive():
    spec = get_spec("SIM-CHERLOB")
    a = simulate_study(spec, 7)
    b = simulate_study(spec, 7)
    c = simulate_study(spec, 8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["age_years"].equals(c["age_years"])


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": ["A-1", "A-2", "A-3"],
            "EMPTY": ["", "", ""],
            "AVAL": [1.5, np.nan, 3.0],
            "RANDDT": [17000.0, 17001.0, np.nan],
        }
    )


def test_xpt_header_stamps_are_fixed_and_two_writes_identical(tmp_path):
    df = _frame()
    raw_path = tmp_path / "raw.xpt"
    pyreadstat.write_xport(df, str(raw_path), file_format_version=5, table_name="ADSL")
    raw = raw_path.read_bytes()
    import re

    head = raw[: raw.find(b"HEADER RECORD*******OBS")]
    assert len(re.findall(STAMP, head)) == 4  # library + member header, created and modified
    fixed = normalise_xpt_stamps(raw)
    fixed_head = fixed[: fixed.find(b"HEADER RECORD*******OBS")]
    assert re.findall(STAMP, fixed_head) == [XPT_FIXED_STAMP] * 4
    assert len(fixed) == len(raw)

    first = xpt_bytes(df, "ADSL", variable_format={"RANDDT": "DATE9"})
    time.sleep(1.1)  # the stamps have one-second resolution
    second = xpt_bytes(df, "ADSL", variable_format={"RANDDT": "DATE9"})
    assert first == second

    out = tmp_path / "adsl.xpt"
    out.write_bytes(first)
    back, meta = pyreadstat.read_xport(str(out))
    assert meta.table_name == "ADSL"
    assert list(back.columns) == list(df.columns)
    assert list(back["EMPTY"]) == ["", "", ""]


def _workbook() -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "patients"
    ws.append(["PatID", "ER_pct", "HER2_FISH_ratio"])
    ws.append([1, "85%", 2.35])
    ws.append([2, "unknown", None])
    return wb


def test_xlsx_bytes_identical_with_fixed_dates_and_order():
    first = xlsx_bytes(_workbook(), title="t")
    time.sleep(1.1)
    second = xlsx_bytes(_workbook(), title="t")
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        infos = z.infolist()
        assert infos[0].filename == "[Content_Types].xml"
        assert [i.filename for i in infos[1:]] == sorted(i.filename for i in infos[1:])
        assert {i.date_time for i in infos} == {FIXED_ZIP_DATE}
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        core = z.read("docProps/core.xml").decode()
        assert core.count("2025-01-01T00:00:00Z") == 2
    wb = load_workbook(io.BytesIO(first))
    assert wb.sheetnames == ["patients"]
    assert [c.value for c in wb["patients"][2]] == [1, "85%", 2.35]


def test_rendering_twice_gives_identical_bytes():
    ids = ["SIM-NEOSPHERE", "SIM-HERMET", "SIM-NEOALTTO", "SIM-KRISTINE", "SIM-NOAH"]
    specs = {i: get_spec(i) for i in ids}
    frames = {i: simulate_study(specs[i]) for i in ids}

    def render_all():
        return {i: render_study(specs[i], frames[i], rng_for(20261121, i, "render")) for i in ids}

    first = render_all()
    time.sleep(1.05)
    second = render_all()
    for i in ids:
        assert first[i].keys() == second[i].keys()
        assert all(first[i][k] == second[i][k] for k in first[i]), i


def test_csv_json_and_number_formatting():
    data = csv_bytes(["a", "b"], [["1", "x,y"], ["2", ""]])
    assert data == b'a,b\n1,"x,y"\n2,\n'
    assert csv_bytes(["a", "b"], [["1,5", "z"]], sep=";") == b"a;b\n1,5;z\n"
    assert fmt_float(2.449, 2) == "2.45" and fmt_float(float("nan"), 1) == "" and fmt_float(None, 1) == ""
    assert fmt_float(47.3, 1, decimal_sep=",") == "47,3"
    assert fmt_float(-0.0001, 1) == "0.0"
    assert json_bytes({"b": 1, "a": [1.5]}) == b'{\n  "a": [\n    1.5\n  ],\n  "b": 1\n}\n'
    with pytest.raises(ValueError):
        csv_bytes(["a"], [["1", "2"]])


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "f.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]
    assert (target.stat().st_mode & 0o777) == 0o644
