# Thin adapter: the logic is her2meta.stages.study_chain.run (tested without Snakemake).
import _src_path  # noqa: F401  (makes src/ importable in any environment)
from her2meta.snakemake_adapter import run_job
from her2meta.stages.study_chain import lineage, run

run_job(snakemake, run, lineage=lineage)  # noqa: F821 (snakemake is injected by the script directive)
