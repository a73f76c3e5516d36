"""Render simulated patients in the sponsors' shapes.

Three shapes, as data arrive from a data-sharing platform:

* ``adam``: CDISC ADaM datasets as SAS transport v5 (adsl, adtte, adpath or adrs);
* ``sdtm``: SDTM-like long CSV domains (dm, mi, sc, pr, ev);
* sponsor-specific flat files: an Excel sheet (``kristine_xlsx``), an old
  single-centre CSV with 10%-cut-off receptor categories (``buzdar_csv``), a
  European CSV with ``;`` separators, decimal commas and per-patient shifted
  dates (``noah_csv``) and a small single-arm CSV (``neoatp_csv``).

Column names and value vocabularies are fixed (extraction mappings are written
against them). Writers take the frame of :func:`simulate_patients`, a render
generator for presentation choices (``"<1%"`` vs ``"0%"``, date shifts) and
return ``{file name: bytes}``; nothing here touches the clock.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Callable

import numpy as np
import pandas as pd

from ..synthetic import MARKER as SYNTHETIC_MARKER, marker_text
from .deterministic import csv_bytes, fmt_float, fmt_int, xlsx_bytes, xpt_bytes
from .trials import DAYS_PER_MONTH, StudySpec

SAS_EPOCH = dt.date(1960, 1, 1)

# ------------------------------------------------------------------ column lists
ADSL_COLUMNS = (
    "STUDYID", "USUBJID", "SUBJID", "ARM", "ARMCD", "TRT01P", "ITTFL", "AGE", "SEX", "MENOSTAT",
    "ERPCT", "PGRPCT", "HER2IHC", "HER2STN", "HER2RAT", "HER2CN", "CTSTAGE", "CNSTAGE", "GRADE", "RANDDT",
)
ADSL_LABELS = (
    "Study Identifier", "Unique Subject Identifier", "Subject Identifier for the Study", "Description of Planned Arm",
    "Planned Arm Code", "Planned Treatment for Period 01", "Intent-To-Treat Population Flag", "Age", "Sex",
    "Menopausal Status", "Estrogen Receptor (% positive nuclei)", "Progesterone Receptor (% pos. nuclei)",
    "HER2 IHC Score", "HER2 IHC 0 Membrane Staining", "HER2/CEP17 Ratio", "HER2 Mean Copy Number per Cell",
    "Clinical T Stage", "Clinical N Stage", "Histological Grade", "Date of Randomization",
)
ADTTE_COLUMNS = ("STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC")
ADTTE_LABELS = (
    "Study Identifier", "Unique Subject Identifier", "Parameter Code", "Parameter", "Analysis Value",
    "Censor", "Event or Censoring Description", "Censor Date Description",
)
ADPATH_COLUMNS = ("STUDYID", "USUBJID", "PARAMCD", "AVALC")
ADPATH_LABELS = ("Study Identifier", "Unique Subject Identifier", "Parameter Code", "Analysis Value (C)")
ADRS_COLUMNS = ("STUDYID", "USUBJID", "PARAMCD", "AVALC")
ADRS_LABELS = ADPATH_LABELS

DM_COLUMNS = ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "ARMCD", "ARM", "AGE", "AGEU", "SEX")
MI_COLUMNS = ("STUDYID", "DOMAIN", "USUBJID", "MISEQ", "MITESTCD", "MITEST", "MIORRES", "MIORRESU")
SC_COLUMNS = ("STUDYID", "DOMAIN", "USUBJID", "SCTESTCD", "SCORRES")
PR_COLUMNS = ("STUDYID", "DOMAIN", "USUBJID", "PRTESTCD", "PRORRES")
EV_COLUMNS = ("STUDYID", "USUBJID", "EVTESTCD", "EVSTDTC", "EVENDTC", "EVSTAT")

KRISTINE_COLUMNS = (
    "PatID", "Arm", "Age", "Menopause", "ER_pct", "PgR_pct", "HER2_IHC", "HER2_FISH_ratio", "HER2_copies",
    "cT", "cN", "Grade", "ypT", "ypN", "EFS_months", "EFS_event", "OS_months", "OS_event",
)
BUZDAR_COLUMNS = (
    "pt_no", "trt", "age", "meno", "ER_STAT", "PR_STAT", "her2", "fish", "cT", "cN", "pCR",
    "efs_mo", "efs_status", "os_mo", "os_status",
)
NOAH_COLUMNS = (
    "PATIENT", "RANDOMISATION_ARM", "AGE", "ER", "HER2_IHC", "FISH", "T_STAGE", "N_STAGE", "pCR_total",
    "DATE_RAND", "DATE_EFS", "EFS_EVENT", "DATE_LAST_CONTACT_OR_DEATH", "DEATH",
)
NEOATP_COLUMNS = (
    "id", "age", "er", "pr", "her2_ihc", "ypT", "ypN", "followup_months", "efs_event", "os_event", "os_months",
)

#: Files per shape (writing order).
SHAPE_FILES = {
    "adam_neoadjuvant": ("adsl.xpt", "adtte.xpt", "adpath.xpt"),
    "adam_metastatic": ("adsl.xpt", "adtte.xpt", "adrs.xpt"),
    "sdtm": ("dm.csv", "mi.csv", "sc.csv", "pr.csv", "ev.csv"),
    "kristine_xlsx": ("kristine_data.xlsx",),
    "buzdar_csv": ("buzdar.csv",),
    "noah_csv": ("noah_patients.csv",),
    "neoatp_csv": ("neoatp.csv",),
}

SHAPE_DESCRIPTIONS = {
    "adam": "CDISC ADaM, SAS transport v5 (.xpt)",
    "sdtm": "SDTM-like long CSV domains (UTF-8)",
    "kristine_xlsx": "sponsor flat file, Excel workbook (sheet 'patients')",
    "buzdar_csv": "sponsor flat file, CSV (receptor categories only, 10% cut-off)",
    "noah_csv": "sponsor flat file, CSV with ';' separator, decimal comma and shifted dates",
    "neoatp_csv": "sponsor flat file, CSV (single arm, no arm column)",
}


def files_for(spec: StudySpec) -> tuple[str, ...]:
    if spec.shape == "adam":
        return SHAPE_FILES["adam_neoadjuvant" if spec.setting == "neoadjuvant" else "adam_metastatic"]
    return SHAPE_FILES[spec.shape]


# ------------------------------------------------------------------------ helpers
def _missing(x) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return bool(isinstance(x, float) and math.isnan(x))
    except TypeError:  # pragma: no cover
        return False


def _subjid(k: int) -> str:
    return f"{int(k):04d}"


def _iso(d: dt.date) -> str:
    return d.isoformat()


def _dmy(d: dt.date) -> str:
    return d.strftime("%d.%m.%Y")


def _months(days) -> float:
    return float(days) / DAYS_PER_MONTH


def _percent_text(value, zero_as_less_than_one: bool, with_sign: bool = True) -> str:
    sign = "%" if with_sign else ""
    if _missing(value):
        return ""
    v = float(value)
    if v < 1.0:
        return "<1%" if zero_as_less_than_one else f"0{sign}"
    return f"{int(round(v))}{sign}"


def _events(df: pd.DataFrame, spec: StudySpec):
    """Yield (row, paramcd, days, censor code, event description) for both endpoints of every patient."""
    first = "EFS" if spec.setting == "neoadjuvant" else "PFS"
    prefix = first.lower()
    for row in df.itertuples(index=False):
        yield row, first, int(getattr(row, f"{prefix}_days")), int(getattr(row, f"{prefix}_censor")), getattr(
            row, f"{prefix}_event_desc"
        )
        yield row, "OS", int(row.os_days), int(row.os_censor), ("DEATH" if int(row.os_event) == 1 else None)


PARAM_TEXT = {
    "EFS": "Event-Free Survival (days)",
    "PFS": "Progression-Free Survival (days)",
    "OS": "Overall Survival (days)",
}
CENSOR_TEXT = {1: "LAST KNOWN CONTACT", 2: "DATA CUT-OFF"}


# --------------------------------------------------------------------------- ADaM
def write_adam(spec: StudySpec, df: pd.DataFrame, render: np.random.Generator) -> dict[str, bytes]:
    n = len(df)
    meno = {"pre": "PRE", "post": "POST"}
    stain = {"ultralow": "FAINT", "null": "NONE"}
    adsl = pd.DataFrame(
        {
            "STUDYID": [spec.study_id] * n,
            "USUBJID": list(df["patient_id"]),
            "SUBJID": [_subjid(k) for k in df["subject_number"]],
            "ARM": list(df["arm_label"]),
            "ARMCD": list(df["arm"]),
            "TRT01P": list(df["arm_label"]),
            "ITTFL": ["Y" if x else "N" for x in df["itt"]],
            "AGE": df["age_years"].astype(float).to_numpy(),
            "SEX": ["F"] * n,
            "MENOSTAT": [meno.get(x, "") if not _missing(x) else "" for x in df["menopausal_status"]],
            "ERPCT": df["er_percent"].astype(float).to_numpy(),
            "PGRPCT": df["pr_percent"].astype(float).to_numpy(),
            "HER2IHC": list(df["her2_ihc"]),
            "HER2STN": [stain.get(x, "") if not _missing(x) else "" for x in df["her2_ihc0_staining"]],
            "HER2RAT": df["her2_ish_ratio"].astype(float).to_numpy(),
            "HER2CN": df["her2_ish_copy_number"].astype(float).to_numpy(),
            "CTSTAGE": ["" if _missing(x) else str(x).upper() for x in df["ct_stage"]],
            "CNSTAGE": ["" if _missing(x) else str(x) for x in df["cn_stage"]],
            "GRADE": df["grade"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            "RANDDT": np.array([float((d - SAS_EPOCH).days) for d in df["rand_date"]]),
        },
        columns=list(ADSL_COLUMNS),
    )
    out = {
        "adsl.xpt": xpt_bytes(
            adsl, "ADSL", ADSL_LABELS, {"RANDDT": "DATE9"}, file_label="Subject-Level Analysis Dataset"
        )
    }

    rows = []
    for row, paramcd, days, cnsr, desc in _events(df, spec):
        rows.append(
            (
                spec.study_id,
                row.patient_id,
                paramcd,
                PARAM_TEXT[paramcd],
                float(days),
                float(cnsr),
                "" if cnsr else (desc or ""),
                CENSOR_TEXT.get(cnsr, ""),
            )
        )
    adtte = pd.DataFrame(rows, columns=list(ADTTE_COLUMNS))
    out["adtte.xpt"] = xpt_bytes(adtte, "ADTTE", ADTTE_LABELS, file_label="Time-to-Event Analysis Dataset")

    if spec.setting == "neoadjuvant":
        prow = []
        for row in df.itertuples(index=False):
            if not row.surgery:
                continue
            prow.append((spec.study_id, row.patient_id, "YPT", row.ypt))
            prow.append((spec.study_id, row.patient_id, "YPN", row.ypn))
        adpath = pd.DataFrame(prow, columns=list(ADPATH_COLUMNS))
        out["adpath.xpt"] = xpt_bytes(adpath, "ADPATH", ADPATH_LABELS, file_label="Surgical Pathology Analysis Dataset")
    else:
        rrow = [(spec.study_id, r.patient_id, "BOR", r.best_overall_response) for r in df.itertuples(index=False)]
        adrs = pd.DataFrame(rrow, columns=list(ADRS_COLUMNS))
        out["adrs.xpt"] = xpt_bytes(adrs, "ADRS", ADRS_LABELS, file_label="Response Analysis Dataset")
    return out


# --------------------------------------------------------------------------- SDTM
MI_TESTS = (
    ("ER", "Estrogen Receptor", "%"),
    ("PGR", "Progesterone Receptor", "%"),
    ("HER2IHC", "HER2 IHC Score", ""),
    ("HER2RAT", "HER2/CEP17 Ratio", "RATIO"),
    ("HER2CN", "HER2 Mean Copy Number", "SIGNALS/CELL"),
)


def write_sdtm(spec: StudySpec, df: pd.DataFrame, render: np.random.Generator) -> dict[str, bytes]:
    sid = spec.study_id
    n = len(df)
    lt1_er = render.random(n) < 0.5
    lt1_pr = render.random(n) < 0.5

    dm = [
        (sid, "DM", r.patient_id, _subjid(r.subject_number), _iso(r.rand_date), r.arm, r.arm_label,
         str(int(r.age_years)), "YEARS", "F")
        for r in df.itertuples(index=False)
    ]

    mi = []
    for i, r in enumerate(df.itertuples(index=False)):
        values = {
            "ER": _percent_text(r.er_percent, bool(lt1_er[i])),
            "PGR": _percent_text(r.pr_percent, bool(lt1_pr[i])),
            "HER2IHC": "" if _missing(r.her2_ihc) else str(r.her2_ihc),
            "HER2RAT": fmt_float(r.her2_ish_ratio, 2),
            "HER2CN": fmt_float(r.her2_ish_copy_number, 1),
        }
        seq = 0
        for code, test, unit in MI_TESTS:
            if values[code] == "":
                continue
            seq += 1
            mi.append((sid, "MI", r.patient_id, str(seq), code, test, values[code], unit))

    meno = {"pre": "Premenopausal", "post": "Postmenopausal"}
    sc = []
    for r in df.itertuples(index=False):
        for code, value in (
            ("MENOSTAT", "" if _missing(r.menopausal_status) else meno[r.menopausal_status]),
            ("CTSTAGE", "" if _missing(r.ct_stage) else f"c{r.ct_stage}"),
            ("CNSTAGE", "" if _missing(r.cn_stage) else f"c{r.cn_stage}"),
            ("GRADE", "" if _missing(r.grade) else f"G{int(r.grade)}"),
        ):
            if value:
                sc.append((sid, "SC", r.patient_id, code, value))

    pr = []
    for r in df.itertuples(index=False):
        if r.surgery:
            pr.append((sid, "PR", r.patient_id, "YPT", r.ypt))
            pr.append((sid, "PR", r.patient_id, "YPN", r.ypn))

    ev = []
    for row, code, days, cnsr, _desc in _events(df, spec):
        start = row.rand_date
        ev.append((sid, row.patient_id, code, _iso(start), _iso(start + dt.timedelta(days=days)),
                   "CENSORED" if cnsr else "EVENT"))

    return {
        "dm.csv": csv_bytes(DM_COLUMNS, dm),
        "mi.csv": csv_bytes(MI_COLUMNS, mi),
        "sc.csv": csv_bytes(SC_COLUMNS, sc),
        "pr.csv": csv_bytes(PR_COLUMNS, pr),
        "ev.csv": csv_bytes(EV_COLUMNS, ev),
    }


# ---------------------------------------------------------------------- KRISTINE
def write_kristine(spec: StudySpec, df: pd.DataFrame, render: np.random.Generator) -> dict[str, bytes]:
    from openpyxl import Workbook

    n = len(df)
    lt1_er = render.random(n) < 0.3
    lt1_pr = render.random(n) < 0.3
    wb = Workbook()
    ws = wb.active
    ws.title = "patients"
    ws.append(list(KRISTINE_COLUMNS))
    meno = {"pre": "Pre", "post": "Post"}
    for i, r in enumerate(df.itertuples(index=False)):
        er = _percent_text(r.er_percent, bool(lt1_er[i])) or "unknown"
        pgr = _percent_text(r.pr_percent, bool(lt1_pr[i])) or "unknown"
        ws.append(
            [
                int(r.subject_number),
                r.arm,
                int(r.age_years),
                None if _missing(r.menopausal_status) else meno[r.menopausal_status],
                er,
                pgr,
                r.her2_ihc,
                None if _missing(r.her2_ish_ratio) else round(float(r.her2_ish_ratio), 2),
                None if _missing(r.her2_ish_copy_number) else round(float(r.her2_ish_copy_number), 1),
                f"c{r.ct_stage}",
                f"c{r.cn_stage}",
                "GX" if _missing(r.grade) else f"G{int(r.grade)}",
                r.ypt if r.surgery else None,
                r.ypn if r.surgery else None,
                round(_months(r.efs_days), 1),
                int(r.efs_event),
                round(_months(r.os_days), 1),
                int(r.os_event),
            ]
        )
    return {"kristine_data.xlsx": xlsx_bytes(wb, title=f"{spec.study_id} (synthetic)")}


# ------------------------------------------------------------------------ BUZDAR
def _category_10(value) -> str:
    if _missing(value):
        return ""
    return "Pos" if float(value) >= 10.0 else "Neg"


def write_buzdar(spec: StudySpec, df: pd.DataFrame, render: np.random.Generator) -> dict[str, bytes]:
    rows = []
    for r in df.itertuples(index=False):
        pcr = "" if not r.surgery else ("Yes" if bool(r.pcr_ypt0is_ypn0) else "No")
        rows.append(
            (
                str(int(r.subject_number)),
                r.arm,
                str(int(r.age_years)),
                "" if _missing(r.menopausal_status) else r.menopausal_status,
                _category_10(r.er_percent),
                _category_10(r.pr_percent),
                r.her2_ihc,
                fmt_float(r.her2_ish_ratio, 1),
                r.ct_stage,
                r.cn_stage,
                pcr,
                fmt_float(_months(r.efs_days), 1),
                "event" if int(r.efs_event) else "censored",
                fmt_float(_months(r.os_days), 1),
                "dead" if int(r.os_event) else "alive",
            )
        )
    return {"buzdar.csv": csv_bytes(BUZDAR_COLUMNS, rows)}


# -------------------------------------------------------------------------- NOAH
NOAH_DATE_SHIFT_DAYS = 183


def write_noah(spec: StudySpec, df: pd.DataFrame, render: np.random.Generator) -> dict[str, bytes]:
    n = len(df)
    shift = render.integers(-NOAH_DATE_SHIFT_DAYS, NOAH_DATE_SHIFT_DAYS + 1, n)
    tenths = render.integers(0, 10, n)
    rows = []
    for i, r in enumerate(df.itertuples(index=False)):
        rand = r.rand_date + dt.timedelta(days=int(shift[i]))
        if _missing(r.er_percent):
            er = "not done"
        else:
            er = "positive" if float(r.er_percent) >= 1.0 else "negative"
        if _missing(r.her2_ish_ratio):
            fish = ""
        else:
            fish = "amplified" if float(r.her2_ish_ratio) >= 2.0 else "not amplified"
        pcr = "" if not r.surgery else ("1" if bool(r.pcr_ypt0is_ypn0) else "0")
        rows.append(
            (
                str(int(r.subject_number)),
                r.arm_label,
                fmt_float(int(r.age_years) + int(tenths[i]) / 10.0, 1, decimal_sep=","),
                er,
                r.her2_ihc,
                fish,
                r.ct_stage,
                r.cn_stage,
                pcr,
                _dmy(rand),
                _dmy(rand + dt.timedelta(days=int(r.efs_days))),
                str(int(r.efs_event)),
                _dmy(rand + dt.timedelta(days=int(r.os_days))),
                str(int(r.os_event)),
            )
        )
    return {"noah_patients.csv": csv_bytes(NOAH_COLUMNS, rows, sep=";")}


# ------------------------------------------------------------------------ NEOATP
def write_neoatp(spec: StudySpec, df: pd.DataFrame, render: np.random.Generator) -> dict[str, bytes]:
    n = len(df)
    sign_er = render.random(n) >= 0.3
    sign_pr = render.random(n) >= 0.3
    rows = []
    for i, r in enumerate(df.itertuples(index=False)):
        rows.append(
            (
                str(int(r.subject_number)),
                str(int(r.age_years)),
                _percent_text(r.er_percent, False, bool(sign_er[i])),
                _percent_text(r.pr_percent, False, bool(sign_pr[i])),
                r.her2_ihc,
                r.ypt if r.surgery else "",
                r.ypn if r.surgery else "",
                fmt_float(_months(r.efs_days), 1),
                str(int(r.efs_event)),
                str(int(r.os_event)),
                fmt_float(_months(r.os_days), 1),
            )
        )
    return {"neoatp.csv": csv_bytes(NEOATP_COLUMNS, rows)}


WRITERS: dict[str, Callable[[StudySpec, pd.DataFrame, np.random.Generator], dict[str, bytes]]] = {
    "adam": write_adam,
    "sdtm": write_sdtm,
    "kristine_xlsx": write_kristine,
    "buzdar_csv": write_buzdar,
    "noah_csv": write_noah,
    "neoatp_csv": write_neoatp,
}


def render_study(spec: StudySpec, df: pd.DataFrame, render: np.random.Generator) -> dict[str, bytes]:
    """All files of one study as ``{file name: bytes}``, in writing order: the sponsor files, then
    the synthetic-data marker (her2meta.synthetic), which the report's banner follows."""
    files = WRITERS[spec.shape](spec, df, render)
    expected = files_for(spec)
    if tuple(files) != expected:  # pragma: no cover - guards the documented layout
        raise AssertionError(f"{spec.study_id}: wrote {tuple(files)}, expected {expected}")
    files[SYNTHETIC_MARKER] = marker_text(spec.study_id, spec.calibrated_to).encode("utf-8")
    return files
