"""Packages with partial dates, shifted dates and study days, extracted through a mapping.

Fixtures follow CDISC conventions, written here: an SDTM package (DM with RFSTDTC, DS with the
disposition events and ISO 8601 partial DSSTDTC) as SAS transport files, and an ADaM package
(ADSL with the randomization study day RANDDY, ADTTE with ADY and CNSR 0 = event) as CSV, its
study days derived from calendar dates by the SDTMIG definition (day 1 = the reference day, the
day before is day -1). Expected times and counts come from the calendar dates in this file."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2meta.errors import StudyDataError
from her2meta.harmonize import harmonize_study
from her2meta.mapping import apply_mapping, load_mapping
from her2meta.stages.flow import flow_document

DAYS_PER_MONTH = 365.25 / 12
D = dt.date

# ----------------------------------------------------------------------------------------------
# SDTM: DM (randomization = RFSTDTC) and DS (one disposition event per subject, partial dates)

SUBJECTS = {  # USUBJID: (RFSTDTC, DSDECOD, DSSTDTC)
    "S01": ("2015-01-10", "DEATH", "2016-03-05"),
    "S02": ("2015-02-01", "DEATH", "2016-07"),          # day unknown
    "S03": ("2015-03-15", "COMPLETED", "2017"),         # month and day unknown
    "S04": ("2015-04-20", "LOST TO FOLLOW-UP", "2016-11-30"),
    "S05": ("2015-05-20", "DEATH", "2015-05"),          # same month as randomization
    "S06": ("2015-06-01", "DEATH", "2016---12"),        # month unknown, day known (SDTMIG form)
    "S07": ("2015-07-01", "COMPLETED", "2017-06-30"),
    "S08": ("2015-08-01", "DEATH", "2016-02"),          # February of a leap year
}
# The end date each rule gives, from the calendar (S05: an end before the start is set to the start).
EXPECTED_END = {
    "first": {"S02": D(2016, 7, 1), "S03": D(2017, 1, 1), "S05": D(2015, 5, 20), "S06": D(2016, 1, 12), "S08": D(2016, 2, 1)},
    "middle": {"S02": D(2016, 7, 15), "S03": D(2017, 7, 1), "S05": D(2015, 5, 20), "S06": D(2016, 7, 12), "S08": D(2016, 2, 15)},
    "last": {"S02": D(2016, 7, 31), "S03": D(2017, 12, 31), "S05": D(2015, 5, 31), "S06": D(2016, 12, 12), "S08": D(2016, 2, 29)},
}

SDTM_MAPPING = """
mapping_version: 1
study_id: T-SDTM
datasets:
  dm: {file: DM.xpt, key: USUBJID}
  ds:
    file: DS.xpt
    key: USUBJID
    filter: [{column: DSCAT, equals: DISPOSITION EVENT}]
subjects: dm
fields:
  patient_id: {from: dm.USUBJID}
  os_months: {dates: {start: dm.RFSTDTC, end: ds.DSSTDTC}}
  os_event: {from: ds.DSDECOD, codes: {DEATH: 1, COMPLETED: 0, LOST TO FOLLOW-UP: 0}}
constants:
  setting: metastatic
