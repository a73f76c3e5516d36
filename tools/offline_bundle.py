"""Locked dependencies and an offline install bundle for a secure research environment.

    python tools/offline_bundle.py lock                       # regenerate requirements/*.txt (needs uv)
    python tools/offline_bundle.py build [--target T] [--with-test] [--out DIR]
    python tools/offline_bundle.py verify DIR                 # every file against DIR/SHA256SUMS
    python tools/offline_bundle.py installed LOCK             # this Python holds exactly LOCK

`build` needs the internet (PyPI) and git; `verify`, and installing from the bundle, need neither.
The bundle is for one target platform and Python (TARGETS): its wheelhouse holds exactly the
locked versions as wheels (a package PyPI has only as source is built here into a pure-Python
wheel) plus the project's own wheel, beside the source tree of the same commit and a checksum
list. docs/offline_install.md says how it is used. Standard library only, so the copy that ships
inside a bundle runs `verify` on any machine with Python, Windows included.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
# Packages published after this instant are not considered by `lock`: the same command gives the
# same lock files until this date is moved on purpose (then review the diff and rerun the tests).
EXCLUDE_NEWER = "2026-12-01T00:00:00Z"
# The uv release the committed lock files were made with (`pip install uv==...`).
UV_VERSION = "0.13.8"
CHECKSUMS = "SHA256SUMS"
# File times inside the wheels built here from a release's source (the project's own wheel takes
# its commit's time): the same source gives the same bytes. 2026-12-01T00:00:00Z, as EXCLUDE_NEWER.
SOURCE_BUILD_EPOCH = "1796083200"
PROJECT = "her2meta"


@dataclass(frozen=True)
class Target:
    """One platform and Python that a lock file and a bundle are made for."""

    name: str
    uv_platform: str                 # uv pip compile --python-platform
    pip_platforms: tuple[str, ...]   # pip download --platform, each tag a wheel may carry
    python_version: str = "3.11"

    def lock(self, extra: str | None = None) -> Path:
        return REQUIREMENTS / (f"{self.name}-{extra}.txt" if extra else f"{self.name}.txt")


# pip takes a manylinux tag literally (a wheel for an older glibc is not matched by a newer tag),
# so every tag up to the target's glibc is listed, in the legacy spellings too.
MANYLINUX_2_28 = tuple(f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)) + (
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")
TARGETS = {
    # glibc 2.28 or newer: RHEL/Rocky 8+, Debian 10+, Ubuntu 20.04+.
    "linux-py311": Target("linux-py311", "x86_64-manylinux_2_28", MANYLINUX_2_28),
    "windows-py311": Target("windows-py311", "x86_64-pc-windows-msvc", ("win_amd64",)),
}
# The first target is the reference: the others are resolved with its versions as constraints,
# so a package shared by two platforms has the same version on both.
REFERENCE = "linux-py311"
EXTRAS = ("test",)


class BundleError(Exception):
    """A problem with a lock file or a bundle, said for the person running the command."""


# ---------------------------------------------------------------------------------------------
# Lock files

def normalize(name: str) -> str:
    """PEP 503 name: case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """{normalized name: version} from a lock file of `name==version` lines."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line)
        if not match:
            raise BundleError(f"{path.name} line {number}: {raw.strip()!r} is not an exact pin `name==version`; "
                              f"regenerate the lock files with `python tools/offline_bundle.py lock`")
        name = normalize(match.group(1))
        if name in pins:
            raise BundleError(f"{path.name} line {number}: {match.group(1)} is pinned twice")
        pins[name] = match.group(2)
    return pins


def uv_command() -> list[str]:
    found = shutil.which("uv")
    if found is None:
        raise BundleError(f"`lock` needs uv: pip install uv=={UV_VERSION}")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
    if version != UV_VERSION:
        print(f"note: uv {version} here, the lock files were made with {UV_VERSION}; "
              f"the output may differ in form, not in versions", file=sys.stderr)
    return [found]


def compile_lock(target: Target, extra: str | None) -> None:
    """One lock file: pyproject's dependencies (and an extra's) resolved for `target`."""
    command = [*uv_command(), "pip", "compile", "pyproject.toml", "--quiet",
               "--python-version", target.python_version, "--python-platform", target.uv_platform,
               "--exclude-newer", EXCLUDE_NEWER, "--annotation-style", "line", "--no-emit-index-url",
               "--custom-compile-command", "python tools/offline_bundle.py lock",
               "--output-file", str(target.lock(extra).relative_to(ROOT))]
    if extra:
        # An extra only adds packages: the runtime's versions stay as they are.
        command += ["--extra", extra, "--constraint", str(target.lock().relative_to(ROOT))]
    if target.name != REFERENCE:
        command += ["--constraint", str(TARGETS[REFERENCE].lock(extra).relative_to(ROOT))]
    subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, "UV_INDEX_URL": "https://pypi.org/simple"})


def lock() -> None:
    REQUIREMENTS.mkdir(exist_ok=True)
    ordered = [TARGETS[REFERENCE], *(t for name, t in TARGETS.items() if name != REFERENCE)]
    for target in ordered:
        for extra in (None, *EXTRAS):
            compile_lock(target, extra)
            print(f"wrote {target.lock(extra).relative_to(ROOT)}")


# ---------------------------------------------------------------------------------------------
# Building a bundle

def wheel_name_version(filename: str) -> tuple[str, str]:
    """(normalized name, version) from a wheel's file name (PEP 427)."""
    parts = filename[: -len(".whl")].split("-")
    if not filename.endswith(".whl") or len(parts) not in (5, 6):
        raise BundleError(f"{filename} is not a wheel file name")
    return normalize(parts[0]), parts[1]


