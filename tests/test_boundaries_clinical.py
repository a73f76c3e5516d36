"""Both sides of every clinical threshold the harmonization encodes, as tables.

Each row names its case and states the expected value read from the clinical definition
(../shared/domain/FACTS.md section C, and the module docstrings that cite it):

- ER/PgR positive at >= 1% of stained nuclei, ER-low 1-10% (ASCO/CAP 2020); HR+ = ER+ or PgR+;
- HER2 (ASCO/CAP 2018, affirmed 2023): ISH groups from ratio 2.0 and copy numbers 4.0 / 6.0,
  the IHC x group table, HER2-low / ultralow / null;
- pCR: ypT0/is ypN0, ypT0 ypN0, ypT0/is; ypT1mi and ypN1mi are residual invasive disease,
  ypN0(i+) is residual disease unless itc_is_pcr;
- RECIST 1.1: confirmation >= 28 days, the minimum SD duration, the start and first-PD window;
- the data cut-off (calendar date or study day) and the follow-up plausibility rule.

A `<` turned into `<=` (or the reverse) in any of these moves one row to the other side.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from her2meta.config import validate_config
from her2meta.cutoff import apply_cutoff
from her2meta.dictionary import (DerivationError, er_low, her2_status, hr_status, ish_group, pcr_variants,
                                 receptor_status_from_percent)
from her2meta.errors import ConfigError, StudyDataError
from her2meta.mapping import SUBJECT, _check_unknown_keys
from her2meta.plausibility import check_follow_up
from her2meta.recist import Rule, best_overall_response

DAYS_PER_MONTH = 365.25 / 12  # the project's month (docs/methods/derivations.md), written out
ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------------
# ER / PgR percentage cut-off (harmonization.hr_threshold_percent; dictionary/receptors.py)

RECEPTOR_PERCENT = [
    # (percent, threshold, status)  ASCO/CAP 2020: positive from 1% of nuclei; 10% is the sensitivity cut-off
    pytest.param(0.0, 1, "negative", id="0pct_t1_negative"),
    pytest.param(0.5, 1, "negative", id="0.5pct_t1_negative"),
    pytest.param(0.99, 1, "negative", id="0.99pct_t1_just_below_negative"),
    pytest.param(1.0, 1, "positive", id="1pct_t1_at_threshold_positive"),
    pytest.param(1.01, 1, "positive", id="1.01pct_t1_just_above_positive"),
    pytest.param(9.99, 1, "positive", id="9.99pct_t1_positive"),
    pytest.param(10.0, 1, "positive", id="10pct_t1_positive"),
    pytest.param(100.0, 1, "positive", id="100pct_t1_positive"),
    pytest.param(0.0, 10, "negative", id="0pct_t10_negative"),
    pytest.param(1.0, 10, "negative", id="1pct_t10_negative"),
    pytest.param(1.01, 10, "negative", id="1.01pct_t10_negative"),
    pytest.param(9.99, 10, "negative", id="9.99pct_t10_just_below_negative"),
    pytest.param(10.0, 10, "positive", id="10pct_t10_at_threshold_positive"),
    pytest.param(10.01, 10, "positive", id="10.01pct_t10_just_above_positive"),
    pytest.param(100.0, 10, "positive", id="100pct_t10_positive"),
    pytest.param(None, 1, "unknown", id="missing_unknown"),
]


@pytest.mark.parametrize("percent, threshold, expected", RECEPTOR_PERCENT)
def test_receptor_status_on_both_sides_of_the_cut_off(percent, threshold, expected):
    """Positive when percent >= threshold, negative below it (ASCO/CAP 2020 ER/PgR)."""
    out = receptor_status_from_percent(pd.Series([percent], dtype=object, name="er_percent"), threshold=threshold)
    assert out.tolist() == [expected]


@pytest.mark.parametrize("percent", [pytest.param(-0.1, id="below_0"), pytest.param(100.1, id="above_100")])
@pytest.mark.parametrize("threshold", [1, 10])
def test_receptor_percent_outside_0_to_100_is_refused(percent, threshold):
    """A share of nuclei outside 0..100% is not a percentage: it stops, naming the value."""
    with pytest.raises(DerivationError) as err:
        receptor_status_from_percent(pd.Series([50.0, percent], name="er_percent"), threshold=threshold)
    assert err.value.field == "er_percent" and err.value.counts == {percent: 1}


@pytest.mark.parametrize("percent", [pytest.param(0.0, id="0pct"), pytest.param(100.0, id="100pct")])
def test_receptor_percent_range_ends_are_valid(percent):
    """0% and 100% are the ends of the valid range, not outside it."""
    assert receptor_status_from_percent(pd.Series([percent])).tolist() == ["negative" if percent == 0 else "positive"]


@pytest.mark.parametrize("threshold, expected", [
    # ER 5% at each threshold; the threshold itself is a share of nuclei in (0, 100]
    pytest.param(0, "refused", id="t0_refused"),
    pytest.param(0.01, "positive", id="t0.01_accepted"),
    pytest.param(5, "positive", id="t5_at_the_value_positive"),
    pytest.param(100, "negative", id="t100_accepted"),
    pytest.param(100.01, "refused", id="t100.01_refused"),
])
def test_threshold_itself_must_be_in_0_exclusive_to_100(threshold, expected):
    """A 0% cut-off would call every tumour positive, one above 100% every tumour negative."""
    series = pd.Series([5.0])
    if expected == "refused":
        with pytest.raises(ValueError, match=r"threshold must be in \(0, 100\]"):
            receptor_status_from_percent(series, threshold=threshold)
    else:
        assert receptor_status_from_percent(series, threshold=threshold).tolist() == [expected]


@pytest.mark.parametrize("value, accepted", [
    pytest.param(0, False, id="0_refused_by_the_config_check"),
    pytest.param(0.5, True, id="0.5_accepted"),
    pytest.param(100, True, id="100_accepted"),
    pytest.param(100.5, False, id="100.5_refused"),
])
@pytest.mark.parametrize("section, key, as_list", [
    pytest.param("harmonization", "hr_threshold_percent", False, id="hr_threshold_percent"),
    pytest.param("sensitivity", "hr_cutoffs", True, id="hr_cutoffs"),
])
def test_config_check_refuses_the_thresholds_the_derivation_refuses(value, accepted, section, key, as_list):
    """The config check must refuse what receptor_status_from_percent refuses: a threshold of 0
    passed the schema (minimum 0) and then stopped every study's harmonization."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config[section][key] = [value] if as_list else value
    if accepted:
        validate_config(config)
    else:
        with pytest.raises(ConfigError):
            validate_config(config)


