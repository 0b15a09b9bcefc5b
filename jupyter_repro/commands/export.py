"""``jupyter repro export NB --to TARGET -o DIR``: the pipeline as a scheduled, idempotent job."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jupyter_repro.commands import add_parameter_option, add_remote_options, whole_number

if TYPE_CHECKING:
    from jupyter_repro.export import ExportTarget

HELP = "export the pipeline as a scheduled, idempotent job for a scheduler (see --to for the targets)"


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def describe_targets(parser: argparse.ArgumentParser, targets: Sequence[ExportTarget]) -> None:
    """List the registry's targets in ``--to``'s help and, with what they write, in the epilog.

    The targets come from :func:`jupyter_repro.export.export_targets`, the one list that the REST API
    and the UI read too, so an installed plug-in shows up here like a built-in. ``--to`` has no argparse
    ``choices``: an unknown target is the registry's one-line ExportError (exit 2, naming the
    available targets), not argparse's usage dump.
    """
    names = ", ".join(target.name for target in targets)
    parser.add_argument(
        "--to", required=True, metavar="TARGET", dest="target", help=f"export target: {names}"
    )
    described = []
    for target in targets:
        schedule = target.default_schedule
        default = f"default schedule {schedule}" if schedule is not None else "no default schedule"
        described.append(f"{target.name}: {target.description.rstrip('.')} ({default}).")
    parser.epilog = "export targets: " + " ".join(described)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from jupyter_repro.export import DEFAULT_START_DATE, export_targets

    parser.add_argument("notebook", metavar="NB", help="the notebook (.ipynb); it is only read")
    describe_targets(parser, export_targets())
    parser.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="folder for the generated files (created)"
    )
    parser.add_argument(
        "--schedule",
        metavar="CRON",
        help="cron expression ('0 2 * * *') or preset (@hourly, @daily, @weekly, @monthly, @yearly); "
        "default: the target's default schedule (see the targets below)",
    )
    add_parameter_option(parser, "fix a parameter's value in the job (typed as papermill does)")
    interval = parser.add_mutually_exclusive_group()
    interval.add_argument(
        "--interval-params",
        nargs=2,
        metavar=("START", "END"),
        help="the parameters the scheduler fills with its data interval (default: detect "
        "data_interval_start/_end, start_date/end_date, interval_start/_end, start_time/end_time, start/end)",
    )
    interval.add_argument(
        "--no-interval", action="store_true", help="pass no interval: every run uses the same parameters"
    )
    parser.add_argument(
        "--interval-format",
        choices=("date", "timestamp"),
        help="YYYY-MM-DD or ISO 8601 timestamps (default: date when the start parameter's default is a date)",
    )
    parser.add_argument(
        "--inclusive-end",
        action="store_true",
        help="pass the last day inside the interval as the end, for notebooks that filter with <= end",
    )
    parser.add_argument("--name", help="job / DAG id and file name stem (default: the notebook's name)")
    parser.add_argument(
        "--command",
        metavar="CMD",
        dest="job_command",  # 'command' is the subcommand's name in the namespace
        help="how the job calls jupyter-repro (default: this interpreter, 'python -m jupyter_repro.cli')",
    )
    parser.add_argument(
        "--retries", type=whole_number(0), default=2, metavar="N", help="retries of a failed run (default 2)"
    )
    parser.add_argument(
        "--retry-delay",
        type=whole_number(0),
        default=300,
        metavar="SECONDS",
        help="wait between retries (default 300)",
    )
    parser.add_argument(
        "--start-date",
        type=_date,
        default=DEFAULT_START_DATE,
        metavar="YYYY-MM-DD",
        help=f"Airflow start_date: the first interval that may run (default {DEFAULT_START_DATE})",
    )
    add_remote_options(
        parser, writes=False, purpose="the team's store the tasks hand results to each other through"
    )
    parser.add_argument("--json", action="store_true", help='print {"files": [...]} as JSON on stdout')


def run(args: argparse.Namespace) -> int:
    import shlex

    from jupyter_repro.errors import ExportError
    from jupyter_repro.export import ExportOptions, export_notebook
    from jupyter_repro.params import parse_cli_pairs
    from jupyter_repro.textui import print_json

    command = None
    if args.job_command is not None:
        command = shlex.split(args.job_command)
        if not command:
            raise ExportError("--command is empty")
    options = ExportOptions(
        schedule=args.schedule,
        parameters=parse_cli_pairs(args.parameters),
        interval_parameters=tuple(args.interval_params) if args.interval_params else None,
        no_interval=args.no_interval,
        interval_format=args.interval_format,
        inclusive_end=args.inclusive_end,
        name=args.name,
        command=command,
        home=args.home,
        remote=_remote_url(args.remote),
        retries=args.retries,
        retry_delay_s=args.retry_delay,
        start_date=args.start_date,
    )
    files = export_notebook(args.notebook, args.target, args.output, options)
    if args.json:
        print_json({"files": [str(path) for path in files]})
    else:
        for path in files:
            print(path)
    return 0


def _remote_url(given: str | None) -> str | None:
    """``--remote URL``, or ``$JUPYTER_REPRO_REMOTE`` for a bare ``--remote``; never a credential."""
    import os

    from jupyter_repro.remote import REMOTE_ENV

    if given is None:
        return None
    return given or os.environ.get(REMOTE_ENV) or None
