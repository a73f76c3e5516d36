# Configuration, the study sheet and the input functions every stage uses.
import functools
import os
import re
import sys
from pathlib import Path

PROJECT_ROOT = Path(workflow.basedir)
sys.path.insert(0, str(PROJECT_ROOT / "src"))

from her2meta.config import (  # noqa: E402
    analyses_for_study,
    included_studies,
    mark_synthetic,
    read_study_sheet,
    select_user_analyses,
    validate_config,
)
from her2meta import warm  # noqa: E402
from her2meta.provenance import DECLARED_RECORD_PREFIX, record_path, zone_of  # noqa: E402
from snakemake.io import is_flagged  # noqa: E402
from snakemake.logging import logger  # noqa: E402
from her2meta.errors import KEEP_GOING_ENV  # noqa: E402

# Snakemake merges a `--configfile my.yaml` into config/config.yaml key by key, which would add the
# shipped analyses back to the user's: a user's `analyses` replace them instead (config/README.md).
_user_config = workflow.config_settings.overwrite_config
_config_files = [str(f) for f in workflow.configfiles if Path(f) not in set(map(Path, workflow.overwrite_configfiles))] + [
    str(f) for f in workflow.overwrite_configfiles
]
_selected, _selection_notes = select_user_analyses(config, _user_config)
for _note in _selection_notes:
    logger.info(f"her2meta: {_note}")
_validated = validate_config(_selected, file=" + ".join(_config_files) or "config")
config.clear()
config.update(_validated)

# `--keep-going` reaches the jobs through the environment, set when the run starts (the execution
# settings do not exist yet while this file is parsed) and inherited by every job process; not through
# config or params, whose change would rerun jobs. Under it a study that fails leaves marker outputs
# instead of stopping the run (HER2META_KEEP_GOING; her2meta.errors.keep_going).
#
# A local run also starts the warm worker (her2meta.warm; `warm_worker` in the config): jobs then
# run in children of one process that has imported the libraries once. It is stopped when the run
# ends, however it ends. Every job whose Python could differ from Snakemake's (conda, containers)
# or that runs elsewhere (cluster, cloud) runs in its own process.
_warm_worker = []


def start_warm_worker():
    if warm.wanted(config["warm_worker"], workflow.local_exec, workflow.deployment_settings.deployment_method):
        _warm_worker.append(warm.start(wait=False))


def stop_warm_worker():
    while _warm_worker:
        warm.stop(_warm_worker.pop())


onstart:
    os.environ.update({KEEP_GOING_ENV: "1" if workflow.execution_settings.keep_going else "0"})
    start_warm_worker()


onsuccess:
    stop_warm_worker()


onerror:
    stop_warm_worker()


RESULTS = "results"
LOGS = "logs"
STUDY_ROWS = mark_synthetic(read_study_sheet(config["studies"], project_root=".", data_root=config["data_root"]),
                            data_root=config["data_root"])
STUDY = {row["study_id"]: row for row in STUDY_ROWS}
IPD_STUDIES = included_studies(STUDY_ROWS, source="ipd")
AGGREGATE_STUDIES = included_studies(STUDY_ROWS, source="aggregate")
ANALYSES = list(config["analyses"])


wildcard_constraints:
    study="|".join(map(re.escape, STUDY)) or "NO_STUDY",
    analysis="|".join(ANALYSES),


def with_records(**outputs):
    """A rule's named outputs and, as `provenance_<name>`, the provenance record of each (a folder
    output's files are recorded but not declared). Declared, the records travel with the results:
    a run with a storage plugin stores them, and Snakemake removes them with their outputs."""
    declared = dict(outputs)
    for name, value in outputs.items():
        if is_flagged(value, "directory"):
            continue
        paths = value if isinstance(value, list) else [value]
        records = [str(record_path(str(path), RESULTS)) for path in paths]
        declared[DECLARED_RECORD_PREFIX + name] = records if isinstance(value, list) else records[0]
    return declared


def package_dir(study):
    return str(Path(config["data_root"]) / STUDY[study]["path"])


