"""The main path stays portable, so a Windows workspace can run it (docs/offline_install.md).

Only Linux is run here. So: every job module is imported with the POSIX-only parts of the
standard library taken away (as on Windows), and a static check keeps POSIX-only calls, /proc,
shell rule commands and locale-dependent text files out of everything but the warm worker, which
is Linux-only by design and never started elsewhere."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "her2meta"
PYTHON_FILES = sorted([*SRC.rglob("*.py"), *(ROOT / "workflow" / "scripts").glob("*.py")])
RULE_FILES = sorted([ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")])

# Modules Windows does not have.
POSIX_MODULES = ("fcntl", "resource", "pwd", "grp", "termios", "tty", "pty", "posix", "syslog", "crypt")
# Functions and constants Windows does not have (os, signal, socket).
POSIX_ATTRIBUTES = {
    "os": ("fork", "forkpty", "getuid", "geteuid", "getgid", "getegid", "getpgid", "setsid", "setpgrp",
           "killpg", "sysconf", "mkfifo", "WNOHANG", "getloadavg", "chown", "lchown", "nice", "pipe2",
           "wait3", "wait4", "register_at_fork", "sched_getaffinity"),
    "signal": ("SIGHUP", "SIGKILL", "SIGCHLD", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGPIPE", "SIGQUIT",
               "alarm", "setitimer", "pthread_kill", "sigwait"),
    "socket": ("AF_UNIX", "send_fds", "recv_fds", "sendmsg", "recvmsg"),
}
# Calls that make or need symbolic links (Windows allows them only with special rights).
SYMLINK_CALLS = ("symlink", "symlink_to", "hardlink_to", "link", "readlink")
# Linux-only by design: started only on Linux (warm.wanted), never imported on the job path
# unless a worker was started. Each name says why it may use what the others may not.
LINUX_ONLY = {
    "src/her2meta/warm.py": "the warm worker: forks a child per job over a Unix socket; off elsewhere",
    "src/her2meta/jobclock.py": "reads /proc, only where sys.platform is linux; None elsewhere",
}
# POSIX-only calls found outside the main path and not yet guarded: (file, use). The list may only
# shrink, like the next one.
POSIX_KNOWN: Counter = Counter()
# Text read or written without a stated encoding depends on the locale (cp1252 on most Windows
# machines). Known and not yet fixed: each entry is (file, call). The list may only shrink: an
# entry that no longer occurs fails the test too, so a fix takes it off.
LOCALE_ENCODING_KNOWN: Counter = Counter()


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def job_modules() -> list[tuple[str, str]]:
    """(module, function) of every rule script's stage, as its dispatch(...) call names them."""
    jobs = []
    for script in sorted((ROOT / "workflow" / "scripts").glob("*.py")):
        for call in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "dispatch":
                names = [a.value for a in call.args[1:3]]
                jobs.append((names[0], names[1] if len(names) > 1 else "run"))
    return jobs


def test_every_rule_script_names_its_stage():
    scripts = [p for p in (ROOT / "workflow" / "scripts").glob("*.py") if not p.name.startswith("_")]
    assert len(job_modules()) == len(scripts) >= 10


WITHOUT_POSIX_PREAMBLE = textwrap.dedent("""
    import importlib, json, os, pkgutil, signal, socket, sys
    sys.path.insert(0, {src!r})
    # The libraries come as they are (on Windows they take their own Windows branches); what is
    # tested is this project's code, imported after the POSIX-only parts are gone.
    for name in {libraries!r}:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # an extension module listed under a name of its own (scipy's _csparsetools)
    for name in {modules!r}:
        sys.modules[name] = None          # import raises ImportError, as on Windows
    for module, names in {attributes!r}.items():
        for name in names:
            if hasattr(sys.modules[module], name):
                delattr(sys.modules[module], name)
    sys.platform = "win32"
""")
WITHOUT_POSIX = WITHOUT_POSIX_PREAMBLE + textwrap.dedent("""
    import her2meta
    imported = [m.name for m in pkgutil.walk_packages(her2meta.__path__, "her2meta.")]
    for name in imported:
        importlib.import_module(name)
    for module, function in {jobs!r}:
        assert callable(getattr(importlib.import_module(module), function)), (module, function)
    from her2meta import jobclock, warm
    assert warm.wanted(True, True) is False
    assert warm.start() is None
    assert jobclock.process_start_time() is None
    ran = []
    warm.run_here = lambda *args, **kwargs: ran.append(args[1:])
    os.environ.pop(warm.SOCKET_ENV, None)
    warm.dispatch(object(), "her2meta.stages.study_chain", "run")
    assert ran == [("her2meta.stages.study_chain", "run", None)], ran
    print(json.dumps(imported))
""")


