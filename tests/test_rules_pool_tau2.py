"""Rules of the tau^2 estimators (her2meta.pool.tau2), one rule per test.

Expected values come from two independent sources, never from the module itself:

* hand algebra for equal sampling variances v, where every estimator has a closed form
  (S = sum (y - mean)^2, s^2 = S / (k - 1)): DL = HE = PM = EB = REML = s^2 - v,
  HS = ML = S/k - v, SJ = tau0 S / ((v + tau0)(k - 1)) with tau0 = S/k;
* for a meta-regression design (where the R fixtures cover only DL/ML/REML), metafor's
  formulas written out with dense k x k matrices P = W - W X (X'WX)^-1 X'W, as in rma.uni.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from her2meta.pool import PoolingError
from her2meta.pool.tau2 import (Tau2Fit, canonical_method, estimate_tau2, initial_upper_bound,
                                log_likelihood, root_of_decreasing)

# ---------------------------------------------------------------- equal variances, k = 4 ---
# y = 0, 1, 2, 3 and v = 1/2: S = 5, s^2 = 5/3, S/k = 5/4.
Y4 = np.array([0.0, 1.0, 2.0, 3.0])
V4 = np.full(4, 0.5)
K, V = 4, 0.5
T_MOM = 5 / 3 - 0.5          # 7/6
T_ML = 5 / 4 - 0.5           # 3/4
TAU0 = 5 / 4
T_SJ = TAU0 * 5 / ((V + TAU0) * 3)   # 25/21


def _se_dl(t):
    # P = (I - J/k)/v: tr P = (k-1)/v = 6, tr PP = (k-1)/v^2 = 12
    return math.sqrt((2 * 3 + 4 * t * 6 + 2 * t * t * 12) / 6 ** 2)


def _se_he(t):
    # OLS: P = I - J/k, V = v I: tr(PV) = 3/2, tr(PVPV) = 3/4
    return math.sqrt((2 * 0.75 + 4 * t * 1.5 + 2 * t * t * 3) / 3 ** 2)


def _se_hs(t):
    # sum w = 8, tr P = 6, tr PP = 12
    return math.sqrt(2 * 3 + 4 * t * 6 + 2 * t * t * 12) / 8


def _se_sj(t):
    w = 1 / (V + TAU0)     # P = w (I - J/k): tr(PVPV) = 3 v^2 w^2, tr(PPV) = 3 v w^2, tr PP = 3 w^2
    return TAU0 / 3 * math.sqrt(2 * 3 * V * V * w * w + 4 * t * 3 * V * w * w + 2 * t * t * 3 * w * w)


def _se_pm_eb(t):
    sw = K / (V + t)
    return math.sqrt(2 * K * K / 3 / sw ** 2)


def _se_ml(t):
    return math.sqrt(2 / (K / (V + t) ** 2))


def _se_reml(t):
    return math.sqrt(2 / (3 / (V + t) ** 2))      # tr PP = (k-1) w^2


EQUAL_V = [
    ("DL", T_MOM, _se_dl(T_MOM)),
    ("HE", T_MOM, _se_he(T_MOM)),
    ("PM", T_MOM, _se_pm_eb(T_MOM)),
    ("EB", T_MOM, _se_pm_eb(T_MOM)),
    ("REML", T_MOM, _se_reml(T_MOM)),
    ("HS", T_ML, _se_hs(T_ML)),
    ("ML", T_ML, _se_ml(T_ML)),
    ("SJ", T_SJ, _se_sj(T_SJ)),
]


@pytest.mark.parametrize("method, tau2, se", EQUAL_V, ids=[m for m, _, _ in EQUAL_V])
def test_closed_form_tau2_and_se_with_equal_variances(method, tau2, se):
    """With equal vi every estimator has a closed form: the moment, PM, EB and REML estimators
    give s^2 - v, HS and ML give S/k - v, SJ one step from var(yi); SEs by metafor's formulas."""
    fit = estimate_tau2(method, Y4, V4)
    assert fit.method == method and fit.converged
    assert fit.tau2 == pytest.approx(tau2, rel=1e-10)
    assert fit.se_tau2 == pytest.approx(se, rel=1e-10)


