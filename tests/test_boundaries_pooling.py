"""Both sides of the statistical thresholds, as tables with the closed-form numbers written out.

- 2x2 effects (pool/binary.py escalc_2x2, effects.binary_effect): a zero in one cell adds the
  continuity correction (default 0.5) to every cell of that study and of no other; double zeros
  (a = c = 0, or b = d = 0) are not estimable for OR and RR and are kept for RD (Cochrane
  Handbook 10.4.4; docs/methods/pooling.md). log OR = log(ad/bc), var = 1/a + 1/b + 1/c + 1/d;
  log RR = log((a/n1)/(c/n2)), var = 1/a - 1/n1 + 1/c - 1/n2; RD = a/n1 - c/n2,
  var = p1(1-p1)/n1 + p2(1-p2)/n2, each on the corrected cells.
- Pooling with k = 1 and k = 2 (pool/engine.py, heterogeneity.py): tau2 set to 0 for k = 1 and
  the test falls back to z; Knapp-Hartung uses t(k - 1); the prediction interval t(k - 2)
  (Higgins 2009); I2 = max(0, (Q - df)/Q) is truncated at 0 when Q <= df.
- Sensitivity thresholds (sensitivity.py): small_study_n (N < 100 left out, N = 100 kept),
  min_k_small_study_tests (k = 9 not done, k = 10 done), loo_shift (a move of more than it).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from her2meta.effects import binary_effect
from her2meta.pool import escalc_2x2, mantel_haenszel, rma
from her2meta.pool.heterogeneity import q_based_i2
from her2meta.sensitivity import Context, exclusion_variants, leave_one_out_variants, small_study_variants

Z975 = 1.959963984540054  # standard normal 97.5% quantile
T975_1 = 12.706204736174694  # t(1) 97.5% quantile
T975_2 = 4.302652729749462  # t(2) 97.5% quantile

# ----------------------------------------------------------------------------------------------
# 2x2 effect sizes: (a, b, c, d) = events / non-events in the exposed, then the reference group

EFFECTS = [
    # (cells, measure, yi, vi, corrected); the corrected cells used are in each id
    pytest.param((3, 7, 4, 6), "OR", -0.4418327522790392, 0.8928571428571428, False, id="OR_no_zero_3_7_4_6"),
    pytest.param((3, 7, 4, 6), "RR", -0.28768207245178107, 0.3833333333333333, False, id="RR_no_zero_3_7_4_6"),
    pytest.param((3, 7, 4, 6), "RD", -0.1, 0.045, False, id="RD_no_zero_3_7_4_6"),
    # a cell of 1 is not a zero: no correction (only a zero cell triggers it)
    pytest.param((1, 9, 4, 6), "OR", -1.791759469228055, 1.527777777777778, False, id="OR_cell_of_1_uncorrected_1_9_4_6"),
    pytest.param((1, 9, 4, 6), "RR", -1.3862943611198906, 1.05, False, id="RR_cell_of_1_uncorrected_1_9_4_6"),
    pytest.param((1, 9, 4, 6), "RD", -0.3, 0.033, False, id="RD_cell_of_1_uncorrected_1_9_4_6"),
    pytest.param((0, 7, 4, 6), "OR", -2.340325420976893, 2.5094017094017094, True, id="OR_a0_as_0.5_7.5_4.5_6.5"),
    pytest.param((0, 7, 4, 6), "RR", -1.8787708462176849, 2.0063131313131315, True, id="RR_a0_as_0.5_7.5_4.5_6.5"),
    pytest.param((0, 7, 4, 6), "RD", -0.3465909090909091, 0.029300176676371147, True, id="RD_a0_as_0.5_7.5_4.5_6.5"),
    pytest.param((3, 0, 4, 6), "OR", 2.3136349291806306, 2.6617826617826617, True, id="OR_b0_as_3.5_0.5_4.5_6.5"),
    pytest.param((3, 0, 4, 6), "RR", 0.7602864833975739, 0.167027417027417, True, id="RR_b0_as_3.5_0.5_4.5_6.5"),
    pytest.param((3, 0, 4, 6), "RD", 0.4659090909090909, 0.04931970792637115, True, id="RD_b0_as_3.5_0.5_4.5_6.5"),
    pytest.param((3, 7, 0, 6), "OR", 1.80280930541464, 2.5728937728937726, True, id="OR_c0_as_3.5_7.5_0.5_6.5"),
    pytest.param((3, 7, 0, 6), "RR", 1.4939250253122562, 2.051948051948052, True, id="RR_c0_as_3.5_7.5_0.5_6.5"),
    pytest.param((3, 7, 0, 6), "RD", 0.24675324675324675, 0.029197232182558548, True, id="RD_c0_as_3.5_7.5_0.5_6.5"),
    pytest.param((3, 7, 4, 0), "OR", -2.959364629383116, 2.641269841269841, True, id="OR_d0_as_3.5_7.5_4.5_0.5"),
    pytest.param((3, 7, 4, 0), "RR", -1.0397717886451763, 0.21702741702741696, True, id="RR_d0_as_3.5_7.5_4.5_0.5"),
    pytest.param((3, 7, 4, 0), "RD", -0.5818181818181818, 0.037722013523666414, True, id="RD_d0_as_3.5_7.5_4.5_0.5"),
    # one patient per group
    pytest.param((1, 0, 0, 1), "OR", math.log(9), 5.333333333333333, True, id="OR_one_patient_groups_1_0_0_1"),
    pytest.param((1, 0, 0, 1), "RR", math.log(3), 1.6666666666666665, True, id="RR_one_patient_groups_1_0_0_1"),
    pytest.param((1, 0, 0, 1), "RD", 0.5, 0.1875, True, id="RD_one_patient_groups_1_0_0_1"),
    # double zeros: kept for RD only (RD of the corrected cells)
    pytest.param((0, 7, 0, 6), "RD", -0.008928571428571425, 0.01679943740889213, True, id="RD_a0_c0_as_0.5_7.5_0.5_6.5"),
    pytest.param((3, 0, 4, 0), "RD", -0.025, 0.045343749999999995, True, id="RD_b0_d0_as_3.5_0.5_4.5_0.5"),
    pytest.param((1, 0, 1, 0), "RD", 0.0, 0.1875, True, id="RD_one_patient_groups_both_events"),
    pytest.param((0, 1, 0, 1), "RD", 0.0, 0.1875, True, id="RD_one_patient_groups_no_events"),
]

DOUBLE_ZEROS = [
    pytest.param((0, 7, 0, 6), "OR", id="OR_a0_c0_no_events"),
    pytest.param((0, 7, 0, 6), "RR", id="RR_a0_c0_no_events"),
    pytest.param((3, 0, 4, 0), "OR", id="OR_b0_d0_all_events"),
    pytest.param((3, 0, 4, 0), "RR", id="RR_b0_d0_all_events"),
    pytest.param((1, 0, 1, 0), "OR", id="OR_one_patient_groups_both_events"),
    pytest.param((0, 1, 0, 1), "RR", id="RR_one_patient_groups_no_events"),
]


@pytest.mark.parametrize("cells, measure, yi, vi, corrected", EFFECTS)
def test_escalc_2x2_closed_form(cells, measure, yi, vi, corrected):
    """Effect sizes on the raw cells, or with 0.5 added to every cell of a table with a zero cell."""
    es = escalc_2x2(*[[x] for x in cells], measure=measure)
    assert es.yi[0] == pytest.approx(yi, rel=1e-12, abs=1e-15)
    assert es.vi[0] == pytest.approx(vi, rel=1e-12)
    assert bool(es.corrected[0]) is corrected and not es.dropped[0]


@pytest.mark.parametrize("cells, measure", DOUBLE_ZEROS)
def test_escalc_2x2_double_zero_not_estimable_for_ratios(cells, measure):
    """No events (or no non-events) in both groups: no odds or risk ratio; the study is dropped and said so."""
    es = escalc_2x2(*[[x] for x in cells], measure=measure)
    assert math.isnan(es.yi[0]) and math.isnan(es.vi[0]) and bool(es.dropped[0])
    assert es.records == [{"study": "1", "action": "dropped",
                           "reason": "double zero: no events (or no non-events) in both groups"}]


@pytest.mark.parametrize("measure, yi_second", [
    pytest.param("OR", -0.4418327522790392, id="OR"),
    pytest.param("RR", -0.28768207245178107, id="RR"),
    pytest.param("RD", -0.1, id="RD"),
])
def test_correction_is_added_to_the_study_with_the_zero_only(measure, yi_second):
    """Study 1 has a zero cell, study 2 none: study 2 keeps its raw cells (3, 7, 4, 6)."""
    es = escalc_2x2([0, 3], [7, 7], [4, 4], [6, 6], measure=measure)
    assert es.corrected.tolist() == [True, False]
    assert es.yi[1] == pytest.approx(yi_second, rel=1e-12)


@pytest.mark.parametrize("add, yi, vi", [
    # a = 0 with add = 0.25: cells (0.25, 7.25, 4.25, 6.25)
    pytest.param(0.25, -2.9816333491744893, 4.533225152129818, id="add0.25"),
    pytest.param(0.5, -2.340325420976893, 2.5094017094017094, id="add0.5_default"),
])
def test_correction_size(add, yi, vi):
    """The correction is the configured amount (analyses.<name>.correction), not a fixed 0.5."""
    es = escalc_2x2([0], [7], [4], [6], measure="OR", add=add)
    assert (es.yi[0], es.vi[0]) == (pytest.approx(yi, rel=1e-12), pytest.approx(vi, rel=1e-12))


def _patients(a, b, c, d) -> pd.DataFrame:
    rows = [("negative", True)] * a + [("negative", False)] * b + [("positive", True)] * c + [("positive", False)] * d
    return pd.DataFrame(rows, columns=["hr_status", "pcr"])


COMPARE = {"field": "hr_status", "exposed": "negative", "reference": "positive"}


@pytest.mark.parametrize("cells, measure, yi, vi, corrected", EFFECTS)
def test_binary_effect_records_the_correction_only_for_a_zero_cell(cells, measure, yi, vi, corrected):
    """A study's estimate from its patients: the closed form, and `correction` set only for a zero cell."""
    est = binary_effect(_patients(*cells), study_id="S", analysis="a", outcome="pcr", compare=COMPARE, measure=measure)
    assert est.estimable, est.reason
    assert est.estimate == pytest.approx(yi, rel=1e-12, abs=1e-15)
    assert est.se ** 2 == pytest.approx(vi, rel=1e-12)
    assert est.correction == (0.5 if corrected else 0.0)
    assert (est.n_exposed, est.events_exposed, est.n_reference, est.events_reference) == (
        cells[0] + cells[1], cells[0], cells[2] + cells[3], cells[2])


