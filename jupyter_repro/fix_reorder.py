"""The ``reorder`` fix: move the cell that defines a name up before the cell that reads it (pure).

A hidden-state read of kind ``later`` (cell 4 reads ``threshold``, which only cell 9 defines) means the
saved outputs came from running the cells out of order. Moving the defining cell up, just before the
reader, makes a clean top-down run do what the author did. The move is only offered when it changes
nothing else: every read of every other cell must be provided by the same cell before and after (the
nearest earlier definition, in notebook order, as the data flow of :mod:`jupyter_repro.dataflow` sees
it); a read that had no provider at all may gain the moved cell (that is the fix), nothing may lose or
change one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jupyter_repro.model import Pipeline

Provider = Mapping[tuple[int, str], int | None]


@dataclass(frozen=True)
class Reorder:
    """The moves for one reading cell, or why there are none."""

    reader: int
    definers: tuple[int, ...]
    names: tuple[str, ...]
    moves: tuple[tuple[int, int], ...]
    """``(from, to)`` pairs, applied in order (``move_cell`` edits)."""
    refusal: str | None = None


def plan_reorder(pipeline: Pipeline, reader: int) -> Reorder | None:
    """How to move the cells defining what ``reader`` reads only later; None when nothing is defined later."""
    later = [read for read in pipeline.hidden_state if read.cell == reader and read.kind == "later"]
    if not later:
        return None
    definers = tuple(sorted({read.defined_in for read in later if read.defined_in is not None}))
    names = tuple(sorted({read.name for read in later}))
    moves = tuple((definer, reader + offset) for offset, definer in enumerate(definers))
    refusal = _tagged(pipeline, definers) or _changed_inputs(pipeline, reader, definers)
    return Reorder(reader, definers, names, moves, refusal)


def _tagged(pipeline: Pipeline, definers: Sequence[int]) -> str | None:
    for index in definers:
        tags = pipeline.cell(index).tags
        if tags:
            return (
                f"cell {index} is tagged {', '.join(tags)}: moving it would change the pipeline's steps; "
                "move it by hand"
            )
    return None


def _changed_inputs(pipeline: Pipeline, reader: int, definers: Sequence[int]) -> str | None:
    """Why moving ``definers`` before ``reader`` changes some cell's inputs, or None when it does not."""
    code = [cell.index for cell in pipeline.cells if cell.cell_type == "code" and cell.role != "skip"]
    moved = [index for index in code if index in definers]
    rest = [index for index in code if index not in definers]
    at = next((position for position, index in enumerate(rest) if index >= reader), len(rest))
    after = [*rest[:at], *moved, *rest[at:]]
    before_providers, after_providers = providers(pipeline, code), providers(pipeline, after)
    for (cell, name), provider in sorted(before_providers.items()):
        now = after_providers.get((cell, name))
        if provider is not None and now != provider:
            gets = f"cell {now}" if now is not None else "nothing"
            return (
                f"moving cell {', '.join(map(str, definers))} up would change what cell {cell} reads: "
                f"'{name}' would come from {gets} instead of cell {provider}"
            )
    return None


def providers(pipeline: Pipeline, order: Sequence[int]) -> dict[tuple[int, str], int | None]:
    """For each name each cell reads, the cell that last defined it before, running cells in ``order``."""
    latest: dict[str, int] = {}
    found: dict[tuple[int, str], int | None] = {}
    for index in order:
        cell = pipeline.cell(index)
        for name in cell.reads:
            found[(index, name)] = latest.get(name)
        for name in cell.defines:
            latest[name] = index
    return found