ER_LOW = [
    # (ER %, er_low)  ASCO/CAP 2020 "ER Low Positive": 1-10% inclusive
    pytest.param(0.0, False, id="0pct_not_low"),
    pytest.param(0.99, False, id="0.99pct_negative_not_low"),
    pytest.param(1.0, True, id="1pct_low"),
    pytest.param(5.0, True, id="5pct_low"),
    pytest.param(10.0, True, id="10pct_low_inclusive"),
    pytest.param(10.01, False, id="10.01pct_not_low"),
    pytest.param(100.0, False, id="100pct_not_low"),
]


@pytest.mark.parametrize("percent, expected", ER_LOW)
def test_er_low_is_1_to_10_percent_inclusive(percent, expected):
    """ASCO/CAP 2020 ER Low Positive: 1% to 10% of nuclei, both ends included."""
    assert er_low(pd.Series([percent])).tolist() == [expected]


def test_er_low_is_missing_when_er_is_missing():
    """No ER percentage, no ER-low call (not False)."""
    assert er_low(pd.Series([None], dtype=object)).isna().tolist() == [True]


HR_STATUS = [
    # (ER, PgR, HR)  trial convention: HR+ = ER+ and/or PgR+; HR- only when both are negative
    pytest.param("positive", "positive", "positive", id="both_positive"),
    pytest.param("positive", "negative", "positive", id="er_only_positive"),
    pytest.param("negative", "positive", "positive", id="pr_only_positive"),
    pytest.param("negative", "negative", "negative", id="both_negative"),
    pytest.param("positive", "unknown", "positive", id="er_positive_pr_unknown"),
    pytest.param("unknown", "positive", "positive", id="er_unknown_pr_positive"),
    pytest.param("negative", "unknown", "unknown", id="er_negative_pr_unknown"),
    pytest.param("unknown", "negative", "unknown", id="er_unknown_pr_negative"),
    pytest.param("unknown", "unknown", "unknown", id="both_unknown"),
    pytest.param("negative", None, "unknown", id="er_negative_pr_missing"),
]


