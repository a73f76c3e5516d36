"""HER2 status: ASCO/CAP 2018 focused update (affirmed 2023), HER2-low/ultralow/null."""

import numpy as np
import pandas as pd
import pytest

from her2meta.dictionary import (
    DerivationError, her2_status, her2_unknown_reasons, ish_candidates, ish_group, normalize_ihc,
    normalize_ihc0_staining,
)


# --- IHC vocabulary -----------------------------------------------------------------------

def test_normalize_ihc_accepted_forms():
    s = pd.Series([0, 1, 2, 3, 2.0, "0", "1+", "2+", "3+", "IHC 2+", "2 +", "ihc3+", " 1+ ", "2", None, ""],
                  dtype=object)
    assert normalize_ihc(s).tolist() == [
        "0", "1+", "2+", "3+", "2+", "0", "1+", "2+", "3+", "2+", "2+", "3+", "1+", "2+", pd.NA, pd.NA]


@pytest.mark.parametrize("bad", ["neg", "negative", "positive", "4+", "0+", 1.5, 4, "2++", True])
def test_normalize_ihc_rejects(bad):
    with pytest.raises(DerivationError) as e:
        normalize_ihc(pd.Series(["1+", bad], dtype=object, name="her2_ihc"))
    assert e.value.field == "her2_ihc"
    assert list(e.value.counts) == [bad]


def test_normalize_staining():
    s = pd.Series(["null", "ULTRALOW", None, "unknown"])
    assert normalize_ihc0_staining(s).tolist() == ["null", "ultralow", "unknown", "unknown"]
    with pytest.raises(DerivationError):
        normalize_ihc0_staining(pd.Series(["faint"]))


# --- ISH groups (ASCO/CAP 2018 dual-probe table: groups 1-5 by ratio and copies) -------------

@pytest.mark.parametrize(
    "ratio,copies,group",
    [
        (2.0, 4.0, 1), (5.0, 12.0, 1),
        (2.0, 3.99, 2), (2.5, 2.0, 2),
        (1.99, 6.0, 3), (1.5, 8.0, 3),
        (1.99, 5.99, 4), (1.99, 4.0, 4),
        (1.99, 3.99, 5), (1.0, 2.0, 5),
        (12 / 6, 4.0, 1),  # ratio computed by division lands on 2.0
    ],
)
def test_ish_group_boundaries(ratio, copies, group):
    assert ish_group(pd.Series([ratio]), pd.Series([copies])).tolist() == [group]


def test_ish_group_missing_and_dtype():
    out = ish_group(pd.Series([2.2, None, np.nan, 1.0], index=[9, 8, 7, 6]), pd.Series([None, 5.0, 5.0, 3.0], index=[9, 8, 7, 6]))
    assert str(out.dtype) == "Int64"
    assert out.index.tolist() == [9, 8, 7, 6]
    assert out.tolist() == [pd.NA, pd.NA, pd.NA, 5]


def test_ish_group_negative_raises():
    with pytest.raises(DerivationError):
        ish_group(pd.Series([-1.0]), pd.Series([3.0]))


# --- Final status: every IHC x ISH cell of the ASCO/CAP 2018 table ("Dual-probe ISH groups ...
# final HER2 status after concurrent IHC review"; FACTS.md C.3). Groups 2-4 depend on IHC:
# 3+ positive; 2+ -> group 3 positive, groups 2 and 4 negative; 0/1+ negative.

TABLE = {
    # (ihc, group): expected; IHC 0 rows use staining "null" here
    ("3+", 1): "positive", ("3+", 2): "positive", ("3+", 3): "positive", ("3+", 4): "positive",
    ("3+", 5): "positive", ("3+", None): "positive",
    ("2+", 1): "positive", ("2+", 2): "low", ("2+", 3): "positive", ("2+", 4): "low",
    ("2+", 5): "low", ("2+", None): "unknown",
    ("1+", 1): "positive", ("1+", 2): "low", ("1+", 3): "low", ("1+", 4): "low",
    ("1+", 5): "low", ("1+", None): "low",
    ("0", 1): "positive", ("0", 2): "null", ("0", 3): "null", ("0", 4): "null",
    ("0", 5): "null", ("0", None): "null",
    (None, 1): "positive", (None, 2): "unknown", (None, 3): "unknown", (None, 4): "unknown",
    (None, 5): "unknown", (None, None): "unknown",
}


@pytest.mark.parametrize("cell,expected", sorted(TABLE.items(), key=str))
def test_her2_status_table(cell, expected):
    ihc, grp = cell
    stain = "null" if ihc == "0" else "unknown"
    out = her2_status(pd.Series([ihc], dtype=object), pd.Series([grp], dtype="Int64"),
                      pd.Series([stain]))
    assert out.tolist() == [expected]


@pytest.mark.parametrize("stain,expected", [("ultralow", "ultralow"), ("null", "null"),
                                            ("unknown", "ihc0_unspecified"), (None, "ihc0_unspecified")])
def test_ihc0_staining(stain, expected):
    out = her2_status(pd.Series(["0"]), pd.Series([5]), pd.Series([stain], dtype=object))
    assert out.tolist() == [expected]


def test_ihc0_without_staining_series_or_ish():
    out = her2_status(pd.Series(["0", "1+", "2+", "3+"], index=list("wxyz")))
    assert out.tolist() == ["ihc0_unspecified", "low", "unknown", "positive"]
    assert out.index.tolist() == list("wxyz")
    assert out.name == "her2_status"


