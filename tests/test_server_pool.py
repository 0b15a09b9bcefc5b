"""Warm workers (``c.JobManager.warm_kernels``): a pre-started CLI process and kernel per kernelspec.

Real server (pytest-jupyter), real workers, real kernels. Process checks go through ``/proc``: every
worker and kernel started here inherits a marker environment variable, so the test finds exactly the
processes this server started, and whether any is left.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook

from jupyter_repro.server.argv import JobRequest
from jupyter_repro.server.handlers import JOBS_KEY
from jupyter_repro.server.jobs import JobManager

Fetch = Callable[..., Awaitable[Any]]
JOB_TIMEOUT_S = 240.0
GONE_TIMEOUT_S = 20.0
MARKER = "JUPYTER_REPRO_POOL_TEST"

pytestmark = pytest.mark.kernel


@pytest.fixture
def warm_kernels() -> int:
    return 1


@pytest.fixture
def branches() -> int:
    """``c.JupyterRepro.jobs``: independent steps a job runs at once."""
    return 1


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> str:
    """A value every process this test's server starts inherits (workers, their kernels, CLI jobs)."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARKER, value)
    return value


@pytest.fixture
def jp_server_config(tmp_path: Path, warm_kernels: int, branches: int, marker: str) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_repro": True}},
        "JobManager": {"max_concurrent_jobs": 2, "warm_kernels": warm_kernels},
        "JupyterRepro": {"repro_home": str(tmp_path / "repro-home"), "jobs": branches},
    }


@pytest.fixture
def manager(jp_serverapp: Any, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[JobManager]:
    """The server's job manager; its jobs and workers are stopped after the test."""
    jobs: JobManager = jp_serverapp.web_app.settings[JOBS_KEY]
    yield jobs
    jp_asyncio_loop.run_until_complete(jobs.shutdown())


def code_cell(source: str, count: int | None = None, stdout: str | None = None) -> dict[str, Any]:
    outputs = [] if stdout is None else [{"output_type": "stream", "name": "stdout", "text": stdout}]
    return {
        "cell_type": "code",
        "source": source,
        "metadata": {},
        "execution_count": count,
        "outputs": outputs,
    }


def write_notebook(path: Path, cells: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_notebook(cells)), encoding="utf-8")
    return path


PIDS = "import os\nprint(os.getpid(), os.getppid())\nprint(os.getcwd())"
"""A cell that says which kernel ran it (pid), under which process (the worker) and where."""

DETERMINISTIC = [
    code_cell("x = 20 + 1", 1),
    code_cell("print(x * 2)", 2, stdout="42\n"),
]


async def start_job(jp_fetch: Fetch, path: str, **fields: Any) -> str:
    body = {"path": path, "kind": "verify", "no_cache": True, **fields}
    response = await jp_fetch("jupyter-repro", "api", "runs", method="POST", body=json.dumps(body))
    job_id: str = json.loads(response.body)["job_id"]
    return job_id


