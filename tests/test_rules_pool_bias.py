"""Rules of the small-study / publication-bias tests (her2meta.pool.bias: Egger, Begg,
trim-and-fill) that the mutation run of issue 18 found untested.

Expected values come from metafor 3.8 (tests/reference/metafor: regtest on bcg_rr), from the
textbook formulas written out here with numpy (weighted least squares for Egger, Begg &
Mazumdar's standardised deviates and Kendall's tau by pair counting, Duval & Tweedie's L0/R0/Q0
and their variances), or from hand arithmetic given in the comments.
"""

from __future__ import annotations

import copy
import json
import pickle
import math
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from her2meta.pool import PoolingError, begg_test, egger_test, rma, trimfill
from her2meta.pool.bias import BeggResult, EggerResult, TrimFillResult, _estimate_k0

FIX = json.loads((Path(__file__).parent / "reference" / "metafor" / "metafor_fixtures.json").read_text())
BCG = FIX["datasets"]["bcg_rr"]
YI, VI = np.array(BCG["yi"]), np.array(BCG["vi"])
Z975, Z95 = 1.959963984540054, 1.6448536269514722


def regtest(model, method):
    (hit,) = [c for c in FIX["regtest"] if c["dataset"] == "bcg_rr" and c["model"] == model
              and c["method"] == method]
    return hit["expected"]


def wls(y, w, X):
    """Textbook weighted least squares: beta, (X'WX)^-1 and the weighted residual sum of squares."""
    xtwx = X.T @ (w[:, None] * X)
    beta = np.linalg.solve(xtwx, X.T @ (w * y))
    resid = y - X @ beta
    return beta, np.linalg.inv(xtwx), float(np.sum(w * resid ** 2))


# ------------------------------------------------------------------------------ Egger ---

def test_a_bias_test_needs_a_fit_or_both_yi_and_vi():
    """Without vi the user is told what to give (a MetaResult, or yi and vi)."""
    with pytest.raises(PoolingError, match=r"^give a MetaResult or yi and vi$"):
        egger_test([0.1, 0.2, 0.3])
    with pytest.raises(PoolingError, match=r"^give a MetaResult or yi and vi$"):
        begg_test([0.1, 0.2, 0.3])


def test_egger_on_raw_yi_vi_uses_reml_z_and_95_percent():
    """Raw yi/vi get metafor's regtest defaults: REML, Wald z, 95% interval of the limit estimate
    (metafor regtest(rma(yi, vi)) on bcg_rr)."""
    res = egger_test(YI, VI)
    exp = regtest("rma", "REML")
    assert (res.model, res.method, res.test, res.df, res.k) == ("rma", "REML", "z", None, 13)
    assert res.zval == pytest.approx(exp["zval"], rel=1e-6)
    assert res.limit_estimate == pytest.approx(exp["limit_estimate"], rel=1e-6)
    assert res.limit_ci_lb == pytest.approx(exp["limit_ci_lb"], rel=1e-6)
    assert res.limit_ci_ub == pytest.approx(exp["limit_ci_ub"], rel=1e-6)


def test_egger_rma_fixed_effect_slope_is_the_wls_slope_of_yi_on_sei():
    """model='rma' with FE: slope and its SE are those of WLS of yi on sei with weights 1/vi,
    and zval = slope / SE (metafor's zval for the same fit)."""
    res = egger_test(rma(YI, VI, method="FE"), model="rma")
    X = np.column_stack([np.ones(YI.size), np.sqrt(VI)])
    beta, inv, _ = wls(YI, 1.0 / VI, X)
    assert res.slope == pytest.approx(beta[1], rel=1e-10)
    assert res.slope_se == pytest.approx(math.sqrt(inv[1, 1]), rel=1e-10)
    assert res.zval == pytest.approx(regtest("rma", "FE")["zval"], rel=1e-6)
    assert (res.model, res.method, res.test) == ("rma", "FE", "z")


