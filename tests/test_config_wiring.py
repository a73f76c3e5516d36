"""Config wiring: every config key that changes a released number, run through the workflow.

Rule (config/README.md): a key of config/config.yaml changes the numbers it documents, and only
those. A key whose wiring no test follows can be disconnected without any test failing, so each
key below is changed to a non-default value in a real workflow run and compared with a baseline
run: the number it governs must change (to the value the rule gives, where it gives one), and
every output file it must not touch must stay byte-identical (compared file by file, so a
failure names the file).

Inventory (key -> the numbers it changes; everything else must stay byte-identical):

  harmonization.hr_threshold_percent  hr_status of studies with ER/PR percentages (not of the
                                      category-only SIM-BUZDAR), every HR analysis, the baseline
                                      table; never extracted data or the non-HR analysis pcr_dual
  harmonization.itc_is_pcr            pCR of ypT0/is ypN0(i+) patients (planted in SIM-NSABPB41:
                                      the demo has none), pCR analyses, the integrity table;
                                      never EFS by HR
  analyses.<name>.measure, .correction, .outcome, .compare, .population, .settings, .designs,
  .within, .onestage, .adjust, .rmst_horizon_months, .landmark_months
                                      estimates/<name>/ and what is pooled from them: one run,
                                      a copy of an analysis per key, compared with the original
  pooling.level                       every interval (study, pooled, prediction, one-stage);
                                      never an estimate or SE
  pooling.test                        random-effects SEs, CIs, p-values; never FE
  pooling.prediction_interval         pi_lb/pi_ub only
  pooling.methods                     adds pooled rows; the others stay
  pooling.primary                     the headline flag and the sensitivity analyses' reference;
                                      never a model's numbers
  sensitivity.loo_shift, .small_study_n, .min_k_small_study_tests, .hr_cutoffs
                                      leave_one_out, exclusions, small_study (and the funnel in
                                      the report), by_hr_cutoff: disjoint files, one run
  release.min_cell_count              what released files show; never the secure zone or an estimate
  integrity.pcr_tolerance_points, .n_tolerance_percent
                                      status of the arm rows / the patient rows of integrity.tsv
  seed                                no number (with the tolerances: every other file identical)
  integrity.pcr_denominator           pCR denominators in integrity.tsv
  report.primary_analysis             tables/flow.json (with pcr_denominator: a disjoint file)

Not here: release.strict (pass or fail, no number), provenance.ro_crate, warm_worker
(byte-identical results: test_determinism_workflow), titles and descriptions (text), .time and
.event (selected as .outcome is), simulation.* (not in the default run: test_simulation_workflow).
"""

from __future__ import annotations

import fnmatch
import json
import math
import shutil
from hashlib import sha256
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from workflow_setup import ROOT, run_snakemake, write_run_config

pytestmark = pytest.mark.workflow

SHIPPED = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
STUDIES = ["SIM-NEOSPHERE", "SIM-NSABPB41", "SIM-BUZDAR"]
# Every one uses HR status; _prepare adds pcr_dual, which does not.
ANALYSES = ["pcr_by_hr", "efs_by_hr", "pcr_dual_by_hr", "efs_by_pcr_within_hr"]
PCR_ANALYSES = ["pcr_by_hr", "pcr_dual_by_hr", "efs_by_pcr_within_hr", "pcr_dual"]
NOT_COMPARED = ("provenance", "pipeline_info")  # records and manifests: times, hosts, the config itself
REPORT = "report/index.html"  # states the settings: changes with every key
# Study sheet: NeoSphere randomized 421 patients, 417 of them in the ITT population; with the
# published number set to 421 the patient count check has a difference for the tolerance to judge.
PUBLISHED_N = {"SIM-NEOSPHERE": "421"}
PLANTED_ITC = 6  # SIM-NSABPB41 patients with ypN0(i+) given ypT0 (see _plant_itc)


def _set(config: dict, key: str, value) -> None:
    *path, last = key.split(".")
    for part in path:
        config = config.setdefault(part, {})
    config[last] = value


# name -> config keys changed from the defaults. Keys sharing a run land on disjoint files.
GLOBAL_VARIANTS = {
    "base": {},
    "hr_threshold": {"harmonization.hr_threshold_percent": 10},
    "itc": {"harmonization.itc_is_pcr": True},
    "level": {"pooling.level": 90},
    "knha": {"pooling.test": "knha"},
    "pi_t": {"pooling.prediction_interval": "t"},
    "methods": {"pooling.methods": ["FE", "REML", "DL", "PM"]},
    "primary": {"pooling.primary": "DL"},
    "sensitivity": {"sensitivity.loo_shift": 0.1, "sensitivity.small_study_n": 450,
                    "sensitivity.min_k_small_study_tests": 3, "sensitivity.hr_cutoffs": [1, 20]},
    "cells": {"release.min_cell_count": 18},
    "tolerance": {"integrity.pcr_tolerance_points": 3, "integrity.n_tolerance_percent": 1, "seed": 1},
    "denominator": {"integrity.pcr_denominator": "assessed", "report.primary_analysis": "efs_by_hr"},
}


