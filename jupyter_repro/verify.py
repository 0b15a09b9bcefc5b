"""Verify reproducible: re-execute headlessly, compare every code cell, explain, record.

The recipe (:func:`verify_notebook`):

1. run the pipeline headlessly (:func:`jupyter_repro.runner.run_pipeline`, cache allowed unless
   ``--no-cache`` or ``--runs N``), in the notebook's kernel or an isolated one built from the lock;
2. compare each code cell's new outputs with the saved ones (:mod:`jupyter_repro.compare`);
3. with ``--runs N``, run N-1 more times without cache and mark cells whose outputs disagree
   between runs as nondeterministic (as opposed to drift, which is stable across runs);
4. decide the verdict and attribute causes from evidence (:mod:`jupyter_repro.causes`): the
   pipeline model (hidden state), the ledger (code, data and environment compared with the last
   recorded run) and the runs themselves;
5. record the :class:`~jupyter_repro.results.RunResult` in the ledger, write ``report.html``, and
   stamp the notebook only if asked.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_repro import layout
from jupyter_repro.causes import RunEvidence, attribute_causes, nothing_compared, step_of_cell
from jupyter_repro.cell_causes import NotebookEvidence, saved_missing_modules, volatile_names
from jupyter_repro.compare import CellComparison, compare_cell
from jupyter_repro.errors import PathError
from jupyter_repro.evidence import Evidence, imported_packages, recorded_evidence, step_data, verified_cells
from jupyter_repro.ledger import Ledger
from jupyter_repro.prepare import PreparedRun, verify_run_options
from jupyter_repro.records import RunDetail, RunDiff, diff_runs
from jupyter_repro.results import Cause, CellVerdict, RunResult, Verdict
from jupyter_repro.run_record import record_result, step_run_record
from jupyter_repro.runner import RunOptions, RunOutcome, finish_remote, run_pipeline
from jupyter_repro.storage import auto_gc

NOTHING_TO_VERIFY = "the notebook has no code cell to verify: nothing in it can fail to reproduce"


@dataclass(frozen=True)
class VerifyOptions:
    """``verify``'s own options; the run options (parameters, cache, timeout, home) are shared."""

    run: RunOptions = field(default_factory=RunOptions)
    runs: int = 1
    isolated: bool = False
    report: str | None = None
    stamp: bool = False


@dataclass(frozen=True)
class Verification:
    """A verification: its typed result, and the main run (outputs, run folder) it compared."""

    result: RunResult
    outcome: RunOutcome
    extra_runs: tuple[RunOutcome, ...] = ()

    @property
    def verdict(self) -> Verdict:
        assert self.result.verdict is not None  # a verification always has one
        return self.result.verdict

    @property
    def causes(self) -> tuple[Cause, ...]:
        return self.result.causes

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


def verify_notebook(
    notebook_path: str | Path, options: VerifyOptions | None = None, prepared: PreparedRun | None = None
) -> Verification:
    """Verify that the notebook reproduces its saved outputs; see the module docstring.

    ``prepared``: the first run's :func:`~jupyter_repro.prepare.prepare_run` with
    :func:`~jupyter_repro.prepare.verify_run_options`, started by the caller (not with ``isolated``,
    whose kernel exists only once its environment is built).
    """
    from jupyter_repro.isolation import isolated_kernel

    options = options or VerifyOptions()
    run_options = verify_run_options(options.run, options.runs)
    if options.isolated:
        with isolated_kernel(notebook_path, run_options) as (kernel_name, build_report):
            run_options = dataclasses.replace(run_options, kernel_name=kernel_name)
            return _verify(notebook_path, options, run_options, build_report)
    return _verify(notebook_path, options, run_options, None, prepared)


