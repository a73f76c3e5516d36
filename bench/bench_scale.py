"""Scale benchmark (run on demand; not part of the test suite).

Generates N synthetic 2-arm trials of P patients each with the simulator (CDISC ADaM shape,
``random_study_spec`` + ``write_study``), a study sheet, one mapping per study (a copy of
config/mappings/SIM-NEOSPHERE.yaml with its study_id replaced and ``Chemotherapy: paclitaxel``
added to its abbreviations, the random trials' arm label) and a config
(<workdir>/config/config.yaml: a copy of config/config.yaml pointing at them (the packages carry
the SYNTHETIC marker, so the report says they are synthetic), keeping the primary analyses, pCR and EFS by HR status), then times Snakemake on them:

    python bench/bench_scale.py                        # N = 10, 50, 200; P = 1,000
    python bench/bench_scale.py --studies 200 --repeats 1 --dry-repeats 3
    python bench/bench_scale.py --studies 10 --profile-jobs   # where a job's time goes
    python bench/bench_scale.py --analyses all                # every analysis in config.yaml

For each N: the dry run (``snakemake -n``, fresh working directory: the whole DAG is built)
and the full run (``snakemake --cores C``, cold: no results, no .snakemake), every run's wall
time, the median, the number of jobs and seconds per study. Targets at N = 200: dry run under
10 s, full run under 5 minutes; wall time should grow linearly (or better) with N.

The workflow is this checkout's (``-s <repo>/Snakefile --directory <scratch>/n<N>``), and
``PYTHONPATH=<repo>/src`` so rule scripts import this checkout's package even where another
checkout is pip-installed in editable mode. Generated data are cached in the scratch folder
(default: a fresh temporary folder; ``--scratch DIR`` to reuse one between invocations).
Results are printed as JSON (and written to ``--json FILE``).
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
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, wait_quiet  # noqa: E402

# The headline comparisons (HR-positive vs HR-negative pCR and EFS); the run makes everything
# the default target asks for them (estimates, pooling, sensitivity, figures, tables, report).
PRIMARY_ANALYSES = ["pcr_by_hr", "efs_by_hr"]
SHEET_COLUMNS = [
    "study_id", "label", "data_source", "path", "mapping", "design", "setting", "year",
    "primary_pcr_definition", "risk_of_bias", "published_reference", "published_n",
    "published_pcr_by_arm", "include", "exclusion_reason",
]


def study_ids(n: int) -> list[str]:
    return [f"SCALE-{i:04d}" for i in range(1, n + 1)]


def generate_data(data_root: Path, n: int, patients: int, seed: int) -> dict:
    """Write studies SCALE-0001..N under data_root (skipping those already written)."""
    import numpy as np

    from her2meta.simulate import random_study_spec, write_study

    data_root.mkdir(parents=True, exist_ok=True)
    specs = {}
    written = 0
    start = time.perf_counter()
    for i, sid in enumerate(study_ids(n), start=1):
        spec = random_study_spec(sid, patients, np.random.default_rng([seed, i]))
        specs[sid] = spec
        marker = data_root / sid / "MANIFEST.txt"
        if marker.exists() and (data_root / sid / ".patients").read_text() == str(patients):
            continue
        write_study(spec, data_root, seed=seed)
        (data_root / sid / ".patients").write_text(str(patients))
        written += 1
    return {"specs": specs, "written": written, "seconds": time.perf_counter() - start}


def make_workdir(workdir: Path, data_root: Path, specs: dict, n: int, analyses: list[str] | None = None) -> None:
    """Study sheet, mappings and config for the first n studies, in a fresh working directory.
    `analyses`: keep only these analyses of config/config.yaml (None: all of them)."""
    import yaml

    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "mappings").mkdir(parents=True)
    template = (REPO / "config" / "mappings" / "SIM-NEOSPHERE.yaml").read_text(encoding="utf-8")
    rows = ["\t".join(SHEET_COLUMNS)]
    for sid in study_ids(n):
        spec = specs[sid]
        mapping = re.sub(r"(?m)^study_id: .*$", f"study_id: {sid}", template, count=1)
        # random_study_spec's arms are "Chemotherapy + Trastuzumab [+ Pertuzumab]" (paclitaxel)
        mapping += "abbreviations:\n  Chemotherapy: paclitaxel\n"
        (workdir / "mappings" / f"{sid}.yaml").write_text(mapping, encoding="utf-8")
        values = {
            "study_id": sid, "label": f"Scale study {sid[-4:]} (synthetic)", "data_source": "ipd",
            "path": sid, "mapping": f"mappings/{sid}.yaml", "design": spec.design,
            "setting": spec.setting, "year": "2015",
            "primary_pcr_definition": spec.primary_pcr_definition or "",
            "risk_of_bias": "low", "published_reference": "Synthetic; random specification",
            "published_n": "", "published_pcr_by_arm": "", "include": "true", "exclusion_reason": "",
        }
        rows.append("\t".join(values[c] for c in SHEET_COLUMNS))
    (workdir / "studies.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    config["studies"] = "studies.tsv"
    config["data_root"] = str(data_root)
    if analyses:
        unknown = sorted(set(analyses) - set(config["analyses"]))
        if unknown:
            raise SystemExit(f"not in config/config.yaml: {unknown}")
        config["analyses"] = {a: config["analyses"][a] for a in analyses}
        if isinstance(config.get("sensitivity"), dict) and "analyses" in config["sensitivity"]:
            config["sensitivity"]["analyses"] = [a for a in config["sensitivity"]["analyses"] if a in analyses]
    (workdir / "config").mkdir()
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def snakemake_cmd(workdir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), *extra]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def clean(workdir: Path) -> None:
    for name in ("results", "logs", ".snakemake"):
        shutil.rmtree(workdir / name, ignore_errors=True)



def timed(cmd: list[str], log: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (Snakemake and all its jobs) and the load average before."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        raise SystemExit(f"command failed ({rc}): {' '.join(cmd)}\n" + "\n".join(tail))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, load


def count_jobs(log: Path) -> dict[str, int]:
    """Jobs per rule from a run's output (the `rule NAME:` / `localrule NAME:` headers)."""
    counts: dict[str, int] = {}
    for m in re.finditer(r"(?m)^(?:local)?rule (\w+):$", log.read_text(errors="replace")):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def profile_jobs(workdir: Path) -> dict:
    """Per rule: jobs and median seconds from start to finish of the rule script (provenance
    records, 1 s resolution), to set against the wall time per job."""
    import datetime as dt

    per_rule: dict[str, list[float]] = {}
    for rec in (workdir / "results" / "provenance").rglob("*.json"):
        d = json.loads(rec.read_text())
        if "started" in d and "finished" in d and "rule" in d:
            s = dt.datetime.fromisoformat(d["started"])
            f = dt.datetime.fromisoformat(d["finished"])
            per_rule.setdefault(d["rule"], []).append((f - s).total_seconds())
    # one record per output: a job with two outputs is counted once per output
    return {r: {"records": len(v), "median_s": statistics.median(v), "total_s": sum(v)}
            for r, v in sorted(per_rule.items())}


