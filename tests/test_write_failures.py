"""Disk full, quota and read-only homes during a run: one line naming the file, nothing half-written, the
ledger intact, the user's notebook untouched (real kernels; the failures are injected, because a full
disk cannot be made on demand here: each write site raises the OSError the kernel would give)."""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook

from jupyter_repro import fsio
from jupyter_repro.cache import ArtifactStore
from jupyter_repro.errors import LedgerError, PathError
from jupyter_repro.ledger import Ledger
from jupyter_repro.runner import RunOptions, run_pipeline

CELLS = [("values = [1, 2, 3]", ["step:load"]), ("print(sum(values))", ["step:total"])]


def notebook(folder: Path) -> Path:
    path = folder / "nb.ipynb"
    path.write_text(json.dumps(build_notebook(CELLS)), encoding="utf-8")
    return path


def disk_full(path: str = "/repro/cache") -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", path)


def entry_files(home: Path) -> list[Path]:
    return sorted((home / "cache" / "entries").glob("*.json"))


@pytest.mark.kernel
@pytest.mark.parametrize("site", ["save_entry", "put_file"])
def test_a_full_disk_while_storing_a_step_fails_it_in_one_line_with_no_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, site: str
) -> None:
    path = notebook(tmp_path)
    saved = path.read_bytes()

    def full(*args: Any, **kwargs: Any) -> Any:
        raise disk_full()

    monkeypatch.setattr(ArtifactStore, site, full)
    outcome = run_pipeline(path, RunOptions(home=str(tmp_path / ".repro")))
    assert outcome.steps[0].status == "failed"
    assert outcome.failure is not None
    assert "could not be stored: No space left on device (/repro/cache)" in outcome.failure
    assert "jupyter repro gc" in outcome.failure
    assert "\n" not in outcome.failure
    assert entry_files(tmp_path / ".repro") == []  # no cache entry, not even half of one
    assert path.read_bytes() == saved
    with Ledger.open(tmp_path / ".repro") as ledger:
        run = ledger.get_run(outcome.run_id)
        assert run.status == "failed"  # recorded whole
        assert ledger.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.kernel
def test_a_full_disk_while_writing_the_executed_notebook_is_one_line_and_the_run_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = notebook(tmp_path)
    original: Callable[..., Any] = fsio.AtomicFile.commit

    def commit(self: Any, target: Any) -> Any:
        if str(target).endswith("executed.ipynb"):
            raise disk_full(str(target))
        return original(self, target)

    monkeypatch.setattr(fsio.AtomicFile, "commit", commit)
    with pytest.raises(PathError) as raised:
        run_pipeline(path, RunOptions(home=str(tmp_path / ".repro")))
    message = str(raised.value)
    assert "cannot write the executed notebook: No space left on device" in message
    assert "executed.ipynb" in message
    assert "\n" not in message
    with Ledger.open(tmp_path / ".repro") as ledger:
        (run,) = ledger.list_runs()
        assert run.status == "interrupted"  # closed, not left 'running'
    leftovers = [p for p in (tmp_path / ".repro").rglob("*") if p.name.startswith(".executed.ipynb")]
    assert leftovers == []  # the temporary file went with the failure


def test_a_full_disk_in_the_ledger_is_one_line_and_rolls_the_transaction_back(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        before = ledger.db.execute("SELECT count(*) FROM runs").fetchone()[0]
        row = "INSERT INTO runs (run_id, kind, notebook, status, started_at) VALUES ('r', 'r', 'n', 'o', 't')"

        def full_after_a_row() -> None:
            with ledger.transaction():
                ledger.db.execute(row)
                raise sqlite3.OperationalError("database or disk is full")

        with pytest.raises(LedgerError) as raised:
            full_after_a_row()
        assert "cannot write the ledger: database or disk is full" in str(raised.value)
        assert "jupyter repro gc" in str(raised.value)
        assert ledger.db.execute("SELECT count(*) FROM runs").fetchone()[0] == before  # nothing kept
