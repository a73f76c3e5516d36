"""Rules of the Cox family in her2meta.survstats (._efron, .zph, .cox, .condlogit, ._common) that the
mutation run of issue 18 found untested.

Expected values come from the rule itself: the Efron partial likelihood written out as a plain loop
over event times and tied deaths (the textbook formula, independent of the cumulative sums in
_efron), identities the model must keep (a covariate shifted by a constant gives the same hazard
ratio; patients of a stratum without events are in nobody's risk set; the score residuals add up
to the score), and numbers worked by hand (the 95% normal quantile 1.959964). Error messages are
asserted where they are what the user reads: they name the function and the argument and say how
to fix it.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from her2meta.survstats import condlogit
from her2meta.survstats._common import SurvivalError, as_labels, wald
from her2meta.survstats._efron import CoxData
from her2meta.survstats.cox import cox_fit
from her2meta.survstats.zph import ph_test

Z975 = 1.959963984540054  # qnorm(0.975)


def efron_loop(time, dead, x, strata, beta, ties="efron"):
    """log L, U and I of the Cox partial likelihood by the textbook formula, one event time and
    one tied death at a time (risk weights scaled by the largest in each risk set)."""
    time, dead, strata = np.asarray(time, float), np.asarray(dead, float), np.asarray(strata)
    x, beta = np.asarray(x, float), np.asarray(beta, float)
    p = x.shape[1]
    ll, u, info = 0.0, np.zeros(p), np.zeros((p, p))
    for s in np.unique(strata):
        t, d, xs = time[strata == s], dead[strata == s], x[strata == s]
        eta = xs @ beta
        for tt in np.unique(t[d == 1]):
            risk, dying = t >= tt, (t == tt) & (d == 1)
            m = int(dying.sum())
            c = eta[risk].max()
            r = np.where(risk, np.exp(eta - c, where=risk, out=np.zeros_like(eta)), 0.0)
            for k in range(m):
                f = k / m if ties == "efron" else 0.0
                w = r - f * r * dying
                den = w.sum()
                mean = (w[:, None] * xs).sum(axis=0) / den
                ll -= math.log(den) + c
                u -= mean
                info += (w[:, None, None] * xs[:, :, None] * xs[:, None, :]).sum(axis=0) / den - np.outer(mean, mean)
            ll += eta[dying].sum()
            u += xs[dying].sum(axis=0)
    return ll, u, info


# Two strata: "A" has no events at all (and sorts first), "B" several with ties, "C" exactly one death.
STRAT = pd.DataFrame({
    "time":  [2, 4, 6, 8,   1, 1, 2, 3, 3, 3, 4, 5, 6, 6,   2, 3, 5, 7],
    "event": [0, 0, 0, 0,   1, 1, 0, 1, 1, 0, 1, 0, 1, 1,   0, 1, 0, 0],
    "x1":    [0.5, -1.0, 2.0, 0.1,   0.3, -0.8, 1.2, 0.0, -0.4, 0.9, 1.5, -1.1, 0.2, 0.7,   1.0, -0.5, 0.3, 0.8],
    "x2":    [1, 0, 1, 0,   1, 0, 0, 1, 1, 0, 1, 0, 0, 1,   1, 0, 1, 0],
    "stratum": ["A"] * 4 + ["B"] * 10 + ["C"] * 4,
})


def _coxdata(df, ties="efron"):
    codes = as_labels(df["stratum"], "test", "strata")
    return CoxData(df["time"].to_numpy(float), df["event"].to_numpy(float), df[["x1", "x2"]].to_numpy(float),
                   codes, ties), codes


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_every_stratum_with_events_counts_and_a_stratum_without_events_adds_nothing(ties):
    """log L, U and I are the sums over the strata that have events: the stratum with a single death
    counts in full, and an event-free stratum (sorted first) neither stops the sum nor breaks it."""
    data, codes = _coxdata(STRAT, ties)
    beta = np.array([0.4, -0.7])
    ll, u, info = data.evaluate(beta)
    ll_r, u_r, info_r = efron_loop(STRAT["time"], STRAT["event"], STRAT[["x1", "x2"]], codes, beta, ties)
    assert ll == pytest.approx(ll_r, rel=1e-12)
    np.testing.assert_allclose(u, u_r, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(info, info_r, rtol=1e-12, atol=1e-14)


def test_per_event_time_terms_cover_every_event_time_of_every_stratum():
    """The PH test's per-time score and information have one row per distinct event time of each
    stratum with events (stratum C's single death included), and they add up to U and I."""
    data, codes = _coxdata(STRAT)
    beta = np.array([0.4, -0.7])
    etime, _strat, u_t, v_t = data.per_event_time(beta)
    expected_times = [1, 3, 4, 6, 3]  # stratum B's event times, then stratum C's
    assert etime.tolist() == expected_times
    _ll, u_r, info_r = efron_loop(STRAT["time"], STRAT["event"], STRAT[["x1", "x2"]], codes, beta)
    np.testing.assert_allclose(u_t.sum(axis=0), u_r, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(v_t.sum(axis=0), info_r, rtol=1e-12, atol=1e-14)


def test_score_residuals_add_up_to_the_score_in_every_stratum():
    """The score residuals of a stratum sum to its contribution to the score (an identity of their
    definition): zero in the event-free stratum, the full U in the others, the single death included."""
    data, codes = _coxdata(STRAT)
    beta = np.array([0.4, -0.7])
    res = data.score_residuals(beta)
    for lab in range(3):
        sel = codes == lab
        _ll, u_r, _i = efron_loop(STRAT["time"][sel], STRAT["event"][sel], STRAT[["x1", "x2"]][sel],
                                  codes[sel], beta)
        np.testing.assert_allclose(res[sel].sum(axis=0), u_r, rtol=1e-10, atol=1e-13)
    assert np.all(res[codes == 0] == 0)


def test_patients_of_a_stratum_without_events_change_neither_the_cox_fit_nor_the_ph_test():
    """A stratum where nobody had the event is in no risk set: the stratified fit and the PH test
    (identity time, which is the same at every event) are those of the data without it."""
    rest = STRAT[STRAT["stratum"] != "A"]
    full = cox_fit(STRAT["time"], STRAT["event"], STRAT[["x1", "x2"]], strata=STRAT["stratum"], robust=True)
    part = cox_fit(rest["time"], rest["event"], rest[["x1", "x2"]], strata=rest["stratum"], robust=True)
    assert full.estimable and part.estimable
    np.testing.assert_allclose(full.coef, part.coef, rtol=1e-9)
    np.testing.assert_allclose(full.se, part.se, rtol=1e-9)
    z_full = ph_test(STRAT["time"], STRAT["event"], STRAT[["x1", "x2"]], strata=STRAT["stratum"], transform="identity")
    z_part = ph_test(rest["time"], rest["event"], rest[["x1", "x2"]], strata=rest["stratum"], transform="identity")
    assert z_full["estimable"] and z_part["estimable"]
    assert z_full["global"]["chisq"] == pytest.approx(z_part["global"]["chisq"], rel=1e-8)
    for nm in ("x1", "x2"):
        assert z_full["covariates"][nm]["chisq"] == pytest.approx(z_part["covariates"][nm]["chisq"], rel=1e-8)


def test_partial_likelihood_is_finite_for_a_large_coefficient():
    """Far from zero (beta = 1500, a linear predictor of +-750) the risk weights are scaled before
    exponentiating, so log L, U and I are still the finite values of the formula."""
    time = np.arange(1.0, 7.0)
    dead = np.array([1, 1, 1, 1, 1, 0.0])
    x = np.array([[0.0], [1.0], [0.0], [1.0], [0.0], [1.0]])  # the longest follow-up has x = 1
    data = CoxData(time, dead, x, np.zeros(6, dtype=np.int64), "efron")
    ll, u, info = data.evaluate(np.array([1500.0]))
    ll_r, u_r, info_r = efron_loop(time, dead, x, np.zeros(6), [1500.0])
    assert math.isfinite(ll)
    assert ll == pytest.approx(ll_r, rel=1e-12)
    np.testing.assert_allclose(u, u_r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(info, info_r, rtol=1e-12, atol=1e-300)


def test_likelihood_far_from_the_optimum_is_non_finite_without_numpy_warnings():
    """Where every risk weight of a late risk set underflows, log L is non-finite (the fit then halves
    its step) and nothing is printed: no RuntimeWarning reaches the user."""
    time = np.arange(1.0, 7.0)
    x = np.array([[1.0], [-1.0], [1.0], [-1.0], [1.0], [-1.0]])
    data = CoxData(time, np.ones(6), x, np.zeros(6, dtype=np.int64), "efron")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for b in (800.0, 1e308):
            ll, _u, _i = data.evaluate(np.array([b]))
            assert not math.isfinite(ll)
            data.evaluate(np.array([b]), second=False)


def test_a_covariate_far_from_zero_gives_the_same_hazard_ratio_as_the_same_covariate_near_zero():
    """The Cox model is invariant to shifting a covariate by a constant (a calendar year, a date in
    days): coefficients, SEs and log L agree with those of the covariate near 0 (here 1e8 + x)."""
    rng = np.random.default_rng(3)
    n = 40
    t = rng.integers(1, 15, n).astype(float)
    d = (rng.random(n) < 0.7).astype(float)
    a, b = rng.normal(size=n), rng.integers(0, 2, n).astype(float)
    near = cox_fit(t, d, pd.DataFrame({"a": a, "b": b}))
    far = cox_fit(t, d, pd.DataFrame({"a": a + 1e8, "b": b}))
    assert near.estimable and far.estimable
    np.testing.assert_allclose(far.coef, near.coef, rtol=1e-6)
    np.testing.assert_allclose(far.se, near.se, rtol=1e-6)
    assert far.loglik == pytest.approx(near.loglik, rel=1e-9)


# ----------------------------------------------------------------------------- PH test (zph)
B = STRAT[STRAT["stratum"] == "B"].reset_index(drop=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"time": [1, -2, 3, 4]}, r"^ph_test: time has 1 negative value\(s\) \(first: -2 at position 1\); times are months "
                              r"since the time origin and must be >= 0$"),
    ({"event": [1, 2, 1, 0]}, r"^ph_test: event must be 0 or 1; found 2; recode event as 0/1 \(1 = event\)$"),
    ({"X": pd.DataFrame({"her2_low": [1.0, np.nan, 0.0, 1.0]})},
     r"^ph_test: missing covariate values in \['her2_low'\]; drop or impute patients with missing covariates first"),
    ({"strata": ["trial 1", None, "trial 2", "trial 2"]},
     r"^ph_test: strata has 1 missing label\(s\); give every patient a strata label$"),
    ({"strata": ["trial 1", "trial 2", "trial 2"]},
     r"^ph_test: inputs differ in length \(time has 4, event has 4, X has 4, strata has 3\); pass one value per "
     r"patient for every argument$"),
    ({"time": [1, 2, 3]}, r"^ph_test: inputs differ in length \(time has 3, event has 4, X has 4, strata has 4\)"),
    ({"event": [1, 0, 1]}, r"^ph_test: inputs differ in length \(time has 4, event has 3, X has 4, strata has 4\)"),
    ({"X": pd.DataFrame({"her2_low": [1.0, 0.0, 1.0]})},
     r"^ph_test: inputs differ in length \(time has 4, event has 4, X has 3, strata has 4\)"),
])
def test_ph_test_input_errors_name_the_function_and_the_argument(kwargs, message):
    """A bad argument to ph_test is reported as ph_test's (not cox_fit's), naming the argument, the
    problem and the fix; lengths list every argument passed, strata included."""
    args = {"time": [1, 2, 3, 4], "event": [1, 0, 1, 1], "X": pd.DataFrame({"her2_low": [1.0, 0.0, 0.0, 1.0]}),
            "strata": ["trial 1", "trial 1", "trial 2", "trial 2"]}
    args.update(kwargs)
    with pytest.raises(SurvivalError, match=message):
        ph_test(args.pop("time"), args.pop("event"), args.pop("X"), **args)


