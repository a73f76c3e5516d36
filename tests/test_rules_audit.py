"""Audit rules, one by one (her2meta.audit, docs/audit.md "her2meta audit").

For every file in a result's lineage the audit compares the hash the user recorded, the hash in
the file's own record and the file now: ok, changed, missing, stale, no record, unrecorded, or
(records only) absent; it names each problem once and counts each file once. The records here are
written by hand, so every hash and path is known. Unit level: no Snakemake. The rules at the end
of the file are the ones the mutation run of issue 18 showed untested.
"""

from __future__ import annotations

import hashlib
import json
import locale
import os
import re
from pathlib import Path

import pytest

import her2meta.audit as audit_module
from her2meta.audit import (
    AuditResult,
    Auditor,
    Node,
    audit,
    find_results_dir,
    lineage_summary,
    output_of_record,
    render_text,
    report_appendix,
)

CONTENT = {"raw/S1.csv": "raw1", "map/S1.yaml": "map1", "results/extracted/S1.parquet": "ext1",
           "results/extracted/S1.qc.json": "qc1", "results/pooled/a.tsv": "pooled a"}
#: written by the tests that add a second final result
EXTRA = {"results/pooled/b.tsv": "pooled b"}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _record(output: str, rule: str, wildcards: dict, inputs: list[tuple[str, str | None, str | None]], outputs: list[str],
            *, own: str | None = None, started: str = "2026-01-01T00:00:00+00:00", **extra) -> dict:
    """Write the provenance record of `output`: inputs as (path, recorded sha256, role)."""
    record = {"rule": rule, "wildcards": wildcards, "started": started, "finished": "2026-01-01T00:00:05+00:00",
              "seed": 7, "host": "vm", "results_dir": "results",
              "code": {"git_commit": "0123456789abcdef", "git_dirty": True, "source_sha256": "f" * 64},
              "software": {"python": "3.11"}, "params": {"p": 1}, "config": {"sha256": "c" * 64},
              "inputs": [{"path": p, "sha256": h, **({"role": r} if r else {})} for p, h, r in inputs],
              "outputs": [{"path": o, "sha256": sha({**CONTENT, **EXTRA}.get(o, o))} for o in outputs],
              "output": {"path": output, "sha256": own or sha({**CONTENT, **EXTRA}.get(output, output))}, **extra}
    path = Path("results/provenance") / (Path(output).relative_to("results").as_posix() + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return record


@pytest.fixture
def run(tmp_path, monkeypatch):
    """raw file + mapping -> extracted data and its QC (one job) -> pooled table, in tmp_path."""
    monkeypatch.chdir(tmp_path)
    for name, text in CONTENT.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text)
    extract_inputs = [("raw/S1.csv", sha("raw1"), "package"), ("map/S1.yaml", sha("map1"), "mapping")]
    outputs = ["results/extracted/S1.parquet", "results/extracted/S1.qc.json"]
    _record("results/extracted/S1.parquet", "extract", {"study": "S1"}, extract_inputs, outputs)
    _record("results/extracted/S1.qc.json", "extract", {"study": "S1"}, extract_inputs, outputs)
    _record("results/pooled/a.tsv", "pool", {"analysis": "a"},
            [("results/extracted/S1.parquet", sha("ext1"), "data"), ("results/extracted/S1.qc.json", sha("qc1"), "data")],
            ["results/pooled/a.tsv"])
    return tmp_path


def _statuses(result: AuditResult) -> list[tuple[str, str, str]]:
    return [(n.location, n.kind, n.status) for n in result.nodes()]


# ---------------------------------------------------------------------------------------------
# The lineage tree and the status of each file

def test_lineage_of_a_result_kinds_and_statuses(run):
    result = audit("results/pooled/a.tsv")
    assert _statuses(result) == [
        ("results/pooled/a.tsv", "result", "ok"),
        ("results/extracted/S1.parquet", "result", "ok"),
        ("raw/S1.csv", "raw file", "ok"),
        ("map/S1.yaml", "mapping", "ok"),
        ("results/extracted/S1.qc.json", "result", "ok"),
    ]
    root = result.roots[0]
    assert (root.recorded, root.current, root.produced) == (sha("pooled a"), sha("pooled a"), sha("pooled a"))
    assert (root.rule, root.wildcards, root.used_by) == ("pool", {"analysis": "a"}, None)
    extracted, qc = root.children
    assert extracted.used_by == "results/pooled/a.tsv" and extracted.children[0].used_by == "results/extracted/S1.parquet"
    assert not extracted.repeat and qc.repeat and qc.children == []  # the same job: its inputs are shown once
    assert result.ok and result.problems == [] and result.counts() == {"ok": 5} and result.studies() == ["S1"]


