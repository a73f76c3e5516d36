# Sensitivity analyses: one job per analysis runs every kind (variants from the study estimates
# and re-estimated from the IPD), the influence diagnostics with the funnel plot, and the
# robustness table that puts every variant side by side with a verdict. One job, not one per
# kind: each job's start-up (interpreter and imports) cost more than most kinds' work.
SENSITIVITY_ANALYSES = [a for a in config["sensitivity"]["analyses"] if a in ANALYSES and studies_for(a)]
FROM_ESTIMATES_KINDS = ["leave_one_out", "by_method", "exclusions", "cumulative", "small_study"]
FROM_IPD_KINDS = ["by_regimen", "by_pcr_definition", "by_hr_cutoff"]
SENSITIVITY_PARAMS = dict(
    pooling=config["pooling"],
    settings=config["sensitivity"],
    studies={s: {k: STUDY[s].get(k) for k in ("data_source", "risk_of_bias", "year", "design")} for s in STUDY},
)


rule sensitivity_analysis:
    input:
        estimates=study_estimates,
        data=lambda wc: expand(f"{RESULTS}/harmonized/{{study}}.parquet", study=ipd_studies_for(wc.analysis)),
        pooled=f"{RESULTS}/pooled/{{analysis}}.json",
        onestage=lambda wc: [f"{RESULTS}/onestage/{wc.analysis}.json"] if wc.analysis in ONESTAGE_ANALYSES else [],
    output:
        **with_records(
            variants=expand(
                f"{RESULTS}/sensitivity/{{{{analysis}}}}/{{kind}}.tsv", kind=FROM_ESTIMATES_KINDS + FROM_IPD_KINDS
            ),
            influence=f"{RESULTS}/sensitivity/{{analysis}}/influence.tsv",
            funnel=f"{RESULTS}/figures/{{analysis}}/funnel.svg",
            funnel_png=f"{RESULTS}/figures/{{analysis}}/funnel.png",
            table=report(
                f"{RESULTS}/sensitivity/{{analysis}}/robustness.tsv",
                caption="../report/robustness.rst",
                category="Robustness",
                labels={"analysis": "{analysis}"},
            ),
            json=f"{RESULTS}/sensitivity/{{analysis}}/robustness.json",
        ),
    params:
        analysis=lambda wc: config["analyses"][wc.analysis],
        kinds=FROM_ESTIMATES_KINDS + FROM_IPD_KINDS,
        **SENSITIVITY_PARAMS,
    log:
        f"{LOGS}/sensitivity_analysis/{{analysis}}.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/sensitivity_analysis.py"


EXTRA_TARGETS += expand(f"{RESULTS}/sensitivity/{{analysis}}/robustness.tsv", analysis=SENSITIVITY_ANALYSES)
EXTRA_TARGETS += expand(f"{RESULTS}/sensitivity/{{analysis}}/influence.tsv", analysis=SENSITIVITY_ANALYSES)
