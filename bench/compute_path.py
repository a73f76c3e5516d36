"""The compute path alone, against a plain R script (run on demand; not part of the test suite).

Harmonized IPD of N studies x P patients (default 200 x 1,000) -> per-study pCR log OR and EFS
log HR (HR-positive vs HR-negative) -> REML pooling of both, in one process, timed step by step:

    python bench/compute_path.py                     # generate (once) and time; --repeats 5
    Rscript bench/compute_path.R                     # the plain R script on the same CSV
    python bench/compute_path_compare.py             # agreement with R and the ratio table

The data: N random 2-arm neoadjuvant trials from the simulator (``random_study_spec`` +
``write_study``, as bench/bench_scale.py makes them), each extracted with its mapping and
harmonized in process (``apply_mapping`` + ``harmonize_study``, what the workflow's extract and
harmonize rules do). The columns the two analyses use are written to ONE CSV that R reads too:
``study_id, hr_status, pcr_ypt0is_ypn0, efs_months, efs_event`` (the harmonized names;
hr_status positive/negative/unknown, pcr 0/1 or empty when not assessed, times in months from
day counts, so event times are tied). Deterministic from --seed; kept in --out and reused while
its parameters and checksum match (bench/output/ is not committed).

What is timed (each repeat runs the whole sequence; medians over --repeats are reported):

* read: ``pandas.read_csv`` of the CSV;
* pcr: per-study 2x2 counts (HR-known patients with pCR assessed), then the pooling engine's
  ``escalc_2x2(measure="OR", add=0.5, to="only0", drop00=True)`` over all studies at once: the
  function and the zero-cell convention ``effects.binary_effect`` uses (0.5 added to every cell
  of a study with a zero cell; none otherwise);
* cox: per study, ``her2meta.survival.cox_fit(time, event, HR-positive indicator, ties="efron")``,
  the engine ``effects.cox_effect`` calls (patients sorted by study once, then one fit per slice);
* pool: ``her2meta.pool.rma(method="REML", test="z")`` for both outcomes, without the
  Q-profile tau2 interval (R's plain ``rma()`` does not compute it either); the workflow's call,
  which adds the interval, is timed as its own row (``pool_with_tau2_ci``);
* total: the four in sequence, one timer.

Also timed, outside the total: the full ``her2meta.effects`` path (``estimate_analysis`` per
study with the workflow's pcr_by_hr and efs_by_hr specs from config/config.yaml, what the
estimate rule runs; the EFS spec adds the log-rank O-E/V, the proportional-hazards test and the
RMST difference at 60 months), the same EFS spec without the RMST, and read + both effects +
pooling in sequence (``effects_total``); the startup (a fresh interpreter importing numpy,
pandas, her2meta.pool and her2meta.survival; R: Rscript loading survival and metafor); and
--lifelines-fits lifelines ``CoxPHFitter`` fits (Efron ties; the issue's reference point).
Results: <out>/python.json (timings with wall and CPU medians, machine, load averages before and
after, versions, per-study and pooled estimates).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DEFAULT_OUT = REPO / "bench" / "output" / "compute_path"
DEFAULT_SEED = 20261121
COLUMNS = ["study_id", "hr_status", "pcr_ypt0is_ypn0", "efs_months", "efs_event"]
PCR, TIME, EVENT = "pcr_ypt0is_ypn0", "efs_months", "efs_event"
DTYPES = {"study_id": str, "hr_status": str, PCR: float, TIME: float, EVENT: float}


# --------------------------------------------------------------------------------------------- data
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def generate(out: Path, studies: int, patients: int, seed: int, *, force: bool = False) -> tuple[Path, dict]:
    """The harmonized CSV (generated once; reused while its parameters and checksum match)."""
    csv, meta_path = out / "ipd.csv", out / "ipd.json"
    params = {"studies": studies, "patients": patients, "seed": seed}
    if not force and csv.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == params and meta.get("sha256") == _sha256(csv):
            return csv, meta
    sys.path.insert(0, str(REPO / "bench"))
    import yaml

    import bench_scale
    from her2meta.config import read_study_sheet
    from her2meta.harmonize import harmonize_study
    from her2meta.mapping import apply_mapping, load_mapping

    start = time.perf_counter()
    scratch = out / "scratch"
    data_root, workdir = scratch / "data", scratch / "work"
    gen = bench_scale.generate_data(data_root, studies, patients, seed)
    bench_scale.make_workdir(workdir, data_root, gen["specs"], studies)
    settings = yaml.safe_load((workdir / "config" / "config.yaml").read_text(encoding="utf-8"))["harmonization"]
    frames = []
    for study in read_study_sheet(workdir / "studies.tsv", project_root=workdir, data_root=str(data_root)):
        mapping = load_mapping(workdir / study["mapping"], study=study["study_id"])
        extracted = apply_mapping(mapping, data_root / study["path"])
        harmonized, _ = harmonize_study(extracted.data, study=study, abbreviations=mapping.abbreviations,
                                        receptor_cutoff=mapping.receptor_cutoff,
                                        hr_threshold=settings["hr_threshold_percent"], itc_is_pcr=settings["itc_is_pcr"])
        frames.append(harmonized[COLUMNS])
    ipd = pd.concat(frames, ignore_index=True)
    ipd[PCR] = ipd[PCR].astype("Int64")  # booleans as 0/1 (empty: not assessed), readable by R
    ipd[EVENT] = ipd[EVENT].astype("Int64")
    out.mkdir(parents=True, exist_ok=True)
    tmp = csv.with_suffix(".csv.tmp")
    ipd.to_csv(tmp, index=False)  # floats as shortest round-trip repr
    os.replace(tmp, csv)
    meta = {"params": params, "sha256": _sha256(csv), "rows": len(ipd), "bytes": csv.stat().st_size,
            "generated_seconds": round(time.perf_counter() - start, 2),
            "how": "random_study_spec + write_study (bench_scale.generate_data), apply_mapping + harmonize_study",
            "hr_status": {str(k): int(v) for k, v in ipd["hr_status"].value_counts().sort_index().items()},
            "pcr_missing": int(ipd[PCR].isna().sum()), "efs_missing": int(ipd[TIME].isna().sum()),
            "efs_events": int(ipd[EVENT].sum())}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return csv, meta


# ------------------------------------------------------------------------------------ compute path
def read_ipd(path: Path | str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=DTYPES)


def _study_codes(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    codes, ids = pd.factorize(data["study_id"], sort=True)
    return codes, np.asarray(ids, dtype=object)


def pcr_estimates(data: pd.DataFrame) -> dict:
    """Per-study log OR of pCR, HR-positive vs HR-negative: 2x2 counts of every study, then
    ``escalc_2x2`` over all studies (what binary_effect does one study at a time)."""
    from her2meta.pool import escalc_2x2

    codes, ids = _study_codes(data)
    hr = data["hr_status"].to_numpy(object)
    y = data[PCR].to_numpy(float)
    pos, neg = hr == "positive", hr == "negative"
    keep = (pos | neg) & ~np.isnan(y)
    c, yes, p = codes[keep], y[keep] == 1, pos[keep]
    k = len(ids)
    ai = np.bincount(c, weights=yes & p, minlength=k)
    bi = np.bincount(c, weights=~yes & p, minlength=k)
    ci = np.bincount(c, weights=yes & ~p, minlength=k)
    di = np.bincount(c, weights=~yes & ~p, minlength=k)
    es = escalc_2x2(ai, bi, ci, di, measure="OR", add=0.5, to="only0", drop00=True)
    yi, vi = np.array(es.yi, float), np.array(es.vi, float)
    empty = (ai + bi == 0) | (ci + di == 0)  # binary_effect: a compared group without patients
    yi[empty], vi[empty] = np.nan, np.nan
    return {"study_id": ids.tolist(), "yi": yi, "se": np.sqrt(vi),
            "corrected": np.asarray(es.corrected, bool) & ~empty,
            "counts": np.column_stack([ai, bi, ci, di]).astype(int)}


def _survival_split(data: pd.DataFrame):
    codes, ids = _study_codes(data)
    hr = data["hr_status"].to_numpy(object)
    t, e = data[TIME].to_numpy(float), data[EVENT].to_numpy(float)
    pos = hr == "positive"
    keep = (pos | (hr == "negative")) & ~np.isnan(t) & ~np.isnan(e)
    c = codes[keep]
    order = np.argsort(c, kind="stable")
    bounds = np.searchsorted(c[order], np.arange(len(ids) + 1))
    return ids, t[keep][order], e[keep][order], pos[keep][order].astype(float), bounds


def cox_estimates(data: pd.DataFrame) -> dict:
    """Per-study Cox log HR (Efron ties), HR-positive vs HR-negative, with the project's engine."""
    from her2meta.survival import cox_fit

    ids, t, e, g, bounds = _survival_split(data)
    beta = np.full(len(ids), np.nan)
    se = np.full(len(ids), np.nan)
    for j in range(len(ids)):
        s = slice(bounds[j], bounds[j + 1])
        fit = cox_fit(t[s], e[s], g[s, None], ties="efron")
        if fit.estimable:
            beta[j], se[j] = fit.coef.iloc[0], fit.se.iloc[0]
    return {"study_id": ids.tolist(), "yi": beta, "se": se}


