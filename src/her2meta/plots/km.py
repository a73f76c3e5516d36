"""Kaplan-Meier plots from aggregate step-function summaries.

Privacy rule: :func:`km_plot` never sees patient rows. It draws curves from
aggregate summaries (timeline, survival, CI band, numbers at risk at chosen
times). Numbers at risk below ``min_count`` are printed as ``"<min_count"``.
:func:`km_summary` is the only function here that touches patient-level
``time``/``event`` data, and it returns only the aggregate dict km_plot needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator
from matplotlib.transforms import blended_transform_factory

from .style import (
    BAND_ALPHA,
    FONT_SIZE,
    SMALL_FONT_SIZE,
    TEXT_COLOR,
    TICK_FONT_SIZE,
    TITLE_FONT_SIZE,
    finalize,
    new_figure,
    series_style,
    style_context,
    text_width,
    wrap_text,
)

__all__ = ["km_plot", "km_summary", "format_at_risk", "KM_CI_METHOD"]

#: How km_summary's confidence band is computed (lifelines' default for
#: KaplanMeierFitter): pointwise CI on the log(-log S(t)) scale with the
#: Greenwood variance, a.k.a. the "exponential Greenwood" interval.
KM_CI_METHOD = "log(-log) transformed Greenwood (lifelines 'exponential Greenwood' default), pointwise"

# Geometry (inches)
FIG_WIDTH = 6.5
AXES_HEIGHT = 3.4
TOP_MARGIN = 0.12
BOTTOM_MARGIN = 0.12
RIGHT_MARGIN = 0.35
MIN_LEFT = 0.75  # room for y tick labels + ylabel
RISK_ROW_H = 0.19
CURVE_LW = 1.6


def format_at_risk(n: float | int | None, min_count: int = 5) -> str:
    """Number-at-risk cell text; counts below ``min_count`` become ``"<min_count"``."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return ""
    n = int(round(float(n)))
    if n < min_count:
        return f"<{min_count}"
    return str(n)


def _lookup(at_risk: Mapping[Any, Any], t: float) -> Any:
    for k, v in at_risk.items():
        try:
            kf = float(k)
        except (TypeError, ValueError):
            continue
        if math.isclose(kf, t, rel_tol=1e-9, abs_tol=1e-9):
            return v
    return None


def _as_array(curve: dict, key: str, n: int | None = None) -> np.ndarray | None:
    if curve.get(key) is None:
        return None
    arr = np.asarray(curve[key], dtype=float).ravel()
    if n is not None and arr.size != n:
        raise ValueError(f"km_plot: curve {curve.get('label')!r}: {key!r} has {arr.size} values, expected {n}")
    return arr


def _validate(curve: dict, i: int) -> tuple[np.ndarray, np.ndarray]:
    for key in ("label", "timeline", "survival"):
        if key not in curve:
            raise ValueError(f"km_plot: curve {i} has no {key!r}")
    t = _as_array(curve, "timeline")
    s = _as_array(curve, "survival", t.size)
    if t.size == 0:
        raise ValueError(f"km_plot: curve {curve['label']!r} is empty")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        raise ValueError(f"km_plot: curve {curve['label']!r}: timeline must be finite and non-decreasing")
    if t[0] != 0:
        raise ValueError(f"km_plot: curve {curve['label']!r}: timeline must start at 0")
    if np.any((s < -1e-12) | (s > 1 + 1e-12)):
        raise ValueError(f"km_plot: curve {curve['label']!r}: survival must lie in [0, 1]")
    return t, s


