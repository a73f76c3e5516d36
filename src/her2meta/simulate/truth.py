"""truth.json, README.md and MANIFEST.txt of the synthetic demo.

The truth file records, per study, every generating parameter, the calibration
source of every figure, the assumptions, and counts realised with the seed (so
that harmonisation and analysis can be checked against what was generated).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from .deterministic import sha256_hex
from .trials import (
    NEO_SURVIVAL_ASSUMPTIONS,
    PCR_DEFINITIONS,
    StudySpec,
    expected_efs,
    pfs_median_of_mixture,
    total_pcr_probability,
)
from .writers import SHAPE_DESCRIPTIONS, files_for

REGENERATE_CMD = "her2meta simulate demo --out resources/demo --seed {seed}"
REGENERATE_PY = (
    'PYTHONPATH=src python -c "from pathlib import Path; from her2meta.simulate import write_demo; '
    "write_demo(Path('resources/demo'), seed={seed})\""
)


PRIMARY_PCR_COLUMN = {"ypT0/is ypN0": "pcr_ypt0is_ypn0", "ypT0 ypN0": "pcr_ypt0_ypn0", "ypT0/is": "pcr_breast"}

#: Harmonised fields a shape does not carry (their generated values never reach the files).
FIELDS_NOT_IN_FILES = {
    "adam": ("her2_ihc0_staining (neoadjuvant: all blank)",),
    "sdtm": (),
    "kristine_xlsx": (),
    "buzdar_csv": (
        "er_percent (as >=10% categories only)",
        "pr_percent (as >=10% categories only)",
        "her2_ish_copy_number",
        "grade",
        "ypt",
        "ypn",
    ),
    "noah_csv": (
        "pr_percent",
        "her2_ish_ratio (as amplified / not amplified only)",
        "her2_ish_copy_number",
        "grade",
        "menopausal_status",
        "ypt",
        "ypn",
    ),
    "neoatp_csv": ("her2_ish_ratio", "her2_ish_copy_number", "menopausal_status", "ct_stage", "cn_stage", "grade"),
}
_ALL_DIRT = {"pr", "er_low", "ish_unknown", "grade", "meno"}
#: Which defects can be seen in each shape's files (README only lists those).
VISIBLE_DIRT = {
    "adam": _ALL_DIRT,
    "sdtm": _ALL_DIRT,
    "kristine_xlsx": _ALL_DIRT,
    "buzdar_csv": {"pr", "ish_unknown", "meno"},
    "noah_csv": {"ish_unknown"},
    "neoatp_csv": {"pr", "er_low"},
}


def _r(x: float, digits: int = 6) -> float:
    return float(round(float(x), digits))


def _plain(obj: Any) -> Any:
    """Dataclasses/tuples/numpy scalars -> JSON-ready values (floats rounded to 6 digits)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        if math.isnan(obj):
            return None
        return _r(obj)
    return obj


def _designed_count(n: int, p: float) -> int:
    return int(math.floor(n * p + 0.5))