def _analysis_copies(analyses: dict) -> dict:
    """Copies of shipped analyses that differ from their original in one key each."""
    def copy(name, **changes):
        spec = json.loads(json.dumps(analyses[name]))
        spec.update(changes)
        return spec

    pcr = analyses["pcr_by_hr"]
    t1 = {"ct_stage": ["T1"]}  # small groups: a zero cell in SIM-NEOSPHERE (none of 6 HR+ with pCR)
    return {
        "pcr_by_hr_rr": copy("pcr_by_hr", measure="RR"),
        "pcr_by_hr_rd": copy("pcr_by_hr", measure="RD"),
        "pcr_by_hr_strict": copy("pcr_by_hr", outcome="pcr_ypt0_ypn0"),
        "pcr_by_hr_swapped": copy("pcr_by_hr", compare={**pcr["compare"], "exposed": "negative", "reference": "positive"}),
        "pcr_taxane_by_hr": copy("pcr_by_hr", population={"chemo_taxane": [True]}),
        "pcr_t1_by_hr": copy("pcr_by_hr", population=t1),
        "pcr_t1_by_hr_corr1": copy("pcr_by_hr", population=t1, correction=1.0),
        "pcr_by_hr_adjuvant": copy("pcr_by_hr", settings=["adjuvant"]),
        "pcr_by_hr_single_arm": copy("pcr_by_hr", designs=["single_arm"]),
        "pcr_by_hr_no_onestage": copy("pcr_by_hr", onestage=False),
        "efs_by_hr_rmst36": copy("efs_by_hr", rmst_horizon_months=36),
        "efs_by_hr_adjusted": copy("efs_by_hr", adjust=["age_years"]),
        "efs_by_hr_landmark": copy("efs_by_hr", landmark_months=12),
    }


# ---------------------------------------------------------------------------------------------
# Set-up: one data folder for every run, then one run per variant (each at most once)


def _plant_itc(package: Path) -> list[str]:
    """Give the first PLANTED_ITC patients with ypN0(i+) a ypT0, so that itc_is_pcr decides
    their pCR (the demo packages have no ypT0/is ypN0(i+) patient), and update MANIFEST.txt."""
    path = package / "pr.csv"
    pr = pd.read_csv(path, dtype=str, keep_default_na=False)
    itc = pr.loc[(pr["PRTESTCD"] == "YPN") & (pr["PRORRES"] == "ypN0(i+)"), "USUBJID"].head(PLANTED_ITC).tolist()
    pr.loc[(pr["PRTESTCD"] == "YPT") & pr["USUBJID"].isin(itc), "PRORRES"] = "ypT0"
    pr.to_csv(path, index=False, lineterminator="\n")
    data = path.read_bytes()
    manifest = package / "MANIFEST.txt"
    lines = [f"pr.csv  {len(data)}  {sha256(data).hexdigest()}" if line.startswith("pr.csv ") else line
             for line in manifest.read_text().splitlines()]
    manifest.write_text("\n".join(lines) + "\n")
    return itc


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    for study in STUDIES:
        shutil.copytree(ROOT / "resources" / "demo" / study, root / "demo" / study)
    assert len(_plant_itc(root / "demo" / "SIM-NSABPB41")) == PLANTED_ITC
    return root


def _prepare(work: Path, data: Path, analyses: list[str], extra: dict, changes: dict) -> None:
    write_run_config(work, studies=STUDIES, analyses=analyses, sensitivity=["pcr_by_hr"])
    path = work / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["data_root"] = str(data)
    # pcr_dual: the dual-blockade comparison of pcr_dual_by_hr without `within` (no HR status).
    dual = dict(config["analyses"]["pcr_dual_by_hr"])
    del dual["within"]
    config["analyses"]["pcr_dual"] = dual
    config["analyses"].update(extra)
    for key, value in changes.items():
        _set(config, key, value)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    sheet_path = work / "config" / "studies.tsv"
    sheet = pd.read_csv(sheet_path, sep="\t", dtype=str, keep_default_na=False)
    for study, n in PUBLISHED_N.items():
        sheet.loc[sheet["study_id"] == study, "published_n"] = n
    sheet.to_csv(sheet_path, sep="\t", index=False)


def _run(work: Path) -> Path:
    done = run_snakemake(work, "--cores", "2")
    assert done.returncode == 0, done.stderr[-4000:]
    return work / "results"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_root):
    """runs(name): the results folder of GLOBAL_VARIANTS[name], run on first use."""
    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            work = tmp_path_factory.mktemp(name)
            _prepare(work, data_root, ANALYSES, {}, GLOBAL_VARIANTS[name])
            done[name] = _run(work)
        return done[name]

    return get


@pytest.fixture(scope="module")
def copies(tmp_path_factory, data_root) -> Path:
    """One run with the analyses and their one-key copies."""
    work = tmp_path_factory.mktemp("analysis_copies")
    _prepare(work, data_root, ANALYSES, _analysis_copies(SHIPPED["analyses"]), {})
    return _run(work)


# ---------------------------------------------------------------------------------------------
# Comparing runs


def _files(results: Path) -> dict[str, bytes]:
    return {p.relative_to(results).as_posix(): p.read_bytes() for p in sorted(results.rglob("*"))
            if p.is_file() and p.relative_to(results).parts[0] not in NOT_COMPARED}


def _changed(base: Path, variant: Path) -> list[str]:
    a, b = _files(base), _files(variant)
    assert sorted(a) == sorted(b), f"different files: only in baseline {sorted(set(a) - set(b))}, only in variant {sorted(set(b) - set(a))}"
    return [name for name in a if a[name] != b[name]]


def assert_only(base: Path, variant: Path, allowed: list[str], must: list[str]) -> None:
    """Every file outside `allowed` (globs) is byte-identical to the baseline; every file of `must` changed."""
    changed = _changed(base, variant)
    untouchable = [name for name in changed if not any(fnmatch.fnmatch(name, pattern) for pattern in allowed)]
    assert untouchable == [], f"files the key must not change, changed: {untouchable}"
    unchanged = [name for name in must if name not in changed]
    assert unchanged == [], f"files the key must change, unchanged: {unchanged}"


def _for(analyses, *parts) -> list[str]:
    return [f"{part.format(a=a)}" for a in analyses for part in parts]


def _outputs_of(analyses) -> list[str]:
    """Everything pooled or drawn from the analyses' estimates."""
    return _for(analyses, "estimates/{a}/*", "pooled/{a}.*", "figures/{a}/*", "onestage/{a}.json", "sensitivity/{a}/*")


