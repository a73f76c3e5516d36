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


# ----------------------------------------------------------------------------- HER2 (ASCO/CAP 2018/2023)

from her2meta.dictionary import (  # noqa: E402
    her2_status,
    her2_unknown_reasons,
    ish_candidates,
    ish_group,
    normalize_ihc,
    normalize_ihc0_staining,
)

IHC_HINT = ("Allowed: 0, 1+, 2+, 3+ (also 0-3, 'IHC 2+'); map other source codes to a score in the study mapping, "
            "or to missing.")
STAINING_HINT = "Allowed: null (no staining), ultralow (faint incomplete staining in <= 10% of cells), unknown."
RATIO_HINT = "HER2/CEP17 ratios must be non-negative numbers."
COPIES_HINT = "Mean HER2 signals per cell must be non-negative numbers."
GROUP_HINT = "ISH groups are integers 1-5 (ASCO/CAP 2018); derive them with ish_group()."
CONFLICT_HINT = ("Staining detail (null/ultralow) describes IHC 0 tumours only; check the IHC and staining columns "
                 "in the study mapping.")


@pytest.mark.parametrize("value,score", [(np.int64(2), "2+"), (np.float64(3.0), "3+"), (0.0, "0"), ("IHC: 1+", "1+"),
                                         ("ihc 3 +", "3+"), ("IHC0", "0"), ("3", "3+")])
def test_ihc_scores_from_numbers_and_text(value, score):
    assert normalize_ihc(pd.Series([value], dtype=object)).tolist() == [score]


@pytest.mark.parametrize("bad", [np.bool_(True), -1, 3.5, "0 +", "IHC 4", "+2", b"2+"])
def test_ihc_values_that_are_not_a_score_stop_with_field_and_hint(bad):
    with pytest.raises(DerivationError) as e:
        normalize_ihc(pd.Series([bad], dtype=object))
    assert e.value.field == "her2_ihc"
    assert e.value.hint == IHC_HINT
    assert str(e.value).endswith(IHC_HINT)


def test_ihc_scores_keep_index_and_name_as_strings():
    out = normalize_ihc(pd.Series([1, None], index=["a", "b"], name="IHC", dtype=object))
    assert out.name == "IHC" and out.index.tolist() == ["a", "b"] and str(out.dtype) == "string"


def test_staining_outside_the_vocabulary_stops_with_field_and_hint():
    with pytest.raises(DerivationError) as e:
        normalize_ihc0_staining(pd.Series(["faint", 0, " Null "], dtype=object))
    assert e.value.field == "her2_ihc0_staining"
    assert e.value.counts == {"faint": 1, 0: 1}
    assert e.value.hint == STAINING_HINT
    assert str(e.value).endswith(STAINING_HINT)


def test_staining_missing_is_unknown_and_named_like_its_input():
    out = normalize_ihc0_staining(pd.Series([None, "", " Ultralow"], name="STAIN", dtype=object))
    assert out.tolist() == ["unknown", "unknown", "ultralow"]
    assert out.name == "STAIN"


@pytest.mark.parametrize("ratio,copies,group", [
    (2.0 - 1e-10, 4.0, 1), (2.0, 4.0 - 1e-10, 1), (1.99, 6.0 - 1e-10, 3), (1.99, 4.0 - 1e-10, 4),
    (2.0 - 1e-8, 4.0, 4), (2.0, 4.0 - 1e-8, 2), (1.0, 6.0 - 1e-8, 4), (1.0, 4.0 - 1e-8, 5),
    (0.0, 0.0, 5),
])
def test_ish_group_tolerance_is_one_billionth(ratio, copies, group):
    """Ratios and copy numbers within 1e-9 below a cut-off (rounding of a division) count as on it;
    further below they do not."""
    assert ish_group(pd.Series([ratio]), pd.Series([copies])).tolist() == [group]


def test_ish_group_column_is_named_her2_ish_group():
    out = ish_group(pd.Series([2.5], index=["t1"], name="R"), pd.Series([5.0], index=["t1"], name="C"))
    assert out.name == "her2_ish_group" and out.index.tolist() == ["t1"]


@pytest.mark.parametrize("ratio,copies,field,hint", [
    ([-0.1], [4.0], "her2_ish_ratio", RATIO_HINT),
    ([2.0], [-1.0], "her2_ish_copy_number", COPIES_HINT),
    (["high"], [4.0], "her2_ish_ratio", RATIO_HINT),
])
def test_ish_inputs_must_be_non_negative_numbers(ratio, copies, field, hint):
    with pytest.raises(DerivationError) as e:
        ish_group(pd.Series(ratio, dtype=object), pd.Series(copies, dtype=object))
    assert e.value.field == field
    assert e.value.hint == hint


