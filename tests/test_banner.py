"""The synthetic-data banner follows the data: each generated demo package carries a SYNTHETIC
marker file, and the report names the synthetic studies (all, or which), whatever the config says."""

from __future__ import annotations

import shutil
from pathlib import Path

from jinja2 import Environment, PackageLoader

from her2meta.config import mark_synthetic, read_study_sheet
from her2meta.report import limitations, synthetic_banner
from her2meta.simulate import DEMO_STUDIES
from her2meta.synthetic import MARKER, is_synthetic

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


def _row(sid, *, include=True, synthetic=False):
    return {"study_id": sid, "label": sid, "include": include, "synthetic": synthetic}


def test_every_committed_demo_package_carries_the_marker():
    assert sorted(p.parent.name for p in DEMO.glob(f"*/{MARKER}")) == sorted(s.study_id for s in DEMO_STUDIES)
    text = (DEMO / "SIM-NEOSPHERE" / MARKER).read_text(encoding="utf-8")
    assert text.startswith("synthetic: true\nstudy: SIM-NEOSPHERE\n")
    assert f"{MARKER}  " in (DEMO / "SIM-NEOSPHERE" / "MANIFEST.txt").read_text(encoding="utf-8")  # listed and hashed


def test_the_shipped_sheet_marks_the_demo_studies_and_not_the_published_tables():
    rows = read_study_sheet(ROOT / "config" / "studies.tsv", project_root=ROOT, data_root="resources")
    marked = {r["study_id"]: r["synthetic"] for r in mark_synthetic(rows, data_root="resources", project_root=ROOT)}
    expected = {r["study_id"]: r["path"].startswith("demo/") for r in rows}  # demo/ packages vs aggregate/ tables
    assert marked == expected and sum(marked.values()) == len(DEMO_STUDIES)


def test_a_real_package_is_not_labelled_synthetic(tmp_path):
    real = tmp_path / "REAL-1"
    shutil.copytree(DEMO / "SIM-BUZDAR", real)
    (real / MARKER).unlink()  # a sponsor's package has no marker
    assert is_synthetic(DEMO / "SIM-BUZDAR") and not is_synthetic(real)
    assert not is_synthetic(DEMO / "SIM-BUZDAR" / "buzdar.csv")  # a file (aggregate table) is never a package
    assert synthetic_banner([_row("REAL-1")]) is None


def test_banner_says_all_when_every_included_study_is_synthetic():
    rows = [_row("SIM-A", synthetic=True), _row("SIM-B", synthetic=True), _row("REAL-X", include=False)]
    banner, line = synthetic_banner(rows)
    assert banner.startswith("Synthetic demonstration data. Every study in this report")
    assert line.startswith("All studies are synthetic")


def test_banner_names_the_synthetic_studies_when_some_are_real():
    rows = [_row("SIM-A", synthetic=True), _row("REAL-1"), _row("SIM-B", synthetic=True), _row("REAL-2")]
    banner, line = synthetic_banner(rows)
    assert "studies SIM-A, SIM-B are synthetic (2 of 4 included studies" in banner
    assert line.startswith("Studies SIM-A, SIM-B are synthetic")
    one, _ = synthetic_banner([_row("SIM-A", synthetic=True), _row("REAL-1")])
    assert "study SIM-A is synthetic (1 of 2" in one


def test_a_demo_key_no_longer_makes_a_real_study_synthetic():
    real = [_row("REAL-1"), _row("REAL-2")]
    assert synthetic_banner(real) is None
    assert not any("synthetic" in line for line in limitations([], [], [], {"demo": True}))


def test_the_template_prints_the_banner_text_it_is_given():
    env = Environment(loader=PackageLoader("her2meta", "templates"))
    source = env.loader.get_source(env, "report.html")[0]
    assert '<div class="banner">{{ demo }}</div>' in source
