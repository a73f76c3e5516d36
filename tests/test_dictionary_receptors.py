"""ER/PgR/HR derivations: ASCO/CAP 2020 ER/PgR guideline (positive >= 1%, ER-low 1-10%)."""

import numpy as np
import pandas as pd
import pytest

from her2meta.dictionary import DerivationError, er_low, hr_status, receptor_status_from_percent


def test_status_boundaries_default_threshold():
    s = pd.Series([0.0, 0.99, 1.0, 10.0, 10.01, 100.0])
    assert receptor_status_from_percent(s).tolist() == [
        "negative", "negative", "positive", "positive", "positive", "positive"]


def test_status_threshold_10_sensitivity():
    s = pd.Series([1.0, 9.99, 10.0, 10.01])
    assert receptor_status_from_percent(s, threshold=10).tolist() == [
        "negative", "negative", "positive", "positive"]


def test_status_missing_is_unknown_and_index_kept():
    s = pd.Series([None, np.nan, pd.NA, "", "12.5", 50], index=["a", "b", "c", "d", "e", "f"], dtype=object)
    out = receptor_status_from_percent(s)
    assert out.index.tolist() == ["a", "b", "c", "d", "e", "f"]
    assert out.tolist() == ["unknown"] * 4 + ["positive", "positive"]


def test_status_nullable_float_input():
    s = pd.Series([0.5, None, 3], dtype="Float64")
    assert receptor_status_from_percent(s).tolist() == ["negative", "unknown", "positive"]


@pytest.mark.parametrize("bad", [-0.01, 100.01, 150])
def test_status_out_of_range_raises(bad):
    with pytest.raises(DerivationError) as e:
        receptor_status_from_percent(pd.Series([5, bad, bad], name="er_percent"))
    assert e.value.field == "er_percent"
    assert e.value.counts == {float(bad): 2}
    assert "0..100" in str(e.value)


def test_status_text_raises_with_counts():
    with pytest.raises(DerivationError) as e:
        receptor_status_from_percent(pd.Series(["<1", "pos", "pos", "5"], name="pr_percent"))
    assert e.value.counts == {"<1": 1, "pos": 2}
    assert "'pos' (2 rows)" in str(e.value) and "'<1' (1 row)" in str(e.value)


def test_status_bad_threshold():
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 100\]"):
        receptor_status_from_percent(pd.Series([1.0]), threshold=0)


def test_input_not_mutated():
    s = pd.Series([None, 5.0, 0.5])
    before = s.copy()
    receptor_status_from_percent(s)
    er_low(s)
    pd.testing.assert_series_equal(s, before)


def test_er_low_boundaries():
    s = pd.Series([0.0, 0.99, 1.0, 5, 10.0, 10.01, 80, None])
    out = er_low(s)
    assert str(out.dtype) == "boolean"
    assert out.tolist() == [False, False, True, True, True, False, False, pd.NA]


def test_er_low_out_of_range():
    with pytest.raises(DerivationError):
        er_low(pd.Series([101.0]))


@pytest.mark.parametrize(
    "er,pr,expected",
    [
        ("positive", "positive", "positive"),
        ("positive", "negative", "positive"),
        ("negative", "positive", "positive"),
        ("positive", "unknown", "positive"),
        ("unknown", "positive", "positive"),
        ("negative", "negative", "negative"),
        ("negative", "unknown", "unknown"),
        ("unknown", "negative", "unknown"),
        ("negative", None, "unknown"),
        (None, None, "unknown"),
        ("POSITIVE", " Negative ", "positive"),
    ],
)
def test_hr_status_table(er, pr, expected):
    out = hr_status(pd.Series([er], dtype=object), pd.Series([pr], dtype=object))
    assert out.tolist() == [expected]
    assert out.name == "hr_status"


def test_hr_status_rejects_other_labels():
    with pytest.raises(DerivationError) as e:
        hr_status(pd.Series(["pos", "positive"]), pd.Series(["negative", "negative"]))
    assert e.value.field == "er_status" and e.value.counts == {"pos": 1}


def test_hr_status_index_mismatch():
    with pytest.raises(ValueError, match="must share the same index"):
        hr_status(pd.Series(["positive"], index=[1]), pd.Series(["positive"], index=[2]))
