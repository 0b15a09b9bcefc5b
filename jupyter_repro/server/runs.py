"""The ledger as one server may show it: only runs of notebooks under that server's root.

A repro home can be shared between servers (``c.JupyterRepro.repro_home``: one cache for the users of
a JupyterHub, say), and its ledger then holds other users' runs, whose notebook paths are private too.
Every ledger read of the REST API goes through :class:`ServedRuns`, so the rule "a run of a notebook
outside this server's root does not exist" is applied in one place, and every path shown is a contents
path. The methods block (SQLite, the file system): handlers call them in a worker thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_repro import layout
from jupyter_repro.errors import RunNotFoundError
from jupyter_repro.server.paths import contents_path

OVERFETCH = 10
"""Without a notebook, ask the ledger for ``limit * OVERFETCH`` runs, as other servers' are dropped."""


@dataclass(frozen=True)
class ServedRuns:
    """The runs recorded in ``home`` that the server with contents root ``root`` may show."""

    home: Path
    root: str

    def shown_path(self, real: str | os.PathLike[str]) -> str | None:
        """The contents path of a run's notebook; ``None`` when it is not under the root (hidden)."""
        return contents_path(self.root, real)

    def list_runs(self, notebook: Path | None, limit: int) -> list[dict[str, Any]]:
        """Runs newest first (of ``notebook``, or of every visible notebook), each with its ``path``."""
        from jupyter_repro.ledger import Ledger

        with Ledger.open(self.home) as ledger:
            runs = ledger.list_runs(notebook, limit=limit if notebook is not None else limit * OVERFETCH)
        shown = [(run, self.shown_path(run.notebook)) for run in runs]
        return [{**run.summary(), "path": path} for run, path in shown if path is not None][:limit]

    def run_detail(self, run_id: str) -> dict[str, Any]:
        """One run's ``show --json`` document with its ``path``; another server's run is not found."""
        from jupyter_repro.ledger import Ledger

        with Ledger.open(self.home) as ledger:
            detail = ledger.run_detail(run_id)
        document = detail.to_dict()
        # the ledger's notebook key is absolute (the document's may be relative to a CLI's cwd)
        document["path"] = self.shown_path(detail.run.notebook)
        if document["path"] is None:
            raise RunNotFoundError(f"no run '{run_id}' for a notebook under this server's root")
        return document

    def report(self, run_id: str) -> Path:
        """The HTML report of a verification (``run_id`` may be a unique prefix)."""
        from jupyter_repro.ledger import Ledger

        with Ledger.open(self.home) as ledger:
            run = ledger.get_run(run_id)  # resolves a unique prefix to the full id
        report = layout.report_path(self.home, run.run_id)
        if self.shown_path(run.notebook) is None or not report.is_file():
            raise RunNotFoundError(f"no HTML report for run '{run_id}' (only verifications have one)")
        return report
