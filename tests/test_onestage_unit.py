"""her2meta.onestage: input errors, non-estimable models, the exact conditional likelihood."""

from __future__ import annotations

import json
import time as _time

import numpy as np
import pandas as pd
import pytest

from her2meta.onestage import OneStageError, OneStageResult, stratified_cox, stratified_logistic
from her2meta.survival import SurvivalError
from her2meta.survstats import condlogit


def pooled(n_per=(150, 120, 90), seed=4):
    rng = np.random.default_rng(seed)
    frames = []
    for i, n in enumerate(n_per):
        treat = rng.integers(0, 2, n)
        hr = rng.integers(0, 2, n)
        lin = -0.3 + 0.2 * i + 0.8 * treat - 0.9 * hr
        frames.append(pd.DataFrame({"study_id": f"S{i + 1}", "treat": treat, "hr": hr, "treat_x_hr": treat * hr,
                                    "age": np.round(rng.normal(50, 9, n), 1),
                                    "pcr": (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int),
                                    "time": np.ceil(rng.exponential(40, n)),
                                    "event": (rng.random(n) < 0.4).astype(int)}))
    return pd.concat(frames, ignore_index=True)


P = pooled()
COVS = ["treat", "hr", "treat_x_hr"]


def test_one_stage_error_is_a_survival_error_and_value_error():
    assert issubclass(OneStageError, SurvivalError) and issubclass(OneStageError, ValueError)


@pytest.mark.parametrize("method", ["fixed_intercepts", "conditional"])
def test_logistic_input_errors(method):
    with pytest.raises(OneStageError, match="DataFrame"):
        stratified_logistic(P.to_numpy(), "pcr", COVS, method=method)
    with pytest.raises(OneStageError, match="no column"):
        stratified_logistic(P, "pcr", ["treat", "nope"], method=method)
    with pytest.raises(OneStageError, match="no column"):
        stratified_logistic(P, "pcr", COVS, study_col="trial", method=method)
    with pytest.raises(OneStageError, match="0 or 1"):
        stratified_logistic(P.assign(pcr=P["pcr"] * 2), "pcr", COVS, method=method)
    with pytest.raises(OneStageError, match="missing"):
        stratified_logistic(P.assign(hr=P["hr"].where(P.index != 5)), "pcr", COVS, method=method)
    with pytest.raises(OneStageError, match="missing"):
        stratified_logistic(P.assign(study_id=P["study_id"].where(P.index != 5)), "pcr", COVS, method=method)
    with pytest.raises(OneStageError, match="not numeric"):
        stratified_logistic(P.assign(arm=np.where(P["treat"] == 1, "T", "C")), "pcr", ["arm"], method=method)
    with pytest.raises(OneStageError, match="no covariates"):
        stratified_logistic(P, "pcr", [], method=method)
    with pytest.raises(OneStageError, match="twice"):
        stratified_logistic(P, "pcr", ["treat", "treat"], method=method)


def test_method_and_level_errors():
    with pytest.raises(OneStageError, match="method"):
        stratified_logistic(P, "pcr", COVS, method="random_intercepts")
    with pytest.raises(SurvivalError, match="conf_level"):
        stratified_logistic(P, "pcr", COVS, conf_level=1.5)
    with pytest.raises(SurvivalError, match="negative"):
        stratified_cox(P.assign(time=-P["time"]), "time", "event", COVS)
    with pytest.raises(OneStageError, match="no column"):
        stratified_cox(P, "months", "event", COVS)


@pytest.mark.parametrize("method", ["fixed_intercepts", "conditional"])
def test_logistic_non_estimable(method):
    # a covariate constant within every study
    d = P.assign(region=P["study_id"].map({"S1": 1, "S2": 0, "S3": 1}))
    r = stratified_logistic(d, "pcr", ["treat", "region"], method=method)
    assert not r.estimable and "does not vary within any study" in r.reason and r.coef.isna().all()
    # collinear covariates
    r = stratified_logistic(P.assign(t2=1 - P["treat"]), "pcr", ["treat", "t2"], method=method)
    assert not r.estimable and "collinear" in r.reason
    # perfect separation: the outcome is the treatment
    r = stratified_logistic(P.assign(pcr=P["treat"]), "pcr", ["treat", "hr"], method=method)
    assert not r.estimable and "separation" in r.reason
    # no study with both outcomes
    r = stratified_logistic(P.assign(pcr=0), "pcr", COVS, method=method)
    assert not r.estimable and "no study" in r.reason and r.k_studies == 0 and len(r.dropped_studies) == 3
    json.dumps(r.to_dict())


