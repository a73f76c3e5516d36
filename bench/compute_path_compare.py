"""Compare bench/compute_path.py with bench/compute_path.R: agreement, then the ratio table.

    python bench/compute_path.py && Rscript bench/compute_path.R
    python bench/compute_path_compare.py [--dir bench/output/compute_path] [--markdown]

Agreement (exit status 1 if any check fails):

* per study, pCR log OR and its SE, and EFS Cox log HR and its SE, Python against R to 1e-6
  relative (``|py - R| <= 1e-6 |R| + 1e-12``); the Cox values against both R's timed fit
  (coxph's default eps 1e-9) and its fully converged refit (eps 1e-13); the same studies must be
  non-estimable on both sides, and the zero-cell corrections must fall on the same studies;
* pooled REML estimate, SE, CI bounds, tau2, I2, Q and the Q-profile tau2 interval of both
  outcomes: against R's fully converged rma (threshold 1e-13; confint tol 1e-13) to 1e-6 relative; against R's timed default fit (threshold 1e-5 on tau2)
  the differences are only reported.

The table: each step's median wall time (and CPU time) in Python and R, and Python / R.
Written to <dir>/compare.json and <dir>/compare.md as well as printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RTOL, ATOL = 1e-6, 1e-12


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def agreement(py: list, r: list) -> dict:
    a, b = _arr(py), _arr(r)
    same_na = bool(np.array_equal(np.isnan(a), np.isnan(b)))
    ok = ~np.isnan(a) & ~np.isnan(b)
    diff = np.abs(a[ok] - b[ok])
    rel = diff / np.maximum(np.abs(b[ok]), 1e-300)
    passed = same_na and bool(np.all(diff <= RTOL * np.abs(b[ok]) + ATOL))
    return {"n": int(ok.sum()), "not_estimable": int(np.isnan(b).sum()), "same_not_estimable": same_na,
            "max_abs_diff": float(diff.max()) if diff.size else 0.0,
            "max_rel_diff": float(rel.max()) if rel.size else 0.0, "pass": passed}


def compare_results(py: dict, r: dict) -> dict:
    out = {}
    for outcome in ("pcr", "efs"):
        if py["results"][outcome]["study_id"] != r["results"][outcome]["study_id"]:
            raise SystemExit(f"{outcome}: the two sides list different studies")
    for key in ("yi", "se"):
        out[f"pcr_{key}"] = agreement(py["results"]["pcr"][key], r["results"]["pcr"][key])
        out[f"efs_{key}"] = agreement(py["results"]["efs"][key], r["results"]["efs"][key])
        out[f"efs_{key}_vs_converged"] = agreement(py["results"]["efs"][key], r["results"]["efs_tight"][key])
    corr_py, corr_r = py["results"]["pcr"]["corrected"], r["results"]["pcr"]["corrected"]
    out["pcr_zero_cell_corrections"] = {"python": int(sum(corr_py)), "r": int(sum(corr_r)),
                                        "pass": list(map(bool, corr_py)) == list(map(bool, corr_r))}
    out["pcr_counts_equal"] = {"pass": py["results"]["pcr"]["counts"] == r["results"]["pcr"]["counts"]}
    for outcome in ("pcr", "efs"):
        p = py["results"]["pooled"][outcome]
        for which, ref in (("converged", r["results"]["pooled_tight"][outcome]), ("default", r["results"]["pooled"][outcome])):
            keys = ("estimate", "se", "tau2", "ci_lb", "ci_ub", "I2", "QE")
            if which == "converged":
                keys += ("tau2_ci_lb", "tau2_ci_ub")
            diffs = {k: abs(p[k] - ref[k]) for k in keys}
            rels = {k: diffs[k] / max(abs(ref[k]), 1e-300) for k in keys}
            entry = {"k": [p["k"], ref["k"]], "max_abs_diff": max(diffs.values()), "max_rel_diff": max(rels.values()),
                     "python": {k: p[k] for k in keys}, "r": {k: ref[k] for k in keys}}
            if which == "converged":
                entry["pass"] = p["k"] == ref["k"] and all(diffs[k] <= RTOL * abs(ref[k]) + ATOL for k in keys)
            out[f"pooled_{outcome}_vs_{which}"] = entry
    return out


ROWS = [  # (label, python key, r key); keys are "timings.X" or "extras.X"
    ("read CSV", "timings.read", "timings.read"),
    ("pCR log OR, 200 studies", "timings.pcr", "timings.pcr"),
    ("EFS Cox log HR, 200 studies", "timings.cox", "timings.cox"),
    ("REML pooling, both", "timings.pool", "timings.pool"),
    ("total (read to pooled)", "timings.total", "timings.total"),
    ("pooling + Q-profile tau2 CI", "extras.pool_with_tau2_ci", "extras.pool_with_tau2_ci"),
    ("startup (interpreter + packages)", "extras.startup", "extras.startup"),
]


def _get(report: dict, key: str) -> dict | None:
    section, name = key.split(".")
    return (report.get(section) or {}).get(name)


def table(py: dict, r: dict) -> list[dict]:
    rows = []
    for label, pk, rk in ROWS:
        a, b = _get(py, pk), _get(r, rk)
        if a and b:
            rows.append({"step": label, "python": a["median"], "r": b["median"], "ratio": a["median"] / b["median"],
                         "python_cpu": a.get("cpu_median"), "r_cpu": b.get("cpu_median")})
    tot_p, tot_r = _get(py, "timings.total"), _get(r, "timings.total")
    st_p, st_r = _get(py, "extras.startup"), _get(r, "extras.startup")
    if tot_p and tot_r and st_p and st_r:
        a, b = tot_p["median"] + st_p["median"], tot_r["median"] + st_r["median"]
        rows.append({"step": "one-shot script (startup + total)", "python": a, "r": b, "ratio": a / b,
                     "python_cpu": None, "r_cpu": None})
    # Python-only rows, set against the R step doing the nearest work
    extra = [("her2meta.effects path, pCR (binary_effect x 200)", "extras.effects_pcr", "timings.pcr"),
             ("her2meta.effects path, EFS (cox_effect x 200: + log-rank, PH test, RMST 60)", "extras.effects_efs", "timings.cox"),
             ("her2meta.effects path, EFS without RMST", "extras.effects_efs_no_rmst", "timings.cox"),
             ("her2meta.effects path total (read, effects, pooling)", "extras.effects_total", "timings.total")]
    for label, pk, rk in extra:
        a, b = _get(py, pk), _get(r, rk)
        if a and b:
            rows.append({"step": label, "python": a["median"], "r": b["median"], "ratio": a["median"] / b["median"],
                         "python_cpu": a.get("cpu_median"), "r_cpu": b.get("cpu_median")})
    ll, cox_r = py.get("lifelines"), _get(r, "timings.cox")
    if ll and cox_r:
        rows.append({"step": f"lifelines CoxPHFitter x {ll['fits']} (vs R coxph x 200)", "python": ll["median"],
                     "r": cox_r["median"], "ratio": ll["median"] / cox_r["median"],
                     "python_cpu": ll.get("cpu_median"), "r_cpu": cox_r.get("cpu_median")})
    return rows


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "" if v is None else format(v, spec)


def markdown(rows: list[dict], py: dict, r: dict, checks: dict) -> str:
    def load(m):
        return ", ".join(f"{x:.2f}" for x in m["loadavg_before"])

    lines = [f"Python {py['date']} (load before {load(py['machine'])}; nproc {py['machine']['nproc']}), "
             f"R {r['date']} (load before {load(r['machine'])}); medians of {py['repeats']} (Python) and "
             f"{r['repeats']} (R) repeats, wall seconds (CPU seconds in brackets).", "",
             "| step | Python | R | Python / R |", "|---|---:|---:|---:|"]
    for row in rows:
        pc = f" ({_fmt(row['python_cpu'])})" if row["python_cpu"] is not None else ""
        rc = f" ({_fmt(row['r_cpu'])})" if row["r_cpu"] is not None else ""
        lines.append(f"| {row['step']} | {_fmt(row['python'])}{pc} | {_fmt(row['r'])}{rc} | {_fmt(row['ratio'], '.2f')} |")
    lines += ["", "| agreement with R | max abs diff | max rel diff | pass |", "|---|---:|---:|---|"]
    for name, c in checks.items():
        if "max_abs_diff" in c:
            lines.append(f"| {name} | {c['max_abs_diff']:.2e} | {c['max_rel_diff']:.2e} | {c.get('pass', 'reported')} |")
        else:
            lines.append(f"| {name} | | | {c['pass']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=REPO / "bench" / "output" / "compute_path")
    ap.add_argument("--python-json", type=Path)
    ap.add_argument("--r-json", type=Path)
    args = ap.parse_args(argv)
    py = json.loads((args.python_json or args.dir / "python.json").read_text())
    r = json.loads((args.r_json or args.dir / "r.json").read_text())
    checks = compare_results(py, r)
    rows = table(py, r)
    md = markdown(rows, py, r, checks)
    print(md)
    failed = [name for name, c in checks.items() if c.get("pass") is False]
    (args.dir / "compare.json").write_text(json.dumps({"checks": checks, "table": rows, "failed": failed,
                                                        "python_date": py["date"], "r_date": r["date"],
                                                        "python_load": py["machine"]["loadavg_before"],
                                                        "r_load": r["machine"]["loadavg_before"]}, indent=1) + "\n")
    (args.dir / "compare.md").write_text(md)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("all agreement checks pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
