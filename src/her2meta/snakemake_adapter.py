"""The one place that knows the `snakemake` object handed to rule scripts.

Every script in workflow/scripts is three lines: import a stage function, and call
`run_job(snakemake, stage)`. This sets up logging to the rule's log file, turns the project's
own errors into a readable message (and a non-zero exit), and writes provenance records for
every output (her2meta.provenance): inputs with their role and SHA-256, params and the config
subset they came from, the job's seed, code identity, software versions, timing and host.

The job's seed is derived from the global seed (`config["seed"]`), the rule and the wildcards
(provenance.job_seed); a stage finds it as `params["seed"]` unless the rule sets its own.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from .errors import Her2MetaError
from .jobclock import process_start_time
from .provenance import declared_records, job_seed, named_paths, results_dir_of, transport_inputs, write_records


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [_jsonable(v) for v in value]
        return str(value)


def results_root(output: str) -> Path:
    """The results folder: the top folder of an output path (results/<stage>/...)."""
    parts = Path(output).parts
    return Path(parts[0]) if len(parts) > 1 else Path(".")


def input_roles(inputs: Any) -> dict[str, str]:
    """Path -> name of the named input it belongs to (mapping, package, data, ...)."""
    roles: dict[str, str] = {}
    for name, paths in named_paths(inputs).items():
        for path in paths:
            roles.setdefault(path, name)
    return roles


def timing_line(process_start: float | None, stage_start: float, stage_end: float, end: float,
                warm: bool = False) -> str:
    """The job's timing, one log line that bench/bench_workflow.py reads: start-up (interpreter and
    imports, before the stage runs), the stage's own work, provenance records, and the total."""
    startup = stage_start - process_start if process_start is not None else float("nan")
    total = end - process_start if process_start is not None else float("nan")
    return (f"job timing: startup {startup:.3f} s, stage {stage_end - stage_start:.3f} s, "
            f"provenance {end - stage_end:.3f} s, total {total:.3f} s" + (" (warm worker)" if warm else ""))


def run_job(smk: Any, stage: Callable[..., Any], lineage: Callable[[Any, Any], dict] | None = None,
            warm: bool = False, process_start: float | None = None) -> None:
    """Run `stage(inputs=..., outputs=..., params=..., wildcards=..., log=...)` under logging and provenance.

    `lineage(inputs, outputs)`, for a job of several steps, gives each output's own inputs
    ({output: {input: role}}) for its provenance record (provenance.write_records).
    `warm`: this is a warm worker's child (her2meta.warm), and `process_start` is when the job's
    own process started: the job's start-up is timed from there."""
    stage_start = time.time()
    started = _dt.datetime.now(_dt.timezone.utc)
    log_path = Path(smk.log[0]) if len(smk.log) else None
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", handlers=handlers, force=True)
    logger = logging.getLogger(f"her2meta.{smk.rule}")
    params = {k: _jsonable(v) for k, v in smk.params.items()}
    wildcards = dict(smk.wildcards.items())
    config = _jsonable(dict(getattr(smk, "config", None) or {}))
    seed = params["seed"] if isinstance(params.get("seed"), int) else job_seed(config.get("seed"), smk.rule, wildcards)
    try:
        stage(inputs=smk.input, outputs=smk.output, params={**params, "seed": seed}, wildcards=wildcards, logger=logger)
    except Her2MetaError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    except Exception:
        logger.error("unexpected failure in rule %s %s:\n%s", smk.rule, wildcards, traceback.format_exc())
        sys.exit(1)
    stage_end = time.time()
    # Records the rule declared as outputs go where Snakemake expects them (with a storage plugin,
    # its local copy of the results folder); they are not outputs to record themselves.
    records = declared_records(smk.output)
    record_files = set(records.values())
    transported = transport_inputs(smk.input)
    results_dir = next((base for out, rec in records.items() if (base := results_dir_of(out, rec)) is not None),
                       results_root(smk.output[0]))
    write_records(
        rule=smk.rule,
        wildcards=wildcards,
        inputs=list(dict.fromkeys(path for path in smk.input if str(path) not in transported)),
        outputs=[path for path in smk.output if str(path) not in record_files],
        params=params,
        results_dir=results_dir,
        record_paths=records,
        project_root=Path(smk.scriptdir).resolve().parents[1],
        started=started,
        seed=seed,
        log=list(smk.log),
        input_roles=input_roles(smk.input),
        config=config or None,
        inputs_by_output=lineage(smk.input, smk.output) if lineage else None,
    )
    started_at = process_start if warm else process_start_time()
    logger.info("%s", timing_line(started_at, stage_start, stage_end, time.time(), warm))
