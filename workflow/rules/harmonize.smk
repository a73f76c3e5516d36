rule harmonize_study:
    input:
        data=f"{RESULTS}/extracted/{{study}}.parquet",
        qc=f"{RESULTS}/extracted/{{study}}.qc.json",
        mapping=lambda wc: STUDY[wc.study]["mapping"],
    output:
        data=f"{RESULTS}/harmonized/{{study}}.parquet",
        qc=f"{RESULTS}/harmonized/{{study}}.qc.json",
    params:
        study=lambda wc: STUDY[wc.study],
        harmonization=config["harmonization"],
    log:
        f"{LOGS}/harmonize_study/{{study}}.log",
    conda:
        "../../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/harmonize_study.py"
