"""How a finished run is recorded: its steps in the ledger, its document in ``result.json``.

The one place a ledger step record is built from a :class:`~jupyter_repro.results.StepResult`
(runs and verifications both end here), kept out of the runner so the recipe stays readable.
"""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_repro import layout
from jupyter_repro.fsio import write_atomically, write_errors_named
from jupyter_repro.ledger import Ledger
from jupyter_repro.records import FileRef, StepRunRecord
from jupyter_repro.results import RunResult, StepResult


def step_run_record(run_id: str, step: StepResult) -> StepRunRecord:
    """The ledger's record of a step of a run: the one place it is built from a result."""
    return StepRunRecord(
        run_id=run_id,
        step=step.name,
        status=step.status,
        cache_key=step.cache_key,
        duration_s=step.duration_s,
        code_hash=step.code_hash,
        code=step.code,
        reads=tuple(FileRef(path, digest) for path, digest in step.reads),
        writes=tuple(FileRef(path, digest) for path, digest in step.writes),
        error=None if step.error is None else step.error.message,
    )


def record_result(ledger: Ledger, result: RunResult, home: Path) -> None:
    """Record the steps and close the ledger run with the final JSON document (also written to disk)."""
    document = result.to_json()
    for step in result.steps:
        record = step_run_record(result.run_id, step)
        ledger.record_step_run(
            record.run_id,
            record.step,
            status=record.status,
            cache_key=record.cache_key,
            duration_s=record.duration_s,
            code_hash=record.code_hash,
            code=record.code,
            reads=record.reads,
            writes=record.writes,
            error=record.error,
        )
    ledger.finish_run(
        result.run_id, result.status, result.verdict, document, cells=[c.to_json() for c in result.cells]
    )
    with write_errors_named("the run's result"):
        write_atomically(layout.result_path(home, result.run_id), json.dumps(document, indent=2) + "\n")