def compare_wheelhouse(wheels: list[str], pins: dict[str, str]) -> list[str]:
    """Every way the wheel files differ from the pins: missing, extra, other version, twice."""
    problems, seen = [], {}
    for filename in sorted(wheels):
        name, version = wheel_name_version(filename)
        if name in seen:
            problems.append(f"{name}: two wheels ({seen[name]}, {filename})")
            continue
        seen[name] = filename
        if name not in pins:
            problems.append(f"{name}: {filename} is not in the lock")
        elif normalize(version) != normalize(pins[name]):
            problems.append(f"{name}: {filename} is version {version}, the lock says {pins[name]}")
    problems += [f"{name}: locked at {version}, no wheel" for name, version in sorted(pins.items()) if name not in seen]
    return problems


def run(command: list[str], **kwargs) -> None:
    print("+ " + " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


def download_locked(target: Target, lock_file: Path, downloads: Path) -> None:
    """Each pinned release as the target's wheel, or as source where PyPI has no wheel."""
    platforms = [option for tag in target.pip_platforms for option in ("--platform", tag)]
    run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps", "--quiet", *platforms,
         "--python-version", target.python_version,
         "--implementation", "cp", "--abi", "cp" + target.python_version.replace(".", ""),
         "--requirement", str(lock_file), "--dest", str(downloads)])


def build_wheel(source: Path, wheelhouse: Path, epoch: str) -> None:
    """A wheel from a source tree or archive, with file times from `epoch`: same source, same bytes."""
    run([sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps", "--quiet",
         "--wheel-dir", str(wheelhouse), str(source)], env={**os.environ, "SOURCE_DATE_EPOCH": epoch})


def wheels_from_sources(downloads: Path, wheelhouse: Path, epoch: str) -> list[str]:
    """Wheels for the releases PyPI has only as source; they must come out pure Python, or they
    would be this machine's and not the target's."""
    built = []
    for source in sorted(p for p in downloads.iterdir() if not p.name.endswith(".whl")):
        before = set(os.listdir(wheelhouse))
        build_wheel(source, wheelhouse, epoch)
        for filename in sorted(set(os.listdir(wheelhouse)) - before):
            if not filename.endswith("-none-any.whl"):
                raise BundleError(f"{source.name} builds a platform wheel ({filename}): build the bundle "
                                  f"on the target platform instead")
            built.append(filename)
    return built


