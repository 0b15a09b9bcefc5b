"""The run's kernel process: started early by the runner, handed to nbclient, stopped at the end.

Starting the kernel before papermill is imported and the notebook generated saves about a second
per run; nbclient then attaches to it (:func:`attach_to`) and owns it as if it had started it.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

PYTHONHASHSEED = "0"
"""Fixed in the kernel's environment so ``hash(str)`` and set iteration order are repeatable."""


def start_kernel(kernel_name: str, cwd: Path, log: Any) -> Any:
    """Start the run's kernel now; nbclient attaches to it instead of starting its own.

    The kernel runs in the notebook's folder with a fixed ``PYTHONHASHSEED``; its own log lines go
    to the run's ``kernel.log``. All of this is given to the kernel process, not set in this process
    (no ``os.chdir``/``os.environ``), which matters when runs share a process (the server).
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    from jupyter_repro.env import lean_kernel_spec_manager

    class ReproKernelManager(AsyncKernelManager):
        def _kernel_spec_manager_default(self) -> Any:
            return lean_kernel_spec_manager(parent=self)

    manager = ReproKernelManager(kernel_name=kernel_name)
    try:
        run_sync(manager.start_kernel)(
            env={**os.environ, "PYTHONHASHSEED": PYTHONHASHSEED},
            cwd=str(cwd),
            stdout=log,
            stderr=log,
        )
    except Exception as error:  # a kernelspec that cannot start: missing, broken argv, ...
        return KernelStartFailure(f"the kernel '{kernel_name}' could not start: {error}")
    return manager


_STARTING = threading.Lock()


def start_kernel_serialised(kernel_name: str, cwd: Path, log: Any) -> Any:
    """:func:`start_kernel`, one launch at a time in this process, retried once.

    Kernels launched at the same moment race for the ports they pick (``--jobs N`` starts one per
    lane), and a lost race fails the start; so launches take turns, and a failed one is tried again.
    The kernels still boot concurrently: only the launch is serialised, not the wait until ready.
    """
    with _STARTING:
        kernel = start_kernel(kernel_name, cwd, log)
        if isinstance(kernel, KernelStartFailure):
            kernel = start_kernel(kernel_name, cwd, log)
    return kernel


def attach_to(manager: Any) -> type[Any]:
    """A kernel-manager "class" that hands nbclient the kernel started early.

    nbclient then owns it as if it had started it: it waits until the kernel is ready and, at the
    end, stops its channels and shuts it down. (Passing ``km=`` instead leaves the client's sockets
    open, because nbclient only cleans up what it owns.)
    """

    class AttachedKernelManager(type(manager)):  # type: ignore[misc]
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return manager  # not an instance of this class, so __init__ does not run again

    return AttachedKernelManager


class KernelStartFailure:
    """Stands in for a kernel manager when the kernel did not start; carries the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = " ".join(reason.split())


def stop_kernel(kernel: Any) -> None:
    from jupyter_core.utils import run_sync

    if isinstance(kernel, KernelStartFailure):
        return
    try:
        run_sync(kernel.shutdown_kernel)(now=True)
    except Exception as error:  # already dead or gone: nothing left to stop
        logging.getLogger(__name__).debug("kernel shutdown: %s", error)