@pytest.mark.parametrize("er, pr, expected", HR_STATUS)
def test_hr_status_from_er_and_pr(er, pr, expected):
    """HR+ when ER or PgR is positive; HR- only when both are negative; a missing PgR could be positive."""
    assert hr_status(pd.Series([er], dtype=object), pd.Series([pr], dtype=object)).tolist() == [expected]


@pytest.mark.parametrize("er, pr, threshold, expected", [
    # ER 9.99% and PgR 0%: HR+ at the 1% cut-off, HR- at 10%; ER 10% is HR+ at both
    pytest.param(9.99, 0.0, 1, "positive", id="er9.99_t1_positive"),
    pytest.param(9.99, 0.0, 10, "negative", id="er9.99_t10_negative"),
    pytest.param(10.0, 0.0, 10, "positive", id="er10_t10_positive"),
    pytest.param(0.99, 0.99, 1, "negative", id="both0.99_t1_negative"),
    pytest.param(0.99, 1.0, 1, "positive", id="pr1_t1_positive"),
])
def test_hr_status_from_percentages_at_each_cut_off(er, pr, threshold, expected):
    """The same tumour changes HR group between the 1% and 10% cut-offs (the sensitivity analysis)."""
    statuses = [receptor_status_from_percent(pd.Series([v]), threshold=threshold).astype(object) for v in (er, pr)]
    assert hr_status(*statuses).tolist() == [expected]


# ----------------------------------------------------------------------------------------------
# HER2 (dictionary/her2.py): ISH groups and the IHC x ISH table

ISH_GROUPS = [
    # (ratio, mean HER2 copies/cell, group)  ASCO/CAP 2018 dual-probe groups
    pytest.param(2.0, 4.0, 1, id="ratio2.0_copies4.0_group1"),
    pytest.param(2.01, 6.0, 1, id="ratio2.01_copies6.0_group1"),
    pytest.param(2.0, 3.99, 2, id="ratio2.0_copies3.99_group2"),
    pytest.param(1.99, 6.0, 3, id="ratio1.99_copies6.0_group3"),
    pytest.param(1.99, 5.99, 4, id="ratio1.99_copies5.99_group4"),
    pytest.param(1.99, 4.0, 4, id="ratio1.99_copies4.0_group4"),
    pytest.param(1.99, 3.99, 5, id="ratio1.99_copies3.99_group5"),
    pytest.param(0.0, 0.0, 5, id="ratio0_copies0_group5"),
    # a ratio computed by division that lands a rounding error below 2.0 counts as 2.0 (module's tolerance)
    pytest.param(2.0 - 1e-12, 4.0 - 1e-12, 1, id="division_rounding_below_2.0_and_4.0_group1"),
    pytest.param(1.9999, 4.0, 4, id="ratio1.9999_is_below_2.0_group4"),
    pytest.param(1.5, 6.0 - 1e-12, 3, id="division_rounding_below_6.0_group3"),
    pytest.param(1.5, 5.9999, 4, id="copies5.9999_is_below_6.0_group4"),
]


@pytest.mark.parametrize("ratio, copies, expected", ISH_GROUPS)
def test_ish_group_on_both_sides_of_ratio_2_and_copies_4_and_6(ratio, copies, expected):
    """ASCO/CAP 2018: group 1 ratio >= 2.0 and copies >= 4.0; 2 ratio >= 2.0, copies < 4.0;
    3 ratio < 2.0, copies >= 6.0; 4 ratio < 2.0, 4.0 <= copies < 6.0; 5 ratio < 2.0, copies < 4.0."""
    assert ish_group(pd.Series([ratio]), pd.Series([copies])).tolist() == [expected]


@pytest.mark.parametrize("ratio, copies", [pytest.param(np.nan, 4.0, id="no_ratio"), pytest.param(2.0, np.nan, id="no_copies")])
def test_ish_group_needs_both_values(ratio, copies):
    """A dual-probe group needs the ratio and the copy number."""
    assert ish_group(pd.Series([ratio]), pd.Series([copies])).isna().tolist() == [True]


