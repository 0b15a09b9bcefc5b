"""Jobs, the ledger routes after real runs, live-kernel snapshots and export, on a real server.

Every job here runs the real CLI in a subprocess with a real kernel; the module's server allows one
running job at a time (``c.JobManager.max_concurrent_jobs = 1``), which the queueing test relies on.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook
from tornado.httpclient import HTTPClientError

from jupyter_repro.server.handlers import JOBS_KEY, SETTINGS_KEY

Fetch = Callable[..., Awaitable[Any]]
JOB_TIMEOUT_S = 240.0

pytestmark = pytest.mark.kernel


@pytest.fixture
def repro_home(tmp_path: Path) -> Path:
    return tmp_path / "repro-home"


@pytest.fixture
def jp_server_config(repro_home: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_repro": True},
            "allow_unauthenticated_access": False,
        },
        "JobManager": {"max_concurrent_jobs": 1},
        "JupyterRepro": {
            "repro_home": str(repro_home),
            "snapshot_timeout": 120.0,
            "remote": f"file://{repro_home.parent / 'team-remote'}",  # a shared folder
        },
    }


@pytest.fixture(autouse=True)
def stop_jobs(jp_serverapp: Any, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """No job outlives its test (the server's own cleanup does not know about extension jobs)."""
    yield
    jp_asyncio_loop.run_until_complete(jp_serverapp.web_app.settings[JOBS_KEY].shutdown())


def write_notebook(root: Path, name: str, cells: list[Any]) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_notebook(cells)), encoding="utf-8")
    return path


def code_cell(source: str, tags: list[str], count: int | None, stdout: str | None = None) -> dict[str, Any]:
    outputs = [] if stdout is None else [{"output_type": "stream", "name": "stdout", "text": stdout}]
    return {
        "cell_type": "code",
        "source": source,
        "metadata": {"tags": tags},
        "execution_count": count,
        "outputs": outputs,
    }


def saved_notebook(printed: str) -> list[Any]:
    """Two steps whose saved outputs say ``printed`` (``42`` reproduces, anything else diverges)."""
    return [
        code_cell("x = 20 + 1", ["step:compute"], 1),
        code_cell("print(x * 2)", ["step:report"], 2, stdout=printed + "\n"),
    ]


