"""Both sides of the checks' own limits, as tables: integrity tolerances and the config limits.

- Integrity (integrity.py, PRISMA-IPD "checking IPD integrity"): a patient count differing from
  the published one by at most n_tolerance_percent of it (0: exactly) is ok, and a pCR rate
  differing by at most pcr_tolerance_points percentage points (default 5) is ok; beyond, the row
  is flagged.
- Config (schemas/config.json): the smallest value each threshold accepts, so that a value the
  code cannot use is refused by `her2meta config check`, not halfway through a run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from her2meta.config import validate_config
from her2meta.errors import ConfigError
from her2meta.integrity import DIFFERS, OK, Tolerance, _n_status, study_checks

ROOT = Path(__file__).resolve().parents[1]

N_STATUS = [
    # (IPD patients, published, n_tolerance_percent, status, difference)
    pytest.param(100, 100, 0.0, OK, 0, id="exact_tolerance0_equal_ok"),
    pytest.param(101, 100, 0.0, DIFFERS, 1, id="exact_tolerance0_one_more_differs"),
    pytest.param(99, 100, 0.0, DIFFERS, -1, id="exact_tolerance0_one_fewer_differs"),
    pytest.param(105, 100, 5.0, OK, 5, id="5pct_of_100_difference_5_ok"),
    pytest.param(106, 100, 5.0, DIFFERS, 6, id="5pct_of_100_difference_6_differs"),
    pytest.param(95, 100, 5.0, OK, -5, id="5pct_of_100_difference_minus5_ok"),
    pytest.param(94, 100, 5.0, DIFFERS, -6, id="5pct_of_100_difference_minus6_differs"),
]


@pytest.mark.parametrize("n_ipd, published, tolerance, status, difference", N_STATUS)
def test_patient_count_tolerance(n_ipd, published, tolerance, status, difference):
    """|IPD - published| <= n_tolerance_percent x published is ok; more is flagged."""
    assert _n_status(n_ipd, published, Tolerance(n_percent=tolerance)) == (status, difference)


PCR_TOLERANCE = [
    # 20 patients in arm A, 8 with pCR: 40.0% (itt). (published %, tolerance points, status)
    pytest.param(35.0, 5.0, OK, id="difference_5.0_at_tolerance_ok"),
    pytest.param(35.1, 5.0, OK, id="difference_4.9_ok"),
    pytest.param(34.9, 5.0, DIFFERS, id="difference_5.1_differs"),
    pytest.param(45.0, 5.0, OK, id="difference_minus5.0_ok"),
    pytest.param(45.1, 5.0, DIFFERS, id="difference_minus5.1_differs"),
    pytest.param(40.0, 0.0, OK, id="tolerance0_equal_ok"),
    pytest.param(39.9, 0.0, DIFFERS, id="tolerance0_difference_0.1_differs"),
]


@pytest.mark.parametrize("published, points, status", PCR_TOLERANCE)
def test_pcr_rate_tolerance(published, points, status):
    """|IPD pCR % - published pCR %| <= pcr_tolerance_points is ok; more is flagged."""
    data = pd.DataFrame({"arm": ["A"] * 20, "pcr_ypt0is_ypn0": pd.array([True] * 8 + [False] * 12, dtype="boolean")})
    study = {"study_id": "S", "label": "S", "published_n": 20, "primary_pcr_definition": "ypT0/is ypN0",
             "published_pcr_by_arm": f"A={published}"}
    rows = study_checks(data, study, Tolerance(pcr_points=points))
    (arm,) = [r for r in rows if r["check"] == "arm"]
    assert (arm["pcr_percent"], arm["status"], arm["flag"]) == (40.0, status, status == DIFFERS)


CONFIG_LIMITS = [
    # (section, key, value, accepted): the lowest value each threshold may take
    pytest.param("release", "min_cell_count", 0, False, id="min_cell_count_0_refused"),
    pytest.param("release", "min_cell_count", 1, True, id="min_cell_count_1_accepted"),
    pytest.param("sensitivity", "small_study_n", 0, False, id="small_study_n_0_refused"),
    pytest.param("sensitivity", "small_study_n", 1, True, id="small_study_n_1_accepted"),
    pytest.param("sensitivity", "min_k_small_study_tests", 2, False, id="min_k_2_refused"),
    pytest.param("sensitivity", "min_k_small_study_tests", 3, True, id="min_k_3_accepted"),
    pytest.param("sensitivity", "loo_shift", 0, False, id="loo_shift_0_refused"),
    pytest.param("sensitivity", "loo_shift", 0.001, True, id="loo_shift_0.001_accepted"),
    pytest.param("integrity", "pcr_tolerance_points", -0.1, False, id="pcr_tolerance_negative_refused"),
    pytest.param("integrity", "pcr_tolerance_points", 0, True, id="pcr_tolerance_0_accepted"),
    pytest.param("integrity", "n_tolerance_percent", -0.1, False, id="n_tolerance_negative_refused"),
    pytest.param("integrity", "n_tolerance_percent", 0, True, id="n_tolerance_0_accepted"),
]


@pytest.mark.parametrize("section, key, value, accepted", CONFIG_LIMITS)
def test_config_limits(section, key, value, accepted):
    """Egger's test needs 3 studies at the least; a shift, a minimum count or N of 0 means nothing."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config.setdefault(section, {})[key] = value
    if accepted:
        assert validate_config(config)[section][key] == value
    else:
        with pytest.raises(ConfigError):
            validate_config(config)


RECEPTOR_SCALE = [
    # (er_percent values, declared scale, stops): a value strictly between 0 and 1 beside percentages
    # looks like a fraction (0.3 = 30%) and stops the study unless the mapping declares the scale
    pytest.param([0.0, 1.0, 50.0], None, False, id="whole_0_and_1_with_percentages_ok"),
    pytest.param([0.5, 50.0], None, True, id="0.5_with_percentages_stops"),
    pytest.param([0.99, 50.0], None, True, id="0.99_with_percentages_stops"),
    pytest.param([1.01, 50.0], None, False, id="1.01_with_percentages_ok"),
    pytest.param([0.5, 50.0], "percent", False, id="0.5_declared_percent_ok"),
    pytest.param([0.0, 0.3, 1.0], None, True, id="all_in_0_1_not_whole_stops"),
]


@pytest.mark.parametrize("values, scale, stops", RECEPTOR_SCALE)
def test_receptor_values_that_look_like_fractions(values, scale, stops):
    """ER 0.5% read as a percentage is negative, read as a fraction (50%) positive: the mapping must say."""
    from her2meta.errors import StudyDataError
    from her2meta.plausibility import check_receptor_scale

    data = pd.DataFrame({"patient_id": [f"P{i}" for i in range(len(values))], "er_percent": values})
    rules = {"er_percent": {"scale": scale}} if scale else {}
    where = lambda name: "adsl.xpt"  # noqa: E731
    if stops:
        with pytest.raises(StudyDataError, match="fraction"):
            check_receptor_scale(data, rules, "S", where)
    else:
        check_receptor_scale(data, rules, "S", where)
