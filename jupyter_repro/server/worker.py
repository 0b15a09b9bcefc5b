"""A warm worker: one ``jupyter repro run|verify`` process, started before its job, with its kernel.

``python -m jupyter_repro.server.worker KERNEL_NAME`` is started by the server's
:class:`~jupyter_repro.server.pool.WorkerPool` in a notebook folder, with the environment a job's CLI
process gets. Before any job exists it does what every CLI run would do first and what takes most of
a short job's time: it imports the CLI machinery (papermill, nbformat, sqlite-utils, the runner) and
launches one kernel of ``KERNEL_NAME`` in that folder, exactly as the runner would
(:func:`~jupyter_repro.kernel_process.start_kernel`: same cwd, same environment, same
``PYTHONHASHSEED``). Then it reports on stdout, as one JSON line, that it is ready and what its
environment was (:func:`fingerprint`), and waits.

Its job arrives on stdin as one JSON line ``{"argv", "cwd", "env"}``: the arguments the server would
have given ``python -m jupyter_repro.cli``. The worker runs them through the CLI's own ``main``, so
stdout (the ``--json`` document), stderr (``--progress-jsonl``) and the exit code are those of the
CLI subprocess, and the job manager reads them with the same code. The run's first kernel is the
warm one (:func:`~jupyter_repro.kernel_process.provide_first_kernel`); ``--runs N`` and ``--jobs N``
start their other kernels as usual. After that one job the worker exits: a worker never serves two
jobs, so no state is shared between runs.

End of stdin before a job (the server stopped, or dropped the worker) or SIGTERM/SIGINT stops the warm
kernel and exits; the kernel also exits by itself when its parent, this worker, is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from jupyter_repro.errors import ReproError

READY = "jupyter-repro-worker-ready"
"""The key of the worker's ready report (its first stdout line)."""

PRELOADED = (
    "jupyter_repro.cli",
    "jupyter_repro.commands.run",
    "jupyter_repro.commands.verify",
    "jupyter_repro.runner",
    "jupyter_repro.verify",
    "jupyter_repro.report",
    "jupyter_repro.textui",
    "nbformat",
    "nbclient",
    "jupyter_client",
)
"""What a run or verify imports anyway; imported while no job waits (papermill: see :func:`preload`)."""

PRELOADED_MINORS = (4, 5)
"""nbformat 4 minor versions whose validators are compiled ahead (4.4 and 4.5 notebooks are usual)."""

LOG_BUFFER_LIMIT = 1024 * 1024
"""Kernel output kept before the run's kernel.log is known (a kernel says little while it boots)."""

PROBE_TIMEOUT_S = 60.0


def environment_facts(kernel_name: str, folder: Path) -> dict[str, Any]:
    """Where the worker and its kernel import from, and where their kernelspec is defined.

    The kernel's ``sys.path`` is asked from its interpreter, run in ``folder`` with the kernelspec's
    environment (as the kernel runs). Reported to the server, which recomputes :func:`fingerprint`
    from these facts when a job would take the worker.
    """
    from jupyter_repro.env import kernel_interpreter, kernelspec_files

    interpreter = kernel_interpreter(kernel_name)
    return {
        "python": sys.executable,
        "worker_path": list(sys.path),
        "kernel_python": interpreter.python,
        "kernel_path": kernel_import_path(interpreter.python, interpreter.env, folder),
        "kernelspec_files": kernelspec_files(kernel_name),
    }


def fingerprint(facts: dict[str, Any], folder: Path) -> Any:
    """What makes a warm worker stale when it changes: the mtimes of the folders its kernel and
    itself import from (a ``pip install`` always changes one) and of its kernelspec's ``kernel.json``.

    Computed by the worker before its kernel starts and again by the server when a job would take it,
    from the same :func:`environment_facts`; equal answers mean the worker runs what a new CLI process
    would run. ``folder`` is the notebook's, where ``''`` on an import path points.
    """
    from jupyter_repro.env import import_path_signature

    specs = []
    for file in facts["kernelspec_files"]:
        try:
            specs.append([file, os.stat(file).st_mtime_ns])
        except OSError:
            specs.append([file, None])
    return {
        "kernel": import_path_signature(facts["kernel_python"], facts["kernel_path"], folder),
        "worker": import_path_signature(facts["python"], facts["worker_path"], folder),
        "kernelspec": specs,
    }


def kernel_import_path(python: str, kernel_env: Mapping[str, str], folder: Path) -> list[str]:
    """``sys.path`` of the kernel's interpreter run in ``folder`` with the kernelspec's environment."""
    completed = subprocess.run(
        [python, "-c", "import json, sys; print(json.dumps(sys.path))"],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, **kernel_env},
        timeout=PROBE_TIMEOUT_S,
        check=True,
    )
    path: list[str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return path


class KernelOutput:
    """Copies the warm kernel's own stdout/stderr to the run's ``kernel.log`` once the run names it.

    A CLI run hands its kernel the open ``kernel.log``; a warm kernel starts before there is a run, so
    it writes into a pipe, and this thread keeps what it read until :meth:`attach` names the file.
    """

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.writer: BinaryIO = os.fdopen(write_fd, "wb")
        self._reader = read_fd
        self._buffer: list[bytes] = []
        self._size = 0
        self._target: BinaryIO | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._copy, name="warm-kernel-output", daemon=True)
        self._thread.start()

    def attach(self, path: str | None) -> None:
        """Write what the kernel said so far, and everything it says later, to ``path`` (appending)."""
        with self._lock:
            if path is not None and self._target is None:
                self._target = open(path, "ab")  # noqa: SIM115 - closed by the copying thread at EOF
                self._target.write(b"".join(self._buffer))
                self._target.flush()
            self._buffer.clear()

    def close(self, timeout_s: float = 1.0) -> None:
        """Wait (briefly) until the stopped kernel's last words are copied."""
        self._thread.join(timeout_s)

    def _copy(self) -> None:
        try:
            while chunk := os.read(self._reader, 65536):
                with self._lock:
                    if self._target is not None:
                        self._target.write(chunk)
                        self._target.flush()
                    elif self._size + len(chunk) <= LOG_BUFFER_LIMIT:
                        self._buffer.append(chunk)
                        self._size += len(chunk)
        finally:
            os.close(self._reader)
            with self._lock:
                if self._target is not None:
                    self._target.close()


