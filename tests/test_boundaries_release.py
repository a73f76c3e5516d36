"""Safe Outputs thresholds on both sides, as tables (release.min_cell_count, default 5).

The rule (her2meta.release, docs/audit.md): a count of people from 1 to min_count - 1 may not
leave the secure environment; 0 and counts from min_count up are shown. Each place that writes a
count to the release zone applies it (suppress_small_counts for the pooled documents and the
report's study table, baseline.fmt_*, integrity.small, flow.masked), and the release check
finds what slipped through (a finding in default mode, a failure in strict mode). Each row is
checked at min_cell_count 5 (the default), 1 and 10: just below, at and above.

Also the row-level-table limits (20 rows with two per-patient measurement columns; more than
500 rows, or 10 per study) and the shortest identifiers the release check searches.
"""

from __future__ import annotations

import pandas as pd
import pytest

from her2meta.baseline import fmt_count, fmt_median_iqr, fmt_n
from her2meta.integrity import small
from her2meta.release import (DEFAULT_MIN_CELL_COUNT, IdentifierIndex, _fraction_findings, _numeric_fields, _table_findings,
                              check_release, max_aggregate_rows, small_cells_in_record, suppress_small_counts)
from her2meta.report import _suppress_study_counts
from her2meta.stages.flow import masked

# (count, min_cell_count, suppressed): 0 is shown (not a small cell), 1 .. min-1 suppressed
COUNTS = [
    pytest.param(0, 5, False, id="0_min5_shown"),
    pytest.param(1, 5, True, id="1_min5_suppressed"),
    pytest.param(4, 5, True, id="4_min5_just_below_suppressed"),
    pytest.param(5, 5, False, id="5_min5_at_minimum_shown"),
    pytest.param(6, 5, False, id="6_min5_shown"),
    pytest.param(0, 1, False, id="0_min1_shown"),
    pytest.param(1, 1, False, id="1_min1_at_minimum_shown"),
    pytest.param(2, 1, False, id="2_min1_shown"),
    pytest.param(0, 10, False, id="0_min10_shown"),
    pytest.param(1, 10, True, id="1_min10_suppressed"),
    pytest.param(9, 10, True, id="9_min10_just_below_suppressed"),
    pytest.param(10, 10, False, id="10_min10_at_minimum_shown"),
    pytest.param(11, 10, False, id="11_min10_shown"),
]


def test_default_minimum_cell_count_is_5():
    """The default of release.min_cell_count (config schema and code agree on 5)."""
    assert DEFAULT_MIN_CELL_COUNT == 5


@pytest.mark.parametrize("count, minimum, suppressed", COUNTS)
def test_suppress_small_counts(count, minimum, suppressed):
    """1 .. min - 1 is replaced and listed (without its value); 0 and min upwards are shown."""
    rows, listed = suppress_small_counts([{"study_id": "A", "n": count}], ["n"], minimum)
    assert rows[0]["n"] == (None if suppressed else count)
    assert listed == ([{"row": 0, "label": "A", "column": "n", "reason": f"below {minimum}"}] if suppressed else [])


@pytest.mark.parametrize("count, minimum, suppressed", [
    pytest.param(0, 5, True, id="0_min5_suppressed_with_include_zero"),
    pytest.param(4, 5, True, id="4_min5_suppressed"),
    pytest.param(5, 5, False, id="5_min5_shown"),
])
def test_suppress_small_counts_with_include_zero(count, minimum, suppressed):
    """include_zero: a 0 is suppressed too (for tables where 0 would reveal something)."""
    rows, _ = suppress_small_counts([{"n": count}], ["n"], minimum, include_zero=True)
    assert rows[0]["n"] == (None if suppressed else count)


PAIRS = [
    # (events, n, shown events, shown n) with min 5: the complement n - events is a cell too
    pytest.param(5, 10, 5, 10, id="complement_5_shown"),
    pytest.param(6, 10, None, 10, id="complement_4_hides_events"),
    pytest.param(5, 9, None, 9, id="events_5_complement_4_hides_events"),
    pytest.param(10, 10, 10, 10, id="complement_0_shown"),
    pytest.param(0, 10, 0, 10, id="events_0_shown"),
    pytest.param(4, 10, None, 10, id="events_4_hidden"),
    pytest.param(0, 4, None, None, id="n_4_hidden_and_its_events_too"),
    pytest.param(0, 5, 0, 5, id="n_5_events_0_complement_5_shown"),
]


