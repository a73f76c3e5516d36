"""`her2meta config check` and a user's own config file: paths resolved from the run's working
directory, every problem listed, a user's `analyses` replacing the shipped ones (also in a real
`snakemake -n`)."""

from __future__ import annotations

import copy
import logging
import subprocess
from pathlib import Path

import pytest
import yaml

from her2meta.cli import main
from her2meta.config import ConfigProblems, layered_config, merge_config, read_study_sheet, select_user_analyses, validate_config
from her2meta.errors import ConfigError

from workflow_setup import snakemake_command, write_run_config

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
MAPPING = "mapping_version: 1\nstudy_id: {sid}\ndatasets: {{dm: {{file: dm.csv, key: USUBJID}}}}\nsubjects: dm\n" \
          "fields: {{patient_id: {{from: dm.USUBJID}}}}\n"
HEADER = "study_id\tlabel\tdata_source\tpath\tmapping\tdesign\tsetting\tinclude\texclusion_reason\n"


def project(tmp_path: Path, *, rows: list[str] | None = None, config: dict | None = None) -> Path:
    """A project folder: config/config.yaml, config/studies.tsv, mappings and data/<study>/dm.csv."""
    work = tmp_path / "project"
    (work / "config" / "mappings").mkdir(parents=True)
    cfg = copy.deepcopy(config or SHIPPED)
    cfg.update(studies="config/studies.tsv", data_root="data")
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    for sid in ("A", "B"):
        (work / "data" / sid).mkdir(parents=True)
        (work / "data" / sid / "dm.csv").write_text("USUBJID\nS1\n")
        (work / "config" / "mappings" / f"{sid}.yaml").write_text(MAPPING.format(sid=sid))
    rows = rows if rows is not None else [f"{sid}\tStudy {sid}\tipd\t{sid}\tconfig/mappings/{sid}.yaml\trct\tneoadjuvant\ttrue\t"
                                          for sid in ("A", "B")]
    (work / "config" / "studies.tsv").write_text(HEADER + "".join(r + "\n" for r in rows))
    return work


def test_paths_are_resolved_from_the_working_directory_not_the_config_files_grandparent(tmp_path, capsys, monkeypatch):
    work = project(tmp_path)
    user = tmp_path / "elsewhere" / "deep" / "my.yaml"  # its grandparent, tmp/elsewhere, holds no study sheet
    user.parent.mkdir(parents=True)
    user.write_text(yaml.safe_dump({"analyses": {"pcr_by_hr": SHIPPED["analyses"]["pcr_by_hr"]}}))
    assert main(["config", "check", str(user), "--directory", str(work)]) == 0
    out = capsys.readouterr().out
    assert "configuration valid: 1 analyses (pcr_by_hr), 2 studies (2 included), 2 mappings valid" in out
    monkeypatch.chdir(work)  # the same from inside the project, without --directory
    assert main(["config", "check", str(user)]) == 0
    assert "1 analyses (pcr_by_hr)" in capsys.readouterr().out
    assert main(["config", "check"]) == 0
    assert f"{len(SHIPPED['analyses'])} analyses" in capsys.readouterr().out


def test_every_problem_is_listed(tmp_path, capsys):
    bad = copy.deepcopy(SHIPPED)
    bad.update(seed="abc", unknown_key=1)
    bad["pooling"]["methods"] = ["FE", "XYZ"]
    work = project(tmp_path, config=bad)
    assert main(["config", "check", "--directory", str(work), str(work / "config" / "config.yaml")]) == 2
    err = capsys.readouterr().err
    assert "3 problems found" in err and "more problems" not in err
    for key in ("at (top level)", "at seed", "at pooling/methods/1"):
        assert key in err


