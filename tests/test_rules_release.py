"""Safe Outputs rules, one by one (her2meta.release, docs/audit.md "The release check").

What counts as a count of people, which columns and keys are scanned, the complement N - events
of a pair, the totals that would give a suppressed part back, where identifiers are matched, which
files are in the release zone, and the exact text of the summary and manifest a reviewer reads.
Expected values are worked out by hand from the rules. Unit level: no Snakemake. The rules at
the end of the file are the ones the mutation run of issue 18 showed untested.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from base64 import b64encode
from pathlib import Path

import pandas as pd
import pytest

from her2meta.release import (
    MAX_AGGREGATE_ROWS,
    Finding,
    IdentifierIndex,
    ReleaseCheck,
    _as_count,
    _context,
    _fraction_findings,
    _html_findings,
    _json_row_level,
    _json_small_cells,
    _label_of,
    _norm,
    _numeric_fields,
    _pairs,
    _read_table,
    _table_findings,
    check_release,
    file_texts,
    is_count_name,
    load_identifiers,
    png_text,
    release_files,
    small_cells_in_record,
    suppress_small_counts,
    svg_strings,
    write_manifest,
)

NUMERIC = _numeric_fields()


# ---------------------------------------------------------------------------------------------
# What counts as a count of people

@pytest.mark.parametrize("name", ["n", "N", "events", "Events", "count", "responders", "cases", "rows_in", "rows_out",
                                  "n_exposed", "events_reference", "hr_pos_n", "total_count", "arm_events",
                                  "excluded_missing_outcome", "missing_excluded"])
def test_count_names(name):
    """Columns and keys that count people (n, events, n_*, events_*, *_n, *_count, excluded_*, ...)."""
    assert is_count_name(name) is True


@pytest.mark.parametrize("name", ["estimate", "rows", "n_", "nn", "ncount", "k", "published_n", "n_studies", "study_n",
                                  "n_files", "n_file", "n_models", "n_model", "n_methods", "n_method", "n_df", "events_"])
def test_names_that_are_not_counts_of_people(name):
    """Numbers of studies, files, models and methods, degrees of freedom, published counts and
    names that only start like a count are not counts of people."""
    assert is_count_name(name) is False


@pytest.mark.parametrize("value, count", [
    (3, 3), (0, 0), (3.0, 3), (3.5, None), ("3", 3), (" 12 ", 12), ("3.0", None), ("-3", None), ("", None),
    (None, None), (True, None), (False, None), ([3], None),
])
def test_what_value_is_a_count(value, count):
    """A count is a whole number: an int, a float without fraction, or a string of digits; a
    boolean is not a count."""
    assert _as_count(value) == count


@pytest.mark.parametrize("names, pairs", [
    (["events", "n"], [("events", "n")]),
    (["Events", "n"], [("Events", "n")]),
    (["events", "N"], []),
    (["events_exposed", "n_exposed"], [("events_exposed", "n_exposed")]),
    (["EVENTS_x", "n_x"], [("EVENTS_x", "n_x")]),
    (["arm_events", "arm_n"], [("arm_events", "arm_n")]),
    (["arm_EVENTS", "arm_n"], [("arm_EVENTS", "arm_n")]),
    (["events_a", "n_b"], []),
    (["b_events", "b_n", "events", "n", "events_a", "n_a"], [("b_events", "b_n"), ("events", "n"), ("events_a", "n_a")]),
])
def test_events_n_pairs(names, pairs):
    """An events column and its N: events/n, events_x/n_x, x_events/x_n (events matched in any case)."""
    assert _pairs(names) == pairs


def test_small_cells_in_a_record_count_columns_and_complements():
    """A count from 1 to min - 1 is a small cell, and so is N - events of a pair; strings of digits
    are counts; keys that are not strings are not count names."""
    assert small_cells_in_record({"n": 10, "events": 7}, 5) == [("n - events", 3, "n - events = 3 < 5")]
    assert small_cells_in_record({"n": "3", 1: 2, "label": 2}, 5) == [("n", 3, "n = 3 < 5")]
    assert small_cells_in_record({"events_a": 1, "n_a": 2}, 5) == [
        ("events_a", 1, "events_a = 1 < 5"), ("n_a", 2, "n_a = 2 < 5"), ("n_a - events_a", 1, "n_a - events_a = 1 < 5")]
    # N below events is no complement (a record of something else)
    assert small_cells_in_record({"n": 8, "events": 10}, 5) == []
    assert small_cells_in_record({"n": 10, "events": "x"}, 5) == []
    assert small_cells_in_record({"n": 10, "events": 10}, 5) == []
    assert small_cells_in_record({"n": 9, "events": 5}, 5) == [("n - events", 4, "n - events = 4 < 5")]
    assert small_cells_in_record({"n": 10, "events": 5}, 5) == []


def test_small_cells_in_a_record_with_zero():
    """include_zero: 0 and a complement of 0 are small cells too."""
    assert small_cells_in_record({"n": 0}, 5, include_zero=True) == [("n", 0, "n = 0 < 5")]
    assert small_cells_in_record({"n": 10, "events": 10}, 5, include_zero=True) == [
        ("n - events", 0, "n - events = 0 < 5")]
    assert small_cells_in_record({"n": 0}, 5) == []


@pytest.mark.parametrize("record, label", [
    ({"label": "L", "study_id": "S"}, "study_id=S"),
    ({"study_id": "", "label": "L"}, "label=L"),
    ({"study_id": None, "subgroup": "G", "method": "M"}, "subgroup=G"),
    ({"method": "REML"}, "method=REML"),
    ({"study_id": 0}, "study_id=0"),
    ({"other": "x"}, ""),
])
def test_row_label_of_a_finding(record, label):
    """A finding names its row by study_id, else label, subgroup or method (the first not empty)."""
    assert _label_of(record) == label


# ---------------------------------------------------------------------------------------------
# Suppression: cells, complements, totals

def test_suppression_defaults_min_5_none_and_study_id_label():
    """Defaults: minimum 5, suppressed cells become None, rows are labelled by study_id."""
    rows, listed = suppress_small_counts([{"study_id": "A", "n": 4, "m": 5}, {"study_id": "B", "n": 5}], ["n", "m"])
    assert rows == [{"study_id": "A", "n": None, "m": 5}, {"study_id": "B", "n": 5}]
    assert listed == [{"row": 0, "label": "A", "column": "n", "reason": "below 5"}]


def test_suppression_placeholder_and_label_column():
    rows, listed = suppress_small_counts([{"arm": "x", "n": 10}, {"arm": "y", "n": 2, "note": "kept"}], ["n"], 5,
                                         placeholder="<5", label_column="arm")
    assert rows == [{"arm": "x", "n": 10}, {"arm": "y", "n": "<5", "note": "kept"}]
    assert listed == [{"row": 1, "label": "y", "column": "n", "reason": "below 5"}]
    _, listed = suppress_small_counts([{"n": 2}], ["n"], 5, label_column="arm")
    assert listed == [{"row": 0, "label": None, "column": "n", "reason": "below 5"}]


def test_suppression_of_events_whose_complement_is_small():
    """events/N: N - events from 1 to min - 1 gives the non-events back: events is suppressed."""
    rows, listed = suppress_small_counts([{"events": 7, "n": 10}], ["events", "n"], 5, pairs=[("events", "n")])
    assert rows == [{"events": None, "n": 10}]
    assert listed == [{"row": 0, "label": None, "column": "events", "reason": "n - events below 5"}]


def test_suppression_keeps_the_first_reason_for_an_events_count():
    """An events count small in itself is listed once, for being small."""
    rows, listed = suppress_small_counts([{"events": 3, "n": 6}], ["events", "n"], 5, pairs=[("events", "n")])
    assert rows == [{"events": None, "n": 6}]
    assert listed == [{"row": 0, "label": None, "column": "events", "reason": "below 5"}]


def test_suppression_of_events_whose_denominator_is_suppressed():
    """A suppressed N hides its events too (events = N would give N back)."""
    rows, listed = suppress_small_counts([{"events": 3, "n": 3}], ["n"], 5, pairs=[("events", "n")])
    assert rows == [{"events": None, "n": None}]
    assert listed == [{"row": 0, "label": None, "column": "n", "reason": "below 5"},
                      {"row": 0, "label": None, "column": "events", "reason": "its denominator n is suppressed"}]


def test_suppression_pairs_with_a_missing_value_are_skipped():
    rows, listed = suppress_small_counts([{"events": None, "n": 3}, {"events": 7}], [], 5, pairs=[("events", "n")])
    assert rows == [{"events": None, "n": 3}, {"events": 7}] and listed == []


def test_suppression_complement_zero_with_include_zero():
    rows, listed = suppress_small_counts([{"events": 10, "n": 10}], [], 5, pairs=[("events", "n")], include_zero=True)
    assert rows == [{"events": None, "n": 10}]
    assert listed == [{"row": 0, "label": None, "column": "events", "reason": "n - events below 5"}]
    rows, _ = suppress_small_counts([{"events": 10, "n": 10}], [], 5, pairs=[("events", "n")])
    assert rows == [{"events": 10, "n": 10}]


def test_suppression_of_totals_of_totals():
    """A total with a suppressed part is suppressed, and so is a total of that total, whatever
    order the totals are given in."""
    row = {"a": 2, "b": 30, "c": 40, "sub": 32, "grand": 72}
    rows, listed = suppress_small_counts([row], ["a", "b", "c"], 5, totals={"grand": ["sub", "c"], "sub": ["a", "b"]})
    assert rows == [{"a": None, "b": 30, "c": 40, "sub": None, "grand": None}]
    assert listed == [{"row": 0, "label": None, "column": "a", "reason": "below 5"},
                      {"row": 0, "label": None, "column": "sub", "reason": "a part (a) is suppressed"},
                      {"row": 0, "label": None, "column": "grand", "reason": "a part (sub) is suppressed"}]


def test_suppression_of_a_total_names_every_suppressed_part_in_order():
    rows, listed = suppress_small_counts([{"x": 1, "y": 20, "z": 3, "t": 24}], ["z", "y", "x"], 5,
                                         totals={"t": ["x", "y", "z"]})
    assert rows == [{"x": None, "y": 20, "z": None, "t": None}]
    assert [e["reason"] for e in listed] == ["below 5", "below 5", "a part (x, z) is suppressed"]
    assert [e["column"] for e in listed] == ["z", "x", "t"]


def test_suppression_total_absent_from_the_row_is_not_added_and_a_hidden_total_keeps_its_reason():
    rows, listed = suppress_small_counts([{"a": 2}], ["a"], 5, totals={"t": ["a"]})
    assert rows == [{"a": None}] and [e["column"] for e in listed] == ["a"]
    rows, listed = suppress_small_counts([{"a": 2, "t": 3}], ["a", "t"], 5, totals={"t": ["a"]})
    assert rows == [{"a": None, "t": None}]
    assert [(e["column"], e["reason"]) for e in listed] == [("a", "below 5"), ("t", "below 5")]
    rows, listed = suppress_small_counts([{"a": 20, "t": 30}], ["a"], 5, totals={"t": ["a"]})
    assert rows == [{"a": 20, "t": 30}] and listed == []


# ---------------------------------------------------------------------------------------------
# "events/N" fractions in the report and figures

def test_fraction_findings_where_detail_and_value():
    """A fraction is named by the nearest line with a word before it; whitespace is shown collapsed."""
    text = "Study NeoSphere\n12\npCR 3/20 and 17 /\n20"
    found = _fraction_findings("report/index.html", "page", text, 5)
    assert [(f.kind, f.file, f.where, f.detail, f.value) for f in found] == [
        ("small_cell", "report/index.html", "page, after 'pCR'", "'3/20': 3 < 5", 3),
        ("small_cell", "report/index.html", "page, after 'pCR 3/20 and'", "'17 / 20': N - events = 3 < 5", 3),
    ]


def test_fraction_findings_without_a_place_or_label():
    assert [(f.where, f.detail) for f in _fraction_findings("f.svg", "", "1/9", 5)] == [("", "'1/9': 1 < 5")]
    assert [(f.where, f.detail) for f in _fraction_findings("f.svg", "", "ORR\n1/9", 5)] == [
        ("after 'ORR'", "'1/9': 1 < 5")]


@pytest.mark.parametrize("text, found", [
    ("x <3/20", []),
    ("x &lt;3/20", []),
    ("30/20", []),
    ("a3/20", []),
    ("1.3/20", []),
    ("1/3/20", []),
    ("3/20.5", []),
    ("3/20a", []),
    ("3/20.", ["'3/20': 3 < 5"]),
    ("(3/20)", ["'3/20': 3 < 5"]),
    ("4/6", ["'4/6': 4 < 5"]),
    ("3/3", ["'3/3': 3 < 5"]),
    ("<3/20", []),
    ("<\n3/20", ["'3/20': 3 < 5"]),  # events small and N - events small: one finding
])
def test_what_is_read_as_a_fraction(text, found):
    """An "events/N" stands alone: not inside a word, a decimal, a date or a longer fraction, not
    after "<" (already suppressed), and events not above N."""
    assert [f.detail for f in _fraction_findings("r.html", "page", text, 5)] == found


def test_fractions_with_zero():
    assert [f.detail for f in _fraction_findings("r.html", "", "0/20 20/20", 5, include_zero=True)] == [
        "'0/20': 0 < 5", "'20/20': N - events = 0 < 5"]


def test_context_is_the_nearest_line_with_a_word_within_12_lines():
    assert _context("Header line\n" + "1\n" * 11 + "3/20", 12 + 22) == "Header line"
    assert _context("Header line\n" + "1\n" * 12 + "3/20", 12 + 24) == ""
    assert _context("  " + "A" * 70 + "\n3/20", 73) == "A" * 60
    assert _context("ab 1\n3/20", 5) == ""


# ---------------------------------------------------------------------------------------------
# Tables and JSON records

def test_html_count_columns_and_fractions():
    html = ("<table><tr><th>Study</th><th>N</th><th>HR+</th><th>Estimate</th><th>Patients left out</th></tr>"
            "<tr><td>S1</td><td>3</td><td>12 (40%)</td><td>2</td><td>1 withdrew; 2.5</td></tr></table>"
            "<table><tr><th>Group</th><th>Responders</th></tr><tr><td>A</td><td>2/19</td></tr></table>")
    found = _html_findings("report/index.html", "page", html, 5, NUMERIC)
    assert [(f.where, f.detail, f.value) for f in found] == [
        ("page, table 1, row 1 (S1), column 'N'", "3 < 5", 3),
        ("page, table 1, row 1 (S1), column 'Patients left out'", "1 < 5", 1),
        ("page, after 'Responders'", "'2/19': 2 < 5", 2),
    ]


@pytest.mark.parametrize("header, counted", [
    ("N", True), ("count", True), ("Events", True), ("responders", True), ("HR+", True), ("HR-", True),
    ("HR unknown", True), ("Rows delivered", True), ("Patients randomised", True), ("Excluded (reason)", True),
    ("Arm A (n)", True), ("Estimate", False), ("HR", False), ("Study", False), ("n total", False), ("", False),
])
def test_html_count_headers(header, counted):
    """Report tables: a number below the minimum in a count column (N, HR+, Patients ..., (n)) is a small cell."""
    html = f"<table><tr><th>Study</th><th>{header}</th></tr><tr><td>S</td><td>3</td></tr></table>"
    found = [f.detail for f in _html_findings("r.html", "", html, 5, NUMERIC)]
    assert found == (["3 < 5"] if counted else [])


def test_html_table_header_is_the_first_row_of_header_cells():
    html = "<table></table><table><tr></tr><tr><th> N\n</th></tr><tr><td>3</td></tr></table>"
    assert [(f.where, f.detail) for f in _html_findings("r.html", "", html, 5, NUMERIC)] == [
        ("table 2, row 2 (3), column 'N'", "3 < 5")]
    no_header = "<table><tr><td>N</td></tr><tr><td>3</td></tr></table>"
    assert _html_findings("r.html", "", no_header, 5, NUMERIC) == []


def test_html_table_with_an_identifier_column_is_row_level():
    html = "<table><tr><th>Patient ID</th><th>N</th></tr><tr><td>x</td><td>7</td></tr></table>"
    found = _html_findings("r.html", "page", html, 5, NUMERIC)
    assert [(f.kind, f.where, f.detail) for f in found] == [
        ("row_level_table", "page, table 1", "identifier column 'Patient ID': one row per participant")]


def test_json_small_cells_where():
    document = {"n_total": 2, "studies": [{"study_id": "S", "n": 3}, {"n": 10}], "a": {"b": {"events": 1}}}
    found = _json_small_cells("pooled/x.json", document, 5)
    assert [(f.kind, f.file, f.where, f.detail, f.value) for f in found] == [
        ("small_cell", "pooled/x.json", "top level", "n_total = 2 < 5", 2),
        ("small_cell", "pooled/x.json", "studies[0] (study_id=S)", "n = 3 < 5", 3),
        ("small_cell", "pooled/x.json", "a.b", "events = 1 < 5", 1),
    ]


def test_table_row_level_rules_and_their_details():
    """An identifier column; two per-patient measurement columns in 20 rows; more rows than any aggregate."""
    found = _table_findings("t.tsv", "table", ["Study", "Patient ID"], [["S", "x"]], NUMERIC)
    assert [(f.kind, f.file, f.where, f.detail) for f in found] == [
        ("row_level_table", "t.tsv", "table", "identifier column 'Patient ID': one row per participant")]
    header = ["age_years", "efs_months", "label", "er_percent", "pr_percent", "os_months"]
    found = _table_findings("t.tsv", "table", header, [["1"] * 6] * 20, NUMERIC)
    assert [f.detail for f in found] == [
        "20 rows with per-patient measurement columns age_years, efs_months, er_percent, pr_percent"]
    assert _table_findings("t.tsv", "table", ["age_years", "label"], [["1", "x"]] * 20, NUMERIC) == []
    found = _table_findings("t.tsv", "table", ["x"], [["1"]] * (MAX_AGGREGATE_ROWS + 1), NUMERIC)
    assert [f.detail for f in found] == ["501 rows: more than any aggregate table (500)"]
    assert _table_findings("t.tsv", "table", ["x"], [["1"]] * MAX_AGGREGATE_ROWS, NUMERIC) == []


@pytest.mark.parametrize("name, norm", [("Patient ID", "patient_id"), (" USUBJID ", "usubjid"), ("pat-id", "pat_id"),
                                        ("__subject__", "subject")])
def test_column_names_are_compared_normalised(name, norm):
    assert _norm(name) == norm


def test_json_row_level_rules_and_their_places():
    found = _json_row_level("r.json", {"rows": [{"Patient ID": "x"}]}, NUMERIC)
    assert [(f.kind, f.where, f.detail) for f in found] == [
        ("row_level_table", "rows[0]", "a record with identifier key 'Patient ID'")]
    assert [f.where for f in _json_row_level("r.json", {"USUBJID": 1}, NUMERIC)] == ["top level"]
    measured = [{"age_years": 50, "efs_months": i} for i in range(20)]
    found = _json_row_level("r.json", {"a": {"b": measured}}, NUMERIC)
    assert [(f.where, f.detail) for f in found] == [("a.b", "20 records with per-patient measurement keys")]
    assert _json_row_level("r.json", measured[:19], NUMERIC) == []
    assert _json_row_level("r.json", [{"age_years": 50}] * 20, NUMERIC) == []
    found = _json_row_level("r.json", [{"x": 1}] * 501, NUMERIC)
    assert [(f.where, f.detail) for f in found] == [("", "501 records: more than any aggregate table (500)")]
    assert _json_row_level("r.json", [{"x": 1}] * 500, NUMERIC) == []
    assert _json_row_level("r.json", list(range(501)), NUMERIC) == []
    found = _json_row_level("r.json", [{"x": 1}] * 11, NUMERIC, max_rows=10)
    assert [f.detail for f in found] == ["11 records: more than any aggregate table (10)"]


def test_read_table():
    assert _read_table("", ",") == ([], [])
    assert _read_table("a\tb\n1\t2\n", "\t") == (["a", "b"], [["1", "2"]])


# ---------------------------------------------------------------------------------------------
# Identifiers

def test_identifiers_are_read_from_the_harmonized_data(tmp_path):
    """Every non-empty value of the identifier column, as text; a file that is not such a table
    raises, or is named in `skipped` when asked."""
    pd.DataFrame({"patient_id": ["SIM-0001", None, "  ", " SIM-0003 "]}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"patient_id": [123456, 234567], "usubjid": ["U-1", "U-2"]}).to_parquet(tmp_path / "b.parquet")
    assert load_identifiers([tmp_path / "a.parquet", tmp_path / "b.parquet"]) == {"SIM-0001", " SIM-0003 ", "123456", "234567"}
    assert load_identifiers([tmp_path / "b.parquet"], column="usubjid") == {"U-1", "U-2"}
    bad = tmp_path / "FAILED.parquet"
    bad.write_text("a failed study's marker")
    with pytest.raises(Exception) as raised:
        load_identifiers([bad])
    skipped: list[str] = []
    assert load_identifiers([bad, tmp_path / "a.parquet"], skipped=skipped) == {"SIM-0001", " SIM-0003 "}
    assert skipped == [f"{bad}: {type(raised.value).__name__}"]


def test_identifier_index_strips_punctuation_and_reports_the_identifier_as_given():
    index = IdentifierIndex([" #SIM-1234# ", "----", "SIM-NEO-0001"])
    assert len(index) == 2 and index.not_searched == 1
    assert index.find("x #sim-1234# y") == [(" #SIM-1234# ", 3)]
    assert index.find("a SIM-NEO-0001 b") == [("SIM-NEO-0001", 2)]
    assert index.find("SIM-NEO-0002") == []
    assert IdentifierIndex([]).find("anything") == []


def test_identifier_contained_in_a_longer_one_matches_both():
    index = IdentifierIndex(["SIM-0001", "SIM-0001-A"])
    assert sorted(index.find("SIM-0001-A")) == [("SIM-0001", 0), ("SIM-0001-A", 0)]
    assert sorted(index._find_walking_every_run("sim-0001-a")) == [("SIM-0001", 0), ("SIM-0001-A", 0)]


@pytest.mark.parametrize("text, found", [
    ("ends with 123456", True),
    ("sentence 123456.", True),
    ("list 123456, 7", True),
    ("id 123456.x", True),
    ("p 0.123456", False),
    ("p 0,123456", False),
    ("v 123456.5 mg", False),
    ("v 123456,5 mg", False),
    (".123456 x", False),
    ("123456 is at the start of a sentence.", True),
])
def test_numeric_identifier_is_not_matched_inside_a_decimal(text, found):
    """A numeric identifier matches as a whole token, also at the very start or end of a text,
    but not as digits of a decimal number (0.123456, 123456.5, with a point or a comma)."""
    index = IdentifierIndex(["123456"])
    assert bool(index.find(text)) is found
    assert bool(index._find_walking_every_run(text.lower())) is found


def test_numeric_identifier_at_the_start_of_a_text_is_found():
    """Nothing stands before an identifier at offset 0, so it is not inside a decimal: a figure
    whose first text is a numeric patient number, or a one-line file of it, must fail the check
    (before the fix, the empty string before it was taken for a decimal point)."""
    index = IdentifierIndex(["123456"])
    assert index.find("123456 at the start") == [("123456", 0)]
    assert index._find_walking_every_run("123456") == [("123456", 0)]


def test_many_identifier_first_runs_take_the_plain_walk_with_the_same_hits():
    """More than 32 distinct first runs in one text: every occurrence is still found, in order."""
    identifiers = [f"{100000 + i}-A" for i in range(40)]
    index = IdentifierIndex(identifiers)
    text = " ".join(identifiers)
    assert index.find(text) == [(ident, 9 * i) for i, ident in enumerate(identifiers)]
    assert index.find(" ".join(identifiers[:3])) == [(ident, 9 * i) for i, ident in enumerate(identifiers[:3])]


# ---------------------------------------------------------------------------------------------
# Text of a file

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_png_text_chunks_of_every_kind():
    """tEXt (latin-1), zTXt (compressed latin-1), iTXt (UTF-8, compressed or not); an unreadable
    chunk is named; nothing after IEND is read; other chunks carry no text."""
    png = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", b"\0" * 13) + _chunk(b"tEXt", b"Title\0caf\xe9")
           + _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"zipped"))
           + _chunk(b"iTXt", b"Plain\0\0\0en\0Titre\0caf\xc3\xa9")
           + _chunk(b"iTXt", b"Packed\0\1\0\0\0" + zlib.compress("é 2".encode()))
           + _chunk(b"zTXt", b"Bad\0\0not zlib") + _chunk(b"iTXt", b"Short\0")
           + _chunk(b"IEND", b"") + _chunk(b"tEXt", b"After\0end"))
    assert png_text(png).splitlines() == ["Title: café", "Comment: zipped", "Plain: café", "Packed: é 2",
                                          "(unreadable zTXt chunk)", "(unreadable iTXt chunk)"]
    assert png_text(b"\x89PNG\r\n\x1a\n") == ""


def test_svg_strings_are_comments_and_text_elements_in_order():
    svg = ('<svg><!-- first --><text x="1">a <tspan>b</tspan></text><!--   --><text>\n c \n</text>'
           '<!--multi\nline--></svg>')
    assert svg_strings(svg) == "first\na b\nc\nmulti\nline"


def test_file_texts_by_kind(tmp_path):
    """HTML pages are scanned without their data URIs, and each embedded figure decoded (SVG as a
    figure, other types as text); SVG, JSON, TSV/CSV and other files as what they are."""
    svg = b64encode(b"<svg><text>1/9</text></svg>").decode()
    plain = b64encode(b"SIM-0001").decode()
    page = (f'<img src="data:image/svg+xml;base64,{svg}"><img src="data:image/png;base64,abc">'
            f'<img src="data:text/plain;base64,{plain}">')
    (tmp_path / "r.HTM").write_text(page)
    assert file_texts(tmp_path / "r.HTM") == [
        ("page", "html", '<img src="data:removed"><img src="data:removed"><img src="data:removed">'),
        ("embedded figure 1", "svg", "<svg><text>1/9</text></svg>"),
        ("embedded figure 3", "text", "SIM-0001"),
    ]
    for name, kind in [("f.svg", "svg"), ("d.JSON", "json"), ("t.tsv", "table"), ("t.csv", "table"), ("n.txt", "text")]:
        (tmp_path / name).write_text("x")
        assert file_texts(tmp_path / name) == [("figure" if kind == "svg" else "", kind, "x")]
    (tmp_path / "p.png").write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"tEXt", b"K\0v"))
    assert file_texts(tmp_path / "p.png") == [("PNG text chunks", "text", "K: v")]


# ---------------------------------------------------------------------------------------------
# The check over a results folder

def _write(results: Path, relative: str, content: str | bytes) -> None:
    path = results / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def test_release_zone_files(tmp_path):
    """The release zone: everything under results/ except the secure folders, the simulation
    zone, hidden files and the files written by or after the release check."""
    out = [".hidden", "extracted/x", "harmonized/x", "estimates/x", "pipeline_info/release_manifest.json",
           "pipeline_info/release_manifest.sha256", "ro-crate-metadata.json", "pipeline_info/workflow/Snakefile",
           "provenance/pipeline_info/release_manifest.json.json", "provenance/ro-crate-metadata.json.json",
           "provenance/pipeline_info/workflow/Snakefile.json", "simulation/x.csv", "provenance/simulation/x.csv.json",
           "pooled/.a.tsv.tmp"]
    kept = ["extracted_notes/x", "pipeline_info/run_manifest.json", "pooled/a.tsv", "provenance/pooled/a.tsv.json",
            "simulation_notes/x"]
    for name in out + kept:
        _write(tmp_path, name, "x")
    (tmp_path / "dir.json").mkdir()
    assert [p.relative_to(tmp_path).as_posix() for p in release_files(tmp_path)] == sorted(kept)


def test_scan_of_each_kind_of_file(tmp_path):
    _write(tmp_path, "pooled/a.csv", "label,n\nA,3\nB,30\n")
    _write(tmp_path, "pooled/b.tsv", "label\tn\nA\t30\nB\t2\n")
    _write(tmp_path, "pooled/tabs.csv", "label\tn\nA\t3\n")  # one column "label\tn": no count column
    _write(tmp_path, "pooled/c.json", json.dumps({"n": 4}))
    _write(tmp_path, "provenance/pooled/c.json.json", json.dumps({"n": 4}))
    _write(tmp_path, "pipeline_info/run.json", json.dumps({"n": 4}))
    _write(tmp_path, "pooled/bad.json", "{not json SIM-0001")
    _write(tmp_path, "pooled/x.XPT", "")
    _write(tmp_path, "figures/f.svg", "<svg>\n<text>1/9</text></svg>")
    _write(tmp_path, "figures/alone.png", b"\x89PNG\r\n\x1a\n")
    _write(tmp_path, "figures/f.png", b"\x89PNG\r\n\x1a\n")
    _write(tmp_path, "report/r.html", "<p>ORR</p><p>2/19</p>")
    _write(tmp_path, "notes/n.txt", "a\nb\nSIM-0001\n")
    check = check_release(tmp_path, identifiers=["SIM-0001"])
    found = [(f.kind, f.file, f.where, f.detail, f.value) for f in check.findings]
    identifier = "patient identifier 'SIM-0001' of the harmonized data"
    assert found == [
        ("note", "figures/alone.png", "file", "PNG pixels are not scanned and there is no SVG twin to scan", None),
        ("small_cell", "figures/f.svg", "figure", "'1/9': 1 < 5", 1),
        ("patient_identifier", "notes/n.txt", "line 3", identifier, "SIM-0001"),
        ("small_cell", "pooled/a.csv", "row 1 (label=A)", "n = 3 < 5", 3),
        ("small_cell", "pooled/b.tsv", "row 2 (label=B)", "n = 2 < 5", 2),
        ("patient_identifier", "pooled/bad.json", "line 1", identifier, "SIM-0001"),
        ("small_cell", "pooled/c.json", "top level", "n = 4 < 5", 4),
        ("row_level_table", "pooled/x.XPT", "file", ".xpt is a participant-level data format", None),
        ("small_cell", "report/r.html", "page, after 'ORR'", "'2/19': 2 < 5", 2),
    ]


def test_identifier_places_in_a_figure_and_in_an_embedded_figure(tmp_path):
    figure = "<svg>\n<text>x</text>\n<text>SIM-0001</text></svg>"
    _write(tmp_path, "figures/f.svg", figure)
    _write(tmp_path, "report/r.html", f'<p>\n</p><img src="data:image/svg+xml;base64,{b64encode(figure.encode()).decode()}">')
    check = check_release(tmp_path, identifiers=["SIM-0001"])
    assert [(f.file, f.where) for f in check.findings] == [("figures/f.svg", "figure, line 3"),
                                                           ("report/r.html", "embedded figure 1, line 3")]


def test_row_level_json_in_the_release_zone_and_in_provenance(tmp_path):
    """Identifier keys fail the check wherever they are, provenance records included."""
    _write(tmp_path, "provenance/x.json", json.dumps({"rows": [{"patient_id": "p"}]}))
    check = check_release(tmp_path, identifiers=[])
    assert [(f.kind, f.file, f.where) for f in check.findings] == [("row_level_table", "provenance/x.json", "rows[0]")]
    assert check.status == "failed"


def test_row_limit_follows_the_number_of_studies(tmp_path):
    _write(tmp_path, "pooled/t.tsv", "x\n" + "1\n" * 510)
    assert [f.detail for f in check_release(tmp_path, identifiers=[], studies=51).findings] == []
    assert [f.detail for f in check_release(tmp_path, identifiers=[], studies=50).findings] == [
        "510 rows: more than any aggregate table (500)"]
    _write(tmp_path, "pooled/t.json", json.dumps([{"x": 1}] * 511))
    assert [f.detail for f in check_release(tmp_path, identifiers=[], studies=51).findings] == [
        "511 records: more than any aggregate table (510)"]


def test_check_records_files_identifier_counts_and_settings(tmp_path):
    _write(tmp_path, "pooled/a.tsv", "x\n1\n")
    check = check_release(tmp_path, identifiers=["SIM-0001", "SIM-0001", "7", "SIM-0002"], min_cell_count=5.0, strict=1,
                          identifier_sources=[{"path": "h.parquet", "sha256": "ab"}])
    assert check.files == [{"path": "pooled/a.tsv", "sha256": hashlib.sha256(b"x\n1\n").hexdigest(), "bytes": 4}]
    assert check.min_cell_count == 5 and type(check.min_cell_count) is int and check.strict is True
    assert check.identifiers == {
        "source": "patient_id of the harmonized data",
        "sources": [{"path": "h.parquet", "sha256": "ab"}],
        "identifiers": 3,
        "searched": 2,
        "not_searched": 1,
        "not_searched_reason": "numeric identifiers of fewer than 6 digits and identifiers of fewer than 4 characters "
                               "would match ordinary numbers and words; row-level tables are caught by the row-level check",
    }
    assert check.results_dir == str(tmp_path)


def test_min_cell_count_reaches_every_rule(tmp_path):
    _write(tmp_path, "pooled/a.tsv", "label\tn\tevents\nA\t9\t1\n")
    _write(tmp_path, "report/r.html", "<table><tr><th>N</th></tr><tr><td>9</td></tr></table><p>ORR 9/20</p>")
    _write(tmp_path, "figures/f.svg", "<svg><text>11/20</text></svg>")
    check = check_release(tmp_path, identifiers=[], min_cell_count=10)
    assert sorted(f.detail for f in check.of_kind("small_cell")) == [
        "'11/20': N - events = 9 < 10", "'9/20': 9 < 10", "9 < 10", "events = 1 < 10", "n - events = 8 < 10", "n = 9 < 10"]


# ---------------------------------------------------------------------------------------------
# What a reviewer reads: status, summary, manifest

def _check(strict: bool) -> ReleaseCheck:
    check = ReleaseCheck(results_dir="results", min_cell_count=5, strict=strict,
                         files=[{"path": "a.svg", "sha256": "aa", "bytes": 1}, {"path": "c.tsv", "sha256": "cc", "bytes": 2}],
                         identifiers={"searched": 3, "not_searched": 1, "not_searched_reason": "short"})
    check.findings = [
        Finding("patient_identifier", "a.svg", "figure, line 2", "patient identifier 'X1234' of the harmonized data", "X1234"),
        Finding("row_level_table", "b.tsv", "table", "identifier column 'patient_id': one row per participant"),
        Finding("small_cell", "c.tsv", "row 1", "n = 3 < 5", 3),
        Finding("note", "d.png", "file", "PNG pixels are not scanned and there is no SVG twin to scan"),
    ]
    return check


def test_finding_as_a_dict_and_a_line():
    finding = Finding("small_cell", "c.tsv", "row 1", "n = 0 < 5", 0)
    assert finding.to_dict() == {"kind": "small_cell", "file": "c.tsv", "where": "row 1", "detail": "n = 0 < 5", "value": 0}
    assert finding.to_dict(with_value=False) == {"kind": "small_cell", "file": "c.tsv", "where": "row 1", "detail": "n = 0 < 5"}
    assert Finding("note", "d", "w", "t").to_dict() == {"kind": "note", "file": "d", "where": "w", "detail": "t"}
    assert finding.line() == "c.tsv (row 1): n = 0 < 5"


def test_what_fails_the_check():
    """Identifiers and row-level tables always fail; small cells only in strict mode; notes never."""
    check = _check(strict=False)
    assert [f.kind for f in check.failures] == ["patient_identifier", "row_level_table"]
    assert [f.kind for f in _check(strict=True).failures] == ["patient_identifier", "row_level_table", "small_cell"]
    for kinds, strict, status in [({"small_cell", "note"}, False, "passed, with small cells to be suppressed"),
                                  ({"small_cell"}, True, "failed"), ({"note"}, True, "passed"), (set(), False, "passed"),
                                  ({"row_level_table"}, False, "failed"), ({"patient_identifier"}, False, "failed")]:
        check = _check(strict)
        check.findings = [f for f in check.findings if f.kind in kinds]
        assert (check.status, check.passed) == (status, status != "failed")


def test_summary_text():
    assert _check(strict=False).summary().splitlines() == [
        "release check of results: failed",
        "  2 release-zone files scanned; secure zone (not for export): results/extracted/, results/harmonized/, "
        "results/estimates/, logs/; not scanned, not for release: results/simulation/ (simulated data)",
        "  patient identifiers: 1 found (3 identifiers searched, 1 too short to search: short)",
        "  row-level tables: 1 found",
        "  cells below 5: 1 (listed as 'to be suppressed'; strict mode fails on them)",
        "  FAIL patient_identifier: a.svg (figure, line 2): patient identifier 'X1234' of the harmonized data",
        "  FAIL row_level_table: b.tsv (table): identifier column 'patient_id': one row per participant",
        "  to be suppressed: c.tsv (row 1): n = 3 < 5",
        "  note: d.png (file): PNG pixels are not scanned and there is no SVG twin to scan",
    ]
    strict = _check(strict=True).summary().splitlines()
    assert strict[4] == "  cells below 5: 1 (strict: these fail the check)"
    assert strict[7] == "  FAIL: c.tsv (row 1): n = 3 < 5"
    empty = ReleaseCheck(results_dir="r", min_cell_count=10, strict=False).summary().splitlines()
    assert empty[0] == "release check of r: passed"
    assert empty[1].startswith("  0 release-zone files scanned;")
    assert empty[2] == "  patient identifiers: 0 found (0 identifiers searched, 0 too short to search: )"
    assert empty[4] == "  cells below 10: 0 (listed as 'to be suppressed'; strict mode fails on them)"


def test_manifest_document():
    identifier, row_level, small, note = _check(strict=False).findings
    assert _check(strict=False).manifest() == {
        "schema": "her2meta.release_manifest/1",
        "results_dir": "results",
        "status": "failed",
        "zones": {
            "secure": ["results/extracted/", "results/harmonized/", "results/estimates/", "logs/"],
            "simulation": ["results/simulation/", "results/provenance/simulation/"],
            "release": "every other file under results/; the files listed here",
        },
        "checks": {
            "patient_identifiers": {"found": [{"kind": "patient_identifier", "file": "a.svg", "where": "figure, line 2",
                                               "detail": "patient identifier 'X1234' of the harmonized data"}],
                                    "searched": 3, "not_searched": 1, "not_searched_reason": "short"},
            "row_level_tables": {"found": [row_level.to_dict()]},
            "small_cells": {"min_cell_count": 5, "strict": False, "status": "to be suppressed",
                            "found": [{"kind": "small_cell", "file": "c.tsv", "where": "row 1", "detail": "n = 3 < 5",
                                       "value": 3}]},
            "notes": [note.to_dict()],
        },
        "files": [{"path": "a.svg", "sha256": "aa", "bytes": 1}, {"path": "c.tsv", "sha256": "cc", "bytes": 2}],
        "how_to_verify": "cd results && sha256sum -c pipeline_info/release_manifest.sha256",
    }
    assert _check(strict=True).manifest()["checks"]["small_cells"]["status"] == "fail"
    clean = ReleaseCheck(results_dir="r", min_cell_count=5, strict=True)
    assert clean.manifest()["checks"]["small_cells"]["status"] == "none"
    assert clean.manifest()["status"] == "passed"


def test_write_manifest_files(tmp_path):
    check = _check(strict=False)
    write_manifest(check, tmp_path / "m.json", tmp_path / "m.sha256")
    assert json.loads((tmp_path / "m.json").read_text()) == check.manifest()
    assert (tmp_path / "m.sha256").read_text() == "aa  a.svg\ncc  c.tsv\n"


# ---------------------------------------------------------------------------------------------
# Every identifier column, every participant-level format, every per-patient measurement

@pytest.mark.parametrize("column", ["patient_id", "usubjid", "SUBJID", "subject_id", "subject", "patid", "pat_id", "ptid",
                                    "pt_id", "pt_no", "participant_id", "participant", "record_id", "Patient"])
def test_every_identifier_column_makes_a_table_row_level(column):
    """A table or JSON record with an identifier column is one row per participant."""
    assert [f.kind for f in _table_findings("t.tsv", "table", ["n", column], [["1", "x"]], NUMERIC)] == ["row_level_table"]
    assert [f.kind for f in _json_row_level("r.json", {column: "x"}, NUMERIC)] == ["row_level_table"]


def test_the_first_identifier_column_is_named():
    found = _table_findings("t.tsv", "table", ["USUBJID", "patient_id"], [["1", "x"]], NUMERIC)
    assert [f.detail for f in found] == ["identifier column 'USUBJID': one row per participant"]


@pytest.mark.parametrize("suffix", [".parquet", ".feather", ".arrow", ".xpt", ".sas7bdat", ".dta", ".sav", ".rds", ".rdata",
                                    ".rda", ".sqlite", ".db", ".pkl", ".pickle", ".npy", ".npz", ".h5", ".hdf5", ".xlsx",
                                    ".xls", ".RData"])
def test_every_participant_level_format_fails_the_check(tmp_path, suffix):
    _write(tmp_path, f"pooled/data{suffix}", "")
    check = check_release(tmp_path, identifiers=[])
    assert [(f.kind, f.detail) for f in check.findings] == [
        ("row_level_table", f"{suffix.lower()} is a participant-level data format")]


def test_per_patient_measurements_are_the_numeric_fields_of_the_harmonized_model():
    """Number and integer fields of the harmonized data model (integers: events, grade, ISH group)."""
    assert _numeric_fields() == {"age_years", "efs_months", "er_percent", "pr_percent", "her2_ish_copy_number", "her2_ish_ratio",
                       "idfs_months", "os_months", "pfs_months", "efs_event", "grade", "her2_ish_group", "idfs_event",
                       "os_event", "pfs_event"}


# ---------------------------------------------------------------------------------------------
# Further places a count can hide

def test_text_inside_markup_of_a_cell_is_read_whole():
    """A cell's text is all the text in it: "2 <span>patients</span>" is the count 2."""
    html = "<table><tr><th>Patients <small>randomised</small></th></tr><tr><td>2 <span>patients</span></td></tr></table><p>x</p>"
    assert [(f.where, f.detail) for f in _html_findings("r.html", "", html, 5, NUMERIC)] == [
        ("table 1, row 1 (2 patients), column 'Patients randomised'", "2 < 5")]


