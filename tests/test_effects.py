"""Per-study effect sizes: 2x2 with zero cells, Cox with Efron ties (vs R's survival)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2meta.effects import binary_effect, cox_effect, estimate_analysis
from her2meta.survival import cox_fit

REF = Path(__file__).parent / "reference" / "survival"
COMPARE = {"field": "hr_status", "exposed": "positive", "reference": "negative"}


def two_by_two(ai, bi, ci, di, unknown=0):
    hr = ["positive"] * (ai + bi) + ["negative"] * (ci + di) + ["unknown"] * unknown
    pcr = [True] * ai + [False] * bi + [True] * ci + [False] * di + [True] * unknown
    return pd.DataFrame({"hr_status": hr, "pcr": pcr})


def test_log_odds_ratio_without_correction():
    est = binary_effect(two_by_two(13, 37, 36, 21, unknown=3), study_id="S", analysis="a", outcome="pcr", compare=COMPARE)
    assert est.estimable and est.correction == 0
    assert est.estimate == pytest.approx(math.log((13 * 21) / (37 * 36)), rel=1e-12)
    assert est.se == pytest.approx(math.sqrt(1 / 13 + 1 / 37 + 1 / 36 + 1 / 21), rel=1e-12)
    assert est.ci_lb == pytest.approx(est.estimate - 1.959963984540054 * est.se, rel=1e-12)
    assert (est.n, est.n_exposed, est.events_exposed, est.excluded_unknown_group) == (107, 50, 13, 3)


def test_zero_cell_gets_half_added_to_that_study_only():
    est = binary_effect(two_by_two(0, 20, 5, 15), study_id="S", analysis="a", outcome="pcr", compare=COMPARE)
    assert est.correction == 0.5
    assert est.estimate == pytest.approx(math.log((0.5 * 15.5) / (20.5 * 5.5)), rel=1e-12)
    assert "0.5 added" in est.notes[0]


@pytest.mark.parametrize(
    "table, reason",
    [((0, 0, 5, 5), "no patients with hr_status = positive"), ((0, 10, 0, 10), "no events in either group"),
     ((10, 0, 10, 0), "every patient had the event")],
)
def test_non_estimable_studies_say_why(table, reason):
    est = binary_effect(two_by_two(*table), study_id="S", analysis="a", outcome="pcr", compare=COMPARE)
    assert not est.estimable and est.reason == reason and math.isnan(est.estimate)


def test_cox_efron_matches_r_survival():
    ref = json.loads((REF / "cox_fixtures.json").read_text())
    data = pd.read_csv(REF / "two_groups.csv")
    fit = cox_fit(data["time"].to_numpy(float), data["event"].to_numpy(int), data[["x"]].astype(float))
    coef, se = float(fit.coef["x"]), float(fit.se["x"])
    assert coef == pytest.approx(ref["efron"]["coef"], rel=1e-6)
    assert se == pytest.approx(ref["efron"]["se"], rel=1e-6)
    assert abs(coef - ref["breslow"]["coef"]) > 1e-3  # the fixture has ties: Efron and Breslow differ


def test_cox_effect_counts_and_zero_event_group():
    data = pd.read_csv(REF / "two_groups.csv")
    data["hr_status"] = np.where(data["x"] == 1, "positive", "negative")
    est = cox_effect(data, study_id="S", analysis="efs", time="time", event="event", compare=COMPARE)
    assert est.estimable and est.events == int(data["event"].sum()) and est.n_exposed == int(data["x"].sum())
    data.loc[data["x"] == 1, "event"] = 0
    est = cox_effect(data, study_id="S", analysis="efs", time="time", event="event", compare=COMPARE)
    assert not est.estimable and "no events in one group" in est.reason


def _population_frame():
    # 16 patients written out: (hr_status, chemo_taxane, regimen_class, pcr)
    rows = [
        ("positive", True, "dual_mab", True), ("positive", True, "dual_mab", False), ("positive", True, "trastuzumab", True),
        ("positive", True, "trastuzumab", False), ("positive", False, "dual_mab", True), ("positive", None, "trastuzumab", False),
        ("negative", True, "dual_mab", True), ("negative", True, "dual_mab", False), ("negative", True, "trastuzumab", True),
        ("negative", True, "trastuzumab", False), ("negative", True, "trastuzumab", False), ("negative", False, "dual_mab", True),
        (None, True, "dual_mab", True), (None, True, "trastuzumab", False), (None, False, "dual_mab", False),
        ("positive", True, "other", True),
    ]
    frame = pd.DataFrame(rows, columns=["hr_status", "chemo_taxane", "regimen_class", "pcr_ypt0is_ypn0"])
    frame["chemo_taxane"] = frame["chemo_taxane"].astype("boolean")
    frame["pcr_ypt0is_ypn0"] = frame["pcr_ypt0is_ypn0"].astype("boolean")
    return frame


_DUAL_SPEC = {"type": "binary", "outcome": "pcr_ypt0is_ypn0", "measure": "OR",
              "compare": {"field": "regimen_class", "exposed": ["dual_mab"], "reference": "trastuzumab"},
              "population": {"chemo_taxane": [True]}}


def test_patients_outside_the_population_are_counted_not_dropped():
    rows = estimate_analysis(_population_frame(), study_id="S", analysis="a", spec=_DUAL_SPEC)
    (row,) = rows
    # chemo_taxane false (3) or not recorded (1) -> 4 outside; 12 in the population, of whom the
    # `other` regimen is in neither compared group (1); 11 compared.
    assert row.excluded_population == 4
    assert row.excluded_unknown_group == 1
    assert row.n == 11
    assert row.n + row.excluded_unknown_group + row.excluded_missing_outcome + row.excluded_population == 16


def test_within_levels_count_the_population_and_the_unknown_level():
    spec = dict(_DUAL_SPEC, within={"field": "hr_status", "levels": ["positive", "negative"]})
    positive, negative, combined = estimate_analysis(_population_frame(), study_id="S", analysis="a", spec=spec)
    # HR-positive: 7 patients, 2 outside the population (taxane false, taxane unknown), 1 `other`.
    assert (positive.n, positive.excluded_population, positive.excluded_unknown_group) == (4, 2, 1)
    # HR-negative: 6 patients, 1 outside the population.
    assert (negative.n, negative.excluded_population, negative.excluded_unknown_group) == (5, 1, 0)
    # The study: 4 outside the population; HR unknown in the population: 2.
    assert (combined.excluded_population, combined.excluded_unknown_level) == (4, 2)
    accounted = (positive.n + positive.excluded_unknown_group + negative.n + negative.excluded_unknown_group
                 + combined.excluded_population + combined.excluded_unknown_level)
    assert accounted == 16