def tsv(results: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(results / name, sep="\t")


def estimates(results: Path, analysis: str) -> pd.DataFrame:
    frames = [tsv(results, f"estimates/{analysis}/{s}.tsv") for s in STUDIES]
    return pd.concat(frames, ignore_index=True).set_index(["study_id", "subgroup"])


def pooled(results: Path, analysis: str) -> pd.DataFrame:
    return tsv(results, f"pooled/{analysis}.tsv").set_index(["subgroup", "method"])


def harmonized(results: Path, study: str) -> pd.DataFrame:
    return pd.read_parquet(results / "harmonized" / f"{study}.parquet")


Z95, Z90 = stats.norm.ppf(0.975), stats.norm.ppf(0.95)


# ---------------------------------------------------------------------------------------------
# harmonization


def _hr_status(data: pd.DataFrame, threshold: float) -> pd.Series:
    """ASCO/CAP: ER (PgR) positive at >= threshold % of nuclei; HR positive if either is,
    negative if both are negative, unknown otherwise."""
    def status(percent):
        return np.where(percent.isna(), "unknown", np.where(percent >= threshold, "positive", "negative"))
    er, pr = status(data["er_percent"]), status(data["pr_percent"])
    return pd.Series(np.where((er == "positive") | (pr == "positive"), "positive",
                              np.where((er == "negative") & (pr == "negative"), "negative", "unknown")), index=data.index)


def test_hr_threshold_rederives_hr_status_from_percentages_only(runs):
    """ER/PR positive at >= hr_threshold_percent; categories of a category-only study are kept."""
    base, variant = runs("base"), runs("hr_threshold")
    for study in ("SIM-NEOSPHERE", "SIM-NSABPB41"):
        before, after = harmonized(base, study), harmonized(variant, study)
        assert (before["hr_status"].astype(str) == _hr_status(before, 1)).all()
        assert (after["hr_status"].astype(str) == _hr_status(after, 10)).all()
        moved = ((before["hr_status"] == "positive") & (after["hr_status"] != "positive")).sum()
        assert moved > 0, f"{study}: no patient changed HR status at 10%"
    # SIM-BUZDAR has categories only: nothing of it changes; the non-HR analysis pcr_dual neither.
    allowed = ["harmonized/SIM-NEOSPHERE.parquet", "harmonized/SIM-NSABPB41.parquet", "harmonized/*.qc.json",
               *_for(ANALYSES, "estimates/{a}/SIM-NEOSPHERE.tsv", "estimates/{a}/SIM-NSABPB41.tsv", "pooled/{a}.*",
                     "figures/{a}/*", "onestage/{a}.json", "sensitivity/{a}/*"),
               "tables/baseline.tsv", "tables/flow.json", "figures/flow.*", REPORT]
    assert_only(base, variant, allowed, must=["estimates/pcr_by_hr/SIM-NSABPB41.tsv", "pooled/pcr_by_hr.tsv",
                                              "tables/baseline.tsv"])
    # The pooled primary estimate at 10% is the baseline's sensitivity variant "HR positive at >= 10%".
    cutoff = tsv(base, "sensitivity/pcr_by_hr/by_hr_cutoff.tsv").set_index("variant")
    primary = pooled(variant, "pcr_by_hr").loc[("all", "REML")]
    assert primary["estimate"] == pytest.approx(cutoff.loc["HR positive at >= 10%", "estimate"], rel=1e-7)
    assert primary["estimate"] != pytest.approx(pooled(base, "pcr_by_hr").loc[("all", "REML"), "estimate"], rel=1e-3)


def test_itc_is_pcr_counts_ypn0_i_plus_as_pcr(runs):
    """Isolated tumour cells in nodes (ypN0(i+)) count as pCR with itc_is_pcr, and only with it."""
    base, variant = runs("base"), runs("itc")
    data = harmonized(base, "SIM-NSABPB41")
    planted = data[(data["ypt"] == "T0") & (data["ypn"] == "N0(i+)")]
    assert len(planted) == PLANTED_ITC and not planted["pcr_ypt0is_ypn0"].any()
    assert harmonized(variant, "SIM-NSABPB41").set_index("patient_id").loc[planted["patient_id"], "pcr_ypt0is_ypn0"].all()
    before, after = estimates(base, "pcr_by_hr"), estimates(variant, "pcr_by_hr")
    row = ("SIM-NSABPB41", "all")
    for group, status in (("exposed", "positive"), ("reference", "negative")):
        gained = int((planted["hr_status"] == status).sum())
        assert after.loc[row, f"events_{group}"] - before.loc[row, f"events_{group}"] == gained
        assert after.loc[row, f"n_{group}"] == before.loc[row, f"n_{group}"]
    # Only SIM-NSABPB41 has ypT/ypN with ypN0(i+) and ypT0/is; EFS by HR uses no pCR.
    allowed = ["harmonized/SIM-NSABPB41.parquet", "harmonized/*.qc.json",
               *_for(PCR_ANALYSES, "estimates/{a}/SIM-NSABPB41.tsv", "pooled/{a}.*", "figures/{a}/*", "onestage/{a}.json",
                     "sensitivity/{a}/*"),
               "tables/integrity.tsv", "tables/baseline.tsv", "tables/flow.json", "figures/flow.*", REPORT]
    assert_only(base, variant, allowed, must=["harmonized/SIM-NSABPB41.parquet", "estimates/pcr_by_hr/SIM-NSABPB41.tsv",
                                              "pooled/pcr_by_hr.tsv", "tables/integrity.tsv"])


# ---------------------------------------------------------------------------------------------
# analyses.<name>.*: copies compared with their original within one run


def _study_rows(results: Path, analysis: str, study: str) -> pd.DataFrame:
    return tsv(results, f"estimates/{analysis}/{study}.tsv").drop(columns="analysis")


def assert_same_estimates(results: Path, original: str, copy: str, studies=STUDIES, except_columns=()) -> None:
    for study in studies:
        a = _study_rows(results, original, study).drop(columns=list(except_columns))
        b = _study_rows(results, copy, study).drop(columns=list(except_columns))
        pd.testing.assert_frame_equal(a, b, obj=f"estimates/{original}/{study}.tsv vs estimates/{copy}/{study}.tsv")


def test_measure_rr_and_rd_are_computed_from_the_same_2x2_tables(copies):
    """RR: log risk ratio, var 1/a - 1/n1 + 1/c - 1/n0; RD: p1 - p0, var p1q1/n1 + p0q0/n0."""
    odds = estimates(copies, "pcr_by_hr")
    counts = ["n", "events", "n_exposed", "n_reference", "events_exposed", "events_reference"]
    for name, measure in (("pcr_by_hr_rr", "RR"), ("pcr_by_hr_rd", "RD")):
        est = estimates(copies, name)
        pd.testing.assert_frame_equal(est[counts], odds[counts], obj=name)
        assert (est["measure"] == measure).all()
        a, n1, c, n0 = est["events_exposed"], est["n_exposed"], est["events_reference"], est["n_reference"]
        p1, p0 = a / n1, c / n0
        if measure == "RR":
            expected, var = np.log(p1 / p0), 1 / a - 1 / n1 + 1 / c - 1 / n0
        else:
            expected, var = p1 - p0, p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
        np.testing.assert_allclose(est["estimate"], expected, rtol=1e-9)
        np.testing.assert_allclose(est["se"], np.sqrt(var), rtol=1e-9)
        assert json.loads((copies / "pooled" / f"{name}.json").read_text())["measure"] == measure
    a, b, c, d = (odds[k] for k in ("events_exposed", "n_exposed", "events_reference", "n_reference"))
    np.testing.assert_allclose(odds["estimate"], np.log(a * (d - c) / ((b - a) * c)), rtol=1e-9)


def test_outcome_and_compare_select_the_field_and_the_groups(copies):
    """outcome names the field counted as events; swapping exposed and reference negates a log OR."""
    strict = estimates(copies, "pcr_by_hr_strict")
    for study in ("SIM-NEOSPHERE", "SIM-NSABPB41"):  # SIM-BUZDAR records only a pCR flag
        data = harmonized(copies, study)
        data = data[data["hr_status"].isin(["positive", "negative"]) & data["pcr_ypt0_ypn0"].notna()]
        assert strict.loc[(study, "all"), "events_exposed"] == int(data.loc[data["hr_status"] == "positive", "pcr_ypt0_ypn0"].sum())
    odds, swapped = estimates(copies, "pcr_by_hr"), estimates(copies, "pcr_by_hr_swapped")
    np.testing.assert_allclose(swapped["estimate"], -odds["estimate"], rtol=1e-12)
    np.testing.assert_allclose(swapped["se"], odds["se"], rtol=1e-12)
    assert (swapped["n_exposed"] == odds["n_reference"]).all() and (swapped["events_exposed"] == odds["events_reference"]).all()


def test_correction_is_added_only_to_a_study_with_a_zero_cell(copies):
    """log OR with `correction` added to every cell of a table with a zero cell, and only there."""
    half, one = estimates(copies, "pcr_t1_by_hr"), estimates(copies, "pcr_t1_by_hr_corr1")
    row = ("SIM-NEOSPHERE", "all")
    a, n1, c, n0 = (int(half.loc[row, k]) for k in ("events_exposed", "n_exposed", "events_reference", "n_reference"))
    assert min(a, n1 - a, c, n0 - c) == 0
    for table, k in ((half, 0.5), (one, 1.0)):
        cells = np.array([a, n1 - a, c, n0 - c]) + k
        assert table.loc[row, "correction"] == k
        assert table.loc[row, "estimate"] == pytest.approx(math.log(cells[0] * cells[3] / (cells[1] * cells[2])), rel=1e-9)
        assert table.loc[row, "se"] == pytest.approx(math.sqrt((1 / cells).sum()), rel=1e-9)
    # No zero cell in SIM-NSABPB41, no event at all in SIM-BUZDAR: the correction changes nothing.
    assert_same_estimates(copies, "pcr_t1_by_hr", "pcr_t1_by_hr_corr1", studies=["SIM-NSABPB41", "SIM-BUZDAR"])
    assert half.loc[("SIM-NSABPB41", "all"), "correction"] == 0


def test_population_restricts_the_patients(copies):
    """population: only patients whose fields take the listed values; the others are counted."""
    taxane = estimates(copies, "pcr_taxane_by_hr")
    data = harmonized(copies, "SIM-NEOSPHERE")
    kept = data[data["chemo_taxane"].astype(bool) & data["hr_status"].isin(["positive", "negative"])
                & data["pcr_ypt0is_ypn0"].notna()]
    row = taxane.loc[("SIM-NEOSPHERE", "all")]
    assert (row["n"], row["excluded_population"]) == (len(kept), int((~data["chemo_taxane"].astype(bool)).sum()))
    assert row["excluded_population"] > 0
    # Every patient of the other two studies had a taxane.
    assert_same_estimates(copies, "pcr_by_hr", "pcr_taxane_by_hr", studies=["SIM-NSABPB41", "SIM-BUZDAR"])


@pytest.mark.parametrize("copy", ["pcr_by_hr_adjuvant", "pcr_by_hr_single_arm"])
def test_settings_and_designs_decide_which_studies_an_analysis_takes(copies, copy):
    """All three studies are neoadjuvant RCTs: an adjuvant-only or single-arm-only copy takes none."""
    est = estimates(copies, copy)
    assert not est["estimable"].any()
    assert est["reason"].str.startswith("not applicable").all()
    document = json.loads((copies / "pooled" / f"{copy}.json").read_text())
    assert document["subgroups"][0]["studies"] == [] and document.get("not_estimable")
    assert not (copies / "onestage" / f"{copy}.json").exists()
    assert {s["study_id"] for s in json.loads((copies / "pooled" / "pcr_by_hr.json").read_text())["subgroups"][0]["studies"]} \
        == set(STUDIES)


def test_onestage_false_skips_only_the_one_stage_model(copies):
    """onestage: false drops the one-stage model and nothing of the two-stage analysis."""
    assert (copies / "onestage" / "pcr_by_hr.json").exists()
    assert not (copies / "onestage" / "pcr_by_hr_no_onestage.json").exists()
    assert_same_estimates(copies, "pcr_by_hr", "pcr_by_hr_no_onestage")
    pd.testing.assert_frame_equal(tsv(copies, "pooled/pcr_by_hr.tsv").drop(columns="analysis"),
                                  tsv(copies, "pooled/pcr_by_hr_no_onestage.tsv").drop(columns="analysis"))


def test_within_splits_the_comparison_by_level(copies):
    """The level rows hold the patients of the overall comparison whose level is known."""
    overall, within = estimates(copies, "pcr_dual"), estimates(copies, "pcr_dual_by_hr")
    assert set(within.index.get_level_values("subgroup")) == {"positive", "negative", "interaction"}
    assert set(overall.index.get_level_values("subgroup")) == {"all"}
    for study in ("SIM-NEOSPHERE", "SIM-NSABPB41"):
        levels = within.loc[(study, "positive"), "n"] + within.loc[(study, "negative"), "n"]
        data = harmonized(copies, study)
        unknown_level = data["chemo_taxane"].astype(bool) & ~data["hr_status"].isin(["positive", "negative"]) \
            & data["regimen_class"].isin(["dual_mab", "mab_tki", "trastuzumab"]) & data["pcr_ypt0is_ypn0"].notna()
        assert levels + int(unknown_level.sum()) == overall.loc[(study, "all"), "n"]
        assert within.loc[(study, "interaction"), "estimate"] == pytest.approx(
            within.loc[(study, "positive"), "estimate"] - within.loc[(study, "negative"), "estimate"], abs=1e-8)


def _km_rmst(time: np.ndarray, event: np.ndarray, tau: float) -> float:
    """Area under the Kaplan-Meier curve from 0 to tau."""
    area, surv, last = 0.0, 1.0, 0.0
    for t in np.unique(time[event == 1]):
        if t > tau:
            break
        area += surv * (t - last)
        surv *= 1 - ((time == t) & (event == 1)).sum() / (time >= t).sum()
        last = t
    return area + surv * (tau - last)


def _efs(results: Path, study: str) -> pd.DataFrame:
    data = harmonized(results, study)
    return data[data["hr_status"].isin(["positive", "negative"]) & data["efs_months"].notna() & data["efs_event"].notna()]


def test_rmst_horizon_changes_only_the_rmst_difference(copies):
    """RMST difference = area under each group's Kaplan-Meier curve up to the horizon, exposed - reference."""
    assert_same_estimates(copies, "efs_by_hr", "efs_by_hr_rmst36", except_columns=["rmst_diff", "rmst_se"])
    for horizon, name in ((60, "efs_by_hr"), (36, "efs_by_hr_rmst36")):
        est = estimates(copies, name)
        for study in ("SIM-NEOSPHERE", "SIM-NSABPB41"):
            data = _efs(copies, study)
            t, e = data["efs_months"].to_numpy(float), data["efs_event"].to_numpy(int)
            pos = (data["hr_status"] == "positive").to_numpy()
            expected = _km_rmst(t[pos], e[pos], horizon) - _km_rmst(t[~pos], e[~pos], horizon)
            assert est.loc[(study, "all"), "rmst_diff"] == pytest.approx(expected, rel=1e-9), (name, study)


def test_adjust_adds_the_covariates_to_the_cox_model(copies):
    """Cox model with Efron ties, HR group and age (statsmodels as the reference)."""
    from statsmodels.duration.hazard_regression import PHReg

    est = estimates(copies, "efs_by_hr_adjusted")
    assert_same_estimates(copies, "efs_by_hr", "efs_by_hr_adjusted",
                          except_columns=["estimate", "se", "ci_lb", "ci_ub", "notes"])
    for study in ("SIM-NEOSPHERE", "SIM-NSABPB41"):
        data = _efs(copies, study).dropna(subset=["age_years"])
        exog = np.column_stack([(data["hr_status"] == "positive").astype(float), data["age_years"].astype(float)])
        fit = PHReg(data["efs_months"].to_numpy(float), exog, status=data["efs_event"].to_numpy(int), ties="efron").fit()
        row = est.loc[(study, "all")]
        assert row["estimate"] == pytest.approx(fit.params[0], rel=1e-6, abs=1e-8)
        assert row["se"] == pytest.approx(fit.bse[0], rel=1e-5)
        assert row["estimate"] != pytest.approx(estimates(copies, "efs_by_hr").loc[(study, "all"), "estimate"], rel=1e-4)


def test_landmark_keeps_patients_event_free_at_the_landmark(copies):
    """Landmark: patients with time > landmark only, time from the landmark (survstats.landmark)."""
    est, full = estimates(copies, "efs_by_hr_landmark"), estimates(copies, "efs_by_hr")
    for study in STUDIES:
        data = _efs(copies, study)
        after = data[data["efs_months"] > 12]
        row = est.loc[(study, "all")]
        assert (row["n"], row["excluded_before_landmark"]) == (len(after), len(data) - len(after)), study
        assert row["events"] == int(after["efs_event"].sum())
        # The Cox model depends on the order of the times only: shifting every time by the
        # landmark changes nothing unless a patient is left out.
        if row["excluded_before_landmark"]:
            assert row["estimate"] != pytest.approx(full.loc[(study, "all"), "estimate"], rel=1e-6), study
        else:
            assert row["estimate"] == full.loc[(study, "all"), "estimate"], study
    assert est["excluded_before_landmark"].sum() > 0
    # The one-stage model takes the same patients.
    for model in json.loads((copies / "onestage" / "efs_by_hr_landmark.json").read_text())["models"]:
        assert model["n"] == est["n"].sum(), model["label"]


# ---------------------------------------------------------------------------------------------
# pooling


def test_level_changes_every_interval_and_nothing_else(runs):
    """pooling.level: every interval is estimate +- z((1 + level) / 2) se; estimates and SEs stay."""
    base, variant = runs("base"), runs("level")
    intervals = ["ci_lb", "ci_ub"]
    for analysis in ANALYSES + ["pcr_dual"]:
        before, after = estimates(base, analysis), estimates(variant, analysis)
        pd.testing.assert_frame_equal(before.drop(columns=intervals), after.drop(columns=intervals), obj=analysis)
        ok = after[after["estimable"]]
        np.testing.assert_allclose(ok["ci_lb"], ok["estimate"] - Z90 * ok["se"], atol=1e-8)
        np.testing.assert_allclose(ok["ci_ub"], ok["estimate"] + Z90 * ok["se"], atol=1e-8)
        pooled_intervals = intervals + ["exp_ci_lb", "exp_ci_ub", "pi_lb", "pi_ub"]
        p0, p1 = pooled(base, analysis), pooled(variant, analysis)
        pd.testing.assert_frame_equal(p0.drop(columns=pooled_intervals), p1.drop(columns=pooled_intervals), obj=analysis)
        np.testing.assert_allclose(p1["ci_ub"] - p1["estimate"], Z90 * p1["se"], atol=1e-8)
        assert ((p1["ci_ub"] - p1["ci_lb"]) < (p0["ci_ub"] - p0["ci_lb"])).all()
    # The one-stage models give their intervals at the same level.
    for analysis in ("pcr_by_hr", "efs_by_hr"):
        for model in json.loads((variant / "onestage" / f"{analysis}.json").read_text())["models"]:
            for term in model["terms"]:
                assert (term["ci_lb"], term["ci_ub"]) == pytest.approx(
                    (term["coef"] - Z90 * term["se"], term["coef"] + Z90 * term["se"]), rel=1e-9), (analysis, model["label"])
    assert_only(base, variant, [*_outputs_of(ANALYSES + ["pcr_dual"]), "figures/*/funnel.*", REPORT],
                must=["estimates/pcr_by_hr/SIM-BUZDAR.tsv", "pooled/pcr_by_hr.tsv", "onestage/pcr_by_hr.json",
                      "sensitivity/pcr_by_hr/robustness.tsv"])


def test_knha_changes_random_effects_inference_only(runs):
    """Knapp-Hartung: same estimate, CI estimate +- t(k-1) se; the fixed-effect model keeps z."""
    base, variant = runs("base"), runs("knha")
    for analysis in ("pcr_by_hr", "pcr_dual"):
        p0, p1 = pooled(base, analysis), pooled(variant, analysis)
        pd.testing.assert_frame_equal(p0.xs("FE", level="method"), p1.xs("FE", level="method"))
        random = p1.index.get_level_values("method") != "FE"
        np.testing.assert_allclose(p1.loc[random, "estimate"], p0.loc[random, "estimate"], rtol=1e-12)
        t = stats.t.ppf(0.975, p1.loc[random, "k"] - 1)
        np.testing.assert_allclose(p1.loc[random, "ci_ub"] - p1.loc[random, "estimate"], t * p1.loc[random, "se"], atol=1e-8)
        # SE scaled by sqrt(s2w), the weighted residual variance (exactly 1 with k = 2 and tau2 > 0).
        models = json.loads((variant / "pooled" / f"{analysis}.json").read_text())["subgroups"][0]["models"]
        for method in ("REML", "DL"):
            assert models[method]["test"] == "knha" and models[method]["df"] == models[method]["k"] - 1
            assert p1.loc[("all", method), "se"] == pytest.approx(math.sqrt(models[method]["s2w"]) * p0.loc[("all", method), "se"], rel=1e-9)
        assert ((p1.loc[random, "ci_ub"] - p1.loc[random, "ci_lb"]) > (p0.loc[random, "ci_ub"] - p0.loc[random, "ci_lb"])).all()
    assert pooled(variant, "pcr_by_hr").loc[("all", "REML"), "se"] != pytest.approx(pooled(base, "pcr_by_hr").loc[("all", "REML"), "se"], rel=1e-3)
    assert_only(base, variant, [*_for(ANALYSES + ["pcr_dual"], "pooled/{a}.*", "figures/{a}/forest.*", "sensitivity/{a}/*"),
                                "figures/*/funnel.*", REPORT], must=["pooled/pcr_by_hr.tsv"])


def test_prediction_interval_t_uses_k_minus_2_df(runs):
    """Higgins 2009: estimate +- t(k-2) sqrt(tau2 + se^2)."""
    base, variant = runs("base"), runs("pi_t")
    p0, p1 = pooled(base, "pcr_by_hr"), pooled(variant, "pcr_by_hr")
    pi = ["pi_lb", "pi_ub"]
    pd.testing.assert_frame_equal(p0.drop(columns=pi), p1.drop(columns=pi))
    for method in ("REML", "DL"):
        row = p1.loc[("all", method)]
        half = stats.t.ppf(0.975, row["k"] - 2) * math.sqrt(row["tau2"] + row["se"] ** 2)
        assert (row["pi_lb"], row["pi_ub"]) == pytest.approx((row["estimate"] - half, row["estimate"] + half), abs=1e-8)
    assert_only(base, variant, [*_for(ANALYSES + ["pcr_dual"], "pooled/{a}.*", "figures/{a}/forest.*"),
                                "sensitivity/*", "figures/*/funnel.*", REPORT], must=["pooled/pcr_by_hr.tsv"])


def test_methods_adds_models_and_keeps_the_others(runs):
    """pooling.methods: one pooled row per method; a method added leaves the others' rows as they were."""
    base, variant = runs("base"), runs("methods")
    for analysis in ANALYSES + ["pcr_dual"]:
        before = (base / "pooled" / f"{analysis}.tsv").read_text().splitlines()
        after = (variant / "pooled" / f"{analysis}.tsv").read_text().splitlines()
        assert [line for line in after if "\tPM\t" not in line] == before, analysis
        assert len(after) == len(before) + len(pooled(base, analysis).index.get_level_values("subgroup").unique())
    by_method = tsv(base, "sensitivity/pcr_by_hr/by_method.tsv").set_index("variant")
    assert pooled(variant, "pcr_by_hr").loc[("all", "PM"), "estimate"] == pytest.approx(
        by_method.loc["random effects PM, Wald z", "estimate"], rel=1e-9)
    assert_only(base, variant, [*_for(ANALYSES + ["pcr_dual"], "pooled/{a}.*", "figures/{a}/forest.*"), REPORT],
                must=["pooled/pcr_by_hr.tsv"])


def test_primary_moves_the_headline_and_not_the_models(runs):
    """pooling.primary chooses the headline model (and the reference of the sensitivity analyses)."""
    base, variant = runs("base"), runs("primary")
    for analysis in ANALYSES + ["pcr_dual"]:
        p0, p1 = pooled(base, analysis), pooled(variant, analysis)
        pd.testing.assert_frame_equal(p0.drop(columns="primary"), p1.drop(columns="primary"), obj=analysis)
        assert p1.loc[p1["primary"]].index.get_level_values("method").unique().tolist() == ["DL"]
    primary = tsv(variant, "sensitivity/pcr_by_hr/robustness.tsv").query("kind == 'primary'").iloc[0]
    assert primary["variant"] == "primary (DL)"
    assert primary["estimate"] == pytest.approx(pooled(base, "pcr_by_hr").loc[("all", "DL"), "estimate"], rel=1e-9)
    assert_only(base, variant, [*_for(ANALYSES + ["pcr_dual"], "pooled/{a}.json", "figures/{a}/forest.*", "pooled/{a}.tsv"),
                                "sensitivity/*", "figures/*/funnel.*", REPORT],
                must=["pooled/pcr_by_hr.tsv", "sensitivity/pcr_by_hr/robustness.tsv"])


# ---------------------------------------------------------------------------------------------
# sensitivity: four keys, four disjoint tables (and their rows of the robustness table)

SENSITIVITY_FILES = {"loo_shift": "leave_one_out", "small_study_n": "exclusions", "min_k_small_study_tests": "small_study",
                     "hr_cutoffs": "by_hr_cutoff"}


def test_sensitivity_settings_each_change_their_own_table(runs):
    """loo_shift flags a leave-one-out move beyond it; small_study_n is the N below which a study is
    left out; min_k_small_study_tests the k from which Egger and trim-and-fill run; hr_cutoffs the
    cut-offs of the HR variants."""
    base, variant = runs("base"), runs("sensitivity")
    folder = "sensitivity/pcr_by_hr"
    primary = pooled(base, "pcr_by_hr").loc[("all", "REML"), "estimate"]
    loo0, loo1 = tsv(base, f"{folder}/leave_one_out.tsv"), tsv(variant, f"{folder}/leave_one_out.tsv")
    pd.testing.assert_frame_equal(loo0.drop(columns=["changes_conclusion", "note"]), loo1.drop(columns=["changes_conclusion", "note"]))
    moves = (loo1["estimate"] - primary).abs() > 0.1
    assert (loo1["note"].fillna("").str.contains("estimate moves by") == moves).all()
    assert moves.sum() > (loo0["estimate"] - primary).abs().gt(0.2).sum()

    exclusions = tsv(variant, f"{folder}/exclusions.tsv").set_index("variant").loc["without small studies (N < 450)"]
    assert exclusions["note"] == "left out: SIM-BUZDAR, SIM-NEOSPHERE" and exclusions["k"] == 1
    assert exclusions["estimate"] == pytest.approx(estimates(base, "pcr_by_hr").loc[("SIM-NSABPB41", "all"), "estimate"], rel=1e-9)

    small = tsv(variant, f"{folder}/small_study.tsv")
    assert small["variant"].tolist()[0] == "Egger's regression test" and (small["k"] == 3).all()
    assert tsv(base, f"{folder}/small_study.tsv")["variant"].tolist() == ["not done"]

    c0 = tsv(base, f"{folder}/by_hr_cutoff.tsv").set_index("variant")
    c1 = tsv(variant, f"{folder}/by_hr_cutoff.tsv").set_index("variant")
    assert c1.index.tolist() == ["HR positive at >= 1%", "HR positive at >= 20%"]
    pd.testing.assert_series_equal(c1.loc["HR positive at >= 1%"], c0.loc["HR positive at >= 1%"])

    kinds = list(SENSITIVITY_FILES.values())
    r0, r1 = (tsv(r, f"{folder}/robustness.tsv") for r in (base, variant))
    pd.testing.assert_frame_equal(r0[~r0["kind"].isin(kinds)].reset_index(drop=True), r1[~r1["kind"].isin(kinds)].reset_index(drop=True))
    # The funnel plot is always drawn; the report shows it only from min_k studies on.
    funnel = 'alt="Funnel plot: '
    assert funnel not in (base / REPORT).read_text() and funnel in (variant / REPORT).read_text()
    assert_only(base, variant, [*(f"{folder}/{kind}.tsv" for kind in kinds), f"{folder}/robustness.*", REPORT],
                must=[*(f"{folder}/{kind}.tsv" for kind in kinds), f"{folder}/robustness.tsv", REPORT])


# ---------------------------------------------------------------------------------------------
# release, integrity, seed, report


def test_min_cell_count_changes_what_released_tables_show_not_the_estimates(runs):
    """Safe Outputs: released counts of people from 1 to min_cell_count - 1 are suppressed (a
    count, or an events/N pair whose N - events is below it); the secure zone and every estimate
    stay as they are. 18 (not higher): SIM-BUZDAR's chemotherapy-only arm has 19 patients, and
    the sensitivity tables and the report's study table show that count unsuppressed."""
    base, variant = runs("base"), runs("cells")
    minimum = GLOBAL_VARIANTS["cells"]["release.min_cell_count"]
    secure = estimates(variant, "pcr_by_hr")
    for study in json.loads((variant / "pooled" / "pcr_by_hr.json").read_text())["subgroups"][0]["studies"]:
        row = secure.loc[(study["study_id"], "all")]
        assert study["estimate"] == pytest.approx(row["estimate"], rel=1e-9)
        for events, n in (("events_exposed", "n_exposed"), ("events_reference", "n_reference")):
            hidden = 0 < row[events] < minimum or 0 < row[n] - row[events] < minimum
            assert (study[events] is None) == hidden, (study["study_id"], events)
            assert study[events] is None or study[events] == row[events]
    assert secure.loc[("SIM-BUZDAR", "all"), "events_exposed"] < minimum  # something to suppress
    for name in ("tables/baseline.tsv", "tables/integrity.tsv", "tables/flow.json"):
        cells = (variant / name).read_text()
        assert f"<{minimum}" in cells and "<5" not in cells, name
    # Numbers at risk under the Kaplan-Meier curves: 17 patients at risk is shown at 5, not at 18.
    km = "figures/efs_by_pcr_within_hr/km.svg"
    assert "<!-- 17 -->" in (base / km).read_text() and "<!-- 17 -->" not in (variant / km).read_text()
    assert f"<!-- &lt;{minimum} -->" in (variant / km).read_text()
    assert_only(base, variant, ["pooled/*.json", "figures/*/forest.*", "figures/*/km*", "tables/*", "figures/flow.*", REPORT],
                must=["pooled/pcr_by_hr.json", "tables/baseline.tsv", "tables/integrity.tsv", "tables/flow.json", km])


def test_integrity_tolerances_judge_their_own_rows_and_seed_changes_no_number(runs):
    """An arm differs when |IPD - published pCR| > pcr_tolerance_points; the patient count when
    |IPD - published N| > n_tolerance_percent % of the published N."""
    base, variant = runs("base"), runs("tolerance")
    i0 = tsv(base, "tables/integrity.tsv").set_index(["study_id", "arm"])
    i1 = tsv(variant, "tables/integrity.tsv").set_index(["study_id", "arm"])
    judged = ["status", "flag"]
    pd.testing.assert_frame_equal(i0.drop(columns=judged), i1.drop(columns=judged))
    arms = i1[i1["check"] == "arm"]
    compared = arms["pcr_difference_points"].notna()
    assert (arms.loc[compared, "flag"] == (arms.loc[compared, "pcr_difference_points"].abs() > 3)).all()
    assert arms["flag"].sum() > i0.loc[i0["check"] == "arm", "flag"].sum()
    patients = ("SIM-NEOSPHERE", "all")  # 417 of 421 published: 0.95%
    assert i0.loc[patients, "status"] == "differs" and i1.loc[patients, "status"] == "ok"
    # The seed reaches the jobs (first 4 bytes of SHA-256 of 'seed:rule:wildcard=value', in the
    # provenance records) and changes no number: every other file is byte-identical.
    for results, seed in ((base, SHIPPED["seed"]), (variant, GLOBAL_VARIANTS["tolerance"]["seed"])):
        record = json.loads((results / "provenance" / "pooled" / "pcr_by_hr.tsv.json").read_text())
        assert record["seed"] == int.from_bytes(sha256(f"{seed}:pool_analysis:analysis=pcr_by_hr".encode()).digest()[:4], "big")
    assert_only(base, variant, ["tables/integrity.tsv", REPORT], must=["tables/integrity.tsv"])


def test_pcr_denominator_and_primary_analysis(runs):
    """pcr_denominator assessed: pCR rate over the patients with pCR recorded; the flow diagram
    ends with the patients of report.primary_analysis."""
    base, variant = runs("base"), runs("denominator")
    i0 = tsv(base, "tables/integrity.tsv").set_index(["study_id", "arm"])
    i1 = tsv(variant, "tables/integrity.tsv").set_index(["study_id", "arm"])
    for study in STUDIES:
        data = harmonized(base, study)
        field = {"SIM-NEOSPHERE": "pcr_breast"}.get(study, "pcr_ypt0is_ypn0")
        for arm, rows in data.groupby("arm"):
            assessed = int(rows[field].notna().sum())
            assert i0.loc[(study, arm), "pcr_n"] == len(rows)
            assert i1.loc[(study, arm), "pcr_n"] == assessed
            assert i1.loc[(study, arm), "pcr_percent"] == pytest.approx(round(100 * rows[field].sum() / assessed, 1))
    flow0 = json.loads((base / "tables" / "flow.json").read_text())["patients"]
    flow1 = json.loads((variant / "tables" / "flow.json").read_text())["patients"]
    assert (flow0["analysis"], flow1["analysis"]) == ("pcr_by_hr", "efs_by_hr")
    assert flow0["in_analysis"] == estimates(base, "pcr_by_hr")["n"].sum()
    assert flow1["in_analysis"] == estimates(base, "efs_by_hr")["n"].sum()
    assert_only(base, variant, ["tables/integrity.tsv", "tables/flow.json", "figures/flow.*", REPORT],
                must=["tables/integrity.tsv", "tables/flow.json"])
