# One job per study: extract (raw package + mapping -> results/extracted), harmonize (->
# results/harmonized) and estimate every analysis (-> results/estimates/<analysis>/), the three
# stages one after the other in one process. Each step still writes its own files and
# provenance records (with their own inputs); one process instead of three saves two
# interpreter start-ups per study, most of the chain's time (docs/benchmarks.md).
rule study_chain:
    wildcard_constraints:
        study="|".join(map(re.escape, IPD_STUDIES)) or "NO_STUDY",
    input:
        mapping=lambda wc: STUDY[wc.study]["mapping"],
        package=package_files,
    output:
        **with_records(
            extracted=f"{RESULTS}/extracted/{{study}}.parquet",
            extracted_qc=f"{RESULTS}/extracted/{{study}}.qc.json",
            harmonized=f"{RESULTS}/harmonized/{{study}}.parquet",
            harmonized_qc=f"{RESULTS}/harmonized/{{study}}.qc.json",
            tables=expand(f"{RESULTS}/estimates/{{analysis}}/{{{{study}}}}.tsv", analysis=ANALYSES),
        ),
    params:
        package_dir=lambda wc: package_dir(wc.study),
        # With a storage plugin the package files are copied elsewhere (same layout): the stage finds
        # the folder from the first file's local path and this path relative to the package.
        package_first_file=lambda wc: package_first_file(wc.study),
        study=lambda wc: STUDY[wc.study],
        harmonization=config["harmonization"],
        analyses=config["analyses"],
        applicable=lambda wc: analyses_for_study(config, STUDY[wc.study]),
        level=config["pooling"]["level"],
    log:
        f"{LOGS}/study_chain/{{study}}.log",
    conda:
        "../../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    script:
        "../scripts/study_chain.py"