def test_ish_inputs_may_be_large():
    """There is no upper bound on a ratio or a copy number (amplified tumours reach 20 and more)."""
    assert ish_group(pd.Series([25.0]), pd.Series([40.0])).tolist() == [1]


def test_ish_inputs_must_be_aligned():
    with pytest.raises(ValueError, match="must share the same index"):
        ish_group(pd.Series([2.0], index=[1]), pd.Series([4.0], index=[2]))


def test_ish_candidates_tolerance_and_name():
    ratio = pd.Series([2.0 - 1e-10, 2.0 - 1e-8, None, None, None, None], index=list("abcdef"))
    copies = pd.Series([None, None, 6.0 - 1e-10, 6.0 - 1e-8, 4.0 - 1e-10, 4.0 - 1e-8], index=list("abcdef"))
    out = ish_candidates(ratio, copies)
    assert out.tolist() == ["ratio >= 2.0", "ratio < 2.0", "copy number >= 6.0", "copy number 4.0-5.9",
                            "copy number 4.0-5.9", "copy number < 4.0"]
    assert out.name == "ish_candidates" and str(out.dtype) == "string" and out.index.tolist() == list("abcdef")


@pytest.mark.parametrize("group,expected", [("1", "positive"), (" 3 ", "positive"), (2.0, "low"), (np.int64(5), "low")])
def test_ish_group_given_as_text_or_number(group, expected):
    assert her2_status(pd.Series(["2+"]), pd.Series([group], dtype=object)).tolist() == [expected]


@pytest.mark.parametrize("bad", [True, 0, 2.5, "group 1", 6])
def test_ish_group_outside_1_to_5_stops_with_field_and_hint(bad):
    with pytest.raises(DerivationError) as e:
        her2_status(pd.Series(["2+"]), pd.Series([bad], dtype=object))
    assert e.value.field == "her2_ish_group"
    assert e.value.counts == {bad: 1}
    assert e.value.hint == GROUP_HINT
    assert str(e.value).endswith(GROUP_HINT)


def test_her2_status_table_with_every_group():
    """ASCO/CAP 2018: 3+ positive; group 1 positive whatever the IHC; 2+ with group 3 positive,
    2/4/5 low; 1+ low; 0 by staining; missing IHC unknown unless group 1."""
    ihc = pd.Series(["3+", "3+", "2+", "2+", "2+", "2+", "2+", "2+", "1+", "1+", "1+", "0", "0", "0", None, None,
                     None, None], dtype=object)
    grp = pd.Series([5, None, 1, 2, 3, 4, 5, None, 1, 3, None, 1, 3, None, 1, 2, 5, None], dtype="Int64")
    stain = pd.Series([None] * 11 + ["null", "ultralow", "ultralow"] + [None] * 4, dtype=object)
    out = her2_status(ihc, grp, stain)
    assert out.tolist() == ["positive", "positive", "positive", "low", "positive", "low", "low", "unknown", "positive",
                            "low", "low", "positive", "ultralow", "ultralow", "positive", "unknown", "unknown",
                            "unknown"]
    assert str(out.dtype) == "string"


def test_her2_status_needs_aligned_inputs():
    ihc = pd.Series(["2+"], index=[1])
    with pytest.raises(ValueError, match="must share the same index"):
        her2_status(ihc, pd.Series([1], index=[2]))
    with pytest.raises(ValueError, match="must share the same index"):
        her2_status(ihc, None, pd.Series(["null"], index=[2]))
    with pytest.raises(ValueError, match="must share the same index"):
        her2_status(ihc, ish_ratio=pd.Series([2.0], index=[2]), allow_ratio_only=True)
    with pytest.raises(ValueError, match="must share the same index"):
        her2_status(ihc, ish_ratio=pd.Series([2.0], index=[2]), ish_copy_number=pd.Series([np.nan], index=[2]))


def test_staining_on_a_tumour_that_is_not_ihc0_names_each_combination_with_its_rows():
    ihc = pd.Series(["2+", "1+", "1+", None, "0"], dtype=object)
    stain = pd.Series(["ultralow", "null", "null", "ultralow", "null"])
    with pytest.raises(DerivationError) as e:
        her2_status(ihc, None, stain)
    assert e.value.field == "her2_ihc0_staining"
    assert e.value.counts == {"ultralow with IHC 2+": 1, "null with IHC 1+": 2, "ultralow with IHC missing": 1}
    assert e.value.hint == CONFLICT_HINT
    assert str(e.value).endswith(CONFLICT_HINT)