def test_html_zero_and_cells_beyond_the_header():
    """0 in a count column is shown (not a small cell); a cell without a header is not a count."""
    html = "<table><tr><th>Study</th><th>N</th></tr><tr><td>S</td><td>0</td><td>3</td></tr></table>"
    assert _html_findings("r.html", "", html, 5, NUMERIC) == []


def test_html_row_limit_follows_the_number_of_studies(tmp_path):
    rows = "".join("<tr><td>x</td></tr>" for _ in range(505))
    html = f"<table><tr><th>label</th></tr>{rows}</table>"
    assert [f.detail for f in _html_findings("r.html", "", html, 5, NUMERIC, max_rows=10)] == [
        "505 rows: more than any aggregate table (10)"]
    _write(tmp_path, "report/r.html", html)
    assert check_release(tmp_path, identifiers=[], studies=51).findings == []
    assert [f.kind for f in check_release(tmp_path, identifiers=[]).findings] == ["row_level_table"]


def test_min_cell_count_reaches_json_records(tmp_path):
    _write(tmp_path, "pooled/a.json", json.dumps({"n": 9}))
    assert [f.detail for f in check_release(tmp_path, identifiers=[], min_cell_count=10).findings] == ["n = 9 < 10"]


def test_undecodable_bytes_do_not_hide_what_is_around_them(tmp_path):
    """Text is read as UTF-8 with replacement: a stray byte does not stop the scan."""
    _write(tmp_path, "notes/n.txt", b"\xff SIM-0001")
    figure = b64encode(b"<svg><text>\xff 1/9</text></svg>").decode()
    _write(tmp_path, "report/r.html", f'<img src="data:image/svg+xml;base64,{figure[:8]}\n{figure[8:]}">')
    check = check_release(tmp_path, identifiers=["SIM-0001"])
    assert [(f.kind, f.file, f.where) for f in check.findings] == [
        ("patient_identifier", "notes/n.txt", "line 1"), ("small_cell", "report/r.html", "embedded figure 1")]


