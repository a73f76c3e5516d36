rule estimate_study:
    input:
        data=f"{RESULTS}/harmonized/{{study}}.parquet",
    output:
        table=f"{RESULTS}/estimates/{{analysis}}/{{study}}.tsv",
    params:
        analysis=lambda wc: config["analyses"][wc.analysis],
        level=config["pooling"]["level"],
    log:
        f"{LOGS}/estimate_study/{{analysis}}/{{study}}.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/estimate_study.py"