def test_input_roles_name_the_kind_of_file(run):
    """package: raw file, table: aggregate table, mapping, studies: study sheet, configfiles: config;
    any other role as it is; no role: input."""
    roles = {"package": "raw file", "table": "aggregate table", "mapping": "mapping", "studies": "study sheet",
             "configfiles": "config", "weights": "weights", None: "input"}
    inputs = [(f"in{i}.txt", sha("x"), role) for i, role in enumerate(roles)]
    for path, _, _ in inputs:
        Path(path).write_text("x")
    _record("results/pooled/a.tsv", "pool", {}, inputs, ["results/pooled/a.tsv"])
    children = audit("results/pooled/a.tsv").roots[0].children
    assert [(c.location, c.kind, c.status) for c in children] == [(f"in{i}.txt", kind, "ok")
                                                                    for i, kind in enumerate(roles.values())]


def test_a_changed_file(run):
    Path("raw/S1.csv").write_text("raw1, edited")
    node = next(n for n in audit("results/pooled/a.tsv").nodes() if n.location == "raw/S1.csv")
    assert node.status == "changed"
    assert node.detail == f"sha256 now {sha('raw1, edited')[:12]}, recorded {sha('raw1')[:12]}"
    assert node.current == sha("raw1, edited") and node.recorded == sha("raw1")


def test_a_missing_file_and_an_absent_one_on_a_copy(run):
    """Not there: missing; with records_only (a copy without the secure zone): absent, not a problem."""
    Path("map/S1.yaml").unlink()
    node = next(n for n in audit("results/pooled/a.tsv").nodes() if n.location == "map/S1.yaml")
    assert (node.status, node.detail, node.current) == ("missing", "file not found", None)
    result = audit("results/pooled/a.tsv", records_only=True)
    node = next(n for n in result.nodes() if n.location == "map/S1.yaml")
    assert (node.status, node.detail) == ("absent", "not present; checked against the recorded hashes only")
    assert result.ok and result.counts() == {"absent": 1, "ok": 4}


def test_a_file_missing_when_its_user_ran_is_unrecorded(run):
    _record("results/pooled/a.tsv", "pool", {}, [("raw/S1.csv", None, "package"),
                                                 ("results/extracted/S1.parquet", None, "data")], ["results/pooled/a.tsv"])
    children = audit("results/pooled/a.tsv").roots[0].children
    assert [(c.location, c.status, c.detail) for c in children] == [
        ("raw/S1.csv", "unrecorded", "the file was missing when the job that used it ran"),
        ("results/extracted/S1.parquet", "unrecorded", "the file was missing when the job that used it ran")]


def test_a_result_rebuilt_after_its_user_ran_is_stale(run):
    """The user's hash matches the file, but the file's own record says another: it was rebuilt
    (and put back) after the user ran, so the user may rest on another version."""
    outputs = ["results/extracted/S1.parquet"]
    _record("results/extracted/S1.parquet", "extract", {"study": "S1"}, [], outputs, own=sha("ext2"))
    node = audit("results/pooled/a.tsv").roots[0].children[0]
    assert node.status == "stale" and node.produced == sha("ext2")
    assert node.detail == (f"rebuilt after results/pooled/a.tsv used it (its own record says {sha('ext2')[:12]}, "
                           f"the user recorded {sha('ext1')[:12]}): rerun the workflow")
    Path("results/extracted/S1.parquet").unlink()
    node = audit("results/pooled/a.tsv", records_only=True).roots[0].children[0]
    assert node.status == "stale"
    Path("results/extracted/S1.parquet").write_text("ext3")
    node = audit("results/pooled/a.tsv").roots[0].children[0]
    assert node.status == "changed"  # a change is named as a change first


def test_a_result_without_a_record_is_a_gap(run):
    Path("results/provenance/extracted/S1.parquet.json").unlink()
    node = audit("results/pooled/a.tsv").roots[0].children[0]
    assert (node.kind, node.status, node.detail, node.children) == (
        "result", "no record", "a result without a provenance record: its lineage is unknown", [])
    assert node.current == sha("ext1")


def test_jobs_are_expanded_once_but_each_step_of_a_chain_is_shown(run):
    """Outputs of one job (same rule, wildcards, start, outputs and inputs) show their inputs once;
    a job started at another time, or an output made from other inputs, is shown with its own."""
    outputs = ["results/extracted/S1.parquet", "results/extracted/S1.qc.json"]
    _record("results/extracted/S1.qc.json", "extract", {"study": "S1"}, [("raw/S1.csv", sha("raw1"), "package")], outputs)
    qc = audit("results/pooled/a.tsv").roots[0].children[1]
    assert not qc.repeat and [c.location for c in qc.children] == ["raw/S1.csv"]
    extract_inputs = [("raw/S1.csv", sha("raw1"), "package"), ("map/S1.yaml", sha("map1"), "mapping")]
    _record("results/extracted/S1.qc.json", "extract", {"study": "S1"}, extract_inputs, outputs,
            started="2026-01-02T00:00:00+00:00")
    qc = audit("results/pooled/a.tsv").roots[0].children[1]
    assert not qc.repeat and len(qc.children) == 2
    _record("results/extracted/S1.qc.json", "extract", {"study": "S2"}, extract_inputs, outputs)
    assert not audit("results/pooled/a.tsv").roots[0].children[1].repeat
    _record("results/extracted/S1.qc.json", "extract2", {"study": "S1"}, extract_inputs, outputs)
    assert not audit("results/pooled/a.tsv").roots[0].children[1].repeat
    _record("results/extracted/S1.qc.json", "extract", {"study": "S1"}, extract_inputs, outputs[:1])
    assert not audit("results/pooled/a.tsv").roots[0].children[1].repeat
    _record("results/extracted/S1.qc.json", "extract", {"study": "S1"}, extract_inputs[::-1], outputs[::-1])
    assert audit("results/pooled/a.tsv").roots[0].children[1].repeat  # the same sets, in another order


