"""The ledger on real SQLite files: schema migrations, concurrent writers, atomic writes, stat cache."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REPO
from sqlite_utils import Database

from jupyter_repro import ledger_schema
from jupyter_repro.errors import LedgerError, RunNotFoundError
from jupyter_repro.hashing import hash_bytes, hash_file
from jupyter_repro.ledger import LEDGER_FILENAME, Ledger, notebook_key
from jupyter_repro.ledger_schema import MIGRATIONS, SCHEMA_MIGRATIONS
from jupyter_repro.records import CellComparisonRecord, EnvironmentSnapshot, FileRef, Lock

EXPECTED_TABLES = {
    "runs",
    "step_runs",
    "step_files",
    "environments",
    "environment_packages",
    "locks",
    "data_files",
    "file_stats",
    "cache_entries",
    "cell_comparisons",
}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _environment(**packages: str) -> EnvironmentSnapshot:
    return EnvironmentSnapshot(
        implementation="CPython",
        python_version="3.11.7",
        executable="/opt/python/bin/python",
        platform="Linux-6.1-x86_64",
        system="Linux",
        machine="x86_64",
        kernelspec={"name": "python3"},
        packages=packages,
        packages_distributions={name: [name] for name in packages},
    )


def _start(ledger: Ledger, notebook: str = "/nb/a.ipynb", **overrides: object) -> str:
    arguments: dict[str, object] = {
        "parameters": {"n": 1},
        "seed": 0,
        "environment_hash": None,
        "notebook_hash": "blake3:nb",
        **overrides,
    }
    return ledger.start_run("run", notebook, **arguments)  # type: ignore[arg-type]


# --- schema and migrations ---


def test_open_creates_every_table_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "home") as ledger:
        assert ledger.applied_migrations() == list(SCHEMA_MIGRATIONS)
        assert ledger.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    path = tmp_path / "home" / LEDGER_FILENAME
    assert _tables(path) >= EXPECTED_TABLES
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_empty_existing_file_becomes_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_FILENAME
    path.write_bytes(b"")
    with Ledger(path) as ledger:
        assert ledger.applied_migrations() == list(SCHEMA_MIGRATIONS)
    assert _tables(path) >= EXPECTED_TABLES


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    for _ in range(3):
        Ledger.open(tmp_path).close()
    with sqlite3.connect(tmp_path / LEDGER_FILENAME) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations")]
    assert names == list(SCHEMA_MIGRATIONS)


def test_a_ledger_at_the_first_schema_version_is_upgraded_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_FILENAME
    old = Database(path)
    MIGRATIONS.apply(old, stop_before="m002_interruptions_locks_stat_cache")
    old.table("runs").insert(
        {
            "run_id": "20240101-000000-00000000",
            "kind": "verify",
            "notebook": "/nb/old.ipynb",
            "status": "ok",
            "verdict": "reproducible",
            "seed": 7,
            "parameters": '{"x": 1}',
            "started_at": "2024-01-01T00:00:00.000000+00:00",
        }
    )
    old.close()
    assert "file_stats" not in _tables(path)
    assert "lock_hash" not in _columns(path, "runs")

    with Ledger(path) as ledger:
        assert ledger.applied_migrations() == list(SCHEMA_MIGRATIONS)
        run = ledger.get_run("20240101-000000-00000000")
    assert (run.kind, run.verdict, run.seed, dict(run.parameters)) == ("verify", "reproducible", 7, {"x": 1})
    assert run.lock_hash is None
    assert {"pid", "host", "lock_hash", "lock_error"} <= _columns(path, "runs")
    assert "file_stats" in _tables(path)


def test_cache_entries_of_the_previous_schema_version_gain_size_and_last_use(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_FILENAME
    old = Database(path)
    MIGRATIONS.apply(old, stop_before="m003_cache_entry_use")
    old.table("cache_entries").insert(
        {"key": "k", "step": "load", "created_at": "2024-01-01T00:00:00.000000+00:00", "metadata": "{}"}
    )
    old.close()
    assert not {"size_bytes", "last_used"} & _columns(path, "cache_entries")

    with Ledger(path) as ledger:
        assert ledger.applied_migrations() == list(SCHEMA_MIGRATIONS)
        row = ledger.db.execute("SELECT size_bytes, last_used FROM cache_entries WHERE key = 'k'").fetchone()
    assert row == (None, "2024-01-01T00:00:00.000000+00:00")  # never recorded as used: since created


def test_runs_of_the_previous_schema_version_are_local_and_an_imported_run_is_added_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / LEDGER_FILENAME
    old = Database(path)
    MIGRATIONS.apply(old, stop_before="m004_imported_runs")
    old.close()
    assert "imported_from" not in _columns(path, "runs")
    record = {
        "run": {"run_id": "20261202-010203-abcd", "kind": "run", "status": "ok", "verdict": None, "seed": 3},
        "notebook": "nb.ipynb",
        "started_at": "2026-12-02T01:02:03.000000+00:00",
        "finished_at": "2026-12-02T01:02:09.000000+00:00",
    }
    with Ledger(path) as ledger:
        assert ledger.applied_migrations() == list(SCHEMA_MIGRATIONS)
        assert ledger.import_run(record, tmp_path / "nb.ipynb", "s3://team/x") is True
        assert ledger.import_run(record, tmp_path / "nb.ipynb", "s3://team/x") is False
        (run,) = ledger.list_runs(tmp_path / "nb.ipynb")
        assert (run.run_id, run.imported_from, run.summary()["imported_from"]) == (
            "20261202-010203-abcd",
            "s3://team/x",
            "s3://team/x",
        )
        assert ledger.last_run(tmp_path / "nb.ipynb") is None  # never what verify compares with


def test_the_cache_entry_use_migration_is_idempotent(tmp_path: Path) -> None:
    Ledger.open(tmp_path).close()
    db = Database(tmp_path / LEDGER_FILENAME)
    before = _columns(tmp_path / LEDGER_FILENAME, "cache_entries")
    ledger_schema._m003_cache_entry_use(db)  # again, on a file that already has its columns
    db.close()
    assert _columns(tmp_path / LEDGER_FILENAME, "cache_entries") == before >= {"size_bytes", "last_used"}


def test_a_ledger_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    Ledger.open(tmp_path).close()
    with sqlite3.connect(tmp_path / LEDGER_FILENAME) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            ["jupyter_repro", "m999_from_the_future", "2030-01-01"],
        )
    with pytest.raises(LedgerError, match="newer jupyter-repro") as caught:
        Ledger.open(tmp_path)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_sqlite_is_a_ledger_error(tmp_path: Path) -> None:
    (tmp_path / LEDGER_FILENAME).write_bytes(b"this is not a database, just text" * 100)
    with pytest.raises(LedgerError, match="not a usable jupyter-repro ledger") as caught:
        Ledger.open(tmp_path)
    assert str(tmp_path / LEDGER_FILENAME) in str(caught.value)


# --- concurrent writers ---

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from jupyter_repro.ledger import Ledger

    home, go, name, count = sys.argv[2], Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    while not go.exists():
        time.sleep(0.002)
    with Ledger.open(home) as ledger:
        for i in range(count):
            run_id = ledger.start_run("run", f"/nb/{name}.ipynb", parameters={"i": i}, seed=i,
                                      environment_hash=None, notebook_hash=None)
            for step in ("load", "fit"):
                ledger.record_step_run(run_id, step, status="executed", cache_key=f"{name}{i}{step}",
                                       duration_s=0.01, reads=[{"path": f"{name}.csv", "hash": f"h{i}"}],
                                       writes=[{"path": f"{name}-{i}.out", "hash": "h"}])
            ledger.finish_run(run_id, "ok", None, {"run_id": run_id},
                              cells=[{"index": 0, "step": "load", "status": "match"}])
    print("done")
    """
)


