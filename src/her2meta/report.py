"""The HTML report: one self-contained file (figures embedded), built only from aggregate
results (pooled JSON documents, QC counts, the study sheet and the configuration)."""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .figures import MEASURE_LABELS, METHOD_LABELS
from .provenance import package_versions

CITATIONS = {
    "FE": "inverse-variance fixed (equal) effect model",
    "REML": "restricted maximum-likelihood estimator of tau² (Viechtbauer 2005)",
    "DL": "DerSimonian-Laird estimator of tau² (DerSimonian & Laird 1986)",
}


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "NA"
    return f"{value:.{digits}f}"


def _p(value: Any) -> str:
    if value is None or not math.isfinite(value):
        return "NA"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _scale(document: dict[str, Any]):
    return math.exp if document["exponentiate"] else (lambda x: x)


def analysis_section(document: dict[str, Any], forest_svg: Path) -> dict[str, Any]:
    tf = _scale(document)
    models = []
    for method in document["pooling"]["methods"]:
        result = document["models"][method]
        if "error" in result:
            models.append({"method": METHOD_LABELS.get(method, method), "error": result["error"]})
            continue
        pi = ("", "") if result.get("pi_lb") is None or method == "FE" else (_num(tf(result["pi_lb"])), _num(tf(result["pi_ub"])))
        models.append({
            "method": METHOD_LABELS.get(method, method),
            "primary": method == document["primary"],
            "k": result["k"],
            "estimate": _num(tf(result["estimate"])),
            "ci": f"{_num(tf(result['ci_lb']))} to {_num(tf(result['ci_ub']))}",
            "pi": f"{pi[0]} to {pi[1]}" if pi[0] else "",
            "pval": _p(result["pval"]),
            "tau2": _num(result.get("tau2"), 4) if method != "FE" else "",
            "I2": _num(result.get("I2"), 1),
            "Q": f"{_num(result['Q'])} (df {result['Q_df']}, p {_p(result['Q_p'])})",
        })
    studies = []
    for s in document["studies"]:
        rate_e = s["events_exposed"] / s["n_exposed"] if s["n_exposed"] else None
        rate_r = s["events_reference"] / s["n_reference"] if s["n_reference"] else None
        studies.append({
            "label": s["label"], "study_id": s["study_id"],
            "exposed": f"{s['events_exposed']}/{s['n_exposed']}" + (f" ({100 * rate_e:.1f}%)" if rate_e is not None and document["spec"]["type"] == "binary" else ""),
            "reference": f"{s['events_reference']}/{s['n_reference']}" + (f" ({100 * rate_r:.1f}%)" if rate_r is not None and document["spec"]["type"] == "binary" else ""),
            "estimate": _num(tf(s["estimate"])) if s["estimable"] else "",
            "ci": f"{_num(tf(s['ci_lb']))} to {_num(tf(s['ci_ub']))}" if s["estimable"] else "",
            "weight": _num(s["weights"].get(document["primary"]), 1) if s["estimable"] else "",
            "excluded": s["excluded_unknown_group"] + s["excluded_missing_outcome"],
            "reason": s.get("reason") or "",
            "notes": s.get("notes") or "",
        })
    primary = document["models"].get(document["primary"], {})
    return {
        "name": document["analysis"],
        "title": document["spec"].get("title", document["analysis"]),
        "measure": MEASURE_LABELS[document["measure"]],
        "spec": document["spec"],
        "models": models,
        "studies": studies,
        "not_estimable": document["not_estimable"],
        "forest": "data:image/svg+xml;base64," + base64.b64encode(Path(forest_svg).read_bytes()).decode(),
        "headline": {
            "estimate": _num(tf(primary["estimate"])) if "estimate" in primary else "NA",
            "ci": f"{_num(tf(primary['ci_lb']))} to {_num(tf(primary['ci_ub']))}" if "estimate" in primary else "",
            "pi": f"{_num(tf(primary['pi_lb']))} to {_num(tf(primary['pi_ub']))}" if primary.get("pi_lb") is not None else "",
            "I2": _num(primary.get("I2"), 1), "tau2": _num(primary.get("tau2"), 4), "k": primary.get("k", 0),
            "n": sum(s["n"] for s in document["studies"] if s["estimable"]),
            "method": METHOD_LABELS.get(document["primary"], document["primary"]),
        },
    }


