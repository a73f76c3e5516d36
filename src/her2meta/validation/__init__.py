"""Simulation check of the pooling methods: bias and 95% CI coverage against known true effects.

From a data-generating model with known pooled parameters (:mod:`.scenarios`, :mod:`.generate`),
many replicate IPD meta-analyses are simulated and analysed by the two-stage (FE, DL, REML,
REML + Knapp-Hartung) and one-stage (stratified logistic / Cox) methods (:mod:`.estimate`);
:mod:`.summary` computes bias, empirical and model SEs and coverage with Monte Carlo SEs.
:mod:`.settings` holds the defaults and the workflow's chunking, :mod:`.files` the chunk and result
files. Command line: ``python bench/simulation_check.py``; workflow target:
``snakemake simulation_check`` (her2meta.stages.simulation); method page:
docs/methods/simulation_check.md.
"""

from .estimate import METHOD_LABELS, PARTS, MethodResult, estimate_replicate
from .files import read_chunk, write_chunk, write_results
from .generate import Replicate, replicate_rng, replicate_seed, simulate_meta, simulate_replicate
from .runner import DEFAULT_MASTER_SEED, collect, run_replicate, run_replicates, run_simulation
from .scenarios import ESTIMAND_LABELS, ESTIMANDS, Scenario, default_scenarios, truth
from .settings import DEFAULTS, chunk_replicates, n_chunks, scenarios_for, simulation_settings
from .summary import KH_TARGET, kh_check, render_markdown, summarise

__all__ = [
    "DEFAULTS", "DEFAULT_MASTER_SEED", "ESTIMANDS", "ESTIMAND_LABELS", "KH_TARGET", "METHOD_LABELS", "PARTS",
    "MethodResult", "Replicate", "Scenario", "chunk_replicates", "collect", "default_scenarios", "estimate_replicate",
    "kh_check", "n_chunks", "read_chunk", "render_markdown", "replicate_rng", "replicate_seed", "run_replicate",
    "run_replicates", "run_simulation", "scenarios_for", "simulate_meta", "simulate_replicate", "simulation_settings",
    "summarise", "truth", "write_chunk", "write_results",
]
