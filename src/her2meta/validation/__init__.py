"""Simulation check of the pooling methods: bias and 95% CI coverage against known true effects.

From a data-generating model with known pooled parameters (:mod:`.scenarios`, :mod:`.generate`),
many replicate IPD meta-analyses are simulated and analysed by the two-stage (FE, DL, REML,
REML + Knapp-Hartung) and one-stage (stratified logistic / Cox) methods (:mod:`.estimate`);
:mod:`.summary` computes bias, empirical and model SEs and coverage with Monte Carlo SEs.
Command line: ``python bench/simulation_check.py``; method page: docs/methods/simulation_check.md.
"""

from .estimate import METHOD_LABELS, PARTS, MethodResult, estimate_replicate
from .generate import Replicate, replicate_rng, replicate_seed, simulate_meta, simulate_replicate
from .runner import DEFAULT_MASTER_SEED, run_replicate, run_simulation
from .scenarios import ESTIMAND_LABELS, ESTIMANDS, Scenario, default_scenarios, truth
from .summary import KH_TARGET, kh_check, render_markdown, summarise

__all__ = [
    "DEFAULT_MASTER_SEED", "ESTIMANDS", "ESTIMAND_LABELS", "KH_TARGET", "METHOD_LABELS", "PARTS", "MethodResult",
    "Replicate", "Scenario", "default_scenarios", "estimate_replicate", "kh_check", "render_markdown",
    "replicate_rng", "replicate_seed", "run_replicate", "run_simulation", "simulate_meta", "simulate_replicate",
    "summarise", "truth",
]
