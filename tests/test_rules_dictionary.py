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


# ----------------------------------------------------------------------------- shared helpers

from her2meta.dictionary import _missing_mask, _numeric, _parse_number, _same_index, _series, _translate  # noqa: E402


def test_derivation_error_lists_each_value_with_its_rows_then_the_hint():
    """The message a user reads: the field, how many values, each with 'N row(s)', then what to do."""
    e = DerivationError("ypt", ["T5", "x"], [1, 2], "Recode it.")
    assert str(e) == "field 'ypt': 2 value(s) cannot be derived: 'T5' (1 row), 'x' (2 rows). Recode it."
    assert e.counts == {"T5": 1, "x": 2}
    assert (e.field, e.value, e.count, e.hint) == ("ypt", ["T5", "x"], [1, 2], "Recode it.")


def test_derivation_error_of_one_value():
    e = DerivationError("her2_ihc", "4+", 3, "Use 0-3.")
    assert e.counts == {"4+": 3}
    assert str(e) == "field 'her2_ihc': 1 value(s) cannot be derived: '4+' (3 rows). Use 0-3."


def test_derivation_error_without_counts_or_hint_says_no_row_count():
    e = DerivationError("f", "a")
    assert str(e) == "field 'f': 1 value(s) cannot be derived: 'a'."
    assert DerivationError("f", ["a", "b"], 4).counts == {"a": 4, "b": 4}


def test_derivation_error_lists_at_most_20_values_and_says_how_many_more():
    e = DerivationError("f", list(range(23)), [1] * 23, "h")
    shown = ", ".join(f"{i} (1 row)" for i in range(20))
    assert str(e) == f"field 'f': 23 value(s) cannot be derived: {shown}, ... and 3 more. h"
    exactly_20 = DerivationError("f", list(range(20)), [2] * 20, "h")
    assert "more" not in str(exactly_20)


def test_derivation_error_survives_pickling_between_processes():
    import pickle
    e = pickle.loads(pickle.dumps(DerivationError("pr_status", ["pos"], [2], "Fix it.")))
    assert isinstance(e, DerivationError)
    assert (e.field, e.counts, e.hint) == ("pr_status", {"pos": 2}, "Fix it.")
    assert str(e) == "field 'pr_status': 1 value(s) cannot be derived: 'pos' (2 rows). Fix it."


def test_series_are_used_as_given_and_lists_become_object_series():
    s = pd.Series([1.0], name="x")
    assert _series(s) is s
    wrapped = _series([1, "a"], name="col")
    assert wrapped.dtype == object and wrapped.name == "col"
    assert _series(np.array([1.5, 2.5])).dtype == np.float64  # an array keeps its dtype


def test_inputs_must_share_their_index():
    a = pd.Series([1, 2], index=[0, 1])
    _same_index(a, pd.Series([3, 4], index=[0, 1]), pd.Series([5, 6], index=[0, 1]))
    with pytest.raises(ValueError, match="must share the same index"):
        _same_index(a, pd.Series([3, 4], index=[0, 1]), pd.Series([5, 6], index=[1, 0]))


@pytest.mark.parametrize("dtype", [object, "string"])
def test_missing_means_none_nan_na_and_blank_text(dtype):
    s = pd.Series(["a", None, "", "  \t", "b"], dtype=dtype)
    assert _missing_mask(s).tolist() == [False, True, True, True, False]


def test_missing_in_numbers_and_dates():
    assert _missing_mask(pd.Series([1.0, np.nan])).tolist() == [False, True]
    assert _missing_mask(pd.Series(pd.to_datetime(["2020-01-01", None]))).tolist() == [False, True]


def test_translate_keeps_index_and_name_and_maps_missing():
    s = pd.Series(["a", None, "b", "a"], index=[5, 6, 7, 8], name="src", dtype=object)
    out = _translate(s, str.upper, field="f", hint="h")
    assert out.index.tolist() == [5, 6, 7, 8] and out.name == "src" and str(out.dtype) == "string"
    assert out.tolist() == ["A", pd.NA, "B", "A"]
    renamed = _translate(s, str.upper, field="f", hint="h", name="dst", missing="?", dtype=None)
    assert renamed.name == "dst" and renamed.tolist() == ["A", "?", "B", "A"]


def test_translate_collects_every_bad_value_with_its_rows():
    def fn(v):
        if v == "k":
            raise KeyError(v)
        if v == "v":
            raise ValueError(v)
        if v == "t":
            raise TypeError(v)
        return v
    with pytest.raises(DerivationError) as e:
        _translate(pd.Series(["k", "v", "v", "t", "ok"]), fn, field="f", hint="h")
    assert e.value.counts == {"k": 1, "v": 2, "t": 1}
    assert e.value.field == "f" and e.value.hint == "h"


