"""The server extension's settings, as traitlets (``c.JupyterRepro.*`` in ``jupyter_server_config.py``).

Job settings (concurrency, history, per-cell timeout) belong to :class:`~jupyter_repro.server.jobs.JobManager`
(``c.JobManager.*``); ``docs/rest-api.md`` lists both.
"""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Float, Integer, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

MIB = 1024 * 1024


class JupyterRepro(LoggingConfigurable):
    """Settings of the jupyter-repro server extension, stored in the tornado settings."""

    repro_home = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The repro home (ledger, cache, runs) for every notebook served. None (default): each "
        "notebook's nearest .repro/ folder, or the JUPYTER_REPRO_HOME environment variable, as the CLI "
        "finds it. A relative path is relative to the server's working directory.",
    )
    remote = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The team's remote store (an fsspec URL, as run/verify --remote) for the jobs this server "
        "starts. None (default): the JUPYTER_REPRO_REMOTE environment variable, if set. Credentials come "
        "from the backend's own configuration (for S3 the AWS variables and files), never from here.",
    )
    remote_read_only = Bool(
        False,
        config=True,
        help="Jobs read cached steps from the remote but never write to it (--remote-read-only).",
    )
    jobs = Integer(
        1,
        config=True,
        help="Independent branches of the step graph a run or verify job executes at once, one kernel "
        "each (--jobs N).",
    )
    snapshot_timeout = Float(
        30.0,
        config=True,
        help="Seconds to wait for a live kernel to answer a snapshot (a kernel busy with a long cell "
        "answers only after it).",
    )
    export_timeout = Float(
        120.0,
        config=True,
        help="Seconds an export (jupyter repro export) may take before the request fails.",
    )
    fix_timeout = Float(
        600.0,
        config=True,
        help="Seconds listing or applying fixes (jupyter repro fix) may take: listing verifies first when "
        "the notebook changed since its last verification, and some fixes re-execute the notebook.",
    )
    max_body_size = Integer(
        MIB,
        config=True,
        help="Largest accepted JSON request body, in bytes; larger bodies are refused with 413.",
    )

    @validate("snapshot_timeout", "export_timeout", "fix_timeout", "max_body_size", "jobs")
    def _positive(self, proposal: Any) -> Any:
        if proposal["value"] <= 0:
            raise TraitError(f"{proposal['trait'].name} must be positive, not {proposal['value']}")
        return proposal["value"]
