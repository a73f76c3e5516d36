"""Rules of the survival statistics (her2meta.survstats.logrank, .rmst, .landmark and .km) that
the mutation run of issue 18 found untested.

Expected numbers are worked by hand in the docstrings (small data sets where every step of the
log-rank sums, the Kaplan-Meier product and the RMST area can be followed), come from R
(tests/reference/survival: survival 3.5-3 survdiff and the survRM2 formula on surv_ext.csv), or
from R's rules as written in survival's source (survmean's median tolerance). None is taken from
the code under test. Error messages are asserted where they are what the user reads: they must
name the function and the argument and say how to fix it.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2meta.survstats._common import SurvivalError
from her2meta.survstats.km import _median, confint, km
from her2meta.survstats.landmark import landmark
from her2meta.survstats.logrank import logrank
from her2meta.survstats.rmst import rmst_difference

REF = Path(__file__).parent / "reference" / "survival"
R = json.loads((REF / "survival_extended_fixtures.json").read_text())
R_LOGRANK = {c["name"]: c for c in R["logrank"]}
R_RMST = {c["name"]: c for c in R["rmst"]}
EXT = pd.read_csv(REF / "surv_ext.csv")
TOL = 2.0 ** -26  # sqrt(.Machine$double.eps), survival's tolerance in survmean's median (minmin)


def quietly(func, *args, **kwargs):
    """Call with every warning turned into an error: the statistics must not print numpy noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args, **kwargs)


# ----------------------------------------------------------------------------- landmark
def test_landmark_errors_name_the_function_and_the_argument():
    with pytest.raises(SurvivalError, match=r"^landmark: landmark_time must be a number of months; got 'six'$"):
        landmark([1.0, 2.0], [0, 1], "six")
    with pytest.raises(SurvivalError, match=r"^landmark: time has 1 negative value\(s\) \(first: -2 at position 1\); "
                                            r"times are months since the time origin"):
        landmark([1.0, -2.0], [0, 1], 3)


def test_landmark_checks_the_event_coding():
    """The event column is checked even though the landmark mask uses only the times: a
    mis-coded event (2) is an error, not passed on to the analysis of event[mask]."""
    with pytest.raises(SurvivalError, match=r"^landmark: event must be 0 or 1; found 2; "
                                            r"recode event as 0/1 \(1 = event\)$"):
        landmark([1.0, 2.0], [0, 2], 1.5)


def test_landmark_needs_one_event_per_time():
    with pytest.raises(SurvivalError, match=r"^landmark: inputs differ in length \(time has 3, event has 2\); "
                                            r"pass one value per patient for every argument$"):
        landmark([1.0, 2.0, 3.0], [0, 1], 1.5)


# ----------------------------------------------------------------------------- log-rank
# Hand-worked log-rank: exposed patients die at months 1 and 3, reference patients at 2 and 4.
#   t=1: n=4, n1=2, d=1: E1 = 1/2, V = 1 * 1/2 * 1/2 * 3/3 = 1/4
#   t=2: n=3, n1=1, d=1: E1 = 1/3, V = 1 * 1/3 * 2/3 * 2/2 = 2/9
#   t=3: n=2, n1=1, d=1: E1 = 1/2, V = 1 * 1/2 * 1/2 * 1/1 = 1/4
#   t=4: n=1, n1=0, d=1: E1 = 0,   V = 0 (one patient at risk: no hypergeometric variance)
# O1 = 2, E1 = 4/3, V = 13/18, chisq = (2/3)^2 / V = 8/13, Peto log HR = (2/3) / V = 12/13.
LR_TIME, LR_EVENT, LR_GROUP = [1.0, 3.0, 2.0, 4.0], [1, 1, 1, 1], [1, 1, 0, 0]

LOGRANK_KEYS = {"observed", "expected", "observed_reference", "expected_reference", "o_minus_e", "variance", "chisq",
                "df", "pval", "log_hr_peto", "se_peto", "hr_peto", "n", "events", "n_strata", "estimable", "reason"}
