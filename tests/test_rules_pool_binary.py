"""Rules of the 2x2-table estimators (her2meta.pool.binary), one rule per test.

Tables are (a, b | c, d): a events / b non-events treated, c events / d non-events control.
Expected values are worked out by hand from the published formulas (Mantel-Haenszel 1959,
Robins-Breslow-Greenland 1986, Greenland-Robins 1985, Sato-Greenland-Robins 1989, Yusuf et al.
1985 for Peto), written out below with the small integer tables used.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from her2meta.pool import PoolingError, PoolingInputError
from her2meta.pool.binary import (EffectSizes, breslow_day_test, cmh_test, escalc_2x2,
                                  mantel_haenszel, peto)

Z975 = stats.norm.isf(0.025)


# ------------------------------------------------------------------------ escalc ---

def test_odds_ratio_and_its_variance_per_study():
    """log OR = log(ad/bc), var = 1/a + 1/b + 1/c + 1/d (Woolf)."""
    es = escalc_2x2([10, 4], [20, 16], [5, 8], [25, 12], "OR")
    assert es.yi.tolist() == pytest.approx([math.log(250 / 100), math.log(48 / 128)], rel=1e-14)
    assert es.vi.tolist() == pytest.approx([1 / 10 + 1 / 20 + 1 / 5 + 1 / 25,
                                            1 / 4 + 1 / 16 + 1 / 8 + 1 / 12], rel=1e-14)
    assert es.measure == "OR" and not es.corrected.any() and not es.dropped.any()
    assert es.records == []


def test_risk_ratio_and_its_variance_per_study():
    """log RR = log((a/n1)/(c/n2)), var = 1/a - 1/n1 + 1/c - 1/n2."""
    es = escalc_2x2([10], [20], [5], [25], "rr")
    assert es.measure == "RR"
    assert es.yi[0] == pytest.approx(math.log((10 / 30) / (5 / 30)), rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 10 - 1 / 30 + 1 / 5 - 1 / 30, rel=1e-14)


def test_risk_difference_and_its_variance_per_study():
    """RD = p1 - p2, var = p1(1 - p1)/n1 + p2(1 - p2)/n2."""
    es = escalc_2x2([10], [30], [5], [15], "RD")
    p1, p2 = 10 / 40, 5 / 20
    assert es.yi[0] == pytest.approx(p1 - p2, abs=1e-15)
    assert es.vi[0] == pytest.approx(p1 * (1 - p1) / 40 + p2 * (1 - p2) / 20, rel=1e-14)


@pytest.mark.parametrize("cell", range(4))
def test_a_zero_in_any_cell_gets_the_correction_in_every_cell(cell):
    """to='only0' (default): a zero in a, b, c or d adds 0.5 to all four cells of that study only."""
    counts = [[3, 4], [7, 6], [2, 4], [8, 6]]
    counts[cell][0] = 0
    es = escalc_2x2(*counts, "OR", study=["s1", "s2"])
    a, b, c, d = (x[0] + 0.5 for x in counts)
    assert es.yi[0] == pytest.approx(math.log(a * d / (b * c)), rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / a + 1 / b + 1 / c + 1 / d, rel=1e-14)
    assert es.yi[1] == pytest.approx(math.log(4 * 6 / (6 * 4)), abs=1e-15)   # untouched
    assert es.corrected.tolist() == [True, False]
    assert es.records == [{"study": "s1", "action": "added 0.5 to each cell", "reason": "zero cell"}]


def test_correction_to_all_studies():
    """to='all': every (kept) study gets the increment, the reason says it was asked for."""
    es = escalc_2x2([0, 3], [10, 7], [2, 4], [8, 6], "OR", to="all", add=1.0, study=["x", "y"])
    assert es.corrected.tolist() == [True, True]
    assert es.yi[1] == pytest.approx(math.log(4 * 7 / (8 * 5)), rel=1e-14)
    assert es.records == [
        {"study": "x", "action": "added 1 to each cell", "reason": "zero cell"},
        {"study": "y", "action": "added 1 to each cell", "reason": "to='all'"},
    ]


def test_correction_if0all():
    """to='if0all': all studies are corrected if any has a zero cell, none otherwise."""
    some = escalc_2x2([0, 3], [10, 7], [2, 4], [8, 6], "OR", to="if0all", study=["x", "y"])
    assert some.corrected.tolist() == [True, True]
    assert some.records[1] == {"study": "y", "action": "added 0.5 to each cell",
                               "reason": "to='if0all'"}
    none = escalc_2x2([1, 3], [10, 7], [2, 4], [8, 6], "OR", to="if0all")
    assert none.corrected.tolist() == [False, False] and none.records == []
    assert none.yi[0] == pytest.approx(math.log(8 / 20), rel=1e-14)


def test_no_correction_leaves_zero_cell_studies_not_estimable():
    """to='none': a zero cell makes log OR infinite, so the study is dropped with a reason."""
    es = escalc_2x2([0, 3], [10, 7], [2, 4], [8, 6], "OR", to="none", study=["x", "y"])
    assert np.isnan(es.yi[0]) and np.isnan(es.vi[0]) and np.isfinite(es.yi[1])
    assert es.dropped.tolist() == [True, False] and es.corrected.tolist() == [False, False]
    assert es.included.tolist() == [False, True]
    assert es.records == [{"study": "x", "action": "dropped",
                           "reason": "OR not estimable (zero cell without correction)"}]


@pytest.mark.parametrize("measure", ["OR", "RR"])
def test_double_zero_studies_are_dropped_for_ratio_measures(measure):
    """No events in both groups (a = c = 0) or no non-events in both (b = d = 0): the study
    carries no information on a ratio and is dropped by default, not corrected."""
    es = escalc_2x2([0, 5, 3], [10, 0, 7], [0, 4, 2], [9, 0, 8], measure, study=["n", "m", "k"])
    assert es.dropped.tolist() == [True, True, False]
    assert es.corrected.tolist() == [False, False, False]
    assert np.isnan(es.yi[:2]).all() and np.isnan(es.vi[:2]).all()
    reason = "double zero: no events (or no non-events) in both groups"
    assert es.records == [{"study": "n", "action": "dropped", "reason": reason},
                          {"study": "m", "action": "dropped", "reason": reason}]


def test_one_zero_per_group_is_not_a_double_zero():
    """a = 0 and d = 0 (or b = 0 and c = 0) is a zero in each group but not a double zero."""
    es = escalc_2x2([0, 3], [5, 0], [4, 0], [0, 6], "OR")
    assert not es.dropped.any() and es.corrected.all()


def test_double_zero_studies_are_kept_for_the_risk_difference():
    """RD = 0 - 0 is estimable: double zeros are kept (drop00 defaults to False for RD),
    corrected like any zero-cell study."""
    es = escalc_2x2([0], [10], [0], [10], "RD")
    assert not es.dropped.any() and es.corrected.tolist() == [True]
    p = 0.5 / 11
    assert es.yi[0] == 0.0 and es.vi[0] == pytest.approx(2 * p * (1 - p) / 11, rel=1e-14)
    kept = escalc_2x2([0], [10], [0], [10], "OR", drop00=False)
    assert not kept.dropped.any() and kept.yi[0] == pytest.approx(0.0, abs=1e-15)
    dropped = escalc_2x2([0], [10], [0], [10], "RD", drop00=True)
    assert dropped.dropped.tolist() == [True]


def test_effect_sizes_unpack_as_yi_vi():
    """escalc_2x2 unpacks as (yi, vi), in that order."""
    es = escalc_2x2([10], [20], [5], [25])
    yi, vi = es
    assert yi is es.yi and vi is es.vi
    assert isinstance(es, EffectSizes) and es.to_dict()["measure"] == "OR"


@pytest.mark.parametrize("kwargs, message", [
    ({"measure": "OR2"}, "measure must be one of ('OR', 'RR', 'RD'), not 'OR2'"),
    ({"to": "some"}, "to must be one of ('only0', 'all', 'if0all', 'none'), not 'some'"),
])
def test_escalc_option_errors_name_the_choices(kwargs, message):
    """A bad measure or zero-cell rule is refused, naming the value and the choices."""
    with pytest.raises(PoolingInputError) as err:
        escalc_2x2([1], [2], [3], [4], **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize("cells, message", [
    (([1, 2], [2], [3], [4]), "ai, bi, ci and di must have the same length"),
    (([1], [2], [float("nan")], [4]), "ci has missing or non-finite counts"),
    (([1], [math.inf], [3], [4]), "bi has missing or non-finite counts"),
    (([1], [2], [3], [-1]), "di has negative counts"),
    (([-1], [2], [3], [4]), "ai has negative counts"),
])
def test_count_errors_name_the_cell(cells, message):
    """Bad counts are refused with the cell (ai, bi, ci, di) named."""
    with pytest.raises(PoolingInputError) as err:
        escalc_2x2(*cells)
    assert str(err.value) == message


# ----------------------------------------------------------------- Mantel-Haenszel ---
# two tables: (10, 20 | 5, 25), n = 60; (4, 16 | 8, 12), n = 40
A, B, C, D = [10, 4], [20, 16], [5, 8], [25, 12]


def _rbg():
    """Robins-Breslow-Greenland variance of log OR_MH, written out."""
    n = np.array([60.0, 40.0])
    a, b, c, d = (np.array(x, float) for x in (A, B, C, D))
    P, Q, R, S = (a + d) / n, (b + c) / n, a * d / n, b * c / n
    r, s = R.sum(), S.sum()
    var = (P * R).sum() / (2 * r * r) + (P * S + Q * R).sum() / (2 * r * s) + (Q * S).sum() / (2 * s * s)
    return r, s, var


def test_mh_odds_ratio_and_rbg_standard_error():
    """OR_MH = sum(ad/n)/sum(bc/n); SE of log OR_MH by Robins, Breslow & Greenland (1986);
    Wald z, p and CI on the log scale, exponentiated for the OR."""
    r, s, var = _rbg()
    res = mantel_haenszel(A, B, C, D, "OR")
    est, se = math.log(r / s), math.sqrt(var)
    assert res.estimate == pytest.approx(est, rel=1e-12)
    assert res.se == pytest.approx(se, rel=1e-10)
    assert res.zval == pytest.approx(est / se, rel=1e-10)
    assert res.pval == pytest.approx(2 * stats.norm.sf(abs(est / se)), rel=1e-8)
    assert res.ci_lb == pytest.approx(est - Z975 * se, rel=1e-10)
    assert res.ci_ub == pytest.approx(est + Z975 * se, rel=1e-10)
    assert res.estimate_exp == pytest.approx(r / s, rel=1e-12)
    assert res.ci_lb_exp == pytest.approx(math.exp(est - Z975 * se), rel=1e-10)
    assert res.ci_ub_exp == pytest.approx(math.exp(est + Z975 * se), rel=1e-10)
    assert (res.method, res.measure, res.k, res.level) == ("MH", "OR", 2, 95.0)


def test_mh_level_as_fraction_or_percent():
    """level = 0.9 and level = 90 both give a 90% interval, reported as 90."""
    res = mantel_haenszel(A, B, C, D, level=0.9)
    pct = mantel_haenszel(A, B, C, D, level=90)
    z = stats.norm.isf(0.05)
    assert res.level == 90.0 and pct.level == 90.0
    assert res.ci_ub - res.estimate == pytest.approx(z * res.se, rel=1e-10)
    assert pct.ci_lb == pytest.approx(res.ci_lb, rel=1e-14)


@pytest.mark.parametrize("correct", [True, False])
def test_cmh_statistic_with_and_without_continuity_correction(correct):
    """CMH = (|sum a - sum E(a)| - 1/2)^2 / sum Var(a) (without the 1/2 if correct=False),
    E(a) = n1 m1/n, Var(a) = n1 n2 m1 m0 / (n^2 (n - 1)); chi-square on 1 df."""
    n1, n2, m1, m0, n = np.array([30, 20.]), np.array([30, 20.]), np.array([15, 12.]), \
        np.array([45, 28.]), np.array([60, 40.])
    e = (n1 * m1 / n).sum()
    v = (n1 * n2 * m1 * m0 / (n * n * (n - 1))).sum()
    stat = (abs(14 - e) - (0.5 if correct else 0.0)) ** 2 / v
    res = mantel_haenszel(A, B, C, D, correct=correct)
    assert res.CMH == pytest.approx(stat, rel=1e-10)
    assert res.CMH_p == pytest.approx(stats.chi2.sf(stat, 1), rel=1e-8)
    assert cmh_test(A, B, C, D, correct=correct) == pytest.approx(
        {"statistic": stat, "df": 1, "pval": stats.chi2.sf(stat, 1)}, rel=1e-8)


def _breslow_day_by_hand(a, b, c, d, psi):
    """Breslow-Day X^2 and Tarone's correction at a common OR psi, written out."""
    a, b, c, d = (np.asarray(x, float) for x in (a, b, c, d))
    n1, n2, m1 = a + b, c + d, a + c
    exp_a = np.empty_like(a)
    for i in range(a.size):
        lo, hi = max(0.0, m1[i] - n2[i]), min(n1[i], m1[i])
        # root of (x)(n2 - m1 + x) = psi (n1 - x)(m1 - x) within the margins
        coef = [1 - psi, n2[i] - m1[i] + psi * (n1[i] + m1[i]), -psi * n1[i] * m1[i]]
        roots = np.roots(coef) if psi != 1 else np.array([n1[i] * m1[i] / (n1[i] + n2[i])])
        exp_a[i] = [r.real for r in np.atleast_1d(roots) if lo - 1e-9 <= r.real <= hi + 1e-9][0]
    var = 1 / (1 / exp_a + 1 / (n1 - exp_a) + 1 / (m1 - exp_a) + 1 / (n2 - m1 + exp_a))
    bd = float(np.sum((a - exp_a) ** 2 / var))
    return bd, bd - float(np.sum(a - exp_a) ** 2 / np.sum(var))


