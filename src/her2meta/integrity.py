"""Data integrity checks (PRISMA-IPD): IPD-derived figures against the published ones.

For each included IPD study, the number of patients in the harmonized data (randomized or
enrolled: the population after the mapping's filters, e.g. ITT), the number per arm and the
pCR rate per arm under the study's own primary pCR definition are set beside the figures
recorded in the study sheet (`published_n`, `published_pcr_by_arm` as "arm=percent;...").
A difference beyond the configured tolerance is flagged; the report shows every row.

The output table (results/tables/integrity.tsv) is aggregate and belongs to the release zone:
counts of people below the minimum cell count are shown as "<min" (Safe Outputs), and a pCR
percentage that would reveal such a count is withheld (the comparison itself still runs, on
the unsuppressed numbers, and its verdict is shown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

#: Study sheet primary_pcr_definition -> harmonized pCR field.
PCR_FIELD = {"ypT0/is ypN0": "pcr_ypt0is_ypn0", "ypT0 ypN0": "pcr_ypt0_ypn0", "ypT0/is": "pcr_breast"}

#: Columns of results/tables/integrity.tsv, in order.
COLUMNS = [
    "study_id", "label", "arm", "check", "n_ipd", "published_n", "n_difference", "pcr_definition", "pcr_denominator",
    "pcr_n", "pcr_events", "pcr_missing_n", "pcr_percent", "published_pcr_percent", "pcr_difference_points",
    "status", "flag", "note",
]

#: Status values. `flag` is true for DIFFERS, ARM_NOT_IN_IPD and FAILED.
OK, DIFFERS, NOT_PUBLISHED, ARM_NOT_IN_IPD, NO_PCR, NO_IPD, FAILED, SUPPRESSED = (
    "ok", "differs", "not published", "arm not in IPD", "no pCR definition", "no IPD", "study failed", "suppressed")
FLAGGED = (DIFFERS, ARM_NOT_IN_IPD, FAILED)
ALL_ARMS = "all"


@dataclass(frozen=True)
class Tolerance:
    """pcr_points: largest accepted |IPD - published| pCR difference, percentage points.
    n_percent: largest accepted |IPD - published| patient count difference, percent of published
    (0: the counts must agree exactly). pcr_denominator: `itt` (every patient of the arm; pCR not
    recorded counts as no pCR, as trials usually report) or `assessed` (patients with pCR recorded)."""

    pcr_points: float = 5.0
    n_percent: float = 0.0
    pcr_denominator: str = "itt"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Tolerance":
        section = dict(config.get("integrity", {}) or {})
        return cls(pcr_points=float(section.get("pcr_tolerance_points", 5)),
                   n_percent=float(section.get("n_tolerance_percent", 0)),
                   pcr_denominator=str(section.get("pcr_denominator", "itt")))

    def __post_init__(self):
        if self.pcr_denominator not in ("itt", "assessed"):
            raise ValueError(f"integrity.pcr_denominator must be 'itt' or 'assessed', got {self.pcr_denominator!r}")
        if self.pcr_points < 0 or self.n_percent < 0:
            raise ValueError("integrity tolerances must be >= 0")


def parse_published_pcr(text: str | None) -> dict[str, float]:
    """'TH=29;THP=46' -> {'TH': 29.0, 'THP': 46.0}, in the order given. Empty -> {}."""
    out: dict[str, float] = {}
    if not text or not str(text).strip():
        return out
    for pair in str(text).split(";"):
        if not pair.strip():
            continue
        arm, sep, value = pair.rpartition("=")
        if not sep or not arm.strip():
            raise ValueError(f"published_pcr_by_arm: {pair!r} is not arm=percent")
        out[arm.strip()] = float(value)
    return out


def small(count: int | None, min_count: int) -> str | int | None:
    """A count of people for a release-zone table: below min_count (and above 0) as '<min'."""
    if count is None:
        return None
    count = int(count)
    return f"<{min_count}" if 0 < count < min_count else count


def _n_status(n_ipd: int, published: int | None, tolerance: Tolerance) -> tuple[str, int | None]:
    if published is None:
        return NOT_PUBLISHED, None
    diff = n_ipd - int(published)
    allowed = tolerance.n_percent / 100 * int(published)
    return (OK if abs(diff) <= allowed + 1e-9 else DIFFERS), diff


def study_checks(data: pd.DataFrame, study: Mapping[str, Any], tolerance: Tolerance, min_count: int = 5) -> list[dict[str, Any]]:
    """Rows of the integrity table for one IPD study (harmonized data of that study)."""
    sid, label = study["study_id"], study.get("label", study["study_id"])
    published_n = study.get("published_n")
    n_ipd = int(len(data))
    status, diff = _n_status(n_ipd, published_n, tolerance)
    rows = [_row(sid, label, ALL_ARMS, "patients", n_ipd=n_ipd, published_n=published_n, n_difference=diff,
                 status=status, note="" if published_n is not None else "published_n not in the study sheet")]

    definition = study.get("primary_pcr_definition")
    field = PCR_FIELD.get(definition or "")
    published = parse_published_pcr(study.get("published_pcr_by_arm"))
    arms = data["arm"].astype("string").fillna("(no arm)") if "arm" in data else pd.Series(["(no arm)"] * n_ipd, dtype="string")
    ipd_arms = list(dict.fromkeys(arms.tolist()))
    order = [a for a in published if a in ipd_arms] + sorted(a for a in ipd_arms if a not in published)
    for arm in order:
        sub = data[(arms == arm).to_numpy()]
        n_arm = int(len(sub))
        row = _row(sid, label, arm, "arm", n_ipd=n_arm)
        if field is None or field not in sub:
            row.update(status=NO_PCR, note="no primary pCR definition in the study sheet" if field is None
                       else f"{field} not in the harmonized data")
            rows.append(row)
            continue
        values = sub[field]
        events = int((values == True).sum())  # noqa: E712 (nullable boolean)
        missing = int(values.isna().sum())
        denominator = n_arm if tolerance.pcr_denominator == "itt" else n_arm - missing
        percent = 100 * events / denominator if denominator else math.nan
        row.update(pcr_definition=definition, pcr_denominator=tolerance.pcr_denominator, pcr_n=denominator,
                   pcr_events=events, pcr_missing_n=missing, pcr_percent=_round(percent))
        if arm in published:
            difference = percent - published[arm]
            row.update(published_pcr_percent=published[arm], pcr_difference_points=_round(difference),
                       status=OK if math.isfinite(difference) and abs(difference) <= tolerance.pcr_points + 1e-9 else DIFFERS)
        else:
            row.update(status=NOT_PUBLISHED, note="arm not in published_pcr_by_arm" if published else "")
        rows.append(_suppress(row, min_count))
    for arm in published:
        if arm not in ipd_arms:
            rows.append(_row(sid, label, arm, "arm", published_pcr_percent=published[arm], status=ARM_NOT_IN_IPD,
                             note=f"published arm {arm!r} matches no harmonized arm ({', '.join(ipd_arms)})"))
    rows[0]["n_ipd"] = small(rows[0]["n_ipd"], min_count)
    for row in rows:
        row["flag"] = row["status"] in FLAGGED
    return rows


def _round(value: float) -> float | None:
    return round(value, 1) + 0.0 if value is not None and math.isfinite(value) else None  # + 0.0: no -0.0


def _row(study_id: str, label: str, arm: str, check: str, **values: Any) -> dict[str, Any]:
    row = {c: None for c in COLUMNS}
    row.update(study_id=study_id, label=label, arm=arm, check=check, status="", flag=False, note="")
    row.update(values)
    return row


def _suppress(row: dict[str, Any], min_count: int) -> dict[str, Any]:
    """Counts of people below min_count -> '<min'; a percentage revealing one is withheld."""
    events, denominator = row["pcr_events"], row["pcr_n"]
    reveals = any(0 < c < min_count for c in (events, denominator - events, denominator) if c is not None)
    row["n_ipd"] = small(row["n_ipd"], min_count)
    row["pcr_n"] = small(denominator, min_count)
    row["pcr_missing_n"] = small(row["pcr_missing_n"], min_count)
    if reveals:
        row["pcr_events"] = f"<{min_count}" if 0 < events < min_count else SUPPRESSED
        row["pcr_percent"] = None
        row["pcr_difference_points"] = None
        row["note"] = (row["note"] + "; " if row["note"] else "") + f"counts below {min_count} suppressed"
    return row


def aggregate_row(study: Mapping[str, Any]) -> dict[str, Any]:
    """An included aggregate-data study: nothing to check against."""
    return _row(study["study_id"], study.get("label", study["study_id"]), ALL_ARMS, "patients",
                published_n=study.get("published_n"), status=NO_IPD, note="published figures used; no IPD to check")


def failed_row(study: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """An included IPD study that failed under --keep-going: nothing to check, and that is an issue."""
    return _row(study["study_id"], study.get("label", study["study_id"]), ALL_ARMS, "patients",
                published_n=study.get("published_n"), status=FAILED, flag=True, note=reason)


def integrity_table(studies: Sequence[Mapping[str, Any]], data: Mapping[str, pd.DataFrame], tolerance: Tolerance,
                    min_count: int = 5, failed: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The integrity table for the included studies, in study-sheet order. `failed`: study_id ->
    reason, for studies whose data could not be used (their harmonized data are empty)."""
    rows: list[dict[str, Any]] = []
    failed = dict(failed or {})
    for study in studies:
        if not study.get("include", True):
            continue
        if study["study_id"] in failed:
            rows.append(failed_row(study, failed[study["study_id"]]))
        elif study["data_source"] == "ipd":
            if study["study_id"] not in data:
                raise ValueError(f"integrity: no harmonized data for included IPD study {study['study_id']}")
            rows += study_checks(data[study["study_id"]], study, tolerance, min_count)
        else:
            rows.append(aggregate_row(study))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"flag": bool})


