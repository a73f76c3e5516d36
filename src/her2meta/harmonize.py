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

import logging
from typing import Any

import numpy as np
import pandas as pd

from . import dictionary as dct
from .crosscheck import published_n_warning
from .errors import StudyDataError, failed_reason
from .mapping import TIME_EVENT_PAIRS
from .plausibility import apply_receptor_scale, check_follow_up, check_receptor_scale
from .schemas import field_kind, harmonized_fields

PCR_FIELDS = ["pcr_ypt0is_ypn0", "pcr_ypt0_ypn0", "pcr_breast"]
PCR_DEFINITION_FIELD = {"ypT0/is ypN0": "pcr_ypt0is_ypn0", "ypT0 ypN0": "pcr_ypt0_ypn0", "ypT0/is": "pcr_breast"}
QC_COUNT_FIELDS = ("hr_status", "hr_status_source", "her2_status", "regimen_class", "pcr_source")
# Below this many patients a study still contributes, with a QC warning (estimates imprecise or not estimable).
SMALL_STUDY = 10
# Longest follow-up the data model accepts (schemas/harmonized.json): 100 years; more is a unit error.
MAX_MONTHS = 1200

log = logging.getLogger("her2meta.harmonize")


def harmonize_study(
    extracted: pd.DataFrame,
    *,
    study: dict[str, Any],
    abbreviations: dict[str, str] | None = None,
    receptor_cutoff: float | None = None,
    hr_threshold: float = 1.0,
    itc_is_pcr: bool = False,
    source_file: str = "(extracted data)",
    field_sources: dict[str, str] | None = None,
    mapping_file: str | None = None,
    mapping_spec: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return the harmonized table (one row per patient, model column order) and its QC record.

    `field_sources` (field -> the sponsor file and column it came from, from the extraction QC)
    lets an error name the sponsor's file rather than the extracted table. `mapping_spec` (the
    study's mapping) gives what the mapping declares for the checks of values that would pass
    silently: a field's `scale:`, `unit:` and `short_follow_up:`, and `regimens:` /
    `unlisted_agents:` outside the drug dictionary. Without it every check runs with nothing
    declared."""
    sid = study["study_id"]
    where = _Sources(source_file, field_sources or {}, mapping_file)
    data = extracted.copy()
    qc: dict[str, Any] = {"study_id": sid, "rows_in": len(data), "derivations": {}, "warnings": [], "exclusions": []}
    if len(data) == 0:
        raise StudyDataError(sid, "the extracted study has no patients", file=where(None),
                             hint="check the subjects dataset and its filters in the mapping")

    def guarded(step, func):
        try:
            return func()
        except dct.DerivationError as exc:
            field = getattr(exc, "field", step)
            in_mapping = field in ("abbreviations", "regimens", "unlisted_agents") and where.mapping
            raise StudyDataError(sid, str(exc), file=where.mapping if in_mapping else where(field), field=field,
                                 example=_example(data, field, exc),
                                 hint=f"correct `{field}:` in the study's mapping" if in_mapping
                                 else "correct the code map in the study's mapping, or the source") from exc

    if "setting" not in data:
        data["setting"] = study["setting"]
    spec = mapping_spec or {}
    rules = spec.get("fields") or {}
    apply_receptor_scale(data, rules, sid, where, qc)
    _check_ranges(data, sid, where)
    check_receptor_scale(data, rules, sid, where)
    guarded("receptors", lambda: _receptors(data, hr_threshold, receptor_cutoff, qc))
    guarded("her2", lambda: _her2(data, qc))
    guarded("regimen", lambda: _regimen(data, abbreviations or {}, qc, spec.get("regimens") or {},
                                        spec.get("unlisted_agents") or {}))
    guarded("pcr", lambda: _pcr(data, study, itc_is_pcr, qc))
    guarded("response", lambda: _response(data, qc))
    _check_times(data, sid, where, qc)
    check_follow_up(data, rules, sid, where, qc)

    harmonized = _conform(data, sid, where)
    qc["rows_out"] = len(harmonized)
    size_warning = published_n_warning(len(harmonized), study)
    if size_warning:
        qc["warnings"].append(size_warning)
    if len(harmonized) < SMALL_STUDY:
        qc["warnings"].append(f"only {len(harmonized)} patients: the study's estimates are imprecise or not estimable")
    known = harmonized["hr_status"][harmonized["hr_status"] != "unknown"]
    if len(known) and known.nunique() == 1:
        qc["warnings"].append(f"every patient with a known hr_status is {known.iloc[0]}: comparisons by hr_status "
                              "cannot be estimated in this study")
    qc["missing"] = {name: int(harmonized[name].isna().sum()) for name in harmonized.columns if harmonized[name].isna().any()}
    qc["counts"] = {
        name: {str(k): int(v) for k, v in harmonized[name].value_counts(dropna=False).sort_index().items()}
        for name in QC_COUNT_FIELDS
    }
    return harmonized, qc


def empty_harmonized() -> pd.DataFrame:
    """A table with the data model's columns and types and no rows (a failed study's marker)."""
    fields = harmonized_fields()
    empty = pd.DataFrame({name: pd.Series([], dtype=object) for name in fields})
    return pd.DataFrame({name: _as_kind(empty[name], field_kind(prop)) for name, prop in fields.items()})


def failed_qc(study_id: str, record: dict[str, Any], extraction: dict[str, Any] | None = None) -> dict[str, Any]:
    """The QC record of a study that failed (keep-going): the shape of a normal one, all counts
    zero, with `failed` (stage, summary, message) and the failure as its first warning."""
    extraction = extraction or {"study_id": study_id, "failed": record, "files": [], "fields": {},
                                "subjects": {"rows_in": 0, "excluded": []}, "unmatched_rows": {}, "exclusions": []}
    return {
        "study_id": study_id,
        "failed": record,
        "rows_in": 0,
        "rows_out": 0,
        "derivations": {},
        "warnings": [f"{failed_reason(record)} (at {record['stage']}); the study contributes to no analysis"],
        "exclusions": [],
        "missing": {},
        "counts": {name: {} for name in QC_COUNT_FIELDS},
        "extraction": extraction,
    }


def _example(data: pd.DataFrame, field: str, exc: dct.DerivationError) -> str | None:
    """'patient P: field = value' for the first patient holding one of the offending values."""
    if field not in data or "patient_id" not in data:
        return None
    wanted = {str(v) for v in getattr(exc, "counts", {})}
    for patient, value in zip(data["patient_id"], data[field]):
        if value is not None and value is not pd.NA and str(value) in wanted:
            return f"patient {patient}: {field} = {value!r}"
    return None


# Numeric inputs checked before any derivation: the first out-of-range value stops the study
# with the patient, the value and what to do.
_RANGES = {
    "er_percent": (0.0, 100.0, "ER is a percentage of stained nuclei (0-100): check the unit and the source"),
    "pr_percent": (0.0, 100.0, "PR is a percentage of stained nuclei (0-100): check the unit and the source"),
    "her2_ish_ratio": (0.0, None, "the HER2/CEP17 ratio is a non-negative number"),
    "her2_ish_copy_number": (0.0, None, "the mean HER2 signals per cell is a non-negative number"),
}


def _check_ranges(data: pd.DataFrame, sid: str, where: "_Sources") -> None:
    for name, (lo, hi, hint) in _RANGES.items():
        if name not in data:
            continue
        values = pd.to_numeric(data[name], errors="coerce").astype(float)
        bad = values.notna() & (~np.isfinite(values) | (values < lo) | ((values > hi) if hi is not None else False))
        if bad.any():
            idx = bad[bad].index[0]
            shown = ", ".join(f"{v:g}" for v in sorted(values[bad].unique())[:5])
            limit = f"{lo:g} to {hi:g}" if hi is not None else f"at least {lo:g}"
            raise StudyDataError(sid, f"{name} has {int(bad.sum())} value(s) outside {limit}: {shown}", file=where(name),
                                 field=name, example=f"patient {data.loc[idx, 'patient_id']}: {name} = {values[idx]:g}",
                                 hint=hint)


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
    status = dct.her2_status(ihc, data["her2_ish_group"], staining, ish_ratio=ratio, ish_copy_number=copies)
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
    has_ish = data["her2_ish_group"].notna() | ratio.notna() | copies.notna()
    no_ihc = ihc.isna()
    info = {"from_single_ish_call": single_call,
            # ISH without IHC: ISH group 1 is HER2-positive by itself; any other result needs the IHC
            # score (ASCO/CAP 2018), so those patients' HER2 status is unknown.
            "ish_without_ihc": int((has_ish & no_ihc).sum()),
            "ish_without_ihc_positive": int((has_ish & no_ihc & (status == "positive")).sum()),
            "ish_without_ihc_unknown": int((has_ish & no_ihc & (status == "unknown")).sum()),
            # A ratio without a copy number (or the reverse) gives no ISH group; the status is
            # still known where every group the known value allows gives the same call.
            "ish_incomplete": int((ratio.notna() != copies.notna()).sum())}
    qc["derivations"]["her2_status"] = info
    reasons = dct.her2_unknown_reasons(ihc, data["her2_ish_group"], ratio, copies, status)
    qc["derivations"]["her2_unknown"] = {
        "patients": int((status == "unknown").sum()),
        "by_reason": {str(k): int(v) for k, v in reasons.value_counts().sort_index().items()},
        "ish_incomplete_decided": int(((ratio.notna() != copies.notna()) & (status != "unknown")).sum()),
    }
    if info["ish_without_ihc_unknown"]:
        qc["warnings"].append(f"{info['ish_without_ihc_unknown']} patients have an ISH result but no IHC score: ISH alone "
                              "decides only group 1 (positive), so their HER2 status is unknown")
        example = data.loc[has_ish & no_ihc & (status == "unknown"), "patient_id"].iloc[0] if "patient_id" in data else "?"
        log.warning("HER2: %d patients with ISH but no IHC score set to unknown; field her2_ihc; example patient %s",
                    info["ish_without_ihc_unknown"], example)


def _regimen(data: pd.DataFrame, abbreviations: dict[str, str], qc: dict, regimens: dict[str, str],
             unlisted_agents: dict[str, str]) -> None:
    text = data["regimen"] if "regimen" in data and data["regimen"].notna().any() else data.get("arm")
    if text is None:
        for name in ("regimen", "anti_her2", "regimen_class", "chemo_anthracycline", "chemo_taxane", "chemo_platinum", "endocrine_concurrent"):
            data[name] = None
        qc["derivations"]["regimen"] = {"source": "none"}
        return
    parsed = dct.parse_regimens(text, abbreviations, regimens=regimens, unlisted_agents=unlisted_agents)
    for column in parsed.columns:
        data[column] = parsed[column]
    info = {"source": "regimen" if text is data.get("regimen") else "arm",
            "distinct": sorted(parsed["regimen"].dropna().unique().tolist())}
    # Patients and regimens of each declared class present (classes outside the drug dictionary).
    declared = {}
    for cls in dct.DECLARED_CLASSES:
        mask = (parsed["regimen_class"] == cls).fillna(False).astype(bool)
        if mask.any():
            declared[cls] = (mask, sorted(parsed.loc[mask, "regimen"].unique().tolist()))
    if regimens or unlisted_agents:
        info["declared_outside_dictionary"] = {cls: {"patients": int(mask.sum()), "regimens": shown}
                                               for cls, (mask, shown) in declared.items()}
    qc["derivations"]["regimen"] = info
    for cls, (mask, shown) in declared.items():
        listed = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
        qc["exclusions"].append({"stage": "harmonize", "field": "regimen_class",
                                 "reason": f"regimen outside the drug dictionary, declared {cls} in the mapping ({listed})",
                                 "action": "left out of regimen-class analyses; kept in the others", "count": int(mask.sum())})


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
                first = contradicts[contradicts].index[0]
                log.warning("field %s: %d patients' source pCR flag contradicts ypT/ypN (ypT/ypN used); example: patient %s "
                            "has %s = %s with ypT %s, ypN %s", name, int(contradicts.sum()), data.loc[first, "patient_id"],
                            name, flag[first], data.loc[first, "ypt"], data.loc[first, "ypn"])
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


def _check_times(data: pd.DataFrame, sid: str, where: "_Sources", qc: dict) -> None:
    """Negative or infinite times and events outside 0/1 stop the study; a missing time or event
    leaves the patient out of that endpoint (both set missing), counted in qc["exclusions"]."""
    for time, event in TIME_EVENT_PAIRS:
        if time not in data and event not in data:
            continue
        if time not in data or event not in data:
            have, lack = (time, event) if time in data else (event, time)
            raise StudyDataError(sid, f"the mapping gives {have} but not {lack}", file=where.mapping or where(have), field=lack,
                                 hint=f"map {lack} too (a time-to-event outcome needs both), or remove {have}")
        times = pd.to_numeric(data[time], errors="coerce").astype(float)
        for mask, what, hint in (
            (times < 0, "a negative", "check the unit and the start/end columns in the mapping"),
            (times.notna() & ~np.isfinite(times), "an infinite", "check the source values"),
            (np.isfinite(times.fillna(0)) & (times > MAX_MONTHS), f"more than {MAX_MONTHS // 12} years of",
             "check `unit:` in the mapping (days or weeks read as months?) and the source values"),
        ):
            if mask.any():
                example = data.loc[mask].iloc[0]
                raise StudyDataError(sid, f"{int(mask.sum())} patient(s) with {what} {time}", file=where(time), field=time,
                                     example=f"patient {example['patient_id']}: {time} = {example[time]}", hint=hint)
        events = data[event]
        bad = events.notna() & ~events.isin([0, 1])
        if bad.any():
            example = data.loc[bad].iloc[0]
            values = sorted({str(v) for v in events[bad]})
            raise StudyDataError(sid, f"{event} has {int(bad.sum())} value(s) other than 0/1: {', '.join(values[:5])}",
                                 file=where(event), field=event, example=f"patient {example['patient_id']}: {event} = {example[event]}",
                                 hint="map the source codes to 1 (event) / 0 (censored) under `codes:` (CDISC CNSR: 0 = event)")
        no_time, no_event = times.isna(), events.isna()
        endpoint = time.removesuffix("_months").upper()
        for mask, reason in (
            (no_time & no_event, f"{time} and {event} not recorded"),
            (no_time & ~no_event, f"{event} recorded without {time}"),
            (~no_time & no_event, f"{time} recorded without {event}"),
        ):
            if mask.any():
                qc["exclusions"].append({"stage": "harmonize", "field": time, "reason": reason,
                                         "action": f"left out of {endpoint} analyses", "count": int(mask.sum())})
                log.warning("study %s: %d patients: %s: left out of %s analyses; fields %s/%s; example: patient %s",
                            sid, int(mask.sum()), reason, endpoint, time, event, data.loc[mask[mask].index[0], "patient_id"])
        half = no_time != no_event
        if half.any():
            data.loc[half, time] = np.nan
            data.loc[half, event] = pd.NA if str(data[event].dtype) == "Int64" else np.nan


class _Sources:
    """The file an error names for a field: the sponsor file it was read from when known."""

    def __init__(self, default: str, sources: dict[str, str], mapping: str | None = None):
        self.default, self.sources, self.mapping = default, sources, mapping

    def __call__(self, field: str | None) -> str:
        return self.sources.get(field, self.default) if field else self.default


def _conform(data: pd.DataFrame, sid: str, where: "_Sources") -> pd.DataFrame:
    """Order, type and check every column against the harmonized schema."""
    fields = harmonized_fields()
    out = pd.DataFrame(index=data.index)
    for name, prop in fields.items():
        kind = field_kind(prop)
        values = data[name] if name in data else pd.Series([None] * len(data), index=data.index, dtype=object)
        if kind in ("number", "integer"):
            _check_numeric(values, name, kind, sid, where(name), data)
        out[name] = _as_kind(values, kind)
        _check_values(out[name], name, prop, sid, where(name), data)
    return out.reset_index(drop=True)


def _check_numeric(values: pd.Series, name: str, kind: str, sid: str, source_file: str, data: pd.DataFrame) -> None:
    """Numbers only (never a value silently turned missing), finite, and whole where the model says integer."""
    numeric = pd.to_numeric(values.astype(object).where(values.notna(), None), errors="coerce").astype(float)
    problems = [
        (values.notna() & numeric.isna(), "not a number"),
        (numeric.notna() & ~np.isfinite(numeric.fillna(0)), "not finite"),
    ]
    if kind == "integer":
        finite = numeric.where(np.isfinite(numeric.fillna(0)))
        problems.append((finite.notna() & ((finite % 1 != 0) | (finite.abs() >= 2 ** 53)), "not a whole number"))
    for bad, what in problems:
        if bad.any():
            idx = bad[bad].index[0]
            value = values[idx].item() if hasattr(values[idx], "item") else values[idx]
            raise StudyDataError(sid, f"{name} has {int(bad.sum())} value(s) that are {what}", file=source_file, field=name,
                                 example=f"patient {data.loc[idx, 'patient_id'] if 'patient_id' in data else idx}: {value!r}",
                                 hint=f"map {name} to {'whole ' if kind == 'integer' else ''}numbers in the mapping "
                                      "(`codes:` or `parse:`), or correct the source")


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
