"""A broken study under `snakemake --keep-going`: the other studies' work, the pooled analyses
(listing the failed study with its reason) and the report are still produced; without
--keep-going the run stops with the same clear message.

The failed study's extraction (or harmonization) writes marker outputs: an empty table whose
parquet metadata, and QC record, say `failed`; its estimates are then non-estimable with the
reason "study failed: <the error's first line>". The flag reaches the jobs through the
environment variable HER2META_KEEP_GOING, set by workflow/rules/common.smk when the run starts."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from her2meta.effects import estimate_analysis
from her2meta.errors import KEEP_GOING_ENV, StudyDataError, keep_going
from her2meta.io import read_parquet, write_parquet
from her2meta.schemas import harmonized_fields
from her2meta.stages import extract as extract_stage
from her2meta.stages import harmonize as harmonize_stage
from workflow_setup import run_snakemake, write_run_config

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
LOGGER = logging.getLogger("test_keep_going")
SHEET_ROW = {"study_id": "SIM-BUZDAR", "label": "Buzdar", "setting": "neoadjuvant", "design": "rct", "include": True}
HARMONIZATION = {"hr_threshold_percent": 1, "itc_is_pcr": False}


def _break_encoding(package: Path) -> None:
    """A latin-1 byte in the UTF-8 study (its manifest removed, or it would catch the change first)."""
    data = (package / "buzdar.csv").read_bytes().split(b"\n")
    data[3] = data[3].replace(b",post,", ",pöst,".encode("latin-1"), 1).replace(b",pre,", ",pré,".encode("latin-1"), 1)
    (package / "buzdar.csv").write_bytes(b"\n".join(data))
    (package / "MANIFEST.txt").unlink()


@pytest.fixture()
def broken(tmp_path):
    package = tmp_path / "SIM-BUZDAR"
    shutil.copytree(DEMO / "SIM-BUZDAR", package)
    _break_encoding(package)
    return package


def _extract(tmp_path, package, **params):
    outputs = SimpleNamespace(data=str(tmp_path / "extracted.parquet"), qc=str(tmp_path / "extracted.qc.json"))
    inputs = SimpleNamespace(mapping=str(ROOT / "config" / "mappings" / "SIM-BUZDAR.yaml"))
    extract_stage.run(inputs=inputs, outputs=outputs, params={"package_dir": str(package), **params},
                      wildcards={"study": "SIM-BUZDAR"}, logger=LOGGER)
    return outputs


def _harmonize(tmp_path, extracted, **params):
    outputs = SimpleNamespace(data=str(tmp_path / "harmonized.parquet"), qc=str(tmp_path / "harmonized.qc.json"))
    inputs = SimpleNamespace(data=extracted.data, qc=extracted.qc, mapping=str(ROOT / "config" / "mappings" / "SIM-BUZDAR.yaml"))
    harmonize_stage.run(inputs=inputs, outputs=outputs, params={"study": SHEET_ROW, "harmonization": HARMONIZATION, **params},
                        wildcards={"study": "SIM-BUZDAR"}, logger=LOGGER)
    return outputs


def test_the_flag_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(KEEP_GOING_ENV, raising=False)
    assert not keep_going()
    monkeypatch.setenv(KEEP_GOING_ENV, "1")
    assert keep_going() and not keep_going({"keep_going": False})
    monkeypatch.setenv(KEEP_GOING_ENV, "0")
    assert not keep_going() and keep_going({"keep_going": True})


def test_without_keep_going_the_study_stops_with_its_clear_message(tmp_path, broken, monkeypatch):
    monkeypatch.delenv(KEEP_GOING_ENV, raising=False)
    with pytest.raises(StudyDataError) as err:
        _extract(tmp_path, broken)
    assert str(err.value).startswith("study SIM-BUZDAR: buzdar.csv is not valid utf-8 text: line 4")
    assert not (tmp_path / "extracted.parquet").exists()


def test_with_keep_going_a_failed_extraction_leaves_markers_all_the_way_to_the_estimates(tmp_path, broken):
    extracted = _extract(tmp_path, broken, keep_going=True)
    marker = read_parquet(extracted.data)
    assert len(marker) == 0 and marker.attrs["failed"]["stage"] == "extract"
    summary = marker.attrs["failed"]["summary"]
    assert summary.startswith("buzdar.csv is not valid utf-8 text: line 4, byte")
    assert "p\ufffdst" not in summary and "line 4 reads" in marker.attrs["failed"]["message"]  # the row stays in the secure zone
    assert json.loads(Path(extracted.qc).read_text())["failed"]["summary"] == summary

    harmonized = _harmonize(tmp_path, extracted, keep_going=True)
    table = read_parquet(harmonized.data)
    assert list(table.columns) == list(harmonized_fields()) and len(table) == 0
    assert table.attrs["failed"]["summary"] == summary
    qc = json.loads(Path(harmonized.qc).read_text())
    assert qc["failed"]["stage"] == "extract" and qc["rows_out"] == 0 and qc["exclusions"] == []
    assert set(qc["counts"]) >= {"hr_status", "hr_status_source", "pcr_source", "regimen_class"}
    assert qc["warnings"] == [f"study failed: {summary} (at extract); the study contributes to no analysis"]
    assert qc["extraction"]["subjects"] == {"rows_in": 0, "excluded": []}

    from her2meta.config import load_config

    analyses = load_config(ROOT / "config" / "config.yaml")["analyses"]
    for name in ("pcr_by_hr", "efs_by_pcr_within_hr"):
        rows = estimate_analysis(table, study_id="SIM-BUZDAR", analysis=name, spec=analyses[name])
        assert [r.subgroup for r in rows] == (["all"] if name == "pcr_by_hr" else ["positive", "negative", "interaction"])
        assert all(not r.estimable and r.reason == f"study failed: {summary}" for r in rows)


def test_with_keep_going_a_failed_harmonization_leaves_markers(tmp_path, monkeypatch):
    package = tmp_path / "SIM-BUZDAR"
    shutil.copytree(DEMO / "SIM-BUZDAR", package)
    (package / "MANIFEST.txt").unlink()
    text = (package / "buzdar.csv").read_text()
    (package / "buzdar.csv").write_text(text.replace(",3+,", ",positive,", 1))  # an IHC code harmonization cannot read
    extracted = _extract(tmp_path, package)
    monkeypatch.setenv(KEEP_GOING_ENV, "0")
    with pytest.raises(StudyDataError, match="her2_ihc"):
        _harmonize(tmp_path, extracted)
    monkeypatch.setenv(KEEP_GOING_ENV, "1")  # as the workflow sets it under --keep-going
    harmonized = _harmonize(tmp_path, extracted)
    qc = json.loads(Path(harmonized.qc).read_text())
    assert qc["failed"]["stage"] == "harmonize" and qc["failed"]["field"] == "her2_ihc"
    assert qc["failed"]["file"].endswith("buzdar.csv (patients.her2)")  # the sponsor's file and column, not ours
    assert "example: patient" in qc["failed"]["message"] and "patient" not in qc["failed"]["summary"]
    assert qc["extraction"]["subjects"]["rows_in"] == 42  # what extraction did is kept


def test_a_failed_studys_table_joins_the_others_without_changing_their_types(tmp_path, broken):
    """One-stage models, Kaplan-Meier plots and the release check concatenate every study's table."""
    from her2meta.harmonize import empty_harmonized, harmonize_study
    from her2meta.mapping import apply_mapping, load_mapping

    mapping = load_mapping(ROOT / "config" / "mappings" / "SIM-NEOSPHERE.yaml", study="SIM-NEOSPHERE")
    good, _ = harmonize_study(apply_mapping(mapping, DEMO / "SIM-NEOSPHERE").data,
                              study={**SHEET_ROW, "study_id": "SIM-NEOSPHERE"})
    failed = empty_harmonized()
    failed.attrs = {"failed": {"stage": "extract", "summary": "x", "message": "x"}}
    write_parquet(tmp_path / "failed.parquet", failed)
    both = pd.concat([good, read_parquet(tmp_path / "failed.parquet")], ignore_index=True)
    assert both.dtypes.to_dict() == good.dtypes.to_dict() and len(both) == len(good)


