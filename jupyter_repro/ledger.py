"""The ledger: every run, step, environment, data file, cache entry and cell verdict, in one SQLite file.

``<home>/ledger.db`` is a public format (documented in ``docs/ledger.md``) that users query with
``sqlite3`` or Datasette, and the only store that several processes (CLI, server jobs, scheduled
exports) write at once. Hence: WAL mode, a long busy timeout, and every multi-row write in one
``BEGIN IMMEDIATE`` transaction (taking the write lock up front, so concurrent writers queue on the
busy timeout instead of failing on a lock upgrade, and a reader never sees half a run). The schema is
created and upgraded by named sqlite-utils migrations (:mod:`jupyter_repro.ledger_schema`), applied
under that same write lock.

This module and its schema are the only ones that import ``sqlite_utils``; the rest of the package
sees records (:mod:`jupyter_repro.records`) and this class's methods.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from jupyter_repro._lean import DATAFRAME_LIBRARIES, without_modules
from jupyter_repro.errors import LedgerError, RunNotFoundError
from jupyter_repro.fsio import FULL_HINT
from jupyter_repro.hashing import ALGORITHM, hash_file_counted
from jupyter_repro.home import find_home
from jupyter_repro.ledger_schema import MIGRATIONS, SCHEMA_MIGRATIONS
from jupyter_repro.records import (
    CacheEntryRecord,
    CellComparisonRecord,
    DataFileRecord,
    EnvironmentSnapshot,
    FileRef,
    Lock,
    RunDetail,
    RunRecord,
    StepRunRecord,
)

with without_modules(*DATAFRAME_LIBRARIES):
    from sqlite_utils import Database

LEDGER_FILENAME = "ledger.db"
BUSY_TIMEOUT_S = 30.0
# A stat-cache row is trusted only if the file's mtime is this much older than the moment it was
# hashed: a write in the same filesystem clock tick as the hashing could otherwise keep size and
# mtime and go unnoticed (git's "racily clean" problem). Coarse kernel clocks tick at most every 10 ms.
RACY_WINDOW_NS = 50_000_000
_RUN_ID_ATTEMPTS = 5
RUNNING = "running"
INTERRUPTED = "interrupted"


# --- the ledger -----------------------------------------------------------------------------------


class Ledger:
    """An open ledger file. One per thread; open it with :meth:`open` and close it (or use ``with``).

    ``bytes_read`` and ``files_read`` count what :meth:`hash_file` actually read, so callers (tests,
    benchmarks) can check that the stat cache spared unchanged files.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.bytes_read = 0
        self.files_read = 0
        try:
            connection = sqlite3.connect(str(self.path), timeout=busy_timeout_s)
        except sqlite3.Error as error:
            raise LedgerError(f"cannot open the ledger: {error}", path=str(self.path)) from None
        self.db = Database(connection, execute_plugins=False)
        try:
            self._set_up(busy_timeout_s)
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise LedgerError(
                f"not a usable jupyter-repro ledger: {error}",
                path=str(self.path),
                hint="move the file away to start a new ledger",
            ) from None

    @classmethod
    def open(cls, home: str | os.PathLike[str], *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Ledger:
        """Open (creating and upgrading as needed) ``<home>/ledger.db`` and mark dead runs interrupted."""
        folder = Path(home)
        folder.mkdir(parents=True, exist_ok=True)
        ledger = cls(folder / LEDGER_FILENAME, busy_timeout_s=busy_timeout_s)
        ledger.mark_interrupted()
        return ledger

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- connection and schema ---

    def _set_up(self, busy_timeout_s: float) -> None:
        """Configure and migrate, retrying while another process is creating the same file.

        Switching a new file to WAL takes an exclusive lock that SQLite does not wait for (the busy
        timeout does not apply), so two processes opening a brand-new ledger at once can see
        "database is locked"; retrying within the busy timeout makes the loser wait for the winner.
        """
        deadline = time.monotonic() + busy_timeout_s
        delay = 0.01
        while True:
            try:
                self._configure(busy_timeout_s)
                self._migrate()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() + delay > deadline:
                    raise
                if self.db.conn.in_transaction:
                    self.db.conn.rollback()
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _configure(self, busy_timeout_s: float) -> None:
        self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode, much faster

    def _migrate(self) -> None:
        """Apply pending migrations under the write lock, so two first opens never race."""
        if MIGRATIONS.pending(self.db):
            with self.transaction():
                MIGRATIONS.apply(self.db)
        unknown = [m.name for m in MIGRATIONS.applied(self.db) if m.name not in SCHEMA_MIGRATIONS]
        if unknown:
            raise LedgerError(
                f"the ledger was upgraded by a newer jupyter-repro (schema migration {unknown[0]})",
                path=str(self.path),
                hint="upgrade jupyter-repro",
            )

    def applied_migrations(self) -> list[str]:
        """Names of the schema migrations this file has, in the order they were applied."""
        return [migration.name for migration in MIGRATIONS.applied(self.db)]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``); nested uses become savepoints."""
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            self.db.rollback()  # nothing of the transaction is kept: the ledger stays as it was
            if "full" in str(error) or "readonly" in str(error) or "disk I/O" in str(error):
                raise LedgerError(
                    f"cannot write the ledger: {error}", path=str(self.path), hint=FULL_HINT
                ) from None
            raise
        except BaseException:
            self.db.rollback()  # a no-op when the error already ended the transaction
            raise

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, list(params)))

    # --- environments and locks ---

    def record_environment(self, snapshot: EnvironmentSnapshot) -> str:
        """Store an environment once per hash (and its lock once per content hash); return the hash."""
        env_hash = snapshot.hash
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO environments (hash, implementation, python_version, executable,"
                " platform, system, machine, kernelspec, packages, packages_distributions,"
                " local_distributions, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    env_hash,
                    snapshot.implementation,
                    snapshot.python_version,
                    snapshot.executable,
                    snapshot.platform,
                    snapshot.system,
                    snapshot.machine,
                    _json(snapshot.kernelspec),
                    _json(dict(sorted(snapshot.packages.items()))),
                    _json(snapshot.packages_distributions),
                    _json(list(snapshot.local_distributions)),
                    _now(),
                ],
            )
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO environment_packages (environment_hash, name, version)"
                " VALUES (?, ?, ?)",
                [(env_hash, name, version) for name, version in sorted(snapshot.packages.items())],
            )
            if snapshot.lock is not None:
                self.record_lock(snapshot.lock)
        return env_hash

    def record_lock(self, lock: Lock) -> str:
        """Store a lock file by its content hash; return the hash."""
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO locks (hash, requirements, excluded, text, recorded_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [lock.hash, _json(list(lock.requirements)), _json(list(lock.excluded)), lock.text, _now()],
            )
        return lock.hash

    def get_environment(self, env_hash: str) -> EnvironmentSnapshot | None:
        """The environment recorded under ``env_hash`` (without a lock: locks belong to runs)."""
        rows = self._rows("SELECT * FROM environments WHERE hash = ?", [env_hash])
        if not rows:
            return None
        row = rows[0]
        return EnvironmentSnapshot.from_dict(
            {
                **row,
                "kernelspec": json.loads(row["kernelspec"] or "{}"),
                "packages": json.loads(row["packages"] or "{}"),
                "packages_distributions": json.loads(row["packages_distributions"] or "{}"),
                "local_distributions": json.loads(row["local_distributions"] or "[]"),
            }
        )

    def get_lock(self, lock_hash: str) -> Lock | None:
        rows = self._rows("SELECT * FROM locks WHERE hash = ?", [lock_hash])
        if not rows:
            return None
        row = rows[0]
        return Lock(
            text=row["text"],
            hash=row["hash"],
            requirements=tuple(json.loads(row["requirements"] or "[]")),
            excluded=tuple(json.loads(row["excluded"] or "[]")),
        )

    # --- runs ---

    def start_run(
        self,
        kind: str,
        notebook: str | os.PathLike[str],
        *,
        parameters: Mapping[str, Any],
        seed: int | None,
        environment_hash: str | None,
        notebook_hash: str | None,
        git_commit: str | None = None,
        git_dirty: bool | None = None,
        lock_hash: str | None = None,
        lock_error: str | None = None,
    ) -> str:
        """Record a run as ``running`` (with this process's identity) and return its new run id."""
        row = {
            "kind": kind,
            "notebook": notebook_key(notebook),
            "status": RUNNING,
            "verdict": None,
            "seed": seed,
            "parameters": _json(parameters),
            "environment_hash": environment_hash,
            "notebook_hash": notebook_hash,
            "git_commit": git_commit,
            "git_dirty": None if git_dirty is None else int(git_dirty),
            "started_at": _now(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "process_started": _process_start(os.getpid()),
            "lock_hash": lock_hash,
            "lock_error": lock_error,
        }
        for attempt in range(_RUN_ID_ATTEMPTS):
            run_id = new_run_id()
            try:
                with self.transaction():
                    self.db.table("runs").insert({"run_id": run_id, **row})
            except sqlite3.IntegrityError:
                if attempt + 1 == _RUN_ID_ATTEMPTS:
                    raise
                continue  # the random suffix collided within the same second: draw another
            return run_id
        raise AssertionError("unreachable")

    def record_step_run(
        self,
        run_id: str,
        step: str,
        *,
        status: str,
        cache_key: str | None,
        duration_s: float | None,
        code_hash: str | None = None,
        code: str | None = None,
        reads: Iterable[FileRef | Mapping[str, str]] = (),
        writes: Iterable[FileRef | Mapping[str, str]] = (),
        error: str | None = None,
    ) -> None:
        """Record one step of a run with the files it read and wrote, all in one transaction.

        The files are also noted in ``data_files`` (with their size when the stat cache knows it).
        """
        read_refs = [_file_ref(ref) for ref in reads]
        write_refs = [_file_ref(ref) for ref in writes]
        with self.transaction():
            self._require_run(run_id)
            position = self._rows("SELECT count(*) AS n FROM step_runs WHERE run_id = ?", [run_id])[0]["n"]
            cursor = self.db.execute(
                "INSERT INTO step_runs (run_id, position, step, status, cache_key, duration_s, code_hash,"
                " code, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, position, step, status, cache_key, duration_s, code_hash, code, error],
            )
            step_run_id = cursor.lastrowid
            files = [("read", ref) for ref in read_refs] + [("write", ref) for ref in write_refs]
            self.db.conn.executemany(
                "INSERT INTO step_files (step_run_id, direction, path, hash) VALUES (?, ?, ?, ?)",
                [(step_run_id, direction, ref.path, ref.hash) for direction, ref in files],
            )
            for _, ref in files:
                self.record_data_file(ref.path, ref.hash, self._known_size(ref))

    def record_cell_comparisons(
        self, run_id: str, comparisons: Iterable[CellComparisonRecord | Mapping[str, Any]]
    ) -> None:
        """Record (or replace) the per-cell verdicts of a run, in one transaction."""
        cells = [_cell(item) for item in comparisons]
        with self.transaction():
            self._require_run(run_id)
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO cell_comparisons (run_id, cell_index, step, status, diff)"
                " VALUES (?, ?, ?, ?, ?)",
                [(run_id, cell.index, cell.step, cell.status, cell.diff) for cell in cells],
            )

    def finish_run(
        self,
        run_id: str,
        status: str,
        verdict: str | None,
        result: Mapping[str, Any] | None,
        *,
        cells: Iterable[CellComparisonRecord | Mapping[str, Any]] = (),
    ) -> None:
        """Close a run: status, verdict, the full ``run --json`` document, and its cell verdicts at once."""
        with self.transaction():
            self._require_run(run_id)
            self.db.execute(
                "UPDATE runs SET status = ?, verdict = ?, result = ?, finished_at = ? WHERE run_id = ?",
                [status, verdict, None if result is None else _json(result), _now(), run_id],
            )
            self.record_cell_comparisons(run_id, cells)

    def import_run(self, record: Mapping[str, Any], notebook: str | os.PathLike[str], origin: str) -> bool:
        """Add a finished run another checkout published (``log --remote``); False if already here.

        ``record`` is the published record (:meth:`jupyter_repro.remote.RemoteStore.runs`), ``notebook``
        the same notebook in this checkout. The run's steps stay in its document, not in ``step_runs``:
        an imported run is shown, never compared with as "the last run" (:meth:`last_run`).
        """
        document = record["run"]
        row = {
            "run_id": str(document["run_id"]),
            "kind": str(document["kind"]),
            "notebook": notebook_key(notebook),
            "status": str(document["status"]),
            "verdict": document.get("verdict"),
            "seed": document.get("seed"),
            "parameters": _json(document.get("parameters") or {}),
            "environment_hash": document.get("environment_hash"),
            "started_at": str(record.get("started_at") or record.get("published_at") or _now()),
            "finished_at": record.get("finished_at"),
            "result": _json(document),
            "imported_from": origin,
        }
        with self.transaction():
            if self._rows("SELECT 1 FROM runs WHERE run_id = ?", [row["run_id"]]):
                return False
            self.db.table("runs").insert(row)
        return True

    def mark_interrupted(self) -> list[str]:
        """Mark ``running`` runs of this host whose process is gone as ``interrupted``; return their ids.

        A process counts as gone when its pid is not alive, or is alive but started at another time
        (the pid was reused). Runs of other hosts are left alone: we cannot see their processes.
        """
        rows = self._rows(
            "SELECT run_id, pid, process_started FROM runs WHERE status = ? AND host = ?",
            [RUNNING, socket.gethostname()],
        )
        dead = [row["run_id"] for row in rows if not _process_alive(row["pid"], row["process_started"])]
        if dead:
            with self.transaction():
                self.db.conn.executemany(
                    "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ? AND status = ?",
                    [(INTERRUPTED, _now(), run_id, RUNNING) for run_id in dead],
                )
        return dead

    def list_runs(
        self, notebook: str | os.PathLike[str] | None = None, *, limit: int = 20, kind: str | None = None
    ) -> list[RunRecord]:
        """Runs, newest first, optionally of one notebook and/or one kind."""
        clauses, params = [], []
        if notebook is not None:
            clauses.append("notebook = ?")
            params.append(notebook_key(notebook))
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._rows(
            f"SELECT * FROM runs {where} ORDER BY started_at DESC, run_id DESC LIMIT ?", [*params, limit]
        )
        return [_run_record(row) for row in rows]

    def last_run(
        self, notebook: str | os.PathLike[str], *, kind: str | None = None, before: str | None = None
    ) -> RunRecord | None:
        """The newest finished (not running, not interrupted) run of a notebook, optionally before a run.

        This is what cause attribution compares a new run with.
        """
        clauses = ["notebook = ?", "status NOT IN (?, ?)", "imported_from IS NULL"]
        params: list[Any] = [notebook_key(notebook), RUNNING, INTERRUPTED]
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if before is not None:
            clauses.append("started_at < (SELECT started_at FROM runs WHERE run_id = ?)")
            params.append(before)
        rows = self._rows(
            f"SELECT * FROM runs WHERE {' AND '.join(clauses)} ORDER BY started_at DESC, run_id DESC LIMIT 1",
            params,
        )
        return _run_record(rows[0]) if rows else None

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id, or with this unique id prefix; :class:`RunNotFoundError` otherwise."""
        rows = self._rows("SELECT * FROM runs WHERE run_id = ?", [run_id])
        if not rows and len(run_id) >= 4:
            rows = self._rows(
                "SELECT * FROM runs WHERE substr(run_id, 1, ?) = ? LIMIT 2", [len(run_id), run_id]
            )
            if len(rows) > 1:
                raise RunNotFoundError(
                    f"run id prefix '{run_id}' is ambiguous", hint="give more characters of the run id"
                )
        if not rows:
            raise RunNotFoundError(
                f"unknown run id '{run_id}'",
                path=str(self.path),
                hint="see 'jupyter repro log' for recorded runs",
            )
        return _run_record(rows[0])

    def step_runs(self, run_id: str) -> list[StepRunRecord]:
        """The steps of a run in the order they were recorded, with their files."""
        steps = self._rows("SELECT * FROM step_runs WHERE run_id = ? ORDER BY position, id", [run_id])
        files: dict[int, dict[str, list[FileRef]]] = {}
        for row in self._rows(
            "SELECT f.* FROM step_files f JOIN step_runs s ON s.id = f.step_run_id"
            " WHERE s.run_id = ? ORDER BY f.rowid",
            [run_id],
        ):
            by_direction = files.setdefault(row["step_run_id"], {"read": [], "write": []})
            by_direction[row["direction"]].append(FileRef(row["path"], row["hash"]))
        return [_step_record(row, files.get(row["id"], {})) for row in steps]

    def cell_comparisons(self, run_id: str) -> list[CellComparisonRecord]:
        rows = self._rows("SELECT * FROM cell_comparisons WHERE run_id = ? ORDER BY cell_index", [run_id])
        return [
            CellComparisonRecord(row["cell_index"], row["step"], row["status"], row["diff"]) for row in rows
        ]

    def run_detail(self, run_id: str) -> RunDetail:
        """Everything about one run: the record, its steps, cells and environment (with the run's lock)."""
        run = self.get_run(run_id)
        environment = self.get_environment(run.environment_hash) if run.environment_hash else None
        if environment is not None:
            lock = self.get_lock(run.lock_hash) if run.lock_hash else None
            environment = environment.with_lock(lock, run.lock_error)
        return RunDetail(
            run=run,
            steps=tuple(self.step_runs(run.run_id)),
            cells=tuple(self.cell_comparisons(run.run_id)),
            environment=environment,
        )

    def _require_run(self, run_id: str) -> None:
        if not self._rows("SELECT 1 AS found FROM runs WHERE run_id = ?", [run_id]):
            raise RunNotFoundError(f"unknown run id '{run_id}'", path=str(self.path))

    # --- data files and the stat cache ---

    def record_data_file(self, path: str | os.PathLike[str], file_hash: str, size: int | None) -> None:
        """Note that ``path`` was seen with this content; keeps when each version was first and last seen."""
        now = _now()
        with self.transaction():
            self.db.execute(
                "INSERT INTO data_files (path, hash, size, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (path, hash) DO UPDATE SET last_seen = excluded.last_seen,"
                " size = coalesce(excluded.size, data_files.size)",
                [str(path), file_hash, size, now, now],
            )

    def data_file_versions(self, path: str | os.PathLike[str]) -> list[DataFileRecord]:
        """Every recorded version of a data file, oldest first."""
        rows = self._rows("SELECT * FROM data_files WHERE path = ? ORDER BY first_seen", [str(path)])
        return [DataFileRecord(row["path"], row["hash"], row["size"]) for row in rows]

    def hash_file(self, path: str | os.PathLike[str]) -> str:
        """Content hash of a file, read only when its (size, mtime_ns, inode) changed since last time.

        The file is streamed in chunks (never whole in memory). A file that changes while being read
        is not cached, and neither is one modified too recently to trust its mtime (see
        :data:`RACY_WINDOW_NS`).
        """
        target = Path(path).resolve()
        before = target.stat()
        cached = self._cached_hash(str(target), before)
        if cached is not None:
            return cached
        hashed_at_ns = time.time_ns()
        digest = self._read_hash(target)
        after = target.stat()
        if _stat_key(after) == _stat_key(before):
            self._store_stat(str(target), after, digest, hashed_at_ns)
        return digest

    def _cached_hash(self, path: str, stat: os.stat_result) -> str | None:
        rows = self._rows("SELECT * FROM file_stats WHERE path = ?", [path])
        if not rows:
            return None
        row = rows[0]
        same = (row["size"], row["mtime_ns"], row["inode"]) == _stat_key(stat)
        settled = row["mtime_ns"] + RACY_WINDOW_NS <= row["hashed_at_ns"]
        current = str(row["hash"]).startswith(f"{ALGORITHM}:")
        return str(row["hash"]) if same and settled and current else None

    def _read_hash(self, target: Path) -> str:
        digest, size = hash_file_counted(target)
        self.bytes_read += size
        self.files_read += 1
        return digest

    def _store_stat(self, path: str, stat: os.stat_result, digest: str, hashed_at_ns: int) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO file_stats (path, size, mtime_ns, inode, hash, hashed_at_ns)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [path, *_stat_key(stat), digest, hashed_at_ns],
            )

    def _known_size(self, ref: FileRef) -> int | None:
        candidates = {ref.path, str(Path(ref.path).resolve())}
        for candidate in candidates:
            rows = self._rows(
                "SELECT size FROM file_stats WHERE path = ? AND hash = ?", [candidate, ref.hash]
            )
            if rows:
                return int(rows[0]["size"])
        return None

    # --- cache entries ---

    def put_cache_entry(
        self,
        key: str,
        step: str,
        *,
        notebook: str | os.PathLike[str] | None = None,
        run_id: str | None = None,
        location: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record (or replace) the metadata of a step cache entry (``last_used`` is its creation)."""
        now = _now()
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO cache_entries"
                " (key, step, notebook, run_id, location, created_at, metadata, last_used)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    key,
                    step,
                    None if notebook is None else notebook_key(notebook),
                    run_id,
                    location,
                    now,
                    _json(metadata or {}),
                    now,
                ],
            )

    def record_cache_entry(
        self,
        key: str,
        step: str,
        notebook: str | os.PathLike[str],
        *,
        size_bytes: int,
        run_id: str | None = None,
        location: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that a run stored the cache entry ``key`` of ``step``; it was used now.

        ``size_bytes`` is what the entry takes in the artifact store; ``run_id`` the run that stored
        it, ``location`` where. The first record of a key sets ``created_at`` and ``last_used`` to
        now; recording the same key again (the step was stored again) keeps ``created_at`` and
        replaces everything else. A replay that only reads the entry calls :meth:`touch_cache_entry`.
        """
        now = _now()
        with self.transaction():
            self.db.execute(
                "INSERT INTO cache_entries (key, step, notebook, run_id, location, created_at, metadata,"
                " size_bytes, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET step = excluded.step, notebook = excluded.notebook,"
                " run_id = excluded.run_id, location = excluded.location, metadata = excluded.metadata,"
                " size_bytes = excluded.size_bytes, last_used = excluded.last_used",
                [
                    key,
                    step,
                    notebook_key(notebook),
                    run_id,
                    location,
                    now,
                    _json(metadata or {}),
                    size_bytes,
                    now,
                ],
            )

    def touch_cache_entry(self, key: str) -> bool:
        """Note that a run replayed the cache entry ``key`` now; False if the ledger does not know it."""
        with self.transaction():
            cursor = self.db.execute("UPDATE cache_entries SET last_used = ? WHERE key = ?", [_now(), key])
        return cursor.rowcount > 0

    def get_cache_entry(self, key: str) -> CacheEntryRecord | None:
        rows = self._rows("SELECT * FROM cache_entries WHERE key = ?", [key])
        if not rows:
            return None
        row = rows[0]
        return CacheEntryRecord(
            key=row["key"],
            step=row["step"],
            notebook=row["notebook"],
            run_id=row["run_id"],
            location=row["location"],
            created_at=row["created_at"],
            metadata=json.loads(row["metadata"] or "{}"),
        )

    def delete_cache_entry(self, key: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM cache_entries WHERE key = ?", [key])


def open_ledger(notebook: str | os.PathLike[str] | None = None, home: str | None = None) -> Ledger:
    """Open the ledger of the repro home that serves ``notebook`` (or the current folder).

    ``home`` is the ``--home`` option; ``JUPYTER_REPRO_HOME`` applies when it is None (see ``find_home``).
    """
    start = Path(notebook) if notebook is not None else None
    return Ledger.open(find_home(start, home))


# --- helpers --------------------------------------------------------------------------------------


def new_run_id() -> str:
    """A short id that sorts by start time (UTC, to the second) and is unique (random suffix)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(4)}"


def notebook_key(notebook: str | os.PathLike[str]) -> str:
    """How a notebook is named in the ledger: its absolute, resolved path (one name per file)."""
    return str(Path(notebook).expanduser().resolve())


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _stat_key(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def _file_ref(ref: FileRef | Mapping[str, str]) -> FileRef:
    return ref if isinstance(ref, FileRef) else FileRef(str(ref["path"]), str(ref["hash"]))


def _cell(item: CellComparisonRecord | Mapping[str, Any]) -> CellComparisonRecord:
    if isinstance(item, CellComparisonRecord):
        return item
    return CellComparisonRecord(int(item["index"]), item.get("step"), str(item["status"]), item.get("diff"))


def _run_record(row: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"],
        kind=row["kind"],
        notebook=row["notebook"],
        status=row["status"],
        verdict=row["verdict"],
        seed=row["seed"],
        parameters=json.loads(row["parameters"] or "{}"),
        environment_hash=row["environment_hash"],
        notebook_hash=row["notebook_hash"],
        git_commit=row["git_commit"],
        git_dirty=None if row["git_dirty"] is None else bool(row["git_dirty"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        lock_hash=row.get("lock_hash"),
        lock_error=row.get("lock_error"),
        result=json.loads(row["result"]) if row["result"] else None,
        imported_from=row.get("imported_from"),
    )


def _step_record(row: Mapping[str, Any], files: Mapping[str, list[FileRef]]) -> StepRunRecord:
    return StepRunRecord(
        run_id=row["run_id"],
        step=row["step"],
        status=row["status"],
        cache_key=row["cache_key"],
        duration_s=row["duration_s"],
        code_hash=row["code_hash"],
        code=row["code"],
        reads=tuple(files.get("read", ())),
        writes=tuple(files.get("write", ())),
        error=row["error"],
        position=row["position"],
    )


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux: clock ticks since boot from /proc), to tell reused pids apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _process_alive(pid: int | None, started: str | None) -> bool:
    if pid is None:
        return False
    if os.name == "nt":
        return True  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows: assume alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else
    return started is None or _process_start(pid) in (started, None)
