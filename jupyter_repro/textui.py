"""Plain-text rendering shared by the CLI commands: aligned tables and JSON on stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a rule under the header."""
    cells = [[str(h) for h in headers], *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def print_json(payload: Any, stream: TextIO | None = None) -> None:
    """JSON output goes to stdout only, stable key order, one document."""
    out = stream or sys.stdout
    json.dump(payload, out, indent=2, sort_keys=False, default=str)
    out.write("\n")


def progress(message: str) -> None:
    """Progress lines go to stderr, and only when stderr is a terminal (the contract)."""
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)
