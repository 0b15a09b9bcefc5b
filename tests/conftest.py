"""Shared fixtures: notebooks built from cell lists, and the real ``jupyter-repro`` console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"

CellSpec = "str | tuple[str, Sequence[str]] | dict[str, Any]"


def build_notebook(cells: Sequence[Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """An nbformat-4 notebook dict from cell specs.

    A spec is a source string (code cell), a ``(source, tags)`` pair, or a full cell dict (used as is,
    for markdown cells or saved outputs).
    """
    built = []
    for number, spec in enumerate(cells):
        if isinstance(spec, dict):
            cell = {"id": f"cell-{number}", "metadata": {}, **spec}
            if cell.get("cell_type", "code") == "code":
                cell.setdefault("cell_type", "code")
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
        else:
            source, tags = (spec, ()) if isinstance(spec, str) else spec
            cell = {
                "id": f"cell-{number}",
                "cell_type": "code",
                "metadata": {"tags": list(tags)} if tags else {},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
        built.append(cell)
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            **(metadata or {}),
        },
        "cells": built,
    }


@pytest.fixture
def make_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Write a notebook built by :func:`build_notebook` into ``tmp_path`` and return its path."""

    def write(cells: Sequence[Any], name: str = "nb.ipynb", metadata: dict[str, Any] | None = None) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(build_notebook(cells, metadata), indent=1), encoding="utf-8")
        return path

    return write


def console_script() -> list[str]:
    """The installed ``jupyter-repro`` console script, next to this interpreter (fails loudly if absent)."""
    beside = Path(sys.executable).parent / "jupyter-repro"
    found = str(beside) if beside.exists() else shutil.which("jupyter-repro")
    if found is None:
        raise RuntimeError("jupyter-repro console script not installed: run 'pip install .' first")
    return [found]


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real console script; the repro home defaults to a fresh folder under ``tmp_path``."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600):
        full_env = {**os.environ, "JUPYTER_REPRO_HOME": str(tmp_path / "repro-home"), **(env or {})}
        return subprocess.run(
            [*console_script(), *args],
            capture_output=True,
            text=True,
            cwd=cwd or tmp_path,
            env=full_env,
            timeout=timeout,
            check=False,
        )

    return run


def cached_tool_venv(name: str, requirement: str) -> Path:
    """A virtual environment with ``requirement`` (Airflow, the kfp SDK) under the test cache, created
    once and reused by later runs (``JUPYTER_REPRO_TEST_CACHE`` or ``~/.cache/jupyter-repro-tests``).

    Tools that must not share the project's environment get their own; two test runs at once take a
    lock (one installs, the other waits), and a half-made environment from an interrupted run is
    rebuilt. Returns the environment's ``bin`` folder.
    """
    import fcntl

    configured = os.environ.get("JUPYTER_REPRO_TEST_CACHE")
    cache = Path(configured) if configured else Path.home() / ".cache" / "jupyter-repro-tests"
    venv = cache / f"{name}-py{sys.version_info.major}{sys.version_info.minor}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    done = venv / ".jupyter-repro-complete"
    with (venv.parent / f"{venv.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(venv, ignore_errors=True)
            log = venv.parent / f"{venv.name}.install.log"
            with log.open("w") as out:
                pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
                for command in (
                    [sys.executable, "-m", "venv", str(venv)],
                    [*pip, "--upgrade", "pip"],
                    [*pip, requirement],
                ):
                    code = subprocess.run(
                        command, stdout=out, stderr=subprocess.STDOUT, check=False
                    ).returncode
                    if code != 0:
                        raise RuntimeError(f"{' '.join(command)} failed ({code}); see {log}")
            done.write_text(requirement)
    return venv / "bin"
