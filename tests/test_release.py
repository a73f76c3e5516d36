"""Safe Outputs: the release check finds patient identifiers, row-level tables and small cells
in the release zone, and `suppress_small_counts` removes small cells (and what reveals them)."""

from __future__ import annotations

import base64
import json
import random
import struct
import subprocess
import zlib
from pathlib import Path

import pandas as pd
import pytest

from her2meta.cli import main
from her2meta.release import (
    IdentifierIndex,
    check_release,
    png_text,
    release_files,
    small_cells_in_record,
    suppress_small_counts,
    svg_strings,
    write_manifest,
)

PATIENT = "NEOSPHERE-SIM-0042"
IDS = {PATIENT, "NEOSPHERE-SIM-0043", "123456", "7", "12"}

SVG = """<svg xmlns="http://www.w3.org/2000/svg"><g id="text_1"><!-- NeoSphere (synthetic) --><path d="M0 0"/></g>
<g id="text_2"><!-- 27 --></g><g id="text_3"><!-- /191 --></g><text x="1" y="2">{caption}</text></svg>"""


def _results(tmp_path: Path, caption: str = "Forest plot, HR-positive vs HR-negative") -> Path:
    """A small results folder: secure zone with patient-level data, release zone with aggregates."""
    results = tmp_path / "results"
    (results / "harmonized").mkdir(parents=True)
    pd.DataFrame({"patient_id": sorted(IDS), "age_years": [50] * len(IDS)}).to_parquet(results / "harmonized" / "S.parquet")
    (results / "estimates" / "a1").mkdir(parents=True)
    (results / "estimates" / "a1" / "S.tsv").write_text("study_id\tn\tevents\nS\t3\t1\n")  # secure: not scanned
    (results / "pooled").mkdir()
    (results / "pooled" / "a1.tsv").write_text("analysis\tmethod\tk\testimate\na1\tREML\t3\t0.5\n")
    (results / "pooled" / "a1.json").write_text(json.dumps({"studies": [{"study_id": "S", "n_exposed": 191, "events_exposed": 27,
                                                                          "n_reference": 212, "events_reference": 68}]}))
    (results / "figures" / "a1").mkdir(parents=True)
    (results / "figures" / "a1" / "forest.svg").write_text(SVG.format(caption=caption))
    (results / "report").mkdir()
    (results / "report" / "index.html").write_text(
        "<html><body><table><tr><th>Study</th><th>N</th><th>Responders/N, HR+</th></tr>"
        "<tr><td>NeoSphere</td><td>403</td><td>27/191 (14.1%)</td></tr></table>"
        f"<figure><img src=\"data:image/svg+xml;base64,{base64.b64encode(SVG.format(caption='x').encode()).decode()}\">"
        "<figcaption>Odds ratio per study</figcaption></figure></body></html>")
    return results


def _ids(results: Path) -> list[str]:
    return list(pd.read_parquet(results / "harmonized" / "S.parquet")["patient_id"])


def test_a_clean_release_zone_passes_and_the_secure_zone_is_not_scanned(tmp_path):
    results = _results(tmp_path)
    check = check_release(results, identifiers=_ids(results))
    assert check.passed and check.status == "passed" and check.findings == []
    scanned = [f["path"] for f in check.files]
    assert scanned == ["figures/a1/forest.svg", "pooled/a1.json", "pooled/a1.tsv", "report/index.html"]
    assert check.identifiers["searched"] == 3 and check.identifiers["not_searched"] == 2  # "7" and "12"


def test_planted_identifier_in_a_figure_caption_and_small_cell_in_a_table_are_both_caught(tmp_path):
    """The issue's acceptance test: both plants are found; the identifier fails the check by
    default, the small cell is listed as 'to be suppressed' (and fails it in strict mode)."""
    results = _results(tmp_path, caption=f"Forest plot; outlier: patient {PATIENT}.")
    (results / "pooled" / "by_arm.tsv").write_text("study_id\tarm\tn\tevents\nS\tA\t40\t12\nS\tB\t38\t3\n")
    check = check_release(results, identifiers=_ids(results), min_cell_count=5)
    ids = check.of_kind("patient_identifier")
    assert [(f.file, f.value) for f in ids] == [("figures/a1/forest.svg", PATIENT)]
    small = check.of_kind("small_cell")
    assert [(f.file, f.where, f.value) for f in small] == [("pooled/by_arm.tsv", "row 2 (study_id=S)", 3)]
    assert not check.passed and check.failures == ids
    strict = check_release(results, identifiers=_ids(results), min_cell_count=5, strict=True)
    assert {f.kind for f in strict.failures} == {"patient_identifier", "small_cell"}
    summary = strict.summary()
    assert PATIENT in summary and "pooled/by_arm.tsv" in summary and "failed" in summary.splitlines()[0]