# ---------------------------------------------------------------------------------------------
# Problems and counts over a folder

def _second_result(ext_sha: str) -> None:
    Path("results/pooled/b.tsv").write_text("pooled b")
    _record("results/pooled/b.tsv", "pool", {"analysis": "b"}, [("results/extracted/S1.parquet", ext_sha, "data")],
            ["results/pooled/b.tsv"])


def test_folder_audit_names_each_problem_once_and_counts_each_file_once(run):
    _second_result(sha("ext1"))
    Path("raw/S1.csv").unlink()
    result = Auditor("results").audit()
    assert result.folder and [r.location for r in result.roots] == ["results/pooled/a.tsv", "results/pooled/b.tsv"]
    assert [(p.location, p.status, p.used_by) for p in result.problems] == [
        ("raw/S1.csv", "missing", "results/extracted/S1.parquet")]
    assert result.counts() == {"missing": 1, "ok": 5}
    assert not result.ok
    assert Auditor("results").audit("results").folder
    assert not Auditor("results").audit("results/pooled/a.tsv").folder


def test_a_file_ok_for_one_user_and_changed_for_another_counts_as_changed(run):
    _second_result(sha("ext0"))  # b.tsv recorded another version of the extracted data
    result = Auditor("results").audit()
    assert result.counts() == {"changed": 1, "ok": 5}
    assert [(p.location, p.used_by) for p in result.problems] == [("results/extracted/S1.parquet", "results/pooled/b.tsv")]
    # the other order: a.tsv (first) recorded the other version, b.tsv this one
    _record("results/pooled/a.tsv", "pool", {"analysis": "a"}, [("results/extracted/S1.parquet", sha("ext0"), "data")],
            ["results/pooled/a.tsv"])
    _second_result(sha("ext1"))
    result = Auditor("results").audit()  # the QC file, no longer used by a.tsv, is a final result now
    assert [r.location for r in result.roots] == ["results/extracted/S1.qc.json", "results/pooled/a.tsv", "results/pooled/b.tsv"]
    assert result.counts() == {"changed": 1, "ok": 5}
    assert [(p.location, p.used_by) for p in result.problems] == [("results/extracted/S1.parquet", "results/pooled/a.tsv")]


def test_the_same_problem_for_two_users_is_listed_for_each(run):
    _second_result(sha("ext0"))
    _record("results/pooled/a.tsv", "pool", {"analysis": "a"}, [("results/extracted/S1.parquet", sha("ext9"), "data")],
            ["results/pooled/a.tsv"])
    problems = Auditor("results").audit().problems
    assert [(p.location, p.recorded, p.used_by) for p in problems] == [
        ("results/extracted/S1.parquet", sha("ext9"), "results/pooled/a.tsv"),
        ("results/extracted/S1.parquet", sha("ext0"), "results/pooled/b.tsv")]


def test_final_results_and_recorded_outputs(run):
    auditor = Auditor("results")
    assert auditor.recorded_outputs() == [Path("results/extracted/S1.parquet"), Path("results/extracted/S1.qc.json"),
                                          Path("results/pooled/a.tsv")]
    assert auditor.final_results() == [Path("results/pooled/a.tsv")]


# ---------------------------------------------------------------------------------------------
# Where files are: results folder, records, recorded paths

def test_results_folder_of_a_path(run):
    assert find_results_dir("results") == Path("results")
    assert find_results_dir("results/pooled/a.tsv") == Path("results")
    assert find_results_dir("results/pooled") == Path("results")
    assert find_results_dir("results/provenance/pooled/a.tsv.json") == Path("results")
    Path("other").mkdir()
    with pytest.raises(FileNotFoundError, match=r"^other: no results folder \(a folder with provenance/ in it\) above it$"):
        find_results_dir("other")


def test_output_of_a_record(run):
    results = Path("results")
    assert output_of_record("results/provenance/pooled/a.tsv.json", results) == Path("results/pooled/a.tsv")
    assert output_of_record("results/pooled/a.tsv", results) == Path("results/pooled/a.tsv")
    assert output_of_record("results/provenance/notes.txt", results) == Path("results/provenance/notes.txt")
    # a record that is itself a result (it has a record of its own) stays what it is
    Path("results/provenance/provenance/pooled").mkdir(parents=True)
    Path("results/provenance/provenance/pooled/a.tsv.json.json").write_text("{}")
    assert output_of_record("results/provenance/pooled/a.tsv.json", results) == Path("results/provenance/pooled/a.tsv.json")


