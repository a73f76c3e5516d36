"""Unit tests of the pooling engine: degenerate inputs, messages, conventions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from her2meta.pool import (MetaResult, PoolingError, PoolingInputError, begg_test,
                           breslow_day_test, cmh_test, egger_test, escalc_2x2, influence,
                           leave_one_out, mantel_haenszel, metareg, peto, pool_proportions, rma,
                           subgroup_analysis, trimfill)
from her2meta.pool.result import to_jsonable

YI = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02]
VI = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.004, 0.53, 0.07]


# ------------------------------------------------------------ input checks ---

def test_infinite_input_is_refused_with_the_study_named():
    with pytest.raises(PoolingInputError, match=r"non-finite.*'B'"):
        rma([0.1, math.inf, 0.3], [0.1, 0.1, 0.1], study=["A", "B", "C"])


def test_missing_values_are_omitted_and_recorded():
    res = rma([0.1, float("nan"), 0.3, 0.2], [0.1, 0.1, None, 0.2], study=list("ABCD"))
    assert res.k == 2 and res.study == ["A", "D"] and res.omitted == ["B", "C"]
    assert any("omitted" in n for n in res.notes)
    with pytest.raises(PoolingInputError, match="missing"):
        rma([0.1, float("nan")], [0.1, 0.1], na_action="fail")


@pytest.mark.parametrize("yi, vi, message", [
    ([0.1, 0.2], [0.1, -0.1], "negative sampling variance"),
    ([0.1, 0.2], [0.1], "has 2 values"),
    ([float("nan")], [0.1], "k = 0"),
    ([[0.1, 0.2]], [[0.1, 0.2]], "one-dimensional"),
    (["a", "b"], [0.1, 0.2], "numeric"),
])
def test_invalid_input_messages(yi, vi, message):
    with pytest.raises(PoolingInputError, match=message):
        rma(yi, vi)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "XX"}, "unknown method"), ({"test": "wald2"}, "unknown test"),
    ({"pi_dist": "cauchy"}, "unknown pi_dist"), ({"level": 100}, "level"),
    ({"tau2": -1.0}, "fixed tau2"),
])
def test_invalid_options_messages(kwargs, message):
    with pytest.raises(PoolingError, match=message):
        rma(YI, VI, **kwargs)


def test_level_as_fraction_or_percent_and_sei_input():
    a = rma(YI, VI, level=95)
    b = rma(YI, sei=np.sqrt(VI), level=0.95)
    assert a.ci_lb == pytest.approx(b.ci_lb, rel=1e-12) and b.level == 95.0


def test_method_aliases():
    fe = rma(YI, VI, method="FE")
    for alias in ("EE", "equal", "fe", "ce"):
        assert rma(YI, VI, method=alias).estimate == fe.estimate
    assert fe.method == "FE" and fe.tau2 == 0 and fe.converged


# ------------------------------------------------------- degenerate cases ---

def test_k_equals_one():
    res = rma([0.4], [0.04], test="knha")
    assert (res.k, res.estimate, res.se, res.tau2, res.test) == (1, 0.4, 0.2, 0.0, "z")
    assert (res.Q, res.Q_df, res.Q_p, res.I2, res.H2) == (0.0, 0, 1.0, 0.0, 1.0)
    assert res.tau2_ci_lb is None and any("k = 1" in n for n in res.notes)
    assert (res.pi_lb, res.pi_ub) == (res.ci_lb, res.ci_ub)
    json.dumps(res.to_dict(), allow_nan=False)


def test_k_equals_two_with_knapp_hartung():
    res = rma([0.1, 0.9], [0.02, 0.05], test="knha")
    assert res.df == 1 and math.isfinite(res.ci_lb) and res.tval == res.zval


def test_all_estimates_equal():
    res = rma([0.3] * 4, [0.01, 0.02, 0.03, 0.04])
    assert res.tau2 == 0 and res.Q == pytest.approx(0, abs=1e-20) and res.I2 == 0
    assert res.tau2_ci_lb == 0 and res.tau2_ci_ub == 0
    knha = rma([0.3] * 4, [0.01, 0.02, 0.03, 0.04], test="knha")
    assert knha.se == 0 and knha.ci_lb == knha.ci_ub == 0.3
    assert any("scale factor is 0" in n for n in knha.notes)
    zero = rma([0.0] * 3, [0.1] * 3, test="knha")
    assert zero.zval == 0 and zero.pval == 1
    json.dumps(knha.to_dict(), allow_nan=False)


def test_zero_variance_study():
    yi, vi = [0.2, 0.5, 0.9, 0.1, 0.4], [0, 0.02, 0.05, 0.03, 0.04]
    res = rma(yi, vi)                                   # REML: tau2 > 0, so weights finite
    assert res.tau2 > 0 and res.Q is None and res.I2 is None
    assert any("vi = 0" in n for n in res.notes)
    for method in ("FE", "DL", "PM", "HS"):
        with pytest.raises(PoolingError, match="vi = 0|variance is 0"):
            rma(yi, vi, method=method)


def test_tau2_estimated_at_zero_matches_fixed_effect():
    yi, vi = [0.10, 0.12, 0.09, 0.11, 0.10], [0.01, 0.02, 0.015, 0.01, 0.03]
    fe, re = rma(yi, vi, method="FE"), rma(yi, vi, method="REML")
    assert re.tau2 == 0 and re.estimate == pytest.approx(fe.estimate, rel=1e-14)
    assert re.tau2_ci_lb == 0 and re.tau2_ci_ub == 0


def test_fixed_tau2_and_tval():
    res = rma(YI, VI, tau2=0.1)
    assert res.tau2 == 0.1 and res.tau2_fixed and res.tau2_ci_lb is None and res.tval is None
    assert rma(YI, VI, test="knha").to_dict()["tval"] is not None


def test_fallback_when_fisher_scoring_is_cut_short():
    full = rma(YI, VI)
    short = rma(YI, VI, maxiter=1)
    assert short.converged and short.tau2 == pytest.approx(full.tau2, rel=1e-9)
    assert any("Brent" in n for n in short.notes)


def test_paule_mandel_beyond_metafor_search_range():
    rng = np.random.default_rng(3)
    yi = rng.normal(0, 300, 8)
    res = rma(yi, np.full(8, 1.0), method="PM")
    w = np.full(8, 1 / (1.0 + res.tau2))
    assert np.sum(w * (yi - np.sum(w * yi) / np.sum(w)) ** 2) == pytest.approx(7, rel=1e-9)


def test_tight_convergence_reported():
    res = rma(YI, VI, method="REML")
    assert res.converged and 0 < res.iterations < 100


# --------------------------------------------------------- result object ---

def test_to_jsonable_converts_numpy_and_non_finite():
    value = {"a": np.float32(1.5), "b": np.int64(3), "c": [np.nan, np.inf, 2.0],
             "d": np.array([1, 2]), "e": np.bool_(True)}
    assert to_jsonable(value) == {"a": 1.5, "b": 3, "c": [None, None, 2.0], "d": [1, 2],
                                  "e": True}


def test_result_interface_names_and_summary():
    res = rma(YI, VI, study=[f"s{i}" for i in range(13)])
    assert isinstance(res, MetaResult)
    d = res.to_dict()
    for name in ["estimate", "se", "ci_lb", "ci_ub", "zval", "tval", "pval", "tau2", "tau2_ci_lb",
                 "tau2_ci_ub", "I2", "I2_Q", "H2", "Q", "Q_df", "Q_p", "pi_lb", "pi_ub", "k",
                 "weights", "method", "test", "converged"]:
        assert name in d
    assert sum(d["weights"]) == pytest.approx(100)
    text = res.summary()
    assert "Random-effects (REML)" in text and "Q(df = 12)" in text and "prediction" in text
    assert "Fixed-effect" in rma(YI, VI, method="FE").summary()


def test_prediction_interval_conventions():
    z = rma(YI, VI)
    t = rma(YI, VI, pi_dist="t")
    kh = rma(YI, VI, test="knha")
    assert z.pi_df is None and t.pi_df == 11 and kh.pi_df == 12
    assert (t.pi_ub - t.pi_lb) > (z.pi_ub - z.pi_lb)


# ---------------------------------------------------------------- 2x2 ---

def test_escalc_records_corrections_and_drops():
    es = escalc_2x2([0, 3, 0], [10, 7, 10], [2, 4, 0], [8, 6, 10], "OR", study=["a", "b", "c"])
    assert es.corrected.tolist() == [True, False, False]
    assert es.dropped.tolist() == [False, False, True]
    assert [r["study"] for r in es.records] == ["c", "a"]
    yi, vi = es
    assert np.isnan(yi[2]) and np.isfinite(yi[0])
    rd = escalc_2x2([0, 3, 0], [10, 7, 10], [2, 4, 0], [8, 6, 10], "RD")
    assert not rd.dropped.any() and rd.yi[2] == 0


def test_mantel_haenszel_undefined_gives_clear_notes():
    res = mantel_haenszel([0, 0], [10, 12], [0, 0], [11, 9], "OR")
    assert res.estimate is None and any("undefined" in n for n in res.notes)
    assert peto([0, 0], [10, 12], [0, 0], [11, 9]).estimate is None
    with pytest.raises(PoolingInputError):
        mantel_haenszel([1], [2], [3], [-1])


def test_cmh_and_breslow_day_helpers_agree_with_mh():
    a, b, c, d = [4, 6, 3, 62], [119, 300, 228, 13536], [11, 29, 11, 248], [128, 274, 209, 12619]
    res = mantel_haenszel(a, b, c, d)
    assert cmh_test(a, b, c, d)["statistic"] == pytest.approx(res.CMH)
    bd = breslow_day_test(a, b, c, d)
    assert bd["BD"] == pytest.approx(res.BD) and bd["k_pos"] == 4
    assert res.estimate_exp == pytest.approx(math.exp(res.estimate))
    assert "Mantel-Haenszel" in res.summary()


# ----------------------------------------------------- models and bias ---

def test_metareg_collinear_and_categorical():
    x = np.arange(13.0)
    with pytest.raises(PoolingError, match="collinear"):
        metareg(YI, VI, {"x": x, "x2": 2 * x})
    grp = ["a", "b", "c"] * 4 + ["a"]
    res = metareg(YI, VI, {"grp": grp})
    assert res.coef_names == ["intrcpt", "grpb", "grpc"] and res.QM_df == 2
    via_rma = rma(YI, VI, mods={"grp": grp})
    assert via_rma.beta == res.beta
    assert "Test of Moderators" in res.summary()


def test_subgroups_edge_cases():
    with pytest.raises(PoolingError, match="two subgroups"):
        subgroup_analysis(YI, VI, ["a"] * 13)
    with pytest.raises(PoolingInputError):
        subgroup_analysis(YI, VI, ["a", "b"])
    res = subgroup_analysis(YI, VI, ["a"] * 12 + ["b"])       # a subgroup with k = 1
    assert [s.k for s in res.subgroups] == [12, 1] and res.Q_between_df == 1
    assert "subgroup differences" in res.summary()
    json.dumps(res.to_dict(), allow_nan=False)


def test_proportions_messages_and_groups():
    with pytest.raises(PoolingInputError, match="events"):
        pool_proportions([5, 12], [10, 11])
    with pytest.raises(PoolingInputError, match="logit is infinite"):
        pool_proportions([0, 3], [10, 11], to="none")
    res = pool_proportions([3, 5, 8, 0], [20, 25, 30, 15], groups=["x", "x", "y", "y"])
    assert set(res.subgroups) == {"x", "y"} and res.Q_between_df == 1
    assert 0 < res.ci_lb < res.proportion < res.ci_ub < 1


def test_small_k_messages_for_diagnostics():
    two = rma([0.1, 0.5], [0.1, 0.2])
    with pytest.raises(PoolingError, match="at least 3"):
        egger_test(two)
    with pytest.raises(PoolingError, match="at least 3"):
        begg_test(two)
    with pytest.raises(PoolingError, match="at least 3"):
        trimfill(two)
    l1o = leave_one_out(two)
    assert [r.k for r in l1o.refits] == [1, 1]
    assert len(influence(two).rstudent) == 2
    with pytest.raises(PoolingError):
        leave_one_out(rma([0.1], [0.1]))


def test_egger_lm_is_classical_egger():
    """Classical Egger: regress yi/sei on 1/sei, test the intercept (t, df = k - 2)."""
    res = egger_test(YI, VI, model="lm")
    sei = np.sqrt(VI)
    X = np.column_stack([np.ones(13), 1 / sei])
    coef, *_ = np.linalg.lstsq(X, np.array(YI) / sei, rcond=None)
    resid = np.array(YI) / sei - X @ coef
    cov = np.linalg.inv(X.T @ X) * (resid @ resid) / 11
    assert res.zval == pytest.approx(coef[0] / math.sqrt(cov[0, 0]), rel=1e-10)
    assert res.df == 11
