"""check_release: scan the release zone for patient identifiers, row-level tables and small
cells; write the release manifest (file list with SHA-256) only when the check passes."""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import Her2MetaError
from ..io import sha256_file
from ..release import Finding, check_release, load_identifiers, write_manifest


def _to_log_file_only(lines: list[str]) -> None:
    """Every finding goes to the rule's log file (and the manifest), not to the console."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler) and lines:
            handler.acquire()
            try:
                handler.stream.write("".join(f"  {line.strip()}\n" for line in lines))
                handler.flush()
            finally:
                handler.release()


class ReleaseCheckFailed(Her2MetaError):
    """Something in the release zone must not leave the secure environment."""


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    manifest = Path(outputs.manifest)
    results_dir = manifest.parent.parent  # results/pipeline_info/release_manifest.json
    sources = [str(p) for p in inputs.harmonized]
    skipped: list[str] = []
    identifiers = load_identifiers(sources, skipped=skipped)
    check = check_release(results_dir, identifiers=identifiers, min_cell_count=int(params["min_cell_count"]),
                          strict=bool(params["strict"]),
                          identifier_sources=[{"path": p, "sha256": sha256_file(p)} for p in sources],
                          studies=int(params.get("studies") or len(sources)))
    for item in skipped:
        logger.warning("no identifiers read from %s (a failed study's marker?)", item)
        check.findings.append(Finding("note", item.split(":")[0], "identifier source",
                                      "not a harmonized table: its identifiers were not searched"))
    summary = check.summary().splitlines()
    for line in summary[:5]:
        logger.info("%s", line)
    _to_log_file_only(summary[5:])
    if not check.passed:
        failures = check.failures
        raise ReleaseCheckFailed(
            f"release check failed: {len(failures)} finding(s) in the release zone of {results_dir} must not leave the "
            "secure environment:\n" + "\n".join(f"  {f.kind}: {f.line()}" for f in failures)
            + "\n  what to do: remove the identifier or row-level table from the output, or suppress the cell "
              "(her2meta.release.suppress_small_counts); see docs/audit.md")
    write_manifest(check, outputs.manifest, outputs.sha256)
    logger.info("release manifest: %s (%d files)", outputs.manifest, len(check.files))