def _arm_truth(spec: StudySpec, arm) -> dict[str, Any]:
    d: dict[str, Any] = {
        "code": arm.code,
        "label": arm.label,
        "regimen": arm.regimen,
        "anti_her2": arm.anti_her2,
        "n": arm.n,
        "n_hr_positive": arm.n_hr_pos,
        "n_hr_negative": arm.n - arm.n_hr_pos,
        "hr_positive_share": _r(arm.hr_pos_share),
    }
    if spec.setting == "neoadjuvant":
        d["pcr_probability"] = {"hr_positive": arm.pcr_hr_pos, "hr_negative": arm.pcr_hr_neg}
        d["pcr_definition"] = spec.primary_pcr_definition
        d["expected_pcr_overall"] = _r(arm.expected_pcr)
        if spec.exact_counts:
            d["designed_pcr_count_itt"] = {
                "hr_positive": _designed_count(arm.n_hr_pos, arm.pcr_hr_pos),
                "hr_negative": _designed_count(arm.n - arm.n_hr_pos, arm.pcr_hr_neg),
            }
        d["latent_total_pcr_probability"] = {
            "hr_positive": _r(total_pcr_probability(spec, arm.pcr_hr_pos)),
            "hr_negative": _r(total_pcr_probability(spec, arm.pcr_hr_neg)),
        }
        d["efs_direct_hazard_ratio"] = arm.efs_direct_hr
        d["expected_efs_60_months_approx"] = _r(expected_efs(spec, arm, 60.0), 4)
    else:
        d["orr_probability"] = {"hr_positive": arm.orr_hr_pos, "hr_negative": arm.orr_hr_neg}
        d["expected_orr_overall"] = _r(arm.expected_orr)
        if spec.exact_counts:
            d["designed_responder_count_itt"] = {
                "hr_positive": _designed_count(arm.n_hr_pos, arm.orr_hr_pos),
                "hr_negative": _designed_count(arm.n - arm.n_hr_pos, arm.orr_hr_neg),
            }
        d["pfs_median_months"] = {"hr_positive": arm.pfs_median_hr_pos, "hr_negative": arm.pfs_median_hr_neg}
        d["expected_pfs_median_overall_months"] = pfs_median_of_mixture(spec, arm)
    return d


def _hr_unknown(df: pd.DataFrame) -> int:
    er, pr = df["er_percent"], df["pr_percent"]
    positive = (er >= 1) | (pr >= 1)
    return int((~positive & (er.isna() | pr.isna())).sum())


def realised_counts(spec: StudySpec, df: pd.DataFrame) -> dict[str, Any]:
    """Counts realised with the seed: cells, pCR, dirt, events."""
    itt = df[df["itt"]]
    cells = []
    for arm in spec.arms:
        for grp in ("positive", "negative"):
            sub = itt[(itt["arm"] == arm.code) & (itt["hr_group"] == grp)]
            cell: dict[str, Any] = {"arm": arm.code, "hr_group": grp, "n": int(len(sub))}
            if spec.setting == "neoadjuvant":
                op = sub[sub["surgery"]]
                cell["n_operated"] = int(len(op))
                cell["n_pcr_latent_primary_all"] = int(sub["pcr_latent_primary"].sum())
                for definition, col in zip(PCR_DEFINITIONS, ("pcr_ypt0is_ypn0", "pcr_ypt0_ypn0", "pcr_breast")):
                    cell[f"n_pcr[{definition}]"] = int(op[col].sum())
                primary_col = PRIMARY_PCR_COLUMN[spec.primary_pcr_definition]
                cell["pcr_rate_primary_operated"] = _r(op[primary_col].mean(), 4) if len(op) else None
                cell["n_efs_events"] = int(sub["efs_event"].sum())
            else:
                bor = sub["best_overall_response"].value_counts()
                cell["best_overall_response"] = {k: int(bor.get(k, 0)) for k in ("CR", "PR", "SD", "PD", "NE")}
                cell["n_pfs_events"] = int(sub["pfs_event"].sum())
            cell["n_os_events"] = int(sub["os_event"].sum())
            cells.append(cell)

    first = "efs" if spec.setting == "neoadjuvant" else "pfs"
    counts: dict[str, Any] = {
        "n_patients_in_files": int(len(df)),
        "n_itt": int(df["itt"].sum()),
        "n_not_itt": int((~df["itt"]).sum()),
        "missing_er": int(df["er_percent"].isna().sum()),
        "missing_pr": int(df["pr_percent"].isna().sum()),
        "hr_unknown_at_1pct": _hr_unknown(df),
        "er_low_1_to_9pct": int(((df["er_percent"] >= 1) & (df["er_percent"] < 10)).sum()),
        "hr_positive_only_via_pr": int(((df["er_percent"] < 1) & (df["pr_percent"] >= 1)).sum()),
        "hr_positive_but_negative_at_10pct": int(
            ((df["hr_group"] == "positive") & ~((df["er_percent"] >= 10) | (df["pr_percent"] >= 10))).sum()
        ),
        "her2_ihc": {k: int(v) for k, v in sorted(df["her2_ihc"].value_counts().items())},
        "her2_2plus_ish_unknown": int(((df["her2_ihc"] == "2+") & df["her2_ish_ratio"].isna()).sum()),
        "her2_2plus_ish_negative": int(((df["her2_ihc"] == "2+") & (df["her2_ish_ratio"] < 2.0)).sum()),
        "her2_ish_reported": int(df["her2_ish_ratio"].notna().sum()),
        "grade_missing": int(df["grade"].isna().sum()),
        "menopause_missing": int(df["menopausal_status"].isna().sum()),
        f"{first}_events": int(df[f"{first}_event"].sum()),
        "os_events": int(df["os_event"].sum()),
        "censored_last_contact": int((df[f"{first}_censor"] == 1).sum()),
    }
    if spec.setting == "neoadjuvant":
        counts["no_surgery"] = int((~df["surgery"]).sum())
        counts["efs_event_types"] = {
            k: int(v) for k, v in sorted(df["efs_event_desc"].dropna().value_counts().items())
        }
    else:
        counts["her2_ihc0_staining"] = {
            k: int(v) for k, v in sorted(df["her2_ihc0_staining"].dropna().value_counts().items())
        }
    return {"cells_itt": cells, "counts_all_patients": counts}


