"""``jupyter repro pull [NB] --remote URL``: copy the team's cache entries into the local store."""

from __future__ import annotations

import argparse

from jupyter_repro.commands import add_remote_options

HELP = "copy the team's cache entries (verified) from the remote store into this checkout's cache"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "notebook", nargs="?", metavar="NB", help="a notebook of the project (finds its home)"
    )
    add_remote_options(parser, writes=False, purpose="the remote to download from")
    parser.add_argument("--json", action="store_true", help="print what moved as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jupyter_repro.cache import ArtifactStore
    from jupyter_repro.commands.push import require_remote
    from jupyter_repro.home import find_home
    from jupyter_repro.remote import RemoteStore, pull
    from jupyter_repro.textui import print_json

    config = require_remote(args)
    home = find_home(Path(args.notebook) if args.notebook else None, args.home)
    synced = pull(RemoteStore(config), ArtifactStore(home))
    if args.json:
        print_json({"entries": synced.entries, "skipped": list(synced.skipped)})
    else:
        entries = f"{synced.entries} cache entr{'y' if synced.entries == 1 else 'ies'}"
        print(f"pulled {entries} from {config.url}")
        for line in synced.skipped:
            print(f"  not pulled: {line}")
    return 0
