rule onestage_analysis:
    input:
        data=lambda wc: expand(f"{RESULTS}/harmonized/{{study}}.parquet", study=ipd_studies_for(wc.analysis)),
    output:
        **with_records(
            json=f"{RESULTS}/onestage/{{analysis}}.json",
        ),
    params:
        analysis=lambda wc: config["analyses"][wc.analysis],
        level=config["pooling"]["level"],
    log:
        f"{LOGS}/onestage_analysis/{{analysis}}.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/onestage_analysis.py"
