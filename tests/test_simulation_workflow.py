"""The simulation check as workflow jobs (workflow/rules/simulation.smk, her2meta.stages.simulation).

The fan-out must not change a number: replicates run chunk by chunk in separate jobs give the rows
of run_replicate called directly, and the summary of bench/simulation_check.py for the same
settings. Tiny settings (K = 3 studies, the two-stage parts) keep it fast.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from workflow_setup import ROOT, run_snakemake, write_run_config

from her2meta.schemas import load_schema
from her2meta.stages.simulation import SimulationChunkError, run_chunk, run_summary
from her2meta.validation import (DEFAULTS, PARTS, chunk_replicates, collect, n_chunks, read_chunk, run_replicate,
                                 run_simulation, scenarios_for, simulation_settings)
from her2meta.validation.files import read_chunk_rows, write_chunk

LOGGER = logging.getLogger("test_simulation_workflow")
TINY = {"replicates": 4, "taus": [0.0, 0.2], "k_studies": 3, "chunk_size": 2, "master_seed": 7,
        "parts": ["pcr_two_stage", "efs_two_stage"]}


def load_bench():
    spec = importlib.util.spec_from_file_location("simulation_check_bench", ROOT / "bench" / "simulation_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_argv(settings: dict, out: Path) -> list[str]:
    return ["--replicates", str(settings["replicates"]), "--workers", "1", "--seed", str(settings["master_seed"]),
            "--tau", *[f"{t:g}" for t in settings["taus"]], "--k-studies", str(settings["k_studies"]),
            "--parts", *settings["parts"], "--out", str(out), "--progress-every", "1000"]


def chunk_params(settings: dict, scenario, chunk: int) -> dict:
    """The params the rule simulate_chunk gives the stage."""
    reps = chunk_replicates(chunk, settings["chunk_size"], settings["replicates"])
    return {"scenario": {"name": scenario.name, "tau": scenario.tau, "k_studies": settings["k_studies"]},
            "replicates": [reps.start, reps.stop], "master_seed": settings["master_seed"], "parts": settings["parts"]}


def run_chunks(settings: dict, folder: Path) -> tuple[list[str], list[str]]:
    """Every chunk of every scenario through the stage function, as the workflow's jobs would."""
    rows, infos = [], []
    for scenario in scenarios_for(settings):
        for chunk in range(n_chunks(settings["replicates"], settings["chunk_size"])):
            out = SimpleNamespace(rows=str(folder / scenario.name / f"chunk{chunk}.csv"),
                                  info=str(folder / scenario.name / f"chunk{chunk}.json"))
            run_chunk(inputs=SimpleNamespace(), outputs=out, params=chunk_params(settings, scenario, chunk),
                      wildcards={"scenario": scenario.name, "chunk": str(chunk)}, logger=LOGGER)
            rows.append(out.rows)
            infos.append(out.info)
    return rows, infos


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    """The tiny study through the stage functions, and through bench/simulation_check.py."""
    work = tmp_path_factory.mktemp("simulation")
    rows, infos = run_chunks(TINY, work / "chunks")
    out = SimpleNamespace(markdown=str(work / "workflow" / "simulation_check.md"),
                          json=str(work / "workflow" / "simulation_check.json"),
                          replicates=str(work / "workflow" / "replicates.csv"))
    run_summary(inputs=SimpleNamespace(rows=rows, info=infos), outputs=out, params={"simulation": TINY},
                wildcards={}, logger=LOGGER)
    assert load_bench().main(bench_argv(TINY, work / "bench")) == 0
    return SimpleNamespace(work=work, rows=rows, infos=infos, out=out, bench=work / "bench")


# -- settings --------------------------------------------------------------------------------------

def test_defaults_are_the_single_process_scripts():
    assert DEFAULTS == {"replicates": 500, "taus": [0.0, 0.2], "k_studies": 10, "chunk_size": 25,
                        "master_seed": 20261121, "parts": list(PARTS)}
    args = load_bench().parse_args([])
    assert (args.replicates, args.tau, args.k_studies, args.seed, args.parts) == (
        DEFAULTS["replicates"], DEFAULTS["taus"], DEFAULTS["k_studies"], DEFAULTS["master_seed"], DEFAULTS["parts"])
    schema = load_schema("config")["properties"]["simulation"]["properties"]
    assert schema["parts"]["items"]["enum"] == list(PARTS)
    shipped = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["simulation"]
    assert simulation_settings(shipped) == simulation_settings(None) == DEFAULTS


