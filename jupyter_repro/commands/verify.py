"""``jupyter repro verify NB``: prove that the notebook reproduces its saved outputs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jupyter_repro.commands import remote_from_args, whole_number
from jupyter_repro.commands.run import add_parameter_arguments, progress_callback

if TYPE_CHECKING:
    from jupyter_repro.results import RunResult

HELP = "Verify reproducible: re-execute headlessly and compare every cell with its saved outputs."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_parameter_arguments(parser)
    parser.add_argument(
        "--runs",
        type=whole_number(1),
        default=1,
        metavar="N",
        help="run N times without cache to tell nondeterministic cells from drift",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="verify in a fresh virtual environment built from the lock inside the notebook "
        "(its certificate's), or from a lock compiled here when it has none",
    )
    parser.add_argument(
        "--lock",
        action="store_true",
        help="compile a pip-tools lock of the imported distributions, so --stamp carries it "
        "(always done with --isolated)",
    )
    parser.add_argument("--report", metavar="FILE.html", help="also write the HTML report here")
    parser.add_argument(
        "--stamp",
        action="store_true",
        help="write the verification certificate into the notebook's metadata (the only write to it)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from jupyter_repro.params import parse_cli_pairs
    from jupyter_repro.prepare import prepare_run, verify_run_options
    from jupyter_repro.run_state import RunOptions
    from jupyter_repro.textui import print_json

    run_options = RunOptions(
        parameters=parse_cli_pairs(args.parameters),
        no_cache=args.no_cache,
        cell_timeout_s=args.timeout,
        home=args.home,
        capture_lock=args.isolated or args.lock,
        progress=progress_callback(args),
        remote=remote_from_args(args),
        jobs=args.jobs,
    )
    # the first run's kernels start now, and boot while verify is imported (an isolated kernel
    # exists only once its environment is built)
    first_run = verify_run_options(run_options, args.runs)
    prepared = None if args.isolated else prepare_run(args.notebook, first_run)
    try:
        from jupyter_repro.verify import VerifyOptions, verify_notebook

        options = VerifyOptions(
            run=run_options, runs=args.runs, isolated=args.isolated, report=args.report, stamp=args.stamp
        )
        result = verify_notebook(args.notebook, options, prepared).result
    finally:
        if prepared is not None:
            prepared.early.stop_unused()
    if args.json:
        print_json(result.to_json())
    else:
        print(verify_summary(result))
    if result.verdict != "reproducible":
        print(f"jupyter repro verify: {args.notebook}: {result.verdict}", file=sys.stderr)
    return result.exit_code


def verify_summary(result: RunResult) -> str:
    """The readable answer: verdict, causes, the cells that did not match, and where the report is."""
    from jupyter_repro.textui import render_table

    counts: dict[str, int] = {}
    for cell in result.cells:
        counts[cell.status] = counts.get(cell.status, 0) + 1
    lines = [
        f"{result.notebook}: {str(result.verdict).upper()}",
        "cells: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
    ]
    lines.extend(result.notes)
    if result.isolated is not None:
        lines.append(_isolated_line(result.isolated))
    for c in result.causes:
        where = (f" in step {c.step}" if c.step else "") + (f" (cell {c.cell})" if c.cell is not None else "")
        lines.append(f"  cause {c.kind}{where}: {c.detail}")
        if c.hint:
            lines.append(f"    what to do: {c.hint}")
    bad = [cell for cell in result.cells if cell.differs]
    if bad:
        rows = [(c.index, c.step or "", c.status, c.comparison.reason) for c in bad]
        lines.append(render_table(("cell", "step", "status", "why"), rows))
    lines.append(f"run {result.run_id}; report: {result.report}")
    return "\n".join(lines)


def _isolated_line(isolated: Mapping[str, Any]) -> str:
    """Say whose environment the isolated run rebuilt: the author's (the notebook's lock) or this one's."""
    where = (
        "the lock inside the notebook (the environment it was stamped in)"
        if isolated.get("lock_source") == "notebook"
        else "a lock made here, from this environment (the notebook carries none)"
    )
    return f"isolated: built from {where}, {isolated.get('packages')} packages in {isolated.get('build_s')} s"
