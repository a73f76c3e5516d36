"""Which study packages hold synthetic data: the marker file the demo generator writes.

Every package `her2meta simulate demo` writes carries a file named SYNTHETIC beside its data.
The report's banner follows it: a study is labelled synthetic because its package says so, not
because of a configuration key a user adding a real study could forget to change.
"""

from __future__ import annotations

from pathlib import Path

MARKER = "SYNTHETIC"


def marker_text(study_id: str, calibrated_to: str) -> str:
    """The marker's content: fixed text (no date, no version), so the demo stays byte-identical."""
    return (
        "synthetic: true\n"
        f"study: {study_id}\n"
        f"calibrated to: {calibrated_to}\n"
        "Invented patients written by `her2meta simulate demo`, not a real trial. The report labels every\n"
        "study whose package holds this file as synthetic. Never copy this file into a real package.\n"
    )


def is_synthetic(package: Path | str) -> bool:
    """Whether a study package folder carries the synthetic-data marker (a table file never does)."""
    package = Path(package)
    return package.is_dir() and (package / MARKER).is_file()


def synthetic_studies(studies: list[dict]) -> list[str]:
    """study_ids of the included studies whose package carries the marker (the study sheet rows'
    `synthetic`, set by her2meta.config.mark_synthetic)."""
    return [s["study_id"] for s in studies if s.get("include") and s.get("synthetic")]