def test_log_time_transform_needs_positive_times():
    """transform='log' on a data set with a time of 0 is refused with the alternatives to use."""
    time = B["time"].to_numpy(float)
    time[2] = 0.0  # a censored patient at time 0
    with pytest.raises(SurvivalError, match=r"^ph_test: transform='log' needs all times > 0; use transform='km' "
                                            r"or 'rank'$"):
        ph_test(time, B["event"], B[["x1", "x2"]], transform="log")


def test_ph_test_without_a_cox_estimate_returns_the_full_result_shape_with_nan_statistics():
    """When the Cox model has no estimate the PH test still returns every field: one row per
    covariate (df 1) and GLOBAL (df = number of covariates), NaN statistics, and the fit's reason
    naming the covariate by its own name."""
    X = pd.DataFrame({"trastuzumab": [1.0] * 6, "age": [50.0, 61, 45, 70, 38, 55]})
    z = ph_test([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1], X, transform="rank", ties="breslow")
    assert set(z) == {"covariates", "global", "transform", "ties", "n", "events", "estimable", "reason"}
    assert (z["transform"], z["ties"], z["n"], z["events"], z["estimable"]) == ("rank", "breslow", 6, 4, False)
    assert z["reason"] == ("the Cox model is not estimable: no variation in covariate 'trastuzumab' across "
                           "patients: its coefficient is not identifiable")
    assert list(z["covariates"]) == ["trastuzumab", "age"]
    for row, df in [(z["covariates"]["trastuzumab"], 1), (z["covariates"]["age"], 1), (z["global"], 2)]:
        assert set(row) == {"chisq", "df", "p"}
        assert row["df"] == df and math.isnan(row["chisq"]) and math.isnan(row["p"])