def test_two_processes_create_and_write_the_same_ledger_at_once(tmp_path: Path) -> None:
    home, go, count = tmp_path / "home", tmp_path / "go", 40
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(REPO), str(home), str(go), name, str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("alpha", "beta")
    ]
    time.sleep(0.3)  # both are waiting for the signal; then they open a fresh file together
    go.touch()
    outputs = [writer.communicate(timeout=120) for writer in writers]
    for writer, (stdout, stderr) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, stderr
        assert stdout.strip() == "done"

    with Ledger.open(home) as ledger:
        for name in ("alpha", "beta"):
            runs = ledger.list_runs(f"/nb/{name}.ipynb", limit=1000)
            assert len(runs) == count
            assert {run.status for run in runs} == {"ok"}
            assert all(len(ledger.step_runs(run.run_id)) == 2 for run in runs)
        assert ledger.applied_migrations() == list(SCHEMA_MIGRATIONS)
        assert ledger.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert ledger.db.execute("SELECT count(*) FROM step_files").fetchone()[0] == 2 * count * 2 * 2


# --- runs ---


def test_a_run_is_recorded_step_by_step_and_read_back_whole(tmp_path: Path) -> None:
    data = tmp_path / "input.csv"
    data.write_text("a,b\n1,2\n")
    os.utime(data, ns=(1_000_000_000, 1_000_000_000))
    with Ledger.open(tmp_path / "home") as ledger:
        env_hash = ledger.record_environment(_environment(numpy="1.26.4"))
        run_id = _start(ledger, environment_hash=env_hash, git_commit="abc123", git_dirty=True)
        assert ledger.get_run(run_id).status == "running"
        digest = ledger.hash_file(data)
        ledger.record_step_run(
            run_id,
            "load",
            status="executed",
            cache_key="k1",
            duration_s=0.5,
            code_hash="c1",
            code="df = read()",
            reads=[FileRef(str(data), digest)],
            writes=[{"path": "out.parquet", "hash": "blake3:out"}],
        )
        ledger.record_step_run(run_id, "fit", status="cached", cache_key="k2", duration_s=0.0)
        result = {"run_id": run_id, "kind": "run", "status": "ok", "steps": [], "cells": [], "causes": []}
        ledger.finish_run(run_id, "ok", None, result, cells=[CellComparisonRecord(0, "load", "match")])
        detail = ledger.run_detail(run_id)
        versions = ledger.data_file_versions(str(data))

    assert detail.run.status == "ok"
    assert detail.run.finished_at is not None
    assert detail.run.git_commit == "abc123"
    assert detail.run.git_dirty is True
    assert [(s.step, s.status, s.position) for s in detail.steps] == [
        ("load", "executed", 0),
        ("fit", "cached", 1),
    ]
    assert detail.steps[0].reads == (FileRef(str(data), digest),)
    assert detail.steps[0].writes == (FileRef("out.parquet", "blake3:out"),)
    assert detail.cells == (CellComparisonRecord(0, "load", "match"),)
    assert detail.environment is not None
    assert dict(detail.environment.packages) == {"numpy": "1.26.4"}
    assert versions[0].size == data.stat().st_size
    document = detail.to_dict()
    assert document["status"] == "ok"
    assert document["git_commit"] == "abc123"
    assert document["environment"]["packages"] == {"numpy": "1.26.4"}


