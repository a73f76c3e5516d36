"""The demo files are readable and have exactly the documented columns and vocabularies."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from openpyxl import load_workbook

from her2meta.simulate import DEMO_STUDIES, get_spec, simulate_study
from her2meta.simulate import writers as W

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
TRUTH = json.loads((DEMO / "truth.json").read_text(encoding="utf-8"))

ADAM = [s.study_id for s in DEMO_STUDIES if s.shape == "adam"]
SDTM = [s.study_id for s in DEMO_STUDIES if s.shape == "sdtm"]
YPT = re.compile(r"^ypT(0|is|1mi|1a|1b|1c|2|3|4b)$")
YPN = re.compile(r"^ypN(0|0\(i\+\)|1mi|1|2|3)$")


def _csv(path: Path, sep: str = ",") -> pd.DataFrame:
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8")


def _pcr_counts_from(ypt: dict[str, str], ypn: dict[str, str], arm_of: dict[str, str], definition: str):
    counts: dict[str, int] = {}
    for pid, t in ypt.items():
        n = ypn[pid]
        breast = t in ("ypT0", "ypTis")
        ok = {
            "ypT0/is ypN0": breast and n == "ypN0",
            "ypT0 ypN0": t == "ypT0" and n == "ypN0",
            "ypT0/is": breast,
        }[definition]
        counts[arm_of[pid]] = counts.get(arm_of[pid], 0) + int(ok)
    return counts


def _truth_pcr_all(study_id: str, definition: str) -> dict[str, int]:
    """pCR counts per arm over ALL patients in the files (ITT and not) from the simulation frame."""
    df = simulate_study(get_spec(study_id))
    col = {"ypT0/is ypN0": "pcr_ypt0is_ypn0", "ypT0 ypN0": "pcr_ypt0_ypn0", "ypT0/is": "pcr_breast"}[definition]
    op = df[df["surgery"]]
    return {k: int(v) for k, v in op.groupby("arm")[col].sum().items()}


# --------------------------------------------------------------------------- ADaM
@pytest.mark.parametrize("study_id", ADAM)
def test_adam_datasets(study_id):
    spec = get_spec(study_id)
    folder = DEMO / study_id
    adsl, meta = pyreadstat.read_xport(str(folder / "adsl.xpt"))
    assert meta.table_name == "ADSL"
    assert tuple(adsl.columns) == W.ADSL_COLUMNS
    assert meta.original_variable_types["RANDDT"].startswith("DATE")
    assert isinstance(adsl["RANDDT"].iloc[0], dt.date)
    assert set(adsl["STUDYID"]) == {study_id}
    assert adsl["USUBJID"].is_unique and adsl["USUBJID"].iloc[0] == f"{spec.subject_prefix}-SIM-0001"
    assert (adsl["ARM"] == adsl["TRT01P"]).all()
    assert {a.code: a.label for a in spec.arms} == dict(zip(adsl["ARMCD"], adsl["ARM"]))
    assert set(adsl["ITTFL"]) <= {"Y", "N"}
    assert (adsl["ITTFL"] == "N").sum() == spec.dirt.n_not_itt
    assert set(adsl["SEX"]) == {"F"}
    assert set(adsl["MENOSTAT"]) <= {"PRE", "POST", ""}
    assert set(adsl["HER2IHC"]) <= {"0", "1+", "2+", "3+"}
    assert set(adsl["CNSTAGE"]) <= {"N0", "N1", "N2", "N3", ""}
    assert set(adsl["CTSTAGE"]) <= {"T1", "T2", "T3", "T4", "T4D", ""}
    assert set(adsl["GRADE"].dropna()) <= {1.0, 2.0, 3.0}
    assert adsl["ERPCT"].dropna().between(0, 100).all()
    if study_id == "SIM-HERMET":
        assert set(adsl.loc[adsl["HER2IHC"] == "0", "HER2STN"]) == {"FAINT", "NONE"}
        assert set(adsl.loc[adsl["HER2IHC"] != "0", "HER2STN"]) == {""}
        assert set(adsl["CTSTAGE"]) == {""}
    else:
        assert set(adsl["HER2STN"]) == {""}
        assert "T4D" in set(adsl["CTSTAGE"])

    adtte, meta = pyreadstat.read_xport(str(folder / "adtte.xpt"))
    assert meta.table_name == "ADTTE"
    assert tuple(adtte.columns) == W.ADTTE_COLUMNS
    expected_params = {"EFS", "OS"} if spec.setting == "neoadjuvant" else {"PFS", "OS"}
    assert set(adtte["PARAMCD"]) == expected_params
    assert len(adtte) == 2 * len(adsl)
    assert set(adtte["CNSR"]) <= {0.0, 1.0, 2.0}
    assert ((adtte["CNSR"] == 0) == (adtte["EVNTDESC"] != "")).all()
    assert ((adtte["CNSR"] > 0) == (adtte["CNSDTDSC"] != "")).all()
    assert set(adtte.loc[adtte["PARAMCD"] == "OS", "EVNTDESC"]) <= {"DEATH", ""}
    assert (adtte["AVAL"] >= 1).all()
    wide = adtte.pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    first = "EFS" if spec.setting == "neoadjuvant" else "PFS"
    assert (wide["OS"] >= wide[first]).all()

    if spec.setting == "neoadjuvant":
        adpath, meta = pyreadstat.read_xport(str(folder / "adpath.xpt"))
        assert meta.table_name == "ADPATH"
        assert tuple(adpath.columns) == W.ADPATH_COLUMNS
        assert set(adpath["PARAMCD"]) == {"YPT", "YPN"}
        assert (adpath["AVALC"] != "").all()
        ypt = dict(adpath.loc[adpath["PARAMCD"] == "YPT", ["USUBJID", "AVALC"]].itertuples(index=False))
        ypn = dict(adpath.loc[adpath["PARAMCD"] == "YPN", ["USUBJID", "AVALC"]].itertuples(index=False))
        assert set(ypt) == set(ypn) and len(ypt) < len(adsl)  # no-surgery patients have no rows
        assert all(YPT.match(v) for v in ypt.values()) and all(YPN.match(v) for v in ypn.values())
        arm_of = dict(zip(adsl["USUBJID"], adsl["ARMCD"]))
        for definition in ("ypT0/is ypN0", "ypT0 ypN0", "ypT0/is"):
            assert _pcr_counts_from(ypt, ypn, arm_of, definition) == _truth_pcr_all(study_id, definition)
    else:
        adrs, meta = pyreadstat.read_xport(str(folder / "adrs.xpt"))
        assert meta.table_name == "ADRS"
        assert tuple(adrs.columns) == W.ADRS_COLUMNS
        assert set(adrs["PARAMCD"]) == {"BOR"}
        assert set(adrs["AVALC"]) <= {"CR", "PR", "SD", "PD", "NE"}
        assert len(adrs) == len(adsl)


def test_adam_itt_cells_match_truth():
    adsl, _ = pyreadstat.read_xport(str(DEMO / "SIM-NEOSPHERE" / "adsl.xpt"))
    itt = adsl[adsl["ITTFL"] == "Y"]
    t = TRUTH["studies"]["SIM-NEOSPHERE"]
    assert len(itt) == 417 == t["n_itt"]
    assert dict(itt["ARMCD"].value_counts()) == {a["code"]: a["n"] for a in t["arms"]}


# --------------------------------------------------------------------------- SDTM
@pytest.mark.parametrize("study_id", SDTM)
def test_sdtm_domains(study_id):
    spec = get_spec(study_id)
    folder = DEMO / study_id
    dm = _csv(folder / "dm.csv")
    assert tuple(dm.columns) == W.DM_COLUMNS
    assert set(dm["DOMAIN"]) == {"DM"} and set(dm["AGEU"]) == {"YEARS"} and set(dm["SEX"]) == {"F"}
    assert dm["USUBJID"].is_unique and len(dm) == spec.n_itt
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dm["RFSTDTC"])
    assert {a.code: a.label for a in spec.arms} == dict(zip(dm["ARMCD"], dm["ARM"]))
    assert dm["AGE"].str.fullmatch(r"\d+").all()

    mi = _csv(folder / "mi.csv")
    assert tuple(mi.columns) == W.MI_COLUMNS
    assert set(mi["DOMAIN"]) == {"MI"}
    assert set(mi["MITESTCD"]) == {"ER", "PGR", "HER2IHC", "HER2RAT", "HER2CN"}
    units = dict(zip(mi["MITESTCD"], mi["MIORRESU"]))
    assert units == {"ER": "%", "PGR": "%", "HER2IHC": "", "HER2RAT": "RATIO", "HER2CN": "SIGNALS/CELL"}
    pct = mi[mi["MITESTCD"].isin(["ER", "PGR"])]["MIORRES"]
    assert pct.str.fullmatch(r"(<1|\d{1,3})%").all() and (pct == "<1%").any() and (pct == "0%").any()
    assert set(mi.loc[mi["MITESTCD"] == "HER2IHC", "MIORRES"]) <= {"2+", "3+"}
    assert mi.loc[mi["MITESTCD"] == "HER2RAT", "MIORRES"].str.fullmatch(r"\d+\.\d{2}").all()
    assert mi.loc[mi["MITESTCD"] == "HER2CN", "MIORRES"].str.fullmatch(r"\d+\.\d").all()
    seq = mi.groupby("USUBJID")["MISEQ"].apply(lambda s: list(map(int, s)))
    assert all(v == list(range(1, len(v) + 1)) for v in seq)
    assert (mi["MIORRES"] != "").all()

    sc = _csv(folder / "sc.csv")
    assert tuple(sc.columns) == W.SC_COLUMNS
    assert set(sc["SCTESTCD"]) == {"MENOSTAT", "CTSTAGE", "CNSTAGE", "GRADE"}
    vals = sc.groupby("SCTESTCD")["SCORRES"].apply(set)
    assert vals["MENOSTAT"] <= {"Premenopausal", "Postmenopausal"}
    assert all(re.fullmatch(r"cT(1|2|3|4|4d)", v) for v in vals["CTSTAGE"])
    assert all(re.fullmatch(r"cN[0-3]", v) for v in vals["CNSTAGE"])
    assert vals["GRADE"] <= {"G1", "G2", "G3"}

    pr = _csv(folder / "pr.csv")
    assert tuple(pr.columns) == W.PR_COLUMNS
    assert set(pr["DOMAIN"]) == {"PR"} and set(pr["PRTESTCD"]) == {"YPT", "YPN"}
    ypt = dict(pr.loc[pr["PRTESTCD"] == "YPT", ["USUBJID", "PRORRES"]].itertuples(index=False))
    ypn = dict(pr.loc[pr["PRTESTCD"] == "YPN", ["USUBJID", "PRORRES"]].itertuples(index=False))
    arm_of = dict(zip(dm["USUBJID"], dm["ARMCD"]))
    assert _pcr_counts_from(ypt, ypn, arm_of, spec.primary_pcr_definition) == _truth_pcr_all(
        study_id, spec.primary_pcr_definition
    )

    ev = _csv(folder / "ev.csv")
    assert tuple(ev.columns) == W.EV_COLUMNS
    assert set(ev["EVTESTCD"]) == {"EFS", "OS"} and set(ev["EVSTAT"]) == {"EVENT", "CENSORED"}
    days = (pd.to_datetime(ev["EVENDTC"]) - pd.to_datetime(ev["EVSTDTC"])).dt.days
    truth = simulate_study(spec).set_index("patient_id")
    efs = ev["EVTESTCD"] == "EFS"
    assert (days[efs].to_numpy() == truth.loc[ev.loc[efs, "USUBJID"], "efs_days"].to_numpy()).all()
    is_event = (ev.loc[efs, "EVSTAT"] == "EVENT").to_numpy()
    assert (is_event == (truth.loc[ev.loc[efs, "USUBJID"], "efs_event"] == 1).to_numpy()).all()
    start = dict(zip(dm["USUBJID"], dm["RFSTDTC"]))
    assert (ev["EVSTDTC"] == ev["USUBJID"].map(start)).all()


# --------------------------------------------------------------------- flat files
def test_kristine_workbook():
    wb = load_workbook(DEMO / "SIM-KRISTINE" / "kristine_data.xlsx")
    assert wb.sheetnames == ["patients"]
    df = pd.read_excel(DEMO / "SIM-KRISTINE" / "kristine_data.xlsx", sheet_name="patients")
    assert tuple(df.columns) == W.KRISTINE_COLUMNS
    assert len(df) == 444 and df["PatID"].is_unique
    assert set(df["Arm"]) == {"TCHP", "T-DM1+P"}
    assert set(df["Menopause"].dropna()) == {"Pre", "Post"}
    for col in ("ER_pct", "PgR_pct"):
        assert df[col].str.fullmatch(r"(\d{1,3}%|<1%|unknown)").all()
    assert (df["ER_pct"] == "unknown").any() or (df["PgR_pct"] == "unknown").any()
    assert set(df["HER2_IHC"]) <= {"2+", "3+"}
    assert df["HER2_FISH_ratio"].isna().any() and df["HER2_FISH_ratio"].notna().any()
    assert df["cT"].str.fullmatch(r"cT(1|2|3|4|4d)").all() and df["cN"].str.fullmatch(r"cN[0-3]").all()
    assert set(df["Grade"]) <= {"G1", "G2", "G3", "GX"}
    assert df["ypT"].dropna().map(lambda v: bool(YPT.match(v))).all()
    assert df["ypT"].isna().sum() == df["ypN"].isna().sum() > 0
    assert set(df["EFS_event"]) == {0, 1} and set(df["OS_event"]) == {0, 1}
    assert (df["OS_months"] >= df["EFS_months"]).all()
    assert ((df["EFS_months"] * 10).round(6) % 1 == 0).all()


def test_buzdar_csv():
    df = _csv(DEMO / "SIM-BUZDAR" / "buzdar.csv")
    assert tuple(df.columns) == W.BUZDAR_COLUMNS
    assert len(df) == 42 and set(df["trt"]) == {"C", "CT"}
    assert (df["trt"] == "C").sum() == 19
    assert set(df["meno"]) <= {"pre", "post", ""}
    assert set(df["ER_STAT"]) <= {"Pos", "Neg", ""} and set(df["PR_STAT"]) <= {"Pos", "Neg", ""}
    assert set(df["pCR"]) <= {"Yes", "No", ""}
    assert set(df["her2"]) <= {"2+", "3+"}
    assert set(df["efs_status"]) <= {"event", "censored"} and set(df["os_status"]) <= {"dead", "alive"}
    assert df["efs_mo"].str.fullmatch(r"\d+\.\d").all()
    # ER_STAT uses the 10% cut-off: compare with the simulated percentages
    sim = simulate_study(get_spec("SIM-BUZDAR"))
    expected = sim["er_percent"].map(lambda v: "" if pd.isna(v) else ("Pos" if v >= 10 else "Neg"))
    assert list(df["ER_STAT"]) == list(expected)
    counts = df[df["pCR"] == "Yes"].groupby("trt").size().to_dict()
    assert counts == _truth_pcr_all("SIM-BUZDAR", "ypT0/is ypN0")


def test_noah_csv_semicolons_decimal_comma_and_shifted_dates():
    path = DEMO / "SIM-NOAH" / "noah_patients.csv"
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == ";".join(W.NOAH_COLUMNS)
    df = _csv(path, sep=";")
    assert tuple(df.columns) == W.NOAH_COLUMNS
    assert len(df) == 235
    assert set(df["RANDOMISATION_ARM"]) == {"Chemotherapy", "Chemotherapy + Trastuzumab"}
    assert df["AGE"].str.fullmatch(r"\d{2},\d").all()
    assert set(df["ER"]) <= {"positive", "negative", "not done"} and "not done" in set(df["ER"])
    assert set(df["FISH"]) <= {"amplified", "not amplified", ""}
    assert set(df["T_STAGE"]) <= {"T2", "T3", "T4", "T4d"}
    assert set(df["pCR_total"]) <= {"1", "0", ""}
    for col in ("DATE_RAND", "DATE_EFS", "DATE_LAST_CONTACT_OR_DEATH"):
        assert df[col].str.fullmatch(r"\d{2}\.\d{2}\.\d{4}").all()
    rand = pd.to_datetime(df["DATE_RAND"], format="%d.%m.%Y")
    efs = (pd.to_datetime(df["DATE_EFS"], format="%d.%m.%Y") - rand).dt.days
    os_ = (pd.to_datetime(df["DATE_LAST_CONTACT_OR_DEATH"], format="%d.%m.%Y") - rand).dt.days
    sim = simulate_study(get_spec("SIM-NOAH"))
    assert list(efs) == list(sim["efs_days"]) and list(os_) == list(sim["os_days"])
    shift = (rand.dt.date - sim["rand_date"]).map(lambda d: d.days)
    assert shift.abs().max() <= W.NOAH_DATE_SHIFT_DAYS and shift.nunique() > 50
    assert set(df["EFS_EVENT"]) == {"0", "1"} and set(df["DEATH"]) == {"0", "1"}


def test_neoatp_csv():
    df = _csv(DEMO / "SIM-NEOATP" / "neoatp.csv")
    assert tuple(df.columns) == W.NEOATP_COLUMNS
    assert len(df) == 53
    er = df["er"]
    assert er.str.fullmatch(r"(\d{1,3}%?|)").all()
    assert er.str.endswith("%").any() and (er.str.fullmatch(r"\d+")).any()
    assert set(df["her2_ihc"]) <= {"2+", "3+"}
    ops = df[df["ypT"] != ""]
    pcr = ((ops["ypT"] == "ypT0") & (ops["ypN"] == "ypN0")).sum()
    assert pcr == _truth_pcr_all("SIM-NEOATP", "ypT0 ypN0")["PYR-HTP"]
    assert df["followup_months"].str.fullmatch(r"\d+\.\d").all()


def test_every_csv_is_utf8_with_unix_newlines():
    for path in DEMO.rglob("*.csv"):
        raw = path.read_bytes()
        raw.decode("utf-8")
        assert b"\r" not in raw and raw.endswith(b"\n")