def project_source(out: Path, revision: str) -> tuple[Path, str, str]:
    """The committed tree of `revision` as a zip (what the workflow runs from), its commit and time."""
    commit = git("rev-parse", "--verify", revision + "^{commit}")
    epoch = git("log", "-1", "--format=%ct", commit)
    if revision == "HEAD" and git("status", "--porcelain", "--untracked-files=no"):
        print("note: the work tree has uncommitted changes; the bundle holds the last commit", file=sys.stderr)
    archive = out / f"{PROJECT}-src.zip"
    run(["git", "-C", str(ROOT), "archive", "--format=zip", f"--prefix={PROJECT}/", "-o", str(archive), commit])
    return archive, commit, epoch


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(folder: Path) -> list[str]:
    """Every file under `folder` but the checksum list, as sorted forward-slash paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS)


def write_checksums(folder: Path) -> None:
    lines = [f"{file_sha256(folder / name)}  {name}\n" for name in bundle_files(folder)]
    (folder / CHECKSUMS).write_bytes("".join(lines).encode("utf-8"))


def verify(folder: Path) -> list[str]:
    """Every file that is missing, changed or not listed, against the bundle's checksum list."""
    listing = folder / CHECKSUMS
    if not listing.is_file():
        return [f"{listing} is missing: this is not a complete bundle"]
    expected = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        expected[name] = digest
    problems = [f"{name}: missing" for name in sorted(expected) if not (folder / name).is_file()]
    problems += [f"{name}: changed (SHA-256 differs)" for name in sorted(expected)
                 if (folder / name).is_file() and file_sha256(folder / name) != expected[name]]
    problems += [f"{name}: not in {CHECKSUMS}" for name in bundle_files(folder) if name not in expected]
    return problems


# What `python -m venv` puts in every environment; not part of the lock.
VENV_SEED = {"pip", "setuptools", "wheel"}


def compare_installed(pins: dict[str, str], installed: dict[str, str]) -> list[str]:
    """Every way the installed distributions differ from the lock (the project itself and the
    venv's own pip/setuptools aside)."""
    problems = [f"{name}: {installed[name]} installed, the lock says {version}" for name, version in sorted(pins.items())
                if name in installed and normalize(installed[name]) != normalize(version)]
    problems += [f"{name}: locked at {version}, not installed" for name, version in sorted(pins.items()) if name not in installed]
    problems += [f"{name}: {version} installed, not in the lock" for name, version in sorted(installed.items())
                 if name not in pins and name not in VENV_SEED | {PROJECT}]
    if PROJECT not in installed:
        problems.append(f"{PROJECT}: not installed")
    return problems