def test_translate_ignores_unused_categories():
    s = pd.Series(pd.Categorical(["a"], categories=["a", "bad"]))
    assert _translate(s, lambda v: {"a": "A"}[v], field="f", hint="h").tolist() == ["A"]


def test_translate_of_only_missing_values():
    out = _translate(pd.Series([None, ""], dtype=object), str.upper, field="f", hint="h", missing="unknown")
    assert out.tolist() == ["unknown", "unknown"]


@pytest.mark.parametrize("text,number", [("12", 12.0), (" 1.5 ", 1.5), ("+3", 3.0), ("-2e1", -20.0), (".5", 0.5),
                                         ("5.", 5.0), (7, 7.0), (np.int64(4), 4.0), (2.25, 2.25)])
def test_numbers_read_from_text_or_numbers(text, number):
    assert _parse_number(text) == number


@pytest.mark.parametrize("bad,error", [(True, TypeError), (np.bool_(False), TypeError), ("nan", ValueError),
                                       ("inf", ValueError), ("1,5", ValueError), ("0x10", ValueError),
                                       ("1_000", ValueError), (float("inf"), ValueError), (float("nan"), ValueError),
                                       ("", ValueError)])
def test_not_numbers(bad, error):
    """A boolean is not a number; nan/inf, commas, hex and underscores are not plain decimals."""
    with pytest.raises(error):
        _parse_number(bad)


def test_numeric_reads_text_and_rejects_out_of_range_with_counts():
    out = _numeric(pd.Series(["1", None, "2.5"], index=[3, 4, 5], name="x", dtype=object), field="x", lo=0.0,
                   hi=10.0, hint="h")
    assert out.index.tolist() == [3, 4, 5]
    assert out.iloc[0] == 1.0 and np.isnan(out.iloc[1]) and out.iloc[2] == 2.5
    with pytest.raises(DerivationError) as e:
        _numeric(pd.Series([-1.0, 11.0, 11.0, 5.0]), field="x", lo=0.0, hi=10.0, hint="h")
    assert e.value.counts == {-1.0: 1, 11.0: 2}
    assert e.value.hint == "h" and e.value.field == "x"


def test_numeric_bounds_are_inclusive_and_optional():
    assert _numeric(pd.Series([0.0, 10.0]), field="x", lo=0.0, hi=10.0, hint="h").tolist() == [0.0, 10.0]
    assert _numeric(pd.Series([-5.0, 1e9]), field="x", lo=None, hi=None, hint="h").tolist() == [-5.0, 1e9]


def test_numeric_rejects_infinity_even_without_bounds():
    with pytest.raises(DerivationError) as e:
        _numeric(pd.Series([1.0, np.inf]), field="x", lo=None, hi=None, hint="h")
    assert e.value.counts == {float("inf"): 1}


def test_numeric_rejects_a_boolean_column():
    """True/False is not a percentage or a ratio: each is a bad value, not 1 and 0."""
    with pytest.raises(DerivationError) as e:
        _numeric(pd.Series([True, False, True]), field="flag", lo=None, hi=None, hint="h")
    assert e.value.counts == {True: 2, False: 1}


def test_numeric_nullable_integers_keep_their_missing():
    out = _numeric(pd.Series([1, None], dtype="Int64"), field="x", lo=0.0, hi=None, hint="h")
    assert out.iloc[0] == 1.0 and np.isnan(out.iloc[1])


# ----------------------------------------------------------------------------- pCR (ypT/ypN)

from her2meta.dictionary import normalize_bor, objective_response, parse_ypn, parse_ypt, pcr_consistency, pcr_variants  # noqa: E402

YPT_HINT = ("Expected AJCC ypT codes such as ypT0, ypTis, ypT1mi, ypT2, ypTX; recode other labels in the study "
            "mapping.")
YPN_HINT = ("Expected AJCC ypN codes such as ypN0, ypN0(i+), ypN1mi, ypN2a, ypNX; recode other labels in the study "
            "mapping.")
FLAG_HINT = "A source pCR flag must be boolean or 0/1; map Y/N style codes in the study mapping."


@pytest.mark.parametrize("code,category", [
    ("ypTis(LCIS)", "Tis"), ("ypTis (Paget)", "Tis"), ("ypTis(dcis)", "Tis"), ("pT1MI", "T1mi"), ("T4a", "T4a"),
    ("ypt4b", "T4b"), ("ypT4c", "T4c"), ("YPTX", "TX"), ("ypT 0", "T0"), ("T3", "T3"), ("pt1a", "T1a"),
])
def test_ypt_categories(code, category):
    """AJCC ypT: any case, spaces ignored, optional yp/p prefix, every Tis subtype is Tis."""
    assert parse_ypt(pd.Series([code])).tolist() == [category]


