"""The generator reproduces what it is calibrated to, and its patients are coherent."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from her2meta.simulate import DEMO_STUDIES, get_spec, random_study_spec, simulate_patients, simulate_study
from her2meta.simulate.deterministic import rng_for
from her2meta.simulate.patients import COLUMNS, pcr_flags
from her2meta.simulate.trials import expected_efs, pfs_median_of_mixture, split_overall_rate

NEO = [s for s in DEMO_STUDIES if s.setting == "neoadjuvant"]
PRIMARY_COL = {"ypT0/is ypN0": "pcr_ypt0is_ypn0", "ypT0 ypN0": "pcr_ypt0_ypn0", "ypT0/is": "pcr_breast"}


def _km(time: np.ndarray, event: np.ndarray, at: float) -> float:
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    s, at_risk = 1.0, len(t)
    for ti in np.unique(t):
        if ti > at:
            break
        mask = t == ti
        d = int(e[mask].sum())
        if d:
            s *= 1 - d / at_risk
        at_risk -= int(mask.sum())
    return s


def _km_median(time: np.ndarray, event: np.ndarray) -> float:
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    s, at_risk = 1.0, len(t)
    for ti in np.unique(t):
        mask = t == ti
        d = int(e[mask].sum())
        if d:
            s *= 1 - d / at_risk
            if s <= 0.5:
                return float(ti)
        at_risk -= int(mask.sum())
    return math.inf


def _scaled(spec, factor: int):
    arms = tuple(dataclasses.replace(a, n=a.n * factor, n_hr_pos=a.n_hr_pos * factor) for a in spec.arms)
    return dataclasses.replace(spec, arms=arms, dirt=dataclasses.replace(spec.dirt, n_not_itt=0))


@pytest.mark.parametrize("spec", NEO, ids=lambda s: s.study_id)
def test_pcr_by_arm_and_hr_within_four_standard_errors(spec):
    df = simulate_study(spec)
    itt = df[df["itt"] & df["surgery"]]
    col = PRIMARY_COL[spec.primary_pcr_definition]
    for arm in spec.arms:
        for hr_pos, grp in ((True, "positive"), (False, "negative")):
            cell = itt[(itt["arm"] == arm.code) & (itt["hr_group"] == grp)]
            p = arm.pcr_probability(hr_pos)
            n = len(cell)
            assert n > 0
            se = math.sqrt(p * (1 - p) / n)
            observed = cell[col].astype(bool).mean()
            assert abs(observed - p) <= 4 * se + 1e-9, (spec.study_id, arm.code, grp, observed, p)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bernoulli_random_specs_are_calibrated(seed):
    rng = np.random.default_rng(seed)
    spec = random_study_spec(f"SIM-RANDOM-{seed}", 3000, rng)
    assert not spec.exact_counts and len(spec.arms) == 2
    df = simulate_patients(spec, rng_for(seed, spec.study_id))
    assert len(df) == 3000
    op = df[df["surgery"]]
    col = PRIMARY_COL[spec.primary_pcr_definition]
    for arm in spec.arms:
        for hr_pos, grp in ((True, "positive"), (False, "negative")):
            cell = op[(op["arm"] == arm.code) & (op["hr_group"] == grp)]
            p = arm.pcr_probability(hr_pos)
            se = math.sqrt(p * (1 - p) / len(cell))
            assert abs(cell[col].astype(bool).mean() - p) <= 4 * se


def test_arm_sizes_and_hr_counts_are_exact():
    for spec in DEMO_STUDIES:
        df = simulate_study(spec)
        itt = df[df["itt"]]
        assert len(itt) == spec.n_itt
        assert (~df["itt"]).sum() == spec.dirt.n_not_itt
        for arm in spec.arms:
            sub = itt[itt["arm"] == arm.code]
            assert len(sub) == arm.n
            assert (sub["hr_group"] == "positive").sum() == arm.n_hr_pos


def test_published_overall_rates_are_preserved_by_the_hr_split():
    for sid, overall in (("SIM-TRYPHAENA", (0.616, 0.573, 0.662)), ("SIM-KRISTINE", (0.557, 0.444))):
        spec = get_spec(sid)
        for arm, target in zip(spec.arms, overall):
            assert arm.expected_pcr == pytest.approx(target, abs=1e-3)
            assert arm.pcr_hr_pos < target < arm.pcr_hr_neg
    pos, neg = split_overall_rate(0.5, 100, 50)
    assert (pos + neg) / 2 == pytest.approx(0.5, abs=1e-4)


def test_noah_five_year_efs_calibration():
    spec = get_spec("SIM-NOAH")
    control, trastuzumab = spec.arms
    assert expected_efs(spec, control) == pytest.approx(0.43, abs=0.005)
    assert expected_efs(spec, trastuzumab) == pytest.approx(0.58, abs=0.005)
    assert control.expected_pcr == pytest.approx(0.19, abs=0.02)
    assert trastuzumab.expected_pcr == pytest.approx(0.38, abs=0.02)
    big = simulate_patients(_scaled(spec, 40), rng_for(5, "noah-big"))
    for arm in spec.arms:
        sub = big[big["arm"] == arm.code]
        km = _km(sub["efs_months"].to_numpy(float), sub["efs_event"].to_numpy(int), 60.0)
        # the analytic value uses background deaths at age 50 only: allow 2 points
        assert km == pytest.approx(expected_efs(spec, arm), abs=0.02), arm.code


def test_efs_engine_matches_the_weibull_model():
    spec = get_spec("SIM-NEOALTTO")
    big = simulate_patients(_scaled(spec, 30), rng_for(11, "altto-big"))
    for arm in spec.arms:
        sub = big[big["arm"] == arm.code]
        km = _km(sub["efs_months"].to_numpy(float), sub["efs_event"].to_numpy(int), 60.0)
        assert km == pytest.approx(expected_efs(spec, arm), abs=0.02)
    # pCR effect is stronger in HR- than in HR+ (0.29 vs 0.52)
    noncens = big
    for grp, lo, hi in (("negative", 0.20, 0.40), ("positive", 0.40, 0.68)):
        sub = noncens[noncens["hr_group"] == grp]
        pcr = sub["pcr_latent_total"].astype(bool)
        t = sub["efs_months"].to_numpy(float)
        e = sub["efs_event"].to_numpy(int)
        # crude exposure-based hazard ratio (exact for exponential, approximate for Weibull)
        rate = lambda m: e[m].sum() / t[m].sum()  # noqa: E731
        hr = rate(pcr.to_numpy()) / rate(~pcr.to_numpy())
        assert lo < hr < hi, (grp, hr)


def test_metastatic_response_and_pfs_calibration():
    spec = get_spec("SIM-HERMET")
    assert pfs_median_of_mixture(spec, spec.arm("THP")) == pytest.approx(18.5, abs=0.2)
    assert pfs_median_of_mixture(spec, spec.arm("TH")) == pytest.approx(12.4, abs=0.2)
    assert spec.arm("THP").expected_orr == pytest.approx(0.80, abs=0.01)
    assert spec.arm("TH").expected_orr == pytest.approx(0.69, abs=0.01)
    df = simulate_study(spec)
    for arm in spec.arms:
        for hr_pos, grp in ((True, "positive"), (False, "negative")):
            cell = df[(df["arm"] == arm.code) & (df["hr_group"] == grp)]
            p = arm.orr_hr_pos if hr_pos else arm.orr_hr_neg
            obs = cell["best_overall_response"].isin(["CR", "PR"]).mean()
            assert abs(obs - p) <= 4 * math.sqrt(p * (1 - p) / len(cell))
    big = simulate_patients(_scaled(spec, 30), rng_for(3, "hermet-big"))
    for arm in spec.arms:
        sub = big[big["arm"] == arm.code]
        med = _km_median(sub["pfs_months"].to_numpy(float), sub["pfs_event"].to_numpy(int))
        assert med == pytest.approx(pfs_median_of_mixture(spec, arm), rel=0.06)
    assert (big.loc[big["best_overall_response"] == "PD", "pfs_days"] <= 71).all()


def test_her2_spectrum_in_metastatic_study_only():
    df = simulate_study(get_spec("SIM-HERMET"))
    share = df["her2_ihc"].isin(["0", "1+"]).mean() + (
        (df["her2_ihc"] == "2+") & (df["her2_ish_ratio"] < 2)
    ).mean()
    assert 0.05 < share < 0.16
    zero = df[df["her2_ihc"] == "0"]
    assert set(zero["her2_ihc0_staining"]) == {"ultralow", "null"}
    assert df.loc[df["her2_ihc"] != "0", "her2_ihc0_staining"].isna().all()
    for spec in NEO:
        assert set(simulate_study(spec)["her2_ihc"]) <= {"2+", "3+"}


@pytest.mark.parametrize("spec", DEMO_STUDIES, ids=lambda s: s.study_id)
def test_patients_are_coherent(spec):
    df = simulate_study(spec)
    assert list(df.columns)[: len(COLUMNS)] == list(COLUMNS)
    assert df["patient_id"].is_unique
    assert df["age_years"].between(25, 80).all()
    # receptors
    neg = df[df["hr_group"] == "negative"]
    assert (neg["er_percent"].fillna(0) == 0).all() and (neg["pr_percent"].fillna(0) == 0).all()
    pos = df[df["hr_group"] == "positive"]
    known = pos.dropna(subset=["er_percent", "pr_percent"])
    assert ((known["er_percent"] >= 1) | (known["pr_percent"] >= 1)).all()
    if spec.hr_basis == "ER":
        assert (pos["er_percent"].dropna() >= 1).all()
    # HER2: 2+ with ISH is amplified (group 1) unless centrally re-tested negative
    two = df[(df["her2_ihc"] == "2+") & df["her2_ish_ratio"].notna()]
    if spec.setting == "neoadjuvant":
        assert ((two["her2_ish_ratio"] >= 2) & (two["her2_ish_copy_number"] >= 4)).all()
    three = df[df["her2_ihc"] == "3+"]
    assert 0.3 < three["her2_ish_ratio"].notna().mean() < 0.7
    # times
    first = "efs" if spec.setting == "neoadjuvant" else "pfs"
    assert (df["os_days"] >= df[f"{first}_days"]).all()
    assert (df[f"{first}_days"] >= 1).all()
    dead_first = df[f"{first}_event_desc"] == "DEATH"
    assert (df.loc[dead_first, "os_event"] == 1).all()
    assert (df.loc[dead_first, "os_days"] == df.loc[dead_first, f"{first}_days"]).all()
    assert set(df[f"{first}_censor"]) <= {0, 1, 2} and set(df["os_censor"]) <= {0, 1, 2}
    assert (df.loc[df[f"{first}_event"] == 1, f"{first}_censor"] == 0).all()
    months = df["os_months"].to_numpy(float)
    fu = spec.followup
    assert months.max() <= fu.cutoff_months + 0.1
    assert 0.01 < (df["os_censor"] == 1).mean() < 0.10
    if spec.setting == "neoadjuvant":
        # pathology: the three pCR definitions follow from ypT/ypN
        op = df[df["surgery"]]
        total, strict, breast = pcr_flags(op["ypt"], op["ypn"])
        assert np.array_equal(total, op["pcr_ypt0is_ypn0"].astype(bool).to_numpy())
        assert np.array_equal(strict, op["pcr_ypt0_ypn0"].astype(bool).to_numpy())
        assert np.array_equal(breast, op["pcr_breast"].astype(bool).to_numpy())
        primary = op[PRIMARY_COL[spec.primary_pcr_definition]].astype(bool).to_numpy()
        assert np.array_equal(op["pcr_latent_primary"].astype(bool).to_numpy(), primary)
        assert (strict <= total).all() and (total <= breast).all()
        assert df.loc[~df["surgery"], ["ypt", "ypn", "pcr_ypt0is_ypn0"]].isna().all().all()
        itc = op["ypn"] == "ypN0(i+)"
        assert (~op.loc[itc, "ypt"].isin(["ypT0", "ypTis"])).all()
    else:
        assert set(df["best_overall_response"]) <= {"CR", "PR", "SD", "PD", "NE"}
        assert df["ct_stage"].isna().all()


def test_pathology_variety_for_the_definitions():
    """Across the demo there are DCIS-only pCRs, nodal-only residuals and ypN0(i+)."""
    frames = pd.concat([simulate_study(s) for s in NEO])
    op = frames[frames["surgery"]]
    total, strict, breast = pcr_flags(op["ypt"], op["ypn"])
    assert (total & ~strict).sum() > 20  # ypTis ypN0
    assert (breast & ~total).sum() > 20  # ypT0/is with ypN+
    assert (op["ypn"] == "ypN0(i+)").sum() > 10


def test_dirt_is_modest_and_present():
    df = pd.concat([simulate_study(s) for s in DEMO_STUDIES])
    n = len(df)
    assert 0.01 < (df["er_percent"].isna() | df["pr_percent"].isna()).mean() < 0.04
    assert 0.01 < df["grade"].isna().mean() < 0.06
    neo = df[df["setting"] == "neoadjuvant"]
    assert 0.01 < (~neo["surgery"]).mean() < 0.04
    unknown_ish = ((df["her2_ihc"] == "2+") & df["her2_ish_ratio"].isna()).sum()
    assert 0.004 * n < unknown_ish < 0.02 * n
    er_low = ((df["er_percent"] >= 1) & (df["er_percent"] < 10)).sum()
    assert er_low > 0.02 * n


def test_random_spec_scales():
    rng = np.random.default_rng(42)
    spec = random_study_spec("SIM-SCALE", 20000, rng)
    df = simulate_patients(spec, rng_for(42, spec.study_id))
    assert len(df) == 20000 and df["patient_id"].is_unique
    with pytest.raises(ValueError):
        random_study_spec("SIM-TINY", 2, rng)
