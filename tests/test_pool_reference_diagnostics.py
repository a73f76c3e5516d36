"""Leave-one-out, influence, Egger, Begg, trim-and-fill and proportions vs metafor 3.8.

Tolerance 1e-6 relative (absolute floor 1e-10 for values that are 0 up to
metafor's convergence noise).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from her2meta.pool import (begg_test, egger_test, escalc_proportion, influence, leave_one_out,
                           pool_proportions, rma, trimfill)

REF = json.loads((Path(__file__).parent / "reference" / "metafor" /
                  "metafor_fixtures.json").read_text())
RTOL, ATOL = 1e-6, 1e-10


def close(actual, expected, name):
    if expected is None:
        assert actual is None, f"{name}: expected NA, got {actual}"
        return
    actual = np.array([np.nan if a is None else a for a in np.atleast_1d(actual)], float)
    expected = np.array([np.nan if e is None else e for e in np.atleast_1d(expected)], float)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=name,
                               equal_nan=True)


def fit(case, test=None):
    data = REF["datasets"][case["dataset"]]
    return rma(data["yi"], data["vi"], study=data["study"], method=case["method"],
               test=test or case.get("test", "z"))


@pytest.mark.parametrize("case", REF["leave1out"],
                         ids=lambda c: f"{c['dataset']}-{c['method']}-{c['test']}")
def test_leave_one_out(case):
    l1o = leave_one_out(fit(case))
    exp = case["expected"]
    for name in ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Q_p", "tau2", "I2",
                 "H2"]:
        close(l1o.column(name), exp[name], name)
    assert all(r is not None for r in l1o.refits)
    assert l1o.to_dict()["refits"][0]["k"] == len(exp["estimate"]) - 1


@pytest.mark.parametrize("case", REF["influence"],
                         ids=lambda c: f"{c['dataset']}-{c['method']}-{c['test']}")
def test_influence(case):
    inf = influence(fit(case))
    exp = case["expected"]
    for name in ["rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "Q_del", "hat", "weight",
                 "dfbetas"]:
        close(getattr(inf, name), exp[name], name)
    assert inf.is_influential == exp["is_influential"]


@pytest.mark.parametrize("case", REF["regtest"],
                         ids=lambda c: f"{c['dataset']}-{c['model']}-{c['method']}")
def test_egger(case):
    res = egger_test(fit(case), model=case["model"])
    exp = case["expected"]
    close(res.zval, exp["zval"], "zval")
    close(res.pval, exp["pval"], "pval")
    close(res.limit_estimate, exp["limit_estimate"], "limit_estimate")
    close(res.limit_ci_lb, exp["limit_ci_lb"], "limit_ci_lb")
    close(res.limit_ci_ub, exp["limit_ci_ub"], "limit_ci_ub")
    if exp["df"] is not None:
        assert res.df == exp["df"]


@pytest.mark.parametrize("case", REF["ranktest"], ids=lambda c: c["dataset"])
def test_begg(case):
    data = REF["datasets"][case["dataset"]]
    res = begg_test(data["yi"], data["vi"])
    close(res.tau, case["expected"]["tau"], "tau")
    close(res.pval, case["expected"]["pval"], "pval")


@pytest.mark.parametrize("case", REF["trimfill"], ids=lambda c: "-".join(
    str(c.get(k)) for k in ("dataset", "method", "estimator", "side")))
def test_trimfill(case):
    tf = trimfill(fit(case, test="z"), estimator=case["estimator"], side=case.get("side"))
    exp = case["expected"]
    assert tf.k0 == exp["k0"]
    assert tf.side == exp["side"]
    close(tf.se_k0, exp["se_k0"], "se_k0")
    close(tf.p_k0, exp["p_k0"], "p_k0")
    for name in ["estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "k"]:
        close(getattr(tf, name), exp[name], name)
    close(tf.filled_yi, exp["filled_yi"], "filled_yi")
    close(tf.filled_vi, exp["filled_vi"], "filled_vi")


@pytest.mark.parametrize("case", REF["proportions"], ids=lambda c: c["method"])
def test_pooled_proportion(case):
    data = REF["datasets"]["pritz_plo"]
    res = pool_proportions(data["xi"], data["ni"], method=case["method"])
    exp = case["expected"]
    close(res.logit.estimate, exp["estimate"], "logit estimate")
    close(res.proportion, exp["pred"], "proportion")
    for name in ["ci_lb", "ci_ub", "tau2"] + ([] if case["method"] == "FE" else ["pi_lb", "pi_ub"]):
        value = res.logit.tau2 if name == "tau2" else getattr(res, name)
        close(value, exp[name], name)


def test_proportion_zero_and_all_events():
    ref = REF["proportion_zero"]
    lp = escalc_proportion(ref["xi"], ref["ni"])
    close(lp.yi, ref["yi"], "yi")
    close(lp.vi, ref["vi"], "vi")
    assert lp.corrected.tolist() == [True, False, False, True]
