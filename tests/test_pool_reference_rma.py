"""rma() against metafor 3.8 (fixture made by tests/reference/metafor/make_fixtures.R).

Tolerance: 1e-6 relative for every quantity (closed forms and converged
iterative estimates), with an absolute floor of 1e-10 for quantities whose
reference value is 0 up to metafor's convergence noise (e.g. tau2 = 0).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from her2meta.pool import PoolingError, rma

FIXTURE = Path(__file__).parent / "reference" / "metafor" / "metafor_fixtures.json"
REF = json.loads(FIXTURE.read_text())
RTOL, ATOL = 1e-6, 1e-10


def assert_close(actual, expected, name, rtol=RTOL, atol=ATOL):
    if expected is None:
        assert actual is None or not np.all(np.isfinite(actual)), f"{name}: expected NA, got {actual}"
        return
    assert actual is not None, f"{name}: got None, expected {expected}"
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=atol, err_msg=name)


def case_id(case):
    return f"{case['dataset']}-{case['method']}-{case['test']}-{case['level']}"


FIELDS = ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "se_tau2", "I2", "H2",
          "Q", "Q_df", "Q_p", "pi_lb", "pi_ub", "k", "weights", "loglik", "s2w", "df",
          "tau2_ci_lb", "tau2_ci_ub", "I2_ci_lb", "I2_ci_ub", "H2_ci_lb", "H2_ci_ub"]


@pytest.mark.parametrize("case", REF["rma"], ids=case_id)
def test_rma_matches_metafor(case):
    data = REF["datasets"][case["dataset"]]
    exp = case["expected"]
    res = rma(data["yi"], data["vi"], method=case["method"], test=case["test"],
              level=case["level"])
    assert res.converged
    if case["method"] == "FE":
        # metafor gives no prediction interval for FE models; ours equals the CI (tau2 = 0)
        exp = dict(exp, pi_lb=exp["ci_lb"], pi_ub=exp["ci_ub"])
    for field in FIELDS:
        if field in exp:
            assert_close(getattr(res, field), exp[field], field)
    if case["method"] == "FE":
        return
    t_res = rma(data["yi"], data["vi"], method=case["method"], test=case["test"],
                level=case["level"], pi_dist="t", tau2_ci=False)
    assert_close(t_res.pi_lb, exp["pi_t_lb"], "pi_t_lb")
    assert_close(t_res.pi_ub, exp["pi_t_ub"], "pi_t_ub")
    n_res = rma(data["yi"], data["vi"], method=case["method"], test=case["test"],
                level=case["level"], pi_dist="norm", tau2_ci=False)
    assert_close(n_res.pi_lb, exp["pi_norm_lb"], "pi_norm_lb")
    assert_close(n_res.pi_ub, exp["pi_norm_ub"], "pi_norm_ub")


def test_published_bcg_values():
    """Viechtbauer (2010) J Stat Softw 36(3): dat.bcg log RR, REML."""
    data = REF["datasets"]["bcg_rr"]
    res = rma(data["yi"], data["vi"])
    assert round(res.estimate, 4) == -0.7145
    assert round(res.se, 4) == 0.1798
    assert (round(res.ci_lb, 4), round(res.ci_ub, 4)) == (-1.0669, -0.3622)
    assert round(res.tau2, 4) == 0.3132 and round(res.se_tau2, 4) == 0.1664
    assert round(res.I2, 2) == 92.22 and round(res.H2, 2) == 12.86
    assert round(res.Q, 4) == 152.2330
    assert (round(res.tau2_ci_lb, 4), round(res.tau2_ci_ub, 4)) == (0.1197, 1.1115)


def degenerate_id(case):
    return f"{case['case']}-{case['method']}-{case['test']}"


@pytest.mark.parametrize("case", REF["degenerate"], ids=degenerate_id)
def test_degenerate_inputs_match_metafor(case):
    exp = case["expected"]
    yi, vi = np.atleast_1d(case["yi"]), np.atleast_1d(case["vi"])
    if "error" in exp:
        with pytest.raises(PoolingError) as info:
            rma(yi, vi, method=case["method"], test=case["test"])
        assert len(str(info.value)) > 20
        return
    res = rma(yi, vi, method=case["method"], test=case["test"])
    if case["method"] == "FE":
        exp = dict(exp, pi_lb=exp["ci_lb"], pi_ub=exp["ci_ub"])
    for field in FIELDS:
        if field not in exp:
            continue
        value = getattr(res, field)
        if exp[field] is None:
            assert value is None or not np.all(np.isfinite(value)), field
            continue
        assert_close(value, exp[field], field)


@pytest.mark.parametrize("case", REF["hard"], ids=lambda c: f"{c['case']}-{c['method']}")
def test_cases_where_metafor_default_fisher_scoring_fails(case):
    """metafor needs control=list(stepadj=0.5) here; we converge without help."""
    res = rma(case["yi"], case["vi"], method=case["method"])
    assert res.converged and not res.notes
    for field in FIELDS:
        if field in case["expected"]:
            assert_close(getattr(res, field), case["expected"][field], field)