def _model_assumptions(spec: StudySpec) -> list[str]:
    if spec.setting != "neoadjuvant":
        return []
    out = list(NEO_SURVIVAL_ASSUMPTIONS)
    direct = spec.efs.hazard_multiplier != 1.0 or any(a.efs_direct_hr != 1.0 for a in spec.arms)
    if direct:
        out = [
            a.replace(
                "arms differ in EFS only through their pCR rates.",
                "in this study a baseline hazard multiplier and a direct arm effect are added (see assumptions).",
            )
            for a in out
        ]
    return out


def study_truth(spec: StudySpec, df: pd.DataFrame, seed: int) -> dict[str, Any]:
    d: dict[str, Any] = {
        "study_id": spec.study_id,
        "synthetic": True,
        "label": spec.label,
        "calibrated_to": spec.calibrated_to,
        "design": spec.design,
        "setting": spec.setting,
        "shape": spec.shape,
        "shape_description": SHAPE_DESCRIPTIONS[spec.shape],
        "files": list(files_for(spec)),
        "fields_not_in_files": list(FIELDS_NOT_IN_FILES[spec.shape]),
        "subject_id_example": f"{spec.subject_prefix}-SIM-0001",
        "rng": {
            "generator": "numpy.random.Generator(PCG64)",
            "patients_seed_key": f"{seed}:{spec.study_id}",
            "render_seed_key": f"{seed}:{spec.study_id}:render",
            "seed_derivation": "int.from_bytes(sha256(key).digest(), 'big')",
        },
        "start_date_synthetic": spec.start_date,
        "primary_pcr_definition": spec.primary_pcr_definition,
        "hr_group_basis": spec.hr_basis,
        "hr_positive_threshold_percent": 1,
        "exact_counts_per_cell": spec.exact_counts,
        "n_itt": spec.n_itt,
        "arms": [_arm_truth(spec, a) for a in spec.arms],
        "baseline_model": {
            "age": {"mean": spec.age_mean, "sd": spec.age_sd, "range": [25, 80]},
            "postmenopausal_probability": "1 / (1 + exp(-(age - 50) / 2.5))",
            "ct_stage": _plain(spec.ct_probs) if spec.setting == "neoadjuvant" else None,
            "cn_stage": _plain(spec.cn_probs) if spec.setting == "neoadjuvant" else None,
            "grade": _plain(spec.grade_probs),
            "her2_ihc_2plus_share_among_her2_positive": spec.her2_2plus_share,
            "her2_ish": "all IHC 2+ (group 1: ratio >= 2, copies >= 4) and a random half of IHC 3+ (4% of those "
            "ratio 1.60-1.99 with >= 6 copies)",
            "receptors_hr_positive": "6% ER < 1% with PgR >= 1% (none when the HR group is ER-based), 7% ER-low "
            "(1-9%), the rest ER >= 10% in steps of 5; PgR positive in 30% (ER-low) / 70% (ER >= 10%)",
            "receptors_hr_negative": "ER 0% and PgR 0%",
        },
        "dirt": _plain(spec.dirt),
        "dirt_notes": list(spec.dirt_notes),
        "followup": _plain(spec.followup),
        "sources": _plain(spec.sources),
        "assumptions": list(spec.assumptions),
        "model_assumptions": _model_assumptions(spec),
        "realised": realised_counts(spec, df),
    }
    if spec.setting == "neoadjuvant":
        d["efs_model"] = _plain(spec.efs)
        d["efs_model"]["note"] = (
            "Weibull S(t) = exp(-m * h * (t/scale)^shape) per HR group, t in months; m = hazard_multiplier x arm "
            "efs_direct_hazard_ratio; h = pcr_hr_* when the latent ypT0/is ypN0 pCR is present, else 1"
        )
        d["pathology_model"] = _plain(spec.pathology)
    else:
        d["metastatic_model"] = _plain(spec.metastatic)
    return d