@pytest.mark.parametrize("cells, measure, reason", [
    pytest.param((0, 7, 0, 6), "OR", "no events in either group", id="OR_a0_c0"),
    pytest.param((0, 7, 0, 6), "RR", "no events in either group", id="RR_a0_c0"),
    pytest.param((3, 0, 4, 0), "OR", "every patient had the event", id="OR_b0_d0"),
    pytest.param((3, 0, 4, 0), "RR", "effect size not estimable from the 2x2 table", id="RR_b0_d0"),
    pytest.param((0, 0, 4, 6), "RD", "no patients with hr_status = negative", id="RD_empty_exposed_group"),
])
def test_binary_effect_not_estimable(cells, measure, reason):
    """Double zeros give no ratio; an empty compared group gives nothing; each with its reason."""
    est = binary_effect(_patients(*cells), study_id="S", analysis="a", outcome="pcr", compare=COMPARE, measure=measure)
    assert not est.estimable and est.reason == reason


def test_binary_effect_correction_from_the_analysis():
    """A configured correction of 0.25 is the one added and recorded."""
    est = binary_effect(_patients(0, 7, 4, 6), study_id="S", analysis="a", outcome="pcr", compare=COMPARE, measure="OR",
                        correction=0.25)
    assert est.correction == 0.25 and est.estimate == pytest.approx(-2.9816333491744893, rel=1e-12)
    assert est.notes == ["0.25 added to each cell (zero cell)"]


