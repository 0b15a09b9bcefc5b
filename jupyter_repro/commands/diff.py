"""``jupyter repro diff RUN_A RUN_B [--json]``: what changed between two recorded runs.

Parameters, seed, notebook content, code per step, data files read or written (added, removed,
changed), packages and interpreter. This is the evidence cause attribution is built on, shown raw.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_repro.records import Change, RunDiff

HELP = "compare two recorded runs: parameters, code, data files, packages, seed"

_TITLES = {
    "parameters": "Parameters",
    "seed": "Seed",
    "notebook": "Notebook",
    "code": "Code",
    "data": "Data files",
    "packages": "Packages",
    "environment": "Interpreter",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", metavar="RUN_A", help="the earlier run (id or unique prefix)")
    parser.add_argument("run_b", metavar="RUN_B", help="the later run (id or unique prefix)")
    parser.add_argument("--json", action="store_true", help="print the differences as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from jupyter_repro.ledger import open_ledger
    from jupyter_repro.records import diff_runs
    from jupyter_repro.textui import print_json

    with open_ledger(None, args.home) as ledger:
        difference = diff_runs(ledger.run_detail(args.run_a), ledger.run_detail(args.run_b))
    if args.json:
        print_json(difference.to_dict())
    else:
        print(render(difference))
    return 0


def render(difference: RunDiff) -> str:
    """One section per category that changed; code changes followed by their unified diffs."""
    lines = [f"runs {difference.run_a} -> {difference.run_b}"]
    if difference.identical:
        lines.append("no differences in parameters, seed, notebook, code, data files or packages")
    for name, title in _TITLES.items():
        changes: tuple[Change, ...] = getattr(difference, name)
        if changes:
            lines += ["", f"{title}:", *(f"  {_describe(change)}" for change in changes)]
    code_diffs = [change.detail for change in difference.code if change.detail]
    if code_diffs:
        lines += ["", *(text.rstrip("\n") for text in code_diffs)]
    lines += [f"note: {note}" for note in difference.notes]
    return "\n".join(lines)


def _describe(change: Change) -> str:
    if change.kind == "added":
        return f"+ {change.name} {_short(change.after)}"
    if change.kind == "removed":
        return f"- {change.name} {_short(change.before)}"
    return f"~ {change.name} {_short(change.before)} -> {_short(change.after)}"


def _short(value: Any) -> str:
    """Hashes cut to a readable prefix; other values as repr."""
    if isinstance(value, str) and ":" in value and len(value) > 40:
        algorithm, _, digest = value.partition(":")
        return f"{algorithm}:{digest[:12]}"
    return repr(value) if not isinstance(value, str) else value