def test_a_path_without_a_record_is_named(run):
    with pytest.raises(FileNotFoundError) as raised:
        Auditor("results").lineage("results/pooled/none.tsv")
    assert str(raised.value) == (f"results/pooled/none.tsv: no provenance record in {Path('results/provenance')} "
                                 "(is it a result of this workflow, under this results folder?)")
    with pytest.raises(FileNotFoundError):
        Auditor("results").lineage("raw/S1.csv")  # outside the results folder: no record


def test_recorded_paths_are_located_in_this_results_folder(run):
    """Paths under the run's results folder map into this one; other relative paths are relative
    to the folder above it (the run's working directory); absolute paths under the run's working
    directory are read relative to it, others stay as they are."""
    auditor = Auditor("copy/out")
    assert auditor.root == Path("copy")
    assert auditor.locate("out/pooled/a.tsv", {"results_dir": "out"}) == Path("copy/out/pooled/a.tsv")
    assert auditor.locate("results/pooled/a.tsv", None) == Path("copy/out/pooled/a.tsv")
    assert auditor.locate("results/pooled/a.tsv", {"results_dir": None}) == Path("copy/out/pooled/a.tsv")
    assert auditor.locate("raw/S1.csv", {"results_dir": "out"}) == Path("copy/raw/S1.csv")
    assert auditor.locate("/old/run/results/pooled/a.tsv", {"workdir": "/old/run"}) == Path("copy/out/pooled/a.tsv")
    assert auditor.locate("/old/run/raw/S1.csv", {"workdir": "/old/run"}) == Path("copy/raw/S1.csv")
    assert auditor.locate("/elsewhere/S1.csv", {"workdir": "/old/run"}) == Path("/elsewhere/S1.csv")
    assert auditor.locate("/elsewhere/S1.csv", {}) == Path("/elsewhere/S1.csv")
    assert Auditor("copy/out", root="/data").locate("raw/S1.csv", None) == Path("/data/raw/S1.csv")


def test_in_results_and_display(run, tmp_path):
    auditor = Auditor("results")
    assert auditor.in_results(Path("results/pooled/a.tsv")) and not auditor.in_results(Path("raw/S1.csv"))
    assert auditor.display(Path("results/pooled/a.tsv")) == "results/pooled/a.tsv"
    assert auditor.display(tmp_path.parent / "x.csv") == str(tmp_path.parent / "x.csv")
    assert auditor.record_for(Path("raw/S1.csv")) is None
    assert auditor.record_for(Path("results/pooled/a.tsv"))["rule"] == "pool"
    assert auditor.record_for(Path("results/pooled/none.tsv")) is None


# ---------------------------------------------------------------------------------------------
# What is printed and written

def test_node_and_result_as_documents(run):
    result = audit("results/pooled/a.tsv")
    document = result.to_dict()
    assert {k: document[k] for k in ("target", "results_dir", "records_only", "ok", "files_checked", "counts", "studies",
                                      "problems")} == {
        "target": "results/pooled/a.tsv", "results_dir": "results", "records_only": False, "ok": True, "files_checked": 5,
        "counts": {"ok": 5}, "studies": ["S1"], "problems": []}
    top = document["lineage"][0]
    assert top == {
        "path": "results/pooled/a.tsv", "location": "results/pooled/a.tsv", "kind": "result", "status": "ok",
        "sha256_recorded": sha("pooled a"), "sha256_now": sha("pooled a"), "rule": "pool", "wildcards": {"analysis": "a"},
        "sha256_in_own_record": sha("pooled a"), "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:00:05+00:00", "seed": 7,
        "code": {"git_commit": "0123456789abcdef", "git_dirty": True, "source_sha256": "f" * 64},
        "software": {"python": "3.11"}, "host": "vm", "params": {"p": 1}, "config": {"sha256": "c" * 64},
        "inputs": top["inputs"]}
    extracted, qc = top["inputs"]
    assert "code" not in extracted and "host" not in extracted and extracted["seed"] == 7
    assert extracted["inputs"][0] == {"path": "raw/S1.csv", "location": "raw/S1.csv", "kind": "raw file", "status": "ok",
                                      "sha256_recorded": sha("raw1"), "sha256_now": sha("raw1")}
    assert qc["lineage_shown_above"] is True and "inputs" not in qc
    Path("raw/S1.csv").unlink()
    document = audit("results/pooled/a.tsv").to_dict()
    assert document["problems"] == [{"path": "raw/S1.csv", "location": "raw/S1.csv", "status": "missing",
                                     "detail": "file not found", "sha256_recorded": sha("raw1"), "sha256_now": None,
                                     "used_by": "results/extracted/S1.parquet"}]
    assert document["lineage"][0]["inputs"][0]["inputs"][0]["detail"] == "file not found"
    assert document["ok"] is False and document["files_checked"] == 5


def test_a_result_without_a_record_as_a_document():
    node = Node(path="results/x", location="results/x", kind="result", recorded=None, status="no record")
    assert node.to_dict() == {"path": "results/x", "location": "results/x", "kind": "result", "status": "no record",
                              "sha256_recorded": None, "sha256_now": None, "rule": None, "wildcards": {},
                              "sha256_in_own_record": None, "inputs": []}


