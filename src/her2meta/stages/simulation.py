"""simulate_chunk and summarise_simulation: the simulation check as workflow jobs.

One job per chunk of replicates of one scenario (``run_chunk``), and one that gathers every chunk
(``run_summary``). The replicates are the single-process runner's
(her2meta.validation.run_replicate: replicate r of scenario s always uses
``replicate_seed(master_seed, s, r)``), and the summary is the runner's too
(her2meta.validation.collect, write_results), so the workflow gives the numbers
``bench/simulation_check.py`` gives for the same settings. Docs: docs/methods/simulation_check.md.
"""

from __future__ import annotations

import json
import os
import shlex
import time

from ..errors import Her2MetaError
from ..provenance import COMMAND_LINE_ENV
from ..validation import (Scenario, collect, default_scenarios, n_chunks, read_chunk, run_replicates, scenarios_for,
                          simulation_settings, write_chunk, write_results)
from ..validation.files import git_commit, package_version, run_of_chunks
from ..validation.runner import loadavg


class SimulationChunkError(Her2MetaError):
    """A chunk that does not match its scenario, or chunks that do not hold every replicate once."""


def chunk_scenario(params, wildcards) -> Scenario:
    """The chunk's scenario from its params ({name, tau, k_studies}); the name must be the wildcard's."""
    spec = params["scenario"]
    scenario = default_scenarios((float(spec["tau"]),), k_studies=int(spec["k_studies"]))[0]
    if scenario.name != wildcards["scenario"] or spec.get("name", scenario.name) != scenario.name:
        raise SimulationChunkError(f"scenario {wildcards['scenario']!r}: tau {spec['tau']} names scenario "
                                   f"{scenario.name!r}")
    return scenario


def run_chunk(*, inputs, outputs, params, wildcards, logger) -> None:
    """Replicates [start, stop) of one scenario -> rows CSV + information JSON (her2meta.validation.files).

    params: scenario {name, tau, k_studies}; replicates [start, stop) (the rule computes them from the
    chunk wildcard: [chunk * chunk_size, min((chunk + 1) * chunk_size, replicates))); master_seed; parts.
    """
    scenario = chunk_scenario(params, wildcards)
    start, stop = (int(x) for x in params["replicates"])
    replicates = range(start, stop)
    if not replicates:
        raise SimulationChunkError(f"chunk {wildcards.get('chunk')} of {scenario.name} has no replicates "
                                   f"({start}-{stop})")
    master_seed, parts = int(params["master_seed"]), tuple(params["parts"])
    logger.info("scenario %s: replicates %d-%d (master seed %d; parts %s)", scenario.name, start, stop - 1,
                master_seed, ", ".join(parts))
    load_start, started = loadavg(), time.time()
    results = run_replicates(scenario, master_seed, replicates, parts)
    finished = time.time()
    write_chunk(outputs.rows, outputs.info, results, started=started, finished=finished,
                load_average_start=load_start, load_average_end=loadavg())
    logger.info("%d replicates, %d rows in %.1f s", len(results), sum(len(o["rows"]) for o in results),
                finished - started)


def _command() -> str:
    """The user's snakemake command line (set by workflow/rules/provenance.smk), else a generic one."""
    try:
        argv = json.loads(os.environ.get(COMMAND_LINE_ENV, "null"))
    except ValueError:
        argv = None
    if not argv:
        return "snakemake simulation_check"
    return " ".join(["snakemake", shlex.join(argv[1:])]).strip()


def run_summary(*, inputs, outputs, params, wildcards, logger) -> None:
    """Every chunk's replicates -> simulation_check.md, simulation_check.json, replicates.csv."""
    settings = simulation_settings(params["simulation"])
    scenarios = scenarios_for(settings)
    if len(inputs.rows) != len(inputs.info):
        raise SimulationChunkError(f"{len(inputs.rows)} row files but {len(inputs.info)} chunk information files")
    replicate_outputs, infos = [], []
    for rows_path, info_path in zip(inputs.rows, inputs.info):
        chunk_outputs, info = read_chunk(rows_path, info_path)
        replicate_outputs += chunk_outputs
        infos.append(info)
    expected = {(sc.name, r) for sc in scenarios for r in range(settings["replicates"])}
    found = [(o["scenario"], o["replicate"]) for o in replicate_outputs]
    if len(found) != len(set(found)) or set(found) != expected:
        missing, extra = sorted(expected - set(found))[:5], sorted(set(found) - expected)[:5]
        raise SimulationChunkError(f"the chunks do not hold each replicate once: missing {missing}, "
                                   f"unexpected {extra}, {len(found) - len(set(found))} duplicated")
    chunks = len(scenarios) * n_chunks(settings["replicates"], settings["chunk_size"])
    result = collect(replicate_outputs, scenarios, master_seed=settings["master_seed"],
                     replicates=settings["replicates"], parts=settings["parts"],
                     run={**run_of_chunks(infos, chunks), "chunk_size": settings["chunk_size"]})
    result["meta"].update(command=_command(), git_commit=git_commit(), version=package_version())
    write_results(result, markdown=outputs.markdown, json_path=outputs.json, replicates_csv=outputs.replicates)
    for check in result["kh_check"]:
        logger.info("%s: REML + Knapp-Hartung coverage of the pooled pCR log OR %.1f%% (%s 93-97%%)",
                    check["scenario"], 100 * check["coverage"], "within" if check["within_93_97"] else "OUTSIDE")
    logger.info("%d replicates of %d scenarios from %d chunks summarised", len(found), len(scenarios), len(infos))
