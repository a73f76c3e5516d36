"""Forest plot (her2meta.plots.forest)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.text import Text

from her2meta.plots import forest_plot

LOG = math.log


def example_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["HERA", "NSABP B-31", "NCCTG N9831", "BCIRG 006", "FinHer", "PACS-04", "NOAH"],
            "estimate": [LOG(0.78), LOG(0.65), LOG(1.10), LOG(0.92), LOG(0.45), np.nan, LOG(1.35)],
            "ci_lb": [LOG(0.60), LOG(0.48), LOG(0.80), LOG(0.70), LOG(0.12), np.nan, LOG(0.85)],
            "ci_ub": [LOG(1.01), LOG(0.88), LOG(1.52), LOG(1.21), LOG(1.70), np.nan, LOG(2.15)],
            "weight": [28.1, 22.4, 17.0, 20.3, 3.2, np.nan, 9.0],
            "estimable": [True, True, True, True, True, False, True],
            "reason": [None, None, None, None, None, "no events in HR- arm", None],
            "source": ["ipd"] * 6 + ["aggregate"],
            "events/n HR+": ["120/1520", "85/1010", "95/1100", "60/980", "8/120", "3/60", "30/210"],
            "events/n HR-": ["140/1300", "101/880", "77/1000", "70/860", "12/110", "0/40", "22/180"],
            "setting": ["Adjuvant"] * 5 + ["Neoadjuvant"] * 2,
        }
    )


POOLED = [
    {"label": "Common effect (IV)", "estimate": LOG(0.84), "ci_lb": LOG(0.75), "ci_ub": LOG(0.94)},
    {"label": "Random effects (REML)", "estimate": LOG(0.83), "ci_lb": LOG(0.70), "ci_ub": LOG(0.99),
     "pi_lb": LOG(0.50), "pi_ub": LOG(1.38), "note": "tau² = 0.04, I² = 31%, Q p = 0.12"},
]
COLUMNS = [("events/n HR+", "Events/N HR+"), ("events/n HR-", "Events/N HR-")]


def many_rows(k: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    est = rng.normal(-0.1, 0.3, k)
    se = rng.uniform(0.08, 0.6, k)
    w = 1 / se**2
    return pd.DataFrame({"label": [f"Trial {i + 1:02d}" for i in range(k)], "estimate": est,
                         "ci_lb": est - 1.96 * se, "ci_ub": est + 1.96 * se, "weight": 100 * w / w.sum(),
                         "n": rng.integers(30, 2000, k)})


def texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def strings(fig: Figure) -> list[str]:
    return [t.get_text() for t in texts(fig)]


def by_gid(fig: Figure, gid: str) -> list[Text]:
    return [t for t in texts(fig) if t.get_gid() == gid]


def forest_ax(fig: Figure):
    (ax,) = [a for a in fig.axes if a.get_label() == "forest"]
    return ax


def test_example_builds_with_study_labels():
    rows = example_rows()
    fig = forest_plot(rows, POOLED, measure_label="Hazard ratio", columns=COLUMNS, title="DFS")
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in by_gid(fig, "study-label")]
    assert labels == list(rows["label"])
    assert [t.get_text() for t in by_gid(fig, "pooled-label")] == ["Common effect (IV)", "Random effects (REML)"]
    s = strings(fig)
    assert "Events/N HR+" in s and "Estimate [95% CI]" in s and "Weight" in s
    assert "DFS" in s


def test_not_estimable_reason_shown_in_grey_without_bar():
    fig = forest_plot(example_rows(), POOLED, measure_label="Hazard ratio")
    (reason,) = by_gid(fig, "not-estimable-reason")
    assert reason.get_text() == "no events in HR- arm"
    (label,) = [t for t in by_gid(fig, "study-label") if t.get_text() == "PACS-04"]
    assert label.get_color() != "#000000"
    # weighted markers: 6 estimable studies, one marker each
    ax = forest_ax(fig)
    markers = [ln for ln in ax.lines if ln.get_marker() in ("s", "o")]
    assert len(markers) == 6


def test_log_axis_with_nice_ticks_and_null_line():
    fig = forest_plot(example_rows(), POOLED, measure_label="Hazard ratio")
    ax = forest_ax(fig)
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in labels
    assert set(labels) <= {"0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2",
                           "5", "10", "20", "50", "100", "200", "500", "1000"}
    assert ax.get_xlabel() == "Hazard ratio"
    verticals = [ln for ln in ax.lines if len(ln.get_xdata()) == 2 and ln.get_xdata()[0] == ln.get_xdata()[1] == 1.0]
    assert len(verticals) == 1


def test_linear_axis_when_not_exponentiated():
    rows = many_rows(5)
    fig = forest_plot(rows, [], measure_label="Mean difference", exponentiate=False)
    ax = forest_ax(fig)
    assert ax.get_xscale() == "linear"
    lo, hi = ax.get_xlim()
    assert lo < 0 < hi


def test_numbers_have_two_decimals_after_exponentiation():
    fig = forest_plot(example_rows(), POOLED, measure_label="Hazard ratio")
    s = strings(fig)
    assert "0.78" in s and "[0.60," in s and "1.01]" in s  # HERA
    assert "0.83" in s and "[0.70," in s and "0.99]" in s  # pooled RE
    assert "28.1%" in s
    assert "tau² = 0.04, I² = 31%, Q p = 0.12" in s


def test_pooled_diamonds_and_prediction_interval():
    fig = forest_plot(example_rows(), POOLED, measure_label="Hazard ratio")
    ax = forest_ax(fig)
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(diamonds) == 2
    leg_texts = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "95% prediction interval" in leg_texts
    assert "Aggregate data" in leg_texts


def test_aggregate_studies_get_distinct_marker():
    fig = forest_plot(example_rows(), POOLED, measure_label="Hazard ratio")
    ax = forest_ax(fig)
    kinds = sorted(ln.get_marker() for ln in ax.lines if ln.get_marker() in ("s", "o"))
    assert kinds == ["o"] + ["s"] * 5


def test_no_legend_when_only_ipd_and_no_pi():
    rows = many_rows(3)
    fig = forest_plot(rows, [{"label": "Pooled", "estimate": 0.0, "ci_lb": -0.1, "ci_ub": 0.1}],
                      measure_label="HR")
    assert fig.legends == []


def _row_groups(fig: Figure) -> dict[float, list[Text]]:
    """Table texts grouped by their row (y in row units)."""
    groups: dict[float, list[Text]] = defaultdict(list)
    for t in texts(fig):
        if t.axes is not None and t.get_transform() is not t.axes.transAxes and t not in t.axes.get_xticklabels():
            if t.get_gid() in ("study-label", "pooled-label") or t.get_va() == "baseline":
                groups[round(t.get_position()[1], 9)].append(t)
    return groups


@pytest.mark.parametrize("columns", [None, COLUMNS[:1], COLUMNS])
def test_cells_of_a_row_share_one_baseline(columns):
    rows = example_rows()
    fig = forest_plot(rows, POOLED, measure_label="Hazard ratio", columns=columns)
    labels = {t.get_text(): t for t in by_gid(fig, "study-label")}
    groups = _row_groups(fig)
    for name in ("HERA", "FinHer"):
        y = round(labels[name].get_position()[1], 9)
        row_strings = [t.get_text() for t in groups[y]]
        expected = 1 + 3 + 1 + 2 * len(columns or [])  # label + est pieces + weight + slash parts
        assert len(row_strings) == expected, row_strings


def test_decimal_columns_are_right_aligned_on_one_x():
    fig = forest_plot(example_rows(), POOLED, measure_label="Hazard ratio", columns=COLUMNS)
    # the point estimate piece of each row: right-aligned, same x for studies and pooled rows
    est_strings = {"0.78", "0.65", "1.10", "0.92", "0.45", "1.35", "0.84", "0.83"}
    xs = {round(t.get_position()[0], 9) for t in texts(fig) if t.get_text() in est_strings and t.get_ha() == "right"}
    assert len(xs) == 1
    # slash-aligned events/n column: numerators right-aligned at one x
    for col in ({"120", "85", "95", "60", "8", "30"}, {"140", "101", "77", "70", "12", "22"}):
        nums = [t for t in texts(fig) if t.get_text() in col and t.get_ha() == "right"]
        assert len(nums) == 6
        assert len({round(t.get_position()[0], 9) for t in nums}) == 1


def test_adding_columns_keeps_rows_and_widens_figure():
    rows = example_rows()
    f0 = forest_plot(rows, POOLED, measure_label="Hazard ratio")
    f2 = forest_plot(rows, POOLED, measure_label="Hazard ratio", columns=COLUMNS)
    y0 = [t.get_position()[1] for t in by_gid(f0, "study-label")]
    y2 = [t.get_position()[1] for t in by_gid(f2, "study-label")]
    assert y0 == y2
    assert f2.get_size_inches()[0] > f0.get_size_inches()[0]
    assert f2.get_size_inches()[1] == pytest.approx(f0.get_size_inches()[1])


def test_subgroups_are_bold_headers_in_order():
    rows = example_rows()
    fig = forest_plot(rows, POOLED, measure_label="Hazard ratio", columns=COLUMNS, subgroup_col="setting")
    headers = [t for t in texts(fig) if t.get_text() in ("Adjuvant", "Neoadjuvant")]
    assert [t.get_text() for t in headers] == ["Adjuvant", "Neoadjuvant"]
    assert all(t.get_fontweight() == "bold" for t in headers)
    ys = {t.get_text(): t.get_position()[1] for t in texts(fig) if t.get_gid() == "study-label"}
    hy = {t.get_text(): t.get_position()[1] for t in headers}
    assert hy["Adjuvant"] < ys["HERA"] < ys["FinHer"] < hy["Neoadjuvant"] < ys["NOAH"]
    # studies are indented relative to the header
    lab_x = {round(t.get_position()[0], 9) for t in by_gid(fig, "study-label")}
    assert len(lab_x) == 1 and lab_x.pop() > headers[0].get_position()[0]


def test_pooled_row_can_sit_under_its_subgroup():
    rows = example_rows()
    pooled = POOLED + [{"label": "Adjuvant subtotal", "estimate": LOG(0.8), "ci_lb": LOG(0.7),
                        "ci_ub": LOG(0.9), "subgroup": "Adjuvant"}]
    fig = forest_plot(rows, pooled, measure_label="HR", subgroup_col="setting")
    ys = {t.get_text(): t.get_position()[1] for t in texts(fig)}
    assert ys["FinHer"] < ys["Adjuvant subtotal"] < ys["Neoadjuvant"]


def test_height_grows_with_rows_and_40_studies_build():
    f1 = forest_plot(many_rows(1), [], measure_label="HR")
    f40 = forest_plot(many_rows(40), POOLED, measure_label="HR", columns=[("n", "N")])
    assert len(by_gid(f1, "study-label")) == 1
    assert len(by_gid(f40, "study-label")) == 40
    assert f40.get_size_inches()[1] > f1.get_size_inches()[1] + 39 * 0.2


def test_nan_weight_shows_dash_and_hollow_marker():
    rows = many_rows(4)
    rows.loc[2, "weight"] = np.nan
    fig = forest_plot(rows, [], measure_label="HR")
    assert "\u2013" in strings(fig)
    ax = forest_ax(fig)
    hollow = [ln for ln in ax.lines if ln.get_marker() == "s" and ln.get_markerfacecolor() in ("white", "w", (1, 1, 1, 1))]
    assert len(hollow) == 1
    assert "Not weighted in pooled estimate" in [t.get_text() for lg in fig.legends for t in lg.get_texts()]


def test_all_weights_nan_still_builds():
    rows = many_rows(3)
    rows["weight"] = np.nan
    fig = forest_plot(rows, [], measure_label="HR")
    assert len(by_gid(fig, "study-label")) == 3


@pytest.mark.parametrize("bad", [(np.nan, 0.5), (-np.inf, 0.5), (-0.5, np.inf), (-0.5, np.nan)])
def test_non_finite_ci_is_drawn_as_not_estimable(bad):
    rows = many_rows(3)
    rows.loc[1, ["ci_lb", "ci_ub"]] = bad
    fig = forest_plot(rows, [], measure_label="HR")
    (reason,) = by_gid(fig, "not-estimable-reason")
    assert "not estimable" in reason.get_text()
    assert len(by_gid(fig, "study-label")) == 3


def test_very_wide_ci_gets_arrows_within_capped_limits():
    rows = many_rows(5)
    rows.loc[0, ["estimate", "ci_lb", "ci_ub"]] = [0.0, -12.0, 12.0]
    fig = forest_plot(rows, [], measure_label="HR")
    ax = forest_ax(fig)
    lo, hi = ax.get_xlim()
    assert lo >= 1e-3 and hi <= 1e3
    arrows = sorted(ln.get_marker() for ln in ax.lines if ln.get_marker() in ("<", ">"))
    assert arrows == ["<", ">"]
    s = strings(fig)
    assert "[<0.01," in s and ">9999]" in s


def test_missing_column_raises():
    with pytest.raises(ValueError, match="ci_ub"):
        forest_plot(pd.DataFrame({"label": ["A"], "estimate": [0.0], "ci_lb": [-1.0]}), [], measure_label="HR")
    with pytest.raises(ValueError, match="nope"):
        forest_plot(many_rows(2), [], measure_label="HR", columns=[("nope", "Nope")])


def test_label_header_can_be_renamed_and_footnote_shown():
    fig = forest_plot(many_rows(2), [], measure_label="HR", columns=[("label", "Trial")], footnote="Note: x")
    s = strings(fig)
    assert "Trial" in s and "Study" not in s
    assert [t.get_text() for t in by_gid(fig, "footnote")] == ["Note: x"]


def test_dollar_signs_are_not_mathtext():
    rows = many_rows(2)
    rows.loc[0, "label"] = "Trial $x$ cost"
    fig = forest_plot(rows, [], measure_label="HR")
    fig.canvas.draw()  # would raise or mangle if parsed as math
    assert "Trial $x$ cost" in strings(fig)


def _bbox_overlaps(fig: Figure):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(r)) for t in texts(fig)]
    W, H = fig.canvas.get_width_height()
    clashes = []
    for i in range(len(boxes)):
        name_i, bi = boxes[i]
        assert bi.x0 >= -1 and bi.x1 <= W + 1 and bi.y0 >= -1 and bi.y1 <= H + 1, f"{name_i!r} outside figure"
        for j in range(i + 1, len(boxes)):
            name_j, bj = boxes[j]
            if bi.overlaps(bj) and min(bi.x1, bj.x1) - max(bi.x0, bj.x0) > 1 and min(bi.y1, bj.y1) - max(bi.y0, bj.y0) > 1:
                clashes.append((name_i, name_j))
    return clashes


@pytest.mark.parametrize("kind", ["example", "subgroups", "forty", "one", "wide"])
def test_no_text_overlaps_and_everything_inside_figure(kind):
    if kind == "example":
        fig = forest_plot(example_rows(), POOLED, measure_label="Hazard ratio", columns=COLUMNS, title="T" * 30,
                          footnote="A long footnote " * 20)
    elif kind == "subgroups":
        fig = forest_plot(example_rows(), POOLED, measure_label="Hazard ratio", columns=COLUMNS, subgroup_col="setting")
    elif kind == "forty":
        fig = forest_plot(many_rows(40), POOLED, measure_label="HR", columns=[("n", "N")])
    elif kind == "one":
        fig = forest_plot(many_rows(1), [], measure_label="Mean difference", exponentiate=False)
    else:
        rows = many_rows(3)
        rows.loc[0, ["estimate", "ci_lb", "ci_ub"]] = [0.0, -12.0, 12.0]
        rows.loc[1, ["estimable", "reason"]] = [False, "a rather long reason why this trial could not be analysed"]
        fig = forest_plot(rows, [{"label": "x", "estimate": 0, "ci_lb": np.nan, "ci_ub": 1}], measure_label="HR")
    assert _bbox_overlaps(fig) == []
