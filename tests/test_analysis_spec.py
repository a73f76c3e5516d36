"""Analysis specs: population filters, multi-value groups, within-levels and interactions,
and aggregate-data studies giving the same estimates as IPD."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from her2meta.aggregate import aggregate_estimates
from her2meta.effects import INTERACTION, estimate_analysis

SPEC = {
    "type": "binary",
    "outcome": "pcr",
    "compare": {"field": "regimen_class", "exposed": ["dual_mab", "mab_tki"], "reference": "trastuzumab"},
    "population": {"chemo_taxane": [True]},
    "within": {"field": "hr_status", "levels": ["positive", "negative"]},
    "measure": "OR",
}


def patients(rows):
    """rows: (regimen_class, hr_status, chemo_taxane, pcr, count)."""
    out = []
    for regimen, hr, taxane, pcr, count in rows:
        out += [{"regimen_class": regimen, "hr_status": hr, "chemo_taxane": taxane, "pcr": pcr}] * count
    return pd.DataFrame(out)


@pytest.fixture()
def trial():
    return patients([
        ("dual_mab", "positive", True, True, 20), ("dual_mab", "positive", True, False, 30),
        ("trastuzumab", "positive", True, True, 10), ("trastuzumab", "positive", True, False, 40),
        ("mab_tki", "negative", True, True, 30), ("mab_tki", "negative", True, False, 20),
        ("trastuzumab", "negative", True, True, 20), ("trastuzumab", "negative", True, False, 30),
        ("dual_mab", "positive", False, True, 50),  # no taxane: outside the population
        ("trastuzumab", "unknown", True, True, 7),   # HR unknown: in neither level
    ])


def test_within_levels_and_interaction(trial):
    rows = {r.subgroup: r for r in estimate_analysis(trial, study_id="S", analysis="a", spec=SPEC)}
    assert set(rows) == {"positive", "negative", INTERACTION}
    pos, neg, inter = rows["positive"], rows["negative"], rows[INTERACTION]
    assert pos.estimate == pytest.approx(math.log((20 * 40) / (30 * 10)))
    assert neg.estimate == pytest.approx(math.log((30 * 30) / (20 * 20)))
    assert pos.n == 100 and pos.events_exposed == 20  # the no-taxane patients are not counted
    assert inter.estimate == pytest.approx(pos.estimate - neg.estimate)
    assert inter.se == pytest.approx(math.sqrt(pos.se ** 2 + neg.se ** 2))


def test_interaction_not_estimable_names_the_level(trial):
    only_pos = trial[trial["hr_status"] != "negative"]
    rows = {r.subgroup: r for r in estimate_analysis(only_pos, study_id="S", analysis="a", spec=SPEC)}
    assert not rows["negative"].estimable and "no patients" in rows["negative"].reason
    assert not rows[INTERACTION].estimable and rows[INTERACTION].reason == "not estimable in negative"


def test_boolean_group_field_matches_true_false():
    data = pd.DataFrame({"pcr_flag": [True, True, False, False, None] * 4, "y": [True, False, True, False, True] * 4,
                         "hr_status": ["positive"] * 20})
    spec = {"type": "binary", "outcome": "y", "compare": {"field": "pcr_flag", "exposed": "true", "reference": "false"},
            "measure": "OR"}
    (est,) = estimate_analysis(data, study_id="S", analysis="a", spec=spec)
    assert (est.n_exposed, est.n_reference, est.excluded_unknown_group) == (8, 8, 4)


def test_aggregate_counts_give_the_same_estimate_as_ipd(trial):
    ipd = {r.subgroup: r for r in estimate_analysis(trial, study_id="S", analysis="a", spec=SPEC)}
    table = pd.DataFrame([
        {"analysis": "a", "subgroup": "positive", "events_exposed": 20, "n_exposed": 50, "events_reference": 10,
         "n_reference": 50, "ratio": None, "ratio_ci_lb": None, "ratio_ci_ub": None, "source": "paper"},
    ])
    agg = aggregate_estimates(table, study="S", analysis="a", spec=SPEC, subgroups=["positive", "negative"])
    assert agg[0].estimate == pytest.approx(ipd["positive"].estimate) and agg[0].se == pytest.approx(ipd["positive"].se)
    assert agg[0].source == "aggregate" and "published: paper" in agg[0].notes
    assert not agg[1].estimable and agg[1].reason == "not reported in the published aggregate data"


def test_aggregate_hazard_ratio_from_published_ci():
    table = pd.DataFrame([{"analysis": "efs", "subgroup": "all", "ratio": 0.64, "ratio_ci_lb": 0.44, "ratio_ci_ub": 0.93,
                           "source": "NOAH, Gianni 2014"}])
    spec = {"type": "survival", "measure": "HR"}
    (est,) = aggregate_estimates(table, study="NOAH", analysis="efs", spec=spec)
    assert est.estimate == pytest.approx(math.log(0.64))
    assert est.se == pytest.approx((math.log(0.93) - math.log(0.44)) / (2 * 1.959963984540054))


def test_landmark_drops_early_events_and_resets_time():
    rng = __import__("numpy").random.default_rng(3)
    n = 200
    data = pd.DataFrame({
        "efs_months": rng.exponential(30, n).round(1) + 0.1,
        "efs_event": rng.integers(0, 2, n),
        "pcr": rng.integers(0, 2, n).astype(bool),
    })
    spec = {"type": "survival", "time": "efs_months", "event": "efs_event", "measure": "HR",
            "compare": {"field": "pcr", "exposed": "true", "reference": "false"}}
    (plain,) = estimate_analysis(data, study_id="S", analysis="a", spec=spec)
    (landmarked,) = estimate_analysis(data, study_id="S", analysis="a", spec={**spec, "landmark_months": 6})
    before = int((data["efs_months"] <= 6).sum())
    assert landmarked.excluded_before_landmark == before > 0
    assert landmarked.n == plain.n - before
    assert landmarked.events == int(data.loc[data["efs_months"] > 6, "efs_event"].sum())
    assert landmarked.estimable and landmarked.estimate != plain.estimate


def test_survival_extras_are_filled():
    rng = __import__("numpy").random.default_rng(5)
    n = 300
    data = pd.DataFrame({"t": rng.exponential(40, n) + 0.5, "e": rng.integers(0, 2, n),
                         "hr_status": rng.choice(["positive", "negative"], n)})
    spec = {"type": "survival", "time": "t", "event": "e", "measure": "HR", "rmst_horizon_months": 24,
            "compare": {"field": "hr_status", "exposed": "positive", "reference": "negative"}}
    (est,) = estimate_analysis(data, study_id="S", analysis="a", spec=spec)
    assert est.estimable and 0 <= est.ph_pval <= 1
    assert math.isfinite(est.logrank_oe) and est.logrank_v > 0
    assert math.isfinite(est.rmst_diff) and est.rmst_se > 0
    # the Peto one-step estimate is close to the Cox estimate when the effect is small
    assert abs(est.logrank_oe / est.logrank_v - est.estimate) < 0.05


def test_reasons_say_what_is_missing():
    flag_only = pd.DataFrame({"hr_status": ["positive", "negative"] * 5, "pcr_strict": [None] * 10})
    spec = {"type": "binary", "outcome": "pcr_strict", "measure": "OR",
            "compare": {"field": "hr_status", "exposed": "positive", "reference": "negative"}}
    (est,) = estimate_analysis(flag_only, study_id="S", analysis="a", spec=spec)
    assert est.reason == "pcr_strict is not recorded in this study"
    er_only = pd.DataFrame({"hr_status": ["positive", "unknown"] * 5, "pcr": [True, False] * 5,
                            "regimen_class": ["dual_mab", "trastuzumab"] * 5})
    rows = {r.subgroup: r for r in estimate_analysis(er_only, study_id="S", analysis="a", spec={**SPEC, "population": None})}
    assert rows["negative"].reason == "no patients with hr_status = negative"