# y = 0, .1, .2, .3 and v = 1/2: S = 0.05, far below what v explains, so tau2 truncates at 0
Y_LOW = np.array([0.0, 0.1, 0.2, 0.3])
TRUNCATED = [
    ("DL", _se_dl(0.0)), ("HE", _se_he(0.0)), ("HS", _se_hs(0.0)), ("PM", _se_pm_eb(0.0)),
    ("EB", _se_pm_eb(0.0)), ("ML", _se_ml(0.0)), ("REML", _se_reml(0.0)),
]


@pytest.mark.parametrize("method, se", TRUNCATED, ids=[m for m, _ in TRUNCATED])
def test_negative_tau2_is_truncated_at_zero_and_se_uses_zero(method, se):
    """An estimate below 0 is reported as exactly 0, and its SE is evaluated at tau2 = 0
    (metafor: max(0, tau2) inside the SE formulas)."""
    fit = estimate_tau2(method, Y_LOW, V4)
    assert fit.tau2 == 0.0 and fit.converged
    assert fit.se_tau2 == pytest.approx(se, rel=1e-10)


def test_moment_estimators_keep_the_untruncated_value_out_of_the_se():
    """DL with S = 0.05: the raw (Q - df)/tr P is negative; the SE uses max(0, raw), so a value
    computed with the raw negative tau2 would differ."""
    raw = (0.05 / V - 3) / 6
    assert raw < 0
    assert _se_dl(raw) != pytest.approx(_se_dl(0.0), rel=1e-6)
    assert estimate_tau2("DL", Y_LOW, V4).se_tau2 == pytest.approx(_se_dl(0.0), rel=1e-12)


def test_sj_is_positive_whenever_the_estimates_differ():
    """SJ = tau0 Q(tau0)/(k - p) with tau0 = var(yi) > 0 is positive even when DL truncates."""
    tau0 = 0.05 / 4
    expected = tau0 * (0.05 / (V + tau0)) / 3
    fit = estimate_tau2("SJ", Y_LOW, V4)
    assert fit.tau2 == pytest.approx(expected, rel=1e-12) and fit.notes == []


def test_sj_with_identical_estimates_is_zero_with_a_note():
    """All yi equal: the SJ starting value var(yi) is 0, so tau2 = 0, SE 0, and a note says why."""
    fit = estimate_tau2("SJ", np.full(3, 0.5), np.array([0.1, 0.2, 0.3]))
    assert (fit.tau2, fit.se_tau2, fit.method, fit.converged) == (0.0, 0.0, "SJ", True)
    assert fit.notes == ["all estimates equal: SJ starting value var(yi) = 0, tau2 set to 0"]


def test_hunter_schmidt_subtracts_k_not_k_minus_p():
    """HS = (Q - k)/sum w (Hunter & Schmidt; metafor), not (Q - (k - 1))/sum w as DL."""
    fit = estimate_tau2("HS", Y4, V4)
    q = 5 / V
    assert fit.tau2 == pytest.approx((q - 4) / 8, rel=1e-12)


# ------------------------------------------------------------ dense metafor formulas, p = 2 ---
YR = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45])
VR = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.004, 0.53])
XR = np.column_stack([np.ones(12), [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33]])


def _p_matrix(w, X):
    W = np.diag(w)
    return W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W