def script_startup(repeats: int = 5) -> dict:
    """Seconds to start an interpreter and import each stage (what every job pays first)."""
    stages = ["extract", "harmonize", "estimate", "pool", "figures", "report"]
    out = {}
    for stage in stages:
        code = ("import sys; sys.path.insert(0, %r); import snakemake.iocontainers, snakemake.logging; "
                "from her2meta.snakemake_adapter import run_job; from her2meta.stages.%s import run"
                % (str(REPO / "src"), stage))
        times = []
        for _ in range(repeats):
            s = time.perf_counter()
            if subprocess.call([sys.executable, "-c", code], env=env()) != 0:
                times = []
                break
            times.append(time.perf_counter() - s)
        out[stage] = round(statistics.median(times), 3) if times else None
    s = time.perf_counter()
    subprocess.call([sys.executable, "-c", "pass"])
    out["bare_interpreter"] = round(time.perf_counter() - s, 3)
    return out


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3, help="cold full runs per N")
    parser.add_argument("--dry-repeats", type=int, default=3, help="dry runs per N")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--analyses", nargs="+", default=PRIMARY_ANALYSES,
                        help="analyses kept from config/config.yaml (default: the primary pCR and EFS "
                             "comparisons); 'all' keeps every one")
    parser.add_argument("--scratch", type=Path, help="folder for generated data and runs (kept)")
    parser.add_argument("--no-run", action="store_true", help="dry runs only")
    parser.add_argument("--quiet-load", type=float, help="before each run, wait for a 1-min load average below this")
    parser.add_argument("--quiet-timeout", type=float, default=600)
    parser.add_argument("--profile-jobs", action="store_true",
                        help="also report per-rule script time and interpreter+import time per stage")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="her2meta-scale."))
    scratch.mkdir(parents=True, exist_ok=True)
    data_root = scratch / f"data-p{args.patients}-s{args.seed}"
    gen = generate_data(data_root, max(args.studies), args.patients, args.seed)
    results: dict = {
        "repo": str(REPO), "scratch": str(scratch), "patients": args.patients, "cores": args.cores,
        "cpu_count": os.cpu_count(), "analyses": args.analyses, "generated_studies": gen["written"],
        "generation_s": round(gen["seconds"], 1), "runs": {},
    }
    for n in sorted(args.studies):
        workdir = scratch / f"n{n}"
        make_workdir(workdir, data_root, gen["specs"], n, None if args.analyses == ["all"] else args.analyses)
        entry: dict = {"dry_run_s": [], "dry_run_load1": [], "full_run_s": [], "full_run_cpu_s": [],
                       "full_run_load1": []}
        for i in range(args.dry_repeats):
            clean(workdir)
            wait_quiet(args.quiet_load, args.quiet_timeout)
            wall, _, load = timed(snakemake_cmd(workdir, "-n", "--cores", str(args.cores)), workdir.parent / f"n{n}-dry{i}.log")
            entry["dry_run_s"].append(round(wall, 2)); entry["dry_run_load1"].append(round(load, 2))
            print(f"N={n} dry run {i + 1}: {wall:.2f} s (load {load:.2f})", file=sys.stderr)
        entry["dry_run_median_s"] = median(entry["dry_run_s"])
        if not args.no_run:
            for i in range(args.repeats):
                clean(workdir)
                log = workdir.parent / f"n{n}-run{i}.log"
                wait_quiet(args.quiet_load, args.quiet_timeout)
                wall, cpu, load = timed(snakemake_cmd(workdir, "--cores", str(args.cores)), log)
                entry["full_run_s"].append(round(wall, 1)); entry["full_run_cpu_s"].append(round(cpu, 1))
                entry["full_run_load1"].append(round(load, 2))
                print(f"N={n} full run {i + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU (load {load:.2f})", file=sys.stderr)
            entry["jobs"] = count_jobs(log)
            entry["jobs_total"] = sum(entry["jobs"].values())
            entry["full_run_median_s"] = median(entry["full_run_s"])
            entry["full_run_median_cpu_s"] = median(entry["full_run_cpu_s"])
            entry["seconds_per_study"] = round(entry["full_run_median_s"] / n, 3)
            entry["seconds_per_job"] = round(entry["full_run_median_s"] / entry["jobs_total"], 3)
            if args.profile_jobs:
                entry["script_seconds_by_rule"] = profile_jobs(workdir)
        results["runs"][str(n)] = entry
    if args.profile_jobs:
        results["interpreter_and_imports_s"] = script_startup()
    ns = sorted(int(k) for k in results["runs"])
    if len(ns) > 1 and "full_run_median_s" in results["runs"][str(ns[0])]:
        base = results["runs"][str(ns[0])]["full_run_median_s"]
        results["growth"] = {
            str(n): {"studies_ratio": n / ns[0], "time_ratio": round(results["runs"][str(n)]["full_run_median_s"] / base, 2)}
            for n in ns}
    results["targets"] = {"dry_run_200_s": 10, "full_run_200_s": 300, "growth": "linear or better"}
    emit_json(results, args.json)
    if not args.scratch:
        print(f"(scratch folder {scratch} kept for inspection; remove it when done)", file=sys.stderr)


if __name__ == "__main__":
    main()
