"""Lineage and audit: from any result down to the raw study files, with every hash checked.

Each file a job writes has a provenance record (her2meta.provenance) listing its inputs with
the SHA-256 they had when the job ran. Following inputs that are themselves results (they have
a record) gives the lineage tree: pooled table <- per-study estimates <- harmonized IPD <-
extracted data <- raw files + mapping. The audit compares, for every node,

* the hash the consumer recorded for it (what the result was computed from),
* the hash in the node's own record (what its producer wrote), and
* the hash of the file as it is now,

and names every file that changed, is missing, or was rebuilt after a result that used it
(stale). On a results folder copied elsewhere (`records_only`), files that are not there (the
secure zone, the raw data) are checked against the recorded hashes alone.

Standard library only: the audit runs where the analysis stack is not installed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from .hashing import sha256_file

#: Node statuses that are problems. `absent` (a file not present, with records_only) is not.
PROBLEMS = ("missing", "changed", "stale", "no record", "unrecorded")
ROLE_KINDS = {"package": "raw file", "table": "aggregate table", "mapping": "mapping", "studies": "study sheet",
              "configfiles": "config"}


@dataclass
class Node:
    path: str                      # as recorded (relative to the run's working directory, or absolute)
    location: str                  # where it was looked for now
    kind: str                      # "result", "raw file", "mapping", or the input's role
    recorded: str | None           # SHA-256 the consumer recorded (for the target: its own record's)
    current: str | None = None     # SHA-256 now (None: not there)
    produced: str | None = None    # SHA-256 in the node's own record (results only)
    status: str = "ok"
    detail: str = ""
    rule: str | None = None
    wildcards: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] | None = None
    used_by: str | None = None
    repeat: bool = False           # a result of a job whose inputs are shown at its first occurrence
    children: list["Node"] = field(default_factory=list)

    def walk(self) -> Iterator["Node"]:
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self, *, top: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "location": self.location, "kind": self.kind, "status": self.status,
                               "sha256_recorded": self.recorded, "sha256_now": self.current}
        if self.kind == "result":
            out.update(rule=self.rule, wildcards=self.wildcards, sha256_in_own_record=self.produced)
            if self.record:
                out.update(started=self.record.get("started"), finished=self.record.get("finished"), seed=self.record.get("seed"))
                if top:
                    out.update(code=self.record.get("code"), software=self.record.get("software"), host=self.record.get("host"),
                               params=self.record.get("params"), config=self.record.get("config"))
        if self.detail:
            out["detail"] = self.detail
        if self.repeat:
            out["lineage_shown_above"] = True
        elif self.kind == "result":
            out["inputs"] = [child.to_dict(top=False) for child in self.children]
        return out


@dataclass
class AuditResult:
    target: str
    results_dir: str
    records_only: bool
    roots: list[Node]
    folder: bool = False  # a whole results folder: one summary line per final result

    def nodes(self) -> Iterator[Node]:
        for root in self.roots:
            yield from root.walk()

    @property
    def problems(self) -> list[Node]:
        seen, out = set(), []
        for node in self.nodes():
            key = (node.location, node.status, node.recorded, node.used_by)
            if node.status in PROBLEMS and key not in seen:
                seen.add(key)
                out.append(node)
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        statuses: dict[str, str] = {}
        for node in self.nodes():
            previous = statuses.get(node.location)
            if previous is None or (node.status in PROBLEMS and previous not in PROBLEMS):
                statuses[node.location] = node.status
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        return dict(sorted(counts.items()))

    def studies(self) -> list[str]:
        return sorted({n.wildcards["study"] for n in self.nodes() if "study" in n.wildcards})

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "results_dir": self.results_dir,
            "records_only": self.records_only,
            "ok": self.ok,
            "files_checked": sum(self.counts().values()),
            "counts": self.counts(),
            "studies": self.studies(),
            "problems": [{"path": n.path, "location": n.location, "status": n.status, "detail": n.detail,
                          "sha256_recorded": n.recorded, "sha256_now": n.current, "used_by": n.used_by} for n in self.problems],
            "lineage": [root.to_dict() for root in self.roots],
        }


def find_results_dir(path: Path | str) -> Path:
    """The results folder a path belongs to: the path itself if it holds provenance/, else the
    nearest folder above it that does."""
    path = Path(path)
    if path.is_dir() and (path / "provenance").is_dir():
        return path
    for parent in Path(os.path.abspath(path)).parents:
        if (parent / "provenance").is_dir():
            return _relative_if_possible(parent)
    raise FileNotFoundError(f"{path}: no results folder (a folder with provenance/ in it) above it")


def output_of_record(path: Path | str, results_dir: Path | str) -> Path:
    """A provenance record's own path -> the result it describes; any other path unchanged."""
    path, results_dir = Path(path), Path(results_dir)
    try:
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(results_dir / "provenance"))
    except ValueError:
        return path
    if path.suffix == ".json" and not (results_dir / "provenance" / (str(Path("provenance") / relative) + ".json")).is_file():
        return results_dir / str(relative)[: -len(".json")]
    return path


