"""The pipeline model: what a tagged notebook means, as frozen values (picklable, for jobs).

These dataclasses are the boundary between the pure core (``tags``, ``dataflow``, ``pipeline``) and
everything that runs, caches, verifies or exports (see ``docs/architecture.md``). They hold no
behaviour beyond lookups and the JSON form of ``jupyter repro steps --json`` (documented in
``docs/cli.md``, "JSON output"), so every consumer sees the same answer.

A cell index is always the index in the notebook's ``cells`` list (0-based, markdown cells included),
the number a user can find in the notebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from jupyter_repro.errors import PipelineError
from jupyter_repro.results import jsonable

CellRole = Literal["step", "setup", "parameters", "injected-parameters", "skip", "text"]
HiddenStateKind = Literal["later", "skipped", "undefined"]

PARAMETERS_PROVIDER = "parameters"
"""The provider named in ``inputs[].from`` for a pipeline parameter (``steps --json``, docs/cli.md)."""

MAIN_STEP = "main"
"""The step formed by the cells before the first ``step:`` tag (or by a notebook without tags)."""


@dataclass(frozen=True)
class Cell:
    """One notebook cell as the pipeline sees it.

    ``step`` is the step whose region the cell sits in: its own step for a ``step`` cell, the
    surrounding step for a ``skip`` cell (so the UI can badge it), ``None`` for setup, parameter and
    markdown/raw cells.
    """

    index: int
    cell_type: str
    source: str
    tags: tuple[str, ...]
    role: CellRole
    step: str | None
    ignore_output: bool
    raises_exception: bool = False
    """Declared to raise (tag ``raises-exception`` or ``# NBVAL_RAISES_EXCEPTION``): not a failure."""
    reads: tuple[str, ...] = ()
    """Names the cell reads before binding them, sorted (builtins only when a cell rebinds them)."""
    defines: tuple[str, ...] = ()
    """Names the cell binds or mutates, other than by ``import``, sorted.

    With :attr:`reads`, what JupyterLab needs to tell that an input was redefined after a cell ran;
    import bindings are left out because re-running an import rebinds the same module.
    """

    def to_json(self) -> dict[str, Any]:
        """The cell's entry of ``cells[]`` in the ``steps --json`` shape of docs/cli.md."""
        return {
            "index": self.index,
            "role": self.role,
            "step": self.step,
            "reads": list(self.reads),
            "defines": list(self.defines),
        }


class StepInput(NamedTuple):
    """A variable a step reads from outside itself and who provides it (a step or ``"parameters"``)."""

    name: str
    provider: str


@dataclass(frozen=True)
class Step:
    """A named group of contiguous code cells, run together and cached as one unit."""

    name: str
    cells: tuple[int, ...]
    """Indices of the step's code cells, in notebook order (skip/setup/parameter cells excluded)."""
    sources: tuple[str, ...]
    """The source of each cell in :attr:`cells`, as saved in the notebook."""
    after: tuple[str, ...] = ()
    """Explicit ``after:`` (or Kale ``prev:``) dependencies, as tagged."""
    direct_dependencies: tuple[str, ...] = ()
    """Steps this one depends on directly (explicit + inferred), in topological order."""
    depends_on: tuple[str, ...] = ()
    """Every upstream step (transitively), in topological order: what must run before this one."""
    inputs: tuple[StepInput, ...] = ()
    """Variables read from outside the step with their provider, sorted by name."""
    outputs: tuple[str, ...] = ()
    """Names this step defines or mutates that a later step reads from it, sorted."""
    defines: tuple[str, ...] = ()
    """Every name the step binds or mutates (a superset of :attr:`outputs`), sorted."""
    parameters: tuple[str, ...] = ()
    """Pipeline parameters the step reads directly, sorted (part of its cache key)."""
    no_cache: bool = False
    """A cell of the step is tagged ``no-cache``: always re-execute it."""
    imprecise_reason: str | None = None
    """Why static analysis cannot be precise for this step (star import, ``%run``, ``exec``...).

    Such a step is treated conservatively: it depends on every earlier step, takes as inputs every
    name an earlier step defines and every parameter, and is assumed to (re)define any name, so a
    later read resolves to it when it is the nearest possible definer.
    """

    @property
    def imprecise(self) -> bool:
        """True when the step's data flow is a conservative over-approximation."""
        return self.imprecise_reason is not None

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of :attr:`inputs`, in the same order."""
        return tuple(item.name for item in self.inputs)

    def to_json(self) -> dict[str, Any]:
        """The step's entry of the ``steps --json`` shape of docs/cli.md (plus added keys)."""
        return {
            "name": self.name,
            "cells": list(self.cells),
            "after": list(self.after),
            "depends_on": list(self.depends_on),
            "inputs": [{"name": item.name, "from": item.provider} for item in self.inputs],
            "outputs": list(self.outputs),
            "parameters": list(self.parameters),
            "direct_depends_on": list(self.direct_dependencies),
            "defines": list(self.defines),
            "no_cache": self.no_cache,
            "imprecise": self.imprecise_reason,
        }


@dataclass(frozen=True)
class HiddenStateRead:
    """A name read by a cell that a clean top-down run cannot have defined at that point.

    ``kind`` says why: ``"later"`` (only a later cell defines it: the saved outputs depended on
    out-of-order execution), ``"skipped"`` (only a ``skip`` cell defines it), ``"undefined"`` (no cell
    defines it: it came from a deleted cell or the interactive session).
    """

    cell: int
    name: str
    defined_in: int | None
    kind: HiddenStateKind
    step: str | None = None

    def describe(self) -> str:
        """One sentence for reports: where the read is and where the name is defined."""
        where = f"cell {self.cell} reads '{self.name}'"
        if self.kind == "later":
            return f"{where}, which is defined only later, in cell {self.defined_in}"
        if self.kind == "skipped":
            return f"{where}, which is defined only in skipped cell {self.defined_in}"
        return f"{where}, which no cell of the notebook defines"

    def to_json(self) -> dict[str, Any]:
        """JSON form used by ``steps --json`` and verify reports."""
        return {
            "cell": self.cell,
            "name": self.name,
            "defined_in": self.defined_in,
            "kind": self.kind,
            "step": self.step,
            "description": self.describe(),
        }


@dataclass(frozen=True)
class Pipeline:
    """A notebook read as a pipeline: its cells, steps in topological order and parameters."""

    notebook: str
    """The notebook path as given by the caller (used in messages and JSON)."""
    cells: tuple[Cell, ...]
    steps: tuple[Step, ...]
    """Steps in topological order (ties broken by notebook order)."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """Parameter defaults whose value is a Python literal, in the order the cell assigns them
    (values of an ``injected-parameters`` cell override them, as papermill ran them)."""
    parameter_expressions: Mapping[str, str] = field(default_factory=dict)
    """Parameters whose default is not a literal: name -> source of the expression."""
    parameter_names: tuple[str, ...] = ()
    """Every parameter name (literal or not), in order."""
    parameter_cells: tuple[int, ...] = ()
    """Cells tagged ``parameters`` (or Kale ``pipeline-parameters`` and the cells it continues to)."""
    injected_parameter_cell: int | None = None
    """A cell papermill injected (tag ``injected-parameters``), if the notebook is a papermill output."""
    setup_cells: tuple[int, ...] = ()
    skip_cells: tuple[int, ...] = ()
    """Cells tagged ``skip`` (or ``nbval-skip``, or with a ``# NBVAL_SKIP`` comment): never run."""
    ignore_output_cells: tuple[int, ...] = ()
    """Cells whose outputs verify does not compare (``ignore-output`` or ``# NBVAL_IGNORE_OUTPUT``)."""
    hidden_state: tuple[HiddenStateRead, ...] = ()
    imported_modules: frozenset[str] = frozenset()
    """Top-level module names imported by any executed cell (stdlib included; callers filter)."""
    notes: tuple[str, ...] = ()
    """Imprecisions outside steps (e.g. a star import in a setup cell), one sentence each."""

    @property
    def parameter_cell(self) -> int | None:
        """The first parameters cell (papermill's ``parameters`` cell), or ``None``."""
        return self.parameter_cells[0] if self.parameter_cells else None

    @property
    def step_names(self) -> tuple[str, ...]:
        """Step names in topological order."""
        return tuple(step.name for step in self.steps)

    def step(self, name: str) -> Step:
        """The step called ``name``; a :class:`PipelineError` (exit code 2) naming the others if none."""
        for step in self.steps:
            if step.name == name:
                return step
        raise PipelineError(
            f"no step named '{name}'",
            notebook=self.notebook,
            hint=f"steps: {', '.join(self.step_names)}",
        )

    def cell(self, index: int) -> Cell:
        """The cell at notebook index ``index``."""
        return self.cells[index]

    @property
    def setup_sources(self) -> tuple[str, ...]:
        """Sources of the setup cells in notebook order (run before every step)."""
        return tuple(self.cells[index].source for index in self.setup_cells)

    def to_json(self) -> dict[str, Any]:
        """Exactly the ``steps --json`` shape of docs/cli.md ("JSON output"), plus added keys."""
        return {
            "notebook": self.notebook,
            "steps": [step.to_json() for step in self.steps],
            "cells": [cell.to_json() for cell in self.cells],
            "parameters": {name: jsonable(value) for name, value in self.parameters.items()},
            "setup_cells": list(self.setup_cells),
            "parameter_cells": list(self.parameter_cells),
            "parameter_expressions": dict(self.parameter_expressions),
            "skip_cells": list(self.skip_cells),
            "ignore_output_cells": list(self.ignore_output_cells),
            "hidden_state": [read.to_json() for read in self.hidden_state],
            "imported_modules": sorted(self.imported_modules),
            "notes": list(self.notes),
        }
