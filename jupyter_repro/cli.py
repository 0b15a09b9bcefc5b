"""The ``jupyter repro`` command line: a thin edge over the library.

Each subcommand lives in ``jupyter_repro/commands/<name>.py`` with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``. Only the chosen subcommand's module is imported, and command modules import
the heavy machinery (nbformat, papermill, sqlite-utils) inside ``run``, so ``jupyter repro --help``
stays fast. A :class:`ReproError` becomes one line on stderr and its exit code (2); nothing else is
caught, because anything else is a bug whose traceback we want to see.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

from jupyter_repro._version import __version__

# name -> one-line help; the order is the order shown in --help.
SUBCOMMANDS: dict[str, str] = {
    "run": "run the notebook's pipeline headlessly in a fresh kernel, reusing cached steps",
    "verify": "verify reproducible: re-execute headlessly and compare every cell with its saved outputs",
    "fix": "list one-click fixes for what the last verify found not to reproduce; --apply ID applies one",
    "steps": "show the notebook's steps: their cells, dependencies, and the variables passed between them",
    "log": "list recorded runs and verifications, newest first",
    "show": "show one recorded run: parameters, seed, environment, steps and cell verdicts",
    "diff": "compare two recorded runs: parameters, code, data files, packages, seed",
    "env": "show the environment (interpreter, platform, packages) of the kernel that would run a notebook",
    "export": "export the pipeline as a scheduled, idempotent job for a scheduler (see --to for the targets)",
    "gc": "free space in the repro home: least recently used cache entries, unreferenced blobs, old runs",
    "doctor": "check the repro home: ledger, cache entries, every blob's hash (--repair removes the damage)",
    "push": "upload this checkout's cache entries and finished runs to the team's remote store",
    "pull": "copy the team's cache entries (verified) from the remote store into this checkout's cache",
}

PROG = "jupyter repro"


def _command_module(name: str) -> ModuleType:
    return importlib.import_module(f"jupyter_repro.commands.{name}")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand accepts."""
    parser.add_argument(
        "--home",
        metavar="DIR",
        default=None,
        help="repro home directory (default: nearest .repro/ above the notebook; env JUPYTER_REPRO_HOME)",
    )


def build_parser(selected: str | None) -> argparse.ArgumentParser:
    """Build the parser; only ``selected`` gets its full set of arguments (lazy imports)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Turn Jupyter notebooks into reproducible, cached pipelines and prove they reproduce.",
    )
    parser.add_argument("--version", action="version", version=f"jupyter-repro {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            module = _command_module(name)
            module.add_arguments(sub)
            add_common_arguments(sub)
    return parser


JSONSCHEMA_FORMAT_CHECKERS = (
    "fqdn",
    "isoduration",
    "rfc3339_validator",
    "rfc3986_validator",
    "rfc3987",
    "rfc3987_syntax",
    "uri_template",
    "webcolors",
)
"""Optional libraries jsonschema imports at import time to check string formats (hostnames, dates,
durations, IRIs, colours): 0.07 s together, and ``rfc3987_syntax`` alone 1.5 s (it builds a grammar)."""


def _skip_slow_optional_imports() -> None:
    """Keep jsonschema from importing its optional format checkers.

    nbformat imports jsonschema, which loads every format checker that happens to be installed
    (jupyter_server's dependencies install them). No notebook schema uses a ``format`` keyword, so
    the CLI process does without them; libraries other code needs (``idna``, ``arrow``) stay
    importable.
    """
    for name in JSONSCHEMA_FORMAT_CHECKERS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jupyter-repro`` console script."""
    from jupyter_repro.errors import ReproError

    _skip_slow_optional_imports()

    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(selected if selected in SUBCOMMANDS else None)
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        code: int = _command_module(args.command).run(args)
    except ReproError as error:
        print(f"jupyter repro {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"jupyter repro {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`jupyter repro log | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


def console_main() -> None:
    """Entry point of the ``jupyter-repro`` console script and of ``python -m jupyter_repro.cli``.

    :func:`main`, then an exit that skips the interpreter's teardown. Tearing down the ~750 modules a
    run imports (nbformat, papermill, jupyter_client, zmq, ...) one by one takes about 0.1 s, a
    quarter of a fully cached run, and achieves nothing: by the time a command returns, every file,
    ledger connection and kernel it opened is closed or stopped, and background uploads have
    finished. Exit handlers (``atexit``, ``weakref.finalize``) still run, and the standard streams
    are flushed. A command that left a thread running gets the ordinary exit, which waits for it.
    """
    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    logging.shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to flush
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_main()