def test_estimable_ph_test_reports_no_reason():
    z = ph_test(B["time"], B["event"], B[["x1", "x2"]])
    assert z["estimable"] is True and z["reason"] is None
    assert set(z) == {"covariates", "global", "transform", "ties", "n", "events", "estimable", "reason"}
    assert (z["transform"], z["ties"], z["n"], z["events"]) == ("km", "efron", 10, 7)


NO_INFO_REASON = ("the time-interaction terms carry no information (e.g. all events at a single time): "
                  "no proportional-hazards test")


def test_only_one_informative_event_time_gives_no_ph_test():
    """Deaths at two times, but at the later one the dying patient is alone in the risk set (no
    information): the time interaction cannot be estimated, so there is no test (one covariate)."""
    z = ph_test([1, 1, 1, 1, 5], [1, 1, 0, 0, 1], pd.DataFrame({"x": [1.0, 0, 1, 0, 1]}))
    assert z["estimable"] is False and z["reason"] == NO_INFO_REASON
    assert math.isnan(z["global"]["chisq"]) and math.isnan(z["covariates"]["x"]["chisq"])


def test_only_one_informative_event_time_gives_no_ph_test_with_two_covariates():
    """The same with two covariates: the 4 x 4 information has rank 2 < 4."""
    X = pd.DataFrame({"x1": [1.0, 0, 1, 0, 1, 0, 1], "x2": [0.0, 0, 1, 1, 2, 2, 1]})
    z = ph_test([1, 1, 1, 1, 1, 1, 9], [1, 1, 1, 0, 0, 0, 1], X)
    assert z["estimable"] is False and z["reason"] == NO_INFO_REASON


