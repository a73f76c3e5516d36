"""Rules of the per-study effects (her2meta.effects) that the mutation run found untested.

Expected numbers come from hand arithmetic or from R (tests/reference/survival, survival 3.5-3
and survRM2 on surv_ext.csv); none is computed by the code under test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2meta.effects import (StudyEstimate, _design_matrix, binary_effect, canonical_values, cox_effect,
                              estimate_analysis, interaction, select_population, split_groups, wald_interval)

REF = Path(__file__).parent / "reference" / "survival"
R = json.loads((REF / "survival_extended_fixtures.json").read_text())
R_COX = {c["name"]: c for c in R["cox"]}
R_LOGRANK = {c["name"]: c for c in R["logrank"]}
R_RMST = {c["name"]: c for c in R["rmst"]}
Z95 = 1.959963984540054
Z90 = 1.6448536269514722
ARMS = {"field": "arm", "exposed": "dual", "reference": "single"}
HR = {"field": "hr_status", "exposed": "positive", "reference": "negative"}


def ext() -> pd.DataFrame:
    """surv_ext.csv (320 patients, R fixtures) with group 1 as arm 'dual', group 0 as 'single'."""
    data = pd.read_csv(REF / "surv_ext.csv")
    data["arm"] = np.where(data["group"] == 1, "dual", "single")
    data["er_status"] = np.where(data["er"] == 1, "positive", "negative")
    return data


def table(ai, bi, ci, di, *, unknown=0, missing=0):
    """A 2x2 table written out as patients, plus patients in neither group and without the outcome."""
    hr = ["positive"] * (ai + bi) + ["negative"] * (ci + di) + ["unknown"] * unknown + ["positive"] * missing
    pcr = [True] * ai + [False] * bi + [True] * ci + [False] * di + [True] * unknown + [None] * missing
    return pd.DataFrame({"hr_status": hr, "pcr": pd.array(pcr, dtype="boolean")})


# --- Wald interval and the output row -------------------------------------------------------------

def test_wald_interval_is_symmetric_estimate_plus_minus_z_times_se():
    """CI = estimate -/+ z(level) * se, z = 1.96 at 95%, 1.645 at 90%."""
    assert wald_interval(1.0, 0.5, 95.0) == pytest.approx((1 - Z95 * 0.5, 1 + Z95 * 0.5), rel=1e-12)
    assert wald_interval(-0.2, 0.1, 90.0) == pytest.approx((-0.2 - Z90 * 0.1, -0.2 + Z90 * 0.1), rel=1e-12)


def test_row_joins_notes_with_semicolons_and_writes_non_finite_numbers_as_nan():
    """The CSV row carries the notes as one '; '-separated text, and an infinite estimate as NaN
    (a float, so the column stays numeric), never as None."""
    row = StudyEstimate("S", "a", "OR", estimate=math.inf, se=-math.inf, notes=["first", "second"]).as_row()
    assert row["notes"] == "first; second"
    assert isinstance(row["estimate"], float) and math.isnan(row["estimate"])
    assert isinstance(row["se"], float) and math.isnan(row["se"])
    assert "XXnotesXX" not in row and "NOTES" not in row


# --- matching config values -----------------------------------------------------------------------

def test_mixed_columns_keep_true_apart_from_1_and_every_missing_kind_is_none():
    """A column mixing True and 1 (which hash alike) is matched value by value: True is 'true',
    1 is '1'; None, pd.NA and NaN are all missing (None), not the text 'none' or '<na>'."""
    values = pd.Series([True, 1, None, pd.NA, math.nan, "Yes", 2.5], dtype=object)
    assert canonical_values(values).tolist() == ["true", "1", None, None, None, "yes", "2.5"]


def test_float_columns_match_as_text():
    """Numeric codes are matched by their text (2.5 -> '2.5'); a missing number is None."""
    assert canonical_values(pd.Series([1.5, 2.0, math.nan])).tolist() == ["1.5", "2.0", None]
    assert canonical_values(pd.Series([True, False, None], dtype="boolean")).tolist() == ["true", "false", None]


def test_population_needs_every_listed_field():
    """population with two fields keeps a patient only if both fields take an allowed value."""
    data = pd.DataFrame({"hr_status": ["positive", "positive", "negative", "negative"],
                         "chemo_taxane": [True, False, True, False]})
    kept = select_population(data, {"hr_status": ["positive"], "chemo_taxane": [True]})
    assert kept.index.tolist() == [0]


def test_split_groups_marks_the_exposed_group_as_integer_one():
    """The `exposed` column is 0/1 integers (1 = exposed), with the excluded counts beside it."""
    kept, unknown, missing = split_groups(table(1, 1, 1, 0, unknown=2, missing=1), HR, ["pcr"])
    assert kept["exposed"].tolist() == [1, 1, 0]
    assert kept["exposed"].dtype == np.int64
    assert (unknown, missing) == (2, 1)


# --- binary outcome -------------------------------------------------------------------------------

def test_binary_row_carries_ids_and_every_count():
    """Counts: n and events over both groups; patients in neither group and without the outcome
    counted apart. 6+4 exposed (6 events), 3+7 reference (3 events)."""
    est = binary_effect(table(6, 4, 3, 7, unknown=2, missing=3), study_id="S1", analysis="pcr_hr",
                        outcome="pcr", compare=HR, measure="RR")
    assert (est.study_id, est.analysis, est.measure, est.subgroup) == ("S1", "pcr_hr", "RR", "all")
    assert (est.n, est.events, est.n_exposed, est.n_reference, est.events_exposed, est.events_reference) == (
        20, 9, 10, 10, 6, 3)
    assert (est.excluded_unknown_group, est.excluded_missing_outcome) == (2, 3)
    assert est.estimate == pytest.approx(math.log((6 / 10) / (3 / 10)), rel=1e-12)
    assert est.se == pytest.approx(math.sqrt(1 / 6 - 1 / 10 + 1 / 3 - 1 / 10), rel=1e-12)


def test_equal_event_counts_in_both_groups_are_estimable():
    """The 'no events'/'every patient had the event' checks add the two groups' counts: 3 events
    in each group (and 7 non-events in each) is an ordinary table with OR = 1."""
    est = binary_effect(table(3, 7, 3, 7), study_id="S", analysis="a", outcome="pcr", compare=HR)
    assert est.estimable and est.estimate == pytest.approx(0.0, abs=1e-15)
    assert est.se == pytest.approx(math.sqrt(1 / 3 + 1 / 7 + 1 / 3 + 1 / 7), rel=1e-12)


def test_without_continuity_correction_a_zero_cell_gives_no_estimate():
    """correction 0: a zero cell makes the log OR infinite, and no events in either group makes the
    RD variance 0: neither is an estimate (no study with an infinite or zero-variance estimate)."""
    est = binary_effect(table(0, 10, 4, 6), study_id="S", analysis="a", outcome="pcr", compare=HR, correction=0.0)
    assert not est.estimable and est.reason == "effect size not estimable from the 2x2 table"
    est = binary_effect(table(0, 10, 0, 8), study_id="S", analysis="a", outcome="pcr", compare=HR,
                        measure="RD", correction=0.0)
    assert not est.estimable and est.reason == "effect size not estimable from the 2x2 table"


def test_empty_group_reason_lists_every_configured_value():
    """'no patients with <field> = a or b' names all values configured for the empty group."""
    compare = {"field": "hr_status", "exposed": ["Positive", "pos"], "reference": "negative"}
    est = binary_effect(table(0, 0, 3, 3), study_id="S", analysis="a", outcome="pcr", compare=compare)
    assert est.reason == "no patients with hr_status = positive or pos"


# --- Cox model ------------------------------------------------------------------------------------

def test_cox_effect_matches_r_for_hr_logrank_rmst_and_ph_test():
    """Unadjusted Cox (Efron), log-rank O-E and V for the exposed group, RMST difference at 12 months
    (survRM2) and the cox.zph global p (km transform) equal R on surv_ext.csv."""
    est = cox_effect(ext(), study_id="S1", analysis="efs", time="time", event="event", compare=ARMS, horizon=12)
    cox, lr, rmst = R_COX["ext_group_efron"], R_LOGRANK["ext"], R_RMST["ext_tau12"]
    assert (est.study_id, est.analysis, est.measure, est.subgroup, est.estimable) == ("S1", "efs", "HR", "all", True)
    assert est.estimate == pytest.approx(cox["coef"], rel=1e-6)
    assert est.se == pytest.approx(cox["se"], rel=1e-6)
    assert (est.ci_lb, est.ci_ub) == pytest.approx((cox["coef"] - Z95 * cox["se"], cox["coef"] + Z95 * cox["se"]), rel=1e-6)
    assert (est.n, est.events, est.n_exposed, est.n_reference) == (320, 172, lr["n"][1], lr["n"][0])
    assert (est.events_exposed, est.events_reference) == (lr["obs"][1], lr["obs"][0])
    assert (est.excluded_unknown_group, est.excluded_missing_outcome, est.excluded_before_landmark) == (0, 0, 0)
    assert est.logrank_oe == pytest.approx(lr["obs"][1] - lr["exp"][1], rel=1e-9)
    assert est.logrank_v == pytest.approx(lr["var"], rel=1e-9)
    assert est.rmst_diff == pytest.approx(rmst["diff"], rel=1e-7)
    assert est.rmst_se == pytest.approx(rmst["diff_se"], rel=1e-7)
    assert est.ph_pval == pytest.approx(cox["zph_default_fit"]["p"][1], rel=1e-6)
    assert est.notes == []


def test_cox_effect_counts_patients_outside_the_groups_or_without_follow_up():
    """Patients in neither arm and patients without a time or event are counted apart, not fitted."""
    data = ext()
    data.loc[[0, 1], "arm"] = "unknown"
    data.loc[[2, 3, 4], "time"] = np.nan
    est = cox_effect(data, study_id="S", analysis="efs", time="time", event="event", compare=ARMS)
    assert (est.excluded_unknown_group, est.excluded_missing_outcome, est.n) == (2, 3, 315)


def test_adjusted_cox_uses_numeric_and_categorical_covariates_as_r():
    """adjust: [age, er_status]: age numeric, er_status text -> one dummy (reference level dropped);
    equals R's coxph(Surv(time, event) ~ group + age + er)."""
    est = cox_effect(ext(), study_id="S", analysis="efs", time="time", event="event", compare=ARMS, level=90.0,
                     adjust=["age", "er_status"])
    cox = R_COX["ext_multi_efron"]
    assert est.estimate == pytest.approx(cox["coef"][0], rel=1e-6)
    assert est.se == pytest.approx(cox["se"][0], rel=1e-6)
    assert est.ci_ub == pytest.approx(cox["coef"][0] + Z90 * cox["se"][0], rel=1e-6)
    assert est.notes == ["adjusted for age, er_status"]


