"""her2meta: IPD meta-analysis of HER2-positive breast cancer trials.

The package holds all logic; the Snakemake workflow and the `her2meta` command
line are thin layers over it.
"""

__version__ = "0.1.0"
