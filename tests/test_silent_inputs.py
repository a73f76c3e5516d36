"""Values that would pass silently: each stops the study with its evidence, or is handled and counted.

- ER (or PR) delivered as a fraction (0.3) beside percentages;
- times in months while the mapping says days;
- a SAS transport file cut at a record boundary (define.xml / manifest record counts; published_n);
- regimens outside the drug dictionary, declared as `other` / `investigational`;
- HER2 IHC with an incomplete ISH result (ratio without copy number), unknowns counted by reason.

Every package is written here; expected counts are computed in the test from the data it wrote."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from her2meta.effects import estimate_analysis
from her2meta.errors import StudyDataError
from her2meta.harmonize import harmonize_study
from her2meta.hashing import sha256_file
from her2meta.mapping import apply_mapping, load_mapping
from her2meta.stages import extract as extract_stage

STUDY = {"study_id": "T-1", "setting": "neoadjuvant", "label": "T-1"}
DAYS_PER_MONTH = 365.25 / 12


def extracted(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {"study_id": ["T-1"] * n, "patient_id": [f"P{i}" for i in range(n)]}
    base.update(columns)
    return pd.DataFrame(base)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------
# ER / PR as fractions


def receptors(seed=13, n=300):
    """Percentages as a pathologist reports them: 0 for about 40%, else whole numbers 1-100."""
    rng = np.random.default_rng(seed)
    er = np.where(rng.random(n) < 0.4, 0, rng.integers(1, 101, n)).astype(float)
    pr = np.where(rng.random(n) < 0.5, 0, rng.integers(1, 101, n)).astype(float)
    return er, pr


def test_er_as_a_fraction_beside_pr_in_percent_stops_with_the_evidence():
    er, pr = receptors()
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(er_percent=er / 100, pr_percent=pr), study=STUDY)
    e = err.value
    n_between = int(((er > 0) & (er < 100)).sum())  # 0 < er/100 < 1
    assert e.field == "er_percent" and e.study == "T-1"
    assert f"all {len(er)} values lie between 0 and 1 ({n_between} not whole numbers, none above 1)" in e.detail
    assert f"pr_percent has {int((pr > 1).sum())} values above 1" in e.detail
    assert f"values in 0-1: {len(er)}, above 1: 0" in e.example
    assert "scale: fraction" in e.hint and "scale: percent" in e.hint


def test_a_declared_fraction_is_multiplied_by_100_and_counted():
    er, pr = receptors()
    spec = {"fields": {"er_percent": {"from": "adsl.ER", "scale": "fraction"}}}
    data, qc = harmonize_study(extracted(er_percent=er / 100, pr_percent=pr), study=STUDY, mapping_spec=spec)
    expected_hr_pos = int(((er >= 1) | (pr >= 1)).sum())
    read_as_percent = int(((er / 100 >= 1) | (pr >= 1)).sum())  # what passed silently before
    assert int((data["hr_status"] == "positive").sum()) == expected_hr_pos > read_as_percent
    assert data["er_percent"].tolist() == pytest.approx(er.tolist())
    assert int(data["er_low"].sum()) == int(((er >= 1) & (er <= 10)).sum())  # 0.1 -> 10 exactly, still ER-low
    assert qc["derivations"]["receptor_scale"] == {"er_percent": {"scale": "fraction", "multiplied_by_100": len(er)}}


def test_fractions_mixed_with_percentages_stop_and_scale_percent_accepts_them():
    values = [0.0, 0.5, 30.0, 80.0, 0.0, 5.0]
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(er_percent=values, pr_percent=[0.0] * 6), study=STUDY)
    assert "1 of its 6 values lie strictly between 0 and 1 while 3 are above 1" in err.value.detail
    assert err.value.example.startswith("patient P1: er_percent = 0.5")
    data, qc = harmonize_study(extracted(er_percent=values, pr_percent=[0.0] * 6), study=STUDY,
                               mapping_spec={"fields": {"er_percent": {"scale": "percent"}}})
    assert data["er_status"].tolist() == ["negative", "negative", "positive", "positive", "negative", "positive"]
    assert qc["derivations"]["receptor_scale"] == {"er_percent": {"scale": "percent"}}


def test_a_field_declared_fraction_with_values_above_1_stops():
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(er_percent=[0.2, 0.9, 45.0], pr_percent=[0.0] * 3), study=STUDY,
                        mapping_spec={"fields": {"er_percent": {"scale": "fraction"}}})
    assert "declared `scale: fraction`, but 1 of 3 values are above 1" in err.value.detail
    assert err.value.example == "patient P2: er_percent = 45"


def test_scale_on_a_field_that_is_not_a_receptor_percentage_stops():
    with pytest.raises(StudyDataError, match="`scale:` applies to er_percent and pr_percent only, not to age_years"):
        harmonize_study(extracted(age_years=[50.0]), study=STUDY, mapping_spec={"fields": {"age_years": {"scale": "fraction"}}})


def test_whole_numbers_0_and_1_are_not_taken_for_fractions():
    """An HR-negative cohort reported as 0 / 1 percent has no value strictly between 0 and 1."""
    data, _ = harmonize_study(extracted(er_percent=[0.0, 1.0, 0.0, 0.0], pr_percent=[0.0, 0.0, 1.0, 0.0]), study=STUDY)
    assert data["hr_status"].tolist() == ["negative", "positive", "positive", "negative"]


# ----------------------------------------------------------------------------------------------
# Times in months read as days


def follow_up_package(tmp_path, n=120, seed=3):
    """An ADTTE-like CSV whose AVAL is in months (the sponsor's unit), 1-96 months."""
    rng = np.random.default_rng(seed)
    months = np.round(rng.uniform(1, 96, n), 1)
    cnsr = (rng.random(n) < 0.7).astype(int)
    pkg = tmp_path / "pkg"
    lines = ["USUBJID,ITTFL"] + [f"S{i:03d},Y" for i in range(n)]
    write(pkg / "adsl.csv", "\n".join(lines) + "\n")
    lines = ["USUBJID,PARAMCD,AVAL,CNSR"] + [f"S{i:03d},EFS,{m},{c}" for i, (m, c) in enumerate(zip(months, cnsr))]
    write(pkg / "adtte.csv", "\n".join(lines) + "\n")
    return pkg, months, cnsr


FOLLOW_UP_MAPPING = """
mapping_version: 1
study_id: T-1
datasets:
  adsl: {file: adsl.csv, key: USUBJID}
  efs:
    file: adtte.csv
    key: USUBJID
    filter: [{column: PARAMCD, equals: EFS}]
subjects: adsl
fields:
  patient_id: {from: adsl.USUBJID}
  efs_months: {from: efs.AVAL, unit: UNIT}
  efs_event: {from: efs.CNSR, codes: {0: 1, 1: 0}}
constants:
  setting: neoadjuvant
"""


def run_mapping(tmp_path, pkg, text):
    mapping = load_mapping(write(tmp_path / "T-1.yaml", text), study="T-1")
    result = apply_mapping(mapping, pkg)
    return harmonize_study(result.data, study=STUDY, mapping_spec=mapping.spec)


def test_times_in_months_read_as_days_stop_with_median_and_longest_under_each_unit(tmp_path):
    pkg, months, _ = follow_up_package(tmp_path)
    with pytest.raises(StudyDataError) as err:
        run_mapping(tmp_path, pkg, FOLLOW_UP_MAPPING.replace("UNIT", "days"))
    e = err.value
    assert e.field == "efs_months"
    assert "the longest follow-up is under 6 months" in e.detail and f"over {len(months)} patients, days" in e.detail
    as_days = months / DAYS_PER_MONTH
    assert f"read as days (declared): median {np.median(as_days):.1f}, longest {as_days.max():.1f} months" in e.example
    assert f"read as months: median {np.median(months):.1f}, longest {months.max():.1f} months" in e.example
    assert "check `unit:` of fields.efs_months" in e.hint and "short_follow_up" in e.hint


def test_the_right_unit_passes_and_records_the_follow_up(tmp_path):
    pkg, months, cnsr = follow_up_package(tmp_path)
    data, qc = run_mapping(tmp_path, pkg, FOLLOW_UP_MAPPING.replace("UNIT", "months"))
    record = qc["derivations"]["follow_up"]["efs_months"]
    assert record["unit"] == "months" and record["patients"] == len(months) and record["checked"] is True
    assert record["median_months"] == pytest.approx(np.median(months), abs=0.005)
    assert record["median_censored_months"] == pytest.approx(np.median(months[cnsr == 1]), abs=0.005)


def test_short_follow_up_stated_in_the_mapping_is_accepted_and_reported(tmp_path):
    pkg, months, _ = follow_up_package(tmp_path)
    text = FOLLOW_UP_MAPPING.replace("efs_months: {from: efs.AVAL, unit: UNIT}",
                                     "efs_months: {from: efs.AVAL, unit: days, short_follow_up: early safety cut after 3 months}")
    data, qc = run_mapping(tmp_path, pkg, text)
    assert data["efs_months"].max() == pytest.approx(months.max() / DAYS_PER_MONTH)
    assert qc["derivations"]["follow_up"]["efs_months"]["accepted_short_follow_up"] == "early safety cut after 3 months"
    assert any("accepted by the mapping (early safety cut after 3 months)" in w for w in qc["warnings"])


def test_few_patients_are_not_checked_and_dates_name_the_date_columns():
    data, qc = harmonize_study(extracted(efs_months=[1.0, 2.0, 3.0], efs_event=[1, 0, 0]), study=STUDY)
    assert qc["derivations"]["follow_up"]["efs_months"] == {"unit": "months", "patients": 3, "checked": False}
    with pytest.raises(StudyDataError) as err:
        harmonize_study(extracted(efs_months=[0.5] * 12, efs_event=[0] * 12), study=STUDY,
                        mapping_spec={"fields": {"efs_months": {"dates": {"start": "a.B", "end": "a.C"}}}})
    assert "check the start and end date columns of fields.efs_months" in err.value.hint
    assert err.value.example == "read as dates: median 0.5, longest 0.5 months"


# ----------------------------------------------------------------------------------------------
# A SAS transport file cut at a record boundary


def xpt_package(tmp_path, n=40):
    import pyreadstat

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    frame = pd.DataFrame({"USUBJID": [f"S{i:03d}" for i in range(n)], "AGE": [40.0 + i % 30 for i in range(n)],
                          "ITTFL": ["Y"] * n})
    pyreadstat.write_xport(frame, str(pkg / "adsl.xpt"), table_name="ADSL", file_format_version=5)
    write(tmp_path / "T-1.yaml", """
        mapping_version: 1
        study_id: T-1
        datasets:
          adsl: {file: adsl.xpt, key: USUBJID}
        subjects: adsl
        fields:
          patient_id: {from: adsl.USUBJID}
          age_years: {from: adsl.AGE}
        constants:
          setting: neoadjuvant
        """)
    return pkg


def cut_on_a_record_boundary(path: Path, records_off: int = 2) -> int:
    """Cut the last `records_off` 80-byte records; the number of subjects the file now holds."""
    import pyreadstat

    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 80 * records_off])
    frame, _ = pyreadstat.read_xport(str(path))
    return len(frame)