def installed_distributions() -> dict[str, str]:
    from importlib import metadata

    return {normalize(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}


README = """\
her2meta offline bundle: {target} (CPython {python}, {platform})
commit {commit}; lock files {locks}

Check, install and run, with no network (docs/offline_install.md in the source has the details):

  python offline_bundle.py verify .
  python -m venv her2meta-env
  her2meta-env/bin/pip install --no-index --find-links wheelhouse -r requirements.txt {project}
      (Windows: her2meta-env\\Scripts\\pip ...)
  unzip {project}-src.zip, then inside {project}/:  her2meta config check ; snakemake --cores 4
"""


def build(target: Target, with_test: bool, out: Path, revision: str = "HEAD") -> None:
    lock_file = target.lock("test" if with_test else None)
    pins = read_lock(lock_file)
    if out.exists():
        if any(out.iterdir()) and not (out / CHECKSUMS).is_file():
            raise BundleError(f"{out} exists and is not a bundle: choose another --out")
        shutil.rmtree(out)
    try:
        fill_bundle(target, lock_file, pins, out, revision)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # never a half-built bundle that looks whole
        raise


def fill_bundle(target: Target, lock_file: Path, pins: dict[str, str], out: Path, revision: str) -> None:
    wheelhouse = out / "wheelhouse"
    wheelhouse.mkdir(parents=True)
    archive, commit, epoch = project_source(out, revision)
    with tempfile.TemporaryDirectory(prefix="her2meta-bundle-") as tmp:
        downloads = Path(tmp) / "downloads"
        download_locked(target, lock_file, downloads)
        for wheel in downloads.glob("*.whl"):
            shutil.move(str(wheel), wheelhouse / wheel.name)
        built = wheels_from_sources(downloads, wheelhouse, SOURCE_BUILD_EPOCH)
        with zipfile.ZipFile(archive) as source:
            source.extractall(tmp)
        build_wheel(Path(tmp) / PROJECT, wheelhouse, epoch)
    wheels = sorted(os.listdir(wheelhouse))
    problems = compare_wheelhouse([w for w in wheels if wheel_name_version(w)[0] != PROJECT], pins)
    if problems or not any(wheel_name_version(w)[0] == PROJECT for w in wheels):
        raise BundleError("the wheelhouse does not match " + lock_file.name + ":\n  " +
                          "\n  ".join(problems or [f"no {PROJECT} wheel"]))
    shutil.copyfile(lock_file, out / "requirements.txt")
    shutil.copyfile(Path(__file__), out / "offline_bundle.py")
    (out / "README.txt").write_bytes(README.format(
        target=target.name, python=target.python_version, platform=target.pip_platforms[0], commit=commit,
        locks=lock_file.name, project=PROJECT).encode("utf-8"))
    write_checksums(out)
    size = sum((out / name).stat().st_size for name in bundle_files(out))
    print(f"bundle {out}: {len(wheels)} wheels ({len(built)} built from source: {', '.join(built) or 'none'}), "
          f"{size / 1e6:.1f} MB, commit {commit[:12]}")


# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("lock", help="regenerate requirements/*.txt from pyproject.toml (needs uv)")
    build_parser = commands.add_parser("build", help="download and build the wheelhouse for one target")
    build_parser.add_argument("--target", choices=sorted(TARGETS), default=REFERENCE)
    build_parser.add_argument("--with-test", action="store_true", help="add the test extra (pytest and friends)")
    build_parser.add_argument("--out", type=Path, help="bundle folder (default build/offline-bundle-TARGET)")
    build_parser.add_argument("--commit", default="HEAD", help="the project's commit to bundle (default HEAD)")
    verify_parser = commands.add_parser("verify", help="check a bundle's files against its SHA256SUMS")
    verify_parser.add_argument("folder", type=Path)
    installed_parser = commands.add_parser("installed", help="check that this Python has exactly the locked versions")
    installed_parser.add_argument("lock_file", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "lock":
            lock()
        elif args.command == "build":
            build(TARGETS[args.target], args.with_test, args.out or ROOT / "build" / f"offline-bundle-{args.target}",
                  args.commit)
        elif args.command == "installed":
            problems = compare_installed(read_lock(args.lock_file), installed_distributions())
            if problems:
                print(f"{sys.prefix} does not hold exactly {args.lock_file}:\n  " + "\n  ".join(problems), file=sys.stderr)
                return 1
            print(f"{sys.prefix}: every locked version installed, nothing else ({args.lock_file.name})")
        else:
            problems = verify(args.folder)
            if problems:
                print(f"bundle {args.folder} does not match its {CHECKSUMS}:\n  " + "\n  ".join(problems), file=sys.stderr)
                return 1
            print(f"bundle {args.folder}: every file matches {CHECKSUMS}")
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"error: {' '.join(map(str, error.cmd))} failed (exit {error.returncode}); see its output above",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
