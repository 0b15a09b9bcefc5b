"""A notebook as a pipeline: tags + data flow + DAG, as one :class:`~jupyter_repro.model.Pipeline`.

:func:`build_pipeline` is pure (a notebook node in, a frozen value out) and reads like a recipe:
lay the cells out from their tags, analyse each executed cell's code in execution order, read the
parameters, compose and resolve each step's data flow, order the steps, find hidden state.
:func:`jupyter_repro.notebook.load_pipeline` adds the one I/O step, reading the notebook file.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from jupyter_repro import dataflow, graph, tags
from jupyter_repro.dataflow import CellFlow, Resolution, StepFlow
from jupyter_repro.errors import PipelineError, TagError
from jupyter_repro.model import PARAMETERS_PROVIDER, Cell, HiddenStateRead, Pipeline, Step
from jupyter_repro.source import parse_or_reason
from jupyter_repro.tags import Layout, RawCell, StepLayout


def build_pipeline(nb: Any, notebook_path: str) -> Pipeline:
    """The pipeline of an nbformat notebook node (or equivalent dict); the path is for messages."""
    layout = tags.layout(raw_cells(nb, notebook_path), notebook_path)
    flows = _CellFlows.analyse(layout)
    parameters = _Parameters.read(layout)
    shared = flows.shared_names(layout) - set(parameters.names)
    step_flows = [dataflow.combine(step.name, flows.of(step.cells)) for step in layout.steps]
    resolutions = dataflow.resolve(step_flows, parameters=parameters.names, shared=shared)
    requires = {
        step.name: {*resolution.dependencies, *(name for name, _, _ in step.after)}
        for step, resolution in zip(layout.steps, resolutions, strict=True)
    }
    order = _ordered(layout.steps, requires, notebook_path)
    steps = _steps(layout, step_flows, resolutions, requires, order)
    return Pipeline(
        notebook=notebook_path,
        cells=flows.named_cells(layout),
        steps=steps,
        parameters=parameters.values,
        parameter_expressions=parameters.expressions,
        parameter_names=parameters.names,
        parameter_cells=layout.indices("parameters"),
        injected_parameter_cell=next(iter(layout.indices("injected-parameters")), None),
        setup_cells=layout.indices("setup"),
        skip_cells=layout.indices("skip"),
        ignore_output_cells=layout.ignore_output_cells,
        hidden_state=flows.hidden_state(layout, set(parameters.names) | shared),
        imported_modules=flows.modules(),
        notes=flows.notes(layout),
    )


def raw_cells(nb: Any, notebook_path: str) -> tuple[RawCell, ...]:
    """What the tag layer needs from each cell; sources given as line lists are joined."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        cell_tags = cell.get("metadata", {}).get("tags", [])
        if not isinstance(cell_tags, list | tuple) or not all(isinstance(t, str) for t in cell_tags):
            raise TagError("cell tags must be a list of strings", notebook=notebook_path, cell=index)
        found.append(RawCell(str(cell.get("cell_type", "code")), text, tuple(cell_tags)))
    return tuple(found)


# --------------------------------------------------------------------------------------------------
# Analysis of every executed cell, threading notebook-wide facts (functions, imports) through

_PRELOADED_ROLES = ("parameters", "injected-parameters", "setup")
"""Analysed first, in notebook order: their names exist before any step runs."""


@dataclass(frozen=True)
class _CellFlows:
    flows: Mapping[int, CellFlow]
    skipped: tuple[tuple[int, frozenset[str]], ...]

    @classmethod
    def analyse(cls, layout: Layout) -> _CellFlows:
        known = dataflow.EMPTY
        flows: dict[int, CellFlow] = {}
        ordered = [c for c in layout.cells if c.role in _PRELOADED_ROLES]
        ordered += [c for c in layout.cells if c.role == "step"]
        for cell in ordered:
            flow = dataflow.analyse_cell(cell.source, known)
            flows[cell.index] = flow
            known = flow.known
        skipped = tuple((c.index, _defined_leniently(c.source)) for c in layout.cells if c.role == "skip")
        return cls(flows, skipped)

    def of(self, indices: Sequence[int]) -> list[tuple[int, CellFlow]]:
        return [(index, self.flows[index]) for index in indices]

    def preloaded(self, layout: Layout) -> list[tuple[Cell, CellFlow]]:
        return [(c, self.flows[c.index]) for c in layout.cells if c.role in _PRELOADED_ROLES]

    def shared_names(self, layout: Layout) -> set[str]:
        """Names setup and parameter cells bind: available in every step, never step inputs."""
        names: set[str] = set()
        for _, flow in self.preloaded(layout):
            names |= flow.may | set(flow.defined)
        return names

    def modules(self) -> frozenset[str]:
        return frozenset().union(*(flow.modules for flow in self.flows.values()))

    def notes(self, layout: Layout) -> tuple[str, ...]:
        return tuple(
            f"cell {cell.index} ({cell.role}): {reason}; every step is analysed as if it could use any name"
            for cell, flow in self.preloaded(layout)
            for reason in flow.imprecise
        )

    def hidden_state(self, layout: Layout, preloaded: set[str]) -> tuple[HiddenStateRead, ...]:
        executed = [(c.index, self.flows[c.index]) for c in layout.cells if c.index in self.flows]
        return dataflow.hidden_state(
            executed,
            self.skipped,
            preloaded=preloaded,
            step_of={c.index: c.step for c in layout.cells},
            uncertain=any(flow.imprecise for _, flow in self.preloaded(layout)),
        )

    def named_cells(self, layout: Layout) -> tuple[Cell, ...]:
        """Every cell with the names it reads and defines (``cells[]``: the frontend's out-of-order
        marks compare them with live execution counts instead of analysing code itself)."""
        found = [(cell, self._flow_of(cell)) for cell in layout.cells]
        rebound = frozenset(name for _, flow in found if flow is not None for name in _defines(flow))
        return tuple(
            cell if flow is None else replace(cell, reads=_reads(flow, rebound), defines=_defines(flow))
            for cell, flow in found
        )

    def _flow_of(self, cell: Cell) -> CellFlow | None:
        """An executed cell's analysis; a skipped cell is analysed here (it runs interactively),
        knowing the functions and imports of the analysed cells above it; ``None`` for text cells."""
        if cell.index in self.flows:
            return self.flows[cell.index]
        if cell.role != "skip":
            return None
        above = [index for index in self.flows if index < cell.index]
        known = self.flows[max(above)].known if above else dataflow.EMPTY
        return dataflow.analyse_cell(cell.source, known)