def test_ratio_only_reading_fills_only_rows_without_a_group():
    """Legacy single criterion: ratio >= 2.0 (within 1e-9) reads as group 1, else group 5; a row
    with a group or without a ratio keeps its reading."""
    ihc = pd.Series(["2+", "2+", "2+", "2+", "1+"])
    grp = pd.Series([None, None, 2, None, None], dtype="Int64")
    ratio = pd.Series([2.0 - 1e-10, 2.0 - 1e-8, 9.0, None, 2.5])
    out = her2_status(ihc, grp, ish_ratio=ratio, allow_ratio_only=True)
    assert out.tolist() == ["positive", "low", "low", "unknown", "positive"]


def test_ratio_only_reading_checks_the_ratios():
    with pytest.raises(DerivationError) as e:
        her2_status(pd.Series(["2+"]), ish_ratio=pd.Series([-2.0]), allow_ratio_only=True)
    assert e.value.field == "her2_ish_ratio" and e.value.hint == RATIO_HINT
    with pytest.raises(DerivationError) as e:
        her2_status(pd.Series(["2+"]), ish_ratio=pd.Series([-2.0], name="RATIO"), allow_ratio_only=True)
    assert e.value.field == "RATIO"


def test_ratio_only_reading_ignores_the_copy_number():
    """With allow_ratio_only the incomplete-ISH table is not applied: IHC 1+ with ratio 2.5 is
    positive (as group 1), not unknown."""
    out = her2_status(pd.Series(["1+"]), ish_ratio=pd.Series([2.5]), ish_copy_number=pd.Series([np.nan]),
                      allow_ratio_only=True)
    assert out.tolist() == ["positive"]


def test_incomplete_ish_never_overrides_a_known_group():
    """A row with its ISH group keeps the group's call even if ratio/copies are incomplete there."""
    ihc = pd.Series(["1+", "1+"])
    grp = pd.Series([3, None], dtype="Int64")
    ratio, copies = pd.Series([2.5, 2.5]), pd.Series([np.nan, np.nan])
    assert her2_status(ihc, grp, ish_ratio=ratio, ish_copy_number=copies).tolist() == ["low", "unknown"]


def test_incomplete_ish_decides_per_row_within_one_table_entry():
    """Rows with the same candidate key but different IHC scores are decided each on its own."""
    ihc = pd.Series(["2+", "1+", "3+", "0"])
    copies = pd.Series([3.0, 3.0, 3.0, 3.0])
    ratio = pd.Series([np.nan] * 4)
    stain = pd.Series(["unknown", "unknown", "unknown", "ultralow"])
    out = her2_status(ihc, None, stain, ish_ratio=ratio, ish_copy_number=copies)
    assert out.tolist() == ["low", "low", "positive", "ultralow"]


