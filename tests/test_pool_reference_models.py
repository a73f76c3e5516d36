"""Meta-regression and subgroup analyses against metafor 3.8 (JSON fixture).

Tolerance 1e-6 relative (converged REML/ML with tight controls on both sides).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from her2meta.pool import metareg, subgroup_analysis

REF = json.loads((Path(__file__).parent / "reference" / "metafor" /
                  "metafor_fixtures.json").read_text())
RTOL, ATOL = 1e-6, 1e-10


def close(actual, expected, name):
    if expected is None:
        assert actual is None, f"{name}: expected NA, got {actual}"
        return
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float),
                               rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("case", REF["metareg"], ids=lambda c: "-".join(
    [c["dataset"], "+".join(c["mods"]), c["method"], c["test"]]))
def test_metareg_matches_metafor(case):
    data = REF["datasets"][case["dataset"]]
    mods = {name: data[name] for name in case["mods"]}
    res = metareg(data["yi"], data["vi"], mods, method=case["method"], test=case["test"])
    exp = case["expected"]
    for name in ["beta", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "Q", "Q_df", "Q_p",
                 "QM", "QM_p", "R2", "I2", "H2", "k", "p", "loglik", "df"]:
        close(getattr(res, name), exp[name], name)
    if case["method"] != "FE":
        close(res.se_tau2, exp["se_tau2"], "se_tau2")
        with_ci = metareg(data["yi"], data["vi"], mods, method=case["method"],
                          test=case["test"], tau2_ci=True)
        close([with_ci.tau2_ci_lb, with_ci.tau2_ci_ub], exp["tau2_ci"], "tau2_ci")
    close(res.QM_df, exp["QM_df"][0], "QM_df")


def test_published_bcg_metareg():
    """Viechtbauer (2010), section 3.3: log RR on absolute latitude, REML.

    The paper's values come from metafor's default (loose, 1e-5) REML
    convergence; the fully converged tau2 is 0.07635, so the published
    0.0764 and 75.62% are checked to within their last printed digit.
    """
    data = REF["datasets"]["bcg_rr"]
    res = metareg(data["yi"], data["vi"], {"ablat": data["ablat"]})
    assert [round(b, 4) for b in res.beta] == [0.2515, -0.0291]
    assert abs(res.tau2 - 0.0764) < 1e-4
    assert abs(res.R2 - 75.62) < 0.02


@pytest.mark.parametrize("case", REF["subgroups"], ids=lambda c: c["method"])
def test_subgroups_separate_tau2(case):
    data = REF["datasets"][case["dataset"]]
    res = subgroup_analysis(data["yi"], data["vi"], data[case["by"]], method=case["method"])
    exp = case["expected"]
    by_level = {s.level: s for s in res.subgroups}
    for sub in exp["separate"]:
        got = by_level[sub["level"]]
        for name in ["k", "estimate", "se", "ci_lb", "ci_ub", "tau2", "Q", "I2"]:
            close(getattr(got, name), sub[name], f"{sub['level']}:{name}")
    close(res.Q_between, exp["Q_between"], "Q_between")
    close(res.Q_between_df, exp["Q_between_df"], "Q_between_df")
    close(res.Q_between_p, exp["Q_between_p"], "Q_between_p")


@pytest.mark.parametrize("case", REF["subgroups"], ids=lambda c: c["method"])
def test_subgroups_common_tau2(case):
    data = REF["datasets"][case["dataset"]]
    res = subgroup_analysis(data["yi"], data["vi"], data[case["by"]], method=case["method"],
                            tau2="common")
    exp = case["expected"]
    close(res.Q_between, exp["common_QM"], "QM")
    close(res.Q_between_df, exp["common_QM_df"], "QM_df")
    close(res.Q_between_p, exp["common_QM_p"], "QM_p")
    close(res.common_tau2, exp["common_tau2"], "tau2")
    by_level = {s.level: s for s in res.subgroups}
    for lev, est, se in zip(exp["common_levels"], exp["common_estimate"], exp["common_se"]):
        close(by_level[lev].estimate, est, f"{lev}:estimate")
        close(by_level[lev].se, se, f"{lev}:se")