HER2_TABLE = [
    # (IHC, ISH group or None, IHC-0 staining or None, status)  ASCO/CAP 2018 table; HER2-low/ultralow/null
    pytest.param("3+", None, None, "positive", id="ihc3_no_ish_positive"),
    pytest.param("3+", 5, None, "positive", id="ihc3_group5_positive"),
    pytest.param("2+", 1, None, "positive", id="ihc2_ish_positive_group1"),
    pytest.param("2+", 2, None, "low", id="ihc2_group2_negative_low"),
    pytest.param("2+", 3, None, "positive", id="ihc2_group3_positive"),
    pytest.param("2+", 4, None, "low", id="ihc2_group4_negative_low"),
    pytest.param("2+", 5, None, "low", id="ihc2_ish_negative_group5_low"),
    pytest.param("2+", None, None, "unknown", id="ihc2_ish_missing_unknown"),
    pytest.param("1+", 1, None, "positive", id="ihc1_group1_positive"),
    pytest.param("1+", 3, None, "low", id="ihc1_group3_negative_low"),
    pytest.param("1+", 5, None, "low", id="ihc1_group5_low"),
    pytest.param("1+", None, None, "low", id="ihc1_no_ish_low"),
    pytest.param("0", None, "null", "null", id="ihc0_no_staining_null"),
    pytest.param("0", None, "ultralow", "ultralow", id="ihc0_faint_staining_ultralow"),
    pytest.param("0", None, None, "ihc0_unspecified", id="ihc0_staining_not_recorded"),
    pytest.param("0", 1, None, "positive", id="ihc0_group1_positive"),
    pytest.param("0", 3, "ultralow", "ultralow", id="ihc0_group3_ultralow"),
    pytest.param(None, 1, None, "positive", id="no_ihc_group1_positive"),
    pytest.param(None, 3, None, "unknown", id="no_ihc_group3_unknown"),
    pytest.param(None, 5, None, "unknown", id="no_ihc_group5_unknown"),
    pytest.param(None, None, None, "unknown", id="nothing_unknown"),
]


@pytest.mark.parametrize("ihc, group, staining, expected", HER2_TABLE)
def test_her2_status_table(ihc, group, staining, expected):
    """ASCO/CAP 2018/2023 IHC x ISH table; HER2-low = IHC 1+ or 2+ ISH-negative; ultralow/null for IHC 0."""
    out = her2_status(pd.Series([ihc], dtype=object), pd.Series([group], dtype=object),
                      pd.Series([staining], dtype=object))
    assert out.tolist() == [expected]


INCOMPLETE_ISH = [
    # (IHC, ratio, copies, status): only one ISH value known; the status every group it allows gives
    pytest.param("2+", np.nan, 6.0, "positive", id="ihc2_copies6.0_groups1or3_positive"),
    pytest.param("2+", np.nan, 5.99, "unknown", id="ihc2_copies5.99_groups1or4_unknown"),
    pytest.param("2+", np.nan, 4.0, "unknown", id="ihc2_copies4.0_groups1or4_unknown"),
    pytest.param("2+", np.nan, 3.99, "low", id="ihc2_copies3.99_groups2or5_low"),
    pytest.param("2+", 2.0, np.nan, "unknown", id="ihc2_ratio2.0_groups1or2_unknown"),
    pytest.param("2+", 1.99, np.nan, "unknown", id="ihc2_ratio1.99_groups3to5_unknown"),
    pytest.param("1+", 2.0, np.nan, "unknown", id="ihc1_ratio2.0_groups1or2_unknown"),
    pytest.param("1+", 1.99, np.nan, "low", id="ihc1_ratio1.99_groups3to5_low"),
    pytest.param("3+", 1.99, np.nan, "positive", id="ihc3_ratio1.99_positive"),
    pytest.param("0", np.nan, 3.99, "ihc0_unspecified", id="ihc0_copies3.99_groups2or5"),
    pytest.param("0", np.nan, 6.0, "unknown", id="ihc0_copies6.0_groups1or3_unknown"),
]