def _step_value(t: np.ndarray, s: np.ndarray, x: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(t, x, side="right") - 1
    idx = np.clip(idx, 0, len(s) - 1)
    return s[idx]


def km_plot(
    curves: list[dict],
    *,
    title: str,
    xlabel: str = "Months",
    ylabel: str,
    risk_table_times: list[float] | None = None,
    min_count: int = 5,
) -> Figure:
    """Kaplan-Meier step plot with optional CI bands, censor ticks and a
    numbers-at-risk table.

    Each curve is an aggregate dict: ``label``, ``timeline`` (starting at 0),
    ``survival``, optional ``ci_lower``/``ci_upper`` (shaded band),
    ``censor_times`` (tick marks) and ``at_risk`` (mapping time -> number at
    risk; keys may be numbers or numeric strings, e.g. after a JSON round trip).
    The table has one row per curve and one column per ``risk_table_times``
    (default: the union of the ``at_risk`` times); counts below
    ``min_count`` are shown as ``"<min_count"``.
    """
    if not curves:
        raise ValueError("km_plot: no curves")
    if min_count < 0:
        raise ValueError("km_plot: min_count must be >= 0")
    prepared = []
    for i, c in enumerate(curves):
        t, s = _validate(c, i)
        prepared.append((c, t, s))

    if risk_table_times is None:
        keys = set()
        for c, _, _ in prepared:
            for k in (c.get("at_risk") or {}):
                keys.add(float(k))
        times = sorted(keys)
    else:
        times = sorted(float(x) for x in risk_table_times)
    has_table = bool(times) and any(c.get("at_risk") for c, _, _ in prepared)

    t_end = max(float(t[-1]) for _, t, _ in prepared)
    if times:
        t_end = max(t_end, max(times))
    if t_end <= 0:
        t_end = 1.0

    labels = [str(c["label"]) for c, _, _ in prepared]
    label_w = max(text_width(lab, SMALL_FONT_SIZE, "bold") for lab in labels)
    # the first table column is centred on t = 0, i.e. on the y axis: keep
    # the row labels clear of half the widest cell
    cells = [format_at_risk(_lookup(c.get("at_risk") or {}, tt), min_count) for c, _, _ in prepared for tt in times]
    half_cell = max([text_width(x, SMALL_FONT_SIZE) for x in cells] + [0.0]) / 2
    label_gap = half_cell + 0.12
    left = max(MIN_LEFT, label_w + label_gap + 0.15 if has_table else 0.0)
    axes_w = FIG_WIDTH - left - RIGHT_MARGIN
    content_w = FIG_WIDTH - 0.24
    title_text = wrap_text(title, content_w, TITLE_FONT_SIZE, "bold") if title else ""
    title_h = (title_text.count("\n") + 1) * TITLE_FONT_SIZE * 1.3 / 72 + 0.12 if title else 0.0
    xlabel_text = wrap_text(xlabel, axes_w, FONT_SIZE)
    axis_h = (3.5 + 3.5 + TICK_FONT_SIZE * 1.25 + 4.0 + FONT_SIZE * 1.25 * (xlabel_text.count("\n") + 1)) / 72 + 0.08
    table_h = (0.12 + RISK_ROW_H * (len(prepared) + 1)) if has_table else 0.0
    fig_h = TOP_MARGIN + title_h + AXES_HEIGHT + axis_h + table_h + BOTTOM_MARGIN

    with style_context():
        fig = new_figure(FIG_WIDTH, fig_h)
        ax_bottom = fig_h - TOP_MARGIN - title_h - AXES_HEIGHT
        ax = fig.add_axes((left / FIG_WIDTH, ax_bottom / fig_h, axes_w / FIG_WIDTH, AXES_HEIGHT / fig_h))
        ax.set_label("km")
        for side in ("right", "top"):
            ax.spines[side].set_visible(False)

        for i, (c, t, s) in enumerate(prepared):
            color, ls = series_style(i)
            lo = _as_array(c, "ci_lower", t.size)
            hi = _as_array(c, "ci_upper", t.size)
            if lo is not None and hi is not None:
                ok = np.isfinite(lo) & np.isfinite(hi)
                ax.fill_between(t, np.where(ok, lo, np.nan), np.where(ok, hi, np.nan), step="post",
                                color=color, alpha=BAND_ALPHA, lw=0, zorder=1)
            ax.step(t, s, where="post", color=color, ls=ls, lw=CURVE_LW, label=str(c["label"]), zorder=2)
            ct = _as_array(c, "censor_times")
            if ct is not None and ct.size:
                ct = ct[np.isfinite(ct)]
                ax.plot(ct, _step_value(t, s, ct), ls="none", marker="|", ms=6, mew=1.0, color=color, zorder=3)

        ax.set_xlim(0, t_end)
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_locator(FixedLocator([0, 0.2, 0.4, 0.6, 0.8, 1.0]))
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0], labels=["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        ax.yaxis.set_minor_locator(NullLocator())
        if times and len(times) <= 15:
            ax.set_xticks(times, labels=[_fmt_time(x) for x in times])
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 3, 5, 6, 10], integer=True))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(xlabel_text)
        ax.set_ylabel(ylabel)
        ax.grid(False)
        leg = ax.legend(loc="best", frameon=False, fontsize=SMALL_FONT_SIZE, handlelength=2.6)
        leg.set_zorder(5)

        if title:
            t_artist = fig.text(0.12 / FIG_WIDTH, 1 - TOP_MARGIN / fig_h, title_text, ha="left", va="top",
                                fontsize=TITLE_FONT_SIZE, fontweight="bold", parse_math=False)
            t_artist.set_gid("title")

        if has_table:
            xdata_yinch = blended_transform_factory(ax.transData, fig.dpi_scale_trans)
            header_y = ax_bottom - axis_h - 0.04
            fig.text(0.12 / FIG_WIDTH, header_y / fig_h, "Number at risk", ha="left", va="top",
                     fontsize=SMALL_FONT_SIZE, fontweight="bold", gid="risk-header")
            for i, (c, _, _) in enumerate(prepared):
                color, ls = series_style(i)
                yy = header_y - 0.1 - RISK_ROW_H * (i + 1) + RISK_ROW_H / 2
                # row label right-aligned left of the axes, with a line sample
                fig.text((left - label_gap) / FIG_WIDTH, yy / fig_h, str(c["label"]), ha="right", va="center",
                         fontsize=SMALL_FONT_SIZE, color=color, fontweight="bold", parse_math=False,
                         gid="risk-label")
                at_risk = c.get("at_risk") or {}
                for tt in times:
                    txt = format_at_risk(_lookup(at_risk, tt), min_count)
                    if not txt:
                        continue
                    t_artist = ax.text(tt, yy, txt, transform=xdata_yinch, ha="center", va="center",
                                       fontsize=SMALL_FONT_SIZE, color=TEXT_COLOR, clip_on=False,
                                       parse_math=False)
                    t_artist.set_gid("risk-cell")
        return finalize(fig)