def _rows(text: str) -> list[str]:
    return text.splitlines()


def test_text_of_one_result(run):
    raw, mapping, ext, qc, pooled = (sha(CONTENT[k])[:12] for k in CONTENT)
    assert _rows(render_text(audit("results/pooled/a.tsv"))) == [
        "results/pooled/a.tsv",
        "  made by rule pool analysis=a on vm, 2026-01-01T00:00:00+00:00 to 2026-01-01T00:00:05+00:00",
        f"  code: git 0123456789 (dirty tree), sources sha256 {'f' * 12}; seed 7",
        "  studies: S1",
        "",
        "lineage (sha256 as recorded by the result that used the file; status of the file now):",
        f"results/pooled/a.tsv              {pooled}  ok  pool analysis=a",
        f"├── results/extracted/S1.parquet  {ext}  ok  extract study=S1",
        f"│   ├── raw/S1.csv                {raw}  ok  raw file",
        f"│   └── map/S1.yaml               {mapping}  ok  mapping",
        f"└── results/extracted/S1.qc.json  {qc}  ok  extract study=S1  (inputs shown above)",
        "",
        "5 files checked: 5 ok.",
        "every recorded hash matches the files as they are now.",
    ]


def test_text_names_every_problem_and_the_records_only_hint(run):
    Path("raw/S1.csv").write_text("edited")
    Path("map/S1.yaml").unlink()
    text = _rows(render_text(audit("results/pooled/a.tsv")))
    assert text[-6:] == [
        "",
        "5 files checked: 1 changed, 1 missing, 3 ok.",
        "2 problem(s):",
        f"  CHANGED    raw/S1.csv (used by results/extracted/S1.parquet): sha256 now {sha('edited')[:12]}, "
        f"recorded {sha('raw1')[:12]}",
        "  MISSING    map/S1.yaml (used by results/extracted/S1.parquet): file not found",
        "(on a copy of the release zone, use --records-only to check against the recorded hashes alone)",
    ]
    assert "│   ├── raw/S1.csv                " + sha("raw1")[:12] + "  changed  raw file" in text
    Path("raw/S1.csv").write_text("raw1")
    text = _rows(render_text(audit("results/pooled/a.tsv", records_only=True)))
    assert text[-1] == "1 files not present here were checked against the recorded hashes only."
    assert text[-2] == "5 files checked: 1 absent, 4 ok."


def test_text_of_a_result_without_a_commit_or_studies(run):
    _record("results/pooled/a.tsv", "pool", {}, [], ["results/pooled/a.tsv"], code={}, seed=None)
    record = json.loads(Path("results/provenance/pooled/a.tsv.json").read_text())
    for key in ("host", "started", "finished"):
        del record[key]
    Path("results/provenance/pooled/a.tsv.json").write_text(json.dumps(record))
    assert _rows(render_text(audit("results/pooled/a.tsv")))[:4] == [
        "results/pooled/a.tsv", "  made by rule pool on ?, ? to ?", "  code: git no git, sources sha256 ?; seed None",
        "  studies: (none)"]


def test_text_of_a_folder(run):
    _second_result(sha("ext1"))
    Path("raw/S1.csv").unlink()
    text = _rows(render_text(Auditor("results").audit()))
    assert text[:3] == [
        "results: 2 final results (results nothing else was made from)",
        f"results/pooled/a.tsv  {sha('pooled a')[:12]}  1 problem(s)  pool analysis=a; 5 files in its lineage",
        f"results/pooled/b.tsv  {sha('pooled b')[:12]}  1 problem(s)  pool analysis=b; 4 files in its lineage",
    ]
    Path("raw/S1.csv").write_text("raw1")
    text = _rows(render_text(Auditor("results").audit()))
    assert text[1] == f"results/pooled/a.tsv  {sha('pooled a')[:12]}  ok  pool analysis=a; 5 files in its lineage"


def test_label_of_a_result_without_a_rule():
    node = Node(path="x", location="x", kind="result", recorded=None)
    result = AuditResult("x", "r", False, [node])
    assert _rows(render_text(result))[6] == "x  -             ok  ?"


# ---------------------------------------------------------------------------------------------
# The report's provenance appendix

def test_lineage_summary_lists_raw_files_and_mappings_by_study(run):
    auditors: dict = {}
    summary = lineage_summary("results/pooled/a.tsv", auditors=auditors)
    assert summary == {"path": "results/pooled/a.tsv", "rule": "pool", "studies": ["S1"], "files": [
        {"study": "S1", "role": "mapping", "path": "map/S1.yaml", "sha256": sha("map1")},
        {"study": "S1", "role": "raw file", "path": "raw/S1.csv", "sha256": sha("raw1")}]}
    assert list(auditors) == [Path("results")] and auditors[Path("results")].records_only
    Path("raw/S1.csv").unlink()  # read from the records: a copy without the raw data gives the same
    assert lineage_summary("results/pooled/a.tsv", results_dir="results") == summary