def _dense(method, y, v, X):
    """(tau2, se) as metafor 3.8 rma.uni computes them, with explicit k x k matrices."""
    k, p = X.shape
    Vm = np.diag(v)
    if method == "HE":
        P = np.eye(k) - X @ np.linalg.inv(X.T @ X) @ X.T
        PV = P @ Vm
        raw = (y @ P @ y - np.trace(PV)) / (k - p)
        t = max(raw, 0.0)
        se = math.sqrt((2 * np.sum(PV * PV.T) + 4 * t * np.trace(PV) + 2 * t * t * (k - p)) / (k - p) ** 2)
        return t, se
    if method in ("DL", "HS"):
        w = 1 / v
        P = _p_matrix(w, X)
        q, tr = y @ P @ y, np.trace(P)
        raw = (q - (k - p)) / tr if method == "DL" else (q - k) / w.sum()
        t = max(raw, 0.0)
        inner = 2 * (k - p) + 4 * t * tr + 2 * t * t * np.sum(P * P)
        return t, math.sqrt(inner / tr ** 2) if method == "DL" else math.sqrt(inner) / w.sum()
    if method == "SJ":
        tau0 = np.var(y)
        P = _p_matrix(1 / (v + tau0), X)
        raw = tau0 * (y @ P @ y) / (k - p)
        PV = P @ Vm
        t = max(raw, 0.0)
        se = math.sqrt(tau0 ** 2 / (k - p) ** 2 * (2 * np.sum(PV * PV.T) + 4 * t * np.sum(PV * P)
                                                   + 2 * t * t * np.sum(P * P)))
        return t, se

    def equation(t):
        P = _p_matrix(1 / (v + t), X)
        if method == "PM":
            return y @ P @ y - (k - p)
        if method == "EB":
            return k / (k - p) * (y @ P @ y) - k
        if method == "REML":
            return y @ P @ P @ y - np.trace(P)
        w = 1 / (v + t)
        return y @ P @ P @ y - w.sum()              # ML

    t = optimize.brentq(equation, 0.0, 100.0, xtol=1e-15, rtol=1e-14) if equation(0.0) > 0 else 0.0
    w = 1 / (v + t)
    if method in ("PM", "EB"):
        se = math.sqrt(2 * k * k / (k - p) / w.sum() ** 2)
    elif method == "REML":
        P = _p_matrix(w, X)
        se = math.sqrt(2 / np.sum(P * P))
    else:
        se = math.sqrt(2 / np.sum(w * w))
    return t, se


REG_METHODS = ["DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML"]


@pytest.mark.parametrize("method", REG_METHODS)
def test_meta_regression_tau2_and_se_follow_metafor_formulas(method):
    """With a moderator (p = 2) each estimator uses residuals of the weighted fit on X and
    k - p degrees of freedom, as metafor's rma.uni; the HE, HS, SJ, PM and EB cases have no
    R fixture, so the formulas are written out here with dense matrices."""
    tau2, se = _dense(method, YR, VR, XR)
    assert tau2 > 0                      # the data are heterogeneous: no truncation hides a slip
    fit = estimate_tau2(method, YR, VR, XR)
    assert fit.converged
    assert fit.tau2 == pytest.approx(tau2, rel=1e-9)
    assert fit.se_tau2 == pytest.approx(se, rel=1e-8)


@pytest.mark.parametrize("method", REG_METHODS)
def test_meta_regression_differs_from_intercept_only(method):
    """The design reaches every estimator: tau2 with the moderator is that of the dense formula
    with X, not that of the intercept-only model."""
    with_x = _dense(method, YR, VR, XR)[0]
    without = _dense(method, YR, VR, XR[:, :1])[0]
    assert abs(with_x - without) > 1e-3 * max(with_x, without)
    assert estimate_tau2(method, YR, VR, None).tau2 == pytest.approx(without, rel=1e-9)
    assert estimate_tau2(method, YR, VR, XR[:, :1]).tau2 == pytest.approx(without, rel=1e-9)


# ------------------------------------------------------------------------ method names ---