@functools.lru_cache(maxsize=None)
def study_package_files(study):
    """The package is raw input, not made by any rule: listed once per run (inputs and params)."""
    folder = Path(package_dir(study))
    return tuple(sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")))


def package_files(wildcards):
    """Every file of the study package: a changed file reruns its chain."""
    return list(study_package_files(wildcards.study))


def package_first_file(study):
    files = study_package_files(study)
    return Path(files[0]).relative_to(package_dir(study)).as_posix() if files else ""


def studies_for(analysis, sources=("ipd", "aggregate")):
    """Included studies an analysis takes (by setting and design); IPD-only for one-stage and KM."""
    studies = [s for s in IPD_STUDIES + AGGREGATE_STUDIES if STUDY[s]["data_source"] in sources]
    return sorted(s for s in studies if analysis in analyses_for_study(config, STUDY[s]))


def ipd_studies_for(analysis):
    return studies_for(analysis, sources=("ipd",))


def study_estimates(wildcards):
    return expand(
        f"{RESULTS}/estimates/{wildcards.analysis}/{{study}}.tsv",
        study=studies_for(wildcards.analysis),
    )


SURVIVAL_ANALYSES = [a for a in ANALYSES if config["analyses"][a]["type"] == "survival" and ipd_studies_for(a)]
ONESTAGE_ANALYSES = [
    a for a in ANALYSES
    if config["analyses"][a]["onestage"] and config["analyses"][a]["measure"] in ("OR", "HR") and ipd_studies_for(a)
]


# Rule files included after this one append their own final targets here.
EXTRA_TARGETS = []


def all_targets():
    return [
        f"{RESULTS}/report/index.html",
        *expand(f"{RESULTS}/pooled/{{analysis}}.tsv", analysis=ANALYSES),
        *expand(f"{RESULTS}/figures/{{analysis}}/forest.svg", analysis=ANALYSES),
        *expand(f"{RESULTS}/figures/{{analysis}}/km.svg", analysis=SURVIVAL_ANALYSES),
        *expand(f"{RESULTS}/onestage/{{analysis}}.json", analysis=ONESTAGE_ANALYSES),
        *EXTRA_TARGETS,
    ]


# The run manifest, the report's provenance appendix and the release check read files they do
# not otherwise depend on: the provenance records of the jobs before them, and (the release check)
# every released file. They declare them as inputs named provenance_*, so that a job run with a
# storage plugin has them (records leave such inputs out: her2meta.provenance.transport_inputs).
# The rules of the default run, in order, with the wildcard values each runs with; a test checks
# that the release check's inputs cover every file a run writes.
def run_rules():
    return [
        ("study_chain", {"study": IPD_STUDIES}),
        ("estimate_aggregate", {"study": AGGREGATE_STUDIES}),
        ("check_integrity", {}),
        ("baseline_table", {}),
        ("pool_analysis", {"analysis": ANALYSES}),
        ("onestage_analysis", {"analysis": ONESTAGE_ANALYSES}),
        ("plot_km", {"analysis": SURVIVAL_ANALYSES}),
        ("sensitivity_analysis", {"analysis": SENSITIVITY_ANALYSES}),
        ("draw_flow", {}),
        ("render_report", {}),
        ("write_run_manifest", {}),
    ]


def as_written(pattern):
    """An output pattern as this file writes it (results/...), also where a storage plugin has
    put its local-copy folder in front (.snakemake/storage/<provider>/<prefix>/results/...)."""
    marker = f"/{RESULTS}/"
    if pattern.startswith(f"{RESULTS}/") or marker not in pattern:
        return pattern
    return pattern[pattern.rfind(marker) + 1 :]


def outputs_before(rule_name):
    """Every file the rules before `rule_name` write in this run, records included."""
    files = []
    for name, values in run_rules():
        if name == rule_name:
            break
        if values and not all(values.values()):
            continue  # e.g. no aggregate-data studies
        patterns = [as_written(str(p)) for p in getattr(rules, name).output]
        files += expand(patterns, **values) if values else patterns
    return files


def records_before(rule_name):
    return [f for f in outputs_before(rule_name) if f.startswith(f"{RESULTS}/provenance/")]


def released_before(rule_name):
    return [f for f in outputs_before(rule_name) if zone_of(f, RESULTS) == "release"]
