"""``jupyter repro fix NB [--apply ID|all]``: list, and apply, fixes for what breaks reproducibility."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_repro.fixes import ApplyResult, FixListing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", metavar="NB", help="the notebook (.ipynb)")
    parser.add_argument(
        "--apply",
        metavar="ID",
        help="apply the fix with this id (from the listing), or 'all': each available fix, first "
        "choice of each, in a safe order; the notebook is backed up under the repro home first",
    )
    parser.add_argument(
        "--edits-only",
        action="store_true",
        help="with --apply: write the side files (requirements.txt, downloaded data) but not the "
        "notebook, and print the notebook's edits (JupyterLab applies them to the open notebook)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the fixes (or what was applied) as JSON on stdout"
    )


def run(args: argparse.Namespace) -> int:
    from jupyter_repro.errors import FixError
    from jupyter_repro.fixes import apply_fixes, list_fixes
    from jupyter_repro.textui import print_json

    if args.apply is None:
        if args.edits_only:
            raise FixError("--edits-only needs --apply ID", notebook=args.notebook)
        listing = list_fixes(args.notebook, home=args.home)
        if args.json:
            print_json(listing.to_json())
        else:
            print(listing_text(listing))
        return 0
    result = apply_fixes(
        args.notebook, args.apply, home=args.home, target="model" if args.edits_only else "file"
    )
    if args.json:
        print_json(result.to_json())
    else:
        print(applied_text(result))
    return 0


def listing_text(listing: FixListing) -> str:
    """The readable listing: the verdict, then each fix with its id, cell, description and preview."""
    count = len(listing.fixes)
    lines = [
        f"{listing.notebook}: {listing.verdict.upper()} (run {listing.run_id}): "
        f"{count} fix{'es' if count != 1 else ''}"
    ]
    for fix in listing.fixes:
        cell = f" cell {fix.cell}" if fix.cell is not None else ""
        lines.append(f"  {fix.id}{cell}: {fix.description}")
        if not fix.available:
            lines.append(f"    unavailable: {fix.reason}")
        lines.extend(f"    {line}" for line in fix.preview.splitlines())
    if any(fix.available for fix in listing.fixes):
        lines.append(f"apply one with: jupyter repro fix {listing.notebook} --apply ID (or --apply all)")
    return "\n".join(lines)


def applied_text(result: ApplyResult) -> str:
    """What changed, fix by fix, and where the backup is."""
    if not result.applied:
        return f"{result.notebook}: no available fix (run {result.run_id}): nothing was written"
    count = len(result.applied)
    lines = [f"{result.notebook}: applied {count} fix{'' if count == 1 else 'es'}"]
    lines.extend(f"  {item.fix.id}: {item.changed}" for item in result.applied)
    if result.backup is not None:
        lines.append(f"backup of the notebook as it was: {result.backup}")
    elif result.target == "model":
        lines.append("the notebook was not written (--edits-only): apply the edits to it")
    lines.append(f"check it with: jupyter repro verify {result.notebook}")
    return "\n".join(lines)