async def api(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch("jupyter-repro", "api", *parts, **kwargs)
    return json.loads(response.body)


async def start_job(jp_fetch: Fetch, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await jp_fetch("jupyter-repro", "api", "runs", method="POST", body=json.dumps(body))
    return response.code, json.loads(response.body)


async def wait_for_job(jp_fetch: Fetch, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        job: dict[str, Any] = await api(jp_fetch, "jobs", job_id)
        if job["state"] in ("done", "error"):
            return job
        assert time.monotonic() < deadline, f"job still {job['state']}: {job}"
        await asyncio.sleep(0.2)


# --- verify and run jobs --------------------------------------------------------------------------


async def test_a_verify_job_ends_done_with_verdict_reproducible(
    jp_fetch: Fetch, jp_root_dir: Path, repro_home: Path
) -> None:
    write_notebook(jp_root_dir, "ok.ipynb", saved_notebook("42"))
    code, started = await start_job(jp_fetch, {"path": "ok.ipynb", "kind": "verify"})
    assert code == 202
    assert started["created"] is True

    job = await wait_for_job(jp_fetch, started["job_id"])
    assert job["state"] == "done", job
    assert job["exit_code"] == 0
    result = job["result"]
    assert result["kind"] == "verify"
    assert result["verdict"] == "reproducible"
    assert [cell["status"] for cell in result["cells"]] == ["match", "match"]
    assert (repro_home / "ledger.db").exists()  # c.JupyterRepro.repro_home reached the CLI

    # the finished job stays listed, and the ledger routes see the recorded run
    listed = await api(jp_fetch, "jobs")
    assert [(j["job_id"], j["state"], j["verdict"]) for j in listed["jobs"]] == [
        (started["job_id"], "done", "reproducible")
    ]
    runs = await api(jp_fetch, "runs", params={"path": "ok.ipynb", "limit": "10"})
    assert [(r["run_id"], r["kind"], r["verdict"], r["path"]) for r in runs["runs"]] == [
        (result["run_id"], "verify", "reproducible", "ok.ipynb")
    ]
    shown = await api(jp_fetch, "runs", result["run_id"])
    assert shown["run_id"] == result["run_id"]
    assert shown["verdict"] == "reproducible"
    assert [step["name"] for step in shown["steps"]] == ["compute", "report"]

    # the HTML report, which lives in the hidden repro home, is served by the API
    report = await jp_fetch(
        "jupyter-repro", "api", "runs", result["run_id"], "report", params={"path": "ok.ipynb"}
    )
    assert report.headers["Content-Type"].startswith("text/html")
    assert result["run_id"] in report.body.decode("utf-8")
    assert "reproducible" in report.body.decode("utf-8")


async def test_a_diverged_verify_is_done_with_its_result(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir, "drift.ipynb", saved_notebook("41"))
    _code, started = await start_job(jp_fetch, {"path": "drift.ipynb", "kind": "verify"})
    job = await wait_for_job(jp_fetch, started["job_id"])
    assert job["state"] == "done", job
    assert job["exit_code"] == 1
    assert job["result"]["verdict"] == "diverged"
    assert [cell["status"] for cell in job["result"]["cells"]] == ["match", "differ"]


async def test_a_run_job_runs_outside_the_server_with_progress_and_one_job_per_notebook(
    jp_fetch: Fetch, jp_root_dir: Path, repro_home: Path
) -> None:
    notebook = write_notebook(
        jp_root_dir,
        "sub/params.ipynb",
        [
            ("n = 3\nlabel = 'x'", ["parameters"]),
            ("import os, time\ntime.sleep(1)\nvalues = list(range(n))", ["step:load"]),
            ("open('ppid.txt', 'w').write(str(os.getppid()))\ntotal = sum(values)", ["step:total"]),
        ],
    )
    body = {"path": "sub/params.ipynb", "parameters": {"n": 5, "label": "y"}, "no_cache": True}
    code, started = await start_job(jp_fetch, body)
    assert code == 202

    # the same notebook again: the job that is already active, not a second run
    again_code, again = await start_job(jp_fetch, {"path": "sub/params.ipynb", "kind": "verify"})
    assert again_code == 200
    assert again == {"job_id": started["job_id"], "state": again["state"], "created": False}
    assert again["state"] in ("queued", "running")

    # the server answers while the job runs
    before = time.monotonic()
    await api(jp_fetch, "version")
    assert time.monotonic() - before < 2.0

    job = await wait_for_job(jp_fetch, started["job_id"])
    assert job["state"] == "done", job
    assert job["kind"] == "run"
    assert job["path"] == "sub/params.ipynb"
    assert job["request"] == {"parameters": {"n": "5", "label": "y"}, "no_cache": True}
    assert job["result"]["parameters"] == {"n": 5, "label": "y"}
    assert [step["status"] for step in job["result"]["steps"]] == ["executed", "executed"]
    assert job["progress"]["steps"] == [
        {"name": "load", "status": "executed"},
        {"name": "total", "status": "executed"},
    ]
    assert (job["progress"]["total"], job["progress"]["finished"]) == (2, 2)

    # the server's remote (c.JupyterRepro.remote) received the run's record, and the request shows no URL
    published = repro_home.parent / "team-remote" / "v1" / "runs" / f"{job['result']['run_id']}.json"
    assert json.loads(published.read_text(encoding="utf-8"))["run"]["run_id"] == job["result"]["run_id"]
    assert "remote" not in job["request"]

    # the kernel ran under the CLI subprocess, in the notebook's folder, not under the server
    kernel_parent = int((notebook.parent / "ppid.txt").read_text(encoding="utf-8"))
    assert kernel_parent != os.getpid()

    # once finished, the notebook may run again: a new job
    code, rerun = await start_job(jp_fetch, {"path": "sub/params.ipynb"})
    assert code == 202
    assert rerun["job_id"] != started["job_id"]
    assert (await wait_for_job(jp_fetch, rerun["job_id"]))["state"] == "done"


async def test_a_job_with_unusable_input_ends_in_error_with_one_line(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir, "bad.ipynb", [("x = 1", ["step:load", "after:nowhere"])])
    _code, started = await start_job(jp_fetch, {"path": "bad.ipynb", "kind": "verify"})
    job = await wait_for_job(jp_fetch, started["job_id"])
    assert job["state"] == "error"
    assert job["exit_code"] == 2
    assert "nowhere" in job["error"]
    assert "\n" not in job["error"]
    assert job["result"] is None


async def test_an_unknown_parameter_is_the_jobs_error(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir, "p.ipynb", [("n = 1", ["parameters"]), "m = n"])
    _code, started = await start_job(jp_fetch, {"path": "p.ipynb", "parameters": {"typo": 1}})
    job = await wait_for_job(jp_fetch, started["job_id"])
    assert job["state"] == "error"
    assert "typo" in job["error"]


async def test_jobs_beyond_max_concurrent_jobs_wait_queued(
    jp_fetch: Fetch, jp_root_dir: Path, jp_serverapp: Any
) -> None:
    settings = jp_serverapp.web_app.settings
    assert settings[JOBS_KEY].max_concurrent_jobs == 1  # from c.JobManager in the server config
    assert settings[SETTINGS_KEY].snapshot_timeout == 120.0  # from c.JupyterRepro
    for name in ("first.ipynb", "second.ipynb"):
        write_notebook(jp_root_dir, name, [("import time\ntime.sleep(1)", ["step:wait"])])
    _code, first = await start_job(jp_fetch, {"path": "first.ipynb"})
    _code, second = await start_job(jp_fetch, {"path": "second.ipynb"})
    assert (await api(jp_fetch, "jobs", second["job_id"]))["state"] == "queued"
    assert (await api(jp_fetch, "jobs", first["job_id"]))["state"] == "running"

    done_first = await wait_for_job(jp_fetch, first["job_id"])
    done_second = await wait_for_job(jp_fetch, second["job_id"])
    assert (done_first["state"], done_second["state"]) == ("done", "done")
    assert done_second["started_at"] >= done_first["finished_at"]
    listed = [job["job_id"] for job in (await api(jp_fetch, "jobs"))["jobs"]]
    assert listed == [second["job_id"], first["job_id"]]  # newest first


async def test_stopping_the_manager_stops_a_running_job(
    jp_fetch: Fetch, jp_root_dir: Path, jp_serverapp: Any
) -> None:
    write_notebook(jp_root_dir, "slow.ipynb", [("import time\ntime.sleep(120)", ["step:wait"])])
    _code, started = await start_job(jp_fetch, {"path": "slow.ipynb"})
    while (await api(jp_fetch, "jobs", started["job_id"]))["progress"]["current"] != "wait":
        await asyncio.sleep(0.2)
    before = time.monotonic()
    await jp_serverapp.web_app.settings[JOBS_KEY].shutdown()
    assert time.monotonic() - before < 30
    job = await api(jp_fetch, "jobs", started["job_id"])
    assert job["state"] == "error"
    assert "stopped" in job["error"]


# --- live-kernel snapshot -------------------------------------------------------------------------


async def test_snapshot_of_a_kernel_started_through_the_server(jp_fetch: Fetch, jp_serverapp: Any) -> None:
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kernel_id = json.loads(response.body)["id"]
    manager = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        # names the capture script uses must not leak into (or clobber) the user's namespace
        await client.execute_interactive("packages = 'mine'", store_history=False, timeout=60)

        snapshot = await api(jp_fetch, "snapshot", method="POST", body=json.dumps({"kernel_id": kernel_id}))

        reply = await client.execute_interactive(
            "",
            store_history=False,
            user_expressions={"packages": "packages", "norm": "'norm' in dir()"},
            timeout=60,
        )
    finally:
        client.stop_channels()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")

    assert snapshot["kernel_id"] == kernel_id
    assert snapshot["implementation"] == platform.python_implementation()
    assert snapshot["python_version"] == platform.python_version()
    assert Path(snapshot["executable"]).resolve() == Path(sys.executable).resolve()
    assert snapshot["platform"]
    assert "ipykernel" in snapshot["packages"]
    assert snapshot["kernelspec"]["name"] == "python3"
    assert snapshot["environment_hash"].count(":") == 1
    expressions = reply["content"]["user_expressions"]
    assert expressions["packages"]["data"]["text/plain"] == "'mine'"
    assert expressions["norm"]["data"]["text/plain"] == "False"


# --- export ---------------------------------------------------------------------------------------


async def test_export_writes_the_job_files_under_the_root(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(
        jp_root_dir, "etl/daily.ipynb", [("n = 1", ["parameters"]), ("m = n * 2", ["step:double"])]
    )
    body = {"path": "etl/daily.ipynb", "target": "script", "parameters": {"n": 4}}
    exported = await api(jp_fetch, "export", method="POST", body=json.dumps(body))
    assert exported["output_dir"] == "etl/daily-script"
    assert exported["files"]
    for name in exported["files"]:
        assert name.startswith("etl/daily-script/")
        assert (jp_root_dir / name).is_file()


async def test_export_reports_an_unusable_schedule_as_400(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir, "daily.ipynb", [("n = 1", ["parameters"]), ("m = n * 2", ["step:double"])])
    body = {"path": "daily.ipynb", "target": "cron", "schedule": "every tuesday"}
    with pytest.raises(HTTPClientError) as raised:
        await api(jp_fetch, "export", method="POST", body=json.dumps(body))
    assert raised.value.code == 400
    assert raised.value.response is not None
    error = json.loads(raised.value.response.body)
    assert "\n" not in error["message"]