def pool(est: dict, *, tau2_ci: bool = False):
    """REML, z test, 95% (the workflow's primary model), on the estimable studies."""
    from her2meta.pool import rma

    yi, se = np.asarray(est["yi"], float), np.asarray(est["se"], float)
    ok = np.isfinite(yi) & np.isfinite(se)
    study = [s for s, k in zip(est["study_id"], ok) if k]
    return rma(yi[ok], se[ok] ** 2, method="REML", test="z", level=95, pi_dist="auto", study=study, tau2_ci=tau2_ci)


def pooled_summary(res) -> dict:
    return {"k": int(res.k), "estimate": float(res.estimate), "se": float(res.se), "ci_lb": float(res.ci_lb),
            "ci_ub": float(res.ci_ub), "tau2": float(res.tau2), "I2": None if res.I2 is None else float(res.I2),
            "QE": None if res.Q is None else float(res.Q),
            "tau2_ci_lb": None if res.tau2_ci_lb is None else float(res.tau2_ci_lb),
            "tau2_ci_ub": None if res.tau2_ci_ub is None else float(res.tau2_ci_ub)}


def workflow_specs() -> dict:
    import yaml

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    return {name: config["analyses"][name] for name in ("pcr_by_hr", "efs_by_hr")}


def effects_path(data: pd.DataFrame, analysis: str, spec: dict) -> dict:
    """Per-study estimates through her2meta.effects.estimate_analysis (what the workflow runs)."""
    from her2meta.effects import estimate_analysis

    ids, yi, se = [], [], []
    for sid, part in data.groupby("study_id", sort=True):
        row = estimate_analysis(part, study_id=str(sid), analysis=analysis, spec=spec, level=95.0)[0]
        ids.append(str(sid))
        yi.append(row.estimate if row.estimable else np.nan)
        se.append(row.se if row.estimable else np.nan)
    return {"study_id": ids, "yi": np.array(yi), "se": np.array(se)}


