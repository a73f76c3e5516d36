"""pool_analysis: all studies' estimates of one analysis -> pooled table and JSON."""

from __future__ import annotations

import pandas as pd

from ..io import read_tsv, write_json, write_tsv
from ..synthesis import pool_analysis


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    frames = [read_tsv(path) for path in inputs.estimates]
    estimates = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    table, document = pool_analysis(estimates, analysis=wildcards["analysis"], spec=params["analysis"],
                                    pooling=params["pooling"], labels=params["labels"])
    for block in document["subgroups"]:
        for item in block["not_estimable"]:
            logger.warning("analysis %s (%s): study %s not pooled: %s", wildcards["analysis"], block["name"],
                           item["study_id"], item["reason"])
    write_tsv(outputs.table, table)
    write_json(outputs.json, document)
