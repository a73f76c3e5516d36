"""Funnel plot (her2meta.plots.funnel)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.text import Text

from her2meta.plots import funnel_plot


def ax_of(fig):
    (ax,) = [a for a in fig.axes if a.get_label() == "funnel"]
    return ax


def data(k=12, seed=3):
    rng = np.random.default_rng(seed)
    se = rng.uniform(0.1, 0.5, k)
    return rng.normal(-0.1, se), se


def test_funnel_log_scale_inverted_se_and_region():
    yi, sei = data()
    fig = funnel_plot(yi, sei, estimate=-0.1, measure_label="Hazard ratio")
    ax = ax_of(fig)
    assert ax.get_xscale() == "log"
    y0, y1 = ax.get_ylim()
    assert y0 > y1 == 0.0  # inverted: SE 0 at the top
    assert y0 >= sei.max()
    (pts,) = [ln for ln in ax.lines if ln.get_marker() == "o"]
    np.testing.assert_allclose(pts.get_xdata(), np.exp(yi))
    np.testing.assert_allclose(pts.get_ydata(), sei)
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 1
    assert ax.get_xlabel() == "Hazard ratio" and ax.get_ylabel() == "Standard error"
    # the pseudo-CI region's edges are 1.96 SE either side of the pooled estimate
    edges = [ln for ln in ax.lines if ln.get_linestyle() not in ("None", "-")]
    assert len(edges) == 2
    left = edges[0]
    np.testing.assert_allclose(np.log(left.get_xdata()), -0.1 - 1.959963984540054 * left.get_ydata())


def test_funnel_linear_scale():
    yi, sei = data()
    fig = funnel_plot(yi, sei, estimate=0.0, measure_label="Mean difference", exponentiate=False)
    assert ax_of(fig).get_xscale() == "linear"


def test_funnel_drops_non_finite_and_notes_it():
    yi, sei = data(5)
    yi[1] = np.nan
    sei[2] = np.inf
    fig = funnel_plot(yi, sei, estimate=-0.1, measure_label="HR")
    (pts,) = [ln for ln in ax_of(fig).lines if ln.get_marker() == "o"]
    assert len(pts.get_xdata()) == 3
    notes = [t.get_text() for t in fig.findobj(Text) if t.get_gid() == "funnel-note"]
    assert notes == ["2 studies without a finite estimate and standard error not shown"]


def test_funnel_single_study_and_length_mismatch():
    fig = funnel_plot([0.2], [0.3], estimate=0.2, measure_label="HR")
    assert ax_of(fig).get_xscale() == "log"
    with pytest.raises(ValueError, match="differ in length"):
        funnel_plot([0.1, 0.2], [0.3], estimate=0.0, measure_label="HR")