def test_breslow_day_and_tarone_at_the_mh_odds_ratio():
    """Breslow-Day homogeneity test at OR_MH, with Tarone's correction, on k_pos - 1 df."""
    a, b, c, d = [10, 4, 6], [20, 16, 9], [5, 8, 3], [25, 12, 12]
    res = mantel_haenszel(a, b, c, d)
    n = np.add(np.add(a, b), np.add(c, d))
    psi = np.sum(np.multiply(a, d) / n) / np.sum(np.multiply(b, c) / n)
    bd, ta = _breslow_day_by_hand(a, b, c, d, psi)
    assert res.k_pos == 3
    assert res.BD == pytest.approx(bd, rel=1e-8) and res.TA == pytest.approx(ta, rel=1e-8)
    assert res.BD_p == pytest.approx(stats.chi2.sf(bd, 2), rel=1e-7)
    assert res.TA_p == pytest.approx(stats.chi2.sf(ta, 2), rel=1e-7)
    helper = breslow_day_test(a, b, c, d)
    assert helper["k_pos"] == 3 and helper["BD"] == pytest.approx(bd, rel=1e-8)
    assert helper["TA"] == pytest.approx(ta, rel=1e-8)


def test_breslow_day_when_the_common_odds_ratio_is_one():
    """At OR_MH = 1 the expected count is n1 m1 / n: (2, 1 | 1, 2) and (1, 2 | 2, 1) each have
    E(a) = 3/2 and Var(a) = 1/(4/(3/2)) = 3/8, so X^2 = 2 (1/4)/(3/8) = 4/3 (Tarone the same,
    since sum(a - E) = sum(ad - bc)/n = 0)."""
    res = breslow_day_test([2, 1], [1, 2], [1, 2], [2, 1])
    assert res["k_pos"] == 2
    assert res["BD"] == pytest.approx(4 / 3, rel=1e-12)
    assert res["TA"] == pytest.approx(4 / 3, rel=1e-12)
    assert res["BD_p"] == pytest.approx(stats.chi2.sf(4 / 3, 1), rel=1e-10)
    assert res["TA_p"] == pytest.approx(stats.chi2.sf(4 / 3, 1), rel=1e-10)


