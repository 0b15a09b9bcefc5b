"""``jupyter repro env [NB] [--json]``: the environment a notebook's kernel would run in.

It inspects the kernel's own interpreter (from the notebook's kernelspec, or the default ``python3``
kernelspec without a notebook), never the interpreter running this command, because that is what a
run records and what a verify compares with.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_repro.records import EnvironmentSnapshot

HELP = "show the environment (interpreter, platform, packages) of the kernel that would run a notebook"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "notebook", nargs="?", metavar="NB", help="notebook whose kernelspec to inspect (default: python3)"
    )
    parser.add_argument("--json", action="store_true", help="print the snapshot as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from jupyter_repro.env import capture_environment, kernel_interpreter, notebook_kernel_name
    from jupyter_repro.notebook import load_notebook
    from jupyter_repro.textui import print_json

    if args.notebook is not None:
        notebook = load_notebook(args.notebook)
        interpreter = kernel_interpreter(notebook_kernel_name(notebook))
        cwd: Path | None = Path(args.notebook).resolve().parent
    else:
        interpreter = kernel_interpreter(None)
        cwd = None
    snapshot = capture_environment(interpreter, cwd=cwd)
    if args.json:
        print_json(snapshot.to_dict())
    else:
        print(_render(snapshot))
    return 0


def _render(snapshot: EnvironmentSnapshot) -> str:
    from jupyter_repro.textui import render_table

    local = set(snapshot.local_distributions)
    facts = [
        ("environment", snapshot.hash),
        ("kernelspec", snapshot.kernelspec.get("name")),
        ("interpreter", snapshot.executable),
        ("python", f"{snapshot.implementation} {snapshot.python_version}"),
        ("platform", snapshot.platform),
        ("packages", len(snapshot.packages)),
    ]
    rows = [
        (name, version, "local" if name in local else "")
        for name, version in sorted(snapshot.packages.items())
    ]
    return "\n".join(
        [
            *(f"{label + ':':<13}{value}" for label, value in facts),
            "",
            render_table(["PACKAGE", "VERSION", "SOURCE"], rows),
        ]
    )
