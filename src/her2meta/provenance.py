"""Provenance records: for every file a job writes under results/, a JSON record of the rule,
its wildcards, each input's and output's SHA-256 (with the input's role: mapping, package,
data, ...), the resolved params, the config subset they came from, the job's seed, the code
identity (git commit, dirty tree, hash of the workflow and package sources), package versions,
start/end time and host.

Records live in results/provenance/, mirroring the output's path below results/
(results/pooled/x.tsv -> results/provenance/pooled/x.tsv.json). Timestamps appear only here
(and in results/pipeline_info/), never in result files, so results stay byte-identical across
runs. `her2meta audit` (her2meta.audit) walks these records from a result down to the raw files.

This module imports nothing heavy: every job pays for its imports.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import socket
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

from .io import canonical_json, sha256_file, write_json

RECORD_SCHEMA = "her2meta.provenance/2"
PACKAGES = ("her2meta", "snakemake", "pandas", "numpy", "scipy", "statsmodels", "lifelines", "matplotlib",
            "pyreadstat", "pyarrow", "jinja2", "pyyaml", "jsonschema")

#: Folders under results/ that hold participant-level data or unsuppressed per-study counts:
#: the secure zone. Everything else under results/ is the release zone (what a user exports),
#: and `check_release` scans all of it. logs/ (outside results/) is secure too.
SECURE_DIRS = ("extracted", "harmonized", "estimates")
#: Folders of the release zone that hold provenance rather than results.
PROVENANCE_DIRS = ("provenance", "pipeline_info")
#: Code whose hash identifies the code that ran (relative to the project root).
SOURCE_GLOBS = ("Snakefile", "workflow/rules/*.smk", "workflow/scripts/*.py", "src/her2meta/**/*.py",
                "src/her2meta/**/*.json", "src/her2meta/**/*.yaml", "src/her2meta/templates/*")
#: Environment variable through which the Snakefile process hands its command line to jobs
#: (workflow/rules/provenance.smk sets it at parse time; it is not a param, so it never
#: triggers a rerun).
COMMAND_LINE_ENV = "HER2META_COMMAND_LINE"


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
def source_digest(project_root: str) -> dict[str, Any]:
    """SHA-256 over the workflow and package sources (path and content of each file, sorted).

    Identifies the code even when the git tree is dirty or there is no git checkout."""
    root = Path(project_root)
    files = sorted({p for pattern in SOURCE_GLOBS for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts})
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return {"source_sha256": digest.hexdigest(), "source_files": len(files)}


@lru_cache(maxsize=None)
def code_identity(project_root: str) -> dict[str, Any]:
    def git(*args):
        return subprocess.run(["git", "-C", project_root, *args], capture_output=True, text=True, timeout=20)

    sources = source_digest(project_root)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"git_commit": None, "git_dirty": None, "note": "not a git checkout", **sources}
        status = git("status", "--porcelain", "--untracked-files=no")
        return {"git_commit": head.stdout.strip(), "git_dirty": bool(status.stdout.strip()), **sources}
    except (OSError, subprocess.TimeoutExpired):
        return {"git_commit": None, "git_dirty": None, "note": "git not available", **sources}


def derive_seed(global_seed: int, *parts: str) -> int:
    """A job's seed from the global seed and its wildcards: reproducible, and streams never overlap."""
    text = ":".join([str(global_seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


SEED_DERIVATION = "first 4 bytes (big-endian) of SHA-256 of 'global_seed:rule:name=value:...' (wildcards sorted by name)"


def job_seed(global_seed: int | None, rule: str, wildcards: Mapping[str, Any]) -> int | None:
    """The seed of one job: derive_seed(global_seed, rule, 'name=value' for each wildcard, sorted)."""
    if global_seed is None:
        return None
    return derive_seed(global_seed, rule, *(f"{k}={v}" for k, v in sorted(wildcards.items())))


def config_digest(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def config_subset(config: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the configuration a job's params came from.

    A param equal to a whole top-level section (e.g. `pooling`) takes that section; a param equal
    to one entry of a section takes that entry (e.g. `analyses.pcr_by_hr`, or `pooling.level` for a
    param named `level`), and a path param under a configured folder takes that folder (e.g.
    `data_root`). The global seed is always included, as is the whole config when a param is the
    config itself."""
    subset: dict[str, Any] = {"seed": config["seed"]} if "seed" in config else {}
    for name, value in params.items():
        if isinstance(value, dict) and value == dict(config):
            return json.loads(canonical_json(dict(config)))
        for key, section in config.items():
            if value == section and (isinstance(section, (dict, list)) or name == key):
                subset[key] = section
            elif isinstance(value, str) and isinstance(section, str) and section and value.startswith(section.rstrip("/") + "/"):
                subset[key] = section  # a path under a configured folder (data_root)
            elif isinstance(section, dict) and subset.get(key) != section:
                for sub, entry in section.items():
                    if value == entry and (isinstance(entry, (dict, list)) or name == sub):
                        subset.setdefault(key, {})[sub] = entry
    return subset


def zone_of(path: Path | str, results_dir: Path | str) -> str:
    """'secure' or 'release' for a file under results/; 'outside' for anything else."""
    try:
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(results_dir))
    except ValueError:
        return "outside"
    if not relative.parts:
        return "outside"
    return "secure" if relative.parts[0] in SECURE_DIRS else "release"


def record_path(output: Path | str, results_dir: Path | str) -> Path:
    output, results_dir = Path(output), Path(results_dir)
    try:
        relative = output.resolve().relative_to(results_dir.resolve())
    except ValueError:
        relative = Path(output.name)
    return results_dir / "provenance" / (str(relative) + ".json")


#: A rule declares each output's record as the output `provenance_<name>` (her2meta's Snakefile:
#: `with_records`), so a run with a storage plugin stores the records with the results.
DECLARED_RECORD_PREFIX = "provenance_"


def named_paths(files: Any) -> dict[str, list[str]]:
    """Name -> paths of a rule's named inputs or outputs (Snakemake's Namedlist: a name holds one
    path or a list); a plain list has no names."""
    named = files.items() if hasattr(files, "items") else ()
    return {str(name): [str(v) for v in ([value] if isinstance(value, (str, Path)) else value)] for name, value in named}


def declared_records(outputs: Any) -> dict[str, str]:
    """Output path -> the record path the rule declared for it (named outputs `x` and
    `provenance_x`, single paths or lists in the same order); outputs without one are absent."""
    named = named_paths(outputs)
    pairs: dict[str, str] = {}
    for name, paths in named.items():
        records = named.get(DECLARED_RECORD_PREFIX + name)
        if not name.startswith(DECLARED_RECORD_PREFIX) and records is not None:
            pairs.update(zip(paths, records))
    return pairs


def transport_inputs(inputs: Any) -> set[str]:
    """Inputs a job declares only so that it has them under a storage plugin (named
    `provenance_<name>`: the records the run manifest and the report read, the files the release
    check scans). They are not what its outputs were made from, so records leave them out."""
    transported: set[str] = set()
    used: set[str] = set()
    for name, paths in named_paths(inputs).items():
        (transported if name.startswith(DECLARED_RECORD_PREFIX) else used).update(paths)
    return transported - used  # a file also declared under another name stays an input


def results_dir_of(output: str, record: str) -> Path | None:
    """The results folder an output and its declared record share (the record is
    <results>/provenance/<output relative to results>.json), wherever a storage plugin put them."""
    out, rec = Path(output), Path(record)
    for depth in range(len(out.parts) - 1, 0, -1):
        base = Path(*out.parts[:depth])
        if rec == base / "provenance" / (out.relative_to(base).as_posix() + ".json"):
            return base
    return None


def load_record(output: Path | str, results_dir: Path | str) -> dict[str, Any] | None:
    path = record_path(output, results_dir)
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _file_entries(paths: Iterable[str | Path], roles: Mapping[str, str] | None = None,
                  known: Mapping[str, str | None] | None = None) -> list[dict[str, Any]]:
    """Path, SHA-256 and role of each file (each file of a folder); `known` hashes are reused."""
    entries = []
    roles = roles or {}
    known = known or {}

    def digest(file: Path) -> str:
        return known.get(str(file)) or sha256_file(file)

    for path in paths:
        p = Path(path)
        role = roles.get(str(path))
        extra = {"role": role} if role else {}
        if p.is_dir():
            for child in sorted(q for q in p.rglob("*") if q.is_file()):
                entries.append({"path": str(child), "sha256": digest(child), **extra})
        elif p.is_file():
            entries.append({"path": str(p), "sha256": digest(p), **extra})
        else:
            entries.append({"path": str(p), "sha256": None, "note": "missing when the record was written", **extra})
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
    input_roles: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    inputs_by_output: Mapping[str, Mapping[str, str]] | None = None,
    record_paths: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write one record per output file (a directory output gives one per file in it).

    `inputs_by_output` (output path -> {input path: role}) narrows the inputs of named outputs to
    what they were made from, for a job that runs several steps (the study chain: extracted <- raw package and mapping,
    harmonized <- extracted, estimates <- harmonized), so the lineage keeps every step.
    `record_paths` (output path -> record path) are the records the rule declared (declared_records);
    an output without one gets record_path(output, results_dir)."""
    finished = _dt.datetime.now(_dt.timezone.utc)
    input_entries = _file_entries(inputs, input_roles)
    output_entries = _file_entries(outputs)
    base = {
        "schema": RECORD_SCHEMA,
        "rule": rule,
        "wildcards": dict(wildcards),
        "inputs": input_entries,
        "outputs": output_entries,
        "params": params,
        "seed": seed,
        "seed_derivation": SEED_DERIVATION if seed is not None else None,
        "log": [str(p) for p in log],
        "code": code_identity(str(Path(project_root).resolve())),
        "software": package_versions(),
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "results_dir": str(results_dir),
        "workdir": os.getcwd(),
    }
    if config is not None:
        base["config"] = {"sha256": config_digest(config), "subset": config_subset(config, params)}
    written = []
    # the chain's intermediate files are its own outputs, hashed above: not read again
    known = {e["path"]: e["sha256"] for e in input_entries + output_entries}
    narrowed = {str(path): _file_entries(list(sources), sources, known) for path, sources in (inputs_by_output or {}).items()}
    for entry in output_entries:
        declared = (record_paths or {}).get(entry["path"])
        target = Path(declared) if declared else record_path(entry["path"], results_dir)
        record = {**base, "output": entry, "zone": zone_of(entry["path"], results_dir)}
        if entry["path"] in narrowed:
            record["inputs"] = narrowed[entry["path"]]
        write_json(target, record)
        written.append(target)
    return written
