"""Rules of the one-stage IPD models (her2meta.onestage) that the mutation run found untested (issue 18).

Expected numbers come from hand arithmetic on 2x2 tables (logistic regression with one binary
covariate fits each table exactly: the coefficient is the log odds ratio, the intercept the log
odds of the x = 0 group, the variance Woolf's 1/a + 1/b + 1/c + 1/d), from R (glm deviance and
coxph on tests/reference/survival) or from the textbook Wald formulas; none is computed by the
code under test.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2meta.onestage import OneStageError, _logistic_study_intercepts, stratified_cox, stratified_logistic

HERE = Path(__file__).parent / "reference" / "survival"
REF = json.loads((HERE / "survival_extended_fixtures.json").read_text())["onestage"]
IPD = pd.read_csv(HERE / "onestage_ipd.csv")
COVS = REF["covariates"]
COX2 = json.loads((HERE / "cox_fixtures.json").read_text())
TWO = pd.read_csv(HERE / "two_groups.csv")

Z95 = 1.959963984540054   # standard normal 97.5% quantile
Z90 = 1.6448536269514722  # 95% quantile


def full(msg: str) -> str:
    """A pattern that matches exactly this message."""
    return "^" + re.escape(msg) + "$"


def table(study: str, cells) -> pd.DataFrame:
    """Patients of one study from its 2x2 table: cells = ((events, n) at x = 0, (events, n) at x = 1)."""
    rows = []
    for x, (e, n) in enumerate(cells):
        rows += [(study, x, 1)] * e + [(study, x, 0)] * (n - e)
    return pd.DataFrame(rows, columns=["study_id", "treat", "pcr"])


# Two studies with the same odds ratio 3: A (10/40 vs 20/40), B (5/10 vs 15/20).
TABLES = pd.concat([table("A", ((10, 40), (20, 40))), table("B", ((5, 10), (15, 20)))], ignore_index=True)
LOG_OR = math.log(3.0)
# each study's table is fitted exactly, so the profile information of beta is the sum of 1 / Woolf variances
WOOLF_A = 1 / 10 + 1 / 30 + 1 / 20 + 1 / 20
WOOLF_B = 1 / 5 + 1 / 5 + 1 / 15 + 1 / 5
SE_OR = (1 / WOOLF_A + 1 / WOOLF_B) ** -0.5
# log-likelihood of the saturated fit: every cell at its observed proportion
LOGLIK_TABLES = (10 * math.log(0.25) + 30 * math.log(0.75) + 40 * math.log(0.5)
                 + 10 * math.log(0.5) + 15 * math.log(0.75) + 5 * math.log(0.25))


def wald_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


# ----------------------------------------------------------------------------- error messages

def test_outcome_values_other_than_0_1_are_listed_sorted_in_the_message():
    d = TABLES.assign(pcr=TABLES["pcr"].astype(float))
    d.loc[[0, 1, 2, 3], "pcr"] = [2.0, 0.5, 3.0, 2.0]
    with pytest.raises(OneStageError, match=full("stratified_logistic: outcome column 'pcr' must be 0 or 1; "
                                                 "found 0.5, 2, 3")):
        stratified_logistic(d, "pcr", ["treat"])


def test_outcome_message_lists_at_most_five_bad_values():
    d = TABLES.assign(pcr=TABLES["pcr"].astype(float))
    d.loc[[0, 1, 2, 3, 4, 5], "pcr"] = [5.0, 4.0, 3.0, 2.0, 0.5, -1.0]
    with pytest.raises(OneStageError, match=full("stratified_logistic: outcome column 'pcr' must be 0 or 1; "
                                                 "found -1, 0.5, 2, 3, 4")):
        stratified_logistic(d, "pcr", ["treat"], method="conditional")


def test_outcome_coded_as_text_is_refused_with_a_hint_to_code_it_0_1():
    d = TABLES.assign(pcr=np.where(TABLES["pcr"] == 1, "yes", "no"))
    with pytest.raises(OneStageError, match=full("stratified_logistic: outcome column 'pcr' must be coded 0/1")):
        stratified_logistic(d, "pcr", ["treat"])


@pytest.mark.parametrize("column, role", [("pcr", "outcome"), ("study_id", "study")])
def test_logistic_missing_outcome_or_study_is_named_by_role(column, role):
    d = TABLES.assign(**{column: TABLES[column].astype(object).where(TABLES.index != 3)})
    with pytest.raises(OneStageError, match=full(f"stratified_logistic: {role} column {column!r} has 1 missing "
                                                 "value(s); drop those patients first")):
        stratified_logistic(d, "pcr", ["treat"])


def test_logistic_errors_name_the_function():
    with pytest.raises(OneStageError, match=r"^stratified_logistic: data has no column\(s\) \['age'\]"):
        stratified_logistic(TABLES, "pcr", ["treat", "age"])
    with pytest.raises(OneStageError, match=r"^stratified_logistic: method must be one of"):
        stratified_logistic(TABLES, "pcr", ["treat"], method="random")
    with pytest.raises(ValueError, match=full("stratified_logistic: conf_level must lie strictly between 0 and 1; "
                                              "got 1.5; e.g. 0.95 for 95% intervals")):
        stratified_logistic(TABLES, "pcr", ["treat"], conf_level=1.5)


def test_covariate_errors_tell_what_to_do():
    d = TABLES.assign(treat=TABLES["treat"].where(TABLES.index != 4))
    with pytest.raises(OneStageError, match=full("stratified_logistic: covariate 'treat' has 1 missing value(s); "
                                                 "drop or impute them first (complete-case analysis)")):
        stratified_logistic(d, "pcr", ["treat"])
    with pytest.raises(OneStageError, match=full("stratified_logistic: data must be a pandas DataFrame with one row "
                                                 "per patient; got ndarray")):
        stratified_logistic(TABLES.to_numpy(), "pcr", ["treat"])
    with pytest.raises(OneStageError, match=full("stratified_logistic: covariate 'treat' has infinite values")):
        stratified_logistic(TABLES.assign(treat=TABLES["treat"].replace(1, np.inf)), "pcr", ["treat"])


def test_a_single_covariate_may_be_named_by_a_string():
    r = stratified_logistic(TABLES, "pcr", "treat")
    assert list(r.coef.index) == ["treat"] and r.coef["treat"] == pytest.approx(LOG_OR, rel=1e-12)


def cox_frame() -> pd.DataFrame:
    return TWO.assign(study_id="S1")


@pytest.mark.parametrize("column, role", [("time", "time"), ("event", "event"), ("study_id", "study")])
def test_cox_missing_time_event_or_study_is_named_by_role(column, role):
    d = cox_frame()
    d[column] = d[column].astype(object).where(d.index != 2)
    with pytest.raises(OneStageError, match=full(f"stratified_cox: {role} column {column!r} has 1 missing "
                                                 "value(s); drop those patients first")):
        stratified_cox(d, "time", "event", ["x"])


def test_cox_errors_name_the_function():
    with pytest.raises(OneStageError, match=r"^stratified_cox: data has no column\(s\) \['age'\]"):
        stratified_cox(cox_frame(), "time", "event", ["x", "age"])
    with pytest.raises(ValueError, match=full("stratified_cox: conf_level must lie strictly between 0 and 1; "
                                              "got 0; e.g. 0.95 for 95% intervals")):
        stratified_cox(cox_frame(), "time", "event", ["x"], conf_level=0)


# ----------------------------------------------------------------------------- reasons of non-estimable models

def test_covariate_constant_within_studies_reason_names_the_study_intercepts():
    d = TABLES.assign(region=TABLES["study_id"].map({"A": 1, "B": 0}))
    r = stratified_logistic(d, "pcr", ["treat", "region"])
    assert r.reason == ("covariate 'region' does not vary within any study: its effect is confounded with the "
                        "study intercepts")


@pytest.mark.parametrize("method", ["fixed_intercepts", "conditional"])
def test_no_study_with_both_outcomes_gives_the_full_reason(method):
    r = stratified_logistic(TABLES.assign(pcr=1), "pcr", ["treat"], method=method)
    assert r.reason == "no study has both outcomes (0 and 1): nothing to estimate"
    assert r.dropped_studies == ["A", "B"] and r.n == 0 and r.k_studies == 0 and r.events == 0


def test_complete_separation_reasons():
    """Outcome = treatment in every study: the fixed-intercepts fit points to the conditional method;
    the conditional fit (treatment and HR) names plain separation: its Newton iterations end with an
    information matrix that is no longer positive definite."""
    d = IPD.assign(pcr=IPD["treat"])
    r = stratified_logistic(d, "pcr", ["treat", "hr"])
    assert r.reason == ("the likelihood has no finite maximum (separation: fitted probabilities of 0 or 1); "
                        "consider method='conditional' or exact methods")
    r = stratified_logistic(d, "pcr", ["treat", "hr"], method="conditional")
    assert r.reason == "the conditional likelihood has no finite maximum (separation)"
    assert (r.n, r.k_studies, r.events, r.method) == (580, 4, int(IPD["treat"].sum()), "conditional")


def quasi_separated() -> pd.DataFrame:
    """Every treated patient reached pCR, controls had both outcomes (quasi-complete separation)."""
    rng = np.random.default_rng(4)
    frames = []
    for i, n in enumerate((150, 120, 90)):
        treat = rng.integers(0, 2, n)
        hr = rng.integers(0, 2, n)
        pcr = np.where(treat == 1, 1, (rng.random(n) < 0.3 + 0.1 * hr).astype(int))
        frames.append(pd.DataFrame({"study_id": f"S{i + 1}", "treat": treat, "hr": hr, "pcr": pcr}))
    return pd.concat(frames, ignore_index=True)


def test_conditional_quasi_complete_separation_is_named_and_counts_are_kept():
    d = quasi_separated()
    r = stratified_logistic(d, "pcr", ["treat", "hr"], method="conditional", conf_level=0.9)
    assert not r.estimable
    assert r.reason == ("the conditional likelihood has no finite maximum (quasi-complete separation: a covariate "
                        "predicts the outcome perfectly within studies)")
    assert list(r.coef.index) == ["treat", "hr"] and r.coef.isna().all()
    assert r.n == len(d) and r.k_studies == 3 and r.events == int(d["pcr"].sum()) and r.conf_level == 0.9


def test_non_estimable_result_keeps_counts_level_and_nan_estimates_per_covariate():
    """A non-estimable model still reports what was used (n, studies, events, method, level) and a
    NaN per covariate for every estimate, so tables and JSON keep their rows."""
    d = TABLES.assign(t2=1 - TABLES["treat"])
    for method in ("fixed_intercepts", "conditional"):
        r = stratified_logistic(d, "pcr", ["treat", "t2"], method=method, conf_level=0.9)
        assert r.estimable is False and "collinear" in r.reason
        assert (r.n, r.k_studies, r.events, r.method, r.conf_level) == (110, 2, 50, method, 0.9)
        for f in ("coef", "se", "ci_lb", "ci_ub", "pval"):
            s = getattr(r, f)
            assert isinstance(s, pd.Series) and list(s.index) == ["treat", "t2"] and s.dtype == float
            assert s.isna().all()
        assert r.to_dict()["coef"] == {"treat": None, "t2": None} and r.to_dict()["loglik"] is None


# ----------------------------------------------------------------------------- fixed intercepts, by hand

def test_common_odds_ratio_and_study_intercepts_from_the_2x2_tables():
    """Two studies with the same odds ratio 3: beta = log 3, each study intercept is the log odds of
    its x = 0 group (A: 10/30, B: 5/5), the SE comes from the summed Woolf informations."""
    r = stratified_logistic(TABLES, "pcr", ["treat"])
    assert r.estimable and r.converged is True
    assert r.coef["treat"] == pytest.approx(LOG_OR, rel=1e-12)
    assert r.se["treat"] == pytest.approx(SE_OR, rel=1e-10)
    assert r.study_intercepts.to_dict() == pytest.approx({"A": math.log(1 / 3), "B": 0.0}, abs=1e-12)
    assert r.study_intercepts.index.name == "study_id"
    assert r.loglik == pytest.approx(LOGLIK_TABLES, rel=1e-12)
    assert r.ci_lb["treat"] == pytest.approx(LOG_OR - Z95 * SE_OR, rel=1e-10)
    assert r.pval["treat"] == pytest.approx(wald_p(LOG_OR / SE_OR), rel=1e-8)


def test_study_intercepts_are_indexed_by_the_study_column_given():
    r = stratified_logistic(TABLES.rename(columns={"study_id": "trial"}), "pcr", ["treat"], study_col="trial")
    assert r.study_intercepts.index.name == "trial" and list(r.study_intercepts.index) == ["A", "B"]


def test_interval_uses_the_requested_level():
    r = stratified_logistic(TABLES, "pcr", ["treat"], conf_level=0.9)
    assert r.conf_level == 0.9
    assert r.ci_ub["treat"] == pytest.approx(LOG_OR + Z90 * SE_OR, rel=1e-10)


def test_no_effect_gives_beta_zero_and_the_observed_log_odds():
    """Same event rate in both arms of each study (odds ratio 1): beta = 0 and the intercepts are
    the studies' observed log odds, log(8/32) and log(30/10)."""
    d = pd.concat([table("A", ((4, 20), (4, 20))), table("B", ((15, 20), (15, 20)))], ignore_index=True)
    r = stratified_logistic(d, "pcr", ["treat"])
    assert r.coef["treat"] == pytest.approx(0.0, abs=1e-12)
    assert r.study_intercepts.to_dict() == pytest.approx({"A": math.log(8 / 32), "B": math.log(30 / 10)}, abs=1e-12)
    woolf = [1 / 4 + 1 / 16 + 1 / 4 + 1 / 16, 1 / 15 + 1 / 5 + 1 / 15 + 1 / 5]
    assert r.se["treat"] == pytest.approx(sum(1 / v for v in woolf) ** -0.5, rel=1e-10)


