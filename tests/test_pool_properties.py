"""Property tests (hypothesis) for rma(): robustness and invariances."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from her2meta.pool import rma

METHODS = ["FE", "DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS"]
TESTS = ["z", "knha", "adhoc"]
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def meta_data(draw, min_k=1, max_k=25):
    k = draw(st.integers(min_k, max_k))
    yi = draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=k, max_size=k))
    vi = draw(st.lists(st.floats(1e-3, 4, allow_nan=False), min_size=k, max_size=k))
    return np.array(yi), np.array(vi)


@SETTINGS
@given(meta_data(), st.sampled_from(METHODS), st.sampled_from(TESTS),
       st.sampled_from(["auto", "norm", "t"]))
def test_valid_input_never_raises_and_gives_finite_numbers(data, method, test, pi_dist):
    yi, vi = data
    res = rma(yi, vi, method=method, test=test, pi_dist=pi_dist)
    assert res.converged
    for name in ["estimate", "se", "ci_lb", "ci_ub", "tau2", "pi_lb", "pi_ub", "pval"]:
        assert math.isfinite(getattr(res, name)), name
    assert res.tau2 >= 0
    assert math.isclose(sum(res.weights), 100.0, rel_tol=1e-9)
    json.dumps(res.to_dict(), allow_nan=False)
    assert res.summary()


@SETTINGS
@given(meta_data(), st.sampled_from(METHODS), st.sampled_from(TESTS))
def test_ci_and_pi_contain_estimate(data, method, test):
    yi, vi = data
    res = rma(yi, vi, method=method, test=test)
    assert res.ci_lb <= res.estimate <= res.ci_ub
    assert res.pi_lb <= res.ci_lb + 1e-12 and res.ci_ub <= res.pi_ub + 1e-12
    if res.tau2_ci_lb is not None:
        assert res.tau2_ci_lb <= res.tau2_ci_ub


@SETTINGS
@given(meta_data(min_k=2), st.sampled_from(METHODS), st.randoms(use_true_random=False))
def test_permutation_invariance(data, method, rnd):
    yi, vi = data
    order = list(range(yi.size))
    rnd.shuffle(order)
    a = rma(yi, vi, method=method)
    b = rma(yi[order], vi[order], method=method)
    for name in ["estimate", "se", "tau2", "Q", "I2", "pi_lb", "pi_ub"]:
        assert math.isclose(getattr(a, name), getattr(b, name), rel_tol=1e-7, abs_tol=1e-10), name
    assert np.allclose(np.array(a.weights)[order], b.weights, rtol=1e-7)


@SETTINGS
@given(meta_data(), st.sampled_from(METHODS[1:]))
def test_random_effects_equals_fixed_effect_when_tau2_is_zero(data, method):
    yi, vi = data
    fe = rma(yi, vi, method="FE")
    re0 = rma(yi, vi, method=method, tau2=0.0)
    assert math.isclose(fe.estimate, re0.estimate, rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(fe.se, re0.se, rel_tol=1e-12)
    re = rma(yi, vi, method=method)
    if re.tau2 == 0:
        assert math.isclose(fe.estimate, re.estimate, rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(fe.ci_lb, re.ci_lb, rel_tol=1e-12, abs_tol=1e-15)


@SETTINGS
@given(meta_data(min_k=2), st.floats(0.1, 10), st.floats(-3, 3))
def test_location_scale_equivariance(data, scale, shift):
    yi, vi = data
    a = rma(yi, vi)
    b = rma(scale * yi + shift, scale ** 2 * vi)
    assert math.isclose(b.estimate, scale * a.estimate + shift, rel_tol=1e-6, abs_tol=1e-8)
    assert math.isclose(b.tau2, scale ** 2 * a.tau2, rel_tol=1e-6, abs_tol=1e-10)
