"""``POST export``'s work: run ``jupyter repro export`` and read back the files it wrote.

An export imports the notebook's pipeline and the target's exporter (possibly a plug-in), so it runs
as the real CLI in a subprocess, like jobs, but it is short: the request waits for it (up to
``c.JupyterRepro.export_timeout``) instead of becoming a job. :func:`run_cli_document`, which fixes
use too, turns such a subprocess's outcome into the domain's answer: its JSON document, or a
:class:`~jupyter_repro.errors.ReproError` (the CLI's own one-line message for unusable input,
:class:`CommandFailedError` for anything that is not the user's fault), which the handlers' one
error mapper turns into HTTP.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jupyter_repro.errors import ExportError, ReproError
from jupyter_repro.server.argv import ExportRequest, export_argv
from jupyter_repro.server.jobs import run_command

USAGE_EXIT_CODE = 2
"""The CLI's exit code for unusable input (a ReproError): the user's to fix, so a 400."""


class CommandFailedError(ReproError):
    """A jupyter-repro subprocess ended in a way that is not the user's fault (a bug or a crash)."""

    http_status = 500


async def run_export(command: Sequence[str], request: ExportRequest, *, timeout_s: float) -> list[Path]:
    """Export as ``request`` says, in the notebook's folder; the real paths of the files written.

    Exit code 2 is the CLI's one-line error for an unusable export (bad schedule, unknown parameter,
    unknown target), raised again here as an :class:`ExportError`; any other failure, a timeout, or
    an answer that is not the ``--json`` document is a :class:`CommandFailedError`.
    """
    document = await run_cli_document(
        export_argv(command, request),
        notebook=request.notebook,
        path=request.path,
        what="the export",
        usage_error=ExportError,
        timeout_s=timeout_s,
    )
    return exported_files(document, request.output_dir)


async def run_cli_document(
    argv: Sequence[str],
    *,
    notebook: Path,
    path: str,
    what: str,
    usage_error: type[ReproError],
    timeout_s: float,
) -> dict[str, Any]:
    """Run a short ``jupyter repro ... --json`` command in the notebook's folder; its JSON document.

    The one place the server turns such a subprocess into the domain's answer (exports and fixes):
    exit code 2 is the CLI's one-line message for unusable input, raised as ``usage_error``; a
    timeout, any other failure or an answer that is not a JSON object is a
    :class:`CommandFailedError`. Messages lose the CLI's ``jupyter repro X: error:`` prefix and name
    the notebook by its contents path ``path``, never by where it lives on the server's disk.
    """
    try:
        completed = await run_command(argv, cwd=notebook.parent, timeout_s=timeout_s)
    except asyncio.TimeoutError:
        raise CommandFailedError(f"{what} did not finish within {timeout_s:g} s", path=path) from None
    if completed.exit_code != 0:
        message = completed.last_error_line() or f"{what} exited with code {completed.exit_code}"
        message = message.split(": error: ", 1)[-1].replace(f"{notebook}: ", "")
        error = usage_error if completed.exit_code == USAGE_EXIT_CODE else CommandFailedError
        raise error(message, path=path)
    try:
        document = json.loads(completed.stdout)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise CommandFailedError(f"{what} did not print its answer as JSON", path=path)
    return document


def exported_files(document: dict[str, Any], output_dir: Path) -> list[Path]:
    """The files the export wrote, from its ``--json`` document ``{"files": [...]}``."""
    if not isinstance(document.get("files"), list):
        raise CommandFailedError("the export did not print its list of files as JSON")
    return [output_dir / str(name) for name in document["files"]]
