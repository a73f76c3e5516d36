"""Simulation check: bias and 95% CI coverage of the two-stage and one-stage estimates.

    PYTHONPATH=src python bench/simulation_check.py [--replicates 500] [--workers 2] [--tau 0 0.2]
        [--seed 20261121] [--out bench/output/simulation_check]

Writes ``simulation_check.md`` (summary tables), ``simulation_check.json`` (summary, scenarios,
truth, seeds, timings) and ``replicates.csv`` (one row per replicate x estimand x method) to
--out. ``--rerun SCENARIO:R`` re-simulates and re-analyses replicate R alone and prints its
numbers (the same as its rows in replicates.csv). The same study as workflow jobs (one per chunk
of replicates, for a cluster): ``snakemake --cores 8 simulation_check``; both summarise with
her2meta.validation.collect and write with her2meta.validation.write_results, so the same
settings give the same numbers. Method page: docs/methods/simulation_check.md.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import pandas as pd  # noqa: E402

from her2meta.validation import PARTS, default_scenarios, run_replicate, run_simulation  # noqa: E402
from her2meta.validation.files import git_commit, package_version, write_results  # noqa: E402
from her2meta.validation.settings import DEFAULTS  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--replicates", type=int, default=DEFAULTS["replicates"],
                   help=f"replicates per scenario (default {DEFAULTS['replicates']})")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="worker processes (default 2)")
    p.add_argument("--seed", type=int, default=DEFAULTS["master_seed"],
                   help=f"master seed (default {DEFAULTS['master_seed']})")
    default_taus = " ".join(f"{t:g}" for t in DEFAULTS["taus"])
    p.add_argument("--tau", type=float, nargs="+", default=list(DEFAULTS["taus"]),
                   help=f"between-study SDs, one scenario each (default {default_taus})")
    p.add_argument("--k-studies", type=int, default=DEFAULTS["k_studies"],
                   help=f"studies per meta-analysis (default {DEFAULTS['k_studies']})")
    p.add_argument("--parts", nargs="+", default=list(DEFAULTS["parts"]), choices=list(PARTS),
                   help="which estimates to compute (default all)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "output" / "simulation_check", help="output folder")
    p.add_argument("--rerun", metavar="SCENARIO:R", help="rerun one replicate alone and print its rows")
    p.add_argument("--progress-every", type=int, default=25)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = default_scenarios(tuple(args.tau), k_studies=args.k_studies)
    if args.rerun:
        name, _, r = args.rerun.partition(":")
        by_name = {s.name: s for s in scenarios}
        if name not in by_name or not r.isdigit():
            print(f"--rerun wants SCENARIO:R with SCENARIO in {sorted(by_name)}", file=sys.stderr)
            return 2
        out = run_replicate(by_name[name], args.seed, int(r), tuple(args.parts))
        cols = ["scenario", "replicate", "estimand", "method", "estimate", "se", "ci_lb", "ci_ub", "k", "available", "note"]
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 6):
            print(pd.DataFrame(out["rows"])[cols].to_string(index=False))
        return 0

    command = "python bench/simulation_check.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    result = run_simulation(scenarios, args.replicates, master_seed=args.seed, workers=args.workers,
                            parts=tuple(args.parts), progress_every=args.progress_every)
    result["meta"].update(command=command.strip(), git_commit=git_commit(ROOT), version=package_version())
    md = write_results(result, markdown=args.out / "simulation_check.md", json_path=args.out / "simulation_check.json",
                       replicates_csv=args.out / "replicates.csv")
    print(md)
    print(f"written: {args.out}/simulation_check.md, simulation_check.json, replicates.csv", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