@pytest.mark.parametrize("bad", ["ypTis(other)", "ypT4e", "ypT1m", "xT1", "ypT1 a b", "T0 is"])
def test_ypt_codes_outside_ajcc_stop_with_field_and_hint(bad):
    with pytest.raises(DerivationError) as e:
        parse_ypt(pd.Series([bad]))
    assert e.value.field == "ypt"  # an unnamed column is still named
    assert e.value.hint == YPT_HINT
    assert str(e.value).endswith(YPT_HINT)


def test_ypt_of_a_number_is_a_derivation_error():
    with pytest.raises(DerivationError) as e:
        parse_ypt(pd.Series([0, 0, "ypT0"], dtype=object, name="YPT"))
    assert e.value.field == "YPT" and e.value.counts == {0: 2}


@pytest.mark.parametrize("code,category", [
    ("ypN0(i+)(sn)", "N0(i+)"), ("ypN0(mol-)", "N0"), ("ypN0(i-)", "N0"), ("ypN1(f)", "N1"), ("ypN1mi(sn)", "N1mi"),
    ("pN0(MOL+)", "N0(mol+)"), ("ypN3a", "N3a"), ("yp N 2 b", "N2b"), ("NX", "NX"), ("ypN1c", "N1c"),
])
def test_ypn_categories(code, category):
    """AJCC ypN: (i-)/(mol-)/(sn)/(f) add nothing; (i+) and (mol+) are kept on N0 only."""
    assert parse_ypn(pd.Series([code])).tolist() == [category]


@pytest.mark.parametrize("bad", ["ypNX(i+)", "ypN1(mol+)", "ypN2(i-)", "ypN0(sn)(i+)", "ypN0(x)"])
def test_ypn_modifiers_that_ajcc_does_not_allow_stop_with_field_and_hint(bad):
    """Isolated tumour cells / molecular findings qualify N0 only; a modifier on N1+ or NX is an error."""
    with pytest.raises(DerivationError) as e:
        parse_ypn(pd.Series([bad]))
    assert e.value.field == "ypn"
    assert e.value.hint == YPN_HINT
    assert str(e.value).endswith(YPN_HINT)


def test_ypn_of_a_number_is_a_derivation_error():
    with pytest.raises(DerivationError) as e:
        parse_ypn(pd.Series([0], dtype=object))
    assert e.value.counts == {0: 1}


def test_pcr_variants_keep_the_patients_index():
    ypt = pd.Series(["ypT0", "ypT2"], index=["p9", "p1"])
    ypn = pd.Series(["ypN0", "ypN0"], index=["p9", "p1"])
    out = pcr_variants(ypt, ypn)
    assert out.index.tolist() == ["p9", "p1"]
    assert out["pcr_ypt0is_ypn0"].tolist() == [True, False]


def test_pcr_variants_need_aligned_inputs():
    with pytest.raises(ValueError, match="must share the same index"):
        pcr_variants(pd.Series(["ypT0"], index=[1]), pd.Series(["ypN0"], index=[2]))


def test_itc_are_residual_disease_by_default():
    """ypN0(i+) is not node-negative unless itc_is_pcr=True; ypN0(mol+) is node-negative either way."""
    ypt = pd.Series(["ypT0", "ypT0"])
    ypn = pd.Series(["ypN0(i+)", "ypN0(mol+)"])
    assert pcr_variants(ypt, ypn)["pcr_ypt0is_ypn0"].tolist() == [False, True]
    assert pcr_variants(ypt, ypn, itc_is_pcr=True)["pcr_ypt0is_ypn0"].tolist() == [True, True]


def test_pcr_consistency_passes_the_itc_option_on():
    ypt, ypn = pd.Series(["ypT0"]), pd.Series(["ypN0(i+)"])
    flag = pd.Series([1])
    assert pcr_consistency(flag, ypt, ypn).tolist() == [True]
    assert pcr_consistency(flag, ypt, ypn, itc_is_pcr=True).tolist() == [False]


def test_pcr_consistency_is_named_by_the_definition_and_keeps_the_index():
    ypt = pd.Series(["ypT0", "ypTis"], index=["a", "b"])
    ypn = pd.Series(["ypN0", "ypN0"], index=["a", "b"])
    out = pcr_consistency(pd.Series([True, True], index=["a", "b"]), ypt, ypn, "ypt0_ypn0")
    assert out.name == "pcr_ypt0_ypn0_inconsistent"
    assert out.dtype == bool
    assert out.index.tolist() == ["a", "b"]
    assert out.tolist() == [False, True]
    assert pcr_consistency(pd.Series([1, 1]), ypt.reset_index(drop=True), ypn.reset_index(drop=True)).name == \
        "pcr_ypt0is_ypn0_inconsistent"


