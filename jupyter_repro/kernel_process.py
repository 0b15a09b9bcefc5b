"""The run's kernel process: started early by the runner, handed to nbclient, stopped at the end.

Starting the kernel before papermill is imported and the notebook generated saves about a second
per run; nbclient then attaches to it (:func:`attach_to`) and owns it as if it had started it.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PYTHONHASHSEED = "0"
"""Fixed in the kernel's environment so ``hash(str)`` and set iteration order are repeatable."""

KernelProvider = Callable[[str, Path, Any], Any]
"""``(kernel_name, cwd, log) -> kernel manager or None``: a kernel that was started before the run."""

_provider: KernelProvider | None = None
_PROVIDER_LOCK = threading.Lock()


def provide_first_kernel(provider: KernelProvider | None) -> None:
    """Let ``provider`` answer this process's next :func:`start_kernel` (once), e.g. with a warm kernel.

    The server's pre-started workers (``jupyter_repro.server.worker``) start a kernel before a job
    arrives; the run then takes that kernel instead of launching one. The provider is consulted once
    and forgotten: a second kernel (``--runs N``, ``--jobs N``) always starts as usual, and a provider
    that answers None (another kernelspec or folder) leaves the usual start to happen.
    """
    global _provider
    with _PROVIDER_LOCK:
        _provider = provider


def _provided_kernel(kernel_name: str, cwd: Path, log: Any) -> Any:
    global _provider
    with _PROVIDER_LOCK:
        provider, _provider = _provider, None
    return None if provider is None else provider(kernel_name, cwd, log)


def start_kernel(kernel_name: str, cwd: Path, log: Any) -> Any:
    """Start the run's kernel now; nbclient attaches to it instead of starting its own.

    The kernel runs in the notebook's folder with a fixed ``PYTHONHASHSEED``; its own log lines go
    to the run's ``kernel.log``. All of this is given to the kernel process, not set in this process
    (no ``os.chdir``/``os.environ``), which matters when runs share a process (the server).
    A kernel already started for this run (:func:`provide_first_kernel`) is taken instead.
    """
    provided = _provided_kernel(kernel_name, cwd, log)
    if provided is not None:
        return provided
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    from jupyter_repro.env import lean_kernel_spec_manager

    class ReproKernelManager(AsyncKernelManager):
        def _kernel_spec_manager_default(self) -> Any:
            return lean_kernel_spec_manager(parent=self)

        def _client_factory_default(self) -> Any:
            return ready_client_class()

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            # after killing the kernel, jupyter_client polls for its exit every 0.1 s: a killed
            # kernel is gone within milliseconds, so the first 0.1 s sleep was pure waiting
            await super()._async_wait(pollinterval=min(pollinterval, EXIT_POLL_S))

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


IOPUB_CHECK_S = 0.2
"""How long to wait for the IOPub message that proves the client's subscription is live."""
EXIT_POLL_S = 0.005
"""How often to check whether a kernel that was told to stop has exited."""


@functools.cache
def ready_client_class() -> type[Any]:
    """nbclient's kernel client, without the fixed wait at the end of ``wait_for_ready``.

    jupyter_client's ``wait_for_ready`` ends by draining IOPub until it has been quiet for 0.2 s,
    which every run pays once per kernel. nbclient needs no drain: it reads only the IOPub
    messages whose parent is the request it sent. Everything else is kept: a kernel is ready when it
    answered ``kernel_info`` and an IOPub message arrived (the subscription is live), a kernel that
    died or did not answer in time is an error.
    """
    from jupyter_client.asynchronous.client import AsyncKernelClient

    class ReadyKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                reply = await _next_message(self.shell_channel, 1.0)
                if reply is not None and reply["msg_type"] == "kernel_info_reply" and await _iopub_live(self):
                    self._handle_kernel_info_reply(reply)
                    return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    return ReadyKernelClient


async def _iopub_live(client: Any) -> bool:
    """Whether an IOPub message arrives (the reply's status messages): the subscription is live."""
    return await _next_message(client.iopub_channel, IOPUB_CHECK_S) is not None


async def _next_message(channel: Any, timeout: float) -> dict[str, Any] | None:
    from queue import Empty

    try:
        message: dict[str, Any] = await channel.get_msg(timeout=timeout)
    except Empty:
        return None
    return message


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