@pytest.mark.parametrize("ihc, ratio, copies, expected", INCOMPLETE_ISH)
def test_her2_status_with_incomplete_ish(ihc, ratio, copies, expected):
    """With one ISH value, a status only where every group that value allows gives the same call."""
    out = her2_status(pd.Series([ihc], dtype=object), pd.Series([None], dtype=object),
                      ish_ratio=pd.Series([ratio]), ish_copy_number=pd.Series([copies]))
    assert out.tolist() == [expected]


@pytest.mark.parametrize("ihc, ratio, expected", [
    # legacy single criterion (allow_ratio_only): ratio >= 2.0 read as group 1, below as group 5
    pytest.param("2+", 2.0, "positive", id="ihc2_ratio2.0_positive"),
    pytest.param("2+", 1.99, "low", id="ihc2_ratio1.99_low"),
    pytest.param("1+", 2.0, "positive", id="ihc1_ratio2.0_positive"),
    pytest.param("1+", 1.99, "low", id="ihc1_ratio1.99_low"),
])
def test_her2_status_ratio_only_fallback(ihc, ratio, expected):
    """Legacy reading of old trials: ISH-positive at ratio >= 2.0 (opt-in, allow_ratio_only)."""
    out = her2_status(pd.Series([ihc], dtype=object), pd.Series([None], dtype=object),
                      ish_ratio=pd.Series([ratio]), allow_ratio_only=True)
    assert out.tolist() == [expected]


# ----------------------------------------------------------------------------------------------
# pCR (dictionary/pcr.py)

NA = pd.NA
PCR = [
    # (ypT, ypN, itc_is_pcr, (ypT0/is ypN0, ypT0 ypN0, ypT0/is))
    pytest.param("ypT0", "ypN0", False, (True, True, True), id="T0_N0"),
    pytest.param("ypTis", "ypN0", False, (True, False, True), id="Tis_N0_in_situ_allowed_only_by_T0is"),
    pytest.param("ypT1mi", "ypN0", False, (False, False, False), id="T1mi_microinvasion_is_residual"),
    pytest.param("ypT1a", "ypN0", False, (False, False, False), id="T1a_residual"),
    pytest.param("ypT0", "ypN0(i+)", False, (False, False, True), id="T0_N0i+_itc_not_pcr"),
    pytest.param("ypT0", "ypN0(i+)", True, (True, True, True), id="T0_N0i+_itc_is_pcr"),
    pytest.param("ypTis", "ypN0(i+)", True, (True, False, True), id="Tis_N0i+_itc_is_pcr"),
    pytest.param("ypT0", "ypN0(mol+)", False, (True, True, True), id="T0_N0mol+_node_negative"),
    pytest.param("ypT0", "ypN1mi", False, (False, False, True), id="T0_N1mi_residual"),
    pytest.param("ypT0", "ypN1mi", True, (False, False, True), id="T0_N1mi_residual_even_with_itc_is_pcr"),
    pytest.param("ypT0", "ypN1", False, (False, False, True), id="T0_N1_breast_pcr_only"),
    pytest.param("ypTX", "ypN0", False, (NA, NA, NA), id="TX_N0_unknown"),
    pytest.param("ypT0", "ypNX", False, (NA, NA, True), id="T0_NX_breast_known_only"),
    pytest.param("ypTis", "ypNX", False, (NA, False, True), id="Tis_NX_strict_no_whatever_the_nodes"),
    pytest.param("ypT2", "ypNX", False, (False, False, False), id="T2_NX_residual_in_breast_decides"),
    pytest.param("ypTX", "ypN1", False, (False, False, NA), id="TX_N1_residual_in_nodes_decides"),
]


@pytest.mark.parametrize("ypt, ypn, itc, expected", PCR)
def test_pcr_definitions(ypt, ypn, itc, expected):
    """FDA/NeoSTEEP/CTNeoBC pCR: no invasive residual (ypT0/is) or no residual at all (ypT0) in
    the breast, and ypN0 in the nodes; known residual anywhere is no pCR even if the rest is unknown."""
    out = pcr_variants(pd.Series([ypt]), pd.Series([ypn]), itc_is_pcr=itc)
    got = tuple(out[c].iloc[0] for c in ("pcr_ypt0is_ypn0", "pcr_ypt0_ypn0", "pcr_breast"))
    assert [("NA" if v is NA else bool(v)) for v in got] == [("NA" if v is NA else v) for v in expected]


