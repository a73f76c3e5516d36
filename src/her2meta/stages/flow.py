"""draw_flow: data availability and flow (PRISMA-IPD) -> results/tables/flow.json and the
flow diagram results/figures/flow.{svg,png}.

Sources: the study sheet (rows = studies identified; IPD assumed sought for every one;
data_source ipd = IPD obtained, aggregate = IPD not obtained and published figures used;
include false = excluded, with exclusion_reason), the extraction QC of each included IPD study
(rows delivered in the subjects dataset and the rows its filters excluded, with reasons), the
harmonized QC (patients in the harmonized data; an optional `exclusions` list of
{field, reason, count}) and the pooled document of the primary analysis (patients contributing,
and those left out: group unknown, outcome not recorded, ...).

Everything written here is aggregate and in the release zone: counts of people from 1 to
min_count - 1 are written as "<min_count".
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..io import write_json
from ..plots import save_figure
from ..plots.flow import FlowBox, FlowPhase, FlowStep, flow_diagram

FIELD_LABELS = {"hr_status": "HR status", "her2_status": "HER2 status", "regimen_class": "anti-HER2 regimen class",
                "pcr_ypt0is_ypn0": "pCR (ypT0/is ypN0)", "pcr_ypt0_ypn0": "pCR (ypT0 ypN0)", "pcr_breast": "breast pCR (ypT0/is)",
                "objective_response": "objective response", "efs_months": "EFS", "os_months": "OS", "pfs_months": "PFS",
                "idfs_months": "IDFS"}


def _load(path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def masked(count: int | None, min_count: int) -> int | str | None:
    """A count of people for the release zone: 1 to min_count - 1 as '<min_count'."""
    if count is None:
        return None
    return f"<{min_count}" if 0 < int(count) < min_count else int(count)


def failed_reason(record: Mapping[str, Any]) -> str:
    """The one-line reason of a study that failed under --keep-going (no example row: release-safe)."""
    return f"study failed: {record['summary']}" if record.get("summary") else "study failed"


def _short_reason(reason: str, limit: int = 90, *, first_clause: bool = True) -> str:
    """The first clause of an exclusion reason, at most `limit` characters (figures have little
    room; the report has it all)."""
    text = " ".join(str(reason or "not given").split())
    for sep in (": ", ". ", "; ") if first_clause else ():
        if sep in text:
            text = text.split(sep, 1)[0]
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _values(value: Any) -> str:
    return " or ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def analysis_reasons(spec: Mapping[str, Any]) -> dict[str, str]:
    """Reason texts for the left-out counts of a pooled document's per-study rows."""
    compare = spec.get("compare", {})
    field = FIELD_LABELS.get(compare.get("field", ""), compare.get("field", "group"))
    outcome = spec.get("outcome") or spec.get("time") or "outcome"
    return {
        "excluded_unknown_group": f"{field} neither {_values(compare.get('exposed', '?'))} nor {_values(compare.get('reference', '?'))}",
        "excluded_missing_outcome": f"{FIELD_LABELS.get(outcome, outcome)} not recorded",
        "excluded_before_landmark": "event or censoring before the landmark",
        "excluded_population": "outside the analysis population ("
                               + "; ".join(f"{FIELD_LABELS.get(name, name)} = {_values([str(v).lower() for v in allowed])}"
                                           for name, allowed in (spec.get("population") or {}).items())
                               + "), or not recorded",
        "excluded_unknown_level": (f"{FIELD_LABELS.get(within['field'], within['field'])} neither "
                                   + " nor ".join(str(v) for v in within.get("levels", []))) if (within := spec.get("within"))
                                  else "in no level",
    }


