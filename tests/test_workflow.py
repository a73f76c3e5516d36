"""End to end: the workflow on a 4-study configuration in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from workflow_setup import run_snakemake, write_run_config

# One study of each source shape, and a published-figures study in place of its synthetic twin.
STUDIES = ["SIM-NEOSPHERE", "SIM-NSABPB41", "SIM-BUZDAR", "AGG-NEOALTTO"]
ANALYSES = ["pcr_by_hr", "efs_by_hr", "pcr_dual_by_hr"]

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("workflow")
    write_run_config(work, studies=STUDIES, analyses=ANALYSES, sensitivity=["pcr_by_hr", "pcr_dual_by_hr"],
                     include=("AGG-NEOALTTO",))
    result = run_snakemake(work, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    return work


def test_pooled_tables_have_every_model_and_all_studies(run_dir):
    pooled = pd.read_csv(run_dir / "results" / "pooled" / "pcr_by_hr.tsv", sep="\t")
    assert list(pooled["method"]) == ["FE", "REML", "DL"]
    assert set(pooled["k"]) == {4}
    assert pooled.loc[pooled["primary"], "method"].tolist() == ["REML"]
    row = pooled.set_index("method").loc["FE"]
    assert row["ci_lb"] < row["estimate"] < row["ci_ub"]
    assert row["exp_estimate"] == pytest.approx(float(pd.Series([row["estimate"]]).map(__import__("math").exp)[0]))
    document = json.loads((run_dir / "results" / "pooled" / "efs_by_hr.json").read_text())
    (block,) = document["subgroups"]
    assert {s["study_id"] for s in block["studies"]} == set(STUDIES)
    aggregate = next(s for s in block["studies"] if s["study_id"] == "AGG-NEOALTTO")
    assert not aggregate["estimable"] and aggregate["reason"] == "not reported in the published aggregate data"
    assert document["measure"] == "HR" and block["models"]["REML"]["k"] == 3
    assert block["peto"]["k"] == 3 and block["rmst"]["k"] >= 2


def test_within_trial_interaction_is_pooled_beside_the_naive_comparison(run_dir):
    document = json.loads((run_dir / "results" / "pooled" / "pcr_dual_by_hr.json").read_text())
    names = [b["name"] for b in document["subgroups"]]
    assert names == ["positive", "negative", "interaction"]
    interaction = document["subgroups"][2]
    contributing = {s["study_id"] for s in interaction["studies"] if s["estimable"]}
    assert contributing == {"SIM-NEOSPHERE", "SIM-NSABPB41", "AGG-NEOALTTO"}
    buzdar = next(s for s in interaction["studies"] if s["study_id"] == "SIM-BUZDAR")  # no dual-blockade arm
    assert not buzdar["estimable"] and buzdar["reason"] == "not estimable in positive and negative"
    assert document["naive_comparison"]["Q_between_df"] == 1
    onestage = json.loads((run_dir / "results" / "onestage" / "pcr_dual_by_hr.json").read_text())
    assert onestage["covariates"] == ["exposed", "level", "exposed_x_level"]


def test_fixed_effect_equals_inverse_variance_average_of_the_study_tables(run_dir):
    estimates = pd.concat(pd.read_csv(p, sep="\t") for p in (run_dir / "results" / "estimates" / "pcr_by_hr").glob("*.tsv"))
    estimates = estimates[estimates["estimable"]]
    w = 1 / estimates["se"] ** 2
    pooled = pd.read_csv(run_dir / "results" / "pooled" / "pcr_by_hr.tsv", sep="\t").set_index("method")
    assert pooled.loc["FE", "estimate"] == pytest.approx((w * estimates["estimate"]).sum() / w.sum(), rel=1e-9)


def test_sensitivity_outputs_and_robustness_verdicts(run_dir):
    folder = run_dir / "results" / "sensitivity" / "pcr_dual_by_hr"
    kinds = {p.stem for p in folder.glob("*.tsv")}
    assert {"leave_one_out", "by_method", "exclusions", "cumulative", "small_study", "by_regimen", "by_pcr_definition",
            "by_hr_cutoff", "influence", "robustness"} <= kinds
    robustness = pd.read_csv(folder / "robustness.tsv", sep="\t")
    assert set(robustness["subgroup"]) == {"positive", "negative", "interaction"}
    assert (robustness["kind"] == "primary").sum() == 3
    exclusions = pd.read_csv(folder / "exclusions.tsv", sep="\t")
    aggregate = exclusions[exclusions["variant"] == "without aggregate-data studies"]
    assert (aggregate["note"] == "left out: AGG-NEOALTTO").all()
    verdicts = json.loads((folder / "robustness.json").read_text())["verdicts"]
    assert set(verdicts) == {"positive", "negative", "interaction"}
    assert all(v.startswith(("robust", "sensitive")) for v in verdicts.values())


def test_report_is_self_contained_and_shows_each_analysis(run_dir):
    html = (run_dir / "results" / "report" / "index.html").read_text()
    assert "Synthetic demonstration data" in html
    # three forest plots, KM pooled and per study, the flow diagram
    assert html.count('src="data:image/svg+xml;base64,') == 3 + 2 + 1
    assert "pCR (ypT0/is ypN0): HR-positive vs HR-negative" in html and "Event-free survival" in html
    for label in ("NeoSphere (synthetic)", "NSABP B-41 (synthetic)", "Buzdar / MD Anderson (synthetic)",
                  "NeoALTTO, published counts (aggregate)"):
        assert label in html
    assert "http://" not in html and "https://" not in html.replace("https://json-schema.org", "")
    assert "10% cut-off" in html  # the category-only study is flagged


def test_no_patient_identifier_leaves_the_secure_zone(run_dir):
    ids = set()
    for path in (run_dir / "results" / "harmonized").glob("*.parquet"):
        ids |= set(pd.read_parquet(path)["patient_id"].astype(str))
    assert len(ids) > 500
    release = [p for sub in ("pooled", "figures", "report", "estimates") for p in (run_dir / "results" / sub).rglob("*") if p.is_file()]
    assert release
    long_ids = {i for i in ids if len(i) >= 8}  # short ids such as "12" would match any number
    for path in release:
        text = path.read_bytes().decode("utf-8", errors="ignore")
        leaked = [i for i in long_ids if i in text]
        assert not leaked, f"{path} contains patient identifiers {leaked[:3]}"


def test_every_result_has_a_provenance_record(run_dir):
    results = run_dir / "results"
    outputs = [p for p in results.rglob("*") if p.is_file() and "provenance" not in p.parts]
    assert outputs
    for path in outputs:
        record = results / "provenance" / (str(path.relative_to(results)) + ".json")
        assert record.is_file(), f"no provenance record for {path}"
    record = json.loads((results / "provenance" / "extracted" / "SIM-NEOSPHERE.parquet.json").read_text())
    assert record["rule"] == "study_chain" and record["wildcards"] == {"study": "SIM-NEOSPHERE"}
    raw = [i for i in record["inputs"] if i["path"].endswith("adsl.xpt")]
    assert raw and len(raw[0]["sha256"]) == 64
    assert record["software"]["pandas"] and "git_commit" in record["code"]
    # one job, three steps: each output's record names what that step read, so the lineage keeps
    # estimates -> harmonized -> extracted -> raw package
    harmonized = json.loads((results / "provenance" / "harmonized" / "SIM-NEOSPHERE.parquet.json").read_text())
    assert sorted((Path(i["path"]).name, i.get("role")) for i in harmonized["inputs"]) == [
        ("SIM-NEOSPHERE.parquet", "data"), ("SIM-NEOSPHERE.qc.json", "qc"), ("SIM-NEOSPHERE.yaml", "mapping")]
    assert all(i["path"].startswith("results/extracted/") for i in harmonized["inputs"] if i["role"] != "mapping")
    estimate = json.loads((results / "provenance" / "estimates" / "pcr_by_hr" / "SIM-NEOSPHERE.tsv.json").read_text())
    assert [i["path"] for i in estimate["inputs"]] == ["results/harmonized/SIM-NEOSPHERE.parquet"]


def test_rerun_is_a_no_op(run_dir):
    result = run_snakemake(run_dir, "--cores", "1", "-n", timeout=300)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_snakemake_report_captions_state_the_values_used(run_dir):
    import zipfile

    target = run_dir / "snakemake_report.zip"
    result = run_snakemake(run_dir, "--report", str(target), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(target) as archive:
        html = next(archive.read(n).decode() for n in archive.namelist() if n.endswith("report.html"))
    assert "Squares are sized by weight in the REML model" in html
    assert "pooled with FE, REML, DL at the 95" in html
