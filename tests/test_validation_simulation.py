"""Simulation check (her2meta.validation): fast tests on a few replicates."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest

from her2meta.effects import binary_effect
from her2meta.simulate.trials import EfsModel
from her2meta.validation import (ESTIMANDS, PARTS, Scenario, default_scenarios, replicate_seed, run_replicate,
                                 run_simulation, simulate_meta, simulate_replicate, truth)
from her2meta.validation.estimate import METHOD_ORDER

SEED = 424242


@pytest.fixture(scope="module")
def small_run():
    # K = 6 small studies keep the test fast; the structure is the full one.
    scenarios = default_scenarios((0.0, 0.2), k_studies=6, n_min=100, n_max=200)
    return scenarios, run_simulation(scenarios, 3, master_seed=SEED, workers=1, progress=None)


def test_three_replicates_give_finite_numbers(small_run):
    scenarios, result = small_run
    rows, table = result["rows"], result["table"]
    assert set(rows["scenario"]) == {s.name for s in scenarios}
    assert set(rows["estimand"]) == set(ESTIMANDS)
    assert set(rows["method"]) == set(METHOD_ORDER)
    # every estimand x method in every replicate, and a pCR OR from every method
    assert len(rows) == rows.groupby(["scenario", "replicate", "estimand", "method"]).ngroups
    assert rows.loc[rows["estimand"] == "pcr_log_or", "available"].all()
    ok = rows.loc[rows["available"]]
    assert len(ok) >= 0.9 * len(rows)
    for col in ("estimate", "se", "ci_lb", "ci_ub"):
        assert np.isfinite(ok[col].to_numpy(float)).all(), col
    assert (ok["se"] > 0).all() and (ok["ci_lb"] < ok["ci_ub"]).all()
    assert ((table["coverage"] >= 0) & (table["coverage"] <= 1)).all()
    assert np.isfinite(table["bias"]).all() and np.isfinite(table["empirical_se"]).all()
    assert (table["n_available"] + table["n_unavailable"] == 3).all()
    assert result["meta"]["master_seed"] == SEED
    assert set(result["meta"]["mean_seconds_per_replicate"]) == {"generate", *PARTS}


def test_a_replicate_rerun_alone_reproduces_its_numbers(small_run):
    scenarios, result = small_run
    sc = scenarios[1]
    alone = pd.DataFrame(run_replicate(sc, SEED, 2)["rows"])
    in_run = result["rows"].loc[(result["rows"]["scenario"] == sc.name) & (result["rows"]["replicate"] == 2)]
    cols = ["estimand", "method", "estimate", "se", "ci_lb", "ci_ub", "k", "available"]
    pd.testing.assert_frame_equal(alone[cols].reset_index(drop=True), in_run[cols].reset_index(drop=True))


def test_parallel_workers_give_the_same_rows(small_run):
    scenarios, result = small_run
    par = run_simulation(scenarios[:1], 2, master_seed=SEED, workers=2, progress=None, parts=("pcr_two_stage",))
    ser = result["rows"]
    ser = ser.loc[(ser["scenario"] == scenarios[0].name) & (ser["replicate"] < 2) & (ser["estimand"] == "pcr_log_or")
                  & ser["method"].isin(["FE", "DL", "REML", "REML_KH"])]
    cols = ["replicate", "method", "estimate", "se", "ci_lb", "ci_ub"]
    pd.testing.assert_frame_equal(par["rows"][cols].reset_index(drop=True), ser[cols].reset_index(drop=True))


def test_replicate_seed_is_sha256_of_master_scenario_and_index():
    expected = int.from_bytes(hashlib.sha256(b"7:tau0.2:replicate-12").digest(), "big")
    assert replicate_seed(7, "tau0.2", 12) == expected
    a = simulate_replicate(Scenario("tau0.2", tau=0.2), 7, 12)
    b = simulate_replicate(Scenario("tau0.2", tau=0.2), 7, 12)
    pd.testing.assert_frame_equal(a.patients, b.patients)
    assert not a.patients.equals(simulate_replicate(Scenario("tau0.2", tau=0.2), 7, 13).patients)


def test_truth_is_what_the_generator_uses():
    efs = EfsModel()
    sc = Scenario("t", tau=0.0, k_studies=3)
    t = truth(sc)
    assert t == {"pcr_log_or": sc.mu_pcr_log_or, "efs_log_hr": sc.mu_efs_log_hr,
                 "efs_pcr_interaction": sc.mu_interaction}
    # the interaction is the project generator's pCR hazard ratios (0.52 in HR+, 0.29 in HR-)
    assert t["efs_pcr_interaction"] == pytest.approx(math.log(efs.pcr_hr_hr_pos) - math.log(efs.pcr_hr_hr_neg))
    assert t["efs_pcr_interaction"] == pytest.approx(math.log(0.52) - math.log(0.29))
    assert sc.pcr_log_hr_hr_neg == pytest.approx(math.log(0.29))
    # tau = 0: every study's true effect is the pooled one
    _, studies = simulate_meta(sc, np.random.default_rng(1))
    for name in ESTIMANDS:
        assert np.allclose(studies[name], t[name])
    # tau > 0: study effects scatter around the truth with SD tau
    _, studies = simulate_meta(Scenario("h", tau=0.2, k_studies=400, n_min=4, n_max=4), np.random.default_rng(2))
    for name in ESTIMANDS:
        assert abs(studies[name].mean() - t[name]) < 4 * 0.2 / math.sqrt(400)
        assert 0.17 < studies[name].std() < 0.23


def test_one_large_study_recovers_the_true_log_or():
    sc = Scenario("big", tau=0.0, k_studies=2, n_min=40_000, n_max=40_000)
    patients, _ = simulate_meta(sc, np.random.default_rng(3))
    sub = patients.loc[patients["study_id"] == "S01"]
    est = binary_effect(sub, study_id="S01", analysis="t", outcome="pcr",
                        compare={"field": "hr_status", "exposed": "positive", "reference": "negative"})
    assert abs(est.estimate - sc.mu_pcr_log_or) < 4 * est.se


def test_one_large_study_recovers_the_true_hazard_ratios():
    from her2meta import survival
    sc = Scenario("big", tau=0.0, k_studies=2, n_min=20_000, n_max=20_000)
    patients, _ = simulate_meta(sc, np.random.default_rng(4))
    d = patients.loc[patients["study_id"] == "S01"]
    hr_pos = (d["hr_status"] == "positive").to_numpy(float)
    pcr = d["pcr"].to_numpy(float)
    X = pd.DataFrame({"hr_pos": hr_pos, "pcr": pcr, "pcr_x_hr_pos": hr_pos * pcr})
    fit = survival.cox_fit(d["efs_months"].to_numpy(float), d["efs_event"].to_numpy(int), X)
    assert abs(fit.coef["hr_pos"] - sc.mu_efs_log_hr) < 4 * fit.se["hr_pos"]
    assert abs(fit.coef["pcr"] - math.log(0.29)) < 4 * fit.se["pcr"]
    assert abs(fit.coef["pcr_x_hr_pos"] - sc.mu_interaction) < 4 * fit.se["pcr_x_hr_pos"]
