"""Data integrity checks against published figures (her2meta.integrity, stages.integrity)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from jinja2 import Environment, PackageLoader, StrictUndefined

from her2meta.integrity import (
    ARM_NOT_IN_IPD,
    COLUMNS,
    DIFFERS,
    FAILED,
    NO_IPD,
    NO_PCR,
    NOT_PUBLISHED,
    OK,
    Tolerance,
    integrity_table,
    parse_published_pcr,
    report_context,
    small,
    study_checks,
)


def arm(name: str, n: int, events: int, missing: int = 0, field: str = "pcr_ypt0is_ypn0") -> pd.DataFrame:
    values = [True] * events + [False] * (n - events - missing) + [None] * missing
    return pd.DataFrame({"study_id": "S1", "arm": name, field: pd.array(values, dtype="boolean")})


def study(**kw):
    row = {"study_id": "S1", "label": "Study one", "data_source": "ipd", "include": True,
           "primary_pcr_definition": "ypT0/is ypN0", "published_n": 200, "published_pcr_by_arm": "A=30;B=50"}
    row.update(kw)
    return {k: v for k, v in row.items() if v is not None}


def data_ab(a_events=30, b_events=50, a_missing=0):
    return pd.concat([arm("A", 100, a_events, a_missing), arm("B", 100, b_events)], ignore_index=True)


def by_arm(rows):
    return {r["arm"]: r for r in rows}


def test_parse_published_pcr():
    assert parse_published_pcr("TH=29;THP=46") == {"TH": 29.0, "THP": 46.0}
    assert list(parse_published_pcr("FEC+HP->DHP=61.6;TCHP=66.2")) == ["FEC+HP->DHP", "TCHP"]
    assert parse_published_pcr("Chemotherapy + Trastuzumab=38") == {"Chemotherapy + Trastuzumab": 38.0}
    assert parse_published_pcr("") == {} and parse_published_pcr(None) == {}
    with pytest.raises(ValueError, match="'A30' is not arm=percent"):
        parse_published_pcr("A30")


def test_small_masks_counts_below_the_minimum_but_not_zero():
    assert small(0, 5) == 0 and small(4, 5) == "<5" and small(5, 5) == 5 and small(9, 10) == "<10" and small(None, 5) is None


def test_matching_figures_pass():
    rows = study_checks(data_ab(), study(), Tolerance())
    assert [r["check"] for r in rows] == ["patients", "arm", "arm"]
    assert rows[0]["n_ipd"] == 200 and rows[0]["n_difference"] == 0 and rows[0]["status"] == OK
    a = by_arm(rows)["A"]
    assert (a["n_ipd"], a["pcr_n"], a["pcr_events"], a["pcr_percent"], a["published_pcr_percent"]) == (100, 100, 30, 30.0, 30.0)
    assert a["pcr_difference_points"] == 0.0 and a["status"] == OK and not a["flag"]
    assert set(rows[0]) == set(COLUMNS)


def test_pcr_beyond_tolerance_is_flagged_and_within_is_not():
    rows = by_arm(study_checks(data_ab(a_events=36, b_events=54), study(), Tolerance(pcr_points=5)))
    assert rows["A"]["pcr_difference_points"] == 6.0 and rows["A"]["status"] == DIFFERS and rows["A"]["flag"]
    assert rows["B"]["pcr_difference_points"] == 4.0 and rows["B"]["status"] == OK and not rows["B"]["flag"]
    # exactly at the tolerance passes
    rows = by_arm(study_checks(data_ab(a_events=35), study(), Tolerance(pcr_points=5)))
    assert rows["A"]["status"] == OK


def test_patient_count_tolerance():
    rows = study_checks(data_ab(), study(published_n=204), Tolerance(n_percent=0))
    assert rows[0]["n_difference"] == -4 and rows[0]["status"] == DIFFERS and rows[0]["flag"]
    rows = study_checks(data_ab(), study(published_n=204), Tolerance(n_percent=2))
    assert rows[0]["status"] == OK
    rows = study_checks(data_ab(), study(published_n=None), Tolerance())
    assert rows[0]["status"] == NOT_PUBLISHED and not rows[0]["flag"]


def test_itt_and_assessed_denominators():
    frame = data_ab(a_events=30, a_missing=10)
    itt = by_arm(study_checks(frame, study(), Tolerance(pcr_denominator="itt")))["A"]
    assessed = by_arm(study_checks(frame, study(), Tolerance(pcr_denominator="assessed")))["A"]
    assert (itt["pcr_n"], itt["pcr_percent"], itt["pcr_missing_n"]) == (100, 30.0, 10)
    assert (assessed["pcr_n"], assessed["pcr_percent"]) == (90, 33.3)
    assert itt["status"] == OK and assessed["status"] == OK  # 3.3 points < 5
    with pytest.raises(ValueError, match="must be 'itt' or 'assessed'"):
        Tolerance(pcr_denominator="per_protocol")


def test_primary_definition_chooses_the_pcr_field():
    frame = pd.concat([arm("A", 100, 30, field="pcr_breast"), arm("B", 100, 50, field="pcr_breast")], ignore_index=True)
    frame["pcr_ypt0is_ypn0"] = pd.array([False] * 200, dtype="boolean")
    rows = by_arm(study_checks(frame, study(primary_pcr_definition="ypT0/is"), Tolerance()))
    assert rows["A"]["pcr_events"] == 30 and rows["A"]["pcr_definition"] == "ypT0/is"


def test_published_arm_missing_from_the_ipd_is_flagged_and_unpublished_arm_listed():
    rows = by_arm(study_checks(data_ab(), study(published_pcr_by_arm="A=30;C=40"), Tolerance()))
    assert rows["C"]["status"] == ARM_NOT_IN_IPD and rows["C"]["flag"] and "A, B" in rows["C"]["note"]
    assert rows["B"]["status"] == NOT_PUBLISHED and not rows["B"]["flag"] and rows["B"]["pcr_percent"] == 50.0


def test_study_without_pcr_definition_lists_arm_sizes_only():
    rows = by_arm(study_checks(data_ab(), study(primary_pcr_definition=None, published_pcr_by_arm=None), Tolerance()))
    assert rows["A"]["status"] == NO_PCR and rows["A"]["n_ipd"] == 100 and rows["A"]["pcr_percent"] is None


def test_small_cells_are_masked_and_the_revealing_percentage_withheld():
    frame = pd.concat([arm("A", 40, 3, missing=2), arm("B", 3, 1), arm("C", 20, 18)], ignore_index=True)
    rows = by_arm(study_checks(frame, study(published_n=63, published_pcr_by_arm="A=20;B=30;C=88"), Tolerance()))
    a, b, c = rows["A"], rows["B"], rows["C"]
    assert a["pcr_events"] == "<5" and a["pcr_percent"] is None and a["pcr_difference_points"] is None
    assert a["pcr_missing_n"] == "<5" and "suppressed" in a["note"]
    assert a["status"] == DIFFERS and a["flag"]  # 7.5% vs 20%: the verdict uses the real numbers
    assert b["n_ipd"] == "<5" and b["pcr_n"] == "<5" and b["pcr_events"] == "<5"
    assert c["pcr_events"] == "suppressed" and c["pcr_percent"] is None  # 2 patients without pCR
    assert c["status"] == OK


def test_table_covers_included_studies_in_sheet_order():
    sheet = [study(), study(study_id="AGG", label="Published", data_source="aggregate", published_n=80),
             study(study_id="OUT", include=False)]
    table = integrity_table(sheet, {"S1": data_ab()}, Tolerance())
    assert list(table.columns) == COLUMNS
    assert table["study_id"].tolist() == ["S1", "S1", "S1", "AGG"]
    assert table.iloc[-1]["status"] == NO_IPD and table["flag"].dtype == bool
    with pytest.raises(ValueError, match="no harmonized data"):
        integrity_table([study()], {}, Tolerance())


def test_failed_study_is_flagged_not_compared(tmp_path):
    from her2meta.io import write_parquet
    from her2meta.stages.integrity import run

    empty = pd.DataFrame({"study_id": pd.Series([], dtype=object), "arm": pd.Series([], dtype=object)})
    empty.attrs = {"failed": {"stage": "harmonize", "summary": "er_percent: 3 values above 100"}}
    write_parquet(tmp_path / "S1.parquet", empty)
    out = tmp_path / "integrity.tsv"
    run(inputs=SimpleNamespace(data=[str(tmp_path / "S1.parquet")]), outputs=SimpleNamespace(tsv=str(out)),
        params={"studies": [study()], "integrity": {}, "min_cell_count": 5}, wildcards={},
        logger=__import__("logging").getLogger("test"))
    table = pd.read_csv(out, sep="\t", keep_default_na=False)
    assert table["status"].tolist() == [FAILED] and table["flag"].tolist() == [True]
    assert table["note"].tolist() == ["study failed: er_percent: 3 values above 100"]


def test_tolerance_from_config_defaults_and_keys():
    assert Tolerance.from_config({}) == Tolerance(5.0, 0.0, "itt")
    cfg = {"integrity": {"pcr_tolerance_points": 3, "n_tolerance_percent": 2, "pcr_denominator": "assessed"}}
    assert Tolerance.from_config(cfg) == Tolerance(3.0, 2.0, "assessed")


def write_table(tmp_path, table):
    from her2meta.io import write_tsv

    path = tmp_path / "results" / "tables" / "integrity.tsv"
    path.parent.mkdir(parents=True)
    write_tsv(path, table)
    return path


def partial_env():
    return Environment(loader=PackageLoader("her2meta", "templates"), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def test_report_context_and_partial_show_the_flags(tmp_path):
    frame = data_ab(a_events=40)
    table = integrity_table([study(published_n=201)], {"S1": frame}, Tolerance())
    path = write_table(tmp_path, table)
    context = report_context(path, {"integrity": {"pcr_tolerance_points": 5}})
    (s1,) = context["studies"]
    assert context["flagged"] == 2 and s1["flagged"] == 2 and context["compared"] == 3
    rows = {r["arm"]: r for r in s1["rows"]}
    assert rows["all arms"]["ipd"] == "200" and rows["all arms"]["published"] == "201" and rows["all arms"]["difference"] == "-1"
    assert rows["B"]["difference"] == "0.0"
    assert rows["A"]["ipd"] == "40.0% (40 of 100)" and rows["A"]["published"] == "30%" and rows["A"]["difference"] == "+10.0"
    html = partial_env().get_template("_integrity.html").render(integrity=context)
    assert '<h2 id="integrity">Data integrity checks</h2>' in html
    assert html.count('class="flagged"') == 2 and "2 figures differ from the publication" in html
    assert "5 percentage points" in html and "differ at all (they must agree exactly), or a pCR" in html


def test_partial_renders_nothing_without_its_context():
    assert partial_env().get_template("_integrity.html").render().strip() == ""


def test_run_writes_the_table(tmp_path):
    from her2meta.io import write_parquet
    from her2meta.stages.integrity import run

    write_parquet(tmp_path / "S1.parquet", data_ab())
    out = tmp_path / "tables" / "integrity.tsv"
    run(inputs=SimpleNamespace(data=[str(tmp_path / "S1.parquet")]), outputs=SimpleNamespace(tsv=str(out)),
        params={"studies": [study()], "integrity": {}, "min_cell_count": 5}, wildcards={},
        logger=__import__("logging").getLogger("test"))
    table = pd.read_csv(out, sep="\t")
    assert table["status"].tolist() == [OK, OK, OK]


def test_release_check_finds_no_small_cell_in_the_table(tmp_path):
    from her2meta import release
    frame = pd.concat([arm("A", 40, 3, missing=2), arm("B", 3, 1), arm("C", 20, 18)], ignore_index=True)
    table = integrity_table([study(published_n=63, published_pcr_by_arm="A=20;B=30;C=80")], {"S1": frame}, Tolerance())
    write_table(tmp_path, table)
    check = release.check_release(tmp_path / "results", identifiers=[], min_cell_count=5)
    assert check.passed and not check.of_kind("small_cell"), check.summary()
