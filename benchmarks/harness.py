"""What the benchmarks share: where the tools are, notebooks built from cells, and timing.

Commands are timed as users run them: a new process each time, its exit checked.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
BIN = Path(sys.executable).parent
REPRO = [str(BIN / "jupyter-repro")] if (BIN / "jupyter-repro").exists() else ["jupyter-repro"]
PAPERMILL = [str(BIN / "papermill")] if (BIN / "papermill").exists() else ["papermill"]


def notebook(cells: Sequence[tuple[str, list[str]]]) -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {
                "id": f"c{i}",
                "cell_type": "code",
                "metadata": {"tags": tags} if tags else {},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
            for i, (source, tags) in enumerate(cells)
        ],
    }


def write(path: Path, nb: dict[str, Any]) -> Path:
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ timing


def timed(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        list(command), cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return elapsed


def median_of(repeat: int, measure: Callable[[], float], before: Callable[[], None] | None = None) -> float:
    samples = []
    for _ in range(repeat):
        if before is not None:
            before()
        samples.append(measure())
    return statistics.median(samples)
