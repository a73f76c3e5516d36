"""write_run_manifest and write_ro_crate: what a run was (pipeline_info), and the run as a
Workflow Run RO-Crate.

The run manifest holds the full resolved config, the validated study sheet, the hashes of the
study sheet, config files, mappings and raw study files, software versions, the code identity,
the Snakemake version and the command line. It is provenance (times, host, command line), so it
lives in results/pipeline_info/, outside the byte-identical results.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

from ..io import sha256_file, write_json
from ..provenance import COMMAND_LINE_ENV, SEED_DERIVATION, code_identity, config_digest, package_versions, zone_of

#: Files of the workflow definition copied into the RO-Crate (relative to the project root).
WORKFLOW_FILES = ("Snakefile", "workflow/rules/*.smk", "workflow/scripts/*.py", "envs/*.yaml")


def _records(results_dir: Path) -> list[dict[str, Any]]:
    base = results_dir / "provenance"
    out = []
    for path in sorted(base.rglob("*.json")):
        try:
            with open(path, encoding="utf-8") as handle:
                out.append(json.load(handle))
        except (OSError, ValueError):
            continue
    return out


def external_inputs(results_dir: Path, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Inputs of any job that are not results (raw study files, mappings, ...), as recorded, with their study."""
    seen: dict[tuple[str, str | None], dict[str, Any]] = {}
    for record in records:
        for entry in record.get("inputs", []):
            if zone_of(entry["path"], results_dir) != "outside":
                continue
            key = (entry["path"], entry.get("sha256"))
            seen.setdefault(key, {"path": entry["path"], "sha256": entry.get("sha256"), "role": entry.get("role"),
                                  "study": (record.get("wildcards") or {}).get("study")})
    return sorted(seen.values(), key=lambda e: (e["study"] or "", e["role"] or "", e["path"]))


def command_line() -> dict[str, Any]:
    raw = os.environ.get(COMMAND_LINE_ENV)
    if not raw:
        return {"argv": None, "note": "not available: the job did not run under the Snakefile process that started it"}
    try:
        argv = json.loads(raw)
    except ValueError:
        argv = [raw]
    return {"argv": argv, "text": " ".join(argv)}


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    manifest = Path(outputs.manifest)
    results_dir = manifest.parent.parent
    records = _records(results_dir)
    workflow = params["workflow"]
    config = params["config"]
    times = [(r.get("started"), r.get("finished")) for r in records if r.get("started")]
    sheet = str(inputs.studies)
    document = {
        "schema": "her2meta.run_manifest/1",
        "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "workdir": os.getcwd(),
        "command_line": command_line(),
        "snakemake_version": params["snakemake_version"],
        "workflow": workflow,
        "code": code_identity(str(Path(workflow["basedir"]).resolve())),
        "software": package_versions(),
        "config": config,
        "config_sha256": config_digest(config),
        "config_files": [{"path": str(p), "sha256": sha256_file(p)} for p in inputs.configfiles],
        "seed": {"global": config.get("seed"), "per_job": SEED_DERIVATION},
        "study_sheet": {"path": sheet, "sha256": sha256_file(sheet), "rows": params["studies"]},
        "mappings": [{"path": str(p), "sha256": sha256_file(p)} for p in inputs.mappings],
        "external_inputs": external_inputs(results_dir, records),
        "results": [{"path": str(p), "sha256": sha256_file(p), "zone": zone_of(p, results_dir)} for p in inputs.results
                    if Path(p).is_file()],
        "jobs": {"records": len(records), "first_started": min((t[0] for t in times), default=None),
                 "last_finished": max((t[1] for t in times if t[1]), default=None)},
    }
    write_json(manifest, document)
    logger.info("run manifest: %s (%d provenance records, %d external inputs)", manifest, len(records),
                len(document["external_inputs"]))


def run_ro_crate(*, inputs, outputs, params, wildcards, logger) -> None:
    from ..rocrate import build_crate

    crate_path = Path(outputs.crate)
    results_dir = crate_path.parent
    basedir = Path(params["workflow"]["basedir"])
    snapshot = Path(outputs.workflow)
    if snapshot.exists():
        shutil.rmtree(snapshot)
    copied = []
    for pattern in WORKFLOW_FILES:
        for source in sorted(basedir.glob(pattern)):
            target = snapshot / source.relative_to(basedir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(target)
    with open(inputs.run_manifest, encoding="utf-8") as handle:
        run_manifest = json.load(handle)
    with open(inputs.release_manifest, encoding="utf-8") as handle:
        release_manifest = json.load(handle)
    crate = build_crate(results_dir, run_manifest=run_manifest, release_manifest=release_manifest,
                        records=_records(results_dir), workflow_files=copied,
                        title=params.get("title") or "her2meta run")
    write_json(crate_path, crate)
    logger.info("RO-Crate: %s (%d entities; workflow snapshot of %d files in %s)", crate_path, len(crate["@graph"]),
                len(copied), snapshot)
