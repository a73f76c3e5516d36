"""Any set of studies runs to a report, with the shipped (default) analyses.

Real requests rarely match the shipped analyses: most have no metastatic trial, some one study,
some a population where a compared group is empty (every patient HER2-positive), and a package
can be broken. Each such run completes with a report; an analysis no study can inform is a
"Not estimable: <why>" section (pooled JSON and table, placeholder figures, sensitivity outputs,
report), never a crash. Estimable analyses are pooled as usual.

Each set is one small workflow run (module-scoped fixtures), shared by its asserts. The expected
reasons and counts come from the study sheet, the configuration and the raw data as the tests
write them, not from the code under test.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workflow_setup import ROOT, run_snakemake, write_run_config

DEFAULT = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
ANALYSES = list(DEFAULT["analyses"])
SENSITIVITY = list(DEFAULT["sensitivity"]["analyses"])
SHEET = pd.read_csv(ROOT / "config" / "studies.tsv", sep="\t", dtype=str, keep_default_na=False).set_index("study_id")


def _settings(analysis: str) -> list[str]:
    return DEFAULT["analyses"][analysis].get("settings", ["neoadjuvant"])  # the schema's default


def _designs(analysis: str) -> list[str]:
    return DEFAULT["analyses"][analysis].get("designs", ["rct", "single_arm"])


METASTATIC = [a for a in ANALYSES if _settings(a) == ["metastatic"]]
NEOADJUVANT = [a for a in ANALYSES if _settings(a) == ["neoadjuvant"]]


def _prepare(work: Path, studies: list[str], *, copy_data: bool = False) -> None:
    write_run_config(work, studies=studies, analyses=ANALYSES, sensitivity=SENSITIVITY, copy_data=copy_data)


def _run(work: Path, *args: str) -> None:
    done = run_snakemake(work, "--cores", "2", *args, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]


def _prepared_run(tmp_path_factory, name: str, studies: list[str]) -> Path:
    """A module fixture's run of the shipped analyses on `studies`, as the sheet ships them."""
    work = tmp_path_factory.mktemp(name)
    _prepare(work, studies)
    _run(work)
    return work


def _pooled(work: Path, analysis: str) -> dict:
    return json.loads((work / "results" / "pooled" / f"{analysis}.json").read_text())


def _report(work: Path) -> str:
    return html.unescape((work / "results" / "report" / "index.html").read_text(encoding="utf-8"))


def _section(report: str, analysis: str) -> str:
    start = report.index(f'<h2 id="{analysis}">')
    return report[start:report.index("<h2", start + 1)]


def _is_placeholder(svg: Path) -> bool:
    return 'id="not-drawn"' in svg.read_text(encoding="utf-8")


def _assert_not_estimable(work: Path, analysis: str, reason: str) -> None:
    """Every output of the analysis says it is not estimable, with `reason` (the start of it)."""
    document = _pooled(work, analysis)
    assert document["not_estimable"].startswith(reason), (analysis, document["not_estimable"])
    assert all(block["k_used"] == 0 for block in document["subgroups"])
    table = pd.read_csv(work / "results" / "pooled" / f"{analysis}.tsv", sep="\t")
    assert len(table) == len(document["subgroups"]) and table["method"].str.startswith("not estimable: ").all()
    assert _is_placeholder(work / "results" / "figures" / analysis / "forest.svg")
    assert (work / "results" / "figures" / analysis / "forest.png").stat().st_size > 0
    section = _section(_report(work), analysis)
    assert f"Not estimable: {reason}" in section.replace("<b>", "").replace("</b>", "")
    assert "<img" not in section  # no figure, and no table of empty numbers
    assert "<th>Model</th>" not in section


def _assert_estimable(work: Path, analysis: str, k: int) -> dict:
    document = _pooled(work, analysis)
    assert "not_estimable" not in document
    blocks = document["subgroups"]
    assert all(block["k_used"] == k for block in blocks), [(b["name"], b["k_used"]) for b in blocks]
    primary = document["primary"]
    assert all(math.isfinite(block["models"][primary]["estimate"]) for block in blocks)
    assert not _is_placeholder(work / "results" / "figures" / analysis / "forest.svg")
    section = _section(_report(work), analysis)
    assert "Not estimable" not in section and f'alt="Forest plot: {document["spec"]["title"]}"' in section
    return document


