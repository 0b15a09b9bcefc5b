"""``GET fixes`` and ``POST fixes``' work: run ``jupyter repro fix`` and read back its JSON answer.

Listing fixes may verify the notebook first (when it has no verification, or changed since), and
applying some fixes re-executes it, so the work runs as the real CLI in a subprocess, as exports do:
user code never runs in the server's process. The request waits for it (up to
``c.JupyterRepro.fix_timeout``). The CLI's one-line error for an unusable request (exit code 2: an
unknown fix id, an unavailable fix, a failed download) becomes a :class:`~jupyter_repro.errors.FixError`
(400); anything else is a :class:`~jupyter_repro.server.exports.CommandFailedError` (500).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jupyter_repro.errors import FixError
from jupyter_repro.server.argv import FixRequest, fix_argv
from jupyter_repro.server.exports import run_cli_document


async def run_fix(command: Sequence[str], request: FixRequest, *, timeout_s: float) -> dict[str, Any]:
    """The ``fix --json`` document (the listing, or what was applied) for ``request``."""
    return await run_cli_document(
        fix_argv(command, request),
        notebook=request.notebook,
        path=request.path,
        what="jupyter repro fix",
        usage_error=FixError,
        timeout_s=timeout_s,
    )
