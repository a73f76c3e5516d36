"""Files of the simulation check: the chunk files of the workflow and the three result files.

A workflow chunk (one job: some replicates of one scenario) writes

* a CSV of its rows (one per replicate x estimand x method, the columns of
  :func:`her2meta.validation.run_replicate`'s rows), floats written in Python's shortest
  round-trip form and read back with ``float_precision="round_trip"``, so the numbers that come
  back are bit for bit the ones computed;
* a JSON of each replicate's seed, CPU times by part, patients and events, and the chunk's
  start and end (for the timing lines of the summary).

:func:`read_chunk` turns the two back into :func:`run_replicate` outputs, which
:func:`her2meta.validation.runner.collect` summarises exactly as the single-process runner does.
:func:`write_results` writes ``simulation_check.md``, ``simulation_check.json`` and
``replicates.csv`` for both ``bench/simulation_check.py`` and the workflow.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..io import atomic_write_text
from ..pool.result import to_jsonable
from .summary import render_markdown

#: the project's root folder (src/her2meta/validation/files.py -> three folders up)
PROJECT_ROOT = Path(__file__).resolve().parents[3]
#: row columns read back as text (a seed is a 256-bit integer: text, not a number)
TEXT_COLUMNS = ("estimand", "method", "note", "scenario", "seed")
#: row columns that may be missing (NaN, written as an empty cell)
FLOAT_COLUMNS = ("estimate", "se", "ci_lb", "ci_ub", "tau2")
#: per-replicate fields of a chunk's JSON
REPLICATE_FIELDS = ("scenario", "replicate", "seed", "timings", "n_patients", "n_events")


def write_chunk(rows_path: Path | str, info_path: Path | str, outputs: Iterable[dict[str, Any]], *,
                started: float, finished: float, load_average_start: list[float] | None = None,
                load_average_end: list[float] | None = None) -> None:
    """A chunk's rows (CSV) and per-replicate information (JSON); ``started``/``finished`` are Unix times."""
    outputs = list(outputs)
    rows = pd.DataFrame([row for o in outputs for row in o["rows"]])
    # no float_format: pandas writes repr(), the shortest string that reads back to the same float
    atomic_write_text(rows_path, rows.to_csv(index=False, lineterminator="\n"))
    info = {
        "replicates": [{k: o[k] for k in REPLICATE_FIELDS} for o in outputs],
        "started": float(started), "finished": float(finished), "wall_seconds": float(finished - started),
        "load_average_start": load_average_start, "load_average_end": load_average_end, "host": socket.gethostname(),
    }
    # plain json (not canonical_json): keeps the order of the parts in the timings
    atomic_write_text(info_path, json.dumps(info, indent=1) + "\n")


def read_chunk_rows(rows_path: Path | str) -> pd.DataFrame:
    """A chunk's rows, exactly as computed (text stays text, empty cells of float columns are NaN)."""
    header = pd.read_csv(rows_path, nrows=0).columns
    return pd.read_csv(rows_path, dtype={c: str for c in TEXT_COLUMNS if c in header}, keep_default_na=False,
                       na_values={c: [""] for c in FLOAT_COLUMNS if c in header}, float_precision="round_trip")


def read_chunk(rows_path: Path | str, info_path: Path | str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The chunk's :func:`run_replicate` outputs (rows as dicts, in their original order) and its JSON."""
    info = json.loads(Path(info_path).read_text(encoding="utf-8"))
    rows = read_chunk_rows(rows_path)
    outputs = []
    for rep in info["replicates"]:
        mine = rows.loc[(rows["scenario"] == rep["scenario"]) & (rows["replicate"] == rep["replicate"])]
        outputs.append({**rep, "rows": mine.to_dict(orient="records")})
    if sum(len(o["rows"]) for o in outputs) != len(rows):
        raise ValueError(f"{rows_path}: rows of replicates not listed in {info_path}")
    return outputs, info


def run_of_chunks(infos: list[dict[str, Any]], n_chunks: int) -> dict[str, Any]:
    """How the chunks ran, in the keys :func:`her2meta.validation.runner.collect` takes as ``run``.

    Wall time: from the first chunk's start to the last chunk's end (the summary job excluded).
    """
    if not infos:
        return {"workers": f"{n_chunks} workflow jobs", "wall_seconds": 0.0}
    first = min(infos, key=lambda i: i["started"])
    last = max(infos, key=lambda i: i["finished"])
    return {
        "workers": f"{n_chunks} workflow jobs",
        "wall_seconds": float(last["finished"] - first["started"]),
        "load_average_start": first.get("load_average_start"),
        "load_average_end": last.get("load_average_end"),
        "chunk_seconds_total": float(sum(i["wall_seconds"] for i in infos)),
        "hosts": sorted({i.get("host", "?") for i in infos}),
    }


def git_commit(root: Path | str = PROJECT_ROOT) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True, timeout=20).stdout.strip()
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return "unknown"


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("her2meta")
    except Exception:  # noqa: BLE001
        return "unknown"


def write_results(result: dict[str, Any], *, markdown: Path | str, json_path: Path | str,
                  replicates_csv: Path | str) -> str:
    """``simulation_check.md``, ``simulation_check.json`` and ``replicates.csv``; returns the markdown."""
    table = result["table"]
    md = render_markdown(result, table)
    summary = {"meta": result["meta"], "scenarios": result["scenarios"], "kh_check": result["kh_check"],
               "summary": table.to_dict(orient="records")}
    for path in (markdown, json_path, replicates_csv):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(markdown, md)
    atomic_write_text(json_path, json.dumps(to_jsonable(summary), indent=2) + "\n")
    atomic_write_text(replicates_csv, result["rows"].to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    return md