def test_png_text_of_an_itxt_without_language_and_a_truncated_end():
    """iTXt: keyword, flag, method, language, translated keyword, text; a file cut after the last
    chunk's header still gives that chunk's (empty) text."""
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"iTXt", b"Plain\0\0\0\0Titre\0text") + struct.pack(">I", 0) + b"tEXt"
    assert png_text(png) == "Plain: text\n: "


def test_suppression_goes_on_after_a_pair_or_total_it_cannot_use():
    """A pair with a missing value and a total absent from the row do not stop the next ones."""
    rows, _ = suppress_small_counts([{"events": 7, "n": 10, "t": 30, "x": 2}], ["x"], 5,
                                    pairs=[("events_a", "n_a"), ("events", "n")], totals={"absent": ["x"], "t": ["x"]})
    assert rows == [{"events": None, "n": 10, "t": None, "x": None}]


def test_a_file_can_hold_an_identifier_and_a_row_level_table_at_once(tmp_path):
    """Every finding of a file is kept: an identifier in a table or JSON record and the table's
    own row-level finding; identifier lines are counted from the first line."""
    _write(tmp_path, "pooled/ids.tsv", "patient_id\tn\nSIM-0001\t30\n")
    _write(tmp_path, "pooled/d.json", json.dumps({"rows": [{"patient_id": "SIM-0001"}]}))
    _write(tmp_path, "notes/m.txt", "\nSIM-0001")
    found = [(f.kind, f.file, f.where, f.detail) for f in check_release(tmp_path, identifiers=["SIM-0001"]).findings]
    identifier = "patient identifier 'SIM-0001' of the harmonized data"
    assert found == [
        ("patient_identifier", "notes/m.txt", "line 2", identifier),
        ("patient_identifier", "pooled/d.json", "line 1", identifier),
        ("row_level_table", "pooled/d.json", "rows[0]", "a record with identifier key 'patient_id'"),
        ("patient_identifier", "pooled/ids.tsv", "line 2", identifier),
        ("row_level_table", "pooled/ids.tsv", "table", "identifier column 'patient_id': one row per participant"),
    ]


