"""`her2meta audit`: lineage from a result down to the raw files, every recorded hash checked."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from her2meta.audit import Auditor, audit, find_results_dir, lineage_summary, render_text, report_appendix
from her2meta.cli import main
from her2meta.provenance import write_records

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _job(rule, wildcards, inputs, outputs, contents, roles=None):
    for path, text in zip(outputs, contents):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    write_records(rule=rule, wildcards=wildcards, inputs=inputs, outputs=outputs, params={}, results_dir="results",
                  project_root=".", started=NOW, seed=1, input_roles=roles or {})


@pytest.fixture
def chain(tmp_path, monkeypatch):
    """raw files + mapping -> extracted -> estimates -> pooled, for two studies, in tmp_path."""
    monkeypatch.chdir(tmp_path)
    estimates = []
    for study in ("S1", "S2"):
        Path(f"raw/{study}").mkdir(parents=True)
        Path(f"raw/{study}/adsl.csv").write_text(f"USUBJID\n{study}-0001\n")
        Path("config/mappings").mkdir(parents=True, exist_ok=True)
        Path(f"config/mappings/{study}.yaml").write_text(f"study_id: {study}\n")
        mapping, raw = f"config/mappings/{study}.yaml", f"raw/{study}/adsl.csv"
        _job("extract_study", {"study": study}, [mapping, raw], [f"results/extracted/{study}.parquet"], [f"rows of {study}"],
             roles={mapping: "mapping", raw: "package"})
        _job("estimate_study", {"study": study, "analysis": "a1"}, [f"results/extracted/{study}.parquet"],
             [f"results/estimates/a1/{study}.tsv"], [f"estimate {study}"], roles={f"results/extracted/{study}.parquet": "data"})
        estimates.append(f"results/estimates/a1/{study}.tsv")
    _job("pool_analysis", {"analysis": "a1"}, estimates, ["results/pooled/a1.tsv"], ["pooled"])
    return tmp_path


def test_lineage_reaches_raw_files_and_mapping_and_all_hashes_match(chain):
    result = audit("results/pooled/a1.tsv")
    assert result.ok and result.studies() == ["S1", "S2"]
    kinds = {(n.location, n.kind) for n in result.nodes()}
    assert ("raw/S1/adsl.csv", "raw file") in kinds and ("config/mappings/S2.yaml", "mapping") in kinds
    assert ("results/extracted/S1.parquet", "result") in kinds
    assert result.counts() == {"ok": 9}
    text = render_text(result)
    assert "pool_analysis analysis=a1" in text and "└── " in text and "extract_study study=S2" in text
    assert "every recorded hash matches" in text


def test_a_changed_raw_file_and_a_missing_result_are_named(chain, capsys):
    Path("raw/S1/adsl.csv").write_text("USUBJID\nS1-0001\nS1-0002\n")
    Path("results/extracted/S2.parquet").unlink()
    result = audit("results/pooled/a1.tsv")
    problems = {(p.location, p.status) for p in result.problems}
    assert problems == {("raw/S1/adsl.csv", "changed"), ("results/extracted/S2.parquet", "missing")}
    assert main(["audit", "results/pooled/a1.tsv"]) == 1
    out = capsys.readouterr().out
    assert "CHANGED    raw/S1/adsl.csv" in out and "MISSING    results/extracted/S2.parquet" in out
    assert "--records-only" in out


def test_json_output_is_machine_readable(chain, capsys):
    Path("raw/S2/adsl.csv").unlink()
    assert main(["audit", "results/pooled/a1.tsv", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False and document["studies"] == ["S1", "S2"]
    assert [(p["path"], p["status"]) for p in document["problems"]] == [("raw/S2/adsl.csv", "missing")]
    top = document["lineage"][0]
    assert top["rule"] == "pool_analysis" and top["code"] and len(top["inputs"]) == 2
    leaf = top["inputs"][0]["inputs"][0]["inputs"][1]
    assert leaf["kind"] == "raw file" and len(leaf["sha256_recorded"]) == 64


def test_a_copied_results_folder_is_checked_against_the_recorded_hashes(chain, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree("results/pooled", elsewhere / "out" / "pooled")
    shutil.copytree("results/provenance", elsewhere / "out" / "provenance")
    monkeypatch.chdir(elsewhere)
    assert find_results_dir("out/pooled/a1.tsv") == Path("out")
    result = audit("out/pooled/a1.tsv", records_only=True)
    assert result.ok and result.counts() == {"absent": 8, "ok": 1}
    assert not audit("out/pooled/a1.tsv").ok  # without --records-only the absent files are missing
    Path("out/pooled/a1.tsv").write_text("tampered")
    tampered = audit("out/pooled/a1.tsv", records_only=True)
    assert [(p.location, p.status) for p in tampered.problems] == [("out/pooled/a1.tsv", "changed")]


def test_a_result_rebuilt_after_its_user_ran_is_stale(chain):
    _job("estimate_study", {"study": "S1", "analysis": "a1"}, ["results/extracted/S1.parquet"],
         ["results/estimates/a1/S1.tsv"], ["estimate S1, second version"])
    result = audit("results/pooled/a1.tsv")
    assert [(p.location, p.status) for p in result.problems] == [("results/estimates/a1/S1.tsv", "changed")]
    Path("results/estimates/a1/S1.tsv").unlink()  # as on a copy without the secure zone
    copy = Auditor("results", records_only=True).audit("results/pooled/a1.tsv")
    assert [(p.location, p.status) for p in copy.problems] == [("results/estimates/a1/S1.tsv", "stale")]


def test_a_result_without_a_record_is_a_gap_in_the_lineage(chain):
    Path("results/provenance/estimates/a1/S2.tsv.json").unlink()
    result = audit("results/pooled/a1.tsv")
    assert [(p.location, p.status) for p in result.problems] == [("results/estimates/a1/S2.tsv", "no record")]


def test_folder_audit_and_record_paths(chain, capsys):
    auditor = Auditor("results")
    assert auditor.final_results() == [Path("results/pooled/a1.tsv")]
    assert main(["audit", "results"]) == 0
    assert "1 final results" in capsys.readouterr().out
    assert audit("results/provenance/pooled/a1.tsv.json").roots[0].location == "results/pooled/a1.tsv"
    assert main(["audit", "results/nothing.tsv"]) == 2


def test_lineage_summary_for_the_report_appendix(chain):
    summary = lineage_summary("results/pooled/a1.tsv")
    assert summary["rule"] == "pool_analysis" and summary["studies"] == ["S1", "S2"]
    assert [(f["study"], f["role"], f["path"]) for f in summary["files"]] == [
        ("S1", "mapping", "config/mappings/S1.yaml"), ("S1", "raw file", "raw/S1/adsl.csv"),
        ("S2", "mapping", "config/mappings/S2.yaml"), ("S2", "raw file", "raw/S2/adsl.csv")]
    assert all(len(f["sha256"]) == 64 for f in summary["files"])
    assert "started" not in json.dumps(summary)  # deterministic: no times


def test_report_appendix_lists_each_item_and_every_raw_file_once(chain):
    _job("plot_forest", {"analysis": "a1"}, ["results/pooled/a1.tsv"], ["results/figures/a1/forest.svg"], ["<svg/>"])
    appendix = report_appendix(["results/pooled/a1.tsv", "results/figures/a1/forest.svg"])
    assert appendix["items"] == [{"path": "results/pooled/a1.tsv", "rule": "pool_analysis", "studies": ["S1", "S2"]},
                                 {"path": "results/figures/a1/forest.svg", "rule": "plot_forest", "studies": ["S1", "S2"]}]
    assert [(f["study"], f["path"]) for f in appendix["files"]] == [
        ("S1", "config/mappings/S1.yaml"), ("S1", "raw/S1/adsl.csv"), ("S2", "config/mappings/S2.yaml"), ("S2", "raw/S2/adsl.csv")]
