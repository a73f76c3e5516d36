"""Rules of the pooling core (input checks, weighted least squares, heterogeneity, the model fit)
that the mutation run found untested.

Expected numbers are metafor 3.8's (tests/reference/metafor), hand arithmetic, or the dense
P = W - W X (X'WX)^-1 X'W written out in the test; none is computed by the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from her2meta.pool._inputs import as_moderator_matrix, validate_study_data
from her2meta.pool._wls import WeightedFit, design_with_intercept, exclusive_sums
from her2meta.pool.engine import _safe_ratio, canonical_pi_dist, canonical_test, fit_model, prediction_crit
from her2meta.pool.errors import PoolingError, PoolingInputError
from her2meta.pool.heterogeneity import heterogeneity, q_based_i2, q_profile_interval

FIX = json.loads((Path(__file__).parent / "reference" / "metafor" / "metafor_fixtures.json").read_text())
BCG = FIX["datasets"]["bcg_rr"]
YI, VI = np.array(BCG["yi"]), np.array(BCG["vi"])
Z95 = 1.959963984540054
T975_12 = 2.178812829667228  # qt(0.975, 12)


def rma_fixture(method, test, level=95):
    (hit,) = [r for r in FIX["rma"] if r["dataset"] == "bcg_rr" and r["method"] == method and r["test"] == test
              and r.get("level", 95) == level]
    return hit["expected"]


# --- input checks ---------------------------------------------------------------------------------

def test_one_moderator_becomes_a_column_and_wrong_row_counts_are_refused():
    """A 1-D moderator is one column (k x 1); a matrix with a row count other than k is refused."""
    assert as_moderator_matrix([1, 2, 3], 3).shape == (3, 1)
    assert as_moderator_matrix([1, 2, 3], 3)[:, 0].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(PoolingInputError, match=r"mods must have 3 rows \(one per study\), got shape \(2, 1\)"):
        as_moderator_matrix([[1.0], [2.0]], 3)


def test_a_missing_moderator_given_as_none_omits_that_study():
    """None in a moderator is a missing value (NaN): the study is omitted by default (na_action omit)."""
    data = validate_study_data([0.1, 0.2, 0.3], [1.0, 1.0, 1.0], study=["A", "B", "C"], mods=[1, None, 3])
    assert data.study == ("A", "C") and data.omitted == ("B",)
    assert data.mods.tolist() == [[1.0], [3.0]]
    assert data.notes == ("1 studies with missing values omitted: ['B']",)


def test_missing_yi_is_omitted_by_default_even_with_complete_moderators():
    """na_action defaults to 'omit'; a missing yi drops the study although its moderator is present."""
    data = validate_study_data([0.1, None, 0.3, 0.4], [1.0, 1.0, 1.0, 1.0], study="ABCD", mods=[1, 2, 3, 4])
    assert data.study == ("A", "C", "D") and data.mods[:, 0].tolist() == [1.0, 3.0, 4.0]


def test_an_infinite_value_names_the_study_whether_in_yi_or_a_moderator():
    """Infinite yi, vi or moderator -> error naming exactly the offending studies."""
    with pytest.raises(PoolingInputError, match=r"non-finite \(infinite\) yi/vi/moderator for studies \['A'\]$"):
        validate_study_data([math.inf, 0.2, 0.3], [1.0, 1.0, 1.0], study="ABC", mods=[1, 2, 3])
    with pytest.raises(PoolingInputError, match=r"non-finite \(infinite\) yi/vi/moderator for studies \['B'\]$"):
        validate_study_data([0.1, 0.2, 0.3], [1.0, 1.0, 1.0], study="ABC", mods=[1, math.inf, 3])


def test_missing_values_name_the_study_whether_in_yi_or_a_moderator():
    """na_action='fail' names exactly the studies with a missing yi/vi/moderator."""
    with pytest.raises(PoolingInputError, match=r"missing yi/vi/moderator for studies \['A'\]$"):
        validate_study_data([math.nan, 0.2, 0.3], [1.0, 1.0, 1.0], study="ABC", mods=[1, 2, 3], na_action="fail")
    with pytest.raises(PoolingInputError, match=r"missing yi/vi/moderator for studies \['C'\]$"):
        validate_study_data([0.1, 0.2, 0.3], [1.0, 1.0, 1.0], study="ABC", mods=[1, 2, math.nan], na_action="fail")


@pytest.mark.parametrize("kwargs, message", [
    ({"yi": ["a", 1]}, "yi must be numeric"),
    ({"yi": [1, 2], "vi": ["a", 1]}, "vi must be numeric"),
    ({"yi": [1, 2], "sei": ["a", 1]}, "sei must be numeric"),
    ({"yi": [1, 2]}, "give the sampling variances vi (or standard errors sei)"),
])
def test_input_errors_name_the_argument(kwargs, message):
    """Each bad argument is named in the error, and a missing vi says to give vi or sei."""
    with pytest.raises(PoolingInputError) as err:
        validate_study_data(**kwargs)
    assert str(err.value).startswith(message)
    if "give" in message:
        assert str(err.value) == message


def test_an_unknown_na_action_is_refused_by_name():
    with pytest.raises(PoolingInputError, match=r"^na_action must be 'omit' or 'fail', not 'drop'$"):
        validate_study_data([0.1, None], [1.0, 1.0], na_action="drop")


def test_standard_errors_are_squared_into_variances():
    assert validate_study_data([1.0, 2.0], sei=[0.5, 2.0]).vi.tolist() == [0.25, 4.0]


# --- weighted least squares -----------------------------------------------------------------------

def dense_p(w, X):
    W = np.diag(w)
    if X is None:
        X = np.ones((w.size, 1))
    return W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W, X


@pytest.mark.parametrize("with_mods", [False, True])
def test_wls_quantities_equal_the_dense_projection_matrix(with_mods):
    """y'PPPy, the hat values, tr PP, tr(PDPD), tr(PPD), tr(PD) equal their dense definitions."""
    w = 1.0 / (VI + 0.1)
    X = design_with_intercept(np.array(BCG["ablat"], dtype=float)[:, None], YI.size) if with_mods else None
    P, Xd = dense_p(w, X)
    fit = WeightedFit(YI, w, X)
    d = np.linspace(0.5, 2.0, YI.size)
    D = np.diag(d)
    assert fit.quad_ppp() == pytest.approx(YI @ P @ P @ P @ YI, rel=1e-9)
    hat = np.diag(Xd @ np.linalg.inv(Xd.T @ np.diag(w) @ Xd) @ Xd.T @ np.diag(w))
    assert fit.hat_values() == pytest.approx(hat, rel=1e-9)
    assert fit.trace_pp() == pytest.approx(np.trace(P @ P), rel=1e-9)
    assert fit.trace_p() == pytest.approx(np.trace(P), rel=1e-9)
    assert fit.trace_pdpd(d) == pytest.approx(np.trace(P @ D @ P @ D), rel=1e-9)
    assert fit.trace_ppd(d) == pytest.approx(np.trace(P @ P @ D), rel=1e-9)
    assert fit.trace_pd(d) == pytest.approx(np.trace(P @ D), rel=1e-9)


