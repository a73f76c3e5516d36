"""The cluster and cloud profiles are valid Snakemake settings that cover every rule.

Fast and offline: the profiles are parsed with Snakemake's own command-line parser (which knows
the options of every installed executor and storage plugin), and checked against the rules in
workflow/rules. The plugins come with the cluster extra (`pip install -e '.[test,cluster]'`, as
the README and CI install); a missing plugin fails these tests rather than skipping them. The real
cluster test is cluster/slurm_local.sh (see docs/cluster.md).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILES = {name: ROOT / "profiles" / name / "config.yaml" for name in ("slurm", "kubernetes")}
# the plugins whose options the profiles use (the cluster extra)
PLUGINS = ("snakemake_executor_plugin_slurm", "snakemake_executor_plugin_kubernetes", "snakemake_storage_plugin_s3")
SLURM_DEFAULT_MIN_JOB_AGE = 300  # seconds, slurm.conf default
ATTEMPTS = (1, 2, 3)


def load(name: str) -> dict:
    return yaml.safe_load(PROFILES[name].read_text(encoding="utf-8"))


def workflow_rules() -> dict[str, dict]:
    """Rules that run a job: name -> declared threads, mem_mb, runtime (from workflow/rules)."""
    rules = {}
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^(?:local)?rule (\w+):\n((?:[ \t]+.*\n|\n)+)", text, flags=re.M):
            name, body = match.groups()
            if not re.search(r"^\s+(script|shell|run|wrapper|notebook):", body, flags=re.M):
                continue
            declared = {}
            for key, pattern in (("threads", r"threads:\s*(\d+)"), ("mem_mb", r"mem_mb\s*=\s*(\d+)"),
                                 ("runtime", r"runtime\s*=\s*(\d+)")):
                found = re.search(pattern, body)
                declared[key] = int(found.group(1)) if found else None
            rules[name] = declared
    return rules


def evaluate(expression, attempt: int):
    """A profile resource value as Snakemake evaluates it: a number, or a Python expression."""
    if isinstance(expression, (int, float)):
        return expression
    return eval(str(expression), {"__builtins__": {"max": max, "min": min}}, {"attempt": attempt})


@pytest.mark.parametrize("module", PLUGINS)
def test_the_plugins_the_profiles_use_are_installed(module):
    assert importlib.util.find_spec(module) is not None, f"{module} is missing: pip install -e '.[test,cluster]'"


@pytest.fixture(scope="module")
def cli_options() -> set[str]:
    from snakemake.cli import get_argument_parser

    return set(get_argument_parser()._option_string_actions)


@pytest.fixture(scope="module")
def rules() -> dict[str, dict]:
    found = workflow_rules()
    assert {"study_chain", "estimate_aggregate", "pool_analysis"} <= set(found)
    return found


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_key_is_a_snakemake_or_plugin_option(name, cli_options):
    profile = load(name)
    unknown = []
    for key in profile:
        if f"--{key}" not in cli_options:
            unknown.append(key)
    assert not unknown, f"profiles/{name}/config.yaml: not a Snakemake or plugin option: {unknown}"


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_rule_gets_resources_that_grow_with_attempt(name, rules):
    profile = load(name)
    per_rule = profile["set-resources"]
    assert profile.get("retries", 0) >= 1, "retries must be on for the attempt scaling to matter"
    missing = sorted(set(rules) - set(per_rule))
    assert not missing, (f"profiles/{name}/config.yaml: add set-resources (mem_mb, runtime, scaled with "
                         f"attempt) for {missing}")
    # entries for rules that do not exist (yet, or any more) are ignored by Snakemake: allowed
    for rule, resources in [("(default-resources)", profile["default-resources"]), *per_rule.items()]:
        for resource in ("mem_mb", "runtime"):
            values = [evaluate(resources[resource], attempt) for attempt in ATTEMPTS]
            assert all(isinstance(v, int) and v > 0 for v in values), (rule, resource, values)
            assert values == sorted(set(values)), f"{rule}: {resource} must grow with attempt, got {values}"
        declared = rules.get(rule, {}).get("mem_mb")
        if declared:
            assert evaluate(resources["mem_mb"], 1) >= declared, (
                f"{rule}: the profile asks for less memory than the rule declares ({declared} MB)")


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_threads_and_groups(name, rules):
    profile = load(name)
    cores = int(profile["cores"])
    assert set(rules) <= set(profile["set-threads"]), sorted(set(rules) - set(profile["set-threads"]))
    for rule, threads in profile["set-threads"].items():
        # `cores` caps a submission's CPUs and every rule's threads in cluster mode
        assert 1 <= threads <= cores, (rule, threads, cores)
        declared = rules.get(rule, {}).get("threads")
        assert declared is None or declared <= cores, f"{rule} declares {declared} threads, more than cores: {cores}"
    groups = profile["groups"]
    assert {"study_chain", "estimate_aggregate"} <= set(groups)
    assert len({groups[r] for r in ("study_chain", "estimate_aggregate")}) == 1
    assert set(profile["group-components"]) <= set(groups.values())
    assert all(int(n) >= 1 for n in profile["group-components"].values())


def test_slurm_status_checks_are_sensible():
    profile = load("slurm")
    initial = profile["slurm-init-seconds-before-status-checks"]
    # the plugin's squeue status command needs MinJobAge >= 3 x the initial wait
    assert 3 * initial <= SLURM_DEFAULT_MIN_JOB_AGE
    assert profile["slurm-status-attempts"] >= 3
    assert 0 < float(profile["max-status-checks-per-second"]) <= 2
    assert "slurm-status-command" not in profile, "leave sacct/squeue to the site (see docs/cluster.md)"
    assert int(profile["latency-wait"]) >= 30, "shared file systems need time to show outputs"
    assert not str(profile["slurm-logdir"]).startswith(("/", "results")), "Slurm logs belong in logs/ (secure zone)"


def test_slurm_profile_is_accepted_by_snakemake():
    """Snakemake (with the plugin) parses the profile into the settings it promises."""
    from snakemake.cli import parse_args

    profile = load("slurm")
    _, args = parse_args(["--workflow-profile", str(PROFILES["slurm"].parent), "--dry-run"])
    assert args.executor == "slurm"
    assert args.retries == profile["retries"] and args.jobs == profile["jobs"]
    assert args.cores == profile["cores"]
    assert args.latency_wait == profile["latency-wait"]
    assert args.slurm_init_seconds_before_status_checks == profile["slurm-init-seconds-before-status-checks"]
    assert args.groups == profile["groups"]
    assert args.group_components == profile["group-components"]
    assert set(args.set_resources) == set(profile["set-resources"])


def test_kubernetes_profile_uses_storage_and_an_image():
    profile = load("kubernetes")
    assert profile["executor"] == "kubernetes"
    assert profile["default-storage-provider"] == "s3"
    assert str(profile["default-storage-prefix"]).startswith("s3://")
    assert profile["container-image"]
    # credentials come from the environment, never from a file in the repository
    assert not any(k in profile for k in ("storage-s3-access-key", "storage-s3-secret-key", "storage-s3-token"))


def test_cluster_script_is_valid_bash():
    script = ROOT / "cluster" / "slurm_local.sh"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = script.read_text()
    # the traps the script exists to avoid
    assert "/etc/slurm/slurm.conf" in text and "DefMemPerCPU" in text and "MinJobAge" in text
    assert "--slurm-status-command squeue" in text