class WarmKernel:
    """The kernel started before the job, handed to the job's run once (or stopped unused)."""

    def __init__(self, kernel_name: str, folder: Path) -> None:
        from jupyter_repro.kernel_process import start_kernel

        self.kernel_name = kernel_name
        self.folder = folder
        self.env = dict(os.environ)
        self.output = KernelOutput()
        self.manager: Any = start_kernel(kernel_name, folder, self.output.writer)
        self.output.writer.close()  # the kernel holds its own copy; EOF when it exits
        self.taken = False

    def provide(self, kernel_name: str, cwd: Path, log: Any) -> Any:
        """The :data:`~jupyter_repro.kernel_process.KernelProvider` of the job's run: the warm kernel,
        when it is the kernel the run asks for, where and how the run would start it, and alive."""
        from jupyter_core.utils import run_sync

        from jupyter_repro.kernel_process import KernelStartFailure

        if isinstance(self.manager, KernelStartFailure) or kernel_name != self.kernel_name:
            return None
        if Path(cwd).resolve() != self.folder or dict(os.environ) != self.env:
            return None
        if not run_sync(self.manager.is_alive)():
            return None
        self.output.attach(
            getattr(log, "name", None) if isinstance(getattr(log, "name", None), str) else None
        )
        self.taken = True
        return self.manager

    def stop(self) -> None:
        """Stop the kernel unless the run took it (the run stops what it took)."""
        from jupyter_repro.kernel_process import stop_kernel

        if not self.taken:
            stop_kernel(self.manager)
        self.output.close()


def preload() -> None:
    """Import what the job's run will import, while no job waits for it, and compile nbformat's
    schema validators for the usual notebook versions (what reading the first notebook costs)."""
    from jupyter_repro._lean import import_papermill
    from jupyter_repro.cli import _skip_slow_optional_imports
    from jupyter_repro.notebook import notebook_from_json

    _skip_slow_optional_imports()
    for name in PRELOADED:
        importlib.import_module(name)
    import_papermill()
    for minor in PRELOADED_MINORS:
        notebook_from_json({"nbformat": 4, "nbformat_minor": minor, "metadata": {}, "cells": []}, "warm-up")


def read_job(stream: Any) -> dict[str, Any] | None:
    """The job line from the server, or None at end of input (the server dropped this worker)."""
    line = stream.readline()
    if not line.strip():
        return None
    job: dict[str, Any] = json.loads(line)
    return job


def run_job(job: dict[str, Any], warm: WarmKernel) -> int:
    """Run the job's CLI arguments in this process, as ``python -m jupyter_repro.cli`` would."""
    from jupyter_repro.cli import main as cli_main
    from jupyter_repro.kernel_process import provide_first_kernel

    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the CLI's stdin is /dev/null, as for the plain subprocess
    os.close(devnull)
    provide_first_kernel(warm.provide)
    try:
        return cli_main(list(job["argv"]))
    finally:
        provide_first_kernel(None)
        sys.stdout.flush()
        sys.stderr.flush()


def serve(kernel_name: str) -> int:
    """Start the warm kernel, report ready, run one job (or none), stop what is left."""
    from jupyter_repro.cli import _skip_slow_optional_imports

    _skip_slow_optional_imports()
    folder = Path.cwd().resolve()
    facts = environment_facts(kernel_name, folder)
    signature = fingerprint(facts, folder)
    warm = WarmKernel(kernel_name, folder)
    try:
        preload()
        report = {
            READY: True,
            "pid": os.getpid(),
            "kernel_pid": _kernel_pid(warm.manager),
            "facts": facts,
            "fingerprint": signature,
        }
        print(json.dumps(report), flush=True)
        job = read_job(sys.stdin)
        return 0 if job is None else run_job(job, warm)
    finally:
        warm.stop()


def exit_quickly(code: int) -> None:
    """End the worker as ``jupyter_repro.cli.console_main`` ends the CLI: exit handlers run and the
    streams are flushed, the teardown of every imported module is skipped (about 0.1 s). A job that
    left a (non-daemon) thread running gets the ordinary exit, which waits for it."""
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if others:
        sys.exit(code)
    logging.shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _kernel_pid(manager: Any) -> int | None:
    provisioner = getattr(manager, "provisioner", None)
    process = getattr(provisioner, "process", None)
    pid = getattr(process, "pid", None)
    return pid if isinstance(pid, int) else None


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM as SIGINT: the run (or the idle worker) stops its kernel on the way out."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m jupyter_repro.server.worker KERNEL_NAME", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return serve(args[0])
    except KeyboardInterrupt:
        return 130
    except ReproError as error:  # e.g. the kernelspec is not a Python one: no worker (the job says why)
        print(f"jupyter-repro worker: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":  # pragma: no cover - run by the server as a process
    exit_quickly(main())
