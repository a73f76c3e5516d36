"""Benchmark of the pooling engine (run on demand; not part of the test suite).

    PYTHONPATH=src python bench/bench_pool.py [--repeats 15] [--n-meta 10000]

Targets (one core): REML pooling of k = 1,000 studies under 20 ms; 10,000
meta-analyses of k = 10 (the simulation use case) under 10 s.  Medians over
repeats are reported; the full rma() result (Q, I2, H2, prediction
interval, and -- unless disabled -- the Q-profile tau2 interval) is computed
each time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from her2meta.pool import rma


def simulate(rng: np.random.Generator, k: int, tau2: float = 0.05, mu: float = 0.3):
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(mu, np.sqrt(vi + tau2))
    return yi, vi


def time_call(func, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def bench_large_k(repeats: int, k: int = 1000) -> dict[str, float]:
    rng = np.random.default_rng(20240601)
    yi, vi = simulate(rng, k)
    rma(yi, vi)                                        # warm-up (imports, caches)
    out = {}
    for label, kwargs in (("with_tau2_ci", {}), ("without_tau2_ci", {"tau2_ci": False})):
        times = time_call(lambda: rma(yi, vi, method="REML", **kwargs), repeats)
        out[f"reml_k{k}_{label}_median_ms"] = 1e3 * statistics.median(times)
    return out


def bench_many_small(repeats: int, n_meta: int, k: int = 10) -> dict[str, float]:
    rng = np.random.default_rng(7)
    datasets = [simulate(rng, k) for _ in range(n_meta)]
    out = {}
    for label, kwargs in (("with_tau2_ci", {}), ("without_tau2_ci", {"tau2_ci": False})):
        def run_all():
            for yi, vi in datasets:
                rma(yi, vi, method="REML", **kwargs)
        times = time_call(run_all, repeats)
        out[f"reml_{n_meta}x_k{k}_{label}_median_s"] = statistics.median(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="repeats for k = 1,000")
    parser.add_argument("--repeats-many", type=int, default=3,
                        help="repeats of the 10,000-meta-analysis loop")
    parser.add_argument("--n-meta", type=int, default=10000)
    args = parser.parse_args()
    results = {**bench_large_k(args.repeats),
               **bench_many_small(args.repeats_many, args.n_meta)}
    results["targets"] = {"reml_k1000_ms": 20.0, "reml_10000x_k10_s": 10.0}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
