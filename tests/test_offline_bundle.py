"""The lock files agree with pyproject.toml, and the offline bundle tool finds what is wrong.

Building a bundle needs PyPI, so it is not done here: CI builds one and installs it with no
network (tools/check_offline_install.sh, called from .ci/run)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def load_tool():
    spec = importlib.util.spec_from_file_location("offline_bundle", ROOT / "tools" / "offline_bundle.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["offline_bundle"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


tool = load_tool()
LOCKS = [(target, extra) for target in tool.TARGETS.values() for extra in (None, *tool.EXTRAS)]
LOCK_IDS = [target.lock(extra).name for target, extra in LOCKS]


def pins_of(path: Path) -> dict[str, str]:
    """Parsed here independently of the tool: `name==version`, comments and blank lines aside."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def requirements_of(extra: str | None) -> list[Requirement]:
    lines = list(PYPROJECT["project"]["dependencies"])
    if extra:
        lines += PYPROJECT["project"]["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def test_a_lock_file_for_every_target_and_extra_and_no_other():
    expected = {target.lock(extra).name for target, extra in LOCKS}
    assert expected == {p.name for p in (ROOT / "requirements").glob("*.txt")}
    assert len(expected) == 4  # linux and windows, runtime and test


@pytest.mark.parametrize("target, extra", LOCKS, ids=LOCK_IDS)
def test_every_dependency_is_locked_inside_pyproject_range(target, extra):
    pins = pins_of(target.lock(extra))
    for requirement in requirements_of(extra):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{target.lock(extra).name}: {requirement} is not locked"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"{target.lock(extra).name}: {name}=={pins[name]} is outside pyproject's {requirement.specifier}"


@pytest.mark.parametrize("target, extra", LOCKS, ids=LOCK_IDS)
def test_lock_is_exact_pins_and_says_how_to_regenerate(target, extra):
    path = target.lock(extra)
    text = path.read_text(encoding="utf-8")
    assert "python tools/offline_bundle.py lock" in text.splitlines()[1]
    assert tool.read_lock(path) == pins_of(path)
    assert not any(line.startswith(("-e", "--", "git+", "http")) for line in text.splitlines())
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(target.python_version)


@pytest.mark.parametrize("target", tool.TARGETS.values(), ids=list(tool.TARGETS))
def test_test_lock_adds_packages_without_changing_runtime_versions(target):
    runtime, with_test = pins_of(target.lock()), pins_of(target.lock("test"))
    assert {name: with_test.get(name) for name in runtime} == runtime
    assert canonicalize_name("pytest") in with_test and canonicalize_name("pytest") not in runtime


def test_windows_lock_has_linux_versions_of_every_shared_package():
    """What CI tests on Linux is what a Windows bundle installs, package for package."""
    linux, windows = (pins_of(tool.TARGETS[name].lock("test")) for name in ("linux-py311", "windows-py311"))
    assert {name: linux[name] for name in linux.keys() & windows.keys()} == \
           {name: windows[name] for name in linux.keys() & windows.keys()}
    assert set(linux) <= set(windows)  # Windows only adds (pyreadline3, colorama)


def test_read_lock_refuses_ranges_and_duplicates(tmp_path):
    ranged = tmp_path / "ranged.txt"
    ranged.write_text("numpy==2.4.6\npandas>=2.2\n", encoding="utf-8")
    with pytest.raises(tool.BundleError, match=r"line 2: 'pandas>=2.2' is not an exact pin"):
        tool.read_lock(ranged)
    twice = tmp_path / "twice.txt"
    twice.write_text("PyYAML==6.0.4\npyyaml==6.0.4  # via snakemake\n", encoding="utf-8")
    with pytest.raises(tool.BundleError, match="pinned twice"):
        tool.read_lock(twice)


def test_compare_wheelhouse_names_every_difference():
    pins = {"numpy": "2.4.6", "pyyaml": "6.0.4", "connection-pool": "0.0.3", "scipy": "1.17.1"}
    wheels = ["numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
              "PyYAML-6.0.3-cp311-cp311-manylinux_2_17_x86_64.whl",      # other version
              "connection_pool-0.0.3-py3-none-any.whl",                   # name spelt with _
              "tqdm-4.67.1-py3-none-any.whl"]                             # not locked; scipy missing
    assert tool.compare_wheelhouse(wheels, pins) == [
        "pyyaml: PyYAML-6.0.3-cp311-cp311-manylinux_2_17_x86_64.whl is version 6.0.3, the lock says 6.0.4",
        "tqdm: tqdm-4.67.1-py3-none-any.whl is not in the lock",
        "scipy: locked at 1.17.1, no wheel",
    ]
    assert tool.compare_wheelhouse(wheels[:1] + ["numpy-2.4.6-cp311-cp311-win_amd64.whl"], {"numpy": "2.4.6"}) == [
        "numpy: two wheels (numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl, "
        "numpy-2.4.6-cp311-cp311-win_amd64.whl)"]


def make_bundle(folder: Path) -> dict[str, bytes]:
    files = {"requirements.txt": b"numpy==2.4.6\n", "wheelhouse/numpy-2.4.6-py3-none-any.whl": b"not really a wheel",
             "her2meta-src.zip": b"PK\x05\x06" + bytes(18)}
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    tool.write_checksums(folder)
    return files


def test_checksum_list_is_sha256sum_format(tmp_path):
    files = make_bundle(tmp_path)
    expected = "".join(f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n" for name in sorted(files))
    assert (tmp_path / "SHA256SUMS").read_text(encoding="utf-8") == expected
    assert tool.verify(tmp_path) == []


def test_verify_finds_changed_missing_and_unlisted_files(tmp_path):
    make_bundle(tmp_path)
    (tmp_path / "requirements.txt").write_bytes(b"numpy==2.4.7\n")
    (tmp_path / "her2meta-src.zip").unlink()
    (tmp_path / "wheelhouse" / "extra-1.0-py3-none-any.whl").write_bytes(b"")
    assert tool.verify(tmp_path) == [
        "her2meta-src.zip: missing",
        "requirements.txt: changed (SHA-256 differs)",
        "wheelhouse/extra-1.0-py3-none-any.whl: not in SHA256SUMS",
    ]
    assert tool.main(["verify", str(tmp_path)]) == 1
    (tmp_path / "SHA256SUMS").unlink()
    assert tool.verify(tmp_path) == [f"{tmp_path / 'SHA256SUMS'} is missing: this is not a complete bundle"]


def test_compare_installed_ignores_only_the_venv_seed_and_the_project():
    pins = {"numpy": "2.4.6", "pandas": "2.3.3"}
    assert tool.compare_installed(pins, {"numpy": "2.4.6", "pandas": "2.3.3", "pip": "23.2.1",
                                         "setuptools": "65.5.0", "her2meta": "0.1.0"}) == []
    assert tool.compare_installed(pins, {"numpy": "2.4.5", "requests": "2.34.2"}) == [
        "numpy: 2.4.5 installed, the lock says 2.4.6",
        "pandas: locked at 2.3.3, not installed",
        "requests: 2.34.2 installed, not in the lock",
        "her2meta: not installed",
    ]


def test_build_refuses_to_overwrite_a_folder_that_is_not_a_bundle(tmp_path):
    (tmp_path / "thesis.docx").write_bytes(b"keep me")
    assert tool.main(["build", "--out", str(tmp_path)]) == 1
    assert (tmp_path / "thesis.docx").read_bytes() == b"keep me"


def test_ci_runs_the_offline_install_check_and_docs_say_how():
    assert "bash tools/check_offline_install.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    doc = (ROOT / "docs" / "offline_install.md").read_text(encoding="utf-8")
    for needed in ("--no-index --find-links", "offline_bundle.py build", "offline_bundle.py verify",
                   "offline_bundle.py lock", "--platform win_amd64", *LOCK_IDS):
        assert needed in doc, f"docs/offline_install.md does not mention {needed}"
    assert "docs/offline_install.md" in (ROOT / "README.md").read_text(encoding="utf-8")
