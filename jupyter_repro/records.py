"""What the ledger stores, as frozen dataclasses: environments, locks, runs, steps, cells, data files.

These are plain values with no I/O: :mod:`jupyter_repro.env` and :mod:`jupyter_repro.snapshot` produce
them, :mod:`jupyter_repro.ledger` stores and loads them, the CLI and the server render them. Keeping
them apart from the ledger lets pure code (diffs, cause attribution) work on runs without SQLite.
Each record converts to and from the JSON shapes documented in ``docs/cli.md`` ("JSON output") so every
edge shows the same keys.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from jupyter_repro.hashing import hash_json


@dataclass(frozen=True)
class Lock:
    """A pip-tools lock (``pip-compile --generate-hashes`` output) for the distributions a notebook imports.

    ``requirements`` are the pinned ``name==version`` lines it was compiled from; ``excluded`` names
    distributions that cannot come from an index (editable or local installs) and were left out.
    """

    text: str
    hash: str
    requirements: tuple[str, ...]
    excluded: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "requirements": list(self.requirements),
            "excluded": list(self.excluded),
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lock:
        return cls(
            text=str(data["text"]),
            hash=str(data["hash"]),
            requirements=tuple(data.get("requirements", ())),
            excluded=tuple(data.get("excluded", ())),
        )


@dataclass(frozen=True)
class EnvironmentSnapshot:
    """The interpreter that runs (or would run) a notebook's kernel, as seen from inside it.

    The environment hash covers only what decides whether code behaves the same: implementation,
    Python version, operating system and machine, and the installed distributions. The executable path,
    the full platform string (kernel release) and the kernelspec are recorded but not hashed, so the
    same packages in another virtualenv or after an OS patch keep their hash and their cache entries.
    The lock is attached afterwards (:meth:`with_lock`) and is not part of the hash either.
    """

    implementation: str
    python_version: str
    executable: str
    platform: str
    system: str
    machine: str
    kernelspec: Mapping[str, Any]
    packages: Mapping[str, str]
    packages_distributions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    local_distributions: tuple[str, ...] = ()
    lock: Lock | None = None
    lock_error: str | None = None

    @property
    def hash(self) -> str:
        """The environment hash: equal for equal interpreters and package sets."""
        return hash_json(
            {
                "implementation": self.implementation,
                "python_version": self.python_version,
                "system": self.system,
                "machine": self.machine,
                "packages": dict(self.packages),
            }
        )

    def with_lock(self, lock: Lock | None, error: str | None) -> EnvironmentSnapshot:
        """A copy with the lock outcome attached (``lock=None`` and a reason when it failed)."""
        return replace(self, lock=lock, lock_error=error)

    def to_dict(self, *, include_lock_text: bool = True) -> dict[str, Any]:
        lock = self.lock.to_dict() if self.lock is not None else None
        if lock is not None and not include_lock_text:
            lock.pop("text")
        return {
            "environment_hash": self.hash,
            "implementation": self.implementation,
            "python_version": self.python_version,
            "executable": self.executable,
            "platform": self.platform,
            "system": self.system,
            "machine": self.machine,
            "kernelspec": dict(self.kernelspec),
            "packages": dict(sorted(self.packages.items())),
            "local_distributions": list(self.local_distributions),
            "lock": lock,
            "lock_error": self.lock_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvironmentSnapshot:
        lock = data.get("lock")
        return cls(
            implementation=str(data["implementation"]),
            python_version=str(data["python_version"]),
            executable=str(data["executable"]),
            platform=str(data["platform"]),
            system=str(data["system"]),
            machine=str(data["machine"]),
            kernelspec=dict(data.get("kernelspec") or {}),
            packages={str(k): str(v) for k, v in (data.get("packages") or {}).items()},
            packages_distributions={
                str(k): list(v) for k, v in (data.get("packages_distributions") or {}).items()
            },
            local_distributions=tuple(data.get("local_distributions") or ()),
            lock=Lock.from_dict(lock) if isinstance(lock, Mapping) and "text" in lock else None,
            lock_error=data.get("lock_error"),
        )


@dataclass(frozen=True)
class FileRef:
    """A file a step read or wrote, by path and content hash."""

    path: str
    hash: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "hash": self.hash}


@dataclass(frozen=True)
class StepRunRecord:
    """One step of one run: whether it executed or came from the cache, and what it touched."""

    run_id: str
    step: str
    status: str
    cache_key: str | None
    duration_s: float | None
    code_hash: str | None = None
    code: str | None = None
    reads: tuple[FileRef, ...] = ()
    writes: tuple[FileRef, ...] = ()
    error: str | None = None
    position: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The ``steps[]`` item of the ``run --json`` shape, plus code hash and error."""
        return {
            "name": self.step,
            "status": self.status,
            "cache_key": self.cache_key,
            "duration_s": self.duration_s,
            "reads": [ref.to_dict() for ref in self.reads],
            "writes": [ref.to_dict() for ref in self.writes],
            "code_hash": self.code_hash,
            "error": self.error,
        }