async def wait_for_job(jp_fetch: Fetch, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        response = await jp_fetch("jupyter-repro", "api", "jobs", job_id)
        job: dict[str, Any] = json.loads(response.body)
        if job["state"] in ("done", "error"):
            return job
        assert time.monotonic() < deadline, f"job still {job['state']}: {job}"
        await asyncio.sleep(0.1)


async def verify(jp_fetch: Fetch, path: str, **fields: Any) -> dict[str, Any]:
    job = await wait_for_job(jp_fetch, await start_job(jp_fetch, path, **fields))
    assert job["state"] == "done", job
    return job


async def idle_worker_report(manager: JobManager) -> dict[str, Any]:
    """The ready report of the (one) worker waiting in the pool."""
    workers = manager.pool.workers()
    assert len(workers) == 1, workers
    report = await workers[0].ready()
    assert report is not None
    return report


def executed_outputs(result: dict[str, Any]) -> list[Any]:
    executed = json.loads(Path(result["executed_notebook"]).read_text(encoding="utf-8"))
    return [(cell.get("execution_count"), cell.get("outputs")) for cell in executed["cells"]]


def printed_lines(result: dict[str, Any], cell: int) -> list[str]:
    texts = [output.get("text", "") for output in executed_outputs(result)[cell][1]]
    return "".join("".join(text) if isinstance(text, list) else text for text in texts).splitlines()


def alive(pid: int) -> bool:
    """Running (not a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def marked_processes(value: str) -> list[int]:
    """Live processes whose environment carries this test's marker."""
    found = []
    needle = f"{MARKER}={value}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


async def until_gone(pids: list[int]) -> list[int]:
    deadline = time.monotonic() + GONE_TIMEOUT_S
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return left


# --- the pool at work -----------------------------------------------------------------------------


async def test_the_second_verify_job_runs_in_a_warm_worker_and_its_kernel(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager
) -> None:
    notebook = write_notebook(jp_root_dir / "work" / "pids.ipynb", [*DETERMINISTIC, code_cell(PIDS)])

    first = await verify(jp_fetch, "work/pids.ipynb")
    assert first["warm"] is False  # no worker yet: the first job starts one for the next
    report = await idle_worker_report(manager)

    second = await verify(jp_fetch, "work/pids.ipynb")
    assert second["warm"] is True
    assert manager.get(second["job_id"]).worker == report
    assert second["result"]["verdict"] == first["result"]["verdict"] == "reproducible"
    kernel_pid, parent_pid = printed_lines(second["result"], 2)[0].split()
    assert (int(kernel_pid), int(parent_pid)) == (report["kernel_pid"], report["pid"])  # the warm kernel
    assert printed_lines(second["result"], 2)[1] == str(notebook.parent)  # in the notebook's folder
    assert await until_gone([report["pid"], report["kernel_pid"]]) == []  # one job, then it exits

    # its replacement started at once, for the next job
    replacement = await idle_worker_report(manager)
    assert replacement["pid"] != report["pid"]


async def test_a_warm_job_gives_the_result_of_the_command_line(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager
) -> None:
    cells = [
        *DETERMINISTIC,
        code_cell("import os, sys\nprint(os.getcwd() == sys.path[0], hash('abc'), sorted({'b', 'a', 'c'}))"),
        code_cell("import random\nprint(random.random())"),
        code_cell("print(len(In), [name for name in dir() if not name.startswith('_')])"),
        code_cell("raise ValueError('boom')"),
    ]
    notebook = write_notebook(jp_root_dir / "same" / "same.ipynb", cells)
    await verify(jp_fetch, "same/same.ipynb")  # makes the worker
    await idle_worker_report(manager)
    warm = await verify(jp_fetch, "same/same.ipynb")
    assert warm["warm"] is True

    home = Path(warm["result"]["executed_notebook"]).parents[2]
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_repro.cli",
            "verify",
            str(notebook),
            "--json",
            "--no-cache",
            "--home",
            str(home),
        ],
        cwd=notebook.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    cli = json.loads(completed.stdout)
    assert completed.returncode == warm["exit_code"] == 1  # the failing cell: failed
    assert cli["verdict"] == warm["result"]["verdict"]
    assert cli["cells"] == warm["result"]["cells"]
    assert [step["status"] for step in cli["steps"]] == [step["status"] for step in warm["result"]["steps"]]
    assert executed_outputs(cli) == executed_outputs(warm["result"])


@pytest.mark.parametrize("warm_kernels", [0])
async def test_warm_kernels_zero_disables_the_pool(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager, marker: str
) -> None:
    write_notebook(jp_root_dir / "nb.ipynb", DETERMINISTIC)
    for _ in range(2):
        job = await verify(jp_fetch, "nb.ipynb")
        assert job["warm"] is False
    assert manager.pool.workers() == []
    assert marked_processes(marker) == []


async def test_two_jobs_at_once_never_share_a_worker(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager
) -> None:
    for name in ("a", "b"):
        write_notebook(jp_root_dir / "two" / f"{name}.ipynb", [*DETERMINISTIC, code_cell(PIDS)])
    await verify(jp_fetch, "two/a.ipynb")
    await idle_worker_report(manager)

    ids = [await start_job(jp_fetch, "two/a.ipynb"), await start_job(jp_fetch, "two/b.ipynb")]
    jobs = [await wait_for_job(jp_fetch, job_id) for job_id in ids]
    assert [job["state"] for job in jobs] == ["done", "done"]
    kernels = {printed_lines(job["result"], 2)[0] for job in jobs}
    assert len(kernels) == 2  # two kernels (and two processes), whichever jobs were warm
    workers = [manager.get(job["job_id"]).worker for job in jobs]
    served = [worker["pid"] for worker in workers if worker is not None]
    assert len(served) == len(set(served)) >= 1


async def test_an_environment_change_discards_the_warm_worker(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager
) -> None:
    folder = jp_root_dir / "env"
    write_notebook(folder / "nb.ipynb", DETERMINISTIC)
    await verify(jp_fetch, "env/nb.ipynb")
    stale = await idle_worker_report(manager)

    # what `pip install --target .` leaves: a distribution importable from the notebook's folder
    (folder / "newpkg-1.0.dist-info").mkdir()
    job = await verify(jp_fetch, "env/nb.ipynb")
    assert job["warm"] is False
    assert await until_gone([stale["pid"], stale["kernel_pid"]]) == []

    fresh = await idle_worker_report(manager)  # the replacement sees the new environment
    assert fresh["pid"] != stale["pid"]
    assert (await verify(jp_fetch, "env/nb.ipynb"))["warm"] is True


