"""Rules of the meta-regression (her2meta.pool.metareg) that the mutation run found untested
(issue 18, "tests that catch").

Expected values are metafor 3.8's (tests/reference/metafor), the textbook weighted least-squares
and DerSimonian-Laird formulas written out with numpy in the test, or hand arithmetic; the
printed summary is checked against text written out by hand from the documented layout.
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from her2meta.pool.engine import fit_model
from her2meta.pool.errors import PoolingError, PoolingInputError
from her2meta.pool.metareg import MetaRegResult, design_from_columns, metareg, omnibus_test

metareg_module = importlib.import_module("her2meta.pool.metareg")
FIX = json.loads((Path(__file__).parent / "reference" / "metafor" / "metafor_fixtures.json").read_text())
BCG = FIX["datasets"]["bcg_rr"]
YI, VI, ABLAT = np.array(BCG["yi"]), np.array(BCG["vi"]), np.array(BCG["ablat"], float)

# small hand data: five studies, one moderator
Y5 = np.array([0.10, 0.35, 0.20, 0.60, 0.45])
V5 = np.array([0.04, 0.05, 0.02, 0.08, 0.03])
X5 = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def wls(y, v, X):
    """Textbook weighted least squares: beta = (X'WX)^-1 X'Wy, RSS = sum w (y - X beta)^2."""
    w = 1.0 / v
    XtWX = X.T @ (w[:, None] * X)
    beta = np.linalg.solve(XtWX, X.T @ (w * y))
    resid = y - X @ beta
    return beta, float(np.sum(w * resid ** 2)), np.linalg.inv(XtWX)


def dl_tau2(y, v, X):
    """DerSimonian-Laird for meta-regression: (QE - (k - p)) / (sum w - tr((X'WX)^-1 X'W^2 X)),
    truncated at 0."""
    w = 1.0 / v
    _, qe, inv = wls(y, v, X)
    k, p = X.shape
    denom = w.sum() - np.trace(inv @ (X.T @ ((w ** 2)[:, None] * X)))
    return max(0.0, (qe - (k - p)) / denom)


def with_intercept(x):
    return np.column_stack([np.ones(len(x)), x])


# --- moderators: arrays, names, factors, missing values ------------------------------------------

def test_moderator_names_given_for_an_array_name_the_coefficients():
    """mod_names names the columns of a numeric moderator matrix; without names they are mod1, mod2."""
    named = metareg(YI, VI, ABLAT, mod_names=["ablat"], method="FE")
    assert named.coef_names == ["intrcpt", "ablat"]
    two = metareg(YI, VI, np.column_stack([ABLAT, np.array(BCG["year"], float)]), method="FE")
    assert two.coef_names == ["intrcpt", "mod1", "mod2"]


def test_a_name_count_that_does_not_match_the_columns_is_refused():
    """Two names for one moderator column is an error that says how many of each."""
    with pytest.raises(PoolingInputError) as err:
        metareg(YI, VI, ABLAT, mod_names=["ablat", "year"])
    assert str(err.value) == "2 moderator names for 1 columns"


def test_a_text_array_is_a_factor_named_after_its_column():
    """An array of text is dummy-coded against its first level in sorted order (R's factor()):
    the coefficient is called <name><level>, with mod1 as the name when none is given. With one
    binary factor and FE weights, the slope is the difference of the inverse-variance weighted
    means of the two groups."""
    arm = np.array(["b", "a", "b", "a", "a"])
    res = metareg(Y5, V5, arm, mod_names=["arm"], method="FE")
    assert res.coef_names == ["intrcpt", "armb"]
    w = 1 / V5
    mean = {g: np.sum((w * Y5)[arm == g]) / np.sum(w[arm == g]) for g in "ab"}
    assert res.beta[0] == pytest.approx(mean["a"], rel=1e-12)
    assert res.beta[1] == pytest.approx(mean["b"] - mean["a"], rel=1e-12)
    unnamed = metareg(Y5, V5, arm, method="FE")
    assert unnamed.coef_names == ["intrcpt", "mod1b"]
    two = metareg(Y5, V5, np.column_stack([arm, ["x", "x", "y", "y", "x"]]), method="FE")
    assert two.coef_names == ["intrcpt", "mod1b", "mod2y"]


def test_a_data_frame_gives_its_column_names_and_codes_its_text_columns():
    """A pandas DataFrame: numeric columns enter as they are, under their column names; text
    columns are factors."""
    frame = pd.DataFrame({"dose": X5, "arm": ["b", "a", "b", "a", "a"]})
    res = metareg(Y5, V5, frame, method="FE")
    assert res.coef_names == ["intrcpt", "dose", "armb"]
    X = np.column_stack([np.ones(5), X5, [1.0, 0, 1, 0, 0]])
    beta, _, _ = wls(Y5, V5, X)
    assert res.beta == pytest.approx(beta.tolist(), rel=1e-10)


def test_a_pandas_series_is_one_numeric_moderator():
    """A Series (which has to_dict but no columns) is a single numeric moderator, like an array."""
    res = metareg(Y5, V5, pd.Series(X5), method="FE")
    assert res.coef_names == ["intrcpt", "mod1"]
    beta, _, _ = wls(Y5, V5, with_intercept(X5))
    assert res.beta == pytest.approx(beta.tolist(), rel=1e-10)


@pytest.mark.parametrize("missing", [None, float("nan"), ""])
def test_a_missing_numeric_moderator_omits_the_study(missing):
    """None, NaN or an empty string in a numeric column is a missing value: the column stays
    numeric and the study is omitted (na_action 'omit' by default), named in `omitted`."""
    x = [1.0, 2.0, missing, 4.0, 5.0]
    res = metareg(Y5, V5, {"dose": x}, study=list("ABCDE"), method="FE")
    assert res.coef_names == ["intrcpt", "dose"]
    assert res.omitted == ["C"] and res.k == 4 and res.study == ["A", "B", "D", "E"]
    keep = [0, 1, 3, 4]
    beta, _, _ = wls(Y5[keep], V5[keep], with_intercept(X5[keep]))
    assert res.beta == pytest.approx(beta.tolist(), rel=1e-10)
    assert res.notes[0] == "1 studies with missing values omitted: ['C']"


@pytest.mark.parametrize("missing", [None, float("nan"), ""])
def test_a_missing_factor_level_omits_the_study_and_is_not_a_level(missing):
    """A missing value in a text column is not a level of its own: the study is omitted."""
    arm = ["b", "a", missing, "a", "b"]
    res = metareg(Y5, V5, {"arm": arm}, study=list("ABCDE"), method="FE")
    assert res.coef_names == ["intrcpt", "armb"] and res.omitted == ["C"] and res.k == 4


def test_design_without_any_moderator_column_is_refused():
    """No columns (or only a one-level factor) leave no moderator: refused with that message."""
    with pytest.raises(PoolingInputError) as err:
        design_from_columns({})
    assert str(err.value) == "no moderator columns given"
    with pytest.raises(PoolingInputError) as err:
        design_from_columns({"arm": ["a", "a", "a"]})
    assert str(err.value) == "no moderator columns given"


def test_collinear_moderators_are_refused_naming_them():
    """Collinear moderators: the error names them and says what to do."""
    with pytest.raises(PoolingError) as err:
        metareg(Y5, V5, {"x": X5, "x2": 2 * X5})
    assert str(err.value) == ("moderators ['x', 'x2'] are collinear (or constant): the model matrix "
                              "is not of full rank; drop redundant moderators")


# --- what the result carries ----------------------------------------------------------------------

def test_weights_are_percent_inverse_variance_weights():
    """weights = 100 w / sum(w), w = 1/(vi + tau2); FE: w = 1/vi."""
    res = metareg(Y5, V5, X5, method="FE")
    w = 1 / V5
    assert res.weights == pytest.approx((100 * w / w.sum()).tolist(), rel=1e-12)
    re = metareg(YI, VI, ABLAT, method="REML")
    w = 1 / (VI + re.tau2)
    assert re.weights == pytest.approx((100 * w / w.sum()).tolist(), rel=1e-12)


def test_knapp_hartung_scale_factor_and_f_test_degrees_of_freedom():
    """test='knha': s2w = RSS/(k - p) of the weighted fit, SE scaled by sqrt(s2w), QM reported
    as F(m, k - p) = QM/m with df2 = k - p; test='z': s2w = 1 and no df2."""
    beta, rss, inv = wls(Y5, V5, with_intercept(X5))
    res = metareg(Y5, V5, X5, method="FE", test="knha")
    s2w = rss / 3
    assert res.s2w == pytest.approx(s2w, rel=1e-12)
    assert res.se[1] == pytest.approx(math.sqrt(s2w * inv[1, 1]), rel=1e-12)
    assert res.QM_df == 1 and res.QM_df2 == 3 and res.df == 3
    assert res.QM == pytest.approx(beta[1] ** 2 / (s2w * inv[1, 1]), rel=1e-10)
    assert res.QM_p == pytest.approx(stats.f.sf(res.QM, 1, 3), rel=1e-10)
    z = metareg(Y5, V5, X5, method="FE")
    assert z.s2w == 1.0 and z.QM_df2 is None and z.df is None


def test_t_values_are_reported_for_t_based_tests_only():
    """to_dict() carries 'tval' (the test statistics) for t-based tests and null for z tests."""
    knha = metareg(YI, VI, ABLAT, test="knha")
    out = knha.to_dict()
    assert out["tval"] == pytest.approx(knha.zval, rel=1e-15) and knha.tval == knha.zval
    assert metareg(YI, VI, ABLAT).to_dict()["tval"] is None


def test_reml_fit_reports_convergence_and_no_interval_unless_asked():
    """converged comes from the tau2 fit; the Q-profile interval for tau2 is computed only with
    tau2_ci=True (metafor's confint), and never for FE or a fixed tau2."""
    res = metareg(YI, VI, ABLAT)
    assert res.converged is True
    assert res.tau2_ci_lb is None and res.tau2_ci_ub is None
    ref = [m for m in FIX["metareg"] if m["dataset"] == "bcg_rr" and m["mods"] == ["ablat"]
           and m["method"] == "REML" and m["test"] == "z"][0]["expected"]
    ci = metareg(YI, VI, ABLAT, tau2_ci=True)
    assert [ci.tau2_ci_lb, ci.tau2_ci_ub] == pytest.approx(ref["tau2_ci"], rel=1e-6)
    fe = metareg(YI, VI, ABLAT, method="FE", tau2_ci=True)
    assert fe.tau2_ci_lb is None and fe.tau2_ci_ub is None
    fixed = metareg(YI, VI, ABLAT, tau2=0.1, tau2_ci=True)
    assert fixed.tau2_ci_lb is None and fixed.tau2_ci_ub is None


@pytest.mark.parametrize("level, reported", [(0.9, 90.0), (90, 90.0), (2, 2.0), (1.5, 1.5)])
def test_confidence_level_as_fraction_or_percent(level, reported):
    """A level above 1 is a percent, one at or below 1 a fraction: the interval uses
    z(1 - alpha/2) with alpha = 1 - level/100 or 1 - level, and the level is reported in percent."""
    res = metareg(Y5, V5, X5, method="FE", level=level)
    alpha = 1 - reported / 100
    assert res.level == reported
    assert res.ci_ub[1] - res.beta[1] == pytest.approx(stats.norm.isf(alpha / 2) * res.se[1], rel=1e-10)


def test_a_level_of_one_is_the_fraction_one():
    """level = 1 is read as the fraction 1 (alpha = 0): the interval is unbounded and the
    reported level is 100, matching the interval."""
    res = metareg(Y5, V5, X5, method="FE", level=1)
    assert res.level == 100.0 and res.ci_lb[1] == -math.inf and res.ci_ub[1] == math.inf


# --- omnibus test ---------------------------------------------------------------------------------

def test_omnibus_test_of_no_coefficient_is_undefined():
    """Testing an empty set of coefficients gives QM = NaN on 0 df, no df2, p = NaN."""
    fit = fit_model(Y5, V5, with_intercept(X5), method="FE")
    qm, df1, df2, p = omnibus_test(fit, [])
    assert math.isnan(qm) and df1 == 0 and df2 is None and math.isnan(p)


def test_omnibus_test_with_a_singular_covariance_is_undefined():
    """Knapp-Hartung on a perfect fit has s2w = 0, so the covariance of the slope is 0 and QM
    cannot be formed: QM and its p are NaN (df still 1), not an error."""
    y = 0.2 + 0.1 * X5
    res = metareg(y, V5, X5, method="FE", test="knha")
    assert res.s2w == 0.0
    assert math.isnan(res.QM) and math.isnan(res.QM_p) and res.QM_df == 1


def test_t_test_with_no_residual_degrees_of_freedom_has_no_p_value():
    """k = p (two studies, one moderator, tau2 fixed at 0.1) with a t test: F(1, 0) is
    undefined, p = NaN; QM itself is the Wald statistic with weights 1/(vi + 0.1)."""
    res = metareg(Y5[:2], V5[:2], X5[:2], method="DL", tau2=0.1, test="t")
    assert res.df == 0 and math.isnan(res.QM_p)
    beta, _, inv = wls(Y5[:2], V5[:2] + 0.1, with_intercept(X5[:2]))
    assert res.QM == pytest.approx(beta[1] ** 2 / inv[1, 1], rel=1e-10)


@pytest.mark.parametrize("test", ["z", "t"])
def test_fe_meta_regression_with_as_many_studies_as_coefficients_has_no_r2(test):
    """FE with k = p (the model the REML error message suggests for small k) fits exactly: the
    adjusted R2 has no residual degrees of freedom and is undefined (None, as R's lm gives NaN),
    not a division by zero."""
    res = metareg(Y5[:2], V5[:2], X5[:2], method="FE", test=test)
    assert res.R2 is None and res.k == 2 and res.p == 2
    assert res.beta == pytest.approx([-0.15, 0.25], rel=1e-12)     # the line through both points


def test_t_test_with_one_residual_degree_of_freedom_has_a_p_value():
    """k - p = 1: QM/m is referred to F(1, 1)."""
    res = metareg(Y5[:3], V5[:3], X5[:3], method="FE", test="t")
    assert res.df == 1 and res.QM_df2 == 1
    assert res.QM_p == pytest.approx(stats.f.sf(res.QM, 1, 1), rel=1e-10)


# --- R^2 ------------------------------------------------------------------------------------------

def test_fe_r2_is_the_adjusted_r2_of_the_weighted_regression():
    """FE: R2 = 100 (1 - (1 - RSS/TSS)(k - 1)/(k - p)), truncated at 0, with weighted sums of
    squares around the fitted line and around the weighted mean."""
    _, rss, _ = wls(Y5, V5, with_intercept(X5))
    _, tss, _ = wls(Y5, V5, np.ones((5, 1)))
    adj = 1 - (1 - (1 - rss / tss)) * 4 / 3
    res = metareg(Y5, V5, X5, method="FE")
    assert adj > 0
    assert res.R2 == pytest.approx(100 * adj, rel=1e-10)


def test_fe_r2_of_a_useless_moderator_is_truncated_at_zero():
    """A moderator that explains (almost) nothing has a negative adjusted R2: reported as 0."""
    x = np.array([1.0, -1.0, 0.0, 1.0, -1.0])
    _, rss, _ = wls(Y5, V5, with_intercept(x))
    _, tss, _ = wls(Y5, V5, np.ones((5, 1)))
    assert 1 - (rss / tss) * 4 / 3 < 0
    assert metareg(Y5, V5, x, method="FE").R2 == 0.0


def test_fe_r2_with_identical_outcomes_is_zero():
    """Every study with the same outcome: nothing to explain, R2 = 0 (not 0/0)."""
    res = metareg(np.full(5, 0.3), V5, X5, method="FE")
    assert res.R2 == 0.0


def test_re_r2_is_zero_when_the_intercept_only_model_has_no_heterogeneity():
    """tau2 of the intercept-only model is 0: no heterogeneity to account for, R2 = 0."""
    y = np.array([0.30, 0.32, 0.29, 0.31, 0.30])
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    assert dl_tau2(y, V5, np.ones((5, 1))) == 0.0
    assert metareg(y, V5, x, method="DL").R2 == 0.0


def test_re_r2_is_truncated_at_zero_when_the_moderator_adds_heterogeneity():
    """The residual tau2 can exceed the intercept-only tau2 (here DL, by the textbook formula):
    R2 = max(0, 100 (tau2_0 - tau2)/tau2_0) = 0."""
    x = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 0.0])
    t0, t1 = dl_tau2(YI, VI, np.ones((13, 1))), dl_tau2(YI, VI, with_intercept(x))
    assert t1 > t0 > 0
    res = metareg(YI, VI, x, method="DL")
    assert res.tau2 == pytest.approx(t1, rel=1e-10) and res.R2 == 0.0


def test_re_r2_of_the_bcg_latitude_model_matches_metafor():
    """R2 of the DL meta-regression of the BCG log RR on latitude: metafor 3.8's value."""
    ref = [m for m in FIX["metareg"] if m["dataset"] == "bcg_rr" and m["mods"] == ["ablat"]
           and m["method"] == "DL" and m["test"] == "z"][0]["expected"]
    assert metareg(YI, VI, ABLAT, method="DL").R2 == pytest.approx(ref["R2"], rel=1e-6)


def test_re_r2_compares_with_an_intercept_only_fit_at_the_same_tolerance():
    """The intercept-only model behind R2 is fitted with the same method and tolerance as the
    meta-regression (an identity the code must keep: R2 from the two tau2 at the user's tol)."""
    res = metareg(YI, VI, ABLAT, method="REML", tol=0.1)
    null = fit_model(YI, VI, None, method="REML", tol=0.1)
    assert res.R2 == pytest.approx(100 * (null.tau2 - res.tau2) / null.tau2, rel=1e-12)


def test_r2_is_left_out_with_a_note_when_the_intercept_only_model_fails(monkeypatch):
    """If the intercept-only model cannot be fitted, R2 is None and a note says why."""
    real = metareg_module.fit_model

    def failing_null(yi, vi, X=None, **kwargs):
        if X is None:
            raise PoolingError("no convergence")
        return real(yi, vi, X, **kwargs)

    monkeypatch.setattr(metareg_module, "fit_model", failing_null)
    res = metareg(YI, VI, ABLAT)
    assert res.R2 is None
    assert "R2 not computed: intercept-only model failed (no convergence)" in res.notes


# --- the printed summary --------------------------------------------------------------------------

def _result(**changes):
    values = dict(
        coef_names=["intrcpt", "tumour_size_cm"], beta=[0.251468, -0.029102],
        se=[0.249095, 0.007196], zval=[1.009526, -4.044531], pval=[0.312723, 0.0000524],
        ci_lb=[-0.236751, -0.043204], ci_ub=[0.739686, -0.014999], tau2=0.076348,
        se_tau2=0.059047, tau2_ci_lb=None, tau2_ci_ub=None, I2=68.391225, H2=3.163678,
        R2=75.626622, Q=30.733090, Q_df=11, Q_p=0.001214, QM=16.358232, QM_df=1, QM_df2=None,
        QM_p=0.0000524, k=13, p=2, weights=[], study=[], method="REML", test="z", level=95.0,
        df=None, converged=True, s2w=1.0, loglik=-8.087320,
        notes=["1 studies with missing values omitted: ['x']"])
    values.update(changes)
    return MetaRegResult(**values)


def test_summary_of_a_random_effects_meta_regression():
    """The summary prints tau2, I2, R2, QE, QM and the coefficient table at 4 digits by default
    (p-values to 4 places or '<.0001'); names are cut to 12 characters."""
    expected = "\n".join([
        "Mixed-effects meta-regression (REML; k = 13; test: Wald z)",
        "",
        "tau^2 (estimated amount of residual heterogeneity): 0.0763",
        "I^2 (residual heterogeneity / unaccounted variability): 68.39%",
        "R^2 (amount of heterogeneity accounted for): 75.63%",
        "Test for Residual Heterogeneity: QE(df = 11) = 30.7331, p-val = 0.0012",
        "Test of Moderators: QM(df = 1) = 16.3582, p-val = <.0001",
        "",
        "               estimate         se       zval     pval      ci.lb      ci.ub",
        "     intrcpt     0.2515     0.2491     1.0095   0.3127    -0.2368     0.7397",
        "tumour_size_    -0.0291     0.0072    -4.0445   <.0001    -0.0432    -0.0150",
        "Note: 1 studies with missing values omitted: ['x']",
    ])
    assert _result().summary() == expected


def test_summary_digits_reach_every_estimate():
    """summary(digits=2) prints every estimate with 2 decimals (I2, R2 always 2; p-values 4)."""
    expected = "\n".join([
        "Mixed-effects meta-regression (REML; k = 13; test: Wald z)",
        "",
        "tau^2 (estimated amount of residual heterogeneity): 0.08",
        "I^2 (residual heterogeneity / unaccounted variability): 68.39%",
        "R^2 (amount of heterogeneity accounted for): 75.63%",
        "Test for Residual Heterogeneity: QE(df = 11) = 30.73, p-val = 0.0012",
        "Test of Moderators: QM(df = 1) = 16.36, p-val = <.0001",
        "",
        "               estimate         se       zval     pval      ci.lb      ci.ub",
        "     intrcpt       0.25       0.25       1.01   0.3127      -0.24       0.74",
        "tumour_size_      -0.03       0.01      -4.04   <.0001      -0.04      -0.01",
        "Note: 1 studies with missing values omitted: ['x']",
    ])
    assert _result().summary(digits=2) == expected


def test_summary_of_a_fixed_effects_knapp_hartung_meta_regression():
    """FE: no tau2 line; no I2, R2 or QE lines when they are absent; a t-based test prints the
    test's label, F(df1, df2) for the moderators and 'tval' in the table."""
    res = _result(method="FE", test="knha", I2=None, R2=None, Q=None, QM=5.5, QM_df2=10,
                  QM_p=0.040812, df=10, notes=[], coef_names=["intrcpt", "dose"])
    expected = "\n".join([
        "Mixed-effects meta-regression (FE; k = 13; test: Knapp-Hartung (HKSJ) t)",
        "",
        "Test of Moderators: F(df1 = 1, df2 = 10) = 5.5000, p-val = 0.0408",
        "",
        "               estimate         se       tval     pval      ci.lb      ci.ub",
        "     intrcpt     0.2515     0.2491     1.0095   0.3127    -0.2368     0.7397",
        "        dose    -0.0291     0.0072    -4.0445   <.0001    -0.0432    -0.0150",
    ])
    assert res.summary() == expected
