# Thin adapter: the logic is her2meta.stages.study_chain.run (tested without Snakemake).
import _src_path  # noqa: F401  (makes src/ importable in any environment)
from her2meta.warm import dispatch

dispatch(snakemake, "her2meta.stages.study_chain", "run", lineage="lineage")  # noqa: F821 (snakemake is injected by the script directive)
