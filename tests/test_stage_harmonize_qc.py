"""The harmonize stage carries the extraction's warnings into the QC record the report reads."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

from her2meta.config import read_study_sheet
from her2meta.io import write_json, write_parquet
from her2meta.mapping import apply_mapping, load_mapping
from her2meta.stages import harmonize as harmonize_stage

ROOT = Path(__file__).resolve().parents[1]
STUDY = "SIM-BUZDAR"


def test_extraction_warnings_reach_the_harmonized_qc(tmp_path):
    mapping_path = ROOT / "config" / "mappings" / f"{STUDY}.yaml"
    result = apply_mapping(load_mapping(mapping_path, study=STUDY), ROOT / "resources" / "demo" / STUDY)
    warning = "3 of 45 keys of dataset os match no subject of dm, not even an excluded one: their records are not used"
    result.qc["warnings"] = [warning]
    write_parquet(tmp_path / "extracted.parquet", result.data)
    write_json(tmp_path / "extracted.json", result.qc)
    row = next(r for r in read_study_sheet(ROOT / "config" / "studies.tsv", project_root=ROOT, data_root="resources")
               if r["study_id"] == STUDY)
    outputs = SimpleNamespace(data=str(tmp_path / "harmonized.parquet"), qc=str(tmp_path / "harmonized.json"))
    inputs = SimpleNamespace(data=str(tmp_path / "extracted.parquet"), qc=str(tmp_path / "extracted.json"),
                             mapping=str(mapping_path))
    harmonize_stage.run(inputs=inputs, outputs=outputs, wildcards=None, logger=logging.getLogger("test"),
                        params={"study": row, "harmonization": {"hr_threshold_percent": 1, "itc_is_pcr": False}})
    qc = json.loads(Path(outputs.qc).read_text())
    assert qc["warnings"][0] == warning
    assert qc["extraction"]["warnings"] == [warning]