def test_breslow_day_at_or_one_uses_the_unequal_margins():
    """OR_MH = 1 with unequal margins: E(a) = n1 m1 / n per stratum, Var from all four cells."""
    # (3, 1 | 1, 3) n=8 and (1, 3 | 3, 1): ad - bc = 8 and -8, so OR_MH = 1 exactly; margins
    # n1 = 4, m1 = 4, n = 8: E = 2, Var = 1/(4/2) = 1/2, X^2 = 2 (1/(1/2)) = 4
    res = breslow_day_test([3, 1, 2], [1, 3, 3], [1, 3, 1], [3, 1, 4])
    # third stratum (2, 3 | 1, 4): ad - bc = 5, breaks OR = 1: check against the general formula
    psi = (9 / 8 + 1 / 8 + 8 / 10) / (1 / 8 + 9 / 8 + 3 / 10)
    bd, ta = _breslow_day_by_hand([3, 1, 2], [1, 3, 3], [1, 3, 1], [3, 1, 4], psi)
    assert res["BD"] == pytest.approx(bd, rel=1e-8) and res["TA"] == pytest.approx(ta, rel=1e-8)
    exact = breslow_day_test([3, 1], [1, 3], [1, 3], [3, 1])
    assert exact["BD"] == pytest.approx(4.0, rel=1e-12) and exact["k_pos"] == 2


def test_breslow_day_leaves_out_strata_without_events_or_non_events():
    """A stratum with no events (a = c = 0) or no non-events carries no information on the OR:
    it is left out of the Breslow-Day test (df = k_pos - 1)."""
    a, b, c, d = [2, 1, 0, 4], [1, 2, 5, 0], [1, 2, 0, 3], [2, 1, 6, 0]
    res = breslow_day_test(a, b, c, d)
    assert res["k_pos"] == 2 and res["BD"] == pytest.approx(4 / 3, rel=1e-12)
    assert res["BD_p"] == pytest.approx(stats.chi2.sf(4 / 3, 1), rel=1e-10)


def test_breslow_day_with_one_informative_stratum_has_no_p_value():
    """One informative stratum: X^2 is 0 on 0 df, no p-value."""
    res = breslow_day_test([2, 0], [1, 5], [1, 0], [2, 6])
    assert res["k_pos"] == 1 and "BD_p" not in res and "TA_p" not in res
    assert res["BD"] == pytest.approx(0.0, abs=1e-12)


def test_breslow_day_helper_refuses_an_undefined_odds_ratio():
    """With sum(ad/n) or sum(bc/n) zero the MH OR is 0 or infinite: the helper refuses."""
    with pytest.raises(PoolingError) as err:
        breslow_day_test([0, 0], [3, 4], [2, 1], [5, 5])
    assert str(err.value) == "Breslow-Day test undefined: the Mantel-Haenszel OR is 0 or infinite"
    with pytest.raises(PoolingError):
        breslow_day_test([2, 1], [3, 4], [0, 0], [5, 5])


def test_mh_or_undefined_without_discordant_products():
    """sum(ad/n) = 0 (no events treated): no OR_MH, no Wald test, k_pos = 0, a note; the CMH
    test is still defined (there are events)."""
    res = mantel_haenszel([0, 0], [10, 12], [3, 2], [11, 9], "OR")
    assert res.estimate is None and res.se is None and res.zval is None and res.ci_lb is None
    assert res.estimate_exp is None and res.ci_lb_exp is None and res.ci_ub_exp is None
    assert res.k_pos == 0 and res.CMH is not None
    assert res.notes[0] == "Mantel-Haenszel OR undefined: sum of a*d/n or b*c/n is zero"
    res = mantel_haenszel([3, 2], [10, 12], [0, 0], [11, 9], "OR")
    assert res.estimate is None
    assert res.notes[0] == "Mantel-Haenszel OR undefined: sum of a*d/n or b*c/n is zero"