def test_png_itxt_with_bytes_that_are_not_utf8_is_still_read():
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"iTXt", b"K\0\0\0\0\0a\xffb")
    assert png_text(png) == "K: a\ufffdb"


def test_defaults_small_cells_listed_not_failed_and_rows_named_by_number(tmp_path):
    """By default (not strict) a small cell is listed as to be suppressed; a row without a label
    is named by its number alone. In a report page every finding is kept, identifiers included."""
    _write(tmp_path, "pooled/a.tsv", "n\n30\n3\n")
    _write(tmp_path, "report/r.html", "<p>SIM-0001</p><table><tr><th>N</th></tr><tr><td>2</td></tr></table>")
    check = check_release(tmp_path, identifiers=["SIM-0001"])
    assert [(f.kind, f.file, f.where) for f in check.findings] == [
        ("small_cell", "pooled/a.tsv", "row 2"), ("patient_identifier", "report/r.html", "page, line 1"),
        ("small_cell", "report/r.html", "page, table 1, row 1 (2), column 'N'")]
    (tmp_path / "report/r.html").unlink()
    assert check_release(tmp_path, identifiers=[]).status == "passed, with small cells to be suppressed"


# ---------------------------------------------------------------------------------------------
# Rules the mutation run (issue 18) showed untested

