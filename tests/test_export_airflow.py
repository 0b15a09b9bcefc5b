"""The exported example DAG, run by a real Airflow (``airflow dags test``), twice for one logical date.

Airflow is installed from PyPI into its own virtual environment under a cache folder
(``$JUPYTER_REPRO_TEST_CACHE`` or ``~/.cache/jupyter-repro-tests``), created on first use and reused
after (a fresh machine, as in CI, creates it: well under a minute with a pinned version). The DAG's tasks
call ``jupyter repro`` from the project's environment (the interpreter running these tests), never from
Airflow's.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLES, cached_tool_venv, console_script

pytestmark = [pytest.mark.kernel, pytest.mark.network]

AIRFLOW_VERSION = "3.3.2"
STEPS = ["load", "clean", "aggregate", "model", "report"]
DAG_ID = "repro_sales_report"


@pytest.fixture(scope="session")
def airflow_bin() -> Path:
    """The ``bin`` folder of a virtual environment with Apache Airflow, created once and reused."""
    return cached_tool_venv(f"airflow-{AIRFLOW_VERSION}", f"apache-airflow=={AIRFLOW_VERSION}")


@pytest.fixture
def airflow(airflow_bin: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh Airflow home (SQLite metadata database migrated) whose dags folder is ``tmp_path/dags``."""
    home = tmp_path / "airflow"
    dags = tmp_path / "dags"
    dags.mkdir()
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and key not in {"PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_REPRO_HOME"}
    }
    env = {
        **inherited,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    migrate = _airflow(airflow_bin, env, "db", "migrate")
    assert migrate.returncode == 0, migrate.stdout[-3000:]
    return dags, env


def _airflow(airflow_bin: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(airflow_bin / "airflow"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=400,
        check=False,
    )


def _runs(home: Path) -> list[tuple[str, str, dict[str, str]]]:
    """``(run_id, status, parameters)`` of every recorded run, oldest first."""
    with sqlite3.connect(home / "ledger.db") as db:
        rows = db.execute("select run_id, status, parameters from runs order by started_at").fetchall()
    return [(run_id, status, json.loads(parameters)) for run_id, status, parameters in rows]


def _step_statuses(home: Path, run_ids: list[str]) -> list[tuple[str, str]]:
    with sqlite3.connect(home / "ledger.db") as db:
        marks = ", ".join("?" * len(run_ids))
        rows = db.execute(
            f"select step, status from step_runs where run_id in ({marks}) order by id", run_ids
        ).fetchall()
    return [(step, status) for step, status in rows]


def test_exported_example_dag_runs_in_airflow_and_a_rerun_of_the_interval_is_cached(
    airflow: tuple[Path, dict[str, str]], airflow_bin: Path, tmp_path: Path
) -> None:
    dags, env = airflow
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "sales_report.ipynb", project)
    shutil.copytree(EXAMPLES / "data", project / "data")
    repro_home = tmp_path / "shared-repro-home"
    export = subprocess.run(
        [
            *console_script(), "export", str(project / "sales_report.ipynb"), "--to", "airflow",
            "-o", str(dags), "--home", str(repro_home), "--name", DAG_ID, "--inclusive-end",
            "--retries", "0",  # a failing task fails the test at once instead of waiting for a retry
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr

    # a manual run for logical date 2026-10-01 processes the daily interval that ends then: 2026-09-30
    output = project / "output" / "summary_2026-09-30_2026-09-30.csv"
    first = _airflow(airflow_bin, env, "dags", "test", DAG_ID, "2026-10-01")
    assert first.returncode == 0, first.stdout[-5000:]
    assert "state=success" in first.stdout
    assert output.is_file()
    produced = output.read_bytes()
    assert produced.decode().splitlines()[0] == "store,product,revenue"

    runs = _runs(repro_home)
    assert len(runs) == len(STEPS)  # one `jupyter repro run --step` per task
    assert {status for _, status, _ in runs} == {"ok"}
    assert all(
        parameters == {"start_date": "2026-09-30", "end_date": "2026-09-30", "output_dir": "output"}
        for _, _, parameters in runs
    )
    statuses = _step_statuses(repro_home, [run_id for run_id, _, _ in runs])
    assert sorted(step for step, status in statuses if status == "executed") == sorted(STEPS)
    assert {status for _, status in statuses} == {"executed", "cached"}

    second = _airflow(airflow_bin, env, "dags", "test", DAG_ID, "2026-10-01")
    assert second.returncode == 0, second.stdout[-5000:]
    assert "state=success" in second.stdout
    assert output.read_bytes() == produced
    assert sorted(p.name for p in output.parent.iterdir()) == [output.name]
    rerun = _runs(repro_home)[len(STEPS) :]
    assert len(rerun) == len(STEPS)
    assert {status for _, status, _ in rerun} == {"ok"}
    rerun_statuses = _step_statuses(repro_home, [run_id for run_id, _, _ in rerun])
    assert {status for _, status in rerun_statuses} == {"cached"}
    assert {step for step, _ in rerun_statuses} == set(STEPS)


def test_with_a_remote_tasks_on_separate_workers_hand_results_through_it(
    airflow: tuple[Path, dict[str, str]], airflow_bin: Path, tmp_path: Path
) -> None:
    """Each task gets its own repro home (as on separate workers: no shared disk for the cache); the
    remote, a shared folder here (the S3 backend is tested in test_remote.py), carries the results."""
    dags, env = airflow
    env = {**env, "JUPYTER_REPRO_REMOTE_KEY": "team-key-for-airflow"}
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "sales_report.ipynb", project)
    shutil.copytree(EXAMPLES / "data", project / "data")
    remote = tmp_path / "team-remote"
    workers = tmp_path / "workers"
    export = subprocess.run(
        [
            *console_script(), "export", str(project / "sales_report.ipynb"), "--to", "airflow",
            "-o", str(dags), "--name", DAG_ID, "--inclusive-end", "--retries", "0",
            "--remote", f"file://{remote}", "--home", f"{workers}/$AIRFLOW_CTX_TASK_ID",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert f"file://{remote}" in (dags / f"{DAG_ID}_dag.py").read_text(encoding="utf-8")

    first = _airflow(airflow_bin, env, "dags", "test", DAG_ID, "2026-10-01")
    assert first.returncode == 0, first.stdout[-5000:]
    assert "state=success" in first.stdout
    assert (project / "output" / "summary_2026-09-30_2026-09-30.csv").is_file()
    assert sorted(p.name for p in workers.iterdir()) == sorted(STEPS)  # one home per task
    published = _published(remote)
    assert len(published) == len(STEPS)
    for task in STEPS:
        steps = published[task]
        assert steps.pop(task) == ("executed", None)  # each task ran its own step, and got the
        assert set(steps.values()) <= {("cached", "remote")}  # results of the others through the remote
    assert published["report"]["load"] == ("cached", "remote")

    second = _airflow(airflow_bin, env, "dags", "test", DAG_ID, "2026-10-01")
    assert second.returncode == 0, second.stdout[-5000:]
    rerun = _published(remote, newest=True)
    assert {status for steps in rerun.values() for status, _ in steps.values()} == {"cached"}


def _published(remote: Path, *, newest: bool = False) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Per task (its ``--step``), the steps of its published run: ``(status, from)``; the first run of
    each task, or with ``newest`` its latest."""
    records = [json.loads(p.read_text(encoding="utf-8")) for p in (remote / "v1" / "runs").glob("*.json")]
    by_task: dict[str, dict[str, tuple[str, str | None]]] = {}
    for record in sorted(records, key=lambda r: r["run"]["run_id"], reverse=newest):
        run = record["run"]
        task = run["steps"][-1]["name"]  # --step runs the step after its upstream steps
        by_task.setdefault(task, {s["name"]: (s["status"], s.get("from")) for s in run["steps"]})
    return by_task