def test_egger_keeps_the_knapp_hartung_test_of_the_fit():
    """Egger on a Knapp-Hartung fit tests the sei slope with t(k - 2), not with z."""
    res = egger_test(rma(YI, VI, test="knha"))
    assert res.test == "knha"
    assert res.df == YI.size - 2
    assert res.pval == pytest.approx(2 * stats.t.sf(abs(res.zval), YI.size - 2), rel=1e-10)
    assert res.tval == res.zval


def test_egger_limit_interval_follows_the_level_asked_for():
    """level=90 narrows the limit estimate's interval by z(0.95)/z(0.975) around the same point
    (metafor's 95% interval on bcg_rr rescaled by hand)."""
    exp = regtest("rma", "REML")
    res = egger_test(rma(YI, VI), level=90)
    half95 = exp["limit_estimate"] - exp["limit_ci_lb"]
    assert res.limit_estimate == pytest.approx(exp["limit_estimate"], rel=1e-6)
    assert res.limit_ci_lb == pytest.approx(exp["limit_estimate"] - half95 * Z95 / Z975, rel=1e-6)
    assert res.limit_ci_ub == pytest.approx(exp["limit_estimate"] + half95 * Z95 / Z975, rel=1e-6)


def test_classical_egger_lm_is_wls_with_residual_scale_and_a_t_test():
    """model='lm': WLS of yi on sei, weights 1/vi, residual variance rss/(k-2), t(k-2) test of the
    slope (metafor regtest(..., model='lm') on bcg_rr for t and p)."""
    res = egger_test(YI, VI, model="lm")
    k = YI.size
    X = np.column_stack([np.ones(k), np.sqrt(VI)])
    beta, inv, rss = wls(YI, 1.0 / VI, X)
    se = np.sqrt(np.diag(inv) * rss / (k - 2))
    exp = regtest("lm", "REML")
    assert (res.model, res.method, res.test, res.df, res.k) == ("lm", None, "t", k - 2, k)
    assert res.slope == pytest.approx(beta[1], rel=1e-10)
    assert res.slope_se == pytest.approx(se[1], rel=1e-10)
    assert res.zval == pytest.approx(exp["zval"], rel=1e-6)
    assert res.pval == pytest.approx(exp["pval"], rel=1e-6)
    assert res.limit_ci_lb == pytest.approx(exp["limit_ci_lb"], rel=1e-6)


@pytest.mark.parametrize("model", ["rma", "lm"])
def test_egger_runs_with_three_studies_and_refuses_two(model):
    """Three studies are enough for Egger's test (the lm version has 1 df); two are refused."""
    res = egger_test([0.1, 0.4, 0.2], [0.01, 0.04, 0.09], model=model)
    assert res.k == 3
    with pytest.raises(PoolingError, match=r"^Egger's test needs at least 3 studies \(k = 2\)$"):
        egger_test([0.1, 0.4], [0.01, 0.04], model=model)


def test_egger_unknown_model_is_named_in_the_error():
    with pytest.raises(PoolingError, match=r"^model must be 'rma' or 'lm', not 'glm'$"):
        egger_test(YI, VI, model="glm")


def test_egger_with_equal_variances_names_sei_as_the_constant_moderator():
    """With equal vi the predictor sei is constant; the error (rma model) names it."""
    with pytest.raises(PoolingError, match=r"^moderators \['sei'\] are collinear"):
        egger_test([0.1, 0.2, 0.3, 0.5], [0.1] * 4, model="rma")


def test_egger_to_dict_adds_tval_only_for_t_tests():
    """to_dict has the dataclass fields plus tval (= zval for t tests, None for z tests)."""
    lm = egger_test(YI, VI, model="lm").to_dict()
    assert lm["tval"] == lm["zval"] and lm["df"] == 11 and lm["model"] == "lm"
    z = egger_test(YI, VI).to_dict()
    assert "tval" in z and z["tval"] is None


def egger_result(df):
    return EggerResult("lm", None, "t", -1.401282, 0.188707, df, -0.5, 0.25, -0.190929,
                       -0.675332, 0.293475, 13)


