"""``jupyter repro show RUN_ID [--json]``: one recorded run with its steps, cells and snapshot.

``--json`` prints the same document as ``run --json`` / ``verify --json`` (plus the snapshot's extra
keys), which is also what the REST route ``GET runs/{id}`` answers.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_repro.records import RunDetail

HELP = "show one recorded run: parameters, seed, environment, steps and cell verdicts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_id", metavar="RUN_ID", help="a run id from 'jupyter repro log' (or a unique prefix)"
    )
    parser.add_argument("--json", action="store_true", help="print the run as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from jupyter_repro.ledger import open_ledger
    from jupyter_repro.textui import print_json

    with open_ledger(None, args.home) as ledger:
        detail = ledger.run_detail(args.run_id)
    if args.json:
        print_json(detail.to_dict())
    else:
        print(render(detail))
    return 0


def render(detail: RunDetail) -> str:
    """The run as readable text: a header of facts, then steps, cells and causes as tables."""
    document = detail.to_dict()
    sections = [_facts(detail), _steps(detail), _cells(detail), _causes(document.get("causes") or [])]
    return "\n\n".join(section for section in sections if section)


def _facts(detail: RunDetail) -> str:
    from jupyter_repro.records import display_time

    run = detail.run
    git = None
    if run.git_commit is not None:
        git = f"{run.git_commit[:12]}{' (dirty)' if run.git_dirty else ''}"
    environment = detail.environment
    facts: list[tuple[str, Any]] = [
        ("run", run.run_id),
        ("kind", run.kind),
        ("notebook", run.notebook),
        ("status", run.status),
        ("verdict", run.verdict),
        ("started", display_time(run.started_at)),
        ("finished", display_time(run.finished_at)),
        ("seed", run.seed),
        ("parameters", ", ".join(f"{k}={v!r}" for k, v in sorted(run.parameters.items())) or "(none)"),
        ("notebook hash", run.notebook_hash),
        ("git", git),
        ("environment", run.environment_hash),
        ("python", f"{environment.implementation} {environment.python_version}" if environment else None),
        ("lock", run.lock_hash or (f"missing: {run.lock_error}" if run.lock_error else None)),
    ]
    return "\n".join(f"{label + ':':<15}{value}" for label, value in facts if value not in (None, ""))


def _steps(detail: RunDetail) -> str:
    from jupyter_repro.textui import render_table

    if not detail.steps:
        return ""
    rows = [
        (
            step.step,
            step.status,
            "" if step.duration_s is None else f"{step.duration_s:.2f}s",
            len(step.reads),
            len(step.writes),
            (step.cache_key or "")[:19],
            step.error or "",
        )
        for step in detail.steps
    ]
    return render_table(["STEP", "STATUS", "DURATION", "READS", "WRITES", "CACHE KEY", "ERROR"], rows)


def _cells(detail: RunDetail) -> str:
    from jupyter_repro.textui import render_table

    if not detail.cells:
        return ""
    rows = [(cell.index, cell.step or "", cell.status, _first_line(cell.diff)) for cell in detail.cells]
    return render_table(["CELL", "STEP", "STATUS", "DIFFERENCE"], rows)


def _causes(causes: list[dict[str, Any]]) -> str:
    from jupyter_repro.textui import render_table

    if not causes:
        return ""
    rows = [(cause.get("kind"), cause.get("step") or "", cause.get("detail") or "") for cause in causes]
    return render_table(["CAUSE", "STEP", "DETAIL"], rows)


def _first_line(text: str | None, width: int = 60) -> str:
    line = (text or "").strip().splitlines()[0] if text and text.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."
