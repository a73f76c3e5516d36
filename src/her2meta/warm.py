"""A warm worker for local runs: one process that has imported pandas, scipy, matplotlib and the
stage modules once, and forks a fresh child for every job.

Why: every Snakemake job is a new Python process, and on the demo about half of all job time was
interpreter start-up and imports (0.4-1.0 s per job; docs/benchmarks.md). The worker pays the
imports once per run; a job's own process then only unpickles its `snakemake` object and hands it
over (about 0.1 s).

How a warm job stays the job it would have been in its own process:
- it runs in its own child, forked from a worker that has run no job, so nothing passes from one
  job to the next (every rule still reads only its declared inputs);
- the child takes the job's working directory, environment, sys.path and standard streams, and
  its exit status becomes the job's;
- the worker serves only a job that runs the same Python executable, the same her2meta source
  folder and the same thread settings for the numerical libraries as the worker itself; any other
  job, and every job when no worker is running (cluster nodes, runs with conda or containers,
  `warm_worker: false`), runs in its own process as before.

The worker lives for one run: the workflow's onstart starts it (`start`), onsuccess and onerror
stop it (`stop`), and it exits by itself when Snakemake goes away or it has been idle too long.
Only the standard library is imported here: the job's own process must stay light.
"""

from __future__ import annotations

import importlib
import os
import pickle
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Iterable

SOCKET_ENV = "HER2META_WARM_SOCKET"
# The numerical libraries read these once, when imported: a job whose values differ from the
# worker's would compute with other thread counts, so it runs in its own process instead.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
# Imported by the worker before it serves; a module that is not installed is skipped. Besides the
# libraries and the stage modules (imported too): what unpickling a job's `snakemake` object
# imports, and what the stages import lazily (found by listing each job child's new modules).
PRELOAD = ("numpy", "pandas", "pyarrow.parquet", "pyarrow.dataset", "pyarrow.pandas_compat", "scipy.special",
           "scipy.optimize", "matplotlib", "pyreadstat", "narwhals", "jinja2", "jsonschema", "logging.handlers",
           "email.parser", "snakemake.io", "snakemake.iocontainers", "snakemake.logging", "snakemake.shell",
           "snakemake.utils", "her2meta.snakemake_adapter", "her2meta.survstats", "her2meta.survival",
           "her2meta.onestage")
READY_TIMEOUT_S = 60.0
IDLE_TIMEOUT_S = 600.0
_HEADER = struct.Struct("!Q")


def src_dir() -> str:
    """The folder her2meta is imported from (the checkout's src/), without importing it again."""
    return str(Path(__file__).resolve().parents[1])


def _identity(environ: Any) -> dict[str, Any]:
    """What a job and the worker must share for the worker to run it (module docstring)."""
    return {"executable": os.path.realpath(sys.executable), "src": src_dir(),
            "threads": {name: environ.get(name) for name in THREAD_ENV}}


# ---------------------------------------------------------------------------------------------
# Starting and stopping (called from the workflow's onstart / onsuccess / onerror)

def wanted(enabled: bool, local: bool, deployment: Iterable[object] = (), platform: str = sys.platform) -> bool:
    """Whether a run should start a worker: asked for (`warm_worker`), jobs run on this machine,
    every rule runs on Snakemake's own Python (no conda, no container; `deployment` holds
    Snakemake's deployment methods, which print as `conda`, `apptainer`, `env-modules`), and
    the system is Linux."""
    isolated = {str(method) for method in deployment} & {"conda", "apptainer"}
    return bool(enabled and local and not isolated and platform.startswith("linux"))


class Worker:
    """A running worker: its process and the private folder that holds its socket."""

    def __init__(self, process: subprocess.Popen, folder: str) -> None:
        self.process, self.folder = process, folder
        self.socket = os.path.join(folder, "socket")


