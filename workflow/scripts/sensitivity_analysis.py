# Thin adapter: the logic is her2meta.stages.sensitivity.run (tested without Snakemake).
import _src_path  # noqa: F401  (makes src/ importable in any environment)
from her2meta.snakemake_adapter import run_job
from her2meta.stages.sensitivity import run

run_job(snakemake, run)  # noqa: F821 (snakemake is injected by the script directive)
