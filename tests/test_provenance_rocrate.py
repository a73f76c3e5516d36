"""The Workflow Run RO-Crate: required entities and links (no network: contexts are not fetched)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from types import SimpleNamespace

from her2meta.provenance import write_records
from her2meta.release import check_release, write_manifest
from her2meta.rocrate import PROFILES, validate_crate
from her2meta.stages.manifest import run_ro_crate

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _run(tmp_path: Path) -> Path:
    """A finished run in tmp_path: raw file -> secure result -> release result, with manifests."""
    Path("raw").mkdir()
    Path("raw/adsl.csv").write_text("USUBJID\nS-0001\n")
    Path("config").mkdir()
    Path("config/m.yaml").write_text("study_id: S\n")
    for path, inputs, roles in (("results/harmonized/S.parquet", ["config/m.yaml", "raw/adsl.csv"], {"config/m.yaml": "mapping", "raw/adsl.csv": "package"}),
                                ("results/pooled/a1.tsv", ["results/harmonized/S.parquet"], {})):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(f"content of {path}\n")
        write_records(rule=Path(path).parent.name, wildcards={"study": "S"}, inputs=inputs, outputs=[path], params={},
                      results_dir="results", project_root=ROOT, started=NOW, seed=3, input_roles=roles)
    run_manifest = {
        "written": "2026-01-01T00:01:00+00:00", "snakemake_version": "9.0", "software": {"her2meta": "0.1.0", "python": "3.11"},
        "code": {"git_commit": "abc", "git_dirty": False}, "config": {"seed": 1}, "config_sha256": "0" * 64, "seed": {"global": 1},
        "command_line": {"text": "snakemake --cores 2"}, "jobs": {"first_started": "2026-01-01T00:00:00+00:00",
                                                                 "last_finished": "2026-01-01T00:01:00+00:00"},
        "external_inputs": [{"path": "raw/adsl.csv", "sha256": "1" * 64, "role": "package", "study": "S"},
                            {"path": "config/m.yaml", "sha256": "2" * 64, "role": "mapping", "study": "S"}],
        "study_sheet": {"path": "config/studies.tsv", "sha256": "3" * 64}, "config_files": [{"path": "config/config.yaml", "sha256": "4" * 64}],
    }
    Path("results/pipeline_info").mkdir(parents=True)
    Path("results/pipeline_info/run_manifest.json").write_text(json.dumps(run_manifest))
    check = check_release("results", identifiers=["S-0001"])
    write_manifest(check, "results/pipeline_info/release_manifest.json", "results/pipeline_info/release_manifest.sha256")
    return Path("results")


def test_workflow_run_crate_structure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = _run(tmp_path)
    smk_like = dict(
        inputs=SimpleNamespace(run_manifest="results/pipeline_info/run_manifest.json",
                               release_manifest="results/pipeline_info/release_manifest.json"),
        outputs=SimpleNamespace(crate="results/ro-crate-metadata.json", workflow="results/pipeline_info/workflow"),
        params={"workflow": {"basedir": str(ROOT)}, "title": "Demo run"}, wildcards={}, logger=logging.getLogger("t"))
    run_ro_crate(**smk_like)
    crate = json.loads((results / "ro-crate-metadata.json").read_text())
    assert validate_crate(crate, results) == []
    assert crate["@context"][0] == "https://w3id.org/ro/crate/1.1/context"
    by_id = {e["@id"]: e for e in crate["@graph"]}
    root = by_id["./"]
    assert {c["@id"] for c in root["conformsTo"]} == set(PROFILES)
    workflow = by_id[root["mainEntity"]["@id"]]
    assert workflow["@id"] == "pipeline_info/workflow/Snakefile" and (results / workflow["@id"]).is_file()
    assert set(workflow["@type"]) == {"File", "SoftwareSourceCode", "ComputationalWorkflow"}
    assert by_id[workflow["programmingLanguage"]["@id"]]["name"] == "Snakemake"
    assert {"pipeline_info/workflow/workflow/rules/provenance.smk"} <= {p["@id"] for p in workflow["hasPart"]}
    run = by_id["#run"]
    assert run["@type"] == "CreateAction" and run["instrument"] == {"@id": workflow["@id"]}
    objects = {o["@id"] for o in run["object"]}
    assert {"#input/raw/adsl.csv", "#input/config/m.yaml", "#param/seed", "#param/config"} <= objects
    assert by_id["#input/raw/adsl.csv"]["description"].startswith("raw study file") and "raw/adsl.csv" not in {p["@id"] for p in root["hasPart"]}
    results_ids = {r["@id"] for r in run["result"]}
    assert {"pooled/a1.tsv", "pipeline_info/run_manifest.json", "pipeline_info/release_manifest.json"} <= results_ids
    assert not any(i.startswith("harmonized") for i in results_ids)  # secure zone stays out of the crate
    jobs = [by_id[m["@id"]] for m in root["mentions"] if m["@id"].startswith("#job/")]
    pooled_job = next(j for j in jobs if j["result"] == [{"@id": "pooled/a1.tsv"}])
    assert pooled_job["object"] == [{"@id": "#secure/harmonized/S.parquet"}]
    assert by_id[pooled_job["instrument"]["@id"]]["@type"] == "SoftwareApplication"
    assert by_id["pooled/a1.tsv"]["sha256"] == json.loads((results / "provenance/pooled/a1.tsv.json").read_text())["output"]["sha256"]


def test_validation_names_broken_links(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = _run(tmp_path)
    run_ro_crate(inputs=SimpleNamespace(run_manifest="results/pipeline_info/run_manifest.json",
                                        release_manifest="results/pipeline_info/release_manifest.json"),
                 outputs=SimpleNamespace(crate="results/ro-crate-metadata.json", workflow="results/pipeline_info/workflow"),
                 params={"workflow": {"basedir": str(ROOT)}}, wildcards={}, logger=logging.getLogger("t"))
    crate = json.loads((results / "ro-crate-metadata.json").read_text())
    graph = [e for e in crate["@graph"] if e["@id"] != "#run"]
    problems = validate_crate({**crate, "@graph": graph}, results)
    assert "no CreateAction mentioned by the root has the workflow as instrument" in problems
    (results / "pooled" / "a1.tsv").write_text("changed\n")
    assert "data entity pooled/a1.tsv: sha256 differs from the file" in validate_crate(crate, results)
    assert any("@context" in p for p in validate_crate({**crate, "@context": "https://example.org"}, results))