def test_stratified_cox_non_estimable_and_robust_fields():
    r = stratified_cox(P.assign(event=0), "time", "event", COVS)
    assert not r.estimable and "no events" in r.reason
    r = stratified_cox(P, "time", "event", COVS, robust=True)
    assert r.estimable and r.robust and r.naive_se is not None and r.method == "stratified_cox"
    assert stratified_cox(P, "time", "event", COVS).naive_se is None


def test_result_shape_and_to_dict():
    r = stratified_logistic(P, "pcr", COVS)
    assert isinstance(r, OneStageResult)
    for f in ("coef", "se", "ci_lb", "ci_ub", "pval"):
        assert list(getattr(r, f).index) == COVS
    assert (r.ci_lb < r.coef).all() and (r.coef < r.ci_ub).all()
    assert r.n == len(P) and r.k_studies == 3 and r.events == int(P["pcr"].sum())
    d = r.to_dict()
    json.dumps(d)
    assert set(d) >= {"coef", "se", "ci_lb", "ci_ub", "pval", "n", "k_studies", "method", "estimable", "reason"}
    r90 = stratified_logistic(P, "pcr", COVS, conf_level=0.90)
    assert (r90.ci_ub - r90.ci_lb < r.ci_ub - r.ci_lb).all()


def test_inputs_not_modified():
    d = P.copy(deep=True)
    stratified_logistic(d, "pcr", COVS, method="conditional")
    stratified_logistic(d, "pcr", COVS)
    stratified_cox(d, "time", "event", COVS, robust=True)
    pd.testing.assert_frame_equal(d, P)


def test_fixed_and_conditional_agree_closely_with_large_studies():
    r1 = stratified_logistic(P, "pcr", COVS, method="fixed_intercepts")
    r2 = stratified_logistic(P, "pcr", COVS, method="conditional")
    np.testing.assert_allclose(r1.coef, r2.coef, rtol=0.05, atol=0.02)


def test_exact_conditional_likelihood_equals_statsmodels():
    """Same likelihood and score as statsmodels' ConditionalLogit (which is only usable for
    small strata: its recursion depth is the stratum size)."""
    from statsmodels.discrete.conditional_models import ConditionalLogit

    rng = np.random.default_rng(3)
    n = 150
    s = rng.integers(0, 6, n)
    x = rng.normal(size=(n, 2))
    y = (rng.random(n) < 0.65).astype(int)  # some strata with more cases than controls (swapped internally)
    model = ConditionalLogit(y, x, groups=s)
    strata = condlogit.prepare(x, y, s)
    for b in (np.zeros(2), np.array([0.5, -0.3]), np.array([2.0, 1.0])):
        ll, u, info = condlogit.evaluate(strata, b)
        assert ll == pytest.approx(model.loglike(b), rel=1e-12)
        np.testing.assert_allclose(u, model.score(b), rtol=1e-10, atol=1e-12)
        # the analytic information is minus the Hessian of the log-likelihood
        eps = 1e-5
        num = np.column_stack([(condlogit.evaluate(strata, b + eps * np.eye(2)[j])[1]
                                - condlogit.evaluate(strata, b - eps * np.eye(2)[j])[1]) / (2 * eps) for j in range(2)])
        np.testing.assert_allclose(info, -num, rtol=1e-6, atol=1e-8)


def test_exact_conditional_logistic_handles_large_studies():
    rng = np.random.default_rng(11)
    n = 4000
    d = pd.DataFrame({"study_id": rng.choice([f"S{i}" for i in range(11)], n, p=np.r_[0.3, np.full(10, 0.07)]),
                      "treat": rng.integers(0, 2, n), "hr": rng.integers(0, 2, n), "age": rng.normal(50, 10, n)})
    d["treat_x_hr"] = d["treat"] * d["hr"]
    d["pcr"] = (rng.random(n) < 1 / (1 + np.exp(-(0.7 * d["treat"] - d["hr"])))).astype(int)
    start = _time.perf_counter()
    r = stratified_logistic(d, "pcr", ["treat", "hr", "treat_x_hr", "age"], method="conditional")
    elapsed = _time.perf_counter() - start
    f = stratified_logistic(d, "pcr", ["treat", "hr", "treat_x_hr", "age"], method="fixed_intercepts")
    assert r.estimable and np.all(np.isfinite(r.se)) and elapsed < 10
    np.testing.assert_allclose(r.coef, f.coef, rtol=0.02, atol=0.01)