@pytest.mark.parametrize("name, canonical", [
    ("FE", "FE"), ("ee", "FE"), (" equal ", "FE"), ("ce", "FE"), ("reml", "REML"), (" dl", "DL"),
    ("Hs", "HS"), ("sj", "SJ"), ("pm", "PM"), ("eb", "EB"), ("ml", "ML"), ("he", "HE"),
])
def test_method_names_are_case_and_space_insensitive_with_fixed_effect_aliases(name, canonical):
    """FE, EE, equal and CE all mean the fixed-effect model; names ignore case and spaces."""
    assert canonical_method(name) == canonical


def test_unknown_method_error_names_it_and_lists_the_choices():
    """An unknown estimator name is refused with the name given and every valid choice."""
    with pytest.raises(PoolingError) as err:
        canonical_method("Reml2")
    assert str(err.value) == ("unknown method 'Reml2'; choose FE (alias EE/equal) or one of "
                              "DL, HE, HS, SJ, PM, EB, ML, REML")


@pytest.mark.parametrize("alias", ["FE", "ee", "Equal", "CE"])
def test_fixed_effect_has_tau2_zero_without_estimation(alias):
    """The fixed-effect model has tau2 = 0 by definition, whatever the data (even k = 1)."""
    fit = estimate_tau2(alias, np.array([0.3]), np.array([0.0]))
    assert (fit.tau2, fit.method, fit.converged, fit.iterations, fit.se_tau2, fit.notes) == \
        (0.0, "FE", True, 0, None, [])


def test_tau2_fit_defaults():
    """A Tau2Fit says converged, no iterations, no SE and no notes unless told otherwise."""
    fit = Tau2Fit(0.2, "DL")
    assert (fit.converged, fit.iterations, fit.se_tau2, fit.notes) == (True, 0, None, [])
    assert Tau2Fit(0.1, "DL").notes is not Tau2Fit(0.1, "DL").notes


# ------------------------------------------------------------------------- refusals ---

@pytest.mark.parametrize("method", REG_METHODS)
def test_random_effects_need_more_studies_than_coefficients(method):
    """k <= p leaves no degree of freedom for tau2: refused, with k, p and the way out."""
    with pytest.raises(PoolingError) as err:
        estimate_tau2(method, YR[:2], VR[:2], XR[:2])
    assert str(err.value) == (f"{method} needs more studies than coefficients (k = 2, p = 2); "
                              "use method='FE' or fix tau2")
    estimate_tau2(method, YR[:3], VR[:3] + 0.1, XR[:3])       # k = p + 1 is allowed


@pytest.mark.parametrize("method", ["DL", "HS", "PM"])
def test_estimators_dividing_by_vi_refuse_a_zero_variance(method):
    """DL, HS and PM weight by 1/vi: a study with vi = 0 is refused, naming the alternatives."""
    vi = np.array([0.1, 0.0, 0.2, 0.3])
    with pytest.raises(PoolingError) as err:
        estimate_tau2(method, Y4, vi)
    assert str(err.value) == (f"the {method} estimator divides by vi and cannot be used with a "
                              "study whose sampling variance is 0; use REML, ML, EB, HE or SJ")


@pytest.mark.parametrize("method", ["HE", "SJ", "REML", "ML", "EB"])
def test_other_estimators_accept_a_zero_variance_when_tau2_is_positive(method):
    """HE, SJ, REML, ML and EB never divide by vi alone: vi = 0 is fine when tau2 > 0."""
    vi = np.array([0.1, 0.0, 0.2, 0.3])
    fit = estimate_tau2(method, Y4, vi)
    assert fit.tau2 > 0 and math.isfinite(fit.se_tau2)


def test_zero_variance_with_tau2_zero_is_an_infinite_weight_error():
    """A study with vi = 0 at tau2 = 0 would get infinite weight: refused with the remedies."""
    with pytest.raises(PoolingError) as err:
        log_likelihood(0.0, Y4, np.array([0.1, 0.0, 0.2, 0.3]), None, reml=False)
    assert str(err.value) == ("a study with vi = 0 gets infinite weight when tau2 = 0; "
                              "remove it, give it a positive variance, or fix tau2 > 0")


