"""Data availability and flow (PRISMA-IPD): her2meta.stages.flow and the diagram (plots.flow)."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
from jinja2 import Environment, PackageLoader, StrictUndefined
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text

from her2meta.plots import save_figure
from her2meta.plots.flow import FlowBox, FlowPhase, FlowStep, flow_diagram
from her2meta.stages.flow import analysis_reasons, flow_document, flow_phases, masked, report_context, run

SHEET = [
    {"study_id": "A", "label": "Trial A", "data_source": "ipd", "include": True},
    {"study_id": "B", "label": "Trial B", "data_source": "ipd", "include": True},
    {"study_id": "M", "label": "Trial M (metastatic)", "data_source": "ipd", "include": True},
    {"study_id": "X", "label": "Trial X", "data_source": "ipd", "include": False, "exclusion_reason": "no HR status recorded"},
    {"study_id": "P", "label": "Published P", "data_source": "aggregate", "include": True},
    {"study_id": "Q", "label": "Published Q", "data_source": "aggregate", "include": False,
     "exclusion_reason": "same trial as A: including both would count its patients twice"},
]


def extraction(sid, rows_in, excluded):
    return {"study_id": sid, "subjects": {"rows_in": rows_in, "rows_out": rows_in - sum(e["count"] for e in excluded),
                                          "excluded": excluded}}


EXTRACTION = {
    "A": extraction("A", 210, [{"reason": "not in the ITT population", "count": 10}]),
    "B": extraction("B", 103, [{"reason": "not in the ITT population", "count": 3}, {"reason": "withdrew consent", "count": 0}]),
    "M": extraction("M", 50, []),
}
HARMONIZED = {
    "A": {"study_id": "A", "rows_in": 200, "rows_out": 200},
    "B": {"study_id": "B", "rows_in": 100, "rows_out": 100,
          "exclusions": [{"stage": "extract", "field": "adsl.ITTFL", "reason": "not in the ITT population",
                          "action": "excluded from the study", "count": 3},  # the population filter again: not counted twice
                         {"stage": "extract", "field": "efs_months", "reason": "event after the data cut-off 2015-01-31",
                          "action": "censored at the cut-off: the event is not counted", "count": 2},
                         {"stage": "harmonize", "field": "efs_months", "reason": "efs_months and efs_event not recorded",
                          "action": "left out of EFS analyses", "count": 7},
                         {"field": "os_months", "reason": "os_months recorded without os_event", "count": 0}]},
    "M": {"study_id": "M", "rows_in": 50, "rows_out": 50},
}
PRIMARY = {
    "analysis": "pcr_by_hr",
    "spec": {"title": "pCR by HR", "outcome": "pcr_ypt0is_ypn0",
             "compare": {"field": "hr_status", "exposed": "positive", "reference": "negative"}},
    "subgroups": [{"name": "all", "studies": [
        {"study_id": "A", "n": 190, "estimable": True, "source": "ipd", "excluded_unknown_group": 6, "excluded_missing_outcome": 4},
        {"study_id": "B", "n": 97, "estimable": True, "source": "ipd", "excluded_unknown_group": 3, "excluded_missing_outcome": 0},
        {"study_id": "P", "n": 120, "estimable": True, "source": "aggregate"},
    ]}],
}


def document(**kw):
    return flow_document(SHEET, EXTRACTION, HARMONIZED, PRIMARY, **kw)


def test_masked():
    assert masked(3, 5) == "<5" and masked(0, 5) == 0 and masked(5, 5) == 5 and masked(None, 5) is None


def test_study_counts_follow_the_sheet():
    st = document()["studies"]
    assert (st["identified"], st["ipd_sought"], st["ipd_obtained"], st["ipd_not_obtained"]) == (6, 6, 4, 2)
    assert (st["included"], st["included_ipd"], st["included_aggregate"]) == (4, 3, 1)
    assert [e["study_id"] for e in st["excluded_ipd"]] == ["X"] and st["excluded_ipd"][0]["reason"] == "no HR status recorded"
    assert [e["study_id"] for e in st["excluded_aggregate"]] == ["Q"]


def test_patient_counts_and_reasons():
    pt = document()["patients"]
    assert (pt["delivered"], pt["after_filters"], pt["harmonized"]) == (363, 350, 350)
    assert pt["filter_exclusions"] == [{"reason": "not in the ITT population", "count": 13}]
    assert pt["harmonization_exclusions"] == []
    assert pt["endpoint_exclusions"] == [
        {"field": "efs_months", "reason": "event after the data cut-off 2015-01-31",
         "action": "censored at the cut-off: the event is not counted", "count": "<5"},
        {"field": "efs_months", "reason": "efs_months and efs_event not recorded", "action": "left out of EFS analyses", "count": 7},
    ]
    assert pt["in_analysis"] == 287 and pt["in_analysis_studies"] == 2
    assert pt["aggregate_in_analysis"] == 120 and pt["aggregate_in_analysis_studies"] == 1
    reasons = {e["reason"]: e["count"] for e in pt["analysis_exclusions"]}
    assert reasons["HR status neither positive nor negative"] == 9
    assert reasons["pCR (ypT0/is ypN0) not recorded"] == "<5"
    assert reasons["in studies outside the analysis's settings or designs (Trial M (metastatic))"] == 50
    assert pt["accounted"] is True


def test_per_study_rows_mask_small_counts():
    rows = {r["study_id"]: r for r in document()["per_study"]}
    assert rows["B"]["filter_exclusions"] == [{"reason": "not in the ITT population", "count": "<5"}]  # the 0 is left out
    assert [e["count"] for e in rows["B"]["endpoint_exclusions"]] == ["<5", 7] and rows["A"]["endpoint_exclusions"] == []
    assert rows["A"]["primary_analysis"] == 190 and rows["M"]["primary_analysis"] is None
    assert document(min_count=11)["per_study"][0]["filter_exclusions"][0]["count"] == "<11"


def test_not_estimable_study_is_counted_apart():
    primary = json.loads(json.dumps(PRIMARY))
    primary["subgroups"][0]["studies"][1].update(estimable=False, reason="no patients with hr_status = negative")
    pt = flow_document(SHEET, EXTRACTION, HARMONIZED, primary)["patients"]
    assert pt["in_analysis"] == 190 and pt["in_analysis_studies"] == 1
    assert any("not estimable (Trial B)" in e["reason"] and e["count"] == 97 for e in pt["analysis_exclusions"])
    assert pt["accounted"]


def test_without_primary_analysis_and_with_extraction_copy_in_harmonized_qc():
    harmonized = {k: {**v, "extraction": EXTRACTION[k]} for k, v in HARMONIZED.items()}
    doc = flow_document(SHEET, {}, harmonized, None)
    assert doc["patients"]["delivered"] == 363 and doc["patients"]["analysis"] is None
    titles = [s.box.title for p in flow_phases(doc) for s in p.steps]
    assert titles[-1] == "Patients in the harmonized data: 350"


def test_failed_study_is_reported_and_its_patients_accounted():
    sheet = SHEET + [{"study_id": "C", "label": "Trial C", "data_source": "ipd", "include": True}]
    extraction_c = extraction("C", 80, [])
    harmonized = {**HARMONIZED, "C": {"study_id": "C", "rows_in": 0, "rows_out": 0, "exclusions": [],
                                      "failed": {"stage": "harmonize", "summary": "er_percent: 3 values above 100",
                                                 "message": "secret example row"}}}
    doc = flow_document(sheet, {**EXTRACTION, "C": extraction_c}, harmonized, PRIMARY)
    assert doc["studies"]["failed"] == [{"study_id": "C", "label": "Trial C", "stage": "harmonize",
                                         "reason": "study failed: er_percent: 3 values above 100"}]
    assert doc["patients"]["harmonization_exclusions"] == [{"reason": "in studies that failed in harmonization", "count": 80}]
    assert (doc["patients"]["after_filters"], doc["patients"]["harmonized"]) == (430, 350)
    assert "secret" not in json.dumps(doc)
    phases = flow_phases(doc)
    sides = {s.side.title: s.side.lines for p in phases for s in p.steps if s.side}
    assert sides["Studies whose IPD could not be used: 1"] == [
        "\u2022 Trial C (at harmonize): study failed: er_percent: 3 values above 100"]
    assert sides["Not in the harmonized data: 80"][0] == "\u2022 80: in studies that failed in harmonization"


def test_analysis_reasons_for_lists_and_survival():
    reasons = analysis_reasons({"time": "efs_months", "compare": {"field": "regimen_class", "exposed": ["dual_mab", "mab_tki"],
                                                                  "reference": "trastuzumab"}})
    assert reasons["excluded_unknown_group"] == "anti-HER2 regimen class neither dual_mab or mab_tki nor trastuzumab"
    assert reasons["excluded_missing_outcome"] == "EFS not recorded"


def test_phases_carry_every_count():
    phases = flow_phases(document())
    assert [p.name for p in phases] == ["Studies", "Patients"]
    titles = [s.box.title for p in phases for s in p.steps]
    assert titles == ["Studies identified: 6", "IPD sought: 6 studies", "IPD obtained: 4 studies", "Studies included: 4",
                      "Patients in the delivered data: 363", "Patients after population filters: 350",
                      "Patients in the harmonized data: 350", "Patients in the primary analysis: 287"]
    sides = {s.side.title: s.side.lines for p in phases for s in p.steps if s.side}
    assert "IPD not obtained: 2 studies" in sides and "Studies with IPD excluded: 1" in sides
    assert any("same trial as A" in line and "count its patients" not in line for line in sides["IPD not obtained: 2 studies"])
    assert sides["Endpoint data left out or changed (patients kept)"] == [
        "\u2022 <5: event after the data cut-off 2015-01-31 (censored at the cut-off: the event is not counted)",
        "\u2022 7: efs_months and efs_event not recorded (left out of EFS analyses)"]
    assert "Not in the primary analysis: at least 60" in sides  # 9 + <5 + 50: a lower bound
    last = phases[1].steps[-1].box.lines
    assert "plus 120 patients in 1 study with published aggregate figures" in last


def texts(fig: Figure, gid: str) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_gid() == gid]


def test_diagram_boxes_do_not_overlap_and_hold_their_text():
    fig = flow_diagram(flow_phases(document()))
    assert isinstance(fig, Figure)
    assert "Studies identified: 6" in texts(fig, "flow-title")
    assert texts(fig, "flow-phase") == ["Studies", "Patients"]
    renderer = fig.canvas.get_renderer()
    boxes = [p for p in fig.findobj(FancyBboxPatch) if p.get_gid() in ("flow-box", "flow-side")]
    assert len(boxes) == 8 + 5
    extents = [b.get_window_extent(renderer) for b in boxes]
    for i, a in enumerate(extents):
        for b in extents[i + 1:]:
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_x <= 0 or overlap_y <= 0
    figure_box = fig.bbox
    for t in fig.findobj(Text):
        if not t.get_text() or t.get_gid() not in ("flow-title", "flow-line"):
            continue
        ext = t.get_window_extent(renderer)
        assert any(e.x0 - 1 <= ext.x0 and ext.x1 <= e.x1 + 1 and e.y0 - 1 <= ext.y0 and ext.y1 <= e.y1 + 1 for e in extents), t.get_text()
        assert figure_box.x0 <= ext.x0 and ext.x1 <= figure_box.x1


def test_diagram_without_side_boxes_and_empty_input():
    fig = flow_diagram([FlowPhase("Only", [FlowStep(FlowBox("One")), FlowStep(FlowBox("Two", ["a line"]))])], title="T")
    assert texts(fig, "title") == ["T"] and texts(fig, "flow-title") == ["One", "Two"]
    with pytest.raises(ValueError, match="no steps"):
        flow_diagram([FlowPhase("Empty")])


def test_saved_figure_is_byte_stable(tmp_path):
    a = save_figure(flow_diagram(flow_phases(document())), tmp_path / "a" / "flow")
    b = save_figure(flow_diagram(flow_phases(document())), tmp_path / "b" / "flow")
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes()


def test_run_writes_document_and_figure_and_the_partial_renders(tmp_path):
    def dump(name, obj):
        path = tmp_path / name
        path.write_text(json.dumps(obj))
        return str(path)

    inputs = SimpleNamespace(extracted_qc=[dump(f"{k}.ext.json", v) for k, v in EXTRACTION.items()],
                             harmonized_qc=[dump(f"{k}.harm.json", v) for k, v in HARMONIZED.items()],
                             primary=[dump("primary.json", PRIMARY)])
    out = tmp_path / "out"
    outputs = SimpleNamespace(json=str(out / "tables" / "flow.json"), svg=str(out / "figures" / "flow.svg"),
                              png=str(out / "figures" / "flow.png"))
    run(inputs=inputs, outputs=outputs, params={"studies": SHEET, "min_cell_count": 5}, wildcards={},
        logger=logging.getLogger("test"))
    assert json.loads((out / "tables" / "flow.json").read_text())["patients"]["in_analysis"] == 287
    assert (out / "figures" / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    context = report_context(outputs.json, outputs.svg)
    env = Environment(loader=PackageLoader("her2meta", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("_flow.html").render(prisma_flow=context)
    assert '<h2 id="data-flow">' in html and 'src="data:image/svg+xml;base64,' in html
    assert "Studies with IPD not included:" in html and "<li>Trial X: no HR status recorded</li>" in html
    assert "including both would count its patients twice" in html  # the full reason, in the report
    assert "not in the analysis" in html
    assert "&lt;5 event after the data cut-off 2015-01-31 (censored at the cut-off: the event is not counted)" in html
    assert env.get_template("_flow.html").render().strip() == ""


def test_release_check_finds_no_small_cell(tmp_path):
    from her2meta import release
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "flow.json").write_text(json.dumps(document()))
    save_figure(flow_diagram(flow_phases(document())), results / "figures" / "flow")
    check = release.check_release(results, identifiers=[], min_cell_count=5)
    assert check.passed and not check.of_kind("small_cell"), check.summary()


def test_analysis_reasons_name_the_population_and_the_within_levels():
    reasons = analysis_reasons({"outcome": "pcr_ypt0is_ypn0", "population": {"chemo_taxane": [True]},
                                "within": {"field": "hr_status", "levels": ["positive", "negative"]},
                                "compare": {"field": "regimen_class", "exposed": ["dual_mab"], "reference": "trastuzumab"}})
    assert reasons["excluded_population"] == "outside the analysis population (chemo_taxane = true), or not recorded"
    assert reasons["excluded_unknown_level"] == "HR status neither positive nor negative"