def test_intercept_only_s_xw2x_is_sum_w2_over_sum_w():
    """For the intercept-only model S X'W^2 X = sum(w^2) / sum(w)."""
    w = np.array([1.0, 2.0, 4.0])
    assert WeightedFit(np.zeros(3), w).__getattribute__("_s_xw2x")()[0, 0] == pytest.approx(21.0 / 7.0, rel=1e-12)


@pytest.mark.parametrize("w", [np.array([np.inf, 1.0]), np.array([0.0, 0.0])])
def test_infinite_or_zero_weights_are_refused(w):
    with pytest.raises(PoolingError, match="^weights sum to zero or are not finite$"):
        WeightedFit(np.array([1.0, 2.0]), w)


@pytest.mark.parametrize("mods", [
    np.array([[1.0], [1.0 + 1e-6], [1.0], [1.0 - 1e-6]]),          # nearly constant moderator (2 x 2)
    np.array([[1.0, 2.0], [2.0, 4.0 + 1e-9], [3.0, 6.0], [4.0, 8.0]]),  # nearly collinear moderators (3 x 3)
    np.zeros((4, 1)),                                                   # a moderator that is all 0
])
def test_constant_or_collinear_moderators_are_refused(mods):
    """(Nearly) singular X'WX: refused with the reason, not a fit with huge standard errors."""
    X = design_with_intercept(mods, 4)
    with pytest.raises(PoolingError, match="^model matrix is not of full rank: moderators are collinear or constant$"):
        WeightedFit(np.array([0.1, 0.5, 0.2, 0.4]), np.ones(4), X)


