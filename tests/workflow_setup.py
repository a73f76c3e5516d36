"""Shared set-up for tests that run the workflow: a small configuration in a temporary folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def write_run_config(
    work: Path,
    *,
    studies: list[str],
    analyses: list[str],
    sensitivity: list[str] | None = None,
    include: tuple[str, ...] = (),
    keep_excluded: bool = False,
    copy_data: bool = False,
) -> None:
    """config/config.yaml and config/studies.tsv under `work` for a subset of the demo.

    studies: the study sheet rows to keep; include: rows among them to switch to include=true
    (e.g. an aggregate table shipped excluded); keep_excluded: also keep the sheet's excluded rows
    (the flow diagram shows them); sensitivity: the analyses that get sensitivity analyses (none
    by default, to keep a test short); copy_data: copy the study packages into `work/data`
    (a self-contained folder) instead of pointing at the repository's resources.
    """
    (work / "config").mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    data_root = ROOT / config["data_root"]
    config["data_root"] = "data" if copy_data else str(data_root)
    config["analyses"] = {name: config["analyses"][name] for name in analyses}
    config["sensitivity"]["analyses"] = list(sensitivity or [])
    if config.get("report", {}).get("primary_analysis") not in (None, *analyses):
        del config["report"]["primary_analysis"]
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    sheet = pd.read_csv(ROOT / "config" / "studies.tsv", sep="\t", dtype=str, keep_default_na=False)
    keep = sheet["study_id"].isin(studies) | ((sheet["include"] == "false") if keep_excluded else False)
    sheet = sheet[keep].copy()
    sheet["mapping"] = [str(ROOT / m) if m else "" for m in sheet["mapping"]]
    switched = sheet["study_id"].isin(include)
    sheet.loc[switched, "include"] = "true"
    sheet.loc[switched, "exclusion_reason"] = ""
    if copy_data:
        for study, path in zip(sheet["study_id"], sheet["path"]):
            source, target = data_root / path, work / "data" / study
            if source.is_dir():
                shutil.copytree(source, target)
            else:  # an aggregate table
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        sheet["path"] = sheet["study_id"]
    sheet.to_csv(work / "config" / "studies.tsv", sep="\t", index=False)


def snakemake_command(work: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(work), *args]


def run_snakemake(work: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_command(work, *args), capture_output=True, text=True, timeout=timeout)