def test_ph_test_needs_no_censored_patient():
    """With every patient an event, g(t) is centred over the events as always and the test is computed."""
    z = ph_test(B["time"], np.ones(len(B)), B[["x1", "x2"]], transform="km")
    assert z["estimable"] is True
    assert math.isfinite(z["global"]["chisq"]) and z["global"]["chisq"] >= 0


def test_identity_ph_test_does_not_depend_on_the_time_origin():
    """With g(t) = t, moving the time origin (all times + 100000) changes neither the Cox fit (only
    the order of times matters) nor the test (g is centred at its mean over the events)."""
    z0 = ph_test(B["time"], B["event"], B[["x1", "x2"]], transform="identity")
    z1 = ph_test(B["time"] + 1e5, B["event"], B[["x1", "x2"]], transform="identity")
    assert z1["global"]["chisq"] == pytest.approx(z0["global"]["chisq"], rel=1e-6)
    for nm in ("x1", "x2"):
        assert z1["covariates"][nm]["chisq"] == pytest.approx(z0["covariates"][nm]["chisq"], rel=1e-6)


# ----------------------------------------------------------------------------- cox_fit results
def test_a_cox_fit_without_estimate_keeps_the_description_of_the_model_asked_for():
    """No events: NaN coefficients (floats), log L NaN, not converged, not estimable, and the model
    as requested (Breslow ties, cluster-robust, 2 strata, 3 clusters) with the event count."""
    fit = cox_fit([1, 2, 3, 4, 5, 6], [0] * 6, pd.DataFrame({"pertuzumab": [1.0, 0, 1, 0, 1, 0]}), ties="breslow",
                  strata=["a", "a", "a", "b", "b", "b"], cluster=[1, 1, 2, 2, 3, 3])
    assert fit.estimable is False and fit.converged is False
    assert fit.reason == "no events: a Cox model needs at least one event"
    assert (fit.n, fit.events, fit.ties, fit.robust, fit.n_strata, fit.n_clusters) == (6, 0, "breslow", True, 2, 3)
    assert math.isnan(fit.loglik)
    for s in (fit.coef, fit.se, fit.naive_se):
        assert s.dtype == np.float64 and list(s.index) == ["pertuzumab"] and s.isna().all()


def test_a_cox_fit_without_estimate_counts_the_events():
    fit = cox_fit([1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 1, 0], pd.DataFrame({"x": [1.0] * 6}), robust=True)
    assert fit.estimable is False and fit.events == 3 and fit.n_clusters == 6 and fit.robust is True