def test_no_moderators_means_the_intercept_only_model():
    assert design_with_intercept(None, 3) is None
    assert design_with_intercept(np.empty((3, 0)), 3) is None
    assert design_with_intercept(np.array([[2.0], [3.0]]), 2).tolist() == [[1.0, 2.0], [1.0, 3.0]]


def test_exclusive_sums_are_exact_for_the_dominant_value_wherever_it_is():
    """Sum of the other values; the largest one's is summed directly (no cancellation)."""
    assert exclusive_sums(np.array([1e20, 1.0])).tolist() == [1.0, 1e20]
    assert exclusive_sums(np.array([1.0, 1e20])).tolist() == [1e20, 1.0]
    assert exclusive_sums(np.array([1.0, 1e20, 2.0])).tolist() == [1e20, 3.0, 1e20]


# --- heterogeneity --------------------------------------------------------------------------------

def test_q_i2_h2_by_hand_for_three_equal_variance_studies():
    """yi 0, 2, 4 with vi 1: Q = 8, df 2, I2_Q = 75%; tr P = 2 so vt = 1; with tau2 = 3 the
    tau2-based I2 = 75% and H2 = 4; fixed effect: H2 = Q/df = 4."""
    yi, vi = np.array([0.0, 2.0, 4.0]), np.ones(3)
    het = heterogeneity(yi, vi, None, 3.0, fixed_effect=False)
    assert (het.Q, het.Q_df) == (pytest.approx(8.0), 2)
    assert het.I2_Q == pytest.approx(75.0) and het.vt == pytest.approx(1.0)
    assert het.I2 == pytest.approx(75.0) and het.H2 == pytest.approx(4.0)
    assert het.Q_p == pytest.approx(math.exp(-4.0), rel=1e-9)  # chi2(2) survival = exp(-Q/2)
    fe = heterogeneity(yi, vi, None, 0.0, fixed_effect=True)
    assert fe.I2 == pytest.approx(75.0) and fe.H2 == pytest.approx(4.0) and fe.I2_Q == pytest.approx(75.0)


def test_heterogeneity_conventions_without_data_for_it():
    """vi = 0: Q, I2, H2 undefined (None); k = p: Q = 0, p = 1, I2 = 0, H2 = 1 by convention."""
    het = heterogeneity(np.array([0.1, 0.2]), np.array([0.0, 1.0]), None, 0.0, fixed_effect=True)
    assert (het.Q, het.Q_df, het.Q_p, het.I2, het.H2, het.I2_Q, het.vt) == (None, 1, None, None, None, None, None)
    assert het.notes == ["Q, I2 and H2 are not defined when a study has vi = 0"]
    het = heterogeneity(np.array([0.1]), np.array([1.0]), None, 0.0, fixed_effect=False)
    assert (het.Q, het.Q_df, het.Q_p, het.I2, het.H2, het.I2_Q, het.vt) == (0.0, 0, 1.0, 0.0, 1.0, 0.0, 0.0)
    assert het.notes == ["k = 1: no degrees of freedom for heterogeneity (Q = 0, I2 = 0, H2 = 1 by convention)"]


def test_q_based_i2_follows_its_formula_for_small_q():
    """I2 = max(0, 100 (Q - df) / Q): Q = 0.5 with df = 0 is 100%, Q = 0 is 0."""
    assert q_based_i2(0.5, 0) == 100.0
    assert q_based_i2(0.0, 0) == 0.0


def test_q_profile_interval_needs_residual_df_and_positive_variances():
    one = q_profile_interval(np.array([0.3]), np.array([0.1]), None, 0.05)
    assert (one.lower, one.upper, one.notes) == (None, None, ["tau2 interval needs k > p studies"])
    zero = q_profile_interval(np.array([0.3, 0.1]), np.array([0.0, 0.1]), None, 0.05)
    assert (zero.lower, zero.upper, zero.notes) == (None, None, ["Q-profile interval not defined when a study has vi = 0"])


def test_q_profile_interval_uses_the_moderators():
    """A moderator that explains every difference (yi = 2 x): Q at tau2 = 0 is 0, below the lower
    chi2 quantile -> the interval is the null set, reported as [0, 0] with a note."""
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    X = design_with_intercept(x[:, None], 5)
    ci = q_profile_interval(2.0 * x, np.full(5, 0.1), X, 0.05)
    assert (ci.lower, ci.upper) == (0.0, 0.0)
    assert ci.notes == ["Q-profile interval is the null set at tau2 = 0 (reported as [0, 0])"]


