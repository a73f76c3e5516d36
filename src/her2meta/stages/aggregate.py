"""estimate_aggregate: a published-figures table -> the same per-analysis estimate files as IPD."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..aggregate import aggregate_estimates, read_aggregate
from ..effects import ESTIMATE_COLUMNS, StudyEstimate, interaction
from ..io import write_tsv


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    study = wildcards["study"]
    table = read_aggregate(inputs.table, study)
    for path in outputs.tables:
        analysis = Path(path).parent.name
        spec = params["analyses"][analysis]
        if analysis not in params["applicable"]:
            rows = [StudyEstimate(study, analysis, spec["measure"], reason="not applicable: the analysis does not take this study's setting or design")]
        elif spec.get("within"):
            levels = [str(v) for v in spec["within"]["levels"]]
            rows = aggregate_estimates(table, study=study, analysis=analysis, spec=spec, level=params["level"], subgroups=levels)
            rows.append(interaction(rows[0], rows[1], level=params["level"]))
            rows[-1].source = "aggregate"
        else:
            rows = aggregate_estimates(table, study=study, analysis=analysis, spec=spec, level=params["level"])
        write_tsv(path, pd.DataFrame([est.as_row() for est in rows], columns=ESTIMATE_COLUMNS))
    logger.info("study %s: aggregate estimates from %s", study, inputs.table)
