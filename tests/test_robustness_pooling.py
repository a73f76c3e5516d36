"""Property tests (hypothesis): the pooling inputs fuzzed like the study data. Extreme variances
(1e-300, 1e300), extreme estimates, k = 1, non-estimable and failed studies: the engine returns
finite numbers or refuses with its own PoolingError, and pooling an analysis (the pool stage)
never crashes and always writes valid JSON, every model either fitted or carrying its reason."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from her2meta.effects import ESTIMATE_COLUMNS, INTERACTION, OVERALL, StudyEstimate
from her2meta.io import canonical_json
from her2meta.pool import rma
from her2meta.pool.errors import PoolingError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
METHODS = ["FE", "DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS"]
EXTREME = [0.0, -0.0, 1e-300, -1e-300, 1e-150, 1e150, -1e150, 1e300, -1e300, 5e-324]
ESTIMATES = st.one_of(st.floats(-50, 50, allow_nan=False), st.sampled_from(EXTREME))
VARIANCES = st.one_of(st.floats(1e-6, 1e3, allow_nan=False), st.sampled_from([1e-300, 1e-150, 1e-30, 1e30, 1e150, 1e300, 5e-324]))



def _finite(result) -> bool:
    return all(math.isfinite(getattr(result, name)) for name in ("estimate", "se", "ci_lb", "ci_ub", "tau2"))


@SETTINGS
@given(st.integers(1, 6).flatmap(lambda k: st.tuples(st.lists(ESTIMATES, min_size=k, max_size=k),
                                                      st.lists(VARIANCES, min_size=k, max_size=k))),
       st.sampled_from(METHODS), st.sampled_from(["z", "knha"]))
@example(([0.5, 0.1, -0.3], [1e-300, 1e-300, 1e-300]), "REML", "z")
@example(([0.1, 0.2], [1e-300, 1e300]), "DL", "z")
@example(([1e300, -1e300], [1.0, 1.0]), "FE", "knha")
def test_engine_gives_finite_numbers_or_its_own_error(data, method, test):
    yi, vi = (np.array(v, dtype=float) for v in data)
    try:
        result = rma(yi, vi, method=method, test=test)
    except PoolingError as exc:
        assert str(exc)  # a refusal says why
        return
    assert _finite(result), (result.estimate, result.se, result.tau2)
    json.loads(canonical_json(result.to_dict()))


@SETTINGS
@given(st.integers(1, 6).flatmap(lambda k: st.tuples(st.lists(st.floats(-50, 50, allow_nan=False), min_size=k, max_size=k),
                                                      st.lists(st.floats(1e-6, 1e3, allow_nan=False), min_size=k, max_size=k))),
       st.sampled_from(METHODS), st.sampled_from(["z", "knha"]))
def test_engine_never_refuses_ordinary_inputs(data, method, test):
    """The refusal above is for inputs no study gives (variances of 1e-300 or 1e300): estimates
    within +-50 and variances within 1e-6..1e3 always pool to finite numbers."""
    yi, vi = (np.array(v, dtype=float) for v in data)
    assert _finite(rma(yi, vi, method=method, test=test))


@SETTINGS
@given(st.floats(-50, 50, allow_nan=False), st.floats(1e-6, 1e3, allow_nan=False), st.sampled_from(METHODS))
def test_a_single_study_pools_to_itself(yi, vi, method):
    """k = 1: every model returns the study's own estimate and standard error."""
    result = rma(np.array([yi]), np.array([vi]), method=method)
    assert result.k == 1 and result.tau2 == 0
    assert result.estimate == pytest.approx(yi, rel=1e-9, abs=1e-12)
    assert result.se == pytest.approx(math.sqrt(vi), rel=1e-9)


# ----------------------------------------------------------------------------------------------
# The pool stage: a whole analysis' estimate table


