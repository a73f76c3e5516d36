"""Workflow benchmarks on the demo (run on demand; not part of the test suite).

    python bench/bench_workflow.py [--repeats 5] [--cores 2] [--study SIM-NEOSPHERE]

In a scratch copy of this checkout (its results/ are not touched), `repeats` times:

1. cold run: no results/, logs/ or .snakemake/; `snakemake --cores C`   (target < 30 s on 2 cores)
2. no-op rerun: the same command again, nothing changed                 (target < 3 s)
3. one study's mapping edited (a comment line is added): only that study's chain and the
   pooled outputs downstream must rerun                                 (target < 35% of the cold run)

Per-job overhead (from the cold runs): every job logs `job timing: startup S s, stage W s,
provenance P s, total T s` (her2meta.snakemake_adapter), where start-up is everything before the
stage runs: the job process's interpreter and Snakemake's script preamble, then either the
imports or (with the warm worker, the default) the hand-over to a forked child. Reported: the median job's total wall time (target < 0.6 s),
the share of all jobs' time spent starting up, and the same per rule.

Prints every run's wall time and CPU time (user + system of Snakemake and all its jobs), the
medians, and the jobs the edit reran, as JSON. Wall times on a shared machine suffer from other
load: the 1-minute load average before each run is recorded beside it, and `--quiet-load X`
waits (up to `--quiet-timeout` s) until it is below X before each timed run.

Rule scripts import the copy's package (PYTHONPATH=<copy>/src), not whatever her2meta is
pip-installed.
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, wait_quiet  # noqa: E402
COPY_IGNORE = shutil.ignore_patterns("results", "logs", ".snakemake", ".git", "__pycache__", ".pytest_cache",
                                     ".hypothesis", ".benchmarks", "*.egg-info", "build")


def copy_project(dest: Path) -> Path:
    shutil.copytree(REPO, dest, ignore=COPY_IGNORE, symlinks=True)
    (dest / "results").mkdir(exist_ok=True)
    return dest



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


TIMING = re.compile(r"job timing: startup ([\d.]+) s, stage ([\d.]+) s, provenance ([\d.]+) s, total ([\d.]+) s")


def job_timings(logs: Path) -> list[dict]:
    """One record per job log under logs/<rule>/...: rule and its timing line."""
    records = []
    for path in sorted(logs.rglob("*.log")):
        found = TIMING.findall(path.read_text(errors="replace"))
        if found:
            startup, stage, provenance, total = map(float, found[-1])
            records.append({"rule": path.relative_to(logs).parts[0], "startup_s": startup, "stage_s": stage,
                            "provenance_s": provenance, "total_s": total})
    return records


def summarise_jobs(records: list[dict]) -> dict:
    def med(key, rows):
        return round(statistics.median(r[key] for r in rows), 3)

    total = sum(r["total_s"] for r in records)
    by_rule = {}
    for rule in sorted({r["rule"] for r in records}):
        rows = [r for r in records if r["rule"] == rule]
        by_rule[rule] = {"jobs": len(rows), "median_total_s": med("total_s", rows),
                         "median_startup_s": med("startup_s", rows), "median_stage_s": med("stage_s", rows)}
    return {"jobs": len(records), "median_total_s": med("total_s", records),
            "median_startup_s": med("startup_s", records), "median_stage_s": med("stage_s", records),
            "startup_share": round(sum(r["startup_s"] for r in records) / total, 3), "sum_total_s": round(total, 1),
            "target_median_total_s": 0.6, "by_rule": by_rule}


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

    cold, noop, edit, per_job = [], [], [], []
    rerun_jobs: list[str] = []
    try:
        for i in range(1, args.repeats + 1):
            for name in ("results", "logs", ".snakemake"):
                shutil.rmtree(work / name, ignore_errors=True)
            (work / "results").mkdir()
            wait_quiet(args.quiet_load, args.quiet_timeout)
            cold.append(run(snakemake, work, scratch / f"cold{i}.log", env))
            per_job.append(summarise_jobs(job_timings(work / "logs")))
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
        "per_job": {"median_total_s": median([r["median_total_s"] for r in per_job]),
                    "median_startup_s": median([r["median_startup_s"] for r in per_job]),
                    "startup_share": median([r["startup_share"] for r in per_job]),
                    "runs": per_job},
        "noop_rerun": {"runs": noop, "median_wall_s": median([r["wall_s"] for r in noop]), "target_s": 3},
        "edit_one_mapping": {
            "study": args.study, "runs": edit, "median_wall_s": edit_med,
            "fraction_of_cold": round(edit_med / cold_med, 3), "target_fraction": 0.35,
            "jobs": rerun_jobs, "other_studies_rerun": other_studies,
        },
    }
    if args.keep:
        result["scratch"] = str(scratch)
    emit_json(result, args.json)


if __name__ == "__main__":
    main()