def test_a_step_whose_files_cannot_be_written_leaves_no_row(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        run_id = _start(ledger)
        broken = FileRef("in.csv", None)  # type: ignore[arg-type]
        with pytest.raises(sqlite3.IntegrityError):
            ledger.record_step_run(
                run_id, "load", status="executed", cache_key="k", duration_s=1, reads=[broken]
            )
        assert ledger.step_runs(run_id) == []
        assert ledger.db.execute("SELECT count(*) FROM step_files").fetchone()[0] == 0
        assert ledger.db.execute("SELECT count(*) FROM data_files").fetchone()[0] == 0


def test_finishing_is_atomic_with_its_cell_verdicts(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        run_id = _start(ledger)
        broken = CellComparisonRecord(0, "main", None)  # type: ignore[arg-type]
        with pytest.raises(sqlite3.IntegrityError):
            ledger.finish_run(run_id, "ok", "reproducible", {"run_id": run_id}, cells=[broken])
        run = ledger.get_run(run_id)
        assert (run.status, run.verdict, run.result) == ("running", None, None)


def test_recording_into_an_unknown_run_is_refused(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger, pytest.raises(RunNotFoundError):
        ledger.record_step_run("nope", "main", status="executed", cache_key=None, duration_s=None)


def test_runs_are_listed_newest_first_and_filtered_by_notebook(tmp_path: Path) -> None:
    notebook = tmp_path / "a.ipynb"
    with Ledger.open(tmp_path / "home") as ledger:
        first = _start(ledger, str(notebook))
        second = ledger.start_run(
            "verify", notebook, parameters={}, seed=0, environment_hash=None, notebook_hash=None
        )
        other = _start(ledger, str(tmp_path / "b.ipynb"))
        assert [r.run_id for r in ledger.list_runs()] == [other, second, first]
        assert [r.run_id for r in ledger.list_runs(notebook)] == [second, first]
        assert [r.run_id for r in ledger.list_runs(notebook, kind="verify")] == [second]
        assert [r.run_id for r in ledger.list_runs(limit=1)] == [other]
        assert ledger.get_run(first).notebook == notebook_key(notebook)


def test_last_run_skips_unfinished_runs_and_can_look_before_a_run(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        older = _start(ledger)
        ledger.finish_run(older, "ok", None, None)
        newer = _start(ledger)
        ledger.finish_run(newer, "failed", None, None)
        _start(ledger)  # still running: never a baseline
        last = ledger.last_run("/nb/a.ipynb")
        previous = ledger.last_run("/nb/a.ipynb", before=newer)
    assert last is not None
    assert last.run_id == newer
    assert previous is not None
    assert previous.run_id == older


def test_run_ids_resolve_by_unique_prefix_and_unknown_ids_fail_in_one_line(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        run_id = _start(ledger)
        assert ledger.get_run(run_id[:-2]).run_id == run_id
        with pytest.raises(RunNotFoundError) as caught:
            ledger.get_run("20000101-000000-deadbeef")
        _start(ledger)
        with pytest.raises(RunNotFoundError, match="ambiguous"):
            ledger.get_run(run_id[:4])
    assert "unknown run id '20000101-000000-deadbeef'" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_run_ids_are_unique_and_sort_by_start_time() -> None:
    from jupyter_repro.ledger import new_run_id

    ids = [new_run_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    before = new_run_id()
    time.sleep(1.05)
    assert new_run_id() > before


WRITE_AND_DIE = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, sys.argv[1])
    from jupyter_repro.ledger import Ledger
    ledger = Ledger.open(sys.argv[2])
    run_id = ledger.start_run("run", "/nb/a.ipynb", parameters={}, seed=0,
                              environment_hash=None, notebook_hash=None)
    print(run_id, flush=True)
    os._exit(9)  # dies without finishing the run
    """
)


def test_runs_of_a_dead_process_are_marked_interrupted_on_open(tmp_path: Path) -> None:
    died = subprocess.run(
        [sys.executable, "-c", WRITE_AND_DIE, str(REPO), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert died.returncode == 9, died.stderr
    dead_run = died.stdout.strip()
    with Ledger.open(tmp_path) as ledger:
        mine = _start(ledger)
        assert ledger.mark_interrupted() == []  # this process is alive: its run stays running
        dead = ledger.get_run(dead_run)
        assert dead.status == "interrupted"
        assert dead.finished_at is not None
        assert ledger.get_run(mine).status == "running"


# --- environments, locks, cache entries ---


def test_environments_are_stored_once_per_hash_with_queryable_packages(tmp_path: Path) -> None:
    snapshot = _environment(pandas="2.2.1", numpy="1.26.4")
    lock = Lock(text="pandas==2.2.1\n", hash=hash_bytes(b"pandas==2.2.1\n"), requirements=("pandas==2.2.1",))
    with Ledger.open(tmp_path) as ledger:
        first = ledger.record_environment(snapshot.with_lock(lock, None))
        again = ledger.record_environment(snapshot)
        newer = ledger.record_environment(_environment(pandas="2.2.2", numpy="1.26.4"))
        stored = ledger.get_environment(first)
        assert ledger.get_lock(lock.hash) == lock
        assert ledger.get_environment("blake3:missing") is None
        count = ledger.db.execute("SELECT count(*) FROM environments").fetchone()[0]
        pandas = ledger.db.execute(
            "SELECT version FROM environment_packages WHERE name = 'pandas' ORDER BY version"
        ).fetchall()
    assert first == again == snapshot.hash
    assert newer != first
    assert count == 2
    assert [row[0] for row in pandas] == ["2.2.1", "2.2.2"]
    assert stored == snapshot


def test_a_run_shows_its_own_lock_or_why_it_has_none(tmp_path: Path) -> None:
    snapshot = _environment(six="1.17.0")
    lock = Lock(text="six==1.17.0\n", hash=hash_bytes(b"six==1.17.0\n"), requirements=("six==1.17.0",))
    with Ledger.open(tmp_path) as ledger:
        env_hash = ledger.record_environment(snapshot.with_lock(lock, None))
        locked = _start(ledger, environment_hash=env_hash, lock_hash=lock.hash)
        unlocked = _start(ledger, environment_hash=env_hash, lock_error="pip-compile failed: no index")
        with_lock = ledger.run_detail(locked).environment
        without = ledger.run_detail(unlocked).environment
    assert with_lock is not None
    assert with_lock.lock == lock
    assert without is not None
    assert without.lock is None
    assert without.lock_error == "pip-compile failed: no index"


def test_cache_entries_are_put_read_replaced_and_deleted(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        assert ledger.get_cache_entry("k") is None
        ledger.put_cache_entry("k", "load", notebook="/nb/a.ipynb", location="cache/k", metadata={"n": 1})
        ledger.put_cache_entry("k", "load", notebook="/nb/a.ipynb", location="cache/k2", metadata={"n": 2})
        entry = ledger.get_cache_entry("k")
        assert entry is not None
        assert (entry.step, entry.location, dict(entry.metadata)) == ("load", "cache/k2", {"n": 2})
        ledger.delete_cache_entry("k")
        assert ledger.get_cache_entry("k") is None


def _cache_rows(home: Path) -> dict[str, dict[str, object]]:
    """The ``cache_entries`` table as a user reads it with sqlite3 (the public format)."""
    with sqlite3.connect(home / LEDGER_FILENAME) as conn:
        conn.row_factory = sqlite3.Row
        return {row["key"]: dict(row) for row in conn.execute("SELECT * FROM cache_entries")}


def test_a_recorded_cache_entry_has_its_size_creation_and_last_use(tmp_path: Path) -> None:
    notebook = tmp_path / "nb" / "a.ipynb"
    with Ledger.open(tmp_path / "home") as ledger:
        run_id = _start(ledger, str(notebook))
        ledger.record_cache_entry(
            "blake3:k1", "load", notebook, size_bytes=1234, run_id=run_id, location="entries/k1"
        )
    row = _cache_rows(tmp_path / "home")["blake3:k1"]
    assert (row["step"], row["notebook"], row["run_id"], row["location"]) == (
        "load",
        notebook_key(notebook),
        run_id,
        "entries/k1",
    )
    assert row["size_bytes"] == 1234
    assert row["created_at"] == row["last_used"]
    assert row["metadata"] == "{}"
    with Ledger.open(tmp_path / "home") as reopened:
        entry = reopened.get_cache_entry("blake3:k1")
    assert entry is not None
    assert (entry.step, entry.run_id) == ("load", run_id)


def test_recording_a_cache_entry_again_keeps_its_creation_and_updates_the_rest(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        ledger.record_cache_entry("k", "load", "/nb/a.ipynb", size_bytes=10, run_id="r1")
        first = _cache_rows(tmp_path)["k"]
        time.sleep(0.01)
        ledger.record_cache_entry("k", "load", "/nb/a.ipynb", size_bytes=20, run_id="r2", metadata={"n": 1})
    again = _cache_rows(tmp_path)["k"]
    assert len(_cache_rows(tmp_path)) == 1
    assert again["created_at"] == first["created_at"]
    assert str(again["last_used"]) > str(first["last_used"])
    assert (again["size_bytes"], again["run_id"], again["metadata"]) == (20, "r2", '{"n": 1}')


def test_touching_a_cache_entry_moves_only_its_last_use(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        ledger.record_cache_entry("old", "load", "/nb/a.ipynb", size_bytes=1, run_id="r1")
        time.sleep(0.01)
        ledger.record_cache_entry("new", "fit", "/nb/a.ipynb", size_bytes=2, run_id="r1")
        before = _cache_rows(tmp_path)
        time.sleep(0.01)
        assert ledger.touch_cache_entry("old") is True
        assert ledger.touch_cache_entry("never-stored") is False
    after = _cache_rows(tmp_path)
    assert set(after) == {"old", "new"}  # touching an unknown key creates nothing
    assert str(after["old"]["last_used"]) > str(before["new"]["last_used"])
    assert {key: value for key, value in after["old"].items() if key != "last_used"} == {
        key: value for key, value in before["old"].items() if key != "last_used"
    }
    assert after["new"] == before["new"]
    with sqlite3.connect(tmp_path / LEDGER_FILENAME) as conn:
        least_recent = conn.execute("SELECT key FROM cache_entries ORDER BY last_used").fetchall()
    assert [row[0] for row in least_recent] == ["new", "old"]


def test_put_cache_entry_rows_count_as_used_when_written(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        ledger.put_cache_entry("k", "load")
    row = _cache_rows(tmp_path)["k"]
    assert row["last_used"] == row["created_at"]
    assert row["size_bytes"] is None


# --- the stat cache ---

PAST_NS = 1_600_000_000 * 10**9


def _old_file(path: Path, content: bytes, mtime_ns: int = PAST_NS) -> Path:
    path.write_bytes(content)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_an_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    data = _old_file(tmp_path / "data.bin", os.urandom(3 * 1024 * 1024 + 17))
    with Ledger.open(tmp_path / "home") as ledger:
        first = ledger.hash_file(data)
        assert ledger.bytes_read == data.stat().st_size
        second = ledger.hash_file(data)
        assert ledger.bytes_read == data.stat().st_size  # nothing more was read
    assert first == second == hash_file(data)
    with Ledger.open(tmp_path / "home") as reopened:  # the cache lives in the ledger, not the process
        assert reopened.hash_file(data) == first
        assert reopened.bytes_read == 0


def test_a_touched_file_is_read_once_more_and_keeps_its_hash(tmp_path: Path) -> None:
    data = _old_file(tmp_path / "data.csv", b"x,y\n1,2\n")
    with Ledger.open(tmp_path / "home") as ledger:
        first = ledger.hash_file(data)
        os.utime(data, ns=(PAST_NS + 10**9, PAST_NS + 10**9))  # touch: new mtime, same bytes
        assert ledger.hash_file(data) == first
        assert ledger.files_read == 2
        assert ledger.hash_file(data) == first
        assert ledger.files_read == 2  # the new stat is cached in turn


def test_a_changed_file_gets_a_new_hash(tmp_path: Path) -> None:
    data = _old_file(tmp_path / "data.csv", b"x,y\n1,2\n")
    with Ledger.open(tmp_path / "home") as ledger:
        first = ledger.hash_file(data)
        _old_file(data, b"x,y\n1,3\n", PAST_NS + 10**9)  # same size, different content, later mtime
        second = ledger.hash_file(data)
    assert second != first
    assert second == hash_bytes(b"x,y\n1,3\n")


def test_a_file_replaced_with_the_same_size_and_mtime_is_caught_by_its_inode(tmp_path: Path) -> None:
    data = _old_file(tmp_path / "data.csv", b"aaaa")
    with Ledger.open(tmp_path / "home") as ledger:
        first = ledger.hash_file(data)
        # same size and mtime, but created while the original exists: necessarily another inode
        replacement = _old_file(tmp_path / "new.csv", b"bbbb")
        os.replace(replacement, data)
        second = ledger.hash_file(data)
    assert second != first
    assert second == hash_bytes(b"bbbb")


def test_a_file_modified_too_recently_is_not_trusted_from_the_cache(tmp_path: Path) -> None:
    future_ns = time.time_ns() + 3600 * 10**9  # mtime not yet settled when hashed
    data = _old_file(tmp_path / "fresh.csv", b"1,2,3\n", future_ns)
    with Ledger.open(tmp_path / "home") as ledger:
        ledger.hash_file(data)
        ledger.hash_file(data)
        assert ledger.files_read == 2


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger, pytest.raises(FileNotFoundError):
        ledger.hash_file(tmp_path / "absent.csv")
