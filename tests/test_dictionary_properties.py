"""Property tests: normalisers raise only DerivationError, keep the input index, never mutate."""

import pickle

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from her2meta.dictionary import (
    DerivationError, er_low, her2_status, hr_status, ish_group, normalize_bor, normalize_ihc,
    parse_regimens, parse_ypn, parse_ypt, pcr_variants, receptor_status_from_percent,
)

values = st.one_of(st.none(), st.text(max_size=12), st.floats(allow_nan=True), st.integers(-5, 200),
                   st.sampled_from(["ypT0", "ypN0(i+)", "2+", "CR", "Herceptin", "T", "NON-CR/NON-PD"]))
indexes = st.lists(st.integers(), min_size=0, max_size=8)


def _series(vals, idx):
    idx = (idx + list(range(10_000, 10_000 + len(vals))))[: len(vals)]
    return pd.Series(vals, index=idx, dtype=object)


@settings(max_examples=200, deadline=None)
@given(st.lists(values, max_size=8), indexes)
def test_normalisers_raise_only_derivation_error_and_keep_index(vals, idx):
    s = _series(vals, idx)
    before = s.copy()
    for fn in (normalize_ihc, parse_ypt, parse_ypn, normalize_bor, receptor_status_from_percent, er_low,
               parse_regimens):
        try:
            out = fn(s)
        except DerivationError:
            continue
        assert out.index.equals(s.index)
    pd.testing.assert_series_equal(s, before)


def test_normalisers_accept_valid_values():
    """The property above must not hold vacuously: on values each normaliser is made for, it
    returns a result (keeping the index) instead of raising."""
    cases = {normalize_ihc: ["0", "1+", "2+", "3+"], parse_ypt: ["ypT0", "ypTis", "ypT2"], parse_ypn: ["ypN0", "ypN1"],
             normalize_bor: ["CR", "PR", "SD", "PD"], receptor_status_from_percent: [0, 1, 50], er_low: [0, 5, 50],
             parse_regimens: ["docetaxel+trastuzumab"]}
    for fn, vals in cases.items():
        s = pd.Series(vals, index=range(100, 100 + len(vals)), dtype=object)
        out = fn(s)
        assert out.index.equals(s.index), fn.__name__


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(0, 20)), st.one_of(st.none(), st.floats(0, 30))),
                max_size=10))
def test_ish_group_total_and_consistent(pairs):
    r = pd.Series([p[0] for p in pairs], dtype=float)
    c = pd.Series([p[1] for p in pairs], dtype=float)
    g = ish_group(r, c)
    for (ratio, copies), grp in zip(pairs, g.tolist()):
        if ratio is None or copies is None:
            assert grp is pd.NA
        elif ratio >= 2 and copies >= 4:
            assert grp == 1
        elif ratio < 2 and copies < 4:
            assert grp == 5


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["0", "1+", "2+", "3+", None]), st.sampled_from([1, 2, 3, 4, 5, None])),
                max_size=10))
def test_her2_status_vocabulary(rows):
    out = her2_status(pd.Series([r[0] for r in rows], dtype=object), pd.Series([r[1] for r in rows], dtype="Int64"))
    assert set(out) <= {"positive", "low", "ultralow", "null", "ihc0_unspecified", "unknown"}
    for (ihc, grp), status in zip(rows, out):
        assert (status == "positive") == (ihc == "3+" or grp == 1 or (ihc == "2+" and grp == 3))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ypT0", "ypTis", "ypT1mi", "ypT2", "ypTX", None]),
                          st.sampled_from(["ypN0", "ypN0(i+)", "ypN0(mol+)", "ypN1", "ypNX", None])), max_size=10))
def test_pcr_strict_implies_lenient(rows):
    df = pcr_variants(pd.Series([r[0] for r in rows], dtype=object), pd.Series([r[1] for r in rows], dtype=object))
    for strict, lenient, breast in df.itertuples(index=False):
        if strict is True:
            assert lenient is True
        if lenient is True:
            assert breast is True


@given(st.lists(st.sampled_from(["positive", "negative", "unknown", None]), min_size=1, max_size=6))
def test_hr_status_symmetric(vals):
    a = pd.Series(vals, dtype=object)
    b = pd.Series(list(reversed(vals)), dtype=object)
    assert hr_status(a, b).tolist() == hr_status(b, a).tolist()


def test_error_is_value_error_and_picklable():
    err = DerivationError("her2_ihc", ["neg"], [3], "Map it.")
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.counts == {"neg": 3}
