"""Study packages shaped as sponsors ship them, written by the tests into a temporary folder.

Each `write_*` function writes one package and returns a `Package`: its folder and the truth
known independently of the code under test (it is how the data were built, not what the
mapping step reads back). Other tests may reuse these functions; keep their names, arguments and
truth keys stable.

Conventions followed (public CDISC ones, data our own):
- ADaM: ADSL one row per subject (USUBJID, SUBJID, ITTFL, RANDDT, DTHFL, DTHDT, LSTALVDT, ARM,
  AGE); BDS datasets ADTTE (PARAMCD, AVAL in days, CNSR 0 = event, ADT, STARTDT) and ADRS
  (visit-level PARAMCD OVR with AVALC CR/PR/SD/NON-CR/NON-PD/PD/NE and ADT, plus the sponsor's
  own PARAMCD BOR); SAS transport v5 files with UPPER-CASE names (ADSL.XPT).
- SDTM: DM (DTHFL "Y" or blank, DTHDTC, RFSTDTC), SUPPDM (QNAM ITTFL, QVAL), DS (DSDECOD),
  SV (visit dates), RS (RSTESTCD OVRLRESP beside TRGRESP, RSORRES/RSSTRESC, RSDTC, VISIT);
  ISO 8601 text dates.
- A lab file (LB.csv) keyed by SUBJID, not USUBJID, with unpadded identifiers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from her2meta.simulate.deterministic import xpt_bytes

STUDY = "FIX-ADAM"
BASE_DATE = dt.date(2015, 1, 5)

# RECIST 1.1 time-point sequences (day after randomization, overall response) and the best
# overall response worked out by hand from RECIST 1.1 (Eisenhauer 2009, Table 3) with a 28-day
# confirmation interval and a 42-day minimum for SD: (sequence, confirmed, unconfirmed).
RECIST_CASES: list[tuple[list[tuple[int, str]], str | None, str | None]] = [
    ([(56, "CR"), (112, "CR")], "CR", "CR"),
    ([(56, "PR"), (84, "PR")], "PR", "PR"),  # exactly 28 days apart: confirmed
    ([(56, "PR"), (70, "PR"), (112, "PD")], "SD", "PR"),  # 14 days apart: not confirmed, SD at day 56
    ([(28, "SD"), (56, "PD")], "PD", "PD"),  # SD before day 42 does not count
    ([(49, "SD"), (98, "SD")], "SD", "SD"),
    ([(56, "PR"), (84, "SD"), (112, "PR")], "SD", "PR"),  # SD between breaks the confirmation
    ([(56, "NE"), (112, "NE")], "NE", "NE"),
    ([(56, "CR"), (70, "NE"), (98, "CR")], "CR", "CR"),  # NE between does not break it
    ([(42, "PD"), (84, "PR")], "PD", "PD"),  # after progression nothing counts
    ([(35, "PR"), (49, "CR")], "SD", "CR"),  # 14 days apart; the CR at day 49 still counts as SD
    ([(56, "CR"), (84, "PR")], "PR", "CR"),  # CR then PR 28 days later: confirmed PR
    ([(30, "SD")], "NE", "NE"),  # only an SD that is too early
    ([(56, "NON-CR/NON-PD"), (112, "NON-CR/NON-PD")], "SD", "SD"),
    ([], None, None),  # no assessment at all: no record
]


@dataclass
class Package:
    path: Path
    truth: dict[str, Any] = field(default_factory=dict)


def _xpt(path: Path, frame: pd.DataFrame, name: str, dates: tuple[str, ...] = ()) -> None:
    path.write_bytes(xpt_bytes(frame, name, variable_format={c: "DATE9." for c in dates}))


def adam_subject(i: int) -> tuple[str, str]:
    """USUBJID and SUBJID of subject i (1-based) of the ADaM package."""
    return f"{STUDY}-001-{i:04d}", f"{i:04d}"


def write_adam_package(root: Path | str, *, n: int = 42, lowercase_tte_ids: int = 0) -> Package:
    """ADaM package: ADSL.XPT, ADTTE.XPT (OS, EFS), ADRS.XPT (visit-level OVR and BOR), LB.csv.

    Subject i (1-based): ITTFL N when i % 10 == 0; RECIST case (i - 1) % len(RECIST_CASES);
    dies (OS event) when i % 3 == 0, on day 300 + i; else last known alive LSTALVDT on day
    400 + i, while the last ADRS assessment can be later (LSTALVDT is not the latest contact for
    every subject: see truth["last_alive"]). The first `lowercase_tte_ids` subjects have their
    USUBJID in lower case in ADTTE only. LB.csv holds two ER records per subject (screening day
    -20 and retest day -5), keyed by SUBJID without the leading zeros ("7" for "0007")."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    adsl, adtte, adrs, lab = [], [], [], []
    truth: dict[str, Any] = {"n": n, "itt": 0, "bor_confirmed": {}, "bor_unconfirmed": {}, "ovr_records": {},
                             "deaths": 0, "last_alive": {}, "os_days": {}, "lowercase_tte_ids": lowercase_tte_ids,
                             "er_first": {}, "er_last": {}}
    for i in range(1, n + 1):
        usubjid, subjid = adam_subject(i)
        itt = "N" if i % 10 == 0 else "Y"
        truth["itt"] += itt == "Y"
        rand = BASE_DATE + dt.timedelta(days=3 * i)
        died = i % 3 == 0
        death = rand + dt.timedelta(days=300 + i) if died else None
        alive = None if died else rand + dt.timedelta(days=400 + i)
        truth["deaths"] += died
        sequence, confirmed, unconfirmed = RECIST_CASES[(i - 1) % len(RECIST_CASES)]
        truth["bor_confirmed"][usubjid] = confirmed
        truth["bor_unconfirmed"][usubjid] = unconfirmed
        truth["ovr_records"][usubjid] = len(sequence)
        adsl.append({"STUDYID": STUDY, "USUBJID": usubjid, "SUBJID": subjid, "ITTFL": itt, "ARM": "Trastuzumab + Docetaxel",
                     "AGE": float(40 + i % 30), "RANDDT": rand, "DTHFL": "Y" if died else "", "DTHDT": death,
                     "LSTALVDT": alive})
        last_visit = rand + dt.timedelta(days=max([d for d, _ in sequence], default=0))
        known = [d for d in (death, alive, last_visit if sequence else None) if d is not None]
        truth["last_alive"][usubjid] = max(known).isoformat()
        tte_id = usubjid.lower() if i <= lowercase_tte_ids else usubjid
        os_days = (death or alive) - rand
        truth["os_days"][usubjid] = os_days.days
        adtte.append({"STUDYID": STUDY, "USUBJID": tte_id, "PARAMCD": "OS", "PARAM": "Overall survival",
                      "AVAL": float(os_days.days), "CNSR": 0.0 if died else 1.0, "STARTDT": rand, "ADT": death or alive})
        adtte.append({"STUDYID": STUDY, "USUBJID": tte_id, "PARAMCD": "EFS", "PARAM": "Event-free survival",
                      "AVAL": float(200 + i), "CNSR": float(i % 2), "STARTDT": rand, "ADT": rand + dt.timedelta(days=200 + i)})
        # visit-level records, written latest first for half of the subjects: the order in the file means nothing
        records = [{"STUDYID": STUDY, "USUBJID": usubjid, "PARAMCD": "OVR", "PARAM": "Overall response by investigator",
                    "AVALC": response, "ADT": rand + dt.timedelta(days=day), "AVISIT": f"WEEK {day // 7}", "RANDDT": rand}
                   for day, response in sequence]
        adrs.extend(reversed(records) if i % 2 else records)
        if confirmed is not None:
            adrs.append({"STUDYID": STUDY, "USUBJID": usubjid, "PARAMCD": "BOR", "PARAM": "Best confirmed overall response",
                         "AVALC": confirmed, "ADT": None, "AVISIT": "", "RANDDT": rand})
        first_er, retest_er = float(i % 7 * 10), float(i % 5 * 10)
        truth["er_first"][usubjid], truth["er_last"][usubjid] = first_er, retest_er
        lab.append({"SUBJID": str(i), "LBTESTCD": "ER", "LBORRES": f"{first_er:g}", "LBDTC": (rand - dt.timedelta(days=20)).isoformat()})
        lab.append({"SUBJID": str(i), "LBTESTCD": "ER", "LBORRES": f"{retest_er:g}", "LBDTC": (rand - dt.timedelta(days=5)).isoformat()})
    _xpt(root / "ADSL.XPT", pd.DataFrame(adsl), "ADSL", ("RANDDT", "DTHDT", "LSTALVDT"))
    _xpt(root / "ADTTE.XPT", pd.DataFrame(adtte), "ADTTE", ("STARTDT", "ADT"))
    _xpt(root / "ADRS.XPT", pd.DataFrame(adrs), "ADRS", ("ADT", "RANDDT"))
    pd.DataFrame(lab).to_csv(root / "LB.csv", index=False)
    return Package(root, truth)