# ----------------------------------------------------------------------------------------------
# RECIST 1.1 (recist.py). The response at each visit is the sponsor's (the 30% / 20% + 5 mm sums
# are not recomputed here), so the thresholds are the confirmation interval, the minimum SD
# duration and the assessment window.

START = dt.date(2020, 1, 1)


def _seq(*pairs):
    return [(START + dt.timedelta(days=day), response) for day, response in pairs]


RECIST = [
    # (rule, assessments as (day after start, response), best response)
    pytest.param(Rule(confirm=True, confirm_days=28), [(56, "CR"), (83, "CR")], "SD", id="CR_confirmed_27d_later_not_enough_SD"),
    pytest.param(Rule(confirm=True, confirm_days=28), [(56, "CR"), (84, "CR")], "CR", id="CR_confirmed_28d_later_CR"),
    pytest.param(Rule(confirm=True, confirm_days=28), [(56, "CR"), (85, "CR")], "CR", id="CR_confirmed_29d_later_CR"),
    pytest.param(Rule(confirm=True, confirm_days=28), [(56, "PR"), (83, "PR")], "SD", id="PR_27d_later_SD"),
    pytest.param(Rule(confirm=True, confirm_days=28), [(56, "PR"), (84, "PR")], "PR", id="PR_28d_later_PR"),
    pytest.param(Rule(confirm=True, confirm_days=28), [(56, "PR"), (84, "CR")], "PR", id="PR_then_CR_28d_later_PR"),
    pytest.param(Rule(confirm=True, confirm_days=28), [(56, "CR"), (70, "NE"), (84, "CR")], "CR", id="CR_NE_CR_28d_CR"),
    pytest.param(Rule(confirm=True, confirm_days=28), [(56, "PR"), (70, "SD"), (84, "PR")], "SD", id="PR_SD_PR_broken_SD"),
    pytest.param(Rule(confirm=True, confirm_days=35), [(56, "PR"), (90, "PR")], "SD", id="confirm35_34d_SD"),
    pytest.param(Rule(confirm=True, confirm_days=35), [(56, "PR"), (91, "PR")], "PR", id="confirm35_35d_PR"),
    pytest.param(Rule(confirm=False, sd_min_days=42), [(41, "SD")], "NE", id="SD_day41_below_minimum_NE"),
    pytest.param(Rule(confirm=False, sd_min_days=42), [(42, "SD")], "SD", id="SD_day42_at_minimum_SD"),
    pytest.param(Rule(confirm=False, sd_min_days=42), [(43, "SD")], "SD", id="SD_day43_SD"),
    pytest.param(Rule(confirm=False, sd_min_days=42), [(41, "SD"), (60, "PD")], "PD", id="SD_day41_then_PD"),
    pytest.param(Rule(confirm=False, sd_min_days=42), [(41, "NON-CR/NON-PD")], "NE", id="nonCRnonPD_day41_NE"),
    pytest.param(Rule(confirm=False, sd_min_days=42), [(42, "NON-CR/NON-PD")], "SD", id="nonCRnonPD_day42_SD"),
    pytest.param(Rule(confirm=True, confirm_days=28, sd_min_days=42), [(41, "PR"), (60, "PD")], "PD",
                 id="unconfirmed_PR_day41_not_SD_PD"),
    pytest.param(Rule(confirm=True, confirm_days=28, sd_min_days=42), [(42, "PR"), (60, "PD")], "SD",
                 id="unconfirmed_PR_day42_counts_as_SD"),
    pytest.param(Rule(confirm=False), [(-1, "CR")], None, id="assessment_day_before_start_not_used"),
    pytest.param(Rule(confirm=False), [(0, "CR")], "CR", id="assessment_on_start_day_used"),
    pytest.param(Rule(confirm=False), [(50, "PD"), (51, "PR")], "PD", id="response_day_after_first_PD_not_used"),
    pytest.param(Rule(confirm=False), [(49, "PR"), (50, "PD")], "PR", id="response_day_before_first_PD_used"),
]


@pytest.mark.parametrize("rule, assessments, expected", RECIST)
def test_recist_best_overall_response_boundaries(rule, assessments, expected):
    """RECIST 1.1 section 4.4 and Table 3: confirmation at least confirm_days later, SD at least
    sd_min_days after the start, assessments from the start day up to the first PD day."""
    assert best_overall_response(_seq(*assessments), rule, START).response == expected