# ----------------------------------------------------------------- convergence, fallback ---

@pytest.mark.parametrize("method, target", [("REML", T_MOM), ("ML", T_ML), ("EB", T_MOM)])
def test_iterations_are_counted_and_bounded_by_maxiter(method, target):
    """Fisher scoring stops at convergence and reports how many steps it took (>= 1, <= maxiter)."""
    fit = estimate_tau2(method, Y4, V4)
    assert 1 <= fit.iterations <= 100 and fit.notes == []
    assert fit.tau2 == pytest.approx(target, rel=1e-12)


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_cut_short_scoring_falls_back_to_brent_and_says_so(method):
    """maxiter = 1 from a start that is not the root: the estimating equation is solved by
    Brent's method instead, the result is the same root, and a note says what happened."""
    full = estimate_tau2(method, YR, VR)
    short = estimate_tau2(method, YR, VR, maxiter=1)
    assert full.notes == [] and full.iterations > 1
    assert short.converged and short.iterations == 1
    assert short.tau2 == pytest.approx(full.tau2, rel=1e-9)
    assert short.notes == ["Fisher scoring did not converge in 1 iterations; solved the "
                           "estimating equation by Brent's method instead"]


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_default_tolerance_solves_the_estimating_equation_to_machine_precision(method):
    """Convergence is declared at a change below 1e-12 (tau2 + mean vi): the estimate solves the
    estimating equation far more tightly than metafor's absolute 1e-5."""
    tau2 = _dense(method, YR, VR, XR[:, :1])[0]
    fit = estimate_tau2(method, YR, VR)
    assert abs(fit.tau2 - tau2) <= 1e-11 * (tau2 + VR.mean())


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_loose_tolerance_stops_early(method):
    """A loose tol stops Fisher scoring after fewer steps (the tolerance reaches the loop)."""
    tight = estimate_tau2(method, YR, VR)
    loose = estimate_tau2(method, YR, VR, tol=0.5)
    assert loose.iterations < tight.iterations and loose.converged
    assert loose.tau2 == pytest.approx(tight.tau2, rel=0.5)


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_iterative_estimate_at_the_boundary_is_zero_at_once(method):
    """When the estimating function is <= 0 at tau2 = 0 the estimate is 0 (boundary maximum)
    after the first step, converged, without a fallback note."""
    fit = estimate_tau2(method, Y_LOW, V4)
    assert (fit.tau2, fit.converged, fit.iterations, fit.notes) == (0.0, True, 1, [])


# ------------------------------------------------------------- likelihood, root finding ---

def test_log_likelihood_ml_closed_form():
    """ML log-likelihood: -1/2 (k log 2 pi + sum log(v + t) + sum (y - mu)^2/(v + t))."""
    t = 0.25
    expected = -0.5 * (4 * math.log(2 * math.pi) + 4 * math.log(V + t) + 5 / (V + t))
    assert log_likelihood(t, Y4, V4, None, reml=False) == pytest.approx(expected, rel=1e-13)


def test_log_likelihood_reml_closed_form():
    """REML log-likelihood (metafor, REMLf = TRUE): -1/2 ((k - p) log 2 pi + sum log(v + t)
    + log |X'WX| + RSS) + 1/2 log |X'X|, with X = 1: |X'WX| = k/(v + t), |X'X| = k."""
    t = 0.25
    expected = -0.5 * (3 * math.log(2 * math.pi) + 4 * math.log(V + t) + math.log(4 / (V + t))
                       + 5 / (V + t)) + 0.5 * math.log(4)
    assert log_likelihood(t, Y4, V4, None, reml=True) == pytest.approx(expected, rel=1e-13)
    # the same with an explicit intercept column (log|X'X| from the matrix)
    assert log_likelihood(t, Y4, V4, np.ones((4, 1)), reml=True) == pytest.approx(expected, rel=1e-13)