def test_adjusted_cox_leaves_out_patients_without_a_covariate_and_says_how_many():
    """Complete cases: patients without age (or ER) are left out of the adjusted model (same fit as
    dropping them), and a note says how many; the log-rank keeps everyone."""
    data = ext()
    data.loc[[0, 5], "age"] = np.nan
    data["er_status"] = data["er_status"].astype(object)
    data.loc[7, "er_status"] = None
    est = cox_effect(data, study_id="S", analysis="efs", time="time", event="event", compare=ARMS,
                     adjust=["age", "er_status"])
    dropped = cox_effect(data.drop(index=[0, 5, 7]), study_id="S", analysis="efs", time="time", event="event",
                         compare=ARMS, adjust=["age", "er_status"])
    assert est.estimate == pytest.approx(dropped.estimate, rel=1e-10)
    assert est.se == pytest.approx(dropped.se, rel=1e-10)
    assert est.notes == ["3 patients without age, er_status left out of the adjusted model",
                         "adjusted for age, er_status"]
    assert est.logrank_v == pytest.approx(R_LOGRANK["ext"]["var"], rel=1e-9)


def test_design_matrix_has_exposed_numeric_columns_and_float_dummies():
    """The Cox design: `exposed`, numeric covariates as they are, text and booleans as 0/1 float
    dummies named <field>_<level> (first level dropped); a missing value makes the row incomplete."""
    kept = pd.DataFrame({"exposed": [1, 0, 1, 0], "age": [40, 50, np.nan, 60],
                         "er": ["neg", "pos", "pos", None], "node": pd.array([True, False, True, True], dtype="boolean"),
                         "grade": ["neg", "pos", "pos", "neg"]}, index=[10, 11, 12, 13])
    frame, complete = _design_matrix(kept, ["age", "er", "node", "grade"])
    assert complete.tolist() == [True, True, False, False]
    assert complete.index.tolist() == [10, 11, 12, 13]
    assert frame.columns.tolist() == ["exposed", "age", "er_pos", "node_True", "grade_pos"]
    assert (frame.dtypes == np.float64).all()
    assert frame.index.tolist() == [10, 11]
    assert frame.to_numpy().tolist() == [[1.0, 40.0, 0.0, 1.0, 0.0], [0.0, 50.0, 1.0, 0.0, 1.0]]
    plain, all_rows = _design_matrix(kept, [])
    assert plain.columns.tolist() == ["exposed"] and plain["exposed"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert all_rows.tolist() == [True] * 4


def test_a_single_patient_in_a_group_is_named_by_the_configured_group():
    """One exposed patient: the Cox model refuses (fewer than 2 patients), and the reason names the
    group as configured (arm = dual), not the internal 'exposed = 1'. Same for the reference group."""
    data = ext()
    one_exposed = pd.concat([data[data["arm"] == "single"], data[(data["arm"] == "dual") & (data["event"] == 1)].head(1)])
    est = cox_effect(one_exposed, study_id="S", analysis="efs", time="time", event="event", compare=ARMS)
    assert not est.estimable
    assert est.reason.startswith("only 1 patient(s) with arm = dual: fewer than 2 patients in a group")
    one_reference = pd.concat([data[data["arm"] == "dual"], data[(data["arm"] == "single") & (data["event"] == 1)].head(1)])
    est = cox_effect(one_reference, study_id="S", analysis="efs", time="time", event="event", compare=ARMS)
    assert est.reason.startswith("only 1 patient(s) with arm = single: fewer than 2 patients in a group")


def test_a_single_event_in_the_reference_group_is_enough_for_a_cox_estimate():
    """Only zero events in a group stops the model; one reference event still gives an estimate."""
    data = ext()
    reference_events = data.index[(data["arm"] == "single") & (data["event"] == 1)]
    data.loc[reference_events[1:], "event"] = 0
    est = cox_effect(data, study_id="S", analysis="efs", time="time", event="event", compare=ARMS)
    assert est.events_reference == 1 and est.estimable


def test_time_never_recorded_says_so():
    """A study without any follow-up time says the time field is not recorded."""
    data = ext()
    data["time"] = np.nan
    est = cox_effect(data, study_id="S", analysis="efs", time="time", event="event", compare=ARMS)
    assert est.reason == "time is not recorded in this study"


def test_landmark_keeps_patients_event_free_after_it_with_time_from_the_landmark():
    """Landmark at 6 months: patients with time <= 6 are counted apart; the rest are analysed with
    time - 6 (same as fitting the shifted data without the landmark)."""
    data = ext()
    before = int((data["time"] <= 6).sum())
    est = cox_effect(data, study_id="S", analysis="efs", time="time", event="event", compare=ARMS, landmark=6.0)
    shifted = data[data["time"] > 6].assign(time=lambda d: d["time"] - 6)
    direct = cox_effect(shifted, study_id="S", analysis="efs", time="time", event="event", compare=ARMS)
    assert est.excluded_before_landmark == before and before > 0
    assert est.n == 320 - before
    assert est.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert est.logrank_oe == pytest.approx(direct.logrank_oe, rel=1e-12)


def test_nullable_columns_give_the_same_cox_estimate():
    """Harmonized data carry pandas nullable dtypes (Float64 time, Int64 or boolean event): same fit."""
    data = ext()
    data["time"] = data["time"].astype("Float64")
    data["event"] = data["event"].astype("boolean")
    est = cox_effect(data, study_id="S", analysis="efs", time="time", event="event", compare=ARMS, landmark=0.0,
                     horizon=12)
    assert est.estimate == pytest.approx(R_COX["ext_group_efron"]["coef"], rel=1e-6)
    assert est.events == 172 and est.rmst_diff == pytest.approx(R_RMST["ext_tau12"]["diff"], rel=1e-7)


def test_unavailable_rmst_and_ph_test_are_noted_with_their_reason():
    """RMST beyond the follow-up of a group and a PH test without information (all events at one
    time) leave NaN and a note with the reason from the survival module."""
    data = pd.DataFrame({"arm": ["dual"] * 4 + ["single"] * 4,
                         "time": [5, 5, 8, 9, 5, 5, 7, 12], "event": [1, 1, 0, 0, 1, 0, 0, 0]})
    est = cox_effect(data, study_id="S", analysis="efs", time="time", event="event", compare=ARMS, horizon=20)
    assert est.estimable and math.isnan(est.ph_pval) and math.isnan(est.rmst_diff)
    assert est.notes[0].startswith("proportional-hazards test not available: the time-interaction terms carry no "
                                   "information")
    assert est.notes[1].startswith("RMST at 20 months not estimable: tau = 20 months is beyond the follow-up")


# --- interaction and the analysis driver ----------------------------------------------------------

def test_interaction_is_the_difference_with_summed_variances():
    """Within-study interaction: estimate a - b, se sqrt(se_a^2 + se_b^2), n and events summed."""
    first = StudyEstimate("S", "a", "OR", "positive", estimate=1.0, se=0.3, n=10, events=4, estimable=True)
    second = StudyEstimate("S", "a", "OR", "negative", estimate=0.4, se=0.4, n=20, events=6, estimable=True)
    est = interaction(first, second)
    assert (est.study_id, est.analysis, est.measure, est.subgroup) == ("S", "a", "OR", "interaction")
    assert (est.n, est.events, est.estimable) == (30, 10, True)
    assert est.estimate == pytest.approx(0.6, rel=1e-12) and est.se == pytest.approx(0.5, rel=1e-12)
    assert (est.ci_lb, est.ci_ub) == pytest.approx((0.6 - Z95 * 0.5, 0.6 + Z95 * 0.5), rel=1e-12)
    assert est.notes == ["positive vs negative"]
    second.estimable = first.estimable = False
    est = interaction(first, second)
    assert est.reason == "not estimable in positive and negative" and (est.n, est.events) == (30, 10)


def test_binary_analysis_passes_measure_correction_and_level_through():
    """A binary spec's measure, correction and the level reach the estimate (RR, 0.25, 90%)."""
    spec = {"type": "binary", "outcome": "pcr", "measure": "RR", "compare": HR, "correction": 0.25}
    (est,) = estimate_analysis(table(0, 10, 4, 6), study_id="S2", analysis="pcr_rr", spec=spec, level=90.0)
    log_rr = math.log((0.25 / 10.5) / (4.25 / 10.5))
    assert (est.study_id, est.analysis, est.measure, est.correction) == ("S2", "pcr_rr", "RR", 0.25)
    assert est.estimate == pytest.approx(log_rr, rel=1e-12)
    assert est.ci_ub - est.estimate == pytest.approx(Z90 * est.se, rel=1e-12)
    spec.pop("correction")
    (est,) = estimate_analysis(table(0, 10, 4, 6), study_id="S2", analysis="pcr_rr", spec=spec)
    assert est.correction == 0.5
    assert est.ci_ub - est.estimate == pytest.approx(Z95 * est.se, rel=1e-12)


def test_time_to_event_analysis_passes_adjust_horizon_landmark_and_level_through():
    """A time-to-event spec's adjust, rmst_horizon_months and landmark_months reach the Cox row."""
    spec = {"type": "time_to_event", "time": "time", "event": "event", "measure": "HR", "compare": ARMS,
            "adjust": ["age", "er_status"], "rmst_horizon_months": 12, "landmark_months": 0}
    (est,) = estimate_analysis(ext(), study_id="S3", analysis="efs", spec=spec, level=90.0)
    cox = R_COX["ext_multi_efron"]
    assert (est.study_id, est.analysis, est.subgroup) == ("S3", "efs", "all")
    assert est.estimate == pytest.approx(cox["coef"][0], rel=1e-6)
    assert est.ci_ub == pytest.approx(cox["coef"][0] + Z90 * cox["se"][0], rel=1e-6)
    assert est.rmst_diff == pytest.approx(R_RMST["ext_tau12"]["diff"], rel=1e-7)
    spec = dict(spec, landmark_months=6)
    (est,) = estimate_analysis(ext(), study_id="S3", analysis="efs", spec=spec)
    assert est.excluded_before_landmark == int((ext()["time"] <= 6).sum())


def test_within_analysis_rows_carry_ids_and_the_level_reaches_the_interaction():
    """Within levels: each level's row and the interaction row carry the study and analysis; the
    interaction CI uses the analysis level; a level without patients says so."""
    data = pd.concat([table(6, 4, 3, 7).assign(er="pos"), table(2, 8, 5, 5).assign(er="neg")], ignore_index=True)
    spec = {"type": "binary", "outcome": "pcr", "measure": "OR", "compare": HR,
            "within": {"field": "er", "levels": ["pos", "neg"]}}
    pos, neg, combined = estimate_analysis(data, study_id="S4", analysis="pcr_er", spec=spec, level=90.0)
    for row in (pos, neg, combined):
        assert (row.study_id, row.analysis, row.measure) == ("S4", "pcr_er", "OR")
    assert combined.ci_ub - combined.estimate == pytest.approx(Z90 * combined.se, rel=1e-12)
    spec["within"]["levels"] = ["pos", "low"]
    pos, low, combined = estimate_analysis(data, study_id="S4", analysis="pcr_er", spec=spec)
    assert (low.study_id, low.analysis, low.measure, low.subgroup) == ("S4", "pcr_er", "OR", "low")
    assert low.reason == "no patients with er = low"
    assert pos.ci_ub - pos.estimate == pytest.approx(Z95 * pos.se, rel=1e-12)


def test_failed_study_rows_carry_ids_and_the_failure():
    """A study that failed upstream gives one row per expected subgroup, with study, analysis,
    measure and 'study failed: <summary>'."""
    data = table(3, 3, 3, 3)
    data.attrs["failed"] = {"summary": "bad dates"}
    spec = {"type": "binary", "outcome": "pcr", "measure": "RD", "compare": HR}
    (row,) = estimate_analysis(data, study_id="S5", analysis="pcr", spec=spec)
    assert (row.study_id, row.analysis, row.measure, row.subgroup) == ("S5", "pcr", "RD", "all")
    assert row.reason == "study failed: bad dates" and not row.estimable
