"""Why a notebook did not reproduce: causes drawn from evidence (pure: no I/O).

Verify gathers the evidence (the run's steps, the cell comparisons, the cells that disagreed
between repeated runs, what changed since the last recorded run) and these functions turn it into
:class:`~jupyter_repro.results.Cause` values, most specific first. The catalogue of causes, with an
example of each, is in ``docs/verify.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_repro.cell_causes import CellEvidence, NotebookEvidence, cell_causes, fallback_cause
from jupyter_repro.evidence import Evidence, RecordedEvidence, environment_cause, evidence_causes
from jupyter_repro.model import Pipeline
from jupyter_repro.records import RunDiff
from jupyter_repro.results import Cause, CellVerdict, StepResult

if TYPE_CHECKING:
    from jupyter_repro.compare import NormalisedOutput


def step_of_cell(pipeline: Pipeline, index: int) -> str | None:
    """The step a cell belongs to, or ``setup`` / ``parameters`` for those cells."""
    cell = pipeline.cell(index)
    if cell.step is not None:
        return cell.step
    return {"setup": "setup", "parameters": "parameters"}.get(cell.role)


@dataclass(frozen=True)
class RunEvidence:
    """Everything verify knows when it explains a verdict."""

    pipeline: Pipeline
    steps: Sequence[StepResult]
    failure: str | None
    cells: Sequence[CellVerdict]
    errors: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    """The new error of each cell that raised (``ename``, ``evalue``, ``traceback``)."""
    expected_errors: frozenset[int] = frozenset()
    """Cells meant to raise (their saved outputs show an error, or they are tagged so)."""
    nondeterministic: Mapping[int, str] = field(default_factory=dict)
    """Cells whose outputs differed between repeated headless runs, with the difference."""
    changes: RunDiff | None = None
    """What differs between the notebook's last recorded run and this one."""
    notebook: NotebookEvidence = field(default_factory=NotebookEvidence)
    recorded: RecordedEvidence = field(default_factory=RecordedEvidence)
    """What the notebook carries: its certificate and the source hashes JupyterLab recorded."""
    here: Evidence = field(default_factory=Evidence)
    """The same evidence, as this verification saw it."""
    remote_results: Mapping[str, int] = field(default_factory=dict)
    """Step -> how many different results the team's remote holds for its key (when one is used)."""


def attribute_causes(evidence: RunEvidence) -> list[Cause]:
    """Every cause the evidence supports: failures first, then each bad cell's own, then the run's.

    Each cell that differs or failed gets at least one cause of its own (``cell`` set).
    """
    causes = [
        Cause(
            "error",
            step.name,
            f"step '{step.name}' failed in {step.error.message}",
            cell=step.error.cell,
            hint="fix the cell, or tag it 'raises-exception' if the error is intended",
        )
        for step in evidence.steps
        if step.error is not None
    ]
    if evidence.failure is not None and not causes:
        causes.append(Cause("error", None, evidence.failure))
    bad = [cell for cell in evidence.cells if cell.differs]
    bad_steps = {cell.step for cell in bad}
    run_wide: list[Cause] = []
    if bad_steps or evidence.failure is not None:
        causes.extend(_hidden_state_causes(evidence, bad_steps))
        if evidence.changes is not None:
            run_wide = _environment_changes(evidence.changes, evidence.pipeline)
        recorded_environment = environment_cause(evidence.recorded, evidence.here)
        if recorded_environment is not None and not run_wide:
            run_wide = [recorded_environment]  # with a ledger, its comparison is the more recent one
    explained = {cause.cell for cause in causes}
    for cell in bad:
        own = _causes_of_cell(cell, evidence)
        if cell.index not in explained and not own:
            own = [dataclasses.replace(cause, cell=cell.index, step=cell.step) for cause in run_wide] or [
                fallback_cause(_cell_evidence(cell, evidence), evidence.notebook)
            ]
        causes.extend(own)
    causes.extend(run_wide)
    return causes


def _causes_of_cell(cell: CellVerdict, evidence: RunEvidence) -> list[Cause]:
    causes = []
    if cell.index in evidence.nondeterministic:
        causes.append(
            Cause(
                "nondeterminism",
                cell.step,
                f"cell {cell.index} gave different outputs in repeated headless runs (seeded): "
                f"{_first_line(evidence.nondeterministic[cell.index])}",
                cell=cell.index,
                hint="find what the cell reads that changes between runs (time, network, unseeded "
                "randomness), or tag it 'ignore-output'",
            )
        )
    results = evidence.remote_results.get(cell.step or "", 0)
    if results > 1:
        causes.append(
            Cause(
                "nondeterminism",
                cell.step,
                f"the team's remote holds {results} different results for step '{cell.step}' with the same "
                "inputs: it does not compute the same thing twice",
                cell=cell.index,
                evidence={"results": results},
                hint="find what the step reads that changes between runs (time, network, unseeded "
                "randomness), or tag the cell 'ignore-output'",
            )
        )
    if evidence.changes is not None:
        causes.extend(_ledger_causes(evidence.changes, cell, evidence.pipeline, evidence.steps))
    causes.extend(
        _agreeing(
            causes,
            evidence_causes(cell.index, cell.step, evidence.pipeline, evidence.recorded, evidence.here),
        )
    )
    causes.extend(cell_causes(_cell_evidence(cell, evidence), evidence.notebook))
    return causes


