# HER2+ IPD meta-analysis: from sponsor study packages to a pooled, audited report.
# This file is a table of contents; logic lives in src/her2meta and workflow/rules.
from snakemake.utils import min_version

min_version("9.0")


# `--configfile my.yaml` is layered over this file; its `analyses` replace the shipped ones
# (workflow/rules/common.smk, config/README.md).
configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/study.smk"
include: "workflow/rules/estimate.smk"
include: "workflow/rules/pool.smk"
include: "workflow/rules/onestage.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/simulation.smk"


rule all:
    input:
        all_targets(),
    default_target: True
