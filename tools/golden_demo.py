"""Golden numbers for the demo: every per-study estimate and every pooled result, pinned.

    python tools/golden_demo.py write    # run the demo, (re)write tests/golden/demo_estimates.tsv
    python tools/golden_demo.py check    # run the demo, print every cell that differs (exit 1 if any)

Both run the workflow itself (Snakemake, the shipped config/config.yaml and config/studies.tsv,
every analysis and every included study) in a temporary folder, up to the pooled documents, and
read results/estimates/<analysis>/<study>.tsv and results/pooled/<analysis>.json. The table is
long: one line per (analysis, study, row, column) with the value's kind (int, float, bool, text
or NA) and the value (floats as repr, so they read back to the same double). docs/golden_numbers.md
says when to regenerate it and how `check` compares.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "demo_estimates.tsv"
HEADER = ("analysis", "study", "row", "column", "kind", "value")
POOLED = "(pooled)"  # the study column of the pooled results' lines
# Floats agree when they differ by at most this much, absolutely or relative to the larger.
TOLERANCE = 1e-10
# Pooled-model fields left out: the optimizer's iteration count and the configured level are not
# results (a different optimizer path to the same estimate is not a change of numbers).
NOT_RESULTS = {"iterations", "level"}

sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))
from workflow_setup import run_snakemake, write_run_config

from her2meta.effects import StudyEstimate

FIELD_TYPES = {name: f.type for name, f in StudyEstimate.__dataclass_fields__.items()}
KEYS = {"study_id", "analysis", "subgroup"}  # an estimates row's key, not a cell


def demo_inputs() -> tuple[list[str], list[str]]:
    """The analyses of config/config.yaml (in order) and the included studies of the sheet."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    sheet = pd.read_csv(ROOT / "config" / "studies.tsv", sep="\t", dtype=str, keep_default_na=False)
    return list(config["analyses"]), list(sheet.loc[sheet["include"] == "true", "study_id"])


def run_demo(work: Path) -> Path:
    """Run the workflow on the whole demo in `work`, up to the pooled documents; its results folder."""
    analyses, studies = demo_inputs()
    write_run_config(work, studies=studies, analyses=analyses)
    targets = [f"results/estimates/{a}/{s}.tsv" for a in analyses for s in studies]
    targets += [f"results/pooled/{a}.json" for a in analyses]
    done = run_snakemake(work, "--cores", "2", *targets)
    if done.returncode != 0:
        raise RuntimeError(f"the demo run failed in {work}:\n{done.stderr[-4000:]}")
    return work / "results"


