"""``jupyter repro run NB``: execute the pipeline headlessly, reusing cached steps."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_repro.results import RunResult
    from jupyter_repro.runner import ProgressCallback

from jupyter_repro.commands import add_parameter_option, add_remote_options, remote_from_args, whole_number

HELP = "Run the notebook's pipeline headlessly in a fresh kernel, reusing cached steps."


def add_parameter_arguments(parser: argparse.ArgumentParser) -> None:
    """``-p NAME VALUE`` (repeatable) and ``--no-cache``, shared by ``run`` and ``verify``."""
    parser.add_argument("notebook", metavar="NB", help="the notebook (.ipynb)")
    add_parameter_option(
        parser, "set a parameter of the notebook's 'parameters' cell (typed as papermill does)"
    )
    parser.add_argument("--no-cache", action="store_true", help="execute every step, ignoring the cache")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="fail a cell that runs longer than this",
    )
    parser.add_argument(
        "--jobs",
        type=whole_number(1),
        default=1,
        metavar="N",
        help="run up to N independent branches of the step graph at once, one kernel each (default 1)",
    )
    add_remote_options(parser)
    # For the server extension's jobs: progress events as JSON lines on stderr (see json_progress).
    parser.add_argument("--progress-jsonl", action="store_true", help=argparse.SUPPRESS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_parameter_arguments(parser)
    parser.add_argument("--step", metavar="NAME", help="run this step (and missing upstream steps) only")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def stderr_progress(event: str, data: dict[str, Any]) -> None:
    """Per-step progress lines on stderr, only when stderr is a terminal (the contract)."""
    from jupyter_repro.textui import progress

    if event == "step" and not str(data.get("status", "")).startswith("planned-"):
        progress(f"  {data['step']}: {data['status']}")


def json_progress(event: str, data: dict[str, Any]) -> None:
    """Every progress event as one JSON object per line on stderr (``--progress-jsonl``).

    The server extension runs this CLI as a subprocess and reads these lines to report per-step
    progress; each line is ``{"event": EVENT, **data}``, for example
    ``{"event": "step", "step": "load", "status": "running"}``.
    """
    sys.stderr.write(json.dumps({"event": event, **data}, default=str) + "\n")
    sys.stderr.flush()


def progress_callback(args: argparse.Namespace) -> ProgressCallback:
    """The progress callback the parsed options ask for: JSON lines for the server, else terminal text."""
    return json_progress if getattr(args, "progress_jsonl", False) else stderr_progress


def run(args: argparse.Namespace) -> int:
    from jupyter_repro.params import parse_cli_pairs
    from jupyter_repro.prepare import prepare_run
    from jupyter_repro.run_state import RunOptions
    from jupyter_repro.textui import print_json

    options = RunOptions(
        parameters=parse_cli_pairs(args.parameters),
        no_cache=args.no_cache,
        step=args.step,
        kind="run",
        cell_timeout_s=args.timeout,
        home=args.home,
        progress=progress_callback(args),
        remote=remote_from_args(args),
        jobs=args.jobs,
    )
    # the kernels the run certainly needs start now, and boot while the runner is imported
    prepared = prepare_run(args.notebook, options)
    try:
        from jupyter_repro.runner import run_pipeline

        result = run_pipeline(args.notebook, options, prepared).result
    finally:
        prepared.early.stop_unused()
    if args.json:
        print_json(result.to_json())
    else:
        print(run_summary(result))
    if result.failure is not None:
        print(f"jupyter repro run: {args.notebook}: {result.failure}", file=sys.stderr)
    return result.exit_code


def run_summary(result: RunResult) -> str:
    """A readable table of a run's steps, for the CLI's default output."""
    from jupyter_repro.textui import render_table

    rows = [
        (
            step.name,
            step.status,
            f"{step.duration_s:.2f}s" if step.status == "executed" else "",
            len(step.reads),
            len(step.writes),
            (step.error.message if step.error else None) or step.reason or "",
        )
        for step in result.steps
    ]
    table = render_table(("step", "status", "time", "reads", "writes", "note"), rows)
    return "\n".join(
        [
            f"run {result.run_id} of {result.notebook}: {result.status}",
            table,
            f"executed notebook: {result.executed_notebook}",
        ]
    )
