"""The typed result of a run or a verification: frozen values, and the one producer of its JSON.

Adapters fill these values (the runner its steps, verify its cells and causes); edges render them
(the CLI's table and ``--json``, the HTML report, the ledger recorder, the server's jobs). Nothing
mutates a result once built: verify derives its result from the run's with :func:`dataclasses.replace`.
:meth:`RunResult.to_json` is the ``run --json`` / ``verify --json`` document of ``docs/cli.md``.

Pure: no I/O, no imports beyond the standard library and the pure comparison module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from jupyter_repro.compare import CellComparison
    from jupyter_repro.evidence import Evidence

StepStatus = Literal["executed", "cached", "failed", "skipped"]
RunKind = Literal["run", "verify"]
Verdict = Literal["reproducible", "diverged", "failed"]
CauseKind = Literal["code", "data", "environment", "nondeterminism", "hidden-state", "error"]
FileDigest = tuple[str, str]
"""A file a step read or wrote: (path, content hash)."""


def jsonable(value: Any) -> Any:
    """``value`` as JSON, the same way everywhere (``steps --json``, ``run --json``, the ledger).

    Tuples become lists, sets sorted lists, mapping keys strings, and any other object its ``repr``
    (a parameter is shown as the literal a user would type).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item) for item in value), key=repr)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    return repr(value)


@dataclass(frozen=True)
class StepError:
    """Where and how a step failed: the first cell that raised."""

    cell: int
    ename: str
    evalue: str

    @property
    def message(self) -> str:
        return f"cell {self.cell}: {self.ename}: {self.evalue}"

    def to_json(self) -> dict[str, Any]:
        return {"cell": self.cell, "ename": self.ename, "evalue": self.evalue, "message": self.message}


@dataclass(frozen=True)
class StepResult:
    """What happened to one step (the ``steps[]`` entry), with what the ledger records of it."""

    name: str
    status: StepStatus
    cache_key: str
    duration_s: float
    cells: tuple[int, ...]
    reads: tuple[FileDigest, ...] = ()
    writes: tuple[FileDigest, ...] = ()
    network: tuple[str, ...] = ()
    """URLs and ``host:port`` addresses the step read from the network (neither pinned nor hashed)."""
    error: StepError | None = None
    reason: str | None = None
    code_hash: str = ""
    """Digest of the step's normalised code (comments do not count): the ledger's ``code_hash``."""
    code: str = ""
    """The step's source as it ran, for ``diff`` between runs."""
    origin: Literal["local", "remote"] | None = None
    """Where a cached step's entry came from: this checkout's store or the team's remote."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "cache_key": self.cache_key,
            "duration_s": round(self.duration_s, 4),
            "reads": [{"path": path, "hash": digest} for path, digest in self.reads],
            "writes": [{"path": path, "hash": digest} for path, digest in self.writes],
            "network": list(self.network),
            "cells": list(self.cells),
            "error": None if self.error is None else self.error.to_json(),
            "reason": self.reason,
        }
        if self.origin is not None:
            document["from"] = self.origin
        return document


@dataclass(frozen=True)
class Cause:
    """Why a cell (or the run) did not reproduce, with the evidence that says so.

    ``cell`` is the notebook cell index (as ``cells[].index``) or None for a cause of the whole run;
    ``evidence`` holds structured facts (for example the changed distributions) and is merged into
    the JSON entry, so each key of it is a key of the cause.
    """

    kind: CauseKind
    step: str | None
    detail: str
    cell: int | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    hint: str | None = None
    """One line of what to do about it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "step": self.step,
            "cell": self.cell,
            "detail": self.detail,
            "hint": self.hint,
            **{key: jsonable(value) for key, value in self.evidence.items()},
        }


@dataclass(frozen=True)
class CellVerdict:
    """The verdict on one code cell; ``comparison`` keeps both sides' outputs for the report."""

    index: int
    step: str | None
    comparison: CellComparison

    @property
    def status(self) -> str:
        return self.comparison.status

    @property
    def differs(self) -> bool:
        """A cell that counts against reproducibility: it differs or raised unexpectedly."""
        return self.comparison.status in ("differ", "error")

    def to_json(self) -> dict[str, Any]:
        return {**self.comparison.to_json(), "step": self.step, "reason": self.comparison.reason}


@dataclass(frozen=True)
class RunResult:
    """A run or a verification, complete: the one value every edge renders."""

    run_id: str
    kind: RunKind
    notebook: str
    seed: int
    parameters: Mapping[str, Any]
    environment_hash: str
    steps: tuple[StepResult, ...]
    executed_notebook: str
    failure: str | None = None
    verdict: Verdict | None = None
    cells: tuple[CellVerdict, ...] = ()
    causes: tuple[Cause, ...] = ()
    isolated: Mapping[str, Any] | None = None
    """How the isolated environment was built (``verify --isolated``)."""
    changes_since: Mapping[str, Any] | None = None
    """What differs from the last recorded run of the notebook (``diff`` of the two runs)."""
    runs: int | None = None
    """How many headless runs a verification made (``--runs``); None for a plain run."""
    extra_run_ids: tuple[str, ...] = ()
    report: str | None = None
    """Where the verification's HTML report is."""
    notes: tuple[str, ...] = ()
    """Facts about the verdict a reader should know (e.g. a notebook with nothing to verify)."""
    evidence: Evidence | None = None
    """What this verification saw (environment, data read, verified cells): what ``--stamp`` writes."""
    recorded_evidence: Evidence | None = None
    """The evidence the notebook's certificate carried when it was verified, if any."""

    @property
    def status(self) -> Literal["ok", "failed"]:
        return "failed" if self.failure is not None else "ok"

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 0 for a successful run or a reproducible verification, else 1."""
        if self.kind == "verify":
            return 0 if self.verdict == "reproducible" else 1
        return 0 if self.failure is None else 1

    def step(self, name: str) -> StepResult:
        return next(step for step in self.steps if step.name == name)

    def to_json(self) -> dict[str, Any]:
        """The ``run --json`` / ``verify --json`` document (keys only ever added, see docs/cli.md)."""
        document: dict[str, Any] = {
            "run_id": self.run_id,
            "kind": self.kind,
            "notebook": self.notebook,
            "status": self.status,
            "verdict": self.verdict,
            "seed": self.seed,
            "parameters": jsonable(self.parameters),
            "environment_hash": self.environment_hash,
            "steps": [step.to_json() for step in self.steps],
            "cells": [cell.to_json() for cell in self.cells],
            "causes": [cause.to_json() for cause in self.causes],
            "executed_notebook": self.executed_notebook,
            "error": self.failure,
            "notes": list(self.notes),
        }
        if self.isolated is not None:
            document["isolated"] = jsonable(self.isolated)
        if self.changes_since is not None:
            document["changes_since"] = jsonable(self.changes_since)
        if self.runs is not None:
            document["runs"] = self.runs
        if self.extra_run_ids:
            document["extra_run_ids"] = list(self.extra_run_ids)
        if self.report is not None:
            document["report"] = self.report
        if self.evidence is not None:
            document["evidence"] = {
                "here": self.evidence.to_json(),
                "recorded": None if self.recorded_evidence is None else self.recorded_evidence.to_json(),
            }
        return document
