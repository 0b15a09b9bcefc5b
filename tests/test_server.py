"""The server extension, served by a real Jupyter server (pytest-jupyter).

Routes that need no kernel: authentication of every route, path rules, body validation, the ledger
routes and the steps route. Jobs and live-kernel snapshots are in ``test_server_jobs.py``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook
from tornado.httpclient import HTTPClientError
from traitlets import TraitError

from jupyter_repro import __version__
from jupyter_repro.server.argv import ExportRequest, JobRequest, export_argv
from jupyter_repro.server.handlers import ROUTES, BaseReproHandler
from jupyter_repro.server.jobs import Job, JobManager

Fetch = Callable[..., Awaitable[Any]]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    # Tokens required: an unauthenticated request must be refused, as on a real deployment.
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_repro": True},
            "allow_unauthenticated_access": False,
        }
    }


def write_notebook(root: Path, name: str, cells: list[Any]) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_notebook(cells)), encoding="utf-8")
    return path


async def fetch_error(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a request that must fail."""
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch(*parts, **kwargs)
    response = raised.value.response
    assert response is not None
    return raised.value.code, json.loads(response.body)


async def post_error(jp_fetch: Fetch, route: str, body: Any) -> tuple[int, dict[str, Any]]:
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return await fetch_error(jp_fetch, "jupyter-repro", "api", route, method="POST", body=text)


PIPELINE = [
    ("n = 3", ["parameters"]),
    ("values = list(range(n))", ["step:load"]),
    ("total = sum(values)", ["step:total"]),
    "print(total)",
]


# --- every route, authentication ----------------------------------------------------------------


def _route_calls() -> list[tuple[str, str]]:
    """(concrete path, method) for every method of every route; regex groups get a sample value."""
    calls = []
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<\w+>[^)]*\)", "sample", pattern)
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
            if getattr(handler, method.lower()) is not getattr(BaseReproHandler, method.lower()):
                calls.append((path, method))
    return calls


async def test_version_route_answers_with_the_package_version(jp_fetch: Fetch) -> None:
    response = await jp_fetch("jupyter-repro", "api", "version")
    assert response.code == 200
    assert json.loads(response.body) == {"name": "jupyter-repro", "version": __version__}


def test_the_route_table_covers_the_contract() -> None:
    methods = {(path, method) for path, method in _route_calls()}
    assert methods >= {
        ("version", "GET"),
        ("steps", "GET"),
        ("runs", "POST"),
        ("runs", "GET"),
        ("jobs/sample", "GET"),
        ("jobs", "GET"),
        ("runs/sample", "GET"),
        ("snapshot", "POST"),
        ("export/targets", "GET"),
        ("export", "POST"),
        ("fixes", "GET"),
        ("fixes", "POST"),
    }


@pytest.mark.parametrize(("pattern", "method"), _route_calls())
async def test_every_route_refuses_unauthenticated_requests(
    jp_fetch: Fetch, jp_root_dir: Path, pattern: str, method: str
) -> None:
    write_notebook(jp_root_dir, "nb.ipynb", PIPELINE)
    body = json.dumps({"path": "nb.ipynb", "kernel_id": "sample", "target": "script"})
    with pytest.raises(HTTPClientError) as raised:
        # an empty Authorization header replaces pytest-jupyter's token header
        await jp_fetch(
            "jupyter-repro",
            "api",
            pattern,
            method=method,
            body=body if method in ("POST", "PUT", "PATCH") else None,
            params={"path": "nb.ipynb"},
            headers={"Authorization": ""},
        )
    assert raised.value.code in (401, 403)
    assert not (jp_root_dir / ".repro").exists()  # nothing ran, nothing was created


async def test_a_wrong_token_is_refused_too(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir, "nb.ipynb", PIPELINE)
    code, _ = await fetch_error(
        jp_fetch,
        "jupyter-repro",
        "api",
        "runs",
        method="POST",
        body=json.dumps({"path": "nb.ipynb"}),
        headers={"Authorization": "token not-the-token"},
    )
    assert code in (401, 403)


# --- steps and path rules ------------------------------------------------------------------------


async def test_steps_answers_the_steps_json_shape(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir, "sub/nb.ipynb", PIPELINE)
    response = await jp_fetch("jupyter-repro", "api", "steps", params={"path": "sub/nb.ipynb"})
    document = json.loads(response.body)
    assert document["path"] == "sub/nb.ipynb"
    assert [step["name"] for step in document["steps"]] == ["load", "total"]
    total = document["steps"][1]
    assert total["depends_on"] == ["load"]
    assert total["inputs"] == [{"name": "values", "from": "load"}]
    assert document["parameters"] == {"n": 3}