def test_the_config_schema_takes_the_section_and_fills_its_defaults():
    from her2meta.config import validate_config
    from her2meta.errors import ConfigError

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["simulation"] = {"replicates": 40}
    assert validate_config(config)["simulation"] == {**DEFAULTS, "replicates": 40}
    for bad in ({"replicates": 0}, {"chunk_size": "25"}, {"parts": ["everything"]}, {"taus": [-0.1]}, {"seeds": 1}):
        config["simulation"] = bad
        with pytest.raises(ConfigError):
            validate_config(config)


def test_chunks_cover_every_replicate_once():
    assert n_chunks(500, 25) == 20 and n_chunks(5, 2) == 3 and n_chunks(1, 25) == 1
    assert [list(chunk_replicates(c, 2, 5)) for c in range(3)] == [[0, 1], [2, 3], [4]]
    for replicates, size in ((500, 25), (7, 3), (3, 10)):
        got = [r for c in range(n_chunks(replicates, size)) for r in chunk_replicates(c, size, replicates)]
        assert got == list(range(replicates))
    with pytest.raises(ValueError):
        chunk_replicates(3, 2, 5)


def test_chunk_files_give_back_the_exact_numbers(tmp_path):
    seed = "54304735209175564908410463498881806760043818167620566992546074417134700091111"
    rows = [{"estimand": "pcr_log_or", "method": m, "estimate": 0.1 + 0.2, "se": 1 / 3, "ci_lb": -math.pi,
             "ci_ub": 1e-300, "k": 3, "tau2": tau2, "available": ok, "note": note, "scenario": "tau0.2",
             "replicate": 11, "seed": seed}
            for m, tau2, ok, note in (("FE", math.nan, True, ""), ("DL", 0.0, False, "NA"),
                                      ("REML", 2.5e-17, True, "no, 2"))]
    outputs = [{"scenario": "tau0.2", "replicate": 11, "seed": seed, "rows": rows,
                "timings": {"generate": 0.001, "pcr_two_stage": 0.02}, "n_patients": 900, "n_events": 300}]
    write_chunk(tmp_path / "c.csv", tmp_path / "c.json", outputs, started=1.0, finished=3.5)
    back, info = read_chunk(tmp_path / "c.csv", tmp_path / "c.json")
    pd.testing.assert_frame_equal(pd.DataFrame(back[0]["rows"]), pd.DataFrame(rows))
    assert {k: v for k, v in back[0].items() if k != "rows"} == {k: v for k, v in outputs[0].items() if k != "rows"}
    assert info["wall_seconds"] == 2.5
    assert read_chunk_rows(tmp_path / "c.csv")["seed"].iloc[0] == seed


# -- the stage functions ---------------------------------------------------------------------------

def test_each_chunk_holds_the_rows_of_run_replicate(chunked):
    scenarios = {sc.name: sc for sc in scenarios_for(TINY)}
    assert len(chunked.rows) == 2 * 2
    for rows_path, info_path in zip(chunked.rows, chunked.infos):
        outputs, info = read_chunk(rows_path, info_path)
        assert len(outputs) == TINY["chunk_size"]
        for out in outputs:
            direct = run_replicate(scenarios[out["scenario"]], TINY["master_seed"], out["replicate"], TINY["parts"])
            assert out["seed"] == direct["seed"]
            pd.testing.assert_frame_equal(pd.DataFrame(out["rows"]), pd.DataFrame(direct["rows"]))


def test_chunked_equals_unchunked(chunked):
    """The summary of the chunks is the single-process runner's, to the last bit."""
    outputs = [o for rows, info in zip(chunked.rows, chunked.infos) for o in read_chunk(rows, info)[0]]
    scenarios = scenarios_for(TINY)
    from_chunks = collect(outputs[::-1], scenarios, master_seed=TINY["master_seed"], replicates=TINY["replicates"],
                          parts=TINY["parts"])
    single = run_simulation(scenarios, TINY["replicates"], master_seed=TINY["master_seed"], workers=1,
                            parts=tuple(TINY["parts"]), progress=None)
    pd.testing.assert_frame_equal(from_chunks["rows"], single["rows"])
    pd.testing.assert_frame_equal(from_chunks["table"], single["table"])
    assert from_chunks["kh_check"] == single["kh_check"]
    assert from_chunks["scenarios"] == single["scenarios"]