def test_egger_summary_text():
    """The printed Egger block: model, statistic (t with df, or z), p, limit estimate and CI;
    digits reach every number."""
    assert egger_result(11).summary().split("\n") == [
        "Egger's regression test for funnel plot asymmetry (lm; predictor: sei)",
        "t(df = 11) = -1.4013, p = 0.1887",
        "Limit estimate (as sei -> 0): -0.1909 [-0.6753, 0.2935]"]
    assert egger_result(None).summary(2).split("\n")[1:] == [
        "z = -1.40, p = 0.1887",
        "Limit estimate (as sei -> 0): -0.19 [-0.68, 0.29]"]


# ------------------------------------------------------------------------------- Begg ---

def kendall_tau(x, y):
    """Kendall's tau-a by counting concordant minus discordant pairs (no ties)."""
    n, s = len(x), 0
    for i in range(n):
        for j in range(i + 1, n):
            s += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    return s / (n * (n - 1) / 2)


def begg_deviates(yi, vi):
    """Begg & Mazumdar: (y - b_FE) / sqrt(v - 1/sum w) with w = 1/v."""
    w = 1.0 / vi
    b = np.sum(w * yi) / w.sum()
    return (yi - b) / np.sqrt(vi - 1.0 / w.sum())


def test_begg_standardises_by_v_minus_the_variance_of_the_fixed_effect_mean():
    """Begg's deviates use v_i - 1/sum(1/v) (not half of it): on these five studies the
    ranks -- and tau -- depend on that term."""
    yi = np.array([0.02, -0.53, 0.13, -0.43, 0.49])
    vi = np.array([0.39, 0.46, 0.12, 0.47, 0.05])
    res = begg_test(yi, vi)
    tau = kendall_tau(begg_deviates(yi, vi), vi)
    assert tau == pytest.approx(-0.6)
    assert res.tau == pytest.approx(tau, abs=1e-12)
    assert res.pval == pytest.approx(stats.kendalltau(begg_deviates(yi, vi), vi, method="exact").pvalue)
    assert (res.method, res.k) == ("exact", 5)
    assert res.to_dict() == {"tau": res.tau, "pval": res.pval, "method": "exact", "k": 5}


def spread(k):
    """k studies without ties in the deviates or in vi."""
    vi = 0.02 + 0.01 * np.arange(k)
    yi = np.sin(np.arange(k) * 1.7) * 0.3
    return yi, vi


def test_begg_uses_the_normal_approximation_from_50_studies():
    """As R's cor.test: exact p below 50 studies, normal approximation
    z = 3 tau sqrt(n(n-1)) / sqrt(2(2n+5)) from 50 on."""
    yi, vi = spread(50)
    res = begg_test(yi, vi)
    n = 50
    tau = kendall_tau(begg_deviates(yi, vi), vi)
    z = 3 * tau * math.sqrt(n * (n - 1)) / math.sqrt(2 * (2 * n + 5))
    assert res.method == "asymptotic"
    assert res.tau == pytest.approx(tau, abs=1e-12)
    assert res.pval == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert begg_test(*spread(49)).method == "exact"


def test_begg_runs_with_three_studies_and_refuses_two():
    assert begg_test([0.1, 0.4, 0.2], [0.01, 0.04, 0.09]).k == 3
    with pytest.raises(PoolingError, match=r"^Begg's test needs at least 3 studies \(k = 2\)$"):
        begg_test([0.1, 0.4], [0.01, 0.04])


def test_begg_summary_text():
    res = BeggResult(-0.123456, 0.54321, "exact", 13)
    assert res.summary().split("\n") == [
        "Begg's rank correlation test for funnel plot asymmetry",
        "Kendall's tau = -0.1235, p = 0.5432 (exact)"]
    assert res.summary(2).split("\n")[1] == "Kendall's tau = -0.12, p = 0.5432 (exact)"


# ---------------------------------------------------------------------- k0 estimators ---