def test_small_cells_alone_pass_by_default_and_are_listed_in_the_manifest(tmp_path):
    results = _results(tmp_path)
    (results / "pooled" / "a1.json").write_text(json.dumps({"studies": [
        {"study_id": "S", "n_exposed": 23, "events_exposed": 21, "n_reference": 18, "events_reference": 10,
         "excluded_missing_outcome": 2, "k": 1}]}))
    check = check_release(results, identifiers=_ids(results))
    assert check.passed and check.status == "passed, with small cells to be suppressed"
    rules = sorted(f.detail for f in check.of_kind("small_cell"))
    assert rules == ["excluded_missing_outcome = 2 < 5", "n_exposed - events_exposed = 2 < 5"]
    manifest = check.manifest()
    assert manifest["checks"]["small_cells"]["status"] == "to be suppressed"
    assert manifest["checks"]["small_cells"]["min_cell_count"] == 5
    assert len(manifest["checks"]["small_cells"]["found"]) == 2


def test_small_cells_in_report_fractions_count_columns_and_embedded_figures(tmp_path):
    results = _results(tmp_path)
    html = (results / "report" / "index.html").read_text()
    html = html.replace("<td>403</td>", "<td>4</td>").replace("27/191 (14.1%)", "2/19 (10.5%)")
    (results / "report" / "index.html").write_text(html)
    found = {(f.where.split(",")[0], f.detail) for f in check_release(results, identifiers=[]).of_kind("small_cell")}
    assert ("page", "4 < 5") in found and ("page", "'2/19': 2 < 5") in found
    (results / "figures" / "a1" / "forest.svg").write_text(SVG.replace("<!-- 27 -->", "<!-- 189 -->"))
    found = [f.detail for f in check_release(results, identifiers=[]).findings if f.file.startswith("figures")]
    assert found == ["'189 /191': N - events = 2 < 5"]


@pytest.mark.parametrize("name, content", [
    ("pooled/listing.tsv", "study_id\tpatient_id\tage\nS\tP1\t50\n"),
    ("pooled/values.csv", "er_percent,age_years,efs_months\n" + "10,50,12\n" * 25),
    ("report/data.json", json.dumps({"rows": [{"USUBJID": "x"}]})),
    ("report/rows.json", json.dumps([{"age_years": 50 + i, "efs_months": i} for i in range(30)])),
    ("pooled/extract.parquet", "PAR1"),
    ("pooled/long.tsv", "study_id\tx\n" + "S\t1\n" * 600),
])
def test_row_level_tables_fail_the_check(tmp_path, name, content):
    results = _results(tmp_path)
    (results / name).parent.mkdir(parents=True, exist_ok=True)
    (results / name).write_text(content)
    check = check_release(results, identifiers=[])
    assert [f.file for f in check.of_kind("row_level_table")] == [name] and not check.passed


def test_identifier_matching_is_whole_token_case_insensitive_and_skips_short_numbers():
    index = IdentifierIndex(["SIM-0012", "123456", "7", "AB"])
    assert len(index) == 2 and index.not_searched == 2
    assert [i for i, _ in index.find("see sim-0012, and SIM-0012.")] == ["SIM-0012", "SIM-0012"]
    assert index.find("SIM-00123 XSIM-0012 SIM-0012X") == []
    assert index.find("p = 0.123456; 1.23456e-5; 123456.5") == []
    assert [i for i, _ in index.find("id 123456 here")] == ["123456"]


