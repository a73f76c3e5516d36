"""baseline_table: harmonized data -> results/tables/baseline.tsv (baseline characteristics by HR
status, per study and overall, small cells masked; her2meta.baseline)."""

from __future__ import annotations

from pathlib import Path

from ..baseline import baseline_table
from ..io import read_parquet, write_tsv


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    frames = {}
    for path in inputs.data:
        frame = read_parquet(path)
        study = str(frame["study_id"].iloc[0]) if len(frame) else Path(path).name.split(".")[0]
        if frame.attrs.get("failed"):  # --keep-going: a failed study has no data to describe
            logger.warning("baseline: study %s failed upstream and is left out", study)
            continue
        frames[study] = frame
    order = [s for s in params["order"] if s in frames] + sorted(s for s in frames if s not in params["order"])
    table = baseline_table({s: frames[s] for s in order}, int(params["min_cell_count"]))
    write_tsv(outputs.tsv, table)
    logger.info("baseline: %d rows x %d columns (%d studies)", *table.shape, len(order))