def test_a_suppressed_or_impossible_fraction_does_not_stop_the_scan_of_the_fractions_after_it():
    """"<3/20" (already suppressed) and "30/20" (events above N: not a fraction of people) are
    skipped, and the small fractions after them in the same text are still found."""
    text = "pCR &lt;3/20 in arm A, 2/20 in arm B; ratio 30/20; ORR 1/9"
    assert [f.detail for f in _fraction_findings("report/r.html", "page", text, 5)] == [
        "'2/20': 2 < 5", "'1/9': 1 < 5"]


def test_a_row_level_html_table_is_named_by_its_file_and_table_number():
    """The row-level finding of a report table names the file and "table N" (no leading comma
    when the page itself has no place name)."""
    html = "<table><tr><th>Patient ID</th><th>N</th></tr><tr><td>x</td><td>7</td></tr></table>"
    found = _html_findings("report/r.html", "", html, 5, NUMERIC)
    assert [(f.kind, f.file, f.where) for f in found] == [("row_level_table", "report/r.html", "table 1")]


def test_a_count_equal_to_the_minimum_in_a_report_table_is_not_small():
    """Small means below the minimum: with a minimum of 5, a count column's 5 is shown, 4 is not."""
    html = ("<table><tr><th>Study</th><th>N</th></tr><tr><td>A</td><td>5</td></tr>"
            "<tr><td>B</td><td>4</td></tr></table>")
    assert [(f.where, f.detail, f.value) for f in _html_findings("r.html", "page", html, 5, NUMERIC)] == [
        ("page, table 1, row 2 (B), column 'N'", "4 < 5", 4)]