def _verify(
    notebook_path: str | Path,
    options: VerifyOptions,
    run_options: RunOptions,
    isolated: Mapping[str, Any] | None,
    prepared: PreparedRun | None = None,
) -> Verification:
    outcome = run_pipeline(notebook_path, run_options, prepared)
    run = outcome.result
    cells = compare_outcome(outcome)
    extra_runs = tuple(
        run_pipeline(notebook_path, dataclasses.replace(run_options, kind="run"))
        for _ in range(max(0, options.runs - 1))
    )
    nondeterministic = _disagreeing_cells(outcome, extra_runs)
    recorded = recorded_evidence(outcome.source)
    here = evidence_here(outcome, cells)
    with Ledger.open(outcome.home) as ledger:
        changes = _changes_since_last_run(outcome, run, ledger)
        evidence = RunEvidence(
            pipeline=outcome.pipeline,
            steps=run.steps,
            failure=run.failure,
            cells=cells,
            errors=outcome.errors,
            expected_errors=outcome.expected_errors,
            nondeterministic=nondeterministic,
            changes=changes,
            notebook=notebook_evidence(outcome, runs=1 + len(extra_runs)),
            recorded=recorded,
            here=here,
            remote_results=_remote_results(outcome, cells),
        )
        causes = attribute_causes(evidence)
        verdict = decide_verdict(run, cells)
        compared = any(cell.status in ("match", "differ", "error") for cell in cells)
        if verdict == "failed" and not compared and not any(cause.kind == "error" for cause in causes):
            causes.append(nothing_compared(cells))
        result = dataclasses.replace(
            run,
            verdict=verdict,
            cells=cells,
            causes=tuple(causes),
            isolated=isolated,
            changes_since=None if changes is None else changes.to_dict(),
            runs=1 + len(extra_runs),
            extra_run_ids=tuple(extra.run_id for extra in extra_runs),
            report=str(options.report or layout.report_path(outcome.home, run.run_id)),
            notes=_notes(outcome, cells, run),
            evidence=here,
            recorded_evidence=recorded.certificate,
        )
        record_result(ledger, result, outcome.home)
    finish_remote(outcome, result)
    _write_reports(result, outcome.home, options)
    auto_gc(outcome.home)
    if options.stamp:
        stamp_notebook(notebook_path, result)
    return Verification(result, outcome, extra_runs)


# ---------------------------------------------------------------------------------------- comparing


def compare_outcome(outcome: RunOutcome) -> tuple[CellVerdict, ...]:
    """Compare every code cell of the pipeline that the run executed or replayed."""
    pipeline = outcome.pipeline
    ignored = set(pipeline.ignore_output_cells)
    skipped = set(pipeline.skip_cells)
    selected = {index for step in outcome.steps for index in step.step.cells}
    verdicts = []
    for index, cell in enumerate(outcome.source.cells):
        if cell.cell_type != "code" or index in skipped:
            continue
        if index in outcome.outputs:
            comparison = compare_cell(
                index,
                list(cell.get("outputs", [])),
                cell.get("execution_count"),
                outcome.outputs[index],
                ignored=index in ignored,
                # a cell meant to raise compares its error like any output: another error differs
                new_raised=index in outcome.errors and index not in outcome.expected_errors,
                new_error=outcome.errors.get(index),
            )
        elif index in selected:
            reason = f"not executed: {outcome.failure or 'its step did not run'}"
            comparison = CellComparison(index, "unverified", reason, reason)
        else:
            continue
        verdicts.append(CellVerdict(index, step_of_cell(pipeline, index), comparison))
    return tuple(verdicts)


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


def decide_verdict(run: RunResult, cells: Sequence[CellVerdict]) -> Verdict:
    """``failed`` on an execution error or when nothing could be compared; ``diverged`` on any
    differing cell; otherwise ``reproducible``."""
    if run.failure is not None or any(cell.status == "error" for cell in cells):
        return "failed"
    if not cells:
        return "reproducible"  # no code cell: nothing could fail to reproduce (see the note)
    if not any(cell.status in ("match", "differ") for cell in cells):
        return "failed"  # nothing was compared: a yes would not be trustworthy
    if any(cell.status == "differ" for cell in cells):
        return "diverged"
    return "reproducible"


def notebook_evidence(outcome: RunOutcome, *, runs: int) -> NotebookEvidence:
    """What the notebook records and the environment the run used, for the causes' wording."""
    environment = outcome.environment
    metadata = outcome.source.metadata
    settings = metadata.get("jupyter_repro", {}) or {}
    code = {cell.index: cell.source for cell in outcome.pipeline.cells if cell.cell_type == "code"}
    seeded = (
        "seed" in settings
        or "certificate" in settings
        or any("load_ext jupyter_repro" in source for source in code.values())
    )
    return NotebookEvidence(
        packages=dict(environment.packages) if environment else {},
        module_distributions=dict(environment.packages_distributions) if environment else {},
        python_version=environment.python_version if environment else None,
        saved_python_version=(metadata.get("language_info", {}) or {}).get("version"),
        seeded=seeded,
        runs=runs,
        saved_missing_modules=saved_missing_modules(outcome.source.cells),
        volatile_names=volatile_names(code, seeded=seeded),
    )


