"""Flow diagram (PRISMA-IPD style): boxes and arrows, drawn with matplotlib's Figure API.

A diagram is a list of phases (drawn as labelled bands on the left), each a list of steps. A
step is a main box in the central column; it may have a side box (what left the flow after
that step: studies or patients excluded, with reasons), drawn to the right of the arrow that
leads to the next step, with an arrow of its own. Layout is computed in inches from measured
text widths, so the figure grows to fit its text and nothing overlaps; every text line is its
own artist (gid `flow-title`, `flow-line`, `flow-phase`, `title`) so tests can find them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .style import (
    FONT_SIZE,
    MUTED_COLOR,
    SMALL_FONT_SIZE,
    STUDY_COLOR,
    TEXT_COLOR,
    TITLE_FONT_SIZE,
    finalize,
    new_figure,
    style_context,
    wrap_text,
)

__all__ = ["FlowBox", "FlowStep", "FlowPhase", "flow_diagram"]

# Geometry (inches)
MARGIN = 0.15
PHASE_W = 0.30
PHASE_GAP = 0.15
MAIN_W = 3.2
SIDE_GAP = 0.45
SIDE_W = 3.3
PAD_X = 0.09
PAD_Y = 0.07
MIN_GAP = 0.32  # vertical gap between consecutive main boxes
SIDE_PAD = 0.12  # clearance above and below a side box inside the gap
TITLE_H = 0.40
LINE = 1.28 / 72  # line height per point of font size
HANG = 0.1  # indent of a wrapped line's continuation

MAIN_FACE = "#EEF4FA"
SIDE_FACE = "#F7F7F7"
PHASE_FACE = "#D6E6F4"
ARROW_COLOR = "#333333"


@dataclass
class FlowBox:
    """A box: a bold title and body lines (each wrapped to the box width)."""

    title: str
    lines: Sequence[str] = ()


@dataclass
class FlowStep:
    box: FlowBox
    side: FlowBox | None = None


@dataclass
class FlowPhase:
    name: str
    steps: list[FlowStep] = field(default_factory=list)


@dataclass
class _Placed:
    x: float
    y: float
    w: float
    h: float
    title: list[str]
    lines: list[list[str]]
    side: bool


def _wrap_box(box: FlowBox, width: float) -> tuple[list[str], list[list[str]], float]:
    inner = width - 2 * PAD_X
    title = wrap_text(box.title, inner, FONT_SIZE, "bold").split("\n")
    lines = [wrap_text(line, inner - HANG, SMALL_FONT_SIZE).split("\n") for line in box.lines]
    height = 2 * PAD_Y + len(title) * FONT_SIZE * LINE + sum(len(ls) for ls in lines) * SMALL_FONT_SIZE * LINE
    if lines:
        height += 0.04  # gap under the title
    return title, lines, height


def _arrow(ax, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, linewidth=0.9, color=ARROW_COLOR,
                                 shrinkA=0, shrinkB=0, gid="flow-arrow"))


def flow_diagram(phases: Sequence[FlowPhase], *, title: str | None = None, main_width: float = MAIN_W,
                 side_width: float = SIDE_W) -> Figure:
    """Draw the flow diagram and return the (pyplot-free) Figure."""
    steps = [(phase_index, step) for phase_index, phase in enumerate(phases) for step in phase.steps]
    if not steps:
        raise ValueError("flow_diagram: no steps")
    has_side = any(step.side is not None for _, step in steps)
    x_main = MARGIN + PHASE_W + PHASE_GAP
    x_side = x_main + main_width + SIDE_GAP
    width = (x_side + side_width if has_side else x_main + main_width) + MARGIN

    # vertical layout (y grows downwards)
    y = MARGIN + (TITLE_H if title else 0.0)
    mains: list[_Placed] = []
    sides: list[_Placed | None] = []
    phase_spans: dict[int, list[float]] = {}
    for index, (phase_index, step) in enumerate(steps):
        t, ls, h = _wrap_box(step.box, main_width)
        mains.append(_Placed(x_main, y, main_width, h, t, ls, False))
        span = phase_spans.setdefault(phase_index, [y, y + h])
        span[1] = y + h
        y += h
        side = None
        if step.side is not None:
            st, sls, sh = _wrap_box(step.side, side_width)
            gap = max(MIN_GAP, sh + 2 * SIDE_PAD)
            side = _Placed(x_side, y + (gap - sh) / 2, side_width, sh, st, sls, True)
            y += gap
        elif index < len(steps) - 1:
            y += MIN_GAP
        sides.append(side)
    height = max(y, max((s.y + s.h for s in sides if s), default=0.0)) + MARGIN

    with style_context():
        fig = new_figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_axis_off()
        ax.set_label("flow")
        if title:
            ax.text(MARGIN, MARGIN, title, ha="left", va="top", fontsize=TITLE_FONT_SIZE, fontweight="bold",
                    color=TEXT_COLOR, gid="title")
        for phase_index, (top, bottom) in phase_spans.items():
            ax.add_patch(FancyBboxPatch((MARGIN, top), PHASE_W, bottom - top, boxstyle="round,pad=0,rounding_size=0.05",
                                        facecolor=PHASE_FACE, edgecolor="none", gid="flow-phase-band"))
            ax.text(MARGIN + PHASE_W / 2, (top + bottom) / 2, phases[phase_index].name, rotation=90, ha="center",
                    va="center", fontsize=FONT_SIZE, fontweight="bold", color=TEXT_COLOR, gid="flow-phase")
        for placed in mains + [s for s in sides if s]:
            _draw_box(ax, placed)
        centre = x_main + main_width / 2
        for index, main in enumerate(mains):
            bottom = main.y + main.h
            if index + 1 < len(mains):
                _arrow(ax, (centre, bottom), (centre, mains[index + 1].y))
            side = sides[index]
            if side is not None:
                mid = side.y + side.h / 2
                if index + 1 == len(mains):  # a side box after the last step: a stub down, then across
                    ax.plot([centre, centre], [bottom, mid], color=ARROW_COLOR, linewidth=0.9, solid_capstyle="butt")
                _arrow(ax, (centre, mid), (side.x, mid))
        return finalize(fig)


def _draw_box(ax, p: _Placed) -> None:
    ax.add_patch(FancyBboxPatch((p.x, p.y), p.w, p.h, boxstyle="round,pad=0,rounding_size=0.05",
                                facecolor=SIDE_FACE if p.side else MAIN_FACE,
                                edgecolor=MUTED_COLOR if p.side else STUDY_COLOR, linewidth=1.0,
                                gid="flow-side" if p.side else "flow-box"))
    y = p.y + PAD_Y
    for line in p.title:
        ax.text(p.x + PAD_X, y, line, ha="left", va="top", fontsize=FONT_SIZE, fontweight="bold", color=TEXT_COLOR,
                gid="flow-title")
        y += FONT_SIZE * LINE
    if p.lines:
        y += 0.04
    for wrapped in p.lines:
        for i, line in enumerate(wrapped):
            ax.text(p.x + PAD_X + (0.0 if i == 0 else HANG), y, line, ha="left", va="top", fontsize=SMALL_FONT_SIZE,
                    color=TEXT_COLOR, gid="flow-line")
            y += SMALL_FONT_SIZE * LINE
