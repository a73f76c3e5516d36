"""Publication-quality, deterministic figures for her2meta.

All figures are built with matplotlib's object-oriented API on the Agg
canvas (``matplotlib.figure.Figure``; pyplot is never used, so nothing leaks
between calls) in a colour-blind-safe (Okabe-Ito) palette, and saved with
:func:`save_figure` as byte-reproducible SVG + PNG.
"""

from .forest import forest_plot
from .funnel import funnel_plot
from .km import format_at_risk, km_plot, km_summary
from .placeholder import placeholder_figure
from .save import save_figure

__all__ = ["forest_plot", "funnel_plot", "km_plot", "km_summary", "format_at_risk", "placeholder_figure", "save_figure"]