def test_cmh_undefined_without_any_event():
    """No events at all (or no non-events at all): the CMH test is undefined, with a note."""
    res = mantel_haenszel([0, 0], [10, 12], [0, 0], [11, 9], "OR")
    assert res.CMH is None and res.CMH_p is None
    assert res.notes[:2] == ["CMH test undefined: no events (or no non-events) at all",
                             "Mantel-Haenszel OR undefined: sum of a*d/n or b*c/n is zero"]
    allev = mantel_haenszel([5, 4], [0, 0], [3, 6], [0, 0], "OR")
    assert allev.CMH is None and allev.notes[0].startswith("CMH test undefined")


def test_cmh_defined_when_there_are_both_events_and_non_events_overall():
    """The CMH test needs some events and some non-events overall, not in every stratum."""
    res = mantel_haenszel([0, 2], [5, 3], [0, 1], [5, 4], "OR")
    assert res.CMH is not None


def test_mh_risk_ratio_and_greenland_robins_variance():
    """RR_MH = sum(a n2/n)/sum(c n1/n); var log RR_MH =
    sum(n1 n2 (a + c)/n^2 - a c/n) / (sum(a n2/n) sum(c n1/n)) (Greenland & Robins 1985)."""
    r = 10 * 30 / 60 + 4 * 20 / 40
    s = 5 * 30 / 60 + 8 * 20 / 40
    var = (30 * 30 * 15 / 3600 - 50 / 60 + 20 * 20 * 12 / 1600 - 32 / 40) / (r * s)
    res = mantel_haenszel(A, B, C, D, "RR")
    assert res.estimate == pytest.approx(math.log(r / s), rel=1e-12)
    assert res.se == pytest.approx(math.sqrt(var), rel=1e-12)
    assert res.estimate_exp == pytest.approx(r / s, rel=1e-12)
    assert res.CMH is None and res.BD is None and res.k_pos is None


@pytest.mark.parametrize("a, c", [([0, 0], [5, 8]), ([10, 4], [0, 0])])
def test_mh_risk_ratio_undefined_without_events_in_a_group(a, c):
    """No events in one arm in all studies: RR_MH is 0 or infinite, reported as undefined."""
    res = mantel_haenszel(a, B, c, D, "RR")
    assert res.estimate is None and res.se is None and res.estimate_exp is None
    assert res.notes[0] == "Mantel-Haenszel RR undefined: no events in one group across all studies"


def test_mh_risk_difference_and_sato_variance():
    """RD_MH = sum(a n2/n - c n1/n)/sum(n1 n2/n); variance of Sato, Greenland & Robins (1989);
    no exponentiated values for a difference."""
    a, b, c, d = np.array([10, 4.]), np.array([20, 16.]), np.array([5, 8.]), np.array([25, 12.])
    n1, n2 = a + b, c + d
    n = n1 + n2
    w = n1 * n2 / n
    rd = np.sum(a * n2 / n - c * n1 / n) / w.sum()
    p_term = np.sum(c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + (n1 / n) * (n2 / n) * (n2 - n1) / 2)
    q_term = np.sum(a * (n2 - c) / n + c * (n1 - a) / n) / 2
    var = (rd * p_term + q_term) / w.sum() ** 2
    res = mantel_haenszel(a, b, c, d, "RD")
    assert res.estimate == pytest.approx(rd, rel=1e-12)
    assert res.se == pytest.approx(math.sqrt(var), rel=1e-12)
    assert res.estimate_exp is None and res.ci_lb_exp is None and res.ci_ub_exp is None


def test_mh_risk_difference_with_unequal_arms():
    """Unequal arm sizes: n1 = 30, n2 = 50 and n1 = 20, n2 = 10 (the (n2 - n1) term matters)."""
    a, b, c, d = np.array([12, 5.]), np.array([18, 15.]), np.array([10, 4.]), np.array([40, 6.])
    n1, n2 = a + b, c + d
    n = n1 + n2
    rd = np.sum(a * n2 / n - c * n1 / n) / np.sum(n1 * n2 / n)
    p_term = np.sum(c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + (n1 / n) * (n2 / n) * (n2 - n1) / 2)
    q_term = np.sum(a * (n2 - c) / n + c * (n1 - a) / n) / 2
    var = (rd * p_term + q_term) / np.sum(n1 * n2 / n) ** 2
    res = mantel_haenszel(a, b, c, d, "rd")
    assert res.measure == "RD"
    assert res.estimate == pytest.approx(rd, rel=1e-12)
    assert res.se == pytest.approx(math.sqrt(var), rel=1e-12)


def test_mh_refuses_an_unknown_measure():
    """mantel_haenszel accepts OR, RR and RD only (any case) and says so."""
    with pytest.raises(PoolingInputError) as err:
        mantel_haenszel(A, B, C, D, "HR")
    assert str(err.value) == "measure must be one of ('OR', 'RR', 'RD'), not 'HR'"


def test_heterogeneity_q_is_around_the_mh_estimate():
    """Q = sum (yi - OR_MH)^2 / vi with the study-level log ORs (metafor), on k_yi - 1 df,
    I2 = (Q - df)/Q, H2 = Q/df."""
    a, b, c, d = [10, 4, 6], [20, 16, 9], [5, 8, 3], [25, 12, 12]
    res = mantel_haenszel(a, b, c, d)
    yi = np.log(np.multiply(a, d) / np.multiply(b, c))
    vi = 1 / np.array(a) + 1 / np.array(b) + 1 / np.array(c) + 1 / np.array(d)
    q = float(np.sum((yi - res.estimate) ** 2 / vi))
    assert res.Q == pytest.approx(q, rel=1e-12) and res.Q_df == 2 and res.k_yi == 3
    assert res.Q_p == pytest.approx(stats.chi2.sf(q, 2), rel=1e-9)
    assert res.H2 == pytest.approx(q / 2, rel=1e-12)
    assert res.I2 == pytest.approx(max(0.0, 100 * (q - 2) / q), abs=1e-9)


def test_heterogeneity_uses_only_the_included_studies():
    """A double-zero study is dropped from yi/vi: k counts it, k_yi and the Q df do not."""
    res = mantel_haenszel([10, 4, 0], [20, 16, 9], [5, 8, 0], [25, 12, 10])
    assert res.k == 3 and res.k_yi == 2 and res.Q_df == 1
    assert res.notes[-1] == ("3: dropped (double zero: no events (or no non-events) in both "
                             "groups)")


def test_heterogeneity_with_a_single_study():
    """One study with yi: Q = 0 on 0 df, p = 1, I2 = 0, H2 = 1 by convention."""
    res = mantel_haenszel([10], [20], [5], [25])
    assert (res.Q, res.Q_df, res.Q_p, res.I2, res.H2, res.k_yi) == (0.0, 0, 1.0, 0.0, 1.0, 1)


