"""Rules of a mapping's row conditions (her2meta.conditions, issue 18).

A `filter:` condition keeps some rows; a row failing it is excluded for the condition's negation,
and that sentence is printed in the report's data flow (a released file), so its words are
asserted exactly. Expected values are written from the rules in the module docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2meta.conditions import (
    NotNumbers,
    canonical_code,
    describe_kept,
    exclusion_reason,
    is_blank,
    keep_mask,
    operator,
)


# --------------------------------------------------------------------- how a value is looked up


@pytest.mark.parametrize("value,code", [
    (None, None), (np.nan, None), (pd.NA, None), (pd.NaT, None), (float("nan"), None),
    (True, "true"), (False, "false"), (np.bool_(True), "true"), (np.bool_(False), "false"),
    (1, "1"), (np.int64(7), "7"), (-3, "-3"),
    (2.0, "2"), (np.float64(2.0), "2"), (2.5, "2.5"), (np.float32(0.5), "0.5"), (-0.25, "-0.25"),
    ("  Y ", "Y"), ("", ""), ("ITT", "ITT"),
])
def test_a_source_value_is_looked_up_by_its_canonical_text(value, code):
    """Booleans read true/false (not 1/0), whole floats read as integers (a 1.0 matches code 1),
    other floats keep their digits, text is trimmed, and every kind of missing is None."""
    assert canonical_code(value) == code


def test_a_numpy_nan_is_missing_not_the_text_nan():
    assert canonical_code(np.float64("nan")) is None


@pytest.mark.parametrize("value,blank", [(None, True), (np.nan, True), ("", True), ("   ", True),
                                         ("Y", False), (0, False), (0.0, False), (False, False)])
def test_blank_means_missing_or_only_spaces(value, blank):
    """Zero and False are values, not blanks."""
    assert is_blank(value) is blank


@pytest.mark.parametrize("cond,op", [({"column": "A", "equals": "Y"}, "equals"), ({"column": "A", "in": ["Y"]}, "in"),
                                     ({"column": "A", "not_in": ["Y"]}, "not_in"), ({"column": "A", "gt": 1}, "gt"),
                                     ({"column": "A", "ge": 1}, "ge"), ({"column": "A", "lt": 1}, "lt"),
                                     ({"column": "A", "le": 1}, "le"), ({"column": "A", "not_missing": True}, "not_missing")])
def test_the_operator_is_the_condition_key(cond, op):
    assert operator(cond) == op


# --------------------------------------------------------------------- which rows are kept


def _kept(values, cond, **kw):
    s = pd.Series(values, index=[f"s{i}" for i in range(len(values))], dtype=object)
    out = keep_mask(s, cond, **kw)
    assert out.index.tolist() == s.index.tolist()
    return out.tolist()


def test_not_missing_drops_blanks_only():
    assert _kept(["Y", "", None, " ", 0, "N"], {"column": "A", "not_missing": True}) == [
        True, False, False, False, True, True]


@pytest.mark.parametrize("op,kept", [
    ("gt", [False, False, True, False, False]),
    ("ge", [False, True, True, False, False]),
    ("lt", [True, False, False, False, False]),
    ("le", [True, True, False, False, False]),
])
def test_comparisons_at_the_bound_and_blanks_fail(op, kept):
    """gt/ge/lt/le compare numbers with the bound 18; a blank fails every comparison."""
    assert _kept([17, "18", 18.5, "", None], {"column": "AGE", op: 18}) == kept


def test_comparison_bound_given_as_text_is_read_as_a_number():
    assert _kept(["9", "10", "11"], {"column": "AGE", "ge": "10"}) == [False, True, True]


def test_decimal_comma_is_read_when_declared():
    """With decimal: ',' a '2,5' is 2.5; a dot decimal stays readable."""
    assert _kept(["2,5", "3,5", "1.5"], {"column": "X", "gt": 2}, decimal=",") == [True, True, False]


def test_decimal_comma_is_not_a_number_with_the_default_point():
    with pytest.raises(NotNumbers) as e:
        _kept(["2,5", "3"], {"column": "X", "gt": 2})
    assert e.value.counts.to_dict() == {"2,5": 1}


def test_comparison_on_text_names_each_bad_value_with_its_rows():
    with pytest.raises(NotNumbers) as e:
        _kept(["12", "n/a", "n/a", "inf", ""], {"column": "X", "lt": 5})
    assert e.value.counts.to_dict() == {"n/a": 2, "inf": 1}
    assert str(e.value) == "'n/a' (2 rows), 'inf' (1 rows)"


def test_equals_matches_the_canonical_code():
    """A 1.0 in the data matches equals: 1, text is trimmed, and a blank target keeps blanks."""
    assert _kept([1.0, " 1", 2, None], {"column": "A", "equals": 1}) == [True, True, False, False]
    assert _kept(["", None, "Y"], {"column": "A", "equals": ""}) == [True, True, False]


def test_in_and_not_in_are_complements_blank_included():
    values = ["Y", "N", "", None, "U"]
    kept = _kept(values, {"column": "A", "in": ["Y", ""]})
    assert kept == [True, False, True, True, False]
    assert _kept(values, {"column": "A", "not_in": ["Y", ""]}) == [not k for k in kept]


def test_a_blank_in_the_data_never_matches_a_non_blank_target():
    assert _kept(["", None], {"column": "A", "in": ["Y"]}) == [False, False]
    assert _kept(["", None], {"column": "A", "not_in": ["Y"]}) == [True, True]


# --------------------------------------------------------------------- the words in the report


@pytest.mark.parametrize("cond,kept,excluded", [
    ({"column": "ITTFL", "not_missing": True}, "ITTFL is not missing", "ITTFL is missing"),
    ({"column": "AGE", "gt": 18}, "AGE is above 18", "AGE is 18 or below, or missing"),
    ({"column": "AGE", "ge": 18}, "AGE is at least 18", "AGE is below 18, or missing"),
    ({"column": "AGE", "lt": 70}, "AGE is below 70", "AGE is 70 or above, or missing"),
    ({"column": "AGE", "le": 70}, "AGE is at most 70", "AGE is above 70, or missing"),
    ({"column": "ITTFL", "equals": "Y"}, "ITTFL is 'Y'", "ITTFL is not 'Y'"),
    ({"column": "ITTFL", "equals": ""}, "ITTFL is blank", "ITTFL is not blank"),
    ({"column": "ARM", "in": ["A", "B"]}, "ARM is one of 'A', 'B'", "ARM is none of 'A', 'B'"),
    ({"column": "ARM", "in": ["A"]}, "ARM is one of 'A'", "ARM is none of 'A'"),
    ({"column": "ARM", "not_in": ["X", ""]}, "ARM is none of 'X', blank", "ARM is one of 'X', blank"),
    ({"column": "ARM", "not_in": ["X"]}, "ARM is none of 'X'", "ARM is 'X'"),
])
def test_exclusion_reason_is_the_negation_of_the_kept_condition(cond, kept, excluded):
    assert describe_kept(cond) == kept
    assert exclusion_reason(cond) == excluded


@pytest.mark.parametrize("cond,excluded", [
    ({"dataset": "ds", "column": "DSDECOD", "equals": "RANDOMIZED"},
     "ds.DSDECOD is not 'RANDOMIZED' (or no ds record)"),
    ({"dataset": "ds", "column": "DSDECOD", "in": ["A", "B"]}, "ds.DSDECOD is none of 'A', 'B' (or no ds record)"),
    ({"dataset": "ds", "column": "DSSTDY", "ge": 1}, "ds.DSSTDY is below 1, or missing (or no ds record)"),
    ({"dataset": "ds", "column": "DSSTDY", "not_missing": True}, "ds.DSSTDY is missing (or no ds record)"),
    ({"dataset": "ds", "column": "DSDECOD", "not_in": ["A", "B"]}, "ds.DSDECOD is one of 'A', 'B'"),
])
def test_a_condition_on_another_dataset_says_a_missing_record_is_excluded_too(cond, excluded):
    assert exclusion_reason(cond) == excluded


def test_a_condition_on_another_dataset_is_described_with_its_dataset():
    assert describe_kept({"dataset": "ds", "column": "DSDECOD", "equals": "X"}) == "ds.DSDECOD is 'X'"


def test_the_users_own_reason_replaces_the_negation():
    assert exclusion_reason({"column": "ITTFL", "equals": "Y", "reason": "not in the ITT population"}) == \
        "not in the ITT population"


def test_decimal_comma_leaves_blanks_blank():
    """A blank cell under decimal: ',' fails the comparison (excluded as missing), it does not crash."""
    assert _kept(["2,5", "", None], {"column": "X", "gt": 2}, decimal=",") == [True, False, False]


def test_any_text_target_matches_literally():
    """Targets are matched as written, whatever the letters (e.g. a sponsor's placeholder code XXXX)."""
    assert _kept(["XXXX", "Y", ""], {"column": "A", "in": ["XXXX", ""]}) == [True, False, True]
    assert _kept(["XXXX", "Y"], {"column": "A", "equals": "XXXX"}) == [True, False]


def test_not_numbers_message_lists_at_most_ten_values():
    """The message stays readable: the first ten bad values; `counts` keeps them all."""
    values = [f"v{i}" for i in range(11)]
    with pytest.raises(NotNumbers) as e:
        _kept(values, {"column": "X", "ge": 1})
    assert len(e.value.counts) == 11
    assert str(e.value).count("(1 rows)") == 10
