"""``jupyter repro doctor``: check a repro home's ledger and artifact store, and repair what can be.

The cache already treats anything damaged as absent (a step whose entry or blob fails its hash is
recomputed), so damage never gives a wrong result; it only costs a recomputation on every run and
hides itself. The doctor makes it visible and removes it, so the home is back to a known-good state:

* the ledger: ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``, ``cache_entries`` rows
  whose entry file is gone, ``runs`` whose ``runs/RUN_ID/`` folder is gone (a warning only: runs are
  history, and a user may delete old run folders to save space; the ledger row still says what ran);
* the artifact store: every entry file loads (its checksum holds) and every blob it names exists and
  verifies; every blob's content has the digest of its name; nothing was left in ``cache/tmp`` by a
  crashed write (files older than :data:`STRAY_TEMP_AGE_S`; younger ones may be a write in progress).

:func:`diagnose` only reads. It opens the ledger with plain :mod:`sqlite3`, read-only in effect
(``query_only``), rather than through :class:`~jupyter_repro.ledger.Ledger`, which migrates the schema
and marks dead runs on open: a checker must not write to the file it examines. :func:`repair` removes
broken entries (file and ledger row), bad blobs and stray temporary files; everything removed is a
cache that the next run recomputes. A ledger that fails its integrity check cannot be repaired in place
(SQLite would have to rebuild it, and what it lost is lost): the problem says what to do instead.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_repro import hashing, layout
from jupyter_repro.cache import ArtifactStore
from jupyter_repro.ledger import LEDGER_FILENAME, Ledger

STRAY_TEMP_AGE_S = 3600.0
"""A file in ``cache/tmp`` older than this is left over from a crash, not a write in progress."""

ERROR = "error"
WARNING = "warning"

_HEX2 = re.compile(r"^[0-9a-f]{2}$")
_HEX62 = re.compile(r"^[0-9a-f]{62}$")
_CHECKABLE = frozenset({hashing.ALGORITHM, "sha256"})
_REMOVE_ENTRY = "remove the entry (the step recomputes on the next run)"
_CORRUPT_LEDGER_HINT = (
    "cannot be repaired in place: move ledger.db away to start a new ledger (run history is lost), "
    "or salvage it with 'sqlite3 ledger.db .recover | sqlite3 recovered.db'"
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a repro home.

    ``path`` is the file concerned (absolute), ``key`` the cache key for entry problems. ``action`` is
    what :func:`repair` does about it, or None when it cannot repair it (then ``detail`` or ``hint``
    says what to do). A ``warning`` does not make the home unhealthy.
    """

    kind: str
    path: str
    detail: str
    action: str | None
    key: str | None = None
    severity: str = ERROR
    hint: str | None = None
    repaired: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "key": self.key,
            "detail": self.detail,
            "severity": self.severity,
            "action": self.action,
            "hint": self.hint,
            "repaired": self.repaired,
        }


def is_healthy(problems: Iterable[Problem]) -> bool:
    """Whether every error is repaired (warnings do not count)."""
    return all(problem.repaired or problem.severity != ERROR for problem in problems)


# --- diagnosis -----------------------------------------------------------------------------------


def diagnose(home: str | Path, *, now: float | None = None) -> list[Problem]:
    """Every problem in the repro home ``home``; reads only (each blob is hashed once)."""
    folder = Path(home)
    store = ArtifactStore(folder)
    blobs, problems = _check_blobs(store)
    problems.extend(_check_entries(store, blobs))
    problems.extend(_check_temp(store, time.time() if now is None else now))
    problems.extend(_check_ledger(folder, store))
    return problems


def _check_blobs(store: ArtifactStore) -> tuple[dict[str, bool], list[Problem]]:
    """Hash every blob; return ``{digest: content matches}`` and the problems found."""
    verified: dict[str, bool] = {}
    problems: list[Problem] = []
    if not store.blobs.is_dir():
        return verified, problems
    for algorithm_dir in sorted(store.blobs.iterdir()):
        if algorithm_dir.name not in _CHECKABLE:
            continue  # an algorithm this process cannot compute: neither trusted nor condemned
        for path in sorted(algorithm_dir.rglob("*")):
            if path.is_dir():
                continue
            prefix = path.parent
            if prefix.parent != algorithm_dir or not _HEX2.match(prefix.name) or not _HEX62.match(path.name):
                problems.append(
                    Problem("blob-misnamed", str(path), "not named by a digest", "remove the file")
                )
                continue
            digest = f"{algorithm_dir.name}:{prefix.name}{path.name}"
            verified[digest] = store.verify_blob(digest)
            if not verified[digest]:
                problems.append(
                    Problem(
                        "blob-damaged", str(path), f"content does not hash to {digest}", "remove the blob"
                    )
                )
    return verified, problems


def _check_entries(store: ArtifactStore, blobs: dict[str, bool]) -> list[Problem]:
    """Entries that do not load, or that name a blob that is missing or damaged."""
    problems = []
    for key in store.entry_keys():
        path = str(store.entry_path(key) or store.entries / key)
        entry = store.load_entry(key)
        if entry is None:
            problems.append(
                Problem(
                    "entry-unreadable",
                    path,
                    "entry file fails to load (bad checksum, JSON or format)",
                    _REMOVE_ENTRY,
                    key=key,
                )
            )
            continue
        for name, record in sorted(entry.variables.items()):
            digest = str(record.get("blob"))
            blob = store.blob_path(digest)
            if blob is None or not blob.is_file():
                kind, detail = "entry-blob-missing", f"variable {name!r}: blob {digest} is missing"
            elif not (blobs[digest] if digest in blobs else store.verify_blob(digest)):
                kind, detail = "entry-blob-damaged", f"variable {name!r}: blob {digest} is damaged"
            else:
                continue
            problems.append(Problem(kind, path, f"step {entry.step!r}, {detail}", _REMOVE_ENTRY, key=key))
            break  # one reason is enough: the entry goes as a whole
    return problems


