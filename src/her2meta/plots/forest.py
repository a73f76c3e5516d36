"""Forest plot for study-level estimates and pooled (summary) estimates.

Layout is computed explicitly in inches: text columns left of the plot, the
plot itself, then the "estimate [95% CI]" and weight columns to the right.
All table text is placed with a transform whose x is in figure inches and
whose y is in the plot axes' row coordinates, so every cell of a row shares
exactly one y position and columns line up however many are added. Text
widths are measured from the font, so column widths fit their contents.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import blended_transform_factory

from .style import (
    AGGREGATE_COLOR,
    FONT_SIZE,
    MUTED_COLOR,
    NULL_LINE_COLOR,
    PI_COLOR,
    POOLED_COLOR,
    RULE_COLOR,
    SMALL_FONT_SIZE,
    STUDY_COLOR,
    TEXT_COLOR,
    TICK_FONT_SIZE,
    TITLE_FONT_SIZE,
    WEIGHT_DECIMALS,
    finalize,
    fmt_number,
    fmt_ratio,
    fmt_tick,
    new_figure,
    nice_linear_limits,
    nice_log_limits,
    style_context,
    text_width,
    wrap_text,
)

__all__ = ["forest_plot"]

# Geometry (inches)
ROW_H = 0.22  # height of one table row
LEFT_MARGIN = 0.15
RIGHT_MARGIN = 0.15
TOP_MARGIN = 0.12
BOTTOM_MARGIN = 0.12
COL_GAP = 0.18  # between text columns
PLOT_GAP = 0.18  # between the text columns and the plot
PLOT_WIDTH = 2.6
INDENT = 0.14  # study labels under a subgroup header
SPACE = 0.035  # gap between the pieces of "est [lb, ub]"

# Markers (points)
MAX_SIDE = ROW_H * 72 * 0.72
MIN_SIDE = 3.5
ARROW_SIZE = 4.5
DIAMOND_HALF_HEIGHT = 0.34  # rows

# Log-scale x range never extends beyond these ratios (arrows beyond).
LOG_RANGE_CAP = (1e-3, 1e3)

_SLASH_RE = re.compile(r"^\s*([^/\s]+)\s*/\s*([^/\s]+)\s*$")
_NUMERIC_RE = re.compile(r"^\s*[-\u2212+<>]?\s*\d[\d,.]*\s*%?\s*$")


# --------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------
def _to_float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell_text(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer():
            return str(int(v))
        return f"{v:g}"
    return str(value)


@dataclass
class _Study:
    label: str
    estimate: float
    ci_lb: float
    ci_ub: float
    weight: float
    estimable: bool
    reason: str
    source: str
    cells: dict[str, str]
    group: str | None = None


@dataclass
class _Pooled:
    label: str
    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    note: str
    cells: dict[str, str]
    estimable: bool
    group: str | None = None


@dataclass
class _Line:
    """One visual row of the table."""

    kind: str  # "group" | "study" | "pooled" | "note"
    y: float
    item: Any = None
    text: str = ""
    extra: dict = field(default_factory=dict)


def _prepare_studies(rows: pd.DataFrame, col_names: list[str], subgroup_col: str | None) -> list[_Study]:
    required = ["label", "estimate", "ci_lb", "ci_ub"]
    missing = [c for c in required if c not in rows.columns]
    if missing:
        raise ValueError(f"forest_plot: rows is missing required column(s) {missing}")
    absent = [c for c in col_names if c not in rows.columns and c != "label"]
    if absent:
        raise ValueError(f"forest_plot: columns refers to unknown column(s) {absent}")
    if subgroup_col is not None and subgroup_col not in rows.columns:
        raise ValueError(f"forest_plot: subgroup_col {subgroup_col!r} is not a column of rows")

    studies: list[_Study] = []
    for rec in rows.to_dict(orient="records"):
        est = _to_float(rec.get("estimate"))
        lb = _to_float(rec.get("ci_lb"))
        ub = _to_float(rec.get("ci_ub"))
        weight = _to_float(rec.get("weight", math.nan))
        flag = rec.get("estimable", True)
        estimable = True if _is_missing(flag) else bool(flag)
        reason = "" if _is_missing(rec.get("reason")) else str(rec.get("reason"))
        if estimable and not all(math.isfinite(v) for v in (est, lb, ub)):
            estimable = False
            if not reason:
                reason = "not estimable (non-finite estimate or CI)"
        if not estimable and not reason:
            reason = "not estimable"
        if estimable and lb > ub:
            lb, ub = ub, lb
        source = rec.get("source", "ipd")
        source = "ipd" if _is_missing(source) else str(source).strip().lower()
        group = None
        if subgroup_col is not None:
            g = rec.get(subgroup_col)
            group = "(missing)" if _is_missing(g) else str(g)
        studies.append(
            _Study(
                label=_cell_text(rec.get("label")),
                estimate=est,
                ci_lb=lb,
                ci_ub=ub,
                weight=weight if math.isfinite(weight) else math.nan,
                estimable=estimable,
                reason=reason,
                source=source,
                cells={c: _cell_text(rec.get(c)) for c in col_names if c != "label"},
                group=group,
            )
        )
    return studies


def _prepare_pooled(pooled: list[dict], col_names: list[str], groups: list[str] | None) -> list[_Pooled]:
    out = []
    for i, p in enumerate(pooled or []):
        if "label" not in p:
            raise ValueError(f"forest_plot: pooled[{i}] has no 'label'")
        est = _to_float(p.get("estimate"))
        lb = _to_float(p.get("ci_lb"))
        ub = _to_float(p.get("ci_ub"))
        pi_lb = _to_float(p.get("pi_lb"))
        pi_ub = _to_float(p.get("pi_ub"))
        group = p.get("subgroup")
        group = str(group) if (groups is not None and not _is_missing(group) and str(group) in groups) else None
        note = "" if _is_missing(p.get("note")) else str(p.get("note"))
        out.append(
            _Pooled(
                label=str(p["label"]),
                estimate=est,
                ci_lb=min(lb, ub) if math.isfinite(lb) and math.isfinite(ub) else lb,
                ci_ub=max(lb, ub) if math.isfinite(lb) and math.isfinite(ub) else ub,
                pi_lb=pi_lb,
                pi_ub=pi_ub,
                note=note,
                cells={c: _cell_text(p.get(c)) for c in col_names if c != "label"},
                estimable=all(math.isfinite(v) for v in (est, lb, ub)),
                group=group,
            )
        )
    return out


# --------------------------------------------------------------------------
# x range
# --------------------------------------------------------------------------
def _x_range(studies, pooled, exponentiate: bool, null_value: float):
    """Limits and ticks on the display scale (ratios when exponentiate)."""
    core = [null_value]
    ext: list[float] = []
    half_widths = []
    for s in studies:
        if s.estimable:
            core.append(s.estimate)
            ext += [s.ci_lb, s.ci_ub]
            half_widths.append((s.ci_ub - s.ci_lb) / 2)
    for p in pooled:
        if p.estimable:
            core += [p.estimate, p.ci_lb, p.ci_ub]
        ext += [v for v in (p.pi_lb, p.pi_ub) if math.isfinite(v)]
    core = [v for v in core if math.isfinite(v)]
    ext = [v for v in ext if math.isfinite(v)]
    lo_core, hi_core = min(core), max(core)
    width = hi_core - lo_core
    if exponentiate:
        allowance = max(width, math.log(4.0))
    else:
        typical = float(np.median(half_widths)) if half_widths else 0.0
        allowance = max(width, typical, 1e-9)
    lo = max(min(core + ext), lo_core - allowance)
    hi = min(max(core + ext), hi_core + allowance)
    if exponentiate:
        lo = max(lo, math.log(LOG_RANGE_CAP[0]))
        hi = min(hi, math.log(LOG_RANGE_CAP[1]))
        return nice_log_limits(math.exp(lo), math.exp(hi))
    return nice_linear_limits(lo, hi)


# --------------------------------------------------------------------------
# column layout
# --------------------------------------------------------------------------
@dataclass
class _Col:
    name: str
    header: str
    x0: float = 0.0
    width: float = 0.0
    mode: str = "left"  # left | right | slash
    left_w: float = 0.0  # slash mode: width of numerator part
    right_w: float = 0.0  # slash mode: width of "/denominator" part


def _column_mode(values: list[str]) -> str:
    vals = [v for v in values if v.strip()]
    if vals and all(_SLASH_RE.match(v) for v in vals):
        return "slash"
    if vals and all(_NUMERIC_RE.match(v) for v in vals):
        return "right"
    return "left"


def _slash_parts(value: str) -> tuple[str, str]:
    m = _SLASH_RE.match(value)
    if not m:
        return value, ""
    return m.group(1), "/" + m.group(2)


def forest_plot(
    rows: pd.DataFrame,
    pooled: list[dict],
    *,
    measure_label: str,
    exponentiate: bool = True,
    null_value: float = 0.0,
    title: str | None = None,
    columns: list[tuple[str, str]] | None = None,
    subgroup_col: str | None = None,
    footnote: str | None = None,
    estimate_header: str = "Estimate [95% CI]",
    weight_header: str = "Weight",
) -> Figure:
    """Draw a forest plot and return the (pyplot-free) Figure.

    Parameters
    ----------
    rows
        One row per study with ``label``, ``estimate``, ``ci_lb``, ``ci_ub``
        (log scale when ``exponentiate``), ``weight`` (percent; NaN allowed,
        drawn as a hollow marker), optional ``estimable`` (bool) and
        ``reason`` (str; non-estimable studies, or studies with a non-finite
        estimate/CI, are listed in grey with the reason instead of a bar),
        optional ``source`` ("ipd"/"aggregate"; aggregate studies get circles
        and a legend entry), plus any text columns named in ``columns``.
    pooled
        Summary rows drawn as diamonds below the studies: dicts with
        ``label``, ``estimate``, ``ci_lb``, ``ci_ub``, optional ``pi_lb``,
        ``pi_ub`` (prediction interval, thin line), ``note`` (shown in small
        grey text under the diamond), ``subgroup`` (place the row at the end
        of that subgroup when ``subgroup_col`` is used) and values for any
        of the ``columns``.
    measure_label
        x-axis label, e.g. ``"Hazard ratio (HR+ vs HR-)"``.
    exponentiate
        Values are on the log scale; plot ``exp`` on a log axis.
    null_value
        Null effect on the analysis (log) scale; a vertical line is drawn there.
    columns
        ``(column_name, header)`` pairs shown as text columns left of the
        plot (after the study label). Include ``("label", header)`` to
        rename the study-label header (default "Study").
    subgroup_col
        Column of ``rows`` to group studies under bold headers (order of
        first appearance).
    footnote
        Text under the plot (wrapped to the figure width).
    """
    if not isinstance(rows, pd.DataFrame):
        rows = pd.DataFrame(rows)
    columns = list(columns or [])
    label_header = "Study"
    extra_cols: list[tuple[str, str]] = []
    for name, header in columns:
        if name == "label":
            label_header = header
        else:
            extra_cols.append((name, header))
    col_names = [c for c, _ in extra_cols]

    studies = _prepare_studies(rows, col_names, subgroup_col)
    groups: list[str] | None = None
    if subgroup_col is not None:
        groups = list(dict.fromkeys(s.group for s in studies))
    pooled_items = _prepare_pooled(pooled, col_names, groups)

    fmt = fmt_ratio if exponentiate else fmt_number
    tr = math.exp if exponentiate else (lambda v: v)
    null_x = tr(null_value)
    xmin, xmax, ticks = _x_range(studies, pooled_items, exponentiate, null_value)

    # ------------------------------------------------------------------
    # vertical layout (row units; y grows downwards)
    # ------------------------------------------------------------------
    all_headers = [label_header] + [h for _, h in extra_cols] + [estimate_header, weight_header]
    header_lines = max(h.count("\n") + 1 for h in all_headers)
    header_bottom = 0.95 + 0.8 * (header_lines - 1)  # where the rule sits
    lines: list[_Line] = []
    y = header_bottom + 0.75

    def add_pooled(p: _Pooled) -> None:
        nonlocal y
        lines.append(_Line("pooled", y, p))
        y += 1.0
        if p.note:
            n = p.note.count("\n") + 1
            lines.append(_Line("note", y - 0.1, p, text=p.note))
            y += 0.85 * n

    first_study_top = header_bottom
    if groups is None:
        for s in studies:
            lines.append(_Line("study", y, s))
            y += 1.0
    else:
        for gi, g in enumerate(groups):
            if gi > 0:
                y += 0.5
            lines.append(_Line("group", y, text=g))
            y += 1.0
            for s in studies:
                if s.group == g:
                    lines.append(_Line("study", y, s))
                    y += 1.0
            for p in pooled_items:
                if p.group == g:
                    add_pooled(p)
    bottom_pooled = [p for p in pooled_items if p.group is None]
    if bottom_pooled:
        y += 0.5
        for p in bottom_pooled:
            add_pooled(p)
    data_lines = [ln for ln in lines if ln.kind in ("study", "pooled")]
    last_center = max((ln.y for ln in data_lines), default=header_bottom + 0.75)
    null_bottom = last_center + 0.5
    y_end = max(y - 0.5, header_bottom + 0.5) + 0.25

    # ------------------------------------------------------------------
    # horizontal layout (inches)
    # ------------------------------------------------------------------
    indent = INDENT if groups is not None else 0.0
    lab_w = text_width(label_header, FONT_SIZE, "bold")
    for ln in lines:
        if ln.kind == "study":
            lab_w = max(lab_w, indent + text_width(ln.item.label, FONT_SIZE))
        elif ln.kind == "group":
            lab_w = max(lab_w, text_width(ln.text, FONT_SIZE, "bold"))
        elif ln.kind == "pooled":
            lab_w = max(lab_w, text_width(ln.item.label, FONT_SIZE, "bold"))
    cols = [_Col("label", label_header, width=lab_w, mode="left")]
    for name, header in extra_cols:
        col = _Col(name, header)
        values = [s.cells[name] for s in studies] + [p.cells[name] for p in pooled_items]
        col.mode = _column_mode(values)
        hw = text_width(header, FONT_SIZE, "bold")
        if col.mode == "slash":
            lw = rw = 0.0
            for v, bold in [(s.cells[name], False) for s in studies] + [(p.cells[name], True) for p in pooled_items]:
                if not v.strip():
                    continue
                a, b = _slash_parts(v)
                wt = "bold" if bold else "normal"
                lw = max(lw, text_width(a, FONT_SIZE, wt))
                rw = max(rw, text_width(b, FONT_SIZE, wt))
            col.left_w, col.right_w = lw, rw
            col.width = max(hw, lw + rw)
        else:
            dw = max(
                [text_width(s.cells[name], FONT_SIZE) for s in studies]
                + [text_width(p.cells[name], FONT_SIZE, "bold") for p in pooled_items]
                + [0.0]
            )
            col.width = max(hw, dw)
        cols.append(col)
    # notes span the whole left block; widen the label column if needed
    left_total = sum(c.width for c in cols) + COL_GAP * (len(cols) - 1)
    note_w = max([text_width(ln.text, SMALL_FONT_SIZE, style="italic") + indent for ln in lines if ln.kind == "note"] + [0.0])
    if note_w > left_total:
        cols[0].width += note_w - left_total
        left_total = note_w
    x = LEFT_MARGIN
    for c in cols:
        c.x0 = x
        x += c.width + COL_GAP
    plot_x0 = LEFT_MARGIN + left_total + PLOT_GAP

    # estimate column pieces
    est_rows: list[tuple[str, str, str, str]] = []  # (a, b, c, weight)
    for s in studies:
        if s.estimable:
            est_rows.append((fmt(tr(s.estimate)), f"[{fmt(tr(s.ci_lb))},", f"{fmt(tr(s.ci_ub))}]", "normal"))
    for p in pooled_items:
        if p.estimable:
            est_rows.append((fmt(tr(p.estimate)), f"[{fmt(tr(p.ci_lb))},", f"{fmt(tr(p.ci_ub))}]", "bold"))
    wa = max([text_width(a, FONT_SIZE, w) for a, _, _, w in est_rows] + [0.0])
    wb = max([text_width(b, FONT_SIZE, w) for _, b, _, w in est_rows] + [0.0])
    wc = max([text_width(c, FONT_SIZE, w) for _, _, c, w in est_rows] + [0.0])
    block = wa + SPACE + wb + SPACE + wc
    est_w = max(block, text_width(estimate_header, FONT_SIZE, "bold"))

    weight_strs = [f"{s.weight:.{WEIGHT_DECIMALS}f}%" for s in studies if s.estimable and math.isfinite(s.weight)]
    wd = max([text_width(w, FONT_SIZE) for w in weight_strs] + [text_width("\u2013", FONT_SIZE)])
    weight_w = max(wd, text_width(weight_header, FONT_SIZE, "bold"))

    # the plot column must leave room for reasons of non-estimable rows,
    # which may run on into the (empty) number columns of the same row
    plot_w = PLOT_WIDTH
    reason_w = max(
        [text_width(s.reason, SMALL_FONT_SIZE, style="italic") for s in studies if not s.estimable]
        + [text_width("not estimable", SMALL_FONT_SIZE, style="italic")] * bool(pooled_items)
        + [0.0]
    )
    avail = plot_w - 0.06 + PLOT_GAP + est_w + COL_GAP + weight_w
    if reason_w > avail:
        plot_w += reason_w - avail
    plot_x1 = plot_x0 + plot_w
    est_x0 = plot_x1 + PLOT_GAP
    bx0 = est_x0 + (est_w - block) / 2
    xa = bx0 + wa
    xb = xa + SPACE + wb
    xc = xb + SPACE + wc
    weight_x0 = est_x0 + est_w + COL_GAP
    weight_right = weight_x0 + (weight_w + wd) / 2
    fig_w = weight_x0 + weight_w + RIGHT_MARGIN

    # ------------------------------------------------------------------
    # vertical sizes (inches)
    # ------------------------------------------------------------------
    content_w = fig_w - LEFT_MARGIN - RIGHT_MARGIN
    title_text = wrap_text(title, content_w, TITLE_FONT_SIZE, "bold") if title else ""
    title_h = (title_text.count("\n") + 1) * TITLE_FONT_SIZE * 1.3 / 72 + 0.08 if title else 0.0
    xlabel_text = wrap_text(measure_label, plot_w + 2 * PLOT_GAP, FONT_SIZE)
    axis_h = (3.5 + 3.5 + TICK_FONT_SIZE * 1.25 + 4.0 + FONT_SIZE * 1.25 * (xlabel_text.count("\n") + 1)) / 72 + 0.06
    rows_h = y_end * ROW_H

    has_aggregate = any(s.source == "aggregate" for s in studies if s.estimable)
    has_unweighted = any(s.estimable and not math.isfinite(s.weight) for s in studies)
    has_pi = any(p.estimable and math.isfinite(p.pi_lb) and math.isfinite(p.pi_ub) for p in pooled_items)
    handles: list[Line2D] = []
    if has_aggregate:
        handles.append(Line2D([], [], ls="none", marker="s", ms=7, mfc=STUDY_COLOR, mec=STUDY_COLOR,
                              label="Individual participant data"))
        handles.append(Line2D([], [], ls="none", marker="o", ms=7.5, mfc=AGGREGATE_COLOR, mec=AGGREGATE_COLOR,
                              label="Aggregate data"))
    if has_unweighted:
        handles.append(Line2D([], [], ls="none", marker="s", ms=6, mfc="white", mec=STUDY_COLOR, mew=1.0,
                              label="Not weighted in pooled estimate"))
    if has_pi:
        handles.append(Line2D([], [], color=PI_COLOR, lw=1.0, marker="|", ms=6, label="95% prediction interval"))
    legend_h = 0.3 if handles else 0.0
    foot_text = wrap_text(footnote, content_w, SMALL_FONT_SIZE) if footnote else ""
    foot_h = (foot_text.count("\n") + 1) * SMALL_FONT_SIZE * 1.3 / 72 + 0.06 if footnote else 0.0

    fig_h = TOP_MARGIN + title_h + rows_h + axis_h + legend_h + foot_h + BOTTOM_MARGIN

    # ------------------------------------------------------------------
    # draw
    # ------------------------------------------------------------------
    with style_context():
        fig = new_figure(fig_w, fig_h)
        ax_bottom = fig_h - TOP_MARGIN - title_h - rows_h
        ax = fig.add_axes((plot_x0 / fig_w, ax_bottom / fig_h, plot_w / fig_w, rows_h / fig_h))
        ax.set_label("forest")
        ax.set_ylim(y_end, 0.0)
        ax.set_facecolor("none")
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.yaxis.set_major_locator(NullLocator())
        ax.yaxis.set_minor_locator(NullLocator())
        if exponentiate:
            ax.set_xscale("log")
        ax.set_xlim(xmin, xmax)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(ticks, labels=[fmt_tick(t) if exponentiate else fmt_number(t, _tick_decimals(ticks)) for t in ticks])
        ax.set_xlabel(xlabel_text)
        ax.tick_params(axis="x", labelsize=TICK_FONT_SIZE)

        blend = blended_transform_factory(fig.dpi_scale_trans, ax.transData)

        def put(xi, yi, s, *, ha="left", size=FONT_SIZE, weight="normal", style="normal",
                color=TEXT_COLOR, va="baseline", gid=None, **kw):
            if va == "baseline":
                yi = yi + 0.36 * size / 72 / ROW_H  # optical centre on the row
            t = ax.text(xi, yi, s, transform=blend, ha=ha, va=va, fontsize=size, fontweight=weight,
                        fontstyle=style, color=color, clip_on=False, parse_math=False, **kw)
            if gid:
                t.set_gid(gid)
            return t

        # headers + rule
        hy = header_bottom - 0.18
        for c in cols:
            if c.mode == "left":
                put(c.x0, hy, c.header, weight="bold", va="bottom", multialignment="left")
            elif c.mode == "right":
                put(c.x0 + c.width, hy, c.header, ha="right", weight="bold", va="bottom", multialignment="right")
            else:
                put(c.x0 + c.width / 2, hy, c.header, ha="center", weight="bold", va="bottom",
                    multialignment="center")
        put(est_x0 + est_w / 2, hy, estimate_header, ha="center", weight="bold", va="bottom", multialignment="center")
        put(weight_x0 + weight_w / 2, hy, weight_header, ha="center", weight="bold", va="bottom",
            multialignment="center")
        ax.add_line(Line2D([LEFT_MARGIN, fig_w - RIGHT_MARGIN], [header_bottom, header_bottom], transform=blend,
                           color=RULE_COLOR, lw=0.8, clip_on=False))

        # null line
        if xmin < null_x < xmax or math.isclose(null_x, xmin) or math.isclose(null_x, xmax):
            ax.add_line(Line2D([null_x, null_x], [first_study_top, null_bottom], color=NULL_LINE_COLOR,
                               lw=0.8, zorder=1.5))

        wmax = max([s.weight for s in studies if s.estimable and math.isfinite(s.weight)] + [0.0])

        def cells(item, yy, weight="normal", color=TEXT_COLOR):
            for c in cols[1:]:
                v = item.cells.get(c.name, "")
                if not v.strip():
                    continue
                if c.mode == "left":
                    put(c.x0, yy, v, weight=weight, color=color)
                elif c.mode == "right":
                    put(c.x0 + c.width, yy, v, ha="right", weight=weight, color=color)
                else:
                    sx = c.x0 + (c.width - c.left_w - c.right_w) / 2 + c.left_w
                    a, b = _slash_parts(v)
                    if b:
                        put(sx, yy, a, ha="right", weight=weight, color=color)
                        put(sx, yy, b, ha="left", weight=weight, color=color)
                    else:
                        put(sx, yy, a, ha="center", weight=weight, color=color)

        def numbers(est, lb, ub, yy, weight="normal"):
            put(xa, yy, fmt(tr(est)), ha="right", weight=weight)
            put(xb, yy, f"[{fmt(tr(lb))},", ha="right", weight=weight)
            put(xc, yy, f"{fmt(tr(ub))}]", ha="right", weight=weight)

        def interval(lo, hi, yy, color, lw, caps=False):
            """Horizontal interval on the display scale with arrows past the limits."""
            lo_d, hi_d = tr(lo), tr(hi)
            if hi_d < xmin or lo_d > xmax:
                # entirely outside: a single arrow on that side
                side_x, mk = (xmin, "<") if hi_d < xmin else (xmax, ">")
                ax.add_line(Line2D([side_x], [yy], ls="none", marker=mk, ms=ARROW_SIZE, color=color,
                                   clip_on=False, zorder=3))
                return
            a, b = max(lo_d, xmin), min(hi_d, xmax)
            ax.add_line(Line2D([a, b], [yy, yy], color=color, lw=lw, zorder=2, solid_capstyle="butt"))
            if lo_d < xmin:
                ax.add_line(Line2D([xmin], [yy], ls="none", marker="<", ms=ARROW_SIZE, color=color,
                                   clip_on=False, zorder=3))
            elif caps:
                ax.add_line(Line2D([a], [yy], ls="none", marker="|", ms=6, mew=lw, color=color, zorder=2))
            if hi_d > xmax:
                ax.add_line(Line2D([xmax], [yy], ls="none", marker=">", ms=ARROW_SIZE, color=color,
                                   clip_on=False, zorder=3))
            elif caps:
                ax.add_line(Line2D([b], [yy], ls="none", marker="|", ms=6, mew=lw, color=color, zorder=2))

        for ln in lines:
            yy = ln.y
            if ln.kind == "group":
                put(cols[0].x0, yy, ln.text, weight="bold")
            elif ln.kind == "study":
                s: _Study = ln.item
                color = TEXT_COLOR if s.estimable else MUTED_COLOR
                put(cols[0].x0 + indent, yy, s.label, color=color, gid="study-label")
                cells(s, yy, color=color)
                if not s.estimable:
                    put(plot_x0 + 0.06, yy, s.reason, size=SMALL_FONT_SIZE, style="italic", color=MUTED_COLOR,
                        gid="not-estimable-reason", zorder=4,
                        bbox=dict(facecolor="white", edgecolor="none", pad=0.6))
                    continue
                mcolor = AGGREGATE_COLOR if s.source == "aggregate" else STUDY_COLOR
                interval(s.ci_lb, s.ci_ub, yy, mcolor, 1.0)
                est_d = tr(s.estimate)
                if xmin <= est_d <= xmax:
                    if math.isfinite(s.weight) and wmax > 0:
                        side = max(MIN_SIDE, MAX_SIDE * math.sqrt(max(s.weight, 0.0) / wmax))
                        face = mcolor
                    else:
                        side, face = MIN_SIDE + 1.5, "white"
                    if s.source == "aggregate":
                        marker, size = "o", side * 1.128  # equal area to the square
                    else:
                        marker, size = "s", side
                    ax.add_line(Line2D([est_d], [yy], ls="none", marker=marker, ms=size, mfc=face, mec=mcolor,
                                       mew=0.9, zorder=3))
                numbers(s.estimate, s.ci_lb, s.ci_ub, yy)
                wtxt = f"{s.weight:.{WEIGHT_DECIMALS}f}%" if math.isfinite(s.weight) else "\u2013"
                put(weight_right, yy, wtxt, ha="right")
            elif ln.kind == "pooled":
                p: _Pooled = ln.item
                put(cols[0].x0, yy, p.label, weight="bold", gid="pooled-label")
                cells(p, yy, weight="bold")
                if not p.estimable:
                    put(plot_x0 + 0.06, yy, "not estimable", size=SMALL_FONT_SIZE, style="italic",
                        color=MUTED_COLOR, zorder=4, bbox=dict(facecolor="white", edgecolor="none", pad=0.6))
                    continue
                if math.isfinite(p.pi_lb) and math.isfinite(p.pi_ub):
                    interval(min(p.pi_lb, p.pi_ub), max(p.pi_lb, p.pi_ub), yy, PI_COLOR, 1.0, caps=True)
                lo_d, est_d, hi_d = tr(p.ci_lb), tr(p.estimate), tr(p.ci_ub)
                h = DIAMOND_HALF_HEIGHT
                ax.add_patch(Polygon([(lo_d, yy), (est_d, yy - h), (hi_d, yy), (est_d, yy + h)], closed=True,
                                     facecolor=POOLED_COLOR, edgecolor=POOLED_COLOR, lw=0.6, zorder=3))
                if lo_d < xmin:
                    ax.add_line(Line2D([xmin], [yy], ls="none", marker="<", ms=ARROW_SIZE, color=POOLED_COLOR,
                                       clip_on=False, zorder=3))
                if hi_d > xmax:
                    ax.add_line(Line2D([xmax], [yy], ls="none", marker=">", ms=ARROW_SIZE, color=POOLED_COLOR,
                                       clip_on=False, zorder=3))
                numbers(p.estimate, p.ci_lb, p.ci_ub, yy, weight="bold")
            elif ln.kind == "note":
                put(cols[0].x0 + indent, yy, ln.text, size=SMALL_FONT_SIZE, style="italic", color=MUTED_COLOR,
                    va="top", gid="pooled-note")

        # title, legend, footnote (figure coordinates)
        if title:
            t = fig.text(LEFT_MARGIN / fig_w, 1 - TOP_MARGIN / fig_h, title_text, ha="left", va="top",
                         fontsize=TITLE_FONT_SIZE, fontweight="bold", parse_math=False)
            t.set_gid("title")
        below_axis = ax_bottom - axis_h
        if handles:
            fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(LEFT_MARGIN / fig_w, below_axis / fig_h),
                       ncol=len(handles), frameon=False, fontsize=SMALL_FONT_SIZE, handlelength=1.6,
                       handletextpad=0.5, columnspacing=1.4, borderaxespad=0.0, borderpad=0.0)
        if footnote:
            t = fig.text(LEFT_MARGIN / fig_w, (below_axis - legend_h) / fig_h, foot_text, ha="left", va="top",
                         fontsize=SMALL_FONT_SIZE, color=MUTED_COLOR, parse_math=False)
            t.set_gid("footnote")
        return finalize(fig)


def _tick_decimals(ticks: list[float]) -> int:
    for d in range(0, 4):
        if all(abs(round(t, d) - t) < 1e-9 for t in ticks):
            return d
    return 3
