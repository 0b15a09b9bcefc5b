"""Warm workers for run and verify jobs: a CLI process and its kernel, started before the job comes.

A job's CLI subprocess spends most of a short verify starting an interpreter, importing papermill and
nbformat, and booting a kernel (about a second). The pool keeps, per kernelspec in use, up to
``c.JobManager.warm_kernels`` (default 1) :mod:`~jupyter_repro.server.worker` processes that have
done all of that already, each in the folder of the job that made it (so its kernel runs where that
notebook's runs run: its kernel starts exactly as the CLI would start it, no ``chdir`` afterwards).

- A worker is made after a job of its (kernelspec, folder) came and found none ("started after the
  first verify"), and replaced as soon as a job takes it; at most ``warm_kernels`` per kernelspec,
  the least recently used one making room for a new folder.
- A worker serves one job and exits: never two runs on one worker or kernel.
- A job takes a worker only when it would run exactly what a new CLI process would: the same
  kernelspec and folder, the same process environment, and an unchanged
  :func:`~jupyter_repro.server.worker.fingerprint` (kernelspec, and the mtimes of the folders the
  kernel and the worker import from). A stale worker is discarded. ``--isolated`` jobs (another
  kernel, built per job) and a custom ``c.JobManager.command`` (another interpreter) never use the pool.
- Workers stop with the server: :meth:`WorkerPool.shutdown` closes their stdin, upon which they stop
  their kernels and exit; a server that dies without it closes their stdin all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_repro.server.argv import JobRequest

CLI_MODULE = "jupyter_repro.cli"
WORKER_MODULE = "jupyter_repro.server.worker"
READY_TIMEOUT_S = 120.0
"""How long a job waits for its worker's ready report (imports and kernel launch) before running the
plain CLI subprocess instead."""
STDERR_LIMIT = 64 * 1024
STOP_GRACE_S = 10.0
"""How long a dropped worker has to stop its kernel after its stdin closed, before it is killed."""


@dataclass(frozen=True)
class PoolKey:
    """Which jobs a worker can serve: its kernelspec and the folder its kernel runs in."""

    kernel_name: str
    folder: Path


@dataclass
class Worker:
    """One warm worker process, from spawn to the job it serves (or its discarding)."""

    key: PoolKey
    env: dict[str, str]
    spawned: asyncio.Task[asyncio.subprocess.Process]
    report: dict[str, Any] | None = field(default=None)
    _reading: asyncio.Task[dict[str, Any] | None] | None = field(default=None, repr=False)

    async def process(self) -> asyncio.subprocess.Process:
        return await asyncio.shield(self.spawned)

    async def ready(self, timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any] | None:
        """The worker's ready report (its first stdout line: pids, import paths, fingerprint), or
        None when it exited without one. Read once; waiting again returns the same report."""
        if self._reading is None:
            self._reading = asyncio.get_running_loop().create_task(self._read_report())
        self.report = await asyncio.wait_for(asyncio.shield(self._reading), timeout_s)
        return self.report

    async def _read_report(self) -> dict[str, Any] | None:
        process = await self.process()
        assert process.stdout is not None
        return _report(await process.stdout.readline())

    async def send(self, argv: Sequence[str], cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
        """Hand the worker its job (the CLI arguments, as the plain subprocess would get them)."""
        process = await self.process()
        assert process.stdin is not None
        process.stdin.write((json.dumps({"argv": list(argv), "cwd": str(cwd), "env": env}) + "\n").encode())
        await process.stdin.drain()
        process.stdin.close()
        return process


class WorkerPool:
    """The server's warm workers; owned by the :class:`~jupyter_repro.server.jobs.JobManager`.

    ``command`` is the job manager's CLI command; ``env`` gives a job's process environment; ``log``
    is the server's logger. Every method runs on the server's event loop.
    """

    def __init__(
        self, command: Sequence[str], size: int, env: Callable[[], dict[str, str]], log: Any
    ) -> None:
        self.size = size
        self._cli = list(command)
        self._env = env
        self._log = log
        self._workers: list[Worker] = []  # least recently used first
        self._stopping: set[asyncio.Task[None]] = set()  # workers evicted, being stopped
        self._closed = False

    @property
    def enabled(self) -> bool:
        """A pool of size 0, or a command that is not this package's CLI module, has no workers."""
        return self.size > 0 and self._cli[-2:] == ["-m", CLI_MODULE] and not self._closed

    def workers(self) -> list[Worker]:
        """The workers waiting for a job (for tests and diagnostics)."""
        return list(self._workers)

    async def checkout(self, request: JobRequest) -> Worker | None:
        """A ready worker that runs ``request`` exactly as a new CLI process would, or None.

        Taking a worker starts its replacement at once; a job that finds no worker makes one for the
        next job of its kernelspec and folder. The returned worker is no longer in the pool: it is
        the job's, which sends it the job or drops it.
        """
        if not self.enabled or request.isolated:
            return None
        key = await asyncio.to_thread(_pool_key, request.notebook)
        if key is None:
            return None
        env = self._env()
        worker = self._take(key)
        self._start(key)
        if worker is None:
            return None
        try:
            fresh = await self._ready(worker, env)
        except BaseException:
            await self.drop(worker)
            raise
        if not fresh:
            await self.drop(worker)
            return None
        return worker

    async def drop(self, worker: Worker) -> None:
        """Stop a worker that will serve no job: stdin closed, it stops its kernel and exits."""
        with contextlib.suppress(ValueError):
            self._workers.remove(worker)
        try:
            process = await worker.process()
        except Exception:  # it never started: nothing to stop
            return
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_S)
        except asyncio.TimeoutError:
            _kill_group(process)
            await process.wait()

    async def shutdown(self) -> None:
        """Stop every waiting worker and its kernel (the server stops); no worker starts afterwards."""
        self._closed = True
        workers, self._workers = self._workers, []
        await asyncio.gather(*(self.drop(worker) for worker in workers), *self._stopping)

    def signal_all(self, signum: int) -> None:
        """Signal every started worker (at interpreter exit, when no event loop can wait for them)."""
        for worker in self._workers:
            if (
                worker.spawned.done()
                and not worker.spawned.cancelled()
                and worker.spawned.exception() is None
            ):
                process = worker.spawned.result()
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        process.send_signal(signum)

    # --- inside ---

    def _take(self, key: PoolKey) -> Worker | None:
        for worker in self._workers:
            if worker.key == key:
                self._workers.remove(worker)
                return worker
        return None

    def _start(self, key: PoolKey) -> None:
        """Start a worker for ``key``; the least recently used one of its kernelspec makes room."""
        same_kernel = [worker for worker in self._workers if worker.key.kernel_name == key.kernel_name]
        for worker in same_kernel[: max(0, len(same_kernel) + 1 - self.size)]:
            self._workers.remove(worker)  # now, so that no job takes it meanwhile
            stopping = asyncio.get_running_loop().create_task(self.drop(worker))
            self._stopping.add(stopping)
            stopping.add_done_callback(self._stopping.discard)
        argv = [*self._cli[:-1], WORKER_MODULE, key.kernel_name]
        env = self._env()
        spawned = asyncio.get_running_loop().create_task(_spawn(argv, key.folder, env))
        self._workers.append(Worker(key=key, env=env, spawned=spawned))
        self._log.debug("jupyter_repro: warm worker for %s in %s starting", key.kernel_name, key.folder)

    async def _ready(self, worker: Worker, env: dict[str, str]) -> bool:
        """Wait for the worker's ready report; True when it still matches the job's environment."""
        try:
            report = await worker.ready()
        except (OSError, asyncio.TimeoutError) as error:
            self._log.warning("jupyter_repro: warm worker did not start: %s", error)
            return False
        process = await worker.process()
        if report is None or process.returncode is not None:
            reason = await _last_words(process)
            self._log.warning(
                "jupyter_repro: warm worker for %s did not start: %s", worker.key.kernel_name, reason
            )
            return False
        if worker.env != env:
            self._log.info("jupyter_repro: warm worker discarded: the server's environment changed")
            return False
        changed = await asyncio.to_thread(_changes, worker.key, report)
        if changed:
            self._log.info(
                "jupyter_repro: warm worker for %s in %s discarded: changed since it started: %s",
                worker.key.kernel_name,
                worker.key.folder,
                ", ".join(changed),
            )
        return not changed