def var_sr(k, k0):
    """Duval & Tweedie's variance of the rank sum S_r at k0 (exact, in fractions)."""
    k, k0 = Fraction(k), Fraction(k0)
    return (k * (k + 1) * (2 * k + 1) + 10 * k0 ** 3 + 27 * k0 ** 2 + 17 * k0
            - 18 * k * k0 ** 2 - 18 * k * k0 + 6 * k * k * k0) / 24


def test_q0_with_rank_sum_k_squared_over_2():
    """Q0, k = 4, positive ranks 1, 3, 4 (S_r = 8): k0 = 4 - 1/2 - sqrt(32 - 32 + 1/4) = 3,
    Var S_r = 168/24 = 7, denominator (k - 1/2)^2 - k0 (2k - k0 - 1) = 12.25 - 12 = 1/4,
    SE = 2 sqrt(7) / (1/2) = 4 sqrt(7)."""
    notes = []
    k0, se = _estimate_k0(np.array([0.1, -0.2, 0.3, 0.4]), 4, "Q0", notes)
    assert var_sr(4, 3) == 7
    assert k0 == 3
    assert se == pytest.approx(4 * math.sqrt(7), rel=1e-12)
    assert notes == []


def test_q0_general_case():
    """Q0, k = 5, positive ranks 2, 4, 5 (S_r = 11): k0 = 4.5 - sqrt(50 - 44 + 1/4) = 2,
    Var S_r = 312/24 = 13, denominator 20.25 - 2 * 7 = 6.25, SE = 2 sqrt(13) / 2.5."""
    k0, se = _estimate_k0(np.array([-0.1, 0.2, -0.3, 0.4, 0.5]), 5, "Q0", [])
    assert var_sr(5, 2) == 13
    assert k0 == 2
    assert se == pytest.approx(2 * math.sqrt(13) / 2.5, rel=1e-12)


def test_q0_is_refused_where_it_is_undefined():
    """Q0 = k - 1/2 - sqrt(2k^2 - 4 S_r + 1/4) has no value when S_r > k^2/2 (k = 4, positive
    ranks 2, 3, 4: S_r = 9 > 8). It used to become k0 = 0 silently (NaN rounded away), so a
    strongly asymmetric funnel was reported with no missing studies; metafor stops with an error."""
    with pytest.raises(PoolingError, match=r"^the Q0 estimator is not defined for these studies: the rank "
                                           r"sum of the studies above the centre \(9\) exceeds k\^2/2 \(8\); "
                                           r"use estimator='L0' or 'R0'$"):
        _estimate_k0(np.array([-0.1, 0.2, 0.3, 0.4]), 4, "Q0", [])


def test_trimfill_q0_on_a_strongly_asymmetric_funnel_is_refused_not_zero():
    """Two precise studies near 0 and four imprecise ones at 1..4: L0 finds 3 missing studies
    (independent FE iteration); Q0 is undefined at the first step (S_r = 20 > 18) and says so
    instead of reporting 0 missing studies."""
    yi, vi = np.array([-0.05, 0.0, 1.0, 2.0, 3.0, 4.0]), np.array([0.001, 0.001, 1.0, 1.0, 1.0, 1.0])
    res = rma(yi, vi, method="FE")
    assert trimfill(res, side="left").k0 == independent_trimfill_fe(yi, vi, "L0", "left")[0] == 3
    with pytest.raises(PoolingError, match=r"^the Q0 estimator is not defined"):
        trimfill(res, estimator="Q0", side="left")


def test_l0_small_se_is_not_raised_to_one():
    """L0, k = 4, S_r = 3: k0 = (12 - 20)/7 = -8/7 -> 0 missing; its SE 4 sqrt(Var S_r)/7 is
    below 1 and is reported as it is (only negative values are clipped, to 0)."""
    k0, se = _estimate_k0(np.array([-0.1, -0.2, 0.3, -0.4]), 4, "L0", [])
    expected = 4 * math.sqrt(var_sr(4, Fraction(-8, 7))) / 7
    assert expected < 1
    assert k0 == 0
    assert se == pytest.approx(expected, rel=1e-12)