def _relative_if_possible(path: Path) -> Path:
    try:
        return Path(os.path.relpath(path))
    except ValueError:
        return path


class Auditor:
    """Builds and checks lineage trees over one results folder."""

    def __init__(self, results_dir: Path | str, *, records_only: bool = False, root: Path | str | None = None):
        self.results_dir = Path(results_dir)
        self.root = Path(root) if root is not None else self.results_dir.parent
        self.records_only = records_only
        self._records: dict[str, dict[str, Any] | None] = {}
        self._hashes: dict[str, str | None] = {}

    # -- records and files ------------------------------------------------------------------
    def record_for(self, location: Path) -> dict[str, Any] | None:
        key = os.path.abspath(location)
        if key not in self._records:
            try:
                relative = Path(key).relative_to(os.path.abspath(self.results_dir))
            except ValueError:
                self._records[key] = None
                return None
            record_file = self.results_dir / "provenance" / (str(relative) + ".json")
            if record_file.is_file():
                with open(record_file, encoding="utf-8") as handle:
                    self._records[key] = json.load(handle)
            else:
                self._records[key] = None
        return self._records[key]

    def current_hash(self, location: Path) -> str | None:
        key = os.path.abspath(location)
        if key not in self._hashes:
            self._hashes[key] = sha256_file(location) if location.is_file() else None
        return self._hashes[key]

    def locate(self, recorded_path: str, record: dict[str, Any] | None) -> Path:
        """Where a recorded path is now: paths under the run's results folder map into this one,
        other relative paths are relative to the folder above it (the run's working directory)."""
        recorded_results = Path((record or {}).get("results_dir") or "results")
        path = Path(recorded_path)
        workdir = (record or {}).get("workdir")
        if path.is_absolute() and workdir:
            try:
                path = path.relative_to(workdir)
            except ValueError:
                return path
        elif path.is_absolute():
            return path
        try:
            return self.results_dir / path.relative_to(recorded_results)
        except ValueError:
            return self.root / path

    def in_results(self, location: Path) -> bool:
        try:
            Path(os.path.abspath(location)).relative_to(os.path.abspath(self.results_dir))
            return True
        except ValueError:
            return False

    def display(self, location: Path) -> str:
        """Relative to the current folder when below it, else absolute."""
        try:
            relative = os.path.relpath(location)
        except ValueError:
            return str(location)
        return str(Path(os.path.abspath(location))) if relative.startswith("..") else relative

    # -- lineage ---------------------------------------------------------------------------
    def lineage(self, target: Path | str) -> Node:
        target = output_of_record(target, self.results_dir)
        record = self.record_for(target)
        if record is None:
            raise FileNotFoundError(f"{target}: no provenance record in {self.results_dir / 'provenance'} "
                                    "(is it a result of this workflow, under this results folder?)")
        node = Node(path=record["output"]["path"], location=self.display(target), kind="result",
                    recorded=record["output"]["sha256"])
        self._fill(node, target, expanded=set())
        return node

    def _fill(self, node: Node, location: Path, expanded: set[str]) -> None:
        node.current = self.current_hash(location)
        record = self.record_for(location) if self.in_results(location) else None
        if node.kind == "result" or record is not None:
            node.kind = "result"
            node.record = record
            if record is None:
                node.status, node.detail = "no record", "a result without a provenance record: its lineage is unknown"
                return
            node.rule, node.wildcards = record.get("rule"), dict(record.get("wildcards") or {})
            node.produced = record["output"]["sha256"]
        if node.recorded is None:
            node.status, node.detail = "unrecorded", "the file was missing when the job that used it ran"
        elif node.current is None:
            node.status = "absent" if self.records_only else "missing"
            node.detail = "not present; checked against the recorded hashes only" if self.records_only else "file not found"
        elif node.current != node.recorded:
            node.status = "changed"
            node.detail = f"sha256 now {node.current[:12]}, recorded {node.recorded[:12]}"
        if node.status in ("ok", "absent") and node.produced and node.produced != node.recorded:
            node.status = "stale"
            node.detail = (f"rebuilt after {node.used_by or 'the result'} used it (its own record says {node.produced[:12]}, "
                           f"the user recorded {node.recorded[:12]}): rerun the workflow")
        if record is None:
            return
        # One job may write several files (data + QC) from the same inputs: they are shown once. A job
        # of several steps (study_chain) records each output's own inputs, so each step is shown.
        key = json.dumps([record.get("rule"), record.get("wildcards"), record.get("started"),
                          sorted(o["path"] for o in record.get("outputs", [])),
                          sorted(i["path"] for i in record.get("inputs", []))], sort_keys=True)
        if key in expanded:
            node.repeat = True
            return
        expanded.add(key)
        for entry in record.get("inputs", []):
            child_location = self.locate(entry["path"], record)
            role = entry.get("role")
            child = Node(path=entry["path"], location=self.display(child_location),
                         kind="result" if self.in_results(child_location) else ROLE_KINDS.get(role or "", role or "input"),
                         recorded=entry.get("sha256"), used_by=node.location)
            self._fill(child, child_location, expanded)
            node.children.append(child)

    def audit(self, target: Path | str | None = None) -> AuditResult:
        """Audit one result, or (target None or the results folder) every result in the folder."""
        if target is None or Path(os.path.abspath(target)) == Path(os.path.abspath(self.results_dir)):
            roots = [self.lineage(path) for path in self.final_results()]
            return AuditResult(str(self.results_dir), str(self.results_dir), self.records_only, roots, folder=True)
        return AuditResult(str(target), str(self.results_dir), self.records_only, [self.lineage(target)])

    def recorded_outputs(self) -> list[Path]:
        base = self.results_dir / "provenance"
        outputs = []
        for record_file in sorted(base.rglob("*.json")):
            relative = record_file.relative_to(base)
            outputs.append(self.results_dir / str(relative)[: -len(".json")])
        return outputs

    def final_results(self) -> list[Path]:
        """Recorded outputs no other recorded output used: the ends of the lineage."""
        outputs = self.recorded_outputs()
        used = set()
        for output in outputs:
            for entry in (self.record_for(output) or {}).get("inputs", []):
                used.add(os.path.abspath(self.locate(entry["path"], self.record_for(output))))
        return [o for o in outputs if os.path.abspath(o) not in used]