def _sheet_count(studies: list[str]) -> str:
    """How the study sheet describes the included studies' settings, e.g. '2 neoadjuvant'."""
    settings = SHEET.loc[studies, "setting"].value_counts().sort_index()
    return ", ".join(f"{n} {value}" for value, n in settings.items())


# ----------------------------------------------------------------------------------------------
# Only neoadjuvant studies: the metastatic analyses have no study


NEOADJUVANT_STUDIES = ["SIM-BUZDAR", "SIM-NEOATP"]


@pytest.fixture(scope="module")
def neoadjuvant_only(tmp_path_factory):
    return _prepared_run(tmp_path_factory, "neoadjuvant_only", NEOADJUVANT_STUDIES)


@pytest.mark.workflow
def test_only_neoadjuvant_studies_report_the_metastatic_analyses_as_not_estimable(neoadjuvant_only):
    assert METASTATIC  # the shipped config has metastatic analyses
    included = _sheet_count(NEOADJUVANT_STUDIES)
    for analysis in METASTATIC:
        _assert_not_estimable(neoadjuvant_only, analysis,
                              f"no included study is in setting metastatic (included studies: {included})")
        assert not (neoadjuvant_only / "results" / "figures" / analysis / "km.svg").exists()  # no IPD: no KM job
    flags = _report(neoadjuvant_only)
    assert "Limitations raised by these results" in flags
    assert f"{DEFAULT['analyses']['orr_by_hr']['title']}: not estimable: no included study is in setting metastatic" in flags


@pytest.mark.workflow
def test_only_neoadjuvant_studies_pool_the_neoadjuvant_analyses(neoadjuvant_only):
    document = _assert_estimable(neoadjuvant_only, "pcr_by_hr", k=len(NEOADJUVANT_STUDIES))
    # fixed effect = inverse-variance average of the two study estimates, as the estimate files give them
    estimates = pd.concat([pd.read_csv(neoadjuvant_only / "results" / "estimates" / "pcr_by_hr" / f"{s}.tsv", sep="\t")
                           for s in NEOADJUVANT_STUDIES])
    weights = 1 / estimates["se"] ** 2
    assert document["subgroups"][0]["models"]["FE"]["estimate"] == pytest.approx((weights * estimates["estimate"]).sum() / weights.sum())
    robustness = json.loads((neoadjuvant_only / "results" / "sensitivity" / "pcr_by_hr" / "robustness.json").read_text())
    assert robustness["verdicts"]["all"].startswith(("robust", "sensitive"))


@pytest.mark.workflow
def test_a_randomized_only_analysis_whose_one_trial_lacks_the_compared_regimens_is_not_estimable(neoadjuvant_only):
    """pcr_dual_by_hr takes randomized trials only: SIM-BUZDAR, which has no dual-blockade arm."""
    rct = [s for s in NEOADJUVANT_STUDIES if SHEET.loc[s, "design"] in _designs("pcr_dual_by_hr")]
    assert rct == ["SIM-BUZDAR"]
    _assert_not_estimable(neoadjuvant_only, "pcr_dual_by_hr",
                          "no study has patients in both groups: 0 regimen_class = dual_mab or mab_tki patients in 1 study")
    blocks = {b["name"]: b["not_estimable_reason"] for b in _pooled(neoadjuvant_only, "pcr_dual_by_hr")["subgroups"]}
    assert blocks["negative"] == "no study has patients in both groups: 0 regimen_class = dual_mab or mab_tki patients " \
                                 "with hr_status = negative in 1 study"
    verdicts = json.loads((neoadjuvant_only / "results" / "sensitivity" / "pcr_dual_by_hr" / "robustness.json").read_text())
    assert set(verdicts["verdicts"]) == {"positive", "negative", "interaction"}
    assert all(v.startswith("not estimable: ") for v in verdicts["verdicts"].values())
    assert _is_placeholder(neoadjuvant_only / "results" / "figures" / "pcr_dual_by_hr" / "funnel.svg")


# ----------------------------------------------------------------------------------------------
# Only the metastatic study


@pytest.fixture(scope="module")
def metastatic_only(tmp_path_factory):
    return _prepared_run(tmp_path_factory, "metastatic_only", ["SIM-HERMET"])


