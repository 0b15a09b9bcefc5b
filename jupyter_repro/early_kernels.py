"""Kernels started before the run is planned, when it is certain that steps will execute.

A kernel takes about 0.3 s to boot, in its own process. The runner normally starts it right after
planning, because until then it does not know whether any step must execute (a fully cached run
starts none). In two cases the answer is known as soon as the notebook is read: ``--no-cache``
(``verify --runs N`` too), and a repro home whose cache holds no entry at all, with no team remote
to look up (a first run). Then the kernels start before the environment is captured, the ledger
opened and the run planned, and boot while that work is done: one kernel, or with ``--jobs N`` one
for each lane that can start at once.

The run's folder does not exist yet when they start (the ledger names the run), so their log goes
to a file in the cache's ``tmp`` folder first and is moved to ``runs/RUN/kernel.log`` once the run
has its id (a crash in between leaves a stray file there, which ``doctor`` finds). Kernels the run
does not take (the plan found cached steps after all, or the run stopped early) are stopped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_repro import layout
from jupyter_repro.cache import ArtifactStore
from jupyter_repro.kernel_process import start_kernel_serialised, stop_kernel
from jupyter_repro.lanes import plan_lanes, serial_reason
from jupyter_repro.model import Step
from jupyter_repro.run_state import RunOptions

if TYPE_CHECKING:
    from jupyter_repro.env import CaptureAhead


class EarlyKernels:
    """The kernels started for a run before it was planned, which the runner takes one by one; and
    the environment capture started with them (``env.CaptureAhead``), when the run needs one."""

    def __init__(
        self,
        kernels: Sequence[Any] = (),
        log: Path | None = None,
        kernel_name: str | None = None,
    ) -> None:
        self._kernels = list(kernels)
        self._log = log
        self._kernel_name = kernel_name
        self._created: list[Path] = []  # folders made for the log, deepest first
        self.capture: CaptureAhead | None = None

    @classmethod
    def start(cls, count: int, home: Path, kernel_name: str, cwd: Path) -> EarlyKernels:
        """Start ``count`` kernels of ``kernel_name`` in ``cwd``, logging under ``home`` (made if
        needed: a run that then stops before it is recorded removes what was made for it)."""
        early = cls(kernel_name=kernel_name)
        try:
            early.resize(count, kernel_name, home, cwd)
        except OSError:  # no folder for the log: no early kernels; the run's own checks say why
            early.stop_unused()
            return cls()
        return early

    def resize(self, count: int, kernel_name: str, home: Path, cwd: Path) -> None:
        """Keep ``count`` kernels of ``kernel_name``: start the missing ones, stop the others.

        The first kernels may be started from the notebook's raw JSON, before nbformat read it
        (prepare.py); the notebook as read may then need another number, or another kernelspec.
        """
        if kernel_name != self._kernel_name:
            self._stop_kernels()
            self._kernel_name = kernel_name
        while len(self._kernels) > count:
            stop_kernel(self._kernels.pop())
        if len(self._kernels) < count:
            with open(self._log_path(home), "ab") as log:
                while len(self._kernels) < count:
                    self._kernels.append(start_kernel_serialised(kernel_name, cwd, log))

    def take(self) -> Any:
        """A started kernel for the next lane (or the run's one kernel), or None when none is left."""
        return self._kernels.pop(0) if self._kernels else None

    def take_capture(self) -> CaptureAhead | None:
        """The environment capture started with the kernels (once), or None."""
        capture, self.capture = self.capture, None
        return capture

    def move_log(self, home: Path, run_id: str) -> None:
        """Make the early kernels' log the run's ``kernel.log`` (later kernels append to it)."""
        self._created = []  # the run is recorded in the home: nothing made for it is removed
        if self._log is None:
            return
        target = layout.kernel_log_path(home, run_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._log, target)  # the kernels keep writing to the same file
        self._log = None

    def stop_unused(self) -> None:
        """Stop the kernels nobody took and a capture nobody asked for; drop a log that never became
        a run's, and the folders made only to hold it."""
        self._stop_kernels()
        capture = self.take_capture()
        if capture is not None:
            capture.abandon()
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None
        for folder in self._created:
            try:
                folder.rmdir()  # only when empty: another process may have used it since
            except OSError:
                break
        self._created = []

    def _stop_kernels(self) -> None:
        while self._kernels:
            stop_kernel(self._kernels.pop())

    def _log_path(self, home: Path) -> Path:
        if self._log is None:
            tmp = ArtifactStore(home).tmp
            self._created = _missing_folders(tmp)
            tmp.mkdir(parents=True, exist_ok=True)
            self._log = tmp / f"kernel-{os.getpid()}-{uuid.uuid4().hex[:8]}.log"
        return self._log


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def early_kernel_count(steps: Sequence[Step], options: RunOptions, store: ArtifactStore) -> int:
    """How many kernels the run certainly needs before it is planned: 0 when a step may be cached."""
    if not steps or not every_step_executes(options, store):
        return 0
    if options.jobs <= 1:
        return 1
    names = [step.name for step in steps]
    lanes = plan_lanes(steps, names)
    if len(lanes) <= 1 or serial_reason(steps, names) is not None:
        return 1
    return min(options.jobs, sum(1 for lane in lanes if not lane.after))


def every_step_executes(options: RunOptions, store: ArtifactStore) -> bool:
    """Whether no step can be cached: ``--no-cache``, or an empty cache and no remote to look in."""
    if options.no_cache:
        return True
    return options.remote is None and not _has_entries(store)


def _has_entries(store: ArtifactStore) -> bool:
    try:
        with os.scandir(store.entries) as found:
            return any(True for _ in found)
    except FileNotFoundError:
        return False
