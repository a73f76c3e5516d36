# Configuration, the study sheet and the input functions every stage uses.
import re
import sys
from pathlib import Path

PROJECT_ROOT = Path(workflow.basedir)
sys.path.insert(0, str(PROJECT_ROOT / "src"))

from her2meta.config import (  # noqa: E402
    analyses_for_study,
    included_studies,
    read_study_sheet,
    validate_config,
)

_validated = validate_config(config, file=(workflow.configfiles or ["config"])[0])
config.clear()
config.update(_validated)

RESULTS = "results"
LOGS = "logs"
STUDY_ROWS = read_study_sheet(config["studies"], project_root=".", data_root=config["data_root"])
STUDY = {row["study_id"]: row for row in STUDY_ROWS}
IPD_STUDIES = included_studies(STUDY_ROWS, source="ipd")
ANALYSES = list(config["analyses"])


wildcard_constraints:
    study="|".join(map(re.escape, STUDY)) or "NO_STUDY",
    analysis="|".join(ANALYSES),


def package_dir(study):
    return str(Path(config["data_root"]) / STUDY[study]["path"])


def package_files(wildcards):
    """Every file of the study package: a changed file reruns its chain."""
    folder = Path(package_dir(wildcards.study))
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def studies_for(analysis):
    return [s for s in IPD_STUDIES if analysis in analyses_for_study(config, STUDY[s])]


def study_estimates(wildcards):
    return expand(
        f"{RESULTS}/estimates/{wildcards.analysis}/{{study}}.tsv",
        study=studies_for(wildcards.analysis),
    )


# Rule files included after this one append their own final targets here.
EXTRA_TARGETS = []


def all_targets():
    return [
        f"{RESULTS}/report/index.html",
        *expand(f"{RESULTS}/pooled/{{analysis}}.tsv", analysis=ANALYSES),
        *expand(f"{RESULTS}/figures/{{analysis}}/forest.svg", analysis=ANALYSES),
        *EXTRA_TARGETS,
    ]