def test_l0_se_exists_when_the_variance_is_between_0_and_1():
    """L0, k = 5, S_r = 4: k0 = (16 - 30)/9, Var S_r = 0.839 (positive, below 1): SE reported."""
    k0_raw = Fraction(16 - 30, 9)
    v = var_sr(5, k0_raw)
    assert 0 < v < 1
    k0, se = _estimate_k0(np.array([-0.1, -0.2, -0.3, 0.4, -0.5]), 5, "L0", [])
    assert k0 == 0
    assert se == pytest.approx(4 * math.sqrt(v) / 9, rel=1e-12)


def test_l0_negative_variance_gives_no_se():
    """L0, k = 3, no positive rank: k0 = -12/5, Var S_r < 0: no SE (None), k0 = 0."""
    assert var_sr(3, Fraction(-12, 5)) < 0
    assert _estimate_k0(np.array([-0.1, -0.2, -0.3]), 3, "L0", []) == (0, None)


def test_r0_uses_the_longest_run_of_positive_ranks():
    """R0 = (k - largest negative rank) - 1: with one study below the centre of rank 1 in k = 4,
    R0 = 2 and SE = sqrt(2 R0 + 2) = sqrt(6)."""
    notes = []
    k0, se = _estimate_k0(np.array([-0.5, 1.0, 2.0, 3.0]), 4, "R0", notes)
    assert (k0, notes) == (2, [])
    assert se == pytest.approx(math.sqrt(6), rel=1e-12)


def test_r0_without_a_study_below_the_centre_sets_k_minus_1_and_says_so():
    """A study exactly at the centre is not below it: with none below, R0 = k - 1 (here 2,
    SE sqrt(2*2 + 2)), and a note tells the user."""
    notes = []
    k0, se = _estimate_k0(np.array([0.0, 1.0, 2.0]), 3, "R0", notes)
    assert k0 == 2
    assert se == pytest.approx(math.sqrt(6), rel=1e-12)
    assert notes == ["R0: no study below the centre; k0 set to k - 1"]


def test_tied_distances_are_ranked_in_study_order():
    """Ties in |y - b| are ranked first come first (R's rank(ties.method = 'first'), as metafor):
    |c| = 1 six times gets ranks 2..7 in order, so the positive ranks are 2, 4, 6 (the +1s),
    8 (the 2), 10 (the 3) and 1 (the 0.5): S_r = 31, L0 = (124 - 110)/19 -> k0 = 1."""
    c = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 2.0, -2.0, 3.0, 0.5])
    k0, se = _estimate_k0(c, 10, "L0", [])
    k0_raw = Fraction(4 * 31 - 110, 19)
    assert k0 == 1
    assert se == pytest.approx(4 * math.sqrt(var_sr(10, k0_raw)) / 19, rel=1e-12)


# ----------------------------------------------------------------------- trim and fill ---

def independent_trimfill_fe(yi, vi, estimator, side):
    """Duval & Tweedie's iteration written out for a fixed-effect model (weighted mean)."""
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * yi, kind="stable")
    y, v = sign * yi[order], vi[order]
    k, k0, prev = y.size, 0, -1
    while k0 != prev:
        prev = k0
        w = 1.0 / v[:k - k0]
        b = np.sum(w * y[:k - k0]) / w.sum()
        c = y - b
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(c), kind="stable")] = np.arange(1, k + 1)
        s_r = ranks[c > 0].sum()
        if estimator == "L0":
            raw = (4 * s_r - k * (k + 1)) / (2 * k - 1)
        else:
            raw = k - 0.5 - math.sqrt(2 * k * k - 4 * s_r + 0.25)
        k0 = int(max(0, round(raw)))
    return k0, list(sign * (2 * b - y[k - k0:])), list(v[k - k0:])


TF_Y = np.array([-0.5, -0.4, -0.3, 0.0, 0.3, 0.8, -0.1, 0.3, 0.1, 0.7])
TF_V = np.array([0.036, 0.04, 0.059, 0.123, 0.127, 0.138, 0.159, 0.179, 0.203, 0.215])


