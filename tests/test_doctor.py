"""``jupyter repro doctor``: real homes made by real runs, damaged the ways disks and crashes damage them."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_repro import cli
from jupyter_repro.cache import ArtifactStore, CacheEntry
from jupyter_repro.commands import doctor as doctor_command
from jupyter_repro.doctor import Problem, diagnose, is_healthy, repair
from jupyter_repro.runner import RunOptions, RunOutcome, run_pipeline

pytestmark = pytest.mark.kernel

# independent producers and one consumer of ``a`` and ``b`` (so their values are stored as blobs): damage
# to one step's entry recomputes that step (and what depends on it) and replays the others
PIPELINE = [
    ("a = [1, 2]", ["step:a"]),
    ("b = [3, 4]", ["step:b"]),
    ("c = {'k': 5}", ["step:c"]),
    ("d = 'dee'", ["step:d"]),
    ("e = 7.5", ["step:e"]),
    ("total = sum(a) + sum(b)\nprint(total)", ["step:total"]),
]


@pytest.fixture
def home(tmp_path: Path, make_notebook: Callable[..., Path]) -> Path:
    """A home made by one real run of :data:`PIPELINE` (every step executed and stored)."""
    nb = make_notebook(PIPELINE)
    outcome = run(nb)
    assert outcome.failure is None
    assert set(statuses(outcome).values()) == {"executed"}
    return tmp_path / ".repro"


def run(nb: Path) -> RunOutcome:
    return run_pipeline(nb, RunOptions(home=str(nb.parent / ".repro")))


def statuses(outcome: RunOutcome) -> dict[str, str]:
    return {step.step.name: step.status for step in outcome.steps}


def doctor(home: Path, *flags: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The command as the CLI runs it (its own arguments and ``--home``), with what it printed."""
    parser = argparse.ArgumentParser()
    doctor_command.add_arguments(parser)
    cli.add_common_arguments(parser)
    capsys.readouterr()
    code = doctor_command.run(parser.parse_args([*flags, "--home", str(home)]))
    return code, capsys.readouterr().out


def entries_by_step(home: Path) -> dict[str, CacheEntry]:
    store = ArtifactStore(home)
    loaded = [store.load_entry(key) for key in store.entry_keys()]
    return {entry.step: entry for entry in loaded if entry is not None}


def blob_of(home: Path, entry: CacheEntry, variable: str) -> Path:
    path = ArtifactStore(home).blob_path(entry.variables[variable]["blob"])
    assert path is not None
    assert path.is_file()
    return path


def ledger_rows(home: Path, sql: str) -> list[Any]:
    with sqlite3.connect(str(home / "ledger.db")) as connection:
        return list(connection.execute(sql))