@dataclass(frozen=True)
class CellComparisonRecord:
    """The verdict on one code cell: its new outputs compared with the saved ones."""

    index: int
    step: str | None
    status: str
    diff: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "step": self.step, "status": self.status, "diff": self.diff}


@dataclass(frozen=True)
class DataFileRecord:
    """A version of a data file seen by some run: path, content hash, size in bytes."""

    path: str
    hash: str
    size: int | None


@dataclass(frozen=True)
class CacheEntryRecord:
    """Metadata of a step cache entry; the artifacts themselves live in the artifact store."""

    key: str
    step: str
    notebook: str | None
    run_id: str | None
    location: str | None
    created_at: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """One ``run`` or ``verify`` of a notebook, as a row of the ledger's ``runs`` table.

    ``result`` is the full ``run --json`` / ``verify --json`` document the runner produced when it
    finished (``None`` while running or after an interruption).
    """

    run_id: str
    kind: str
    notebook: str
    status: str
    verdict: str | None
    seed: int | None
    parameters: Mapping[str, Any]
    environment_hash: str | None
    notebook_hash: str | None
    git_commit: str | None
    git_dirty: bool | None
    started_at: str
    finished_at: str | None = None
    lock_hash: str | None = None
    lock_error: str | None = None
    result: Mapping[str, Any] | None = None
    imported_from: str | None = None
    """The remote a colleague's run was imported from (``log --remote``); None for runs made here."""

    def summary(self) -> dict[str, Any]:
        """The item of the ``log --json`` shape."""
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "notebook": self.notebook,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "verdict": self.verdict,
            "imported_from": self.imported_from,
        }


@dataclass(frozen=True)
class RunDetail:
    """A run with everything recorded about it: the unit that ``show`` renders and ``diff`` compares."""

    run: RunRecord
    steps: tuple[StepRunRecord, ...]
    cells: tuple[CellComparisonRecord, ...]
    environment: EnvironmentSnapshot | None

    def to_dict(self) -> dict[str, Any]:
        """The ``show --json`` shape: the ``run --json`` document plus the snapshot's extra keys.

        A finished run returns the document the runner stored; a run that never finished gets the
        same keys rebuilt from its rows. Recorded facts (times, git, hashes) are added, never replaced.
        """
        run = self.run
        document: dict[str, Any] = dict(run.result) if run.result is not None else self._rebuilt()
        extra = {
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "notebook_hash": run.notebook_hash,
            "git_commit": run.git_commit,
            "git_dirty": run.git_dirty,
            "lock_hash": run.lock_hash,
            "lock_error": run.lock_error,
            "environment": (
                self.environment.to_dict(include_lock_text=False) if self.environment is not None else None
            ),
        }
        for key, value in extra.items():
            document.setdefault(key, value)
        return document

    def _rebuilt(self) -> dict[str, Any]:
        run = self.run
        return {
            "run_id": run.run_id,
            "kind": run.kind,
            "notebook": run.notebook,
            "status": run.status,
            "verdict": run.verdict,
            "seed": run.seed,
            "parameters": dict(run.parameters),
            "environment_hash": run.environment_hash,
            "steps": [step.to_dict() for step in self.steps],
            "cells": [cell.to_dict() for cell in self.cells],
            "causes": [],
            "executed_notebook": None,
        }


def display_time(iso: str | None) -> str:
    """A stored UTC timestamp as local time to the second, for tables (ISO stays in JSON)."""
    if not iso:
        return ""
    try:
        moment = datetime.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