def test_the_report_lists_a_failed_study_with_its_reason(tmp_path, broken):
    from her2meta.report import study_rows

    extracted = _extract(tmp_path, broken, keep_going=True)
    qc = json.loads(Path(_harmonize(tmp_path, extracted, keep_going=True).qc).read_text())
    (row,) = study_rows([{**SHEET_ROW, "data_source": "ipd"}], {"SIM-BUZDAR": qc})
    assert row["n"] == 0 and row["warnings"][0].startswith("study failed: buzdar.csv is not valid utf-8 text")


# ----------------------------------------------------------------------------------------------
# End to end


STUDIES = ["SIM-NEOSPHERE", "SIM-BUZDAR"]


def _prepare(work: Path) -> None:
    write_run_config(work, studies=STUDIES, analyses=["pcr_by_hr"], copy_data=True)


def _snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    return run_snakemake(work, "--cores", "2", *args, timeout=600)


@pytest.mark.workflow
def test_keep_going_runs_pooling_and_the_report_without_the_broken_study(tmp_path):
    work = tmp_path / "run"
    _prepare(work)
    _break_encoding(work / "data" / "SIM-BUZDAR")

    stopped = _snakemake(work)
    assert stopped.returncode != 0
    assert "study SIM-BUZDAR: buzdar.csv is not valid utf-8 text: line 4" in stopped.stderr
    assert "what to do: set `encoding:` for this dataset in the mapping" in stopped.stderr
    assert not (work / "results" / "pooled").exists()

    kept = _snakemake(work, "--keep-going")
    assert kept.returncode == 0, kept.stderr[-3000:]
    results = work / "results"
    good = pd.read_csv(results / "estimates" / "pcr_by_hr" / "SIM-NEOSPHERE.tsv", sep="\t")
    assert good["estimable"].all()
    failed = pd.read_csv(results / "estimates" / "pcr_by_hr" / "SIM-BUZDAR.tsv", sep="\t")
    reason = failed["reason"].iloc[0]
    assert not failed["estimable"].any() and reason.startswith("study failed: buzdar.csv is not valid utf-8 text: line 4")
    pooled = json.loads((results / "pooled" / "pcr_by_hr.json").read_text())
    (block,) = pooled["subgroups"]
    assert block["k_used"] == 1 and block["not_estimable"] == [{"study_id": "SIM-BUZDAR", "reason": reason}]
    html = (results / "report" / "index.html").read_text()
    assert "Buzdar / MD Anderson (synthetic): study failed: buzdar.csv is not valid utf-8 text: line 4" in html
    # the broken row's content (a patient's data) stays in the secure zone: logs and harmonized QC only
    assert "p\ufffdst" not in html and "pöst" not in html
    assert "line 4 reads" in (work / "logs" / "study_chain" / "SIM-BUZDAR.log").read_text()

    # Fixing the file reruns the study's chain (and everything downstream of it).
    (work / "data" / "SIM-BUZDAR" / "buzdar.csv").write_bytes((ROOT / "resources" / "demo" / "SIM-BUZDAR" / "buzdar.csv").read_bytes())
    plan = _snakemake(work, "-n")
    assert plan.returncode == 0
    assert "study_chain" in plan.stdout and "wildcards: study=SIM-BUZDAR" in plan.stdout
