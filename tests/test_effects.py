"""Per-study effect sizes: 2x2 with zero cells, Cox with Efron ties (vs R's survival)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2meta.effects import binary_effect, cox_effect
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