def _cell(value) -> tuple[str, str]:
    """(kind, text) of one value; floats as repr, missing (None, NaN) as NA."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA", "NA"
    if isinstance(value, bool):
        return "bool", str(value)
    if isinstance(value, int):
        return "int", str(value)
    if isinstance(value, float):
        return "float", repr(value)
    return "text", str(value)


def _estimate_cell(column: str, text: str) -> tuple[str, str]:
    """A cell of an estimates file, typed by its StudyEstimate field (the file writes NA for NaN)."""
    kind = FIELD_TYPES.get(column, "str")
    if text == "NA" and kind in ("float", "int"):
        return "NA", "NA"
    if kind == "float":
        return _cell(float(text))
    if kind == "int":
        return _cell(int(text)) if text.lstrip("-").isdigit() else ("text", text)
    if kind == "bool":
        return "bool", text
    return "text", text


def estimate_lines(results: Path, analyses: list[str], studies: list[str]) -> list[tuple[str, ...]]:
    lines = []
    for analysis in analyses:
        for study in studies:
            frame = pd.read_csv(results / "estimates" / analysis / f"{study}.tsv", sep="\t", dtype=str,
                                keep_default_na=False)
            if frame["subgroup"].duplicated().any():
                raise ValueError(f"{analysis}/{study}.tsv: a subgroup appears twice: {list(frame['subgroup'])}")
            for record in frame.to_dict("records"):
                for column, text in record.items():
                    if column not in KEYS:
                        lines.append((analysis, study, record["subgroup"], column, *_estimate_cell(column, text)))
    return lines


def _scalars(part: dict) -> dict:
    """The numbers, flags and missing values of a pooled part (strings and lists left out)."""
    return {key: value for key, value in sorted(part.items())
            if key not in NOT_RESULTS and (value is None or isinstance(value, (bool, int, float)))}


def pooled_lines(results: Path, analyses: list[str]) -> list[tuple[str, ...]]:
    """Per analysis: each subgroup's k and n, each model (fit, heterogeneity, the studies pooled),
    the Peto, RMST and group-rate parts where present, and the naive subgroup comparison."""
    lines = []
    for analysis in analyses:
        document = json.loads((results / "pooled" / f"{analysis}.json").read_text())
        parts: list[tuple[str, dict]] = []
        if document.get("naive_comparison"):
            parts.append(("naive_comparison", _scalars(document["naive_comparison"])))
        for subgroup in document["subgroups"]:
            name = subgroup["name"]
            parts.append((name, _scalars(subgroup)))
            for method, model in subgroup["models"].items():
                parts.append((f"{name} {method}", {**_scalars(model), "studies": ",".join(model["study"])}))
            if subgroup.get("peto"):
                parts.append((f"{name} peto", _scalars(subgroup["peto"])))
            if subgroup.get("rmst"):
                parts.append((f"{name} rmst", _scalars(subgroup["rmst"])))
            for group, rate in (subgroup.get("group_rates") or {}).items():
                parts.append((f"{name} rate_{group}", _scalars(rate)))
        for row, values in parts:
            lines += [(analysis, POOLED, row, column, *_cell(value)) for column, value in values.items()]
    return lines


def table_from_results(results: Path) -> list[tuple[str, ...]]:
    analyses, studies = demo_inputs()
    return estimate_lines(results, analyses, studies) + pooled_lines(results, analyses)


def current_table() -> list[tuple[str, ...]]:
    """The golden lines of a fresh demo run (in a temporary folder, removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="golden_demo_") as work:
        return table_from_results(run_demo(Path(work)))


def render(lines: list[tuple[str, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(lines)
    return out.getvalue()


def read_table(path: Path = GOLDEN) -> list[tuple[str, ...]]:
    rows = list(csv.reader(io.StringIO(path.read_text()), delimiter="\t"))
    if not rows or tuple(rows[0]) != HEADER:
        raise ValueError(f"{path}: the first line is not {HEADER}")
    return [tuple(row) for row in rows[1:]]


def _agree(kind_a: str, a: str, kind_b: str, b: str) -> bool:
    """Counts, flags, k and text exactly; floats to TOLERANCE, absolute or relative."""
    numeric = {"int", "float"}
    if "float" in (kind_a, kind_b) and {kind_a, kind_b} <= numeric:
        x, y = float(a), float(b)
        if x == y or (math.isnan(x) and math.isnan(y)):
            return True
        gap = abs(x - y)
        return gap <= TOLERANCE or gap <= TOLERANCE * max(abs(x), abs(y))
    return (kind_a, a) == (kind_b, b)


def differences(golden: list[tuple[str, ...]], current: list[tuple[str, ...]]) -> list[str]:
    """Every cell that differs, missing or appears, in the golden table's order (then the new ones)."""
    want = {row[:4]: row[4:] for row in golden}
    got = {row[:4]: row[4:] for row in current}
    found = []
    for key, (kind, value) in want.items():
        where = f"{key[0]} / {key[1]} / row {key[2]!r} / {key[3]}"
        if key not in got:
            found.append(f"{where}: golden {value} ({kind}), missing from the run")
        elif not _agree(kind, value, *got[key]):
            found.append(f"{where}: golden {value} ({kind}), now {got[key][1]} ({got[key][0]})")
    for key, (kind, value) in got.items():
        if key not in want:
            found.append(f"{key[0]} / {key[1]} / row {key[2]!r} / {key[3]}: not in the golden table, now {value} ({kind})")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("--golden", type=Path, default=GOLDEN, help="the table (default: %(default)s)")
    args = parser.parse_args(argv)
    current = current_table()
    if args.command == "write":
        args.golden.parent.mkdir(parents=True, exist_ok=True)
        args.golden.write_text(render(current))
        print(f"wrote {len(current)} values to {args.golden}")
        return 0
    found = differences(read_table(args.golden), current)
    for line in found:
        print(line)
    print(f"{len(found)} difference(s) in {len(current)} values" if found else f"all {len(current)} values agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