def test_log_likelihood_reml_with_a_moderator_uses_both_determinants():
    """With X = [1, x] the REML constants are log|X'WX| and log|X'X| of the 2 x 2 matrices."""
    t = 0.1
    w = 1 / (VR + t)
    X = XR
    b = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * YR))
    rss = float(np.sum(w * (YR - X @ b) ** 2))
    expected = -0.5 * (10 * math.log(2 * math.pi) + np.sum(np.log(VR + t))
                       + np.linalg.slogdet(X.T @ (X * w[:, None]))[1] + rss) \
        + 0.5 * np.linalg.slogdet(X.T @ X)[1]
    assert log_likelihood(t, YR, VR, X, reml=True) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("yi, bound", [
    ([0.0, 1.0, 2.0], 100.0),                               # 10 mad^2 = 21.98: floor 100
    ([0.0, 10.0, 20.0], 10 * (1.4826 * 10) ** 2),           # mad = 1.4826 * 10
    ([0.0, 3.0, 10.0, 30.0], 10 * (1.4826 * 5.0) ** 2),     # median 6.5, |dev| 3.5 3.5 6.5 23.5
])
def test_upper_bound_is_metafor_tau2_max(yi, bound):
    """The search starts below max(100, 10 mad(yi)^2), with R's mad constant 1.4826."""
    assert initial_upper_bound(np.array(yi)) == pytest.approx(bound, rel=1e-14)


def test_root_of_decreasing_returns_zero_when_nonpositive_at_zero():
    """A function already <= 0 at tau2 = 0 has its root truncated at 0 (f(0) = 0 included)."""
    notes: list[str] = []
    assert root_of_decreasing(lambda t: -1.0 - t, start_upper=1.0, notes=notes) == 0.0
    assert root_of_decreasing(lambda t: -t, start_upper=1.0, notes=notes) == 0.0
    assert notes == []


def test_root_of_decreasing_doubles_the_upper_end_until_bracketed():
    """The root beyond the starting upper end is found by doubling it, to full precision."""
    notes: list[str] = []
    root = root_of_decreasing(lambda t: 1000.0 - t, start_upper=1.0, notes=notes)
    assert root == pytest.approx(1000.0, rel=1e-14) and notes == []
    calls = []
    root_of_decreasing(lambda t: calls.append(t) or 5.0 - t, start_upper=1.0, notes=notes)
    assert calls[:5] == [0.0, 1.0, 2.0, 4.0, 8.0]


def test_root_of_decreasing_at_the_upper_end_is_bracketed():
    """f(upper) = 0 is not below 0: the end is doubled once more, then Brent finds the root."""
    notes: list[str] = []
    calls = []
    root = root_of_decreasing(lambda t: calls.append(t) or 2.0 - t, start_upper=2.0, notes=notes)
    assert calls[:3] == [0.0, 2.0, 4.0]
    assert root == pytest.approx(2.0, rel=1e-14)


def test_root_not_bracketed_returns_the_last_upper_end_with_a_note():
    """A function positive everywhere: after max_doublings the last upper end is returned and
    a note says the root was not bracketed (the iterative estimators then report not converged)."""
    notes: list[str] = []
    out = root_of_decreasing(lambda t: 1.0, start_upper=1.0, notes=notes, max_doublings=3)
    assert out == 8.0
    assert notes == ["root not bracketed below 8; returning the upper end"]
    notes = []
    assert root_of_decreasing(lambda t: 1.0, start_upper=1.0, notes=notes) == 2.0 ** 60
    assert notes == [f"root not bracketed below {2.0 ** 60:g}; returning the upper end"]


