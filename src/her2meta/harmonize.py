"""Harmonization: from an extracted study (harmonized field names, source values) to the
harmonized data model, with every derivation counted in a QC record.

Derivations (rules in docs/methods/derivations.md):
- ER/PR status from percentages with the configured threshold; from the source's own
  categories only where no percentage exists (flagged in hr_status_source, cut-off recorded);
- HR status, ER-low; HER2 ISH group and HER2 category (ASCO/CAP 2018/2023, low/ultralow/null);
- regimen, anti-HER2 agents, regimen class and backbone flags from the drug dictionary;
- the three pCR variants from ypT/ypN (or the source's own pCR flag, one definition only);
- objective response from the confirmed best overall response.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import dictionary as dct
from .errors import StudyDataError
from .schemas import field_kind, harmonized_fields

PCR_FIELDS = ["pcr_ypt0is_ypn0", "pcr_ypt0_ypn0", "pcr_breast"]
PCR_DEFINITION_FIELD = {"ypT0/is ypN0": "pcr_ypt0is_ypn0", "ypT0 ypN0": "pcr_ypt0_ypn0", "ypT0/is": "pcr_breast"}
TIME_EVENT_PAIRS = [("efs_months", "efs_event"), ("os_months", "os_event"), ("idfs_months", "idfs_event"), ("pfs_months", "pfs_event")]


def harmonize_study(
    extracted: pd.DataFrame,
    *,
    study: dict[str, Any],
    abbreviations: dict[str, str] | None = None,
    receptor_cutoff: float | None = None,
    hr_threshold: float = 1.0,
    itc_is_pcr: bool = False,
    source_file: str = "(extracted data)",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return the harmonized table (one row per patient, model column order) and its QC record."""
    sid = study["study_id"]
    data = extracted.copy()
    qc: dict[str, Any] = {"study_id": sid, "rows_in": len(data), "derivations": {}, "warnings": []}

    def guarded(step, func):
        try:
            return func()
        except dct.DerivationError as exc:
            raise StudyDataError(sid, str(exc), file=source_file, field=getattr(exc, "field", step),
                                 hint="correct the code map in the study's mapping, or the source") from exc

    if "setting" not in data:
        data["setting"] = study["setting"]
    guarded("receptors", lambda: _receptors(data, hr_threshold, receptor_cutoff, qc))
    guarded("her2", lambda: _her2(data, qc))
    guarded("regimen", lambda: _regimen(data, abbreviations or {}, qc))
    guarded("pcr", lambda: _pcr(data, study, itc_is_pcr, qc))
    guarded("response", lambda: _response(data, qc))
    _check_times(data, sid, source_file, qc)

    harmonized = _conform(data, sid, source_file)
    qc["rows_out"] = len(harmonized)
    qc["missing"] = {name: int(harmonized[name].isna().sum()) for name in harmonized.columns if harmonized[name].isna().any()}
    qc["counts"] = {
        name: {str(k): int(v) for k, v in harmonized[name].value_counts(dropna=False).sort_index().items()}
        for name in ("hr_status", "hr_status_source", "her2_status", "regimen_class", "pcr_source")
    }
    return harmonized, qc


def _receptors(data: pd.DataFrame, threshold: float, cutoff: float | None, qc: dict) -> None:
    sources = {}
    for receptor in ("er", "pr"):
        percent = data.get(f"{receptor}_percent")
        category = data.get(f"{receptor}_status")
        from_percent = (
            dct.receptor_status_from_percent(percent, threshold=threshold)
            if percent is not None
            else pd.Series("unknown", index=data.index)
        )
        status = from_percent.copy()
        used_category = pd.Series(False, index=data.index)
        if category is not None:
            category = category.fillna("unknown")
            bad = ~category.isin(["positive", "negative", "unknown"])
            if bad.any():
                raise dct.DerivationError(f"{receptor}_status", sorted(category[bad].unique()), int(bad.sum()),
                                          "map the source categories to positive / negative / unknown under `codes:`")
            use = (status == "unknown") & (category != "unknown")
            status = status.where(~use, category)
            used_category = use
        data[f"{receptor}_status"] = status
        sources[receptor] = used_category
    data["er_low"] = dct.er_low(data["er_percent"]) if "er_percent" in data else pd.Series(pd.NA, index=data.index, dtype="boolean")
    data["hr_status"] = dct.hr_status(data["er_status"], data["pr_status"])
    from_category = sources["er"] | sources["pr"]
    data["hr_status_source"] = np.where(data["hr_status"] == "unknown", "unknown", np.where(from_category, "category", "percent"))
    n_cat = int((from_category & (data["hr_status"] != "unknown")).sum())
    qc["derivations"]["hr_status"] = {
        "threshold_percent": threshold,
        "from_percent": int((data["hr_status_source"] == "percent").sum()),
        "from_source_category": n_cat,
        "source_category_cutoff_percent": cutoff,
        "unknown": int((data["hr_status"] == "unknown").sum()),
    }
    if n_cat and cutoff is not None and cutoff != threshold:
        qc["warnings"].append(
            f"{n_cat} patients' HR status comes from the sponsor's categories, made with a {cutoff:g}% cut-off "
            f"(the analysis threshold is {threshold:g}%); taken as given"
        )