@pytest.mark.workflow
def test_only_the_metastatic_study_reports_every_neoadjuvant_analysis_as_not_estimable(metastatic_only):
    for analysis in NEOADJUVANT:
        _assert_not_estimable(metastatic_only, analysis, "no included study is in setting neoadjuvant (included studies: 1 metastatic)")
    assert not (metastatic_only / "results" / "sensitivity").exists()  # every sensitivity analysis is neoadjuvant
    flow = json.loads((metastatic_only / "results" / "tables" / "flow.json").read_text())
    assert flow["patients"]["in_analysis"] == 0  # the primary analysis (pcr_by_hr) has no study


@pytest.mark.workflow
def test_only_the_metastatic_study_pools_the_metastatic_analyses_from_one_study(metastatic_only):
    for analysis in METASTATIC:
        document = _assert_estimable(metastatic_only, analysis, k=1)
        study = pd.read_csv(metastatic_only / "results" / "estimates" / analysis / "SIM-HERMET.tsv", sep="\t").iloc[0]
        for method, model in document["subgroups"][0]["models"].items():
            assert model["estimate"] == pytest.approx(study["estimate"]) and model["tau2"] == 0, method
    assert not _is_placeholder(metastatic_only / "results" / "figures" / "pfs_by_hr" / "km.svg")
    assert "a single study; the pooled estimate is that study's own" in _report(metastatic_only)


# ----------------------------------------------------------------------------------------------
# A single neoadjuvant study: every analysis with k = 1, sensitivity analyses included


@pytest.fixture(scope="module")
def single_study(tmp_path_factory):
    return _prepared_run(tmp_path_factory, "single_study", ["SIM-CHERLOB"])


@pytest.mark.workflow
def test_a_single_study_pools_each_analysis_to_its_own_estimate(single_study):
    assert SHEET.loc["SIM-CHERLOB", "design"] == "rct"  # it also informs the randomized-only analyses
    for analysis in NEOADJUVANT:
        document = _assert_estimable(single_study, analysis, k=1)
        study = pd.read_csv(single_study / "results" / "estimates" / analysis / "SIM-CHERLOB.tsv", sep="\t")
        own = dict(zip(study["subgroup"].astype(str), study["estimate"]))
        for block in document["subgroups"]:
            assert block["models"][document["primary"]]["estimate"] == pytest.approx(own[block["name"]]), (analysis, block["name"])
    for analysis in SENSITIVITY:
        verdicts = json.loads((single_study / "results" / "sensitivity" / analysis / "robustness.json").read_text())["verdicts"]
        assert verdicts and all(v.startswith(("robust", "sensitive")) for v in verdicts.values()), analysis
    for analysis in METASTATIC:
        _assert_not_estimable(single_study, analysis, "no included study is in setting metastatic (included studies: 1 neoadjuvant)")


# ----------------------------------------------------------------------------------------------
# One compared group empty in every study: every patient HR-positive, and (metastatic) HER2-positive


def _make_every_patient_hr_positive_csv(package: Path) -> int:
    """SIM-BUZDAR: ER positive for every patient (the sponsor's category); returns how many
    patients have a pCR result, as the file says."""
    table = pd.read_csv(package / "buzdar.csv", dtype=str, keep_default_na=False)
    table["ER_STAT"] = "Pos"
    table.to_csv(package / "buzdar.csv", index=False)
    (package / "MANIFEST.txt").unlink()  # its checksums describe the shipped file
    return int(table["pCR"].isin(["Yes", "No"]).sum())


def _make_every_patient_her2_and_hr_positive_xpt(package: Path) -> None:
    """SIM-HERMET (ADaM ADSL in SAS transport): HER2 IHC 3+ and ER 60% for every patient."""
    import pyreadstat

    adsl, meta = pyreadstat.read_xport(str(package / "adsl.xpt"), disable_datetime_conversion=True)
    adsl["HER2IHC"], adsl["HER2STN"], adsl["ERPCT"] = "3+", "", 60.0
    formats = {c: f for c, f in meta.original_variable_types.items() if f and not f.startswith("$")}  # keep DATE9.
    pyreadstat.write_xport(adsl, str(package / "adsl.xpt"), table_name="ADSL", file_format_version=5,
                           column_labels=[meta.column_names_to_labels.get(c) or "" for c in adsl.columns],
                           variable_format=formats)
    (package / "MANIFEST.txt").unlink()