Q_Y = np.array([-0.02, 0.53, 0.14, 0.26, -0.06, -0.52, -0.28, 0.26, 0.04, -0.36])
Q_V = np.array([0.09, 0.27, 0.286, 0.04, 0.167, 0.072, 0.133, 0.228, 0.22, 0.073])


@pytest.mark.parametrize("estimator, yi, vi", [("L0", TF_Y, TF_V), ("Q0", Q_Y, Q_V), ("q0", Q_Y, Q_V)])
def test_trimfill_fills_the_mirror_images_of_the_trimmed_studies(estimator, yi, vi):
    """The filled studies are 2 b - y of the k0 most extreme ones, with their variances, named
    'Filled 1'..'Filled k0'; Q0 is accepted in any case (independent FE iteration)."""
    res = rma(yi, vi, method="FE", study=[f"s{i}" for i in range(10)])
    tf = trimfill(res, estimator=estimator, side="left")
    k0, fy, fv = independent_trimfill_fe(yi, vi, estimator.upper(), "left")
    assert k0 > 1
    assert (tf.estimator, tf.k0) == (estimator.upper(), k0)
    assert tf.filled_yi == pytest.approx(fy, rel=1e-10)
    assert tf.filled_vi == fv
    assert tf.filled_study == [f"Filled {i + 1}" for i in range(k0)] and tf.filled_study[0] == "Filled 1"
    assert tf.result.study == [f"s{i}" for i in range(10)] + tf.filled_study
    assert tf.result.k == 10 + k0


def test_tied_effects_are_filled_in_study_order():
    """Studies with the same effect are trimmed and filled in input order (R's order() is
    stable): the two y = 0.3 studies (v 0.127, then 0.179) keep that order."""
    tf = trimfill(rma(TF_Y, TF_V, method="FE"), side="left")
    assert tf.filled_vi == [0.203, 0.127, 0.179, 0.215, 0.138]


def test_filled_model_keeps_test_level_and_prediction_interval_of_the_fit():
    """The refit on observed + filled studies keeps the estimator, test, level and pi_dist."""
    res = rma(TF_Y, TF_V, method="DL", test="knha", level=90, pi_dist="norm")
    tf = trimfill(res, side="left")
    assert tf.k0 > 0
    r = tf.result
    assert (r.method, r.test, r.level, r.pi_dist) == ("DL", "knha", 90.0, "norm")
    expected = rma(list(TF_Y) + tf.filled_yi, list(TF_V) + tf.filled_vi, method="DL", test="knha",
                   level=90, pi_dist="norm")
    assert r.ci_lb == pytest.approx(expected.ci_lb, rel=1e-12)
    assert r.pi_lb == pytest.approx(expected.pi_lb, rel=1e-12)


def test_no_missing_studies_returns_the_original_fit():
    """With k0 = 0 the result is the fit passed in, untouched (here its fixed tau2 stays)."""
    res = rma(YI[:6], VI[:6], tau2=0.05)
    tf = trimfill(res, side="left")
    assert tf.k0 == 0
    assert tf.result is res
    assert (tf.filled_yi, tf.filled_vi, tf.filled_study) == ([], [], [])


def test_side_comes_from_the_sei_slope_of_the_fits_own_estimator():
    """metafor picks the side from rma(yi ~ sei) with the fit's method: here the FE slope is
    positive (missing on the left) while the REML slope would be negative."""
    yi = np.array([-0.79, -1.3, -0.21, 0.53, 0.02, -0.47])
    vi = np.array([0.049, 0.202, 0.251, 0.119, 0.118, 0.166])
    beta, _, _ = wls(yi, 1.0 / vi, np.column_stack([np.ones(6), np.sqrt(vi)]))
    assert beta[1] > 0
    assert trimfill(rma(yi, vi, method="FE")).side == "left"


def test_a_zero_slope_means_missing_on_the_left():
    """Only a negative sei slope puts the missing studies on the right; all-zero effects give a
    slope of exactly 0 and the left side."""
    tf = trimfill(rma([0.0] * 4, [0.01, 0.04, 0.09, 0.16], method="FE"))
    assert tf.side == "left"