def test_fixed_intercepts_loglik_is_minus_half_the_glm_deviance():
    """For 0/1 outcomes the saturated log-likelihood is 0, so glm's deviance is -2 log L."""
    r = stratified_logistic(IPD, "pcr", COVS)
    assert r.loglik == pytest.approx(-REF["glm_tight"]["deviance"] / 2, rel=1e-10)


def test_reaching_the_iteration_limit_is_not_convergence():
    x = TABLES[["treat"]].to_numpy(float)
    y = TABLES["pcr"].to_numpy(float)
    codes = np.unique(TABLES["study_id"], return_inverse=True)[1]
    assert _logistic_study_intercepts(x, y, codes, 2, max_iter=1)["converged"] is False
    assert _logistic_study_intercepts(x, y, codes, 2)["converged"] is True


@pytest.mark.parametrize("method", ["fixed_intercepts", "conditional"])
def test_study_where_every_patient_reached_pcr_is_left_out_and_noted(method):
    d = pd.concat([TABLES, table("C", ((3, 3), (2, 2))), table("D", ((0, 2), (0, 4)))], ignore_index=True)
    r = stratified_logistic(d, "pcr", ["treat"], method=method)
    assert r.dropped_studies == ["C", "D"]
    assert r.note == "left out (all patients with the same outcome): C, D"
    assert r.n == 110 and r.k_studies == 2 and r.events == 50
    if method == "fixed_intercepts":
        assert r.coef["treat"] == pytest.approx(LOG_OR, rel=1e-12)
        assert list(r.study_intercepts.index) == ["A", "B"]