def test_q_profile_interval_of_a_meta_regression_matches_metafor():
    """bcg log RR ~ ablat: confint(rma(...))$random tau2 = [0.01668, 0.78484] (metafor)."""
    ref = [m for m in FIX["metareg"] if m["dataset"] == "bcg_rr" and m["mods"] == ["ablat"] and m["method"] == "REML"][0]
    X = design_with_intercept(np.array(BCG["ablat"], dtype=float)[:, None], YI.size)
    ci = q_profile_interval(YI, VI, X, 0.05)
    assert (ci.lower, ci.upper) == pytest.approx(tuple(ref["expected"]["tau2_ci"]), rel=1e-5)


# --- the model fit --------------------------------------------------------------------------------

def test_default_fit_is_reml_with_wald_z_at_95_percent():
    """fit_model without options: REML tau2, z test, 95% interval (metafor's rma defaults)."""
    ref = rma_fixture("REML", "z")
    fit = fit_model(YI, VI)
    assert (fit.method, fit.test, fit.alpha, fit.df) == ("REML", "z", 0.05, None)
    assert fit.tau2 == pytest.approx(ref["tau2"], rel=1e-6)
    assert fit.ci_lb[0] == pytest.approx(ref["ci_lb"], rel=1e-6)
    assert fit.tau2_fit.method == "REML" and "tau2 fixed by the user" not in fit.notes


def test_knapp_hartung_on_a_fixed_effect_model_warns_and_matches_metafor():
    ref = rma_fixture("FE", "knha")
    fit = fit_model(YI, VI, method="FE", test="knha")
    assert fit.s2w == pytest.approx(ref["s2w"], rel=1e-9)
    assert fit.ci_lb[0] == pytest.approx(ref["ci_lb"], rel=1e-9)
    assert "Knapp-Hartung adjustment is not meant for fixed-effect models" in fit.notes
    assert fit.tau2_fit.method == "FE" and fit.tau2_fit.tau2 == 0.0 and fit.tau2_fit.notes == []
    assert "Knapp-Hartung adjustment is not meant for fixed-effect models" not in fit_model(YI, VI, test="knha").notes


def test_knapp_hartung_scale_is_zero_below_machine_epsilon():
    """A residual sum of squares below machine epsilon counts as 0 (as metafor): s2 = 0, a note."""
    fit = fit_model(np.array([0.0, 1e-9, 0.0]), np.ones(3), method="FE", test="knha")
    assert fit.s2w == 0.0 and fit.se[0] == 0.0
    assert ("Knapp-Hartung scale factor is 0 (every estimate equals its fitted value): standard errors are 0 "
            "and the interval has zero width") in fit.notes


def test_without_residual_df_the_t_interval_is_undefined():
    """k = p with a t-type test: df 0, crit and p-values NaN, and a note; df 1 has no note."""
    fit = fit_model(np.array([0.1, 0.5]), np.array([0.1, 0.2]), design_with_intercept(np.array([[0.0], [1.0]]), 2),
                    method="FE", test="knha")
    assert fit.df == 0 and math.isnan(fit.crit) and np.isnan(fit.pval).all() and fit.pval.dtype == np.float64
    assert "no residual degrees of freedom: t-based p-value and interval undefined" in fit.notes
    fit = fit_model(np.array([0.1, 0.5]), np.array([0.1, 0.2]), method="FE", test="t")
    assert fit.df == 1 and not any("no residual degrees of freedom" in n for n in fit.notes)
    assert fit.crit == pytest.approx(12.706204736174707, rel=1e-9)  # qt(0.975, 1)


def test_one_study_uses_the_z_test_and_tau2_zero_with_notes():
    fit = fit_model(np.array([0.3]), np.array([0.04]), method="REML", test="knha")
    assert fit.test == "z" and fit.tau2 == 0.0 and fit.tau2_fit.method == "REML"
    assert fit.notes[:2] == ["k = 1: test set to 'z' (no degrees of freedom for a t test)",
                             "k = 1: tau2 cannot be estimated and is set to 0"]
    assert not any("test set to 'z'" in n for n in fit_model(np.array([0.3]), np.array([0.04]), test="z").notes)


