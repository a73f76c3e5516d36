"""Unit tests of her2meta.dates: ISO 8601 partial dates (SDTM forms), the imputation rules, the
ordering rule for imputed dates, and CDISC study days. Expected values are written out by hand
from the calendar (leap years, month lengths), not computed by the code under test."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from her2meta.dates import (
    PartialDate,
    duration_days,
    duration_from_study_days,
    parse_date_text,
    qc_exclusion,
    read_dates,
    read_study_days,
    rule_for,
    study_day_offset,
)
from her2meta.errors import StudyDataError

D = dt.date


@pytest.mark.parametrize("text, expected, missing", [
    ("2014-02-15", PartialDate(2014, 2, 15), None),
    ("2014-02-15T13:14:17", PartialDate(2014, 2, 15), None),
    ("2014-02-15T13:14", PartialDate(2014, 2, 15), None),
    ("2014-02-15T13:14:17+01:00", PartialDate(2014, 2, 15), None),
    ("2014-02-15 10:30:00", PartialDate(2014, 2, 15), None),
    ("20140215", PartialDate(2014, 2, 15), None),
    ("2014-02", PartialDate(2014, 2, None), "day"),
    ("2014", PartialDate(2014, None, None), "month and day"),
    ("2014---15", PartialDate(2014, None, 15), "month"),      # SDTMIG: month unknown, day known
    ("--02-15", PartialDate(None, 2, 15), "year"),            # SDTMIG: year unknown
    ("2022-06--T16:57:30", PartialDate(2022, 6, None), "day"),  # SDTMIG: day unknown, time known
    ("2022-06-23T-:57:30", PartialDate(2022, 6, 23), None),     # SDTMIG: hour unknown (the time is not used)
    ("2014-02-UN", PartialDate(2014, 2, None), "day"),        # sponsor placeholders
    ("2014-UN-UN", PartialDate(2014, None, None), "month and day"),
    ("2014-unk-un", PartialDate(2014, None, None), "month and day"),
    ("2014-UN-15", PartialDate(2014, None, 15), "month"),
    (" 2014-02 ", PartialDate(2014, 2, None), "day"),
])
def test_iso_8601_complete_and_partial_forms(text, expected, missing):
    parsed = parse_date_text(text)
    assert parsed == expected
    assert parsed.missing == missing
    assert parsed.complete == (missing is None)


@pytest.mark.parametrize("text", ["2014-02-30", "2015-02-29", "2014-13", "2014-00-10", "-", "--", "15.02.2014", "Feb 2014",
                                  "201402", "2014-W05", "400", "12.5", "", "NA"])
def test_values_that_are_not_dates(text):
    with pytest.raises(ValueError, match="does not exist|is not an ISO 8601 date|has no known component"):
        parse_date_text(text)


@pytest.mark.parametrize("text, first, middle, last", [
    ("2016-02", D(2016, 2, 1), D(2016, 2, 15), D(2016, 2, 29)),   # leap year
    ("2015-02", D(2015, 2, 1), D(2015, 2, 15), D(2015, 2, 28)),
    ("2015-04", D(2015, 4, 1), D(2015, 4, 15), D(2015, 4, 30)),
    ("2015-12", D(2015, 12, 1), D(2015, 12, 15), D(2015, 12, 31)),
    ("2015", D(2015, 1, 1), D(2015, 7, 1), D(2015, 12, 31)),
    ("2015---20", D(2015, 1, 20), D(2015, 7, 20), D(2015, 12, 20)),
    ("2015-06-09", D(2015, 6, 9), D(2015, 6, 9), D(2015, 6, 9)),
])
def test_imputation_rules_give_the_first_middle_and_last_possible_day(text, first, middle, last):
    date = parse_date_text(text)
    assert (date.impute("first"), date.impute("middle"), date.impute("last")) == (first, middle, last)
    assert date.bounds() == (first, last)


def test_rule_for_prefers_the_part_then_the_rule():
    assert rule_for("start", {"rule": "middle", "start": "first"}) == "first"
    assert rule_for("end", {"rule": "middle", "start": "first"}) == "middle"
    assert rule_for("end", {"start": "first"}) is None
    assert rule_for("value", {"rule": "last"}) == "last"
    assert rule_for("start", None) is None


def _read(values, rule=None, part="end", **kw):
    raw = pd.Series(values, index=[f"S{i}" for i in range(1, len(values) + 1)], dtype=object)
    return read_dates(raw, study="T-1", field_name="os_months", column="ds.DSSTDTC", file="ds.csv", rule=rule, part=part, **kw)


def test_a_partial_date_with_no_rule_stops_with_count_example_and_the_key_to_add():
    with pytest.raises(StudyDataError) as err:
        _read(["2015-01-10", "2015-03", "", "2016", "2015-05"])
    text = str(err.value)
    assert "3 partial date(s) in ds.DSSTDTC (2 with the day unknown, 1 with the month and day unknown)" in text
    assert err.value.example == "subject 'S2' has '2015-03'"
    assert "partial_dates: {rule: first}" in err.value.hint and "fields.os_months" in err.value.hint
    assert err.value.file == "ds.csv" and err.value.field == "os_months"


def test_imputed_dates_are_counted_per_missing_part_with_an_example():
    column = _read(["2015-01-10", "2015-03", None, "2016", "2015-05"], rule="last")
    assert column.values.tolist() == [pd.Timestamp("2015-01-10"), pd.Timestamp("2015-03-31"), pd.NaT,
                                      pd.Timestamp("2016-12-31"), pd.Timestamp("2015-05-31")]
    assert column.partial.tolist() == [False, True, False, True, True]
    assert column.earliest.tolist()[1] == pd.Timestamp("2015-03-01")
    assert column.records == [
        {"field": "os_months", "column": "ds.DSSTDTC", "part": "end", "missing": "day", "rule": "last", "count": 2,
         "example": "subject 'S2': '2015-03' -> 2015-03-31"},
        {"field": "os_months", "column": "ds.DSSTDTC", "part": "end", "missing": "month and day", "rule": "last", "count": 1,
         "example": "subject 'S4': '2016' -> 2016-12-31"},
    ]


def test_exclude_sets_partial_dates_to_missing_counted():
    column = _read(["2015-03", "2015-03-02", "--03-02"], rule="exclude")
    assert column.values.isna().tolist() == [True, False, True]
    assert [(r["missing"], r["count"], r["rule"]) for r in column.records] == [("day", 1, "exclude"), ("year", 1, "exclude")]
    assert qc_exclusion(column.records[0]) == {
        "stage": "extract", "field": "os_months", "reason": "partial dates in ds.DSSTDTC (day unknown)",
        "action": "set to missing: partial_dates rule exclude", "count": 1}


def test_a_date_with_no_year_cannot_be_imputed():
    with pytest.raises(StudyDataError) as err:
        _read(["2015-03-02", "--03-02"], rule="first")
    assert "1 date(s) in ds.DSSTDTC have no year" in str(err.value) and err.value.example == "subject 'S2' has '--03-02'"
    assert "end: exclude" in err.value.hint


def test_values_that_are_not_dates_stop_with_the_value_and_missing_tokens_are_kept_out():
    with pytest.raises(StudyDataError) as err:
        _read(["2015-03-02", "unknown", "2015-13-01"])
    assert "2 value(s) of ds.DSSTDTC are not dates in format ISO 8601" in str(err.value)
    assert err.value.example == "subject 'S2' has 'unknown'"
    column = _read(["2015-03-02", "unknown"], missing_tokens={"unknown"})
    assert column.values.isna().tolist() == [False, True]


def test_strptime_format_sas_dates_and_python_dates():
    assert _read(["01.02.2016", "29.02.2016"], date_format="%d.%m.%Y").values.tolist() == [
        pd.Timestamp("2016-02-01"), pd.Timestamp("2016-02-29")]
    with pytest.raises(StudyDataError, match="not dates in format %d.%m.%Y"):
        _read(["2016-02-01"], date_format="%d.%m.%Y")
    sas = pd.Series(pd.to_datetime(["2016-02-01 10:00", None]), index=["S1", "S2"])
    column = read_dates(sas, study="T-1", field_name="os_months", column="ds.DT", file="ds.xpt")
    assert column.values.tolist()[0] == pd.Timestamp("2016-02-01") and pd.isna(column.values.tolist()[1])
    assert _read([dt.date(2016, 2, 1)]).values.tolist() == [pd.Timestamp("2016-02-01")]


def _pair(starts, ends, start_rule="first", end_rule="first"):
    index = [f"S{i}" for i in range(1, len(starts) + 1)]
    start = read_dates(pd.Series(starts, index=index, dtype=object), study="T-1", field_name="os_months",
                       column="dm.RFSTDTC", file="dm.csv", rule=start_rule, part="start")
    end = read_dates(pd.Series(ends, index=index, dtype=object), study="T-1", field_name="os_months",
                     column="ds.DSSTDTC", file="ds.csv", rule=end_rule, part="end")
    return duration_days(start, end, study="T-1", field_name="os_months", file="ds.csv")


def test_an_imputed_end_before_the_start_is_set_to_the_start_and_counted():
    # S1 dies "2015-03" after randomization on 2015-03-20: `first` would give 2015-03-01 (19 days
    # before the start); the end can be on or after the start, so it is set to the start (0 days).
    days, start, end, records = _pair(["2015-03-20", "2015-01-01", "2015-03-20"], ["2015-03", "2015-03", "2015-03-25"])
    assert days.tolist() == [0.0, 59.0, 5.0]  # 2015-01-01 -> 2015-03-01: 31 + 28 days
    assert end.tolist()[0] == pd.Timestamp("2015-03-20")
    assert records == [{"field": "os_months", "column": "ds.DSSTDTC", "part": "end", "missing": "ordering",
                        "rule": "end no earlier than start", "count": 1,
                        "example": "subject 'S1': '2015-03' imputed 2015-03-01, before the start 2015-03-20: set to it"}]
    assert qc_exclusion(records[0])["reason"] == "imputed end dates in ds.DSSTDTC before the start date"


def test_an_imputed_start_after_the_end_is_set_to_the_end_and_counted():
    days, start, end, records = _pair(["2015"], ["2015-06-10"], start_rule="last")
    assert days.tolist() == [0.0] and start.tolist() == [pd.Timestamp("2015-06-10")]
    assert [(r["part"], r["rule"], r["count"]) for r in records] == [("start", "start no later than end", 1)]


def test_an_end_before_the_start_whatever_the_missing_part_stops_the_study():
    with pytest.raises(StudyDataError) as err:
        _pair(["2015-03-20", "2016-01-05"], ["2015-04-01", "2015"], end_rule="last")
    assert "1 patient(s) whose end date is before the start date whatever" in str(err.value)
    assert err.value.example == "subject 'S2': start '2016-01-05', end '2015'"


def test_two_complete_dates_in_the_wrong_order_are_left_to_harmonization():
    days, _, _, records = _pair(["2015-03-20"], ["2015-03-01"])
    assert days.tolist() == [-19.0] and records == []  # harmonization stops on the negative time, naming the patient


# ----------------------------------------------------------------------------------------------
# Study days (CDISC: day 1 = the reference day, the day before is day -1, no day 0)


def test_study_day_offsets_skip_day_zero():
    assert [study_day_offset(d) for d in (1, 2, 366, -1, -10)] == [0, 1, 365, -1, -10]
    # randomized 3 days before the first dose (study day -3), event on study day 100:
    # -3 -> -2 -> -1 -> 1 is three days, then 99 more: 102 days.
    assert duration_from_study_days(pd.Series([-3.0, 1.0, -1.0]), pd.Series([100.0, 100.0, 1.0])).tolist() == [102.0, 99.0, 1.0]
    assert duration_from_study_days(1.0, pd.Series([1.0, 31.0])).tolist() == [0.0, 30.0]


def test_study_days_must_be_whole_numbers_and_never_zero():
    raw = pd.Series(["10", "", np.nan, 5.0, "NA"], index=list("abcde"), dtype=object)
    days = read_study_days(raw, study="T-1", field_name="os_months", column="adtte.ADY", file="adtte.csv", missing_tokens={"NA"})
    assert days.tolist()[0] == 10.0 and days.tolist()[3] == 5.0 and days.isna().tolist() == [False, True, True, False, True]
    with pytest.raises(StudyDataError) as err:
        read_study_days(pd.Series(["10", "0"], index=["a", "b"]), study="T-1", field_name="os_months", column="adtte.ADY",
                        file="adtte.csv")
    assert "1 value(s) of adtte.ADY are not study days (day 0, which CDISC study days do not have)" in str(err.value)
    assert err.value.example == "subject 'b' has '0'"
    with pytest.raises(StudyDataError, match="not a whole number"):
        read_study_days(pd.Series(["10.5"], index=["a"]), study="T-1", field_name="os_months", column="adtte.ADY",
                        file="adtte.csv")
