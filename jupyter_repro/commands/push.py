"""``jupyter repro push [NB] --remote URL``: upload the local cache entries and run records."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from jupyter_repro.commands import add_remote_options, remote_from_args

if TYPE_CHECKING:
    from jupyter_repro.remote import RemoteConfig

HELP = "upload this checkout's cache entries and finished runs to the team's remote store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "notebook", nargs="?", metavar="NB", help="a notebook of the project (finds its home)"
    )
    add_remote_options(parser, writes=False, purpose="the remote to upload to")
    parser.add_argument("--json", action="store_true", help="print what moved as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jupyter_repro import layout
    from jupyter_repro.cache import ArtifactStore
    from jupyter_repro.ledger import open_ledger
    from jupyter_repro.remote import RemoteStore, published_run, push
    from jupyter_repro.textui import print_json

    config = require_remote(args)
    with open_ledger(args.notebook, args.home) as ledger:
        home = ledger.path.parent
        root = layout.project_root(home)
        records = [
            published_run(
                run.result, layout.project_relative(run.notebook, root), run.started_at, run.finished_at
            )
            for run in ledger.list_runs(limit=1_000_000)
            if run.result is not None and run.imported_from is None
        ]
    synced = push(RemoteStore(config), ArtifactStore(Path(home)), records)
    if args.json:
        print_json({"entries": synced.entries, "runs": synced.runs})
    else:
        entries = f"{synced.entries} cache entr{'y' if synced.entries == 1 else 'ies'}"
        print(f"pushed {entries} and {synced.runs} run(s) to {config.url}")
    return 0


def require_remote(args: argparse.Namespace) -> RemoteConfig:
    """The remote of ``push``/``pull``: they need one, from ``--remote`` or the environment."""
    from jupyter_repro.errors import RemoteError

    config: RemoteConfig | None = remote_from_args(args)
    if config is None:
        raise RemoteError("no remote given", hint="pass --remote URL or set JUPYTER_REPRO_REMOTE")
    return config
