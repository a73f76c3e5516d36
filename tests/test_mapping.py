"""Extraction mappings: validation, every transformation, and the errors a person reads."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from her2meta.errors import StudyDataError
from her2meta.mapping import DAYS_PER_MONTH, apply_mapping, load_mapping


def write(path, text):
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture()
def package(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    write(pkg / "dm.csv", """
        USUBJID,ARM,ITT,ER,AGE
        S1,Paclitaxel + Trastuzumab,Y,85%,51
        S2,Paclitaxel + Trastuzumab,Y,<1%,44
        S3,Paclitaxel + Lapatinib,N,10 %,60
        S4,Paclitaxel + Lapatinib,Y,,38
    """)
    write(pkg / "tte.csv", """
        USUBJID,PARAMCD,AVAL,CNSR
        S1,EFS,365.25,0
        S1,OS,730.5,1
        S2,EFS,100,1
        S2,OS,100,1
        S4,EFS,50,2
        S4,OS,60,1
    """)
    write(pkg / "path.csv", """
        USUBJID,TESTCD,RES
        S1,YPT,ypT0
        S1,YPN,ypN0
        S2,YPT,ypT1c
        S2,YPN,ypN1
    """)
    return pkg


BASE = """
mapping_version: 1
study_id: TEST-1
datasets:
  dm:
    file: dm.csv
    key: USUBJID
    filter:
      - {column: ITT, equals: "Y", reason: not in the ITT population}
  efs:
    file: tte.csv
    key: USUBJID
    filter: [{column: PARAMCD, equals: EFS}]
  path:
    file: path.csv
    key: USUBJID
    pivot: {names_from: TESTCD, values_from: RES}
subjects: dm
fields:
  patient_id: {from: dm.USUBJID}
  regimen: {from: dm.ARM}
  er_percent: {from: dm.ER, parse: percent}
  age_years: {from: dm.AGE}
  efs_months: {from: efs.AVAL, unit: days}
  efs_event: {from: efs.CNSR, codes: {0: 1, 1: 0, 2: 0}}
  ypt: {from: path.YPT}
  ypn: {from: path.YPN}
constants:
  setting: neoadjuvant
