# Thin adapter: the logic is her2meta.stages.release.run (tested without Snakemake).
import _src_path  # noqa: F401  (makes src/ importable in any environment)
from her2meta.warm import dispatch

dispatch(snakemake, "her2meta.stages.release")  # noqa: F821 (snakemake is injected by the script directive)