def test_heterogeneity_undefined_without_an_estimate():
    """No pooled estimate but several studies: Q, its p-value, I2 and H2 are undefined."""
    res = mantel_haenszel([0, 0], [10, 12], [3, 2], [11, 9])
    assert (res.Q, res.Q_df, res.Q_p, res.I2, res.H2, res.k_yi) == (None, 1, None, None, None, 2)


def test_heterogeneity_with_no_study_left():
    """Every study dropped: Q = 0 on 0 df (not -1)."""
    res = mantel_haenszel([0, 0], [10, 12], [0, 0], [11, 9])
    assert (res.Q, res.Q_df, res.Q_p, res.I2, res.H2, res.k_yi) == (0.0, 0, 1.0, 0.0, 1.0, 0)


def test_mh_zero_cells_use_raw_counts_but_corrected_yi_for_q():
    """The MH estimator uses the raw counts (no 0.5 added); the zero-cell study gets the
    correction only in its yi/vi, and a note says so."""
    a, b, c, d = [10, 0], [20, 16], [5, 8], [25, 12]
    res = mantel_haenszel(a, b, c, d, study=["s1", "s2"])
    r = 10 * 25 / 60 + 0.0
    s = 20 * 5 / 60 + 16 * 8 / 36
    assert res.estimate == pytest.approx(math.log(r / s), rel=1e-12)
    yi2 = math.log(0.5 * 12.5 / (16.5 * 8.5))
    assert res.effect_sizes.yi[1] == pytest.approx(yi2, rel=1e-12)
    assert res.notes == ["s2: added 0.5 to each cell (zero cell)"]
    other = mantel_haenszel(a, b, c, d, study=["s1", "s2"], add=1.0)
    assert other.estimate == res.estimate and other.Q != res.Q


def test_mh_keeps_double_zero_in_yi_when_asked():
    """drop00=False keeps a double-zero study in the study-level yi/vi (corrected)."""
    res = mantel_haenszel([10, 4, 0], [20, 16, 9], [5, 8, 0], [25, 12, 10], drop00=False)
    assert res.k_yi == 3 and res.Q_df == 2


def test_mh_summary_text():
    """The printed summary names the method, measure, k, the tests and the notes."""
    res = mantel_haenszel([10, 4, 6], [20, 16, 9], [5, 8, 3], [25, 12, 12])
    text = res.summary()
    lines = text.split("\n")
    assert lines[0] == "Fixed-effect model, Mantel-Haenszel method (OR; k = 3)"
    assert lines[1] == ""
    assert lines[2].startswith("Test for Heterogeneity: Q(df = 2) = ")
    assert lines[3].startswith("estimate = ") and "95% CI [" in lines[3]
    assert lines[4].startswith("OR = ")
    assert lines[5].startswith("Cochran-Mantel-Haenszel test: CMH = ") and ", df = 1, " in lines[5]
    assert lines[6].startswith("Breslow-Day test: X^2 = ") and ", df = 2, " in lines[6]
    assert "Tarone's: X^2 = " in lines[6]
    rd = mantel_haenszel([10, 0], [20, 16], [5, 8], [25, 12], "RD", study=["s1", "s2"]).summary()
    assert "RD = " not in rd and "Cochran" not in rd and "Breslow" not in rd
    assert rd.split("\n")[-1] == "Note: s2: added 0.5 to each cell (zero cell)"


# --------------------------------------------------------------------------- Peto ---

def test_peto_one_step_odds_ratio_by_hand():
    """Peto: log OR = sum(O - E)/sum V, SE = 1/sqrt(sum V), E = m1 n1/n,
    V = m1 m0 n1 n2 / (n^2 (n - 1)).  (2, 1 | 1, 2): E = 3/2, V = 81/180;
    (3, 1 | 1, 3): E = 2, V = 256/448.  Q = sum (O - E)^2/V - (sum(O - E))^2/sum V."""
    v1, v2 = 81 / 180, 256 / 448
    sv = v1 + v2
    est = 1.5 / sv
    se = 1 / math.sqrt(sv)
    q = 0.25 / v1 + 1.0 / v2 - 1.5 ** 2 / sv
    res = peto([2, 3], [1, 1], [1, 1], [2, 3])
    assert (res.method, res.measure, res.k) == ("PETO", "OR", 2)
    assert res.estimate == pytest.approx(est, rel=1e-12)
    assert res.se == pytest.approx(se, rel=1e-12)
    assert res.ci_lb == pytest.approx(est - Z975 * se, rel=1e-12)
    assert res.estimate_exp == pytest.approx(math.exp(est), rel=1e-12)
    assert res.Q == pytest.approx(q, rel=1e-10) and res.Q_df == 1
    assert res.Q_p == pytest.approx(stats.chi2.sf(q, 1), rel=1e-9)
    assert res.H2 == pytest.approx(q, rel=1e-10)
    assert res.I2 == 0.0                         # Q < df
    assert res.CMH is None and res.BD is None


def test_peto_q_with_heterogeneous_studies():
    """Peto Q above its df gives I2 = (Q - df)/Q and H2 = Q/df."""
    a, b, c, d = [8, 1, 5], [2, 9, 5], [2, 8, 5], [8, 2, 5]
    res = peto(a, b, c, d)
    o_e = np.array([8 - 5, 1 - 4.5, 5 - 5.0])     # E = m1 n1 / n: 10*10/20, 9*10/20, 10*10/20
    v = np.array([10 * 10 * 10 * 10 / (400 * 19), 9 * 11 * 10 * 10 / (400 * 19),
                  10 * 10 * 10 * 10 / (400 * 19)])
    q = float(np.sum(o_e ** 2 / v) - o_e.sum() ** 2 / v.sum())
    assert res.Q == pytest.approx(q, rel=1e-12) and res.Q_df == 2
    assert res.H2 == pytest.approx(q / 2, rel=1e-12)
    assert res.I2 == pytest.approx(100 * (q - 2) / q, rel=1e-10)
    assert res.Q_p == pytest.approx(stats.chi2.sf(q, 2), rel=1e-9)


def test_peto_uses_raw_counts_with_zero_cells():
    """A zero cell needs no correction for Peto (O - E and V are finite): raw counts are used."""
    res = peto([0, 3], [5, 1], [2, 1], [3, 3])
    # (0, 5 | 2, 3): n = 10, m1 = 2, n1 = 5: E = 1, V = 2 * 8 * 5 * 5 / (100 * 9)
    # (3, 1 | 1, 3): E = 2, V = 4/7
    v1, v2 = 400 / 900, 4 / 7
    assert res.estimate == pytest.approx((-1 + 1) / (v1 + v2), abs=1e-14)
    assert res.se == pytest.approx(1 / math.sqrt(v1 + v2), rel=1e-12)


