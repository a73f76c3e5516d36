"""Run the replicates (optionally in parallel) and collect their results.

Every replicate is a pure function of (scenario, master seed, replicate index): its random
stream is derived by SHA-256 (:func:`her2meta.validation.generate.replicate_seed`), so the
replicates can run in any order, in any process, and any one can be rerun alone with
:func:`run_replicate`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from .estimate import PARTS, estimate_replicate
from .generate import simulate_replicate
from .scenarios import Scenario, truth
from .settings import DEFAULT_MASTER_SEED
from .summary import kh_check, summarise


def run_replicate(scenario: Scenario, master_seed: int, replicate: int,
                  parts: Sequence[str] = PARTS) -> dict[str, Any]:
    """Simulate and analyse one replicate; returns its rows (one per estimand x method) and timings."""
    start = time.process_time()
    rep = simulate_replicate(scenario, master_seed, replicate)
    generated = time.process_time() - start
    results, timings = estimate_replicate(rep.patients, tuple(parts))
    rows = []
    for res in results:
        row = res.as_row()
        row.update(scenario=scenario.name, replicate=int(replicate), seed=str(rep.seed))
        rows.append(row)
    return {"scenario": scenario.name, "replicate": int(replicate), "seed": str(rep.seed), "rows": rows,
            "timings": {"generate": generated, **timings}, "n_patients": int(len(rep.patients)),
            "n_events": int(rep.patients["efs_event"].sum())}


def run_replicates(scenario: Scenario, master_seed: int, replicates: Iterable[int],
                   parts: Sequence[str] = PARTS) -> list[dict[str, Any]]:
    """:func:`run_replicate` for each of ``replicates`` (e.g. one workflow chunk), in order."""
    return [run_replicate(scenario, master_seed, r, parts) for r in replicates]


def _task(args: tuple[Scenario, int, int, tuple[str, ...]]) -> dict[str, Any]:
    scenario, master_seed, replicate, parts = args
    return run_replicate(scenario, master_seed, replicate, parts)


def _init_worker() -> None:
    # one BLAS thread per worker process: the machine is shared and the workers are the parallelism
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import warnings

    warnings.simplefilter("ignore")


def loadavg() -> list[float] | None:
    """1-, 5- and 15-minute load averages (the machine is shared: they explain the wall time)."""
    getloadavg = getattr(os, "getloadavg", None)  # absent on Windows
    if getloadavg is None:
        return None
    try:
        return [round(x, 2) for x in getloadavg()]
    except OSError:
        return None


def _default_progress(done: int, total: int, elapsed: float) -> None:
    eta = elapsed / done * (total - done) if done else float("nan")
    print(f"[simulation] {done}/{total} replicates, {elapsed:.0f} s elapsed, ~{eta:.0f} s left",
          file=sys.stderr, flush=True)


def run_simulation(scenarios: Iterable[Scenario], replicates: int, *, master_seed: int = DEFAULT_MASTER_SEED,
                   workers: int = 1, parts: Sequence[str] = PARTS, first_replicate: int = 0,
                   progress: Callable[[int, int, float], None] | None = _default_progress,
                   progress_every: int = 25) -> dict[str, Any]:
    """Run ``replicates`` replicates of every scenario; returns rows, summary table and metadata."""
    scenarios = list(scenarios)
    tasks = [(sc, int(master_seed), r, tuple(parts)) for sc in scenarios
             for r in range(first_replicate, first_replicate + replicates)]
    load_start = loadavg()
    start = time.perf_counter()
    outputs: list[dict[str, Any]] = []

    def report(force: bool = False) -> None:
        if progress and (force or len(outputs) % progress_every == 0):
            progress(len(outputs), len(tasks), time.perf_counter() - start)

    if workers <= 1:
        for t in tasks:
            outputs.append(_task(t))
            report()
    else:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
            for out in pool.imap_unordered(_task, tasks, chunksize=2):
                outputs.append(out)
                report()
    if progress and len(outputs) % progress_every:
        report(force=True)
    wall = time.perf_counter() - start
    return collect(outputs, scenarios, master_seed=master_seed, replicates=replicates, parts=parts,
                   first_replicate=first_replicate,
                   run={"workers": int(workers), "wall_seconds": wall, "load_average_start": load_start,
                        "load_average_end": loadavg()})


def collect(outputs: Iterable[dict[str, Any]], scenarios: Iterable[Scenario], *, master_seed: int, replicates: int,
            parts: Sequence[str], first_replicate: int = 0, run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rows, summary table, Knapp-Hartung check and metadata from :func:`run_replicate` outputs.

    The one place the replicates become results: the single-process runner (:func:`run_simulation`)
    and the workflow's summary job (her2meta.stages.simulation) both call it, so the same replicates
    give the same numbers however they were run. ``outputs`` may come in any order (they are sorted
    by scenario, then replicate). ``run`` describes how they ran (workers, wall time, load averages).
    """
    scenarios = list(scenarios)
    run = dict(run or {})
    order = [s.name for s in scenarios]
    outputs = sorted(outputs, key=lambda o: (order.index(o["scenario"]), o["replicate"]))
    rows = pd.DataFrame([row for o in outputs for row in o["rows"]])
    truths = {sc.name: truth(sc) for sc in scenarios}
    table = summarise(rows, truths) if len(rows) else pd.DataFrame()
    timing_frame = pd.DataFrame([o["timings"] for o in outputs])
    meta = {
        "master_seed": int(master_seed), "replicates": int(replicates), "first_replicate": int(first_replicate),
        "workers": run.pop("workers", None), "parts": list(parts),
        "wall_seconds": run.pop("wall_seconds", float("nan")),
        "cpu_seconds_total": float(timing_frame.to_numpy().sum()) if len(timing_frame) else 0.0,
        "load_average_start": run.pop("load_average_start", None),
        "load_average_end": run.pop("load_average_end", None),
        "cpu_count": os.cpu_count(),
        "mean_seconds_per_replicate": {k: float(v) for k, v in timing_frame.mean().items()},
        "mean_patients_per_replicate": float(pd.Series([o["n_patients"] for o in outputs]).mean()),
        "mean_events_per_replicate": float(pd.Series([o["n_events"] for o in outputs]).mean()),
        **run,
    }
    return {
        "rows": rows,
        "table": table,
        "kh_check": kh_check(table) if len(table) else [],
        "scenarios": [sc.as_dict() for sc in scenarios],
        "meta": meta,
    }