def audit(path: Path | str, *, records_only: bool = False, results_dir: Path | str | None = None) -> AuditResult:
    results = Path(results_dir) if results_dir is not None else find_results_dir(path)
    return Auditor(results, records_only=records_only).audit(path)


# -- text rendering -----------------------------------------------------------------------------

def _label(node: Node) -> str:
    if node.kind == "result":
        wc = " ".join(f"{k}={v}" for k, v in sorted(node.wildcards.items()))
        text = f"{node.rule or '?'}" + (f" {wc}" if wc else "")
        return text + ("  (inputs shown above)" if node.repeat else "")
    return node.kind


def render_text(result: AuditResult) -> str:
    lines: list[str] = []
    rows: list[tuple[str, str, str, str]] = []
    single = not result.folder
    for root in result.roots:
        if single:
            record = root.record or {}
            code = record.get("code") or {}
            commit = (code.get("git_commit") or "no git")[:10] + (" (dirty tree)" if code.get("git_dirty") else "")
            lines += [
                f"{root.location}",
                f"  made by rule {_label(root)} on {record.get('host', '?')}, {record.get('started', '?')} to {record.get('finished', '?')}",
                f"  code: git {commit}, sources sha256 {str(code.get('source_sha256') or '?')[:12]}; seed {record.get('seed')}",
                f"  studies: {', '.join(result.studies()) or '(none)'}",
                "",
                "lineage (sha256 as recorded by the result that used the file; status of the file now):",
            ]

        def visit(node: Node, prefix: str, last: bool, top: bool) -> None:
            branch = "" if top else ("└── " if last else "├── ")
            rows.append((prefix + branch + node.location, (node.recorded or "-")[:12], node.status, _label(node)))
            extension = "" if top else ("    " if last else "│   ")
            for index, child in enumerate(node.children):
                visit(child, prefix + extension, index == len(node.children) - 1, False)

        if single:
            visit(root, "", True, True)
        else:
            lineage = list(root.walk())
            bad = sum(1 for n in lineage if n.status in PROBLEMS)
            rows.append((root.location, (root.recorded or "-")[:12], "ok" if not bad else f"{bad} problem(s)",
                         f"{_label(root)}; {len(lineage)} files in its lineage"))
    if not single:
        lines.append(f"{result.results_dir}: {len(result.roots)} final results (results nothing else was made from)")
    width = max((len(r[0]) for r in rows), default=0)
    status_width = max((len(r[2]) for r in rows), default=0)
    lines += [f"{path:<{width}}  {sha:<12}  {status:<{status_width}}  {label}".rstrip() for path, sha, status, label in rows]
    counts = result.counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    lines += ["", f"{sum(counts.values())} files checked: {summary}."]
    problems = result.problems
    if problems:
        lines.append(f"{len(problems)} problem(s):")
        for node in problems:
            used = f" (used by {node.used_by})" if node.used_by else ""
            lines.append(f"  {node.status.upper():<10} {node.location}{used}: {node.detail}")
    elif result.records_only and counts.get("absent"):
        lines.append(f"{counts['absent']} files not present here were checked against the recorded hashes only.")
    else:
        lines.append("every recorded hash matches the files as they are now.")
    if not result.records_only and any(n.status == "missing" for n in problems):
        lines.append("(on a copy of the release zone, use --records-only to check against the recorded hashes alone)")
    return "\n".join(lines) + "\n"