DEFINE = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.0"
     xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:sp="http://example.org/sponsor">
  <Study OID="ST"><MetaDataVersion OID="MDV" Name="ADaM">
    <ItemGroupDef OID="IG.ADSL" Name="ADSL" Repeating="No" Purpose="Analysis" RECORDS_ATTR>
      <Description><TranslatedText xml:lang="en">Subject-Level Analysis Dataset</TranslatedText></Description>
      <def:leaf ID="LF.ADSL" xlink:href="adsl.xpt"><def:title>adsl.xpt</def:title></def:leaf>
    </ItemGroupDef>
  </MetaDataVersion></Study>
</ODM>
"""


def run_extract(tmp_path, pkg, *, keep_going=False):
    out = tmp_path / "out"
    outputs = SimpleNamespace(data=out / "T-1.parquet", qc=out / "T-1.qc.json")
    extract_stage.run(inputs=SimpleNamespace(mapping=str(tmp_path / "T-1.yaml"), package=[]), outputs=outputs,
                      params={"package_dir": str(pkg), "package_first_file": "", "keep_going": keep_going},
                      wildcards={"study": "T-1"}, logger=logging.getLogger("test"))
    import json

    return json.loads(outputs.qc.read_text())


def test_a_cut_file_is_caught_by_the_define_xml_record_count(tmp_path):
    pkg = xpt_package(tmp_path, n=40)
    left = cut_on_a_record_boundary(pkg / "adsl.xpt")
    assert 0 < left < 40  # the cut file is still a valid transport file, with fewer subjects
    (pkg / "define.xml").write_text(DEFINE.replace("RECORDS_ATTR", 'sp:Records="40"'), encoding="utf-8")
    with pytest.raises(StudyDataError) as err:
        run_extract(tmp_path, pkg)
    e = err.value
    assert e.field == "define.xml" and e.file.endswith("adsl.xpt")
    assert (f"adsl.xpt has {left} records, but define.xml gives 40 records for dataset ADSL (attribute Records='40'): "
            "the file is incomplete") in e.detail


def test_a_cut_file_is_caught_by_the_manifest_record_column(tmp_path):
    pkg = xpt_package(tmp_path, n=40)
    left = cut_on_a_record_boundary(pkg / "adsl.xpt", records_off=3)
    size, digest = (pkg / "adsl.xpt").stat().st_size, sha256_file(pkg / "adsl.xpt")
    write(pkg / "MANIFEST.txt", f"""
        files (name, bytes, sha256, records):
        adsl.xpt  {size}  {digest}  40
        """)
    with pytest.raises(StudyDataError) as err:
        run_extract(tmp_path, pkg)
    assert err.value.field == "MANIFEST.txt"
    assert f"adsl.xpt has {left} records, but MANIFEST.txt lists 40 records for adsl.xpt" in err.value.detail


def test_matching_counts_are_recorded_and_a_stated_reason_lets_a_known_difference_pass(tmp_path):
    pkg = xpt_package(tmp_path, n=40)
    (pkg / "define.xml").write_text(DEFINE.replace("RECORDS_ATTR", 'sp:Records="40"'), encoding="utf-8")
    qc = run_extract(tmp_path, pkg)
    assert qc["record_counts"]["checked"] == [{"file": "adsl.xpt", "rows": 40, "define_records": 40}]
    assert qc["record_counts"]["define_files"][0]["file"] == "define.xml"
    (pkg / "define.xml").write_text(DEFINE.replace("RECORDS_ATTR", 'sp:Records="45"'), encoding="utf-8")
    with (tmp_path / "T-1.yaml").open("a", encoding="utf-8") as handle:
        handle.write("ignore_record_counts: define.xml counts the screened patients (sponsor letter of 2024-05-02)\n")
    qc = run_extract(tmp_path, pkg)
    assert qc["record_counts"]["mismatches"][0]["rows"] == 40 and qc["record_counts"]["mismatches"][0]["expected"] == 45
    assert qc["record_counts"]["ignored_because"].startswith("define.xml counts the screened")


def test_an_unreadable_define_xml_stops_the_study(tmp_path):
    pkg = xpt_package(tmp_path)
    (pkg / "define.xml").write_text("<ODM><Study>", encoding="utf-8")
    with pytest.raises(StudyDataError) as err:
        run_extract(tmp_path, pkg)
    assert "the package's define.xml cannot be read" in err.value.detail and "ignore_record_counts" in err.value.hint


@pytest.mark.parametrize("n, published, warned", [(80, 100, "80 patients, 80% of the 100 published"), (95, 100, None),
                                                  (111, 100, "111 patients, 111% of the 100 published"), (80, None, None)])
def test_a_count_far_from_published_n_is_a_warning(n, published, warned):
    study = {**STUDY, **({"published_n": published} if published else {})}
    _, qc = harmonize_study(extracted(age_years=[50.0] * n), study=study)
    found = [w for w in qc["warnings"] if "published (published_n)" in w]
    assert (found[0].startswith(warned) if warned else found == [])


# ----------------------------------------------------------------------------------------------
# Regimens outside the drug dictionary


def regimen_study():
    arms = ["docetaxel + trastuzumab"] * 20 + ["docetaxel + trastuzumab + pertuzumab"] * 20 + ["Physician's choice"] * 10 \
        + ["docetaxel + XYZ-1 + trastuzumab"] * 6
    n = len(arms)
    pcr = [i % 3 == 0 for i in range(n)]
    return extracted(regimen=arms, er_percent=[50.0 if i % 2 else 0.0 for i in range(n)], pr_percent=[0.0] * n,
                     ypt=["ypT0" if p else "ypT2" for p in pcr], ypn=["ypN0"] * n), arms


DECLARED = {"regimens": {"Physician's choice": "other"}, "unlisted_agents": {"XYZ-1": "investigational"}}


def test_an_undeclared_regimen_stops_and_the_hint_says_how_to_declare_it():
    source, _ = regimen_study()
    with pytest.raises(StudyDataError) as err:
        harmonize_study(source, study=STUDY)
    assert err.value.field == "regimen"
    assert "\"Physician's choice\" (10 rows)" in err.value.detail and "'XYZ-1' (6 rows)" in err.value.detail
    assert "`regimens: {\"Physician's choice\": other}`" in err.value.detail and "`unlisted_agents:" in err.value.detail


def test_declared_regimens_take_their_class_and_are_counted():
    source, arms = regimen_study()
    data, qc = harmonize_study(source, study=STUDY, mapping_spec=DECLARED)
    n_other, n_inv = arms.count("Physician's choice"), arms.count("docetaxel + XYZ-1 + trastuzumab")
    assert qc["counts"]["regimen_class"] == {"dual_mab": 20, "investigational": n_inv, "other": n_other, "trastuzumab": 20}
    assert data.loc[data["regimen_class"] == "investigational", "regimen"].unique().tolist() == ["docetaxel+trastuzumab+XYZ-1"]
    assert data.loc[data["regimen_class"] == "investigational", "chemo_taxane"].all()
    assert data.loc[data["regimen_class"] == "other", "chemo_taxane"].isna().all()
    excluded = {e["reason"]: e["count"] for e in qc["exclusions"] if e["field"] == "regimen_class"}
    assert excluded == {"regimen outside the drug dictionary, declared other in the mapping (Physician's choice)": n_other,
                        "regimen outside the drug dictionary, declared investigational in the mapping "
                        "(docetaxel+trastuzumab+XYZ-1)": n_inv}
    assert qc["derivations"]["regimen"]["declared_outside_dictionary"]["other"]["patients"] == n_other


def test_regimen_analyses_leave_the_declared_class_out_with_a_count_and_others_keep_it():
    source, arms = regimen_study()
    data, _ = harmonize_study(source, study=STUDY, mapping_spec=DECLARED)
    spec = {"type": "binary", "outcome": "pcr_ypt0is_ypn0", "measure": "OR",
            "compare": {"field": "regimen_class", "exposed": ["dual_mab"], "reference": "trastuzumab"}}
    (row,) = estimate_analysis(data, study_id="T-1", analysis="dual", spec=spec)
    n_declared = arms.count("Physician's choice") + arms.count("docetaxel + XYZ-1 + trastuzumab")
    assert row.n == 40 and row.excluded_unknown_group == n_declared
    hr_spec = {"type": "binary", "outcome": "pcr_ypt0is_ypn0", "measure": "OR",
               "compare": {"field": "hr_status", "exposed": "positive", "reference": "negative"}}
    (by_hr,) = estimate_analysis(data, study_id="T-1", analysis="by_hr", spec=hr_spec)
    assert by_hr.n == len(arms)  # every patient, the declared regimens included


# ----------------------------------------------------------------------------------------------
# HER2 with an incomplete ISH result


def test_incomplete_ish_is_decided_only_where_the_2018_groups_agree_and_unknowns_are_counted():
    ihc = ["2+", "2+", "2+", "1+", "1+", "3+", None, "2+"]
    ratio = [2.4, 1.5, None, 2.4, 1.5, 2.4, 2.4, None]
    copies = [None, None, 7.0, None, None, None, None, None]
    data, qc = harmonize_study(extracted(her2_ihc=ihc, her2_ish_ratio=ratio, her2_ish_copy_number=copies), study=STUDY)
    # 2+ ratio>=2: group 1 (positive) or 2 (negative); 2+ ratio<2: 3 (positive) or 4/5 (negative);
    # 2+ copies>=6: 1 or 3, both positive; 1+ ratio>=2: 1 (positive) or 2 (negative); 1+ ratio<2: 3-5, all negative
    assert data["her2_status"].tolist() == ["unknown", "unknown", "positive", "unknown", "low", "positive", "unknown", "unknown"]
    unknown = qc["derivations"]["her2_unknown"]
    assert unknown["patients"] == 5 and unknown["ish_incomplete_decided"] == 3
    assert unknown["by_reason"] == {
        "IHC 2+ (equivocal) without an ISH result": 1,
        "incomplete ISH with IHC 1+: ratio >= 2.0 without copy number (group 1 or 2, which give different calls)": 1,
        "incomplete ISH with IHC 2+: ratio < 2.0 without copy number (group 3 or 4 or 5, which give different calls)": 1,
        "incomplete ISH with IHC 2+: ratio >= 2.0 without copy number (group 1 or 2, which give different calls)": 1,
        "incomplete ISH with IHC missing: ratio >= 2.0 without copy number (group 1 or 2, which give different calls)": 1,
    }


def test_the_shipped_dual_blockade_analysis_runs_with_declared_regimens():
    """pcr_dual_by_hr keeps taxane regimens (`population: {chemo_taxane: [true]}`): a regimen
    declared as a whole text has unknown backbone flags, so it is outside that population; an
    unlisted agent beside docetaxel is in it and counted among the patients in neither group."""
    from her2meta.config import load_config

    spec = load_config(Path(__file__).resolve().parents[1] / "config" / "config.yaml")["analyses"]["pcr_dual_by_hr"]
    source, arms = regimen_study()
    data, _ = harmonize_study(source, study=STUDY, mapping_spec=DECLARED)
    rows = estimate_analysis(data, study_id="T-1", analysis="pcr_dual_by_hr", spec=spec)
    hr = data["hr_status"]
    for row, level in zip(rows[:2], ("positive", "negative")):
        in_level = hr == level
        assert row.n == int((in_level & data["regimen_class"].isin(["dual_mab", "trastuzumab"])).sum())
        assert row.excluded_unknown_group == int((in_level & (data["regimen_class"] == "investigational")).sum())


# ----------------------------------------------------------------------------------------------
# The declarations as a mapping file states them, through the extraction and harmonization stages


def test_declarations_in_a_mapping_file_reach_the_harmonization_stage(tmp_path):
    import json

    from her2meta.io import read_parquet
    from her2meta.stages import harmonize as harmonize_stage

    er, pr = receptors(n=60)
    arms = (["TH"] * 25 + ["PC"] * 10 + ["TH"] * 25)
    pkg = tmp_path / "pkg"
    rows = ["USUBJID,ARM,ERFRAC,PGR"] + [f"S{i:02d},{a},{e / 100:g},{p:g}" for i, (a, e, p) in enumerate(zip(arms, er, pr))]
    write(pkg / "dm.csv", "\n".join(rows) + "\n")
    write(tmp_path / "T-1.yaml", """
        mapping_version: 1
        study_id: T-1
        datasets:
          dm: {file: dm.csv, key: USUBJID}
        subjects: dm
        fields:
          patient_id: {from: dm.USUBJID}
          regimen: {from: dm.ARM, codes: {TH: docetaxel + trastuzumab, PC: "Physician's choice"}}
          er_percent: {from: dm.ERFRAC, scale: fraction}
          pr_percent: {from: dm.PGR}
        regimens:
          "Physician's choice": other
        constants:
          setting: neoadjuvant
        """)
    run_extract(tmp_path, pkg)
    out = tmp_path / "out"
    harmonize_stage.run(
        inputs=SimpleNamespace(data=out / "T-1.parquet", qc=out / "T-1.qc.json", mapping=str(tmp_path / "T-1.yaml")),
        outputs=SimpleNamespace(data=out / "T-1.h.parquet", qc=out / "T-1.h.qc.json"),
        params={"study": STUDY, "harmonization": {"hr_threshold_percent": 1.0, "itc_is_pcr": False}, "keep_going": False},
        wildcards={"study": "T-1"}, logger=logging.getLogger("test"))
    data = read_parquet(out / "T-1.h.parquet")
    qc = json.loads((out / "T-1.h.qc.json").read_text())
    assert int((data["hr_status"] == "positive").sum()) == int(((er >= 1) | (pr >= 1)).sum())
    assert qc["counts"]["regimen_class"] == {"other": arms.count("PC"), "trastuzumab": arms.count("TH")}
    assert [e["count"] for e in qc["exclusions"] if e["field"] == "regimen_class"] == [arms.count("PC")]


def test_mapping_check_prints_the_record_counts_it_compared(tmp_path, capsys, monkeypatch):
    from her2meta.cli import main

    pkg = xpt_package(tmp_path, n=40)
    (pkg / "define.xml").write_text(DEFINE.replace("RECORDS_ATTR", 'sp:Records="40"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no config here: the check's stated defaults
    assert main(["mapping", "check", str(tmp_path / "T-1.yaml"), str(pkg)]) == 0
    out = capsys.readouterr().out
    assert "record counts checked: adsl.xpt 40 rows (define.xml 40)" in out
    assert "her2_status unknown" in out  # no HER2 field is mapped: every patient unknown, with the reason