def test_r0_note_reaches_the_trimfill_result():
    """Identical studies leave no study below the centre: R0's note is in the result."""
    tf = trimfill(rma([0.5] * 4, [0.25] * 4), estimator="R0", side="left")
    assert tf.notes and set(tf.notes) == {"R0: no study below the centre; k0 set to k - 1"}
    assert tf.p_k0 == 0.5 ** (tf.k0 + 1)


def test_trimfill_runs_with_three_studies_and_refuses_two():
    assert trimfill(rma([0.1, 0.4, 0.2], [0.01, 0.04, 0.09]), side="left").k >= 3
    with pytest.raises(PoolingError, match=r"^trim-and-fill needs at least 3 studies \(k = 2\)$"):
        trimfill(rma([0.1, 0.4], [0.01, 0.04]))


def test_trimfill_argument_errors_are_spelled_out():
    res = rma(YI, VI)
    with pytest.raises(PoolingError, match=r"^estimator must be 'L0', 'R0' or 'Q0'$"):
        trimfill(res, estimator="S0")
    with pytest.raises(PoolingError, match=r"^side must be 'left' or 'right'$"):
        trimfill(res, side="up")
    with pytest.raises(PoolingError, match=r"^trim-and-fill did not converge in 1 iterations$"):
        trimfill(res, maxiter=1)


def test_trimfill_with_equal_variances_names_sei_as_the_constant_moderator():
    """The side is chosen by regressing on sei; with equal variances that fails and says so."""
    with pytest.raises(PoolingError, match=r"^moderators \['sei'\] are collinear"):
        trimfill(rma([0.1, 0.2, 0.3, 0.5], [0.1] * 4))


def test_trimfill_reads_the_refit_for_model_numbers_but_not_private_names():
    """estimate, se, ... come from the refit; 'result' and dunder names are never looked up on
    it (copy/pickle see a plain object)."""
    res = rma(TF_Y, TF_V, method="FE")
    tf = trimfill(res, side="left")
    assert tf.estimate == tf.result.estimate and tf.tau2 == tf.result.tau2
    bare = object.__new__(TrimFillResult)   # as copy and pickle make it, before __dict__ is set
    for name in ("result", "__setstate__", "__deepcopy__", "__reduce_ex_hook__"):
        with pytest.raises(AttributeError, match=rf"^{name}$"):
            getattr(bare, name)
    again = pickle.loads(pickle.dumps(tf))
    assert again.estimate == tf.estimate and copy.deepcopy(tf).k0 == tf.k0


def test_trimfill_to_dict_has_its_own_fields_the_refit_and_its_main_numbers():
    res = rma(TF_Y, TF_V, method="FE")
    tf = trimfill(res, side="left")
    d = tf.to_dict()
    assert d["result"] == tf.result.to_dict()
    assert d["k0"] == tf.k0 and d["filled_vi"] == tf.filled_vi and d["estimator"] == "L0"
    for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "k"):
        assert d[key] == d["result"][key] and d[key] is not None


def test_trimfill_summary_text():
    """Header with estimator, k0, side and SE of k0 (digits), the refit's summary, the notes."""
    fit = SimpleNamespace(summary=lambda digits: f"<refit at {digits} digits>")
    tf = TrimFillResult("R0", "left", 2, 2.449489, 0.125, [], [], [], fit, ["a note"])
    assert tf.summary().split("\n") == [
        "Trim-and-fill (R0): estimated 2 missing studies on the left side (SE = 2.4495)", "",
        "<refit at 4 digits>", "Note: a note"]
    plain = TrimFillResult("L0", "right", 0, None, None, [], [], [], fit)
    assert plain.summary(2) == ("Trim-and-fill (L0): estimated 0 missing studies on the right side"
                                "\n\n<refit at 2 digits>")
    assert tf.summary(1).split("\n")[0].endswith("(SE = 2.4)")
