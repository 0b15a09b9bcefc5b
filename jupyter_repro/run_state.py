"""A run's state while it runs: the caller's options, each step's working outcome, the run's outcome.

Kept apart from the recipe (:mod:`jupyter_repro.runner`, which re-exports these names) so the recipe
reads as steps, and so modules that only need the shapes (verify, the remote) do not import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from jupyter_repro.model import Pipeline, Step
from jupyter_repro.plan import KeyInputs, step_code_hash
from jupyter_repro.records import EnvironmentSnapshot
from jupyter_repro.results import RunKind, RunResult, StepError, StepResult, StepStatus

if TYPE_CHECKING:
    from jupyter_repro.cache import CacheEntry
    from jupyter_repro.early_kernels import EarlyKernels
    from jupyter_repro.remote import RemoteConfig, RemoteStore, Uploader

ProgressCallback = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class RunOptions:
    """What the caller asked for; defaults are those of ``jupyter repro run NB``."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    no_cache: bool = False
    step: str | None = None
    kind: RunKind = "run"
    cell_timeout_s: float | None = None
    start_timeout_s: float = 60.0
    home: str | None = None
    kernel_name: str | None = None
    """Run in this kernelspec instead of the notebook's (``verify --isolated``)."""
    capture_lock: bool = False
    progress: ProgressCallback | None = None
    remote: RemoteConfig | None = None
    """The team's store (``--remote``): looked up on a local miss, written after each step."""
    jobs: int = 1
    """Lanes of independent steps to run at once, one kernel each (``--jobs``; see lanes.py)."""


@dataclass
class StepOutcome:
    """One step's working state during a run; :meth:`result` is its frozen :class:`StepResult`."""

    step: Step
    key: str
    status: StepStatus = "skipped"
    duration_s: float = 0.0
    reads: list[tuple[str, str]] = field(default_factory=list)
    writes: list[tuple[str, str]] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    error: StepError | None = None
    entry: CacheEntry | None = None
    reason: str | None = None
    fingerprint: str | None = None
    """Digest of what the step produced (known once it is cached or has executed)."""
    origin: Literal["local", "remote"] | None = None

    def result(self) -> StepResult:
        return StepResult(
            name=self.step.name,
            status=self.status,
            cache_key=self.key,
            duration_s=self.duration_s,
            cells=tuple(self.step.cells),
            reads=tuple(self.reads),
            writes=tuple(self.writes),
            network=tuple(self.network),
            error=self.error,
            reason=self.reason,
            code_hash=step_code_hash(self.step),
            code="\n\n".join(self.step.sources),
            origin=self.origin if self.status == "cached" else None,
        )


@dataclass
class RunOutcome:
    """A run as the runner leaves it: the executed state, and :attr:`result`, its typed result.

    The outputs, errors and the pipeline stay here for verify (which compares them); everything a
    user sees is in the frozen :class:`RunResult`.
    """

    run_id: str
    kind: RunKind
    notebook: str
    pipeline: Pipeline
    source: Any
    parameters: dict[str, Any]
    seed: int
    environment_hash: str
    steps: list[StepOutcome]
    outputs: dict[int, list[dict[str, Any]]]
    """New (or cached) outputs per source cell index, for every cell that ran or was replayed."""
    errors: dict[int, dict[str, Any]]
    """Cells whose execution raised: ename, evalue, traceback."""
    executed_notebook: str
    run_dir: Path
    home: Path
    failure: str | None = None
    environment: EnvironmentSnapshot | None = None
    """The kernel's environment as captured for this run."""
    remote: RemoteStore | None = None
    uploader: Uploader | None = None
    expected_errors: frozenset[int] = frozenset()
    """Cells meant to raise: their saved outputs show an error, or they are tagged so. The run goes on
    past them (nbclient's ``raises-exception``), and their error is compared like any output."""
    early_kernels: EarlyKernels | None = None
    """Kernels started before the run was planned, for its first lanes (see early_kernels.py)."""

    @property
    def keys(self) -> KeyInputs:
        return KeyInputs(self.pipeline, self.parameters, self.seed, self.environment_hash)

    @property
    def result(self) -> RunResult:
        """The run's typed result (``run --json``); verify derives its own from it."""
        return RunResult(
            run_id=self.run_id,
            kind=self.kind,
            notebook=self.notebook,
            seed=self.seed,
            parameters=self.parameters,
            environment_hash=self.environment_hash,
            steps=tuple(step.result() for step in self.steps),
            executed_notebook=self.executed_notebook,
            failure=self.failure,
        )