def test_problems_of_the_sheet_and_of_every_mapping_are_all_listed(tmp_path, capsys):
    rows = ["A\tStudy A\tipd\tA\tconfig/mappings/A.yaml\trct\tneoadjuvant\tmaybe\t",     # bad boolean
            "B\tStudy B\tipd\tB\tconfig/mappings/B.yaml\tcohort\tneoadjuvant\ttrue\t",   # bad design
            "C\tStudy C\tipd\tC\tconfig/mappings/C.yaml\trct\tneoadjuvant\ttrue\t",      # no package, no mapping
            "D\tStudy D\tipd\tA\tconfig/mappings/A.yaml\trct\tneoadjuvant\ttrue\t"]      # mapping declares study A
    work = project(tmp_path, rows=rows)
    (work / "config" / "mappings" / "B.yaml").write_text("mapping_version: 2\nstudy_id: B\n")
    assert main(["config", "check", "--directory", str(work)]) == 2
    err = capsys.readouterr().err
    assert "5 problems found" in err
    for text in ("include must be true or false", "'cohort' is not one of", "C does not exist",
                 "mapping file config/mappings/C.yaml does not exist", "the mapping declares study_id 'A'"):
        assert text in err, text


def test_a_mapping_breaking_its_schema_in_several_places_lists_them_all(tmp_path, capsys):
    work = project(tmp_path)
    (work / "config" / "mappings" / "A.yaml").write_text("mapping_version: 2\nstudy_id: A\nsubjects: 3\n")
    assert main(["config", "check", "--directory", str(work)]) == 2
    err = capsys.readouterr().err
    assert "breaks its schema in 4 places" in err and "(and" not in err
    for text in ("at mapping_version", "at subjects", "'datasets' is a required property", "'fields' is a required property"):
        assert text in err, text



def test_a_mapping_with_several_reference_problems_lists_them_all(tmp_path, capsys):
    work = project(tmp_path)
    (work / "config" / "mappings" / "A.yaml").write_text(
        "mapping_version: 1\nstudy_id: A\ndatasets: {dm: {file: dm.csv, key: USUBJID}}\nsubjects: dm\n"
        "fields:\n  patient_id: {from: dm.USUBJID}\n  age_in_years: {from: dm.AGE}\n  age_years: {from: adsl.AGE}\n"
        "  pcr_breast: {from: dm.PCR}\nconstants: {colour: blue}\n")
    assert main(["config", "check", "--directory", str(work)]) == 2
    err = capsys.readouterr().err
    assert "4 problems found:" in err
    for text in ("unknown field name 'age_in_years'", "field age_years reads from dataset 'adsl', which is not declared",
                 "field pcr_breast is yes/no: it needs a `codes:` map", "unknown constant field 'colour'"):
        assert text in err, text


def test_sheet_problems_raise_together():
    rows = ["A\tA\tipd\tA\tm.yaml\trct\tneoadjuvant\tmaybe\t", "A\tA\tipd\tA\tm.yaml\tcohort\tneoadjuvant\ttrue\t"]
    path = Path(__file__).parent / "__none__.tsv"
    try:
        path.write_text(HEADER + "".join(r + "\n" for r in rows))
        with pytest.raises(ConfigProblems) as err:
            read_study_sheet(path)
    finally:
        path.unlink()
    assert len(err.value.problems) == 2 and "line 2" in str(err.value) and "line 3" in str(err.value)


def test_user_analyses_replace_the_shipped_ones():
    user = {"analyses": {"efs_by_hr": SHIPPED["analyses"]["efs_by_hr"]}}
    merged = copy.deepcopy(SHIPPED)
    merged["analyses"].update(user["analyses"])  # what Snakemake's merge gives
    selected, notes = select_user_analyses(merged, user)
    assert list(selected["analyses"]) == ["efs_by_hr"]
    shipped_sensitivity = SHIPPED["sensitivity"]["analyses"]
    assert selected["sensitivity"]["analyses"] == [a for a in shipped_sensitivity if a == "efs_by_hr"]
    assert any("not run" in n for n in notes) and any("sensitivity" in n for n in notes)
    validate_config(selected)
    # a user who also sets the sensitivity analyses gets exactly those
    user["sensitivity"] = {"analyses": []}
    selected, _ = select_user_analyses(merge_config(SHIPPED, user), user)
    assert selected["sensitivity"]["analyses"] == []
    # no analyses in the user's files: nothing changes
    assert select_user_analyses(merged, {"seed": 1}) == (merged, [])