LOGRANK_NUMBERS = LOGRANK_KEYS - {"df", "n", "events", "n_strata", "estimable", "reason"}


def test_logrank_hand_worked_sums_with_two_and_one_patients_at_risk():
    """Two patients at risk (one per group) still give the hypergeometric variance 1/4; the last
    patient alone at risk adds nothing to V (survdiff's n > 1 rule), and that 0/0 is silent."""
    out = quietly(logrank, LR_TIME, LR_EVENT, LR_GROUP)
    assert out["estimable"] and out["reason"] is None
    assert out["observed"] == 2 and out["observed_reference"] == 2
    assert out["expected"] == pytest.approx(4 / 3, rel=1e-12)
    assert out["expected_reference"] == pytest.approx(8 / 3, rel=1e-12)
    assert out["o_minus_e"] == pytest.approx(2 / 3, rel=1e-12)
    assert out["variance"] == pytest.approx(13 / 18, rel=1e-12)
    assert out["chisq"] == pytest.approx(8 / 13, rel=1e-12)
    assert out["pval"] == pytest.approx(math.erfc(math.sqrt(8 / 13 / 2)), rel=1e-10)  # chi-square(1) tail
    assert out["log_hr_peto"] == pytest.approx(12 / 13, rel=1e-12)
    assert out["se_peto"] == pytest.approx(math.sqrt(18 / 13), rel=1e-12)
    assert out["hr_peto"] == pytest.approx(math.exp(12 / 13), rel=1e-12)
    assert out["df"] == 1 and out["n"] == 4 and out["events"] == 4 and out["n_strata"] == 1


def test_logrank_peto_hazard_ratio_is_exp_of_o_minus_e_over_v_as_r():
    """hr_peto = exp((O - E) / V) with survdiff's O, E and V (R fixture 'ext')."""
    case = R_LOGRANK["ext"]
    out = logrank(EXT["time"], EXT["event"], EXT["group"])
    expected = math.exp((case["obs"][1] - case["exp"][1]) / case["var"])
    assert out["hr_peto"] == pytest.approx(expected, rel=1e-6)
    assert out["estimable"] and out["reason"] is None


def test_logrank_counts_the_strata():
    """n_strata is the number of distinct stratum labels (3 in surv_ext.csv), 1 without strata."""
    stratified = logrank(EXT["time"], EXT["event"], EXT["group"], strata=EXT["stratum"])
    assert stratified["n_strata"] == 3 == len(set(EXT["stratum"]))
    assert stratified["variance"] == pytest.approx(R_LOGRANK["ext_strata"]["var"], rel=1e-6)
    assert logrank(EXT["time"], EXT["event"], EXT["group"])["n_strata"] == 1


def test_logrank_without_patients_reports_one_stratum_and_why_it_stops():
    """No patients at all (empty columns, strata given): the result has the unstratified shape
    (n_strata 1, not 0) and says that the groups are too small."""
    out = logrank([], [], [], strata=[])
    assert out["n_strata"] == 1 and out["n"] == 0 and not out["estimable"]
    assert out["reason"] == "fewer than 2 patients in a group (0 exposed, 0 reference): no log-rank comparison"


def test_logrank_too_small_group_keeps_every_field_and_counts_the_reference_group():
    """One exposed and three reference patients: not estimable, with every documented field
    present (NaN for the statistics, df 1) and the reason counting each group."""
    out = logrank([1.0, 2.0, 3.0, 4.0], [1, 1, 0, 1], [1, 0, 0, 0])
    assert set(out) == LOGRANK_KEYS
    assert all(math.isnan(out[k]) for k in LOGRANK_NUMBERS)
    assert out["df"] == 1 and out["n"] == 4 and out["events"] == 3 and out["n_strata"] == 1
    assert out["estimable"] is False
    assert out["reason"] == "fewer than 2 patients in a group (1 exposed, 3 reference): no log-rank comparison"


