"""Configuration and study sheet: validated before any job runs, errors name file and key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from her2meta.config import load_config, read_study_sheet, validate_config
from her2meta.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_shipped_config_and_sheet_are_valid():
    cfg = load_config(ROOT / "config" / "config.yaml")
    rows = read_study_sheet(ROOT / cfg["studies"], project_root=ROOT, data_root=cfg["data_root"])
    assert len([r for r in rows if r["include"]]) >= 10
    assert cfg["harmonization"]["hr_threshold_percent"] == 1


def test_defaults_are_filled(config):
    del config["pooling"]["test"]
    del config["analyses"]["efs_by_hr"]["settings"]
    cfg = validate_config(config)
    assert cfg["pooling"]["test"] == "z"
    assert cfg["analyses"]["efs_by_hr"]["settings"] == ["neoadjuvant"]


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda c: c.update(unknown_key=1), "(top level)"),
        (lambda c: c["pooling"].update(methods=["FE", "REML", "XYZ"]), "pooling/methods/2"),
        (lambda c: c["pooling"].update(primary="PM"), "pooling/primary"),
        (lambda c: c.update(seed="abc"), "seed"),
        (lambda c: c["analyses"]["pcr_by_hr"].update(outcome="pcr_everything"), "analyses/pcr_by_hr/outcome"),
        (lambda c: c["analyses"]["pcr_by_hr"]["compare"].update(exposed="pos"), "analyses/pcr_by_hr/compare/exposed"),
        (lambda c: c["analyses"]["efs_by_hr"].update(measure="OR"), "analyses/efs_by_hr/measure"),
    ],
)
def test_invalid_config_names_the_key(config, change, key):
    bad = copy.deepcopy(config)
    change(bad)
    with pytest.raises(ConfigError) as err:
        validate_config(bad, file="config/config.yaml")
    assert key in str(err.value) and "config/config.yaml" in str(err.value)


HEADER = "study_id\tlabel\tdata_source\tpath\tmapping\tdesign\tsetting\tinclude\texclusion_reason\n"


def sheet(tmp_path, *rows):
    (tmp_path / "data" / "A").mkdir(parents=True, exist_ok=True)
    (tmp_path / "m.yaml").write_text("x: 1\n")
    path = tmp_path / "studies.tsv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


def test_sheet_rows_are_typed(tmp_path):
    rows = read_study_sheet(sheet(tmp_path, "A\tStudy A\tipd\tA\tm.yaml\trct\tneoadjuvant\ttrue\t"), project_root=tmp_path, data_root="data")
    assert rows == [{"study_id": "A", "label": "Study A", "data_source": "ipd", "path": "A", "mapping": "m.yaml",
                     "design": "rct", "setting": "neoadjuvant", "include": True}]


@pytest.mark.parametrize(
    "row, message",
    [
        ("A\tA\tipd\tA\tm.yaml\trct\tneoadjuvant\tmaybe\t", "include must be true or false"),
        ("A\tA\tipd\tA\tm.yaml\tcohort\tneoadjuvant\ttrue\t", "'cohort' is not one of"),
        ("A\tA\tipd\tA\tm.yaml\trct\tneoadjuvant\tfalse\t", "exclusion_reason"),
        ("A\tA\tipd\t../../etc\tm.yaml\trct\tneoadjuvant\ttrue\t", "outside the data folder"),
        ("A\tA\tipd\tA\tmissing.yaml\trct\tneoadjuvant\ttrue\t", "mapping file missing.yaml does not exist"),
        ("A\tA\tipd\tB\tm.yaml\trct\tneoadjuvant\ttrue\t", "does not exist"),
    ],
)
def test_bad_sheet_rows_are_explained(tmp_path, row, message):
    with pytest.raises(ConfigError) as err:
        read_study_sheet(sheet(tmp_path, row), project_root=tmp_path, data_root="data")
    assert message in str(err.value) and "studies.tsv" in str(err.value)


def test_study_listed_twice(tmp_path):
    row = "A\tA\tipd\tA\tm.yaml\trct\tneoadjuvant\ttrue\t"
    with pytest.raises(ConfigError, match="listed twice"):
        read_study_sheet(sheet(tmp_path, row, row), project_root=tmp_path, data_root="data")