def test_layered_config_is_the_shipped_file_with_the_users_over_it(tmp_path):
    work = project(tmp_path)
    user = tmp_path / "u.yaml"
    user.write_text(yaml.safe_dump({"pooling": {"test": "knha"}, "analyses": {"os_by_hr": SHIPPED["analyses"]["os_by_hr"]}}))
    config, notes, label = layered_config(user, directory=work)
    assert label == f"{work / 'config' / 'config.yaml'} + {user}"
    assert config["pooling"] == {**SHIPPED["pooling"], "test": "knha"}
    assert list(config["analyses"]) == ["os_by_hr"] and notes


def test_the_demo_key_is_accepted_ignored_and_warned_about(caplog, tmp_path, capsys):
    config = copy.deepcopy(SHIPPED)
    config["demo"] = True
    with caplog.at_level(logging.WARNING, logger="her2meta.config"):
        validated = validate_config(config)
    assert "demo" not in validated
    assert any("`demo` key is ignored" in r.getMessage() for r in caplog.records)
    work = project(tmp_path, config=config)
    assert main(["config", "check", "--directory", str(work)]) == 0
    assert "note: the `demo` key is ignored (deprecated)" in capsys.readouterr().out


def test_config_file_not_found_or_not_a_mapping(tmp_path, capsys):
    assert main(["config", "check", str(tmp_path / "nope.yaml"), "--directory", str(tmp_path)]) == 2
    assert "config file not found" in capsys.readouterr().err
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="YAML mapping"):
        layered_config(tmp_path / "list.yaml", directory=tmp_path)


@pytest.mark.workflow
def test_snakemake_with_a_user_configfile_targets_only_the_users_analyses(tmp_path):
    work = tmp_path / "run"
    write_run_config(work, studies=["SIM-NEOSPHERE"], analyses=["pcr_by_hr", "efs_by_hr", "os_by_hr"],
                     sensitivity=["pcr_by_hr"])
    user = tmp_path / "my.yaml"
    user.write_text(yaml.safe_dump({"analyses": {"os_by_hr": SHIPPED["analyses"]["os_by_hr"]}}))

    def planned(*extra):
        run = subprocess.run(snakemake_command(work, "-n", "--cores", "1", *extra), capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        return run.stdout + run.stderr

    shipped = planned()
    for name in ("pcr_by_hr", "efs_by_hr", "os_by_hr"):
        assert f"results/pooled/{name}.tsv" in shipped
    mine = planned("--configfile", str(user))
    assert "results/pooled/os_by_hr.tsv" in mine
    assert "results/pooled/pcr_by_hr.tsv" not in mine and "results/pooled/efs_by_hr.tsv" not in mine
    rules = lambda text: " ".join(line for line in text.splitlines() if line.startswith(("rule ", "localrule ")))  # noqa: E731
    assert "sensitivity_analysis" in rules(shipped) and "sensitivity_analysis" not in rules(mine)
    assert "analyses from your config file replace the shipped ones" in mine


def test_config_check_warns_of_analyses_no_included_study_informs(tmp_path, capsys):
    work = project(tmp_path)  # two neoadjuvant studies, the shipped analyses (some metastatic)
    assert main(["config", "check", "--directory", str(work)]) == 0
    out = capsys.readouterr().out
    metastatic = sorted(name for name, spec in SHIPPED["analyses"].items() if spec.get("settings") == ["metastatic"])
    assert metastatic  # the shipped config has metastatic analyses
    for name in metastatic:
        assert (f"warning: analysis {name} will be not estimable: no included study is in setting metastatic "
                "(included studies: 2 neoadjuvant)") in out
    assert "warning: analysis pcr_by_hr" not in out