def write_sdtm_package(root: Path | str, *, n: int = 254, deaths: int = 3) -> Package:
    """SDTM package: DM.XPT, SUPPDM.XPT, DS.XPT, SV.XPT, RS.XPT (ISO 8601 text dates).

    DTHFL is "Y" for the first `deaths` subjects and blank for the others (as SDTM ships it).
    SUPPDM holds QNAM ITTFL: "N" when i % 25 == 0, and no ITTFL record at all when i % 50 == 1.
    Each subject has 3 SV visits (days 0, 60, 120 + i); RS has OVRLRESP (RSSTRESC) records from
    RECIST_CASES and a TRGRESP record at each assessment (not an overall response)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    dm, supp, ds, sv, rs = [], [], [], [], []
    truth: dict[str, Any] = {"n": n, "deaths": deaths, "itt_y": 0, "itt_n": 0, "itt_absent": 0, "last_contact": {},
                             "death_date": {}, "bor_confirmed": {}, "rs_overall_records": 0}
    for i in range(1, n + 1):
        usubjid = f"FIX-SDTM-{i:03d}"
        start = BASE_DATE + dt.timedelta(days=i)
        died = i <= deaths
        death = start + dt.timedelta(days=150 + i) if died else None
        dm.append({"STUDYID": "FIX-SDTM", "DOMAIN": "DM", "USUBJID": usubjid, "SUBJID": f"{i:03d}",
                   "RFSTDTC": start.isoformat(), "DTHDTC": death.isoformat() if died else "", "DTHFL": "Y" if died else "",
                   "ARM": "Pertuzumab + Trastuzumab + Docetaxel", "AGE": float(35 + i % 40)})
        if i % 50 == 1:
            truth["itt_absent"] += 1
        else:
            flag = "N" if i % 25 == 0 else "Y"
            truth["itt_y" if flag == "Y" else "itt_n"] += 1
            supp.append({"STUDYID": "FIX-SDTM", "RDOMAIN": "DM", "USUBJID": usubjid, "QNAM": "ITTFL",
                         "QLABEL": "Intent-to-treat population flag", "QVAL": flag})
        visits = [start + dt.timedelta(days=d) for d in (0, 60, 120 + i)]
        for number, day in enumerate(visits, start=1):
            sv.append({"STUDYID": "FIX-SDTM", "USUBJID": usubjid, "VISITNUM": float(number), "SVSTDTC": day.isoformat()})
        truth["last_contact"][usubjid] = visits[-1].isoformat()
        ds.append({"STUDYID": "FIX-SDTM", "USUBJID": usubjid, "DSDECOD": "RANDOMIZED", "DSSTDTC": start.isoformat()})
        if died:
            ds.append({"STUDYID": "FIX-SDTM", "USUBJID": usubjid, "DSDECOD": "DEATH", "DSSTDTC": death.isoformat()})
            truth["death_date"][usubjid] = death.isoformat()
        sequence, confirmed, _ = RECIST_CASES[(i - 1) % len(RECIST_CASES)]
        truth["bor_confirmed"][usubjid] = confirmed
        for visit, (day, response) in enumerate(sequence, start=1):
            when = (start + dt.timedelta(days=day)).isoformat()
            original = {"NON-CR/NON-PD": "Non-CR/Non-PD"}.get(response, response)
            rs.append({"STUDYID": "FIX-SDTM", "DOMAIN": "RS", "USUBJID": usubjid, "RSTESTCD": "OVRLRESP",
                       "RSTEST": "Overall Response", "RSORRES": original, "RSSTRESC": response, "RSEVAL": "INVESTIGATOR",
                       "VISITNUM": float(visit + 1), "VISIT": f"CYCLE {visit * 2}", "RSDTC": when})
            rs.append({"STUDYID": "FIX-SDTM", "DOMAIN": "RS", "USUBJID": usubjid, "RSTESTCD": "TRGRESP",
                       "RSTEST": "Target Response", "RSORRES": response, "RSSTRESC": response, "RSEVAL": "INVESTIGATOR",
                       "VISITNUM": float(visit + 1), "VISIT": f"CYCLE {visit * 2}", "RSDTC": when})
            truth["rs_overall_records"] += 1
    _xpt(root / "DM.XPT", pd.DataFrame(dm), "DM")
    _xpt(root / "SUPPDM.XPT", pd.DataFrame(supp), "SUPPDM")
    _xpt(root / "DS.XPT", pd.DataFrame(ds), "DS")
    _xpt(root / "SV.XPT", pd.DataFrame(sv), "SV")
    _xpt(root / "RS.XPT", pd.DataFrame(rs), "RS")
    return Package(root, truth)


SAS7BDAT_FIXTURE = Path(__file__).parent / "fixtures" / "adsl_small.sas7bdat"


def sas7bdat_truth() -> dict[str, Any]:
    """What tests/fixtures/adsl_small.sas7bdat holds: ADSL of write_adam_package(n=12)
    (tests/fixtures/make_sas7bdat.py converted it with the ReadStat command-line tool)."""
    return {"n": 12, "itt": 11, "usubjid": [adam_subject(i)[0] for i in range(1, 13)],
            "age": {adam_subject(i)[0]: float(40 + i % 30) for i in range(1, 13)}}