# -- the report's provenance appendix -------------------------------------------------------------

def lineage_summary(path: Path | str, results_dir: Path | str | None = None,
                    auditors: dict[Path, Auditor] | None = None) -> dict[str, Any]:
    """What the report's provenance appendix shows for one table or figure: the rule that made it,
    the studies behind it and every raw file and mapping (with SHA-256) in its lineage.

    `auditors` (results folder -> Auditor) lets calls for many files share the records and file
    hashes they have read. Deterministic (no times, no hosts), so a report that includes it stays
    byte-identical."""
    results = Path(results_dir) if results_dir is not None else find_results_dir(path)
    auditors = {} if auditors is None else auditors
    if results not in auditors:
        auditors[results] = Auditor(results, records_only=True)
    auditor = auditors[results]
    root = auditor.lineage(path)
    files: dict[tuple[str, str], dict[str, Any]] = {}

    def visit(node: Node, study: str | None) -> None:
        study = node.wildcards.get("study", study) if node.kind == "result" else study
        if node.kind != "result":
            files.setdefault((node.path, node.recorded or ""), {"study": study or "", "role": node.kind, "path": node.path,
                                                                "sha256": node.recorded})
        for child in node.children:
            visit(child, study)

    visit(root, None)
    # A repeated node's inputs were listed at its first occurrence, which already saw its study.
    return {
        "path": str(Path(path)),
        "rule": root.rule,
        "studies": sorted({n.wildcards["study"] for n in root.walk() if "study" in n.wildcards}),
        "files": sorted(files.values(), key=lambda f: (f["study"], f["role"], f["path"])),
    }


def report_appendix(paths: list[Path | str], results_dir: Path | str | None = None) -> dict[str, Any]:
    """The report's provenance appendix for its tables and figures (the files it is built from):

    * items: per table or figure, the rule that made it and the studies behind it;
    * files: every raw study file and mapping in their lineage, by study, with SHA-256 (a file
      recorded with two different hashes, which only an inconsistent run can give, is listed twice).

    Deterministic: no times or hosts, so the report stays byte-identical across runs."""
    items, files = [], {}
    auditors: dict[Path, Auditor] = {}
    for path in paths:
        summary = lineage_summary(path, results_dir, auditors)
        items.append({"path": summary["path"], "rule": summary["rule"], "studies": summary["studies"]})
        for entry in summary["files"]:
            files.setdefault((entry["study"], entry["role"], entry["path"], entry["sha256"] or ""), entry)
    return {"items": items, "files": [files[key] for key in sorted(files)]}