# ----------------------------------------------------------------------------------------------
# Pooling with k = 1 and k = 2

K1 = [
    # one study, y = 0.5, v = 0.25: tau2 = 0 by convention, z test whatever was asked,
    # CI = PI = 0.5 -/+ 1.96 x 0.5, Q = 0 with 0 df, I2 = 0, H2 = 1
    pytest.param(method, test, id=f"{method}_{test}")
    for method, test in [("FE", "z"), ("DL", "z"), ("REML", "z"), ("REML", "knha"), ("PM", "adhoc"), ("ML", "t")]
]


@pytest.mark.parametrize("method, test", K1)
def test_pooling_one_study(method, test):
    """k = 1: no tau2 to estimate (0), no df for a t test (z), no heterogeneity (Q = 0, I2 = 0, H2 = 1)."""
    res = rma([0.5], [0.25], method=method, test=test)
    half = Z975 * 0.5
    assert (res.k, res.estimate, res.se, res.tau2, res.test, res.df) == (1, 0.5, 0.5, 0.0, "z", None)
    assert (res.ci_lb, res.ci_ub) == (pytest.approx(0.5 - half, rel=1e-9), pytest.approx(0.5 + half, rel=1e-9))
    assert (res.pi_lb, res.pi_ub) == (pytest.approx(0.5 - half, rel=1e-9), pytest.approx(0.5 + half, rel=1e-9))
    assert (res.Q, res.Q_df, res.I2, res.H2) == (0.0, 0, 0.0, 1.0)
    assert res.tau2_ci_lb is None and res.tau2_ci_ub is None