def demo_truth(specs, frames, seed: int) -> dict[str, Any]:
    return {
        "about": "Ground truth of the SYNTHETIC demo studies (invented patients, calibrated to published figures).",
        "seed": seed,
        "regenerate": REGENERATE_CMD.format(seed=seed),
        "time_units": "ADaM AVAL and SDTM/NOAH date differences in days; flat files in months = days / 30.4375",
        "studies": {s.study_id: study_truth(s, frames[s.study_id], seed) for s in specs},
    }


# ---------------------------------------------------------------------- manifest
def manifest_text(spec: StudySpec, files: dict[str, bytes]) -> str:
    lines = [
        f"{spec.study_id}: SYNTHETIC demo data (invented patients, not a real trial)",
        f"calibrated to: {spec.calibrated_to}",
        f"shape: {SHAPE_DESCRIPTIONS[spec.shape]}",
        "files (name, bytes, sha256):",
    ]
    for name, data in files.items():
        lines.append(f"{name}  {len(data)}  {sha256_hex(data)}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ README
_SHAPE_SECTIONS = """\
## The three sponsor shapes

### A. CDISC ADaM, SAS transport v5 (SIM-NEOSPHERE, SIM-TRYPHAENA, SIM-CHERLOB, SIM-HERMET)

- `adsl.xpt` (ADSL), one row per randomised patient: STUDYID, USUBJID, SUBJID, ARM, ARMCD, TRT01P, ITTFL,
  AGE, SEX, MENOSTAT (`PRE`/`POST`/blank), ERPCT, PGRPCT (percent; missing = not done), HER2IHC (`0`, `1+`,
  `2+`, `3+`), HER2STN (`FAINT`/`NONE` for IHC 0 in SIM-HERMET, else blank), HER2RAT, HER2CN, CTSTAGE
  (`T1`..`T4`, `T4D`; blank in SIM-HERMET), CNSTAGE (`N0`..`N3`), GRADE (1-3 or missing), RANDDT (SAS date, DATE9).
- `adtte.xpt` (ADTTE), long: STUDYID, USUBJID, PARAMCD (`EFS`, `OS`; SIM-HERMET `PFS`, `OS`), PARAM, AVAL
  (days from randomisation), CNSR (0 event, 1 censored at last contact, 2 censored at data cut-off), EVNTDESC
  (event type, blank when censored), CNSDTDSC (`LAST KNOWN CONTACT` / `DATA CUT-OFF`, blank for events).
- `adpath.xpt` (ADPATH, neoadjuvant): STUDYID, USUBJID, PARAMCD (`YPT`, `YPN`), AVALC (`ypT0`, `ypTis`,
  `ypT1mi`..`ypT4b`, `ypN0`, `ypN0(i+)`, `ypN1mi`, `ypN1`..`ypN3`). Patients without surgery have no rows.
- `adrs.xpt` (ADRS, SIM-HERMET): STUDYID, USUBJID, PARAMCD (`BOR`, confirmed best overall response, RECIST 1.1),
  AVALC (`CR`, `PR`, `SD`, `PD`, `NE`).

### B. SDTM-like CSV (SIM-NEOALTTO, SIM-NSABPB41, SIM-GEPARSEPTO)

- `dm.csv`: STUDYID, DOMAIN (`DM`), USUBJID, SUBJID, RFSTDTC (ISO date of randomisation), ARMCD, ARM, AGE, AGEU, SEX.
- `mi.csv`: STUDYID, DOMAIN (`MI`), USUBJID, MISEQ, MITESTCD (`ER`, `PGR`, `HER2IHC`, `HER2RAT`, `HER2CN`),
  MITEST, MIORRES (text: `85%`, `<1%`, `0%`, `3+`, `2.45`, `5.1`), MIORRESU (`%`, blank, `RATIO`,
  `SIGNALS/CELL`). A result that was not obtained has no row.
- `sc.csv`: STUDYID, DOMAIN (`SC`), USUBJID, SCTESTCD (`MENOSTAT`, `CTSTAGE`, `CNSTAGE`, `GRADE`), SCORRES
  (`Premenopausal`/`Postmenopausal`, `cT2`, `cT4d`, `cN1`, `G3`).
- `pr.csv`: STUDYID, DOMAIN (`PR`), USUBJID, PRTESTCD (`YPT`, `YPN`), PRORRES (as AVALC of ADPATH).
- `ev.csv`: STUDYID, USUBJID, EVTESTCD (`EFS`, `OS`), EVSTDTC (randomisation), EVENDTC (event or last
  contact), EVSTAT (`EVENT`/`CENSORED`). EVENDTC - EVSTDTC in days equals the ADaM-style AVAL.

### C. Sponsor-specific flat files

- SIM-KRISTINE `kristine_data.xlsx`, sheet `patients`: PatID, Arm (`TCHP`, `T-DM1+P`), Age, Menopause
  (`Pre`/`Post`/blank), ER_pct and PgR_pct (`85%`, `0%`, `<1%`, `unknown`), HER2_IHC, HER2_FISH_ratio,
  HER2_copies (number or blank), cT (`cT2`), cN (`cN0`), Grade (`G1`/`G2`/`G3`/`GX`), ypT, ypN (blank without
  surgery), EFS_months, EFS_event (1/0), OS_months, OS_event.
- SIM-BUZDAR `buzdar.csv`: pt_no, trt (`C` chemotherapy, `CT` chemotherapy + trastuzumab: here T means
  trastuzumab), age, meno (`pre`/`post`), ER_STAT and PR_STAT (`Pos`/`Neg`/blank, **cut-off 10%**), her2, fish
  (ratio, 1 decimal, or blank), cT (`T2`), cN (`N1`), pCR (`Yes`/`No`/blank; ypT0/is ypN0), efs_mo,
  efs_status (`event`/`censored`), os_mo, os_status (`dead`/`alive`).
- SIM-NOAH `noah_patients.csv` (separator `;`, decimal comma): PATIENT, RANDOMISATION_ARM (`Chemotherapy`,
  `Chemotherapy + Trastuzumab`), AGE (one decimal, e.g. `47,3`), ER (`positive`/`negative`/`not done`; no
  PgR), HER2_IHC, FISH (`amplified`/`not amplified`/blank), T_STAGE (`T2`, `T3`, `T4`, `T4d`), N_STAGE,
  pCR_total (`1`/`0`/blank), DATE_RAND, DATE_EFS, EFS_EVENT, DATE_LAST_CONTACT_OR_DEATH, DEATH (dates
  `DD.MM.YYYY`, shifted per patient).
- SIM-NEOATP `neoatp.csv`: id, age, er and pr (`95%`, `95`, `0`, `0%`, blank), her2_ihc, ypT, ypN (`ypT0`
  style, blank without surgery), followup_months (EFS time), efs_event, os_event, os_months. Single arm: no arm
  column (regimen pyrotinib + trastuzumab + paclitaxel + cisplatin).
"""

_MODEL_SECTION = """\
## How the patients are generated (all studies)

- Arm sizes and HR+ counts are fixed per arm; subject numbers are shuffled across arms. The HR group is the
  generating truth: HR+ means ER >= 1% or PgR >= 1% (ER >= 1% in SIM-NOAH). HR+ patients include ER-low
  (1-9%) tumours and a few PgR-only positives; HR- patients have ER 0% and PgR 0% (written as `0%` or `<1%`).
- pCR: in each arm x HR cell of the ITT population exactly round(n x p) patients, chosen at random, reach pCR
  under the study's primary definition, p being the published (or assumed) rate. ypT/ypN are then drawn so that
  all three definitions stay coherent: some pCR patients have ypTis (DCIS), some non-pCR patients have ypT0/is
  with residual nodal disease, the rest have residual invasive disease (ypT1mi-ypT4b, ypN0-ypN3, a few
  ypN0(i+) only with invasive breast residual so that the isolated-tumour-cell convention never changes a pCR).
- EFS: Weibull by HR group without pCR (HR- exponential, 5-year EFS 67.5%; HR+ shape 1.3, 5-year EFS about 70%,
  later recurrences); a latent ypT0/is ypN0 pCR multiplies the hazard by 0.29 (HR-) or 0.52 (HR+) (Broglio
  2016, FACTS B.2). Arms act through pCR only (except SIM-NOAH, see there). OS: death after a distant
  recurrence (median 36 months) or another EFS event (median 96 months), plus age-dependent background
  mortality. Follow-up: staggered accrual, 36-96 months at the data cut-off; 5% of the patients (exact count,
  chosen at random) lost at a uniform time before it.
- Exact parameters, the calibration source of every figure and the counts realised with the seed are in
  `truth.json`.
"""


def _fmt_pct(p: float | None) -> str:
    return "-" if p is None else f"{100 * p:.1f}%"


def readme_text(specs, frames, truth: dict[str, Any], seed: int) -> str:
    out = [
        "# Demo data: SYNTHETIC trials (not real patients)",
        "",
        "Every file under this folder was produced by `her2meta.simulate` from invented patients. No row is a real",
        "person and no study is a real trial: the `SIM-` names only say which published trial a study is calibrated",
        "to. The files imitate the shapes in which sponsors deliver individual-participant data through a",
        "data-sharing platform (CDISC ADaM transport files, SDTM-like domains, sponsor spreadsheets), with the",
        "modest defects the harmonisation must handle and count.",
        "",
        "Regenerate (byte-identical; `tests/test_simulate_demo.py` checks it):",
        "",
        "```",
        REGENERATE_CMD.format(seed=seed),
        "# or, without the CLI:",
        REGENERATE_PY.format(seed=seed),
        "```",
        "",
        "Files: one folder per study (`<STUDY_ID>/`, with `MANIFEST.txt` listing sizes and SHA-256), `truth.json`",
        "(generating parameters, sources, assumptions, realised counts) and this README.",
        "",
        "| study | setting | shape | arms (N) | primary pCR |",
        "|---|---|---|---|---|",
    ]
    for s in specs:
        arms = ", ".join(f"{a.code} ({a.n})" for a in s.arms)
        out.append(
            f"| {s.study_id} | {s.setting} ({s.design}) | {s.shape} | {arms} | {s.primary_pcr_definition or '-'} |"
        )
    out += ["", _MODEL_SECTION, _SHAPE_SECTIONS, "## Studies", ""]
    for s in specs:
        t = truth["studies"][s.study_id]
        c = t["realised"]["counts_all_patients"]
        out.append(f"### {s.study_id}")
        out.append("")
        out.append(f"{s.label}. SYNTHETIC; calibrated to: **{s.calibrated_to}**.")
        out.append("")
        out.append(f"- Shape: {SHAPE_DESCRIPTIONS[s.shape]}. Files: " + ", ".join(f"`{f}`" for f in files_for(s)) + ".")
        if s.setting == "neoadjuvant":
            out.append(f"- Primary pCR definition: {s.primary_pcr_definition}. HR group basis: {s.hr_basis}.")
            out.append("")
            out.append("| arm | label | N | HR+ | pCR HR+ | pCR HR- | expected 5-y EFS (approx.) |")
            out.append("|---|---|---|---|---|---|---|")
            for a, at in zip(s.arms, t["arms"]):
                out.append(
                    f"| {a.code} | {a.label} | {a.n} | {a.n_hr_pos} | {_fmt_pct(a.pcr_hr_pos)} | "
                    f"{_fmt_pct(a.pcr_hr_neg)} | {_fmt_pct(at['expected_efs_60_months_approx'])} |"
                )
        else:
            out.append("")
            out.append("| arm | label | N | HR+ | ORR HR+ | ORR HR- | PFS median HR+ / HR- (months) |")
            out.append("|---|---|---|---|---|---|---|")
            for a in s.arms:
                out.append(
                    f"| {a.code} | {a.label} | {a.n} | {a.n_hr_pos} | {_fmt_pct(a.orr_hr_pos)} | "
                    f"{_fmt_pct(a.orr_hr_neg)} | {a.pfs_median_hr_pos} / {a.pfs_median_hr_neg} |"
                )
        out.append("")
        if s.sources:
            out.append("Calibration sources (FACTS.md rows):")
            out.append("")
            for src in s.sources:
                out.append(f"- {src.figure}: {src.value} ({src.trial}, {src.table}; FACTS {src.facts_row}; {src.url})")
            out.append("")
        out.append(
            "Assumptions (besides the shared outcome model above):" if s.setting == "neoadjuvant" else "Assumptions:"
        )
        out.append("")
        for a in s.assumptions:
            out.append(f"- {a}")
        if s.study_id == "SIM-NOAH":
            out.append(
                f"- Solved values: study hazard multiplier {s.efs.hazard_multiplier}, direct EFS hazard ratio of "
                f"trastuzumab {s.arm('CT').efs_direct_hr}."
            )
        out.append("")
        visible = VISIBLE_DIRT[s.shape]
        dirt = []
        if "pr" not in visible:
            dirt.append(f"ER not done: {c['missing_er']} (PgR is not reported)")
        else:
            dirt.append(
                f"missing ER {c['missing_er']}, missing PgR {c['missing_pr']} "
                f"(HR unknown at the 1% threshold: {c['hr_unknown_at_1pct']})"
            )
        if "er_low" in visible:
            dirt.append(f"ER-low 1-9%: {c['er_low_1_to_9pct']}")
        if "ish_unknown" in visible:
            dirt.append(f"IHC 2+ without ISH: {c['her2_2plus_ish_unknown']}")
        if "grade" in visible:
            dirt.append(f"grade missing: {c['grade_missing']}")
        if "meno" in visible:
            dirt.append(f"menopausal status missing: {c['menopause_missing']}")
        if s.setting == "neoadjuvant":
            dirt.append(f"no surgery (no ypT/ypN, pCR missing): {c['no_surgery']}")
        if c["n_not_itt"]:
            dirt.append(f"outside the ITT population (ITTFL = N): {c['n_not_itt']}")
        if s.study_id == "SIM-BUZDAR":
            dirt.append(f"HR+ at 1% but Neg/Neg at the file's 10% cut-off: {c['hr_positive_but_negative_at_10pct']}")
        if s.setting == "metastatic":
            dirt.append(
                "central HER2 re-test: IHC "
                + ", ".join(f"{k}: {v}" for k, v in c["her2_ihc"].items())
                + f" (2+ ISH-negative: {c['her2_2plus_ish_negative']}); IHC 0 staining "
                + ", ".join(f"{k}: {v}" for k, v in c["her2_ihc0_staining"].items())
            )
        out.append("Dirt (counts with this seed):")
        out.append("")
        for item in dirt:
            out.append(f"- {item}")
        for note in s.dirt_notes:
            out.append(f"- {note}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
