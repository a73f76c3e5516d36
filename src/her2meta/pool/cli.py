"""``her2meta pool INPUT.csv``: pool a CSV of studies and print JSON or text.

Input columns (header names, any order, extra columns allowed):

* ``study, yi, vi`` (or ``sei`` instead of ``vi``) -- generic inverse variance;
* ``study, ai, bi, ci, di`` -- 2x2 tables, effect size chosen by ``--measure``
  (OR, RR, RD); ``--method MH`` or ``--method PETO`` use the Mantel-Haenszel
  or Peto estimator instead of inverse-variance pooling;
* ``study, xi, ni`` -- events and totals, pooled as logit proportions.

The JSON printed has the field names of the result object (``estimate``,
``ci_lb``, ``tau2``, ...) with extra sections added under their own keys
(``leave_one_out``, ``influence``, ``bias``, ``effect_sizes``, ``subgroups``).
The lead wires :func:`add_arguments` and :func:`run` into the ``her2meta``
console script as the ``pool`` subcommand.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from .binary import escalc_2x2, mantel_haenszel, peto
from .bias import begg_test, egger_test, trimfill
from .errors import PoolingError
from .influence import influence, leave_one_out
from .metareg import metareg
from .proportions import pool_proportions
from .subgroups import subgroup_analysis
from .tau2 import RANDOM_EFFECTS_METHODS
from .uni import rma

METHOD_CHOICES = ["FE", "EE", "equal", *RANDOM_EFFECTS_METHODS, "MH", "PETO"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``pool`` subcommand's arguments to ``parser``."""
    parser.add_argument("input", metavar="INPUT.csv",
                        help="CSV with columns study,yi,vi (or sei) | study,ai,bi,ci,di | "
                             "study,xi,ni; '-' reads standard input")
    parser.add_argument("--measure", choices=["OR", "RR", "RD"], default="OR",
                        help="effect size for 2x2 input (default: OR)")
    parser.add_argument("--method", default="REML", choices=METHOD_CHOICES, type=_method_name,
                        help="FE (alias EE/equal) or tau2 estimator (default: REML); "
                             "MH or PETO for 2x2 input")
    parser.add_argument("--test", default="z", choices=["z", "knha", "adhoc", "t"],
                        help="z (Wald, default), knha (Hartung-Knapp-Sidik-Jonkman), "
                             "adhoc (truncated knha)")
    parser.add_argument("--level", type=float, default=95.0,
                        help="confidence level in percent (default: 95)")
    parser.add_argument("--pi-dist", default="auto", choices=["auto", "norm", "t"],
                        help="prediction interval distribution: auto (metafor: as the test), "
                             "norm, or t (t(k-2), Higgins 2009)")
    parser.add_argument("--mods", nargs="+", metavar="COL",
                        help="moderator columns for a meta-regression")
    parser.add_argument("--subgroup", metavar="COL",
                        help="column defining subgroups (pooled per level + test for differences)")
    parser.add_argument("--tau2-mode", choices=["separate", "common"], default="separate",
                        help="tau2 per subgroup (separate, default) or common")
    parser.add_argument("--leave-one-out", action="store_true",
                        help="add a leave-one-out analysis")
    parser.add_argument("--influence", action="store_true",
                        help="add influence diagnostics")
    parser.add_argument("--bias", action="store_true",
                        help="add Egger's and Begg's tests and trim-and-fill")
    parser.add_argument("--add", type=float, default=0.5,
                        help="zero-cell correction added to 2x2/proportion cells (default: 0.5)")
    parser.add_argument("--to", choices=["only0", "all", "if0all", "none"], default="only0",
                        help="which studies get the correction (default: only0)")
    parser.add_argument("--keep-double-zero", action="store_true",
                        help="keep double-zero studies for OR/RR (dropped by default)")
    parser.add_argument("--format", choices=["json", "text"], default="json",
                        help="output format (default: json)")


def _method_name(value: str) -> str:
    upper = value.upper()
    return "equal" if upper == "EQUAL" else upper


def run(args: argparse.Namespace, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Run the analysis described by ``args``; returns the exit status."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        rows = read_rows(args.input)
        output, text = analyse(rows, args)
    except (PoolingError, OSError, KeyError, ValueError) as exc:
        print(f"her2meta pool: error: {exc}", file=stderr)
        return 2
    if args.format == "text":
        print(text, file=stdout)
    else:
        json.dump(output, stdout, indent=2, allow_nan=False)
        stdout.write("\n")
    return 0


def read_rows(path: str) -> list[dict[str, str]]:
    """Rows of the CSV as dicts (header names lower-cased and stripped)."""
    handle = sys.stdin if path == "-" else Path(path).open(newline="", encoding="utf-8")
    try:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise ValueError(f"{path}: empty file")
        rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                for row in reader]
    finally:
        if handle is not sys.stdin:
            handle.close()
    if not rows:
        raise ValueError(f"{path}: no data rows")
    return rows


