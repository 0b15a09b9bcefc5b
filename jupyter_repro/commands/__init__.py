"""Subcommands of ``jupyter repro``: one module each, imported only when chosen.

This package module holds the argument types the subcommands share; it imports nothing heavy.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


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


def add_remote_options(
    parser: argparse.ArgumentParser,
    *,
    writes: bool = True,
    purpose: str = "share cached steps and run records through the team's store",
) -> None:
    """``--remote URL`` (and, for commands that write to it, ``--remote-read-only``)."""
    parser.add_argument(
        "--remote",
        nargs="?",
        const="",
        metavar="URL",
        help=f"{purpose}: an fsspec URL (s3://bucket/prefix, gs://..., file:///shared/dir); "
        "without URL (or by default for run and verify): $JUPYTER_REPRO_REMOTE",
    )
    if writes:
        parser.add_argument(
            "--remote-read-only",
            action="store_true",
            help="read cached steps from the remote but never write to it (laptops; CI writes)",
        )


def remote_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~jupyter_repro.remote.RemoteConfig` the options ask for, or None."""
    from jupyter_repro.remote import RemoteConfig

    return RemoteConfig.resolve(args.remote, read_only=getattr(args, "remote_read_only", False))
