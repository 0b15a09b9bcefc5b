"""``log``, ``show``, ``diff`` and ``env`` through the real console script.

Runs are recorded directly through the :class:`Ledger` API into the repro home the ``run_cli`` fixture
points ``JUPYTER_REPRO_HOME`` at, then read back by the CLI as a user would.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from jupyter_repro.hashing import hash_bytes
from jupyter_repro.ledger import Ledger
from jupyter_repro.records import CellComparisonRecord, EnvironmentSnapshot, FileRef

RunCli = Callable[..., Any]
# the keys of `log --json` documented in docs/cli.md, plus finished_at (added for the UI's durations)
# and imported_from (the team's runs, docs/remote.md)
LOG_KEYS = {"run_id", "kind", "notebook", "started_at", "finished_at", "status", "verdict", "imported_from"}
RUN_KEYS = {
    "run_id",
    "kind",
    "notebook",
    "status",
    "verdict",
    "seed",
    "parameters",
    "environment_hash",
    "steps",
    "cells",
    "causes",
    "executed_notebook",
}


def _environment(**packages: str) -> EnvironmentSnapshot:
    return EnvironmentSnapshot(
        implementation="CPython",
        python_version="3.11.7",
        executable="/opt/py/bin/python",
        platform="Linux-6.1-x86_64",
        system="Linux",
        machine="x86_64",
        kernelspec={"name": "python3"},
        packages=packages,
    )


def record_run(
    home: Path,
    notebook: Path,
    *,
    kind: str = "verify",
    parameters: dict[str, Any] | None = None,
    seed: int = 0,
    steps: Sequence[tuple[str, str, dict[str, str], dict[str, str]]] = (),
    packages: dict[str, str] | None = None,
    verdict: str | None = "reproducible",
    finish: bool = True,
) -> str:
    """Record a run as the runner will: environment, start, steps, finish with the full document."""
    with Ledger.open(home) as ledger:
        env_hash = ledger.record_environment(_environment(**(packages or {"numpy": "1.26.4"})))
        run_id = ledger.start_run(
            kind,
            notebook,
            parameters=parameters or {},
            seed=seed,
            environment_hash=env_hash,
            notebook_hash=hash_bytes(notebook.name.encode()),
            git_commit="0123456789abcdef0123",
            git_dirty=False,
        )
        step_documents = []
        for name, code, reads, writes in steps:
            ledger.record_step_run(
                run_id,
                name,
                status="executed",
                cache_key=f"blake3:{name}",
                duration_s=1.25,
                code_hash=hash_bytes(code.encode()),
                code=code,
                reads=[FileRef(path, digest) for path, digest in reads.items()],
                writes=[FileRef(path, digest) for path, digest in writes.items()],
            )
            step_documents.append({"name": name, "status": "executed", "reads": [], "writes": []})
        if finish:
            cells = [CellComparisonRecord(0, steps[0][0] if steps else "main", "match")]
            cells.append(CellComparisonRecord(1, "main", "differ", "- 0.5\n+ 0.6"))
            document = {
                "run_id": run_id,
                "kind": kind,
                "notebook": str(notebook),
                "status": "ok",
                "verdict": verdict,
                "seed": seed,
                "parameters": parameters or {},
                "environment_hash": env_hash,
                "steps": step_documents,
                "cells": [cell.to_dict() for cell in cells],
                "causes": [{"kind": "data", "step": "load", "detail": "input.csv changed"}],
                "executed_notebook": "/somewhere/executed.ipynb",
            }
            ledger.finish_run(run_id, "ok", verdict, document, cells=cells)
    return run_id


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "repro-home"  # where run_cli points JUPYTER_REPRO_HOME


def _one_line_error(result: Any) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return str(lines[0])


# --- log ---


def test_log_of_an_empty_ledger(run_cli: RunCli) -> None:
    result = run_cli("log", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"runs": []}
    text = run_cli("log")
    assert text.returncode == 0
    assert text.stdout.startswith("no runs recorded in ")


def test_log_lists_runs_newest_first_filtered_and_limited(
    run_cli: RunCli, home: Path, tmp_path: Path
) -> None:
    first = record_run(home, tmp_path / "a.ipynb", kind="run", verdict=None)
    second = record_run(home, tmp_path / "a.ipynb", verdict="diverged")
    other = record_run(home, tmp_path / "b.ipynb")

    everything = json.loads(run_cli("log", "--json").stdout)["runs"]
    assert [run["run_id"] for run in everything] == [other, second, first]
    assert all(set(run) == LOG_KEYS for run in everything)
    assert everything[1]["verdict"] == "diverged"
    assert everything[2]["kind"] == "run"

    only_a = json.loads(run_cli("log", str(tmp_path / "a.ipynb"), "--json").stdout)["runs"]
    assert [run["run_id"] for run in only_a] == [second, first]
    limited = json.loads(run_cli("log", "--limit", "1", "--json").stdout)["runs"]
    assert [run["run_id"] for run in limited] == [other]


def test_log_prints_a_readable_table(run_cli: RunCli, home: Path, tmp_path: Path) -> None:
    run_id = record_run(home, tmp_path / "analysis.ipynb", verdict="diverged")
    result = run_cli("log")
    assert result.returncode == 0, result.stderr
    header, rule, row = result.stdout.splitlines()
    assert header.split() == ["RUN", "KIND", "STARTED", "STATUS", "VERDICT", "NOTEBOOK"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert row.split()[0] == run_id
    assert "diverged" in row
    assert row.endswith("analysis.ipynb")


def test_log_refuses_a_limit_below_one(run_cli: RunCli) -> None:
    result = run_cli("log", "--limit", "0")
    assert result.returncode == 2
    assert "must be at least 1" in result.stderr


# --- show ---


def test_show_json_is_the_run_document_plus_the_snapshot(run_cli: RunCli, home: Path, tmp_path: Path) -> None:
    run_id = record_run(
        home,
        tmp_path / "a.ipynb",
        parameters={"alpha": 0.5},
        seed=3,
        steps=[("load", "df = load()", {"input.csv": "blake3:aa"}, {})],
    )
    result = run_cli("show", run_id, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) >= RUN_KEYS
    assert document["run_id"] == run_id
    assert document["verdict"] == "reproducible"
    assert document["parameters"] == {"alpha": 0.5}
    assert document["seed"] == 3
    assert document["executed_notebook"] == "/somewhere/executed.ipynb"
    assert document["git_commit"] == "0123456789abcdef0123"
    assert document["environment"]["packages"] == {"numpy": "1.26.4"}
    assert document["started_at"] <= document["finished_at"]


def test_show_accepts_a_unique_prefix_and_prints_tables(run_cli: RunCli, home: Path, tmp_path: Path) -> None:
    run_id = record_run(
        home,
        tmp_path / "a.ipynb",
        parameters={"alpha": 0.5},
        steps=[("load", "df = load()", {"input.csv": "blake3:aa"}, {"clean.csv": "blake3:bb"})],
    )
    result = run_cli("show", run_id[:-3])
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert f"run:           {run_id}" in text
    assert "verdict:       reproducible" in text
    assert "parameters:    alpha=0.5" in text
    assert "git:           0123456789ab\n" in text
    assert "python:        CPython 3.11.7" in text
    step_line = next(line for line in text.splitlines() if line.startswith("load "))
    assert step_line.split()[:5] == ["load", "executed", "1.25s", "1", "1"]
    cell_line = next(line for line in text.splitlines() if line.startswith("1 "))
    assert cell_line.split()[:4] == ["1", "main", "differ", "-"]
    assert "input.csv changed" in text


def test_show_of_an_unfinished_run_rebuilds_the_document_from_its_rows(
    run_cli: RunCli, home: Path, tmp_path: Path
) -> None:
    run_id = record_run(
        home, tmp_path / "a.ipynb", steps=[("load", "x = 1", {"in.csv": "blake3:aa"}, {})], finish=False
    )
    document = json.loads(run_cli("show", run_id, "--json").stdout)
    assert set(document) >= RUN_KEYS
    assert document["status"] == "running"
    assert document["finished_at"] is None
    assert document["steps"][0]["name"] == "load"
    assert document["steps"][0]["reads"] == [{"path": "in.csv", "hash": "blake3:aa"}]


def test_show_of_an_unknown_run_id_is_one_line_and_exit_2(
    run_cli: RunCli, home: Path, tmp_path: Path
) -> None:
    record_run(home, tmp_path / "a.ipynb")
    line = _one_line_error(run_cli("show", "20000101-000000-deadbeef"))
    assert "unknown run id '20000101-000000-deadbeef'" in line
    assert line.startswith("jupyter repro show: error: ")


# --- diff ---


def _two_runs(home: Path, tmp_path: Path) -> tuple[str, str]:
    notebook = tmp_path / "a.ipynb"
    before = record_run(
        home,
        notebook,
        parameters={"alpha": 0.5, "region": "eu"},
        seed=1,
        steps=[
            (
                "load",
                "df = load('input.csv')\n",
                {"input.csv": "blake3:" + "a" * 64},
                {"old.csv": "blake3:o"},
            ),
            ("fit", "model = fit(df)\n", {}, {}),
        ],
        packages={"numpy": "1.26.4", "pandas": "2.1.0", "scipy": "1.11.0"},
    )
    after = record_run(
        home,
        notebook,
        parameters={"alpha": 0.7, "limit": 10},
        seed=2,
        steps=[
            (
                "load",
                "df = load('input.csv')\n",
                {"input.csv": "blake3:" + "b" * 64},
                {"new.csv": "blake3:n"},
            ),
            ("fit", "model = fit(df, tol=1e-6)\n", {}, {}),
        ],
        packages={"numpy": "1.26.4", "pandas": "2.2.0", "polars": "0.20.0"},
    )
    return before, after


def _by_name(changes: list[dict[str, Any]]) -> dict[str, tuple[str, Any, Any]]:
    return {change["name"]: (change["change"], change["before"], change["after"]) for change in changes}


def test_diff_json_names_every_kind_of_difference(run_cli: RunCli, home: Path, tmp_path: Path) -> None:
    before, after = _two_runs(home, tmp_path)
    result = run_cli("diff", before, after, "--json")
    assert result.returncode == 0, result.stderr
    diff = json.loads(result.stdout)
    assert (diff["run_a"], diff["run_b"], diff["identical"]) == (before, after, False)
    assert _by_name(diff["parameters"]) == {
        "alpha": ("changed", 0.5, 0.7),
        "limit": ("added", None, 10),
        "region": ("removed", "eu", None),
    }
    assert _by_name(diff["seed"]) == {"seed": ("changed", 1, 2)}
    assert list(_by_name(diff["code"])) == ["fit"]
    assert "+model = fit(df, tol=1e-6)" in diff["code"][0]["detail"]
    assert _by_name(diff["data"]) == {
        "input.csv": ("changed", "blake3:" + "a" * 64, "blake3:" + "b" * 64),
        "new.csv": ("added", None, "blake3:n"),
        "old.csv": ("removed", "blake3:o", None),
    }
    assert _by_name(diff["packages"]) == {
        "pandas": ("changed", "2.1.0", "2.2.0"),
        "polars": ("added", None, "0.20.0"),
        "scipy": ("removed", "1.11.0", None),
    }


def test_diff_text_is_readable(run_cli: RunCli, home: Path, tmp_path: Path) -> None:
    before, after = _two_runs(home, tmp_path)
    result = run_cli("diff", before, after)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"runs {before} -> {after}"
    for expected in (
        "  ~ alpha 0.5 -> 0.7",
        "  + limit 10",
        "  - region eu",
        "  ~ seed 1 -> 2",
        "  ~ fit blake3:",
        "  ~ input.csv blake3:aaaaaaaaaaaa -> blake3:bbbbbbbbbbbb",
        "  ~ pandas 2.1.0 -> 2.2.0",
        "  - scipy 1.11.0",
        "+model = fit(df, tol=1e-6)",
    ):
        assert any(line.startswith(expected) for line in lines), expected


def test_diff_of_a_run_with_itself_is_empty(run_cli: RunCli, home: Path, tmp_path: Path) -> None:
    before, _ = _two_runs(home, tmp_path)
    diff = json.loads(run_cli("diff", before, before, "--json").stdout)
    assert diff["identical"] is True
    assert "no differences" in run_cli("diff", before, before).stdout


def test_diff_with_an_unknown_run_is_exit_2(run_cli: RunCli, home: Path, tmp_path: Path) -> None:
    before, _ = _two_runs(home, tmp_path)
    line = _one_line_error(run_cli("diff", before, "nope-nope"))
    assert "unknown run id 'nope-nope'" in line


# --- env ---


def test_env_json_describes_the_default_kernel_interpreter(run_cli: RunCli) -> None:
    result = run_cli("env", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["kernelspec"]["name"] == "python3"
    assert document["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert document["environment_hash"].startswith(("blake3:", "sha256:"))
    assert "sqlite-utils" in document["packages"]


def test_env_of_a_notebook_uses_its_kernelspec(
    run_cli: RunCli, tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    extra = tmp_path / "kernel-site"
    info = extra / "kernel_only-4.5.6.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kernel-only\nVersion: 4.5.6\n")
    kernels = tmp_path / "jupyter-data" / "kernels" / "analysis"
    kernels.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Analysis",
        "language": "python",
        "env": {"PYTHONPATH": str(extra)},
    }
    (kernels / "kernel.json").write_text(json.dumps(spec))
    notebook = make_notebook(
        ["x = 1"],
        metadata={"kernelspec": {"name": "analysis", "display_name": "Analysis", "language": "python"}},
    )
    env = {"JUPYTER_PATH": str(tmp_path / "jupyter-data")}

    document = json.loads(run_cli("env", str(notebook), "--json", env=env).stdout)
    assert document["kernelspec"]["name"] == "analysis"
    assert document["packages"]["kernel-only"] == "4.5.6"
    default = json.loads(run_cli("env", "--json", env=env).stdout)
    assert "kernel-only" not in default["packages"]

    text = run_cli("env", str(notebook), env=env)
    assert text.returncode == 0, text.stderr
    assert "kernelspec:  analysis" in text.stdout
    assert any(line.split()[:2] == ["kernel-only", "4.5.6"] for line in text.stdout.splitlines())


def test_env_of_a_notebook_naming_a_missing_kernel_is_python3_and_a_missing_notebook_exit_2(
    run_cli: RunCli, tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    # a notebook saved on another machine names its kernel there; JupyterLab offers python3 instead
    notebook = make_notebook(["x = 1"], metadata={"kernelspec": {"name": "gone", "display_name": "Gone"}})
    shown = run_cli("env", str(notebook))
    assert shown.returncode == 0, shown.stderr
    assert "kernelspec:  python3" in shown.stdout
    other = make_notebook(
        ["x <- 1"], name="r.ipynb", metadata={"kernelspec": {"name": "ir", "language": "R"}}
    )
    assert "no kernelspec named 'ir'" in _one_line_error(run_cli("env", str(other)))
    assert "no such file" in _one_line_error(run_cli("env", str(tmp_path / "missing.ipynb")))