def test_logrank_reasons_for_no_events_and_zero_variance():
    no_events = logrank([1.0, 2.0, 3.0, 4.0], [0, 0, 0, 0], [1, 1, 0, 0])
    assert not no_events["estimable"] and set(no_events) == LOGRANK_KEYS
    assert no_events["reason"] == "no events: the log-rank statistic is undefined"
    # the reference patients are censored at months 1 and 2, before the only deaths (exposed, 3 and 4):
    # at each death only exposed patients are at risk, so V = 0
    apart = logrank([3.0, 4.0, 1.0, 2.0], [1, 1, 0, 0], [1, 1, 0, 0])
    assert not apart["estimable"] and apart["variance"] == 0
    assert apart["reason"] == "the log-rank variance is 0 (no event time with patients of both groups at risk)"


def test_logrank_errors_name_the_function_and_the_argument():
    t, e, g = [1.0, 2.0, 3.0, 4.0], [1, 0, 1, 0], [1, 1, 0, 0]
    with pytest.raises(SurvivalError, match=r"^logrank: time has 1 negative value\(s\)"):
        logrank([1.0, -2.0, 3.0, 4.0], e, g)
    with pytest.raises(SurvivalError, match=r"^logrank: event must be 0 or 1; found 2; "
                                            r"recode event as 0/1 \(1 = event\)$"):
        logrank(t, [1, 2, 1, 0], g)
    with pytest.raises(SurvivalError, match=r"^logrank: group must be 0 or 1; found 3; "
                                            r"recode group as 0/1 \(1 = exposed\)$"):
        logrank(t, e, [1, 3, 0, 0])
    with pytest.raises(SurvivalError, match=r"^logrank: strata has 1 missing label\(s\); "
                                            r"give every patient a strata label$"):
        logrank(t, e, g, strata=["a", None, "b", "b"])
    with pytest.raises(SurvivalError, match=r"^logrank: inputs differ in length \(time has 4, event has 4, "
                                            r"group has 4, strata has 3\); pass one value per patient"):
        logrank(t, e, g, strata=["a", "a", "b"])
    with pytest.raises(SurvivalError, match=r"^logrank: inputs differ in length \(time has 4, event has 4, "
                                            r"group has 3\)"):
        logrank(t, e, [1, 1, 0])


# ----------------------------------------------------------------------------- RMST
RMST_KEYS = {"rmst_exposed", "se_exposed", "rmst_reference", "se_reference", "difference", "difference_se",
             "difference_ci_lower", "difference_ci_upper", "difference_pval", "ratio", "ratio_ci_lower",
             "ratio_ci_upper", "ratio_pval", "rmtl_exposed", "rmtl_reference", "rmtl_ratio", "rmtl_ratio_ci_lower",
             "rmtl_ratio_ci_upper", "rmtl_ratio_pval", "tau_max", "tau", "conf_level", "variance_method", "n_exposed",
             "n_reference", "estimable", "reason"}
RMST_NUMBERS = {k for k in RMST_KEYS if k not in ("tau", "conf_level", "variance_method", "n_exposed", "n_reference",
                                                   "estimable", "reason")}


def test_rmst_too_small_group_keeps_every_field_and_counts_the_reference_group():
    """One exposed and three reference patients: not estimable, every documented field present
    (NaN for the estimates), the settings echoed and the reason counting each group."""
    out = rmst_difference([1.0, 2.0, 3.0, 4.0], [1, 1, 0, 1], [1, 0, 0, 0], tau=2, conf_level=0.9)
    assert set(out) == RMST_KEYS
    assert all(math.isnan(out[k]) for k in RMST_NUMBERS)
    assert out["tau"] == 2.0 and out["conf_level"] == 0.9
    assert out["variance_method"].startswith("Greenwood plug-in (Uno et al. 2014; survRM2::rmst1)")
    assert out["n_exposed"] == 1 and out["n_reference"] == 3 and out["estimable"] is False
    assert out["reason"] == "fewer than 2 patients in a group (1 exposed, 3 reference): no RMST comparison"


