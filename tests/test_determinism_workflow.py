"""End to end: two runs of the same inputs give byte-identical results; the audit, the run and
release manifests, the release check and the RO-Crate work on a real run.

Two 3-study runs (one study of each sponsor shape) run side by side in separate folders, each
with its own copy of the raw packages (so a test may change one without touching the other).
The first runs its jobs in the warm worker (the default, her2meta.warm), the second each job in
its own process: the results must not depend on which.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from her2meta.audit import audit, render_text
from her2meta.cli import main
from her2meta.release import check_release, load_identifiers
from her2meta.rocrate import validate_crate
from workflow_setup import snakemake_command, write_run_config

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ["SIM-NEOSPHERE", "SIM-NEOALTTO", "SIM-BUZDAR"]
ANALYSES = ["pcr_by_hr", "efs_by_hr"]
PROVENANCE = ("provenance", "pipeline_info")  # records, run and release manifests: times, hosts, command lines

pytestmark = pytest.mark.workflow


def _prepare(work: Path) -> None:
    # A self-contained folder (data copied in), so that tampering with a raw file in one run's
    # copy cannot touch the other run or the repository.
    write_run_config(work, studies=STUDIES, analyses=ANALYSES, copy_data=True)


_snakemake = snakemake_command


def _hashes(results: Path) -> dict[str, str]:
    return {p.relative_to(results).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(results.rglob("*")) if p.is_file()
            and p.relative_to(results).parts[0] not in PROVENANCE and p.name != "ro-crate-metadata.json"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    works = [tmp_path_factory.mktemp("run_a"), tmp_path_factory.mktemp("run_b")]
    for work in works:
        _prepare(work)
    modes = [(), ("--config", "warm_worker=False")]
    processes = [subprocess.Popen(_snakemake(work, "--cores", "1", *mode), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for work, mode in zip(works, modes)]
    for process in processes:
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, err[-4000:]
    return works


def test_the_first_run_used_the_warm_worker_and_the_second_did_not(runs):
    def timing_lines(work: Path) -> dict[str, str]:
        return {log.relative_to(work / "logs").as_posix(): line for log in sorted((work / "logs").rglob("*.log"))
                for line in log.read_text().splitlines() if "job timing" in line}

    warm, cold = timing_lines(runs[0]), timing_lines(runs[1])
    assert warm.keys() == cold.keys() and len(warm) > 10
    # The worker starts with the run; jobs that start before it serves run in their own processes.
    ran_warm = [log for log, line in warm.items() if line.endswith("(warm worker)")]
    assert len(ran_warm) >= len(warm) // 2 and "check_release/release.log" in ran_warm
    assert not any("warm worker" in line for line in cold.values())


def _declared_inputs(work: Path, rule: str) -> set[str]:
    """A job's declared inputs, as a dry run with the job forced lists them."""
    dry = subprocess.run(_snakemake(work, "-n", "--forcerun", rule, "--until", rule), capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stderr[-3000:]
    lines = (dry.stdout + dry.stderr).splitlines()
    start = next(i for i, line in enumerate(lines) if line.split(":")[0].split() in (["rule", rule], ["localrule", rule]))
    line = next(line for line in lines[start:] if line.strip().startswith("input:"))
    return set(line.split("input:", 1)[1].strip().split(", "))


def test_jobs_declare_the_records_and_released_files_they_read(runs):
    """With a storage plugin a job has only its declared inputs. The report's provenance appendix
    walks the records of every job before it, and the release check scans the whole release zone:
    both must declare them (provenance.smk: run_rules), or they miss files a rule adds later."""
    work = runs[0]
    files = {p.relative_to(work).as_posix() for p in (work / "results").rglob("*") if p.is_file()}
    records = {f for f in files if f.startswith("results/provenance/")}
    own = {"results/report/index.html", "results/pipeline_info/run_manifest.json",
           "results/pipeline_info/release_manifest.json", "results/pipeline_info/release_manifest.sha256"}
    own |= {f"results/provenance/{f.removeprefix('results/')}.json" for f in own}
    report_inputs = _declared_inputs(work, "render_report")
    assert records - own <= report_inputs
    secure = tuple(f"results/{d}/" for d in ("extracted", "harmonized", "estimates"))
    released = {f for f in files if not f.startswith(secure)} - {f for f in own if "release_manifest" in f}
    assert released <= _declared_inputs(work, "check_release")


def test_two_runs_give_byte_identical_results(runs):
    a, b = (_hashes(work / "results") for work in runs)
    assert a.keys() == b.keys()
    kinds = {Path(p).suffix for p in a}
    assert {".tsv", ".json", ".svg", ".png", ".html", ".parquet"} <= kinds
    different = sorted(p for p in a if a[p] != b[p])
    assert not different, f"files that differ between two runs of the same inputs: {different}"


def test_timestamps_live_only_in_provenance(runs):
    results = runs[0] / "results"
    record = json.loads((results / "provenance" / "pooled" / "pcr_by_hr.tsv.json").read_text())
    day = record["started"][:10]
    for relative in _hashes(results):
        if relative.endswith((".tsv", ".json", ".svg", ".html")):
            assert day not in (results / relative).read_text(errors="ignore"), f"{relative} carries the date {day}"


def test_every_record_has_seed_config_subset_code_and_software(runs):
    results = runs[0] / "results"
    records = [json.loads(p.read_text()) for p in (results / "provenance").rglob("*.json")]
    assert len(records) > 25
    for record in records:
        assert isinstance(record["seed"], int) and record["config"]["subset"]["seed"] == 20261121
        assert record["code"]["source_sha256"] and record["software"]["snakemake"] and record["host"]
        assert record["zone"] in ("secure", "release") and record["started"] <= record["finished"]
    extract = json.loads((results / "provenance" / "extracted" / "SIM-NEOSPHERE.parquet.json").read_text())
    assert {i["role"] for i in extract["inputs"]} == {"mapping", "package"}
    assert extract["config"]["subset"]["data_root"] == "data"


def test_run_manifest(runs):
    manifest = json.loads((runs[0] / "results" / "pipeline_info" / "run_manifest.json").read_text())
    assert "--cores" in manifest["command_line"]["argv"] and manifest["snakemake_version"].startswith("9.")
    assert manifest["config"]["data_root"] == "data" and manifest["config"]["seed"] == 20261121
    assert sorted(r["study_id"] for r in manifest["study_sheet"]["rows"]) == sorted(STUDIES)
    assert {Path(m["path"]).name for m in manifest["mappings"]} == {f"{s}.yaml" for s in STUDIES}
    raw = {e["path"]: e for e in manifest["external_inputs"] if e["role"] == "package"}
    assert raw["data/SIM-NEOSPHERE/adsl.xpt"]["sha256"] == hashlib.sha256(
        (runs[0] / "data/SIM-NEOSPHERE/adsl.xpt").read_bytes()).hexdigest()
    assert manifest["software"]["pandas"] and manifest["code"]["source_sha256"]


def test_release_check_passes_on_the_demo_and_its_manifest_verifies(runs):
    results = runs[0] / "results"
    manifest = json.loads((results / "pipeline_info" / "release_manifest.json").read_text())
    assert manifest["status"] == "passed"  # small counts are suppressed in the release zone
    assert manifest["checks"]["patient_identifiers"]["found"] == [] and manifest["checks"]["row_level_tables"]["found"] == []
    assert manifest["checks"]["patient_identifiers"]["searched"] > 500
    paths = [f["path"] for f in manifest["files"]]
    assert "report/index.html" in paths and "pipeline_info/run_manifest.json" in paths
    assert not any(p.startswith(("extracted/", "harmonized/", "estimates/")) for p in paths)
    verify = subprocess.run(["sha256sum", "-c", "--quiet", "pipeline_info/release_manifest.sha256"], cwd=results,
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_audit_of_a_pooled_table_reaches_the_raw_files(runs, monkeypatch):
    monkeypatch.chdir(runs[0])
    result = audit("results/pooled/pcr_by_hr.tsv")
    assert result.ok and result.studies() == sorted(STUDIES)
    text = render_text(result)
    for expected in ("pool_analysis analysis=pcr_by_hr", "study_chain study=SIM-BUZDAR", "data/SIM-NEOSPHERE/adsl.xpt",
                     "data/SIM-BUZDAR/buzdar.csv", "SIM-NEOALTTO.yaml  "):
        assert expected in text


def test_audit_names_every_changed_or_missing_file(runs, tmp_path, monkeypatch, capsys):
    work = tmp_path / "run"
    shutil.copytree(runs[1], work, symlinks=True)
    monkeypatch.chdir(work)
    with open("data/SIM-BUZDAR/buzdar.csv", "a") as handle:
        handle.write("\n")
    Path("results/harmonized/SIM-NEOALTTO.parquet").unlink()
    result = audit("results/report/index.html")
    assert {(p.location, p.status) for p in result.problems} == {("data/SIM-BUZDAR/buzdar.csv", "changed"),
                                                                 ("results/harmonized/SIM-NEOALTTO.parquet", "missing")}
    assert main(["audit", "results/pooled/efs_by_hr.tsv"]) == 1
    assert "CHANGED    data/SIM-BUZDAR/buzdar.csv" in capsys.readouterr().out
    # The release zone copied out of the secure environment: checked against the recorded hashes alone.
    export = tmp_path / "export"
    for folder in ("pooled", "figures", "report", "provenance", "pipeline_info"):
        shutil.copytree(work / "results" / folder, export / "results" / folder)
    monkeypatch.chdir(export)
    assert main(["audit", "results/pooled/pcr_by_hr.tsv", "--records-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["absent"] > 20


def test_planted_identifier_fails_the_run_and_a_planted_small_cell_is_caught(runs, tmp_path):
    work = tmp_path / "run"
    shutil.copytree(runs[0], work, symlinks=True)
    patient = sorted(load_identifiers([work / "results" / "harmonized" / "SIM-NEOSPHERE.parquet"]))[41]
    svg = work / "results" / "figures" / "pcr_by_hr" / "forest.svg"
    svg.write_text(svg.read_text().replace("</svg>", f'<text x="10" y="10">Caption: outlier is patient {patient}</text></svg>'))
    (work / "results" / "pooled" / "pcr_by_arm.tsv").write_text("study_id\tarm\tn\tevents\nSIM-BUZDAR\tA\t20\t3\n")
    result = subprocess.run(_snakemake(work, "--cores", "2"), capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    log = (work / "logs" / "check_release" / "release.log").read_text()
    assert "release check failed" in log and patient in log and "figures/pcr_by_hr/forest.svg" in log
    assert "report/index.html (embedded figure" in log  # the report re-embedded the planted figure: caught there too
    assert "pooled/pcr_by_arm.tsv (row 1 (study_id=SIM-BUZDAR)): events = 3 < 5" in log
    assert not (work / "results" / "pipeline_info" / "release_manifest.json").exists()
    strict = check_release(work / "results", identifiers=load_identifiers((work / "results" / "harmonized").glob("*.parquet")),
                           strict=True)
    failing = {(f.kind, f.file) for f in strict.failures}
    assert ("patient_identifier", "figures/pcr_by_hr/forest.svg") in failing and ("small_cell", "pooled/pcr_by_arm.tsv") in failing


def test_ro_crate_target(runs, tmp_path):
    work = tmp_path / "run"
    shutil.copytree(runs[0], work, symlinks=True)
    result = subprocess.run(_snakemake(work, "--cores", "1", "write_ro_crate"), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "write_ro_crate" in result.stderr and "render_report" not in result.stderr  # nothing else reran
    results = work / "results"
    crate = json.loads((results / "ro-crate-metadata.json").read_text())
    assert validate_crate(crate, results) == []
    ids = {e["@id"] for e in crate["@graph"]}
    assert {"report/index.html", "pooled/pcr_by_hr.tsv", "pipeline_info/release_manifest.json", "#input/data/SIM-BUZDAR/buzdar.csv",
            "#secure/harmonized/SIM-BUZDAR.parquet"} <= ids
