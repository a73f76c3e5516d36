"""The warm worker (her2meta.warm): a job handed to it runs in a forked child with the job's own
working directory, environment, streams and exit status; any job it should not serve, and every
job when it is not running, runs in its own process; stopping it ends running jobs and leaves
nothing behind.

Each job here is a real job process (`python -c`, as Snakemake's script preamble would start it)
with a real `snakemake` object, running a small stage module written into the test's folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from her2meta import warm

ROOT = Path(__file__).resolve().parents[1]

STAGE = '''
import os
import sys
import time
from pathlib import Path

from her2meta.errors import Her2MetaError


def run(*, inputs, outputs, params, wildcards, logger):
    if wildcards["mode"] == "fail":
        raise Her2MetaError("study S1: the stage refused its input")
    if wildcards["mode"] == "sleep":
        Path(outputs[0]).with_suffix(".pid").write_text(str(os.getpid()))
        time.sleep(60)
    print("stage says hello", flush=True)
    Path(outputs[0]).write_text(
        os.environ.get("JOB_MARK", "") + "|" + os.getcwd() + "|" + str(params["seed"]) + "|" + str(os.getpid()))
'''

JOB = '''
import sys
sys.path.insert(0, {src!r})
sys.path.insert(0, {stages!r})
from snakemake.iocontainers import InputFiles, Log, OutputFiles, Params, ResourceList, Snakemake, Wildcards
from her2meta.warm import dispatch

smk = Snakemake(InputFiles(), OutputFiles(fromdict={{"out": "out.txt"}}), Params(),
                Wildcards(fromdict={{"mode": {mode!r}}}), 1, ResourceList(), Log(fromdict={{"log": "job.log"}}),
                {{"seed": 7}}, "test_rule", None, {scriptdir!r})
dispatch(smk, "warm_test_stage")
'''


@pytest.fixture(scope="module")
def worker():
    saved = os.environ.get(warm.SOCKET_ENV)
    started = warm.start()
    assert started is not None, "the warm worker did not come up"
    yield started
    warm.stop(started)
    if saved is not None:
        os.environ[warm.SOCKET_ENV] = saved


def job(tmp_path: Path, mode: str = "ok", env: dict | None = None, **popen) -> subprocess.Popen:
    (tmp_path / "stages").mkdir(exist_ok=True)
    (tmp_path / "stages" / "warm_test_stage.py").write_text(STAGE)
    code = JOB.format(src=str(ROOT / "src"), stages=str(tmp_path / "stages"), mode=mode,
                      scriptdir=str(ROOT / "workflow" / "scripts"))
    threads = {name: "1" for name in warm.THREAD_ENV}  # as Snakemake sets them for a one-thread job
    job_env = {**os.environ, **threads, "JOB_MARK": "mark-42", **(env or {})}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=job_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


@pytest.mark.parametrize("enabled, local, deployment, platform, expected", [
    (True, True, (), "linux", True),
    (True, True, ("env-modules",), "linux", True),
    (False, True, (), "linux", False),  # warm_worker: false
    (True, False, (), "linux", False),  # Slurm, Kubernetes, ...: jobs run elsewhere
    (True, True, ("conda",), "linux", False),  # each rule has its own Python
    (True, True, ("apptainer",), "linux", False),
    (True, True, (), "darwin", False),
])
def test_which_runs_start_a_worker(enabled, local, deployment, platform, expected):
    assert warm.wanted(enabled, local, deployment, platform) is expected


def test_snakemake_deployment_methods_print_as_the_names_wanted_checks():
    from snakemake.settings.types import DeploymentMethod

    assert {str(method) for method in DeploymentMethod} >= {"conda", "apptainer"}


def test_a_job_runs_in_a_child_of_the_worker_with_its_own_directory_environment_and_streams(worker, tmp_path):
    process = job(tmp_path)
    status, out, err = finish(process)
    assert status == 0, err
    mark, cwd, seed, pid = (tmp_path / "out.txt").read_text().split("|")
    assert (mark, cwd) == ("mark-42", str(tmp_path))
    assert seed.isdigit()
    assert int(pid) not in (process.pid, worker.process.pid)  # neither the job's process nor the worker
    assert "stage says hello" in out  # the child wrote to the job's own stdout
    assert (tmp_path / "job.log").read_text().rstrip().endswith("(warm worker)")


def test_a_failing_job_fails_with_its_message_and_status(worker, tmp_path):
    status, _out, err = finish(job(tmp_path, mode="fail"))
    assert status == 1
    assert "the stage refused its input" in (tmp_path / "job.log").read_text()
    assert "the stage refused its input" in err
    assert not (tmp_path / "out.txt").exists()


def test_the_same_seed_and_result_warm_and_in_its_own_process(worker, tmp_path):
    warm_dir, cold_dir = tmp_path / "warm", tmp_path / "cold"
    warm_dir.mkdir()
    cold_dir.mkdir()
    assert finish(job(warm_dir))[0] == 0
    assert finish(job(cold_dir, env={warm.SOCKET_ENV: ""}))[0] == 0
    assert (warm_dir / "out.txt").read_text().split("|")[2] == (cold_dir / "out.txt").read_text().split("|")[2]
    assert "warm worker" not in (cold_dir / "job.log").read_text()


@pytest.mark.parametrize("env", [{"OMP_NUM_THREADS": "4"}, {warm.SOCKET_ENV: "/nonexistent/her2meta/socket"}],
                         ids=["other-thread-settings", "no-worker"])
def test_a_job_the_worker_does_not_serve_runs_in_its_own_process(worker, tmp_path, env):
    process = job(tmp_path, env=env)
    status, _out, err = finish(process)
    assert status == 0, err
    assert int((tmp_path / "out.txt").read_text().split("|")[3]) == process.pid
    log = (tmp_path / "job.log").read_text()
    assert "job timing" in log and "warm worker" not in log


def test_stopping_a_job_stops_its_child(worker, tmp_path):
    process = job(tmp_path, mode="sleep")
    pid_file = tmp_path / "out.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    process.send_signal(signal.SIGTERM)
    status, _out, _err = finish(process)
    assert status != 0
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_stop_ends_the_worker_and_removes_its_socket(tmp_path):
    saved = os.environ.get(warm.SOCKET_ENV)
    started = warm.start()
    try:
        assert started is not None and os.environ[warm.SOCKET_ENV] == started.socket
        assert Path(started.socket).exists()
    finally:
        warm.stop(started)
        if saved is not None:
            os.environ[warm.SOCKET_ENV] = saved
    assert started.process.returncode is not None
    assert not Path(started.folder).exists()
    assert os.environ.get(warm.SOCKET_ENV) == saved


def test_the_worker_leaves_when_the_run_that_started_it_is_gone(tmp_path):
    path = str(tmp_path / "socket")
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'src')!r}); from her2meta.warm import serve; "
            f"serve({path!r}, parent=-1, preload=())")  # -1: never this process's parent
    process = subprocess.Popen([sys.executable, "-c", code])
    assert process.wait(timeout=30) == 0
    assert not Path(path).exists()


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return status != "Z"