def test_a_fixed_tau2_is_noted_and_counted_but_not_for_fixed_effect():
    """A user-given tau2 is used as is (noted, not an estimated parameter); FE ignores it."""
    fit = fit_model(YI, VI, method="DL", tau2=0.2)
    assert fit.tau2 == 0.2 and fit.tau2_fit.method == "DL" and "tau2 fixed by the user" in fit.notes
    assert fit.tau2_fixed and fit.n_params == 1
    fe = fit_model(YI, VI, method="FE", tau2=0.2)
    assert fe.tau2 == 0.0 and not fe.tau2_fixed and fe.n_params == 1


def test_the_convergence_tolerance_reaches_the_tau2_estimator():
    """tol is passed to the iterative estimator: a loose tolerance stops REML earlier."""
    loose, tight = fit_model(YI, VI, tol=0.5), fit_model(YI, VI)
    assert loose.tau2_fit.iterations < tight.tau2_fit.iterations


def test_errors_name_the_problem_and_the_study():
    with pytest.raises(PoolingError, match=r"^more coefficients \(3\) than studies \(2\)$"):
        fit_model(np.array([0.1, 0.2]), np.ones(2), np.ones((2, 3)))
    with pytest.raises(PoolingError) as err:
        fit_model(np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.0, 0.2]), method="FE")
    assert str(err.value) == ("study #2 has vi = 0 and tau2 = 0: its inverse-variance weight is infinite. Remove it, "
                              "give it a positive variance, or use a random-effects estimator that yields tau2 > 0.")
    with pytest.raises(PoolingError, match=r"choose 'z', 'knha' \(Hartung-Knapp-Sidik-Jonkman\), 'adhoc' "
                                           r"\(truncated knha\) or 't'"):
        canonical_test("bogus")


