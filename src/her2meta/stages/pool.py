"""pool_analysis: all studies' estimates of one analysis -> pooled table, JSON and forest plot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..effects import COUNT_COLUMNS
from ..figures import forest_from_document
from ..io import read_tsv, write_json, write_tsv
from ..release import suppress_small_counts
from ..synthesis import pool_analysis


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    frames = [read_tsv(path) for path in inputs.estimates]
    estimates = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    table, document = pool_analysis(estimates, analysis=wildcards["analysis"], spec=params["analysis"],
                                    pooling=params["pooling"], labels=params["labels"],
                                    no_study_reason=params.get("no_study_reason"))
    if document.get("not_estimable"):
        logger.warning("analysis %s: not estimable: %s", wildcards["analysis"], document["not_estimable"])
    for block in document["subgroups"]:
        for item in block["not_estimable"]:
            logger.warning("analysis %s (%s): study %s not pooled: %s", wildcards["analysis"], block["name"],
                           item["study_id"], item["reason"])
    # The pooled document leaves the secure environment: counts of people below the minimum
    # cell count are suppressed (Safe Outputs), and the suppressions are listed.
    for block in document["subgroups"]:
        block["studies"], block["suppressed"] = suppress_small_counts(
            block["studies"], COUNT_COLUMNS, params["min_cell_count"],
            pairs=[("events_exposed", "n_exposed"), ("events_reference", "n_reference"), ("events", "n")],
            totals={"events": ["events_exposed", "events_reference"], "n": ["n_exposed", "n_reference"]},
        )
    document["min_cell_count"] = params["min_cell_count"]
    write_tsv(outputs.table, table)
    write_json(outputs.json, document)
    written = forest_from_document(document, Path(outputs.forest).with_suffix(""), sources=params["sources"])
    logger.info("wrote %s", ", ".join(map(str, written)))