@pytest.mark.parametrize("method", ["fixed_intercepts", "conditional"])
def test_no_note_when_no_study_is_left_out(method):
    r = stratified_logistic(TABLES, "pcr", ["treat"], method=method)
    assert r.note is None and r.dropped_studies == []


def test_fitted_probability_numerically_one_makes_the_model_non_estimable():
    """As glm's warning 'fitted probabilities numerically 0 or 1': a patient whose fitted pCR
    probability is 1 to machine precision (here an outlier at x = 40 with pCR) makes the
    fixed-intercepts model non-estimable, just as one at probability 0 does."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    y = (rng.random(200) < 1 / (1 + np.exp(-x))).astype(int)
    d = pd.DataFrame({"study_id": np.where(np.arange(200) < 100, "A", "B"), "x": x, "pcr": y})
    assert stratified_logistic(d, "pcr", ["x"]).estimable
    hi = pd.concat([d, pd.DataFrame({"study_id": ["A"], "x": [40.0], "pcr": [1]})], ignore_index=True)
    lo = pd.concat([d, pd.DataFrame({"study_id": ["A"], "x": [-40.0], "pcr": [0]})], ignore_index=True)
    for data in (hi, lo):
        r = stratified_logistic(data, "pcr", ["x"])
        assert not r.estimable and "fitted probabilities of 0 or 1" in r.reason


@pytest.mark.parametrize("method", ["fixed_intercepts", "conditional"])
def test_coefficient_does_not_depend_on_the_covariates_unit(method):
    """Age in units of 1e-7 years: the coefficient is 1e7 times the per-year one (R glm / clogit),
    and the model stays estimable (the separation check is on the effect per SD, not per unit)."""
    r = stratified_logistic(IPD.assign(age=IPD["age"] * 1e-7), "pcr", COVS, method=method)
    ref = REF["glm_tight"] if method == "fixed_intercepts" else REF["clogit_tight"]
    assert r.estimable
    assert r.coef["age"] * 1e-7 == pytest.approx(ref["coef"][3], rel=1e-6)
    assert r.coef["treat"] == pytest.approx(ref["coef"][0], rel=1e-6)


@pytest.mark.parametrize("method", ["fixed_intercepts", "conditional"])
def test_boolean_covariates_count_as_0_1(method):
    d = IPD.assign(treat=IPD["treat"].astype(bool), hr=IPD["hr"].astype(bool))
    r = stratified_logistic(d, "pcr", COVS, method=method)
    ref = REF["glm_tight"] if method == "fixed_intercepts" else REF["clogit_tight"]
    np.testing.assert_allclose(r.coef.to_numpy(), ref["coef"], rtol=1e-6)


def test_separated_fit_gives_its_reason_without_numpy_warnings():
    d = TABLES.assign(pcr=TABLES["treat"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = stratified_logistic(d, "pcr", ["treat"])
    assert not r.estimable


# ----------------------------------------------------------------------------- conditional result fields

def test_conditional_result_reports_what_was_fitted():
    r = stratified_logistic(IPD, "pcr", COVS, method="conditional", conf_level=0.9)
    assert r.estimable and r.converged is True and r.method == "conditional"
    assert (r.n, r.k_studies, r.events) == (580, 4, int(IPD["pcr"].sum()))
    assert r.conf_level == 0.9 and r.note is None and r.study_intercepts is None
    se = np.asarray(REF["clogit_tight"]["se"])
    np.testing.assert_allclose(r.ci_ub.to_numpy(), np.asarray(REF["clogit_tight"]["coef"]) + Z90 * se, rtol=1e-6)


# ----------------------------------------------------------------------------- stratified Cox

@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_one_study_cox_is_coxph_with_the_ties_method_asked(ties):
    r = stratified_cox(cox_frame(), "time", "event", ["x"], ties=ties, conf_level=0.9)
    assert r.coef["x"] == pytest.approx(COX2[ties]["coef"], rel=1e-6)
    assert r.se["x"] == pytest.approx(COX2[ties]["se"], rel=1e-6)
    assert r.converged is True and r.conf_level == 0.9 and r.k_studies == 1
    assert r.ci_lb["x"] == pytest.approx(COX2[ties]["coef"] - Z90 * COX2[ties]["se"], rel=1e-6)
    assert (r.n, r.events) == (len(TWO), int(TWO["event"].sum()))


def test_non_estimable_cox_keeps_counts_and_level():
    d = cox_frame().assign(event=0)
    r = stratified_cox(d, "time", "event", ["x"], conf_level=0.9)
    assert not r.estimable and r.n == len(d) and r.events == 0 and r.conf_level == 0.9
    assert r.method == "stratified_cox" and list(r.se.index) == ["x"] and r.se.isna().all()


# ----------------------------------------------------------------------------- to_dict

def test_to_dict_carries_every_field_with_nan_as_none():
    r = stratified_logistic(TABLES, "pcr", ["treat"])
    d = r.to_dict()
    assert set(d) == {"coef", "se", "ci_lb", "ci_ub", "pval", "n", "k_studies", "method", "estimable", "reason",
                      "events", "loglik", "converged", "conf_level", "robust", "naive_se", "dropped_studies",
                      "study_intercepts", "note"}
    for f in ("coef", "se", "ci_lb", "ci_ub", "pval"):
        assert d[f] == {"treat": float(getattr(r, f)["treat"])}
    assert d["coef"]["treat"] == pytest.approx(LOG_OR, rel=1e-12)
    assert d["study_intercepts"] == pytest.approx({"A": math.log(1 / 3), "B": 0.0}, abs=1e-12)
    assert (d["n"], d["k_studies"], d["events"], d["method"], d["estimable"], d["reason"]) == \
        (110, 2, 50, "fixed_intercepts", True, None)
    assert d["loglik"] == pytest.approx(LOGLIK_TABLES, rel=1e-12)
    assert d["converged"] is True and d["conf_level"] == 0.95 and d["robust"] is False
    assert d["naive_se"] is None and d["dropped_studies"] == [] and d["note"] is None
    json.dumps(d, allow_nan=False)


def test_to_dict_of_robust_cox_keeps_the_naive_se_and_a_dropped_study_note():
    r = stratified_cox(IPD, "time", "event", COVS, robust=True)
    d = r.to_dict()
    assert d["robust"] is True
    np.testing.assert_allclose([d["naive_se"][c] for c in COVS], REF["cox_robust"]["naive_se"], rtol=1e-6)
    np.testing.assert_allclose([d["se"][c] for c in COVS], REF["cox_robust"]["se"], rtol=1e-6)
    dl = stratified_logistic(pd.concat([TABLES, table("C", ((3, 3), (2, 2)))], ignore_index=True),
                             "pcr", ["treat"]).to_dict()
    assert dl["dropped_studies"] == ["C"] and dl["note"] == "left out (all patients with the same outcome): C"


def shifted_level_frame(shift: float) -> pd.DataFrame:
    """Two studies; x has SD 1 within each study and effect 0.7 per unit; study B's x is moved by `shift`."""
    rng = np.random.default_rng(7)
    b = np.arange(200) >= 100
    x = rng.normal(size=200)
    y = (rng.random(200) < 1 / (1 + np.exp(-0.7 * x))).astype(int)
    return pd.DataFrame({"study_id": np.where(b, "B", "A"), "x": x + shift * b, "pcr": y})