# --------------------------------------------------------------------------------------- timing
def _timed(func, *args, **kw):
    w, c = time.perf_counter(), time.process_time()
    value = func(*args, **kw)
    return value, time.perf_counter() - w, time.process_time() - c


def _summary(walls: list[float], cpus: list[float]) -> dict:
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls), "runs": walls,
            "cpu_median": statistics.median(cpus)}


def time_compute_path(csv: Path, repeats: int) -> tuple[dict, dict]:
    steps = ("read", "pcr", "cox", "pool", "total")
    walls = {s: [] for s in steps}
    cpus = {s: [] for s in steps}
    last = None
    for _ in range(repeats):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        data, w, c = _timed(read_ipd, csv)
        walls["read"].append(w), cpus["read"].append(c)
        pcr, w, c = _timed(pcr_estimates, data)
        walls["pcr"].append(w), cpus["pcr"].append(c)
        efs, w, c = _timed(cox_estimates, data)
        walls["cox"].append(w), cpus["cox"].append(c)
        (p_pcr, p_efs), w, c = _timed(lambda: (pool(pcr), pool(efs)))
        walls["pool"].append(w), cpus["pool"].append(c)
        walls["total"].append(time.perf_counter() - w0), cpus["total"].append(time.process_time() - c0)
        last = (pcr, efs, p_pcr, p_efs)
    return {s: _summary(walls[s], cpus[s]) for s in steps}, dict(zip(("pcr", "efs", "pooled_pcr", "pooled_efs"), last))


