"""The scale benchmark's inputs stay valid as the workflow evolves (the benchmark itself is
bench/bench_scale.py, run on demand): a few generated studies give a DAG with one chain per study."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.workflow


def bench_scale():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "bench_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_studies_make_a_valid_workflow(tmp_path):
    bench = bench_scale()
    generated = bench.generate_data(tmp_path / "data", 3, patients=60, seed=7)
    assert generated["written"] == 3
    assert bench.generate_data(tmp_path / "data", 3, patients=60, seed=7)["written"] == 0  # cached
    work = tmp_path / "n3"
    bench.make_workdir(work, tmp_path / "data", generated["specs"], 3)
    result = subprocess.run(bench.snakemake_cmd(work, "-n", "--cores", "1"), capture_output=True, text=True,
                            env=bench.env(), timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    counts = dict(re.findall(r"(?m)^(\w+)\s+(\d+)$", result.stdout))
    assert counts.get("study_chain") == "3", counts


def test_rerun_job_list_is_parsed(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_workflow", ROOT / "bench" / "bench_workflow.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log = tmp_path / "edit.log"
    text = ("[Sat]\nrule extract_study:\n    input: a\n    wildcards: study=SIM-X\n    resources: x\n"
            "[Sat]\nrule pool_analysis:\n    wildcards: analysis=pcr_by_hr\n"
            "[Sat]\nlocalrule all:\n    input: b\n")
    log.write_text(text)
    assert module.jobs_run(log) == ["extract_study[study=SIM-X]", "pool_analysis[analysis=pcr_by_hr]", "all"]
