"""Provenance records: for every file a job writes under results/, a JSON record of the rule,
its wildcards, each input's and output's SHA-256, the resolved params, the seed, the code
identity (git commit, dirty tree) and package versions.

Records live in results/provenance/, mirroring the output's path below results/
(results/pooled/x.tsv -> results/provenance/pooled/x.tsv.json). Timestamps appear only here,
never in result files, so results stay byte-identical across runs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
import socket
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from .io import sha256_file, write_json

PACKAGES = ("her2meta", "snakemake", "pandas", "numpy", "scipy", "statsmodels", "lifelines", "matplotlib",
            "pyreadstat", "pyarrow", "jinja2", "pyyaml", "jsonschema")


@lru_cache(maxsize=None)
def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@lru_cache(maxsize=None)
def code_identity(project_root: str) -> dict[str, Any]:
    def git(*args):
        return subprocess.run(["git", "-C", project_root, *args], capture_output=True, text=True, timeout=20)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"git_commit": None, "git_dirty": None, "note": "not a git checkout"}
        status = git("status", "--porcelain", "--untracked-files=no")
        return {"git_commit": head.stdout.strip(), "git_dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.TimeoutExpired):
        return {"git_commit": None, "git_dirty": None, "note": "git not available"}


def derive_seed(global_seed: int, *parts: str) -> int:
    """A job's seed from the global seed and its wildcards: reproducible, and streams never overlap."""
    text = ":".join([str(global_seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def record_path(output: Path | str, results_dir: Path | str) -> Path:
    output, results_dir = Path(output), Path(results_dir)
    try:
        relative = output.resolve().relative_to(results_dir.resolve())
    except ValueError:
        relative = Path(output.name)
    return results_dir / "provenance" / (str(relative) + ".json")


def _file_entries(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    entries = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            for child in sorted(q for q in p.rglob("*") if q.is_file()):
                entries.append({"path": str(child), "sha256": sha256_file(child)})
        elif p.is_file():
            entries.append({"path": str(p), "sha256": sha256_file(p)})
        else:
            entries.append({"path": str(p), "sha256": None, "note": "missing when the record was written"})
    return entries


def write_records(
    *,
    rule: str,
    wildcards: dict[str, str],
    inputs: Iterable[str | Path],
    outputs: Iterable[str | Path],
    params: dict[str, Any],
    results_dir: Path | str,
    project_root: Path | str,
    started: _dt.datetime,
    seed: int | None = None,
    log: Iterable[str | Path] = (),
) -> list[Path]:
    finished = _dt.datetime.now(_dt.timezone.utc)
    input_entries = _file_entries(inputs)
    output_entries = _file_entries(outputs)
    base = {
        "rule": rule,
        "wildcards": dict(wildcards),
        "inputs": input_entries,
        "outputs": output_entries,
        "params": params,
        "seed": seed,
        "log": [str(p) for p in log],
        "code": code_identity(str(Path(project_root).resolve())),
        "software": package_versions(),
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "host": socket.gethostname(),
    }
    written = []
    for entry in output_entries:
        target = record_path(entry["path"], results_dir)
        write_json(target, {**base, "output": entry})
        written.append(target)
    return written