def _check_temp(store: ArtifactStore, now: float) -> list[Problem]:
    """Files a crashed write left in ``cache/tmp`` (older than :data:`STRAY_TEMP_AGE_S`)."""
    if not store.tmp.is_dir():
        return []
    problems = []
    for path in sorted(store.tmp.iterdir()):
        try:
            age = now - path.lstat().st_mtime
        except OSError:
            continue  # a write in progress renamed it away
        if age > STRAY_TEMP_AGE_S and not path.is_dir():
            problems.append(
                Problem(
                    "tmp-stray",
                    str(path),
                    f"left by an interrupted write {age / 3600:.1f} h ago",
                    "remove the file",
                )
            )
    return problems


def _check_ledger(home: Path, store: ArtifactStore) -> list[Problem]:
    path = home / LEDGER_FILENAME
    if not path.is_file():
        return []  # a home that never recorded a run: nothing to check
    try:
        connection = sqlite3.connect(str(path), timeout=30)
    except sqlite3.Error as error:
        return [_corrupt_ledger(path, f"cannot open: {error}")]
    try:
        return _query_ledger(connection, path, home, store)
    except sqlite3.DatabaseError as error:
        return [_corrupt_ledger(path, str(error))]
    finally:
        connection.close()


def _query_ledger(
    connection: sqlite3.Connection, path: Path, home: Path, store: ArtifactStore
) -> list[Problem]:
    connection.execute("PRAGMA query_only = ON")
    messages = [str(row[0]) for row in connection.execute("PRAGMA integrity_check(20)")]
    if messages != ["ok"]:
        return [_corrupt_ledger(path, f"integrity check failed: {messages[0]} ({len(messages)} message(s))")]
    problems = []
    violations: dict[tuple[str, str], int] = {}
    for table, _rowid, parent, _fkid in connection.execute("PRAGMA foreign_key_check"):
        violations[(table, parent)] = violations.get((table, parent), 0) + 1
    for (table, parent), count in sorted(violations.items()):
        problems.append(
            Problem(
                "ledger-foreign-key",
                str(path),
                f"{count} row(s) of {table} point at missing {parent} rows",
                None,
                hint="not repaired: the rows are run history; delete them with sqlite3 if unwanted",
            )
        )
    tables = {
        str(row[0]) for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    if "cache_entries" in tables:
        for (key,) in connection.execute("SELECT key FROM cache_entries ORDER BY key"):
            entry = store.entry_path(str(key))
            if entry is None or not entry.is_file():
                problems.append(
                    Problem(
                        "entry-row-without-file",
                        str(entry or path),
                        "cache_entries row whose entry file is missing",
                        "remove the ledger row",
                        key=str(key),
                    )
                )
    if "runs" in tables:
        problems.extend(_missing_run_folders(connection, home))
    return problems


def _missing_run_folders(connection: sqlite3.Connection, home: Path) -> list[Problem]:
    """Runs recorded here whose folder is gone (imported runs never had one)."""
    columns = {str(row[1]) for row in connection.execute("PRAGMA table_info(runs)")}
    where = " WHERE imported_from IS NULL" if "imported_from" in columns else ""
    return [
        Problem(
            "run-folder-missing",
            str(layout.run_dir(home, str(run_id))),
            f"run {run_id}: its folder (executed notebook, report) is gone",
            None,
            severity=WARNING,
            hint="kept: the ledger still records the run",
        )
        for (run_id,) in connection.execute(f"SELECT run_id FROM runs{where} ORDER BY started_at")
        if not layout.run_dir(home, str(run_id)).is_dir()
    ]


def _corrupt_ledger(path: Path, detail: str) -> Problem:
    return Problem("ledger-corrupt", str(path), " ".join(detail.split()), None, hint=_CORRUPT_LEDGER_HINT)


# --- repair --------------------------------------------------------------------------------------


def repair(home: str | Path, problems: Sequence[Problem]) -> list[Problem]:
    """Do each problem's ``action``; return the problems with ``repaired`` set where it was done.

    Removing an entry removes its ledger row too, so ``gc`` and ``cache_entries`` queries do not count
    it. The ledger is opened (through :class:`~jupyter_repro.ledger.Ledger`) only when a row must go
    and the ledger is not corrupt.
    """
    folder = Path(home)
    store = ArtifactStore(folder)
    ledger_usable = (folder / LEDGER_FILENAME).is_file() and not any(
        problem.kind == "ledger-corrupt" for problem in problems
    )
    rows = sorted(
        {problem.key for problem in problems if problem.key is not None and problem.action is not None}
    )
    rows_removed = _delete_cache_rows(folder, rows) if ledger_usable and rows else False
    repaired = []
    for problem in problems:
        done = False
        if problem.kind in ("entry-unreadable", "entry-blob-missing", "entry-blob-damaged"):
            store.remove_entry(str(problem.key))  # its row went above (a corrupt ledger keeps it)
            done = True
        elif problem.kind == "entry-row-without-file":
            done = rows_removed
        elif problem.kind in ("blob-damaged", "blob-misnamed", "tmp-stray"):
            Path(problem.path).unlink(missing_ok=True)
            done = True
        repaired.append(dataclasses.replace(problem, repaired=done))
    return repaired


def _delete_cache_rows(home: Path, keys: Sequence[str]) -> bool:
    with Ledger.open(home) as ledger:
        for key in keys:
            ledger.delete_cache_entry(key)
    return True
