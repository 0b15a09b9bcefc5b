"""A run as read before anything is recorded, and the kernels it will certainly need, started now.

:func:`prepare_run` is the first part of :func:`jupyter_repro.runner.run_pipeline`: read the
notebook, build its pipeline, check the parameters, find the repro home, and start the kernels that
early_kernels.py says the run will certainly need. The kernels come first, counted from the
notebook's raw JSON, so that they boot while nbformat is imported and the notebook read properly;
the count is then checked against the notebook as read. The module imports only what that takes
(the pipeline; nbformat and jupyter_client when used), not the ledger, the cache's transport,
papermill or the comparison, so the CLI calls it *before* importing the runner or verify: the
kernels (0.3 s each to boot) then also boot while the rest of the command is imported (0.2 s).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_repro.cache import ArtifactStore
from jupyter_repro.early_kernels import EarlyKernels, early_kernel_count, every_step_executes
from jupyter_repro.errors import ReproError
from jupyter_repro.home import check_trusted, find_home, locate_home
from jupyter_repro.model import Pipeline, Step
from jupyter_repro.notebook import SUPPORTED_MAJOR, notebook_from_json, read_notebook_json
from jupyter_repro.params import resolve_parameters
from jupyter_repro.pipeline import build_pipeline
from jupyter_repro.run_state import RunOptions


@dataclass(frozen=True)
class PreparedRun:
    """The notebook, its pipeline and parameters, where it is kept, and its early kernels."""

    path: Path
    shown: str
    source: Any
    pipeline: Pipeline
    parameters: dict[str, Any]
    selected: list[Step]
    home: Path
    early: EarlyKernels

    def is_for(self, notebook_path: str | os.PathLike[str]) -> bool:
        return self.path == Path(notebook_path)


def prepare_run(notebook_path: str | os.PathLike[str], options: RunOptions) -> PreparedRun:
    """Read and check the run of ``notebook_path``; start the kernels it will certainly need.

    The caller owns the kernels: ``run_pipeline(path, options, prepared)`` takes them, and stops
    those it did not use; a caller that ends up not running calls ``prepared.early.stop_unused()``.
    """
    from jupyter_repro.env import notebook_kernel_name, start_capture_ahead

    path = Path(notebook_path)
    shown = str(notebook_path)
    data = read_notebook_json(path)
    cwd = path.resolve().parent
    located = locate_home(path, options.home)  # not created yet: a refused run leaves none
    early = _start_from_json(data, shown, options, located, cwd)
    try:
        if options.kernel_name is None and _is_current_json(data):  # the run captures its kernel's
            early.capture = start_capture_ahead(path, data, located)
        source = notebook_from_json(data, shown)
        pipeline = build_pipeline(source, shown)
        declared = {name: pipeline.parameters.get(name) for name in pipeline.parameter_names}
        resolve_parameters(declared, options.parameters, notebook=shown)
        home = find_home(path, options.home)
        check_trusted(home)
        selected = selected_steps(pipeline, options.step)
        kernel_name = options.kernel_name or notebook_kernel_name(source)
        early.resize(early_kernel_count(selected, options, ArtifactStore(home)), kernel_name, home, cwd)
    except BaseException:
        early.stop_unused()
        raise
    return PreparedRun(
        path=path,
        shown=shown,
        source=source,
        pipeline=pipeline,
        parameters={**pipeline.parameters, **options.parameters},
        selected=selected,
        home=home,
        early=early,
    )


def _start_from_json(data: Any, shown: str, options: RunOptions, home: Path, cwd: Path) -> EarlyKernels:
    """The kernels the notebook's raw JSON says the run will certainly need, started at once.

    Reading the notebook properly (nbformat's schema, its repairs) costs nbformat's import, 0.07 s;
    the kernels need only its steps and kernelspec, which the JSON of a current notebook already
    gives. So they start first, and boot during that reading: :func:`prepare_run` then corrects the
    count from the notebook as read (an old nbformat, a repaired kernelspec, an error).
    """
    from jupyter_repro.env import notebook_kernel_name

    if home.exists() and not home.is_dir():
        return EarlyKernels()  # the proper reading says what is wrong with it
    try:
        check_trusted(home)
    except ReproError:
        return EarlyKernels()
    store = ArtifactStore(home)
    if not every_step_executes(options, store):
        return EarlyKernels()  # a step may be cached (the usual run): no pipeline built twice
    count = early_kernel_count(_steps_in_json(data, shown, options.step), options, store)
    if count == 0:
        return EarlyKernels()
    return EarlyKernels.start(count, home, options.kernel_name or notebook_kernel_name(data), cwd)


def _steps_in_json(data: Any, shown: str, only: str | None) -> list[Step]:
    """The steps an nbformat 4 notebook's raw JSON tags, or none when that is not certain."""
    if not _is_current_json(data):
        return []
    try:
        return selected_steps(build_pipeline(data, shown), only)
    except Exception:  # a malformed cell or tag: the proper reading reports it, this only guessed
        return []


def _is_current_json(data: Any) -> bool:
    """Whether raw JSON has the shape of an nbformat 4 notebook (what nbformat reads without converting)."""
    if not isinstance(data, dict) or data.get("nbformat") != SUPPORTED_MAJOR:
        return False
    return isinstance(data.get("cells"), list) and isinstance(data.get("metadata", {}), dict)


def selected_steps(pipeline: Pipeline, only: str | None) -> list[Step]:
    """All steps, or ``only`` and its upstream steps (``run --step``), in topological order."""
    if only is None:
        return list(pipeline.steps)
    target = pipeline.step(only)
    wanted = {*target.depends_on, target.name}
    return [step for step in pipeline.steps if step.name in wanted]


def verify_run_options(run: RunOptions, runs: int) -> RunOptions:
    """The options of a verification's first run: kind ``verify``, and no cache for ``--runs N``
    (each run must execute to tell drift from nondeterminism)."""
    return dataclasses.replace(run, kind="verify", no_cache=run.no_cache or runs > 1)
