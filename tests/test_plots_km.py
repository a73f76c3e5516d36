"""Kaplan-Meier plot and summary (her2meta.plots.km)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

from her2meta.plots import format_at_risk, km_plot, km_summary
from her2meta.plots.km import KM_CI_METHOD

TIMES = [0, 12, 24, 36, 48, 60]


def sim(n: int, rate: float, seed: int):
    rng = np.random.default_rng(seed)
    t = rng.exponential(1 / rate, n)
    c = rng.uniform(12, 66, n)
    return np.round(np.minimum(t, c), 2), t <= c


def curves():
    a = km_summary(*sim(300, 0.008, 1), times=TIMES, label="HR+")
    b = km_summary(*sim(60, 0.02, 2), times=TIMES, label="HR-")
    return [a, b]


def texts(fig: Figure, gid: str | None = None) -> list[Text]:
    out = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    return [t for t in out if gid is None or t.get_gid() == gid]


def km_ax(fig):
    (ax,) = [a for a in fig.axes if a.get_label() == "km"]
    return ax


def test_format_at_risk_masks_small_counts():
    assert format_at_risk(4) == "<5"
    assert format_at_risk(0) == "<5"
    assert format_at_risk(5) == "5"
    assert format_at_risk(123) == "123"
    assert format_at_risk(9, min_count=10) == "<10"
    assert format_at_risk(None) == ""


def test_km_plot_builds_step_curves_bands_and_table():
    cs = curves()
    fig = km_plot(cs, title="DFS", ylabel="Disease-free survival", risk_table_times=TIMES)
    ax = km_ax(fig)
    steps = [ln for ln in ax.lines if ln.get_drawstyle() == "steps-post"]
    assert [ln.get_label() for ln in steps] == ["HR+", "HR-"]
    assert steps[0].get_color() != steps[1].get_color()
    assert steps[0].get_linestyle() != steps[1].get_linestyle()
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    assert ax.get_xlabel() == "Months" and ax.get_ylabel() == "Disease-free survival"
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(t) for t in TIMES]
    assert [t.get_text() for t in texts(fig, "risk-label")] == ["HR+", "HR-"]
    assert len(texts(fig, "risk-header")) == 1
    cells = texts(fig, "risk-cell")
    assert len(cells) == 2 * len(TIMES)
    assert "DFS" in [t.get_text() for t in texts(fig)]


def test_risk_table_hides_values_below_min_count():
    cs = [{"label": "A", "timeline": [0, 5, 10], "survival": [1, 0.7, 0.5],
           "at_risk": {0: 40, 5: 12, 10: 4}},
          {"label": "B", "timeline": [0, 5, 10], "survival": [1, 0.6, 0.4],
           "at_risk": {0: 9, 5: 1, 10: 0}}]
    fig = km_plot(cs, title="t", ylabel="S", risk_table_times=[0, 5, 10])
    cells = [t.get_text() for t in texts(fig, "risk-cell")]
    assert cells == ["40", "12", "<5", "9", "<5", "<5"]
    ax = km_ax(fig)
    ticklabels = set(ax.get_xticklabels()) | set(ax.get_yticklabels())
    non_tick = [t.get_text() for t in texts(fig) if t not in ticklabels]
    for value in ("4", "1", "0"):
        assert value not in non_tick

    fig = km_plot(cs, title="t", ylabel="S", risk_table_times=[0, 5, 10], min_count=10)
    cells = [t.get_text() for t in texts(fig, "risk-cell")]
    assert cells == ["40", "12", "<10", "<10", "<10", "<10"]


def test_risk_times_default_to_union_of_at_risk_keys_and_accept_json_keys():
    cs = curves()
    cs = json.loads(json.dumps(cs))  # at_risk keys become strings
    fig = km_plot(cs, title="t", ylabel="S")
    assert len(texts(fig, "risk-cell")) == 2 * len(TIMES)


def test_no_table_without_at_risk():
    fig = km_plot([{"label": "A", "timeline": [0, 1, 2], "survival": [1, 0.9, 0.8]}], title="t", ylabel="S")
    assert texts(fig, "risk-cell") == [] and texts(fig, "risk-header") == []


def test_censor_ticks_drawn_only_when_given():
    cs = curves()
    fig = km_plot(cs, title="t", ylabel="S")
    assert not [ln for ln in km_ax(fig).lines if ln.get_marker() == "|"]
    cs[0]["censor_times"] = [3.0, 7.5]
    fig = km_plot(cs, title="t", ylabel="S")
    (ticks,) = [ln for ln in km_ax(fig).lines if ln.get_marker() == "|"]
    assert list(ticks.get_xdata()) == [3.0, 7.5]


@pytest.mark.parametrize(
    "curve, msg",
    [
        ({"label": "A", "timeline": [1, 2], "survival": [1, 0.5]}, "start at 0"),
        ({"label": "A", "timeline": [0, 2, 1], "survival": [1, 0.5, 0.4]}, "non-decreasing"),
        ({"label": "A", "timeline": [0, 1], "survival": [1, 1.5]}, r"\[0, 1\]"),
        ({"label": "A", "timeline": [0, 1], "survival": [1]}, "expected 2"),
        ({"timeline": [0, 1], "survival": [1, 0.5]}, "label"),
    ],
)
def test_km_plot_validates_curves(curve, msg):
    with pytest.raises(ValueError, match=msg):
        km_plot([curve], title="t", ylabel="S")


def test_km_summary_matches_lifelines():
    t, e = sim(200, 0.01, 3)
    s = km_summary(t, e, times=TIMES, label="X")
    kmf = KaplanMeierFitter().fit(t, e)
    tl = np.array(s["timeline"])
    assert tl[0] == 0 and s["survival"][0] == 1.0
    np.testing.assert_allclose(s["survival"], kmf.survival_function_at_times(tl).to_numpy())
    ci = kmf.confidence_interval_survival_function_
    np.testing.assert_allclose(s["ci_lower"], ci.iloc[:, 0].reindex(tl).to_numpy())
    np.testing.assert_allclose(s["ci_upper"], ci.iloc[:, 1].reindex(tl).to_numpy())
    assert all(lo <= sv <= hi for lo, sv, hi in zip(s["ci_lower"], s["survival"], s["ci_upper"]))
    assert s["at_risk"] == {float(x): int((t >= x).sum()) for x in TIMES}
    assert s["at_risk"][0.0] == 200
    assert s["n"] == 200 and s["n_events"] == int(e.sum())
    assert s["label"] == "X" and s["conf_level"] == pytest.approx(0.95)
    assert "log(-log)" in s["ci_method"] and s["ci_method"] == KM_CI_METHOD
    json.dumps(s)  # aggregate dict is JSON-serialisable


def test_km_summary_hides_censoring_times_by_default():
    t = np.array([2.0, 3.0, 3.5, 5.0, 8.0, 9.0])
    e = np.array([1, 0, 0, 1, 1, 0])
    s = km_summary(t, e)
    assert s["timeline"] == [0.0, 2.0, 5.0, 8.0, 9.0]  # 3.0 and 3.5 (censored) left out; 9.0 = end of follow-up
    assert "censor_times" not in s and "at_risk" not in s
    s = km_summary(t, e, show_censor_ticks=True)
    assert s["censor_times"] == [3.0, 3.5, 9.0]


def test_km_summary_events_at_time_zero_start_at_one():
    s = km_summary([0, 3, 5], [1, 0, 1])
    assert s["timeline"][:2] == [0.0, 0.0]
    assert s["survival"][0] == 1.0 and s["survival"][1] == pytest.approx(2 / 3)
    km_plot([s | {"label": "Z"}], title="t", ylabel="S")


def test_km_summary_validates_input():
    with pytest.raises(ValueError, match="differ in length"):
        km_summary([1, 2], [1])
    with pytest.raises(ValueError, match="finite and >= 0"):
        km_summary([-1, 2], [1, 0])
    with pytest.raises(ValueError, match="no observations"):
        km_summary([], [])


def test_no_text_overlaps():
    fig = km_plot(curves() + [km_summary(*sim(15, 0.03, 4), times=TIMES, label="A rather long arm label")],
                  title="Disease-free survival", ylabel="Probability", risk_table_times=TIMES)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(r)) for t in texts(fig)]
    W, H = fig.canvas.get_width_height()
    for i, (ni, bi) in enumerate(boxes):
        assert bi.x0 >= -1 and bi.x1 <= W + 1 and bi.y0 >= -1 and bi.y1 <= H + 1, ni
        for nj, bj in boxes[i + 1:]:
            ox = min(bi.x1, bj.x1) - max(bi.x0, bj.x0)
            oy = min(bi.y1, bj.y1) - max(bi.y0, bj.y0)
            assert not (ox > 1 and oy > 1), (ni, nj)
