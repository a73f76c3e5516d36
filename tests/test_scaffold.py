"""`her2meta mapping scaffold` and `mapping check` on packages written here following CDISC ADaM.

The standard package: ADSL.XPT (one row per subject, ITTFL), ADTTE.XPT (BDS: PARAMCD EFS, OS and
a parameter the scaffold does not know, AVAL in days, CNSR 0 = event), ADRS.XPT (visit-level OVR
records and one BOR per subject), ADAE.XPT (several rows per subject; first in alphabetical
order) and define.xml (labels, structure, the NY code list). Expected counts are computed here
from the data written, never by the code under test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from her2meta.cli import main
from her2meta.mapping import load_mapping
from her2meta.mapping_check import check_mapping
from her2meta.scaffold import scaffold

import pyreadstat

N = 40
ARMS = ("Docetaxel + Trastuzumab", "Docetaxel + Trastuzumab + Pertuzumab")
NOT_ITT = {"TEST-007", "TEST-019", "TEST-033"}


def _adsl() -> pd.DataFrame:
    rng = np.random.default_rng(13)
    ids = [f"TEST-{k:03d}" for k in range(1, N + 1)]
    return pd.DataFrame({
        "STUDYID": ["TEST"] * N,
        "USUBJID": ids,
        "SUBJID": [i[-3:] for i in ids],
        "ARM": [ARMS[k % 2] for k in range(N)],
        "ARMCD": [("TH", "THP")[k % 2] for k in range(N)],
        "TRT01P": [ARMS[k % 2] for k in range(N)],
        "ITTFL": ["N" if i in NOT_ITT else "Y" for i in ids],
        "SAFFL": ["Y"] * N,
        "AGE": rng.integers(28, 76, N).astype(float),
        "AGEU": ["YEARS"] * N,
        "SEX": ["F"] * N,
        "DTHFL": ["Y" if k % 5 == 0 else "" for k in range(N)],
        "ERPCT": [float((0, 0, 5, 80, 95)[k % 5]) for k in range(N)],
        "PGRPCT": [float((0, 30, 0, 0, 60)[k % 7 % 5]) for k in range(N)],
        "HER2IHC": [("3+", "2+", "3+")[k % 3] for k in range(N)],
    })


def _adtte(adsl: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(14)
    rows = []
    for k, uid in enumerate(adsl["USUBJID"]):
        efs_cnsr = (0, 1, 2)[k % 3]
        rows.append(("TEST", uid, "EFS", "Event-Free Survival (days)", float(rng.integers(30, 2000)), float(efs_cnsr)))
        rows.append(("TEST", uid, "OS", "Overall Survival (days)", float(rng.integers(300, 2500)), float(k % 4 != 0)))
        if k % 2 == 0:
            rows.append(("TEST", uid, "TTNT", "Time to Next Treatment (days)", float(rng.integers(30, 900)), 1.0))
    return pd.DataFrame(rows, columns=["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "CNSR"])


def _adrs(adsl: pd.DataFrame) -> pd.DataFrame:
    bor = ("CR", "PR", "SD", "PD", "NE")
    rows = []
    for k, uid in enumerate(adsl["USUBJID"]):
        for visit in ("WEEK 6", "WEEK 12", "WEEK 18"):
            rows.append(("TEST", uid, "OVR", "Overall Response by Investigator", visit, bor[(k + len(visit)) % 4]))
        rows.append(("TEST", uid, "BOR", "Best Overall Response", "", bor[k % 5]))
    return pd.DataFrame(rows, columns=["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVISIT", "AVALC"])


def _adae(adsl: pd.DataFrame) -> pd.DataFrame:
    rows = [("TEST", uid, term) for uid in adsl["USUBJID"][:10] for term in ("NAUSEA", "FATIGUE")]
    return pd.DataFrame(rows, columns=["STUDYID", "USUBJID", "AETERM"])


DEFINE_LABELS = {
    "ADSL": {"USUBJID": "Unique Subject Identifier", "ARM": "Description of Planned Arm",
             "ITTFL": "Intent-To-Treat Population Flag", "AGE": "Age at Randomization (define.xml)",
             "ERPCT": "Estrogen Receptor (% positive nuclei)", "PGRPCT": "Progesterone Receptor (% positive nuclei)",
             "HER2IHC": "HER2 IHC Score"},
    "ADTTE": {"USUBJID": "Unique Subject Identifier", "PARAMCD": "Parameter Code", "AVAL": "Analysis Value",
              "CNSR": "Censor"},
    "ADRS": {"USUBJID": "Unique Subject Identifier", "PARAMCD": "Parameter Code", "AVALC": "Analysis Value (C)"},
}
STRUCTURES = {"ADSL": "One record per subject", "ADTTE": "One record per subject per parameter",
              "ADRS": "One record per subject per parameter per analysis visit"}


def _define_xml() -> str:
    groups, items = [], []
    for ds, labels in DEFINE_LABELS.items():
        refs = "".join(f'<ItemRef ItemOID="IT.{ds}.{c}" OrderNumber="{i}" Mandatory="Yes"/>' for i, c in enumerate(labels, 1))
        groups.append(f'<ItemGroupDef OID="IG.{ds}" Name="{ds}" Repeating="{"No" if ds == "ADSL" else "Yes"}" '
                      f'Purpose="Analysis" SASDatasetName="{ds}" def:Structure="{STRUCTURES[ds]}">'
                      f'<Description><TranslatedText xml:lang="en">{ds} dataset</TranslatedText></Description>{refs}'
                      f'<def:leaf ID="LF.{ds}" xlink:href="{ds}.XPT"><def:title>{ds}.XPT</def:title></def:leaf></ItemGroupDef>')
        for c, label in labels.items():
            codelist = '<CodeListRef CodeListOID="CL.NY"/>' if c == "ITTFL" else ""
            items.append(f'<ItemDef OID="IT.{ds}.{c}" Name="{c}" DataType="text" Length="20">'
                         f'<Description><TranslatedText xml:lang="en">{label}</TranslatedText></Description>{codelist}</ItemDef>')
    codelist = ('<CodeList OID="CL.NY" Name="No Yes Response" DataType="text">'
                '<CodeListItem CodedValue="Y"><Decode><TranslatedText xml:lang="en">Yes</TranslatedText></Decode></CodeListItem>'
                '<CodeListItem CodedValue="N"><Decode><TranslatedText xml:lang="en">No</TranslatedText></Decode></CodeListItem>'
                '</CodeList>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.0" '
            'xmlns:xlink="http://www.w3.org/1999/xlink" ODMVersion="1.3.2" FileType="Snapshot" FileOID="DEF.TEST">'
            '<Study OID="ST.TEST"><GlobalVariables><StudyName>TEST</StudyName><StudyDescription>test</StudyDescription>'
            '<ProtocolName>TEST</ProtocolName></GlobalVariables>'
            '<MetaDataVersion OID="MDV.TEST" Name="ADaM" def:DefineVersion="2.0.0">'
            + "".join(groups) + "".join(items) + codelist + "</MetaDataVersion></Study></ODM>\n")


@pytest.fixture()
def adam_package(tmp_path) -> tuple[Path, dict[str, pd.DataFrame]]:
    package = tmp_path / "TEST-ADAM"
    package.mkdir()
    adsl = _adsl()
    frames = {"ADSL": adsl, "ADTTE": _adtte(adsl), "ADRS": _adrs(adsl), "ADAE": _adae(adsl)}
    for name, frame in frames.items():
        pyreadstat.write_xport(frame, str(package / f"{name}.XPT"), table_name=name, file_format_version=5,
                               column_labels=[{"AGE": "Age"}.get(c, c.title()) for c in frame.columns])
    (package / "define.xml").write_text(_define_xml(), encoding="utf-8")
    return package, frames


def test_scaffold_of_a_standard_adam_package_proposes_datasets_filters_and_fields(adam_package):
    package, frames = adam_package
    text = scaffold(package, study="TEST-ADAM")
    spec = yaml.safe_load(text)
    assert spec["subjects"] == "adsl"  # not adae or adrs, which sort first
    assert spec["datasets"]["adsl"]["file"] == "ADSL.XPT"
    assert spec["datasets"]["adsl"]["filter"] == [{"column": "ITTFL", "equals": "Y",
                                                   "reason": "not in the intention-to-treat population (ITTFL not Y)"}]
    for name, code in (("efs", "EFS"), ("os", "OS"), ("bor", "BOR")):
        assert spec["datasets"][name]["filter"] == [{"column": "PARAMCD", "equals": code}]
    assert "ttnt" not in spec["datasets"] and "ovr" not in spec["datasets"]
    fields = spec["fields"]
    assert fields["patient_id"] == {"from": "adsl.USUBJID"}
    assert fields["efs_months"] == {"from": "efs.AVAL", "unit": "days"}
    assert fields["efs_event"] == {"from": "efs.CNSR", "codes": {0: 1, 1: 0, 2: 0}}
    assert fields["os_event"] == {"from": "os.CNSR", "codes": {0: 1, 1: 0}}
    assert fields["best_overall_response"] == {"from": "bor.AVALC"}
    assert fields["regimen"] == {"from": "adsl.TRT01P"} and fields["arm"] == {"from": "adsl.ARM"}
    assert fields["age_years"] == {"from": "adsl.AGE"}
    # sponsor-specific biomarker columns found by their define.xml label, values checked
    assert fields["er_percent"] == {"from": "adsl.ERPCT"} and fields["pr_percent"] == {"from": "adsl.PGRPCT"}
    assert fields["her2_ihc"] == {"from": "adsl.HER2IHC"}
    # PARAMCD counts, computed from the data written
    tte_counts = frames["ADTTE"]["PARAMCD"].value_counts()
    rs_counts = frames["ADRS"]["PARAMCD"].value_counts()
    assert f"PARAMCD values (rows): EFS {tte_counts['EFS']}, OS {tte_counts['OS']}, TTNT {tte_counts['TTNT']}" in text
    assert f"BOR {rs_counts['BOR']}, OVR {rs_counts['OVR']}" in text
    assert f"TTNT ({tte_counts['TTNT']} rows)" in text
    # define.xml: its labels win over the SAS file's, its code lists are shown, its structure is named
    assert "AGE: Age at Randomization (define.xml)" in text
    assert "ITTFL: Intent-To-Treat Population Flag; codelist Y=Yes, N=No" in text
    assert "(One record per subject per parameter)" in text
    assert "define.xml describes datasets whose file is not in the package" not in text
    (package / "ADRS.XPT").unlink()  # an incomplete delivery: define.xml still describes ADRS
    assert "define.xml describes datasets whose file is not in the package: ADRS" in scaffold(package, study="TEST-ADAM")
    # suggestions stay commented: DTHFL and population flags other than ITTFL
    assert "# os_event: {from: adsl.DTHFL" in text and "population flag SAFFL" in text
    assert load_mapping_text(text, package).study_id == "TEST-ADAM"


def load_mapping_text(text, folder):
    path = folder.parent / "scaffold.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


def test_scaffold_then_check_runs_without_edits_and_counts_match_the_data(adam_package, tmp_path):
    package, frames = adam_package
    mapping = tmp_path / "TEST-ADAM.yaml"
    mapping.write_text(scaffold(package, study="TEST-ADAM"), encoding="utf-8")
    result = check_mapping(mapping, package, config_path=None, directory=tmp_path, setting="metastatic")
    assert result.ok, [str(p) for p in result.problems]
    adsl = frames["ADSL"]
    itt = adsl[adsl["ITTFL"] == "Y"]
    data = result.harmonized
    assert len(data) == len(itt)
    excluded = [e for e in result.harmonized_qc["exclusions"] if e["stage"] == "extract" or "ITTFL" in e["reason"]]
    assert sum(e["count"] for e in excluded if "intention-to-treat" in e["reason"]) == len(adsl) - len(itt)
    tte = frames["ADTTE"]
    efs = tte[(tte["PARAMCD"] == "EFS") & tte["USUBJID"].isin(itt["USUBJID"])]
    assert int(data["efs_event"].sum()) == int((efs["CNSR"] == 0).sum())
    days = efs.set_index("USUBJID")["AVAL"].reindex(data["patient_id"]).to_numpy()
    assert np.allclose(data["efs_months"].to_numpy(dtype=float), days / (365.25 / 12))
    rs = frames["ADRS"]
    bor = rs[(rs["PARAMCD"] == "BOR") & rs["USUBJID"].isin(itt["USUBJID"])]
    assert int(data["objective_response"].sum()) == int(bor["AVALC"].isin(["CR", "PR"]).sum())
    hr_positive = int(((itt["ERPCT"] >= 1) | (itt["PGRPCT"] >= 1)).sum())
    assert result.harmonized_qc["counts"]["hr_status"] == {"negative": len(itt) - hr_positive, "positive": hr_positive}
    dual = int((itt["TRT01P"] == ARMS[1]).sum())
    assert result.harmonized_qc["counts"]["regimen_class"] == {"dual_mab": dual, "trastuzumab": len(itt) - dual}
    # rows of datasets whose subject is not in ADSL's ITT population: the 3 excluded subjects' records
    n_not_itt = len(NOT_ITT)
    assert result.extracted_qc["unmatched_rows"]["efs"] == n_not_itt


def test_check_prints_derived_counts_exclusions_and_returns_zero(adam_package, tmp_path, capsys, monkeypatch):
    package, frames = adam_package
    mapping = tmp_path / "m.yaml"
    mapping.write_text(scaffold(package, study="TEST-ADAM"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no config/config.yaml here: minimal defaults, printed
    assert main(["mapping", "check", str(mapping), str(package), "--setting", "metastatic"]) == 0
    out = capsys.readouterr().out
    itt = frames["ADSL"]["ITTFL"].eq("Y").sum()
    assert f"{len(frames['ADSL']) - itt}  not in the intention-to-treat population" in out
    adsl = frames["ADSL"][frames["ADSL"]["ITTFL"] == "Y"]
    hr_positive = int(((adsl["ERPCT"] >= 1) | (adsl["PGRPCT"] >= 1)).sum())
    assert f"hr_status              negative {itt - hr_positive}, positive {hr_positive}" in out
    assert "regimen_class" in out and "her2_status" in out and "objective_response" in out
    assert "assumed: no config file" in out and "no problem" in out


def test_check_lists_every_problem_not_only_the_first(adam_package, tmp_path, capsys, monkeypatch):
    package, _ = adam_package
    spec = yaml.safe_load(scaffold(package, study="TEST-ADAM"))
    spec["fields"]["age_years"] = {"from": "adsl.AGE_YRS"}                         # a column that does not exist
    spec["fields"]["efs_event"] = {"from": "efs.CNSR", "codes": {0: 1, 1: 0}}     # CNSR 2 has no code
    spec["fields"]["menopausal_status"] = {"from": "adsl.SEX", "codes": {"M": "pre"}}  # F has no code
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["mapping", "check", str(mapping), str(package), "--setting", "metastatic"]) == 2
    out = capsys.readouterr().out
    assert "3 problems the run would stop on" in out
    assert "no column 'AGE_YRS'" in out and "'2'" in out and "'F'" in out


def test_subject_dataset_by_structure_not_alphabet_and_csv_separator(tmp_path, capsys):
    package = tmp_path / "FLAT"
    package.mkdir()
    # a_visits.csv sorts first and has several rows per subject; b_patients.csv has one per subject
    (package / "a_visits.csv").write_text("PATID;VISIT;WEIGHT\n1;1;60\n1;2;61\n2;1;70\n", encoding="utf-8")
    (package / "b_patients.csv").write_text("PATID;TRT;AGE\n1;Paclitaxel + Trastuzumab;50\n2;Paclitaxel + Trastuzumab;61\n"
                                            "3;Paclitaxel + Trastuzumab;45\n", encoding="utf-8")
    assert main(["mapping", "scaffold", str(package), "--sep", ";"]) == 0
    spec = yaml.safe_load(capsys.readouterr().out)
    assert spec["subjects"] == "b_patients"
    assert spec["fields"]["patient_id"] == {"from": "b_patients.PATID"}
    # without --sep the CSV reads as one column: the message says how to give the separator
    assert main(["mapping", "scaffold", str(package)]) == 2
    assert "--sep ';'" in capsys.readouterr().err


def test_sdtm_dm_is_the_subject_dataset_and_findings_are_listed_with_their_codes(tmp_path, capsys):
    package = tmp_path / "SDTM"
    package.mkdir()
    (package / "ae.csv").write_text("USUBJID,AETERM\nS1,NAUSEA\nS1,RASH\n", encoding="utf-8")
    (package / "dm.csv").write_text("USUBJID,ARM,AGE,AGEU,DTHFL\nS1,Trastuzumab,50,YEARS,Y\nS2,Trastuzumab,60,YEARS,\n",
                                    encoding="utf-8")
    (package / "rs.csv").write_text("USUBJID,RSTESTCD,RSORRES,VISIT\nS1,OVRLRESP,PR,W6\nS1,OVRLRESP,CR,W12\nS2,OVRLRESP,SD,W6\n",
                                    encoding="utf-8")
    assert main(["mapping", "scaffold", str(package), "--study", "SDTM-1"]) == 0
    text = capsys.readouterr().out
    spec = yaml.safe_load(text)
    assert spec["subjects"] == "dm" and spec["study_id"] == "SDTM-1"
    assert "RSTESTCD values (rows): OVRLRESP 3" in text
    assert "several rows per USUBJID and RSTESTCD" in text
    assert "# os_event: {from: dm.DTHFL" in text


@pytest.mark.workflow
def test_scaffolded_mappings_run_through_the_workflow_to_the_report(adam_package, tmp_path):
    """Done-when of issue 13: scaffold + check on the standard ADaM package gives mappings the
    workflow runs as written, here for two studies; real packages get no synthetic banner."""
    import shutil
    import subprocess

    from workflow_setup import snakemake_command, write_run_config

    package, frames = adam_package
    work = tmp_path / "run"
    write_run_config(work, studies=[], analyses=["efs_by_hr", "os_by_hr"])
    config_path = work / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["data_root"] = "data"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    rows = []
    for sid in ("TEST-A", "TEST-B"):
        shutil.copytree(package, work / "data" / sid)
        mapping = work / "config" / "mappings" / f"{sid}.yaml"
        mapping.parent.mkdir(parents=True, exist_ok=True)
        mapping.write_text(scaffold(work / "data" / sid, study=sid), encoding="utf-8")
        assert check_mapping(mapping, work / "data" / sid, config_path=config_path, directory=work).ok
        rows.append(f"{sid}\t{sid}\tipd\t{sid}\tconfig/mappings/{sid}.yaml\trct\tneoadjuvant\ttrue\t")
    header = "study_id\tlabel\tdata_source\tpath\tmapping\tdesign\tsetting\tinclude\texclusion_reason\n"
    (work / "config" / "studies.tsv").write_text(header + "".join(r + "\n" for r in rows))
    run = subprocess.run(snakemake_command(work, "--cores", "2"), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    pooled = pd.read_csv(work / "results" / "pooled" / "efs_by_hr.tsv", sep="\t")
    assert set(pooled["k"]) == {2}
    html = (work / "results" / "report" / "index.html").read_text(encoding="utf-8")
    assert "Synthetic demonstration data" not in html


def test_scaffold_and_check_on_the_shared_cdisc_adam_fixture(tmp_path):
    """The project's shared ADaM fixture (tests/cdisc_fixtures.py: ADSL.XPT, ADTTE.XPT, ADRS.XPT
    with visit-level OVR and BOR, LB.csv keyed by SUBJID): the skeleton runs as written."""
    from cdisc_fixtures import RECIST_CASES, adam_subject, write_adam_package

    n = 42
    package = write_adam_package(tmp_path / "FIX-ADAM", n=n)
    text = scaffold(package.path, study="FIX-ADAM")
    spec = yaml.safe_load(text)
    assert spec["subjects"] == "adsl"
    assert {"efs", "os", "bor"} <= set(spec["datasets"]) and "lb" not in spec["datasets"]
    assert "several rows per SUBJID and LBTESTCD" in text
    ovr_rows = sum(len(RECIST_CASES[(i - 1) % len(RECIST_CASES)][0]) for i in range(1, n + 1))
    assert f"OVR ({ovr_rows} rows)" in text
    assert "CHECK the unit" in text  # PARAM says "Overall survival": no unit stated
    mapping = tmp_path / "FIX-ADAM.yaml"
    mapping.write_text(text, encoding="utf-8")
    result = check_mapping(mapping, package.path, config_path=None, directory=tmp_path, setting="metastatic")
    assert result.ok, [str(p) for p in result.problems]
    itt = [i for i in range(1, n + 1) if i % 10 != 0]
    data = result.harmonized.set_index("patient_id")
    assert len(data) == package.truth["itt"] == len(itt)
    assert int(data["os_event"].sum()) == sum(1 for i in itt if i % 3 == 0)
    assert int(data["efs_event"].sum()) == sum(1 for i in itt if i % 2 == 0)  # CNSR = i % 2; 0 is the event
    confirmed = {adam_subject(i)[0]: RECIST_CASES[(i - 1) % len(RECIST_CASES)][1] for i in itt}
    assert int(data["objective_response"].sum()) == sum(1 for v in confirmed.values() if v in ("CR", "PR"))
    assert int(data["objective_response"].isna().sum()) == sum(1 for v in confirmed.values() if v is None)


def test_the_visit_level_response_suggestion_uncommented_gives_the_recist_best_response(tmp_path):
    """The commented OVR entry of the skeleton (reduce: best_response), once uncommented and
    used instead of the sponsor's BOR, derives RECIST 1.1 confirmed responses as worked out by
    hand in tests/cdisc_fixtures.py (28-day confirmation, 42-day SD minimum)."""
    from cdisc_fixtures import RECIST_CASES, adam_subject, write_adam_package

    n = 28
    package = write_adam_package(tmp_path / "FIX-ADAM", n=n)
    lines = scaffold(package.path, study="FIX-ADAM").splitlines()
    start = next(i for i, line in enumerate(lines) if line == "  # ovr:")
    block = [line.replace("  # ", "  ", 1) for line in lines[start:start + 6] if not line.startswith("  # and the field")]
    spec_text = "\n".join(lines[:start] + block + lines[start + 6:])
    spec = yaml.safe_load(spec_text)
    spec["fields"]["best_overall_response"] = {"from": "ovr.BOR"}
    mapping = tmp_path / "ovr.yaml"
    mapping.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    result = check_mapping(mapping, package.path, config_path=None, directory=tmp_path, setting="metastatic")
    assert result.ok, [str(p) for p in result.problems]
    data = result.harmonized.set_index("patient_id")
    expected = {adam_subject(i)[0]: RECIST_CASES[(i - 1) % len(RECIST_CASES)][1] for i in range(1, n + 1) if i % 10}
    got = {k: (None if v is None or v != v else v) for k, v in data["best_overall_response"].astype(object).items()}
    assert got == expected


def test_sponsor_column_names_with_spaces_and_punctuation_give_valid_yaml(tmp_path):
    package = tmp_path / "FLAT2"
    package.mkdir()
    (package / "pts.csv").write_text("Patient ID,Treatment arm,ER (%),HER2: IHC\n1,Paclitaxel + Trastuzumab,50%,3+\n"
                                     "2,Paclitaxel + Trastuzumab,0%,2+\n3,Paclitaxel + Trastuzumab,,1+\n", encoding="utf-8")
    spec = yaml.safe_load(scaffold(package))
    assert spec["datasets"]["pts"]["key"] == "Patient ID"
    assert spec["fields"]["patient_id"] == {"from": "pts.Patient ID"}
    assert spec["fields"]["er_percent"] == {"from": "pts.ER (%)", "parse": "percent"}
    assert spec["fields"]["her2_ihc"] == {"from": "pts.HER2: IHC"}
    mapping = tmp_path / "m.yaml"
    mapping.write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = check_mapping(mapping, package, config_path=None, directory=tmp_path)
    assert result.ok, [str(p) for p in result.problems]
    assert result.harmonized["er_percent"].tolist()[:2] == [50.0, 0.0] and result.harmonized["er_percent"].isna().sum() == 1


def test_check_uses_the_study_sheet_row_and_the_configs_harmonization(adam_package, tmp_path, capsys):
    """With the project's config, mapping check takes the study's sheet row (label, setting,
    design) and the config's analyses: nothing is assumed."""
    package, frames = adam_package
    work = tmp_path / "project"
    (work / "config").mkdir(parents=True)
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text())
    config.update(studies="config/studies.tsv", data_root=str(package.parent))
    config["harmonization"]["hr_threshold_percent"] = 10
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (work / "config" / "studies.tsv").write_text(
        "study_id\tlabel\tdata_source\tpath\tmapping\tdesign\tsetting\tinclude\texclusion_reason\n"
        f"TEST-ADAM\tMy ADaM trial\tipd\t{package.name}\tm.yaml\trct\tmetastatic\ttrue\t\n")
    mapping = work / "m.yaml"
    mapping.write_text(scaffold(package, study="TEST-ADAM"), encoding="utf-8")
    assert main(["mapping", "check", str(mapping), str(package), "--directory", str(work)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("study TEST-ADAM: My ADaM trial (metastatic, rct)") and "assumed" not in out
    itt = frames["ADSL"][frames["ADSL"]["ITTFL"] == "Y"]
    positive = int(((itt["ERPCT"] >= 10) | (itt["PGRPCT"] >= 10)).sum())  # the config's 10% threshold
    assert f"hr_status              negative {len(itt) - positive}, positive {positive}" in out
    assert "orr_by_hr: estimable" in out and "not applicable to this study's setting or design: pcr_by_hr" in out


def test_a_define_xml_that_is_not_define_xml_stops_the_scaffold_with_what_to_do(adam_package, capsys):
    package, _ = adam_package
    (package / "define.xml").write_text("<html><body>not a define</body></html>", encoding="utf-8")
    assert main(["mapping", "scaffold", str(package)]) == 2
    err = capsys.readouterr().err
    assert "define.xml is not readable as Define-XML" in err and "move it out of the package folder" in err
