"""Rules of leave-one-out and the case-deletion influence diagnostics (her2meta.pool.influence)
that the mutation run of issue 18 found untested.

Expected values: metafor's flagging rules (influence.rma.uni: |DFFITS| > 3 sqrt(p/(k-p)),
Cook's distance > qchisq(0.5, p) = 0.454936423119572, hat > 3p/k, |DFBETAS| > 1) applied to the
diagnostics, whose values are checked against metafor 3.8 in test_pool_reference_diagnostics.py;
refits compared with fitting the k - 1 studies directly; hand arithmetic in the comments; and text
layouts written out by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from her2meta.pool import PoolingError, influence, leave_one_out, rma
from her2meta.pool.influence import InfluenceResult, LeaveOneOutResult, _ratio, refit_without

FIX = json.loads((Path(__file__).parent / "reference" / "metafor" / "metafor_fixtures.json").read_text())
BCG = FIX["datasets"]["bcg_rr"]
YI, VI, STUDY = np.array(BCG["yi"]), np.array(BCG["vi"]), list(BCG["study"])
COOK_CUT = 0.454936423119572  # qchisq(0.5, 1)

# Dropping 'hi' leaves 'zero' (vi = 0) and 'near', which agree: tau2 = 0 and the vi = 0 study
# would get infinite weight, so that refit fails; the other two refits work.
FAIL = dict(yi=[5.0, 0.0, 0.001], vi=[0.01, 0.0, 0.01], study=["hi", "zero", "near"])
FAIL_MSG = ("a study with vi = 0 gets infinite weight when tau2 = 0; remove it, give it a positive "
            "variance, or fix tau2 > 0")


# ------------------------------------------------------------------------ refit_without ---

def test_refit_without_keeps_labels_method_test_level_and_prediction_interval():
    """The refit without study i is the same model fitted to the other k - 1 studies: labels,
    estimator, test, level and prediction-interval distribution carry over."""
    res = rma(YI, VI, study=STUDY, method="DL", test="knha", level=90, pi_dist="norm")
    sub = refit_without(res, 0)
    direct = rma(YI[1:], VI[1:], study=STUDY[1:], method="DL", test="knha", level=90, pi_dist="norm")
    assert sub.study == STUDY[1:]
    assert (sub.method, sub.test, sub.level, sub.pi_dist) == ("DL", "knha", 90.0, "norm")
    for name in ("estimate", "ci_lb", "pi_lb", "tau2_ci_lb", "tau2_ci_ub"):
        assert getattr(sub, name) == pytest.approx(getattr(direct, name), rel=1e-12), name


def test_refit_without_keeps_a_fixed_tau2():
    """A fit with tau2 fixed by the user is refitted with the same tau2, not a new estimate."""
    res = rma(YI, VI, tau2=0.05)
    sub = refit_without(res, 2)
    assert sub.tau2 == 0.05 and sub.tau2_fixed
    assert sub.estimate == pytest.approx(rma(np.delete(YI, 2), np.delete(VI, 2), tau2=0.05).estimate,
                                         rel=1e-12)


def test_refits_have_a_tau2_interval_unless_asked_not_to():
    """refit_without and leave_one_out compute the Q-profile tau2 interval by default
    (tau2_ci=True) and skip it with tau2_ci=False."""
    res = rma(YI, VI)
    assert refit_without(res, 0).tau2_ci_lb is not None
    assert refit_without(res, 0, tau2_ci=False).tau2_ci_lb is None
    assert all(r.tau2_ci_ub is not None for r in leave_one_out(res).refits)
    assert all(r.tau2_ci_ub is None for r in leave_one_out(res, tau2_ci=False).refits)


# ------------------------------------------------------------------------ leave_one_out ---

def test_leave_one_out_needs_two_studies():
    with pytest.raises(PoolingError, match=r"^leave-one-out needs at least 2 studies$"):
        leave_one_out(rma([0.1], [0.01]))


def test_a_failed_refit_is_reported_and_the_others_kept():
    """A refit that cannot be computed is None with its error message; columns show None there and
    the table, refits and errors all reach to_dict."""
    l1o = leave_one_out(rma(**FAIL))
    assert l1o.refits[0] is None and l1o.refits[1] is not None and l1o.refits[2] is not None
    assert l1o.errors == [FAIL_MSG, None, None]
    est = l1o.column("estimate")
    # without 'zero': two studies of equal variance, so the plain mean (5 + 0.001)/2
    assert est[0] is None and est[1] == pytest.approx(2.5005, rel=1e-12) and est[2] is not None
    d = l1o.to_dict()
    assert set(d) == {"study", "table", "refits", "errors"}
    assert d["study"] == ["hi", "zero", "near"]
    assert d["errors"] == [FAIL_MSG, None, None]
    assert d["refits"][0] is None and d["refits"][1]["k"] == 2
    assert d["table"]["estimate"][0] is None
    assert set(d["table"]) == {"estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Q_p", "tau2",
                               "I2", "H2", "pi_lb", "pi_ub"}


def l1o_text_case():
    ok = SimpleNamespace(estimate=-0.714, se=0.178, ci_lb=-1.0629, ci_ub=-0.3651, Q=151.2,
                         tau2=0.3132, I2=92.2222)
    return LeaveOneOutResult(["a-very-long-study-name", "second-long-study-name"], [None, ok],
                             ["it failed", None])


def test_leave_one_out_summary_text():
    """The leave-one-out table (pool CLI): names cut to 16 characters, a failed refit says why
    and the rows after it still print; I2 with 2 decimals, the rest with the digits asked for."""
    header = ("         omitted   estimate        se      ci.lb      ci.ub          Q      tau2"
              "      I2")
    assert l1o_text_case().summary().split("\n") == [
        "Leave-one-out analysis", "", header,
        "a-very-long-stud failed: it failed",
        "second-long-stud    -0.7140    0.1780    -1.0629    -0.3651   151.2000    0.3132   92.22"]
    assert l1o_text_case().summary(2).split("\n")[4] == (
        "second-long-stud      -0.71      0.18      -1.06      -0.37     151.20      0.31   92.22")


# ---------------------------------------------------------------------------- influence ---

def test_influence_needs_two_studies():
    with pytest.raises(PoolingError, match=r"^influence diagnostics need at least 2 studies$"):
        influence(rma([0.1], [0.01]))


def test_a_failed_refit_leaves_that_study_blank_and_the_others_computed():
    """Without 'hi' the refit fails: its diagnostics are None, a note names it, and the studies
    after it still get theirs."""
    inf = influence(rma(**FAIL))
    assert inf.notes == [f"refit without hi failed: {FAIL_MSG}"]
    assert inf.rstudent[0] is None and inf.dffits[0] is None and inf.tau2_del[0] is None
    assert all(v is not None for v in inf.rstudent[1:] + inf.cook_d[1:] + inf.tau2_del[1:])


def expected_flags(inf):
    k = len(inf.study)
    return [(d is not None and abs(d) > 3 / math.sqrt(k - 1)) or (c is not None and c > COOK_CUT)
            or h > 3 / k or (b is not None and abs(b) > 1)
            for d, c, h, b in zip(inf.dffits, inf.cook_d, inf.hat, inf.dfbetas)]


# (method, test, yi, vi, study i, which single rule flags it)
ONE_RULE = {
    # |DFFITS| = 1.32, between 3/sqrt(6) = 1.22 and 4/sqrt(6) = 1.63; nothing else flags study 4
    "dffits": ("REML", "z", [0.27, -0.89, 0.17, -0.19, 0.85, 0.33, 0.14],
               [0.31, 0.38, 0.3, 0.35, 0.02, 0.04, 0.33], 4),
    # Cook's distance 0.79 > 0.455 while DFFITS, hat and DFBETAS stay below their cut-offs
    "cook": ("REML", "z", [0.41, -0.1, -0.08, 0.34, -0.44], [0.21, 0.27, 0.12, 0.07, 0.32], 3),
    # |DFBETAS| = 1.20 (between 1 and 2) is the only rule met by study 2
    "dfbetas": ("DL", "knha", [-0.12, -0.21, 0.93, -0.48, -0.09, -0.39, -0.07, -0.03],
                [0.07, 0.32, 0.18, 0.39, 0.02, 0.05, 0.26, 0.12], 2),
}


@pytest.mark.parametrize("rule", sorted(ONE_RULE))
def test_one_rule_is_enough_to_flag_a_study(rule):
    """A study is influential when any one of metafor's four rules holds."""
    method, test, yi, vi, i = ONE_RULE[rule]
    inf = influence(rma(yi, vi, method=method, test=test))
    k = len(yi)
    met = {"dffits": abs(inf.dffits[i]) > 3 / math.sqrt(k - 1), "cook": inf.cook_d[i] > COOK_CUT,
           "hat": inf.hat[i] > 3 / k, "dfbetas": abs(inf.dfbetas[i]) > 1}
    assert [name for name, hit in met.items() if hit] == [rule]
    if rule == "dffits":
        assert abs(inf.dffits[i]) < 4 / math.sqrt(k - 1)
    if rule == "dfbetas":
        assert abs(inf.dfbetas[i]) < 2
    assert inf.is_influential[i] is True
    assert inf.is_influential == expected_flags(inf)