@pytest.mark.parametrize("seed", range(40))
def test_identifier_search_finds_what_walking_every_run_finds(seed):
    """`find` visits only the places where an identifier's first run stands; on random text made
    of identifier pieces, numbers, decimals and separators it must agree with the plain walk
    over every run, hit for hit and offset for offset."""
    rng = random.Random(seed)
    sites = [str(rng.randint(100000, 999999)) for _ in range(rng.choice([3, 40]))]  # 40: more than the alternation takes
    identifiers = [f"SIM-{rng.choice(['NEO', 'ALT', 'Hermet'])}-{rng.randint(0, 99):04d}" for _ in range(30)] \
        + [f"{rng.choice(sites)}-{rng.randint(0, 999):03d}" for _ in range(30)] + sites[:3] + ["7", "AB"]
    index = IdentifierIndex(identifiers)
    pieces = identifiers + sites + ["sim", "neo", "0.", ".5", ",", "-", " ", "x", "SIMNEO", "\n", "é", "İ", "K"]
    for _ in range(20):
        text = "".join(rng.choice(pieces) + rng.choice(["", " ", "-", ".", ",", "_", "x"]) for _ in range(rng.randint(0, 60)))
        assert index.find(text) == index._find_walking_every_run(text.lower()), text
    assert index.find("nothing to see") == []


def test_manifest_lists_release_files_with_hashes_a_reviewer_can_verify(tmp_path):
    results = _results(tmp_path)
    (results / "provenance" / "pooled").mkdir(parents=True)
    (results / "provenance" / "pooled" / "a1.tsv.json").write_text("{}")
    (results / "ro-crate-metadata.json").write_text("{}")
    (results / ".a1.tsv.tmp").write_text("partial")
    check = check_release(results, identifiers=_ids(results))
    write_manifest(check, results / "pipeline_info" / "release_manifest.json", results / "pipeline_info" / "release_manifest.sha256")
    manifest = json.loads((results / "pipeline_info" / "release_manifest.json").read_text())
    paths = [f["path"] for f in manifest["files"]]
    assert "provenance/pooled/a1.tsv.json" in paths and "ro-crate-metadata.json" not in paths
    assert not any(p.startswith(("harmonized", "estimates")) or p.endswith(".tmp") for p in paths)
    assert manifest["zones"]["secure"] == ["results/extracted/", "results/harmonized/", "results/estimates/", "logs/"]
    verify = subprocess.run(["sha256sum", "-c", "pipeline_info/release_manifest.sha256"], cwd=results, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert [p.relative_to(results).as_posix() for p in release_files(results)] == paths


def test_release_check_command(tmp_path, capsys):
    results = _results(tmp_path, caption=f"patient {PATIENT}")
    assert main(["release", "check", str(results)]) == 1
    out = capsys.readouterr().out
    assert "FAIL patient_identifier" in out and PATIENT in out
    clean = _results(tmp_path / "clean")
    assert main(["release", "check", str(clean), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "passed"
    assert main(["release", "check", str(tmp_path / "nowhere")]) == 2


def test_suppress_small_counts_hides_cells_complements_and_totals():
    rows = [
        {"study_id": "A", "n_exposed": 23, "events_exposed": 21, "n_reference": 18, "events_reference": 10, "n": 41, "events": 31},
        {"study_id": "B", "n_exposed": 100, "events_exposed": 3, "n_reference": 90, "events_reference": 40, "n": 190, "events": 43},
        {"study_id": "C", "n_exposed": 4, "events_exposed": 2, "n_reference": 90, "events_reference": 40, "n": 94, "events": 42},
        {"study_id": "D", "n_exposed": 50, "events_exposed": 20, "n_reference": 60, "events_reference": 30, "n": 110, "events": 50},
    ]
    columns = ["n_exposed", "events_exposed", "n_reference", "events_reference", "n", "events"]
    out, suppressed = suppress_small_counts(rows, columns, 5, pairs=[("events_exposed", "n_exposed"), ("events_reference", "n_reference")],
                                            totals={"events": ["events_exposed", "events_reference"], "n": ["n_exposed", "n_reference"]},
                                            placeholder="<5")
    assert out[0]["events_exposed"] == "<5" and out[0]["events"] == "<5" and out[0]["n_exposed"] == 23  # 23 - 21 = 2
    assert out[1]["events_exposed"] == "<5" and out[1]["events"] == "<5" and out[1]["n"] == 190
    assert out[2]["n_exposed"] == "<5" and out[2]["events_exposed"] == "<5" and out[2]["n"] == "<5" and out[2]["events"] == "<5"
    assert out[3] == rows[3] and rows[0]["events_exposed"] == 21  # input untouched
    listed = {(s["label"], s["column"]) for s in suppressed}
    assert listed == {("A", "events_exposed"), ("A", "events"), ("B", "events_exposed"), ("B", "events"),
                      ("C", "n_exposed"), ("C", "events_exposed"), ("C", "n"), ("C", "events")}
    assert all(set(s) == {"row", "label", "column", "reason"} for s in suppressed)  # no values: releasable
    for row in out:  # what is left passes the check
        assert small_cells_in_record({k: v for k, v in row.items() if k != "study_id"}, 5) == []


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_png_text_chunks_and_svg_strings_are_scanned():
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"tEXt", b"Title\0patient NEOSPHERE-SIM-0042") + \
        _png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"zipped")) + _png_chunk(b"IEND", b"")
    assert png_text(png) == "Title: patient NEOSPHERE-SIM-0042\nComment: zipped"
    assert svg_strings(SVG.format(caption="a <tspan>b</tspan>")).splitlines() == ["NeoSphere (synthetic)", "27", "/191", "a b"]


