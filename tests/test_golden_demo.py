"""The demo's numbers are pinned: every per-study count, event, flag and estimate of every
analysis, and every pooled model's result, equal tests/golden/demo_estimates.tsv.

Rule protected: a change that moves any study's numbers (a mapping, a harmonization rule, an
effect-size formula, the pooling) is seen, named by study, analysis and column, and is committed
only on purpose, with the table regenerated (`python tools/golden_demo.py write`,
docs/golden_numbers.md). One workflow run (the whole demo, up to the pooled documents) serves
the module.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("golden_demo", ROOT / "tools" / "golden_demo.py")
golden_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden_demo)

pytestmark = pytest.mark.workflow

SHOWN = 20  # differences listed in a failure message


@pytest.fixture(scope="module")
def golden():
    return golden_demo.read_table()


@pytest.fixture(scope="module")
def current():
    return golden_demo.current_table()


def _failure(found: list[str]) -> str:
    more = f"\n... and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    return (f"{len(found)} demo number(s) differ from tests/golden/demo_estimates.tsv:\n" + "\n".join(found[:SHOWN])
            + more + "\nif the change is meant, run `python tools/golden_demo.py write` and say why in the commit")


def test_the_demo_run_gives_the_golden_numbers(golden, current):
    """Every pinned cell of a fresh demo run equals the committed table (counts exactly, floats
    to 1e-10), and no cell is on one side only."""
    found = golden_demo.differences(golden, current)
    assert not found, _failure(found)


def test_the_golden_table_covers_every_analysis_included_study_and_model(golden):
    """Every analysis of config/config.yaml times every included study has its estimate rows,
    and every analysis each pooling method, so a table cut short cannot pass for complete."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    sheet = pd.read_csv(ROOT / "config" / "studies.tsv", sep="\t", dtype=str, keep_default_na=False)
    included = set(sheet.loc[sheet["include"] == "true", "study_id"])
    pairs = {(row[0], row[1]) for row in golden if row[1] != golden_demo.POOLED}
    assert pairs == {(a, s) for a in config["analyses"] for s in included}
    models = {(row[0], row[2].split(" ")[-1]) for row in golden if row[1] == golden_demo.POOLED and row[3] == "estimate"}
    assert {(a, m) for a in config["analyses"] for m in config["pooling"]["methods"]} <= models
    # Each estimates row carries every StudyEstimate column but its key.
    columns = {row[3] for row in golden if row[1] != golden_demo.POOLED}
    assert columns == set(golden_demo.FIELD_TYPES) - golden_demo.KEYS


def test_the_pinned_headline_values(golden):
    """A few cells, spelled out: NeoSphere's pCR 2x2 by HR; NOAH's EFS by HR is not estimable
    (no HR-negative patient); NeoSphere's within-trial interaction row counts the patients whose
    HR status is neither level; nine trials inform EFS by pCR in HR-positive patients."""
    cells = {row[:4]: row[4:] for row in golden}
    neosphere = {column: cells[("pcr_by_hr", "SIM-NEOSPHERE", "all", column)][1]
                 for column in ("n_exposed", "events_exposed", "n_reference", "events_reference", "estimable")}
    assert neosphere == {"n_exposed": "191", "events_exposed": "27", "n_reference": "212", "events_reference": "68",
                         "estimable": "True"}
    assert cells[("efs_by_hr", "SIM-NOAH", "all", "estimable")] == ("bool", "False")
    assert cells[("efs_by_hr", "SIM-NOAH", "all", "reason")] == ("text", "no patients with hr_status = negative")
    assert cells[("efs_by_hr", "SIM-NOAH", "all", "n_reference")] == ("int", "0")
    assert cells[("pcr_dual_by_hr", "SIM-NEOSPHERE", "interaction", "excluded_unknown_level")] == ("int", "6")
    assert cells[("efs_by_pcr_within_hr", golden_demo.POOLED, "positive REML", "k")] == ("int", "9")


def _estimate_rows(golden) -> dict[tuple[str, str, str], dict[str, str]]:
    rows: dict[tuple[str, str, str], dict[str, str]] = {}
    for analysis, study, row, column, _, value in golden:
        if study != golden_demo.POOLED:
            rows.setdefault((analysis, study, row), {})[column] = value
    return rows