def _agreeing(ledger: Sequence[Cause], recorded: Sequence[Cause]) -> list[Cause]:
    """The notebook's own evidence, without what the ledger already said: a code change the ledger
    saw is not named twice, nor a data file it names."""
    if any(cause.kind == "code" for cause in ledger):
        recorded = [cause for cause in recorded if cause.kind != "code"]
    named = [str(cause.evidence.get("path")) for cause in ledger if cause.kind == "data" and cause.evidence]
    return [cause for cause in recorded if cause.kind != "data" or not _same_file(cause, named)]


def _same_file(cause: Cause, absolute_paths: Sequence[str]) -> bool:
    """Whether the ledger names the file a certificate cause names (absolute there, relative here)."""
    relative = str(cause.evidence.get("path", "")).removeprefix("./")
    return any(path == relative or path.endswith("/" + relative.lstrip("./")) for path in absolute_paths)


def _cell_evidence(cell: CellVerdict, evidence: RunEvidence) -> CellEvidence:
    comparison = cell.comparison
    return CellEvidence(
        index=cell.index,
        step=cell.step,
        source=evidence.pipeline.cell(cell.index).source,
        error=evidence.errors.get(cell.index),
        saved_text=_texts(comparison.saved),
        new_text=_texts(comparison.new),
        formatting=tuple(getattr(comparison, "formatting", ())),
        stable_across_runs=evidence.notebook.runs > 1 and cell.index not in evidence.nondeterministic,
        network=next((step.network for step in evidence.steps if step.name == cell.step), ()),
    )


def nothing_compared(cells: Sequence[CellVerdict]) -> Cause:
    """The cause of a verdict that had code cells but nothing to compare (none was ever executed)."""
    return Cause(
        "error",
        None,
        f"none of the {len(cells)} code cells has saved outputs to compare with: nothing was verified",
        hint="execute the notebook top to bottom, save it, then verify",
    )


def _ledger_causes(
    diff: RunDiff, cell: CellVerdict, pipeline: Pipeline, steps: Sequence[StepResult]
) -> list[Cause]:
    """Code of the cell's step, and data read by it or its upstream steps, changed since the last run."""
    previous = diff.run_a
    upstream = {cell.step, *_depends_on(pipeline, cell.step)}
    since = f"since run {previous}"
    causes = [
        Cause(
            "code",
            cell.step,
            f"step '{change.name}' code changed {since}"
            if change.name == cell.step
            else f"cell {cell.index} depends on step '{change.name}', whose code changed {since}",
            cell=cell.index,
            hint="if the change is intended, re-execute the notebook and save it",
        )
        for change in diff.code
        if change.name in upstream
    ]
    reader = {path: step.name for step in steps if step.name in upstream for path, _ in step.reads}
    causes.extend(
        Cause(
            "data",
            reader[change.name],
            f"{change.name} changed since run {previous} (content hash differs)",
            cell=cell.index,
            evidence={"path": change.name},
            hint="restore the data file the outputs were made with, or re-execute and save the notebook",
        )
        for change in diff.data
        if change.name in reader and change.kind == "changed"
    )
    return causes


def _depends_on(pipeline: Pipeline, step: str | None) -> tuple[str, ...]:
    found = next((s for s in pipeline.steps if s.name == step), None)
    return () if found is None else found.depends_on


def _environment_changes(diff: RunDiff, pipeline: Pipeline) -> list[Cause]:
    env_changes = [*diff.packages, *diff.environment]
    return [_environment_cause(env_changes, pipeline, diff.run_a)] if env_changes else []


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
        hint="verify in the environment of that run (verify --isolated builds it from the lock)",
    )


def _hidden_state_causes(evidence: RunEvidence, bad_steps: set[str | None]) -> list[Cause]:
    """Reads a clean top-down run cannot satisfy, in the steps that went wrong.

    A read in a cell meant to raise is left out: a notebook that shows a ``NameError`` on purpose
    reads an undefined name by design.
    """
    return [
        Cause(
            "hidden-state",
            read.step,
            read.describe(),
            cell=read.cell,
            hint="define the name in an earlier cell (or move its cell up), then re-execute and save",
        )
        for read in evidence.pipeline.hidden_state
        if (read.step in bad_steps or not bad_steps) and read.cell not in evidence.expected_errors
    ]


def _first_line(text: str) -> str:
    lines = [
        line
        for line in text.splitlines()
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    return (lines[0] if lines else text.splitlines()[0] if text else "").strip()[:160]


def _texts(outputs: Iterable[NormalisedOutput]) -> str:
    return "\n".join(output.text for output in outputs if not output.key.startswith("image/"))
