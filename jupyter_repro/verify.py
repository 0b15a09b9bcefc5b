"""Verify reproducible: re-execute headlessly, compare every code cell, explain, record.

The recipe (:func:`verify_notebook`):

1. run the pipeline headlessly (:func:`jupyter_repro.runner.run_pipeline`, cache allowed unless
   ``--no-cache`` or ``--runs N``), in the notebook's kernel or an isolated one built from the lock;
2. compare each code cell's new outputs with the saved ones (:mod:`jupyter_repro.compare`);
3. with ``--runs N``, run N-1 more times without cache and mark cells whose outputs disagree
   between runs as nondeterministic (as opposed to drift, which is stable across runs);
4. decide the verdict and attribute causes from evidence: the pipeline model (hidden state), the
   ledger (code, data and environment compared with the last recorded run) and the runs themselves;
5. record it in the ledger, write ``report.html``, and stamp the notebook only if asked.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jupyter_repro.compare import CellComparison, compare_cell
from jupyter_repro.errors import PathError
from jupyter_repro.ledger import Ledger
from jupyter_repro.model import Pipeline
from jupyter_repro.runner import RunOptions, RunOutcome, finish_recording, run_pipeline

Verdict = Literal["reproducible", "diverged", "failed"]


@dataclass(frozen=True)
class VerifyOptions:
    """``verify``'s own options; the run options (parameters, cache, timeout, home) are shared."""

    run: RunOptions = field(default_factory=RunOptions)
    runs: int = 1
    isolated: bool = False
    report: str | None = None
    stamp: bool = False


