# Release-zone tables and the data-flow figure for the report (PRISMA-IPD): data integrity
# checks against published figures, baseline characteristics by HR status, and data
# availability and flow. Logic: her2meta.integrity, her2meta.baseline, her2meta.stages.flow.
TABLES_MIN_CELL_COUNT = config.get("release", {}).get("min_cell_count", 5)
TABLES_PRIMARY_ANALYSIS = config.get("report", {}).get("primary_analysis") or (
    "pcr_by_hr" if "pcr_by_hr" in ANALYSES else (ANALYSES[0] if ANALYSES else None)
)
TABLES_OUTPUTS = [
    f"{RESULTS}/tables/integrity.tsv",
    f"{RESULTS}/tables/baseline.tsv",
    f"{RESULTS}/tables/flow.json",
    f"{RESULTS}/figures/flow.svg",
]
EXTRA_TARGETS.extend(TABLES_OUTPUTS)


rule check_integrity:
    input:
        data=expand(f"{RESULTS}/harmonized/{{study}}.parquet", study=IPD_STUDIES),
    output:
        **with_records(
            tsv=f"{RESULTS}/tables/integrity.tsv",
        ),
    params:
        studies=STUDY_ROWS,
        integrity=config.get("integrity", {}),
        min_cell_count=TABLES_MIN_CELL_COUNT,
    log:
        f"{LOGS}/check_integrity/integrity.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/check_integrity.py"


rule baseline_table:
    input:
        data=expand(f"{RESULTS}/harmonized/{{study}}.parquet", study=IPD_STUDIES),
    output:
        **with_records(
            tsv=f"{RESULTS}/tables/baseline.tsv",
        ),
    params:
        order=IPD_STUDIES,
        min_cell_count=TABLES_MIN_CELL_COUNT,
    log:
        f"{LOGS}/baseline_table/baseline.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/baseline_table.py"


rule draw_flow:
    input:
        extracted_qc=expand(f"{RESULTS}/extracted/{{study}}.qc.json", study=IPD_STUDIES),
        harmonized_qc=expand(f"{RESULTS}/harmonized/{{study}}.qc.json", study=IPD_STUDIES),
        primary=(
            [f"{RESULTS}/pooled/{TABLES_PRIMARY_ANALYSIS}.json"] if TABLES_PRIMARY_ANALYSIS in ANALYSES else []
        ),
    output:
        **with_records(
            json=f"{RESULTS}/tables/flow.json",
            svg=f"{RESULTS}/figures/flow.svg",
            png=f"{RESULTS}/figures/flow.png",
        ),
    params:
        studies=STUDY_ROWS,
        min_cell_count=TABLES_MIN_CELL_COUNT,
    log:
        f"{LOGS}/draw_flow/flow.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/draw_flow.py"