def test_rmst_estimable_result_has_no_reason_even_with_a_small_standard_error():
    """survRM2 fixture ext_tau12: SE of the difference 0.359 (< 1) is a real SE, so no reason."""
    case = R_RMST["ext_tau12"]
    out = rmst_difference(EXT["time"], EXT["event"], EXT["group"], tau=12)
    assert out["difference_se"] == pytest.approx(case["diff_se"], rel=1e-6) and out["difference_se"] < 1
    assert out["estimable"] and out["reason"] is None
    assert set(out) == RMST_KEYS and out["tau"] == 12.0 and out["conf_level"] == 0.95
    assert out["n_exposed"] == int(EXT["group"].sum()) and out["n_reference"] == int((EXT["group"] == 0).sum())


def test_rmst_last_patient_at_risk_dying_before_tau_adds_no_variance_silently():
    """Exposed deaths at 1 and 2 (the KM drops to 1/2, then to 0), reference censored at 3 and 4;
    tau = 3 (allowed: the shorter curve ends in an event). By hand: RMST exposed = 1 + 1/2 = 1.5,
    var = d/(n(n-d)) * (area from t to tau)^2 = 1/(2*1) * (1/2)^2 = 1/8 at t=1, and 0 at t=2 where
    n = d (survRM2's rule). Reference: RMST 3, variance 0. No numpy warning for the n = d term."""
    out = quietly(rmst_difference, [1.0, 2.0, 3.0, 4.0], [1, 1, 0, 0], [1, 1, 0, 0], tau=3)
    assert out["tau_max"] == 4.0 and out["estimable"] and out["reason"] is None
    assert out["rmst_exposed"] == pytest.approx(1.5, rel=1e-12)
    assert out["se_exposed"] == pytest.approx(math.sqrt(1 / 8), rel=1e-12)
    assert out["rmst_reference"] == pytest.approx(3.0, rel=1e-12) and out["se_reference"] == 0
    assert out["difference"] == pytest.approx(-1.5, rel=1e-12)
    assert out["difference_se"] == pytest.approx(math.sqrt(1 / 8), rel=1e-12)
    assert out["ratio"] == pytest.approx(0.5, rel=1e-12)
    assert out["rmtl_exposed"] == pytest.approx(1.5, rel=1e-12) and out["rmtl_reference"] == 0
    assert math.isnan(out["rmtl_ratio"])  # no time lost in the reference group: the RMTL ratio is undefined


def test_rmst_without_events_before_tau_says_there_is_no_sampling_variance():
    """Every death after tau = 4: both RMSTs are 4 with variance 0. The difference (0) and the
    ratio (1) are given, without CI or p, and the reason says why."""
    out = quietly(rmst_difference, [5.0, 6.0, 7.0, 8.0], [1, 1, 1, 1], [1, 1, 0, 0], tau=4)
    assert out["rmst_exposed"] == 4 and out["rmst_reference"] == 4 and out["difference"] == 0
    assert out["difference_se"] == 0 and math.isnan(out["difference_ci_lower"]) and math.isnan(out["difference_pval"])
    assert out["ratio"] == 1 and math.isnan(out["ratio_ci_lower"]) and math.isnan(out["ratio_pval"])
    assert out["reason"] == "no events before tau in either group: the RMST difference has no sampling variance"


def test_rmst_errors_name_the_function_and_the_argument():
    t, e, g = [1.0, 2.0, 3.0, 4.0], [1, 0, 1, 0], [1, 1, 0, 0]
    with pytest.raises(SurvivalError, match=r"^rmst_difference: tau must be a number of months; got 'x'$"):
        rmst_difference(t, e, g, tau="x")
    with pytest.raises(SurvivalError, match=r"^rmst_difference: conf_level must lie strictly between 0 and 1; "
                                            r"got 1.5; e.g. 0.95 for 95% intervals$"):
        rmst_difference(t, e, g, tau=2, conf_level=1.5)
    with pytest.raises(SurvivalError, match=r"^rmst_difference: time has 1 negative value\(s\)"):
        rmst_difference([1.0, -2.0, 3.0, 4.0], e, g, tau=2)
    with pytest.raises(SurvivalError, match=r"^rmst_difference: event must be 0 or 1; found 2; "
                                            r"recode event as 0/1 \(1 = event\)$"):
        rmst_difference(t, [1, 2, 1, 0], g, tau=2)
    with pytest.raises(SurvivalError, match=r"^rmst_difference: group must be 0 or 1; found 2; "
                                            r"recode group as 0/1 \(1 = exposed\)$"):
        rmst_difference(t, e, [1, 2, 0, 0], tau=2)
    with pytest.raises(SurvivalError, match=r"^rmst_difference: inputs differ in length \(time has 4, event has 4, "
                                            r"group has 3\); pass one value per patient"):
        rmst_difference(t, e, [1, 1, 0], tau=2)