def test_unknown_reasons_name_each_cause():
    ihc = pd.Series([None, None, "2+", "1+", "0", "2+", None, "3+"], index=list("abcdefgh"), dtype=object)
    grp = pd.Series([None, 3, None, None, None, None, None, None], index=ihc.index, dtype="Int64")
    ratio = pd.Series([None, None, None, None, None, 1.5, None, None], index=ihc.index, dtype=float)
    copies = pd.Series([None, None, None, 5.0, None, None, 7.0, None], index=ihc.index, dtype=float)
    status = pd.Series(["unknown", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown", "positive"],
                       index=ihc.index)
    out = her2_unknown_reasons(ihc, grp, ratio, copies, status)
    assert out.tolist() == [
        "no IHC score and no ISH result",
        "ISH group 3 without an IHC score (only group 1 decides alone)",
        "IHC 2+ (equivocal) without an ISH result",
        "incomplete ISH with IHC 1+: copy number 4.0-5.9 without ratio (group 1 or 4, which give different calls)",
        "IHC 0: not decided",
        "incomplete ISH with IHC 2+: ratio < 2.0 without copy number (group 3 or 4 or 5, which give different calls)",
        "incomplete ISH with IHC missing: copy number >= 6.0 without ratio (group 1 or 3, which give different calls)",
        pd.NA,
    ]
    assert out.name == "her2_unknown_reason" and str(out.dtype) == "string" and out.index.tolist() == list("abcdefgh")


def test_unknown_reasons_read_a_status_column_with_missing_values():
    out = her2_unknown_reasons(pd.Series(["2+", "2+"]), pd.Series([None, None], dtype="Int64"),
                               pd.Series([np.nan, np.nan]), pd.Series([np.nan, np.nan]),
                               pd.Series(["unknown", None], dtype=object))
    assert out.tolist() == ["IHC 2+ (equivocal) without an ISH result", pd.NA]


# ----------------------------------------------------------------------------- drugs and regimens

from her2meta.dictionary import DrugDictionary, parse_regimen, parse_regimens  # noqa: E402

ANTI_HER2_HINT = ("Add each token to the study mapping's `abbreviations` (e.g. {T: trastuzumab} or {TCHP: "
                  "docetaxel+carboplatin+trastuzumab+pertuzumab}) or correct the text. Tokens of 1-2 characters and "
                  "regimen abbreviations such as T, P, H, TCH, TCHP, wP are never resolved from the global drug "
                  "dictionary.")
DECLARE_HINT = ("A regimen or drug outside the dictionary (physician's choice, an investigational agent) is declared in "
                "the mapping: `regimens: {\"Physician's choice\": other}` or `unlisted_agents: {XYZ-123: "
                "investigational}`; regimen-class analyses then leave those patients out, counted.")

SMALL = {
    "class_order": ["anthracycline", "taxane", "platinum", "anti_her2_mab", "anti_her2_tki", "anti_her2_adc",
                    "endocrine"],
    "agents": [
        {"name": "docetaxel", "class": "taxane", "brands": ["Taxotere"], "codes": ["RP-56976"], "synonyms": ["DTX"]},
        {"name": "doxorubicin", "class": "anthracycline"},
        {"name": "carboplatin", "class": "platinum"},
        {"name": "trastuzumab", "class": "anti_her2_mab", "subclass": "mab",
         "biosimilars": [{"brand": "Ogivri", "name": "trastuzumab-dkst"}, {"brand": "Hercessi"}]},
        {"name": "pertuzumab", "class": "anti_her2_mab"},
        {"name": "lapatinib", "class": "anti_her2_tki"},
        {"name": "letrozole", "class": "endocrine"},
    ],
    "combinations": [{"name": "Phesgo", "agents": ["trastuzumab", "pertuzumab"], "synonyms": ["PH-FDC"]}],
    "ignore": ["placebo", "hyaluronidase"],
    "study_only_abbreviations": ["TCH", "Doc"],
}


@pytest.fixture(scope="module")
def small():
    return DrugDictionary(SMALL)


def test_every_name_brand_code_synonym_and_biosimilar_resolves_to_its_generic(small):
    for name in ("Docetaxel", "taxotere", "rp 56976", "dtx", "Ogivri", "trastuzumab_dkst", "Hercessi"):
        assert small.lookup(name) is not None, name
    assert small.lookup("RP.56976") == ("docetaxel",)
    assert small.lookup("Trastuzumab-DKST") == ("trastuzumab",)
    assert small.lookup("PH FDC") == ("pertuzumab", "trastuzumab")  # a combination: its agents, sorted
    assert small.lookup("Hyaluronidase") == ()
    assert small.subclasses == {"docetaxel": None, "doxorubicin": None, "carboplatin": None, "trastuzumab": "mab",
                                "pertuzumab": None, "lapatinib": None, "letrozole": None}


def test_study_only_abbreviations_never_resolve_globally(small):
    """T is trastuzumab in one trial and docetaxel in another: 1-2 characters and the listed
    regimen abbreviations never resolve from the dictionary."""
    assert small.lookup("TCH") is None and small.lookup("doc") is None and small.lookup("D") is None
    assert small.is_study_only("t-ch") and small.is_study_only("AB") and not small.is_study_only("ABC")
    assert small.lookup("ABC") is None  # unknown
    assert small.lookup(" - ") is None  # nothing left after dropping spaces and hyphens


def test_canonical_order_is_class_order_then_dictionary_order(small):
    assert small.canonical_order(["letrozole", "pertuzumab", "trastuzumab", "docetaxel", "doxorubicin", "docetaxel"]) \
        == ["doxorubicin", "docetaxel", "trastuzumab", "pertuzumab", "letrozole"]
    assert small.drug_class("lapatinib") == "anti_her2_tki"


@pytest.mark.parametrize("change,message", [
    (lambda d: d["agents"].append({"name": "x1", "class": "vinca"}), "drug dictionary: unknown class 'vinca' for 'x1'"),
    (lambda d: d["combinations"].append({"name": "Combo", "agents": ["docetaxel", "nope"]}),
     "drug dictionary: combination 'Combo' lists unknown ['nope']"),
    (lambda d: d["agents"].append({"name": "tch", "class": "taxane"}),
     "drug dictionary: names ['tch'] would be study-only abbreviations"),
    (lambda d: d["agents"].append({"name": "paclitaxel", "class": "taxane", "synonyms": ["Taxotere"]}),
     "drug dictionary: 'Taxotere' resolves to both ('docetaxel',) and ('paclitaxel',)"),
    (lambda d: d["ignore"].append("dtx"), "drug dictionary: 'dtx' resolves to both ('docetaxel',) and ()"),
])
def test_a_dictionary_with_contradictions_is_refused(change, message):
    import copy
    data = copy.deepcopy(SMALL)
    change(data)
    with pytest.raises(ValueError) as e:
        DrugDictionary(data)
    assert str(e.value) == message


def test_a_dictionary_may_list_a_name_twice_for_the_same_agent():
    import copy
    data = copy.deepcopy(SMALL)
    data["agents"][0]["synonyms"] = ["DTX", "dtx", "Taxotere"]
    assert DrugDictionary(data).lookup("dtx") == ("docetaxel",)


def test_a_dictionary_without_optional_sections():
    d = DrugDictionary({"class_order": ["taxane"], "agents": [{"name": "docetaxel", "class": "taxane"}]})
    assert d.lookup("docetaxel") == ("docetaxel",)
    assert d.lookup("placebo") is None


def test_the_packaged_dictionary_is_loaded_once():
    assert DrugDictionary.load() is DrugDictionary.load()


def test_a_dictionary_file_is_read_as_utf8(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("class_order: [taxane]\nagents:\n  - {name: docetaxel, class: taxane, brands: [Taxotère]}\n",
                    encoding="utf-8")
    assert DrugDictionary.load(path).lookup("Taxotère") == ("docetaxel",)
    assert DrugDictionary.load(str(path)).lookup("taxotère") == ("docetaxel",)


@pytest.mark.parametrize("text,regimen", [
    ("docetaxel & trastuzumab [weekly]", "docetaxel+trastuzumab"),
    ("epirubicin with trastuzumab", "epirubicin+trastuzumab"),
    ("Doxorubicin AND cyclophosphamide => paclitaxel PLUS trastuzumab", "doxorubicin+cyclophosphamide+paclitaxel+trastuzumab"),
    ("ICI 182,780 + trastuzumab", "trastuzumab+fulvestrant"),
    ("trastuzumab 6 mg / kg + docetaxel 75mg/m² ×6 cycles", "docetaxel+trastuzumab"),
    ("paclitaxel 80 mg/m2 weekly x12 + trastuzumab i.v.", "paclitaxel+trastuzumab"),
    ("capecitabine p.o. + lapatinib oral", "capecitabine+lapatinib"),
    ("trastuzumab s.c. + pertuzumab intravenous", "trastuzumab+pertuzumab"),
    ("carboplatin AUC 6 + trastuzumab subcutaneous q3w", "carboplatin+trastuzumab"),
    ("doxorubicin 60mg + cyclophosphamide 600 mg then paclitaxel 4 cycles", "doxorubicin+cyclophosphamide+paclitaxel"),
    ("trastuzumab 8 IU; docetaxel 1.5 U", "docetaxel+trastuzumab"),
    ("trastuzumab 2 mg/kg", "trastuzumab"),
    ("paclitaxel followed  by trastuzumab → lapatinib -> letrozole", "paclitaxel+trastuzumab+lapatinib+letrozole"),
])
def test_separators_sequence_words_and_dose_qualifiers(text, regimen):
    """Doses, AUC, cycles, schedules and routes are dropped; '+ / , ; & ( ) [ ] and plus with' split
    agents, '-> → => then followed by' split phases; '182,780' is one code, not two tokens."""
    assert parse_regimen(text).regimen == regimen


def test_endocrine_concurrent_means_in_the_same_phase_as_an_anti_her2_agent():
    assert parse_regimen("letrozole + lapatinib").endocrine_concurrent is True
    assert parse_regimen("letrozole => trastuzumab").endocrine_concurrent is False
    assert parse_regimen("trastuzumab followed by letrozole + docetaxel").endocrine_concurrent is False


def test_chemotherapy_flags():
    r = parse_regimen("doxorubicin + carboplatin + trastuzumab")
    assert (r.chemo_anthracycline, r.chemo_taxane, r.chemo_platinum) == (True, False, True)


def test_regimen_as_a_row_has_the_harmonized_columns():
    r = parse_regimen("docetaxel + carboplatin + trastuzumab + pertuzumab")
    assert r.as_row() == {"regimen": "docetaxel+carboplatin+trastuzumab+pertuzumab",
                          "anti_her2": "trastuzumab+pertuzumab", "regimen_class": "dual_mab",
                          "chemo_anthracycline": False, "chemo_taxane": True, "chemo_platinum": True,
                          "endocrine_concurrent": False}
    assert r.agents == ("carboplatin", "docetaxel", "pertuzumab", "trastuzumab") and r.declared == ()


@pytest.mark.parametrize("text,cls", [
    ("pertuzumab + docetaxel", "pertuzumab"), ("pertuzumab + lapatinib", "tki"), ("lapatinib + neratinib", "tki"),
    ("trastuzumab + neratinib", "mab_tki"), ("T-DM1 + trastuzumab", "adc_mab"), ("T-DM1 + T-DXd", "adc"),
    ("zanidatamab + trastuzumab", "other_her2"), ("margetuximab + lapatinib", "other_her2"),
    ("T-DM1 + lapatinib + trastuzumab", "other_her2"), ("letrozole + palbociclib", "none"),
])
def test_regimen_classes_of_the_anti_her2_agents(text, cls):
    """pertuzumab without trastuzumab is not dual blockade; a TKI with trastuzumab is mab_tki, without it tki;
    an ADC with a mab is adc_mab; an ADC with a TKI, or any other anti-HER2 agent, is other_her2."""
    assert parse_regimen(text).regimen_class == cls


def test_unresolved_tokens_error_lists_three_examples_and_both_hints():
    with pytest.raises(DerivationError) as e:
        parse_regimen("T + foo + bar + baz")
    error = e.value
    assert error.field == "regimen"
    assert error.counts == {"T": 1, "foo": 1, "bar": 1, "baz": 1}
    text = "'T + foo + bar + baz'"
    assert error.hint == (f"Unresolved regimen tokens (e.g. 'T' in {text}; 'foo' in {text}; 'bar' in {text}). "
                          f"{ANTI_HER2_HINT} {DECLARE_HINT}")


def test_an_unresolved_token_is_counted_once_per_patient_and_shown_in_its_first_text():
    with pytest.raises(DerivationError) as e:
        parse_regimens(pd.Series(["foo + foo", "docetaxel + foo", "foo + foo"]))
    assert e.value.counts == {"foo": 3}
    assert "'foo' in 'foo + foo'" in e.value.hint


def test_a_regimen_without_any_drug_name_stops_with_its_rows():
    with pytest.raises(DerivationError) as e:
        parse_regimens(pd.Series([" + ", "(x4)", " + ", "docetaxel"]))
    assert e.value.counts == {" + ": 2, "(x4)": 1}
    assert e.value.hint == "No drug name found in the regimen text."


def test_a_regimen_that_is_not_text_stops():
    with pytest.raises(DerivationError) as e:
        parse_regimens(pd.Series([5, 5, "docetaxel"], dtype=object))
    assert e.value.field == "regimen" and e.value.counts == {5: 2}
    assert e.value.hint == "Regimen values must be text."


def test_abbreviations_may_be_lists_and_may_expand_to_nothing():
    r = parse_regimen("TH + X", {"TH": ["paclitaxel", "trastuzumab"], "X": "none"})
    assert r.regimen == "paclitaxel+trastuzumab"
    assert parse_regimen("TH", {"TH": "paclitaxel -> trastuzumab"}).regimen == "paclitaxel+trastuzumab"


def test_an_abbreviation_expansion_must_use_dictionary_names():
    with pytest.raises(DerivationError) as e:
        parse_regimen("TX", {"TX": "docetaxel+Foo+T"})
    assert e.value.field == "abbreviations"
    assert e.value.counts == {"Foo": None, "T": None}
    assert e.value.hint == ("The expansion of 'TX' ('docetaxel+Foo+T') must use generic names, brands or codes "
                            "from the drug dictionary.")


def test_abbreviation_keys_that_differ_only_in_case_must_agree():
    assert parse_regimen("tc", {"TC": "docetaxel", "tc": "docetaxel"}).regimen == "docetaxel"
    with pytest.raises(ValueError) as e:
        parse_regimen("TC", {"TC": "docetaxel", "t c": "carboplatin"})
    assert str(e.value) == "abbreviations: 't c' clashes with another key differing only in case/spacing"


def test_a_study_abbreviation_wins_over_the_dictionary():
    assert parse_regimen("Herceptin", {"Herceptin": "pertuzumab"}).regimen == "pertuzumab"


def test_a_qualified_abbreviation_resolves():
    assert parse_regimen("T 100 mg/m2 + H", {"T": "docetaxel", "H": "trastuzumab"}).regimen == "docetaxel+trastuzumab"


def test_a_declared_class_must_be_other_or_investigational():
    with pytest.raises(DerivationError) as e:
        parse_regimen("X-1", regimens={"Physician's choice": "chemo"})
    assert e.value.field == "regimens"
    assert e.value.counts == {"Physician's choice": None}
    assert e.value.hint == "Declare \"Physician's choice\" as one of other, investigational."


def test_an_unlisted_agent_that_the_dictionary_knows_is_refused_with_what_it_is():
    with pytest.raises(DerivationError) as e:
        parse_regimen("docetaxel", unlisted_agents={"Herceptin": "investigational", "placebo": "other", "ABC-1": "other"})
    assert e.value.field == "unlisted_agents"
    assert e.value.counts == {"Herceptin": None, "placebo": None}
    assert e.value.hint == ("These names are in the drug dictionary: 'Herceptin' (= trastuzumab), 'placebo' (= nothing: "
                            "ignored); remove them from unlisted_agents.")


def test_a_declared_whole_regimen_is_matched_like_a_token_and_keeps_its_text():
    r = parse_regimen("  physician's-choice ", regimens={"Physician's choice": "other"})
    assert (r.regimen, r.regimen_class, r.anti_her2, r.declared, r.agents) == (
        "physician's-choice", "other", None, ("Physician's choice",), ())
    assert (r.chemo_anthracycline, r.chemo_taxane, r.chemo_platinum, r.endocrine_concurrent) == (None,) * 4


def test_an_unlisted_agent_with_a_dose_is_still_declared():
    r = parse_regimen("ABC-123 10 mg/kg + ABC-123", unlisted_agents={"ABC-123": "other"})
    assert (r.regimen, r.regimen_class, r.declared) == ("ABC-123", "other", ("ABC-123",))


def test_parse_regimens_reads_each_distinct_text_once_and_fills_missing():
    s = pd.Series([None, "lapatinib", "", "lapatinib", "Physician's choice"], index=list("vwxyz"), dtype=object)
    out = parse_regimens(s, regimens={"Physician's choice": "investigational"})
    assert out.index.tolist() == list("vwxyz")
    assert out["regimen"].tolist() == [pd.NA, "lapatinib", pd.NA, "lapatinib", "Physician's choice"]
    assert out["regimen_class"].tolist() == [pd.NA, "tki", pd.NA, "tki", "investigational"]
    assert out["anti_her2"].tolist() == [pd.NA, "lapatinib", pd.NA, "lapatinib", pd.NA]
    assert out["endocrine_concurrent"].tolist() == [pd.NA, False, pd.NA, False, pd.NA]
    assert [str(t) for t in out.dtypes] == ["string"] * 3 + ["boolean"] * 4


def test_parse_regimens_of_only_missing_values():
    out = parse_regimens(pd.Series([None, ""], dtype=object))
    assert out["regimen"].isna().all() and len(out) == 2


@pytest.mark.parametrize("flag", [0, 0.0, np.int64(0), np.float64(0.0), False])
def test_pcr_flag_zero_means_no_pcr(flag):
    """A source flag of 0 (or False) is 'no pCR': it contradicts a ypT0 ypN0 and agrees with ypT2."""
    out = pcr_consistency(pd.Series([flag, flag], dtype=object), pd.Series(["ypT0", "ypT2"]),
                          pd.Series(["ypN0", "ypN0"]))
    assert out.tolist() == [True, False]


# ----------------------------------------------------------------------------- drugs (issue 18, her2meta.dictionary.drugs)



def test_an_abbreviation_expanding_to_a_code_with_a_thousands_comma_is_one_drug():
    """'ICI 182,780' (fulvestrant's code, drugs.yaml) in an abbreviation's expansion is one token, not two."""
    r = parse_regimen("F + trastuzumab", {"F": "ICI 182,780"})
    assert r.agents == ("fulvestrant", "trastuzumab")


def test_an_unlisted_agent_followed_by_a_plain_dose_is_still_declared():
    """A declared agent written with a dose ('XYZ-123 200 mg') is the declared agent, the dose dropped."""
    r = parse_regimen("XYZ-123 200 mg + trastuzumab", unlisted_agents={"XYZ-123": "investigational"})
    assert (r.regimen, r.regimen_class, r.declared) == ("trastuzumab+XYZ-123", "investigational", ("XYZ-123",))


def _tiny_dictionary(**extra):
    data = {"class_order": ["anti_her2_mab", "taxane"],
            "agents": [{"name": "trastuzumab", "class": "anti_her2_mab"},
                       {"name": "pertuzumab", "class": "anti_her2_mab"},
                       {"name": "docetaxel", "class": "taxane"}]}
    data.update(extra)
    return DrugDictionary(data)


def test_a_combination_product_without_synonyms_resolves_by_its_name():
    """Synonyms of a combination product are optional: its name alone resolves to its agents."""
    d = _tiny_dictionary(combinations=[{"name": "DuoMab", "agents": ["trastuzumab", "pertuzumab"]}])
    assert d.lookup("duomab") == ("pertuzumab", "trastuzumab")


def test_an_unlisted_agent_that_is_a_combination_product_names_its_agents_in_the_error():
    """Declaring Phesgo as unlisted is refused, the message saying what it already is."""
    with pytest.raises(DerivationError) as e:
        parse_regimen("Phesgo", unlisted_agents={"Phesgo": "other"})
    assert e.value.field == "unlisted_agents"
    assert "'Phesgo' (= pertuzumab+trastuzumab)" in e.value.hint


def test_an_unlisted_agent_with_a_class_outside_the_declared_classes_names_unlisted_agents():
    """The error for `unlisted_agents: {XYZ-123: chemo}` points the user at unlisted_agents."""
    with pytest.raises(DerivationError, match="Declare 'XYZ-123' as one of other, investigational") as e:
        parse_regimen("XYZ-123", unlisted_agents={"XYZ-123": "chemo"})
    assert e.value.field == "unlisted_agents"


def test_an_expansion_list_skips_blank_and_none_entries_and_keeps_the_rest():
    """In an abbreviation's expansion, '' and 'none' add no agent and do not end the list."""
    r = parse_regimen("HP", {"HP": ["", "none", "trastuzumab", "pertuzumab"]})
    assert r.agents == ("pertuzumab", "trastuzumab")
    r = parse_regimen("HX", {"HX": "none + trastuzumab"})
    assert r.agents == ("trastuzumab",)


def test_a_regimen_of_only_qualifiers_is_reported_under_field_regimen():
    """A text with no drug name ('6 cycles') stops the study under field 'regimen'."""
    with pytest.raises(DerivationError, match="No drug name found in the regimen text") as e:
        parse_regimen("6 cycles")
    assert e.value.field == "regimen"


def test_a_qualifier_or_an_empty_token_in_a_regimen_does_not_end_the_phase():
    """'docetaxel + 6 cycles + trastuzumab' and 'docetaxel, , trastuzumab' hold both drugs."""
    assert parse_regimen("docetaxel + 6 cycles + trastuzumab").agents == ("docetaxel", "trastuzumab")
    assert parse_regimen("docetaxel, , trastuzumab").agents == ("docetaxel", "trastuzumab")


def test_parse_regimens_of_only_declared_regimens_keeps_the_column_types():
    """Columns are string / nullable boolean even when every value is unknown (a declared regimen)."""
    df = parse_regimens(pd.Series(["Physician's choice"] * 2), regimens={"Physician's choice": "other"})
    assert str(df["anti_her2"].dtype) == "string"
    assert str(df["regimen"].dtype) == "string"
    for c in ("chemo_anthracycline", "chemo_taxane", "chemo_platinum", "endocrine_concurrent"):
        assert str(df[c].dtype) == "boolean"
        assert df[c].isna().all()
    assert df["anti_her2"].isna().all()


# ----------------------------------------------------------------------------- DerivationError listing

def test_derivation_error_says_one_more_when_one_value_is_past_the_listed_twenty():
    """21 bad values: 20 are listed and the message says '... and 1 more' (none is silently left out)."""
    e = DerivationError("x", [f"v{i}" for i in range(21)], [1] * 21, "Fix it.")
    assert ", ... and 1 more." in str(e)
    assert "'v20'" not in str(e)


def test_an_expansion_given_as_a_list_takes_each_entry_as_one_drug_name():
    """The list form of an expansion is not split: an entry holding two names is refused and named."""
    with pytest.raises(DerivationError, match="must use generic names, brands or codes") as e:
        parse_regimen("TH", {"TH": ["docetaxel+trastuzumab"]})
    assert e.value.field == "abbreviations"
    assert list(e.value.counts) == ["docetaxel+trastuzumab"]
    assert parse_regimen("TH", {"TH": ["docetaxel", "trastuzumab"]}).agents == ("docetaxel", "trastuzumab")
