"""The `her2meta` command line: the package's tools for people and for the workflow.

    her2meta pool INPUT.csv [...]            pool (yi, vi) or 2x2 tables; JSON or text
    her2meta simulate demo --out DIR          regenerate the synthetic demo study packages
    her2meta mapping check MAPPING PACKAGE    apply a study mapping and print what it extracts
    her2meta mapping scaffold PACKAGE         list a package's datasets and columns as a mapping skeleton
    her2meta config check [CONFIG]            validate the configuration and the study sheet
    her2meta audit PATH [--json]              lineage of a result down to the raw files; every hash checked
    her2meta release check [RESULTS]          scan the release zone (identifiers, row-level tables, small cells)

Each subcommand imports only what it needs, so the command starts quickly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import Her2MetaError


def _add_pool(sub) -> None:
    parser = sub.add_parser("pool", help="pool study estimates (yi, vi) or 2x2 tables",
                            description="Meta-analysis of a CSV of study estimates or 2x2 tables.")
    from .pool.cli import add_arguments

    add_arguments(parser)
    parser.set_defaults(handler=_run_pool)


def _run_pool(args) -> int:
    from .pool.cli import run

    return run(args)


def _run_simulate_demo(args) -> int:
    from .simulate import write_demo

    written = write_demo(Path(args.out), seed=args.seed)
    print(f"wrote {len(written)} files under {args.out} (seed {args.seed})")
    return 0


def _run_mapping_check(args) -> int:
    from .config import WORKFLOW_CONFIG
    from .mapping_check import check_mapping, render

    directory = Path(args.directory)
    config = args.config or directory / WORKFLOW_CONFIG
    result = check_mapping(args.mapping, args.package, config_path=config, directory=directory,
                           setting=args.setting, design=args.design)
    sys.stdout.write(render(result))
    return 0 if result.ok else 2


def _run_mapping_scaffold(args) -> int:
    from .scaffold import scaffold

    sys.stdout.write(scaffold(Path(args.package), study=args.study, sep=args.sep))
    return 0


def _run_config_check(args) -> int:
    """Every problem of the configuration, the study sheet and each included study's mapping,
    with paths resolved from the working directory of the run (--directory), as Snakemake does."""
    from .config import (WORKFLOW_CONFIG, deprecation_warnings, layered_config, mark_synthetic, study_sheet_problems,
                         validate_config)
    from .coverage import warning_lines
    from .synthetic import synthetic_studies
    from .errors import ConfigError
    from .mapping import load_mapping

    directory = Path(args.directory)
    problems: list[Her2MetaError] = []

    def collect(exc: Her2MetaError) -> None:
        problems.extend(getattr(exc, "problems", None) or [exc])  # ConfigProblems, MappingProblems: each listed

    config = rows = None
    notes: list[str] = []
    try:
        raw, notes, label = layered_config(args.config or directory / WORKFLOW_CONFIG, directory=directory)
        notes = deprecation_warnings(raw) + notes
        config = validate_config(raw, file=label)
    except ConfigError as exc:
        collect(exc)
    if config is not None:
        try:
            rows, sheet_problems = study_sheet_problems(directory / config["studies"], project_root=directory,
                                                        data_root=config["data_root"])
            problems.extend(sheet_problems)
        except ConfigError as exc:
            collect(exc)
    mappings = 0
    for row in rows or []:
        if row["data_source"] == "ipd" and row["include"] and (directory / row["mapping"]).is_file():
            mappings += 1
            try:
                load_mapping(directory / row["mapping"], study=row["study_id"])
            except Her2MetaError as exc:
                collect(exc)
    for note in notes:
        print(f"note: {note}")
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} found:", file=sys.stderr)
        for number, problem in enumerate(problems, start=1):
            text = str(problem).splitlines()
            print(f"{number:>3}. {text[0]}", file=sys.stderr)
            for line in text[1:]:
                print(f"     {line.strip()}", file=sys.stderr)
        return 2
    included = sum(1 for r in rows if r["include"])
    synthetic = synthetic_studies(mark_synthetic(rows, data_root=config["data_root"], project_root=directory))
    print(f"configuration valid: {len(config['analyses'])} analyses ({', '.join(config['analyses'])}), {len(rows)} studies "
          f"({included} included), {mappings} mappings valid")
    if synthetic:
        print(f"synthetic studies (SYNTHETIC marker in the package; the report says so): "
              f"{'all' if len(synthetic) == included else ', '.join(synthetic)}")
    for line in warning_lines(config, rows):
        print(line)
    return 0


def _run_audit(args) -> int:
    from .audit import audit, render_text

    try:
        result = audit(args.path, records_only=args.records_only, results_dir=args.results)
    except FileNotFoundError as exc:
        raise Her2MetaError(f"{exc}") from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        sys.stdout.write(render_text(result))
    return 0 if result.ok else 1


def _run_release_check(args) -> int:
    from .release import check_release, load_identifiers

    results = Path(args.results)
    if not results.is_dir():
        raise Her2MetaError(f"{results} is not a folder")
    sources = [Path(p) for p in args.identifiers] if args.identifiers else sorted((results / "harmonized").glob("*.parquet"))
    if not sources:
        raise Her2MetaError(f"no harmonized data under {results / 'harmonized'} to take the patient identifiers from; "
                            "name the files with --identifiers (e.g. the secure copy of results/harmonized/*.parquet)")
    check = check_release(results, identifiers=load_identifiers(sources), min_cell_count=args.min_count, strict=args.strict,
                          identifier_sources=[{"path": str(p)} for p in sources])
    if args.json:
        print(json.dumps(check.manifest(), indent=2, sort_keys=True))
    else:
        print(check.summary())
    return 0 if check.passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="her2meta", description="IPD meta-analysis tools for HER2-positive breast cancer trials.")
    sub = parser.add_subparsers(dest="command", required=True)
    try:
        _add_pool(sub)
    except ImportError:  # pragma: no cover - the pooling CLI ships with the package
        pass

    simulate = sub.add_parser("simulate", help="synthetic study packages")
    sim_sub = simulate.add_subparsers(dest="what", required=True)
    demo = sim_sub.add_parser("demo", help="write the embedded demo packages (byte-identical for a seed)")
    demo.add_argument("--out", default="resources/demo", help="output folder (default: resources/demo)")
    demo.add_argument("--seed", type=int, default=20261121, help="global seed (default: 20261121)")
    demo.set_defaults(handler=_run_simulate_demo)

    mapping = sub.add_parser("mapping", help="write and check study mappings")
    map_sub = mapping.add_subparsers(dest="what", required=True)
    check = map_sub.add_parser("check", help="run the study's chain (extract, harmonize, estimate) as the workflow would; "
                                             "show fields, exclusions, derived counts and every problem")
    check.add_argument("mapping", help="mapping YAML file")
    check.add_argument("package", help="study package folder")
    check.add_argument("--config", help="config file whose harmonization settings, analyses and study sheet row are used "
                                        "(default: config/config.yaml when it exists)")
    check.add_argument("--directory", "-d", default=".", help="working directory of the run (default: the current folder)")
    check.add_argument("--setting", choices=["neoadjuvant", "adjuvant", "metastatic"],
                       help="the study's setting when it is not in the study sheet yet")
    check.add_argument("--design", choices=["rct", "single_arm"], help="the study's design when it is not in the study sheet yet")
    check.set_defaults(handler=_run_mapping_check)
    scaffold = map_sub.add_parser("scaffold", help="print a mapping skeleton from the package: subject-level dataset, one entry "
                                                   "per PARAMCD, recognised CDISC variables, define.xml labels")
    scaffold.add_argument("package", help="study package folder")
    scaffold.add_argument("--study", help="study_id (default: the folder name)")
    scaffold.add_argument("--sep", help="field separator of the package's CSV/TXT files (default: ',' for .csv, tab for .tsv), "
                                        "e.g. ';' for a European CSV")
    scaffold.set_defaults(handler=_run_mapping_scaffold)

    config = sub.add_parser("config", help="check the workflow configuration")
    config_sub = config.add_subparsers(dest="what", required=True)
    config_check = config_sub.add_parser(
        "check", help="validate config, study sheet and every mapping; list every problem",
        description="Check the configuration as `snakemake --directory DIRECTORY --configfile CONFIG` would run it: "
                    "CONFIG layered over DIRECTORY/config/config.yaml (its analyses replace the shipped ones), then the "
                    "study sheet and every included study's mapping. Paths in the config are relative to DIRECTORY.")
    config_check.add_argument("config", nargs="?",
                              help="config file, as given to snakemake --configfile (default: DIRECTORY/config/config.yaml)")
    config_check.add_argument("--directory", "-d", default=".",
                              help="working directory of the run, as snakemake --directory (default: the current folder)")
    config_check.set_defaults(handler=_run_config_check)

    audit = sub.add_parser("audit", help="lineage of a result down to the raw study files, every recorded hash checked",
                           description="Print the lineage of a result (or of every result in a results folder) from its "
                                       "provenance records, check every recorded SHA-256 against the files as they are now, and "
                                       "exit 1 naming every file that changed, is missing or is stale.")
    audit.add_argument("path", help="a result file (e.g. results/pooled/pcr_by_hr.tsv), its provenance record, or a results folder")
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.add_argument("--records-only", action="store_true",
                       help="for a results folder copied out of the secure environment: files that are not there (secure "
                            "zone, raw data) are checked against the recorded hashes alone")
    audit.add_argument("--results", help="the results folder (default: the folder above PATH holding provenance/)")
    audit.set_defaults(handler=_run_audit)

    release = sub.add_parser("release", help="Safe Outputs: check what may leave the secure environment")
    release_sub = release.add_subparsers(dest="what", required=True)
    release_check = release_sub.add_parser("check", help="scan the release zone for patient identifiers, row-level tables and "
                                                         "small cells (what the check_release rule does)")
    release_check.add_argument("results", nargs="?", default="results", help="results folder (default: results)")
    release_check.add_argument("--identifiers", nargs="+", metavar="PARQUET",
                               help="harmonized data files to take patient_id from (default: RESULTS/harmonized/*.parquet)")
    release_check.add_argument("--min-count", type=int, default=5, help="minimum count of people in a cell (default: 5)")
    release_check.add_argument("--strict", action="store_true", help="fail on small cells too (default: list them)")
    release_check.add_argument("--json", action="store_true", help="print the release manifest as JSON")
    release_check.set_defaults(handler=_run_release_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except Her2MetaError as exc:
        print(f"her2meta: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