def test_peto_study_without_variance_counts_in_k_but_not_in_q():
    """A study with one empty arm (n1 = 0) has V = 0: it adds nothing to sum(O - E), sum V or
    Q; with one informative study left, p = 1, I2 = 0 and H2 = 1."""
    res = peto([2, 0], [1, 0], [1, 2], [2, 3])
    v1 = 81 / 180
    assert res.estimate == pytest.approx(0.5 / v1, rel=1e-12)
    assert res.k == 2 and res.k_yi == 2 and res.Q_df == 1
    assert res.Q == pytest.approx(0.0, abs=1e-12)
    assert (res.Q_p, res.I2, res.H2) == (1.0, 0.0, 1.0)


def test_peto_single_subject_study_has_zero_variance():
    """n = 1: the hypergeometric variance has n - 1 = 0 in its denominator; V is 0, not NaN."""
    res = peto([2, 1], [1, 0], [1, 0], [2, 0], drop00=False)
    v1 = 81 / 180
    assert res.estimate == pytest.approx(0.5 / v1, rel=1e-12)
    assert res.se == pytest.approx(1 / math.sqrt(v1), rel=1e-12)


def test_peto_undefined_when_no_study_has_variance():
    """Every V = 0 (no events anywhere): no Peto OR, with a note."""
    res = peto([0, 0], [10, 12], [0, 0], [11, 9])
    assert res.estimate is None and res.se is None and res.Q is not None
    assert res.notes[0] == "Peto OR undefined: every study has zero hypergeometric variance"


def test_peto_level_and_summary():
    """Peto at level 90: the interval uses z(0.95); the summary names Peto's method."""
    res = peto([2, 3], [1, 1], [1, 1], [2, 3], level=90)
    assert res.level == 90.0
    assert res.ci_ub - res.estimate == pytest.approx(stats.norm.isf(0.05) * res.se, rel=1e-10)
    assert res.summary().split("\n")[0] == "Fixed-effect model, Peto method (OR; k = 2)"


# ------------------------------------------------- rules added against surviving mutants ---
# (issue 18: each test names the rule; values by hand as above)

import json  # noqa: E402
import warnings  # noqa: E402

from her2meta.pool.binary import BinaryPoolResult  # noqa: E402


@pytest.mark.parametrize("measure, cells", [
    ("OR", ([0, 3], [5, 7], [2, 4], [8, 6])),          # log(0): a division by zero
    ("OR", ([0, 3], [0, 7], [2, 4], [8, 6])),          # a = b = 0: 0/0
    ("RR", ([0, 3], [0, 7], [2, 4], [8, 6])),          # empty treated arm: 0/0
])
def test_a_study_not_estimable_without_correction_is_reported_not_warned(measure, cells):
    """to='none': a zero cell leaves the study not estimable; that goes to the records, and no
    numpy RuntimeWarning reaches the user."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        es = escalc_2x2(*cells, measure, to="none")
    assert es.dropped.tolist() == [True, False] and np.isnan(es.yi[0]) and np.isnan(es.vi[0])


def test_a_study_with_an_infinite_effect_but_finite_variance_is_dropped():
    """A study is kept only if both yi and vi are finite: counts so large that a*d overflows give
    log OR = inf with a finite variance, and the study is dropped, not passed on as infinite."""
    with np.errstate(over="ignore"):
        es = escalc_2x2([1e155, 3], [1, 7], [1, 4], [1e155, 6], "OR", to="none")
    assert es.dropped.tolist() == [True, False]
    assert np.isnan(es.yi[0]) and np.isnan(es.vi[0])


@pytest.mark.parametrize("to", ["if0all", "none"])
def test_the_correction_flags_are_booleans_in_the_json(to):
    """'corrected' is a list of true/false in the written JSON, also when no study is corrected."""
    es = escalc_2x2([1, 3], [10, 7], [2, 4], [8, 6], "OR", to=to)
    assert json.dumps(es.to_dict()["corrected"]) == "[false, false]"
    assert es.corrected.dtype == bool


@pytest.mark.parametrize("position, name", [(0, "ai"), (1, "bi"), (2, "ci"), (3, "di")])
def test_non_numeric_counts_name_the_cell(position, name):
    """Counts that are not numbers are refused with the cell (ai, bi, ci, di) named."""
    cells = [[1], [2], [3], [4]]
    cells[position] = ["many"]
    with pytest.raises(PoolingInputError, match=rf"^{name} must be numeric: "):
        escalc_2x2(*cells)
    cells[position] = [[1, 2]]
    with pytest.raises(PoolingInputError, match=rf"^{name} must be one-dimensional"):
        escalc_2x2(*cells)


def test_pooled_results_carry_the_study_labels():
    """MH and Peto results list the study labels, in input order."""
    for res in (mantel_haenszel(A, B, C, D, study=["s1", "s2"]),
                peto(A, B, C, D, study=["s1", "s2"])):
        assert res.study == ["s1", "s2"]


@pytest.mark.parametrize("level, reported", [(2, 2.0), (1.5, 1.5), (0.9, 90.0)])
def test_the_reported_level_is_the_one_the_interval_used(level, reported):
    """A level above 1 is a percent, one at or below 1 a fraction; the reported level (percent)
    is the one behind the interval, for MH and for Peto."""
    z = stats.norm.isf((1 - reported / 100) / 2)
    for res in (mantel_haenszel(A, B, C, D, level=level), peto(A, B, C, D, level=level)):
        assert res.level == reported
        assert res.ci_ub - res.estimate == pytest.approx(z * res.se, rel=1e-10)


def test_a_level_of_one_is_the_fraction_one():
    """level = 1 is read as the fraction 1 (alpha = 0): an unbounded interval, reported as 100."""
    res = mantel_haenszel(A, B, C, D, level=1)
    assert res.level == 100.0 and res.ci_lb == -math.inf and res.ci_ub == math.inf


def test_breslow_day_counts_a_stratum_with_a_single_non_event():
    """A stratum with one non-event (b + d = 1) still has events and non-events: it is
    informative and counts in k_pos (df = k_pos - 1)."""
    a, b, c, d = [2, 1, 3], [1, 2, 0], [1, 2, 2], [2, 1, 1]
    res = breslow_day_test(a, b, c, d)
    assert res["k_pos"] == 3
    n = np.add(np.add(a, b), np.add(c, d))
    psi = np.sum(np.multiply(a, d) / n) / np.sum(np.multiply(b, c) / n)
    bd, ta = _breslow_day_by_hand(a, b, c, d, psi)
    assert res["BD"] == pytest.approx(bd, rel=1e-8) and res["TA"] == pytest.approx(ta, rel=1e-8)
    assert res["BD_p"] == pytest.approx(stats.chi2.sf(bd, 2), rel=1e-7)


def test_breslow_day_leaves_out_a_stratum_with_an_empty_treated_arm():
    """A stratum with no treated patients (a = b = 0) says nothing about the OR: left out."""
    res = breslow_day_test([10, 4, 0], [20, 16, 0], [5, 8, 3], [25, 12, 2])
    assert res["k_pos"] == 2
    base = breslow_day_test([10, 4], [20, 16], [5, 8], [25, 12])
    assert res["BD"] == pytest.approx(base["BD"], rel=1e-10)
    assert res["BD_p"] == pytest.approx(base["BD_p"], rel=1e-10)


def test_breslow_day_leaves_out_a_stratum_with_an_empty_control_arm():
    """Likewise a stratum with no control patients (c = d = 0): swapping the arms (which only
    inverts the OR) must not change the Breslow-Day test, its df or its p-value."""
    a, b, c, d = [10, 4, 3], [20, 16, 2], [5, 8, 0], [25, 12, 0]
    res = breslow_day_test(a, b, c, d)
    swapped = breslow_day_test(c, d, a, b)
    base = breslow_day_test([10, 4], [20, 16], [5, 8], [25, 12])
    assert res["k_pos"] == swapped["k_pos"] == 2
    for key in ("BD", "TA", "BD_p", "TA_p"):
        assert res[key] == pytest.approx(base[key], rel=1e-10)
        assert swapped[key] == pytest.approx(base[key], rel=1e-10)
    mh = mantel_haenszel(a, b, c, d)
    assert mh.k_pos == 2 and mh.BD_p == pytest.approx(base["BD_p"], rel=1e-10)


def test_homogeneous_odds_ratios_give_zero_breslow_day_and_tarone():
    """(2, 1 | 1, 2) and (4, 2 | 2, 4) both have OR 4 = OR_MH: the expected counts are the
    observed ones, X^2 = 0 and Tarone's statistic is 0 (not lifted to anything else)."""
    res = breslow_day_test([2, 4], [1, 2], [1, 2], [2, 4])
    assert res["k_pos"] == 2
    assert res["BD"] == pytest.approx(0.0, abs=1e-12) and res["TA"] == pytest.approx(0.0, abs=1e-12)
    assert res["BD_p"] == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("a, b, c, d, stat", [
    # one event in all: E = 10 * 1/20 = 1/2, Var = 10*10*1*19/(20^2*19) = 1/4, (1 - 1/2)^2/(1/4) = 1
    ([1], [9], [0], [10], 1.0),
    # one non-event in all: E = 9*19/20, Var = 9*11*19*1/(20^2*19) = 99/400, (9 - 171/20)^2/Var = 9/11
    ([9], [0], [10], [1], 9 / 11),
])
def test_cmh_is_defined_with_a_single_event_or_a_single_non_event(a, b, c, d, stat):
    """The CMH test needs at least one event and one non-event overall; one is enough."""
    res = mantel_haenszel(a, b, c, d, correct=False)
    assert res.CMH == pytest.approx(stat, rel=1e-12)
    assert res.CMH_p == pytest.approx(stats.chi2.sf(stat, 1), rel=1e-10)


