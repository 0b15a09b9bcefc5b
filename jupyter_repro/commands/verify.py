"""``jupyter repro verify NB``: prove that the notebook reproduces its saved outputs."""

from __future__ import annotations

import argparse
import sys

from jupyter_repro.commands import whole_number
from jupyter_repro.commands.run import add_parameter_arguments, progress_callback

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
        help="verify in a fresh virtual environment built from the notebook's lock",
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
    from jupyter_repro.runner import RunOptions
    from jupyter_repro.textui import print_json
    from jupyter_repro.verify import VerifyOptions, verify_notebook, verify_summary

    options = VerifyOptions(
        run=RunOptions(
            parameters=parse_cli_pairs(args.parameters),
            no_cache=args.no_cache,
            cell_timeout_s=args.timeout,
            home=args.home,
            capture_lock=args.isolated,
            progress=progress_callback(args),
        ),
        runs=args.runs,
        isolated=args.isolated,
        report=args.report,
        stamp=args.stamp,
    )
    verification = verify_notebook(args.notebook, options)
    if args.json:
        print_json(verification.result)
    else:
        print(verify_summary(verification.result))
    if verification.verdict != "reproducible":
        print(f"jupyter repro verify: {args.notebook}: {verification.verdict}", file=sys.stderr)
    return verification.exit_code
