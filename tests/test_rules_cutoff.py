"""Rules of the data cut-off (her2meta.cutoff, issue 18).

A calendar cut-off shortens follow-up after the date to it and turns an event after it into a
censoring at it; a study-day cut-off censors beyond study day N (N - 1 days after the start, CDISC
has no day 0). Every change is counted in qc["exclusions"]; a cut-off that cannot be compared with
the package's dates stops the study with the field and what to do. Expected values are worked
by hand from these rules (DAYS_PER_MONTH = 365.25 / 12).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from her2meta.cutoff import apply_cutoff, check_cutoff
from her2meta.dates import DAYS_PER_MONTH
from her2meta.errors import StudyDataError

STUDY_DAY_HINT = ("state the cut-off as a study day instead, `data_cutoff: {study_day: 1826}` (follow-up beyond "
                  "study day 1826 after randomization is censored there), or remove data_cutoff")


def _spec(cutoff, anonymization=None, datasets=("adsl", "adtte")):
    spec = {"study_id": "S1", "datasets": {name: {} for name in datasets}, "data_cutoff": cutoff}
    if anonymization:
        spec["date_anonymization"] = anonymization
    return spec


def _check_fails(spec) -> StudyDataError:
    with pytest.raises(StudyDataError) as e:
        check_cutoff(spec, "maps/S1.yaml")
    assert e.value.study == "S1"
    assert e.value.file == "maps/S1.yaml"
    assert e.value.field == "data_cutoff"
    return e.value


# ------------------------------------------------------------------------------ load-time checks


@pytest.mark.parametrize("cutoff", [None, {}])
def test_no_cutoff_is_not_checked(cutoff):
    check_cutoff({"data_cutoff": cutoff}, "m.yaml")  # no study_id or datasets needed


@pytest.mark.parametrize("anonymization", [None, "none", "shifted_per_patient", "study_days", "shifted_per_study"])
def test_a_study_day_cutoff_works_whatever_the_date_anonymization(anonymization):
    check_cutoff(_spec({"study_day": 1826}, anonymization), "m.yaml")


@pytest.mark.parametrize("key", ["start", "date_format", "date_is_shifted"])
def test_calendar_keys_on_a_study_day_cutoff_stop_the_study(key):
    error = _check_fails(_spec({"study_day": 1826, key: "x"}))
    assert error.detail == f"data_cutoff.{key} applies to a calendar cut-off (`date:`), not to `study_day:`"
    assert error.hint == f"a study-day cut-off is counted from each time's own start; remove data_cutoff.{key}"


def test_the_first_calendar_key_found_is_named():
    error = _check_fails(_spec({"study_day": 1826, "date_is_shifted": True, "start": "adsl.RANDDT"}))
    assert error.detail.startswith("data_cutoff.start applies")


def test_a_calendar_cutoff_on_dates_shifted_per_patient_stops_the_study():
    error = _check_fails(_spec({"date": "2016-03-31"}, "shifted_per_patient"))
    assert error.detail == ("data_cutoff.date 2016-03-31 is a calendar date, but the package's dates are shifted by a "
                            "different offset for each patient (date_anonymization: shifted_per_patient): a calendar "
                            "date cannot be compared across patients")
    assert error.hint == STUDY_DAY_HINT


def test_a_calendar_cutoff_on_study_days_stops_the_study():
    error = _check_fails(_spec({"date": "2016-03-31"}, "study_days"))
    assert error.detail == ("data_cutoff.date 2016-03-31 is a calendar date, but the package gives study days, not "
                            "dates (date_anonymization: study_days)")
    assert error.hint == STUDY_DAY_HINT


def test_a_calendar_cutoff_on_shifted_dates_must_say_it_is_shifted_too():
    error = _check_fails(_spec({"date": "2016-03-31"}, "shifted_per_study"))
    assert error.detail == ("data_cutoff.date 2016-03-31 is a calendar date, but the package's dates are shifted "
                            "(date_anonymization: shifted_per_study): is the cut-off date shifted with them?")
    assert error.hint == ("if the sponsor gives the cut-off on the package's shifted calendar, add `date_is_shifted: "
                          "true` to data_cutoff; otherwise " + STUDY_DAY_HINT)


def test_a_shifted_cutoff_on_dates_shifted_per_study_is_accepted():
    check_cutoff(_spec({"date": "2016-03-31", "date_is_shifted": True}, "shifted_per_study"), "m.yaml")


@pytest.mark.parametrize("anonymization,shown", [(None, "none"), ("none", "none")])
def test_date_is_shifted_needs_dates_shifted_per_study(anonymization, shown):
    error = _check_fails(_spec({"date": "2016-03-31", "date_is_shifted": True}, anonymization))
    assert error.detail == f"data_cutoff.date_is_shifted is true, but date_anonymization is {shown}"
    assert error.hint == ("set `date_anonymization: shifted_per_study` if the sponsor shifted every date of the study "
                          "by one offset, or remove date_is_shifted")


def test_date_is_shifted_false_on_real_dates_is_accepted():
    check_cutoff(_spec({"date": "2016-03-31", "date_is_shifted": False}), "m.yaml")


@pytest.mark.parametrize("date", ["2016-02-30", "31.03.2016", "soon"])
def test_a_cutoff_that_is_not_a_date_stops_the_study(date):
    error = _check_fails(_spec({"date": date}))
    assert error.detail == f"data_cutoff date {date!r} is not a date"
    assert error.hint == "write it as YYYY-MM-DD, e.g. 2016-03-31"


def test_a_cutoff_read_by_yaml_as_a_date_is_accepted():
    import datetime
    check_cutoff(_spec({"date": datetime.date(2016, 3, 31), "start": "adsl.RANDDT"}), "m.yaml")


def test_the_start_column_must_come_from_a_declared_dataset():
    error = _check_fails(_spec({"date": "2016-03-31", "start": "ds.DSSTDTC"}))
    assert error.detail == "data_cutoff start reads from dataset 'ds', which is not declared"
    assert error.hint == "declared datasets: adsl, adtte"


def test_the_dataset_of_the_start_column_is_the_text_before_the_first_dot():
    """A column name may itself hold a dot (flat files do): "adsl.RAND.DT" is column RAND.DT of adsl."""
    check_cutoff(_spec({"date": "2016-03-31", "start": "adsl.RAND.DT"}), "m.yaml")
    error = _check_fails(_spec({"date": "2016-03-31", "start": "ds.RAND.DT"}))
    assert error.detail == "data_cutoff start reads from dataset 'ds', which is not declared"


# ------------------------------------------------------------------------------ calendar cut-off

CUTOFF = "2016-03-31"
START = pd.Timestamp("2016-01-01")  # 90 days before the cut-off


def _months(days):
    return days / DAYS_PER_MONTH


def test_calendar_cutoff_censors_and_shortens_and_counts_each_change(caplog):
    """Days from start to end: 100 with an event -> censored at 90; 120 censored -> 90; 80 event kept;
    and a missing time stays missing (it ends nowhere)."""
    ids = ["p1", "p2", "p3", "p4"]
    days = [100, 120, 80, np.nan]
    out = pd.DataFrame({"efs_months": [_months(d) for d in days], "efs_event": [1, 0, 1, np.nan]}, index=ids)
    start = pd.Series(START, index=ids)
    end = start + pd.to_timedelta([100, 120, 80, 130], unit="D")
    qc = {"exclusions": []}
    with caplog.at_level(logging.WARNING, logger="her2meta.mapping"):
        apply_cutoff("S1", {"data_cutoff": {"date": CUTOFF}, "fields": {}}, out, {"efs_months": (start, end)}, qc)
    assert out["efs_months"].iloc[:3].tolist() == pytest.approx([_months(90), _months(90), _months(80)], abs=1e-12)
    assert np.isnan(out["efs_months"].iloc[3])
    assert out["efs_event"].iloc[:3].tolist() == [0, 0, 1]
    assert np.isnan(out["efs_event"].iloc[3])
    assert qc["exclusions"] == [
        {"stage": "extract", "field": "efs_months", "reason": "event after the data cut-off 2016-03-31",
         "action": "censored at the cut-off: the event is not counted", "count": 1},
        {"stage": "extract", "field": "efs_months", "reason": "follow-up after the data cut-off 2016-03-31",
         "action": "follow-up shortened to the cut-off", "count": 1},
    ]
    assert qc["data_cutoff"] == {"date": "2016-03-31", "checked": ["efs_months"], "not_checked": []}
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "study S1: 1 patients: event after the data cut-off 2016-03-31 (censored at the cut-off: the event is not "
        "counted); field efs_months; example: subject 'p1' ends 2016-04-10",
        "study S1: 1 patients: follow-up after the data cut-off 2016-03-31 (follow-up shortened to the cut-off); "
        "field efs_months; example: subject 'p2' ends 2016-04-30",
    ]


def test_a_time_given_as_a_duration_is_placed_by_the_start_column():
    """os_months of 100 days from the randomization: it ends 2016-04-10, after the cut-off."""
    out = pd.DataFrame({"os_months": [_months(100), _months(30)], "os_event": [1, 1]})
    qc = {"exclusions": []}
    apply_cutoff("S1", {"data_cutoff": {"date": CUTOFF, "start": "adsl.RANDDT"}, "fields": {}}, out, {}, qc,
                 start_dates=pd.Series(START, index=out.index))
    assert out["os_months"].tolist() == pytest.approx([_months(90), _months(30)], abs=1e-12)
    assert out["os_event"].tolist() == [0, 1]
    assert qc["data_cutoff"]["checked"] == ["os_months"]
    assert [e["count"] for e in qc["exclusions"]] == [1]


def test_the_start_column_rounds_a_duration_to_whole_days():
    """90.4 days rounds to 90: on the cut-off day, kept; 90.6 rounds to 91: after it."""
    out = pd.DataFrame({"os_months": [_months(90.4), _months(90.6)], "os_event": [1, 1]})
    qc = {"exclusions": []}
    apply_cutoff("S1", {"data_cutoff": {"date": CUTOFF}, "fields": {}}, out, {}, qc,
                 start_dates=pd.Series(START, index=out.index))
    assert out["os_event"].tolist() == [1, 0]


def test_a_time_without_dates_is_listed_as_not_checked_and_left_alone():
    out = pd.DataFrame({"efs_months": [_months(400)], "efs_event": [1], "pfs_months": [_months(500)], "pfs_event": [1]})
    qc = {"exclusions": []}
    start = pd.Series([START])
    apply_cutoff("S1", {"data_cutoff": {"date": CUTOFF}, "fields": {}}, out,
                 {"efs_months": (start, start + pd.Timedelta(days=400))}, qc)
    assert qc["data_cutoff"] == {"date": "2016-03-31", "checked": ["efs_months"], "not_checked": ["pfs_months"]}
    assert out["pfs_months"].iloc[0] == pytest.approx(_months(500))
    assert out["pfs_event"].iloc[0] == 1
    assert out["efs_event"].iloc[0] == 0


def test_a_cutoff_without_an_event_column_shortens_follow_up_only():
    out = pd.DataFrame({"idfs_months": [_months(95)]})
    qc = {"exclusions": []}
    start = pd.Series([START])
    apply_cutoff("S1", {"data_cutoff": {"date": CUTOFF}, "fields": {}}, out,
                 {"idfs_months": (start, start + pd.Timedelta(days=95))}, qc)
    assert out["idfs_months"].iloc[0] == pytest.approx(_months(90))
    assert "idfs_event" not in out
    assert [(e["reason"], e["count"]) for e in qc["exclusions"]] == [("follow-up after the data cut-off 2016-03-31", 1)]


def test_a_start_after_the_cutoff_names_the_count_the_file_and_an_example():
    ids = ["p1", "p2", "p3"]
    start = pd.Series(pd.to_datetime(["2016-01-01", "2016-04-02", "2016-05-01"]), index=ids)
    out = pd.DataFrame({"efs_months": [1.0, 1.0, 1.0], "efs_event": [0, 0, 0]}, index=ids)
    spec = {"data_cutoff": {"date": CUTOFF}, "fields": {"efs_months": {"dates": {"start": "adsl.RANDDT"}}}}
    with pytest.raises(StudyDataError) as e:
        apply_cutoff("S1", spec, out, {"efs_months": (start, start)}, {"exclusions": []},
                     files={"adsl": "pkg/adsl.xpt"})
    error = e.value
    assert error.detail == "2 patients start (adsl.RANDDT) after the data cut-off 2016-03-31"
    assert error.file == "pkg/adsl.xpt"
    assert error.field == "efs_months"
    assert error.example == "subject 'p2': start 2016-04-02"
    assert error.hint == "check data_cutoff.date in the mapping, and the date columns"


def test_a_coalesced_start_is_named_by_its_first_column():
    start = pd.Series([pd.Timestamp("2016-06-01")])
    out = pd.DataFrame({"efs_months": [1.0], "efs_event": [0]})
    spec = {"data_cutoff": {"date": CUTOFF}, "fields": {"efs_months": {"dates": {"start": ["adsl.RANDDT", "ds.X"]}}}}
    with pytest.raises(StudyDataError) as e:
        apply_cutoff("S1", spec, out, {"efs_months": (start, start)}, {"exclusions": []}, files={"adsl": "a.xpt"})
    assert e.value.detail == "1 patients start (adsl.RANDDT) after the data cut-off 2016-03-31"
    assert e.value.file == "a.xpt"


def test_a_late_start_from_the_cutoffs_start_column_names_it():
    out = pd.DataFrame({"os_months": [1.0], "os_event": [0]})
    spec = {"data_cutoff": {"date": CUTOFF, "start": "adsl.RANDDT"}, "fields": {"os_months": {}}}
    with pytest.raises(StudyDataError) as e:
        apply_cutoff("S1", spec, out, {}, {"exclusions": []}, start_dates=pd.Series([pd.Timestamp("2016-04-01")]))
    assert e.value.detail == "1 patients start (adsl.RANDDT) after the data cut-off 2016-03-31"
    assert e.value.file is None


# ------------------------------------------------------------------------------ study-day cut-off


def test_study_day_cutoff_censors_each_time_beyond_day_n_and_records_it(caplog):
    """study_day 366: the limit is 365 days after the start; 365 days is kept, 366 is not."""
    ids = ["a", "b", "c", "d"]
    out = pd.DataFrame({"os_months": [_months(365), _months(366), _months(400), np.nan],
                        "os_event": [1, 1, 0, np.nan],
                        "efs_months": [_months(10), _months(10), _months(10), _months(10)],
                        "efs_event": [1, 1, 1, 1]}, index=ids)
    qc = {"exclusions": []}
    with caplog.at_level(logging.WARNING, logger="her2meta.mapping"):
        apply_cutoff("S1", {"data_cutoff": {"study_day": 366}, "fields": {}}, out, {}, qc)
    assert out["os_months"].iloc[:3].tolist() == pytest.approx([_months(365)] * 3, abs=1e-12)
    assert np.isnan(out["os_months"].iloc[3])
    assert out["os_event"].iloc[:3].tolist() == [1, 0, 0]
    assert out["efs_event"].tolist() == [1, 1, 1, 1]
    assert qc["data_cutoff"] == {"study_day": 366, "censored_beyond_days": 365.0,
                                 "checked": ["efs_months", "os_months"], "not_checked": []}
    assert qc["exclusions"] == [
        {"stage": "extract", "field": "os_months", "reason": "event after study day 366",
         "action": "censored at the cut-off: the event is not counted", "count": 1},
        {"stage": "extract", "field": "os_months", "reason": "follow-up after study day 366",
         "action": "follow-up shortened to the cut-off", "count": 1},
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].endswith("field os_months; example: subject 'b' ends day 367")
    assert messages[1].endswith("field os_months; example: subject 'c' ends day 401")
    assert [m.split(":")[0] for m in messages] == ["study S1", "study S1"]  # the log names the study


def test_study_day_cutoff_given_as_text_in_the_mapping_is_a_number():
    out = pd.DataFrame({"pfs_months": [_months(20)], "pfs_event": [1]})
    qc = {"exclusions": []}
    apply_cutoff("S1", {"data_cutoff": {"study_day": "11"}, "fields": {}}, out, {}, qc)
    assert out["pfs_months"].iloc[0] == pytest.approx(_months(10))
    assert qc["data_cutoff"]["study_day"] == 11


def test_study_day_cutoff_tolerates_a_millionth_of_a_day_of_rounding():
    """Times from dates are whole days up to rounding: up to 1e-6 day beyond the limit is not beyond it."""
    out = pd.DataFrame({"os_months": [(365.0 + 1e-6) / DAYS_PER_MONTH, (365.0 + 1e-5) / DAYS_PER_MONTH],
                        "os_event": [1, 1]})
    qc = {"exclusions": []}
    apply_cutoff("S1", {"data_cutoff": {"study_day": 366}, "fields": {}}, out, {}, qc)
    assert out["os_event"].tolist() == [1, 0]


def test_every_time_is_cut_whatever_comes_before_it():
    """A time that cannot be checked (efs_months, no dates) or needs no change (os_months, ended
    before the cut-off) does not stop the check of the times after it (pfs_months ends after)."""
    ids = ["p1"]
    start = pd.Series(START, index=ids)
    out = pd.DataFrame({"efs_months": [_months(400)], "efs_event": [1], "os_months": [_months(30)], "os_event": [1],
                        "pfs_months": [_months(100)], "pfs_event": [1]}, index=ids)
    qc = {"exclusions": []}
    apply_cutoff("S1", {"data_cutoff": {"date": CUTOFF}, "fields": {}}, out,
                 {"os_months": (start, start + pd.Timedelta(days=30)), "pfs_months": (start, start + pd.Timedelta(days=100))},
                 qc)
    assert qc["data_cutoff"] == {"date": "2016-03-31", "checked": ["os_months", "pfs_months"], "not_checked": ["efs_months"]}
    assert out["pfs_months"].iloc[0] == pytest.approx(_months(90), abs=1e-12)
    assert out["pfs_event"].iloc[0] == 0
    assert out["efs_months"].iloc[0] == pytest.approx(_months(400))


def test_a_missing_event_after_the_cutoff_is_shortened_follow_up_not_an_event():
    """An unknown event status is not an event: past the cut-off the time is shortened and counted as
    follow-up after the cut-off; the status stays unknown."""
    ids = ["p1"]
    start = pd.Series(START, index=ids)
    out = pd.DataFrame({"efs_months": [_months(100)], "efs_event": [np.nan]}, index=ids)
    qc = {"exclusions": []}
    apply_cutoff("S1", {"data_cutoff": {"date": CUTOFF}, "fields": {}}, out,
                 {"efs_months": (start, start + pd.Timedelta(days=100))}, qc)
    assert [(e["reason"], e["count"]) for e in qc["exclusions"]] == [("follow-up after the data cut-off 2016-03-31", 1)]
    assert out["efs_months"].iloc[0] == pytest.approx(_months(90), abs=1e-12)
    assert np.isnan(out["efs_event"].iloc[0])


def test_a_time_without_its_event_column_is_still_shortened_and_counted():
    ids = ["p1", "p2"]
    start = pd.Series(START, index=ids)
    out = pd.DataFrame({"os_months": [_months(100), _months(30)]}, index=ids)
    qc = {"exclusions": []}
    apply_cutoff("S1", {"data_cutoff": {"date": CUTOFF}, "fields": {}}, out,
                 {"os_months": (start, start + pd.to_timedelta([100, 30], unit="D"))}, qc)
    assert [(e["reason"], e["count"]) for e in qc["exclusions"]] == [("follow-up after the data cut-off 2016-03-31", 1)]
    assert out["os_months"].tolist() == pytest.approx([_months(90), _months(30)], abs=1e-12)
