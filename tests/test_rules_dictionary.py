"""Rules of the clinical dictionaries that the older dictionary tests leave unchecked (issue 18).

Each test names the rule it protects. The expected values come from the rule (ASCO/CAP 2020
ER/PgR, ASCO/CAP 2018/2023 HER2, the pCR and RECIST definitions in docs/methods/derivations.md),
never from running the code. Error tests assert what a user acts on: the field named and the
hint saying what to do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2meta.dictionary import (
    DerivationError,
    er_low,
    hr_status,
    normalize_status,
    receptor_status_from_percent,
)

# ----------------------------------------------------------------------------- receptors

PERCENT_HINT = ("Percentages of stained nuclei must be numbers in 0..100; fix the source or the mapping's "
                "code map.")
ER_HINT = "ER percentages must be numbers in 0..100."
STATUS_HINT = "Allowed values: positive, negative, unknown; recode other source labels in the study mapping."


def test_receptor_percent_error_names_the_column_and_says_what_to_fix():
    """A percentage above 100 stops the study with the column's name and the fix."""
    with pytest.raises(DerivationError) as e:
        receptor_status_from_percent(pd.Series([50.0, 120.0], name="pgr_pct"))
    assert e.value.field == "pgr_pct"
    assert e.value.hint == PERCENT_HINT
    assert str(e.value).endswith(PERCENT_HINT)


def test_receptor_percent_error_on_unnamed_values_names_receptor_percent():
    """Without a column name the error still names a field a user can search for."""
    with pytest.raises(DerivationError) as e:
        receptor_status_from_percent([50.0, -3.0])
    assert e.value.field == "receptor_percent"


def test_receptor_status_is_a_string_column_named_like_its_input():
    """The status column keeps the input's name and index and is a string column (not object)."""
    s = pd.Series([0.0, 1.0, None], index=[10, 20, 30], name="er_percent", dtype="Float64")
    out = receptor_status_from_percent(s)
    assert out.name == "er_percent"
    assert str(out.dtype) == "string"
    assert out.index.tolist() == [10, 20, 30]
    assert out.tolist() == ["negative", "positive", "unknown"]


def test_er_low_below_zero_is_rejected():
    """ER% is a share of nuclei: a negative value is an error, not 'not ER low'."""
    with pytest.raises(DerivationError) as e:
        er_low(pd.Series([5.0, -1.0], name="er_pct"))
    assert e.value.counts == {-1.0: 1}


def test_er_low_error_names_the_column_and_the_range():
    with pytest.raises(DerivationError) as e:
        er_low(pd.Series([101.0], name="er_pct"))
    assert e.value.field == "er_pct"
    assert e.value.hint == ER_HINT
    assert str(e.value).endswith(ER_HINT)


def test_er_low_error_on_unnamed_values_names_er_percent():
    with pytest.raises(DerivationError) as e:
        er_low([101.0])
    assert e.value.field == "er_percent"


def test_er_low_column_is_named_er_low_whatever_the_input_name():
    """ASCO/CAP 2020 'ER Low Positive' (1-10 %) is its own column, er_low, boolean with <NA> for missing."""
    out = er_low(pd.Series([0.5, 1.0, 10.0, 10.5, None], index=list("abcde"), name="er_percent"))
    assert out.name == "er_low"
    assert str(out.dtype) == "boolean"
    assert out.index.tolist() == list("abcde")
    assert out.tolist() == [False, True, True, False, pd.NA]


def test_status_labels_outside_the_vocabulary_name_the_field_and_the_allowed_values():
    """An unknown receptor label stops the study; the hint lists positive, negative, unknown."""
    with pytest.raises(DerivationError) as e:
        normalize_status(pd.Series(["positive", "weak"]))
    assert e.value.field == "receptor_status"
    assert e.value.counts == {"weak": 1}
    assert e.value.hint == STATUS_HINT
    assert str(e.value).endswith(STATUS_HINT)


def test_status_missing_values_are_unknown():
    """Missing (None, NaN, blank) receptor status is 'unknown', never dropped or invented."""
    out = normalize_status(pd.Series([None, np.nan, "  ", " Positive"], dtype=object))
    assert out.tolist() == ["unknown", "unknown", "unknown", "positive"]


def test_status_non_text_value_is_a_derivation_error_not_a_crash():
    """A number in a status column is reported like any other bad label (with its row count)."""
    with pytest.raises(DerivationError) as e:
        normalize_status(pd.Series(["negative", 1, 1], dtype=object), "er_status")
    assert e.value.field == "er_status"
    assert e.value.counts == {1: 2}


def test_hr_status_error_on_pgr_names_pr_status():
    """A bad PgR label is reported against pr_status, so the user fixes the right column."""
    with pytest.raises(DerivationError) as e:
        hr_status(pd.Series(["negative", "negative"]), pd.Series(["negative", "pos"]))
    assert e.value.field == "pr_status"
    assert e.value.counts == {"pos": 1}


def test_hr_status_keeps_the_patients_index_and_is_a_string_column():
    """HR status lines up with the patients it came from (the input index), as a string column."""
    er = pd.Series(["positive", "negative", "negative"], index=["p7", "p3", "p9"])
    pr = pd.Series(["negative", "negative", None], index=["p7", "p3", "p9"], dtype=object)
    out = hr_status(er, pr)
    assert out.index.tolist() == ["p7", "p3", "p9"]
    assert str(out.dtype) == "string"
    assert out.tolist() == ["positive", "negative", "unknown"]