@pytest.mark.parametrize("a, b, c, d", [
    # a = 0 everywhere, with strata whose d = a + b + c, c = a + b + d and b = a + c + d
    ([0, 0, 0], [2, 2, 8], [3, 7, 3], [5, 5, 5]),
    # d = 0 everywhere (no control non-events): every a*d is 0
    ([3, 2], [2, 5], [4, 1], [0, 0]),
])
def test_mh_or_undefined_whenever_every_a_times_d_is_zero(a, b, c, d):
    """sum(a d / n) = 0 whatever the other cells: no OR_MH, with the note."""
    res = mantel_haenszel(a, b, c, d)
    assert res.estimate is None and res.se is None and res.k_pos == 0
    assert "Mantel-Haenszel OR undefined: sum of a*d/n or b*c/n is zero" in res.notes


def test_mh_passes_the_zero_cell_rule_to_the_study_level_effects():
    """to='all' reaches the study-level yi/vi behind Q: every study is corrected."""
    res = mantel_haenszel([10, 0], [20, 16], [5, 8], [25, 12], to="all", study=["s1", "s2"])
    assert res.effect_sizes.corrected.tolist() == [True, True]
    assert res.effect_sizes.yi[0] == pytest.approx(math.log(10.5 * 25.5 / (20.5 * 5.5)), rel=1e-12)
    assert res.notes == ["s1: added 0.5 to each cell (to='all')", "s2: added 0.5 to each cell (zero cell)"]


def test_peto_undefined_result_still_names_method_measure_and_studies():
    """No Peto OR (every V = 0): the result still says Peto, OR, k and the level, and prints."""
    res = peto([0, 0], [10, 12], [0, 0], [11, 9], level=90)
    assert (res.method, res.measure, res.k, res.level) == ("PETO", "OR", 2, 90.0)
    assert res.summary().split("\n")[0] == "Fixed-effect model, Peto method (OR; k = 2)"


def test_peto_single_study_has_zero_q_df():
    """One study: Q = 0 on 0 df, p = 1, I2 = 0, H2 = 1."""
    res = peto([2], [1], [1], [2])
    assert (res.Q, res.Q_df, res.Q_p, res.I2, res.H2) == (0.0, 0, 1.0, 0.0, 1.0)


def test_peto_q_df_follows_the_studies_with_an_effect_size():
    """Two studies with V > 0 but only one with a study-level effect (to='none' drops the zero-cell
    study): Q_df = k_yi - 1 = 0, so p = 1, I2 = 0 and H2 = 1 by convention."""
    res = peto([0, 3], [5, 1], [2, 1], [3, 3], to="none", study=["z", "y"])
    assert res.k_yi == 1 and res.Q_df == 0
    assert (res.Q_p, res.I2, res.H2) == (1.0, 0.0, 1.0)
    assert res.notes == ["z: dropped (OR not estimable (zero cell without correction))"]


def test_peto_passes_add_and_the_default_to_the_study_level_effects():
    """Peto's notes record the zero-cell correction of the study-level yi/vi: 0.5 by default,
    the add given otherwise, with the study labels."""
    cells = ([0, 3], [5, 1], [2, 1], [3, 3])
    assert peto(*cells, study=["z", "y"]).notes == ["z: added 0.5 to each cell (zero cell)"]
    assert peto(*cells, study=["z", "y"], add=1.0).notes == ["z: added 1 to each cell (zero cell)"]


