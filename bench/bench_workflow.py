"""Workflow benchmarks on the demo (run on demand; not part of the test suite).

    python bench/bench_workflow.py [--repeats 5] [--cores 2] [--study SIM-NEOSPHERE]

In a scratch copy of this checkout (its results/ are not touched), `repeats` times:

1. cold run: no results/, logs/ or .snakemake/; `snakemake --cores C`   (target < 30 s on 2 cores)
2. no-op rerun: the same command again, nothing changed                 (target < 3 s)
3. one study's mapping edited (a comment line is added): only that study's chain and the
   pooled outputs downstream must rerun                                 (target < 35% of the cold run)

Prints every run's wall time and CPU time (user + system of Snakemake and all its jobs), the
medians, and the jobs the edit reran, as JSON. Wall times on a shared machine suffer from other
load: the 1-minute load average before each run is recorded beside it, and `--quiet-load X`
waits (up to `--quiet-timeout` s) until it is below X before each timed run.

Rule scripts import the copy's package (PYTHONPATH=<copy>/src), not whatever her2meta is
pip-installed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPY_IGNORE = shutil.ignore_patterns("results", "logs", ".snakemake", ".git", "__pycache__", ".pytest_cache",
                                     ".hypothesis", ".benchmarks", "*.egg-info", "build")


def copy_project(dest: Path) -> Path:
    shutil.copytree(REPO, dest, ignore=COPY_IGNORE, symlinks=True)
    (dest / "results").mkdir(exist_ok=True)
    return dest


def wait_quiet(max_load: float | None, timeout: float) -> None:
    if max_load is None:
        return
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)


def run(cmd: list[str], cwd: Path, log: Path, env: dict) -> dict:
    """Wall and CPU seconds (this process's waited-for descendants) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with open(log, "w") as fh:
        rc = subprocess.call(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise SystemExit(f"{' '.join(cmd)} failed ({rc}) in {cwd}:\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load1": round(load, 2)}


def jobs_run(log: Path) -> list[str]:
    """`rule[wildcards]` for every job in a (non-quiet) Snakemake log, in order."""
    jobs = []
    blocks = re.split(r"(?m)^(?=(?:local)?rule \w+:$)", log.read_text(errors="replace"))
    for block in blocks:
        m = re.match(r"(?:local)?rule (\w+):", block)
        if not m:
            continue
        wc = re.search(r"(?m)^\s+wildcards: (.*)$", block)
        jobs.append(f"{m.group(1)}[{wc.group(1)}]" if wc else m.group(1))
    return jobs


def edit_mapping(path: Path, i: int) -> None:
    """Edit the mapping file (a comment line that changes no extracted value). Snakemake sees a
    newer input and reruns; a substantive edit reruns the same jobs."""
    text = path.read_text(encoding="utf-8")
    path.write_text(f"# benchmark edit {i}\n" + text, encoding="utf-8")


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--study", default="SIM-NEOSPHERE", help="the study whose mapping is edited")
    parser.add_argument("--quiet-load", type=float, help="wait for a 1-min load average below this")
    parser.add_argument("--quiet-timeout", type=float, default=300)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="her2meta-bench."))
    work = copy_project(scratch / "work")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(work / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    snakemake = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
    mapping = work / "config" / "mappings" / f"{args.study}.yaml"
    if not mapping.exists():
        raise SystemExit(f"no mapping {mapping.relative_to(work)} in this checkout")

    cold, noop, edit = [], [], []
    rerun_jobs: list[str] = []
    try:
        for i in range(1, args.repeats + 1):
            for name in ("results", "logs", ".snakemake"):
                shutil.rmtree(work / name, ignore_errors=True)
            (work / "results").mkdir()
            wait_quiet(args.quiet_load, args.quiet_timeout)
            cold.append(run(snakemake, work, scratch / f"cold{i}.log", env))
            wait_quiet(args.quiet_load, args.quiet_timeout)
            noop.append(run(snakemake, work, scratch / f"noop{i}.log", env))
            edit_mapping(mapping, i)
            wait_quiet(args.quiet_load, args.quiet_timeout)
            edit.append(run(snakemake, work, scratch / f"edit{i}.log", env))
            rerun_jobs = jobs_run(scratch / f"edit{i}.log")
            print(f"run {i}: cold {cold[-1]['wall_s']} s, no-op {noop[-1]['wall_s']} s, "
                  f"edit {edit[-1]['wall_s']} s ({len(rerun_jobs)} jobs)", file=sys.stderr)
        cold_jobs = jobs_run(scratch / f"cold{args.repeats}.log")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    cold_med = median([r["wall_s"] for r in cold])
    edit_med = median([r["wall_s"] for r in edit])
    other_studies = sorted({m.group(1) for j in rerun_jobs for m in [re.search(r"study=([\w-]+)", j)] if m}
                           - {args.study})
    result = {
        "cores": args.cores, "cpu_count": os.cpu_count(), "repeats": args.repeats,
        "cold_run": {"runs": cold, "median_wall_s": cold_med, "median_cpu_s": median([r["cpu_s"] for r in cold]),
                     "jobs": len(cold_jobs), "target_s": 30},
        "noop_rerun": {"runs": noop, "median_wall_s": median([r["wall_s"] for r in noop]), "target_s": 3},
        "edit_one_mapping": {
            "study": args.study, "runs": edit, "median_wall_s": edit_med,
            "fraction_of_cold": round(edit_med / cold_med, 3), "target_fraction": 0.35,
            "jobs": rerun_jobs, "other_studies_rerun": other_studies,
        },
    }
    if args.keep:
        result["scratch"] = str(scratch)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