def test_the_rule_stage_fails_on_identifiers_and_writes_the_manifest_otherwise(tmp_path):
    import logging
    from types import SimpleNamespace

    from her2meta.errors import Her2MetaError
    from her2meta.stages.release import run

    results = _results(tmp_path)
    (results / "harmonized" / "FAILED.parquet").write_text("a failed study's marker")
    outputs = SimpleNamespace(manifest=str(results / "pipeline_info" / "release_manifest.json"),
                              sha256=str(results / "pipeline_info" / "release_manifest.sha256"))
    inputs = SimpleNamespace(harmonized=[str(results / "harmonized" / "S.parquet"), str(results / "harmonized" / "FAILED.parquet")])
    run(inputs=inputs, outputs=outputs, params={"min_cell_count": 5, "strict": False}, wildcards={}, logger=logging.getLogger("t"))
    manifest = json.loads(Path(outputs.manifest).read_text())
    assert manifest["status"] == "passed" and manifest["checks"]["notes"][0]["where"] == "identifier source"
    Path(outputs.manifest).unlink()
    svg = results / "figures" / "a1" / "forest.svg"
    svg.write_text(SVG.format(caption=PATIENT))
    with pytest.raises(Her2MetaError, match="release check failed"):
        run(inputs=inputs, outputs=outputs, params={"min_cell_count": 5, "strict": False}, wildcards={}, logger=logging.getLogger("t"))
    assert not Path(outputs.manifest).exists()


def test_simulation_outputs_are_neither_scanned_nor_released(tmp_path):
    """results/simulation holds simulated replicates (row-level by design, no participant data):
    outside the release zone, so they cannot fail the check and are not in the manifest."""
    results = _results(tmp_path)
    (results / "simulation").mkdir()
    rows = "\n".join(f"{i},{i % 7}" for i in range(600))
    (results / "simulation" / "replicates.csv").write_text("replicate,n_available\n" + rows + "\n")
    (results / "provenance" / "simulation").mkdir(parents=True)
    (results / "provenance" / "simulation" / "replicates.csv.json").write_text('{"n": 1}')
    check = check_release(results, identifiers=_ids(results))
    assert check.status != "failed"
    listed = [p.relative_to(results).as_posix() for p in release_files(results)]
    assert not any("simulation" in p for p in listed)
    assert check.manifest()["zones"]["simulation"] == ["results/simulation/", "results/provenance/simulation/"]
    (results / "pooled" / "big.csv").write_text("replicate,n\n" + rows + "\n")
    assert check_release(results, identifiers=_ids(results)).status == "failed"  # the same table elsewhere fails


def test_row_limit_grows_with_the_number_of_studies(tmp_path):
    """A table of a few rows per study (integrity checks of 200 studies: 600 rows) is aggregate in
    a large meta-analysis; the same table from a 20-study run is not."""
    results = _results(tmp_path)
    rows = "\n".join(f"S{i // 3},check{i % 3},ok" for i in range(600))
    (results / "tables").mkdir(exist_ok=True)
    (results / "tables" / "integrity.tsv").write_text("study,check,status\n" + rows.replace(",", "\t") + "\n")
    assert check_release(results, identifiers=_ids(results), studies=200).status != "failed"
    small = check_release(results, identifiers=_ids(results), studies=20)
    assert small.status == "failed"
    assert any("600 rows: more than any aggregate table (500)" in f.line() for f in small.of_kind("row_level_table"))
    rows = "\n".join(f"S{i},1" for i in range(2001))
    (results / "tables" / "integrity.tsv").write_text("study,n\n" + rows.replace(",", "\t") + "\n")
    assert check_release(results, identifiers=_ids(results), studies=200).status == "failed"