# ----------------------------------------------------------------------------- Kaplan-Meier
KM_KEYS = {"timeline", "survival", "se", "se_log", "ci_lower", "ci_upper", "n_risk", "n_event", "n_censor", "n",
           "events", "median", "median_ci_lower", "median_ci_upper", "conf_type", "conf_level", "estimable", "reason"}


def test_km_median_on_a_flat_stretch_at_one_half_is_the_midpoint():
    """Deaths at 1, 2, 3, 4: S = 3/4, 1/2, 1/4, 0. S is exactly 1/2 from 2 until the next drop at
    3, so survfit's median is (2 + 3) / 2 = 2.5 (survmean's minmin rule)."""
    out = km([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1])
    np.testing.assert_allclose(out["survival"], [0.75, 0.5, 0.25, 0.0], rtol=1e-15)
    assert out["median"] == 2.5


def test_km_median_tolerance_is_strict_as_in_r():
    """survmean keeps S < 0.5 + tol and treats S as 0.5 when |S - 0.5| < tol (tol = sqrt(eps)):
    exactly tol above 0.5 is not below the half; exactly tol below is below it but is not 0.5."""
    times = np.array([1.0, 2.0])
    assert _median(np.array([0.5 + TOL, 0.25]), times) == 2.0
    assert _median(np.array([0.5 - TOL, 0.25]), times) == 1.0
    assert math.isnan(_median(np.array([0.9, 0.6]), times))


def test_km_of_a_curve_that_reaches_zero_is_silent():
    """The last patient at risk dies: Greenwood's d/(n(n-d)) is infinite and S * SE(log S) is
    0 * inf (NaN, as R); no RuntimeWarning or DeprecationWarning reaches the user."""
    out = quietly(km, [1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1])
    assert out["survival"][-1] == 0 and math.isinf(out["se_log"][-1]) and math.isnan(out["se"][-1])
    assert math.isnan(out["ci_lower"][-1]) and math.isnan(out["ci_upper"][-1])


def test_km_counts_are_integers():
    """n_risk / n_event / n_censor are patient counts: integer arrays, with and without times."""
    out = km([1.0, 2.0, 2.0, 3.0], [1, 0, 1, 1])
    at = km([1.0, 2.0, 2.0, 3.0], [1, 0, 1, 1], times=[0.5, 2.5])
    for res in (out, at):
        for k in ("n_risk", "n_event", "n_censor"):
            assert res[k].dtype == np.int64, k
    assert out["n_risk"].tolist() == [4, 3, 1] and at["n_risk"].tolist() == [4, 1]


def test_km_at_requested_times_gives_the_log_se_from_zero_before_the_first_event():
    """Deaths at 2 and 6, censorings at 4 and 8; times (5, 1) are sorted. At 1: S = 1, SE(log S) = 0;
    at 5: S = 3/4, SE(log S) = sqrt(1/(4*3))."""
    out = km([2.0, 4.0, 6.0, 8.0], [1, 0, 1, 0], times=[5.0, 1.0])
    assert out["timeline"].tolist() == [1.0, 5.0]
    assert out["survival"].tolist() == [1.0, 0.75]
    assert out["se_log"].dtype == float
    assert out["se_log"][0] == 0.0 and out["se_log"][1] == pytest.approx(math.sqrt(1 / 12), rel=1e-12)
    assert out["n_risk"].tolist() == [4, 2] and out["n_event"].tolist() == [0, 1] and out["n_censor"].tolist() == [0, 1]


