"""``GET fixes`` and ``POST fixes``' work: run ``jupyter repro fix`` and read back its JSON answer.

Listing fixes may verify the notebook first (when it has no verification, or changed since), and
applying some fixes re-executes it, so the work runs as the real CLI in a subprocess, as exports do:
user code never runs in the server's process. The request waits for it (up to
``c.JupyterRepro.fix_timeout``). The CLI's one-line error for an unusable request (exit code 2: an
unknown fix id, an unavailable fix, a failed download) becomes a :class:`~jupyter_repro.errors.FixError`
(400); anything else is a :class:`~jupyter_repro.server.exports.CommandFailedError` (500).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from jupyter_repro.errors import FixError
from jupyter_repro.server.argv import FixRequest, fix_argv
from jupyter_repro.server.exports import USAGE_EXIT_CODE, CommandFailedError
from jupyter_repro.server.jobs import run_command


async def run_fix(command: Sequence[str], request: FixRequest, *, timeout_s: float) -> dict[str, Any]:
    """The ``fix --json`` document (the listing, or what was applied) for ``request``."""
    argv = fix_argv(command, request)
    try:
        completed = await run_command(argv, cwd=request.notebook.parent, timeout_s=timeout_s)
    except asyncio.TimeoutError:
        raise CommandFailedError(
            f"jupyter repro fix did not finish within {timeout_s:g} s", path=request.path
        ) from None
    if completed.exit_code != 0:
        message = completed.last_error_line() or f"jupyter repro fix exited with code {completed.exit_code}"
        # without the CLI's prefix, and naming the notebook by its contents path, not its real one
        message = message.split(": error: ", 1)[-1].replace(f"{request.notebook}: ", "")
        if completed.exit_code == USAGE_EXIT_CODE:
            raise FixError(message, path=request.path)
        raise CommandFailedError(message, path=request.path)
    try:
        document = json.loads(completed.stdout)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise CommandFailedError("jupyter repro fix did not print its answer as JSON", path=request.path)
    return document
