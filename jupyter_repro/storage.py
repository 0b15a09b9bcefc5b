"""What a repro home holds on disk, and collecting it: the I/O half of ``jupyter repro gc``.

:mod:`jupyter_repro.gc_plan` decides; this module measures the home, finds what must be kept (the
cache keys of each notebook's newest finished run, the notebooks with a run going on, the runs that a
stamped certificate names) and carries a plan out. See ``docs/storage.md`` for the policy.

Collecting while other runs go on is safe because of three rules:

* one gc at a time: an exclusive ``flock`` on ``<home>/gc.lock``;
* deletions happen inside one ledger write transaction (``BEGIN IMMEDIATE``), and each entry is checked
  again inside it: a run starts by writing its ``running`` row, which waits for the transaction, so a
  run either saw the entry gone at planning (and recomputes) or is ``running`` and its notebook's
  entries are kept; an entry whose ``last_used`` moved since planning is kept too;
* blobs and run folders younger than the grace period are never deleted (a running step stores its
  blobs just before its entry), and a blob is checked again just before it is unlinked.

At worst a race makes a run recompute a step (every blob is verified on read), never replay a wrong one.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_repro import layout
from jupyter_repro.cache import ArtifactStore
from jupyter_repro.errors import ReproError
from jupyter_repro.gc_plan import EntryInfo, GcPlan, Policy, RunFolder, plan_gc
from jupyter_repro.ledger import RUNNING, Ledger

GC_LOCK_FILENAME = "gc.lock"


class GcBusyError(ReproError):
    """Another ``jupyter repro gc`` holds the home's gc lock."""


@dataclass(frozen=True)
class HomeState:
    """Everything the plan needs, read from the home and its ledger at one moment."""

    entries: list[EntryInfo]
    blobs: dict[str, tuple[int, float]]
    runs: list[RunFolder]
    total_size: int
    last_used: dict[str, str | None]
    """Each entry's ledger ``last_used`` text at planning (None when the ledger has no row)."""


def tree_size(path: Path, *, linked: bool = True) -> int:
    """Bytes of the regular files under ``path`` (files that vanish while walking count as 0).

    A file with several names (a run's inputs are hard links to the cache's blobs) counts once; with
    ``linked=False`` it does not count at all, as removing this tree would not free it.
    """
    total = 0
    seen: set[tuple[int, int]] = set()
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(folder, name))
                if info.st_nlink > 1 and (not linked or (info.st_dev, info.st_ino) in seen):
                    continue
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def _file_size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:
        return 0


def _epoch(text: str | None, default: float) -> float:
    if not text:
        return default
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return default


def _blobs(store: ArtifactStore) -> dict[str, tuple[int, float]]:
    """Every blob file in the store, by digest: ``(bytes, mtime)``."""
    found: dict[str, tuple[int, float]] = {}
    if not store.blobs.is_dir():
        return found
    for algorithm in store.blobs.iterdir():
        for path in algorithm.glob("*/*"):
            with contextlib.suppress(OSError):
                info = path.stat()
                found[f"{algorithm.name}:{path.parent.name}{path.name}"] = (info.st_size, info.st_mtime)
    return found


def running_notebooks(ledger: Ledger) -> set[str]:
    """Notebooks with a run going on (the ledger's ``running`` rows, dead ones marked first)."""
    ledger.mark_interrupted()
    rows = ledger.db.query("SELECT DISTINCT notebook FROM runs WHERE status = ?", [RUNNING])
    return {str(row["notebook"]) for row in rows}


