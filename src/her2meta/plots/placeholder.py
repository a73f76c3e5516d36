"""A figure that cannot be drawn: a small image saying what it would show and why it is not.

The workflow declares each figure as an output; where the data cannot support it (no study
informs the analysis, a compared group is empty, too few patients for a curve) the file still
exists, and says so, instead of the job failing."""

from __future__ import annotations

from matplotlib.figure import Figure

from .style import MUTED_COLOR, SMALL_FONT_SIZE, TITLE_FONT_SIZE, finalize, new_figure, style_context, wrap_text

WIDTH_IN = 6.5
#: SVG element id of the "Not drawn: <reason>" text.
PLACEHOLDER_ID = "not-drawn"


def placeholder_figure(title: str, reason: str) -> Figure:
    """`title` in bold, then "Not drawn: <reason>", wrapped to the figure's width."""
    with style_context():
        heading = wrap_text(title, WIDTH_IN - 0.6, TITLE_FONT_SIZE, weight="bold")
        body = wrap_text(f"Not drawn: {reason}", WIDTH_IN - 0.6, SMALL_FONT_SIZE + 1)
        lines = heading.count("\n") + body.count("\n") + 2
        fig = new_figure(WIDTH_IN, 0.5 + 0.22 * lines)
        fig.text(0.3 / WIDTH_IN, 0.88, heading, fontsize=TITLE_FONT_SIZE, fontweight="bold", va="top", ha="left")
        # The id marks the SVG as a placeholder (text is drawn as paths, so it cannot be searched).
        fig.text(0.3 / WIDTH_IN, 0.12, body, fontsize=SMALL_FONT_SIZE + 1, color=MUTED_COLOR, va="bottom", ha="left",
                 gid=PLACEHOLDER_ID)
        return finalize(fig)