def test_dffits_cut_off_uses_k_minus_p():
    """Study 1 has |DFFITS| = 1.048: above 3/sqrt(k+1) = 1.0 but below 3/sqrt(k-p) = 1.134
    (k = 8), and meets no other rule: not influential."""
    yi = [0.06, -0.56, 1.2, 0.32, 0.27, 0.06, 0.09, 0.05]
    vi = [0.2, 0.04, 0.21, 0.25, 0.22, 0.03, 0.3, 0.21]
    inf = influence(rma(yi, vi, test="knha"))
    assert 3 / math.sqrt(9) < abs(inf.dffits[1]) < 3 / math.sqrt(7)
    assert inf.is_influential[1] is False
    assert inf.is_influential == expected_flags(inf)


def test_hat_exactly_3p_over_k_is_not_influential():
    """The hat rule is strict: with k = 6, w = 10 against five of 2, hat = 10/20 = 0.5 = 3/6 exactly;
    all effects equal, so no other rule fires: nobody is flagged."""
    inf = influence(rma([0.3] * 6, [0.1] + [0.5] * 5, method="FE"))
    assert inf.hat[0] == 0.5
    assert inf.is_influential == [False] * 6


def test_residuals_below_100_machine_epsilon_are_zero():
    """As metafor, |y_i - b(-i)| < 100 eps counts as 0: identical studies have rstudent 0 exactly;
    a residual of exactly 100 eps (1 + 100 eps against two studies at 1) is kept:
    rstudent = 100 eps / sqrt(v + v/2) with v = 1/4."""
    assert influence(rma([0.7] * 4, [0.1, 0.2, 0.3, 0.4])).rstudent == [0.0] * 4
    eps100 = 100 * np.finfo(float).eps
    inf = influence(rma([1.0, 1.0, 1.0 + eps100], [0.25] * 3, method="FE"))
    assert inf.rstudent[:2] == [0.0, 0.0]
    assert inf.rstudent[2] == pytest.approx(eps100 / math.sqrt(0.25 + 0.125), rel=1e-12, abs=0)