def test_character_references_in_a_report_cell_are_read_as_the_characters_they_stand_for():
    """"2&nbsp;patients" is the count 2 followed by a word (a no-break space is a space), and
    "Smith &amp; Jones" is the row label "Smith & Jones": a reference must not glue a count to
    the word after it and hide it."""
    html = ("<table><tr><th>Study</th><th>Patients</th></tr>"
            "<tr><td>Smith &amp; Jones</td><td>2&nbsp;patients</td></tr></table>")
    assert [(f.where, f.detail, f.value) for f in _html_findings("r.html", "page", html, 5, NUMERIC)] == [
        ("page, table 1, row 1 (Smith & Jones), column 'Patients'", "2 < 5", 2)]


def test_a_json_list_longer_than_any_aggregate_table_is_a_row_level_finding_of_that_file():
    """A list of more records than any aggregate table fails the check as row-level, named by
    file and key."""
    found = _json_row_level("pooled/d.json", {"rows": [{"x": 1}] * 501}, NUMERIC)
    assert [(f.kind, f.file, f.where, f.detail) for f in found] == [
        ("row_level_table", "pooled/d.json", "rows", "501 records: more than any aggregate table (500)")]
    check = ReleaseCheck(results_dir="results", min_cell_count=5, strict=False, findings=found)
    assert check.failures == found and check.status == "failed"


