"""Stage functions: one per workflow rule. Each reads its input files, calls the pure modules
of the package and writes its outputs. They take explicit paths and parameters, so they are
tested without Snakemake; workflow/scripts only forward the snakemake object to them."""
