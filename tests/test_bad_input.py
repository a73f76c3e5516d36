"""Bad input, case by case. docs/errors.md lists every case with what the user sees; each row
there names a test here or in test_config.py, test_mapping.py, test_harmonize.py or
test_effects.py.

A case either stops the study with a message that names the study, the file, the field and an
example row and says what to do, or is handled by a documented policy and counted in QC
(qc["exclusions"], qc["derivations"], qc["warnings"]): nothing is dropped without a count."""

from __future__ import annotations

import math
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2meta.config import load_config
from her2meta.effects import estimate_analysis
from her2meta.errors import ConfigError, StudyDataError
from her2meta.harmonize import harmonize_study
from her2meta.io import read_table
from her2meta.mapping import DAYS_PER_MONTH, apply_mapping, load_mapping

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
STUDY = {"study_id": "T-1", "setting": "neoadjuvant", "label": "T-1"}


def extracted(**columns) -> pd.DataFrame:
    """An extracted study as the mapping step leaves it (study_id first)."""
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"study_id": ["T-1"] * n, **columns})


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def assert_clear(error: StudyDataError, *, study: str, file: str | None = None, field: str | None = None,
                 example: str | None = None) -> str:
    """The message names the study, the file, the field and an example row, and says what to do."""
    text = str(error)
    assert text.startswith(f"study {study}: ")
    if file is not None:
        assert error.file and file in error.file and f"file: {error.file}" in text
    if field is not None:
        assert error.field == field and f"field: {field}" in text
    if example is not None:
        assert error.example and example in error.example and "example: " in text
    assert error.hint and "what to do: " in text
    return text


# ----------------------------------------------------------------------------------------------
# A small flat-file study: subjects (with ITT flag) and a long time-to-event dataset.