def test_lineage_summary_files_outside_any_study(run):
    Path("studies.tsv").write_text("sheet")
    _record("results/pooled/a.tsv", "pool", {"analysis": "a"},
            [("studies.tsv", sha("sheet"), "studies"), ("results/extracted/S1.parquet", sha("ext1"), "data")],
            ["results/pooled/a.tsv"])
    files = lineage_summary("results/pooled/a.tsv")["files"]
    assert [(f["study"], f["role"], f["path"]) for f in files] == [
        ("", "study sheet", "studies.tsv"), ("S1", "mapping", "map/S1.yaml"), ("S1", "raw file", "raw/S1.csv")]


def test_report_appendix_items_and_files_once(run):
    _second_result(sha("ext1"))
    Path("raw/S2.csv").write_text("raw2")
    _record("results/pooled/b.tsv", "pool", {"analysis": "b"},
            [("results/extracted/S1.parquet", sha("ext1"), "data"), ("raw/S2.csv", sha("raw2"), "package"),
             ("raw/S2.csv", sha("old"), "package")], ["results/pooled/b.tsv"])
    appendix = report_appendix(["results/pooled/b.tsv", "results/pooled/a.tsv"])
    assert appendix["items"] == [{"path": "results/pooled/b.tsv", "rule": "pool", "studies": ["S1"]},
                                 {"path": "results/pooled/a.tsv", "rule": "pool", "studies": ["S1"]}]
    expected = [("", "raw file", "raw/S2.csv", sha("old")), ("", "raw file", "raw/S2.csv", sha("raw2")),
                ("S1", "mapping", "map/S1.yaml", sha("map1")), ("S1", "raw file", "raw/S1.csv", sha("raw1"))]
    assert [(f["study"], f["role"], f["path"], f["sha256"]) for f in appendix["files"]] == sorted(expected)


# ---------------------------------------------------------------------------------------------
# Each problem status is a problem; absent is not

def test_stale_no_record_and_unrecorded_are_problems(run):
    _record("results/extracted/S1.parquet", "extract", {"study": "S1"}, [], ["results/extracted/S1.parquet"], own=sha("ext2"))
    assert [(p.location, p.status) for p in audit("results/pooled/a.tsv").problems] == [
        ("results/extracted/S1.parquet", "stale")]
    Path("results/provenance/extracted/S1.parquet.json").unlink()
    assert [(p.location, p.status) for p in audit("results/pooled/a.tsv").problems] == [
        ("results/extracted/S1.parquet", "no record")]
    _record("results/pooled/a.tsv", "pool", {}, [("raw/S1.csv", None, "package")], ["results/pooled/a.tsv"])
    result = audit("results/pooled/a.tsv")
    assert [(p.location, p.status) for p in result.problems] == [("raw/S1.csv", "unrecorded")] and not result.ok


def test_a_file_with_two_problems_is_counted_with_the_first(run):
    """A file changed for one user and unrecorded for another is one file, counted once."""
    _record("results/pooled/a.tsv", "pool", {"analysis": "a"}, [("results/extracted/S1.parquet", sha("ext9"), "data")],
            ["results/pooled/a.tsv"])
    _second_result(None)
    result = Auditor("results").audit()
    assert result.counts() == {"changed": 1, "ok": 5}  # qc, raw, mapping (qc is a final result now), a.tsv, b.tsv
    assert [(p.location, p.status) for p in result.problems] == [("results/extracted/S1.parquet", "changed"),
                                                                 ("results/extracted/S1.parquet", "unrecorded")]


def test_records_only_with_every_file_present(run):
    text = _rows(render_text(audit("results/pooled/a.tsv", records_only=True)))
    assert text[-2:] == ["5 files checked: 5 ok.", "every recorded hash matches the files as they are now."]


def test_jobs_with_the_same_wildcards_in_another_order_are_one_job(run):
    outputs = ["results/extracted/S1.parquet", "results/extracted/S1.qc.json"]
    inputs = [("raw/S1.csv", sha("raw1"), "package")]
    _record("results/extracted/S1.parquet", "extract", {"study": "S1", "site": "x"}, inputs, outputs)
    _record("results/extracted/S1.qc.json", "extract", {"site": "x", "study": "S1"}, inputs, outputs)
    root = audit("results/pooled/a.tsv").roots[0]
    assert [c.repeat for c in root.children] == [False, True]
    assert render_text(audit("results/pooled/a.tsv")).splitlines()[7].endswith("extract site=x study=S1")


def test_audit_with_a_given_results_folder(run, tmp_path):
    Path("copy").mkdir()
    import shutil
    shutil.copytree("results", "copy/results")
    result = audit("copy/results/pooled/a.tsv", results_dir="copy/results")
    assert result.results_dir == "copy/results" and result.roots[0].location == "copy/results/pooled/a.tsv"
    assert [n.location for n in result.nodes()][2] == "copy/raw/S1.csv"  # raw data relative to the copy's parent
    assert result.counts() == {"missing": 2, "ok": 3}