def _fmt_time(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def km_summary(
    time: Sequence[float] | np.ndarray,
    event: Sequence[bool] | np.ndarray,
    *,
    times: list[float] | None = None,
    show_censor_ticks: bool = False,
    label: str | None = None,
    alpha: float = 0.05,
) -> dict:
    """Kaplan-Meier estimate (lifelines) reduced to the aggregate dict for km_plot.

    The confidence band is lifelines' default for ``KaplanMeierFitter``: the
    pointwise log(-log) ("exponential Greenwood") interval at level
    ``1 - alpha``. The returned timeline holds 0, the distinct event times and
    the last follow-up time (pure censoring times are left out, so they cannot
    be read off the curve); ``censor_times`` is included only when
    ``show_censor_ticks`` is True. ``at_risk`` maps each of ``times`` to the
    number still at risk (time >= t), unmasked -- km_plot masks small counts.
    All values are plain Python floats/ints (JSON-serialisable).
    """
    from lifelines import KaplanMeierFitter

    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel()
    if t.size != e.size:
        raise ValueError("km_summary: time and event differ in length")
    if t.size == 0:
        raise ValueError("km_summary: no observations")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("km_summary: times must be finite and >= 0")
    e = e.astype(bool)

    kmf = KaplanMeierFitter(alpha=alpha)
    kmf.fit(t, event_observed=e, label=label or "KM")
    tl = kmf.survival_function_.index.to_numpy(dtype=float)
    sv = kmf.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    ci = kmf.confidence_interval_survival_function_
    lo = ci.iloc[:, 0].to_numpy(dtype=float)
    hi = ci.iloc[:, 1].to_numpy(dtype=float)

    event_times = np.unique(t[e])
    keep = (tl == 0) | np.isin(tl, event_times) | (tl == t.max())
    tl, sv, lo, hi = tl[keep], sv[keep], lo[keep], hi[keep]
    if tl[0] != 0 or sv[0] < 1.0:
        # events at time 0: start the curve at S = 1 and drop immediately
        tl = np.concatenate([[0.0], tl])
        sv = np.concatenate([[1.0], sv])
        lo = np.concatenate([[1.0], lo])
        hi = np.concatenate([[1.0], hi])

    out: dict[str, Any] = {
        "label": label if label is not None else "",
        "timeline": [float(x) for x in tl],
        "survival": [float(x) for x in sv],
        "ci_lower": [float(x) for x in lo],
        "ci_upper": [float(x) for x in hi],
        "ci_method": KM_CI_METHOD,
        "conf_level": 1 - alpha,
        "n": int(t.size),
        "n_events": int(e.sum()),
    }
    if times is not None:
        out["at_risk"] = {float(x): int(np.sum(t >= float(x))) for x in times}
    if show_censor_ticks:
        out["censor_times"] = [float(x) for x in np.sort(t[~e])]
    return out
