"""``jupyter-repro-precommit``: the entry point of the pre-commit hooks in ``.pre-commit-hooks.yaml``.

pre-commit passes a hook every staged file its ``files`` pattern matches, several at once, while
``jupyter repro verify`` and ``jupyter repro steps`` take one notebook each (their output and exit code
are a contract about one notebook). This wrapper checks each file in turn with the same library calls
and the CLI's own text, keeps going after a bad notebook so one commit attempt names every problem,
and exits with the worst code: 0 when everything passed, 1 when a notebook did not reproduce, 2 when
one could not be checked at all (unreadable, bad tags: a :class:`~jupyter_repro.errors.ReproError`).

``verify`` is fast on a notebook whose steps are cached (the repro home is found as for the CLI), so
the hook costs a kernel start per unchanged notebook, not a re-execution.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from jupyter_repro.commands import add_remote_options, remote_from_args, whole_number

PROG = "jupyter-repro-precommit"


def build_parser() -> argparse.ArgumentParser:
    from jupyter_repro.cli import add_common_arguments

    parser = argparse.ArgumentParser(
        prog=PROG, description="Check several notebooks at once, for pre-commit (docs/ci.md)."
    )
    checks = parser.add_subparsers(dest="check", metavar="CHECK", required=True)
    verify = checks.add_parser("verify", help="verify that each notebook reproduces its saved outputs")
    verify.add_argument(
        "--runs",
        type=whole_number(1),
        default=1,
        metavar="N",
        help="run N times without cache to tell nondeterministic cells from drift",
    )
    verify.add_argument("--isolated", action="store_true", help="verify in a fresh virtual environment")
    verify.add_argument("--no-cache", action="store_true", help="execute every step, ignoring the cache")
    verify.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS", help="fail a cell that runs longer"
    )
    add_remote_options(verify)
    steps = checks.add_parser("steps", help="check each notebook's tags and pipeline (cycles, bad tags)")
    for sub in (verify, steps):
        sub.add_argument("notebooks", nargs="*", metavar="NB", help="the notebooks (.ipynb)")
        add_common_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jupyter-repro-precommit`` console script."""
    from jupyter_repro.cli import _skip_slow_optional_imports

    _skip_slow_optional_imports()
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    check: Callable[[str, argparse.Namespace], int] = _verify if args.check == "verify" else _steps
    worst = 0
    try:
        for notebook in args.notebooks:
            worst = max(worst, _checked(check, notebook, args))
    except KeyboardInterrupt:
        print(f"{PROG} {args.check}: interrupted", file=sys.stderr)
        return 130
    return worst


def _checked(check: Callable[[str, argparse.Namespace], int], notebook: str, args: Any) -> int:
    """One notebook's exit code; a ReproError is its one line on stderr, and the next file is checked."""
    from jupyter_repro.errors import ReproError

    try:
        return check(notebook, args)
    except ReproError as error:
        print(f"{PROG} {args.check}: error: {error}", file=sys.stderr)
        return error.exit_code


def _verify(notebook: str, args: argparse.Namespace) -> int:
    from jupyter_repro.commands.verify import verify_summary
    from jupyter_repro.runner import RunOptions
    from jupyter_repro.verify import VerifyOptions, verify_notebook

    options = VerifyOptions(
        run=RunOptions(
            no_cache=args.no_cache,
            cell_timeout_s=args.timeout,
            home=args.home,
            capture_lock=args.isolated,
            remote=remote_from_args(args),
        ),
        runs=args.runs,
        isolated=args.isolated,
    )
    result = verify_notebook(notebook, options).result
    print(verify_summary(result), end="\n\n", flush=True)
    return result.exit_code


def _steps(notebook: str, args: argparse.Namespace) -> int:
    from jupyter_repro.notebook import load_pipeline

    pipeline = load_pipeline(notebook)
    names = ", ".join(step.name for step in pipeline.steps) or "none"
    print(f"{notebook}: steps {names}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
