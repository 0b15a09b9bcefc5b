"""``jupyter repro log [NB] [--limit N] [--json]``: recorded runs, newest first."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_repro.commands import add_remote_options, remote_from_args, whole_number

if TYPE_CHECKING:
    from jupyter_repro.ledger import Ledger
    from jupyter_repro.records import RunRecord
    from jupyter_repro.remote import RemoteConfig

HELP = "list recorded runs and verifications, newest first"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", nargs="?", metavar="NB", help="only the runs of this notebook")
    parser.add_argument(
        "--limit", type=whole_number(1), default=20, metavar="N", help="show at most N runs (default 20)"
    )
    parser.add_argument("--json", action="store_true", help="print the runs as JSON on stdout")
    add_remote_options(
        parser, writes=False, purpose="import the team's published runs from this remote first"
    )


def run(args: argparse.Namespace) -> int:
    from jupyter_repro.errors import RemoteError
    from jupyter_repro.ledger import open_ledger
    from jupyter_repro.textui import print_json

    with open_ledger(args.notebook, args.home) as ledger:
        if args.remote is not None:
            config = remote_from_args(args)
            if config is None:
                raise RemoteError(
                    "log --remote: no remote given", hint="pass --remote URL or set JUPYTER_REPRO_REMOTE"
                )
            imported = import_remote_runs(ledger, config)
            if not args.json:
                print(f"imported {imported} run(s) from {config.url}")
        runs = ledger.list_runs(args.notebook, limit=args.limit)
        location = ledger.path
    if args.json:
        print_json({"runs": [run.summary() for run in runs]})
    elif not runs:
        print(f"no runs recorded in {location}")
    else:
        print(_render(runs))
    return 0


def import_remote_runs(ledger: Ledger, config: RemoteConfig) -> int:
    """Import the team's published runs into the local ledger (idempotent); how many were new."""
    from jupyter_repro import layout
    from jupyter_repro.remote import RemoteStore

    root = layout.project_root(ledger.path.parent)
    records = RemoteStore(config).runs()
    return sum(
        ledger.import_run(record, layout.from_project(str(record.get("notebook", "")), root), config.url)
        for record in records
        if isinstance(record.get("run"), dict)
    )


def _render(runs: list[RunRecord]) -> str:
    from jupyter_repro.records import display_time
    from jupyter_repro.textui import render_table

    rows = [
        (
            run.run_id,
            run.kind,
            display_time(run.started_at),
            run.status,
            run.verdict or "",
            _shown(run.notebook) + (f" (imported from {run.imported_from})" if run.imported_from else ""),
        )
        for run in runs
    ]
    return render_table(["RUN", "KIND", "STARTED", "STATUS", "VERDICT", "NOTEBOOK"], rows)


def _shown(notebook: str) -> str:
    """The notebook path relative to the current folder when it lies below it."""
    path = Path(notebook)
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return notebook
