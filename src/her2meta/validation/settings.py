"""Settings of the simulation check, shared by the command line and the workflow.

One set of defaults (:data:`DEFAULTS`) for ``bench/simulation_check.py`` and the workflow's
``simulation`` configuration section: the ``default`` values of that section in the config schema
(``src/her2meta/schemas/config.json``), read from there. The workflow runs the replicates of a scenario in chunks of
``chunk_size``: chunk c holds replicates ``[c * chunk_size, min((c + 1) * chunk_size, replicates))``.
A replicate's random stream depends only on (master seed, scenario, replicate index)
(:func:`her2meta.validation.generate.replicate_seed`), so the chunking never changes a number.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Mapping

from ..schemas import load_schema
from .estimate import PARTS
from .scenarios import Scenario, default_scenarios

#: replicates per scenario (500), between-study SDs, one scenario each (0, 0.2), studies per
#: meta-analysis (10), replicates per workflow job (25), master seed (20261121) and the estimates
#: computed (all parts): the config schema's defaults of the ``simulation`` section
DEFAULTS: dict[str, Any] = {name: prop["default"]
                            for name, prop in load_schema("config")["properties"]["simulation"]["properties"].items()}
DEFAULT_MASTER_SEED: int = DEFAULTS["master_seed"]


def simulation_settings(section: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The configuration's ``simulation`` section with every missing key at its default."""
    section = dict(section or {})
    unknown = sorted(set(section) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown simulation settings {unknown}; known: {sorted(DEFAULTS)}")
    settings = {**copy.deepcopy(DEFAULTS), **section}
    settings["taus"] = [float(t) for t in settings["taus"]]
    settings["parts"] = [str(p) for p in settings["parts"]]
    for key in ("replicates", "k_studies", "chunk_size", "master_seed"):
        settings[key] = int(settings[key])
    if settings["replicates"] < 1 or settings["chunk_size"] < 1:
        raise ValueError("simulation: replicates and chunk_size must be at least 1")
    bad = [p for p in settings["parts"] if p not in PARTS]
    if bad or not settings["parts"]:
        raise ValueError(f"simulation: parts must be among {', '.join(PARTS)} (got {settings['parts']})")
    return settings


def scenarios_for(settings: Mapping[str, Any]) -> list[Scenario]:
    """The scenarios of these settings: one per tau, in the given order."""
    return default_scenarios(tuple(float(t) for t in settings["taus"]), k_studies=int(settings["k_studies"]))


def n_chunks(replicates: int, chunk_size: int) -> int:
    """Chunks (workflow jobs) per scenario."""
    return math.ceil(int(replicates) / int(chunk_size))


def chunk_replicates(chunk: int, chunk_size: int, replicates: int) -> range:
    """Replicate indices of one chunk: ``[chunk * chunk_size, min((chunk + 1) * chunk_size, replicates))``."""
    chunk, chunk_size, replicates = int(chunk), int(chunk_size), int(replicates)
    if not 0 <= chunk < n_chunks(replicates, chunk_size):
        raise ValueError(f"chunk {chunk} out of range: {replicates} replicates in chunks of {chunk_size} "
                         f"make {n_chunks(replicates, chunk_size)} chunks")
    return range(chunk * chunk_size, min((chunk + 1) * chunk_size, replicates))
