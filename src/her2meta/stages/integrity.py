"""check_integrity: harmonized data + study sheet -> results/tables/integrity.tsv (PRISMA-IPD
data integrity: IPD-derived figures against the published ones; her2meta.integrity)."""

from __future__ import annotations

from pathlib import Path

from ..integrity import Tolerance, integrity_table
from ..io import read_parquet, write_tsv


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    data, failed = {}, {}
    for path in inputs.data:
        frame = read_parquet(path)
        study = str(frame["study_id"].iloc[0]) if len(frame) else Path(path).name.split(".")[0]
        data[study] = frame
        record = frame.attrs.get("failed")
        if record:  # a study that failed under --keep-going: empty data with the failure attached
            failed[study] = f"study failed: {record.get('summary', '')}".rstrip(": ")
    tolerance = Tolerance.from_config({"integrity": params["integrity"]})
    table = integrity_table(params["studies"], data, tolerance, int(params["min_cell_count"]), failed)
    write_tsv(outputs.tsv, table)
    flagged = table[table["flag"]]
    for row in flagged.itertuples():
        logger.warning("integrity: %s %s (%s): %s %s", row.study_id, row.arm, row.check, row.status, row.note)
    logger.info("integrity: %d rows, %d flagged, tolerance %s", len(table), len(flagged), tolerance)