@pytest.mark.parametrize("flag", [np.bool_(True), 1.0, np.int64(1), np.float64(1.0)])
def test_pcr_flag_accepts_booleans_and_zero_one(flag):
    out = pcr_consistency(pd.Series([flag, flag], dtype=object), pd.Series(["ypT2", "ypT0"]),
                          pd.Series(["ypN0", "ypN0"]))
    assert out.tolist() == [True, False]


@pytest.mark.parametrize("bad", [2, 0.5, "1", "Y", -1])
def test_pcr_flag_other_than_zero_one_stops_with_field_and_hint(bad):
    with pytest.raises(DerivationError) as e:
        pcr_consistency(pd.Series([1, bad], dtype=object), pd.Series(["ypT0", "ypT0"]), pd.Series(["ypN0", "ypN0"]))
    assert e.value.field == "pcr_flag"
    assert e.value.counts == {bad: 1}
    assert e.value.hint == FLAG_HINT
    assert str(e.value).endswith(FLAG_HINT)


def test_pcr_flag_error_names_the_flag_column():
    with pytest.raises(DerivationError) as e:
        pcr_consistency(pd.Series(["Y"], name="PCRFL"), pd.Series(["ypT0"]), pd.Series(["ypN0"]))
    assert e.value.field == "PCRFL"


def test_pcr_consistency_rejects_an_unknown_definition_by_name():
    with pytest.raises(ValueError) as e:
        pcr_consistency(pd.Series([1]), pd.Series(["ypT0"]), pd.Series(["ypN0"]), "pcr_total")
    assert str(e.value) == ("definition must be one of ('pcr_ypt0is_ypn0', 'pcr_ypt0_ypn0', 'pcr_breast'), "
                            "got 'pcr_total'")


def test_pcr_consistency_needs_the_flag_aligned_with_the_stages():
    with pytest.raises(ValueError, match="must share the same index"):
        pcr_consistency(pd.Series([1], index=[5]), pd.Series(["ypT0"]), pd.Series(["ypN0"]))


# ----------------------------------------------------------------------------- RECIST response

BOR_HINT = ("Allowed: CR, PR, SD, PD, NE, NON-CR/NON-PD or their spelled-out forms; recode other labels in the "
            "study mapping.")


@pytest.mark.parametrize("label,bor", [
    ("Complete Response", "CR"), ("partial_response", "PR"), ("Stable", "SD"), ("STABLE DISEASE", "SD"),
    ("NON-CR/NON-PD", "SD"), ("Non CR Non PD", "SD"), ("Progressive Disease", "PD"), ("progression", "PD"),
    ("Not Evaluable", "NE"), ("non-evaluable", "NE"), ("Inevaluable", "NE"), ("unevaluable", "NE"),
    ("not assessable", "NE"), (" pd ", "PD"), ("cr", "CR"), ("Pr", "PR"), ("sd", "SD"), ("ne", "NE"),
])
def test_bor_labels(label, bor):
    """RECIST 1.1 BOR in any case and spelling; non-CR/non-PD counts with SD (a non-responder)."""
    assert normalize_bor(pd.Series([label])).tolist() == [bor]


@pytest.mark.parametrize("bad", ["CRU", "responder", "uCR"])
def test_bor_outside_recist_stops_with_field_and_hint(bad):
    with pytest.raises(DerivationError) as e:
        normalize_bor(pd.Series([bad]))
    assert e.value.field == "best_overall_response"
    assert e.value.hint == BOR_HINT
    assert str(e.value).endswith(BOR_HINT)


def test_bor_of_a_number_is_a_derivation_error():
    with pytest.raises(DerivationError) as e:
        normalize_bor(pd.Series([1, "CR"], dtype=object, name="AVALC"))
    assert e.value.field == "AVALC" and e.value.counts == {1: 1}


def test_objective_response_is_cr_or_pr_with_na_for_missing():
    bor = pd.Series(["CR", "PR", "SD", "PD", "NE", None, "NON-CR/NON-PD"], index=list("abcdefg"), dtype=object,
                    name="AVALC")
    out = objective_response(bor)
    assert out.name == "objective_response"
    assert str(out.dtype) == "boolean"
    assert out.index.tolist() == list("abcdefg")
    assert out.tolist() == [True, True, False, False, False, pd.NA, False]