async def test_steps_reports_a_bad_notebook_as_a_json_400(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    (jp_root_dir / "broken.ipynb").write_text("{not json", encoding="utf-8")
    code, error = await fetch_error(
        jp_fetch, "jupyter-repro", "api", "steps", params={"path": "broken.ipynb"}
    )
    assert code == 400
    assert error["error"] == "NotebookError"
    assert "\n" not in error["message"]


async def test_steps_needs_a_path(jp_fetch: Fetch) -> None:
    code, error = await fetch_error(jp_fetch, "jupyter-repro", "api", "steps")
    assert code == 400
    assert "path" in error["message"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../outside.ipynb", 403),
        ("sub/../../outside.ipynb", 403),
        ("/etc/hosts", 403),
        ("escape/outside.ipynb", 403),  # a symlinked folder pointing out of the root
        ("link.ipynb", 403),  # a symlinked file pointing out of the root
        ("missing.ipynb", 404),
        ("notes.txt", 400),
        ("sub", 400),
    ],
)
async def test_paths_outside_the_root_missing_or_not_notebooks_are_refused(
    jp_fetch: Fetch, jp_root_dir: Path, tmp_path: Path, path: str, status: int
) -> None:
    outside = tmp_path / "outside"
    write_notebook(outside, "outside.ipynb", PIPELINE)
    write_notebook(jp_root_dir, "sub/inside.ipynb", PIPELINE)
    (jp_root_dir / "notes.txt").write_text("not a notebook", encoding="utf-8")
    os.symlink(outside, jp_root_dir / "escape")
    os.symlink(outside / "outside.ipynb", jp_root_dir / "link.ipynb")

    code, error = await fetch_error(jp_fetch, "jupyter-repro", "api", "steps", params={"path": path})
    assert code == status
    assert error["message"]
    code, _ = await post_error(jp_fetch, "runs", {"path": path, "kind": "verify"})
    assert code == status
    assert not (outside / ".repro").exists()


async def test_a_symlink_that_stays_inside_the_root_is_followed(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir, "real/nb.ipynb", PIPELINE)
    os.symlink(jp_root_dir / "real", jp_root_dir / "alias")
    response = await jp_fetch("jupyter-repro", "api", "steps", params={"path": "alias/nb.ipynb"})
    assert [step["name"] for step in json.loads(response.body)["steps"]] == ["load", "total"]


async def test_hidden_notebooks_are_not_served(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir, ".hidden/nb.ipynb", PIPELINE)
    code, _ = await fetch_error(
        jp_fetch, "jupyter-repro", "api", "steps", params={"path": ".hidden/nb.ipynb"}
    )
    assert code == 404


# --- POST runs: body validation (no job starts) -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"kind": "verify"}, "'path' is required"),
        ({"path": 3}, "'path' must be a string"),
        ({"path": "nb.ipynb", "kind": "publish"}, "'kind' must be one of run, verify"),
        ({"path": "nb.ipynb", "no_cache": "yes"}, "'no_cache' must be a boolean"),
        ({"path": "nb.ipynb", "parameters": [1]}, "'parameters' must be an object"),
        ({"path": "nb.ipynb", "parameters": {"n": [1, 2]}}, "must be a string, number, boolean or null"),
        ({"path": "nb.ipynb", "parameters": {"n": "42"}}, "would reach the notebook as 42"),
        ({"path": "nb.ipynb", "parameters": {"not a name": 1}}, "not a Python identifier"),
        ({"path": "nb.ipynb", "parameters": {"n": "--no-cache"}}, "may not start with '-'"),
        ({"path": "nb.ipynb", "runs": 2}, "apply to kind 'verify' only"),
        ({"path": "nb.ipynb", "kind": "verify", "runs": True}, "'runs' must be an integer"),
        ({"path": "nb.ipynb", "kind": "verify", "runs": 0}, "between 1 and 10"),
        ({"path": "nb.ipynb", "kind": "verify", "step": "load"}, "kind 'run' only"),
        ({"path": "nb.ipynb", "timeout": -1}, "positive number"),
        ({"path": "nb.ipynb", "cwd": "/"}, "unknown field 'cwd'"),
    ],
)
async def test_post_runs_validates_its_body(
    jp_fetch: Fetch, jp_root_dir: Path, body: Any, fragment: str
) -> None:
    write_notebook(jp_root_dir, "nb.ipynb", PIPELINE)
    code, error = await post_error(jp_fetch, "runs", body)
    assert code == 400
    assert fragment in error["message"]
    jobs = json.loads((await jp_fetch("jupyter-repro", "api", "jobs")).body)
    assert jobs == {"jobs": []}