def test_zero_standard_error_gives_an_infinite_z_without_a_warning():
    """beta / se with se = 0: infinite z (0 for 0/0), silently (no RuntimeWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = _safe_ratio(np.array([1.0, 0.0, math.nan]), np.array([0.0, 0.0, 0.0]))
    assert z[0] == math.inf and z[1] == 0.0 and math.isnan(z[2])


@pytest.mark.parametrize("alias, canonical", [
    ("default", "auto"), ("auto", "auto"), ("normal", "norm"), ("z", "norm"), ("Z ", "norm"), ("norm", "norm"),
    ("riley", "t"), ("higgins", "t"), ("Riley", "t"), ("t", "t"), ("other", "other"),
])
def test_prediction_interval_names_and_their_aliases(alias, canonical):
    assert canonical_pi_dist(alias) == canonical


@pytest.mark.parametrize("alias", ["auto", "default", "norm", "normal", "z", "t", "riley", "higgins"])
def test_prediction_critical_value_for_every_alias(alias):
    """auto/default: the coefficients' distribution (t(12) under knha); norm/normal/z: 1.96;
    t/riley/higgins: t(k - 2) = t(11) for a random-effects model with k = 13."""
    fit = fit_model(YI, VI, method="REML", test="knha")
    expected = {"auto": (T975_12, 12), "default": (T975_12, 12), "norm": (Z95, None), "normal": (Z95, None),
                "z": (Z95, None), "t": (2.200985160082949, 11), "riley": (2.200985160082949, 11),
                "higgins": (2.200985160082949, 11)}[alias]
    crit, df = prediction_crit(fit, alias)
    assert crit == pytest.approx(expected[0], rel=1e-9) and df == expected[1]


# --- rma (intercept-only) and its forwarding to metareg -------------------------------------------

from her2meta.pool.metareg import metareg  # noqa: E402
from her2meta.pool.result import MetaResult, fmt, fmt_p, format_meta_summary, to_jsonable  # noqa: E402
from her2meta.pool.uni import rma  # noqa: E402

ABLAT = np.array(BCG["ablat"], dtype=float)


def test_rma_reports_the_q_based_i2_and_no_i2_interval_for_fixed_effect():
    """I2_Q is Higgins & Thompson's Q-based I2 (92.117% for bcg, metafor's FE I2); a fixed-effect
    fit has no tau2, so no I2/H2 interval: None, not an empty text."""
    res = rma(YI, VI, method="FE")
    assert res.I2_Q == pytest.approx(rma_fixture("FE", "z")["I2"], rel=1e-9)
    assert (res.tau2_ci_lb, res.I2_ci_lb, res.I2_ci_ub, res.H2_ci_lb, res.H2_ci_ub) == (None,) * 5


def test_rma_of_one_study_has_no_tau2_interval_and_says_why():
    res = rma([0.3], [0.04], method="REML")
    assert res.tau2_ci_lb is None and res.tau2_ci_ub is None
    assert "k = 1: no confidence interval for tau2" in res.notes
    assert not any("needs k > p" in n for n in res.notes)


@pytest.mark.parametrize("level, reported", [(95, 95.0), (0.9, 90.0), (1.5, 1.5), (1, 100.0)])
def test_rma_reports_the_level_in_percent(level, reported):
    """level is read as percent above 1 and as a fraction up to 1 (as alpha_from_level)."""
    assert rma(YI, VI, level=level).level == reported


def test_rma_with_moderators_forwards_every_option_to_metareg():
    """rma(mods=...) is metareg with the same options: sei, study, method, test, level, tau2,
    na_action, tol and maxiter all reach it."""
    labels = [f"S{i}" for i in range(YI.size)]
    res = rma(YI, sei=np.sqrt(VI), study=labels, mods=ABLAT, method="DL", test="knha", level=90)
    direct = metareg(YI, VI, ABLAT, study=labels, method="DL", test="knha", level=90)
    assert res.study == labels and (res.method, res.test, res.level) == ("DL", "knha", 90.0)
    assert res.beta == pytest.approx(direct.beta, rel=1e-12) and res.ci_lb == pytest.approx(direct.ci_lb, rel=1e-12)
    ref = [m for m in FIX["metareg"] if m["dataset"] == "bcg_rr" and m["mods"] == ["ablat"] and m["method"] == "REML"
           and m["test"] == "z"][0]["expected"]
    assert rma(YI, VI, mods=ABLAT).beta == pytest.approx(ref["beta"], rel=1e-6)
    assert rma(YI, VI, mods=ABLAT, tau2=0.5).tau2 == 0.5
    with pytest.raises(PoolingInputError, match="missing yi/vi/moderator"):
        rma([0.1, None, 0.3, 0.2], [1.0] * 4, mods=[1, 2, 3, 4], na_action="fail")
    assert rma(YI, VI, mods=ABLAT, tol=0.5).tau2 != pytest.approx(ref["tau2"], rel=1e-6)
    assert any("did not converge in 1 iterations" in n for n in rma(YI, VI, mods=ABLAT, maxiter=1).notes)


def test_rma_passes_the_tolerance_to_the_estimator():
    assert rma(YI, VI, tol=0.5).iterations < rma(YI, VI).iterations


# --- the result object and its text summary -------------------------------------------------------

def result(**changes) -> MetaResult:
    base = dict(estimate=-0.5, se=0.25, zval=-2.0, pval=0.0455, ci_lb=-1.0, ci_ub=0.0, tau2=0.04, se_tau2=0.03,
                tau2_ci_lb=0.01, tau2_ci_ub=0.5, I2=40.0, I2_ci_lb=None, I2_ci_ub=None, H2=1.6667, H2_ci_lb=None,
                H2_ci_ub=None, I2_Q=35.5, Q=12.3456, Q_df=7, Q_p=0.00005, pi_lb=-1.2, pi_ub=0.2, k=8,
                weights=[12.5] * 8, study=list("ABCDEFGH"), yi=[0.0] * 8, vi=[1.0] * 8, method="REML", test="knha",
                level=95.0, df=7, pi_dist="auto", pi_df=7, converged=False, iterations=100, s2w=1.0, loglik=-3.0,
                notes=["a note"])
    base.update(changes)
    return MetaResult(**base)


def test_random_effects_summary_text():
    """The printed summary (pool CLI): model and test, tau2 with SE and Q-profile CI, tau, I2 (tau2-
    and Q-based), H2, Q test, the coefficient table with a t column, the prediction interval with its
    t df, the non-convergence warning and the notes."""
    assert result().summary().split("\n") == [
        "Random-effects (REML) model (k = 8); test: Knapp-Hartung (HKSJ) t",
        "",
        "tau^2 (estimated amount of total heterogeneity): 0.0400 (SE = 0.0300)  [0.0100, 0.5000] (Q-profile)",
        "tau (square root of estimated tau^2 value):      0.2000",
        "I^2 (total heterogeneity / total variability):   40.00% (tau2-based; Q-based I^2 = 35.50%)",
        "H^2 (total variability / sampling variability):  1.67",
        "",
        "Test for Heterogeneity:",
        "Q(df = 7) = 12.3456, p-val = <.0001",
        "",
        "Model Results:",
        "  estimate         se      tval (df = 7)     pval      ci.lb      ci.ub",
        "   -0.5000     0.2500            -2.0000   0.0455    -1.0000     0.0000",
        "",
        "95% prediction interval: [-1.2000, 0.2000] (t(df = 7))",
        "WARNING: the tau^2 estimator did not converge.",
        "Note: a note",
    ]


def test_fixed_effect_summary_text_with_missing_and_infinite_numbers():
    """Fixed effect: no tau lines, Q-based I2, no Q test when Q is None, a z column, NA for NaN/None,
    Inf/-Inf for infinite bounds, a normal prediction interval, and the digits asked for."""
    res = result(method="FE", test="z", tau2=0.0, se_tau2=None, tau2_ci_lb=None, tau2_ci_ub=None, I2=60.0, I2_Q=60.0,
                 H2=2.5, Q=None, Q_p=None, zval=math.nan, pval=None, ci_lb=-math.inf, ci_ub=math.inf, pi_df=None,
                 df=None, level=90.0, converged=True, notes=[], k=3, estimate=0.123456)
    assert res.summary(2).split("\n") == [
        "Fixed-effect (equal-effects) model (k = 3); test: Wald z",
        "",
        "I^2 (total heterogeneity / total variability):   60.00% (Q-based; Q-based I^2 = 60.00%)",
        "H^2 (total variability / sampling variability):  2.50",
        "",
        "Model Results:",
        "  estimate         se               zval     pval      ci.lb      ci.ub",
        "      0.12       0.25                 NA       NA       -Inf        Inf",
        "",
        "90% prediction interval: [-1.20, 0.20] (normal)",
    ]
    assert res.summary().split("\n")[7].startswith("    0.1235")
    plain = result(se_tau2=None, tau2_ci_lb=None, I2=None, test="custom", df=5, pi_df=5)
    lines = plain.summary().split("\n")
    assert lines[0] == "Random-effects (REML) model (k = 8); test: custom"
    assert lines[2] == "tau^2 (estimated amount of total heterogeneity): 0.0400"
    assert not any(line.startswith("I^2") for line in lines)


def test_number_formats():
    """4 decimals by default, NA for None/NaN, Inf/-Inf; p-values below 1e-4 as '<.0001'."""
    assert (fmt(1.23456), fmt(None), fmt(math.nan), fmt(math.inf), fmt(-math.inf), fmt(0.5)) == (
        "1.2346", "NA", "NA", "Inf", "-Inf", "0.5000")
    assert (fmt_p(None), fmt_p(math.nan), fmt_p(0.5), fmt_p(1e-4), fmt_p(9.9e-5)) == (
        "NA", "NA", "0.5000", "0.0001", "<.0001")


def test_json_form_has_tau_and_leaves_out_private_fields():
    """to_dict() adds tau = sqrt(tau2); dataclass fields starting with '_' are not exported."""
    assert result().to_dict()["tau"] == pytest.approx(0.2, rel=1e-12)
    assert "TAU" not in result().to_dict()

    @dataclasses.dataclass
    class WithPrivate:
        shown: float
        _hidden: float

    assert to_jsonable(WithPrivate(1.0, 2.0)) == {"shown": 1.0}


def test_summary_digits_reach_every_number():
    """summary(digits) / format_meta_summary(res, digits): every number but I2/H2 uses the digits
    asked for; format_meta_summary defaults to 4 like summary()."""
    lines = result().summary(2).split("\n")
    assert lines[2] == "tau^2 (estimated amount of total heterogeneity): 0.04 (SE = 0.03)  [0.01, 0.50] (Q-profile)"
    assert lines[3] == "tau (square root of estimated tau^2 value):      0.20"
    assert lines[8] == "Q(df = 7) = 12.35, p-val = <.0001"
    assert lines[12] == "     -0.50       0.25              -2.00   0.0455      -1.00       0.00"
    assert format_meta_summary(result()) == result().summary()
