"""Sensitivity analyses against metafor's reference values (leave1out, subgroup Q) and the
rules of the robustness verdict."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from her2meta import sensitivity as sens

FIXTURES = json.loads((Path(__file__).parent / "reference" / "metafor" / "metafor_fixtures.json").read_text())
POOLING = {"methods": ["FE", "REML"], "primary": "REML", "test": "z", "level": 95.0, "prediction_interval": "auto"}
SPEC = {"type": "binary", "measure": "RR", "outcome": "y", "compare": {"field": "g", "exposed": "a", "reference": "b"}}


def bcg_estimates(subgroup: str = "all") -> pd.DataFrame:
    data = FIXTURES["datasets"]["bcg_rr"]
    ids = [f"{i + 1:02d} {name}" for i, name in enumerate(data["study"])]  # labels repeat in dat.bcg
    return pd.DataFrame({"study_id": ids, "estimate": data["yi"], "se": [math.sqrt(v) for v in data["vi"]],
                         "estimable": True, "subgroup": subgroup, "n": 1000})


def ctx(**settings) -> sens.Context:
    return sens.Context(analysis="bcg", spec=SPEC, pooling=POOLING, settings=settings)


def test_leave_one_out_matches_metafor_leave1out():
    # metafor::leave1out(rma(yi, vi, data = dat.bcg (RR), method = "REML")), Viechtbauer 2010, dat.bcg
    expected = next(e for e in FIXTURES["leave1out"] if e["dataset"] == "bcg_rr" and e["method"] == "REML" and e["test"] == "z")
    estimates = bcg_estimates()
    variants = sens.leave_one_out_variants(estimates, ctx(loo_shift=10.0))
    assert [v.variant for v in variants] == [f"without {s}" for s in sorted(estimates["study_id"])]
    order = {s: i for i, s in enumerate(estimates["study_id"])}
    for variant in variants:
        i = order[variant.variant.removeprefix("without ")]
        assert variant.estimate == pytest.approx(expected["expected"]["estimate"][i], rel=1e-6)
        half_width = 1.959963984540054 * expected["expected"]["se"][i]
        assert variant.ci_ub - variant.estimate == pytest.approx(half_width, rel=1e-6)


def test_leave_one_out_flags_a_large_shift():
    variants = sens.leave_one_out_variants(bcg_estimates(), ctx(loo_shift=0.05))
    flagged = [v for v in variants if v.changes_conclusion]
    assert flagged and all("estimate moves by" in v.note for v in flagged)


def test_subgroup_difference_test_matches_metafor_qm():
    # metafor: Q-test for subgroup differences by allocation, separate tau2 per level (dat.bcg)
    expected = next(e for e in FIXTURES["subgroups"] if e["dataset"] == "bcg_rr" and e["by"] == "alloc")
    estimates = bcg_estimates()
    estimates["level"] = FIXTURES["datasets"]["bcg_rr"]["alloc"]
    per_level = [estimates[estimates["level"] == level].copy() for level in ["random", "alternate", "systematic"]]
    (test,) = sens._subgroup_tests(per_level, ctx(), "allocation")
    assert test.pval == pytest.approx(expected["expected"]["Q_between_p"], rel=1e-6)
    assert f"Q between = {expected['expected']['Q_between']:.2f}" in test.note


def test_by_method_fixed_effect_and_knapp_hartung():
    variants = {v.variant: v for v in sens.by_method_variants(bcg_estimates(), ctx())}
    fe = variants["fixed effect (inverse variance)"]
    data = FIXTURES["datasets"]["bcg_rr"]
    w = [1 / v for v in data["vi"]]
    assert fe.estimate == pytest.approx(sum(wi * yi for wi, yi in zip(w, data["yi"])) / sum(w), rel=1e-9)
    z, knha = variants["random effects REML, Wald z"], variants["random effects REML, Knapp-Hartung"]
    assert z.estimate == pytest.approx(knha.estimate) and knha.ci_ub - knha.ci_lb != pytest.approx(z.ci_ub - z.ci_lb)


def test_exclusions_leave_out_high_risk_and_aggregate_studies():
    estimates = bcg_estimates()
    studies = {s: {"risk_of_bias": "low", "data_source": "ipd"} for s in estimates["study_id"]}
    studies["01 Aronson"]["risk_of_bias"] = "high"
    c = ctx(small_study_n=10)
    c.studies = studies
    variants = {v.variant: v for v in sens.exclusion_variants(estimates, c)}
    assert variants["without studies at high risk of bias"].k == 12
    assert variants["without studies at high risk of bias"].note == "left out: 01 Aronson"
    assert variants["without aggregate-data studies"].k == 13


def test_hr_status_rederived_at_ten_percent():
    frame = pd.DataFrame({"er_percent": [5.0, 50.0, None, 0.0], "pr_percent": [0.0, 0.0, None, 20.0],
                          "er_status": ["positive", "positive", "positive", "negative"],
                          "pr_status": ["negative", "negative", "negative", "positive"], "hr_status": ["positive"] * 4})
    out = sens.rederive_hr_status(frame, 10)
    # ER-low becomes negative; a category-only patient keeps the source category
    assert list(out["hr_status"]) == ["negative", "positive", "positive", "positive"]


@pytest.mark.parametrize(
    "primary, rows, expected",
    [
        ((-0.9, -0.3), [(-0.8, -0.2, False, True)], "robust: all 1 variants keep the CI on the same side of the null"),
        ((-0.9, 0.3), [(-0.8, 0.2, False, True)], "robust: none of 1 variants finds a difference"),
        ((-0.9, -0.3), [(-0.8, 0.2, True, True), (-1.0, -0.1, False, True)], "sensitive: 1 of 2 variants change the conclusion (x)"),
        ((-0.9, -0.3), [(-0.8, 0.2, True, False)], "robust: all 0 variants keep the CI on the same side of the null"),
    ],
)
def test_verdict(primary, rows, expected):
    variants = pd.DataFrame([{"kind": "x", "variant": "v", "estimate": (lb + ub) / 2, "ci_lb": lb, "ci_ub": ub,
                              "changes_conclusion": changed, "in_verdict": counted, "pval": 0.5}
                             for lb, ub, changed, counted in rows])
    assert sens.verdict(pd.Series({"ci_lb": primary[0], "ci_ub": primary[1]}), variants) == expected


def test_verdict_reports_a_regimen_subgroup_difference():
    variants = pd.DataFrame([{"kind": "by_regimen", "variant": "test for subgroup differences by regimen class", "estimate": None,
                              "ci_lb": None, "ci_ub": None, "changes_conclusion": False, "in_verdict": False, "pval": 0.01}])
    text = sens.verdict(pd.Series({"ci_lb": -0.9, "ci_ub": -0.3}), variants)
    assert text.endswith("the effect differs by regimen class (p = 0.010)")
