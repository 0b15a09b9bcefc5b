"""Why a notebook did not reproduce: causes drawn from evidence (pure: no I/O).

Verify gathers the evidence (the run's steps, the cell comparisons, the cells that disagreed
between repeated runs, what changed since the last recorded run) and these functions turn it into
:class:`~jupyter_repro.results.Cause` values, most specific first. The catalogue of causes, with an
example of each, is in ``docs/verify.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_repro.model import Pipeline
from jupyter_repro.records import RunDiff
from jupyter_repro.results import Cause, CellVerdict, StepResult


def step_of_cell(pipeline: Pipeline, index: int) -> str | None:
    """The step a cell belongs to, or ``setup`` / ``parameters`` for those cells."""
    cell = pipeline.cell(index)
    if cell.step is not None:
        return cell.step
    return {"setup": "setup", "parameters": "parameters"}.get(cell.role)


def attribute_causes(
    pipeline: Pipeline,
    steps: Sequence[StepResult],
    failure: str | None,
    cells: Sequence[CellVerdict],
    nondeterministic: Mapping[int, str],
    changes: RunDiff | None,
) -> list[Cause]:
    """Every cause the evidence supports, most specific first (one entry per step and kind).

    ``changes`` is the difference between the last recorded run of the notebook and this one.
    """
    causes = [
        Cause(
            "error",
            step.name,
            f"step '{step.name}' failed in {step.error.message}",
            cell=step.error.cell,
        )
        for step in steps
        if step.error is not None
    ]
    if failure is not None and not causes:
        causes.append(Cause("error", None, failure))
    causes.extend(
        Cause(
            "nondeterminism",
            step_of_cell(pipeline, index),
            f"cell {index} gave different outputs in repeated headless runs (seeded): {_first_line(diff)}",
            cell=index,
        )
        for index, diff in sorted(nondeterministic.items())
    )
    bad_steps = {cell.step for cell in cells if cell.differs}
    if bad_steps or failure is not None:
        causes.extend(_hidden_state_causes(pipeline, bad_steps))
        if changes is not None:
            causes.extend(_ledger_causes(changes, pipeline, steps, bad_steps))
    return causes


def nothing_compared(cells: Sequence[CellVerdict]) -> Cause:
    """The cause of a verdict that had nothing to compare."""
    if not cells:
        return Cause("error", None, "the notebook has no code cell in its pipeline: nothing to verify")
    return Cause(
        "error",
        None,
        "no code cell has saved outputs to compare with: execute the notebook top to bottom, "
        "save it, then verify",
    )


def _ledger_causes(
    diff: RunDiff, pipeline: Pipeline, steps: Sequence[StepResult], bad_steps: set[str | None]
) -> list[Cause]:
    previous = diff.run_a
    causes = [
        Cause("code", change.name, f"step '{change.name}' code changed since run {previous}")
        for change in diff.code
        if change.name in bad_steps
    ]
    reads_now = {path: step.name for step in steps for path, _ in step.reads}
    causes.extend(
        Cause(
            "data",
            reads_now[change.name],
            f"{change.name} changed since run {previous} (content hash differs)",
        )
        for change in diff.data
        if change.name in reads_now and change.kind == "changed"
    )
    env_changes = [*diff.packages, *diff.environment]
    if env_changes:
        causes.append(_environment_cause(env_changes, pipeline, previous))
    return causes


def _environment_cause(changes: Sequence[Any], pipeline: Pipeline, previous: str) -> Cause:
    """Name the changed distributions, those the notebook imports first (they matter most)."""
    imported = {name.split(".")[0].lower().replace("_", "-") for name in pipeline.imported_modules}
    ordered = sorted(changes, key=lambda c: (c.name.lower() not in imported, c.name.lower()))
    texts = [f"{c.name} {c.before or '-'} -> {c.after or '-'}" for c in ordered]
    shown = ", ".join(texts[:10]) + (f" and {len(texts) - 10} more" if len(texts) > 10 else "")
    return Cause(
        "environment",
        None,
        f"environment changed since run {previous}: {shown}",
        evidence={"changes": [{"name": c.name, "before": c.before, "after": c.after} for c in ordered]},
    )


def _hidden_state_causes(pipeline: Pipeline, bad_steps: set[str | None]) -> list[Cause]:
    return [
        Cause("hidden-state", read.step, read.describe(), cell=read.cell)
        for read in pipeline.hidden_state
        if read.step in bad_steps or not bad_steps
    ]


def _first_line(text: str) -> str:
    lines = [
        line
        for line in text.splitlines()
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    return (lines[0] if lines else text.splitlines()[0] if text else "").strip()[:160]