def libraries_her2meta_imports() -> list[str]:
    """Every module outside her2meta that importing all of her2meta loads (a first process)."""
    code = ("import importlib, json, pkgutil, sys; sys.path.insert(0, %r); before = set(sys.modules); import her2meta; "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(her2meta.__path__, 'her2meta.')]; "
            "print(json.dumps(sorted(m for m in set(sys.modules) - before if not m.startswith('her2meta') "
            "and sys.modules[m] is not None)))" % str(SRC.parent))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(result.stdout)


def test_every_module_and_job_imports_without_posix_only_features():
    libraries = [name for name in libraries_her2meta_imports() if name.split(".")[0] not in POSIX_MODULES]
    code = WITHOUT_POSIX.format(src=str(SRC.parent), libraries=libraries, modules=POSIX_MODULES,
                                attributes=POSIX_ATTRIBUTES, jobs=job_modules())
    env = {k: v for k, v in os.environ.items() if k != "HER2META_WARM_SOCKET"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    imported = json.loads(result.stdout.splitlines()[-1])
    expected = {".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
                for p in SRC.rglob("*.py")} - {"her2meta"}
    assert set(imported) == expected


def test_the_import_check_takes_away_what_windows_lacks():
    probe = WITHOUT_POSIX_PREAMBLE.format(src=str(SRC.parent), libraries=[], modules=POSIX_MODULES,
                                          attributes=POSIX_ATTRIBUTES) + textwrap.dedent("""
        try:
            import fcntl
        except ImportError:
            fcntl = None
        print(fcntl is None, hasattr(os, "fork"), hasattr(signal, "SIGKILL"), hasattr(socket, "AF_UNIX"), sys.platform)
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["True", "False", "False", "False", "win32"], result.stderr


def posix_uses(tree: ast.AST) -> list[str]:
    """Every POSIX-only module, attribute, symlink call and /proc path in a parsed file."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in POSIX_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in POSIX_MODULES:
            found.append(f"from {node.module} import")
        elif isinstance(node, ast.Attribute):
            owner = getattr(node.value, "id", None)
            if node.attr in POSIX_ATTRIBUTES.get(owner, ()):
                found.append(f"{owner}.{node.attr}")
            elif node.attr in SYMLINK_CALLS and owner in ("os", None):
                found.append(f".{node.attr}")
        elif isinstance(node, ast.keyword) and node.arg in ("start_new_session", "preexec_fn"):
            found.append(f"{node.arg}=")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/proc"):
            found.append(repr(node.value))
    return found


def test_posix_uses_finds_what_it_looks_for():
    sample = ("import fcntl\nfrom resource import getrlimit\nimport os, signal, socket\nos.fork()\n"
              "signal.SIGKILL\nsocket.AF_UNIX\nPath('a').symlink_to('b')\nopen('/proc/uptime')\n"
              "subprocess.Popen(['x'], start_new_session=True)\nos.path.join('a', 'b')\nsignal.SIGINT\n")
    assert sorted(posix_uses(ast.parse(sample))) == sorted([
        "import fcntl", "from resource import", "os.fork", "signal.SIGKILL", "socket.AF_UNIX",
        ".symlink_to", "'/proc/uptime'", "start_new_session="])


@pytest.mark.parametrize("path", PYTHON_FILES, ids=relative)
def test_no_posix_only_calls_outside_the_warm_worker(path):
    uses = Counter((relative(path), use) for use in posix_uses(ast.parse(path.read_text(encoding="utf-8"))))
    known = Counter({key: n for key, n in POSIX_KNOWN.items() if key[0] == relative(path)})
    if relative(path) in LINUX_ONLY:
        assert uses, f"{relative(path)} is listed as Linux-only but uses nothing POSIX-only: take it off the list"
    else:
        assert not uses - known, f"{relative(path)} uses POSIX-only {sorted(uses - known)}: guard it, or run it only on Linux"
        assert not known - uses, f"fixed, take them off POSIX_KNOWN: {sorted(known - uses)}"


def test_the_linux_only_modules_are_guarded():
    jobclock = (SRC / "jobclock.py").read_text(encoding="utf-8")
    assert 'if not sys.platform.startswith("linux"):\n        return None' in jobclock
    warm = (SRC / "warm.py").read_text(encoding="utf-8")
    assert 'platform.startswith("linux")' in warm and 'if not sys.platform.startswith("linux"):\n        return None' in warm


@pytest.mark.parametrize("path", RULE_FILES, ids=relative)
def test_rules_run_python_scripts_not_shell_commands(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"^\s+(shell|run):", text, flags=re.M), f"{relative(path)}: a shell:/run: rule"
    assert not re.search(r"\b(os\.fork|os\.symlink|/proc/|signal\.SIG(KILL|HUP))", text)


def locale_text_io(tree: ast.AST) -> list[str]:
    """Text-mode reads and writes that take the locale's encoding: read_text/write_text/open/
    fdopen without encoding= (binary modes aside)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        keywords = {k.arg for k in node.keywords}
        if "encoding" in keywords:
            continue
        if name in ("read_text", "write_text"):
            found.append(ast.unparse(node))
        elif name in ("open", "fdopen") and not (isinstance(node.func, ast.Attribute) and name == "open"
                                                   and getattr(node.func.value, "id", "") in ("zipfile", "tarfile", "gzip")):
            mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
            if not (isinstance(mode, ast.Constant) and "b" in str(mode.value)):
                found.append(ast.unparse(node))
    return found


def test_locale_text_io_finds_what_it_looks_for():
    sample = ("Path(p).read_text()\nPath(p).read_text(encoding='utf-8')\nopen(p)\nopen(p, 'rb')\n"
              "open(p, mode='w', encoding='utf-8')\nos.fdopen(fd, 'wb')\nPath(p).write_text(t)\n")
    assert locale_text_io(ast.parse(sample)) == ["Path(p).read_text()", "open(p)", "Path(p).write_text(t)"]


def test_text_files_state_their_encoding():
    found = Counter((relative(path), call) for path in PYTHON_FILES
                    for call in locale_text_io(ast.parse(path.read_text(encoding="utf-8"))))
    new = found - LOCALE_ENCODING_KNOWN
    fixed = LOCALE_ENCODING_KNOWN - found
    assert not new, f"text read or written in the locale's encoding (say encoding='utf-8'): {sorted(new)}"
    assert not fixed, f"fixed, take them off LOCALE_ENCODING_KNOWN: {sorted(fixed)}"


# --- file names: what a Windows (or macOS) checkout can hold -------------------------------------

SKIP_DIRS = {".git", "results", "logs", ".snakemake", "build", "__pycache__", ".pytest_cache", ".hypothesis",
             ".benchmarks", "output", ".venv", "venv"}
RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$", re.I)


def project_files() -> list[Path]:
    """Every file and link of the project (a git checkout or an unpacked source archive)."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        found += [Path(folder) / name for name in sorted(files)]
        found += [Path(folder) / d for d in dirs if (Path(folder) / d).is_symlink()]
    return found


def test_no_symbolic_links():
    assert [relative(p) for p in project_files() if p.is_symlink()] == []


def test_no_two_files_differ_only_in_case():
    paths = [relative(p) for p in project_files()]
    by_folded = Counter(p.casefold() for p in paths)
    assert [p for p in paths if by_folded[p.casefold()] > 1] == []


def test_file_names_windows_can_hold():
    bad = []
    for path in project_files():
        rel = relative(path)
        for part in rel.split("/"):
            if RESERVED.match(part) or re.search(r'[<>:"\\|?*\x00-\x1f]', part) or part.endswith((" ", ".")):
                bad.append(rel)
        if len(rel) > 180:  # Windows paths stop at 260 characters, the checkout's own folder included
            bad.append(rel)
    assert bad == []
