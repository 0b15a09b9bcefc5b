"""The one place that turns a validated request into a ``jupyter repro`` command line.

The server never runs notebooks or exports in its own process: it starts the real CLI (jobs for
``run``/``verify``, a short command for ``export`` and ``fix``). Each request type below is what a
handler has checked; :func:`job_argv`, :func:`export_argv` and :func:`fix_argv` say it to the CLI.
Keeping them here means the server's knowledge of the CLI's options (documented in ``docs/cli.md``)
lives in one module, and every command line has the same shape: the notebook as an absolute path
right after the subcommand (never where an option could be read), ``--json`` for a machine-readable
answer, then the options.

This module is pure (no I/O, no server objects), so command lines are easy to test on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("run", "verify")
"""The subcommands a job can run."""


@dataclass(frozen=True)
class JobRequest:
    """What a job runs: validated by the handler, turned into a command line by :func:`job_argv`."""

    kind: str
    notebook: Path
    path: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    no_cache: bool = False
    step: str | None = None
    runs: int | None = None
    isolated: bool = False
    timeout: float | None = None
    home: str | None = None
    remote: str | None = None
    """``c.JupyterRepro.remote``: server configuration, never taken from a request (not shown either)."""
    remote_read_only: bool = False
    jobs: int = 1
    """``c.JupyterRepro.jobs``: branches run at once (server configuration, not a request field)."""

    def describe(self) -> dict[str, Any]:
        """The request as shown in the job's JSON (contents path only, never the real path)."""
        shown: dict[str, Any] = {"parameters": dict(self.parameters), "no_cache": self.no_cache}
        if self.step is not None:
            shown["step"] = self.step
        if self.runs is not None:
            shown["runs"] = self.runs
        if self.isolated:
            shown["isolated"] = True
        if self.timeout is not None:
            shown["timeout"] = self.timeout
        return shown


@dataclass(frozen=True)
class ExportRequest:
    """What ``POST export`` asks for, validated by its handler; :func:`export_argv` builds its command."""

    notebook: Path
    path: str
    """The contents path of the notebook, for error messages."""
    target: str
    output_dir: Path
    schedule: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    home: str | None = None


@dataclass(frozen=True)
class FixRequest:
    """What ``GET fixes`` (``fix_id`` None) or ``POST fixes`` asks for; :func:`fix_argv` builds it."""

    notebook: Path
    path: str
    """The contents path of the notebook, for error messages."""
    fix_id: str | None = None
    edits_only: bool = False
    """``target: "model"``: write the side files only and answer with the notebook's edits."""
    home: str | None = None


def job_argv(
    command: Sequence[str], request: JobRequest, *, default_timeout: float | None = None
) -> list[str]:
    """``KIND NB --json --progress-jsonl [options]``: a run or verify job's command line.

    ``--progress-jsonl`` makes the CLI report each step on stderr as a JSON line, which the job manager
    folds into the job's progress. ``default_timeout`` (``c.JobManager.default_timeout``) applies when
    the request gives no timeout.
    """
    argv = [*command, request.kind, str(request.notebook), "--json", "--progress-jsonl"]
    argv += _parameter_args(request.parameters)
    if request.no_cache:
        argv.append("--no-cache")
    timeout = request.timeout if request.timeout is not None else default_timeout
    if timeout is not None:
        argv += ["--timeout", repr(float(timeout))]
    if request.step is not None:
        argv += ["--step", request.step]
    if request.runs is not None:
        argv += ["--runs", str(request.runs)]
    if request.isolated:
        argv.append("--isolated")
    if request.remote:
        argv += ["--remote", request.remote]
    if request.remote_read_only:
        argv.append("--remote-read-only")
    if request.jobs > 1:
        argv += ["--jobs", str(request.jobs)]
    return argv + _home_args(request.home)


def export_argv(command: Sequence[str], request: ExportRequest) -> list[str]:
    """``export NB --to TARGET -o DIR --json [options]``: an export's command line.

    ``--json`` makes the CLI print ``{"files": [...]}``, the list the handler answers with.
    """
    argv = [*command, "export", str(request.notebook), "--to", request.target, "-o", str(request.output_dir)]
    argv.append("--json")
    if request.schedule is not None:
        argv += ["--schedule", request.schedule]
    argv += _parameter_args(request.parameters)
    return argv + _home_args(request.home)


def fix_argv(command: Sequence[str], request: FixRequest) -> list[str]:
    """``fix NB --json [--apply ID [--edits-only]]``: list the fixes, or apply one."""
    argv = [*command, "fix", str(request.notebook), "--json"]
    if request.fix_id is not None:
        argv += [f"--apply={request.fix_id}"]  # one argument: an id can never be read as an option
        if request.edits_only:
            argv.append("--edits-only")
    return argv + _home_args(request.home)


def _parameter_args(parameters: Mapping[str, str]) -> list[str]:
    """``-p NAME VALUE`` per parameter; the handler made sure each text reads back as its JSON value."""
    args: list[str] = []
    for name, text in parameters.items():
        args += ["-p", name, text]
    return args


def _home_args(home: str | None) -> list[str]:
    """``--home HOME`` when the server has one repro home (``c.JupyterRepro.repro_home``)."""
    return [] if home is None else ["--home", home]