@pytest.fixture(scope="module")
def one_group_empty(tmp_path_factory):
    work = tmp_path_factory.mktemp("one_group_empty")
    _prepare(work, ["SIM-BUZDAR", "SIM-HERMET"], copy_data=True)
    with_pcr = _make_every_patient_hr_positive_csv(work / "data" / "SIM-BUZDAR")
    _make_every_patient_her2_and_hr_positive_xpt(work / "data" / "SIM-HERMET")
    _run(work)
    return work, with_pcr


@pytest.mark.workflow
def test_every_analysis_by_hr_status_is_not_estimable_when_every_patient_is_hr_positive(one_group_empty):
    work, _ = one_group_empty
    by_hr = [a for a in ANALYSES if DEFAULT["analyses"][a]["compare"]["field"] == "hr_status"]
    recorded = [a for a in by_hr if DEFAULT["analyses"][a].get("outcome") not in ("pcr_ypt0_ypn0", "pcr_breast")]
    assert {"pcr_by_hr", "efs_by_hr", "orr_by_hr", "pfs_by_hr"} <= set(recorded)
    for analysis in recorded:  # one study each (SIM-BUZDAR neoadjuvant, SIM-HERMET metastatic)
        _assert_not_estimable(work, analysis, "no study has patients in both groups: 0 HR- patients in 1 study")
    for analysis in set(by_hr) - set(recorded):  # SIM-BUZDAR records only ypT0/is ypN0: the study's own reason
        outcome = DEFAULT["analyses"][analysis]["outcome"]
        _assert_not_estimable(work, analysis, f"no study gives an estimate: {outcome} is not recorded in this study (1 study)")


@pytest.mark.workflow
def test_the_her2_spectrum_is_not_estimable_when_every_patient_is_her2_positive(one_group_empty):
    """The crash of issue 13: the report stopped on orr_by_her2's missing exposed-group rate."""
    work, _ = one_group_empty
    for analysis in ("orr_by_her2", "pfs_by_her2"):
        _assert_not_estimable(work, analysis, "no study has patients in both groups: 0 HER2-low/ultralow/null patients in 1 study")
    table = _report(work)
    start = table.index("<h2>Summary of findings</h2>")
    summary = table[start:table.index("</table>", start)]
    assert "not estimable: no study has patients in both groups: 0 HER2-low/ultralow/null patients in 1 study" in summary


@pytest.mark.workflow
def test_an_empty_level_leaves_the_other_level_pooled(one_group_empty):
    """efs_by_pcr_within_hr: HR-positive is pooled, HR-negative and the interaction are not estimable."""
    work, with_pcr = one_group_empty
    document = _pooled(work, "efs_by_pcr_within_hr")
    blocks = {block["name"]: block for block in document["subgroups"]}
    assert "not_estimable" not in document  # the analysis is partly estimable
    assert blocks["positive"]["k_used"] == 1 and blocks["positive"]["n_total"] == with_pcr
    assert blocks["negative"]["not_estimable_reason"] == "no study gives an estimate: no patients with hr_status = negative (1 study)"
    assert blocks["interaction"]["not_estimable_reason"] == "no study gives an estimate: not estimable in negative (1 study)"
    section = _section(_report(work), "efs_by_pcr_within_hr").replace("<b>", "").replace("</b>", "")
    assert "Not estimable: no study gives an estimate: no patients with hr_status = negative (1 study)." in section
    assert "<th>Model</th>" in section and "alt=\"Forest plot" in section  # the pooled level keeps its tables and figure


# ----------------------------------------------------------------------------------------------
# One broken study under --keep-going


def _break_encoding(package: Path) -> None:
    """A latin-1 byte in the UTF-8 file (as tests/test_keep_going.py), its manifest removed."""
    data = (package / "buzdar.csv").read_bytes().split(b"\n")
    data[3] = data[3].replace(b",post,", ",pöst,".encode("latin-1"), 1).replace(b",pre,", ",pré,".encode("latin-1"), 1)
    (package / "buzdar.csv").write_bytes(b"\n".join(data))
    (package / "MANIFEST.txt").unlink()


@pytest.fixture(scope="module")
def one_broken(tmp_path_factory):
    work = tmp_path_factory.mktemp("one_broken")
    _prepare(work, ["SIM-BUZDAR", "SIM-NEOATP"], copy_data=True)
    _break_encoding(work / "data" / "SIM-BUZDAR")
    _run(work, "--keep-going")
    return work