@pytest.mark.parametrize("events, n, shown_events, shown_n", PAIRS)
def test_suppress_small_counts_complements(events, n, shown_events, shown_n):
    """events/N: a small N - events would give back the non-events; a hidden N hides its events."""
    rows, _ = suppress_small_counts([{"events": events, "n": n}], ["events", "n"], 5, pairs=[("events", "n")])
    assert (rows[0]["events"], rows[0]["n"]) == (shown_events, shown_n)


@pytest.mark.parametrize("part, total_hidden", [
    pytest.param(4, True, id="part_4_hides_total"),
    pytest.param(5, False, id="part_5_total_shown"),
])
def test_suppressed_part_hides_its_total(part, total_hidden):
    """Secondary suppression: a total with a hidden part would give the part back by subtraction."""
    row = {"n": part + 20, "hr_pos": part, "hr_neg": 20}
    rows, _ = suppress_small_counts([row], ["n", "hr_pos", "hr_neg"], 5, totals={"n": ["hr_pos", "hr_neg"]})
    assert rows[0]["n"] == (None if total_hidden else part + 20)


@pytest.mark.parametrize("count, minimum, suppressed", COUNTS)
def test_release_check_finds_the_cells_the_writers_suppress(count, minimum, suppressed):
    """The release check's rule is the writers' rule: the same rows are small cells."""
    found = small_cells_in_record({"n": count}, minimum)
    assert found == ([("n", count, f"n = {count} < {minimum}")] if suppressed else [])


@pytest.mark.parametrize("count, minimum, suppressed", COUNTS)
@pytest.mark.parametrize("strict", [pytest.param(False, id="default_mode"), pytest.param(True, id="strict")])
def test_release_check_status(tmp_path, count, minimum, suppressed, strict):
    """A small cell in a release-zone table: listed as to be suppressed, or a failure in strict mode."""
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "counts.tsv").write_text(f"label\tn\nA\t{count}\n")
    check = check_release(tmp_path, identifiers=[], min_cell_count=minimum, strict=strict)
    if not suppressed:
        assert check.status == "passed" and check.of_kind("small_cell") == []
    else:
        assert check.status == ("failed" if strict else "passed, with small cells to be suppressed")
        assert [f.value for f in check.of_kind("small_cell")] == [count]


FRACTIONS = [
    # ("events/N" in a report or figure, finding) with min 5
    pytest.param("4/20", "'4/20': 4 < 5", id="events_4_found"),
    pytest.param("5/20", None, id="events_5_clean"),
    pytest.param("16/20", "'16/20': N - events = 4 < 5", id="complement_4_found"),
    pytest.param("15/20", None, id="complement_5_clean"),
    pytest.param("0/20", None, id="events_0_clean"),
    pytest.param("20/20", None, id="complement_0_clean"),
    pytest.param("<5/20", None, id="already_suppressed_clean"),
]


@pytest.mark.parametrize("text, finding", FRACTIONS)
def test_fractions_in_text(text, finding):
    """"events/N" in the report: events or N - events from 1 to min - 1 is a small cell."""
    found = [f.detail for f in _fraction_findings("report.html", "page", f"pCR {text}", 5)]
    assert found == ([finding] if finding else [])


@pytest.mark.parametrize("count, minimum, suppressed", COUNTS)
def test_baseline_table_counts(count, minimum, suppressed):
    """Table 1: 'n (p%)', 0 as '0', a small count as '<min' without its percentage."""
    total = 20
    expected = {
        (0, 5): "0", (1, 5): "<5", (4, 5): "<5", (5, 5): "5 (25.0%)", (6, 5): "6 (30.0%)",
        (0, 1): "0", (1, 1): "1 (5.0%)", (2, 1): "2 (10.0%)",
        (0, 10): "0", (1, 10): "<10", (9, 10): "<10", (10, 10): "10 (50.0%)", (11, 10): "11 (55.0%)",
    }[(count, minimum)]
    assert fmt_count(count, total, minimum) == expected
    assert fmt_n(count, minimum) == (f"<{minimum}" if suppressed else str(count))


@pytest.mark.parametrize("values, minimum, expected", [
    pytest.param([1, 2, 3, 4], 5, "n <5", id="4_values_min5_not_shown"),
    pytest.param([1, 2, 3, 4, 5], 5, "3 (2-4)", id="5_values_min5_shown"),
    pytest.param([7], 1, "7 (7-7)", id="1_value_min1_shown"),
    pytest.param(list(range(1, 10)), 10, "n <10", id="9_values_min10_not_shown"),
    pytest.param(list(range(1, 11)), 10, "5.5 (3.2-7.8)", id="10_values_min10_shown"),
])
def test_baseline_median_from_too_few_patients_is_not_shown(values, minimum, expected):
    """A median (IQR) from fewer than min patients is close to their values: not shown."""
    assert fmt_median_iqr(pd.Series(values), minimum) == expected