def _notes(outcome: RunOutcome, cells: Sequence[CellVerdict], run: RunResult) -> tuple[str, ...]:
    """Facts about the verdict a reader should know."""
    from jupyter_repro.env import kernel_substitution

    notes = [NOTHING_TO_VERIFY] if not cells and run.failure is None else []
    substituted = kernel_substitution(outcome.source)
    return (*notes, substituted) if substituted else tuple(notes)


def _remote_results(outcome: RunOutcome, cells: Sequence[CellVerdict]) -> dict[str, int]:
    """For the steps of differing cells, how many results the team's remote holds for their key."""
    if outcome.remote is None:
        return {}
    bad = {cell.step for cell in cells if cell.differs}
    return {
        step.step.name: outcome.remote.result_count(step.key)
        for step in outcome.steps
        if step.step.name in bad
    }


def evidence_here(outcome: RunOutcome, cells: Sequence[CellVerdict]) -> Evidence:
    """The evidence this verification saw, in the form a certificate carries it."""
    run = outcome.result
    environment = outcome.environment
    notebook_folder = str(Path(outcome.notebook).resolve().parent)
    project_root = str(layout.project_root(Path(outcome.home).resolve()))
    sources = {cell.index: cell.source for cell in outcome.pipeline.cells if cell.cell_type == "code"}
    lock = None if environment is None or environment.lock is None else environment.lock
    return Evidence(
        python=environment.python_version if environment else "",
        implementation=environment.implementation if environment else "",
        platform=f"{environment.system} {environment.machine}" if environment else "",
        environment_hash=run.environment_hash,
        seed=run.seed,
        packages=imported_packages(
            outcome.pipeline.imported_modules,
            environment.packages_distributions if environment else {},
            environment.packages if environment else {},
        ),
        data=step_data(run.steps, notebook_folder, project_root),
        cells=verified_cells(sources, (cell.index for cell in cells if cell.status == "match")),
        lock=None
        if lock is None
        else {"hash": lock.hash, "requirements": list(lock.requirements), "text": lock.text},
    )


def _changes_since_last_run(outcome: RunOutcome, run: RunResult, ledger: Ledger) -> RunDiff | None:
    """What differs from the notebook's last recorded run (None when there is none)."""
    previous = ledger.last_run(Path(outcome.notebook).resolve(), before=run.run_id)
    if previous is None or previous.result is None:
        return None
    recorded = ledger.run_detail(run.run_id)  # this run's steps are recorded only at the end
    now = RunDetail(
        run=recorded.run,
        steps=tuple(step_run_record(run.run_id, step) for step in run.steps),
        cells=recorded.cells,
        environment=recorded.environment,
    )
    return diff_runs(ledger.run_detail(previous.run_id), now)


# ------------------------------------------------------------------------------- report and stamp


def _write_reports(result: RunResult, home: Path, options: VerifyOptions) -> None:
    from jupyter_repro.report import render_report

    html = render_report(result, project_root=str(layout.project_root(home.resolve())))
    targets = [layout.report_path(home, result.run_id)]
    if options.report:
        targets.append(Path(options.report))
    for target in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
        except OSError as error:
            raise PathError(
                f"cannot write the report: {error.strerror} (the verification itself is recorded, "
                f"as run {result.run_id})",
                path=str(target),
            ) from None


def stamp_notebook(notebook_path: str | Path, result: RunResult) -> bool:
    """``--stamp``: the only write to the user's notebook, a certificate in ``metadata.jupyter_repro``.

    The certificate carries the verdict and the evidence (:mod:`jupyter_repro.evidence`). When the
    notebook already holds a certificate with the same verdict, notebook hash and evidence, nothing is
    written (its run id and time stay those of the verification that first certified this state), so
    re-stamping an unchanged notebook leaves an empty git diff. Returns whether the file was written.
    """
    from jupyter_repro.notebook import load_notebook, write_notebook_atomically
    from jupyter_repro.snapshot import notebook_content_hash

    notebook = load_notebook(notebook_path)
    settings = dict(notebook.metadata.get("jupyter_repro", {}))
    certified = {
        "verdict": result.verdict,
        "notebook_hash": notebook_content_hash(notebook),
        "evidence": None if result.evidence is None else result.evidence.to_json(),
    }
    previous = settings.get("certificate")
    if isinstance(previous, Mapping) and all(previous.get(key) == value for key, value in certified.items()):
        return False
    settings["certificate"] = {
        **certified,
        "run_id": result.run_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    notebook.metadata["jupyter_repro"] = settings
    write_notebook_atomically(notebook, notebook_path)
    return True