def _her2(data: pd.DataFrame, qc: dict) -> None:
    ihc = dct.normalize_ihc(data["her2_ihc"]) if "her2_ihc" in data else pd.Series(None, index=data.index, dtype=object)
    data["her2_ihc"] = ihc
    ratio = data.get("her2_ish_ratio", pd.Series(np.nan, index=data.index))
    copies = data.get("her2_ish_copy_number", pd.Series(np.nan, index=data.index))
    data["her2_ish_group"] = dct.ish_group(ratio, copies)
    staining = data.get("her2_ihc0_staining")
    status = dct.her2_status(ihc, data["her2_ish_group"], staining)
    single_call = 0
    if "her2_ish_amplified" in data:
        amplified = data["her2_ish_amplified"].astype("boolean")
        # Legacy single-result ISH (no ratio or copy number): an amplified call settles IHC 2+ and
        # IHC 0/1+ as positive; a non-amplified call settles IHC 2+ as low. Counted and reported.
        undecided = data["her2_ish_group"].isna() & amplified.notna()
        pos = undecided & amplified.fillna(False)
        neg_2plus = undecided & ~amplified.fillna(True) & (ihc == "2+")
        status = status.where(~pos, "positive").where(~neg_2plus, "low")
        single_call = int((pos | neg_2plus).sum())
    data["her2_status"] = status
    qc["derivations"]["her2_status"] = {"from_single_ish_call": single_call}


def _regimen(data: pd.DataFrame, abbreviations: dict[str, str], qc: dict) -> None:
    text = data["regimen"] if "regimen" in data and data["regimen"].notna().any() else data.get("arm")
    if text is None:
        for name in ("regimen", "anti_her2", "regimen_class", "chemo_anthracycline", "chemo_taxane", "chemo_platinum", "endocrine_concurrent"):
            data[name] = None
        qc["derivations"]["regimen"] = {"source": "none"}
        return
    parsed = dct.parse_regimens(text, abbreviations)
    for column in parsed.columns:
        data[column] = parsed[column]
    qc["derivations"]["regimen"] = {"source": "regimen" if text is data.get("regimen") else "arm",
                                    "distinct": sorted(parsed["regimen"].dropna().unique().tolist())}


def _pcr(data: pd.DataFrame, study: dict, itc_is_pcr: bool, qc: dict) -> None:
    has_stage = "ypt" in data and data["ypt"].notna().any()
    given = {f: data[f].astype("boolean") for f in PCR_FIELDS if f in data}
    info: dict[str, Any] = {"itc_is_pcr": itc_is_pcr}
    if has_stage:
        data["ypt"] = dct.parse_ypt(data["ypt"])
        data["ypn"] = dct.parse_ypn(data["ypn"]) if "ypn" in data else pd.Series(None, index=data.index, dtype=object)
        derived = dct.pcr_variants(data["ypt"], data["ypn"], itc_is_pcr=itc_is_pcr)
        for name, flag in given.items():
            contradicts = flag.notna() & derived[name].notna() & (flag != derived[name])
            info[f"{name}_contradicting_source_flag"] = int(contradicts.sum())
            if contradicts.any():
                qc["warnings"].append(f"{int(contradicts.sum())} patients' source pCR flag ({name}) contradicts ypT/ypN; ypT/ypN used")
        for name in PCR_FIELDS:
            data[name] = derived[name]
        data["pcr_source"] = "stage"
    elif given:
        for name in PCR_FIELDS:
            data[name] = given.get(name, pd.Series(pd.NA, index=data.index, dtype="boolean"))
        data["pcr_source"] = "flag"
        info["definitions_available"] = sorted(given)
    else:
        for name in PCR_FIELDS:
            data[name] = pd.Series(pd.NA, index=data.index, dtype="boolean")
        data["pcr_source"] = "none"
    info["missing"] = {name: int(data[name].isna().sum()) for name in PCR_FIELDS}
    qc["derivations"]["pcr"] = info


