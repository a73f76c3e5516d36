"""The demo's cold run against the plain R script on the same data (run on demand).

    python bench/demo_vs_r.py [--results results] [--repeats 5] [--workflow-json FILE]

bench/compute_path.R computes the two primary estimates (per-study pCR log OR and EFS log HR,
HR-positive vs HR-negative) and pools them with REML, from one CSV of harmonized data. Here it
runs on the demo's harmonized IPD (results/harmonized/*.parquet of a finished run, written to a
temporary CSV that is deleted afterwards: patient-level data stay in the secure zone), each
repeat as a fresh `Rscript` process. The script also times extras (its own start-up, the tau2
interval, fully converged refits for the agreement check), so its outside wall time overstates
a plain analysis: the figure compared is R's start-up (a fresh Rscript loading survival and
metafor) plus its timed compute path (read, pCR, Cox, pooling), medians over the repeats. With
--workflow-json (the output of bench/bench_workflow.py --json) the ratio of the workflow's cold
run to the R script is printed. The comparison is deliberately unequal: the R script starts
from harmonized data and computes two estimates; the cold run starts from the sponsors' raw
files and produces 15 analyses, sensitivity analyses, figures, the report and provenance.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json  # noqa: E402
COLUMNS = ["study_id", "hr_status", "pcr_ypt0is_ypn0", "efs_months", "efs_event"]


def demo_csv(results: Path, dest: Path) -> tuple[int, int]:
    frames = []
    for path in sorted((results / "harmonized").glob("*.parquet")):
        frame = pd.read_parquet(path)
        if set(COLUMNS) <= set(frame.columns):
            frames.append(frame[COLUMNS])
    if not frames:
        raise SystemExit(f"no harmonized IPD with {COLUMNS} under {results}/harmonized: run the workflow first")
    data = pd.concat(frames, ignore_index=True)
    data["efs_event"] = data["efs_event"].astype("Int64")
    data["pcr_ypt0is_ypn0"] = data["pcr_ypt0is_ypn0"].astype("Int64")
    data.to_csv(dest, index=False)
    return len(frames), len(data)


def _median_of(inner: dict, extra: str) -> float:
    value = inner["extras"][extra]["median"]
    return float(value[0] if isinstance(value, list) else value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=REPO / "results")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workflow-json", type=Path, help="bench/bench_workflow.py --json output")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    rscript = shutil.which("Rscript") or sys.exit("Rscript not found (apt-get install r-base-core r-cran-metafor)")
    scratch = Path(tempfile.mkdtemp(prefix="her2meta-demo-vs-r."))
    try:
        studies, rows = demo_csv(args.results, scratch / "demo.csv")
        walls, plain = [], []
        for _ in range(args.repeats):
            load = os.getloadavg()[0]
            start = time.perf_counter()
            subprocess.run([rscript, str(REPO / "bench" / "compute_path.R"), "--csv", str(scratch / "demo.csv"),
                            "--out", str(scratch / "r.json"), "--repeats", "1"], check=True, capture_output=True)
            walls.append({"wall_s": round(time.perf_counter() - start, 3), "load1": round(load, 2)})
            inner = json.loads((scratch / "r.json").read_text())
            plain.append(_median_of(inner, "startup") + inner["timings"]["total"]["median"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    median = statistics.median(plain)
    result = {"studies": studies, "patients": rows, "r_script_outside_wall_s": walls,
              "r_startup_plus_compute_s": [round(v, 3) for v in plain], "r_median_s": round(median, 3)}
    if args.workflow_json:
        cold = json.loads(args.workflow_json.read_text())["cold_run"]["median_wall_s"]
        result.update(workflow_cold_run_median_wall_s=cold, ratio_cold_run_to_r_script=round(cold / median, 1))
    emit_json(result, args.json)


if __name__ == "__main__":
    main()