async def test_a_server_environment_change_discards_the_warm_worker(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_notebook(jp_root_dir / "nb.ipynb", DETERMINISTIC)
    await verify(jp_fetch, "nb.ipynb")
    await idle_worker_report(manager)
    monkeypatch.setenv("JUPYTER_REPRO_POOL_TEST_EXTRA", "1")  # jobs would see another environment
    assert (await verify(jp_fetch, "nb.ipynb"))["warm"] is False


async def test_another_folder_gets_its_own_worker_and_runs_2_takes_one(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager
) -> None:
    write_notebook(jp_root_dir / "one" / "nb.ipynb", DETERMINISTIC)
    write_notebook(jp_root_dir / "other" / "nb.ipynb", DETERMINISTIC)
    await verify(jp_fetch, "one/nb.ipynb")
    await idle_worker_report(manager)
    assert (await verify(jp_fetch, "other/nb.ipynb"))["warm"] is False  # its kernel runs elsewhere
    report = await idle_worker_report(manager)  # one per kernelspec: the other folder's now
    assert (await verify(jp_fetch, "other/nb.ipynb", runs=2))["warm"] is True  # runs 2..N: new kernels
    assert await until_gone([report["pid"]]) == []


@pytest.mark.parametrize("branches", [2])
async def test_with_jobs_2_one_lane_takes_the_warm_kernel_the_other_starts_one(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager
) -> None:
    cells = [(PIDS, ["step:left"]), (PIDS, ["step:right"])]
    write_notebook(jp_root_dir / "lanes" / "quick.ipynb", DETERMINISTIC)
    write_notebook(jp_root_dir / "lanes" / "lanes.ipynb", cells)
    await verify(jp_fetch, "lanes/quick.ipynb")
    report = await idle_worker_report(manager)
    job = await verify(jp_fetch, "lanes/lanes.ipynb")
    assert job["warm"] is True
    assert [step["status"] for step in job["result"]["steps"]] == ["executed", "executed"]
    kernels = {int(printed_lines(job["result"], cell)[0].split()[0]) for cell in (0, 1)}
    assert len(kernels) == 2  # two lanes, two kernels
    assert report["kernel_pid"] in kernels


async def test_isolated_jobs_never_take_or_start_a_worker(jp_root_dir: Path, manager: JobManager) -> None:
    notebook = write_notebook(jp_root_dir / "nb.ipynb", DETERMINISTIC)
    request = JobRequest(kind="verify", notebook=notebook, path="nb.ipynb", isolated=True)
    assert await manager.pool.checkout(request) is None  # its kernel is built for the job
    assert manager.pool.workers() == []


# --- stopping -------------------------------------------------------------------------------------


async def test_a_job_stopped_on_a_warm_worker_leaves_no_process(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager, marker: str
) -> None:
    write_notebook(jp_root_dir / "slow.ipynb", [code_cell(PIDS), code_cell("import time\ntime.sleep(120)")])
    write_notebook(jp_root_dir / "quick.ipynb", DETERMINISTIC)
    await verify(jp_fetch, "quick.ipynb")  # makes the worker for this folder
    await idle_worker_report(manager)
    job_id = await start_job(jp_fetch, "slow.ipynb")
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while manager.get(job_id).steps.get("main") != "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert manager.get(job_id).warm is True
    await idle_worker_report(manager)  # the replacement's kernel is launched too
    started = marked_processes(marker)
    assert len(started) >= 4  # the job's worker and kernel, the replacement's worker and kernel

    await manager.shutdown()
    job = manager.get(job_id)
    assert job.state == "error"
    assert job.error == "the server stopped the job"
    assert await until_gone(started) == []


async def test_stopping_the_jobs_stops_idle_workers_and_their_kernels(
    jp_fetch: Fetch, jp_root_dir: Path, manager: JobManager, marker: str
) -> None:
    write_notebook(jp_root_dir / "nb.ipynb", DETERMINISTIC)
    await verify(jp_fetch, "nb.ipynb")
    report = await idle_worker_report(manager)
    assert {report["pid"], report["kernel_pid"]} <= set(marked_processes(marker))
    await manager.shutdown()
    assert await until_gone(marked_processes(marker)) == []
    assert manager.pool.workers() == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_stopped_jupyter_server_leaves_no_worker_or_kernel(tmp_path: Path) -> None:
    """A real ``jupyter server`` process, stopped as a user stops it: its workers and kernels go too."""
    import urllib.request

    marker_value = uuid.uuid4().hex
    write_notebook(tmp_path / "nb.ipynb", DETERMINISTIC)
    port, token = free_port(), uuid.uuid4().hex
    env = {**os.environ, MARKER: marker_value, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    argv = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}"]
    argv += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}"]
    server = subprocess.Popen(
        [*argv, "--ServerApp.jpserver_extensions=jupyter_repro=True"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/jupyter-repro/api"
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}

    def call(path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{base}/{path}", data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                call("version")
                break
            except OSError:
                assert server.poll() is None, "the server did not start"
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        job_id = call("runs", {"path": "nb.ipynb", "kind": "verify", "no_cache": True})["job_id"]
        while call(f"jobs/{job_id}")["state"] not in ("done", "error"):
            assert time.monotonic() < deadline + JOB_TIMEOUT_S
            time.sleep(0.2)
        deadline = time.monotonic() + 60
        while len(marked_processes(marker_value)) < 3:  # the server, its idle worker and its kernel
            assert time.monotonic() < deadline, "no warm worker started"
            time.sleep(0.2)
        started = [pid for pid in marked_processes(marker_value) if pid != server.pid]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert asyncio.run(until_gone(started)) == []