"""


def mapping_file(tmp_path, text=BASE):
    return write(tmp_path / "TEST-1.yaml", text)


def test_apply_mapping_filters_pivots_converts_and_counts(tmp_path, package):
    result = apply_mapping(load_mapping(mapping_file(tmp_path), study="TEST-1"), package)
    data = result.data.set_index("patient_id")
    assert list(data.index) == ["S1", "S2", "S4"]
    assert result.qc["subjects"]["excluded"] == [{"reason": "not in the ITT population", "count": 1}]
    assert data.loc["S1", "er_percent"] == 85.0
    assert data.loc["S2", "er_percent"] == 0.0  # "<1%" is below every positivity threshold
    assert pd.isna(data.loc["S4", "er_percent"])
    assert data.loc["S1", "efs_months"] == pytest.approx(365.25 / DAYS_PER_MONTH)
    assert data.loc["S1", "efs_months"] == pytest.approx(12.0)
    assert list(data["efs_event"]) == [1, 0, 0]
    assert data.loc["S2", "ypt"] == "ypT1c" and pd.isna(data.loc["S4", "ypt"])
    assert set(data["setting"]) == {"neoadjuvant"}
    assert result.qc["fields"]["ypt"]["no_record"] == 1
    assert result.qc["fields"]["er_percent"]["missing"] == 1
    assert result.qc["files"][0]["sha256"] and len(result.qc["files"]) == 3


def test_unmapped_code_names_value_count_and_subject(tmp_path, package):
    text = BASE.replace("codes: {0: 1, 1: 0, 2: 0}", "codes: {0: 1, 1: 0}")
    with pytest.raises(StudyDataError) as err:
        apply_mapping(load_mapping(mapping_file(tmp_path, text)), package)
    message = str(err.value)
    assert "TEST-1" in message and "efs_event" in message and "'2' (1 rows)" in message and "tte.csv" in message
    assert "S4" in message


def test_missing_column_lists_existing_columns(tmp_path, package):
    text = BASE.replace("dm.AGE", "dm.AGE_YRS")
    with pytest.raises(StudyDataError) as err:
        apply_mapping(load_mapping(mapping_file(tmp_path, text)), package)
    assert "AGE_YRS" in str(err.value) and "USUBJID, ARM, ITT, ER, AGE" in str(err.value)


def test_missing_file_is_named_with_folder_listing(tmp_path, package):
    text = BASE.replace("file: tte.csv", "file: adtte.csv")
    with pytest.raises(StudyDataError) as err:
        apply_mapping(load_mapping(mapping_file(tmp_path, text)), package)
    assert "adtte.csv" in str(err.value) and "tte.csv" in str(err.value)


def test_duplicated_subject_ids_are_an_error(tmp_path, package):
    text = BASE.replace("    filter: [{column: PARAMCD, equals: EFS}]\n", "")
    with pytest.raises(StudyDataError, match="duplicated subject identifiers"):
        apply_mapping(load_mapping(mapping_file(tmp_path, text)), package)


def test_join_that_matches_no_subject(tmp_path, package):
    write(package / "path.csv", "USUBJID,TESTCD,RES\nX-1,YPT,ypT0\n")
    with pytest.raises(StudyDataError, match="no subject of dataset path matches"):
        apply_mapping(load_mapping(mapping_file(tmp_path)), package)


def test_filter_that_selects_nothing(tmp_path, package):
    text = BASE.replace("equals: EFS", "equals: DFS")
    with pytest.raises(StudyDataError, match="selects no row"):
        apply_mapping(load_mapping(mapping_file(tmp_path, text)), package)


def test_non_numeric_value_is_an_error_with_count(tmp_path, package):
    write(package / "dm.csv", "USUBJID,ARM,ITT,ER,AGE\nS1,X,Y,85%,unknown\nS2,X,Y,1%,40\nS3,X,N,1%,40\nS4,X,Y,1%,40\n")
    with pytest.raises(StudyDataError) as err:
        apply_mapping(load_mapping(mapping_file(tmp_path)), package)
    assert "'unknown' (1 rows)" in str(err.value) and "age_years" in str(err.value)


def test_missing_tokens_and_decimal_comma_and_dates(tmp_path):
    pkg = tmp_path / "eu"
    pkg.mkdir()
    write(pkg / "pts.csv", """
        PAT;AGE;START;END;EV;ER
        1;51,5;01.01.2020;01.01.2021;1;positive
        2;44;15.03.2019;15.09.2019;0;not done
    """)
    text = """
    mapping_version: 1
    study_id: EU-1
    datasets:
      pts: {file: pts.csv, key: PAT, sep: ";", decimal: ","}
    subjects: pts
    fields:
      patient_id: {from: pts.PAT}
      age_years: {from: pts.AGE}
      efs_months: {dates: {start: pts.START, end: pts.END, date_format: "%d.%m.%Y"}}
      efs_event: {from: pts.EV, codes: {"1": 1, "0": 0}}
      er_status: {from: pts.ER, codes: {positive: positive, negative: negative}, missing: [not done]}
    constants: {setting: neoadjuvant}
    """
    result = apply_mapping(load_mapping(write(tmp_path / "EU-1.yaml", text)), pkg)
    data = result.data
    assert list(data["age_years"]) == [51.5, 44.0]
    assert data["efs_months"].iloc[0] == pytest.approx(366 / DAYS_PER_MONTH)
    assert data["er_status"].iloc[0] == "positive" and pd.isna(data["er_status"].iloc[1])
    assert result.qc["fields"]["er_status"]["missing"] == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mapping_version: 1\nstudy_id: [unclosed\n", "not valid YAML at line"),
        (BASE.replace("regimen:", "regimn:"), "unknown field name 'regimn'"),
        (BASE.replace("from: efs.AVAL", "from: tte.AVAL"), "dataset 'tte', which is not declared"),
        (BASE.replace("subjects: dm", "subjects: adsl"), "subjects names dataset 'adsl'"),
        (BASE.replace("mapping_version: 1", "mapping_version: 2"), "breaks its schema at mapping_version"),
        (BASE.replace("  ypn: {from: path.YPN}\n", "  ypn: {from: path.YPN}\n  pcr_breast: {from: dm.ITT}\n"), "needs a `codes:` map"),
        (BASE.replace("  patient_id: {from: dm.USUBJID}\n", ""), "patient_id"),
    ],
)
def test_invalid_mappings_are_explained(tmp_path, text, expected):
    with pytest.raises(StudyDataError) as err:
        load_mapping(mapping_file(tmp_path, text))
    assert expected in str(err.value)


def test_mapping_study_id_must_match_sheet(tmp_path):
    with pytest.raises(StudyDataError, match="declares study_id 'TEST-1'"):
        load_mapping(mapping_file(tmp_path), study="OTHER")