K2 = [
    # y = (0, 2), v = (1, 1): Q = 2 on 1 df. Moment and REML estimators give tau2 = s2 - v = 1
    # (equal variances); ML gives s2 (k-1)/k - v = 0. Knapp-Hartung: t(k - 1) = t(1), scale
    # s2w = sum w (y - mu)^2 / (k - 1). (method, test, tau2, se, CI half-width, df, PI half-width)
    pytest.param("FE", "z", 0.0, math.sqrt(0.5), Z975 * math.sqrt(0.5), None, Z975 * math.sqrt(0.5), id="FE_z"),
    pytest.param("DL", "z", 1.0, 1.0, Z975, None, Z975 * math.sqrt(2), id="DL_z"),
    pytest.param("REML", "z", 1.0, 1.0, Z975, None, Z975 * math.sqrt(2), id="REML_z"),
    pytest.param("PM", "z", 1.0, 1.0, Z975, None, Z975 * math.sqrt(2), id="PM_z"),
    pytest.param("ML", "z", 0.0, math.sqrt(0.5), Z975 * math.sqrt(0.5), None, Z975 * math.sqrt(0.5), id="ML_z_tau2_0"),
    pytest.param("REML", "knha", 1.0, 1.0, T975_1, 1, T975_1 * math.sqrt(2), id="REML_knha_df1"),
    pytest.param("DL", "knha", 1.0, 1.0, T975_1, 1, T975_1 * math.sqrt(2), id="DL_knha_df1"),
    # ML: tau2 = 0, w = 1, s2w = (1 + 1)/1 = 2, se = sqrt(2 x 1/2) = 1
    pytest.param("ML", "knha", 0.0, 1.0, T975_1, 1, T975_1 * 1.0, id="ML_knha_df1_s2w_2"),
]