def test_a_record_with_only_its_output_is_a_result_without_inputs(run):
    """A minimal record (no inputs, outputs or wildcards listed, e.g. an older schema) is read as a
    result made from nothing recorded, not an error."""
    Path("results/provenance/pooled/a.tsv.json").write_text(json.dumps(
        {"rule": "pool", "output": {"path": "results/pooled/a.tsv", "sha256": sha("pooled a")}}))
    result = audit("results/pooled/a.tsv")
    root = result.roots[0]
    assert (root.status, root.children, root.wildcards, root.rule) == ("ok", [], {}, "pool")
    assert Auditor("results").final_results() == [Path("results/extracted/S1.parquet"), Path("results/extracted/S1.qc.json"),
                                                  Path("results/pooled/a.tsv")]
    assert lineage_summary("results/pooled/a.tsv") == {"path": "results/pooled/a.tsv", "rule": "pool", "studies": [],
                                                       "files": []}


def test_text_tree_below_a_last_child_and_several_studies(run):
    """The tree continues below a last child with blank indentation (no "│"); every study is named."""
    outputs = ["results/extracted/S1.parquet", "results/extracted/S1.qc.json"]
    _record("results/extracted/S1.qc.json", "extract", {"study": "S2"}, [("raw/S1.csv", sha("raw1"), "package")], outputs)
    text = _rows(render_text(audit("results/pooled/a.tsv")))
    assert text[3] == "  studies: S1, S2"
    assert text[10:12] == [f"└── results/extracted/S1.qc.json  {sha('qc1')[:12]}  ok  extract study=S2",
                           f"    └── raw/S1.csv                {sha('raw1')[:12]}  ok  raw file"]


def test_text_of_a_folder_without_results(tmp_path, monkeypatch):
    """A results folder whose provenance/ holds no record yet: nothing to check, no error."""
    monkeypatch.chdir(tmp_path)
    Path("results/provenance").mkdir(parents=True)
    text = _rows(render_text(Auditor("results").audit()))
    assert text == ["results: 0 final results (results nothing else was made from)", "", "0 files checked: .",
                    "every recorded hash matches the files as they are now."]


def test_text_of_a_folder_whose_result_has_no_recorded_hash(run):
    """A result whose own record has no hash is shown with "-" (and is unrecorded: a problem)."""
    _record("results/pooled/a.tsv", "pool", {"analysis": "a"}, [], ["results/pooled/a.tsv"])
    record = json.loads(Path("results/provenance/pooled/a.tsv.json").read_text())
    record["output"]["sha256"] = None
    Path("results/provenance/pooled/a.tsv.json").write_text(json.dumps(record))
    rows = [r for r in _rows(render_text(Auditor("results").audit())) if r.startswith("results/pooled/a.tsv")]
    assert rows == ["results/pooled/a.tsv          -             1 problem(s)  pool analysis=a; 1 files in its lineage"]
    problems = _rows(render_text(Auditor("results").audit("results/pooled/a.tsv")))
    assert problems[-1] == "  UNRECORDED results/pooled/a.tsv: the file was missing when the job that used it ran"  # no user


# ---------------------------------------------------------------------------------------------
# Rules the mutation run (issue 18) showed untested

def test_the_results_folder_given_is_the_only_one_whose_records_are_read(run):
    """With a results folder given (--results), a path outside it has no record there: it is not
    audited against the folder it happens to lie in, and the message names the folder searched."""
    Path("copy/results/provenance").mkdir(parents=True)
    message = "^" + re.escape(f"results/pooled/a.tsv: no provenance record in {Path('copy/results/provenance')} ")
    with pytest.raises(FileNotFoundError, match=message):
        audit("results/pooled/a.tsv", results_dir="copy/results")
    with pytest.raises(FileNotFoundError, match=message):
        lineage_summary("results/pooled/a.tsv", results_dir="copy/results")
    with pytest.raises(FileNotFoundError, match=message):
        report_appendix(["results/pooled/a.tsv"], results_dir="copy/results")


def test_the_report_appendix_reads_one_results_folder_once(run, monkeypatch):
    """All tables and figures of one results folder share one Auditor (records and hashes read
    once for the whole appendix, not once per table)."""
    _second_result(sha("ext1"))
    made = []

    class CountingAuditor(Auditor):
        def __init__(self, results_dir, **options):
            made.append(Path(results_dir))
            super().__init__(results_dir, **options)

    monkeypatch.setattr(audit_module, "Auditor", CountingAuditor)
    appendix = report_appendix(["results/pooled/a.tsv", "results/pooled/b.tsv"])
    assert made == [Path("results")]
    assert [item["path"] for item in appendix["items"]] == ["results/pooled/a.tsv", "results/pooled/b.tsv"]


