"""The garbage-collection policy of a repro home, as a pure function: what ``jupyter repro gc`` deletes.

Deciding what to delete is kept apart from deleting it (:mod:`jupyter_repro.storage`) so the policy can
be tested exhaustively without a kernel or a disk, and so ``--dry-run`` shows exactly the plan a real
collection would carry out. The policy, in order:

1. Run folders: the newest ``keep_runs`` runs of each notebook are kept, and so is any run that is
   protected (still running, referred to by a stamped certificate) or younger than the grace period.
   The others are removed, but only those older than ``older_than`` when that is given.
2. Cache entries whose last use is older than ``older_than`` are removed, unless protected.
3. While the home is over ``max_size``, the least recently used remaining unprotected entry is removed.
4. Blobs no remaining entry refers to are removed (unless younger than the grace period: a running
   step may have just stored one whose entry is not written yet).

An entry is protected when the I/O layer says so (the newest finished run of its notebook used it, a
run of its notebook is going on, a certificate's run used it) or when it was used within the grace
period. Sizes count what deleting frees: an entry's file, plus each of its blobs once no kept entry
shares it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_GRACE_S = 600.0
"""Entries used, and blobs and run folders written, this recently are never collected (concurrent runs)."""

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(text: str) -> int:
    """Bytes in ``200KB``, ``500MB``, ``2GB``, ``1.5G``, ``4096`` (decimal units; ``KiB`` etc. binary).

    Raises ValueError with a message that says what is accepted.
    """
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 200KB, 500MB, 2GB)")
    number, unit = match.groups()
    unit = unit.lower()
    binary = "i" in unit
    prefix = unit[0] if unit and unit[0] != "b" else ""
    if binary and not prefix:
        raise ValueError(f"not a size: {text!r} (use e.g. 200KB, 500MB, 2GB)")
    factor = 1024 ** "kmgt".index(prefix) * 1024 if binary else _SIZE_UNITS[prefix]
    return int(float(number) * factor)


def parse_age(text: str) -> float:
    """Seconds in ``30s``, ``15m``, ``12h``, ``7d``, ``2w``; ValueError otherwise."""
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"not an age: {text!r} (use e.g. 30m, 12h, 7d, 2w)")
    number, unit = match.groups()
    return float(number) * _AGE_UNITS[unit.lower()]


def format_size(size: int) -> str:
    """A size for people: ``512 B``, ``1.2 MB`` (decimal units, as ``--max-size`` reads them)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop always returns


@dataclass(frozen=True)
class EntryInfo:
    """A cache entry as gc sees it: its own file's bytes, the blobs it refers to, when it was last used."""

    key: str
    step: str
    notebook: str | None
    file_size: int
    blobs: frozenset[str]
    last_used: float
    protected: str | None = None
    """Why it must be kept (``latest-run``, ``running``, ``certificate``), or None."""


@dataclass(frozen=True)
class RunFolder:
    """A ``runs/RUN_ID`` folder: whose run it is, when it started, its bytes, whether it is protected."""

    run_id: str
    notebook: str | None
    started: float
    size: int
    protected: str | None = None
    """Why it must be kept (``running``, ``certificate``), or None."""


@dataclass(frozen=True)
class Policy:
    """What the user asked for; ``now`` is passed in so the plan is a function of its inputs."""

    now: float
    max_size: int | None = None
    keep_runs: int = 10
    older_than: float | None = None
    grace_s: float = DEFAULT_GRACE_S


@dataclass(frozen=True)
class Removal:
    """One thing to delete, the bytes deleting it frees, and why."""

    kind: str  # "entry", "blob" or "run"
    name: str
    size: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "bytes": self.size, "reason": self.reason}


@dataclass(frozen=True)
class GcPlan:
    """The removals, in the order to carry them out (entries, blobs, runs), and the sizes around them."""

    size_before: int
    removals: tuple[Removal, ...] = ()
    max_size: int | None = None
    kept: Mapping[str, int] = field(default_factory=dict)
    """How many protected entries and runs were kept, by reason."""

    @property
    def freed(self) -> int:
        return sum(removal.size for removal in self.removals)

    @property
    def size_after(self) -> int:
        return self.size_before - self.freed

    @property
    def fits(self) -> bool:
        return self.max_size is None or self.size_after <= self.max_size

    def of_kind(self, kind: str) -> list[Removal]:
        return [removal for removal in self.removals if removal.kind == kind]