@pytest.mark.parametrize("method, test, tau2, se, half, df, pi_half", K2)
def test_pooling_two_studies(method, test, tau2, se, half, df, pi_half):
    """k = 2: tau2 by each estimator, Knapp-Hartung on t(1), prediction interval on the same distribution."""
    res = rma([0.0, 2.0], [1.0, 1.0], method=method, test=test)
    assert res.k == 2 and res.estimate == pytest.approx(1.0, rel=1e-9)
    assert res.tau2 == pytest.approx(tau2, abs=1e-6)
    assert res.se == pytest.approx(se, rel=1e-6)
    assert (res.ci_lb, res.ci_ub) == (pytest.approx(1 - half, rel=1e-6), pytest.approx(1 + half, rel=1e-6))
    assert res.df == df
    assert (res.pi_lb, res.pi_ub) == (pytest.approx(1 - pi_half, rel=1e-6), pytest.approx(1 + pi_half, rel=1e-6))
    assert (res.Q, res.Q_df) == (pytest.approx(2.0, rel=1e-12), 1)


@pytest.mark.parametrize("ys, test, df", [
    pytest.param([0.0, 2.0], "knha", 1, id="k2_knha_df1"),
    pytest.param([-1.1, 0.0, 1.1], "knha", 2, id="k3_knha_df2"),
    pytest.param([-1.1, 0.0, 1.1], "adhoc", 2, id="k3_adhoc_df2"),
    pytest.param([-1.1, 0.0, 1.1], "z", None, id="k3_z_no_df"),
])
def test_knapp_hartung_df_is_k_minus_1(ys, test, df):
    """Knapp-Hartung (and its ad hoc variant) test on t(k - 1); the Wald test has no df."""
    assert rma(ys, [1.0] * len(ys), method="DL", test=test).df == df


@pytest.mark.parametrize("test, se", [
    # y = (0, 1), v = (1, 1): tau2 = 0, mu = 0.5, s2w = (0.25 + 0.25)/1 = 0.5; Var(mu) = 1/2
    pytest.param("knha", math.sqrt(0.5 * 0.5), id="knha_s2w_0.5_untruncated"),
    pytest.param("adhoc", math.sqrt(1.0 * 0.5), id="adhoc_s2w_truncated_at_1"),
])
def test_knapp_hartung_scale_truncation(test, se):
    """knha keeps a scale factor below 1; the ad hoc variant truncates it at 1 (Knapp & Hartung 2003)."""
    assert rma([0.0, 1.0], [1.0, 1.0], method="DL", test=test).se == pytest.approx(se, rel=1e-9)


@pytest.mark.parametrize("ys, tau2, se, pi_df, pi_half", [
    # pi_dist="t": mu -/+ t(k - 2) sqrt(tau2 + SE^2) (Higgins et al. 2009), DL, v = 1
    pytest.param([-1.1, 0.0, 1.1], 0.21, math.sqrt(1.21 / 3), 1, T975_1 * math.sqrt(1.21 / 3 + 0.21), id="k3_t1"),
    pytest.param([-1.5, -0.5, 0.5, 1.5], 2 / 3, math.sqrt((5 / 3) / 4), 2, T975_2 * math.sqrt((5 / 3) / 4 + 2 / 3),
                 id="k4_t2"),
    # k = 2: t(0) does not exist; the module documents a floor of 1 df (engine.prediction_crit)
    pytest.param([-1.0, 1.0], 1.0, 1.0, 1, T975_1 * math.sqrt(2.0), id="k2_documented_floor_t1"),
])
def test_prediction_interval_t_k_minus_2(ys, tau2, se, pi_df, pi_half):
    """Higgins 2009 prediction interval: mu -/+ t(k - 2) sqrt(tau2 + SE(mu)^2)."""
    res = rma(ys, [1.0] * len(ys), method="DL", test="z", pi_dist="t")
    assert res.tau2 == pytest.approx(tau2, rel=1e-9) and res.se == pytest.approx(se, rel=1e-9)
    assert res.pi_df == pi_df
    assert (res.pi_lb, res.pi_ub) == (pytest.approx(-pi_half, rel=1e-9), pytest.approx(pi_half, rel=1e-9))