def test_small_cells_of_a_json_document_that_is_a_list_are_named_by_index():
    assert [(f.where, f.detail) for f in _json_small_cells("pooled/x.json", [{"n": 30}, {"n": 3}], 5)] == [
        ("[1]", "n = 3 < 5")]


def test_only_a_column_named_events_pairs_with_an_n_column():
    """"hrpercent" is 7 characters longer than the stem "hr" of "hr_n", but it is no x_events
    column: no pair, and no complement hr_n - hrpercent is computed."""
    assert _pairs(["hr_n", "hrpercent"]) == []
    assert small_cells_in_record({"hr_n": 10, "hrpercent": 8}, 5) == []


def test_row_level_findings_of_a_table_name_the_table():
    """The per-patient measurement and the row-count findings name the place given (here "table")."""
    found = _table_findings("t.tsv", "table", ["age_years", "efs_months"], [["1", "2"]] * 501, NUMERIC)
    assert [(f.kind, f.file, f.where) for f in found] == [("row_level_table", "t.tsv", "table")] * 2


def test_png_text_keyword_ends_at_the_first_nul():
    """tEXt: the keyword is everything before the first NUL (PNG specification, 11.3.4.3); all
    after it is the text, further NULs included."""
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"tEXt", b"Comment\0SIM-0001\0n=3")
    assert png_text(png) == "Comment: SIM-0001\x00n=3"


def test_an_identifier_beginning_or_ending_in_lower_case_letters_is_searched_whole():
    """Only punctuation is stripped from the ends of an identifier: "ab-1234" and "1234ab" keep
    their letters (stripped to their 4 digits they would be too short to search and would leak)."""
    index = IdentifierIndex(["ab-1234", "1234ab"])
    assert len(index) == 2 and index.not_searched == 0
    assert index.find("patients ab-1234 and 1234AB") == [("ab-1234", 9), ("1234ab", 21)]