def time_extras(csv: Path, repeats: int, pcr: dict, efs: dict) -> tuple[dict, dict]:
    """The workflow's pooling call (with the Q-profile tau2 interval) and the full effects path."""
    data = read_ipd(csv)
    specs = workflow_specs()
    no_rmst = {k: v for k, v in specs["efs_by_hr"].items() if k != "rmst_horizon_months"}

    def effects_total():
        d = read_ipd(csv)
        a = effects_path(d, "pcr_by_hr", specs["pcr_by_hr"])
        b = effects_path(d, "efs_by_hr", specs["efs_by_hr"])
        return pool(a), pool(b)

    runs = {"pool_with_tau2_ci": lambda: (pool(pcr, tau2_ci=True), pool(efs, tau2_ci=True)),
            "effects_pcr": lambda: effects_path(data, "pcr_by_hr", specs["pcr_by_hr"]),
            "effects_efs": lambda: effects_path(data, "efs_by_hr", specs["efs_by_hr"]),
            "effects_efs_no_rmst": lambda: effects_path(data, "efs_by_hr", no_rmst),
            "effects_total": effects_total}
    out, values = {}, {}
    for name, func in runs.items():
        walls, cpus = [], []
        for _ in range(repeats):
            gc.collect()
            values[name], w, c = _timed(func)
            walls.append(w), cpus.append(c)
        out[name] = _summary(walls, cpus)
    return out, values


STARTUP_CODE = "import numpy, pandas, her2meta.pool, her2meta.survival"