"""


def _write_xpt(frame: pd.DataFrame, path: Path) -> None:
    import pyreadstat

    pyreadstat.write_xport(frame, str(path), file_format_version=5, table_name=path.stem.upper())


@pytest.fixture()
def sdtm(tmp_path) -> Path:
    pkg = tmp_path / "sdtm"
    pkg.mkdir()
    ids = list(SUBJECTS)
    _write_xpt(pd.DataFrame({"STUDYID": "T", "USUBJID": ids, "ARMCD": ["A", "B"] * 4,
                             "RFSTDTC": [SUBJECTS[s][0] for s in ids]}), pkg / "DM.xpt")
    rows = []
    for s in ids:
        rows.append({"USUBJID": s, "DSCAT": "PROTOCOL MILESTONE", "DSDECOD": "RANDOMIZED", "DSSTDTC": SUBJECTS[s][0]})
        rows.append({"USUBJID": s, "DSCAT": "DISPOSITION EVENT", "DSDECOD": SUBJECTS[s][1], "DSSTDTC": SUBJECTS[s][2]})
    _write_xpt(pd.DataFrame(rows), pkg / "DS.xpt")
    return pkg


def _extract(tmp_path, package, text, study):
    path = tmp_path / f"{study}.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return apply_mapping(load_mapping(path, study=study), package)


def _months(start: str | dt.date, end: dt.date) -> float:
    start = dt.date.fromisoformat(start) if isinstance(start, str) else start
    return (end - start).days / DAYS_PER_MONTH


def test_partial_dates_with_no_rule_stop_the_study_saying_which_key_to_add(tmp_path, sdtm):
    partial = [s for s, (_, _, end) in SUBJECTS.items() if len(end) < 10 or "---" in end]
    with pytest.raises(StudyDataError) as err:
        _extract(tmp_path, sdtm, SDTM_MAPPING, "T-SDTM")
    text = str(err.value)
    assert text.startswith("study T-SDTM: ") and f"{len(partial)} partial date(s) in ds.DSSTDTC" in text
    assert err.value.example == f"subject {partial[0]!r} has {SUBJECTS[partial[0]][2]!r}"
    assert err.value.file.endswith("DS.xpt") and err.value.field == "os_months"
    assert "partial_dates: {rule: first}" in err.value.hint


@pytest.mark.parametrize("rule", ["first", "middle", "last"])
def test_each_rule_gives_the_calendar_day_and_counts_what_it_imputed(tmp_path, sdtm, rule):
    result = _extract(tmp_path, sdtm, SDTM_MAPPING + f"partial_dates: {{rule: {rule}}}\n", "T-SDTM")
    data = result.data.set_index("patient_id")
    for subject, (start, _, end) in SUBJECTS.items():
        expected_end = EXPECTED_END[rule].get(subject) or dt.date.fromisoformat(end)
        assert data.loc[subject, "os_months"] == pytest.approx(_months(start, expected_end)), subject
    records = result.qc["dates"]["partial_dates"]
    by_missing = {r["missing"]: r["count"] for r in records if r["missing"] != "ordering"}
    assert by_missing == {"day": 3, "month and day": 1, "month": 1}
    assert all(r["rule"] == rule and r["column"] == "ds.DSSTDTC" and r["field"] == "os_months"
               for r in records if r["missing"] != "ordering")
    clamped = [r["count"] for r in records if r["missing"] == "ordering"]
    # first and middle put S05's death (2015-05) before its randomization (2015-05-20); last does not.
    assert clamped == ([] if rule == "last" else [1])
    imputed = [e for e in result.qc["exclusions"] if "partial_dates rule" in e["action"]]
    assert sum(e["count"] for e in imputed) == 5 and all(e["stage"] == "extract" for e in imputed)


def test_the_counts_reach_the_report_data_flow_without_subject_ids_or_dates(tmp_path, sdtm):
    result = _extract(tmp_path, sdtm, SDTM_MAPPING + "partial_dates: {rule: first}\n", "T-SDTM")
    harmonized, hqc = harmonize_study(result.data, study={"study_id": "T-SDTM", "setting": "metastatic"})
    hqc["exclusions"] = list(result.qc["exclusions"]) + hqc["exclusions"]  # as stages/harmonize.py does
    study = {"study_id": "T-SDTM", "label": "T-SDTM", "data_source": "ipd", "include": True}
    flow = flow_document([study], {"T-SDTM": result.qc}, {"T-SDTM": hqc}, None, min_count=1)
    shown = flow["per_study"][0]["endpoint_exclusions"]
    texts = [f"{e['count']} {e['reason']} ({e['action']})" for e in shown]
    assert "3 partial dates in ds.DSSTDTC (day unknown) (completed by partial_dates rule first: day 1 of the month)" in texts
    assert "1 partial dates in ds.DSSTDTC (month unknown) (completed by partial_dates rule first: January, the day as given)" in texts
    assert "1 imputed end dates in ds.DSSTDTC before the start date (set to the start date: a completed partial date never " \
           "reverses the two)" in texts
    # release zone: no subject identifier and no patient's date in what the report shows
    assert not any(s in t for t in texts for s in SUBJECTS)
    assert not any(value in t for t in texts for subject in SUBJECTS.values() for value in subject if value[:1].isdigit())


def test_rules_per_part_and_per_field_replace_the_mapping_rule(tmp_path, sdtm):
    text = SDTM_MAPPING.replace("os_months: {dates: {start: dm.RFSTDTC, end: ds.DSSTDTC}}",
                                "os_months: {dates: {start: dm.RFSTDTC, end: ds.DSSTDTC}, partial_dates: {start: first, end: last}}")
    data = _extract(tmp_path, sdtm, text + "partial_dates: {rule: first}\n", "T-SDTM").data.set_index("patient_id")
    assert data.loc["S08", "os_months"] == pytest.approx(_months("2015-08-01", D(2016, 2, 29)))


def test_exclude_leaves_the_patient_out_of_os_counted(tmp_path, sdtm):
    result = _extract(tmp_path, sdtm, SDTM_MAPPING + "partial_dates: {rule: exclude}\n", "T-SDTM")
    data = result.data.set_index("patient_id")
    partial = {s for s, (_, _, end) in SUBJECTS.items() if len(end) < 10 or "---" in end}
    assert set(data.index[data["os_months"].isna()]) == partial
    assert sum(e["count"] for e in result.qc["exclusions"] if e["action"] == "set to missing: partial_dates rule exclude") == 5


def test_an_end_that_cannot_follow_the_start_stops_the_study(tmp_path, sdtm):
    import pyreadstat

    ds, _ = pyreadstat.read_xport(str(sdtm / "DS.xpt"))
    ds.loc[(ds["USUBJID"] == "S07") & (ds["DSCAT"] == "DISPOSITION EVENT"), "DSSTDTC"] = "2014"
    _write_xpt(ds, sdtm / "DS.xpt")
    with pytest.raises(StudyDataError) as err:
        _extract(tmp_path, sdtm, SDTM_MAPPING + "partial_dates: {rule: last}\n", "T-SDTM")
    assert "1 patient(s) whose end date is before the start date whatever" in str(err.value)
    assert err.value.example == "subject 'S07': start '2015-07-01', end '2014'"


def test_sponsor_placeholders_and_an_unknown_year(tmp_path, sdtm):
    import pyreadstat

    ds, _ = pyreadstat.read_xport(str(sdtm / "DS.xpt"))
    event = ds["DSCAT"] == "DISPOSITION EVENT"
    ds.loc[event & (ds["USUBJID"] == "S02"), "DSSTDTC"] = "2016-07-UN"
    ds.loc[event & (ds["USUBJID"] == "S07"), "DSSTDTC"] = "--06-30"
    _write_xpt(ds, sdtm / "DS.xpt")
    with pytest.raises(StudyDataError) as err:
        _extract(tmp_path, sdtm, SDTM_MAPPING + "partial_dates: {rule: first}\n", "T-SDTM")
    assert "1 date(s) in ds.DSSTDTC have no year" in str(err.value) and err.value.example == "subject 'S07' has '--06-30'"
    result = _extract(tmp_path, sdtm, SDTM_MAPPING + "partial_dates: {rule: exclude}\n", "T-SDTM")
    data = result.data.set_index("patient_id")
    assert pd.isna(data.loc["S02", "os_months"]) and pd.isna(data.loc["S07", "os_months"])
    assert {r["missing"]: r["count"] for r in result.qc["dates"]["partial_dates"]} == {"day": 3, "month and day": 1,
                                                                                       "month": 1, "year": 1}


# ----------------------------------------------------------------------------------------------
# Dates shifted per patient (data-sharing platforms): durations stay, calendar comparisons do not


def _shifted(sdtm: Path, tmp_path: Path) -> Path:
    """The SDTM package with every date of a patient moved by one random offset per patient."""
    import pyreadstat

    rng = np.random.default_rng(13)
    offsets = {s: int(rng.integers(-400, 400)) for s in SUBJECTS}
    out = tmp_path / "shifted"
    out.mkdir()

    def shift(text: str, subject: str) -> str:
        if len(text) == 10:
            return (dt.date.fromisoformat(text) + dt.timedelta(days=offsets[subject])).isoformat()
        return text  # this test shifts complete dates only

    for name in ("DM", "DS"):
        frame, _ = pyreadstat.read_xport(str(sdtm / f"{name}.xpt"))
        column = "RFSTDTC" if name == "DM" else "DSSTDTC"
        frame[column] = [shift(v, s) for v, s in zip(frame[column], frame["USUBJID"])]
        _write_xpt(frame, out / f"{name}.xpt")
    return out


def test_a_calendar_cutoff_on_dates_shifted_per_patient_stops_at_load(tmp_path, sdtm):
    text = SDTM_MAPPING + "partial_dates: {rule: exclude}\ndate_anonymization: shifted_per_patient\ndata_cutoff: {date: 2016-06-30}\n"
    with pytest.raises(StudyDataError) as err:
        _extract(tmp_path, sdtm, text, "T-SDTM")
    assert "shifted by a different offset for each patient" in str(err.value)
    assert err.value.field == "data_cutoff" and err.value.file.endswith("T-SDTM.yaml") and "study_day" in err.value.hint


def test_a_study_day_cutoff_gives_the_same_on_shifted_and_real_dates(tmp_path, sdtm):
    shifted = _shifted(sdtm, tmp_path)
    base = SDTM_MAPPING + "partial_dates: {rule: exclude}\ndata_cutoff: {study_day: 500}\n"
    real = _extract(tmp_path, sdtm, base, "T-SDTM")
    moved = _extract(tmp_path, shifted, base + "date_anonymization: shifted_per_patient\n", "T-SDTM")
    pd.testing.assert_frame_equal(real.data, moved.data)
    # Complete dates only (partial ones excluded): follow-up beyond 499 days after randomization is censored.
    complete = {s: (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days
                for s, (start, decod, end) in SUBJECTS.items() if len(end) == 10}
    beyond = {s for s, days in complete.items() if days > 499}
    events_beyond = {s for s in beyond if SUBJECTS[s][1] == "DEATH"}
    data = moved.data.set_index("patient_id")
    for s, days in complete.items():
        assert data.loc[s, "os_months"] == pytest.approx(min(days, 499) / DAYS_PER_MONTH)
        assert data.loc[s, "os_event"] == (0 if s in beyond else int(SUBJECTS[s][1] == "DEATH"))
    cut = {e["reason"]: e["count"] for e in moved.qc["exclusions"] if "study day 500" in e["reason"]}
    expected = {"event after study day 500": len(events_beyond), "follow-up after study day 500": len(beyond - events_beyond)}
    assert cut == {reason: n for reason, n in expected.items() if n} and beyond
    assert moved.qc["data_cutoff"] == {"study_day": 500, "censored_beyond_days": 499.0, "checked": ["os_months"], "not_checked": []}
    assert moved.qc["dates"]["anonymization"] == "shifted_per_patient"


@pytest.mark.parametrize("extra, message", [
    ("date_anonymization: shifted_per_study\ndata_cutoff: {date: 2016-06-30}\n", "is the cut-off date shifted with them?"),
    ("data_cutoff: {date: 2016-06-30, date_is_shifted: true}\n", "date_is_shifted is true, but date_anonymization is none"),
    ("data_cutoff: {study_day: 500, start: dm.RFSTDTC}\n", "data_cutoff.start applies to a calendar cut-off"),
    ("date_anonymization: study_days\n", "field os_months is mapped from dates (`dates:`), but the mapping says the package gives study days"),
])
def test_date_keys_that_contradict_the_anonymization_stop_at_load(tmp_path, sdtm, extra, message):
    with pytest.raises(StudyDataError) as err:
        _extract(tmp_path, sdtm, SDTM_MAPPING + "partial_dates: {rule: exclude}\n" + extra, "T-SDTM")
    assert message in str(err.value) and err.value.hint


def test_a_calendar_cutoff_on_dates_shifted_per_study_when_the_date_is_shifted_too(tmp_path, sdtm):
    text = SDTM_MAPPING + ("partial_dates: {rule: exclude}\ndate_anonymization: shifted_per_study\n"
                           "data_cutoff: {date: 2016-06-30, date_is_shifted: true}\n")
    result = _extract(tmp_path, sdtm, text, "T-SDTM")
    cutoff = dt.date(2016, 6, 30)
    ends = {s: dt.date.fromisoformat(end) for s, (_, _, end) in SUBJECTS.items() if len(end) == 10}
    after = {s for s, end in ends.items() if end > cutoff}
    assert sum(e["count"] for e in result.qc["exclusions"] if "data cut-off 2016-06-30" in e["reason"]) == len(after)
    assert result.qc["data_cutoff"]["checked"] == ["os_months"]


# ----------------------------------------------------------------------------------------------
# ADaM with study days only (ADY), randomization a few days before the first dose (day 1)

ADAM = {  # USUBJID: (randomization, first dose = study day 1, OS event or censoring date, CNSR)
    "A01": (D(2016, 1, 4), D(2016, 1, 8), D(2017, 3, 1), 0),
    "A02": (D(2016, 1, 20), D(2016, 1, 20), D(2016, 9, 30), 1),
    "A03": (D(2016, 2, 1), D(2016, 2, 3), D(2018, 5, 17), 0),
    "A04": (D(2016, 3, 15), D(2016, 3, 22), D(2016, 3, 25), 0),
    "A05": (D(2016, 4, 2), D(2016, 4, 4), D(2019, 1, 10), 1),
    "A06": (D(2016, 5, 9), D(2016, 5, 10), D(2017, 8, 21), 0),
}


def sdtmig_study_day(date: dt.date, reference: dt.date) -> int:
    """SDTMIG 4.4.4: (date - reference) + 1 on or after the reference date, (date - reference) before."""
    delta = (date - reference).days
    return delta + 1 if delta >= 0 else delta


ADAM_MAPPING = """
mapping_version: 1
study_id: T-ADAM
date_anonymization: study_days
datasets:
  adsl:
    file: adsl.csv
    key: USUBJID
    filter: [{column: ITTFL, equals: "Y", reason: not in the ITT population}]
  os:
    file: adtte.csv
    key: USUBJID
    filter: [{column: PARAMCD, equals: OS}]