def test_the_summary_files_equal_the_single_process_scripts(chunked):
    bench = chunked.bench
    assert Path(chunked.out.replicates).read_bytes() == (bench / "replicates.csv").read_bytes()
    mine = json.loads(Path(chunked.out.json).read_text())
    theirs = json.loads((bench / "simulation_check.json").read_text())
    for key in ("summary", "kh_check", "scenarios"):
        assert mine[key] == theirs[key], key
    for key in ("master_seed", "replicates", "parts", "mean_patients_per_replicate", "mean_events_per_replicate"):
        assert mine["meta"][key] == theirs["meta"][key], key
    assert mine["meta"]["workers"] == "4 workflow jobs" and mine["meta"]["chunk_size"] == 2

    def tables(md: str) -> str:  # everything from the first scenario table on (above it: command and timings)
        return md[md.index("## Scenario"):]

    assert tables(Path(chunked.out.markdown).read_text()) == tables((bench / "simulation_check.md").read_text())


def test_the_summary_refuses_a_missing_chunk(chunked, tmp_path):
    out = SimpleNamespace(markdown=str(tmp_path / "a.md"), json=str(tmp_path / "a.json"),
                          replicates=str(tmp_path / "a.csv"))
    with pytest.raises(SimulationChunkError, match="missing"):
        run_summary(inputs=SimpleNamespace(rows=chunked.rows[1:], info=chunked.infos[1:]), outputs=out,
                    params={"simulation": TINY}, wildcards={}, logger=LOGGER)


def test_a_chunk_refuses_a_scenario_that_is_not_its_tau(tmp_path):
    params = chunk_params(TINY, scenarios_for(TINY)[1], 0)
    with pytest.raises(SimulationChunkError):
        run_chunk(inputs=SimpleNamespace(), outputs=SimpleNamespace(rows=str(tmp_path / "r.csv"),
                                                                    info=str(tmp_path / "i.json")),
                  params=params, wildcards={"scenario": "tau0", "chunk": "0"}, logger=LOGGER)


# -- the workflow ----------------------------------------------------------------------------------

def workflow_dir(work: Path, simulation: dict) -> Path:
    write_run_config(work, studies=["SIM-NEOSPHERE"], analyses=["pcr_by_hr"])
    path = work / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["simulation"] = simulation
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return work


def job_counts(stdout: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stdout, flags=re.M)}


@pytest.mark.workflow
def test_dry_run_lists_one_job_per_chunk_and_the_default_run_none(tmp_path):
    # 5 replicates in chunks of 2: 3 jobs per scenario, the last with one replicate
    work = workflow_dir(tmp_path, {"replicates": 5, "chunk_size": 2, "taus": [0, 0.2, 0.5]})
    result = run_snakemake(work, "-n", "simulation_check", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout)
    assert counts["simulate_chunk"] == 3 * 3
    assert counts["summarise_simulation"] == 1 and counts["simulation_check"] == 1
    for scenario in ("tau0", "tau0.2", "tau0.5"):
        assert f"results/simulation/chunks/{scenario}/chunk2.csv" in result.stdout
    assert "chunk3" not in result.stdout
    default = run_snakemake(work, "-n", timeout=300)
    assert default.returncode == 0, default.stdout + default.stderr
    assert not {"simulate_chunk", "summarise_simulation", "simulation_check"} & set(job_counts(default.stdout))


@pytest.mark.workflow
def test_a_tiny_real_run_gives_the_single_process_numbers(tmp_path):
    settings = {"replicates": 3, "taus": [0.2], "k_studies": 3, "chunk_size": 2, "master_seed": 11,
                "parts": ["pcr_two_stage", "efs_two_stage"]}
    work = workflow_dir(tmp_path / "run", settings)
    started = time.perf_counter()
    result = run_snakemake(work, "--cores", "2", "simulation_check", timeout=600)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"tiny simulation_check run (2 chunks + summary): {elapsed:.1f} s")
    out = work / "results" / "simulation"
    assert sorted(p.name for p in (out / "chunks" / "tau0.2").iterdir()) == [
        "chunk0.csv", "chunk0.json", "chunk1.csv", "chunk1.json"]
    assert load_bench().main(bench_argv(settings, tmp_path / "bench")) == 0
    assert (out / "replicates.csv").read_bytes() == (tmp_path / "bench" / "replicates.csv").read_bytes()
    mine = json.loads((out / "simulation_check.json").read_text())
    theirs = json.loads((tmp_path / "bench" / "simulation_check.json").read_text())
    assert mine["summary"] == theirs["summary"]
    assert mine["meta"]["command"].startswith("snakemake") and "simulation_check" in mine["meta"]["command"]
    assert (work / "logs" / "simulate_chunk" / "tau0.2" / "chunk1.log").is_file()
    # nothing else ran: the default target's outputs do not exist
    assert not (work / "results" / "pooled").exists()
