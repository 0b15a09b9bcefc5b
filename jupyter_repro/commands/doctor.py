"""``jupyter repro doctor [--repair] [--json]``: check the repro home's ledger and cache, repair them.

Exit 0 when the home is healthy (warnings allowed), 1 when a problem remains: after ``--repair`` that is
only what cannot be repaired in place (a corrupt ledger, foreign-key violations in run history).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_repro.doctor import Problem

HELP = "check the repro home: ledger, cache entries, every blob's hash (--repair removes the damage)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repair",
        action="store_true",
        help="remove broken cache entries, damaged blobs and stray temporary files (they recompute next run)",
    )
    parser.add_argument("--json", action="store_true", help="print the problems as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from jupyter_repro.doctor import diagnose, is_healthy, repair
    from jupyter_repro.home import find_home
    from jupyter_repro.textui import print_json

    home = find_home(None, args.home)
    problems = diagnose(home)
    if args.repair:
        problems = repair(home, problems)
    healthy = is_healthy(problems)
    if args.json:
        print_json(
            {"home": str(home), "problems": [problem.to_json() for problem in problems], "healthy": healthy}
        )
    else:
        for problem in problems:
            print(_line(problem, home, args.repair))
        print(_summary(problems, home, healthy, args.repair))
    return 0 if healthy else 1


def _line(problem: Problem, home: Path, repairing: bool) -> str:
    """``kind: path: detail (what --repair does / did)``, on one line."""
    if problem.action is None:
        then = problem.hint or "not repairable"
    elif problem.repaired:
        then = f"repaired: {problem.action}"
    elif repairing:
        then = f"not repaired: {problem.action} failed"
    else:
        then = f"--repair would {problem.action}"
    label = problem.kind if problem.severity == "error" else f"{problem.kind} ({problem.severity})"
    return " ".join(f"{label}: {_shown(problem.path, home)}: {problem.detail} ({then})".split())


def _summary(problems: list[Problem], home: Path, healthy: bool, repairing: bool) -> str:
    remaining = [p for p in problems if p.severity == "error" and not p.repaired]
    fixed = sum(p.repaired for p in problems)
    if healthy:
        done = f"repaired {fixed} problem(s); " if fixed else ""
        return f"{done}{home} is healthy"
    advice = "" if repairing or all(p.action is None for p in remaining) else "; run with --repair to fix"
    return f"{len(remaining)} problem(s) in {home}{advice}"


def _shown(path: str, home: Path) -> str:
    """The path relative to the home when it lies inside it (lines stay short)."""
    try:
        return str(Path(path).relative_to(home))
    except ValueError:
        return path
