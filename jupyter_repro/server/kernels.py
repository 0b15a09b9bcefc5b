"""Live kernels: jupyter-repro's environment capture, run inside a kernel the server is running.

``POST snapshot`` is the one route that talks to a user's kernel (jobs and exports run the CLI in
subprocesses instead), and it does so over the Jupyter messaging protocol: a client with a private
session, a wait for the kernel, one silent execution whose stdout carries the answer, and timeouts that
tell a busy kernel from a broken one. None of that is HTTP, so it lives here, as two functions the
handler calls, and raises only :class:`~jupyter_repro.errors.ReproError` subclasses, which the
handlers' one error mapper turns into JSON with the right status.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_repro.env import CAPTURE_MARKER, CAPTURE_SCRIPT
from jupyter_repro.errors import EnvironmentCaptureError, ReproError

BUSY_HINT = "the kernel may be busy running a cell; try again when it is idle"


class KernelNotFoundError(ReproError):
    """No running kernel has the given id."""

    http_status = 404


class KernelTimeoutError(EnvironmentCaptureError):
    """The live kernel did not answer in time (usually: it is busy running a cell)."""

    http_status = 504


# The capture script runs in a fresh namespace, so none of its names land in the user's variables.
LIVE_CAPTURE_CODE = (
    f"__import__('builtins').exec({CAPTURE_SCRIPT!r}, {{'__name__': '__jupyter_repro_capture__'}})"
)


async def snapshot_kernel(kernel_manager: Any, kernel_id: str, *, timeout_s: float) -> dict[str, Any]:
    """Run :data:`~jupyter_repro.env.CAPTURE_SCRIPT` in live kernel ``kernel_id`` and return its facts.

    The code runs through a client of the server's own kernel manager (``store_history=False``, no
    stdin, ``stop_on_error=False`` so a failure never aborts the user's queued cells), and the answer
    is the environment document of ``jupyter repro env --json`` plus the kernel's id.
    """
    from jupyter_repro.records import EnvironmentSnapshot

    if kernel_id not in kernel_manager:  # get_kernel itself raises an HTTP error, not a domain error
        raise KernelNotFoundError(f"no running kernel with id '{kernel_id}'")
    manager = kernel_manager.get_kernel(kernel_id)
    spec = getattr(manager, "kernel_spec", None)
    language = str(getattr(spec, "language", "python") or "python").lower()
    if language != "python":
        raise EnvironmentCaptureError(f"kernel '{kernel_id}' runs {language}, not Python")
    stdout = await execute_in_kernel(manager, kernel_id, LIVE_CAPTURE_CODE, timeout_s)
    lines = [line for line in stdout.splitlines() if line.startswith(CAPTURE_MARKER)]
    if not lines:
        raise EnvironmentCaptureError(f"kernel '{kernel_id}' did not report its environment")
    kernelspec = {
        "name": getattr(manager, "kernel_name", None),
        "display_name": getattr(spec, "display_name", None),
        "language": language,
    }
    try:
        facts = json.loads(lines[-1][len(CAPTURE_MARKER) :])
        snapshot = EnvironmentSnapshot.from_dict({**facts, "kernelspec": kernelspec})
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise EnvironmentCaptureError(f"unexpected environment report from the kernel ({error})") from None
    document = snapshot.to_dict(include_lock_text=False)
    document.pop("lock", None)
    document.pop("lock_error", None)
    return {"kernel_id": kernel_id, **document}


async def execute_in_kernel(manager: Any, kernel_id: str, code: str, timeout_s: float) -> str:
    """Execute ``code`` in the kernel and return what it printed on stdout.

    The client gets its own session (same key): ``manager.client()`` would share the manager's session
    and so its socket identity, and the kernel would then route replies to only one of two clients.
    """
    from jupyter_client.session import Session

    session = Session(key=manager.session.key, signature_scheme=manager.session.signature_scheme)
    client = manager.client(session=session)
    client.start_channels()
    chunks: list[str] = []
    errors: list[str] = []

    def on_output(message: dict[str, Any]) -> None:
        kind, content = message["header"]["msg_type"], message["content"]
        if kind == "stream" and content.get("name") == "stdout":
            chunks.append(content.get("text", ""))
        elif kind == "error":
            errors.append(f"{content.get('ename')}: {content.get('evalue')}")

    try:
        try:
            await client.wait_for_ready(timeout=timeout_s)
        except RuntimeError:
            raise KernelTimeoutError(
                f"kernel '{kernel_id}' did not answer within {timeout_s:g} s", hint=BUSY_HINT
            ) from None
        try:
            reply = await client.execute_interactive(
                code,
                silent=False,
                store_history=False,
                allow_stdin=False,
                stop_on_error=False,
                timeout=timeout_s,
                output_hook=on_output,
            )
        except TimeoutError:
            raise KernelTimeoutError(
                f"kernel '{kernel_id}' did not finish the snapshot within {timeout_s:g} s", hint=BUSY_HINT
            ) from None
    finally:
        client.stop_channels()
    if reply["content"].get("status") != "ok":
        detail = errors[-1] if errors else str(reply["content"].get("evalue") or "unknown error")
        raise EnvironmentCaptureError(f"the snapshot code failed in kernel '{kernel_id}': {detail}")
    return "".join(chunks)