@pytest.mark.parametrize("method", ["fixed_intercepts", "conditional"])
def test_covariate_level_differing_between_studies_is_absorbed_by_the_study_intercepts(method):
    """Moving one study's covariate by a constant is the same model (its intercept absorbs the
    shift), so the estimate must not change, however far apart the studies' levels are (an
    identity the code must keep). Found by the mutation run: the separation check used the
    covariate's SD across studies (here ~50), so a moderate effect looked like separation."""
    ref = stratified_logistic(shifted_level_frame(0.0), "pcr", ["x"], method=method)
    r = stratified_logistic(shifted_level_frame(100.0), "pcr", ["x"], method=method)
    assert ref.estimable and r.estimable, r.reason
    assert r.coef["x"] == pytest.approx(ref.coef["x"], rel=1e-8)
    assert r.se["x"] == pytest.approx(ref.se["x"], rel=1e-8)


def test_covariate_far_from_zero_gives_the_same_coefficients_as_glm():
    """Age recorded as 1e6 + years (a level far from zero) is the same model: the study
    intercepts absorb the shift, so every coefficient is R glm's on plain age (the SEs to 1e-5: the
    shift costs a few digits in the cancellation of the information matrix)."""
    r = stratified_logistic(IPD.assign(age=IPD["age"] + 1e6), "pcr", COVS)
    assert r.estimable and r.converged
    np.testing.assert_allclose(r.coef.to_numpy(), REF["glm_tight"]["coef"], rtol=1e-6)
    np.testing.assert_allclose(r.se.to_numpy(), REF["glm_tight"]["se"], rtol=1e-5)