# -- report ----------------------------------------------------------------------------------------

def _signed(value: Any, digits: int = 1) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{float(value):+.{digits}f}"
    return text[1:] if float(text) == 0 else text  # no sign on zero


def read_integrity(path: Path | str) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=[]).replace({"NA": ""})


def report_context(path: Path | str, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Render context of templates/_integrity.html (the `integrity` key) from integrity.tsv;
    `config` (the workflow configuration) supplies the tolerances shown in the text."""
    tolerance = Tolerance.from_config(config or {})
    frame = read_integrity(path)
    studies = []
    for study_id, group in frame.groupby("study_id", sort=False):
        rows = [_report_row(rec) for rec in group.to_dict(orient="records")]
        studies.append({"study_id": study_id, "label": group["label"].iloc[0], "rows": rows,
                        "flagged": sum(r["flag"] for r in rows)})
    return {
        "studies": studies,
        "flagged": sum(s["flagged"] for s in studies),
        "compared": sum(1 for s in studies for r in s["rows"] if r["status"] in (OK, DIFFERS, ARM_NOT_IN_IPD)),
        "pcr_tolerance_points": f"{tolerance.pcr_points:g}",
        "n_tolerance_percent": f"{tolerance.n_percent:g}",
        "pcr_denominator": tolerance.pcr_denominator,
    }


def _report_row(rec: Mapping[str, str]) -> dict[str, Any]:
    patients = rec["check"] == "patients"
    notes = [rec["note"]] if rec["note"] else []
    if patients:
        what, ipd, published, difference = "patients", rec["n_ipd"], rec["published_n"], _signed(rec["n_difference"], 0)
    elif not rec["pcr_definition"]:
        what, ipd, published, difference = "patients in arm", rec["n_ipd"], "", ""
    else:
        what = f"pCR ({rec['pcr_definition']})"
        if rec["pcr_percent"]:
            ipd = f"{float(rec['pcr_percent']):.1f}% ({rec['pcr_events']} of {rec['pcr_n']})"
        elif rec["pcr_events"] == SUPPRESSED:
            ipd = f"withheld (of {rec['pcr_n']})"
        elif rec["pcr_n"]:
            ipd = f"{rec['pcr_events']} of {rec['pcr_n']}"
        else:
            ipd = ""
        published = f"{float(rec['published_pcr_percent']):g}%" if rec["published_pcr_percent"] else ""
        difference = _signed(rec["pcr_difference_points"], 1)
        missing = rec["pcr_missing_n"]
        if missing and missing != "0":
            notes.append(f"pCR not recorded for {missing}"
                         + (", counted as no pCR" if rec["pcr_denominator"] == "itt" else ", left out of the denominator"))
    return {"arm": "all arms" if patients else rec["arm"], "what": what, "ipd": ipd, "published": published or "",
            "difference": difference, "status": rec["status"], "flag": rec["flag"].lower() == "true",
            "note": "; ".join(notes)}