async def test_bodies_over_the_limit_are_refused_with_413(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir, "nb.ipynb", PIPELINE)
    huge = json.dumps({"path": "nb.ipynb", "parameters": {"n": "x" * (1024 * 1024)}})
    code, error = await post_error(jp_fetch, "runs", huge)
    assert code == 413
    assert error["error"] == "BodyTooLargeError"


# --- ledger routes, jobs, snapshot and export validation ------------------------------------------


async def test_runs_of_a_notebook_without_history_is_an_empty_list(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir, "nb.ipynb", PIPELINE)
    response = await jp_fetch("jupyter-repro", "api", "runs", params={"path": "nb.ipynb", "limit": "5"})
    assert json.loads(response.body) == {"runs": []}


@pytest.mark.parametrize("limit", ["0", "many", "100000"])
async def test_runs_limit_must_be_a_sensible_integer(jp_fetch: Fetch, limit: str) -> None:
    code, error = await fetch_error(jp_fetch, "jupyter-repro", "api", "runs", params={"limit": limit})
    assert code == 400
    assert "limit" in error["message"]


async def test_an_unknown_run_id_is_404(jp_fetch: Fetch) -> None:
    code, error = await fetch_error(jp_fetch, "jupyter-repro", "api", "runs", "20990101-000000-deadbeef")
    assert code == 404
    assert error["error"] == "RunNotFoundError"


async def test_an_unknown_job_id_is_404(jp_fetch: Fetch) -> None:
    code, error = await fetch_error(jp_fetch, "jupyter-repro", "api", "jobs", "0123abcd")
    assert code == 404
    assert error["error"] == "JobNotFoundError"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({}, 400, "'kernel_id' is required"),
        ({"kernel_id": 7}, 400, "'kernel_id' must be a string"),
        ({"kernel_id": "no-such-kernel"}, 404, "no running kernel"),
        ("kernel", 400, "not valid JSON"),
    ],
)
async def test_snapshot_validates_the_kernel_id(
    jp_fetch: Fetch, body: Any, status: int, fragment: str
) -> None:
    code, error = await post_error(jp_fetch, "snapshot", body)
    assert code == status
    assert fragment in error["message"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"target": "script"}, 400, "'path' is required"),
        ({"path": "nb.ipynb"}, 400, "'target' is required"),
        ({"path": "nb.ipynb", "target": "lambda"}, 400, "one of airflow, cron, kfp, script"),
        ({"path": "nb.ipynb", "target": "cron", "schedule": 5}, 400, "'schedule' must be a string"),
        ({"path": "nb.ipynb", "target": "cron", "parameters": {"n": {}}}, 400, "string, number"),
        ({"path": "../nb.ipynb", "target": "script"}, 403, "'..'"),
        ({"path": "nb.ipynb", "target": "script", "output_dir": "../out"}, 403, "'..'"),
        ({"path": "nb.ipynb", "target": "script", "output_dir": "/tmp/out"}, 403, "absolute"),
        ({"path": "nb.ipynb", "target": "script", "output_dir": "nb.ipynb"}, 400, "names a file"),
    ],
)
async def test_export_validates_its_body(
    jp_fetch: Fetch, jp_root_dir: Path, body: dict[str, Any], status: int, fragment: str
) -> None:
    write_notebook(jp_root_dir, "nb.ipynb", PIPELINE)
    code, error = await post_error(jp_fetch, "export", body)
    assert code == status
    assert fragment in error["message"]


async def test_an_export_the_cli_refuses_names_the_notebook_by_its_contents_path(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir, "work/nb.ipynb", PIPELINE)
    body = {"path": "work/nb.ipynb", "target": "script", "parameters": {"no_such_parameter": 1}}
    code, error = await post_error(jp_fetch, "export", body)
    assert code == 400
    assert "no_such_parameter" in error["message"]
    assert str(jp_root_dir) not in error["message"]  # never where the server keeps its files
    assert not error["message"].startswith("jupyter repro")  # the CLI's prefix is not the answer's


# --- job bookkeeping (no server needed) ----------------------------------------------------------