def start(threads: int = 1, wait: bool = True, ready_timeout: float = READY_TIMEOUT_S) -> Worker | None:
    """Start a worker for this run and publish its socket to the jobs through the environment
    (SOCKET_ENV, inherited by every job process). With `wait`, returns once the worker serves, or
    None (jobs run in their own processes) if it does not come up. Without, returns at once: the
    socket appears when the worker has imported everything (~1.4 s), and jobs that start before
    run in their own processes meanwhile, on the cores the worker's imports leave free. None off
    Linux: forking a process that has loaded the numerical libraries is not safe everywhere
    (macOS)."""
    if not sys.platform.startswith("linux"):
        return None
    folder = tempfile.mkdtemp(prefix="her2meta-warm-")  # private (0700): only this user connects
    path = os.path.join(folder, "socket")
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_ENV})
    code = (f"import sys; sys.path.insert(0, {src_dir()!r}); from her2meta.warm import serve; "
            f"serve({path!r}, parent={os.getpid()})")
    process = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                               stdin=subprocess.DEVNULL)
    worker = Worker(process, folder)
    deadline = time.monotonic() + ready_timeout
    while wait and not os.path.exists(path):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(worker)
            return None
        time.sleep(0.01)
    os.environ[SOCKET_ENV] = path
    return worker


