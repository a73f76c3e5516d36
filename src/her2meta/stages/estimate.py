"""Estimate step of study_chain: one study's estimates for every analysis (aggregate numbers only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..effects import ESTIMATE_COLUMNS, StudyEstimate, estimate_analysis
from ..io import read_parquet, write_tsv


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    study = wildcards["study"]
    data = read_parquet(inputs.data)
    for path in outputs.tables:
        analysis = Path(path).parent.name
        spec = params["analyses"][analysis]
        if analysis in params["applicable"]:
            rows = estimate_analysis(data, study_id=study, analysis=analysis, spec=spec, level=params["level"])
        else:
            rows = [StudyEstimate(study, analysis, spec["measure"], reason="not applicable: the analysis does not take this study's setting or design")]
        for est in rows:
            if not est.estimable and analysis in params["applicable"]:
                logger.warning("study %s, analysis %s (%s): not estimable: %s", study, analysis, est.subgroup, est.reason)
        write_tsv(path, pd.DataFrame([est.as_row() for est in rows], columns=ESTIMATE_COLUMNS))
