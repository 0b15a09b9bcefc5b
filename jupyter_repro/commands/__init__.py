"""Subcommands of ``jupyter repro``: one module each, imported only when chosen.

This package module holds the argument types the subcommands share; it imports nothing heavy.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` for integers of at least ``minimum``, with a readable error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


def add_parameter_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``-p NAME VALUE`` (repeatable), typed later as papermill types ``-p`` values."""
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        dest="parameters",
        help=help_text,
    )