@st.composite
def estimate_tables(draw):
    within = draw(st.booleans())
    subgroups = ["positive", "negative", INTERACTION] if within else [OVERALL]
    rows = []
    for index in range(draw(st.integers(0, 5))):
        study = f"S{index}"
        kind = draw(st.sampled_from(["ok", "ok", "ok", "not_estimable", "failed"]))
        for subgroup in subgroups:
            est = StudyEstimate(study, "fuzz", "OR", subgroup, n=draw(st.integers(0, 500)))
            est.n_exposed = draw(st.integers(0, est.n))
            est.n_reference = est.n - est.n_exposed
            est.events_exposed = draw(st.integers(0, est.n_exposed))
            est.events_reference = draw(st.integers(0, est.n_reference))
            if kind == "ok":
                est.estimable = True
                est.estimate = draw(ESTIMATES)
                est.se = math.sqrt(draw(VARIANCES))
                est.ci_lb, est.ci_ub = est.estimate - 2 * est.se, est.estimate + 2 * est.se
                est.logrank_oe, est.logrank_v = draw(ESTIMATES), draw(VARIANCES)
                est.rmst_diff, est.rmst_se = draw(ESTIMATES), math.sqrt(draw(VARIANCES))
            else:
                est.reason = "no events in either group" if kind == "not_estimable" else "study failed: file not found"
            rows.append(est.as_row())
    frame = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)
    return frame, within


@SETTINGS
@given(estimate_tables(), st.sampled_from(["binary", "survival"]), st.lists(st.sampled_from(METHODS), min_size=1,
       max_size=4, unique=True), st.sampled_from(["z", "knha"]))
@example((pd.DataFrame([StudyEstimate("S0", "fuzz", "OR", OVERALL, estimate=0.1, se=1e-150, estimable=True).as_row(),
                        StudyEstimate("S1", "fuzz", "OR", OVERALL, estimate=0.3, se=1e-150, estimable=True).as_row()],
                       columns=ESTIMATE_COLUMNS), False), "binary", ["FE", "REML"], "z")
def test_pooling_an_analysis_never_crashes_and_writes_valid_json(table, kind, methods, test):
    from her2meta.synthesis import pool_analysis

    estimates, within = table
    spec = {"type": kind, "measure": "OR" if kind == "binary" else "HR", "compare": {"field": "hr_status",
            "exposed": "positive", "reference": "negative"}, "rmst_horizon_months": 60}
    if within:
        spec["within"] = {"field": "hr_status", "levels": ["positive", "negative"]}
    pooling = {"methods": methods, "primary": methods[0], "test": test, "level": 95, "prediction_interval": "auto"}
    # the stage reads the table back from TSV: the same types as in a run
    estimates = pd.read_csv(pd.io.common.StringIO(estimates.to_csv(sep="\t", index=False, na_rep="NA")), sep="\t",
                            na_values=["NA"], keep_default_na=False)
    result_table, document = pool_analysis(estimates, analysis="fuzz", spec=spec, pooling=pooling,
                                           labels={f"S{i}": f"Study {i}" for i in range(5)})
    json.loads(canonical_json(document))
    for block in document["subgroups"]:
        listed = {item["study_id"] for item in block["not_estimable"]}
        usable = {s["study_id"] for s in block["studies"] if s["estimable"]}
        assert listed | usable == {s["study_id"] for s in block["studies"]}  # every study pooled or listed with why
        for method, model in block["models"].items():
            assert "error" in model or all(math.isfinite(model[k]) for k in ("estimate", "se", "ci_lb", "ci_ub")), method
    # a block no study informs is one row saying so, with its reason; every other row has numbers
    said = result_table["method"].str.startswith("not estimable: ")
    assert sorted(result_table.loc[said, "subgroup"]) == sorted(b["name"] for b in document["subgroups"] if b["k_used"] == 0)
    assert np.isfinite(result_table.loc[~said, ["estimate", "se"]].to_numpy(float)).all()