FAILURE = "buzdar.csv is not valid utf-8 text: line 4"


@pytest.mark.workflow
def test_an_analysis_whose_only_study_failed_is_not_estimable(one_broken):
    rct_only = [a for a in NEOADJUVANT if _designs(a) == ["rct"]]
    assert rct_only and SHEET.loc["SIM-NEOATP", "design"] != "rct"  # SIM-BUZDAR is their only study
    for analysis in rct_only:
        _assert_not_estimable(one_broken, analysis, f"every study that takes this analysis failed (--keep-going): SIM-BUZDAR: {FAILURE}")
    for analysis in [a for a in rct_only if DEFAULT["analyses"][a]["type"] == "survival"]:
        assert _is_placeholder(one_broken / "results" / "figures" / analysis / "km.svg")
        assert _is_placeholder(one_broken / "results" / "figures" / analysis / "km_by_study.svg")
        onestage = json.loads((one_broken / "results" / "onestage" / f"{analysis}.json").read_text())
        assert onestage["note"].endswith("Studies that failed (--keep-going) contribute no patients: SIM-BUZDAR.")


@pytest.mark.workflow
def test_the_other_study_is_pooled_and_the_report_names_the_failure(one_broken):
    document = _assert_estimable(one_broken, "pcr_by_hr", k=1)
    (block,) = document["subgroups"]
    assert [item["study_id"] for item in block["not_estimable"]] == ["SIM-BUZDAR"]
    assert block["not_estimable"][0]["reason"].startswith(f"study failed: {FAILURE}")
    report = _report(one_broken)
    assert f"Buzdar / MD Anderson (synthetic): study failed: {FAILURE}" in report
    assert (one_broken / "results" / "pipeline_info" / "release_manifest.json").is_file()  # the release check ran


# ----------------------------------------------------------------------------------------------
# Only a published aggregate table: no IPD for one-stage models, Kaplan-Meier curves or the
# sensitivity analyses that re-estimate from patients


@pytest.fixture(scope="module")
def aggregate_only(tmp_path_factory):
    work = tmp_path_factory.mktemp("aggregate_only")
    write_run_config(work, studies=["AGG-NEOALTTO"], include=("AGG-NEOALTTO",), analyses=ANALYSES, sensitivity=SENSITIVITY)
    _run(work)
    return work


@pytest.mark.workflow
def test_only_aggregate_data_pools_what_the_table_reports(aggregate_only):
    published = pd.read_csv(ROOT / "resources" / "aggregate" / "AGG-NEOALTTO.tsv", sep="\t", comment="#")
    assert "pcr_by_hr" in set(published["analysis"]) and "pcr_rr_by_hr" not in set(published["analysis"])
    _assert_estimable(aggregate_only, "pcr_by_hr", k=1)
    _assert_not_estimable(aggregate_only, "pcr_rr_by_hr", "no study gives an estimate: not reported in the published aggregate data (1 study)")
    for kind in ("by_regimen", "by_pcr_definition", "by_hr_cutoff"):
        variants = pd.read_csv(aggregate_only / "results" / "sensitivity" / "pcr_by_hr" / f"{kind}.tsv", sep="\t")
        assert variants[["variant", "note"]].values.tolist() == [["not possible", "no study with individual patient data takes this analysis"]]
    assert not (aggregate_only / "results" / "onestage").exists() and not (aggregate_only / "results" / "harmonized").exists()


# ----------------------------------------------------------------------------------------------
# Without a run: the reasons, from the sheet and from the studies' estimates


def _rows(*studies: tuple[str, str, str, bool]) -> list[dict]:
    return [{"study_id": s, "setting": setting, "design": design, "include": include, "data_source": "ipd"}
            for s, setting, design, include in studies]


def test_config_check_names_every_analysis_no_included_study_informs():
    from her2meta.config import load_config
    from her2meta.coverage import analyses_without_studies, warning_lines

    config = load_config(ROOT / "config" / "config.yaml")
    rows = _rows(("A", "neoadjuvant", "single_arm", True), ("B", "metastatic", "rct", False))  # B is excluded
    found = analyses_without_studies(config, rows)
    assert set(found) == {a for a in ANALYSES if "neoadjuvant" not in _settings(a) or "single_arm" not in _designs(a)}
    assert found["orr_by_hr"] == "no included study is in setting metastatic (included studies: 1 neoadjuvant)"
    assert found["pcr_dual_by_hr"] == "no included study in setting neoadjuvant has design rct (studies in that setting: 1 single_arm)"
    assert "warning: analysis orr_by_hr will be not estimable: no included study is in setting metastatic" in "\n".join(
        warning_lines(config, rows))
    assert analyses_without_studies(config, _rows(("A", "neoadjuvant", "rct", True), ("B", "metastatic", "rct", True))) == {}
    assert set(analyses_without_studies(config, [])) == set(ANALYSES)