def test_staining_contradicting_ihc_raises():
    with pytest.raises(DerivationError) as e:
        her2_status(pd.Series(["2+", "0"]), pd.Series([2, 5]), pd.Series(["ultralow", "ultralow"]))
    assert e.value.field == "her2_ihc0_staining"
    assert "IHC 2+" in str(e.value)


def test_bad_ish_group_raises():
    with pytest.raises(DerivationError) as e:
        her2_status(pd.Series(["2+"]), pd.Series([6]))
    assert e.value.counts == {6: 1}


def test_ratio_only_fallback_needs_flag():
    ihc = pd.Series(["2+", "2+", "2+", "0"])
    grp = pd.Series([None, None, 3, None], dtype="Int64")
    ratio = pd.Series([2.0, 1.99, 1.0, 2.5])
    assert her2_status(ihc, grp, ish_ratio=ratio).tolist() == [
        "unknown", "unknown", "positive", "ihc0_unspecified"]
    assert her2_status(ihc, grp, ish_ratio=ratio, allow_ratio_only=True).tolist() == [
        "positive", "low", "positive", "positive"]
    with pytest.raises(ValueError, match="allow_ratio_only=True needs ish_ratio"):
        her2_status(ihc, grp, allow_ratio_only=True)


def test_pipeline_from_raw_values():
    ihc = pd.Series(["IHC 2+", 2, "1+", 0])
    grp = ish_group(pd.Series([2.3, 1.4, None, 1.1]), pd.Series([5.1, 6.2, None, 2.0]))
    stain = pd.Series([None, None, None, "ultralow"], dtype=object)
    assert her2_status(ihc, grp, stain).tolist() == ["positive", "positive", "low", "ultralow"]


# --- Incomplete ISH (a ratio without a copy number, or the reverse): the status is decided only
# where every 2018 group the known value allows gives the same call with this IHC score. The
# expected values below are read off TABLE by hand: ratio >= 2.0 -> groups 1/2, ratio < 2.0 ->
# 3/4/5, copies >= 6.0 -> 1/3, 4.0 <= copies < 6.0 -> 1/4, copies < 4.0 -> 2/5.

INCOMPLETE = {
    # (ihc, ratio, copies): expected
    ("3+", 2.5, None): "positive", ("3+", 1.2, None): "positive", ("3+", None, 3.0): "positive",
    ("2+", 2.5, None): "unknown", ("2+", 2.0, None): "unknown", ("2+", 1.99, None): "unknown",
    ("2+", None, 6.0): "positive", ("2+", None, 5.0): "unknown", ("2+", None, 3.9): "low",
    ("1+", 2.5, None): "unknown", ("1+", 1.5, None): "low", ("1+", None, 7.0): "unknown",
    ("1+", None, 4.5): "unknown", ("1+", None, 2.0): "low",
    ("0", 2.5, None): "unknown", ("0", 1.5, None): "null", ("0", None, 3.0): "null", ("0", None, 6.5): "unknown",
    (None, 2.5, None): "unknown", (None, 1.5, None): "unknown", (None, None, 8.0): "unknown",
}


@pytest.mark.parametrize("cell,expected", sorted(INCOMPLETE.items(), key=str))
def test_incomplete_ish_decides_only_where_the_groups_agree(cell, expected):
    ihc, ratio, copies = cell
    r, c = pd.Series([ratio], dtype=float), pd.Series([copies], dtype=float)
    stain = pd.Series(["null" if ihc == "0" else "unknown"])
    out = her2_status(pd.Series([ihc], dtype=object), ish_group(r, c), stain, ish_ratio=r, ish_copy_number=c)
    assert out.tolist() == [expected]


def test_incomplete_ish_is_read_only_when_both_inputs_are_passed():
    """Without ish_copy_number the old reading holds: no group, IHC 1+ is low (callers that do not
    know the copy number is missing keep their results)."""
    ihc, ratio = pd.Series(["1+"]), pd.Series([2.5])
    assert her2_status(ihc, pd.Series([None], dtype="Int64"), ish_ratio=ratio).tolist() == ["low"]
    assert her2_status(ihc, pd.Series([None], dtype="Int64"), ish_ratio=ratio,
                       ish_copy_number=pd.Series([np.nan])).tolist() == ["unknown"]


def test_ish_candidates_and_unknown_reasons():
    ratio = pd.Series([2.0, 1.99, None, None, None, 2.5, None])
    copies = pd.Series([None, None, 6.0, 4.0, 3.99, 5.0, None])
    assert ish_candidates(ratio, copies).tolist() == [
        "ratio >= 2.0", "ratio < 2.0", "copy number >= 6.0", "copy number 4.0-5.9", "copy number < 4.0", pd.NA, pd.NA]
    ihc = pd.Series(["2+", "2+", None, "2+"])
    r, c = pd.Series([2.2, None, None, None]), pd.Series([None, None, None, None], dtype=float)
    grp = ish_group(r, c)
    status = her2_status(ihc, grp, ish_ratio=r, ish_copy_number=c)
    reasons = her2_unknown_reasons(ihc, grp, r, c, status)
    assert reasons.tolist() == [
        "incomplete ISH with IHC 2+: ratio >= 2.0 without copy number (group 1 or 2, which give different calls)",
        "IHC 2+ (equivocal) without an ISH result", "no IHC score and no ISH result", "IHC 2+ (equivocal) without an ISH result"]
