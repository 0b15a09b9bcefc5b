"""``jupyter repro steps NB [--json]``: the notebook's pipeline, read from its tags and code."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_repro.model import Pipeline, Step

HELP = "show the notebook's steps: their cells, dependencies, and the variables passed between them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", metavar="NB", help="the notebook (.ipynb)")
    parser.add_argument("--json", action="store_true", help="print the pipeline as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from jupyter_repro.notebook import load_pipeline
    from jupyter_repro.textui import print_json

    pipeline = load_pipeline(args.notebook)
    if args.json:
        print_json(pipeline.to_json())
    else:
        print(render(pipeline))
    return 0


def render(pipeline: Pipeline) -> str:
    """The step table, then the facts a reader needs to trust it (parameters, skips, warnings)."""
    from jupyter_repro.textui import render_table

    headers = ("step", "cells", "depends on", "inputs (from)", "outputs")
    rows = [_row(step) for step in pipeline.steps]
    return "\n".join([render_table(headers, rows), *_details(pipeline)])


def _row(step: Step) -> tuple[str, ...]:
    inputs = ", ".join(f"{item.name} ({item.provider})" for item in step.inputs)
    name = f"{step.name} [no-cache]" if step.no_cache else step.name
    if step.imprecise:
        name += " [imprecise]"
    return (
        name,
        cell_ranges(step.cells) or "-",
        ", ".join(step.direct_dependencies) or "-",
        inputs or "-",
        ", ".join(step.outputs) or "-",
    )


def _details(pipeline: Pipeline) -> list[str]:
    lines: list[str] = []
    shown = [f"{name}={value!r}" for name, value in pipeline.parameters.items()]
    shown += [f"{name}={source}" for name, source in pipeline.parameter_expressions.items()]
    facts = [
        ("parameters", ", ".join(shown)),
        ("parameter cells", cell_ranges(pipeline.parameter_cells)),
        ("setup cells", cell_ranges(pipeline.setup_cells)),
        ("skipped cells", cell_ranges(pipeline.skip_cells)),
        ("outputs not compared", cell_ranges(pipeline.ignore_output_cells)),
    ]
    if any(value for _, value in facts):
        lines.append("")
    lines += [f"{label}: {value}" for label, value in facts if value]
    warnings = [
        *(
            f"step '{s.name}' is analysed conservatively: {s.imprecise_reason}"
            for s in pipeline.steps
            if s.imprecise
        ),
        *pipeline.notes,
        *(f"hidden state: {read.describe()}" for read in pipeline.hidden_state),
    ]
    if warnings:
        lines += ["", *(f"warning: {text}" for text in warnings)]
    return lines


def cell_ranges(indices: Iterable[int]) -> str:
    """``"3-5, 8"`` for cells 3, 4, 5 and 8."""
    ordered = sorted(set(indices))
    parts: list[str] = []
    start = previous = None
    for index in [*ordered, None]:
        if index is not None and previous is not None and index == previous + 1:
            previous = index
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = index
    return ", ".join(parts)
