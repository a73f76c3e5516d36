"""The committed synthetic demo (resources/demo) is exactly what write_demo produces."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from her2meta.simulate import DEFAULT_SEED, DEMO_STUDIES, write_demo
from her2meta.simulate.writers import files_for

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo"


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("demo")
    written = write_demo(out, seed=DEFAULT_SEED)
    return out, written


def test_default_seed_is_the_documented_one():
    assert DEFAULT_SEED == 20261121


def test_regeneration_reproduces_committed_bytes(regenerated):
    out, _ = regenerated
    committed = _tree(DEMO)
    fresh = _tree(out)
    assert committed, "resources/demo is empty: run write_demo(Path('resources/demo'))"
    assert sorted(fresh) == sorted(committed), "file sets differ"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"regenerated files differ from the committed ones: {changed}"


def test_write_demo_returns_every_file_it_wrote(regenerated):
    out, written = regenerated
    assert sorted(p.relative_to(out).as_posix() for p in written) == sorted(_tree(out))


def test_layout_one_folder_per_study_with_manifest(regenerated):
    out, _ = regenerated
    assert (out / "truth.json").is_file() and (out / "README.md").is_file()
    for spec in DEMO_STUDIES:
        folder = out / spec.study_id
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted(list(files_for(spec)) + ["MANIFEST.txt", "SYNTHETIC"])


def test_manifest_lists_sizes_and_hashes_without_timestamps(regenerated):
    out, _ = regenerated
    for spec in DEMO_STUDIES:
        text = (out / spec.study_id / "MANIFEST.txt").read_text(encoding="utf-8")
        assert "SYNTHETIC" in text
        for name in files_for(spec):
            data = (out / spec.study_id / name).read_bytes()
            assert f"{name}  {len(data)}  {hashlib.sha256(data).hexdigest()}" in text
        assert "2025" not in text and "2026" not in text


def test_total_size_is_small():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 3_000_000


def test_no_stray_temporary_files(regenerated):
    out, _ = regenerated
    assert not [p for p in out.rglob("*.tmp")]


def test_truth_json_is_sorted_and_complete():
    raw = (DEMO / "truth.json").read_text(encoding="utf-8")
    truth = json.loads(raw)
    assert raw == json.dumps(truth, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert truth["seed"] == DEFAULT_SEED
    assert set(truth["studies"]) == {s.study_id for s in DEMO_STUDIES}
    for spec in DEMO_STUDIES:
        t = truth["studies"][spec.study_id]
        assert t["synthetic"] is True
        assert [a["n"] for a in t["arms"]] == [a.n for a in spec.arms]
        assert [a["n_hr_positive"] for a in t["arms"]] == [a.n_hr_pos for a in spec.arms]
        if spec.setting == "neoadjuvant":
            for a in t["arms"]:
                assert set(a["pcr_probability"]) == {"hr_positive", "hr_negative"}
            assert t["efs_model"]["pcr_hr_hr_neg"] == 0.29 and t["efs_model"]["pcr_hr_hr_pos"] == 0.52
            assert t["efs_model"]["hr_pos_shape"] > 1
        for src in t["sources"]:
            assert src["url"].startswith("http") and src["facts_row"]
        if spec.study_id != "SIM-HERMET":
            assert t["sources"], spec.study_id
        assert t["assumptions"], spec.study_id


def test_readme_says_synthetic_and_documents_every_study():
    text = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text and "not real patients" in text
    assert "her2meta simulate demo --out resources/demo --seed 20261121" in text
    for spec in DEMO_STUDIES:
        assert f"### {spec.study_id}" in text
        for src in spec.sources:
            assert src.url in text
