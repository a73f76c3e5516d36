"""Figures of an analysis, built from its pooled JSON document (aggregate numbers only)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from .effects import INTERACTION, OVERALL
from .plots import forest_plot, km_plot, placeholder_figure, save_figure

MEASURE_LABELS = {"OR": "Odds ratio", "RR": "Risk ratio", "RD": "Risk difference", "HR": "Hazard ratio"}
METHOD_LABELS = {"FE": "Fixed effect (inverse variance)", "REML": "Random effects (REML)", "DL": "Random effects (DerSimonian-Laird)",
                 "ML": "Random effects (ML)", "PM": "Random effects (Paule-Mandel)", "EB": "Random effects (empirical Bayes)",
                 "HE": "Random effects (Hedges)", "SJ": "Random effects (Sidik-Jonkman)", "HS": "Random effects (Hunter-Schmidt)"}


def _fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "NA"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def subgroup_title(document: dict[str, Any], name: str) -> str:
    """Header of a subgroup block, e.g. 'hr_status = positive' or the interaction."""
    spec = document["spec"]
    within = spec.get("within")
    if not within or name == OVERALL:
        return ""
    short = {"hr_status": "HR status", "her2_status": "HER2 status"}.get(within["field"], within["field"])
    if name == INTERACTION:
        first, second = within["levels"][0], within["levels"][1]
        return f"Within-trial interaction: ratio {short} {first} / {second}"
    return f"{short}: {name}"


def count_text(study: dict[str, Any], side: str, document: dict[str, Any]) -> str:
    """events/N of one group; a count suppressed for release (None) shows as "<min"."""
    small = f"<{document.get('min_cell_count', 5)}"
    events, n = study.get(f"events_{side}"), study.get(f"n_{side}")
    return f"{small if events is None else events}/{small if n is None else n}"


def forest_rows(document: dict[str, Any], sources: dict[str, str] | None = None) -> pd.DataFrame:
    primary = document["primary"]
    group_labels = _group_labels(document["spec"])
    rows = []
    for block in document["subgroups"]:
        for study in block["studies"]:
            rows.append({
                "label": study["label"],
                "subgroup": subgroup_title(document, block["name"]),
                "estimate": study["estimate"] if study["estimable"] else math.nan,
                "ci_lb": study["ci_lb"] if study["estimable"] else math.nan,
                "ci_ub": study["ci_ub"] if study["estimable"] else math.nan,
                "weight": study["weights"].get(primary, math.nan),
                "estimable": study["estimable"],
                "reason": study.get("reason") or "",
                "source": (sources or {}).get(study["study_id"], study.get("source") or "ipd"),
                "exposed_text": "" if block["name"] == INTERACTION else count_text(study, "exposed", document),
                "reference_text": "" if block["name"] == INTERACTION else count_text(study, "reference", document),
            })
    frame = pd.DataFrame(rows)
    frame.attrs["columns"] = [("exposed_text", group_labels[0]), ("reference_text", group_labels[1])]
    return frame


def _group_labels(spec: dict[str, Any]) -> tuple[str, str]:
    compare = spec["compare"]
    short = {"hr_status": "HR", "regimen_class": "", "pcr_ypt0is_ypn0": "pCR", "pcr_ypt0_ypn0": "pCR", "pcr_breast": "pCR",
             "her2_status": "HER2"}.get(compare["field"], compare["field"])
    sign = {"positive": "+", "negative": "-", "true": " yes", "false": " no"}

    def name(side: str) -> str:
        values = compare[side] if isinstance(compare[side], list) else [compare[side]]
        text = "/".join(str(v) for v in values)
        return f"{short}{sign.get(text.lower(), (' ' if short else '') + text)}"

    counted = "Responders/N" if spec["type"] == "binary" else "Events/N"
    return f"{counted} {name('exposed')}", f"{counted} {name('reference')}"


def pooled_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Summary diamonds: every model for a single-block analysis, the primary model per block
    for analyses with subgroups (more would crowd the plot; all are in the tables)."""
    out = []
    blocks = document["subgroups"]
    methods = document["pooling"]["methods"] if len(blocks) == 1 else [document["primary"]]
    for block in blocks:
        for method in methods:
            result = block["models"][method]
            if "error" in result:
                continue
            note = f"k = {result['k']}"
            if method != "FE":
                note = f"tau² = {result['tau2']:.3f}, I² = {result['I2']:.0f}%, Q p = {_fmt_p(result['Q_p'])}"
            row = {"label": METHOD_LABELS.get(method, method), "estimate": result["estimate"], "ci_lb": result["ci_lb"],
                   "ci_ub": result["ci_ub"], "note": note}
            if len(blocks) > 1:
                row["subgroup"] = subgroup_title(document, block["name"])
            if method != "FE" and result.get("pi_lb") is not None:
                row.update(pi_lb=result["pi_lb"], pi_ub=result["pi_ub"])
            out.append(row)
    return out


