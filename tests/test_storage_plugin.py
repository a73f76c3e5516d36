"""A run with a storage plugin and no shared file system, as on a cloud executor: every job
fetches its declared inputs from storage into a local copy and sends its outputs back
(snakemake-storage-plugin-fs, a folder standing in for a bucket; it copies with rsync).

Every result must reach storage with its provenance record, the report must build its
provenance appendix from records it fetched, and the release check must scan the whole release
zone, not only what its job happened to have.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from system_tools import system_program
from workflow_setup import snakemake_command, write_run_config

import snakemake_storage_plugin_fs  # noqa: F401  (the cluster extra, installed by the README and CI)

_RSYNC, NEEDS_RSYNC = system_program("rsync", install="apt-get install -y rsync; the fs storage plugin copies with it")
pytestmark = [pytest.mark.workflow, NEEDS_RSYNC]

SECURE = ("extracted", "harmonized", "estimates")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    work = tmp_path_factory.mktemp("storage_run")
    write_run_config(work, studies=["SIM-NEOSPHERE", "SIM-NSABPB41", "SIM-BUZDAR"], analyses=["pcr_by_hr", "efs_by_hr"],
                     sensitivity=["pcr_by_hr"], copy_data=True)
    # Every input lives in storage, so the mappings too, by relative path (the test sheet names
    # the repository's copies by absolute path).
    sheet = pd.read_csv(work / "config" / "studies.tsv", sep="\t", dtype=str, keep_default_na=False)
    (work / "config" / "mappings").mkdir()
    for mapping in filter(None, sheet["mapping"]):
        shutil.copy2(mapping, work / "config" / "mappings" / Path(mapping).name)
    sheet["mapping"] = [f"config/mappings/{Path(m).name}" if m else "" for m in sheet["mapping"]]
    sheet.to_csv(work / "config" / "studies.tsv", sep="\t", index=False)
    store = work / "store"
    for folder in ("config", "data"):  # the inputs, uploaded to the "bucket" first
        shutil.copytree(work / folder, store / folder)
    run = subprocess.run(snakemake_command(work, "--cores", "2", "--default-storage-provider", "fs",
                                           "--default-storage-prefix", str(store), "--shared-fs-usage", "none"),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    return work, store / "results"


def test_every_result_reaches_storage_with_its_record(stored):
    work, results = stored
    files = {p.relative_to(results).as_posix() for p in results.rglob("*") if p.is_file()}
    outputs = {f for f in files if not f.startswith("provenance/")}
    assert "report/index.html" in outputs and "pipeline_info/release_manifest.json" in outputs
    assert {f"provenance/{f}.json" for f in outputs} == files - outputs
    assert not (work / ".snakemake" / "provenance").exists()  # where undeclared records used to land
    record = json.loads((results / "provenance" / "pooled" / "pcr_by_hr.tsv.json").read_text())
    assert record["zone"] == "release" and record["results_dir"].endswith("results")


def test_the_report_and_the_release_check_saw_everything(stored):
    _work, results = stored
    appendix = (results / "report" / "index.html").read_text()
    assert "SIM-BUZDAR" in appendix and "adsl.xpt" in appendix  # raw files reached through the records
    manifest = json.loads((results / "pipeline_info" / "release_manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    release_zone = {p.relative_to(results).as_posix() for p in results.rglob("*")
                    if p.is_file() and p.relative_to(results).parts[0] not in SECURE}
    checker = {"pipeline_info/release_manifest.json", "pipeline_info/release_manifest.sha256"}
    checker |= {f"provenance/{f}.json" for f in checker}
    assert listed == release_zone - checker
