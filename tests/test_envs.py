"""Every rule declares log, conda env, threads and resources; env pins agree with pyproject.

Conda channels cannot be reached where this runs, so the envs are checked, not built."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = sorted((ROOT / "workflow" / "rules").glob("*.smk"))
CONDA_TO_PYPI = {"pyyaml": "pyyaml"}


def rule_blocks():
    for path in RULE_FILES:
        text = path.read_text()
        for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)+)", text, flags=re.M):
            yield path, match.group(1), match.group(2)


def pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = {}
    for line in data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]:
        name, spec = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", line).groups()
        reqs[name.lower()] = spec.replace(" ", "")
    return reqs


def test_rules_are_found():
    names = [name for _, name, _ in rule_blocks()]
    assert {"study_chain", "estimate_aggregate", "pool_analysis", "sensitivity_analysis", "render_report"} <= set(names)


@pytest.mark.parametrize("path, name, body", list(rule_blocks()), ids=lambda v: v if isinstance(v, str) and "\n" not in v else "")
def test_rule_declares_log_env_threads_resources(path, name, body):
    for directive in ("log:", "conda:", "threads:", "resources:"):
        assert re.search(rf"^\s+{directive}", body, flags=re.M), f"rule {name} in {path.name} has no {directive}"
    assert "mem_mb=" in body and "runtime=" in body, f"rule {name} lacks mem_mb/runtime resources"
    env = re.search(r'conda:\s*\n\s*"([^"]+)"', body).group(1)
    assert (path.parent / env).resolve().is_file(), f"rule {name}: env file {env} does not exist"


@pytest.mark.parametrize("env_file", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_agree_with_pyproject(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"][0] == "conda-forge"
    reqs = pyproject_requirements()
    requires_python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    for dep in env["dependencies"]:
        name, spec = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", dep).groups()
        spec = spec.replace(" ", "")
        if name == "python":
            minor = spec.lstrip("=")
            assert f">={minor}" in requires_python, f"{env_file.name}: python {minor} outside {requires_python}"
            continue
        pypi = CONDA_TO_PYPI.get(name, name).lower()
        assert pypi in reqs, f"{env_file.name}: {name} is not a dependency in pyproject.toml"
        assert spec == reqs[pypi], f"{env_file.name}: {name} {spec} differs from pyproject {reqs[pypi]}"


def test_every_env_is_used_by_a_rule():
    used = {re.search(r'conda:\s*\n\s*"([^"]+)"', body).group(1).split("/")[-1] for _, _, body in rule_blocks()}
    assert used == {p.name for p in (ROOT / "envs").glob("*.yaml")}


def test_snakemake_lint_is_clean():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr
