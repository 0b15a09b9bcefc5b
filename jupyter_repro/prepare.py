"""A run as read before anything is recorded, and the kernels it will certainly need, started now.

:func:`prepare_run` is the first part of :func:`jupyter_repro.runner.run_pipeline`: read the
notebook, build its pipeline, check the parameters, find the repro home, and start the kernels that
early_kernels.py says the run will certainly need. It imports only what that takes (nbformat, the
pipeline, jupyter_client), not the ledger, the cache's transport, papermill or the comparison, so
the CLI calls it *before* importing the runner or verify: the kernels (0.3 s each to boot) then
boot while the rest of the command is imported (0.2 s), instead of after it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_repro.early_kernels import EarlyKernels, start_early_kernels
from jupyter_repro.home import check_trusted, find_home
from jupyter_repro.model import Pipeline, Step
from jupyter_repro.notebook import load_notebook
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
    from jupyter_repro.env import notebook_kernel_name

    path = Path(notebook_path)
    source = load_notebook(path)
    pipeline = build_pipeline(source, str(notebook_path))
    declared = {name: pipeline.parameters.get(name) for name in pipeline.parameter_names}
    resolve_parameters(declared, options.parameters, notebook=str(notebook_path))
    home = find_home(path, options.home)
    check_trusted(home)
    selected = selected_steps(pipeline, options.step)
    kernel_name = options.kernel_name or notebook_kernel_name(source)
    return PreparedRun(
        path=path,
        shown=str(notebook_path),
        source=source,
        pipeline=pipeline,
        parameters={**pipeline.parameters, **options.parameters},
        selected=selected,
        home=home,
        early=start_early_kernels(selected, options, home, kernel_name, path.resolve().parent),
    )


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