def _primary_block(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    blocks = document.get("subgroups") or []
    return next((b for b in blocks if b.get("name") == "all"), blocks[0] if blocks else None)


def flow_document(studies: Sequence[Mapping[str, Any]], extraction_qcs: Mapping[str, Mapping[str, Any]],
                  harmonized_qcs: Mapping[str, Mapping[str, Any]], primary: Mapping[str, Any] | None,
                  min_count: int = 5) -> dict[str, Any]:
    """Counts of studies and patients at each step, with reasons (release-zone safe)."""
    identified = list(studies)
    ipd = [s for s in identified if s["data_source"] == "ipd"]
    aggregate = [s for s in identified if s["data_source"] != "ipd"]
    included = [s for s in identified if s.get("include", True)]
    included_ipd = [s for s in included if s["data_source"] == "ipd"]
    included_aggregate = [s for s in included if s["data_source"] != "ipd"]

    def excluded(rows):
        return [{"study_id": s["study_id"], "label": s.get("label", s["study_id"]), "data_source": s["data_source"],
                 "reason": s.get("exclusion_reason", "") or "not given"} for s in rows if not s.get("include", True)]

    per_study, filter_reasons, handling, lost = [], defaultdict(int), defaultdict(int), defaultdict(int)
    failed_studies = []
    totals = {"delivered": 0, "after_filters": 0, "harmonized": 0}
    for study in included_ipd:
        sid, label = study["study_id"], study.get("label", study["study_id"])
        hqc = harmonized_qcs.get(sid, {})
        eqc = extraction_qcs.get(sid) or hqc.get("extraction") or {}
        ext = eqc.get("subjects", {})
        failure = hqc.get("failed") or eqc.get("failed")
        delivered = int(ext.get("rows_in", 0))
        after = int(ext.get("rows_out", delivered - sum(int(e.get("count") or 0) for e in ext.get("excluded", []))))
        harmonized = int(hqc.get("rows_out", after))
        filters = [e for e in ext.get("excluded", []) if e.get("count")]
        # qc["exclusions"] (optional) lists every exclusion of the study; the population filters
        # in it are those of subjects.excluded, counted above. The rest keep the patient in the
        # data but leave an endpoint out or change it (missing times, the data cut-off, ...).
        endpoint = [e for e in (hqc.get("exclusions") or []) if e.get("count")
                    and not (e.get("stage") == "extract" and e.get("action") == "excluded from the study")]
        for e in filters:
            filter_reasons[e.get("reason") or "population filter"] += int(e["count"])
        for e in endpoint:
            handling[(e.get("field") or "", e.get("reason") or "excluded", e.get("action") or "")] += int(e["count"])
        if failure:
            failed_studies.append({"study_id": sid, "label": label, "stage": failure.get("stage", ""),
                                   "reason": failed_reason(failure)})
        if after > harmonized:
            lost["in studies that failed in harmonization" if failure else "not carried into the harmonized data"] += after - harmonized
        totals["delivered"] += delivered
        totals["after_filters"] += after
        totals["harmonized"] += harmonized
        per_study.append({
            "study_id": sid, "label": label, "failed": failed_reason(failure) if failure else "",
            "delivered": masked(delivered, min_count), "after_filters": masked(after, min_count),
            "harmonized": masked(harmonized, min_count),
            "filter_exclusions": [{"reason": e.get("reason") or "population filter", "count": masked(e["count"], min_count)}
                                  for e in filters],
            "endpoint_exclusions": [{"field": e.get("field") or "", "reason": e.get("reason") or "excluded",
                                     "action": e.get("action") or "", "count": masked(e["count"], min_count)} for e in endpoint],
        })

    analysis = _analysis_flow(primary, included_ipd, per_study, totals["harmonized"], harmonized_qcs, min_count)
    return {
        "schema": "her2meta.flow/1",
        "min_cell_count": min_count,
        "studies": {
            "identified": len(identified),
            "ipd_sought": len(identified),
            "ipd_obtained": len(ipd),
            "ipd_not_obtained": len(aggregate),
            "excluded_ipd": excluded(ipd),
            "excluded_aggregate": excluded(aggregate),
            "included": len(included),
            "included_ipd": len(included_ipd),
            "included_aggregate": len(included_aggregate),
            "included_aggregate_labels": [s.get("label", s["study_id"]) for s in included_aggregate],
            "failed": failed_studies,
        },
        "patients": {
            "delivered": masked(totals["delivered"], min_count),
            "after_filters": masked(totals["after_filters"], min_count),
            "harmonized": masked(totals["harmonized"], min_count),
            "filter_exclusions": [{"reason": r, "count": masked(c, min_count)} for r, c in filter_reasons.items()],
            "harmonization_exclusions": [{"reason": r, "count": masked(c, min_count)} for r, c in lost.items()],
            "endpoint_exclusions": [{"field": f, "reason": r, "action": a, "count": masked(c, min_count)}
                                    for (f, r, a), c in handling.items()],
            **analysis,
        },
        "per_study": per_study,
    }


def _analysis_flow(primary, included_ipd, per_study, harmonized_total, harmonized_qcs, min_count) -> dict[str, Any]:
    if not primary:
        return {"analysis": None}
    block = _primary_block(primary) or {"studies": []}
    spec = primary.get("spec", {})
    reasons = analysis_reasons(spec)
    rows = {s["study_id"]: s for s in block.get("studies", [])}
    left_out, in_analysis, ipd_studies = defaultdict(int), 0, 0
    not_in_analysis = {"count": 0, "studies": []}
    not_estimable = {"count": 0, "studies": []}
    by_study = {s["study_id"]: s for s in per_study}
    for study in included_ipd:
        sid = study["study_id"]
        row = rows.get(sid)
        if row is None:
            n = int(harmonized_qcs.get(sid, {}).get("rows_out", 0))
            not_in_analysis["count"] += n
            not_in_analysis["studies"].append(study.get("label", sid))
            by_study[sid]["primary_analysis"] = None
            continue
        for key in reasons:
            left_out[key] += int(row.get(key) or 0)
        if row.get("estimable", True):
            in_analysis += int(row.get("n") or 0)
            ipd_studies += 1
            by_study[sid]["primary_analysis"] = masked(int(row.get("n") or 0), min_count)
        else:
            not_estimable["count"] += int(row.get("n") or 0)
            not_estimable["studies"].append(study.get("label", sid))
            by_study[sid]["primary_analysis"] = 0
    aggregate = [s for s in block.get("studies", []) if s.get("source") == "aggregate" and s.get("estimable", True)]
    exclusions = [{"reason": reasons[k], "count": masked(c, min_count)} for k, c in left_out.items() if c]
    if not_in_analysis["count"]:
        exclusions.append({"reason": "in studies outside the analysis's settings or designs ("
                                     + ", ".join(not_in_analysis["studies"]) + ")",
                           "count": masked(not_in_analysis["count"], min_count)})
    if not_estimable["count"]:
        exclusions.append({"reason": "in studies where the effect was not estimable (" + ", ".join(not_estimable["studies"]) + ")",
                           "count": masked(not_estimable["count"], min_count)})
    return {
        "analysis": primary.get("analysis"),
        "analysis_title": spec.get("title", primary.get("analysis")),
        "analysis_exclusions": exclusions,
        "in_analysis": masked(in_analysis, min_count),
        "in_analysis_studies": ipd_studies,
        "aggregate_in_analysis": masked(sum(int(s.get("n") or 0) for s in aggregate), min_count),
        "aggregate_in_analysis_studies": len(aggregate),
        "accounted": in_analysis + sum(left_out.values()) + not_in_analysis["count"] + not_estimable["count"] == harmonized_total,
    }


def _total(items: Sequence[Mapping[str, Any]]) -> str:
    """Sum of counts for a box title; '<min' counts make it a lower bound."""
    numbers = [i["count"] for i in items if isinstance(i["count"], int)]
    hidden = [i["count"] for i in items if not isinstance(i["count"], int)]
    if not hidden:
        return str(sum(numbers))
    return f"at least {sum(numbers) + len(hidden)}" if numbers else hidden[0] if len(hidden) == 1 else f"at least {len(hidden)}"


def flow_phases(document: Mapping[str, Any]) -> list[FlowPhase]:
    """The diagram's boxes from a flow document."""
    st, pt = document["studies"], document["patients"]

    def plural(k: int, word: str = "study") -> str:
        return f"{k} {word if k == 1 else ('studies' if word == 'study' else word + 's')}"

    not_obtained_lines = [f"published aggregate figures used: {plural(st['included_aggregate'])}"]
    if st["excluded_aggregate"]:
        not_obtained_lines.append(f"excluded: {plural(len(st['excluded_aggregate']))}")
        not_obtained_lines += [f"\u2022 {e['label']}: {_short_reason(e['reason'])}" for e in st["excluded_aggregate"]]
    studies = [
        FlowStep(FlowBox(f"Studies identified: {st['identified']}", ["rows of the study sheet"])),
        FlowStep(FlowBox(f"IPD sought: {plural(st['ipd_sought'])}", ["IPD assumed sought for every identified study"]),
                 FlowBox(f"IPD not obtained: {plural(st['ipd_not_obtained'])}", not_obtained_lines)
                 if st["ipd_not_obtained"] else None),
        FlowStep(FlowBox(f"IPD obtained: {plural(st['ipd_obtained'])}"),
                 FlowBox(f"Studies with IPD excluded: {len(st['excluded_ipd'])}",
                         [f"\u2022 {e['label']}: {_short_reason(e['reason'])}" for e in st["excluded_ipd"]])
                 if st["excluded_ipd"] else None),
        FlowStep(FlowBox(f"Studies included: {st['included']}",
                         [f"with IPD: {st['included_ipd']}", f"with published aggregate figures only: {st['included_aggregate']}"]),
                 FlowBox(f"Studies whose IPD could not be used: {len(st['failed'])}",
                         [f"\u2022 {f['label']}" + (f" (at {f['stage']})" if f.get("stage") else "") + ": "
                          + _short_reason(f["reason"], 120, first_clause=False) for f in st["failed"]])
                 if st.get("failed") else None),
    ]
    fe, lost, ep = pt["filter_exclusions"], pt["harmonization_exclusions"], pt.get("endpoint_exclusions", [])
    endpoint_lines = [f"\u2022 {e['count']}: {e['reason']}" + (f" ({e['action']})" if e.get("action") else "") for e in ep]
    if lost:
        harmonization = FlowBox(f"Not in the harmonized data: {_total(lost)}",
                                [f"\u2022 {e['count']}: {e['reason']}" for e in lost]
                                + (["kept, with endpoint data left out or changed:"] + endpoint_lines if ep else []))
    elif ep:
        harmonization = FlowBox("Endpoint data left out or changed (patients kept)", endpoint_lines)
    else:
        harmonization = None
    patients = [
        FlowStep(FlowBox(f"Patients in the delivered data: {pt['delivered']}",
                         [f"subjects datasets of the {plural(st['included_ipd'])} with IPD"]),
                 FlowBox(f"Excluded by population filters: {_total(fe)}", [f"\u2022 {e['count']}: {e['reason']}" for e in fe])
                 if fe else None),
        FlowStep(FlowBox(f"Patients after population filters: {pt['after_filters']}",
                         ["the study population as mapped (e.g. intention to treat)"]), harmonization),
    ]
    if pt.get("analysis"):
        ae = pt["analysis_exclusions"]
        patients.append(FlowStep(FlowBox(f"Patients in the harmonized data: {pt['harmonized']}"),
                                 FlowBox(f"Not in the primary analysis: {_total(ae)}", [f"\u2022 {e['count']}: {e['reason']}" for e in ae])
                                 if ae else None))
        lines = [pt["analysis_title"], f"{plural(pt['in_analysis_studies'])} with IPD"]
        if pt["aggregate_in_analysis_studies"]:
            lines.append(f"plus {pt['aggregate_in_analysis']} patients in {plural(pt['aggregate_in_analysis_studies'])} "
                         "with published aggregate figures")
        patients.append(FlowStep(FlowBox(f"Patients in the primary analysis: {pt['in_analysis']}", lines)))
    else:
        patients.append(FlowStep(FlowBox(f"Patients in the harmonized data: {pt['harmonized']}")))
    return [FlowPhase("Studies", studies), FlowPhase("Patients", patients)]


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    extraction = {}
    for path in inputs.extracted_qc:
        qc = _load(path)
        extraction[qc.get("study_id") or Path(path).name.split(".")[0]] = qc
    harmonized = {}
    for path in inputs.harmonized_qc:
        qc = _load(path)
        harmonized[qc["study_id"]] = qc
    primary_path = getattr(inputs, "primary", None)
    if primary_path is not None and not isinstance(primary_path, (str, Path)):
        primary_path = primary_path[0] if len(primary_path) else None
    primary = _load(primary_path) if primary_path else None
    document = flow_document(params["studies"], extraction, harmonized, primary, int(params["min_cell_count"]))
    if primary and not document["patients"]["accounted"]:
        logger.warning("flow: the primary analysis's counts do not add up to the patients in the harmonized data")
    write_json(outputs.json, document)
    written = save_figure(flow_diagram(flow_phases(document)), Path(outputs.svg).with_suffix(""))
    logger.info("wrote %s and %s", outputs.json, ", ".join(map(str, written)))


# -- report ----------------------------------------------------------------------------------------

def report_context(flow_json: Path | str, flow_svg: Path | str) -> dict[str, Any]:
    """Render context of templates/_flow.html (the `prisma_flow` key)."""
    import base64

    document = _load(flow_json)
    return {**document, "figure": "data:image/svg+xml;base64," + base64.b64encode(Path(flow_svg).read_bytes()).decode()}