@pytest.fixture()
def package(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    write(pkg / "dm.csv", """
        USUBJID,ITT,ER,RANDDT
        S1,Y,85,2015-01-10
        S2,Y,0,2015-03-01
        S3,N,10,2015-04-01
        S4,Y,50,2015-06-15
    """)
    write(pkg / "tte.csv", """
        USUBJID,PARAMCD,AVAL,CNSR,STARTDT,ENDDT
        S1,EFS,365,0,2015-01-10,2016-01-10
        S2,EFS,700,1,2015-03-01,2017-01-29
        S3,EFS,100,1,2015-04-01,2015-07-10
        S4,EFS,400,0,2015-06-15,2016-07-19
    """)
    return pkg


MAPPING = """
mapping_version: 1
study_id: T-1
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
subjects: dm
fields:
  patient_id: {from: dm.USUBJID}
  er_percent: {from: dm.ER}
  efs_months: {from: efs.AVAL, unit: days}
  efs_event: {from: efs.CNSR, codes: {0: 1, 1: 0}}
constants:
  setting: neoadjuvant
"""


def mapping_file(tmp_path, text=MAPPING) -> Path:
    return write(tmp_path / "T-1.yaml", text)


def extract(tmp_path, package, text=MAPPING):
    return apply_mapping(load_mapping(mapping_file(tmp_path, text), study="T-1"), package)


# ----------------------------------------------------------------------------------------------
# Config and sheets (more in test_config.py)


def test_config_yaml_syntax_error_shows_line_and_column(tmp_path):
    path = write(tmp_path / "config.yaml", """
        studies: config/studies.tsv
        pooling:
          methods: [FE, REML
          primary: REML
    """)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "not valid YAML" in str(err.value) and "line 4, column" in str(err.value) and str(path) in str(err.value)


# ----------------------------------------------------------------------------------------------
# Mappings


def test_mapping_yaml_syntax_error_shows_line_and_column(tmp_path):
    path = write(tmp_path / "T-1.yaml", "mapping_version: 1\nstudy_id: T-1\ndatasets:\n  dm: {file: dm.csv, key: [USUBJID}\n")
    with pytest.raises(StudyDataError) as err:
        load_mapping(path, study="T-1")
    text = assert_clear(err.value, study="T-1", file="T-1.yaml")
    assert "not valid YAML at line 4, column" in text


def test_subjects_filter_that_leaves_no_subject_lists_the_codes_present(tmp_path, package):
    with pytest.raises(StudyDataError) as err:
        extract(tmp_path, package, MAPPING.replace('equals: "Y"', 'equals: "YES"'))
    text = assert_clear(err.value, study="T-1", file="dm.csv", field="ITT", example="4 rows excluded")
    assert "leave no subject" in text and "ITT: 'N', 'Y'" in text


@pytest.mark.parametrize(
    "change, message",
    [
        (("efs_event: {from: efs.CNSR, codes: {0: 1, 1: 0}}", "efs_event: {from: efs.CNSR, codes: {0: event, 1: 0}}"),
         "turns 0 into 'event': a numeric field needs a number"),
        (("  er_percent: {from: dm.ER}\n", "  er_percent: {from: dm.ER}\n  pcr_breast: {from: dm.ITT, codes: {Y: maybe, N: false}}\n"),
         "a yes/no field needs true or false"),
        (("er_percent: {from: dm.ER}", "er_percent: {from: dm.ER, parse: date}"), "`parse: date` cannot give one"),
        (("  er_percent: {from: dm.ER}\n", "  er_percent: {from: dm.ER}\n  arm: {from: dm.ITT, unit: days}\n"),
         "`unit:` applies to durations only"),
        (("setting: neoadjuvant", "setting: neoadjuvant\n  objective_response: perhaps"), "constant objective_response"),
    ],
)
def test_code_maps_and_options_that_cannot_give_the_field_type(tmp_path, change, message):
    with pytest.raises(StudyDataError) as err:
        load_mapping(mapping_file(tmp_path, MAPPING.replace(*change)), study="T-1")
    assert message in assert_clear(err.value, study="T-1", file="T-1.yaml")


def test_text_where_a_number_is_expected_names_value_and_subject(tmp_path, package):
    write(package / "dm.csv", "USUBJID,ITT,ER,RANDDT\nS1,Y,85,2015-01-10\nS2,Y,nan,2015-03-01\nS4,Y,1_000,2015-06-15\n")
    with pytest.raises(StudyDataError) as err:
        extract(tmp_path, package)
    text = assert_clear(err.value, study="T-1", file="dm.csv", field="er_percent", example="subject 'S2' has 'nan'")
    assert "'1_000' (1 rows)" in text


# ----------------------------------------------------------------------------------------------
# Data: unreadable, truncated, wrongly encoded files


def test_truncated_sas_transport_file_is_refused(tmp_path):
    data = (DEMO / "SIM-NEOSPHERE" / "adsl.xpt").read_bytes()
    path = tmp_path / "adsl.xpt"
    path.write_bytes(data[: len(data) // 2 + 37])
    with pytest.raises(StudyDataError) as err:
        read_table(path, study="T-1")
    assert "not a whole number of 80-byte SAS transport records: the file is truncated" in assert_clear(
        err.value, study="T-1", file="adsl.xpt")


def test_truncation_on_a_record_boundary_is_caught_by_the_package_manifest(tmp_path):
    """A cut on an 80-byte boundary reads as a shorter file; the sponsor's manifest catches it."""
    pkg = tmp_path / "SIM-NEOSPHERE"
    shutil.copytree(DEMO / "SIM-NEOSPHERE", pkg)
    data = (pkg / "adsl.xpt").read_bytes()
    (pkg / "adsl.xpt").write_bytes(data[: 80 * (len(data) // 160)])
    mapping = load_mapping(ROOT / "config" / "mappings" / "SIM-NEOSPHERE.yaml", study="SIM-NEOSPHERE")
    with pytest.raises(StudyDataError) as err:
        apply_mapping(mapping, pkg)
    text = assert_clear(err.value, study="SIM-NEOSPHERE", file="adsl.xpt", field="MANIFEST.txt")
    assert f"is {80 * (len(data) // 160)} bytes, shorter than the {len(data)} bytes its package manifest lists" in text


def test_a_changed_file_of_the_same_size_fails_the_manifest_checksum(tmp_path):
    pkg = tmp_path / "SIM-BUZDAR"
    shutil.copytree(DEMO / "SIM-BUZDAR", pkg)
    text = (pkg / "buzdar.csv").read_text()
    (pkg / "buzdar.csv").write_text(text.replace(",54,", ",45,", 1))
    mapping = load_mapping(ROOT / "config" / "mappings" / "SIM-BUZDAR.yaml", study="SIM-BUZDAR")
    with pytest.raises(StudyDataError, match="does not match the SHA-256 checksum"):
        apply_mapping(mapping, pkg)


def test_unreadable_sas7bdat_file(tmp_path):
    path = tmp_path / "adsl.sas7bdat"
    path.write_bytes(b"this is not a SAS file" * 50)
    with pytest.raises(StudyDataError) as err:
        read_table(path, study="T-1")
    assert "cannot read adsl.sas7bdat as sas7bdat" in assert_clear(err.value, study="T-1", file="adsl.sas7bdat")


def test_truncated_csv_names_the_short_row(tmp_path):
    path = write(tmp_path / "dm.csv", "USUBJID,ITT,ER,AGE\nS1,Y,85,51\nS2,Y,0,44\nS3,Y")
    with pytest.raises(StudyDataError) as err:
        read_table(path, study="T-1")
    text = assert_clear(err.value, study="T-1", file="dm.csv", field="ER", example="USUBJID='S3'")
    assert "data row 3 (file line 4) (the last row: the file looks cut off), with 2" in text


def test_a_row_with_an_extra_field_is_not_read_as_shifted_columns(tmp_path):
    """pandas alone would take the first column as an index and shift every value."""
    path = write(tmp_path / "dm.csv", "USUBJID,ITT\nS1,Y,extra\nS2,Y\n")
    with pytest.raises(StudyDataError) as err:
        read_table(path, study="T-1")
    text = assert_clear(err.value, study="T-1", file="dm.csv", example="(extra)='extra'")
    assert "differs from its header (2); the first is data row 1 (file line 2), with 3" in text


@pytest.mark.parametrize(
    "content, message",
    [
        ("USUBJID,ITT\nS1,Y\nS2,Y,extra\n", "Expected 2 fields in line 3, saw 3"),
        ("", "No columns to parse"),
    ],
)
def test_broken_or_empty_csv(tmp_path, content, message):
    path = tmp_path / "dm.csv"
    path.write_text(content)
    with pytest.raises(StudyDataError) as err:
        read_table(path, study="T-1")
    assert message in assert_clear(err.value, study="T-1", file="dm.csv")


def test_latin1_in_a_utf8_study_names_the_line_and_the_fix(tmp_path):
    path = tmp_path / "dm.csv"
    path.write_bytes("USUBJID,CENTRE\nS1,Paris\nS2,Zürich\n".encode("latin-1"))
    with pytest.raises(StudyDataError) as err:
        read_table(path, study="T-1")
    text = assert_clear(err.value, study="T-1", file="dm.csv", example="line 3 reads")
    assert "is not valid utf-8 text: line 3, byte b'\\xfc'" in text and "encoding:" in text
    assert "Z" not in err.value.detail  # the row's text stays out of the one-line summary (it reaches the report)
    assert read_table(path, study="T-1", encoding="latin-1")["CENTRE"].tolist() == ["Paris", "Zürich"]


def test_duplicated_subject_ids_in_the_subjects_dataset(tmp_path, package):
    write(package / "dm.csv", "USUBJID,ITT,ER,RANDDT\nS1,Y,85,2015-01-10\nS2,Y,0,2015-03-01\nS2,Y,5,2015-03-01\n")
    with pytest.raises(StudyDataError) as err:
        extract(tmp_path, package)
    text = assert_clear(err.value, study="T-1", file="dm.csv", field="USUBJID", example="USUBJID = 'S2'")
    assert "dataset dm has 1 duplicated subject identifiers" in text


# ----------------------------------------------------------------------------------------------
# Data: values


def test_negative_time_from_dates_names_the_patient(tmp_path, package):
    write(package / "tte.csv", "USUBJID,PARAMCD,AVAL,CNSR,STARTDT,ENDDT\nS1,EFS,1,0,2015-01-10,2014-12-10\n"
                               "S2,EFS,1,1,2015-03-01,2016-01-01\nS4,EFS,1,0,2015-06-15,2016-01-01\n")
    text = MAPPING.replace("efs_months: {from: efs.AVAL, unit: days}", "efs_months: {dates: {start: efs.STARTDT, end: efs.ENDDT}}")
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extract(tmp_path, package, text).data, study=STUDY, source_file="results/extracted/T-1.parquet")
    assert "1 patient(s) with a negative efs_months" in assert_clear(err.value, study="T-1", file="T-1.parquet", field="efs_months",
                                                   example="patient S1")


def test_a_time_in_days_read_as_months_is_caught():
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(patient_id=["P1", "P2"], efs_months=[30.0, 3650.0], efs_event=[0, 0]), study=STUDY)
    assert "1 patient(s) with more than 100 years of efs_months" in assert_clear(
        err.value, study="T-1", field="efs_months", example="patient P2: efs_months = 3650.0")


def test_missing_times_leave_the_patient_out_of_that_endpoint_counted():
    data, qc = harmonize_study(extracted(**{
        "patient_id": ["P1", "P2", "P3", "P4"], "efs_months": [10.0, None, None, 5.0],
        "efs_event": pd.array([1, 0, None, None], dtype="Int64"),
    }), study=STUDY)
    assert qc["exclusions"] == [
        {"stage": "harmonize", "field": "efs_months", "reason": "efs_months and efs_event not recorded",
         "action": "left out of EFS analyses", "count": 1},
        {"stage": "harmonize", "field": "efs_months", "reason": "efs_event recorded without efs_months",
         "action": "left out of EFS analyses", "count": 1},
        {"stage": "harmonize", "field": "efs_months", "reason": "efs_months recorded without efs_event",
         "action": "left out of EFS analyses", "count": 1},
    ]
    assert data["efs_months"].notna().tolist() == [True, False, False, False]
    assert data["efs_event"].notna().tolist() == [True, False, False, False]


def test_event_codes_outside_0_1_name_the_patient():
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(**{"patient_id": ["P1", "P2"], "efs_months": [1.0, 2.0], "efs_event": [1, 2]}), study=STUDY)
    assert "efs_event has 1 value(s) other than 0/1: 2" in assert_clear(err.value, study="T-1", field="efs_event",
                                                                         example="patient P2: efs_event = 2")


def test_cnsr_outside_its_codes_names_value_count_and_subject(tmp_path, package):
    write(package / "tte.csv", "USUBJID,PARAMCD,AVAL,CNSR,STARTDT,ENDDT\nS1,EFS,365,0,,\nS2,EFS,700,3,,\nS4,EFS,400,3,,\n")
    with pytest.raises(StudyDataError) as err:
        extract(tmp_path, package)
    assert "value(s) with no code mapping: '3' (2 rows)" in assert_clear(
        err.value, study="T-1", file="tte.csv", field="efs_event", example="subject 'S2' has '3'")


def test_event_after_the_data_cutoff_from_dates_is_censored_at_the_cutoff_and_counted(tmp_path, package):
    text = MAPPING.replace("efs_months: {from: efs.AVAL, unit: days}",
                           "efs_months: {dates: {start: efs.STARTDT, end: efs.ENDDT}}") + "data_cutoff: {date: 2016-06-30}\n"
    result = extract(tmp_path, package, text)
    data = result.data.set_index("patient_id")
    # S1: event 2016-01-10, before the cut-off: kept. S2: censored 2017-01-29: shortened.
    # S4: event 2016-07-19, after the cut-off: censored at it.
    assert data.loc["S1", "efs_event"] == 1 and data.loc["S1", "efs_months"] == pytest.approx(365 / DAYS_PER_MONTH)
    cutoff = pd.Timestamp("2016-06-30")
    assert data.loc["S2", "efs_months"] == pytest.approx((cutoff - pd.Timestamp("2015-03-01")).days / DAYS_PER_MONTH)
    assert data.loc["S4", "efs_event"] == 0
    assert data.loc["S4", "efs_months"] == pytest.approx((cutoff - pd.Timestamp("2015-06-15")).days / DAYS_PER_MONTH)
    assert result.qc["exclusions"][1:] == [
        {"stage": "extract", "field": "efs_months", "reason": "event after the data cut-off 2016-06-30",
         "action": "censored at the cut-off: the event is not counted", "count": 1},
        {"stage": "extract", "field": "efs_months", "reason": "follow-up after the data cut-off 2016-06-30",
         "action": "follow-up shortened to the cut-off", "count": 1},
    ]
    assert result.qc["exclusions"][0]["reason"] == "not in the ITT population"
    assert result.qc["data_cutoff"] == {"date": "2016-06-30", "checked": ["efs_months"], "not_checked": []}


def test_event_after_the_data_cutoff_from_a_duration_and_the_randomization_date(tmp_path, package):
    text = MAPPING + "data_cutoff: {date: 2016-06-30, start: dm.RANDDT}\n"
    result = extract(tmp_path, package, text)
    data = result.data.set_index("patient_id")
    assert data.loc["S4", "efs_event"] == 0 and data.loc["S1", "efs_event"] == 1
    assert [e["count"] for e in result.qc["exclusions"] if e["stage"] == "extract" and e["field"] == "efs_months"] == [1, 1]
    # Without a start date a duration cannot be placed on the calendar: recorded, not guessed.
    result = extract(tmp_path, package, MAPPING + "data_cutoff: {date: 2016-06-30}\n")
    assert result.qc["data_cutoff"]["not_checked"] == ["efs_months"] and len(result.qc["exclusions"]) == 1


def test_a_patient_randomized_after_the_data_cutoff_stops_the_study(tmp_path, package):
    with pytest.raises(StudyDataError) as err:
        extract(tmp_path, package, MAPPING + "data_cutoff: {date: 2015-05-01, start: dm.RANDDT}\n")
    assert "1 patients start (dm.RANDDT) after the data cut-off 2015-05-01" in assert_clear(
        err.value, study="T-1", file="dm.csv", field="efs_months", example="subject 'S4': start 2015-06-15")


@pytest.mark.parametrize("field", ["er_percent", "pr_percent"])
def test_receptor_percent_above_100_names_the_patient(field):
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(**{"patient_id": ["P1", "P2"], field: [50.0, 150.0]}), study=STUDY)
    assert f"{field} has 1 value(s) outside 0 to 100: 150" in assert_clear(
        err.value, study="T-1", field=field, example=f"patient P2: {field} = 150")


def test_her2_ish_without_ihc_is_counted_and_only_group_1_decides():
    data, qc = harmonize_study(extracted(**{
        "patient_id": ["P1", "P2", "P3", "P4"], "her2_ihc": [None, None, "3+", None],
        "her2_ish_ratio": [2.5, 1.2, None, 2.5], "her2_ish_copy_number": [5.0, 2.0, None, None],
    }), study=STUDY)
    assert data["her2_status"].tolist() == ["positive", "unknown", "positive", "unknown"]
    assert qc["derivations"]["her2_status"] == {"from_single_ish_call": 0, "ish_without_ihc": 3,
                                                "ish_without_ihc_positive": 1, "ish_without_ihc_unknown": 2,
                                                "ish_incomplete": 1}
    assert any("2 patients have an ISH result but no IHC score" in w for w in qc["warnings"])


def test_unknown_ihc_code_names_the_patient():
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(**{"patient_id": ["P1", "P2"], "her2_ihc": ["3+", "positive"]}), study=STUDY)
    assert_clear(err.value, study="T-1", field="her2_ihc", example="patient P2: her2_ihc = 'positive'")


# ----------------------------------------------------------------------------------------------
# Estimation: studies that cannot give an estimate say why (and never a silly number)


@pytest.fixture(scope="module")
def analyses():
    return load_config(ROOT / "config" / "config.yaml")["analyses"]


def test_a_study_where_every_patient_is_hr_positive(analyses):
    source = extracted(patient_id=[f"P{i}" for i in range(20)], er_percent=[50.0] * 20, ypt=["ypT0", "ypT2"] * 10,
                       ypn=["ypN0"] * 20, efs_months=np.linspace(1, 40, 20), efs_event=[1, 0] * 10)
    data, qc = harmonize_study(source, study=STUDY)
    assert any("every patient with a known hr_status is positive" in w for w in qc["warnings"])
    for name in ("pcr_by_hr", "efs_by_hr"):
        (row,) = estimate_analysis(data, study_id="T-1", analysis=name, spec=analyses[name])
        assert not row.estimable and row.reason == "no patients with hr_status = negative" and math.isnan(row.estimate)


def test_zero_events_in_a_group_gives_no_hazard_ratio_and_says_why(analyses):
    rng = np.random.default_rng(1)
    hr = ["positive"] * 30 + ["negative"] * 30
    data = pd.DataFrame({"hr_status": hr, "efs_months": rng.uniform(1, 60, 60),
                         "efs_event": [0] * 30 + [1, 1, 0, 0] * 7 + [1, 0], "pcr_ypt0is_ypn0": [True, False] * 30})
    (row,) = estimate_analysis(data, study_id="T-1", analysis="efs_by_hr", spec=analyses["efs_by_hr"])
    assert not row.estimable and row.reason == "no events in one group: the Cox model has no finite estimate"
    assert math.isnan(row.estimate) and math.isnan(row.se) and row.events_exposed == 0 and row.events_reference == 15
    rows = estimate_analysis(data, study_id="T-1", analysis="efs_by_pcr_within_hr", spec=analyses["efs_by_pcr_within_hr"])
    assert [r.estimable for r in rows] == [False, True, False]
    assert rows[2].reason == "not estimable in positive"


def test_a_study_with_three_patients_never_crashes_and_never_gives_a_silly_estimate(analyses):
    source = extracted(**{
        "patient_id": ["a", "b", "c"], "arm": ["A", "B", "A"],
        "regimen": ["paclitaxel+trastuzumab", "paclitaxel+trastuzumab+pertuzumab", "paclitaxel+trastuzumab"],
        "er_percent": [50.0, 0.0, 0.0], "pr_percent": [0.0, 0.0, 30.0], "ypt": ["ypT0", "ypT1", "ypT0"],
        "ypn": ["ypN0", "ypN0", "ypN1"], "efs_months": [10.0, 20.0, 5.0], "efs_event": [1, 0, 1],
        "os_months": [10.0, 20.0, 30.0], "os_event": [1, 1, 0], "her2_ihc": ["3+", "3+", "3+"],
        "best_overall_response": ["CR", "PD", "SD"], "pfs_months": [1.0, 2.0, 3.0], "pfs_event": [1, 1, 1]})
    for setting in ("neoadjuvant", "metastatic"):
        data, qc = harmonize_study(source, study={**STUDY, "setting": setting})
        assert "only 3 patients: the study's estimates are imprecise or not estimable" in qc["warnings"]
        for name, spec in analyses.items():
            if setting not in spec["settings"]:
                continue
            for row in estimate_analysis(data, study_id="T-1", analysis=name, spec=spec):
                if row.estimable:
                    assert math.isfinite(row.estimate) and 0 < row.se < 100, (name, row)
                else:
                    assert row.reason and "exposed = " not in row.reason, (name, row)


def test_a_time_without_its_event_field_stops_the_study():
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(patient_id=["P1"], os_months=[3.0]), study=STUDY)
    assert "the mapping gives os_months but not os_event" in assert_clear(err.value, study="T-1", field="os_event")


def test_a_whole_number_field_with_a_fraction_names_the_patient():
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(patient_id=["P1", "P2"], grade=[2.0, 1.5]), study=STUDY)
    assert "grade has 1 value(s) that are not a whole number" in assert_clear(err.value, study="T-1", field="grade",
                                                                               example="patient P2: 1.5")


# ----------------------------------------------------------------------------------------------
# docs/errors.md: every case is backed by a test that exists


def test_every_case_in_docs_errors_names_an_existing_test():
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| case")
            and not line.startswith("|---")]
    assert len(rows) >= 40
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4, row
        tests = __import__("re").findall(r"`(tests/test_\w+\.py)::(test_\w+)`", cells[3])
        assert tests, f"no test named for: {cells[0]}"
        for path, name in tests:
            source = (ROOT / path).read_text(encoding="utf-8")
            assert f"def {name}(" in source, f"{path}::{name} (docs/errors.md: {cells[0]})"