# --- comparing two runs (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between two runs: ``kind`` is ``added``, ``removed`` or ``changed``."""

    name: str
    kind: str
    before: Any = None
    after: Any = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "change": self.kind,
            "before": self.before,
            "after": self.after,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RunDiff:
    """Everything that differs between run A and run B, by category (the ``diff --json`` shape)."""

    run_a: str
    run_b: str
    parameters: tuple[Change, ...]
    seed: tuple[Change, ...]
    notebook: tuple[Change, ...]
    code: tuple[Change, ...]
    data: tuple[Change, ...]
    packages: tuple[Change, ...]
    environment: tuple[Change, ...]
    notes: tuple[str, ...] = ()

    CATEGORIES = ("parameters", "seed", "notebook", "code", "data", "packages", "environment")

    @property
    def identical(self) -> bool:
        return not any(getattr(self, name) for name in self.CATEGORIES)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"run_a": self.run_a, "run_b": self.run_b, "identical": self.identical}
        for name in self.CATEGORIES:
            document[name] = [change.to_dict() for change in getattr(self, name)]
        document["notes"] = list(self.notes)
        return document


def diff_runs(a: RunDetail, b: RunDetail) -> RunDiff:
    """Compare two recorded runs: parameters, seed, notebook, code per step, data files, packages."""
    notes: list[str] = []
    if a.environment is None or b.environment is None:
        notes.append("environment not recorded for one of the runs: packages not compared")
    return RunDiff(
        run_a=a.run.run_id,
        run_b=b.run.run_id,
        parameters=tuple(diff_mappings(a.run.parameters, b.run.parameters)),
        seed=tuple(_scalar_change("seed", a.run.seed, b.run.seed)),
        notebook=tuple(_scalar_change("notebook_hash", a.run.notebook_hash, b.run.notebook_hash)),
        code=tuple(_code_changes(a.steps, b.steps)),
        data=tuple(diff_mappings(_data_files(a.steps), _data_files(b.steps))),
        packages=tuple(_package_changes(a.environment, b.environment)),
        environment=tuple(_environment_changes(a.environment, b.environment)),
        notes=tuple(notes),
    )


def diff_mappings(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Keys added, removed or whose value changed, in key order."""
    changes: list[Change] = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes.append(Change(name, "removed", before=before[name]))
        elif name not in before:
            changes.append(Change(name, "added", after=after[name]))
        elif before[name] != after[name]:
            changes.append(Change(name, "changed", before=before[name], after=after[name]))
    return changes


def _scalar_change(name: str, before: Any, after: Any) -> list[Change]:
    return [] if before == after else [Change(name, "changed", before=before, after=after)]


def _code_changes(a: Iterable[StepRunRecord], b: Iterable[StepRunRecord]) -> list[Change]:
    """Steps whose code hash differs, with a unified diff of their code when both were recorded."""
    code_a = {step.step: step for step in a}
    code_b = {step.step: step for step in b}
    changes = diff_mappings(
        {name: step.code_hash for name, step in code_a.items()},
        {name: step.code_hash for name, step in code_b.items()},
    )
    return [_with_code_diff(change, code_a.get(change.name), code_b.get(change.name)) for change in changes]


def _with_code_diff(change: Change, a: StepRunRecord | None, b: StepRunRecord | None) -> Change:
    if a is None or b is None or a.code is None or b.code is None:
        return change
    lines = difflib.unified_diff(
        a.code.splitlines(keepends=True),
        b.code.splitlines(keepends=True),
        fromfile=f"{a.run_id}/{a.step}",
        tofile=f"{b.run_id}/{b.step}",
    )
    return replace(change, detail="".join(lines))


def _data_files(steps: Iterable[StepRunRecord]) -> dict[str, str]:
    """Every file a run read or wrote, with its last recorded hash (a later write wins)."""
    files: dict[str, str] = {}
    for step in sorted(steps, key=lambda s: s.position):
        for ref in (*step.reads, *step.writes):
            files[ref.path] = ref.hash
    return files


def _package_changes(a: EnvironmentSnapshot | None, b: EnvironmentSnapshot | None) -> list[Change]:
    if a is None or b is None:
        return []
    return diff_mappings(a.packages, b.packages)


def _environment_changes(a: EnvironmentSnapshot | None, b: EnvironmentSnapshot | None) -> list[Change]:
    if a is None or b is None:
        return []
    changes: list[Change] = []
    for name in ("implementation", "python_version", "system", "machine", "executable"):
        changes += _scalar_change(name, getattr(a, name), getattr(b, name))
    lock_a = a.lock.hash if a.lock else None
    lock_b = b.lock.hash if b.lock else None
    return changes + _scalar_change("lock_hash", lock_a, lock_b)
