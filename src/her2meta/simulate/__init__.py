"""Synthetic trial generator for the demo data, validation studies and scale tests.

All studies produced here are SYNTHETIC (invented patients), calibrated to
published figures and written in the shapes sponsors deliver.

- :func:`write_demo` writes ``resources/demo`` byte for byte (same seed, same bytes).
- :func:`simulate_patients` returns one study's patients in the harmonised vocabulary.
- :func:`random_study_spec` makes a plausible random 2-arm trial for scale tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from .deterministic import atomic_write_bytes, json_bytes, rng_for
from .patients import COLUMNS, simulate_patients
from .trials import DEMO_STUDIES, StudySpec, demo_specs, get_spec, random_study_spec
from .truth import demo_truth, manifest_text, readme_text
from .writers import files_for, render_study

DEFAULT_SEED = 20261121

__all__ = [
    "COLUMNS",
    "DEFAULT_SEED",
    "DEMO_STUDIES",
    "StudySpec",
    "demo_specs",
    "get_spec",
    "random_study_spec",
    "simulate_patients",
    "simulate_study",
    "render_study_files",
    "write_demo",
    "write_study",
]


def simulate_study(spec: StudySpec, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Patients of one study with its own stream, seeded from SHA-256 of ``f"{seed}:{study_id}"``."""
    return simulate_patients(spec, rng_for(seed, spec.study_id))


def render_study_files(spec: StudySpec, patients: pd.DataFrame, seed: int = DEFAULT_SEED) -> dict[str, bytes]:
    """The sponsor files of one study plus its MANIFEST.txt, as ``{name: bytes}``."""
    files = render_study(spec, patients, rng_for(seed, spec.study_id, "render"))
    files["MANIFEST.txt"] = manifest_text(spec, files).encode("utf-8")
    return files


def write_study(
    spec: StudySpec, out_dir: Path, seed: int = DEFAULT_SEED, patients: pd.DataFrame | None = None
) -> list[Path]:
    """Write one study's folder ``out_dir/<study_id>/``; returns the paths written."""
    if patients is None:
        patients = simulate_study(spec, seed)
    folder = Path(out_dir) / spec.study_id
    return [atomic_write_bytes(folder / name, data) for name, data in render_study_files(spec, patients, seed).items()]


def write_demo(out_dir: Path, seed: int = DEFAULT_SEED, studies: Iterable[str] | None = None) -> list[Path]:
    """Generate the whole synthetic demo under ``out_dir``.

    Writes one folder per study (SIM-NEOSPHERE first), ``truth.json`` and
    ``README.md``; every file atomically. Same seed, same bytes. ``studies``
    restricts the study folders written (truth.json and README.md then cover
    only those studies).
    """
    out_dir = Path(out_dir)
    wanted = set(studies) if studies is not None else None
    specs = [s for s in DEMO_STUDIES if wanted is None or s.study_id in wanted]
    if wanted is not None and len(specs) != len(wanted):
        unknown = sorted(wanted - {s.study_id for s in specs})
        raise KeyError(f"unknown demo studies: {', '.join(unknown)}")
    written: list[Path] = []
    frames: dict[str, pd.DataFrame] = {}
    for spec in specs:
        frames[spec.study_id] = simulate_study(spec, seed)
        written += write_study(spec, out_dir, seed, frames[spec.study_id])
    truth = demo_truth(specs, frames, seed)
    written.append(atomic_write_bytes(out_dir / "truth.json", json_bytes(truth)))
    written.append(atomic_write_bytes(out_dir / "README.md", readme_text(specs, frames, truth, seed).encode("utf-8")))
    return written
