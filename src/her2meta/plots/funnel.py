"""Funnel plot: effect estimate against its standard error (inverted axis)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator

from .style import (
    FONT_SIZE,
    MUTED_COLOR,
    NULL_LINE_COLOR,
    SMALL_FONT_SIZE,
    STUDY_COLOR,
    TICK_FONT_SIZE,
    finalize,
    fmt_number,
    fmt_tick,
    new_figure,
    nice_linear_limits,
    nice_log_limits,
    style_context,
    wrap_text,
)

__all__ = ["funnel_plot"]

Z95 = 1.959963984540054
FIG_W = 4.8
AXES_H = 3.2
LEFT, RIGHT, TOP = 0.75, 0.2, 0.15


def funnel_plot(
    yi: Sequence[float] | np.ndarray,
    sei: Sequence[float] | np.ndarray,
    *,
    estimate: float,
    measure_label: str,
    exponentiate: bool = True,
) -> Figure:
    """Funnel plot of study estimates ``yi`` (log scale when ``exponentiate``)
    against standard errors ``sei`` (y axis inverted, 0 at the top), with the
    pseudo 95% confidence region ``estimate +/- 1.96 * SE`` shaded and a
    vertical line at the pooled ``estimate``. Studies with a non-finite
    estimate or SE (or SE <= 0) are left out and counted in a note.
    """
    y = np.asarray(yi, dtype=float).ravel()
    se = np.asarray(sei, dtype=float).ravel()
    if y.size != se.size:
        raise ValueError("funnel_plot: yi and sei differ in length")
    if not math.isfinite(float(estimate)):
        raise ValueError("funnel_plot: estimate must be finite")
    ok = np.isfinite(y) & np.isfinite(se) & (se > 0)
    dropped = int((~ok).sum())
    y, se = y[ok], se[ok]

    se_max = float(se.max()) * 1.1 if se.size else 1.0
    lo = min([estimate - Z95 * se_max] + list(y))
    hi = max([estimate + Z95 * se_max] + list(y))
    tr = np.exp if exponentiate else (lambda v: v)

    xlabel_text = wrap_text(measure_label, FIG_W - LEFT - RIGHT, FONT_SIZE)
    axis_h = (3.5 + 3.5 + TICK_FONT_SIZE * 1.25 + 4.0 + FONT_SIZE * 1.25 * (xlabel_text.count("\n") + 1)) / 72
    note_h = 0.22 if dropped else 0.0
    bottom = axis_h + note_h + 0.12
    fig_h = TOP + AXES_H + bottom

    with style_context():
        fig = new_figure(FIG_W, fig_h)
        ax = fig.add_axes((LEFT / FIG_W, bottom / fig_h, (FIG_W - LEFT - RIGHT) / FIG_W, AXES_H / fig_h))
        ax.set_label("funnel")
        for side in ("right", "top"):
            ax.spines[side].set_visible(False)
        if exponentiate:
            ax.set_xscale("log")
            xmin, xmax, ticks = nice_log_limits(math.exp(lo), math.exp(hi))
            labels = [fmt_tick(t) for t in ticks]
        else:
            xmin, xmax, ticks = nice_linear_limits(lo, hi)
            labels = [fmt_number(t, 2 if any(abs(t - round(t)) > 1e-9 for t in ticks) else 0) for t in ticks]

        # pseudo 95% confidence region, drawn densely so it is straight on
        # the analysis scale even when the axis is logarithmic
        s_grid = np.linspace(0.0, se_max, 101)
        left_edge = tr(estimate - Z95 * s_grid)
        right_edge = tr(estimate + Z95 * s_grid)
        ax.fill_betweenx(s_grid, left_edge, right_edge, color="#E6E6E6", lw=0, zorder=0,
                         label="Pseudo 95% confidence region")
        ax.plot(left_edge, s_grid, color=NULL_LINE_COLOR, lw=0.8, ls=(0, (4, 2)), zorder=1)
        ax.plot(right_edge, s_grid, color=NULL_LINE_COLOR, lw=0.8, ls=(0, (4, 2)), zorder=1)
        ax.add_line(Line2D([tr(estimate)] * 2, [0, se_max], color="#000000", lw=1.0, zorder=1))
        ax.plot(tr(y), se, ls="none", marker="o", ms=5.5, mfc=STUDY_COLOR, mec="white", mew=0.6, zorder=3)

        ax.set_xlim(xmin, xmax)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xticks(ticks, labels=labels)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_ylim(se_max, 0.0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.tick_params(labelsize=TICK_FONT_SIZE)
        ax.set_xlabel(xlabel_text)
        ax.set_ylabel("Standard error")
        if dropped:
            fig.text(0.1 / FIG_W, 0.08 / fig_h, f"{dropped} stud{'y' if dropped == 1 else 'ies'} without a finite "
                     "estimate and standard error not shown", fontsize=SMALL_FONT_SIZE, color=MUTED_COLOR,
                     ha="left", va="bottom", gid="funnel-note")
        return finalize(fig)