def test_root_precision_is_full_double():
    """Brent's method runs with xtol 1e-15 and rtol 4e-15: the root is exact to ~1e-14."""
    notes: list[str] = []
    root = root_of_decreasing(lambda t: math.sqrt(2.0) - t, start_upper=100.0, notes=notes)
    assert abs(root - math.sqrt(2.0)) <= 1e-14


# ------------------------------------------------------------- the Fisher-scoring path ---

@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_newton_steps_near_the_root_converge_in_few_iterations(method):
    """Fisher scoring converges only linearly; the switch to Newton steps near the root makes it
    quadratic, so even with a moderator and tol = 1e-12 a dozen iterations suffice (pure Fisher
    scoring needs about 20-25 on these data)."""
    fit = estimate_tau2(method, YR, VR, XR)
    assert fit.converged and fit.notes == []
    assert fit.iterations <= 12


# equal variances with a moderator: HE with the design is the residual variance minus v,
# which is also the REML and EB root (see the module docstring of this file)
XE = np.column_stack([np.ones(5), [0.0, 1.0, 2.0, 3.0, 4.0]])
YE = np.array([0.1, 1.3, 0.2, 2.9, 1.0])


@pytest.mark.parametrize("method", ["REML", "EB"])
def test_scoring_starts_at_hedges_of_the_same_design(method):
    """Fisher scoring starts at max(0, HE) computed with the moderators (metafor's start): with
    equal vi that start is already the REML/EB root, so the first step confirms it."""
    tau2, _ = _dense(method, YE, np.full(5, 0.2), XE)
    fit = estimate_tau2(method, YE, np.full(5, 0.2), XE)
    assert fit.iterations == 1
    assert fit.tau2 == pytest.approx(tau2, rel=1e-12)


def test_ml_overshooting_below_zero_with_negative_score_at_zero_is_zero_at_once():
    """ML from the HE start 0.39: the Fisher step would go below 0 and the ML score at 0 is
    negative, so the maximum is on the boundary: tau2 = 0 exactly, after one iteration."""
    y, v = np.array([-0.8, 0.7, 1.8]), np.array([0.85, 1.16, 1.93])
    assert _dense("ML", y, v, np.ones((3, 1)))[0] == 0.0
    fit = estimate_tau2("ML", y, v)
    assert (fit.tau2, fit.converged, fit.iterations, fit.notes) == (0.0, True, 1, [])


def test_ml_overshooting_below_zero_with_positive_score_at_zero_halves_the_step():
    """ML from the HE start 0.0525: the Fisher step would go below 0 but the score at 0 is
    positive, so the root is interior: the step is halved (metafor) and scoring goes on to the
    root of y'PPy = sum w, without falling back to Brent."""
    y, v = np.array([0.4, 0.1, 1.3, -1.5]), np.array([1.05, 1.74, 1.48, 0.97])
    tau2 = _dense("ML", y, v, np.ones((4, 1)))[0]
    assert 0 < tau2 < 0.01
    fit = estimate_tau2("ML", y, v)
    assert fit.converged and fit.notes == [] and fit.iterations <= 12
    assert fit.tau2 == pytest.approx(tau2, rel=1e-9)


