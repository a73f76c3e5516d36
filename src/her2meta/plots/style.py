"""Shared style constants and small helpers for all her2meta figures.

Everything here is deterministic: the font is pinned to DejaVu Sans (shipped
with matplotlib, so the output does not depend on the fonts installed on the
machine), colours come from the Okabe-Ito colour-blind-safe palette, and text
widths are measured from the font files rather than guessed.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from functools import lru_cache

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

# --------------------------------------------------------------------------
# Palette (Okabe & Ito 2008, "Color Universal Design"), safe for the common
# forms of colour-vision deficiency and distinguishable in greyscale when
# combined with the marker / line-style redundancy used in the plots.
# --------------------------------------------------------------------------
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Order in which series colours are used (yellow last: poor contrast on white).
SERIES_COLORS: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["orange"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
)
#: Line styles paired with SERIES_COLORS so curves stay distinct in greyscale.
SERIES_LINESTYLES: tuple[str | tuple, ...] = (
    "-",
    (0, (5, 2)),
    (0, (5, 1.5, 1, 1.5)),
    (0, (1, 1.2)),
    (0, (8, 2, 1, 2, 1, 2)),
    (0, (3, 1)),
    "-",
    (0, (5, 2)),
)

TEXT_COLOR = "#000000"
#: Grey for secondary text (not-estimable rows, notes). Dark enough to print.
MUTED_COLOR = "#595959"
RULE_COLOR = "#000000"
NULL_LINE_COLOR = "#4D4D4D"
BAND_ALPHA = 0.18

STUDY_COLOR = OKABE_ITO["blue"]  # IPD studies: squares
AGGREGATE_COLOR = OKABE_ITO["vermillion"]  # aggregate-data studies: circles
POOLED_COLOR = "#1A1A1A"  # summary diamonds
PI_COLOR = "#000000"  # prediction-interval line

# --------------------------------------------------------------------------
# Typography (points)
# --------------------------------------------------------------------------
FONT_FAMILY = "DejaVu Sans"
FONT_SIZE = 9.0
SMALL_FONT_SIZE = 8.0
TICK_FONT_SIZE = 8.5
TITLE_FONT_SIZE = 11.0

#: Decimals for estimates and confidence limits (after exponentiation).
ESTIMATE_DECIMALS = 2
#: Decimals for study weights (percent).
WEIGHT_DECIMALS = 1

#: Resolution of saved PNGs.
PNG_DPI = 200
#: Fixed salt for SVG element ids, so SVG output is byte-identical across runs.
SVG_HASHSALT = "her2meta"

RC: dict[str, object] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "font.size": FONT_SIZE,
    "text.usetex": False,
    "text.color": TEXT_COLOR,
    "axes.unicode_minus": True,
    "axes.linewidth": 0.8,
    "axes.edgecolor": "#000000",
    "axes.labelcolor": TEXT_COLOR,
    "axes.labelsize": FONT_SIZE,
    "axes.titlesize": TITLE_FONT_SIZE,
    "axes.facecolor": "white",
    "axes.prop_cycle": mpl.cycler(color=list(SERIES_COLORS)),
    "xtick.labelsize": TICK_FONT_SIZE,
    "ytick.labelsize": TICK_FONT_SIZE,
    "xtick.color": "#000000",
    "ytick.color": "#000000",
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "xtick.major.size": 3.5,
    "ytick.major.size": 3.5,
    "xtick.minor.visible": False,
    "ytick.minor.visible": False,
    "lines.linewidth": 1.3,
    "legend.fontsize": SMALL_FONT_SIZE,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "svg.fonttype": "path",
    "svg.image_inline": True,
    "svg.hashsalt": SVG_HASHSALT,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}


@contextlib.contextmanager
def style_context() -> Iterator[None]:
    """Temporarily apply the her2meta rcParams (restored on exit)."""
    with mpl.rc_context(RC):
        yield


def new_figure(width_in: float, height_in: float) -> Figure:
    """A fresh, pyplot-free figure bound to the non-interactive Agg canvas.

    Call inside :func:`style_context` so rc-dependent defaults are applied.
    """
    fig = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def finalize(fig: Figure) -> Figure:
    """Materialise lazily created artists (ticks) while the style is active."""
    fig.draw_without_rendering()
    return fig


# --------------------------------------------------------------------------
# Text measurement (points -> inches), independent of any figure.
# --------------------------------------------------------------------------
_TTP = TextToPath()


@lru_cache(maxsize=64)
def _font(size: float, weight: str, style: str) -> FontProperties:
    return FontProperties(family=FONT_FAMILY, size=size, weight=weight, style=style)


@lru_cache(maxsize=8192)
def text_width(text: str, size: float = FONT_SIZE, weight: str = "normal",
               style: str = "normal") -> float:
    """Width in inches of ``text`` (widest line) as rendered in FONT_FAMILY."""
    if not text:
        return 0.0
    prop = _font(size, weight, style)
    widest = 0.0
    for line in text.split("\n"):
        if not line:
            continue
        w, _h, _d = _TTP.get_text_width_height_descent(line, prop, ismath=False)
        widest = max(widest, w)
    # small safety margin: Agg hinting can widen glyph runs by ~1 %
    return widest / 72.0 * 1.02


def wrap_text(text: str, max_width_in: float, size: float = FONT_SIZE,
              weight: str = "normal", style: str = "normal") -> str:
    """Greedy word wrap to a width in inches, using measured widths."""
    out: list[str] = []
    for para in str(text).split("\n"):
        words = para.split(" ")
        line = ""
        for word in words:
            trial = word if not line else f"{line} {word}"
            if line and text_width(trial, size, weight, style) > max_width_in:
                out.append(line)
                line = word
            else:
                line = trial
        out.append(line)
    return "\n".join(out)


# --------------------------------------------------------------------------
# Number formatting
# --------------------------------------------------------------------------
MINUS = "\u2212"


def fmt_number(value: float, decimals: int = ESTIMATE_DECIMALS) -> str:
    """Fixed-decimal format with a typographic minus; extreme values bounded."""
    if value is None or not math.isfinite(value):
        return "NA" if value is None or math.isnan(value) else ("\u221e" if value > 0 else MINUS + "\u221e")
    s = f"{value:.{decimals}f}"
    if s.startswith("-"):
        s = MINUS + s[1:]
    return s


def fmt_ratio(value: float, decimals: int = ESTIMATE_DECIMALS) -> str:
    """Format a ratio (exponentiated) value; values that would print as 0.00
    are shown as '<0.01' and very large ones as '>9999' so no CI bound reads 0."""
    if value is None or not math.isfinite(value):
        return fmt_number(value, decimals)
    floor = 0.5 * 10.0 ** (-decimals)
    if value < floor:
        return "<" + f"{10.0 ** (-decimals):.{decimals}f}"
    if value >= 9999.5:
        return ">9999"
    return f"{value:.{decimals}f}"


# --------------------------------------------------------------------------
# Axis helpers shared by the forest and funnel plots
# --------------------------------------------------------------------------
_NICE_MANTISSAS = (1.0, 2.0, 5.0)


def _nice_log_values(lo: float, hi: float) -> list[float]:
    """All 1-2-5 values between 10**floor(log10 lo) and 10**ceil(log10 hi)."""
    e_lo = math.floor(math.log10(lo)) - 1
    e_hi = math.ceil(math.log10(hi)) + 1
    vals = [m * 10.0**e for e in range(e_lo, e_hi + 1) for m in _NICE_MANTISSAS]
    return sorted(round(v, 12) for v in vals)


def nice_log_limits(lo: float, hi: float) -> tuple[float, float, list[float]]:
    """Snap a positive range outward to 1-2-5 values and choose tick values.

    Returns (xmin, xmax, ticks). Ticks are 1-2-5 values inside the limits,
    thinned to powers of ten when there would be more than 9 of them.
    """
    if not (lo > 0 and hi > 0):
        raise ValueError("log limits must be positive")
    if hi < lo:
        lo, hi = hi, lo
    if hi / lo < 1.0001:
        lo, hi = lo / 1.5, hi * 1.5
    vals = _nice_log_values(lo, hi)
    xmin = max(v for v in vals if v <= lo * (1 + 1e-9))
    xmax = min(v for v in vals if v >= hi * (1 - 1e-9))
    ticks = [v for v in vals if xmin * (1 - 1e-9) <= v <= xmax * (1 + 1e-9)]
    if len(ticks) > 9:
        decades = [v for v in ticks if abs(math.log10(v) - round(math.log10(v))) < 1e-9]
        if len(decades) >= 2:
            ticks = decades
    return xmin, xmax, ticks


def fmt_tick(value: float) -> str:
    """Tick label for a ratio scale: 0.1, 0.2, 0.5, 1, 2, 5, 10, ..."""
    s = f"{value:.6g}"
    if "e" in s:
        s = f"{value:g}"
    return s


def nice_linear_limits(lo: float, hi: float, nbins: int = 4) -> tuple[float, float, list[float]]:
    """Linear counterpart of :func:`nice_log_limits` using MaxNLocator."""
    from matplotlib.ticker import MaxNLocator

    if hi < lo:
        lo, hi = hi, lo
    if hi - lo < 1e-12:
        pad = max(abs(lo) * 0.5, 0.5)
        lo, hi = lo - pad, hi + pad
    ticks = list(MaxNLocator(nbins=nbins, steps=[1, 2, 5, 10]).tick_values(lo, hi))
    xmin, xmax = ticks[0], ticks[-1]
    return float(xmin), float(xmax), [float(t) for t in ticks]


def series_style(i: int) -> tuple[str, str | tuple]:
    """(colour, linestyle) for the i-th series."""
    return SERIES_COLORS[i % len(SERIES_COLORS)], SERIES_LINESTYLES[i % len(SERIES_LINESTYLES)]


def finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]