def stop(worker: Worker | None, timeout: float = 10.0) -> None:
    """Stop the worker (it ends any job still running) and remove its socket folder."""
    os.environ.pop(SOCKET_ENV, None)
    if worker is None:
        return
    if worker.process.poll() is None:
        worker.process.terminate()
        try:
            worker.process.wait(timeout)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
    shutil.rmtree(worker.folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The job side (rule scripts)

def dispatch(smk: Any, module: str, function: str = "run", lineage: str | None = None) -> None:
    """Run the stage `module.function` for this job: in the warm worker when one serves this job,
    otherwise here. Exits with the job's status either way."""
    path = os.environ.get(SOCKET_ENV)
    if path:
        status = _run_in_worker(path, smk, module, function, lineage)
        if status is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    run_here(smk, module, function, lineage)


def run_here(smk: Any, module: str, function: str, lineage: str | None, warm: bool = False,
             process_start: float | None = None) -> None:
    from .snakemake_adapter import run_job

    stage_module = importlib.import_module(module)
    run_job(smk, getattr(stage_module, function), lineage=getattr(stage_module, lineage) if lineage else None,
            warm=warm, process_start=process_start)


def _send(conn: socket.socket, payload: bytes) -> None:
    conn.sendall(_HEADER.pack(len(payload)) + payload)


def _recv_exact(conn: socket.socket, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = conn.recv(min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _recv(conn: socket.socket) -> bytes | None:
    header = _recv_exact(conn, _HEADER.size)
    return None if header is None else _recv_exact(conn, _HEADER.unpack(header)[0])


def _run_in_worker(path: str, smk: Any, module: str, function: str, lineage: str | None) -> int | None:
    """The job's exit status from the worker; None if no worker serves this job (run it here)."""
    from .jobclock import process_start_time

    request = pickle.dumps({
        "identity": _identity(os.environ),
        "smk": smk, "module": module, "function": function, "lineage": lineage,
        "cwd": os.getcwd(), "environ": dict(os.environ), "sys_path": list(sys.path),
        "process_start": process_start_time(),
    })
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        # The job's standard streams go with the request, so the child writes where this process would.
        socket.send_fds(conn, [_HEADER.pack(len(request))], [0, 1, 2])
        conn.sendall(request)
        reply = _recv(conn)
    except OSError:
        conn.close()
        return None
    if reply is None or reply == b"decline":
        conn.close()
        return None
    child = int(reply)

    def forward(signum: int, _frame: Any) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    status = _recv(conn)
    conn.close()
    if status is None:
        print(f"her2meta: the warm worker stopped while running this job (pid {child}); "
              f"rerun the workflow, or set `warm_worker: false` in the config to run jobs in "
              f"their own processes.", file=sys.stderr)
        return 1
    return int(status)


# ---------------------------------------------------------------------------------------------
# The worker

def serve(path: str, parent: int | None = None, idle_timeout: float = IDLE_TIMEOUT_S,
          preload: tuple[str, ...] = PRELOAD) -> None:
    """Import `preload`, then serve jobs on the Unix socket `path` until SIGTERM, until `parent`
    exits, or until idle for `idle_timeout` seconds."""
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    _import_stage_modules()
    try:
        from PIL import Image

        Image.preinit()  # the image plugins Pillow would otherwise load in every job that saves a PNG
    except ImportError:
        pass
    identity = _identity(os.environ)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(64)
    os.replace(path + ".tmp", path)  # the socket appears only once the worker serves

    children: dict[int, socket.socket] = {}  # child pid -> its job's connection
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listen")
    # A finished child wakes the loop at once: SIGCHLD writes to this pair (set_wakeup_fd).
    wake_read, wake_write = socket.socketpair()
    wake_read.setblocking(False)
    wake_write.setblocking(False)
    signal.set_wakeup_fd(wake_write.fileno(), warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    selector.register(wake_read, selectors.EVENT_READ, "wake")
    stopping = False

    def on_term(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Snakemake decides; jobs forward their signals
    private = (listener, wake_read, wake_write)
    idle_since = time.monotonic()
    try:
        while not stopping:
            for key, _events in selector.select(timeout=1.0):
                if key.data == "listen":
                    _accept(listener, selector, children, identity, private)
                elif key.data == "wake":
                    while True:
                        try:
                            if not wake_read.recv(4096):
                                break
                        except BlockingIOError:
                            break
                elif isinstance(key.data, int):  # a job's connection closed early: end its child
                    selector.unregister(key.fileobj)
                    _kill(key.data)
            _reap(children, selector)
            if children:
                idle_since = time.monotonic()
            elif (parent is not None and os.getppid() != parent) or time.monotonic() - idle_since > idle_timeout:
                break
    finally:
        for pid in list(children):
            _kill(pid)
        _reap(children, selector, block=True)
        signal.set_wakeup_fd(-1)
        for sock in private:
            sock.close()
        try:
            os.unlink(path)
        except OSError:
            pass


def _import_stage_modules() -> None:
    import pkgutil

    from . import stages

    for info in pkgutil.iter_modules(stages.__path__):
        importlib.import_module(f"{stages.__name__}.{info.name}")


def _accept(listener: socket.socket, selector: selectors.BaseSelector, children: dict[int, socket.socket],
            identity: dict[str, Any], private: tuple[socket.socket, ...]) -> None:
    conn, _ = listener.accept()
    conn.settimeout(30.0)  # a job sends its request at once; never let one stall the worker
    request, fds = None, []
    try:
        header, fds, _flags, _addr = socket.recv_fds(conn, _HEADER.size, 3)
        payload = _recv_exact(conn, _HEADER.unpack(header)[0]) if len(header) == _HEADER.size else None
        request = pickle.loads(payload) if payload is not None else None
    except Exception:  # a broken request: the job runs in its own process instead
        request = None
    if request is None or request["identity"] != identity or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        try:
            _send(conn, b"decline")
        except OSError:
            pass
        conn.close()
        return
    pid = os.fork()
    if pid == 0:  # the child: becomes the job
        status = 1
        try:
            signal.set_wakeup_fd(-1)
            for sock in (*private, *children.values(), conn):
                sock.close()
            status = _run_child(request, fds)
        finally:
            os._exit(status)
    for fd in fds:
        os.close(fd)
    children[pid] = conn
    selector.register(conn, selectors.EVENT_READ, pid)
    _send(conn, str(pid).encode())


def _run_child(request: dict[str, Any], fds: list[int]) -> int:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["environ"])
    sys.path[:] = request["sys_path"]
    try:
        run_here(request["smk"], request["module"], request["function"], request["lineage"], warm=True,
                 process_start=request["process_start"])
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return status


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def _reap(children: dict[int, socket.socket], selector: selectors.BaseSelector, block: bool = False) -> None:
    for pid in list(children):
        done, wait_status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if not done:
            continue
        conn = children.pop(pid)
        try:
            selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        try:
            code = os.waitstatus_to_exitcode(wait_status)
            _send(conn, str(code if code >= 0 else 128 - code).encode())  # killed: 128 + signal, as a shell reports
        except OSError:
            pass
        conn.close()