def _two_by_two(row: dict[str, str]) -> tuple[float, float]:
    """Log OR (Woolf), log RR or RD and its standard error from the row's own 2x2 counts."""
    n1, a, n0, c = (int(row[k]) for k in ("n_exposed", "events_exposed", "n_reference", "events_reference"))
    if row["measure"] == "OR":
        return math.log(a * (n0 - c) / ((n1 - a) * c)), math.sqrt(1 / a + 1 / (n1 - a) + 1 / c + 1 / (n0 - c))
    if row["measure"] == "RR":
        return math.log((a / n1) / (c / n0)), math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    p1, p0 = a / n1, c / n0
    return p1 - p0, math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)


def test_the_pinned_binary_estimates_are_those_of_their_pinned_counts(golden):
    """Each estimable binary row without a continuity correction holds the log OR, log RR or
    RD of its own 2x2 counts; each interaction row the difference of its two levels' log
    estimates, with the square root of the summed variances (Fisher et al. 2017). The files
    carry 10 significant digits, hence the tolerances."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["analyses"]
    rows = _estimate_rows(golden)
    checked = interactions = 0
    for (analysis, study, subgroup), row in rows.items():
        if row["estimable"] != "True":
            continue
        if subgroup == "interaction":
            first, second = (rows[(analysis, study, level)] for level in config[analysis]["within"]["levels"])
            assert float(row["estimate"]) == pytest.approx(float(first["estimate"]) - float(second["estimate"]), abs=1e-8)
            assert float(row["se"]) == pytest.approx(math.hypot(float(first["se"]), float(second["se"])), abs=1e-8)
            interactions += 1
        elif config[analysis]["type"] == "binary" and float(row["correction"]) == 0:
            estimate, se = _two_by_two(row)
            assert (float(row["estimate"]), float(row["se"])) == pytest.approx((estimate, se), rel=1e-9, abs=1e-12), \
                (analysis, study, subgroup)
            checked += 1
    assert checked >= 50 and interactions >= 20, (checked, interactions)  # 53 and 22 on the demo


def _perturbed(golden, key, value):
    return [row[:5] + (value,) if row[:4] == key else row for row in golden]


def test_a_moved_count_estimate_or_missing_cell_is_reported_by_name(golden):
    """The comparison fails on a count off by one, an estimate moved beyond 1e-10 (relative),
    a flag flipped, a cell on one side only; it passes a float moved within 1e-10."""
    count = ("pcr_by_hr", "SIM-NEOSPHERE", "all", "events_exposed")
    estimate = ("pcr_by_hr", "SIM-NEOSPHERE", "all", "estimate")
    cells = {row[:4]: row[4:] for row in golden}
    events, value = int(cells[count][1]), float(cells[estimate][1])

    found = golden_demo.differences(golden, _perturbed(golden, count, str(events + 1)))
    assert found == [f"pcr_by_hr / SIM-NEOSPHERE / row 'all' / events_exposed: golden {events} (int), now {events + 1} (int)"]

    moved = repr(value * (1 + 1e-9))
    found = golden_demo.differences(golden, _perturbed(golden, estimate, moved))
    assert found == [f"pcr_by_hr / SIM-NEOSPHERE / row 'all' / estimate: golden {value!r} (float), now {moved} (float)"]
    assert golden_demo.differences(golden, _perturbed(golden, estimate, repr(value * (1 + 1e-12)))) == []

    flag = ("pcr_by_hr", "SIM-NEOSPHERE", "all", "estimable")
    assert len(golden_demo.differences(golden, _perturbed(golden, flag, "False"))) == 1

    without = [row for row in golden if row[:4] != estimate]
    assert golden_demo.differences(golden, without) == [
        f"pcr_by_hr / SIM-NEOSPHERE / row 'all' / estimate: golden {value!r} (float), missing from the run"]
    extra = golden + [("pcr_by_hr", "SIM-NEOSPHERE", "all", "new_column", "int", "1")]
    assert golden_demo.differences(golden, extra) == [
        "pcr_by_hr / SIM-NEOSPHERE / row 'all' / new_column: not in the golden table, now 1 (int)"]

    message = _failure([f"difference {i}" for i in range(25)]).splitlines()
    assert message[1:21] == [f"difference {i}" for i in range(20)] and message[21] == "... and 5 more"
    assert message[-1] == "if the change is meant, run `python tools/golden_demo.py write` and say why in the commit"


def test_the_committed_table_reads_back_to_its_own_bytes(golden):
    """The table's text is what `write` makes of the values it holds: no float lost digits."""
    assert golden_demo.render(golden) == golden_demo.GOLDEN.read_text()
