"""Baseline characteristics by HR status (the usual Table 1), per study and overall.

Columns: HR-positive, HR-negative, HR unknown and all patients; rows: N, age (median and
interquartile range), menopausal status, clinical T and N stage, histological grade, ER-low
(ER 1-10%), HER2 IHC score and the anti-HER2 regimen class, each with a "not recorded" row when
any value is missing. Percentages are of the column's patients (missing values included).

The table is aggregate and belongs to the release zone (results/tables/baseline.tsv). Safe
Outputs: a count of people from 1 to min_count - 1 is shown as "<min_count" without a
percentage, and an age median from fewer than min_count patients is not shown.

Layout of baseline.tsv (wide, so its length does not grow with the number of studies): one row
per characteristic and level (`characteristic`, `level`, `statistic`), then one column per scope
and HR group, named `<scope>.<group>`: scope `overall` or a study_id, group `hr_positive`,
`hr_negative`, `hr_unknown` or `all`. Cells are formatted text ("123 (45.6%)", "<5", "0",
"50 (43-57)").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

GROUPS = [("hr_positive", "HR+", "positive"), ("hr_negative", "HR-", "negative"), ("hr_unknown", "HR unknown", "unknown"),
          ("all", "All", None)]
OVERALL = "overall"
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Characteristic:
    """One block of the table: a categorical field with its levels (value -> label; several
    values may share a label), a yes/no field (count of yes), or a continuous field (median, IQR)."""

    title: str
    field: str
    kind: str  # categorical | flag | continuous
    levels: tuple[tuple[Any, str], ...] = ()
    flag_label: str = ""


CHARACTERISTICS: tuple[Characteristic, ...] = (
    Characteristic("Age, years", "age_years", "continuous"),
    Characteristic("Menopausal status", "menopausal_status", "categorical",
                   (("pre", "premenopausal"), ("post", "postmenopausal"), ("unknown", NOT_RECORDED))),
    Characteristic("Clinical T stage", "ct_stage", "categorical",
                   (("T0", "T0"), ("T1", "T1"), ("T2", "T2"), ("T3", "T3"), ("T4", "T4 (a-c or unspecified)"),
                    ("T4a", "T4 (a-c or unspecified)"), ("T4b", "T4 (a-c or unspecified)"), ("T4c", "T4 (a-c or unspecified)"),
                    ("T4d", "T4d (inflammatory)"), ("TX", "TX"))),
    Characteristic("Clinical N stage", "cn_stage", "categorical",
                   (("N0", "N0"), ("N1", "N1"), ("N2", "N2"), ("N3", "N3"), ("NX", "NX"))),
    Characteristic("Histological grade", "grade", "categorical", ((1, "1"), (2, "2"), (3, "3"))),
    Characteristic("ER-low (ER 1-10%)", "er_low", "flag", flag_label="ER-low"),
    Characteristic("HER2 IHC score", "her2_ihc", "categorical", (("0", "0"), ("1+", "1+"), ("2+", "2+"), ("3+", "3+"))),
    Characteristic("Anti-HER2 regimen class", "regimen_class", "categorical",
                   (("none", "none (chemotherapy only)"), ("trastuzumab", "trastuzumab"), ("pertuzumab", "pertuzumab"),
                    ("dual_mab", "trastuzumab + pertuzumab"), ("mab_tki", "antibody + TKI"), ("tki", "TKI"),
                    ("adc", "antibody-drug conjugate"), ("adc_mab", "ADC + antibody"), ("other_her2", "other anti-HER2"))),
)


def fmt_count(count: int, total: int, min_count: int) -> str:
    """'n (p%)'; 0 as '0'; 1 to min_count - 1 as '<min_count' (no percentage)."""
    count = int(count)
    if count == 0:
        return "0"
    if count < min_count:
        return f"<{min_count}"
    return f"{count} ({100 * count / total:.1f}%)" if total else str(count)


def fmt_n(count: int, min_count: int) -> str:
    count = int(count)
    return f"<{min_count}" if 0 < count < min_count else str(count)


def _fmt_num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def fmt_median_iqr(values: pd.Series, min_count: int) -> str:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if len(values) == 0:
        return ""
    if len(values) < min_count:
        return f"n <{min_count}"
    q1, med, q3 = values.quantile([0.25, 0.5, 0.75]).tolist()
    return f"{_fmt_num(med)} ({_fmt_num(q1)}-{_fmt_num(q3)})"


def _hr(frame: pd.DataFrame) -> pd.Series:
    if "hr_status" not in frame:
        return pd.Series("unknown", index=frame.index, dtype="object")
    hr = frame["hr_status"].astype("object").where(frame["hr_status"].notna(), "unknown")
    return hr.where(hr.isin(["positive", "negative"]), "unknown")


def _labels(spec: Characteristic, frame: pd.DataFrame) -> pd.Series:
    """The level label of every patient for one characteristic (None: counted in no level)."""
    if spec.field not in frame:
        return pd.Series(NOT_RECORDED, index=frame.index, dtype="object")
    column = frame[spec.field]
    missing = column.isna().to_numpy()
    if spec.kind == "continuous":
        out = pd.Series("median (IQR)", index=frame.index, dtype="object")
    elif spec.kind == "flag":
        yes = (column == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712 (nullable boolean)
        out = pd.Series([spec.flag_label if y else None for y in yes], index=frame.index, dtype="object")
    else:
        mapping = {str(value): label for value, label in spec.levels}
        out = column.astype("string").map(lambda v: mapping.get(str(v), "other")).astype("object")
    out[missing] = NOT_RECORDED
    return out


def scope_counts(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """(characteristic, level) -> {group: count, or the ages for a median row} for one scope."""
    group_of = {value: key for key, _, value in GROUPS if value is not None}
    keys = _hr(frame).map(group_of).to_numpy(dtype=object)
    tally = Counter(keys.tolist())
    out: dict[tuple[str, str], dict[str, Any]] = {("N", "patients"): {k: tally.get(k, 0) for k, _, v in GROUPS if v}}
    out[("N", "patients")]["all"] = len(frame)
    for spec in CHARACTERISTICS:
        labels = _labels(spec, frame).to_numpy(dtype=object)
        if spec.kind == "continuous":
            values = pd.to_numeric(frame[spec.field], errors="coerce").to_numpy(dtype=float) if spec.field in frame else None
            cell = out.setdefault((spec.title, "median (IQR)"), {})
            if values is not None:
                for key, _, value in GROUPS:
                    cell[key] = pd.Series(values[keys == key] if value else values)
            labels = np.where(labels == NOT_RECORDED, NOT_RECORDED, None)
        pairs = Counter(zip(labels.tolist(), keys.tolist()))
        for label in dict.fromkeys(label for label, _ in pairs if label is not None):
            cell = out.setdefault((spec.title, label), {})
            for key, _, value in GROUPS:
                cell[key] = pairs.get((label, key), 0) if value else sum(pairs.get((label, k), 0) for k in group_of.values())
    return out


def baseline_table(data: Mapping[str, pd.DataFrame], min_count: int = 5) -> pd.DataFrame:
    """The wide baseline table: `data` maps study_id -> harmonized data (in display order)."""
    scopes = [(OVERALL, pd.concat(list(data.values()), ignore_index=True) if data else pd.DataFrame({"hr_status": []}))]
    scopes += list(data.items())
    counts = {scope: scope_counts(frame) for scope, frame in scopes}
    totals = {scope: counts[scope][("N", "patients")] for scope in counts}
    # Row order: N, then each characteristic's levels in spec order; a level is kept when any
    # scope has a patient in it.
    keys: list[tuple[str, str]] = [("N", "patients")]
    for spec in CHARACTERISTICS:
        labels = list(dict.fromkeys(label for scope in counts for (title, label) in counts[scope] if title == spec.title))
        order = [lab for _, lab in spec.levels] + ([spec.flag_label] if spec.kind == "flag" else []) \
            + (["median (IQR)"] if spec.kind == "continuous" else []) + ["other", NOT_RECORDED]
        labels.sort(key=lambda lab: order.index(lab) if lab in order else len(order))
        for label in labels:
            cells = [counts[scope].get((spec.title, label), {}) for scope in counts]
            used = any(isinstance(v, pd.Series) and len(v) for c in cells for v in c.values()) or \
                any(isinstance(v, int) and v > 0 for c in cells for v in c.values())
            if used:
                keys.append((spec.title, label))
    kinds = {spec.title: spec.kind for spec in CHARACTERISTICS}
    rows = []
    for title, label in keys:
        statistic = "n" if title == "N" else ("median (IQR)" if label == "median (IQR)" else "n (%)")
        row: dict[str, Any] = {"characteristic": title, "level": label, "statistic": statistic}
        for scope in counts:
            cell = counts[scope].get((title, label), {})
            for key, _, _ in GROUPS:
                value = cell.get(key, 0)
                total = totals[scope].get(key, 0)
                if title == "N":
                    text = fmt_n(value, min_count)
                elif kinds.get(title) == "continuous" and label != NOT_RECORDED:
                    text = fmt_median_iqr(value, min_count) if isinstance(value, pd.Series) else ""
                else:
                    text = fmt_count(value, total, min_count)
                row[f"{scope}.{key}"] = text
        rows.append(row)
    return pd.DataFrame(rows)


# -- report ----------------------------------------------------------------------------------------

def read_baseline(path: Path | str) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=[])


def report_context(path: Path | str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Render context of templates/_baseline.html (the `baseline` key) from baseline.tsv.

    labels: study_id -> display label (the study sheet's `label`)."""
    frame = read_baseline(path)
    labels = dict(labels or {})
    scopes = list(dict.fromkeys(c.rsplit(".", 1)[0] for c in frame.columns if "." in c))
    tables = []
    for scope in scopes:
        rows, previous = [], None
        for rec in frame.to_dict(orient="records"):
            cells = [rec.get(f"{scope}.{key}", "") for key, _, _ in GROUPS]
            if scope != OVERALL and rec["characteristic"] != "N" and all(c in ("", "0") for c in cells):
                continue  # a level no patient of this study has
            rows.append({"characteristic": rec["characteristic"] if rec["characteristic"] != previous else "",
                         "level": rec["level"], "statistic": rec["statistic"], "cells": cells,
                         "first": rec["characteristic"] != previous})
            previous = rec["characteristic"]
        tables.append({"scope": scope, "label": "All studies with IPD" if scope == OVERALL else labels.get(scope, scope),
                       "rows": rows})
    return {"headers": [header for _, header, _ in GROUPS], "overall": tables[0] if tables else None,
            "studies": tables[1:]}


def labels_from_studies(studies: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {s["study_id"]: s.get("label", s["study_id"]) for s in studies}