def test_peto_keeps_double_zero_studies_when_asked():
    """drop00=False keeps a double-zero study among the study-level effects (k_yi counts it)."""
    cells = ([2, 3, 0], [1, 1, 5], [1, 1, 0], [2, 3, 6])
    assert peto(*cells).k_yi == 2
    kept = peto(*cells, drop00=False)
    assert kept.k_yi == 3 and kept.Q_df == 2


def test_peto_variance_of_a_two_patient_study():
    """n = 2 (1 | 0 and 0 | 1): V = 1*1*(1/2)(1/2)/1 = 1/4 is used, E = 1/2, O - E = 1/2."""
    res = peto([1], [0], [0], [1])
    assert res.estimate == pytest.approx(0.5 / 0.25, rel=1e-12)
    assert res.se == pytest.approx(1 / math.sqrt(0.25), rel=1e-12)


def test_peto_with_a_one_patient_study_raises_no_warning():
    """A study of one patient has V = 0 (n - 1 = 0): no numpy RuntimeWarning reaches the user."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = peto([2, 1], [1, 0], [1, 0], [2, 0], drop00=False)
    assert res.estimate == pytest.approx(0.5 / (81 / 180), rel=1e-12)


def _binary_summary_result():
    return BinaryPoolResult(
        method="MH", measure="OR", estimate=0.123456, se=0.234567, zval=0.526315,
        pval=0.598765, ci_lb=-0.336289, ci_ub=0.583201, estimate_exp=1.131393,
        ci_lb_exp=0.714419, ci_ub_exp=1.791718, Q=3.456789, Q_df=2, Q_p=0.177654, I2=42.142857,
        H2=1.728395, k=3, k_yi=3, level=95.0, CMH=0.276543, CMH_p=0.598987, BD=4.567891,
        BD_p=0.101929, TA=4.512345, TA_p=0.104765, k_pos=3,
        notes=["s2: added 0.5 to each cell (zero cell)"])


def test_mh_summary_prints_every_number_at_four_digits_by_default():
    """The summary prints each estimate and statistic at 4 decimals, p-values to 4 places, I2
    at 2, written out here from the layout."""
    expected = "\n".join([
        "Fixed-effect model, Mantel-Haenszel method (OR; k = 3)",
        "",
        "Test for Heterogeneity: Q(df = 2) = 3.4568, p-val = 0.1777; I^2 = 42.14%",
        "estimate = 0.1235 (se = 0.2346), zval = 0.5263, p = 0.5988, 95% CI [-0.3363, 0.5832]",
        "OR = 1.1314 [0.7144, 1.7917]",
        "Cochran-Mantel-Haenszel test: CMH = 0.2765, df = 1, p-val = 0.5990",
        "Breslow-Day test: X^2 = 4.5679, df = 2, p-val = 0.1019; Tarone's: X^2 = 4.5123, "
        "p-val = 0.1048",
        "Note: s2: added 0.5 to each cell (zero cell)",
    ])
    assert _binary_summary_result().summary() == expected


def test_mh_summary_digits_reach_every_estimate_and_statistic():
    """summary(digits=2): every estimate and statistic at 2 decimals; p-values stay at 4."""
    expected = "\n".join([
        "Fixed-effect model, Mantel-Haenszel method (OR; k = 3)",
        "",
        "Test for Heterogeneity: Q(df = 2) = 3.46, p-val = 0.1777; I^2 = 42.14%",
        "estimate = 0.12 (se = 0.23), zval = 0.53, p = 0.5988, 95% CI [-0.34, 0.58]",
        "OR = 1.13 [0.71, 1.79]",
        "Cochran-Mantel-Haenszel test: CMH = 0.28, df = 1, p-val = 0.5990",
        "Breslow-Day test: X^2 = 4.57, df = 2, p-val = 0.1019; Tarone's: X^2 = 4.51, p-val = 0.1048",
        "Note: s2: added 0.5 to each cell (zero cell)",
    ])
    assert _binary_summary_result().summary(digits=2) == expected


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_an_empty_table_adds_nothing_to_the_mh_estimate(measure):
    """A study with no patients (0, 0 | 0, 0), e.g. none in a subgroup, adds nothing to the MH
    sums: the estimate, SE and tests are those without it (not NaN), no numpy warning; it still
    counts in k and is listed as dropped from the study-level effects."""
    full = ([10, 4, 0], [20, 16, 0], [5, 8, 0], [25, 12, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = mantel_haenszel(*full, measure)
    base = mantel_haenszel(A, B, C, D, measure)
    assert res.estimate == pytest.approx(base.estimate, rel=1e-14)
    assert res.se == pytest.approx(base.se, rel=1e-14)
    assert res.k == 3 and res.k_yi == 2
    if measure == "OR":
        assert res.CMH == pytest.approx(base.CMH, abs=1e-14) and res.k_pos == 2
        assert res.BD == pytest.approx(base.BD, rel=1e-12)
        assert cmh_test(*full)["statistic"] == pytest.approx(base.CMH, abs=1e-14)
        assert breslow_day_test(*full)["BD"] == pytest.approx(base.BD, rel=1e-12)


def test_an_empty_table_adds_nothing_to_the_peto_estimate():
    """Peto: an empty table has O = E = V = 0 and leaves the estimate as without it (not NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = peto([2, 3, 0], [1, 1, 0], [1, 1, 0], [2, 3, 0])
    v1, v2 = 81 / 180, 256 / 448
    assert res.estimate == pytest.approx(1.5 / (v1 + v2), rel=1e-12)
    assert res.se == pytest.approx(1 / math.sqrt(v1 + v2), rel=1e-12)
    assert res.k == 3 and res.k_yi == 2


@pytest.mark.parametrize("a, b, c, d", [
    ([6, 0], [3, 6], [1, 6], [7, 9]),       # OR_MH = 1.3067
    ([8, 8], [9, 2], [0, 8], [6, 8]),       # OR_MH = 7.3913
])
def test_breslow_day_keeps_every_stratum_with_both_arms_events_and_non_events(a, b, c, d):
    """Strata with both arms non-empty and with events and non-events have an expected count
    strictly inside the margins at any common OR: all count (k_pos = 2), and the statistic is
    the one written out by hand."""
    res = breslow_day_test(a, b, c, d)
    n = np.add(np.add(a, b), np.add(c, d))
    psi = np.sum(np.multiply(a, d) / n) / np.sum(np.multiply(b, c) / n)
    bd, ta = _breslow_day_by_hand(a, b, c, d, psi)
    assert res["k_pos"] == 2
    assert res["BD"] == pytest.approx(bd, rel=1e-8) and res["TA"] == pytest.approx(ta, rel=1e-8)
