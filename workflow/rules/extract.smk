rule extract_study:
    input:
        mapping=lambda wc: STUDY[wc.study]["mapping"],
        package=package_files,
    output:
        data=f"{RESULTS}/extracted/{{study}}.parquet",
        qc=f"{RESULTS}/extracted/{{study}}.qc.json",
    params:
        package_dir=lambda wc: package_dir(wc.study),
        # With a storage plugin the package files are copied elsewhere (same layout): the stage finds
        # the folder from the first file's local path and this path relative to the package.
        package_first_file=lambda wc: package_first_file(wc.study),
    log:
        f"{LOGS}/extract_study/{{study}}.log",
    conda:
        "../../envs/extract.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/extract_study.py"
