report: "../report/workflow.rst"


rule plot_km:
    input:
        data=lambda wc: expand(f"{RESULTS}/harmonized/{{study}}.parquet", study=ipd_studies_for(wc.analysis)),
    output:
        **with_records(
            svg=report(
                f"{RESULTS}/figures/{{analysis}}/km.svg",
                caption="../report/km.rst",
                category="Kaplan-Meier curves",
                labels={"analysis": "{analysis}"},
            ),
            png=f"{RESULTS}/figures/{{analysis}}/km.png",
            by_study_svg=f"{RESULTS}/figures/{{analysis}}/km_by_study.svg",
            by_study_png=f"{RESULTS}/figures/{{analysis}}/km_by_study.png",
        ),
    params:
        analysis=lambda wc: config["analyses"][wc.analysis],
        labels={s: STUDY[s]["label"] for s in STUDY},
        min_count=config["release"]["min_cell_count"],
    log:
        f"{LOGS}/plot_km/{{analysis}}.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=15,
    script:
        "../scripts/plot_km.py"


rule render_report:
    input:
        pooled=expand(f"{RESULTS}/pooled/{{analysis}}.json", analysis=ANALYSES),
        forest=expand(f"{RESULTS}/figures/{{analysis}}/forest.svg", analysis=ANALYSES),
        km=expand(f"{RESULTS}/figures/{{analysis}}/km.svg", analysis=SURVIVAL_ANALYSES),
        km_by_study=expand(f"{RESULTS}/figures/{{analysis}}/km_by_study.svg", analysis=SURVIVAL_ANALYSES),
        onestage=expand(f"{RESULTS}/onestage/{{analysis}}.json", analysis=ONESTAGE_ANALYSES),
        robustness_json=expand(f"{RESULTS}/sensitivity/{{analysis}}/robustness.json", analysis=SENSITIVITY_ANALYSES),
        robustness_tsv=expand(f"{RESULTS}/sensitivity/{{analysis}}/robustness.tsv", analysis=SENSITIVITY_ANALYSES),
        influence=expand(f"{RESULTS}/sensitivity/{{analysis}}/influence.tsv", analysis=SENSITIVITY_ANALYSES),
        funnel=expand(f"{RESULTS}/figures/{{analysis}}/funnel.svg", analysis=SENSITIVITY_ANALYSES),
        qc=expand(f"{RESULTS}/harmonized/{{study}}.qc.json", study=IPD_STUDIES),
        integrity=f"{RESULTS}/tables/integrity.tsv",
        baseline=f"{RESULTS}/tables/baseline.tsv",
        flow=f"{RESULTS}/tables/flow.json",
        flow_svg=f"{RESULTS}/figures/flow.svg",
        provenance_records=lambda wc: records_before("render_report"),  # the appendix walks them
    output:
        **with_records(
            html=f"{RESULTS}/report/index.html",
        ),
    params:
        studies=STUDY_ROWS,
        config=config,
    log:
        f"{LOGS}/render_report/report.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/render_report.py"