# ----------------------------------------------------------------------------------------------
# Data cut-off (cutoff.py): the day itself belongs to the follow-up, the day after does not

CUTOFF = dt.date(2016, 3, 31)  # 90 days after 2016-01-01 (leap year)


def _calendar_out(ends_days_after_start, events):
    start = pd.Series(pd.Timestamp("2016-01-01"), index=range(len(events)))
    end = start + pd.to_timedelta(ends_days_after_start, unit="D")
    out = pd.DataFrame({"efs_months": [d / DAYS_PER_MONTH for d in ends_days_after_start], "efs_event": events})
    return out, {"efs_months": (start, end)}


CALENDAR_CUTOFF = [
    # (days from start to the end of follow-up, event, expected days, expected event)
    pytest.param(89, 1, 89, 1, id="event_day_before_cutoff_kept"),
    pytest.param(90, 1, 90, 1, id="event_on_cutoff_day_kept"),
    pytest.param(91, 1, 90, 0, id="event_day_after_cutoff_censored_at_cutoff"),
    pytest.param(90, 0, 90, 0, id="censored_on_cutoff_day_unchanged"),
    pytest.param(91, 0, 90, 0, id="censored_day_after_shortened_to_cutoff"),
]


@pytest.mark.parametrize("days, event, expected_days, expected_event", CALENDAR_CUTOFF)
def test_calendar_cutoff_day(days, event, expected_days, expected_event):
    """Follow-up up to and including the cut-off day counts; an event after it is censored at it."""
    out, calendar = _calendar_out([days], [event])
    qc = {"exclusions": []}
    apply_cutoff("S", {"data_cutoff": {"date": CUTOFF.isoformat()}, "fields": {}}, out, calendar, qc)
    assert out["efs_months"].iloc[0] == pytest.approx(expected_days / DAYS_PER_MONTH, abs=1e-9)
    assert out["efs_event"].iloc[0] == expected_event
    changed = sum(e["count"] for e in qc["exclusions"])
    assert changed == (1 if days > 90 else 0)  # every change is counted, nothing else is


@pytest.mark.parametrize("start, stops", [
    pytest.param("2016-03-31", False, id="start_on_cutoff_day_accepted"),
    pytest.param("2016-04-01", True, id="start_day_after_cutoff_stops"),
])
def test_calendar_cutoff_start_after_the_cutoff_stops_the_study(start, stops):
    """A patient randomized after the cut-off has no follow-up before it: the mapping is wrong."""
    begin = pd.Series([pd.Timestamp(start)])
    out = pd.DataFrame({"efs_months": [0.0], "efs_event": [0]})
    spec = {"data_cutoff": {"date": CUTOFF.isoformat(), "start": "adsl.RANDDT"}, "fields": {"efs_months": {}}}
    call = lambda: apply_cutoff("S", spec, out, {"efs_months": (begin, begin)}, {"exclusions": []})  # noqa: E731
    if stops:
        with pytest.raises(StudyDataError, match="after the data cut-off"):
            call()
    else:
        call()


STUDY_DAY_CUTOFF = [
    # study_day 1826 (5 years): follow-up counted from study day 1, so the limit is 1825 days
    pytest.param(1824, 1, 1824, 1, id="event_study_day_1825_kept"),
    pytest.param(1825, 1, 1825, 1, id="event_on_study_day_1826_kept"),
    pytest.param(1826, 1, 1825, 0, id="event_study_day_1827_censored_at_1826"),
    pytest.param(1826, 0, 1825, 0, id="censored_study_day_1827_shortened"),
]


@pytest.mark.parametrize("days, event, expected_days, expected_event", STUDY_DAY_CUTOFF)
def test_study_day_cutoff(days, event, expected_days, expected_event):
    """CDISC study days: day 1 is the start (no day 0), so study day N is N - 1 days of follow-up."""
    out = pd.DataFrame({"efs_months": [days / DAYS_PER_MONTH], "efs_event": [event]})
    qc = {"exclusions": []}
    apply_cutoff("S", {"data_cutoff": {"study_day": 1826}, "fields": {}}, out, {}, qc)
    assert out["efs_months"].iloc[0] == pytest.approx(expected_days / DAYS_PER_MONTH, abs=1e-9)
    assert out["efs_event"].iloc[0] == expected_event
    assert sum(e["count"] for e in qc["exclusions"]) == (1 if days > 1825 else 0)