def certificate_run_ids(ledger: Ledger) -> set[str]:
    """Run ids named by the stamped certificates of the notebooks the ledger knows (files that exist)."""
    found: set[str] = set()
    for row in ledger.db.query("SELECT DISTINCT notebook FROM runs WHERE imported_from IS NULL"):
        try:
            data = json.loads(Path(row["notebook"]).read_text(encoding="utf-8"))
            run_id = data["metadata"]["jupyter_repro"]["certificate"]["run_id"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(run_id, str):
            found.add(run_id)
    return found


def protected_keys(ledger: Ledger, certified: set[str]) -> dict[str, str]:
    """Cache keys that must stay, with why: the newest finished run of each notebook (of each kind) used
    them, or a certificate's run did."""
    keys: dict[str, str] = {}
    rows = ledger.db.query("SELECT DISTINCT notebook, kind FROM runs WHERE imported_from IS NULL")
    latest = {run.run_id for row in rows if (run := ledger.last_run(row["notebook"], kind=row["kind"]))}
    for reason, run_ids in (("latest-run", latest), ("certificate", certified - latest)):
        for run_id in sorted(run_ids):
            for step in ledger.db.query(
                "SELECT cache_key FROM step_runs WHERE run_id = ? AND cache_key IS NOT NULL", [run_id]
            ):
                keys.setdefault(str(step["cache_key"]), reason)
    return keys


def read_state(home: Path, ledger: Ledger, *, now: float) -> HomeState:
    """Measure the home and list its entries, blobs and run folders with what protects them."""
    store = ArtifactStore(home)
    running = running_notebooks(ledger)
    certified = certificate_run_ids(ledger)
    keep = protected_keys(ledger, certified)
    rows = {str(row["key"]): row for row in ledger.db.query("SELECT * FROM cache_entries")}
    entries = []
    last_used: dict[str, str | None] = {}
    for key in sorted(set(store.entry_keys()) | set(rows)):
        row = rows.get(key)
        path = store.entry_path(key)
        entry = store.load_entry(key)
        notebook = str(row["notebook"]) if row is not None and row["notebook"] else None
        mtime = path.stat().st_mtime if path is not None and path.is_file() else now
        protected = keep.get(key)
        if protected is None and running and (notebook is None or notebook in running):
            protected = "running"
        last_used[key] = row["last_used"] if row is not None else None
        entries.append(
            EntryInfo(
                key=key,
                step=entry.step if entry is not None else str(row["step"]) if row is not None else "",
                notebook=notebook,
                file_size=_file_size(path),
                blobs=frozenset(str(v.get("blob")) for v in entry.variables.values())
                if entry
                else frozenset(),
                last_used=_epoch(row["last_used"] if row is not None else None, mtime),
                protected=protected,
            )
        )
    runs = []
    run_rows = {
        str(row["run_id"]): row
        for row in ledger.db.query("SELECT run_id, notebook, status, started_at FROM runs")
    }
    folder = layout.runs_dir(home)
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.is_dir():
            continue
        run_row = run_rows.get(path.name)
        protection = None
        if run_row is not None and run_row["status"] == RUNNING:
            protection = "running"
        elif path.name in certified:
            protection = "certificate"
        runs.append(
            RunFolder(
                run_id=path.name,
                notebook=str(run_row["notebook"]) if run_row is not None else None,
                started=_epoch(run_row["started_at"] if run_row else None, path.stat().st_mtime),
                size=tree_size(path, linked=False),  # what removing it frees
                protected=protection,
            )
        )
    return HomeState(entries, _blobs(store), runs, tree_size(home), last_used)


@contextlib.contextmanager
def gc_lock(home: Path) -> Iterator[None]:
    """Hold ``<home>/gc.lock`` exclusively; :class:`GcBusyError` if another gc holds it."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / GC_LOCK_FILENAME).open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GcBusyError(
                "another 'jupyter repro gc' is collecting this home", path=str(home), hint="try again later"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class GcResult:
    """The plan, and what was actually deleted (less than planned when a run raced gc; none on dry run)."""

    plan: GcPlan
    deleted: tuple[str, ...]
    skipped: tuple[str, ...]
    dry_run: bool

    @property
    def freed(self) -> int:
        done = set(self.deleted)
        return sum(r.size for r in self.plan.removals if f"{r.kind}:{r.name}" in done)

    def to_json(self) -> dict[str, Any]:
        done = set(self.deleted)
        return {
            "dry_run": self.dry_run,
            "size_before": self.plan.size_before,
            "size_after": self.plan.size_before - (self.plan.freed if self.dry_run else self.freed),
            "max_size": self.plan.max_size,
            "fits": self.plan.fits,
            "freed": self.plan.freed if self.dry_run else self.freed,
            "removed": [
                r.to_json() for r in self.plan.removals if self.dry_run or f"{r.kind}:{r.name}" in done
            ],
            "skipped": list(self.skipped),
            "kept": dict(self.plan.kept),
        }


def collect(home: Path, policy: Policy, *, dry_run: bool = False) -> GcResult:
    """Plan a collection of ``home`` and, unless ``dry_run``, carry it out under the rules above."""
    with gc_lock(home), Ledger.open(home) as ledger:
        state = read_state(home, ledger, now=policy.now)
        plan = plan_gc(state.entries, state.blobs, state.runs, state.total_size, policy)
        if dry_run or not plan.removals:
            return GcResult(plan, (), (), dry_run)
        deleted: list[str] = []
        skipped: list[str] = []
        store = ArtifactStore(home)
        with ledger.transaction():
            running = {
                str(row["notebook"])
                for row in ledger.db.query("SELECT DISTINCT notebook FROM runs WHERE status = ?", [RUNNING])
            }
            for removal in plan.of_kind("entry"):
                row = next(
                    iter(
                        ledger.db.query(
                            "SELECT notebook, last_used FROM cache_entries WHERE key = ?", [removal.name]
                        )
                    ),
                    None,
                )
                moved = row is not None and row["last_used"] != state.last_used.get(removal.name)
                notebook = row["notebook"] if row is not None else None
                if moved or (running and (notebook is None or notebook in running)):
                    skipped.append(f"entry:{removal.name}")
                    continue
                store.remove_entry(removal.name)
                ledger.db.execute("DELETE FROM cache_entries WHERE key = ?", [removal.name])
                deleted.append(f"entry:{removal.name}")
            still_used = _referenced_blobs(store)
            for removal in plan.of_kind("blob"):
                path = store.blob_path(removal.name)
                if path is None or removal.name in still_used or _younger(path, policy):
                    skipped.append(f"blob:{removal.name}")
                    continue
                path.unlink(missing_ok=True)
                deleted.append(f"blob:{removal.name}")
            for removal in plan.of_kind("run"):
                row = next(
                    iter(ledger.db.query("SELECT status FROM runs WHERE run_id = ?", [removal.name])), None
                )
                if row is not None and row["status"] == RUNNING:
                    skipped.append(f"run:{removal.name}")
                    continue
                shutil.rmtree(layout.run_dir(home, removal.name), ignore_errors=True)
                deleted.append(f"run:{removal.name}")
        return GcResult(plan, tuple(deleted), tuple(skipped), dry_run)


def _referenced_blobs(store: ArtifactStore) -> set[str]:
    """Blobs the entries now in the store refer to (read again: a run may have saved one since planning)."""
    used: set[str] = set()
    for key in store.entry_keys():
        entry = store.load_entry(key)
        if entry is not None:
            used.update(str(record.get("blob")) for record in entry.variables.values())
    return used


def _younger(path: Path, policy: Policy) -> bool:
    try:
        return time.time() - path.stat().st_mtime < policy.grace_s
    except OSError:
        return False


AUTO_GC_ENV = "JUPYTER_REPRO_AUTO_GC"
"""A size (``2GB``): after each run or verification, collect the home when it is larger."""


def auto_gc(home: Path) -> GcResult | None:
    """The optional automatic budget: collect ``home`` down to ``$JUPYTER_REPRO_AUTO_GC`` when it is over.

    Never fails the run that triggered it: a budget that cannot be read, or another gc already
    running, is one line on stderr.
    """
    import os
    import sys
    import time

    from jupyter_repro.gc_plan import DEFAULT_GRACE_S, parse_age, parse_size

    budget_text = os.environ.get(AUTO_GC_ENV)
    if not budget_text:
        return None
    try:
        budget = parse_size(budget_text)
        grace_text = os.environ.get("JUPYTER_REPRO_GC_GRACE")  # as `jupyter repro gc` reads it
        grace = parse_age(grace_text) if grace_text else DEFAULT_GRACE_S
    except ValueError as error:
        print(f"jupyter-repro: {AUTO_GC_ENV}: {error}; no automatic gc", file=sys.stderr)
        return None
    if tree_size(home) <= budget:
        return None
    try:
        return collect(home, Policy(now=time.time(), max_size=budget, grace_s=grace))
    except ReproError as error:
        print(f"jupyter-repro: automatic gc skipped: {error}", file=sys.stderr)
        return None