def test_progress_events_fold_into_per_step_statuses_and_restart_on_a_new_pass(tmp_path: Path) -> None:
    request = JobRequest(kind="verify", notebook=tmp_path / "nb.ipynb", path="nb.ipynb")
    job = Job(job_id="j", request=request, argv=[])
    events = [
        ("load", "planned-cached"),
        ("train", "planned-executed"),
        ("load", "cached"),
        ("train", "running"),
    ]
    for step, status in events:
        job.apply_event({"event": "step", "step": step, "status": status})
    assert job.progress()["steps"] == [
        {"name": "load", "status": "cached"},
        {"name": "train", "status": "running"},
    ]
    assert (job.progress()["finished"], job.progress()["current"]) == (1, "train")
    job.apply_event({"event": "step", "step": "train", "status": "executed"})
    # verify --runs 2: a second pass plans the steps again and starts a fresh list
    job.apply_event({"event": "step", "step": "load", "status": "planned-executed"})
    assert job.progress()["steps"] == [{"name": "load", "status": "planned-executed"}]
    job.apply_event({"event": "comparing", "cells": 3})
    assert job.progress()["last_event"] == {"event": "comparing", "cells": 3}


def test_the_automatic_gc_budget_reaches_the_jobs_environment_and_a_bad_size_is_refused() -> None:
    from traitlets import TraitError

    assert "JUPYTER_REPRO_AUTO_GC" not in JobManager().child_env()
    assert JobManager(auto_gc="2GB").child_env()["JUPYTER_REPRO_AUTO_GC"] == "2GB"
    with pytest.raises(TraitError, match="auto_gc"):
        JobManager(auto_gc="lots")


def test_a_job_command_line_passes_options_to_the_cli(tmp_path: Path) -> None:
    manager = JobManager(default_timeout=30.0)
    request = JobRequest(
        kind="verify",
        notebook=tmp_path / "nb.ipynb",
        path="nb.ipynb",
        parameters={"n": "5", "name": "-"},
        no_cache=True,
        runs=2,
        home=str(tmp_path / "home"),
    )
    assert manager.argv(request) == [
        *manager.command,
        "verify",
        str(tmp_path / "nb.ipynb"),
        "--json",
        "--progress-jsonl",
        "-p",
        "n",
        "5",
        "-p",
        "name",
        "-",
        "--no-cache",
        "--timeout",
        "30.0",
        "--runs",
        "2",
        "--home",
        str(tmp_path / "home"),
    ]
    assert manager.command[1:] == ["-m", "jupyter_repro.cli"]


def test_an_export_command_line_passes_options_to_the_cli(tmp_path: Path) -> None:
    request = ExportRequest(
        notebook=tmp_path / "nb.ipynb",
        path="nb.ipynb",
        target="cron",
        output_dir=tmp_path / "out",
        schedule="@hourly",
        parameters={"n": "5"},
        home=str(tmp_path / "home"),
    )
    command = JobManager().command
    assert export_argv(command, request) == [
        *command,
        "export",
        str(tmp_path / "nb.ipynb"),
        "--to",
        "cron",
        "-o",
        str(tmp_path / "out"),
        "--json",
        "--schedule",
        "@hourly",
        "-p",
        "n",
        "5",
        "--home",
        str(tmp_path / "home"),
    ]


def test_job_manager_settings_are_validated() -> None:
    with pytest.raises(TraitError):
        JobManager(max_concurrent_jobs=0)


# --- two users, one shared repro home ------------------------------------------------------------


async def test_runs_of_another_servers_notebooks_stay_invisible(
    jp_fetch: Fetch, jp_serverapp: Any, jp_root_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """User B's server shares its repro home with user A's (c.JupyterRepro.repro_home) but has its
    own root: A's runs, recorded there for a notebook outside B's root, are neither listed to B nor
    readable by id, so B learns nothing of A's paths."""
    from jupyter_repro.ledger import Ledger
    from jupyter_repro.server.handlers import SETTINGS_KEY

    shared_home = tmp_path_factory.mktemp("shared-repro-home")
    other_root = tmp_path_factory.mktemp("user-a-root")
    jp_serverapp.web_app.settings[SETTINGS_KEY].repro_home = str(shared_home)
    with Ledger.open(shared_home) as ledger:
        ids = {}
        for owner, notebook in (("a", other_root / "secret.ipynb"), ("b", jp_root_dir / "mine.ipynb")):
            ids[owner] = ledger.start_run(
                "run", notebook, parameters={}, seed=0, environment_hash=None, notebook_hash=None
            )
            ledger.finish_run(ids[owner], "ok", None, {"run_id": ids[owner]})

    listed = json.loads((await jp_fetch("jupyter-repro", "api", "runs")).body)
    assert [run["run_id"] for run in listed["runs"]] == [ids["b"]]
    code, error = await fetch_error(jp_fetch, "jupyter-repro", "api", "runs", ids["a"])
    assert code == 404
    assert "secret" not in json.dumps(error)
    mine = json.loads((await jp_fetch("jupyter-repro", "api", "runs", ids["b"])).body)
    assert mine["path"] == "mine.ipynb"