def _reads(flow: CellFlow, rebound: frozenset[str]) -> tuple[str, ...]:
    """A cell's reads (weak ones included), without the kernel's own names unless a cell rebinds them."""
    names = {*flow.reads, *flow.weak_reads}
    return tuple(sorted(name for name in names if not dataflow.is_ambient(name) or name in rebound))


def _defines(flow: CellFlow) -> tuple[str, ...]:
    """What a cell binds or mutates, except names it binds by importing (the same module again)."""
    return tuple(sorted(name for name in flow.defined if name not in flow.known.imports))


def _defined_leniently(source: str) -> frozenset[str]:
    """Names a skipped cell would define (none known when it does not parse: it is not run anyway)."""
    flow = dataflow.analyse_cell(source)
    return flow.may | frozenset(flow.defined)


# --------------------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class _Parameters:
    names: tuple[str, ...]
    values: dict[str, Any]
    expressions: dict[str, str]

    @classmethod
    def read(cls, layout: Layout) -> _Parameters:
        """Defaults from the parameters cells, overridden by a papermill ``injected-parameters`` cell."""
        values: dict[str, Any] = {}
        expressions: dict[str, str] = {}
        names: dict[str, None] = {}
        for cell in layout.cells:
            if cell.role not in ("parameters", "injected-parameters"):
                continue
            tree, _ = parse_or_reason(cell.source)
            if tree is None:  # it runs (and fails) in the kernel; its analysis already made a note
                continue
            for assignment in dataflow.parameter_assignments(tree):
                names.setdefault(assignment.name)
                values.pop(assignment.name, None)
                expressions.pop(assignment.name, None)
                if assignment.literal:
                    values[assignment.name] = assignment.value
                else:
                    expressions[assignment.name] = str(assignment.value)
        ordered_values = {name: values[name] for name in names if name in values}
        return cls(tuple(names), ordered_values, expressions)


# --------------------------------------------------------------------------------------------------
# The DAG


def _ordered(steps: Sequence[StepLayout], requires: Mapping[str, set[str]], notebook: str) -> tuple[str, ...]:
    try:
        return graph.topological_order([step.name for step in steps], requires)
    except graph.CycleError as error:
        raise _cycle_error(error.cycle, steps, notebook) from None


def _cycle_error(cycle: Sequence[str], steps: Sequence[StepLayout], notebook: str) -> PipelineError:
    """Name the ``after:`` tag that closes the cycle: one that points at a step starting later
    (inferred edges always point forward, and an ``after:`` on an earlier step is an ordinary one)."""
    by_name = {step.name: step for step in steps}
    edges = [
        (by_name[before].start_cell > by_name[dependant].start_cell, cell, tag)
        for before, dependant in itertools.pairwise(cycle)
        for target, cell, tag in by_name[dependant].after
        if target == before
    ]
    message = f"the steps form a cycle: {' -> '.join(cycle)}"
    if not edges:
        return PipelineError(message, notebook=notebook)
    _, cell, tag = next((edge for edge in edges if edge[0]), edges[0])
    return PipelineError(
        message,
        notebook=notebook,
        cell=cell,
        tag=tag,
        hint="remove the tag, or move the cells so that data flows down the notebook",
    )


def _steps(
    layout: Layout,
    flows: Sequence[StepFlow],
    resolutions: Sequence[Resolution],
    requires: Mapping[str, set[str]],
    order: tuple[str, ...],
) -> tuple[Step, ...]:
    rank = {name: position for position, name in enumerate(order)}
    upstream = graph.upstream(order, requires)
    consumers: dict[str, set[str]] = {}
    for resolution in resolutions:
        for name, provider in resolution.inputs:
            consumers.setdefault(provider, set()).add(name)
    built = {
        step.name: _step(step, flow, resolution, layout, consumers.get(step.name, set()))
        for step, flow, resolution in zip(layout.steps, flows, resolutions, strict=True)
    }
    return tuple(
        _with_dependencies(built[name], sorted(requires[name], key=rank.__getitem__), upstream[name])
        for name in order
    )


def _step(
    step: StepLayout, flow: StepFlow, resolution: Resolution, layout: Layout, outputs: set[str]
) -> Step:
    return Step(
        name=step.name,
        cells=step.cells,
        sources=tuple(layout.cells[index].source for index in step.cells),
        after=tuple(name for name, _, _ in step.after),
        inputs=resolution.inputs,
        outputs=tuple(sorted(outputs)),
        defines=tuple(sorted(flow.defined)),
        parameters=tuple(i.name for i in resolution.inputs if i.provider == PARAMETERS_PROVIDER),
        no_cache=step.no_cache,
        imprecise_reason=flow.imprecise_reason,
    )


def _with_dependencies(step: Step, direct: Sequence[str], every: Sequence[str]) -> Step:
    return replace(step, direct_dependencies=tuple(direct), depends_on=tuple(every))