def placeholder(title: str, reason: str, stem: Path) -> list[Path]:
    """A figure that cannot be drawn, saved where it was declared: its title and why not."""
    return save_figure(placeholder_figure(title, reason), stem)


def forest_from_document(document: dict[str, Any], stem: Path, *, sources: dict[str, str] | None = None) -> list[Path]:
    if document.get("not_estimable"):
        return placeholder(f"Forest plot: {document['spec'].get('title', document['analysis'])}", document["not_estimable"], stem)
    rows = forest_rows(document, sources)
    figure = forest_plot(
        rows,
        pooled_rows(document),
        subgroup_col="subgroup" if len(document["subgroups"]) > 1 else None,
        measure_label=MEASURE_LABELS[document["measure"]],
        exponentiate=document["exponentiate"],
        title=document["spec"].get("title", document["analysis"]),
        columns=rows.attrs["columns"],
        footnote=f"Weights from the {METHOD_LABELS.get(document['primary'], document['primary'])} model.",
    )
    return save_figure(figure, stem)


def km_curve(time, event, *, label: str, times: list[float] | None = None) -> dict[str, Any]:
    """Aggregate Kaplan-Meier step function for plotting (log-log 95% band, as lifelines)."""
    from .survival import km

    fit = km(time, event, conf_type="log-log")
    curve = {
        "label": label,
        "timeline": [0.0] + [float(t) for t in fit["timeline"]],
        "survival": [1.0] + [float(v) for v in fit["survival"]],
        "ci_lower": [1.0] + [float(v) for v in fit["ci_lower"]],
        "ci_upper": [1.0] + [float(v) for v in fit["ci_upper"]],
    }
    if times is not None:
        at = km(time, event, times=times)
        curve["at_risk"] = {float(t): int(n) for t, n in zip(times, at["n_risk"])}
    return curve


def km_figure(groups, spec: dict[str, Any], *, title: str, stem: Path, min_count: int = 5,
              step_months: float = 12.0) -> list[Path]:
    """Kaplan-Meier curves (aggregate step functions) for labelled groups of patients."""
    curves = []
    horizon = 0.0
    for label, rows in groups:
        if len(rows) == 0:
            continue
        horizon = max(horizon, float(rows[spec["time"]].max()))
    times = [step_months * i for i in range(int(horizon // step_months) + 1)] or [0.0]
    for label, rows in groups:
        if len(rows) == 0:
            continue
        curves.append(km_curve(rows[spec["time"]].to_numpy(float), rows[spec["event"]].to_numpy(int), times=times, label=label))
    endpoint = {"efs_months": "Event-free survival", "os_months": "Overall survival", "pfs_months": "Progression-free survival",
                "idfs_months": "Invasive disease-free survival"}.get(spec["time"], spec["time"])
    figure = km_plot(curves, title=title, ylabel=endpoint, risk_table_times=times, min_count=min_count)
    return save_figure(figure, stem)


def km_small_multiples(panels, spec: dict[str, Any], *, stem: Path, columns: int = 3) -> list[Path]:
    """One small Kaplan-Meier panel per study (curves only; the pooled figure has the risk table).

    Groups with fewer than 5 patients are not drawn: such a curve would show individual
    patients' event times."""
    from matplotlib.figure import Figure

    from .plots.style import series_style

    rows = max(1, math.ceil(len(panels) / columns))
    figure = Figure(figsize=(4.2 * columns, 3.0 * rows))
    for index, (title, groups) in enumerate(panels):
        ax = figure.add_subplot(rows, columns, index + 1)
        for position, (label, data) in enumerate(groups):
            if len(data) < 5:
                continue
            colour, linestyle = series_style(position)
            curve = km_curve(data[spec["time"]].to_numpy(float), data[spec["event"]].to_numpy(int), label=label)
            ax.step(curve["timeline"], curve["survival"], where="post", color=colour, ls=linestyle,
                    label=f"{label} (n={len(data)})", lw=1.4)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="lower left", frameon=False)
    figure.supxlabel("Months", fontsize=9)
    figure.supylabel({"efs_months": "Event-free survival", "os_months": "Overall survival",
                      "pfs_months": "Progression-free survival"}.get(spec["time"], spec["time"]), fontsize=9)
    figure.tight_layout()
    return save_figure(figure, stem)
