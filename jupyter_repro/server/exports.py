"""``POST export``'s work: run ``jupyter repro export`` and read back the files it wrote.

An export imports the notebook's pipeline and the target's exporter (possibly a plug-in), so it runs
as the real CLI in a subprocess, like jobs, but it is short: the request waits for it (up to
``c.JupyterRepro.export_timeout``) instead of becoming a job. This module turns the subprocess's
outcome into the domain's answer: the list of files, or a :class:`~jupyter_repro.errors.ReproError`
(the CLI's own one-line message for an unusable export, :class:`CommandFailedError` for anything that
is not the user's fault), which the handlers' one error mapper turns into HTTP.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

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
    argv = export_argv(command, request)
    try:
        completed = await run_command(argv, cwd=request.notebook.parent, timeout_s=timeout_s)
    except asyncio.TimeoutError:
        raise CommandFailedError(
            f"the export did not finish within {timeout_s:g} s", path=request.path
        ) from None
    if completed.exit_code != 0:
        message = completed.last_error_line() or f"the export exited with code {completed.exit_code}"
        if completed.exit_code == USAGE_EXIT_CODE:
            raise ExportError(message, path=request.path)
        raise CommandFailedError(message, path=request.path)
    return exported_files(completed.stdout, request.output_dir)


def exported_files(stdout: str, output_dir: Path) -> list[Path]:
    """The files the export wrote, from its ``--json`` document ``{"files": [...]}``."""
    try:
        document = json.loads(stdout)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        raise CommandFailedError("the export did not print its list of files as JSON")
    return [output_dir / str(name) for name in document["files"]]
