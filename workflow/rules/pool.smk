# Pooling: one job per analysis pools every study's estimates and draws the forest plot from
# the pooled document (one process instead of two: start-up is most of a small job's time).
# An analysis no study informs is still pooled: its outputs say "not estimable" and why.
from her2meta.coverage import no_study_reason  # noqa: E402

rule pool_analysis:
    input:
        estimates=study_estimates,
    output:
        **with_records(
            table=report(
                f"{RESULTS}/pooled/{{analysis}}.tsv",
                caption="../report/pooled.rst",
                category="Pooled estimates",
                labels={"analysis": "{analysis}"},
            ),
            json=f"{RESULTS}/pooled/{{analysis}}.json",
            forest=report(
                f"{RESULTS}/figures/{{analysis}}/forest.svg",
                caption="../report/forest.rst",
                category="Forest plots",
                labels={"analysis": "{analysis}"},
            ),
            forest_png=f"{RESULTS}/figures/{{analysis}}/forest.png",
        ),
    params:
        analysis=lambda wc: config["analyses"][wc.analysis],
        pooling=config["pooling"],
        labels={s: STUDY[s]["label"] for s in STUDY},
        sources={s: STUDY[s]["data_source"] for s in STUDY},
        min_cell_count=config["release"]["min_cell_count"],
        # Why no included study takes the analysis (said in the pooled outputs and the report); "" when one does.
        no_study_reason=lambda wc: no_study_reason(config["analyses"][wc.analysis], STUDY_ROWS) or "",
    log:
        f"{LOGS}/pool_analysis/{{analysis}}.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/pool_analysis.py"
