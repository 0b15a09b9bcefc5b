"""Headless, cached execution of a notebook's pipeline through papermill.

The recipe (:func:`run_pipeline`), in the style of papermill's ``execute_notebook``:

1. read the notebook and its pipeline; resolve parameters (unknown ``-p`` -> exit 2);
2. snapshot seed, environment and git state; open a ledger run;
3. *plan*: compute every selected step's cache key and decide cached / execute;
4. *execute* all steps that need it in ONE fresh kernel, as one generated notebook (bootstrap,
   parameters, setup, then per step: prelude, the step's cells, epilogue), with no per-cell saves;
5. *collect*: move each executed step's variables into the artifact store, hash the files it read and
   wrote (stat-cached), save cache entries atomically;
6. write the executed notebook (the source's cells, indices unchanged, with new or cached outputs) and
   record everything in the ledger.

The source notebook is never written. Injected cells exist only in the generated notebook, so the
cell indices users see in results are the source notebook's.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_repro import hashing, layout
from jupyter_repro.cache import ArtifactStore, CacheEntry
from jupyter_repro.cell_outputs import cell_error, executed_notebook, expected_error_cells, show_pager_inline
from jupyter_repro.early_kernels import EarlyKernels
from jupyter_repro.fsio import write_errors_named
from jupyter_repro.kernel import codegen
from jupyter_repro.kernel.runtime import RNG_STATE_NAME
from jupyter_repro.kernel_process import KernelStartFailure, attach_to, start_kernel_serialised, stop_kernel
from jupyter_repro.lanes import Lane, plan_lanes, serial_reason
from jupyter_repro.ledger import Ledger
from jupyter_repro.model import PARAMETERS_PROVIDER, Step
from jupyter_repro.notebook import load_notebook, write_notebook_atomically
from jupyter_repro.parallel import run_lanes
from jupyter_repro.params import assignment_source
from jupyter_repro.plan import plan_steps, result_fingerprint
from jupyter_repro.prepare import PreparedRun, prepare_run
from jupyter_repro.remote import connect, published_run
from jupyter_repro.results import RunResult, StepError, jsonable
from jupyter_repro.run_record import record_result
from jupyter_repro.run_state import ProgressCallback as ProgressCallback
from jupyter_repro.run_state import RunOptions as RunOptions
from jupyter_repro.run_state import RunOutcome as RunOutcome
from jupyter_repro.run_state import StepOutcome as StepOutcome
from jupyter_repro.storage import auto_gc

PYTHON_WORK = threading.RLock()
"""Held by a lane (``--jobs N``) for everything but waiting on its kernel: building notebooks, keys and
cache entries. CPython 3.11 can fail parsing code in two threads at once ("AST constructor recursion
depth mismatch"), and the run's state is simpler to reason about one writer at a time; the kernels,
where the time goes, still run concurrently."""


_ROLE_KEY = "jupyter_repro"
RAISES_EXCEPTION_TAG = "raises-exception"


# --------------------------------------------------------------------------------------------- recipe


def run_pipeline(
    notebook_path: str | os.PathLike[str],
    options: RunOptions | None = None,
    prepared: PreparedRun | None = None,
) -> RunOutcome:
    """Execute the notebook's pipeline headlessly with the step cache; record it in the ledger.

    ``prepared`` is this run's :func:`~jupyter_repro.prepare.prepare_run`, when the caller started
    it before importing this module (the CLI does, so the kernels boot during the imports).
    """
    options = options or RunOptions()
    if prepared is None or not prepared.is_for(notebook_path):
        prepared = prepare_run(notebook_path, options)
    try:
        outcome = _record_and_execute(prepared, options, prepared.early)
    finally:
        prepared.early.stop_unused()
    if options.kind == "run":
        auto_gc(prepared.home)
    return outcome


def _record_and_execute(run: PreparedRun, options: RunOptions, early: EarlyKernels) -> RunOutcome:
    """Snapshot the environment, open the run in the ledger, execute it and record its result."""
    from jupyter_repro.env import (
        capture_environment,
        capture_for_notebook,
        kernel_interpreter,
        lock_environment,
    )
    from jupyter_repro.snapshot import take_snapshot

    path, home = run.path, run.home
    snapshot = take_snapshot(path, run.source, run.parameters)
    if options.kernel_name is None:
        environment = capture_for_notebook(path, run.source, home, early.take_capture())
    else:
        environment = capture_environment(kernel_interpreter(options.kernel_name), cwd=path.resolve().parent)
    if options.capture_lock:
        environment = lock_environment(environment, run.pipeline.imported_modules, home)
    with Ledger.open(home) as ledger:
        ledger.mark_interrupted()
        env_hash = ledger.record_environment(environment)
        run_id = ledger.start_run(
            options.kind,
            path.resolve(),
            parameters=jsonable(run.parameters),
            seed=snapshot.seed.value,
            environment_hash=env_hash,
            notebook_hash=snapshot.notebook_hash,
            git_commit=snapshot.git.commit if snapshot.git else None,
            git_dirty=snapshot.git.dirty if snapshot.git else None,
            lock_hash=environment.lock.hash if environment.lock else None,
            lock_error=environment.lock_error,
        )
        run_dir = layout.run_dir(home, run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        early.move_log(home, run_id)
        outcome = RunOutcome(
            run_id=run_id,
            kind=options.kind,
            notebook=run.shown,
            pipeline=run.pipeline,
            source=run.source,
            parameters=run.parameters,
            seed=snapshot.seed.value,
            environment_hash=env_hash,
            steps=[],
            outputs={},
            errors={},
            executed_notebook=str(layout.executed_notebook_path(home, run_id)),
            run_dir=run_dir,
            home=home,
            environment=environment,
            expected_errors=expected_error_cells(run.pipeline, run.source),
            early_kernels=early,
        )
        store = ArtifactStore(home)
        outcome.remote, outcome.uploader = connect(options.remote, store)
        try:
            _execute_run(outcome, run.selected, options, ledger, store)
        except BaseException:
            ledger.finish_run(run_id, "interrupted", None, None)
            finish_remote(outcome, None)
            raise
        if options.kind == "run":
            record_result(ledger, outcome.result, home)
            finish_remote(outcome, outcome.result)
    return outcome


def finish_remote(outcome: RunOutcome, result: RunResult | None) -> None:
    """Publish the finished run's record and wait for the uploads (before the command exits)."""
    if outcome.uploader is None:
        return
    record = None
    if result is not None:
        with Ledger.open(outcome.home) as ledger:
            recorded = ledger.get_run(result.run_id)
        notebook = layout.project_relative(
            str(Path(outcome.notebook).resolve()), layout.project_root(outcome.home)
        )
        record = published_run(result.to_json(), notebook, recorded.started_at, recorded.finished_at)
    outcome.uploader.finish(record)


def _execute_run(
    outcome: RunOutcome, selected: Sequence[Step], options: RunOptions, ledger: Ledger, store: ArtifactStore
) -> None:
    outcomes = _plan(outcome, selected, options, ledger, store)
    outcome.steps = outcomes
    to_run = [step for step in outcomes if step.status != "cached"]
    for step in outcomes:
        _progress(options, "step", {"step": step.step.name, "status": "planned-" + step.status})
    if to_run:
        _execute_steps(outcome, outcomes, options, store, ledger)
    for step in outcomes:
        if step.status == "cached" and step.entry is not None:
            outcome.outputs.update(step.entry.outputs)
            root = layout.project_root(outcome.home)
            step.reads = [(layout.from_project(path, root), digest) for path, digest in step.entry.reads]
            step.writes = [(layout.from_project(path, root), digest) for path, digest in step.entry.writes]
            if not ledger.touch_cache_entry(step.key):  # stored before the ledger kept entries
                _record_cache_entry(ledger, store, step.entry, outcome, stored_by=None)
            _progress(options, "step", {"step": step.step.name, "status": "cached"})
    with write_errors_named("the executed notebook"):
        _write_executed_notebook(outcome)


# ------------------------------------------------------------------------------------------- planning


def _plan(
    outcome: RunOutcome, selected: Sequence[Step], options: RunOptions, ledger: Ledger, store: ArtifactStore
) -> list[StepOutcome]:
    """Decide cached / execute for each step (:func:`jupyter_repro.plan.plan_steps`)."""
    current = _current_hash(ledger, layout.project_root(outcome.home))

    from_remote: set[str] = set()
    refused: dict[str, str] = {}

    def valid_entry(key: str) -> CacheEntry | None:
        entry = store.load_entry(key)
        if entry is None and outcome.remote is not None:
            fetched = outcome.remote.fetch_entry(key, store)
            entry = fetched.entry
            if entry is not None:
                store.save_entry(entry)
                from_remote.add(key)
            elif fetched.reason:
                refused[key] = fetched.reason
        return entry if entry is not None and store.entry_is_valid(entry, current) else None

    plans = plan_steps(selected, outcome.keys, valid_entry, no_cache=options.no_cache)
    return [
        StepOutcome(
            step=plan.step,
            key=plan.key,
            status="cached" if plan.cached else "skipped",
            entry=plan.entry,
            reason=refused.get(plan.key, plan.reason) if not plan.cached else plan.reason,
            fingerprint=plan.fingerprint,
            origin=("remote" if plan.key in from_remote else "local") if plan.cached else None,
        )
        for plan in plans
    ]


def _record_cache_entry(
    ledger: Ledger, store: ArtifactStore, entry: CacheEntry, outcome: RunOutcome, *, stored_by: str | None
) -> None:
    """Note the entry in the ledger's ``cache_entries`` (size, last use): what gc and users query."""
    ledger.record_cache_entry(
        entry.key,
        entry.step,
        Path(outcome.notebook).resolve(),
        size_bytes=store.entry_size(entry),
        run_id=stored_by,
        location=str(store.entry_path(entry.key)),
    )


def _current_hash(ledger: Ledger, root: Path) -> Callable[[str], str | None]:
    """The content hash of a file as a cache entry names it (project-relative or absolute)."""

    def current(stored: str) -> str | None:
        path = layout.from_project(stored, root)
        return ledger.hash_file(path) if os.path.isfile(path) else None

    return current


def _portable(files: Sequence[tuple[str, str]], root: Path) -> tuple[tuple[str, str], ...]:
    """Files as a cache entry stores them: inside the project by relative path (see layout)."""
    return tuple((layout.project_relative(path, root), digest) for path, digest in files)


# ------------------------------------------------------------------------------------------ execution


def _execute_steps(
    outcome: RunOutcome,
    outcomes: Sequence[StepOutcome],
    options: RunOptions,
    store: ArtifactStore,
    ledger: Ledger,
) -> None:
    """Execute the steps to run: in one kernel, or lane by lane with ``--jobs N`` (see lanes.py)."""
    names = [item.step.name for item in outcomes if item.status != "cached"]
    steps = [item.step for item in outcomes]
    lanes = plan_lanes(steps, names) if options.jobs > 1 else []
    serial = serial_reason(steps, names) if len(lanes) > 1 else "one lane"
    if serial is not None:
        if len(lanes) > 1:
            _progress(options, "note", {"message": f"--jobs {options.jobs}: running serially: {serial}"})
        _execute(outcome, outcomes, options, store, ledger, set(names), started=_early(outcome))
    else:
        _execute_lanes(outcome, outcomes, options, store, lanes)
    _mark_unfinished(outcomes, outcome)


def _execute_lanes(
    outcome: RunOutcome,
    outcomes: Sequence[StepOutcome],
    options: RunOptions,
    store: ArtifactStore,
    lanes: Sequence[Lane],
) -> None:
    """Run the lanes concurrently; the first ones' kernels boot while papermill is imported."""
    from jupyter_repro._lean import import_papermill

    with open(layout.kernel_log_path(outcome.home, outcome.run_id), "ab") as kernel_log:
        first = [lane for lane in lanes if not lane.after][: options.jobs]
        early = {lane.index: _early(outcome) or _start_kernel(outcome, options, kernel_log) for lane in first}
        import_papermill()  # once, here: CPython 3.11 may fail compiling code in two threads at once

        def one_lane(lane: Lane) -> bool:
            from jupyter_core.utils import ensure_event_loop

            try:
                with Ledger.open(outcome.home) as own:  # a SQLite connection belongs to its thread
                    kernel = early.pop(lane.index, None)
                    _execute(
                        outcome, outcomes, options, store, own, set(lane.steps), f"-{lane.index}", kernel
                    )
            finally:
                ensure_event_loop().close()  # the loop nbclient made for this thread (a new one next time)
            return all(item.status == "executed" for item in outcomes if item.step.name in lane.steps)

        run_lanes(lanes, options.jobs, one_lane)


def _early(outcome: RunOutcome) -> Any:
    """A kernel started before planning (early_kernels.py), or None."""
    return outcome.early_kernels.take() if outcome.early_kernels is not None else None


def _start_kernel(outcome: RunOutcome, options: RunOptions, log: Any) -> Any:
    return start_kernel_serialised(
        _kernel_name(outcome.source, options), Path(outcome.notebook).resolve().parent, log
    )


def _execute(
    outcome: RunOutcome,
    outcomes: Sequence[StepOutcome],
    options: RunOptions,
    store: ArtifactStore,
    ledger: Ledger,
    lane: set[str],
    suffix: str = "",
    started: Any = None,
) -> None:
    """Run the steps named in ``lane`` in one new kernel (``started``, or one started now); the other
    steps are cached or run in other kernels."""
    work = layout.work_dir(outcome.home, outcome.run_id)
    work.mkdir(exist_ok=True)
    raw_path = layout.generated_notebook_path(outcome.home, outcome.run_id)
    raw_path = raw_path.with_name(f"{raw_path.stem}{suffix}{raw_path.suffix}")
    observer = _Execution(outcome, outcomes, options, store, ledger, work)
    with open(layout.kernel_log_path(outcome.home, outcome.run_id), "ab") as kernel_log:
        # the kernel boots in its own process while papermill is imported and the notebook generated
        kernel = started if started is not None else _start_kernel(outcome, options, kernel_log)
        try:
            with PYTHON_WORK:
                generated = _generated_notebook(outcome, outcomes, options, store, work, lane)
            failure, executed = _papermill(generated, raw_path, options, observer, kernel)
        finally:
            stop_kernel(kernel)
    with PYTHON_WORK:
        if executed is None:  # failed midway: papermill still saved what ran (read only in that case)
            executed = load_notebook(raw_path) if raw_path.exists() else generated
        _collect_outputs(outcome, executed)
        for item in outcomes:
            if item.step.name in lane and item.status not in ("cached", "executed", "failed"):
                observer.collect(item)
        if failure is not None and outcome.failure is None:
            outcome.failure = failure


def _generated_notebook(
    outcome: RunOutcome,
    outcomes: Sequence[StepOutcome],
    options: RunOptions,
    store: ArtifactStore,
    work: Path,
    lane: set[str],
) -> Any:
    """The notebook papermill runs: injected cells around the source's cells, tagged by role; only the
    steps of ``lane`` run in it, the others' results are read from the cache."""
    import nbformat

    pipeline = outcome.pipeline
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata = copy.deepcopy(outcome.source.metadata)
    cells = [_injected(codegen.bootstrap_source(), "bootstrap")]
    for index in pipeline.parameter_cells:
        cells.append(_source_cell(outcome, index))
    overrides = {k: v for k, v in outcome.parameters.items() if k in options.parameters}
    if overrides:
        cells.append(_injected(assignment_source(overrides), "parameters"))
    cells.extend(_source_cell(outcome, index) for index in pipeline.setup_cells)
    by_name = {item.step.name: item for item in outcomes}
    seeded = False
    previous: StepOutcome | None = None
    for item in outcomes:
        before, previous = previous, item
        if item.status == "cached" or item.step.name not in lane:
            continue
        manifest = _merged(
            _input_manifest(item, by_name, store, work, lane), _random_state_after(before, store, work)
        )
        seed = None if seeded else outcome.seed
        seeded = True
        cells.append(_injected(codegen.prelude_source(seed, manifest, [str(outcome.home)]), "prelude", item))
        cells.extend(_source_cell(outcome, index, item.step.name) for index in item.step.cells)
        out_dir = work / item.step.name
        report = work / f"{item.step.name}.report.json"
        epilogue = codegen.epilogue_source(list(item.step.outputs), str(out_dir), str(report))
        cells.append(_injected(epilogue, "epilogue", item))
    nb.cells = cells
    return nb


def _input_manifest(
    item: StepOutcome, by_name: Mapping[str, StepOutcome], store: ArtifactStore, work: Path, lane: set[str]
) -> dict[str, Any] | None:
    """Variables this step reads from providers outside its kernel (cached, or run in another lane),
    materialised from the store for the kernel."""
    merged: dict[str, Any] | None = None
    for name, provider in item.step.inputs:
        upstream = by_name.get(provider)
        if provider == PARAMETERS_PROVIDER or upstream is None or upstream.entry is None:
            continue
        if upstream.status != "cached" and upstream.step.name in lane:
            continue  # ran earlier in this kernel: the value is in its namespace
        manifest = store.materialize_inputs(upstream.entry, [name], work / "inputs")
        if manifest is None:
            continue  # cannot happen after planning verified the blobs, unless the store changed since
        merged = _merged(merged, manifest)
    return merged


def _random_state_after(
    previous: StepOutcome | None, store: ArtifactStore, work: Path
) -> dict[str, Any] | None:
    """The random state a cached previous step ended with, so the next step draws what a full run
    draws (a step executed in this kernel leaves its state behind by itself)."""
    if previous is None or previous.status != "cached" or previous.entry is None:
        return None
    if RNG_STATE_NAME not in previous.entry.variables:
        return None
    return store.materialize_inputs(previous.entry, [RNG_STATE_NAME], work / "inputs")


def _merged(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, Any] | None:
    """One kernel manifest from two (files are named by digest, so they share one folder)."""
    if first is None or second is None:
        return first or second
    return {**first, "variables": {**first["variables"], **second["variables"]}}


def _injected(source: str, role: str, item: StepOutcome | None = None) -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell(source)  # type: ignore[no-untyped-call]
    cell.metadata[_ROLE_KEY] = {"role": role, "step": item.step.name if item else None}
    return cell


def _source_cell(outcome: RunOutcome, index: int, step: str | None = None) -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell(outcome.pipeline.cell(index).source)  # type: ignore[no-untyped-call]
    cell.metadata[_ROLE_KEY] = {"role": "source", "index": index, "step": step}
    if index in outcome.expected_errors:
        cell.metadata["tags"] = [RAISES_EXCEPTION_TAG]  # nbclient runs on past its error
    return cell


class _Execution:
    """Follows the kernel through nbclient's cell hooks (no polling, no extra notebook saves).

    Each step is collected as soon as its epilogue has run: its variables move into the store and its
    cache entry is written then, so a later crash, timeout or kill keeps the steps already finished.
    """

    def __init__(
        self,
        outcome: RunOutcome,
        outcomes: Sequence[StepOutcome],
        options: RunOptions,
        store: ArtifactStore,
        ledger: Ledger,
        work: Path,
    ) -> None:
        self.outcome = outcome
        self.by_name = {item.step.name: item for item in outcomes}
        self.options = options
        self.store = store
        self.ledger = ledger
        self.work = work
        self.started: dict[str, float] = {}

    def on_cell_start(self, cell: Any, cell_index: int, **_: Any) -> None:
        with PYTHON_WORK:
            self._on_cell_start(cell)

    def _on_cell_start(self, cell: Any) -> None:
        info = cell.metadata.get(_ROLE_KEY, {})
        if info.get("role") == "prelude":
            self.started[info["step"]] = time.perf_counter()
            _progress(self.options, "step", {"step": info["step"], "status": "running"})

    def on_cell_executed(
        self, cell: Any, cell_index: int, execute_reply: Mapping[str, Any] | None = None, **_: Any
    ) -> None:
        with PYTHON_WORK:
            self._on_cell_executed(cell, execute_reply)

    def _on_cell_executed(self, cell: Any, execute_reply: Mapping[str, Any] | None) -> None:
        info = cell.metadata.get(_ROLE_KEY, {})
        if info.get("role") == "source":
            show_pager_inline(cell, execute_reply)
            _record_cell(self.outcome, int(info["index"]), cell)
        elif info.get("role") == "epilogue" and info["step"] in self.by_name:
            self.collect(self.by_name[info["step"]])

    def duration(self, step: str) -> float:
        started = self.started.get(step)
        return 0.0 if started is None else time.perf_counter() - started

    def collect(self, item: StepOutcome) -> None:
        """Settle a step that was to execute: failed, executed (and cached), or left pending."""
        outcome = self.outcome
        failed_cell = next(
            (i for i in item.step.cells if i in outcome.errors and i not in outcome.expected_errors), None
        )
        if failed_cell is not None:
            self._fail(item, failed_cell)
            return
        report_path = self.work / f"{item.step.name}.report.json"
        if not report_path.exists():
            return  # never reached: marked skipped afterwards
        try:
            self._store(item, json.loads(report_path.read_text(encoding="utf-8")))
        except OSError as error:  # disk full, quota, a read-only home: the step fails, saying where
            self._unstorable(item, error)

    def _store(self, item: StepOutcome, report: Mapping[str, Any]) -> None:
        """Move an executed step's results into the store and write its cache entry (last, whole)."""
        outcome = self.outcome
        item.status = "executed"
        item.duration_s = self.duration(item.step.name)
        item.reads = _hashed(self.ledger, report.get("reads", []))
        item.writes = _hashed(self.ledger, report.get("writes", []))
        item.network = [str(address) for address in report.get("network") or []]
        variables, unstored = self.store.ingest_outputs(report.get("outputs") or {})
        fingerprints = {name: self.by_name[name].fingerprint for name in item.step.direct_dependencies}
        item.key = outcome.keys.key_when_known(item.step, fingerprints) or item.key
        root = layout.project_root(outcome.home)
        reads, writes = _portable(item.reads, root), _portable(item.writes, root)
        item.fingerprint = result_fingerprint(variables, writes, unstored)
        if item.step.no_cache:
            item.fingerprint = hashing.hash_json([item.fingerprint, outcome.run_id])  # a live source
        else:
            item.entry = CacheEntry(
                key=item.key,
                step=item.step.name,
                outputs={index: outcome.outputs.get(index, []) for index in item.step.cells},
                variables=variables,
                reads=reads,
                writes=writes,
                duration=item.duration_s,
                unstored=unstored,
            )
            self.store.save_entry(item.entry)
            if outcome.uploader is not None:
                outcome.uploader.push_entry(item.entry)
            _record_cache_entry(self.ledger, self.store, item.entry, outcome, stored_by=outcome.run_id)
        _progress(self.options, "step", {"step": item.step.name, "status": "executed"})

    def _unstorable(self, item: StepOutcome, error: OSError) -> None:
        where = f" ({error.filename})" if error.filename else ""
        item.status, item.entry = "failed", None
        item.error = StepError(
            cell=item.step.cells[-1], ename=type(error).__name__, evalue=f"{error.strerror}{where}"
        )
        if self.outcome.failure is None:
            self.outcome.failure = (
                f"step '{item.step.name}' ran but its results could not be stored: {error.strerror or error}"
                f"{where}; free space in the repro home (jupyter repro gc) or use another --home"
            )
        _progress(self.options, "step", {"step": item.step.name, "status": "failed"})

    def _fail(self, item: StepOutcome, cell: int) -> None:
        error = self.outcome.errors[cell]
        item.status = "failed"
        item.duration_s = self.duration(item.step.name)
        item.error = StepError(cell=cell, ename=error["ename"], evalue=error["evalue"])
        if self.outcome.failure is None:
            self.outcome.failure = f"step '{item.step.name}' failed in {item.error.message}"
        _progress(self.options, "step", {"step": item.step.name, "status": "failed"})


def _kernel_name(source: Any, options: RunOptions) -> str:
    from jupyter_repro.env import notebook_kernel_name

    return options.kernel_name or notebook_kernel_name(source)


def _papermill(
    generated: Any,
    raw_path: Path,
    options: RunOptions,
    observer: _Execution,
    kernel: Any,
) -> tuple[str | None, Any]:
    """Run the generated notebook in the run's kernel.

    Returns ``(None, executed notebook)``, or ``(failure message, None)``.
    """
    if isinstance(kernel, KernelStartFailure):
        return kernel.reason, None
    from jupyter_repro._lean import import_papermill

    import_papermill()
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        executed = papermill.execute_notebook(
            generated,
            str(raw_path),
            kernel_name=kernel.kernel_name,
            kernel_manager_class=attach_to(kernel),
            shutdown_kernel="immediate",
            progress_bar=False,
            request_save_on_cell_execute=False,
            autosave_cell_every=0,
            start_timeout=options.start_timeout_s,
            execution_timeout=options.cell_timeout_s,
            on_cell_start=observer.on_cell_start,
            on_cell_executed=observer.on_cell_executed,
        )
    except PapermillExecutionError:
        return None, None  # the failing cell's error output says what happened (collected below)
    except CellTimeoutError:
        limit = options.cell_timeout_s
        return (f"a cell did not finish within {limit:g} s (timeout)" if limit else "a cell timed out"), None
    except DeadKernelError:
        return "the kernel died during execution (crash, os._exit or out of memory)", None
    except RuntimeError as error:  # the kernel died while starting
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"the kernel could not run: {first_line}", None
    return None, executed


# ----------------------------------------------------------------------------------------- collection


def _collect_outputs(outcome: RunOutcome, executed: Any) -> None:
    """Outputs of every source cell of the executed generated notebook, and failures of injected cells.

    A cell the run never reached (papermill stopped at an error before it) has no execution count
    and no outputs: it is left out, so verify calls it unverified instead of comparing "no output".
    """
    for cell in executed.cells:
        info = cell.metadata.get(_ROLE_KEY, {})
        if info.get("role") == "source":
            if cell.get("execution_count") is None and not cell.get("outputs"):
                continue
            _record_cell(outcome, int(info["index"]), cell)
        elif info.get("role") in ("prelude", "epilogue", "bootstrap", "parameters"):
            error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
            if error is not None and outcome.failure is None:
                outcome.failure = (
                    f"jupyter-repro's {info['role']} cell failed"
                    f"{' for step ' + repr(info['step']) if info.get('step') else ''}:"
                    f" {error.get('ename')}: {error.get('evalue')}"
                )


def _record_cell(outcome: RunOutcome, index: int, cell: Any) -> None:
    outcome.outputs[index] = [dict(output) for output in cell.get("outputs", [])]
    error = cell_error(cell)
    if error is not None:
        outcome.errors[index] = error


def _hashed(ledger: Ledger, paths: Sequence[str]) -> list[tuple[str, str]]:
    hashed = []
    for path in sorted(set(paths)):
        if os.path.isfile(path):
            hashed.append((path, ledger.hash_file(path)))
    return hashed


def _mark_unfinished(outcomes: Sequence[StepOutcome], outcome: RunOutcome) -> None:
    """Steps that were to run but did not: skipped, with the reason (a failure upstream or earlier)."""
    failed = {item.step.name for item in outcomes if item.status == "failed"}
    for item in outcomes:
        if item.status in ("executed", "cached", "failed"):
            continue
        item.status = "skipped"
        blocking = [name for name in item.step.depends_on if name in failed]
        if blocking:
            item.reason = f"upstream step '{blocking[0]}' failed"
        elif outcome.failure is not None:
            item.reason = f"not reached: {outcome.failure}"
        if outcome.failure is None:
            outcome.failure = f"step '{item.step.name}' did not run"


# ------------------------------------------------------------------------------------------ notebook


def _write_executed_notebook(outcome: RunOutcome) -> None:
    """The source notebook's cells (same indices) with this run's outputs; written once per run."""
    marks = {"run_id": outcome.run_id, "parameters": jsonable(outcome.parameters)}
    notebook = executed_notebook(outcome.source, outcome.outputs, _ROLE_KEY, marks)
    write_notebook_atomically(notebook, outcome.executed_notebook)


# ------------------------------------------------------------------------------------------- helpers


def _progress(options: RunOptions | None, event: str, data: dict[str, Any]) -> None:
    if options is not None and options.progress is not None:
        options.progress(event, data)