subjects: adsl
fields:
  patient_id: {from: adsl.USUBJID}
  os_months: {study_days: {start: adsl.RANDDY, end: os.ADY}}
  os_event: {from: os.CNSR, codes: {0: 1, 1: 0}}
constants:
  setting: metastatic
"""


@pytest.fixture()
def adam(tmp_path) -> Path:
    pkg = tmp_path / "adam"
    pkg.mkdir()
    adsl = pd.DataFrame({"USUBJID": list(ADAM), "ITTFL": "Y",
                         "RANDDY": [sdtmig_study_day(r, ref) for r, ref, _, _ in ADAM.values()]})
    rows = []
    for s, (_, ref, end, cnsr) in ADAM.items():
        rows.append({"USUBJID": s, "PARAMCD": "OS", "ADY": sdtmig_study_day(end, ref), "CNSR": cnsr})
        rows.append({"USUBJID": s, "PARAMCD": "PFS", "ADY": sdtmig_study_day(end, ref) - 30, "CNSR": cnsr})
    adsl.to_csv(pkg / "adsl.csv", index=False)
    pd.DataFrame(rows).to_csv(pkg / "adtte.csv", index=False)
    return pkg


def test_durations_from_study_days_equal_the_calendar_durations(tmp_path, adam):
    assert (pd.read_csv(adam / "adsl.csv")["RANDDY"] < 0).sum() == 5  # randomized before the first dose: negative days
    result = _extract(tmp_path, adam, ADAM_MAPPING, "T-ADAM")
    data = result.data.set_index("patient_id")
    for s, (rand, _, end, cnsr) in ADAM.items():
        assert data.loc[s, "os_months"] == pytest.approx((end - rand).days / DAYS_PER_MONTH), s
        assert data.loc[s, "os_event"] == 1 - cnsr
    assert result.qc["fields"]["os_months"]["source"] == "study days adsl.RANDDY -> os.ADY"
    harmonize_study(result.data, study={"study_id": "T-ADAM", "setting": "metastatic"})  # no negative or absurd time


def test_a_study_day_cutoff_on_a_study_day_package(tmp_path, adam):
    result = _extract(tmp_path, adam, ADAM_MAPPING + "data_cutoff: {study_day: 731}\n", "T-ADAM")
    data = result.data.set_index("patient_id")
    days = {s: (end - rand).days for s, (rand, _, end, _) in ADAM.items()}
    beyond = {s for s, d in days.items() if d > 730}
    assert beyond == {"A03", "A05"}
    for s, d in days.items():
        assert data.loc[s, "os_months"] == pytest.approx(min(d, 730) / DAYS_PER_MONTH)
    assert data.loc["A03", "os_event"] == 0  # died after day 731: censored there
    counts = {e["reason"]: e["count"] for e in result.qc["exclusions"] if "study day 731" in e["reason"]}
    assert counts == {"event after study day 731": 1, "follow-up after study day 731": 1}


def test_a_calendar_cutoff_on_a_study_day_package_stops_at_load(tmp_path, adam):
    with pytest.raises(StudyDataError) as err:
        _extract(tmp_path, adam, ADAM_MAPPING + "data_cutoff: {date: 2017-06-30}\n", "T-ADAM")
    assert "the package gives study days, not dates" in str(err.value) and "study_day: 1826" in err.value.hint


def test_a_start_study_day_for_everyone_and_study_day_errors(tmp_path, adam):
    text = ADAM_MAPPING.replace("start: adsl.RANDDY", "start: 1")
    data = _extract(tmp_path, adam, text, "T-ADAM").data.set_index("patient_id")
    _, ref, end, _ = ADAM["A01"]
    assert data.loc["A01", "os_months"] == pytest.approx((end - ref).days / DAYS_PER_MONTH)  # from the first dose
    frame = pd.read_csv(adam / "adtte.csv")
    frame.loc[0, "ADY"] = 0
    frame.to_csv(adam / "adtte.csv", index=False)
    with pytest.raises(StudyDataError) as err:
        _extract(tmp_path, adam, ADAM_MAPPING, "T-ADAM")
    assert "day 0, which CDISC study days do not have" in str(err.value) and err.value.example == "subject 'A01' has '0'"


@pytest.mark.parametrize("old, new, message", [
    ("patient_id: {from: adsl.USUBJID}", "patient_id: {from: adsl.USUBJID}\n  arm: {study_days: {start: 1, end: os.ADY}}",
     "field arm is string: `study_days:` applies to durations only"),
    ("os_event: {from: os.CNSR, codes: {0: 1, 1: 0}}", "os_event: {from: os.CNSR, codes: {0: 1, 1: 0}, partial_dates: {rule: first}}",
     "field os_event has `partial_dates:` but reads no date"),
    ("end: os.ADY", "end: adrs.ADY", "field os_months reads from dataset 'adrs', which is not declared"),
])
def test_study_day_and_partial_date_keys_where_they_cannot_apply(tmp_path, adam, old, new, message):
    with pytest.raises(StudyDataError) as err:
        _extract(tmp_path, adam, ADAM_MAPPING.replace(old, new), "T-ADAM")
    assert message in str(err.value)