def time_startup(repeats: int) -> dict:
    """A fresh interpreter importing what the compute path uses (R: Rscript + library(survival, metafor))."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    walls, cpus = [], []
    for _ in range(repeats):
        before = os.times()
        w0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", STARTUP_CODE], check=True, env=env)
        walls.append(time.perf_counter() - w0)
        after = os.times()
        cpus.append((after.children_user - before.children_user) + (after.children_system - before.children_system))
    out = _summary(walls, cpus)
    out["code"] = STARTUP_CODE
    return out


def time_lifelines(csv: Path, fits: int, repeats: int) -> dict:
    import warnings

    import lifelines
    from lifelines import CoxPHFitter

    ids, t, e, g, bounds = _survival_split(read_ipd(csv))
    frames = [pd.DataFrame({"T": t[bounds[j]:bounds[j + 1]], "E": e[bounds[j]:bounds[j + 1]],
                            "hr": g[bounds[j]:bounds[j + 1]]}) for j in range(min(fits, len(ids)))]
    walls, cpus, coefs = [], [], []
    for _ in range(repeats):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        coefs = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for f in frames:
                m = CoxPHFitter().fit(f, "T", "E")
                coefs.append((float(m.params_["hr"]), float(m.standard_errors_["hr"])))
        walls.append(time.perf_counter() - w0), cpus.append(time.process_time() - c0)
    out = _summary(walls, cpus)
    out.update({"fits": len(frames), "per_fit_ms": 1000 * out["median"] / len(frames), "version": lifelines.__version__,
                "coef": [c for c, _ in coefs], "se": [s for _, s in coefs]})
    return out


# ----------------------------------------------------------------------------------------- report
def machine() -> dict:
    import importlib.metadata as md

    versions = {}
    for pkg in ("her2meta", "numpy", "pandas", "scipy", "lifelines", "pyarrow"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    git = {}
    try:
        git["commit"] = subprocess.check_output(["git", "-C", str(REPO), "rev-parse", "HEAD"], text=True).strip()
        status = subprocess.check_output(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"], text=True)
        git["src_modified"] = [line[3:] for line in status.splitlines()]
    except (OSError, subprocess.CalledProcessError):
        pass
    return {"nproc": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "loadavg_before": list(os.getloadavg()), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform(),
            "packages": versions, "git": git,
            "threads_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}


def _est_json(est: dict) -> dict:
    def num(v):
        return [None if not np.isfinite(x) else float(x) for x in np.asarray(v, float)]

    out = {"study_id": list(est["study_id"]), "yi": num(est["yi"]), "se": num(est["se"])}
    if "counts" in est:
        out["counts"] = np.asarray(est["counts"]).tolist()
        out["corrected"] = [bool(x) for x in est["corrected"]]
    return out


def _max_diff(a: dict, b: dict) -> float:
    x, y = np.asarray(a["yi"], float), np.asarray(b["yi"], float)
    ok = np.isfinite(x) & np.isfinite(y)
    return float(np.max(np.abs(x[ok] - y[ok]))) if ok.any() else float("nan")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--regenerate", action="store_true", help="write the CSV again even if a matching one exists")
    ap.add_argument("--generate-only", action="store_true", help="write the CSV and stop")
    ap.add_argument("--lifelines-fits", type=int, default=200, help="0 to skip")
    ap.add_argument("--lifelines-repeats", type=int, default=None, help="default: --repeats")
    ap.add_argument("--no-extras", action="store_true", help="skip the effects-path and pooling-with-CI timings")
    args = ap.parse_args(argv)

    csv, meta = generate(args.out, args.studies, args.patients, args.seed, force=args.regenerate)
    print(f"data: {csv} ({meta['rows']} rows, sha256 {meta['sha256'][:12]})", file=sys.stderr)
    if args.generate_only:
        return meta
    import her2meta.pool  # noqa: F401  (imported before timing, as R loads its packages first)
    import her2meta.survival  # noqa: F401

    info = machine()
    timings, res = time_compute_path(csv, args.repeats)
    extras, values = ({}, {}) if args.no_extras else time_extras(csv, args.repeats, res["pcr"], res["efs"])
    extras["startup"] = time_startup(args.repeats)
    checks = {}
    if values:
        checks["effects_pcr_max_abs_diff"] = _max_diff(values["effects_pcr"], res["pcr"])
        checks["effects_efs_max_abs_diff"] = _max_diff(values["effects_efs"], res["efs"])
    lifelines_out = None
    if args.lifelines_fits:
        lifelines_out = time_lifelines(csv, args.lifelines_fits, args.lifelines_repeats or args.repeats)
        n = lifelines_out["fits"]
        lr = np.asarray(lifelines_out["coef"])
        ours = np.asarray(res["efs"]["yi"][:n], float)
        ok = np.isfinite(lr) & np.isfinite(ours)
        checks["lifelines_vs_engine_max_abs_diff"] = float(np.max(np.abs(lr[ok] - ours[ok])))
    info["loadavg_after"] = list(os.getloadavg())
    report = {
        "side": "python", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": info, "data": {"csv": str(csv), **meta}, "repeats": args.repeats,
        "cox_path": "her2meta.survival.cox_fit per study",
        "timings": timings, "extras": extras, "lifelines": lifelines_out, "checks": checks,
        "conventions": {"pcr": "escalc_2x2 OR, add 0.5 to every cell only for a study with a zero cell (to='only0'), "
                               "double-zero studies dropped; a study with an empty group is not estimable",
                        "cox": "Efron ties; Newton-Raphson from 0 to full convergence",
                        "pool": "REML, z test, 95%, metafor-matched (tol 1e-12)"},
        "results": {"pcr": _est_json(res["pcr"]), "efs": _est_json(res["efs"]),
                    "pooled": {"pcr": pooled_summary(pool(res["pcr"], tau2_ci=True)),  # (untimed) with the tau2 interval
                               "efs": pooled_summary(pool(res["efs"], tau2_ci=True))}},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "python.json").write_text(json.dumps(report, indent=1) + "\n")
    rows = [(s, timings[s]["median"]) for s in timings] + [(s, v["median"]) for s, v in extras.items()]
    if lifelines_out:
        rows.append((f"lifelines ({lifelines_out['fits']} fits)", lifelines_out["median"]))
    print(f"load before {info['loadavg_before']}, after {info['loadavg_after']}; medians of {args.repeats}:")
    for name, value in rows:
        print(f"  {name:<28} {value:8.3f} s")
    print(f"wrote {args.out / 'python.json'}")
    return report


if __name__ == "__main__":
    main()