def test_km_requested_time_before_a_single_observed_time():
    """All follow-up at month 5 (one death, one censoring): S(1) = 1 before it, S(6) = 1/2 after,
    with nobody left at risk at 6."""
    out = km([5.0, 5.0], [1, 0], times=[1.0, 6.0])
    assert out["survival"].tolist() == [1.0, 0.5]
    assert out["se"][0] == 0 and out["ci_lower"][0] == 1 and out["ci_upper"][0] == 1
    assert out["n_risk"].tolist() == [2, 0] and out["n_event"].tolist() == [0, 1]


def test_km_without_patients_is_not_estimable_and_has_empty_curves():
    out = km([], [])
    assert set(out) == KM_KEYS and out["n"] == 0 and out["events"] == 0
    assert out["estimable"] is False and out["reason"] == "no patients"
    for k in ("timeline", "survival", "se", "se_log", "n_risk", "n_event", "n_censor"):
        assert len(out[k]) == 0, k
    assert math.isnan(out["median"]) and math.isnan(out["median_ci_lower"]) and math.isnan(out["median_ci_upper"])
    at = km([], [], times=[2.0, 1.0])
    assert at["estimable"] is False and at["reason"] == "no patients"
    assert at["survival"].dtype == float and at["survival"].tolist() == [1.0, 1.0]
    assert at["se"].tolist() == [0.0, 0.0] and at["se_log"].tolist() == [0.0, 0.0]
    assert at["ci_lower"].tolist() == [1.0, 1.0] and at["n_risk"].tolist() == [0, 0]


def test_km_result_fields_and_reason_for_one_or_more_patients():
    one = km([3.0], [1], conf_level=0.9)
    assert set(one) == KM_KEYS and one["estimable"] and one["reason"] is None
    assert one["n"] == 1 and one["events"] == 1 and one["conf_level"] == 0.9 and one["conf_type"] == "log-log"
    assert km([1.0, 2.0], [0, 1])["reason"] is None


def test_km_confint_at_zero_survival_is_missing_whatever_the_se():
    """survfit_confint: S = 0 gives NA limits (NaN here), also with a finite SE; S = 1 gives (1, 1)
    on the log-log scale."""
    lower, upper = confint(np.array([0.0, 0.5, 1.0]), np.array([0.1, 0.1, 0.0]), "log-log", 0.95)
    assert math.isnan(lower[0]) and math.isnan(upper[0])
    assert 0 < lower[1] < 0.5 < upper[1] < 1
    assert lower[2] == 1 and upper[2] == 1


@pytest.mark.parametrize("conf_type", ["log", "log-log"])
def test_km_confint_with_an_enormous_se_spans_zero_to_one_silently(conf_type):
    """An SE of log S so large that the interval covers everything: limits 0 and 1 (the upper
    clipped at 1), computed without an overflow warning."""
    lower, upper = quietly(confint, np.array([0.5]), np.array([1000.0]), conf_type, 0.95)
    assert lower[0] == 0 and upper[0] == 1


def test_km_errors_name_the_function_and_the_argument():
    t, e = [1.0, 2.0, 3.0], [1, 0, 1]
    with pytest.raises(SurvivalError, match=r"^km: conf_level must lie strictly between 0 and 1; got 0; e.g. 0.95"):
        km(t, e, conf_level=0)
    with pytest.raises(SurvivalError, match=r"^km: event must be 0 or 1; found 2; recode event as 0/1 \(1 = event\)$"):
        km(t, [1, 2, 1])
    with pytest.raises(SurvivalError, match=r"^km: inputs differ in length \(time has 3, event has 2\); "
                                            r"pass one value per patient"):
        km(t, [1, 0])
    with pytest.raises(SurvivalError, match=r"^km: times has 1 negative value\(s\) \(first: -1 at position 0\); "
                                            r"times are months since the time origin and must be >= 0$"):
        km(t, e, times=[-1.0, 2.0])
