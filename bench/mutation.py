"""Mutation testing of the statistical and safety core, on demand (docs/mutation_testing.md).

mutmut (the `mutation` extra) changes the code one small mistake at a time (a `<` for a `<=`, a
constant off by one, a dropped argument) and runs the tests that touch the changed function. A
mutant the tests do not notice "survives": either a test is missing or the change is equivalent
(it cannot change any result). The modules mutated are `[tool.mutmut] only_mutate` in
pyproject.toml; the tests are the suite without the workflow tests (the Snakemake runs start
their own interpreters, which mutmut's switch does not reach).

    python bench/mutation.py run                       # every module (resumes: results are cached)
    python bench/mutation.py run --commit HEAD         # the last commit, not uncommitted edits
    python bench/mutation.py run her2meta.pool.tau2    # one module, or a pattern: 'her2meta.pool.*'
    python bench/mutation.py run --open 'her2meta.pool.*'   # re-check only the open mutants, after adding tests
    python bench/mutation.py report                    # docs/mutation/report.md and report.json
    python bench/mutation.py survivors her2meta.effects   # the surviving mutants, as diffs
    python bench/mutation.py try 'her2meta.effects.x_binary_effect*' --tests tests/test_effects.py

The work happens in a copy of the repository (build/mutation by default, git-ignored), so a run
never touches the working tree; results accumulate there across runs, and a module whose code
or tests did not change is not run again. `run` takes module patterns so a long run can be done
in chunks within a machine's limits. Equivalent mutants are listed, each with its reason, in
bench/mutation_equivalent/<module>.yaml; the report counts them apart.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = ROOT / "build" / "mutation"
EQUIVALENT_DIR = ROOT / "bench" / "mutation_equivalent"
REPORT_DIR = ROOT / "docs" / "mutation"

# mutmut's exit codes, as mutmut.stats.status_by_exit_code reads them (kept here so that the report
# can be written without importing mutmut).
STATUS_BY_EXIT_CODE = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
                       35: "suspicious", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout",
                       255: "timeout", 37: "caught by type check", -11: "segfault", -9: "segfault", None: "not run"}
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}


# ------------------------------------------------------------------------------- the working copy


def sync_workdir(workdir: Path, commit: str | None = None) -> None:
    """Copy the repository's files into `workdir`: the working tree (tracked files, and new ones
    not ignored), or the files of `commit` (e.g. HEAD) only."""
    if commit:
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(tmp, filter="data")
            names = {p.relative_to(tmp).as_posix() for p in Path(tmp).rglob("*") if p.is_file()}
            _copy_changed(Path(tmp), names, workdir)
        return
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    _copy_changed(ROOT, {name for name in listed if name and (ROOT / name).is_file()}, workdir)


def _copy_changed(source_root: Path, names: set[str], workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for name in sorted(names):
        source, target = source_root / name, workdir / name
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue  # unchanged: keeps its time stamp, so mutmut sees no change
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for name in sorted(n for n in names if n.startswith("src/") and not n.endswith(".py")):
        # mutmut copies data files (schemas, templates) into its mutants/ tree only once
        copied = workdir / "mutants" / name
        if copied.parent.is_dir() and (not copied.is_file() or copied.read_bytes() != (source_root / name).read_bytes()):
            shutil.copy2(source_root / name, copied)
    for folder in ("src", "tests"):  # a file deleted in the repository leaves the copy too
        for path in (workdir / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and \
                    path.relative_to(workdir).as_posix() not in names:
                path.unlink()


def run(patterns: list[str], workdir: Path, max_children: int, commit: str | None = None) -> int:
    sync_workdir(workdir, commit)
    names = [p if p.endswith("*") or "__mutmut_" in p else f"{p}.*" for p in patterns]
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names]
    log = workdir / "mutmut.log"
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        env.pop("PYTHONPATH", None)  # mutmut puts its mutated copy of src/ first itself
        finished = subprocess.run(command, check=False, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=env)
    seconds = time.monotonic() - started
    with (workdir / "runs.jsonl").open("a", encoding="utf-8") as runs:
        runs.write(json.dumps({"patterns": patterns, "seconds": round(seconds, 1), "max_children": max_children,
                               "exit_code": finished.returncode, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
    outcome = "finished" if finished.returncode == 0 else f"stopped (exit {finished.returncode})"
    print(f"mutmut {outcome} "
          f"in {seconds:.0f} s; log: {log}")
    return finished.returncode


# ------------------------------------------------------------------------------------ the results


def module_of(mutant: str) -> str:
    """her2meta.pool.tau2.x_reml__mutmut_3 -> her2meta.pool.tau2 (methods: x_Class__method)."""
    return mutant.rsplit(".", 1)[0]


def read_results(workdir: Path) -> dict[str, dict[str, str]]:
    """module -> mutant -> status, from the .meta files mutmut keeps beside each mutated file."""
    results: dict[str, dict[str, str]] = defaultdict(dict)
    for meta in sorted((workdir / "mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        for mutant, code in codes.items():
            results[module_of(mutant)][mutant] = STATUS_BY_EXIT_CODE.get(code, "suspicious")
    return dict(results)


def diffs(workdir: Path, mutants: list[str]) -> dict[str, str]:
    """Diffs of many mutants, one interpreter per source file."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for mutant in mutants:
        source = "src/" + module_of(mutant).replace(".", "/") + ".py"
        if not (workdir / source).exists():
            source = source.removesuffix(".py") + "/__init__.py"
        by_source[source].append(mutant)
    found: dict[str, str] = {}
    code = ("import os, sys, json; os.chdir(sys.argv[1]);"
            "from mutmut.mutation.diff_apply import get_diff_for_mutant;"
            "print(json.dumps({m: get_diff_for_mutant(m, path=sys.argv[2]) for m in sys.argv[3:]}))")
    for source, names in sorted(by_source.items()):
        out = subprocess.run([sys.executable, "-c", code, str(workdir), source, *names], check=False, capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise SystemExit(f"could not read the mutants of {source}: {out.stderr[-500:]}")
        found.update(json.loads(out.stdout))
    return found


def changed_lines(diff: str) -> list[str]:
    """The -/+ lines of a diff, stripped: what identifies a mutant across renumbering."""
    return [line[0] + line[1:].strip() for line in diff.splitlines()
            if line[:1] in "-+" and not line.startswith(("---", "+++"))]


def mutation_key(mutant: str, diff: str) -> str:
    """A name for a mutant that survives renumbering: module, function and the changed lines."""
    function = mutant.rsplit(".", 1)[1].split("__mutmut_")[0]
    digest = hashlib.sha256("\n".join(changed_lines(diff)).encode()).hexdigest()[:12]
    return f"{module_of(mutant)}:{function}:{digest}"


def load_equivalents() -> dict[str, str]:
    """mutation key -> why the mutant cannot change a result (bench/mutation_equivalent/*.yaml)."""
    found: dict[str, str] = {}
    for path in sorted(EQUIVALENT_DIR.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if not str(entry.get("reason", "")).strip():
                raise SystemExit(f"{path.relative_to(ROOT)}: {entry.get('key')} needs a reason")
            found[entry["key"]] = entry["reason"]
    return found


def diff_sides(diff: str) -> tuple[str, str]:
    """The function before and after the mutation, rebuilt from mutmut's diff of it."""
    before, after = [], []
    for line in diff.splitlines():
        if line.startswith(("---", "+++", "@@")):
            continue
        tag, text = line[:1], line[1:]
        if tag in (" ", "-"):
            before.append(text)
        if tag in (" ", "+"):
            after.append(text)
    return "\n".join(before), "\n".join(after)


def text_only(diff: str) -> bool:
    """Whether the mutation changes nothing but the text of string literals (a message, a hint, a
    label): the code with every string emptied is the same before and after."""
    def blanked(source: str) -> str | None:
        try:
            tree = ast.parse(textwrap.dedent(source))
        except SyntaxError:
            return None
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                node.value = ""
        return ast.dump(tree)
    before, after = (blanked(side) for side in diff_sides(diff))
    return before is not None and before == after


COLUMNS = ("mutants", "killed", "timeout", "survived", "text_only", "no_tests", "suspicious", "equivalent", "not_run")


def summarize(results: dict[str, dict[str, str]], kinds: dict[str, str]) -> list[dict]:
    """One row per module. `kinds` names the open mutants: equivalent, text_only or survived."""
    rows = []
    for module in sorted(results):
        statuses = Counter(kinds.get(m, s) for m, s in results[module].items())
        row = {"module": module, "mutants": sum(statuses.values()), "killed": statuses["killed"],
               "timeout": statuses["timeout"] + statuses["segfault"] + statuses["caught by type check"],
               "survived": statuses["survived"], "text_only": statuses["text_only"], "no_tests": statuses["no tests"],
               "suspicious": statuses["suspicious"], "equivalent": statuses["equivalent"],
               "not_run": statuses["not run"] + statuses["skipped"]}
        rows.append(with_scores(row))
    return rows


def with_scores(row: dict) -> dict:
    """score: detected / judged (all but equivalent and not run); logic_score sets the text-only
    survivors aside as well."""
    detected = row["killed"] + row["timeout"]
    judged = row["mutants"] - row["equivalent"] - row["not_run"]
    row["score"] = round(100 * detected / judged, 1) if judged else None
    logic = judged - row["text_only"]
    row["logic_score"] = round(100 * detected / logic, 1) if logic else None
    return row


def report(workdir: Path, out_dir: Path, name: str = "report", summary_only: bool = False) -> None:
    results = read_results(workdir)
    if not results:
        raise SystemExit(f"no mutation results under {workdir}/mutants: run `python bench/mutation.py run` first")
    open_mutants = sorted(m for module in results.values() for m, s in module.items()
                          if s in ("survived", "no tests", "suspicious"))
    texts = diffs(workdir, open_mutants)
    equivalents = load_equivalents()
    keys = {m: mutation_key(m, texts[m]) for m in open_mutants}
    kinds = {}
    for m in open_mutants:
        if keys[m] in equivalents:
            kinds[m] = "equivalent"
        elif results[module_of(m)][m] == "survived" and text_only(texts[m]):
            kinds[m] = "text_only"
    rows = summarize(results, kinds)
    total = with_scores({"module": "**all**", **{name: sum(r[name] for r in rows) for name in COLUMNS}})

    out_dir.mkdir(parents=True, exist_ok=True)
    survivors = [{"mutant": m, "key": keys[m], "status": kinds.get(m, results[module_of(m)][m]), "diff": texts[m]}
                 for m in open_mutants if kinds.get(m) != "equivalent"]
    listed = [] if summary_only else survivors
    (out_dir / f"{name}.json").write_text(json.dumps(
        {"modules": rows, "total": total, "survivors": listed}, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    def cell(value) -> str:
        return "" if value is None else str(value)

    lines = ["# Mutation testing report", "",
             "Written by `python bench/mutation.py report` from the runs of `python bench/mutation.py run`",
             "(how to read it: docs/mutation_testing.md). **score** = detected (killed or timed out) / judged",
             "(all but the equivalent mutants and those not run yet); **logic score** also sets aside the",
             "survivors that change only the text of a string (a message or a label).", "",
             ("| module | mutants | killed | timeout | survived | text only | no tests | suspicious | equivalent "
              "| not run | score % | logic score % |"),
             "|---|" + "---:|" * 11]
    for r in rows + [total]:
        lines.append("| " + " | ".join([r["module"], *(cell(r[c]) for c in COLUMNS), cell(r["score"]),
                                        cell(r["logic_score"])]) + " |")
    if summary_only:
        lines += ["", f"{len(survivors)} open mutants, not listed here (`report` without --summary-only lists them)."]
    lines += [] if summary_only else ["", f"## Open mutants ({len(survivors)})", "",
              "Each is a change to the code that no test noticed. Kill it with a test that states the rule",
              "it protects, or list it in bench/mutation_equivalent/<module>.yaml with its key and the reason it cannot",
              "change a result.", ""]
    for module in sorted({module_of(s["mutant"]) for s in listed}):
        lines += [f"### {module}", ""]
        for s in (s for s in listed if module_of(s["mutant"]) == module):
            lines += [f"`{s['mutant']}` ({s['status']}; key `{s['key']}`)", "", "```diff",
                      *[line for line in s["diff"].splitlines() if not line.startswith(("---", "+++"))], "```", ""]
    (out_dir / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out_dir / f'{name}.md'}: {total['mutants']} mutants, {total['not_run']} not run yet, "
          f"score {total['score']} %, logic score {total['logic_score']} %, {len(survivors)} open")


def show_survivors(patterns: list[str], workdir: Path) -> None:
    results = read_results(workdir)
    chosen = open_mutants(results, patterns)
    texts = diffs(workdir, chosen)
    equivalents = load_equivalents()
    for mutant in chosen:
        key = mutation_key(mutant, texts[mutant])
        note = f"  [equivalent: {equivalents[key]}]" if key in equivalents else ""
        print(f"# {mutant} ({results[module_of(mutant)][mutant]}) key {key}{note}\n{texts[mutant]}\n")


def open_mutants(results: dict[str, dict[str, str]], patterns: list[str], *, not_run: bool = False) -> list[str]:
    """The survived / no-tests / suspicious mutants whose name or module matches a pattern (and,
    with not_run, those without a result yet, such as the new mutants of a function just edited)."""
    wanted = ("survived", "no tests", "suspicious") + (("not run",) if not_run else ())
    return sorted(m for found in results.values() for m, status in found.items()
                  if status in wanted
                  and any(fnmatch.fnmatch(m, p) or fnmatch.fnmatch(module_of(m), p) for p in patterns))


def try_tests(patterns: list[str], tests: list[str], workdir: Path) -> int:
    """Run `tests` (from the working tree) against each open mutant matching `patterns`, as mutmut
    runs them: the mutated copy of src/ first on the path, the mutant switched on by name. Quick
    feedback while writing a test; `run <module>` afterwards records the result.

    The tests first run on the unchanged code: if they fail there, every mutant would look killed,
    so nothing is counted. One interpreter imports the libraries and the mutated package once and
    forks a child per mutant (mutmut's trampoline reads the mutant's name at each call)."""
    chosen = open_mutants(read_results(workdir), patterns)
    if not chosen:
        raise SystemExit(f"no open mutant matches {patterns} in {workdir}")
    source = workdir / "mutants" / "src"
    sys.path.insert(0, str(source))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))
    os.chdir(ROOT)
    import importlib

    import pytest  # noqa: F401 (imported once, before the forks)
    for module in sorted({module_of(m) for m in chosen}):
        importlib.import_module(module)

    def outcome(mutant: str) -> int:
        pid = os.fork()
        if pid == 0:
            os.environ["MUTANT_UNDER_TEST"] = mutant
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            try:
                code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests]))
            except BaseException:  # a crash in the child is a failed run, as under mutmut
                code = 1
            os._exit(code)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    if outcome("") != 0:
        print(f"the tests fail on the unchanged code: run `python -m pytest {' '.join(tests)}` and mend them first")
        return 1
    still_open = 0
    for mutant in chosen:
        killed = outcome(mutant) != 0
        still_open += not killed
        print(f"{'killed  ' if killed else 'SURVIVED'} {mutant}", flush=True)
    print(f"{len(chosen) - still_open} of {len(chosen)} killed by {' '.join(tests)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="working copy (default build/mutation)")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run mutmut on the modules matching the patterns (default: all)")
    run_parser.add_argument("patterns", nargs="*", help="module names or patterns, e.g. her2meta.pool.tau2, or mutant names")
    run_parser.add_argument("--open", action="store_true",
                            help="only the mutants still open (survived, no tests) or not run yet among those matching: after adding "
                                 "tests (after editing src/, run it twice: the first pass makes the new mutants)")
    run_parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    run_parser.add_argument("--commit", metavar="REV",
                            help="mutate and test this commit (e.g. HEAD), not the working tree with its uncommitted edits")
    report_parser = commands.add_parser("report", help="write docs/mutation/report.md and report.json")
    report_parser.add_argument("--out", type=Path, default=REPORT_DIR)
    report_parser.add_argument("--name", default="report", help="file names: <name>.md and <name>.json (default report)")
    report_parser.add_argument("--summary-only", action="store_true", help="the table, without the list of open mutants")
    survivors_parser = commands.add_parser("survivors", help="print the surviving mutants of some modules as diffs")
    survivors_parser.add_argument("patterns", nargs="+")
    try_parser = commands.add_parser("try", help="run some tests against the open mutants matching the patterns")
    try_parser.add_argument("patterns", nargs="+")
    try_parser.add_argument("--tests", nargs="+", required=True, help="pytest arguments, e.g. tests/test_effects.py")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    if args.command == "run":
        patterns = args.patterns
        if args.open:
            patterns = open_mutants(read_results(workdir), patterns or ["*"], not_run=True)
            if not patterns:
                raise SystemExit("no open mutant matches")
        return run(patterns, workdir, args.max_children, args.commit)
    if args.command == "try":
        return try_tests(args.patterns, args.tests, workdir)
    if args.command == "report":
        report(workdir, args.out, args.name, args.summary_only)
    else:
        show_survivors(args.patterns, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
