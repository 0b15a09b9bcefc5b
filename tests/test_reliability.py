"""Faults, concurrency and hostile input, with real processes, real kernels and real SQLite."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook, console_script
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_repro.cli import main as cli_main
from jupyter_repro.runner import RunOptions, run_pipeline

PIPELINE = [
    ("n = 2", ["parameters"]),
    ("values = list(range(5))", ["step:make"]),
    (
        "total = sum(values) * n\nprint(total)",
        ["step:sum"],
    ),
]


def ledger_rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "ledger.db") as connection:
        return connection.execute(sql).fetchall()


@pytest.mark.kernel
def test_kill_9_mid_step_leaves_a_consistent_ledger_and_cache(
    tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    nb = make_notebook(
        [
            ("values = [1, 2, 3]", ["step:make"]),
            ("import time\ntime.sleep(60)\nprint(sum(values))", ["step:slow"]),
        ]
    )
    home = tmp_path / "home"
    process = subprocess.Popen(
        [*console_script(), "run", str(nb), "--home", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    # wait until the slow step is running: the first step's cache entry exists
    while not list((home / "cache").glob("entries/**/*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    assert ledger_rows(home, "PRAGMA integrity_check") == [("ok",)]
    entries = list((home / "cache").rglob("entries/**/*.json"))
    assert len(entries) == 1  # the finished step only; nothing half-written for the killed one
    for entry in entries:
        json.loads(entry.read_text(encoding="utf-8"))
    assert not [p for p in (home / "cache").rglob("*") if p.is_file() and ".tmp" in p.name]

    # the next run notices the dead one, marks it interrupted, and completes from the cache
    fast = build_notebook(
        [
            ("values = [1, 2, 3]", ["step:make"]),
            ("import time\ntime.sleep(0)\nprint(sum(values))", ["step:slow"]),
        ]
    )
    nb.write_text(json.dumps(fast), encoding="utf-8")
    outcome = run_pipeline(nb, RunOptions(home=str(home)))
    assert outcome.failure is None
    assert {s.step.name: s.status for s in outcome.steps} == {"make": "cached", "slow": "executed"}
    statuses = dict(ledger_rows(home, "SELECT run_id, status FROM runs"))
    assert sorted(statuses.values()) == ["interrupted", "ok"]


@pytest.mark.kernel
def test_three_concurrent_verifies_all_finish_correctly(
    tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    nb = make_notebook(PIPELINE)
    first = subprocess.run(
        [*console_script(), "run", str(nb), "--json", "--home", str(tmp_path / "h")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    executed = json.loads(first.stdout)["executed_notebook"]
    # save the executed outputs into the notebook, as a user would after running it
    nb.write_text(Path(executed).read_text(encoding="utf-8"), encoding="utf-8")
    home = tmp_path / "shared-home"
    processes = [
        subprocess.Popen(
            [*console_script(), "verify", str(nb), "--json", "--home", str(home)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [process.communicate(timeout=300) for process in processes]
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
        data = json.loads(out)
        assert data["verdict"] == "reproducible"
        assert {c["status"] for c in data["cells"]} == {"match"}
    assert ledger_rows(home, "PRAGMA integrity_check") == [("ok",)]
    assert ledger_rows(
        home, "SELECT count(*), count(DISTINCT run_id) FROM runs WHERE verdict = 'reproducible'"
    ) == [(3, 3)]


@pytest.mark.kernel
@pytest.mark.parametrize("damage", ["truncate", "delete-blob", "delete-entry", "garbage-entry"])
def test_damaged_cache_is_detected_and_recomputed(
    damage: str, tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    nb = make_notebook(PIPELINE)
    home = tmp_path / "home"
    run_pipeline(nb, RunOptions(home=str(home)))
    blobs = [p for p in (home / "cache").rglob("*") if p.is_file() and "blobs" in p.parts]
    entries = [p for p in (home / "cache").rglob("*.json") if "entries" in p.parts]
    assert blobs
    assert entries
    if damage == "truncate":
        for blob in blobs:
            blob.write_bytes(blob.read_bytes()[: len(blob.read_bytes()) // 2])
    elif damage == "delete-blob":
        for blob in blobs:
            blob.unlink()
    elif damage == "delete-entry":
        entries[0].unlink()
    else:
        entries[0].write_text('{"key": "truncated', encoding="utf-8")
    outcome = run_pipeline(nb, RunOptions(home=str(home)))
    assert outcome.failure is None
    assert "executed" in {s.status for s in outcome.steps}
    assert "".join(o.get("text", "") for o in outcome.outputs[2]) == "20\n"
    again = run_pipeline(nb, RunOptions(home=str(home)))
    assert {s.status for s in again.steps} == {"cached"}


@pytest.mark.kernel
def test_huge_output_completes_with_bounded_memory(
    tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    nb = make_notebook([("print('x' * 50_000_000)", ["step:huge"])])
    script = (
        "import resource, sys\n"
        "from jupyter_repro.runner import RunOptions, run_pipeline\n"
        f"outcome = run_pipeline({str(nb)!r}, RunOptions(home={str(tmp_path / 'home')!r}))\n"
        "print(outcome.failure, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    failure, max_rss_kib = result.stdout.split()[-2:]
    assert failure == "None"
    assert int(max_rss_kib) < 1_500_000  # 50 MB of output may be held a few times, never unboundedly
    assert time.monotonic() - started < 300


# ------------------------------------------------------------------------------------ hostile input


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli_main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{not utf8", "not UTF-8"),
        (b'{"cells": [', "not valid JSON"),
        (b"[1, 2, 3]", "not a Jupyter notebook"),
        (
            json.dumps({"nbformat": 3, "nbformat_minor": 0, "cells": [], "metadata": {}}).encode(),
            "nbformat version 3",
        ),
        (
            json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [42], "metadata": {}}).encode(),
            "not a valid notebook: cell 0 is not a JSON object",
        ),
    ],
)
@pytest.mark.parametrize("command", ["steps", "run", "verify"])
def test_hostile_files_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str, command: str
) -> None:
    nb = tmp_path / "bad.ipynb"
    nb.write_bytes(content)
    code, err = run_main([command, str(nb)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert str(nb) in lines[0]
    assert nb.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ipynb"]  # no .repro home, nothing else


def test_huge_cell_is_analysed_without_trouble(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = "\n".join(f"x{i} = {i}" for i in range(20_000)) + "\n"
    nb = tmp_path / "big.ipynb"
    nb.write_text(
        json.dumps(build_notebook([(source, ["step:big"]), ("print(x19999)", ["step:use"])])),
        encoding="utf-8",
    )
    code, err = run_main(["steps", str(nb), "--json"], capsys)
    assert code == 0, err


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
cell_like = st.fixed_dictionaries(
    {
        "cell_type": st.sampled_from(["code", "markdown", "raw", "bogus"]),
        "source": st.text(max_size=40) | json_values,
    },
    optional={
        "metadata": st.dictionaries(
            st.sampled_from(["tags", "x"]), st.lists(st.text(max_size=12), max_size=3) | json_values
        ),
        "outputs": json_values,
        "execution_count": json_values,
        "id": st.text(max_size=10),
    },
)
notebook_like = st.fixed_dictionaries(
    {"cells": st.lists(cell_like, max_size=5) | json_values},
    optional={
        "nbformat": st.sampled_from([4, 3, 5, "4", None]),
        "nbformat_minor": st.integers(0, 6),
        "metadata": json_values,
    },
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(notebook_like)
def test_arbitrary_notebook_structures_never_crash_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: dict[str, Any]
) -> None:
    nb = tmp_path / "fuzz.ipynb"
    nb.write_text(json.dumps(document), encoding="utf-8")
    code, err = run_main(["steps", str(nb), "--json"], capsys)
    assert code in (0, 2)
    if code == 2:
        assert len(err.strip().splitlines()) == 1
        assert "Traceback" not in err


def test_foreign_repro_home_is_refused(tmp_path: Path, make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook([("x = 1", ["step:a"])])
    home = tmp_path / "shared"
    home.mkdir()
    home.chmod(0o777)
    with pytest.raises(Exception, match="writable by other users"):
        run_pipeline(nb, RunOptions(home=str(home)))
    assert not (home / "ledger.db").exists()


def test_a_file_as_repro_home_is_a_one_line_error(
    tmp_path: Path, make_notebook: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    nb = make_notebook([("x = 1", ["step:a"])])
    not_a_folder = tmp_path / "plain-file"
    not_a_folder.write_text("", encoding="utf-8")
    code, err = run_main(["run", str(nb), "--home", str(not_a_folder)], capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        f"jupyter repro run: error: {not_a_folder}: cannot use this folder as the repro home: File exists "
        "(pass another folder with --home or JUPYTER_REPRO_HOME)"
    ]


@pytest.mark.kernel
def test_an_unwritable_report_path_is_a_one_line_error(
    tmp_path: Path, make_notebook: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    nb = make_notebook([("print(1)", ["step:a"])])
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    report = blocker / "report.html"  # a folder that cannot exist: its parent is a file
    code, err = run_main(
        ["verify", str(nb), "--home", str(tmp_path / "home"), "--report", str(report)], capsys
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "cannot write the report" in lines[0]
    assert "the verification itself is recorded" in lines[0]