def study_rows(studies: list[dict[str, Any]], qcs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for study in studies:
        qc = qcs.get(study["study_id"])
        row = {"study_id": study["study_id"], "label": study["label"], "design": study["design"], "setting": study["setting"],
               "source": study["data_source"], "year": study.get("year", ""), "reference": study.get("published_reference", ""),
               "include": study["include"], "exclusion_reason": study.get("exclusion_reason", "")}
        if qc:
            ext = qc["extraction"]["subjects"]
            hr = qc["counts"]["hr_status"]
            row.update(
                rows_in=ext.get("rows_in"),
                excluded="; ".join(f"{e['count']} {e['reason']}" for e in ext.get("excluded", []) if e["count"]) or "none",
                n=qc["rows_out"],
                hr_pos=hr.get("positive", 0), hr_neg=hr.get("negative", 0), hr_unknown=hr.get("unknown", 0),
                hr_source=", ".join(f"{k}: {v}" for k, v in qc["counts"]["hr_status_source"].items()),
                pcr_source=", ".join(qc["counts"]["pcr_source"]),
                regimens="; ".join(f"{k} {v}" for k, v in qc["counts"]["regimen_class"].items()),
                warnings=qc["warnings"],
            )
        rows.append(row)
    return rows


def methods_paragraph(config: dict[str, Any], versions: dict[str, str]) -> str:
    pooling = config["pooling"]
    models = ", ".join(CITATIONS.get(m, m) for m in pooling["methods"])
    test = ("Wald-type z tests and confidence intervals" if pooling["test"] == "z"
            else "the Knapp-Hartung (Hartung-Knapp-Sidik-Jonkman) method with a t distribution on k-1 degrees of freedom")
    pi = {"norm": "a normal distribution", "t": "a t distribution on k-2 degrees of freedom",
          "auto": "a normal distribution" if pooling["test"] == "z" else "a t distribution on k-1 degrees of freedom"}[pooling["prediction_interval"]]
    h = config["harmonization"]
    parts = [
        "Individual participant data of each study were mapped onto one harmonized data model with a declarative, per-study mapping.",
        f"Hormone-receptor (HR) status was positive when ER or PR stained at least {h['hr_threshold_percent']:g}% of tumour nuclei "
        "(ASCO/CAP 2020); where a sponsor reported only categories, these were taken as given and flagged.",
        "HER2 status followed the ASCO/CAP 2018/2023 IHC and dual-probe ISH rules.",
        "pCR was derived from ypT and ypN as ypT0/is ypN0 (primary), ypT0 ypN0 and ypT0/is"
        + (", counting isolated tumour cells in nodes as pCR." if h["itc_is_pcr"] else "; isolated tumour cells in nodes (ypN0(i+)) did not count as pCR."),
        "Within each study (two-stage approach), the pCR odds ratio between HR groups was computed from the 2x2 table, adding 0.5 to every cell "
        "only in studies with a zero cell, and the EFS hazard ratio from a Cox proportional-hazards model with Efron's method for ties.",
        f"Study estimates were pooled on the log scale with the {models}; the headline model is {METHOD_LABELS.get(pooling['primary'], pooling['primary'])}, "
        f"with {test}, {pooling['level']:g}% confidence intervals and prediction intervals based on {pi}.",
        "Heterogeneity is described by tau², I² and Cochran's Q.",
        f"Software: her2meta {versions.get('her2meta')}, Python {versions.get('python')}, Snakemake {versions.get('snakemake')}, "
        f"pandas {versions.get('pandas')}, SciPy {versions.get('scipy')}, lifelines {versions.get('lifelines')}, "
        f"statsmodels {versions.get('statsmodels')}, matplotlib {versions.get('matplotlib')}, pyreadstat {versions.get('pyreadstat')}.",
    ]
    return " ".join(parts)


def render(*, config: dict[str, Any], studies: list[dict[str, Any]], qcs: dict[str, dict[str, Any]],
           documents: list[dict[str, Any]], forest_svgs: list[Path]) -> str:
    env = Environment(loader=PackageLoader("her2meta", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    versions = package_versions()
    sections = [analysis_section(doc, svg) for doc, svg in zip(documents, forest_svgs)]
    rows = study_rows(studies, qcs)
    included = [r for r in rows if r["include"]]
    flow = {
        "in_sheet": len(rows),
        "included": len(included),
        "excluded": [r for r in rows if not r["include"]],
        "ipd": sum(1 for r in included if r["source"] == "ipd"),
        "rows_in": sum(r.get("rows_in") or 0 for r in included),
        "patients": sum(r.get("n") or 0 for r in included),
    }
    css = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html").render(
        title=config.get("report", {}).get("title", "IPD meta-analysis"),
        demo=config.get("demo", False),
        sections=sections,
        studies=rows,
        flow=flow,
        methods=methods_paragraph(config, versions),
        versions=versions,
        css=css,
    )
