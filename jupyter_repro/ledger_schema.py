"""The ledger's schema: named sqlite-utils migrations that create and upgrade ``ledger.db``.

The tables are a public format (``docs/ledger.md``), so a migration is never edited once released:
each change is a new named migration, appended to :data:`SCHEMA_MIGRATIONS`.
:class:`jupyter_repro.ledger.Ledger` applies the pending ones under the write lock when it opens a
file, and refuses a file with a migration it does not know (written by a newer jupyter-repro).
"""

from __future__ import annotations

from jupyter_repro._lean import DATAFRAME_LIBRARIES, without_modules

with without_modules(*DATAFRAME_LIBRARIES):
    from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("jupyter_repro")


@MIGRATIONS(name="m001_initial")
def _m001_initial(db: Database) -> None:
    """Runs, step runs and their files, environments and packages, locks, data files, cache, cells."""
    db.table("runs").create(
        {
            "run_id": str,
            "kind": str,
            "notebook": str,
            "status": str,
            "verdict": str,
            "seed": int,
            "parameters": str,
            "environment_hash": str,
            "notebook_hash": str,
            "git_commit": str,
            "git_dirty": int,
            "started_at": str,
            "finished_at": str,
            "result": str,
        },
        pk="run_id",
        not_null=["kind", "notebook", "status", "started_at"],
    )
    db.table("runs").create_index(["notebook", "started_at"])
    db.table("runs").create_index(["started_at"])
    db.table("step_runs").create(
        {
            "id": int,
            "run_id": str,
            "position": int,
            "step": str,
            "status": str,
            "cache_key": str,
            "duration_s": float,
            "code_hash": str,
            "code": str,
            "error": str,
        },
        pk="id",
        not_null=["run_id", "step", "status"],
        foreign_keys=[("run_id", "runs", "run_id")],
    )
    db.table("step_runs").create_index(["run_id", "position"])
    db.table("step_runs").create_index(["cache_key"])
    db.table("step_files").create(
        {"step_run_id": int, "direction": str, "path": str, "hash": str},
        not_null=["step_run_id", "direction", "path", "hash"],
        foreign_keys=[("step_run_id", "step_runs", "id")],
    )
    db.table("step_files").create_index(["step_run_id"])
    db.table("step_files").create_index(["path"])
    db.table("environments").create(
        {
            "hash": str,
            "implementation": str,
            "python_version": str,
            "executable": str,
            "platform": str,
            "system": str,
            "machine": str,
            "kernelspec": str,
            "packages": str,
            "packages_distributions": str,
            "local_distributions": str,
            "recorded_at": str,
        },
        pk="hash",
    )
    db.table("environment_packages").create(
        {"environment_hash": str, "name": str, "version": str},
        pk=("environment_hash", "name"),
        foreign_keys=[("environment_hash", "environments", "hash")],
    )
    db.table("environment_packages").create_index(["name", "version"])
    db.table("locks").create(
        {"hash": str, "requirements": str, "excluded": str, "text": str, "recorded_at": str}, pk="hash"
    )
    db.table("data_files").create(
        {"path": str, "hash": str, "size": int, "first_seen": str, "last_seen": str},
        pk=("path", "hash"),
    )
    db.table("data_files").create_index(["hash"])
    db.table("cache_entries").create(
        {
            "key": str,
            "step": str,
            "notebook": str,
            "run_id": str,
            "location": str,
            "created_at": str,
            "metadata": str,
        },
        pk="key",
        not_null=["step", "created_at"],
    )
    db.table("cell_comparisons").create(
        {"run_id": str, "cell_index": int, "step": str, "status": str, "diff": str},
        pk=("run_id", "cell_index"),
        not_null=["status"],
        foreign_keys=[("run_id", "runs", "run_id")],
    )


@MIGRATIONS(name="m002_interruptions_locks_stat_cache")
def _m002_interruptions_locks_stat_cache(db: Database) -> None:
    """Who ran a run (to detect dead ones), which lock it used, and the file stat cache."""
    runs = db.table("runs")
    for column, kind in (
        ("pid", int),
        ("host", str),
        ("process_started", str),
        ("lock_hash", str),
        ("lock_error", str),
    ):
        runs.add_column(column, kind)
    runs.create_index(["status"])
    db.table("file_stats").create(
        {"path": str, "size": int, "mtime_ns": int, "inode": int, "hash": str, "hashed_at_ns": int},
        pk="path",
        not_null=["size", "mtime_ns", "inode", "hash", "hashed_at_ns"],
    )


@MIGRATIONS(name="m003_cache_entry_use")
def _m003_cache_entry_use(db: Database) -> None:
    """Each cache entry's size and when a run last used it, for least-recently-used collection.

    Idempotent: a column or index that already exists is left alone. Rows from before have never been
    recorded as used, so their ``last_used`` starts as their ``created_at``.
    """
    entries = db.table("cache_entries")
    for column, kind in (("size_bytes", int), ("last_used", str)):
        if column not in entries.columns_dict:
            entries.add_column(column, kind)
    db.execute("UPDATE cache_entries SET last_used = created_at WHERE last_used IS NULL")
    entries.create_index(["last_used"], if_not_exists=True)


@MIGRATIONS(name="m004_imported_runs")
def _m004_imported_runs(db: Database) -> None:
    """Runs another checkout published to the team's remote, imported by ``log --remote``: the remote
    they came from (NULL for the runs made here). Idempotent, as m003."""
    runs = db.table("runs")
    if "imported_from" not in runs.columns_dict:
        runs.add_column("imported_from", str)


SCHEMA_MIGRATIONS: tuple[str, ...] = (
    "m001_initial",
    "m002_interruptions_locks_stat_cache",
    "m003_cache_entry_use",
    "m004_imported_runs",
)
"""Every migration this version knows, in order (a ledger with another one is refused)."""