def _estimate(study: str, subgroup: str = "all", **values) -> dict:
    from her2meta.effects import StudyEstimate

    return StudyEstimate(study, "a", "OR", subgroup, **values).as_row()


SPEC = {"type": "binary", "outcome": "objective_response", "measure": "OR", "settings": ["metastatic"],
        "compare": {"field": "her2_status", "exposed": ["low", "ultralow", "null"], "reference": "positive"}}
POOLING = {"methods": ["FE", "REML"], "primary": "REML", "test": "z", "level": 95, "prediction_interval": "auto"}


def _pool(rows: list[dict], **kwargs):
    from her2meta.effects import ESTIMATE_COLUMNS
    from her2meta.synthesis import pool_analysis

    estimates = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS) if rows else pd.DataFrame()
    return pool_analysis(estimates, analysis="a", spec=SPEC, pooling=POOLING, labels={}, **kwargs)


def test_no_estimate_file_at_all_pools_to_not_estimable_with_the_sheet_reason():
    table, document = _pool([], no_study_reason="no included study is in setting metastatic (included studies: 3 neoadjuvant)")
    assert document["not_estimable"] == "no included study is in setting metastatic (included studies: 3 neoadjuvant)"
    assert document["subgroups"][0]["models"]["REML"] == {"error": f"not estimable: {document['not_estimable']}"}
    assert table[["subgroup", "method", "k"]].values.tolist() == [["all", f"not estimable: {document['not_estimable']}", 0]]
    assert _pool([])[1]["not_estimable"] == "no included study is in setting metastatic"  # from the analysis alone


def test_one_group_empty_in_every_study_is_said_with_the_count_of_studies():
    rows = [_estimate(s, n=n, n_reference=n, reason="no patients with her2_status = low or ultralow or null") for s, n in
            (("S1", 120), ("S2", 80))]
    _, document = _pool(rows)
    assert document["not_estimable"] == "no study has patients in both groups: 0 HER2-low/ultralow/null patients in 2 studies"
    assert [item["study_id"] for item in document["subgroups"][0]["not_estimable"]] == ["S1", "S2"]


def test_other_reasons_are_counted_and_failed_studies_named():
    rows = [_estimate("S1", n=30, n_exposed=10, n_reference=20, reason="no events in either group"),
            _estimate("S2", n=40, n_exposed=15, n_reference=25, reason="no events in either group"),
            _estimate("S3", reason="study failed: s3.xpt is not a SAS transport file")]
    _, document = _pool(rows)
    assert document["not_estimable"] == ("no study gives an estimate: no events in either group (2 studies); "
                                         "1 study failed (--keep-going): S3: s3.xpt is not a SAS transport file")
    _, only_failed = _pool(rows[2:])
    assert only_failed["not_estimable"] == "every study that takes this analysis failed (--keep-going): S3: s3.xpt is not a SAS transport file"


def test_an_estimable_analysis_carries_no_not_estimable_key():
    rows = [_estimate("S1", estimate=0.2, se=0.3, n=50, n_exposed=20, n_reference=30, estimable=True),
            _estimate("S2", n=40, n_exposed=0, n_reference=40, reason="no patients with her2_status = low or ultralow or null")]
    table, document = _pool(rows)
    assert "not_estimable" not in document and "not_estimable_reason" not in document["subgroups"][0]
    assert not table["method"].str.startswith("not estimable").any() and len(table) == 2


def test_a_placeholder_figure_is_byte_stable_and_marked(tmp_path):
    from her2meta.figures import placeholder

    first = placeholder("Forest plot: x", "no included study is in setting metastatic", tmp_path / "a")
    second = placeholder("Forest plot: x", "no included study is in setting metastatic", tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert _is_placeholder(first[0]) and first[1].read_bytes().startswith(b"\x89PNG")