I2 = [
    # (Q, df, I2 %): Higgins & Thompson, max(0, 100 (Q - df) / Q)
    pytest.param(0.0, 1, 0.0, id="Q0"),
    pytest.param(0.5, 1, 0.0, id="Q_below_df_truncated"),
    pytest.param(1.0, 1, 0.0, id="Q_equals_df"),
    pytest.param(2.0, 1, 50.0, id="Q_twice_df"),
    pytest.param(1.62, 2, 0.0, id="k3_Q_below_df"),
    pytest.param(2.0, 2, 0.0, id="k3_Q_equals_df"),
    pytest.param(2.42, 2, 17.355371900826444, id="k3_Q_above_df"),
]


@pytest.mark.parametrize("q, df, expected", I2)
def test_q_based_i2_truncated_at_0(q, df, expected):
    """I2 is never negative: Q at or below its df means no heterogeneity beyond chance."""
    assert q_based_i2(q, df) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("ys, q, i2, tau2_dl", [
    # v = 1: Q = sum (y - mean)^2; DL tau2 = max(0, (Q - 2) / (3 - 1))
    pytest.param([-0.9, 0.0, 0.9], 1.62, 0.0, 0.0, id="Q1.62_below_df2"),
    pytest.param([-1.0, 0.0, 1.0], 2.0, 0.0, 0.0, id="Q2_at_df2"),
    pytest.param([-1.1, 0.0, 1.1], 2.42, 17.355371900826444, 0.21, id="Q2.42_above_df2"),
])
def test_heterogeneity_on_both_sides_of_q_equals_df(ys, q, i2, tau2_dl):
    """Q just below, at and above df = k - 1: I2 and the DerSimonian-Laird tau2 are 0 until Q exceeds df."""
    fe = rma(ys, [1.0] * 3, method="FE")
    assert fe.Q == pytest.approx(q, rel=1e-12) and fe.I2 == pytest.approx(i2, rel=1e-9, abs=1e-9)
    dl = rma(ys, [1.0] * 3, method="DL")
    assert dl.tau2 == pytest.approx(tau2_dl, rel=1e-9, abs=1e-12)
    assert dl.I2 == pytest.approx(i2, rel=1e-9, abs=1e-9)  # tau2-based = Q-based for equal variances under DL


MH_HETEROGENEITY = [
    # Q of the study log ORs around the MH log OR (metafor rma.mh), I2 = max(0, (Q - df)/Q), H2 = Q/df
    pytest.param(([3], [7], [4], [6]), 0.0, 0, 0.0, 1.0, id="k1_no_df_Q0_I2_0_H2_1"),
    # log ORs log(18/28), log(36/16); variances 0.8929, 0.8333; MH log OR log(54/44)
    pytest.param(([3, 6], [7, 4], [4, 4], [6, 6]), 0.9091826281130907, 1, 0.0, 0.9091826281130907,
                 id="k2_Q_below_df_I2_truncated"),
    # log ORs -log(36) and +log(36), variances 1.7361 each; MH log OR 0
    pytest.param(([1, 8], [9, 2], [8, 1], [2, 9]), 14.793532395579192, 1, 93.2402892476253, 14.793532395579192,
                 id="k2_Q_above_df"),
]


@pytest.mark.parametrize("cells, q, q_df, i2, h2", MH_HETEROGENEITY)
def test_mantel_haenszel_heterogeneity_with_one_and_two_studies(cells, q, q_df, i2, h2):
    """One study has no heterogeneity to measure (Q = 0 on 0 df); with two, I2 is truncated at 0."""
    res = mantel_haenszel(*cells, measure="OR")
    assert res.Q_df == q_df
    assert (res.Q, res.I2, res.H2) == (pytest.approx(q, rel=1e-9, abs=1e-12), pytest.approx(i2, rel=1e-9, abs=1e-12),
                                       pytest.approx(h2, rel=1e-9))


# ----------------------------------------------------------------------------------------------
# Sensitivity thresholds (sensitivity.py, config.sensitivity)

POOLING = {"primary": "FE", "test": "z", "level": 95.0, "prediction_interval": "auto"}