def _column(rows, name: str, numeric: bool = True) -> list[Any]:
    if name not in rows[0]:
        raise KeyError(f"column {name!r} not found; columns are {sorted(rows[0])}")
    values = [row[name] for row in rows]
    if not numeric:
        return values
    out = []
    for i, v in enumerate(values):
        if v in ("", "NA", "NaN", "nan", "None"):
            out.append(float("nan"))
            continue
        try:
            out.append(float(v))
        except ValueError:
            raise ValueError(f"row {i + 1}: column {name!r} is not numeric: {v!r}") from None
    return out


def _studies(rows) -> list[str]:
    if "study" in rows[0]:
        return _column(rows, "study", numeric=False)
    return [str(i + 1) for i in range(len(rows))]


def analyse(rows: list[dict[str, str]], args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Compute the requested analysis; returns (JSON dict, text summary)."""
    columns = set(rows[0])
    study = _studies(rows)
    common = dict(method=args.method, test=args.test, level=args.level)
    extra: dict[str, Any] = {}
    texts: list[str] = []

    if {"ai", "bi", "ci", "di"} <= columns:
        cells = [_column(rows, c) for c in ("ai", "bi", "ci", "di")]
        if args.method in ("MH", "PETO"):
            _reject_model_options(args)
            res = (mantel_haenszel(*cells, measure=args.measure, study=study, level=args.level,
                                   add=args.add, to=args.to)
                   if args.method == "MH" else
                   peto(*cells, study=study, level=args.level, add=args.add, to=args.to))
            return res.to_dict(), res.summary()
        drop00 = False if args.keep_double_zero else None
        es = escalc_2x2(*cells, measure=args.measure, add=args.add, to=args.to, drop00=drop00,
                        study=study)
        extra["effect_sizes"] = es.to_dict()
        texts.extend(f"Note: {r['study']}: {r['action']} ({r['reason']})" for r in es.records)
        keep = es.included
        yi, vi = es.yi[keep].tolist(), es.vi[keep].tolist()
        study = [s for s, k in zip(study, keep) if k]
        rows = [r for r, k in zip(rows, keep) if k]
    elif {"xi", "ni"} <= columns:
        _reject_non_re(args)
        groups = _column(rows, args.subgroup.lower(), numeric=False) if args.subgroup else None
        res = pool_proportions(_column(rows, "xi"), _column(rows, "ni"), study=study,
                               groups=groups, pi_dist=args.pi_dist, add=args.add, to=args.to,
                               **common)
        return res.to_dict(), res.summary()
    elif "yi" in columns and ({"vi", "sei"} & columns):
        yi = _column(rows, "yi")
        vi = _column(rows, "vi") if "vi" in columns else [s * s for s in _column(rows, "sei")]
    else:
        raise ValueError("input needs columns study,yi,vi (or sei), or study,ai,bi,ci,di, "
                         f"or study,xi,ni; found {sorted(columns)}")
    _reject_non_re(args)

    if args.mods:
        mods = {name: _column(rows, name.lower(), numeric=False) for name in args.mods}
        res = metareg(yi, vi, mods, study=study, tau2_ci=True, **common)
        return {**res.to_dict(), **extra}, "\n".join([res.summary(), *texts])

    if args.subgroup:
        groups = _column(rows, args.subgroup.lower(), numeric=False)
        sub = subgroup_analysis(yi, vi, groups, study=study, tau2=args.tau2_mode,
                                pi_dist=args.pi_dist, **common)
        return {**sub.to_dict(), **extra}, "\n".join([sub.summary(), *texts])

    res = rma(yi, vi, study=study, pi_dist=args.pi_dist, **common)
    output = res.to_dict()
    texts.insert(0, res.summary())
    if args.leave_one_out:
        l1o = leave_one_out(res)
        extra["leave_one_out"] = l1o.to_dict()
        texts.append(l1o.summary())
    if args.influence:
        inf = influence(res)
        extra["influence"] = inf.to_dict()
        texts.append(inf.summary())
    if args.bias:
        extra["bias"] = _bias_section(res, texts)
    output.update(extra)
    return output, "\n\n".join(texts)


def _bias_section(res, texts: list[str]) -> dict[str, Any]:
    section: dict[str, Any] = {}
    for name, func in (("egger", lambda: egger_test(res)), ("begg", lambda: begg_test(res)),
                       ("trimfill", lambda: trimfill(res))):
        try:
            value = func()
        except PoolingError as exc:
            section[name] = {"error": str(exc)}
            texts.append(f"{name}: not computed ({exc})")
            continue
        section[name] = value.to_dict()
        texts.append(value.summary())
    return section


def _reject_non_re(args) -> None:
    if args.method in ("MH", "PETO"):
        raise ValueError(f"--method {args.method} needs 2x2 input (columns ai, bi, ci, di)")


def _reject_model_options(args) -> None:
    if args.mods or args.subgroup or args.leave_one_out or args.influence or args.bias:
        raise ValueError(f"--method {args.method} gives a pooled estimate only; "
                         "--mods/--subgroup/--leave-one-out/--influence/--bias need an "
                         "inverse-variance method (FE, REML, ...)")


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m her2meta.pool.cli``)."""
    parser = argparse.ArgumentParser(prog="her2meta pool", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