@pytest.mark.parametrize("num, den, expected", [
    (0.0, 0.0, 0.0), (2.0, 0.0, None), (-2.0, 0.0, None), (0.0, math.inf, 0.0), (3.0, math.inf, None),
    (3.0, math.nan, None), (3.0, 1.0, 3.0), (1.0, 4.0, 0.25), (0.0, 2.0, 0.0)])
def test_a_diagnostic_with_zero_or_infinite_denominator_is_na_unless_its_numerator_is_0(num, den, expected):
    assert _ratio(num, den) == expected


def influence_text_case():
    return InfluenceResult(["a-very-long-study-name", "s2"], [1.234567, None], [0.5, None],
                           [0.25, None], [1.1, None], [0.01, None], [3.3, None], [0.6, 0.4],
                           [60.0, 40.0], [0.5, None], [True, False], ["a note"])


def test_influence_summary_text():
    """The influence table (pool CLI): metafor's column names, names cut to 16 characters, NA for a
    failed refit, weight in percent with 2 decimals, '*' for influential studies, then notes."""
    header = ("           study  rstudent    dffits    cook.d     cov.r  tau2.del    QE.del     hat"
              "  weight     dfbs inf")
    assert influence_text_case().summary().split("\n") == [
        "Influence diagnostics", "", header,
        "a-very-long-stud    1.2346    0.5000    0.2500    1.1000    0.0100    3.3000  0.6000   60.00"
        "   0.5000 *",
        "              s2        NA        NA        NA        NA        NA        NA  0.4000   40.00"
        "       NA ",
        "Note: a note"]
    assert influence_text_case().summary(3).split("\n")[3] == (
        "a-very-long-stud     1.235     0.500     0.250     1.100     0.010     3.300   0.600   60.00"
        "    0.500 *")