def _pool_key(notebook: Path) -> PoolKey | None:
    """The kernelspec the notebook's run will ask for, as the runner decides it, and its folder; None
    when no worker could serve it (a kernelspec that is not a Python one, an unreadable notebook)."""
    from jupyter_repro.env import kernel_interpreter, notebook_kernel_name

    try:
        source = json.loads(notebook.read_text(encoding="utf-8"))
        if not isinstance(source, dict):
            return None
        kernel_name = notebook_kernel_name(source)
        kernel_interpreter(kernel_name)
        return PoolKey(kernel_name=kernel_name, folder=notebook.resolve().parent)
    except Exception:  # the plain CLI process reports what is wrong
        return None


def _changes(key: PoolKey, report: dict[str, Any]) -> list[str]:
    """What differs between the worker's fingerprint, taken before its kernel started, and now (the
    import folders or kernelspec files that changed); empty when the worker is still current."""
    from jupyter_repro.server.worker import fingerprint

    try:
        now = json.loads(json.dumps(fingerprint(report["facts"], key.folder)))
        then = report["fingerprint"]
        changed = [
            f"{entry[0]}"
            for side in ("kernel", "worker", "kernelspec")
            for entry in now[side]
            if entry not in then[side]
        ]
        return changed if changed or now == then else ["the environment"]
    except Exception:  # an odd report: a worker that cannot be checked is not trusted
        return ["the environment"]


async def _last_words(process: asyncio.subprocess.Process) -> str:
    """The last stderr line of a worker that exited before it was ready (why it could not start)."""
    if process.stderr is None:
        return "no report"
    try:
        text = await asyncio.wait_for(process.stderr.read(STDERR_LIMIT), 1.0)
    except asyncio.TimeoutError:
        return "no report"
    lines = [line for line in text.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {process.returncode}"


def _report(line: bytes) -> dict[str, Any] | None:
    from jupyter_repro.server.worker import READY

    try:
        report = json.loads(line)
    except ValueError:
        return None
    return report if isinstance(report, dict) and report.get(READY) is True else None


async def _spawn(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    from jupyter_repro.server.jobs import STREAM_LIMIT

    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=str(cwd),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        limit=STREAM_LIMIT,
        start_new_session=True,  # as the plain job process: signalled as a group by jobs.py
    )


def _kill_group(process: asyncio.subprocess.Process) -> None:
    import os

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