def _fit_b():
    return cox_fit(B["time"], B["event"], B[["x1", "x2"]])


def test_cox_confidence_interval_is_coef_plus_minus_z_times_se():
    """ci() is the Wald interval coef +- z se on the log-HR scale, 95% by default (z = 1.959964),
    and z = qnorm(0.95) = 1.644854 for a 90% interval."""
    fit = _fit_b()
    assert (fit.se != 1).all()
    ci = fit.ci()
    np.testing.assert_allclose(ci["lower"], fit.coef - Z975 * fit.se, rtol=1e-12)
    np.testing.assert_allclose(ci["upper"], fit.coef + Z975 * fit.se, rtol=1e-12)
    ci90 = fit.ci(0.90)
    np.testing.assert_allclose(ci90["upper"] - ci90["lower"], 2 * 1.6448536269514722 * fit.se, rtol=1e-12)


def test_cox_confidence_level_outside_0_1_is_refused_with_the_method_named():
    with pytest.raises(SurvivalError, match=r"^CoxResult\.ci: conf_level must lie strictly between 0 and 1; got 95; "
                                            r"e\.g\. 0\.95 for 95% intervals$"):
        _fit_b().ci(95)


def test_cox_result_as_a_dict_has_every_field_and_numbers_as_floats():
    """to_dict() (the CLI's JSON) gives every field under its own name; coefficients and SEs by
    covariate name as floats."""
    fit = _fit_b()
    out = fit.to_dict()
    assert set(out) == {"coef", "se", "naive_se", "loglik", "loglik_null", "n", "events", "converged", "estimable",
                        "reason", "ties", "robust", "n_strata", "n_clusters", "iterations"}
    for key in ("coef", "se", "naive_se"):
        assert out[key] == {nm: float(getattr(fit, key)[nm]) for nm in ("x1", "x2")}
        assert all(type(v) is float for v in out[key].values())
    assert out["loglik"] == fit.loglik and out["loglik_null"] == fit.loglik_null
    assert type(out["loglik"]) is float and type(out["loglik_null"]) is float
    assert (out["n"], out["events"], out["converged"], out["estimable"], out["reason"]) == (10, 7, True, True, None)
    assert (out["ties"], out["robust"], out["n_strata"], out["n_clusters"]) == ("efron", False, 1, None)
    assert out["iterations"] == fit.iterations >= 1


def test_cox_result_as_a_dict_writes_missing_numbers_as_null():
    """NaN (no estimate) becomes None (JSON null), never NaN, in to_dict()."""
    out = cox_fit([1, 2, 3, 4], [0, 0, 0, 0], pd.DataFrame({"x": [1.0, 0, 1, 0]})).to_dict()
    assert out["coef"] == {"x": None} and out["se"] == {"x": None} and out["naive_se"] == {"x": None}
    assert out["loglik"] is None and out["loglik_null"] is None


# ----------------------------------------------------------------------------- shared helpers
def test_wald_interval_and_p_value():
    """est +- 1.959964 se and the two-sided normal p: est 0.5, se 0.25 -> z = 2, p = 0.04550026."""
    lo, hi, p = wald(0.5, 0.25)
    assert lo == pytest.approx(0.5 - Z975 * 0.25, rel=1e-12) and hi == pytest.approx(0.5 + Z975 * 0.25, rel=1e-12)
    assert p == pytest.approx(0.04550026389635842, rel=1e-10)
    lo, hi, _p = wald(-1.0, 2.0, conf_level=0.90)
    assert (lo, hi) == pytest.approx((-1.0 - 1.6448536269514722 * 2, -1.0 + 1.6448536269514722 * 2), rel=1e-12)


@pytest.mark.parametrize("est, se", [(0.5, 0.0), (0.5, -1.0), (float("nan"), 0.3), (float("inf"), 0.3),
                                     (0.5, float("nan")), (0.5, float("inf")), (0.5, 0.5 - 0.5)])
def test_wald_without_a_usable_se_is_all_nan(est, se):
    out = wald(est, se)
    assert len(out) == 3 and all(isinstance(v, float) and math.isnan(v) for v in out)


def test_wald_with_a_small_positive_se_is_computed():
    lo, hi, p = wald(0.0, 0.5)
    assert (lo, hi, p) == pytest.approx((-Z975 * 0.5, Z975 * 0.5, 1.0), rel=1e-12)


def test_a_missing_label_in_a_list_of_site_names_is_found():
    """A NaN among string labels (a list, not a Series) is a missing label, not the text 'nan'."""
    with pytest.raises(SurvivalError, match=r"^cox_fit: cluster has 1 missing label\(s\); give every patient a "
                                            r"cluster label$"):
        cox_fit(B["time"], B["event"], B[["x1", "x2"]], cluster=["site A"] * 5 + [np.nan] + ["site B"] * 4)


