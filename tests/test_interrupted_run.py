"""An interrupted run recovers without corrupt output.

The workflow is started, killed with SIGKILL (the whole process group: Snakemake and its jobs)
in the middle of a rule, and rerun the way docs/errors.md tells the user to:

    snakemake --unlock                          # SIGKILL leaves Snakemake's lock behind
    snakemake --cores N --rerun-incomplete      # Snakemake marked the killed job's outputs incomplete

The second run completes and every result file (all but the provenance records, which hold
times and hosts) is byte-identical to an uninterrupted run's. Outputs are written atomically
(temporary file, then rename), so at no moment is a half-written table visible under its name.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from workflow_setup import run_snakemake, snakemake_command, write_run_config

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ["SIM-NEOSPHERE", "SIM-BUZDAR"]  # SAS transport and a flat CSV
ANALYSES = ["pcr_by_hr", "efs_by_hr"]  # estimate_study writes one table per analysis, one after the other
TARGETS = [f"results/pooled/{a}.{ext}" for a in ANALYSES for ext in ("tsv", "json")]

pytestmark = pytest.mark.workflow


def _prepare(work: Path) -> None:
    # data copied in, with a relative data_root: the QC records of two run folders name the same paths
    write_run_config(work, studies=STUDIES, analyses=ANALYSES, copy_data=True)


_command = snakemake_command


def _run(work: Path, *args: str) -> subprocess.CompletedProcess:
    return run_snakemake(work, *args, timeout=300)


def _hashes(work: Path) -> dict[str, str]:
    results = work / "results"
    return {p.relative_to(results).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(results.rglob("*")) if p.is_file() and p.relative_to(results).parts[0] != "provenance"}


def _estimate_tables(work: Path) -> list[Path]:
    folder = work / "results" / "estimates"
    return sorted(folder.glob("*/*.tsv")) if folder.is_dir() else []


def test_a_run_killed_mid_rule_reruns_to_the_same_results(tmp_path):
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    _prepare(reference)
    _prepare(interrupted)

    # Kill when the first study's estimate table appears: its job is still writing the next one.
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen(_command(interrupted, "--cores", "2", *TARGETS), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + 180
            while not _estimate_tables(interrupted) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    at_kill = _estimate_tables(interrupted)
    assert at_kill, (tmp_path / "killed.log").read_text()[-3000:]
    assert len(at_kill) < len(STUDIES) * len(ANALYSES), "the kill came after every estimate was written"
    assert not (interrupted / "results" / "pooled").exists()
    assert list((interrupted / ".snakemake" / "incomplete").iterdir())  # Snakemake knows the job did not finish

    complete = _run(reference, "--cores", "2", *TARGETS)
    assert complete.returncode == 0, complete.stderr[-3000:]
    expected = _hashes(reference)

    # Every file the killed run left under its final name is already complete (atomic writes).
    left = _hashes(interrupted)
    assert left and all(expected[name] == digest for name, digest in left.items() if not name.rsplit("/", 1)[-1].startswith("."))

    unlock = _run(interrupted, "--unlock")
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    rerun = _run(interrupted, "--cores", "2", "--rerun-incomplete", *TARGETS)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _hashes(interrupted) == expected  # no stray temporary file either: the rewrite cleared them
    # (the pooling job draws its forest plot: figures/ too)
    assert all(name.split("/")[0] in ("extracted", "harmonized", "estimates", "pooled", "figures") for name in expected)