def _response(data: pd.DataFrame, qc: dict) -> None:
    if "best_overall_response" in data:
        data["best_overall_response"] = dct.normalize_bor(data["best_overall_response"])
        data["objective_response"] = dct.objective_response(data["best_overall_response"])
        qc["derivations"]["objective_response"] = {"responders": int(data["objective_response"].fillna(False).sum())}


def _check_times(data: pd.DataFrame, sid: str, source_file: str, qc: dict) -> None:
    for time, event in TIME_EVENT_PAIRS:
        if time not in data:
            continue
        negative = data[time] < 0
        if negative.any():
            example = data.loc[negative].iloc[0]
            raise StudyDataError(sid, f"{int(negative.sum())} negative {time}", file=source_file, field=time,
                                 example=f"patient {example['patient_id']}: {time} = {example[time]}",
                                 hint="check the unit and the start/end columns in the mapping")
        if event in data:
            bad = data[event].notna() & ~data[event].isin([0, 1])
            if bad.any():
                raise StudyDataError(sid, f"{event} has values other than 0/1: {sorted(data.loc[bad, event].unique().tolist())}",
                                     file=source_file, field=event, hint="map the source codes to 1 (event) / 0 (censored)")
            half = data[time].isna() != data[event].isna()
            if half.any():
                qc["warnings"].append(f"{int(half.sum())} patients have {time} or {event} but not both")


def _conform(data: pd.DataFrame, sid: str, source_file: str) -> pd.DataFrame:
    """Order, type and check every column against the harmonized schema."""
    fields = harmonized_fields()
    out = pd.DataFrame(index=data.index)
    for name, prop in fields.items():
        kind = field_kind(prop)
        values = data[name] if name in data else pd.Series([None] * len(data), index=data.index, dtype=object)
        out[name] = _as_kind(values, kind)
        _check_values(out[name], name, prop, sid, source_file, data)
    return out.reset_index(drop=True)


def _as_kind(values: pd.Series, kind: str) -> pd.Series:
    if kind == "number":
        return pd.to_numeric(values, errors="coerce").astype(float)
    if kind == "integer":
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    if kind == "boolean":
        return values.astype("boolean")
    return values.map(lambda v: None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)).astype(object)


def _check_values(values: pd.Series, name: str, prop: dict, sid: str, source_file: str, data: pd.DataFrame) -> None:
    nullable = isinstance(prop["type"], list) and "null" in prop["type"]
    if not nullable and values.isna().any():
        raise StudyDataError(sid, f"{int(values.isna().sum())} patients have no {name}, which the data model requires",
                             file=source_file, field=name)
    present = values.dropna()
    bad = pd.Series(False, index=present.index)
    if "enum" in prop:
        allowed = [v for v in prop["enum"] if v is not None]
        bad |= ~present.isin(allowed)
    if "minimum" in prop:
        bad |= present.astype(float) < prop["minimum"]
    if "maximum" in prop:
        bad |= present.astype(float) > prop["maximum"]
    if bad.any():
        idx = bad[bad].index[0]
        counts = present[bad].value_counts()
        raise StudyDataError(
            sid,
            f"{name} has {int(bad.sum())} value(s) outside what the data model allows: "
            + ", ".join(f"{v!r} ({n})" for v, n in counts.head(5).items()),
            file=source_file, field=name,
            example=f"patient {data.loc[idx, 'patient_id'] if 'patient_id' in data else idx}: {present[idx]!r}",
            hint=f"allowed: {prop.get('enum') or (prop.get('minimum'), prop.get('maximum'))}; fix the code map in the mapping",
        )