def plan_gc(
    entries: Sequence[EntryInfo],
    blobs: Mapping[str, tuple[int, float]],
    runs: Sequence[RunFolder],
    total_size: int,
    policy: Policy,
) -> GcPlan:
    """Decide what to delete from a home of ``total_size`` bytes; see the module docstring.

    ``blobs`` maps every blob digest in the store to ``(bytes, mtime)``. Never plans to delete a blob a
    kept entry refers to, a protected entry or run, or anything touched within the grace period.
    """
    kept: dict[str, int] = {}
    run_removals = _run_removals(runs, policy, kept)
    entry_reason: dict[str, str] = {}
    candidates: list[EntryInfo] = []
    for entry in entries:
        reason = entry.protected or ("recent" if policy.now - entry.last_used < policy.grace_s else None)
        if reason is not None:
            kept[reason] = kept.get(reason, 0) + 1
            continue
        if policy.older_than is not None and policy.now - entry.last_used > policy.older_than:
            entry_reason[entry.key] = "older-than"
        candidates.append(entry)

    references = _reference_counts(entries)
    size = total_size - sum(removal.size for removal in run_removals)
    removed: list[EntryInfo] = []
    # Blobs nothing refers to already (a crash, an earlier gc's leftovers) are free to take first.
    orphans = _free_blobs(blobs, references, set(blobs) - set(references), policy)
    size -= sum(orphans.values())

    def remove(entry: EntryInfo) -> None:
        nonlocal size
        removed.append(entry)
        freed = entry.file_size
        for digest in entry.blobs:
            references[digest] -= 1
            if references[digest] == 0 and digest in blobs and not _young(blobs[digest], policy):
                freed += blobs[digest][0]
        size -= freed

    for entry in candidates:
        if entry.key in entry_reason:
            remove(entry)
    if policy.max_size is not None:
        for entry in sorted(candidates, key=lambda item: (item.last_used, item.key)):
            if size <= policy.max_size:
                break
            if entry.key not in entry_reason:
                entry_reason[entry.key] = "max-size"
                remove(entry)

    freed_blobs = _free_blobs(blobs, references, {d for entry in removed for d in entry.blobs}, policy)
    removals = [Removal("entry", e.key, e.file_size, entry_reason[e.key]) for e in removed]
    removals += [
        Removal("blob", digest, bytes_, "unreferenced")
        for digest, bytes_ in sorted({**orphans, **freed_blobs}.items())
    ]
    return GcPlan(
        size_before=total_size,
        removals=tuple(removals + run_removals),
        max_size=policy.max_size,
        kept=dict(sorted(kept.items())),
    )


def _run_removals(runs: Sequence[RunFolder], policy: Policy, kept: dict[str, int]) -> list[Removal]:
    by_notebook: dict[str | None, list[RunFolder]] = {}
    for folder in runs:
        by_notebook.setdefault(folder.notebook, []).append(folder)
    removals = []
    for folders in by_notebook.values():
        newest_first = sorted(folders, key=lambda item: (item.started, item.run_id), reverse=True)
        for rank, folder in enumerate(newest_first):
            reason = folder.protected or ("recent" if policy.now - folder.started < policy.grace_s else None)
            if reason is not None:
                kept[f"run-{reason}"] = kept.get(f"run-{reason}", 0) + 1
                continue
            if rank < policy.keep_runs:
                continue
            if policy.older_than is not None and policy.now - folder.started <= policy.older_than:
                continue
            removals.append(Removal("run", folder.run_id, folder.size, "keep-runs"))
    return sorted(removals, key=lambda removal: removal.name)


def _reference_counts(entries: Iterable[EntryInfo]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        for digest in entry.blobs:
            counts[digest] = counts.get(digest, 0) + 1
    return counts


def _young(blob: tuple[int, float], policy: Policy) -> bool:
    return policy.now - blob[1] < policy.grace_s


def _free_blobs(
    blobs: Mapping[str, tuple[int, float]],
    references: Mapping[str, int],
    digests: Iterable[str],
    policy: Policy,
) -> dict[str, int]:
    """The blobs among ``digests`` that exist, nothing refers to and are past the grace period."""
    return {
        digest: blobs[digest][0]
        for digest in digests
        if digest in blobs and references.get(digest, 0) == 0 and not _young(blobs[digest], policy)
    }
