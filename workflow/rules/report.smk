rule plot_forest:
    input:
        pooled=f"{RESULTS}/pooled/{{analysis}}.json",
    output:
        svg=f"{RESULTS}/figures/{{analysis}}/forest.svg",
        png=f"{RESULTS}/figures/{{analysis}}/forest.png",
    params:
        sources={s: STUDY[s]["data_source"] for s in STUDY},
    log:
        f"{LOGS}/plot_forest/{{analysis}}.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/plot_forest.py"


rule render_report:
    input:
        pooled=expand(f"{RESULTS}/pooled/{{analysis}}.json", analysis=ANALYSES),
        forest=expand(f"{RESULTS}/figures/{{analysis}}/forest.svg", analysis=ANALYSES),
        qc=expand(f"{RESULTS}/harmonized/{{study}}.qc.json", study=IPD_STUDIES),
    output:
        html=f"{RESULTS}/report/index.html",
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