def _estimates(ys, ns=None, ses=None) -> pd.DataFrame:
    k = len(ys)
    return pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(k)], "subgroup": "all", "estimable": True,
                         "estimate": ys, "se": ses or [1.0] * k, "n": ns or [200] * k})


@pytest.mark.parametrize("small_n, left_out", [
    pytest.param(100, ["S00"], id="default_100_N99_left_out_N100_kept"),
    pytest.param(101, ["S00", "S01"], id="101_N100_left_out_N101_kept"),
    pytest.param(99, [], id="99_none_left_out"),
])
def test_small_study_exclusion_is_n_below_the_setting(small_n, left_out):
    """"Without small studies" leaves out N < small_study_n (N = small_study_n stays)."""
    estimates = _estimates([0.1, 0.2, 0.3, 0.4], ns=[99, 100, 101, 250])
    ctx = Context("a", {}, POOLING, settings={"small_study_n": small_n})
    (row,) = [v for v in exclusion_variants(estimates, ctx) if v.variant.startswith("without small studies")]
    assert row.variant == f"without small studies (N < {small_n})"
    assert row.note == (f"left out: {', '.join(left_out)}" if left_out else "no study meets the criterion (same as primary)")
    assert row.k == 4 - len(left_out)


@pytest.mark.parametrize("k, min_k, done", [
    pytest.param(9, 10, False, id="k9_default10_not_done"),
    pytest.param(10, 10, True, id="k10_default10_done"),
    pytest.param(10, 11, False, id="k10_min11_not_done"),
])
def test_small_study_tests_need_min_k(k, min_k, done):
    """Egger and trim-and-fill only from min_k_small_study_tests studies (default 10)."""
    rng = np.random.default_rng(7)
    ses = [0.1 + 0.05 * i for i in range(k)]
    estimates = _estimates(list(rng.normal(0.3, 0.2, k)), ses=ses)
    variants = small_study_variants(estimates, Context("a", {}, POOLING, settings={"min_k_small_study_tests": min_k}))
    if done:
        assert [v.variant for v in variants][:1] == ["Egger's regression test"] and variants[0].k == k
        assert any(v.variant.startswith("trim-and-fill") for v in variants)
    else:
        assert [(v.variant, v.k, v.note) for v in variants] == [
            ("not done", k, f"k < {min_k}: funnel asymmetry tests have too little power")]


@pytest.mark.parametrize("shift, flagged", [
    # y = (0, 0, 0.75), v = 1, fixed effect: mu = 0.25; without S02 mu = 0 (a move of -0.25)
    pytest.param(0.2499, True, id="shift_0.2499_move_0.25_flagged"),
    pytest.param(0.25, False, id="shift_0.25_move_0.25_not_more_not_flagged"),
    pytest.param(0.2501, False, id="shift_0.2501_not_flagged"),
])
def test_leave_one_out_flags_a_move_of_more_than_loo_shift(shift, flagged):
    """A study whose removal moves the estimate by more than loo_shift changes the conclusion."""
    estimates = _estimates([0.0, 0.0, 0.75])
    rows = leave_one_out_variants(estimates, Context("a", {}, POOLING, settings={"loo_shift": shift}))
    by_study = {r.variant: r for r in rows}
    assert by_study["without S02"].estimate == pytest.approx(0.0, abs=1e-12)
    assert by_study["without S02"].changes_conclusion is flagged
    assert ("estimate moves by -0.250" in by_study["without S02"].note) is flagged
    assert by_study["without S00"].changes_conclusion is False  # a move of +0.125


@pytest.mark.parametrize("k, possible", [pytest.param(1, False, id="k1_not_possible"), pytest.param(2, True, id="k2_done")])
def test_leave_one_out_needs_two_studies(k, possible):
    """Leaving one out of one study leaves nothing to pool."""
    rows = leave_one_out_variants(_estimates([0.1, 0.2][:k]), Context("a", {}, POOLING, settings={}))
    if possible:
        assert [r.variant for r in rows] == ["without S00", "without S01"]
    else:
        assert [(r.variant, r.note) for r in rows] == [("not possible", "fewer than 2 studies")]
