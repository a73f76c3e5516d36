"""pCR variants from ypT/ypN (FDA 2014/2020 pCR guidance; NeoSTEEP; CTNeoBC definitions)."""

import pandas as pd
import pytest

from her2meta.dictionary import DerivationError, parse_ypn, parse_ypt, pcr_consistency, pcr_variants


def test_parse_ypt_forms():
    s = pd.Series(["ypT0", "T0", "ypTis", "pTis", "yptis (DCIS)", "ypT1mi", "YPT1A", "ypT1b", "t1c",
                   "ypT1", "ypT2", "ypT3", "ypT4", "ypT4d", "ypTX", "tx", " ypT 2 ", None, ""], dtype=object)
    assert parse_ypt(s).tolist() == ["T0", "T0", "Tis", "Tis", "Tis", "T1mi", "T1a", "T1b", "T1c",
                                     "T1", "T2", "T3", "T4", "T4d", "TX", "TX", "T2", pd.NA, pd.NA]


def test_parse_ypn_forms():
    s = pd.Series(["ypN0", "N0", "ypN0(i+)", "ypN0 (i+)", "pN0(mol+)", "ypN0(i-)", "ypN0(sn)",
                   "ypN1mi", "ypN1", "N1a", "N2a", "ypN2b", "ypN3c", "ypNX", "nx", None], dtype=object)
    assert parse_ypn(s).tolist() == ["N0", "N0", "N0(i+)", "N0(i+)", "N0(mol+)", "N0", "N0",
                                     "N1mi", "N1", "N1a", "N2a", "N2b", "N3c", "NX", "NX", pd.NA]


@pytest.mark.parametrize("bad", ["ypT5", "T1d", "ypT0/is", "0", "cT2", "yT2", "T", 0])
def test_parse_ypt_rejects(bad):
    with pytest.raises(DerivationError) as e:
        parse_ypt(pd.Series(["ypT0", bad, bad], dtype=object, name="ypt"))
    assert e.value.field == "ypt" and e.value.counts == {bad: 2}


@pytest.mark.parametrize("bad", ["ypN4", "N1(i+)", "N2c", "node negative", "N0(x)"])
def test_parse_ypn_rejects(bad):
    with pytest.raises(DerivationError) as e:
        parse_ypn(pd.Series([bad], name="ypn"))
    assert e.value.field == "ypn" and list(e.value.counts) == [bad]


# rows: (ypT, ypN) -> (ypT0/is ypN0, ypT0 ypN0, ypT0/is breast)
CASES = [
    ("ypT0", "ypN0", True, True, True),
    ("ypTis", "ypN0", True, False, True),          # DCIS allowed only by ypT0/is
    ("ypT1mi", "ypN0", False, False, False),       # microinvasion is invasive residual
    ("ypT1a", "ypN0", False, False, False),
    ("ypT0", "ypN0(i+)", False, False, True),      # ITCs: residual unless itc_is_pcr
    ("ypT0", "ypN0(mol+)", True, True, True),      # molecular-only findings count as N0
    ("ypT0", "ypN1mi", False, False, True),
    ("ypT0", "ypNX", pd.NA, pd.NA, True),          # pcr_breast does not need ypN
    ("ypTis", None, pd.NA, False, True),           # strict definition already failed by Tis
    ("ypTX", "ypN0", pd.NA, pd.NA, pd.NA),
    (None, "ypN0", pd.NA, pd.NA, pd.NA),
    ("ypTX", "ypN2", False, False, pd.NA),         # nodal residual decides non-pCR
    ("ypT2", "ypNX", False, False, False),         # breast residual decides non-pCR
    (None, None, pd.NA, pd.NA, pd.NA),
]


def test_pcr_variants_table():
    ypt = pd.Series([c[0] for c in CASES], dtype=object, index=range(100, 100 + len(CASES)))
    ypn = pd.Series([c[1] for c in CASES], dtype=object, index=ypt.index)
    out = pcr_variants(ypt, ypn)
    assert list(out.columns) == ["pcr_ypt0is_ypn0", "pcr_ypt0_ypn0", "pcr_breast"]
    assert out.index.equals(ypt.index)
    assert all(str(t) == "boolean" for t in out.dtypes)
    for i, c in enumerate(CASES):
        assert out.iloc[i].tolist() == list(c[2:]), c


def test_itc_is_pcr_option():
    out = pcr_variants(pd.Series(["T0", "Tis"]), pd.Series(["N0(i+)", "N0(i+)"]), itc_is_pcr=True)
    assert out["pcr_ypt0is_ypn0"].tolist() == [True, True]
    assert out["pcr_ypt0_ypn0"].tolist() == [True, False]


def test_pcr_consistency():
    ypt = pd.Series(["ypT0", "ypTis", "ypT2", "ypTX", "ypT0", "ypT0"])
    ypn = pd.Series(["ypN0", "ypN0", "ypN0", "ypN0", "ypN1", "ypN0"])
    flag = pd.Series([1, 1, 1, 1, 0, None], dtype=object)
    assert pcr_consistency(flag, ypt, ypn, "ypt0is_ypn0").tolist() == [False, False, True, False, False, False]
    assert pcr_consistency(flag, ypt, ypn, "pcr_ypt0_ypn0").tolist() == [False, True, True, False, False, False]
    assert pcr_consistency(pd.Series([True, False, False, True, False, False]), ypt, ypn, "breast").tolist() == [
        False, True, False, False, True, True]


def test_pcr_consistency_rejects_bad_flag_and_definition():
    ypt, ypn = pd.Series(["ypT0"]), pd.Series(["ypN0"])
    with pytest.raises(DerivationError):
        pcr_consistency(pd.Series(["Y"]), ypt, ypn)
    with pytest.raises(ValueError, match="definition must be one of"):
        pcr_consistency(pd.Series([1]), ypt, ypn, "ypT0")
