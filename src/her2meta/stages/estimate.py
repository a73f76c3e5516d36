"""estimate_study: one study's estimate for one analysis (aggregate numbers only)."""

from __future__ import annotations

import pandas as pd

from ..effects import ESTIMATE_COLUMNS, estimate_analysis
from ..io import read_parquet, write_tsv


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    data = read_parquet(inputs.data)
    est = estimate_analysis(data, study_id=wildcards["study"], analysis=wildcards["analysis"], spec=params["analysis"],
                            level=params["level"])
    if not est.estimable:
        logger.warning("study %s, analysis %s: not estimable: %s", est.study_id, est.analysis, est.reason)
    write_tsv(outputs.table, pd.DataFrame([est.as_row()], columns=ESTIMATE_COLUMNS))
