"""Background jobs: ``jupyter repro run|verify`` as subprocesses, watched from the server's event loop.

A job runs the real CLI (``python -m jupyter_repro.cli KIND NB --json --progress-jsonl ...``, built by
:func:`~jupyter_repro.server.argv.job_argv`) with the notebook's folder as working directory, so user
code, papermill and kernels never run inside the server's process and a crash there cannot take the
server down. Its stderr is read line by line without blocking the event loop: JSON lines are progress
events, anything else is kept as the job's log (its last line is the error message of a failed job).
Its stdout is the CLI's ``--json`` document, which becomes the job's result. A job whose notebook's
kernelspec and folder have a warm worker (:mod:`~jupyter_repro.server.pool`) is handed to that
process instead, which runs the same command line with its kernel already started, and is read the
same way.

Jobs live in memory: at most one active (queued or running) job per notebook, at most
``max_concurrent_jobs`` running at once (the others wait as ``queued``), and a bounded history of
finished jobs. A job is owned by the manager, not by the request that created it, so it keeps running
when the client disconnects.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime
import json
import os
import signal
import sys
import uuid
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from traitlets import Float, Integer, List, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from jupyter_repro.errors import ReproError
from jupyter_repro.server.argv import JobRequest, job_argv
from jupyter_repro.server.pool import Worker, WorkerPool

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
ERROR = "error"
ACTIVE_STATES = frozenset({QUEUED, RUNNING})
# Step statuses after which a step counts as finished in the progress summary.
FINISHED_STEP_STATUSES = frozenset({"executed", "cached", "failed", "skipped"})
LOG_TAIL_LINES = 20
STREAM_LIMIT = 4 * 1024 * 1024  # longest stderr line read whole; longer lines are dropped
KILL_GRACE_S = 5.0


class JobNotFoundError(ReproError):
    """A job id the server does not know (never created, or dropped from the bounded history)."""

    http_status = 404


@dataclass
class Job:
    """One run or verify, from request to result. Mutated only on the event loop."""

    job_id: str
    request: JobRequest
    argv: list[str]
    state: str = QUEUED
    created_at: str = field(default_factory=lambda: _now())
    started_at: str | None = None
    finished_at: str | None = None
    steps: dict[str, str] = field(default_factory=dict)
    current_step: str | None = None
    last_event: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    exit_code: int | None = None
    log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))
    warm: bool = False
    """Served by a warm worker (:mod:`~jupyter_repro.server.pool`) rather than a new CLI process."""
    worker: dict[str, Any] | None = field(default=None, repr=False)
    """The warm worker's ready report (its pid and its kernel's), for tests and diagnostics."""
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def progress(self) -> dict[str, Any]:
        """Per-step statuses as last reported by the CLI, with a finished/total count."""
        return {
            "steps": [{"name": name, "status": status} for name, status in self.steps.items()],
            "total": len(self.steps),
            "finished": sum(status in FINISHED_STEP_STATUSES for status in self.steps.values()),
            "current": self.current_step,
            "last_event": self.last_event,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "kind": self.request.kind,
            "path": self.request.path,
            "request": self.request.describe(),
            "state": self.state,
            "progress": self.progress(),
            "result": self.result,
            "error": self.error,
            "exit_code": self.exit_code,
            "warm": self.warm,
            "log": list(self.log),
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    def summary(self) -> dict[str, Any]:
        """The job as ``GET jobs`` lists it: without ``result`` and ``log``, with the result's run id
        and verdict (a list of many jobs should not carry every job's full result)."""
        summary = self.to_dict()
        result = summary.pop("result") or {}
        summary.pop("log")
        summary["run_id"] = result.get("run_id")
        summary["verdict"] = result.get("verdict")
        return summary

    # --- progress events ---

    def apply_event(self, event: Mapping[str, Any]) -> None:
        """Fold one ``--progress-jsonl`` event into the job's progress."""
        self.last_event = dict(event)
        if event.get("event") != "step" or not isinstance(event.get("step"), str):
            return
        name, status = event["step"], str(event.get("status", ""))
        finished = all(s in FINISHED_STEP_STATUSES for s in self.steps.values())
        if status.startswith("planned-") and self.steps and finished:
            # a new pass over the pipeline (verify --runs N): start the step list afresh
            self.steps.clear()
            self.current_step = None
        self.steps[name] = status
        if status == "running":
            self.current_step = name
        elif self.current_step == name and status in FINISHED_STEP_STATUSES:
            self.current_step = None


class JobManager(LoggingConfigurable):
    """Runs and remembers jobs; one instance per server, stored in the tornado settings.

    Configure it like any Jupyter class, e.g. ``c.JobManager.max_concurrent_jobs = 1`` in
    ``jupyter_server_config.py`` (see ``docs/rest-api.md``).
    """

    max_concurrent_jobs = Integer(
        2,
        config=True,
        help="How many jobs may run at once; further jobs wait in state 'queued'.",
    )
    job_history = Integer(
        100,
        config=True,
        help="How many finished jobs are remembered (oldest dropped first); active jobs are always kept.",
    )
    default_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="Per-cell timeout in seconds for jobs that do not give one (None: no limit). "
        "Passed to the CLI as --timeout.",
    )
    command = List(
        Unicode(),
        default_value=[sys.executable, "-m", "jupyter_repro.cli"],
        config=True,
        help="The command that runs the jupyter-repro CLI for a job (default: this server's Python).",
    )

    auto_gc = Unicode(
        None,
        allow_none=True,
        config=True,
        help="A size budget for the repro home (200MB, 2GB): after each job, gc collects the home down to "
        "it when it is larger (JUPYTER_REPRO_AUTO_GC for the job; see docs/storage.md).",
    )

    warm_kernels = Integer(
        1,
        config=True,
        help="Warm workers kept per kernelspec in use: a CLI process with its imports done and one "
        "kernel started, in the folder of the last job, ready for the next run or verify job there "
        "(each serves one job, then a new one starts). 0: every job starts a new CLI process.",
    )

    @validate("auto_gc")
    def _a_size(self, proposal: Any) -> Any:
        from jupyter_repro.gc_plan import parse_size

        if proposal["value"] is not None:
            try:
                parse_size(proposal["value"])
            except ValueError as error:
                raise TraitError(f"auto_gc: {error}") from None
        return proposal["value"]

    def child_env(self) -> dict[str, str]:
        """The environment of a job's CLI process: the server's, plus the job settings it reads there."""
        from jupyter_repro.storage import AUTO_GC_ENV

        extra = {AUTO_GC_ENV: self.auto_gc} if self.auto_gc else {}
        return {**_child_env(), **extra}

    @validate("warm_kernels")
    def _not_negative(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise TraitError(f"warm_kernels must be 0 or more, not {value}")
        return value

    @validate("max_concurrent_jobs", "job_history")
    def _at_least_one(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1, not {value}")
        return value

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._jobs: dict[str, Job] = {}  # insertion order = creation order
        self._active_by_notebook: dict[str, str] = {}
        self._slots: asyncio.Semaphore | None = None
        self._pool: WorkerPool | None = None
        _MANAGERS.add(self)

    @property
    def pool(self) -> WorkerPool:
        """The warm workers (made on first use, with the settings of that moment)."""
        if self._pool is None:
            self._pool = WorkerPool(self.command, self.warm_kernels, self.child_env, self.log)
        return self._pool

    # --- public API ---

    def submit(self, request: JobRequest) -> tuple[Job, bool]:
        """Start a job for ``request``; ``(job, True)``, or ``(running job, False)`` if one exists.

        A notebook has at most one active job: a second request for it (whatever its options) gets the
        job that is already queued or running, so a double click never runs the notebook twice.
        """
        key = str(request.notebook)
        existing_id = self._active_by_notebook.get(key)
        if existing_id is not None and self._jobs[existing_id].active:
            return self._jobs[existing_id], False
        job = Job(job_id=uuid.uuid4().hex, request=request, argv=self.argv(request))
        self._jobs[job.job_id] = job
        self._active_by_notebook[key] = job.job_id
        job.task = asyncio.get_running_loop().create_task(self._run(job), name=f"jupyter-repro {job.job_id}")
        self.log.info("jupyter_repro: job %s: %s %s", job.job_id, request.kind, request.path)
        return job, True

    def get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFoundError(
                f"unknown job id '{job_id}'", hint="jobs are kept in memory until the server restarts"
            ) from None

    def jobs(self) -> list[Job]:
        """Every remembered job, newest first."""
        return list(reversed(self._jobs.values()))

    def argv(self, request: JobRequest) -> list[str]:
        """The CLI command line for a request, with this manager's command and default timeout."""
        return job_argv(self.command, request, default_timeout=self.default_timeout)

    async def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Wait until a job has finished (for tests and scripts); returns the job."""
        job = self.get(job_id)
        if job.task is not None:
            await asyncio.wait_for(asyncio.shield(job.task), timeout)
        return job

    async def shutdown(self) -> None:
        """Stop every active job (terminate, then kill), wait for their tasks to end, stop the workers."""
        tasks = [job.task for job in self._jobs.values() if job.task is not None and not job.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pool is not None:
            await self._pool.shutdown()

    # --- running ---

    async def _run(self, job: Job) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent_jobs)
        try:
            async with self._slots:
                job.state = RUNNING
                job.started_at = _now()
                await self._execute(job)
        except asyncio.CancelledError:
            self._finish(job, ERROR, error="the server stopped the job")
            raise
        except Exception as error:  # a spawn failure must end the job, never the server
            self.log.exception("jupyter_repro: job %s failed to run", job.job_id)
            self._finish(job, ERROR, error=f"cannot run the job: {error}")
        finally:
            if job.active:  # pragma: no cover - defensive: every path above finishes the job
                self._finish(job, ERROR, error="the job ended unexpectedly")
            self._forget_active(job)
            self._prune_history()

    async def _execute(self, job: Job) -> None:
        process = await self._start_process(job)
        job.process = process
        stdout_task = asyncio.ensure_future(_read_all(process.stdout))
        try:
            await self._follow_stderr(job, process.stderr)
            stdout = await stdout_task
            exit_code = await process.wait()
        except asyncio.CancelledError:
            await _stop_process(process)
            stdout_task.cancel()
            raise
        finally:
            job.process = None
        job.exit_code = exit_code
        self._conclude(job, exit_code, stdout)

    async def _start_process(self, job: Job) -> asyncio.subprocess.Process:
        """The job's CLI process: a warm worker given the job, or a new ``python -m jupyter_repro.cli``."""
        worker = await self.pool.checkout(job.request)
        if worker is not None:
            process = await self._hand_over(job, worker)
            if process is not None:
                return process
        return await asyncio.create_subprocess_exec(
            *job.argv,
            cwd=str(job.request.notebook.parent),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.child_env(),
            limit=STREAM_LIMIT,
            # its own session, as Jupyter starts kernels: a Ctrl-C answered "no" at the server's
            # shutdown prompt must not interrupt the jobs; _stop_process signals the group instead
            start_new_session=True,
        )

    async def _hand_over(self, job: Job, worker: Worker) -> asyncio.subprocess.Process | None:
        """Send the job to the worker; None (worker dropped) when it went away meanwhile."""
        try:
            process = await worker.send(
                job.argv[len(self.command) :], job.request.notebook.parent, self.child_env()
            )
        except (OSError, RuntimeError) as error:  # it died while waiting: the plain process runs the job
            self.log.warning(
                "jupyter_repro: warm worker lost (%s): running job %s as usual", error, job.job_id
            )
            await self.pool.drop(worker)
            return None
        except asyncio.CancelledError:  # stopped while handing over: the worker may have its job already
            await _stop_process(await worker.process())
            raise
        job.warm = True
        job.worker = worker.report
        self.log.info("jupyter_repro: job %s runs in a warm worker", job.job_id)
        return process

    async def _follow_stderr(self, job: Job, stream: asyncio.StreamReader | None) -> None:
        if stream is None:  # pragma: no cover - always piped above
            return
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than STREAM_LIMIT: dropped, keep reading
                continue
            if not raw:
                return
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            event = _progress_event(line)
            if event is not None:
                job.apply_event(event)
            elif line.strip():
                job.log.append(line)

    def _conclude(self, job: Job, exit_code: int, stdout: bytes) -> None:
        """Exit 0 or 1 with a JSON document: done (a diverged verify is still a result); else error."""
        result = _json_object(stdout)
        if exit_code in (0, 1) and result is not None:
            self._finish(job, DONE, result=result)
            return
        if exit_code < 0:
            detail = f"the jupyter-repro process was killed by signal {-exit_code}"
        else:
            detail = f"the jupyter-repro process exited with code {exit_code} without a result"
        message = job.log[-1] if job.log else detail
        self._finish(job, ERROR, error=message, result=result)

    def _finish(
        self, job: Job, state: str, *, error: str | None = None, result: dict[str, Any] | None = None
    ) -> None:
        job.state = state
        job.error = error
        if result is not None:
            job.result = result
        job.finished_at = _now()
        if job.current_step is not None and state == ERROR:
            job.current_step = None
        self.log.info("jupyter_repro: job %s: %s%s", job.job_id, state, f" ({error})" if error else "")

    def _forget_active(self, job: Job) -> None:
        key = str(job.request.notebook)
        if self._active_by_notebook.get(key) == job.job_id:
            del self._active_by_notebook[key]

    def _prune_history(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if not job.active]
        for job_id in finished[: max(0, len(finished) - self.job_history)]:
            del self._jobs[job_id]


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str

    def last_error_line(self) -> str | None:
        """The last non-empty stderr line that is not a progress event (the CLI's one-line error)."""
        lines = [line for line in self.stderr.splitlines() if line.strip() and _progress_event(line) is None]
        return lines[-1] if lines else None


async def run_command(argv: Sequence[str], *, cwd: str | os.PathLike[str], timeout_s: float) -> CommandResult:
    """Run a short CLI command off the event loop (export); kill it after ``timeout_s`` seconds.

    Jobs and short commands both start their processes from this module, so there is one place that
    decides how jupyter-repro's subprocesses are spawned and stopped.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=str(cwd),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_child_env(),
        start_new_session=True,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        await _stop_process(process)
        raise
    return CommandResult(
        exit_code=process.returncode if process.returncode is not None else -1,
        stdout=stdout.decode("utf-8", errors="replace"),
        stderr=stderr.decode("utf-8", errors="replace"),
    )


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}


async def _read_all(stream: asyncio.StreamReader | None) -> bytes:
    return b"" if stream is None else await stream.read()


async def _stop_process(process: asyncio.subprocess.Process) -> None:
    """Interrupt the job's process group (the CLI then shuts its kernel down), then kill it."""
    if process.returncode is not None:
        return
    _signal_group(process, signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), KILL_GRACE_S)
    except asyncio.TimeoutError:
        _signal_group(process, signal.SIGKILL)
        await process.wait()


def _signal_group(process: asyncio.subprocess.Process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signum)
        else:  # pragma: no cover - Windows
            process.send_signal(signum)


def _progress_event(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    parsed = _json_object(line.encode("utf-8"))
    return parsed if parsed is not None and isinstance(parsed.get("event"), str) else None


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _interrupt_on_exit() -> None:
    """At interpreter exit, interrupt the jobs of every manager still alive (no orphaned verifies)."""
    for manager in list(_MANAGERS):
        if manager._pool is not None:
            manager._pool.signal_all(signal.SIGTERM)
        for job in manager._jobs.values():
            if job.process is not None and job.process.returncode is None:
                _signal_group(job.process, signal.SIGINT)


_MANAGERS: weakref.WeakSet[JobManager] = weakref.WeakSet()
atexit.register(_interrupt_on_exit)
