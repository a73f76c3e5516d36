"""Provenance records: seeds, config subsets, input roles, zones, and the adapter that writes them."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from her2meta import provenance
from her2meta.provenance import config_subset, derive_seed, job_seed, record_path, write_records, zone_of
from her2meta.snakemake_adapter import input_roles, run_job

CONFIG = {
    "studies": "config/studies.tsv",
    "data_root": "resources/demo",
    "seed": 20261121,
    "analyses": {"a1": {"type": "binary", "measure": "OR"}, "a2": {"type": "survival", "measure": "HR"}},
    "pooling": {"methods": ["FE", "REML"], "primary": "REML", "level": 95},
    "report": {"title": "T"},
}


class Named(list):
    """The shape of snakemake's Namedlist: a list whose named parts are also attributes."""

    def __init__(self, **named):
        super().__init__()
        self._names = list(named)
        for name, value in named.items():
            setattr(self, name, value)
            self.extend(value if isinstance(value, list) else [value])

    def items(self):
        return [(name, getattr(self, name)) for name in self._names]


def test_job_seed_is_derived_from_global_seed_rule_and_sorted_wildcards():
    a = job_seed(20261121, "estimate_study", {"study": "S1", "analysis": "a1"})
    assert a == job_seed(20261121, "estimate_study", {"analysis": "a1", "study": "S1"})
    assert a == derive_seed(20261121, "estimate_study", "analysis=a1", "study=S1")
    assert a != job_seed(20261121, "estimate_study", {"study": "S2", "analysis": "a1"})
    assert a != job_seed(20261122, "estimate_study", {"study": "S1", "analysis": "a1"})
    assert a != job_seed(20261121, "pool_analysis", {"study": "S1", "analysis": "a1"})
    assert 0 <= a < 2**32 and job_seed(None, "r", {}) is None


def test_config_subset_takes_the_sections_params_came_from():
    params = {"analysis": CONFIG["analyses"]["a1"], "pooling": CONFIG["pooling"], "level": 95, "labels": {"S1": "x"}}
    subset = config_subset(CONFIG, params)
    assert subset == {"seed": 20261121, "analyses": {"a1": CONFIG["analyses"]["a1"]}, "pooling": CONFIG["pooling"]}
    assert config_subset(CONFIG, {"level": 95}) == {"seed": 20261121, "pooling": {"level": 95}}
    assert config_subset(CONFIG, {"package_dir": "resources/demo/S1"})["data_root"] == "resources/demo"
    assert config_subset(CONFIG, {"config": CONFIG}) == CONFIG


def test_zones_and_record_paths(tmp_path):
    results = tmp_path / "results"
    assert zone_of(results / "harmonized" / "S1.parquet", results) == "secure"
    assert zone_of(results / "estimates" / "a1" / "S1.tsv", results) == "secure"
    assert zone_of(results / "pooled" / "a1.tsv", results) == "release"
    assert zone_of(results / "provenance" / "pooled" / "a1.tsv.json", results) == "release"
    assert zone_of(tmp_path / "resources" / "x.csv", results) == "outside"
    assert record_path(results / "pooled" / "a1.tsv", results) == results / "provenance" / "pooled" / "a1.tsv.json"


def test_write_records_has_every_field_the_audit_needs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("raw").mkdir()
    Path("raw/a.csv").write_text("x\n1\n")
    Path("results/pooled").mkdir(parents=True)
    Path("results/pooled/a1.tsv").write_text("estimate\n1\n")
    import datetime as dt

    written = write_records(rule="pool_analysis", wildcards={"analysis": "a1"}, inputs=["raw/a.csv", "raw/missing.csv"],
                            outputs=["results/pooled/a1.tsv"], params={"pooling": CONFIG["pooling"]}, results_dir="results",
                            project_root=tmp_path, started=dt.datetime.now(dt.timezone.utc), seed=7,
                            input_roles={"raw/a.csv": "package"}, config=CONFIG)
    assert written == [Path("results/provenance/pooled/a1.tsv.json")]
    record = json.loads(written[0].read_text())
    assert record["schema"] == provenance.RECORD_SCHEMA and record["zone"] == "release"
    assert record["inputs"][0] == {"path": "raw/a.csv", "sha256": provenance.sha256_file("raw/a.csv"), "role": "package"}
    assert record["inputs"][1]["sha256"] is None and "missing" in record["inputs"][1]["note"]
    assert record["output"]["path"] == "results/pooled/a1.tsv" and len(record["output"]["sha256"]) == 64
    assert record["seed"] == 7 and "sha-256" in record["seed_derivation"].lower()
    assert record["config"]["subset"] == {"seed": 20261121, "pooling": CONFIG["pooling"]}
    assert len(record["config"]["sha256"]) == 64
    assert record["results_dir"] == "results" and record["workdir"] == str(tmp_path)
    assert set(record["code"]) >= {"git_commit", "git_dirty", "source_sha256"}
    assert record["software"]["python"] and record["started"] <= record["finished"] and record["host"]


def test_input_roles_maps_each_path_to_its_named_input():
    inputs = Named(mapping="config/m.yaml", package=["raw/a.csv", "raw/b.csv"])
    assert input_roles(inputs) == {"config/m.yaml": "mapping", "raw/a.csv": "package", "raw/b.csv": "package"}


def test_run_job_records_seed_config_and_roles_and_hands_the_seed_to_the_stage(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("raw").mkdir()
    Path("raw/a.csv").write_text("x\n1\n")
    seen = {}

    def stage(*, inputs, outputs, params, wildcards, logger):
        seen.update(params)
        Path(outputs.table).parent.mkdir(parents=True, exist_ok=True)
        Path(outputs.table).write_text("ok\n")

    smk = SimpleNamespace(
        rule="extract_study", input=Named(package=["raw/a.csv"]), output=Named(table="results/extracted/S1.tsv"),
        params=Named(package_dir="resources/demo/S1"), wildcards=Named(study="S1"), log=Named(log="logs/x.log"),
        config=CONFIG, scriptdir=str(tmp_path / "workflow" / "scripts"),
    )
    run_job(smk, stage)
    record = json.loads(Path("results/provenance/extracted/S1.tsv.json").read_text())
    expected = job_seed(CONFIG["seed"], "extract_study", {"study": "S1"})
    assert seen["seed"] == expected == record["seed"]
    assert "seed" not in record["params"]  # the declared params, as resolved
    assert record["inputs"][0]["role"] == "package" and record["zone"] == "secure"
    assert record["config"]["subset"] == {"seed": CONFIG["seed"], "data_root": "resources/demo"}
    assert Path("logs/x.log").is_file()


def test_run_job_failure_exits_non_zero_and_writes_no_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def stage(**_):
        raise ValueError("boom")

    smk = SimpleNamespace(rule="r", input=Named(), output=Named(out="results/x/y.txt"), params=Named(), wildcards=Named(),
                          log=Named(log="logs/r.log"), config={}, scriptdir=str(tmp_path / "workflow" / "scripts"))
    with pytest.raises(SystemExit) as exc:
        run_job(smk, stage)
    assert exc.value.code == 1
    assert not Path("results/provenance").exists()
    assert "boom" in Path("logs/r.log").read_text()