def test_a_file_is_listed_under_the_study_of_the_nearest_result_above_it(run):
    """A result made without a study (a shared dictionary) used by study S1's extraction: its
    inputs belong to S1 in the appendix, not to no study."""
    Path("dict").mkdir()
    Path("dict/terms.yaml").write_text("terms")
    _record("results/dictionary/terms.json", "dictionary", {}, [("dict/terms.yaml", sha("terms"), "mapping")],
            ["results/dictionary/terms.json"])
    inputs = [("raw/S1.csv", sha("raw1"), "package"), ("map/S1.yaml", sha("map1"), "mapping"),
              ("results/dictionary/terms.json", sha("results/dictionary/terms.json"), "data")]
    outputs = ["results/extracted/S1.parquet", "results/extracted/S1.qc.json"]
    for output in outputs:
        _record(output, "extract", {"study": "S1"}, inputs, outputs)
    files = lineage_summary("results/pooled/a.tsv")["files"]
    assert [(f["study"], f["role"], f["path"]) for f in files] == [
        ("S1", "mapping", "dict/terms.yaml"), ("S1", "mapping", "map/S1.yaml"), ("S1", "raw file", "raw/S1.csv")]


def test_a_folder_audit_as_a_document_names_the_folder_and_the_mode(run):
    """The JSON of a whole-folder audit has the folder as its target and records_only as a boolean."""
    document = Auditor("results").audit().to_dict()
    assert (document["target"], document["results_dir"], document["records_only"]) == ("results", "results", False)
    assert Auditor("results", records_only=True).audit().to_dict()["records_only"] is True


def test_locations_are_shown_relative_below_the_current_folder_and_absolute_above_it(run, tmp_path, monkeypatch):
    """An absolute path below the current folder is shown relative to it, a relative path that
    goes up is shown absolute, and a location relpath cannot express (another drive, on Windows)
    is shown as it is."""
    auditor = Auditor("results")
    assert auditor.display(tmp_path / "results" / "pooled" / "a.tsv") == os.path.join("results", "pooled", "a.tsv")
    assert auditor.display(Path("..") / "x.csv") == str(tmp_path.parent / "x.csv")

    def other_drive(path, start=None):
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    with monkeypatch.context() as patch:
        patch.setattr(audit_module.os.path, "relpath", other_drive)
        assert auditor.display(Path("/d/x.csv")) == str(Path("/d/x.csv"))


def test_a_results_folder_renamed_since_the_run_is_audited_in_place(run):
    """Records of a run whose results folder was "out" (results_dir in the records): the recorded
    paths under out/ are the files of this folder, so the lineage, its statuses and the final
    results are the same as before the renaming."""
    for record_file in Path("results/provenance").rglob("*.json"):
        text = record_file.read_text().replace('"results/', '"out/').replace('"results_dir": "results"', '"results_dir": "out"')
        record_file.write_text(text)
    assert json.loads(Path("results/provenance/pooled/a.tsv.json").read_text())["results_dir"] == "out"
    result = audit("results/pooled/a.tsv")
    assert _statuses(result) == [
        ("results/pooled/a.tsv", "result", "ok"),
        ("results/extracted/S1.parquet", "result", "ok"),
        ("raw/S1.csv", "raw file", "ok"),
        ("map/S1.yaml", "mapping", "ok"),
        ("results/extracted/S1.qc.json", "result", "ok"),
    ]
    assert Auditor("results").final_results() == [Path("results/pooled/a.tsv")]
    assert Auditor("results").locate("out/pooled/a.tsv", {"results_dir": "out"}) == Path("results/pooled/a.tsv")


def test_a_path_outside_the_results_folder_has_no_record_however_often_asked(run):
    auditor = Auditor("results")
    for _ in range(2):
        assert auditor.record_for(Path("raw/S1.csv")) is None
        with pytest.raises(FileNotFoundError, match=r"^raw/S1\.csv: no provenance record in "):
            auditor.lineage("raw/S1.csv")


def test_every_result_of_an_audit_gets_its_heading():
    """A (non-folder) audit of two results shows each result's heading, the first one too."""
    first = Node(path="x", location="x", kind="result", recorded=None)
    second = Node(path="y", location="y", kind="result", recorded=None)
    rows = _rows(render_text(AuditResult("x", "r", False, [first, second])))
    assert [rows[0], rows[6]] == ["x", "y"]
    assert rows.count("lineage (sha256 as recorded by the result that used the file; status of the file now):") == 2


def test_records_are_read_as_utf8_whatever_the_locale_of_the_machine(run):
    """Records are written in UTF-8 (her2meta.io.write_json, ensure_ascii=False): a raw file named
    Étude.csv is read back under a locale whose default encoding is ASCII (the C locale)."""
    Path("raw/Étude.csv").write_text("raw1")
    _record("results/pooled/a.tsv", "pool", {}, [("raw/Étude.csv", sha("raw1"), "package")], ["results/pooled/a.tsv"])
    record_file = Path("results/provenance/pooled/a.tsv.json")
    record_file.write_bytes(json.dumps(json.loads(record_file.read_text()), ensure_ascii=False).encode("utf-8"))
    assert "Étude".encode("utf-8") in record_file.read_bytes()
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        result = audit("results/pooled/a.tsv")
    finally:
        locale.setlocale(locale.LC_CTYPE, before)
    assert _statuses(result) == [("results/pooled/a.tsv", "result", "ok"), ("raw/Étude.csv", "raw file", "ok")]
