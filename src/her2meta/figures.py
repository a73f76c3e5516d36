"""Figures of an analysis, built from its pooled JSON document (aggregate numbers only)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from .plots import forest_plot, save_figure

MEASURE_LABELS = {"OR": "Odds ratio", "RR": "Risk ratio", "RD": "Risk difference", "HR": "Hazard ratio"}
METHOD_LABELS = {"FE": "Fixed effect (inverse variance)", "REML": "Random effects (REML)", "DL": "Random effects (DerSimonian-Laird)",
                 "ML": "Random effects (ML)", "PM": "Random effects (Paule-Mandel)", "EB": "Random effects (empirical Bayes)",
                 "HE": "Random effects (Hedges)", "SJ": "Random effects (Sidik-Jonkman)", "HS": "Random effects (Hunter-Schmidt)"}


def _fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "NA"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def forest_rows(document: dict[str, Any], sources: dict[str, str] | None = None) -> pd.DataFrame:
    primary = document["primary"]
    group_labels = _group_labels(document["spec"])
    rows = []
    for study in document["studies"]:
        rows.append({
            "label": study["label"],
            "estimate": study["estimate"] if study["estimable"] else math.nan,
            "ci_lb": study["ci_lb"] if study["estimable"] else math.nan,
            "ci_ub": study["ci_ub"] if study["estimable"] else math.nan,
            "weight": study["weights"].get(primary, math.nan),
            "estimable": study["estimable"],
            "reason": study.get("reason") or "",
            "source": (sources or {}).get(study["study_id"], "ipd"),
            "exposed_text": f"{study['events_exposed']}/{study['n_exposed']}",
            "reference_text": f"{study['events_reference']}/{study['n_reference']}",
        })
    frame = pd.DataFrame(rows)
    frame.attrs["columns"] = [("exposed_text", group_labels[0]), ("reference_text", group_labels[1])]
    return frame


def _group_labels(spec: dict[str, Any]) -> tuple[str, str]:
    field = spec["compare"]["field"]
    short = {"hr_status": "HR"}.get(field, field)
    sign = {"positive": "+", "negative": "-"}
    exposed, reference = spec["compare"]["exposed"], spec["compare"]["reference"]
    counted = "Responders/N" if spec["type"] == "binary" else "Events/N"
    return (f"{counted} {short}{sign.get(exposed, ' ' + exposed)}", f"{counted} {short}{sign.get(reference, ' ' + reference)}")


def pooled_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for method in document["pooling"]["methods"]:
        result = document["models"][method]
        if "error" in result:
            continue
        note = f"k = {result['k']}"
        if method != "FE":
            note = f"tau² = {result['tau2']:.3f}, I² = {result['I2']:.0f}%, Q p = {_fmt_p(result['Q_p'])}"
        row = {"label": METHOD_LABELS.get(method, method), "estimate": result["estimate"], "ci_lb": result["ci_lb"],
               "ci_ub": result["ci_ub"], "note": note}
        if method != "FE" and result.get("pi_lb") is not None:
            row.update(pi_lb=result["pi_lb"], pi_ub=result["pi_ub"])
        out.append(row)
    return out


def forest_from_document(document: dict[str, Any], stem: Path, *, sources: dict[str, str] | None = None) -> list[Path]:
    rows = forest_rows(document, sources)
    figure = forest_plot(
        rows,
        pooled_rows(document),
        measure_label=MEASURE_LABELS[document["measure"]],
        exponentiate=document["exponentiate"],
        title=document["spec"].get("title", document["analysis"]),
        columns=rows.attrs["columns"],
        footnote=f"Weights from the {METHOD_LABELS.get(document['primary'], document['primary'])} model.",
    )
    return save_figure(figure, stem)
