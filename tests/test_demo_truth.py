"""The demo data's generating parameters are known (resources/demo/truth.json): the pooled
estimates' confidence intervals should contain them. Runs the pipeline in process on every
neoadjuvant demo study (mapping -> harmonization -> per-study estimates -> REML pooling)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from her2meta.config import load_config, read_study_sheet
from her2meta.effects import estimate_analysis
from her2meta.harmonize import harmonize_study
from her2meta.mapping import apply_mapping, load_mapping
from her2meta.pool import rma

ROOT = Path(__file__).resolve().parents[1]
TRUTH = json.loads((ROOT / "resources" / "demo" / "truth.json").read_text())["studies"]

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def demo():
    config = load_config(ROOT / "config" / "config.yaml")
    rows = read_study_sheet(ROOT / "config" / "studies.tsv", project_root=ROOT, data_root=config["data_root"])
    data = {}
    for row in rows:
        if row["data_source"] != "ipd" or not row["include"] or row["setting"] != "neoadjuvant":
            continue
        mapping = load_mapping(ROOT / row["mapping"], study=row["study_id"])
        extracted = apply_mapping(mapping, ROOT / config["data_root"] / row["path"]).data
        data[row["study_id"]], _ = harmonize_study(extracted, study=row, abbreviations=mapping.abbreviations,
                                                   receptor_cutoff=mapping.receptor_cutoff)
    return config, data


def pooled(config, data, analysis, subgroup):
    rows = []
    for study, frame in sorted(data.items()):
        for est in estimate_analysis(frame, study_id=study, analysis=analysis, spec=config["analyses"][analysis]):
            if est.subgroup == subgroup and est.estimable:
                rows.append(est)
    return rma([r.estimate for r in rows], [r.se ** 2 for r in rows], method="REML", test="knha")


@pytest.mark.parametrize(
    "subgroup, truth",
    [("positive", math.log(0.52)), ("negative", math.log(0.29)), ("interaction", math.log(0.52 / 0.29))],
)
def test_prognostic_value_of_pcr_recovers_the_generating_hazard_ratios(demo, subgroup, truth):
    # truth.json: pCR multiplies the EFS hazard by 0.52 in HR+ and 0.29 in HR- (Broglio 2016).
    config, data = demo
    for study in data:
        model = TRUTH[study]["efs_model"]
        assert (model["pcr_hr_hr_pos"], model["pcr_hr_hr_neg"]) == (0.52, 0.29)
    res = pooled(config, data, "efs_by_pcr_within_hr", subgroup)
    assert res.ci_lb < truth < res.ci_ub, (subgroup, math.exp(res.estimate), math.exp(res.ci_lb), math.exp(res.ci_ub))


def true_log_or(study: str) -> float:
    """HR+ vs HR- log odds ratio of ypT0/is ypN0 pCR implied by the study's arms (arm-size weighted)."""
    arms = TRUTH[study]["arms"]
    rates = {}
    for group in ("positive", "negative"):
        n = sum(a[f"n_hr_{group}"] for a in arms)
        rates[group] = sum(a[f"n_hr_{group}"] * a["latent_total_pcr_probability"][f"hr_{group}"] for a in arms) / n
    odds = {g: r / (1 - r) for g, r in rates.items()}
    return math.log(odds["positive"] / odds["negative"])


def test_pooled_pcr_odds_ratio_contains_the_mean_true_log_odds_ratio(demo):
    config, data = demo
    res = pooled(config, data, "pcr_by_hr", "all")
    truths = pd.Series({study: true_log_or(study) for study in data if study != "SIM-NOAH"})  # NOAH: no HR- (ER only)
    assert res.ci_lb < truths.mean() < res.ci_ub, (res.ci_lb, truths.mean(), res.ci_ub)
