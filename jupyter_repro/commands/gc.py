"""``jupyter repro gc [NB] [--max-size SIZE] [--keep-runs N] [--older-than AGE] [--dry-run] [--json]``.

Sizes and ages are taken as text and parsed in :func:`run`, not by argparse, so a bad value is one
line on stderr with exit code 2 like every other user error (argparse would print its usage too).
The defaults come from ``JUPYTER_REPRO_GC_*`` environment variables, so a CI image or a shared machine
can set a budget once and run plain ``jupyter repro gc``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from jupyter_repro.storage import GcResult

T = TypeVar("T")

HELP = "free space in the repro home: least recently used cache entries, unreferenced blobs, old runs"

DEFAULT_KEEP_RUNS = 10
ENV_MAX_SIZE = "JUPYTER_REPRO_GC_MAX_SIZE"
ENV_KEEP_RUNS = "JUPYTER_REPRO_GC_KEEP_RUNS"
ENV_OLDER_THAN = "JUPYTER_REPRO_GC_OLDER_THAN"
ENV_GRACE = "JUPYTER_REPRO_GC_GRACE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", nargs="?", metavar="NB", help="find the repro home from this notebook")
    parser.add_argument(
        "--max-size",
        metavar="SIZE",
        default=None,
        help=f"remove least recently used cache entries until the home fits in SIZE (200KB, 500MB, 2GB; "
        f"default ${ENV_MAX_SIZE}, else no budget)",
    )
    parser.add_argument(
        "--keep-runs",
        metavar="N",
        default=None,
        help=f"keep the newest N run folders of each notebook (default ${ENV_KEEP_RUNS}, else "
        f"{DEFAULT_KEEP_RUNS})",
    )
    parser.add_argument(
        "--older-than",
        metavar="AGE",
        default=None,
        help=f"also remove cache entries unused for AGE, and only remove run folders older than AGE "
        f"(30m, 12h, 7d, 2w; default ${ENV_OLDER_THAN})",
    )
    parser.add_argument(
        "--grace",
        metavar="AGE",
        default=None,
        help=f"never touch entries used, or files written, within AGE: runs going on may need them "
        f"(default ${ENV_GRACE}, else 10m)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would be removed; remove nothing")
    parser.add_argument("--json", action="store_true", help="print what was freed as JSON on stdout")


def _option(value: str | None, env: str) -> str | None:
    return value if value is not None else os.environ.get(env) or None


def _parsed(option: str, text: str | None, parse: Callable[[str], T]) -> T | None:
    """``parse(text)``, None for no text; a ValueError becomes a one-line user error naming the option."""
    from jupyter_repro.errors import ReproError

    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as error:
        raise ReproError(f"{option}: {error}") from None


def _whole(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"not a whole number: {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from jupyter_repro.gc_plan import DEFAULT_GRACE_S, Policy, parse_age, parse_size
    from jupyter_repro.home import find_home
    from jupyter_repro.storage import collect
    from jupyter_repro.textui import print_json

    max_size = _parsed("--max-size", _option(args.max_size, ENV_MAX_SIZE), parse_size)
    keep_runs = _parsed("--keep-runs", _option(args.keep_runs, ENV_KEEP_RUNS), _whole)
    older_than = _parsed("--older-than", _option(args.older_than, ENV_OLDER_THAN), parse_age)
    grace = _parsed("--grace", _option(args.grace, ENV_GRACE), parse_age)
    policy = Policy(
        now=time.time(),
        max_size=max_size,
        keep_runs=DEFAULT_KEEP_RUNS if keep_runs is None else keep_runs,
        older_than=older_than,
        grace_s=DEFAULT_GRACE_S if grace is None else grace,
    )
    home = find_home(Path(args.notebook) if args.notebook else None, args.home)
    result = collect(home, policy, dry_run=args.dry_run)
    if args.json:
        print_json({"home": str(home), **result.to_json()})
    else:
        print(render(result))
    return 0


def render(result: GcResult) -> str:
    """One line per kind of thing removed, then the size before and after (and the budget)."""
    from jupyter_repro.gc_plan import format_size

    document = result.to_json()
    verb = "would free" if result.dry_run else "freed"
    lines = []
    for kind, label in (("entry", "cache entries"), ("blob", "blobs"), ("run", "run folders")):
        items = [item for item in document["removed"] if item["kind"] == kind]
        if items:
            lines.append(f"{len(items)} {label}: {format_size(sum(item['bytes'] for item in items))}")
    if not lines:
        lines.append("nothing to remove")
    summary = (
        f"{verb} {format_size(document['freed'])}: {format_size(document['size_before'])} -> "
        f"{format_size(document['size_after'])}"
    )
    if document["max_size"] is not None:
        summary += f" (budget {format_size(document['max_size'])}" + (
            ")" if document["fits"] else ", not reached: the rest is kept for recent or running runs)"
        )
    if document["skipped"]:
        lines.append(f"{len(document['skipped'])} kept because a run used them meanwhile")
    return "\n".join([*lines, summary])
