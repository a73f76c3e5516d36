"""2x2 effect sizes, Mantel-Haenszel and Peto against metafor 3.8 (JSON fixture).

Tolerance 1e-6 relative (closed forms).  CMH and Breslow-Day statistics come
from statsmodels' StratifiedTable and are checked here like our own code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from her2meta.pool import escalc_2x2, mantel_haenszel, peto

REF = json.loads((Path(__file__).parent / "reference" / "metafor" /
                  "metafor_fixtures.json").read_text())
RTOL, ATOL = 1e-6, 1e-12


def close(actual, expected, name):
    if expected is None:
        assert actual is None, f"{name}: expected NA, got {actual}"
        return
    assert actual is not None, f"{name}: got None, expected {expected}"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=name)


def table(name):
    t = REF["two_by_two"][name]
    return t["ai"], t["bi"], t["ci"], t["di"]


@pytest.mark.parametrize("case", REF["escalc"], ids=lambda c: "-".join(
    str(c[k]) for k in ("dataset", "measure", "to", "drop00")))
def test_escalc_matches_metafor(case):
    es = escalc_2x2(*table(case["dataset"]), measure=case["measure"], add=case["add"],
                    to=case["to"], drop00=case["drop00"])
    exp_yi = np.array([np.nan if v is None else v for v in case["expected"]["yi"]])
    exp_vi = np.array([np.nan if v is None else v for v in case["expected"]["vi"]])
    np.testing.assert_allclose(es.yi, exp_yi, rtol=RTOL, equal_nan=True)
    np.testing.assert_allclose(es.vi, exp_vi, rtol=RTOL, equal_nan=True)
    assert np.array_equal(es.dropped, np.isnan(exp_yi))


MH_FIELDS = ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Q_p", "I2", "H2", "k",
             "k_yi"]
OR_FIELDS = ["CMH", "CMH_p", "BD", "BD_p", "TA", "TA_p", "k_pos"]


@pytest.mark.parametrize("case", REF["mh"], ids=lambda c: f"{c['dataset']}-{c['measure']}-{c['correct']}")
def test_mantel_haenszel_matches_metafor(case):
    res = mantel_haenszel(*table(case["dataset"]), measure=case["measure"],
                          correct=case["correct"])
    exp = case["expected"]
    for name in MH_FIELDS + (OR_FIELDS if case["measure"] == "OR" else []):
        close(getattr(res, name), exp[name], name)


@pytest.mark.parametrize("case", REF["peto"], ids=lambda c: c["dataset"])
def test_peto_matches_metafor(case):
    res = peto(*table(case["dataset"]))
    for name in ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Q_p", "I2", "H2", "k"]:
        close(getattr(res, name), case["expected"][name], name)