def test_pm_root_beyond_every_doubling_is_reported():
    """One study 1e15 away from the others: Q(tau2) stays above k - 1 even at 100 * 2^60, the
    PM root is not bracketed and the note says so (rather than a silent number)."""
    fit = estimate_tau2("PM", np.array([0.0, 0.0, 0.0, 0.0, 1e15]), np.ones(5))
    assert fit.tau2 == 100 * 2.0 ** 60
    assert fit.notes == [f"root not bracketed below {100 * 2.0 ** 60:g}; returning the upper end"]


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_maxiter_zero_goes_straight_to_brent(method):
    """maxiter = 0: no Fisher step is taken (0 iterations reported) and the estimating equation
    is solved by Brent's method, giving the same root."""
    fit = estimate_tau2(method, YR, VR, maxiter=0)
    assert fit.iterations == 0 and fit.converged
    assert fit.notes == ["Fisher scoring did not converge in 0 iterations; solved the "
                         "estimating equation by Brent's method instead"]
    assert fit.tau2 == pytest.approx(_dense(method, YR, VR, XR[:, :1])[0], rel=1e-9)


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_small_information_is_not_a_breakdown(method):
    """Large sampling variances make the Fisher information (tr PP, sum w^2, sum w) far below 1;
    that is not a numerical breakdown: scoring proceeds without a fallback note."""
    v = VR * 100 + 5.0
    y = YR * 10
    fit = estimate_tau2(method, y, v)
    assert fit.notes == [] and fit.converged
    assert fit.tau2 == pytest.approx(_dense(method, y, v, XR[:, :1])[0], rel=1e-9)


@pytest.mark.parametrize("y, v, at_zero", [
    ([-0.2, -1.0, 1.7, 0.8], [0.55, 1.26, 0.8, 0.92], True),
    ([-0.4, -0.3, -1.4, 0.1, -3.3], [1.92, 1.67, 1.56, 0.83, 1.77], False),
])
def test_boundary_check_uses_the_score_of_the_same_design(y, v, at_zero):
    """With a moderator, whether an overshooting ML step ends at the boundary is decided by the
    ML score at tau2 = 0 of the meta-regression (not of the intercept-only model): here the two
    disagree, and the estimate is the dense ML root of the design (0 for the first data)."""
    y, v = np.array(y), np.array(v)
    X = np.column_stack([np.ones(y.size), np.arange(y.size, dtype=float)])
    tau2 = _dense("ML", y, v, X)[0]
    assert (tau2 == 0.0) == at_zero
    fit = estimate_tau2("ML", y, v, X)
    assert fit.converged and fit.notes == []
    if at_zero:
        assert (fit.tau2, fit.iterations) == (0.0, 1)
    else:
        assert fit.tau2 == pytest.approx(tau2, rel=1e-9)


@pytest.mark.parametrize("method", ["REML", "EB"])
def test_reml_and_eb_overshooting_below_zero_end_at_zero_at_once(method):
    """REML and EB from the HE start 0.1225: the Fisher step would go below 0 and their score
    at tau2 = 0 is negative, so the estimate is 0 (boundary) after one iteration."""
    y, v = np.array([1.8, -0.3, -1.2, -0.1]), np.array([2.0, 1.91, 1.34, 0.62])
    assert _dense(method, y, v, np.ones((4, 1)))[0] == 0.0
    fit = estimate_tau2(method, y, v)
    assert (fit.tau2, fit.converged, fit.iterations, fit.notes) == (0.0, True, 1, [])


def test_fallback_that_cannot_bracket_the_root_is_not_converged():
    """ML cut short (maxiter = 1) with one study 1e15 away: the fallback cannot bracket the
    root below 100 * 2^60, so the estimate is the upper end, reported as not converged, with
    both notes."""
    fit = estimate_tau2("ML", np.array([0.0, 0.0, 0.0, 0.0, 1e15]), np.arange(1.0, 6.0), maxiter=1)
    assert fit.converged is False and fit.tau2 == 100 * 2.0 ** 60
    assert fit.notes == ["Fisher scoring did not converge in 1 iterations; solved the estimating "
                         "equation by Brent's method instead",
                         f"root not bracketed below {100 * 2.0 ** 60:g}; returning the upper end"]


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_fallback_solves_the_estimating_equation_of_the_design(method):
    """The Brent fallback solves the estimating equation of the meta-regression (with X), not
    that of the intercept-only model."""
    fit = estimate_tau2(method, YR, VR, XR, maxiter=1)
    assert fit.converged and len(fit.notes) == 1
    assert fit.tau2 == pytest.approx(_dense(method, YR, VR, XR)[0], rel=1e-9)
