# Aggregate-data studies: published figures give the same per-analysis estimate files.
rule estimate_aggregate:
    wildcard_constraints:
        study="|".join(map(re.escape, AGGREGATE_STUDIES)) or "NO_STUDY",
    input:
        table=lambda wc: package_dir(wc.study),
    output:
        **with_records(
            tables=expand(f"{RESULTS}/estimates/{{analysis}}/{{{{study}}}}.tsv", analysis=ANALYSES),
        ),
    params:
        analyses=config["analyses"],
        applicable=lambda wc: analyses_for_study(config, STUDY[wc.study]),
        level=config["pooling"]["level"],
    log:
        f"{LOGS}/estimate_aggregate/{{study}}.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/estimate_aggregate.py"