def test_a_healthy_home_has_no_problems(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diagnose(home) == []
    code, out = doctor(home, capsys=capsys)
    assert code == 0
    assert out.strip() == f"{home} is healthy"
    code, out = doctor(home, "--json", capsys=capsys)
    assert code == 0
    assert json.loads(out) == {"home": str(home), "problems": [], "healthy": True}


def test_each_kind_of_damage_is_named_and_repair_recomputes_only_the_damaged_steps(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = entries_by_step(home)
    store = ArtifactStore(home)
    truncated = blob_of(home, entries["a"], "a")
    truncated.write_bytes(truncated.read_bytes()[:5])
    deleted = blob_of(home, entries["b"], "b")
    deleted.unlink()
    edited = store.entry_path(entries["c"].key)
    assert edited is not None
    text = edited.read_text(encoding="utf-8")
    assert '"step": "c"' in text
    edited.write_text(text.replace('"step": "c"', '"step": "x"'), encoding="utf-8")
    gone = store.entry_path(entries["d"].key)
    assert gone is not None
    gone.unlink()
    stray = store.tmp / "blob.crashed"
    store.tmp.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"half a blob")
    old = time.time() - 2 * 3600
    os.utime(stray, (old, old))
    fresh = store.tmp / "blob.in-progress"  # a write happening now must be left alone
    fresh.write_bytes(b"being written")

    found = {(p.kind, p.key or p.path) for p in diagnose(home)}
    assert found == {
        ("blob-damaged", str(truncated)),
        ("entry-blob-damaged", entries["a"].key),
        ("entry-blob-missing", entries["b"].key),
        ("entry-unreadable", entries["c"].key),
        ("entry-row-without-file", entries["d"].key),
        ("tmp-stray", str(stray)),
    }
    code, out = doctor(home, capsys=capsys)
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 7
    assert lines[-1] == f"6 problem(s) in {home}; run with --repair to fix"
    assert f"blob-damaged: {truncated.relative_to(home)}: content does not hash to" in out
    assert "(--repair would remove the entry (the step recomputes on the next run))" in out
    assert f"tmp-stray: cache/tmp/{stray.name}:" in out

    code, out = doctor(home, "--repair", "--json", capsys=capsys)
    document = json.loads(out)
    assert code == 0
    assert document["healthy"] is True
    assert len(document["problems"]) == 6
    assert all(p["repaired"] for p in document["problems"])
    assert not truncated.exists()
    assert not stray.exists()
    assert fresh.exists()
    assert set(entries_by_step(home)) == {"e", "total"}
    assert ledger_rows(home, "SELECT step FROM cache_entries ORDER BY step") == [("e",), ("total",)]

    code, out = doctor(home, capsys=capsys)
    assert (code, out.strip()) == (0, f"{home} is healthy")

    again = run(home.parent / "nb.ipynb")
    assert statuses(again) == {
        "a": "executed",
        "b": "executed",
        "c": "executed",
        "d": "executed",
        "e": "cached",
        "total": "executed",  # downstream of recomputed steps: its key needs their new results
    }
    assert diagnose(home) == []


def test_an_entry_row_without_file_alone_is_repaired_by_removing_the_row(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = entries_by_step(home)["e"].key
    assert ArtifactStore(home).remove_entry(key)
    problems = diagnose(home)
    assert [(p.kind, p.key, p.repaired) for p in problems] == [("entry-row-without-file", key, False)]
    assert not is_healthy(problems)
    fixed = repair(home, problems)
    assert [p.repaired for p in fixed] == [True]
    assert is_healthy(fixed)
    assert ledger_rows(home, f"SELECT count(*) FROM cache_entries WHERE key = '{key}'") == [(0,)]
    assert diagnose(home) == []


def test_a_missing_run_folder_is_a_warning_that_is_kept(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run_id,) = ledger_rows(home, "SELECT run_id FROM runs")[0]
    folder = home / "runs" / run_id
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()
    code, out = doctor(home, "--repair", capsys=capsys)
    assert code == 0
    assert f"run-folder-missing (warning): runs/{run_id}: run {run_id}:" in out
    assert "(kept: the ledger still records the run)" in out
    assert ledger_rows(home, "SELECT count(*) FROM runs") == [(1,)]


def test_a_corrupt_ledger_is_named_in_one_line_and_not_repaired_in_place(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = home / "ledger.db"
    size = ledger.stat().st_size
    with ledger.open("r+b") as handle:
        handle.seek(size // 4)
        handle.write(b"\xa5" * (size // 2))
    before = ledger.read_bytes()

    problems = diagnose(home)
    assert [p.kind for p in problems] == ["ledger-corrupt"]
    for flags in ((), ("--repair",)):
        code, out = doctor(home, *flags, capsys=capsys)
        assert code == 1
        lines = out.strip().splitlines()
        assert len(lines) == 2
        assert lines[0].startswith("ledger-corrupt: ledger.db: ")
        assert "move ledger.db away" in lines[0]
        assert "Traceback" not in out
        assert lines[1] == f"1 problem(s) in {home}"
    code, out = doctor(home, "--json", "--repair", capsys=capsys)
    document = json.loads(out)
    assert code == 1
    assert document["healthy"] is False
    assert [(p["kind"], p["repaired"]) for p in document["problems"]] == [("ledger-corrupt", False)]
    assert ledger.read_bytes() == before  # neither check nor repair wrote to it


def test_foreign_key_violations_are_named_and_left_to_the_user(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(str(home / "ledger.db")) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("DELETE FROM runs")
    problems = repair(home, diagnose(home))
    kinds = {(p.kind, p.detail, p.repaired) for p in problems if p.kind == "ledger-foreign-key"}
    assert ("ledger-foreign-key", "6 row(s) of step_runs point at missing runs rows", False) in kinds
    assert not is_healthy(problems)


def test_an_empty_home_is_healthy(tmp_path: Path) -> None:
    assert diagnose(tmp_path / "nothing-here") == []


def test_a_problem_line_says_what_repair_would_do(tmp_path: Path) -> None:
    problem = Problem("tmp-stray", str(tmp_path / "cache/tmp/x"), "old", "remove the file")
    line = doctor_command._line(problem, tmp_path, repairing=False)
    assert line == "tmp-stray: cache/tmp/x: old (--repair would remove the file)"


def test_the_cli_runs_doctor(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["doctor", "--home", str(home)]) == 0
    assert capsys.readouterr().out.strip() == f"{home} is healthy"