@dataclass
class Verification:
    """The outcome of a verification: the main run, the cell verdicts, causes, and extra runs."""

    outcome: RunOutcome
    comparisons: list[CellComparison]
    verdict: Verdict
    causes: list[dict[str, Any]]
    result: dict[str, Any]
    extra_runs: list[RunOutcome] = field(default_factory=list)
    nondeterministic: dict[int, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == "reproducible" else 1


def verify_notebook(notebook_path: str | Path, options: VerifyOptions | None = None) -> Verification:
    """Verify that the notebook reproduces its saved outputs; see the module docstring."""
    from jupyter_repro.isolation import isolated_kernel

    options = options or VerifyOptions()
    run_options = dataclasses.replace(
        options.run, kind="verify", no_cache=options.run.no_cache or options.runs > 1
    )
    extra: dict[str, Any] = {}
    if options.isolated:
        with isolated_kernel(notebook_path, run_options) as (kernel_name, build_report):
            extra["isolated"] = build_report
            run_options = dataclasses.replace(run_options, kernel_name=kernel_name)
            return _verify(notebook_path, options, run_options, extra)
    return _verify(notebook_path, options, run_options, extra)


def _verify(
    notebook_path: str | Path, options: VerifyOptions, run_options: RunOptions, extra: dict[str, Any]
) -> Verification:
    outcome = run_pipeline(notebook_path, run_options)
    outcome.extra.update(extra)
    comparisons = compare_outcome(outcome)
    extra_runs = [
        run_pipeline(notebook_path, dataclasses.replace(run_options, kind="run"))
        for _ in range(max(0, options.runs - 1))
    ]
    nondeterministic = _disagreeing_cells(outcome, extra_runs)
    with Ledger.open(outcome.home) as ledger:
        causes = attribute_causes(outcome, comparisons, nondeterministic, ledger)
        verdict = decide_verdict(outcome, comparisons)
        if verdict == "failed" and not any(c["kind"] == "error" for c in causes):
            causes.append({"kind": "error", "step": None, "detail": _nothing_compared(comparisons)})
        outcome.extra["causes"] = causes
        outcome.extra["cells"] = [_cell_json(outcome.pipeline, c) for c in comparisons]
        outcome.extra["runs"] = 1 + len(extra_runs)
        if extra_runs:
            outcome.extra["extra_run_ids"] = [run.run_id for run in extra_runs]
        result = finish_recording(outcome, ledger, verdict, cells=outcome.extra["cells"])
    verification = Verification(outcome, comparisons, verdict, causes, result, extra_runs, nondeterministic)
    _write_reports(verification, options)
    if options.stamp:
        stamp_notebook(notebook_path, verification)
    return verification


# ---------------------------------------------------------------------------------------- comparing


def compare_outcome(outcome: RunOutcome) -> list[CellComparison]:
    """Compare every code cell of the pipeline that the run executed or replayed."""
    pipeline = outcome.pipeline
    ignored = set(pipeline.ignore_output_cells)
    skipped = set(pipeline.skip_cells)
    comparisons = []
    for index, cell in enumerate(outcome.source.cells):
        if cell.cell_type != "code" or index in skipped:
            continue
        if index not in outcome.outputs:
            if _in_selected_steps(outcome, index):
                comparisons.append(_not_reached(index, outcome))
            continue
        comparisons.append(
            compare_cell(
                index,
                list(cell.get("outputs", [])),
                cell.get("execution_count"),
                outcome.outputs[index],
                ignored=index in ignored,
                new_raised=index in outcome.errors,
            )
        )
    return comparisons


def _in_selected_steps(outcome: RunOutcome, index: int) -> bool:
    return any(index in step.step.cells for step in outcome.steps)


def _not_reached(index: int, outcome: RunOutcome) -> CellComparison:
    reason = f"not executed: {outcome.failure or 'its step did not run'}"
    return CellComparison(index, "unverified", reason, reason)


def _disagreeing_cells(outcome: RunOutcome, extra_runs: Sequence[RunOutcome]) -> dict[int, str]:
    """Cells whose new outputs differ between the headless runs themselves: nondeterminism."""
    disagreeing: dict[int, str] = {}
    for other in extra_runs:
        for index, outputs in outcome.outputs.items():
            if index in disagreeing or index not in other.outputs:
                continue
            # the first run's outputs play the "saved" side; an execution count marks them as executed
            check = compare_cell(index, outputs, 1, other.outputs[index], ignored=False, new_raised=False)
            if check.status == "differ":
                disagreeing[index] = check.diff or check.reason
    return disagreeing


def decide_verdict(outcome: RunOutcome, comparisons: Sequence[CellComparison]) -> Verdict:
    """``failed`` on an execution error or when nothing could be compared; ``diverged`` on any
    differing cell; otherwise ``reproducible``."""
    if outcome.failure is not None or any(c.status == "error" for c in comparisons):
        return "failed"
    if not any(c.status in ("match", "differ") for c in comparisons):
        return "failed"  # nothing was compared: a yes would not be trustworthy
    if any(c.status == "differ" for c in comparisons):
        return "diverged"
    return "reproducible"


def _nothing_compared(comparisons: Sequence[CellComparison]) -> str:
    if not comparisons:
        return "the notebook has no code cell in its pipeline: nothing to verify"
    return (
        "no code cell has saved outputs to compare with: execute the notebook top to bottom, "
        "save it, then verify"
    )


# ------------------------------------------------------------------------------------------ causes


def attribute_causes(
    outcome: RunOutcome,
    comparisons: Sequence[CellComparison],
    nondeterministic: Mapping[int, str],
    ledger: Ledger,
) -> list[dict[str, Any]]:
    """Every cause the evidence supports, most specific first (one entry per step and kind)."""
    from jupyter_repro.records import diff_runs

    causes: list[dict[str, Any]] = []
    pipeline = outcome.pipeline
    bad_steps = {_step_of(pipeline, c.index) for c in comparisons if c.status in ("differ", "error")}
    for step in outcome.steps:
        if step.error is not None:
            causes.append(
                _cause("error", step.step.name, f"step '{step.step.name}' failed in {step.error['message']}")
            )
    if outcome.failure is not None and not any(c["kind"] == "error" for c in causes):
        causes.append(_cause("error", None, outcome.failure))
    for index, diff in sorted(nondeterministic.items()):
        causes.append(
            _cause(
                "nondeterminism",
                _step_of(pipeline, index),
                f"cell {index} gave different outputs in repeated headless runs (seeded): "
                f"{_first_line(diff)}",
            )
        )
    previous = ledger.last_run(Path(outcome.notebook).resolve(), before=outcome.run_id)
    changes = None
    if previous is not None and previous.result is not None:
        changes = diff_runs(ledger.run_detail(previous.run_id), _provisional_detail(outcome, ledger))
        # what changed since the last recorded run, for the report, whatever the verdict
        outcome.extra["changes_since"] = changes.to_dict()
    if bad_steps or outcome.failure is not None:
        causes.extend(_hidden_state_causes(pipeline, bad_steps))
        if changes is not None and previous is not None:
            causes.extend(_ledger_causes(changes, outcome, previous.run_id, bad_steps))
    return causes


def _provisional_detail(outcome: RunOutcome, ledger: Ledger) -> Any:
    """This run's detail as the ledger will hold it (its steps are recorded at the end)."""
    from jupyter_repro.records import FileRef, RunDetail, StepRunRecord
    from jupyter_repro.runner import step_code_hash

    detail = ledger.run_detail(outcome.run_id)
    steps = tuple(
        StepRunRecord(
            run_id=outcome.run_id,
            step=step.step.name,
            status=step.status,
            cache_key=step.key,
            duration_s=step.duration_s,
            code_hash=step_code_hash(step.step),
            code="\n\n".join(step.step.sources),
            reads=tuple(FileRef(p, h) for p, h in step.reads),
            writes=tuple(FileRef(p, h) for p, h in step.writes),
        )
        for step in outcome.steps
    )
    return RunDetail(run=detail.run, steps=steps, cells=detail.cells, environment=detail.environment)


def _ledger_causes(
    diff: Any, outcome: RunOutcome, previous: str, bad_steps: set[str | None]
) -> list[dict[str, Any]]:
    causes = []
    for change in diff.code:
        if change.name in bad_steps:
            causes.append(
                _cause("code", change.name, f"step '{change.name}' code changed since run {previous}")
            )
    reads_now = {path: (step.step.name, digest) for step in outcome.steps for path, digest in step.reads}
    for change in diff.data:
        if change.name in reads_now and change.kind == "changed":
            step_name = reads_now[change.name][0]
            causes.append(
                _cause(
                    "data", step_name, f"{change.name} changed since run {previous} (content hash differs)"
                )
            )
    env_changes = [*diff.packages, *diff.environment]
    if env_changes:
        causes.append(_environment_cause(env_changes, outcome, previous))
    return causes


def _environment_cause(changes: Sequence[Any], outcome: RunOutcome, previous: str) -> dict[str, Any]:
    """Name the changed distributions, those the notebook imports first (they matter most)."""
    imported = {name.split(".")[0].lower().replace("_", "-") for name in outcome.pipeline.imported_modules}
    ordered = sorted(changes, key=lambda c: (c.name.lower() not in imported, c.name.lower()))
    texts = [f"{c.name} {c.before or '-'} -> {c.after or '-'}" for c in ordered]
    shown = ", ".join(texts[:10]) + (f" and {len(texts) - 10} more" if len(texts) > 10 else "")
    cause = _cause("environment", None, f"environment changed since run {previous}: {shown}")
    cause["changes"] = [{"name": c.name, "before": c.before, "after": c.after} for c in ordered]
    return cause


def _hidden_state_causes(pipeline: Pipeline, bad_steps: set[str | None]) -> list[dict[str, Any]]:
    return [
        _cause("hidden-state", read.step, read.describe())
        for read in pipeline.hidden_state
        if read.step in bad_steps or not bad_steps
    ]


def _cause(kind: str, step: str | None, detail: str) -> dict[str, Any]:
    return {"kind": kind, "step": step, "detail": detail}


def _step_of(pipeline: Pipeline, index: int) -> str | None:
    cell = pipeline.cell(index)
    if cell.step is not None:
        return cell.step
    return {"setup": "setup", "parameters": "parameters"}.get(cell.role)


def _cell_json(pipeline: Pipeline, comparison: CellComparison) -> dict[str, Any]:
    return {
        **comparison.to_json(),
        "step": _step_of(pipeline, comparison.index),
        "reason": comparison.reason,
    }


def _first_line(text: str) -> str:
    lines = [
        line
        for line in text.splitlines()
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    return (lines[0] if lines else text.splitlines()[0] if text else "").strip()[:160]


# ------------------------------------------------------------------------------- report and stamp


def _write_reports(verification: Verification, options: VerifyOptions) -> None:
    from jupyter_repro.report import render_report

    html = render_report(verification)
    targets = [verification.outcome.run_dir / "report.html"]
    if options.report:
        targets.append(Path(options.report))
    verification.result["report"] = str(targets[0])
    for target in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
        except OSError as error:
            raise PathError(
                f"cannot write the report: {error.strerror} (the verification itself is recorded, "
                f"as run {verification.outcome.run_id})",
                path=str(target),
            ) from None
        verification.result["report"] = str(target)


def stamp_notebook(notebook_path: str | Path, verification: Verification) -> None:
    """``--stamp``: the only write to the user's notebook, a certificate in ``metadata.jupyter_repro``."""
    from jupyter_repro.notebook import load_notebook, write_notebook_atomically
    from jupyter_repro.snapshot import notebook_content_hash

    notebook = load_notebook(notebook_path)
    settings = dict(notebook.metadata.get("jupyter_repro", {}))
    settings["certificate"] = {
        "verdict": verification.verdict,
        "run_id": verification.outcome.run_id,
        "notebook_hash": notebook_content_hash(notebook),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    notebook.metadata["jupyter_repro"] = settings
    write_notebook_atomically(notebook, notebook_path)


def verify_summary(result: Mapping[str, Any]) -> str:
    """The readable answer: verdict, causes, the cells that did not match, and where the report is."""
    from jupyter_repro.textui import render_table

    counts: dict[str, int] = {}
    for cell in result["cells"]:
        counts[cell["status"]] = counts.get(cell["status"], 0) + 1
    lines = [
        f"{result['notebook']}: {str(result['verdict']).upper()}",
        "cells: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
    ]
    lines.extend(
        f"  cause {c['kind']}{' in step ' + c['step'] if c.get('step') else ''}: {c['detail']}"
        for c in result["causes"]
    )
    bad = [c for c in result["cells"] if c["status"] in ("differ", "error")]
    if bad:
        rows = [(c["index"], c["step"] or "", c["status"], c.get("reason", "")) for c in bad]
        lines.append(render_table(("cell", "step", "status", "why"), rows))
    lines.append(f"run {result['run_id']}; report: {result.get('report')}")
    return "\n".join(lines)