@pytest.mark.parametrize("count, minimum, suppressed", COUNTS)
def test_integrity_and_flow_counts(count, minimum, suppressed):
    """Integrity table and flow diagram: a small count as "<min", others as they are."""
    shown = f"<{minimum}" if suppressed else count
    assert small(count, minimum) == shown
    assert masked(count, minimum) == shown


def _study_row(excluded: str) -> dict:
    return {"study_id": "S", "rows_in": 400, "n": 300, "hr_pos": 150, "hr_neg": 140, "hr_unknown": 10,
            "excluded": excluded}


@pytest.mark.parametrize("excluded, minimum, expected", [
    pytest.param("4 withdrew; 5 ineligible", 5, "<5 withdrew; 5 ineligible", id="min5_4_hidden_5_shown"),
    pytest.param("6 withdrew; 12 ineligible", 5, "6 withdrew; 12 ineligible", id="min5_6_and_12_shown"),
    pytest.param("1 withdrew; 2 ineligible", 1, "1 withdrew; 2 ineligible", id="min1_all_shown"),
    pytest.param("9 withdrew; 10 ineligible; 11 other", 10, "<10 withdrew; 10 ineligible; 11 other", id="min10_9_hidden"),
    pytest.param("10 withdrew; 11 ineligible; 12 other", 11, "<11 withdrew; 11 ineligible; 12 other",
                 id="min11_two_digit_count_hidden"),
    pytest.param("19 withdrew; 20 ineligible", 20, "<20 withdrew; 20 ineligible", id="min20_19_hidden"),
    pytest.param("3 RANDDT after 2016-06-30 (cut-off 2 years)", 50, "<50 RANDDT after 2016-06-30 (cut-off 2 years)",
                 id="min50_only_the_count_not_numbers_in_the_reason"),
])
def test_report_study_table_excluded_counts(excluded, minimum, expected):
    """The report's per-study 'excluded' text: each leading count below the minimum is '<min'."""
    assert _suppress_study_counts([_study_row(excluded)], minimum)[0]["excluded"] == expected


# ----------------------------------------------------------------------------------------------
# Row-level tables and identifiers (release.py)

@pytest.mark.parametrize("rows, row_level", [
    pytest.param(19, False, id="19_rows_aggregate"),
    pytest.param(20, True, id="20_rows_row_level"),
])
def test_tables_with_per_patient_measurements(rows, row_level):
    """Two per-patient measurement columns (age_years, er_percent) in 20 rows or more: row-level."""
    found = _table_findings("t.tsv", "table", ["age_years", "er_percent"], [["50", "10"]] * rows, _numeric_fields())
    assert [f.kind for f in found] == (["row_level_table"] if row_level else [])


@pytest.mark.parametrize("rows, studies, row_level", [
    pytest.param(500, 0, False, id="500_rows_aggregate"),
    pytest.param(501, 0, True, id="501_rows_row_level"),
    pytest.param(510, 51, False, id="510_rows_51_studies_aggregate"),
    pytest.param(511, 51, True, id="511_rows_51_studies_row_level"),
    pytest.param(501, 50, True, id="501_rows_50_studies_row_level"),
])
def test_tables_with_more_rows_than_any_aggregate(rows, studies, row_level):
    """More than 500 rows (10 per study above 50 studies) is not an aggregate table of this workflow."""
    limit = max_aggregate_rows(studies)
    found = _table_findings("t.tsv", "table", ["label", "value"], [["x", "1"]] * rows, set(), limit)
    assert [f.kind for f in found] == (["row_level_table"] if row_level else [])


@pytest.mark.parametrize("identifier, searched", [
    pytest.param("12345", False, id="5_digits_not_searched"),
    pytest.param("123456", True, id="6_digits_searched"),
    pytest.param("ABC", False, id="3_characters_not_searched"),
    pytest.param("ABCD", True, id="4_characters_searched"),
])
def test_shortest_identifiers_searched(identifier, searched):
    """Numeric identifiers from 6 digits and others from 4 characters are searched (shorter ones match counts)."""
    index = IdentifierIndex([identifier])
    assert (len(index), index.not_searched) == ((1, 0) if searched else (0, 1))
    assert bool(index.find(f"row {identifier} here")) is searched