# ----------------------------------------------------------------------------------------------
# Follow-up plausibility (plausibility.py; docs/methods/derivations.md): with >= 10 patients, a
# longest follow-up under 6 months stops the study unless `short_follow_up: <why>` says why.

FOLLOW_UP = [
    # (patients, longest months, short_follow_up reason, outcome)
    pytest.param(9, 1.0, None, "not checked", id="9_patients_not_checked"),
    pytest.param(10, 5.99, None, "stop", id="10_patients_longest_5.99_stops"),
    pytest.param(10, 6.0, None, "ok", id="10_patients_longest_6.0_ok"),
    pytest.param(10, 6.01, None, "ok", id="10_patients_longest_6.01_ok"),
    pytest.param(10, 5.99, "phase II, 3-month follow-up", "accepted", id="5.99_accepted_with_reason"),
]


@pytest.mark.parametrize("patients, longest, reason, outcome", FOLLOW_UP)
def test_follow_up_plausibility(patients, longest, reason, outcome):
    """Months read as days: a longest follow-up under 6 months over >= 10 patients stops the study."""
    times = [1.0] * (patients - 1) + [longest]
    data = pd.DataFrame({"efs_months": times, "efs_event": [0] * patients})
    rules = {"efs_months": {"short_follow_up": reason}} if reason else {}
    qc = {"derivations": {}, "warnings": []}
    where = lambda name: "adtte.xpt"  # noqa: E731
    if outcome == "stop":
        with pytest.raises(StudyDataError, match="longest follow-up is under 6 months"):
            check_follow_up(data, rules, "S", where, qc)
        return
    check_follow_up(data, rules, "S", where, qc)
    record = qc["derivations"]["follow_up"]["efs_months"]
    assert record["checked"] is (outcome != "not checked")
    assert (record.get("accepted_short_follow_up") == reason) if outcome == "accepted" else "accepted_short_follow_up" not in record
    assert len(qc["warnings"]) == (1 if outcome == "accepted" else 0)


# ----------------------------------------------------------------------------------------------
# Keys that match no subject (mapping.py, datasets.<name>.max_unmatched_fraction, default 0.05):
# at the limit they are counted and logged, above it the study stops.

UNMATCHED = [
    # (unmatched keys, all keys, max_unmatched_fraction or None for the default, stops)
    pytest.param(1, 20, None, False, id="default_1_of_20_is_5pct_at_limit_warns"),
    pytest.param(2, 20, None, True, id="default_2_of_20_is_10pct_stops"),
    pytest.param(1, 21, None, False, id="default_1_of_21_below_limit_warns"),
    pytest.param(2, 20, 0.1, False, id="limit0.1_2_of_20_at_limit_warns"),
    pytest.param(3, 20, 0.1, True, id="limit0.1_3_of_20_stops"),
    pytest.param(1, 20, 0, True, id="limit0_any_unmatched_stops"),
]


@pytest.mark.parametrize("unmatched, keys, limit, stops", UNMATCHED)
def test_unmatched_key_fraction(unmatched, keys, limit, stops):
    """Records of subjects not in the study: counted up to max_unmatched_fraction, a stop above it."""
    spec = {"key": "USUBJID"} | ({} if limit is None else {"max_unmatched_fraction": limit})
    loaded = SimpleNamespace(name="tte", spec=spec, file="adtte.xpt")
    strays = [f"OTHER-{i}" for i in range(unmatched)]
    frame = pd.DataFrame({SUBJECT: strays})
    qc = {"warnings": []}
    _check_unknown_keys("S", loaded, "adsl", frame, strays, pd.Series([f"SUBJ-{i:03d}" for i in range(keys - unmatched)]),
                        [], "USUBJID", {"unknown_keys": unmatched, "keys": keys}, qc, nothing_matched=False, subjects=None)
    assert ("__stop__" in qc) is stops
    assert len(qc["warnings"]) == (0 if stops else 1)
    if stops:
        assert "more than max_unmatched_fraction" in str(qc["__stop__"])
