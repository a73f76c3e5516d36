"""Baseline characteristics by HR status (her2meta.baseline, stages.baseline)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from her2meta.baseline import (
    GROUPS,
    NOT_RECORDED,
    baseline_table,
    fmt_count,
    fmt_median_iqr,
    fmt_n,
    labels_from_studies,
    report_context,
)


def patients(study_id: str, n_pos: int, n_neg: int, n_unknown: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_pos + n_neg + n_unknown
    hr = ["positive"] * n_pos + ["negative"] * n_neg + ["unknown"] * n_unknown
    return pd.DataFrame({
        "study_id": study_id,
        "hr_status": hr,
        "age_years": rng.integers(30, 70, n).astype(float),
        "menopausal_status": rng.choice(["pre", "post", "unknown"], n, p=[0.45, 0.45, 0.1]),
        "ct_stage": pd.Series(rng.choice(["T2", "T3", "T4b", "T4d", None], n), dtype="object"),
        "cn_stage": rng.choice(["N0", "N1", "N2"], n),
        "grade": pd.array(rng.choice([2, 3], n), dtype="Int64"),
        "er_low": pd.array([bool(v) for v in rng.random(n) < 0.1], dtype="boolean"),
        "her2_ihc": rng.choice(["2+", "3+"], n),
        "regimen_class": rng.choice(["trastuzumab", "dual_mab"], n),
    })


def cell(table: pd.DataFrame, characteristic: str, level: str, column: str) -> str:
    row = table[(table["characteristic"] == characteristic) & (table["level"] == level)]
    assert len(row) == 1, (characteristic, level)
    return row.iloc[0][column]


def test_formatting_and_small_cells():
    assert fmt_count(0, 50, 5) == "0"
    assert fmt_count(3, 50, 5) == "<5"
    assert fmt_count(5, 50, 5) == "5 (10.0%)"
    assert fmt_count(7, 70, 10) == "<10"
    assert fmt_n(4, 5) == "<5" and fmt_n(0, 5) == "0" and fmt_n(120, 5) == "120"
    assert fmt_median_iqr(pd.Series([40, 50, 60, 70, 80.0]), 5) == "60 (50-70)"
    assert fmt_median_iqr(pd.Series([40, 50, 60.0]), 5) == "n <5"
    assert fmt_median_iqr(pd.Series([], dtype=float), 5) == ""
    assert fmt_median_iqr(pd.Series([40.5, 50, 61, 70, 80.0]), 5) == "61 (50-70)"


def test_counts_percentages_and_columns():
    data = {"S1": patients("S1", 60, 40, 3), "S2": patients("S2", 30, 30, 0, seed=2)}
    table = baseline_table(data)
    scopes = ["overall", "S1", "S2"]
    assert list(table.columns[:3]) == ["characteristic", "level", "statistic"]
    assert list(table.columns[3:]) == [f"{s}.{g}" for s in scopes for g, _, _ in GROUPS]
    assert cell(table, "N", "patients", "overall.hr_positive") == "90"
    assert cell(table, "N", "patients", "overall.all") == "163"
    assert cell(table, "N", "patients", "S1.hr_unknown") == "<5"
    assert cell(table, "N", "patients", "S2.hr_unknown") == "0"
    pre = int((data["S1"]["menopausal_status"] == "pre").sum() + (data["S2"]["menopausal_status"] == "pre").sum())
    assert cell(table, "Menopausal status", "premenopausal", "overall.all") == f"{pre} ({100 * pre / 163:.1f}%)"
    # menopausal 'unknown' is a missing value: counted under 'not recorded'
    unknown = int(sum((d["menopausal_status"] == "unknown").sum() for d in data.values()))
    assert cell(table, "Menopausal status", NOT_RECORDED, "overall.all").startswith(f"{unknown} (")
    ages = pd.concat([d["age_years"] for d in data.values()])
    assert cell(table, "Age, years", "median (IQR)", "overall.all") == fmt_median_iqr(ages, 5)
    positive = pd.concat([d.loc[d["hr_status"] == "positive", "age_years"] for d in data.values()])
    assert cell(table, "Age, years", "median (IQR)", "overall.hr_positive") == fmt_median_iqr(positive, 5)
    assert table["statistic"].tolist()[:2] == ["n", "median (IQR)"]


def test_levels_merge_t4_and_keep_inflammatory_apart():
    table = baseline_table({"S1": patients("S1", 100, 100, 0)})
    levels = table.loc[table["characteristic"] == "Clinical T stage", "level"].tolist()
    assert levels == ["T2", "T3", "T4 (a-c or unspecified)", "T4d (inflammatory)", NOT_RECORDED]
    grades = table.loc[table["characteristic"] == "Histological grade", "level"].tolist()
    assert grades == ["2", "3"]  # grade 1 absent everywhere: no row
    assert table.loc[table["characteristic"] == "ER-low (ER 1-10%)", "level"].tolist() == ["ER-low"]


def test_no_cell_from_one_to_four_appears():
    frame = patients("S1", 12, 7, 2, seed=5)
    table = baseline_table({"S1": frame})
    for value in table.iloc[:, 3:].to_numpy().ravel():
        first = str(value).split(" ")[0]
        assert not (first.isdigit() and 1 <= int(first) < 5), value


def test_row_count_does_not_grow_with_studies():
    one = baseline_table({"S1": patients("S1", 50, 50, 5)})
    many = baseline_table({f"S{i}": patients(f"S{i}", 50, 50, 5, seed=i) for i in range(30)})
    assert len(many) <= len(one) + 2 and len(many) < 60
    assert many.shape[1] == 3 + 31 * 4


def test_missing_fields_show_as_not_recorded():
    frame = patients("S1", 10, 10, 0).drop(columns=["grade", "er_low"])
    table = baseline_table({"S1": frame})
    assert cell(table, "Histological grade", NOT_RECORDED, "S1.all") == "20 (100.0%)"
    assert cell(table, "ER-low (ER 1-10%)", NOT_RECORDED, "S1.all") == "20 (100.0%)"


def partial_env():
    return Environment(loader=PackageLoader("her2meta", "templates"), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def test_report_context_and_partial(tmp_path):
    from her2meta.io import write_tsv

    table = baseline_table({"S1": patients("S1", 60, 40, 3), "S2": patients("S2", 30, 30, 0, seed=2)})
    path = tmp_path / "baseline.tsv"
    write_tsv(path, table)
    context = report_context(path, labels_from_studies([{"study_id": "S1", "label": "Study one"}]))
    assert context["headers"] == ["HR+", "HR-", "HR unknown", "All"]
    assert context["overall"]["label"] == "All studies with IPD"
    assert [t["label"] for t in context["studies"]] == ["Study one", "S2"]
    s2_levels = [r["level"] for r in context["studies"][1]["rows"]]
    overall_levels = [r["level"] for r in context["overall"]["rows"]]
    assert len(s2_levels) <= len(overall_levels)
    html = partial_env().get_template("_baseline.html").render(baseline=context)
    assert '<h2 id="baseline">Baseline characteristics by HR status</h2>' in html
    assert html.count("<table") == 3 and "<details>" in html and "&lt;5" in html
    assert partial_env().get_template("_baseline.html").render().strip() == ""


def test_run_orders_studies_as_the_sheet(tmp_path):
    from her2meta.io import write_parquet
    from her2meta.stages.baseline import run

    paths = []
    for sid in ("B", "A"):
        write_parquet(tmp_path / f"{sid}.parquet", patients(sid, 20, 20, 0))
        paths.append(str(tmp_path / f"{sid}.parquet"))
    out = tmp_path / "baseline.tsv"
    run(inputs=SimpleNamespace(data=paths), outputs=SimpleNamespace(tsv=str(out)),
        params={"order": ["A", "B"], "min_cell_count": 5}, wildcards={}, logger=logging.getLogger("test"))
    columns = pd.read_csv(out, sep="\t", nrows=0).columns
    assert [c for c in columns if c.endswith(".all")] == ["overall.all", "A.all", "B.all"]


def test_run_leaves_out_a_failed_study(tmp_path):
    from her2meta.io import write_parquet
    from her2meta.stages.baseline import run

    write_parquet(tmp_path / "A.parquet", patients("A", 20, 20, 0))
    empty = patients("B", 0, 0, 0)
    empty.attrs = {"failed": {"stage": "extract", "summary": "file missing"}}
    write_parquet(tmp_path / "B.parquet", empty)
    out = tmp_path / "baseline.tsv"
    run(inputs=SimpleNamespace(data=[str(tmp_path / "A.parquet"), str(tmp_path / "B.parquet")]),
        outputs=SimpleNamespace(tsv=str(out)), params={"order": ["A", "B"], "min_cell_count": 5}, wildcards={},
        logger=logging.getLogger("test"))
    columns = pd.read_csv(out, sep="\t", nrows=0).columns
    assert [c for c in columns if c.endswith(".all")] == ["overall.all", "A.all"]


def test_release_check_finds_no_small_cell_or_row_level_table(tmp_path):
    from her2meta import release
    from her2meta.io import write_tsv

    table = baseline_table({f"S{i}": patients(f"S{i}", 40, 9, 2, seed=i) for i in range(20)})
    write_tsv(tmp_path / "results" / "tables" / "baseline.tsv", table)
    check = release.check_release(tmp_path / "results", identifiers=[], min_cell_count=5)
    assert check.passed and not check.of_kind("small_cell"), check.summary()
