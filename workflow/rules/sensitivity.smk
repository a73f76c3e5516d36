# Sensitivity analyses: each kind is its own job, so they run in parallel; the robustness table
# of an analysis puts every variant side by side with a verdict.
SENSITIVITY_ANALYSES = [a for a in config["sensitivity"]["analyses"] if a in ANALYSES and studies_for(a)]
FROM_ESTIMATES_KINDS = ["leave_one_out", "by_method", "exclusions", "cumulative", "small_study"]
FROM_IPD_KINDS = ["by_regimen", "by_pcr_definition", "by_hr_cutoff"]
SENSITIVITY_PARAMS = dict(
    pooling=config["pooling"],
    settings=config["sensitivity"],
    studies={s: {k: STUDY[s].get(k) for k in ("data_source", "risk_of_bias", "year", "design")} for s in STUDY},
)


rule sensitivity_from_estimates:
    wildcard_constraints:
        kind="|".join(FROM_ESTIMATES_KINDS),
    input:
        estimates=study_estimates,
        onestage=lambda wc: (
            [f"{RESULTS}/onestage/{wc.analysis}.json"]
            if wc.kind == "by_method" and wc.analysis in ONESTAGE_ANALYSES
            else []
        ),
    output:
        table=f"{RESULTS}/sensitivity/{{analysis}}/{{kind}}.tsv",
    params:
        analysis=lambda wc: config["analyses"][wc.analysis],
        **SENSITIVITY_PARAMS,
    log:
        f"{LOGS}/sensitivity_from_estimates/{{analysis}}/{{kind}}.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/sensitivity_from_estimates.py"


rule sensitivity_from_ipd:
    wildcard_constraints:
        kind="|".join(FROM_IPD_KINDS),
    input:
        data=lambda wc: expand(f"{RESULTS}/harmonized/{{study}}.parquet", study=ipd_studies_for(wc.analysis)),
    output:
        table=f"{RESULTS}/sensitivity/{{analysis}}/{{kind}}.tsv",
    params:
        analysis=lambda wc: config["analyses"][wc.analysis],
        **SENSITIVITY_PARAMS,
    log:
        f"{LOGS}/sensitivity_from_ipd/{{analysis}}/{{kind}}.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    script:
        "../scripts/sensitivity_from_ipd.py"


rule influence_diagnostics:
    input:
        estimates=study_estimates,
    output:
        table=f"{RESULTS}/sensitivity/{{analysis}}/influence.tsv",
        funnel=f"{RESULTS}/figures/{{analysis}}/funnel.svg",
        funnel_png=f"{RESULTS}/figures/{{analysis}}/funnel.png",
    params:
        analysis=lambda wc: config["analyses"][wc.analysis],
        **SENSITIVITY_PARAMS,
    log:
        f"{LOGS}/influence_diagnostics/{{analysis}}.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/sensitivity_influence.py"


rule robustness_table:
    input:
        pooled=f"{RESULTS}/pooled/{{analysis}}.json",
        variants=expand(
            f"{RESULTS}/sensitivity/{{{{analysis}}}}/{{kind}}.tsv", kind=FROM_ESTIMATES_KINDS + FROM_IPD_KINDS
        ),
    output:
        table=report(
            f"{RESULTS}/sensitivity/{{analysis}}/robustness.tsv",
            caption="../report/robustness.rst",
            category="Robustness",
            labels={"analysis": "{analysis}"},
        ),
        json=f"{RESULTS}/sensitivity/{{analysis}}/robustness.json",
    log:
        f"{LOGS}/robustness_table/{{analysis}}.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/sensitivity_robustness.py"


EXTRA_TARGETS += expand(f"{RESULTS}/sensitivity/{{analysis}}/robustness.tsv", analysis=SENSITIVITY_ANALYSES)
EXTRA_TARGETS += expand(f"{RESULTS}/sensitivity/{{analysis}}/influence.tsv", analysis=SENSITIVITY_ANALYSES)
