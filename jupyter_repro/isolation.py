"""``verify --isolated``: a fresh virtual environment built from the notebook's lock, as a kernel.

This is the strongest claim jupyter-repro makes: the notebook reproduces in an environment that
contains only what the lock pins (installed with ``pip install --require-hashes``) plus ipykernel to
run it. The environment and its kernelspec live in a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_repro.errors import EnvironmentCaptureError

if TYPE_CHECKING:
    from jupyter_repro.runner import RunOptions

PIP_TIMEOUT_S = 1800.0


@contextmanager
def isolated_kernel(notebook_path: str | Path, options: RunOptions) -> Iterator[tuple[str, dict[str, Any]]]:
    """Build the environment, register a temporary kernelspec, yield ``(kernel_name, build_report)``."""
    from jupyter_repro.env import capture_for_notebook, lock_environment
    from jupyter_repro.evidence import recorded_evidence
    from jupyter_repro.home import find_home
    from jupyter_repro.notebook import load_notebook
    from jupyter_repro.pipeline import build_pipeline

    path = Path(notebook_path)
    notebook = load_notebook(path)
    carried = recorded_evidence(notebook).certificate
    carried_lock = (
        carried.lock if carried is not None and carried.lock is not None else _pinned_lock(notebook)
    )
    if carried_lock is not None:
        executable, lock_text = capture_for_notebook(path, notebook).executable, str(carried_lock["text"])
        lock_hash, packages, source = (
            str(carried_lock.get("hash", "")),
            len(carried_lock.get("requirements") or []),
            "notebook",
        )
    else:
        pipeline = build_pipeline(notebook, str(notebook_path))
        home = find_home(path, options.home)
        snapshot = lock_environment(capture_for_notebook(path, notebook), pipeline.imported_modules, home)
        if snapshot.lock is None:
            raise EnvironmentCaptureError(
                f"cannot build an isolated environment: no lock ({snapshot.lock_error})",
                notebook=str(notebook_path),
                hint="pip-compile needs the package index; run without --isolated",
            )
        executable, lock_text = snapshot.executable, snapshot.lock.text
        lock_hash, packages, source = snapshot.lock.hash, len(snapshot.lock.requirements), "here"
    folder = Path(tempfile.mkdtemp(prefix="jupyter-repro-isolated-"))
    previous_path = os.environ.get("JUPYTER_PATH")
    try:
        started = time.perf_counter()
        python = _build_venv(folder, executable, lock_text)
        name = _register_kernel(folder, python)
        report = {
            "build_s": round(time.perf_counter() - started, 2),
            "packages": packages,
            "lock_hash": lock_hash,
            "lock_source": source,
            "python": python,
        }
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            [str(folder / "share" / "jupyter"), *([previous_path] if previous_path else [])]
        )
        yield name, report
    finally:
        if previous_path is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = previous_path
        shutil.rmtree(folder, ignore_errors=True)


def _pinned_lock(notebook: Any) -> Mapping[str, Any] | None:
    """The lock ``jupyter repro fix --apply pin-lock`` wrote (``metadata.jupyter_repro.lock``), if any."""
    settings = (notebook.get("metadata") or {}).get("jupyter_repro") or {}
    lock = settings.get("lock") if isinstance(settings, Mapping) else None
    return lock if isinstance(lock, Mapping) and isinstance(lock.get("text"), str) else None


def _build_venv(folder: Path, base_python: str, lock_text: str) -> str:
    """A venv made by the kernel's own interpreter (same Python version), filled from the lock."""
    venv = folder / "venv"
    _check([base_python, "-m", "venv", str(venv)], "create the virtual environment")
    python = str(venv / "bin" / "python")
    lock_file = folder / "requirements.lock"
    lock_file.write_text(lock_text, encoding="utf-8")
    if any(line.strip() and not line.lstrip().startswith("#") for line in lock_text.splitlines()):
        _check(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--require-hashes",
                "--no-deps",
                "-r",
                str(lock_file),
            ],
            "install the locked distributions",
        )
    # ipykernel runs the notebook but is not something the notebook imports, so it is not locked
    _check([python, "-m", "pip", "install", "--quiet", "ipykernel"], "install ipykernel")
    return python


def _register_kernel(folder: Path, python: str) -> str:
    import json

    name = f"jupyter-repro-isolated-{uuid.uuid4().hex[:8]}"
    spec_dir = folder / "share" / "jupyter" / "kernels" / name
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "jupyter-repro isolated",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return name


def _check(command: list[str], what: str) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvironmentCaptureError(f"isolated environment: could not {what}: {last}")
