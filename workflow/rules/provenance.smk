# Provenance and Safe Outputs: the run manifest, the release check (part of the default target)
# and, on request, a Workflow Run RO-Crate. Logic: her2meta.stages.manifest and .release.
#
# The command line exists only in this (the Snakefile's) process. It reaches the jobs through an
# environment variable set here at parse time, not through params: the same results asked for by
# another command line (say --cores 8 instead of 2, or -n) must not rerun anything.
import json as _json
import os as _os
import sys as _sys

from snakemake import __version__ as SNAKEMAKE_VERSION

if "--mode" not in _sys.argv:  # not a job process spawned by Snakemake: the user's command
    _os.environ.update({"HER2META_COMMAND_LINE": _json.dumps(_sys.argv)})

PROVENANCE_RUN_MANIFEST = f"{RESULTS}/pipeline_info/run_manifest.json"
PROVENANCE_RELEASE_MANIFEST = f"{RESULTS}/pipeline_info/release_manifest.json"
PROVENANCE_RELEASE_SHA256 = f"{RESULTS}/pipeline_info/release_manifest.sha256"
PROVENANCE_RO_CRATE = f"{RESULTS}/ro-crate-metadata.json"
PROVENANCE_OUTPUTS = {
    PROVENANCE_RUN_MANIFEST,
    PROVENANCE_RELEASE_MANIFEST,
    PROVENANCE_RELEASE_SHA256,
    PROVENANCE_RO_CRATE,
}
PROVENANCE_WORKFLOW = {
    "snakefile": str(workflow.main_snakefile),
    "basedir": str(workflow.basedir),
    "configfiles": [str(p) for p in workflow.configfiles],
}

EXTRA_TARGETS.append(PROVENANCE_RELEASE_MANIFEST)
if config.get("provenance", {}).get("ro_crate", False):
    EXTRA_TARGETS.append(PROVENANCE_RO_CRATE)


rule write_run_manifest:
    input:
        results=lambda wc: [t for t in all_targets() if t not in PROVENANCE_OUTPUTS],
        studies=config["studies"],
        mappings=[STUDY[s]["mapping"] for s in IPD_STUDIES],
        configfiles=workflow.configfiles,
        provenance_records=lambda wc: records_before("write_run_manifest"),
    output:
        **with_records(
            manifest=PROVENANCE_RUN_MANIFEST,
        ),
    params:
        config=config,
        studies=STUDY_ROWS,
        workflow=PROVENANCE_WORKFLOW,
        snakemake_version=SNAKEMAKE_VERSION,
    log:
        f"{LOGS}/write_run_manifest/run_manifest.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/write_run_manifest.py"


rule check_release:
    input:
        results=lambda wc: [t for t in all_targets() if t not in PROVENANCE_OUTPUTS],
        run_manifest=PROVENANCE_RUN_MANIFEST,
        harmonized=expand(f"{RESULTS}/harmonized/{{study}}.parquet", study=IPD_STUDIES),
        provenance_released=lambda wc: released_before("check_release"),
    output:
        **with_records(
            manifest=PROVENANCE_RELEASE_MANIFEST,
            sha256=PROVENANCE_RELEASE_SHA256,
        ),
    params:
        min_cell_count=config.get("release", {}).get("min_cell_count", 5),
        strict=config.get("release", {}).get("strict", True),
        studies=len(IPD_STUDIES) + len(AGGREGATE_STUDIES),
    log:
        f"{LOGS}/check_release/release.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/check_release.py"


rule write_ro_crate:
    input:
        run_manifest=PROVENANCE_RUN_MANIFEST,
        release_manifest=PROVENANCE_RELEASE_MANIFEST,
    output:
        **with_records(
            crate=PROVENANCE_RO_CRATE,
            workflow=directory(f"{RESULTS}/pipeline_info/workflow"),
        ),
    params:
        workflow=PROVENANCE_WORKFLOW,
        title=config.get("report", {}).get("title", "her2meta run"),
    log:
        f"{LOGS}/write_ro_crate/ro_crate.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/write_ro_crate.py"
