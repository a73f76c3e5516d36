"""The `her2meta pool` command line, exercised through add_arguments() and run()."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from her2meta.pool import rma
from her2meta.pool.cli import add_arguments, run

REF = json.loads((Path(__file__).parent / "reference" / "metafor" /
                  "metafor_fixtures.json").read_text())


def invoke(argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    status = run(parser.parse_args(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def bcg_csv(tmp_path):
    data = REF["datasets"]["bcg_rr"]
    lines = ["study,yi,vi,ablat,alloc"] + [
        f"{s},{y!r},{v!r},{a},{g}" for s, y, v, a, g in
        zip(data["study"], data["yi"], data["vi"], data["ablat"], data["alloc"])]
    path = tmp_path / "bcg.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def table_csv(tmp_path):
    t = REF["two_by_two"]["nielweise"]
    lines = ["study,ai,bi,ci,di"] + [
        f"{s},{a},{b},{c},{d}" for s, a, b, c, d in zip(t["study"], t["ai"], t["bi"], t["ci"], t["di"])]
    path = tmp_path / "tables.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_json_has_result_field_names(bcg_csv):
    status, out, _ = invoke([str(bcg_csv)])
    assert status == 0
    payload = json.loads(out)
    data = REF["datasets"]["bcg_rr"]
    expected = rma(data["yi"], data["vi"], study=data["study"]).to_dict()
    assert payload == json.loads(json.dumps(expected))
    for name in ["estimate", "se", "ci_lb", "ci_ub", "zval", "pval", "tau2", "I2", "H2", "Q",
                 "Q_df", "Q_p", "pi_lb", "pi_ub", "k", "weights", "method", "test", "converged"]:
        assert name in payload


def test_options_are_passed_through(bcg_csv):
    status, out, _ = invoke([str(bcg_csv), "--method", "DL", "--test", "knha", "--level", "90",
                             "--pi-dist", "t"])
    payload = json.loads(out)
    assert status == 0
    assert (payload["method"], payload["test"], payload["level"], payload["pi_df"]) == \
        ("DL", "knha", 90.0, 11)


def test_text_format(bcg_csv):
    status, out, _ = invoke([str(bcg_csv), "--format", "text"])
    assert status == 0
    assert "Random-effects (REML)" in out and "-0.7145" in out


def test_leave_one_out_influence_and_bias(bcg_csv):
    status, out, _ = invoke([str(bcg_csv), "--leave-one-out", "--influence", "--bias"])
    payload = json.loads(out)
    assert status == 0
    assert len(payload["leave_one_out"]["refits"]) == 13
    assert len(payload["influence"]["rstudent"]) == 13
    assert set(payload["bias"]) == {"egger", "begg", "trimfill"}


def test_meta_regression_with_moderators(bcg_csv):
    status, out, _ = invoke([str(bcg_csv), "--mods", "ablat"])
    payload = json.loads(out)
    assert status == 0
    assert payload["coef_names"] == ["intrcpt", "ablat"]
    assert round(payload["beta"][1], 4) == -0.0291


def test_categorical_moderator_and_subgroups(bcg_csv):
    status, out, _ = invoke([str(bcg_csv), "--mods", "alloc"])
    assert status == 0 and json.loads(out)["QM_df"] == 2
    status, out, _ = invoke([str(bcg_csv), "--subgroup", "alloc"])
    payload = json.loads(out)
    assert status == 0 and payload["Q_between_df"] == 2


def test_two_by_two_input(table_csv):
    status, out, _ = invoke([str(table_csv), "--measure", "OR"])
    payload = json.loads(out)
    assert status == 0
    assert payload["k"] == 17                      # Yucel 2004 double zero dropped
    dropped = [r for r in payload["effect_sizes"]["records"] if r["action"] == "dropped"]
    assert [r["study"] for r in dropped] == ["Yucel"]
    status, out, _ = invoke([str(table_csv), "--method", "MH", "--measure", "RR"])
    assert status == 0 and json.loads(out)["method"] == "MH"


def test_proportion_input(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("study,xi,ni,arm\nA,10,40,x\nB,0,30,x\nC,22,50,y\nD,15,45,y\n")
    status, out, _ = invoke([str(path), "--subgroup", "arm"])
    payload = json.loads(out)
    assert status == 0
    assert 0 < payload["proportion"] < 1 and set(payload["subgroups"]) == {"x", "y"}


@pytest.mark.parametrize("content, message", [
    ("study,yi,vi\nA,0.1,0.01\nB,inf,0.02\n", "non-finite"),
    ("study,yi,vi\nA,0.1,-0.01\nB,0.2,0.02\n", "negative"),
    ("study,foo\nA,1\n", "columns"),
    ("study,yi,vi\nA,abc,0.1\n", "not numeric"),
])
def test_bad_input_gives_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    status, out, err = invoke([str(path)])
    assert status == 2 and out == ""
    assert message in err


def test_missing_file(tmp_path):
    status, _, err = invoke([str(tmp_path / "nope.csv")])
    assert status == 2 and "nope.csv" in err