# ----------------------------------------------------------------------------- conditional logistic
def matched_pairs(n10, n01, n11=0, n00=0):
    """1:1 matched pairs with a 0/1 exposure: n10 pairs with only the case exposed, n01 with only the
    control exposed, n11 / n00 concordant pairs."""
    x, y, s = [], [], []
    for (xc, xk), count in (((1, 0), n10), ((0, 1), n01), ((1, 1), n11), ((0, 0), n00)):
        for _ in range(count):
            x += [xc, xk]
            y += [1, 0]
            s += [len(s) // 2] * 2
    return np.array(x, float)[:, None], np.array(y, float), np.array(s)


def test_matched_pairs_give_the_discordant_pair_odds_ratio():
    """In 1:1 matched pairs (strata with exactly one case) the conditional MLE is the classical
    log(n10 / n01) with variance 1/n10 + 1/n01; concordant pairs carry no information."""
    x, y, s = matched_pairs(12, 4, n11=3, n00=5)
    beta, var, ll, ll0, converged, _it, k = condlogit.fit(x, y, s)
    assert converged is True and k == 24
    assert beta[0] == pytest.approx(math.log(3.0), rel=1e-9)
    assert var[0, 0] == pytest.approx(1 / 12 + 1 / 4, rel=1e-9)
    # log L at 0: every pair is a coin toss, log(1/2) each; at the MLE: 12 log(3/4) + 4 log(1/4) + 8 log(1/2)
    assert ll0 == pytest.approx(24 * math.log(0.5), rel=1e-12)
    assert ll == pytest.approx(12 * math.log(0.75) + 4 * math.log(0.25) + 8 * math.log(0.5), rel=1e-12)


def test_iteration_cap_counts_newton_steps():
    """max_iter caps the Newton steps: with 1 the result is the first step from 0, U(0)/I(0) =
    ((n10 - n01)/2) / ((n10 + n01)/4) = 2 for n10 = 12, n01 = 0, not converged; with 0 it is the start."""
    x, y, s = matched_pairs(12, 0, n11=3, n00=5)
    beta, _var, _ll, _ll0, converged, it, _k = condlogit.fit(x, y, s, max_iter=1)
    assert (beta[0], converged, it) == (pytest.approx(2.0, rel=1e-12), False, 1)
    beta, _var, _ll, _ll0, converged, it, _k = condlogit.fit(x, y, s, max_iter=0)
    assert (beta[0], converged, it) == (0.0, False, 0)


@pytest.mark.parametrize("n10, n11, n00", [(12, 3, 5), (12, 0, 2), (6, 0, 0)])
def test_climb_towards_an_infinite_estimate_stops_after_three_flat_steps(monkeypatch, n10, n11, n00):
    """Complete separation (every discordant pair has the case exposed): Newton climbs for ever; the fit
    stops at the third step in a row whose log L change is <= 1e-13 max(1, |log L|), not converged."""
    x, y, s = matched_pairs(n10, 0, n11=n11, n00=n00)
    seen = []
    real = condlogit.evaluate

    def spy(sts, beta):
        out = real(sts, beta)
        seen.append(out[0])
        return out

    monkeypatch.setattr(condlogit, "evaluate", spy)
    beta, _var, ll, _ll0, converged, it, _k = condlogit.fit(x, y, s)
    assert all(b >= a for a, b in zip(seen, seen[1:]))  # no step went down: no halving, one call per step
    flat = [abs(b - a) <= 1e-13 * max(1.0, abs(a)) for a, b in zip(seen, seen[1:])]
    stop = next(i for i in range(2, len(flat)) if flat[i - 2] and flat[i - 1] and flat[i]) + 1
    assert converged is False and it == stop == len(seen) - 1 < 50
    assert ll == seen[-1] and beta[0] > 25


def test_no_information_at_the_start_is_not_converged():
    """A covariate constant within every stratum has zero information: no step, not converged, no variance."""
    beta, var, _ll, _ll0, converged, it, _k = condlogit.fit(np.array([[1.0], [1], [2], [2], [3], [3]]),
                                                            np.array([1.0, 0, 1, 0, 0, 1]), np.array([0, 0, 1, 1, 2, 2]))
    assert converged is False and var is None and it == 1 and beta[0] == 0.0


# ----------------------------------------------------------------------------- covariate checks (as_matrix)
T6, D6 = [1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1]


@pytest.mark.parametrize("X, message", [
    (pd.DataFrame([[50.0, 1.0]] * 6, columns=["age", "age"]),
     r"^cox_fit: covariate names are not unique: \['age', 'age'\]; rename the columns$"),
    (pd.DataFrame(index=range(6)), r"^cox_fit: no covariates given; pass at least one column in X$"),
    (pd.DataFrame({"age": [50.0, 61, 45, 70, 38, 55], "arm": list("ABABAB"), "her2_low": [True, False] * 3}),
     r"^cox_fit: covariates must be numeric; not numeric: \['arm'\]; code categorical covariates as 0/1 indicator "
     r"columns$"),
    (pd.DataFrame({"age": [50.0, 61, 45, 70, 38, 55], "her2_low": [1.0, np.nan, 0, 1, 0, 1], "er": [1.0] * 6}),
     r"^cox_fit: missing covariate values in \['her2_low'\]; drop or impute patients with missing covariates first "
     r"\(complete-case analysis\)$"),
    (pd.DataFrame({"age": [50.0, 61, np.inf, 70, 38, 55]}), r"^cox_fit: infinite covariate values; covariates must be "
                                                             r"finite$"),
])
def test_covariate_errors_name_the_function_the_columns_and_the_fix(X, message):
    with pytest.raises(SurvivalError, match=message):
        cox_fit(T6, D6, X)


def test_unnamed_covariates_get_names_the_user_can_read():
    """A 1-D array is covariate 'x1', an unnamed Series 'x', a named Series keeps its name."""
    age = [50.0, 61, 45, 70, 38, 55]
    assert list(cox_fit(T6, D6, np.array(age)).coef.index) == ["x1"]
    assert list(cox_fit(T6, D6, pd.Series(age)).coef.index) == ["x"]
    assert list(cox_fit(T6, D6, pd.Series(age, name="age")).coef.index) == ["age"]


# ----------------------------------------------------------------------------- reasons for no Cox estimate
def test_cox_input_errors_name_cox_fit_and_the_argument():
    with pytest.raises(SurvivalError, match=r"^cox_fit: time has 1 negative value\(s\) \(first: -2 at position 1\); "):
        cox_fit([1, -2, 3, 4, 5, 6], D6, pd.DataFrame({"x": [1.0, 0, 1, 0, 1, 0]}))
    with pytest.raises(SurvivalError, match=r"^cox_fit: event must be 0 or 1; found 2; recode event as 0/1 "
                                            r"\(1 = event\)$"):
        cox_fit(T6, [1, 2, 1, 0, 1, 0], pd.DataFrame({"x": [1.0, 0, 1, 0, 1, 0]}))


def test_a_single_event_is_not_no_events():
    fit = cox_fit(T6, [0, 0, 1, 0, 0, 0], pd.DataFrame({"age": [50.0, 61, 45, 70, 38, 55]}))
    assert fit.reason != "no events: a Cox model needs at least one event" and fit.events == 1


def test_a_covariate_constant_within_every_stratum_is_named_with_within_strata():
    """Constant within each of 2 strata (but not across them): absorbed by the stratum baselines."""
    fit = cox_fit(T6, D6, pd.DataFrame({"site_size": [10.0, 10, 10, 20, 20, 20]}), strata=list("aaabbb"))
    assert fit.reason == ("no variation in covariate 'site_size' within strata: its coefficient is not identifiable")


def test_a_stratum_of_one_patient_is_allowed():
    """A stratum with a single patient (no variation possible there) does not stop the check of the others."""
    t = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    d = [1, 0, 1, 1, 0, 1, 1, 1, 0]
    X = pd.DataFrame({"age": [50.0, 61, 45, 70, 38, 55, 66, 48, 59]})
    fit = cox_fit(t, d, X, strata=["a (one patient)"] + ["b"] * 4 + ["c"] * 4)  # checked first
    assert fit.estimable and fit.n_strata == 3


def test_group_reasons_for_a_0_1_covariate_are_spelled_out():
    fit = cox_fit(T6, D6, pd.DataFrame({"her2_low": [1.0, 0, 0, 0, 0, 0]}))
    assert fit.reason == ("only 1 patient(s) with her2_low = 1: fewer than 2 patients in a group, "
                          "no hazard ratio is estimated")
    fit = cox_fit(T6, [0, 1, 0, 1, 0, 1], pd.DataFrame({"her2_low": [1.0, 0, 1, 0, 1, 0]}))
    assert fit.reason == ("no events among patients with her2_low = 1: the partial likelihood has no finite "
                          "maximum (the hazard ratio is 0 or infinite)")


def test_two_patients_in_a_group_are_enough():
    """The group-size rule is fewer than 2: a 0/1 covariate with exactly 2 exposed patients is fitted."""
    fit = cox_fit([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 0, 1, 1, 0, 1, 1], pd.DataFrame({"x": [1.0, 0, 0, 0, 1, 0, 0, 0]}))
    assert fit.estimable and fit.reason is None


def test_group_rules_apply_only_to_0_1_covariates():
    """A two-level covariate coded 1/2 (not 0/1) is not checked as a 0/1 group indicator."""
    fit = cox_fit([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 0, 1, 1, 0, 1, 1], pd.DataFrame({"arm": [2.0, 1, 1, 1, 2, 1, 1, 2]}))
    assert fit.estimable and fit.reason is None


def test_an_overshooting_newton_step_is_halved_and_the_fit_still_reaches_the_maximum(monkeypatch):
    """Ten strata of 20 patients, one exposed in each; the case is the exposed patient in 5 strata.
    log L(b) = 5 b - 10 log(e^b + 19), maximal at b = log 19 (odds of 19:1 against the exposed patient
    given 1 case), information 10 (1/2)(1/2) = 2.5 there. The first Newton step from 0,
    U/I = 4.5 / 0.475 = 9.47, lowers log L, so it is halved before it is taken."""
    x, y, s = [], [], []
    for k in range(10):
        x += [1.0] + [0.0] * 19
        y += ([1.0] + [0.0] * 19) if k < 5 else ([0.0, 1.0] + [0.0] * 18)
        s += [k] * 20
    seen = []
    real = condlogit.evaluate

    def spy(sts, beta):
        out = real(sts, beta)
        seen.append((float(beta[0]), out[0]))
        return out

    monkeypatch.setattr(condlogit, "evaluate", spy)
    beta, var, ll, _ll0, converged, _it, k = condlogit.fit(np.array(x)[:, None], np.array(y), np.array(s))
    assert seen[1][0] == pytest.approx(4.5 / 0.475, rel=1e-12) and seen[1][1] < seen[0][1]  # the full step: lower
    assert seen[2][0] == pytest.approx(4.5 / 0.475 / 2, rel=1e-12) and seen[2][1] > seen[0][1]  # halved: higher
    assert converged is True and k == 10
    assert beta[0] == pytest.approx(math.log(19.0), rel=1e-9)
    assert var[0, 0] == pytest.approx(1 / 2.5, rel=1e-9)
    assert ll == pytest.approx(5 * math.log(19.0) - 10 * math.log(38.0), rel=1e-12)


def test_a_missing_stratum_label_is_reported_by_cox_fit():
    with pytest.raises(SurvivalError, match=r"^cox_fit: strata has 1 missing label\(s\); give every patient a strata "
                                            r"label$"):
        cox_fit(T6, D6, pd.DataFrame({"age": [50.0, 61, 45, 70, 38, 55]}), strata=["a", "a", None, "b", "b", "b"])


def test_a_yes_no_categorical_covariate_is_not_listed_as_non_numeric():
    """A categorical column of True/False is a 0/1 covariate; only the text column is named as not numeric."""
    flag = pd.Series(pd.Categorical([True, False, True, False, True, False]))
    with pytest.raises(SurvivalError, match=r"^cox_fit: covariates must be numeric; not numeric: \['arm'\];"):
        cox_fit(T6, D6, pd.DataFrame({"flag": flag, "arm": list("ABABAB")}))


def test_a_covariate_shifted_between_strata_is_not_taken_for_an_infinite_estimate():
    """A stratified Cox model compares patients only within strata, so adding 100 to a covariate in
    one stratum changes nothing: the check for an infinite coefficient (|beta| x SD > 25) must use
    the covariate's spread within strata, not across them."""
    rng = np.random.default_rng(7)
    n = 120
    strata = np.repeat([0, 1], n // 2)
    x = rng.normal(size=n)
    time = rng.exponential(1.0 / np.exp(0.7 * x))
    event = np.ones(n)
    plain = cox_fit(time, event, x[:, None], strata=strata)
    shifted = cox_fit(time, event, (x + 100.0 * strata)[:, None], strata=strata)
    assert plain.estimable and shifted.estimable
    assert shifted.coef.iloc[0] == pytest.approx(plain.coef.iloc[0], abs=1e-8)
    assert shifted.se.iloc[0] == pytest.approx(plain.se.iloc[0], abs=1e-8)
