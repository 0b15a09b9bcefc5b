"""Verify in JupyterLab vs the command line: a one-cell notebook, no cache, through a real server.

    python benchmarks/bench_server.py [--repeat N]

:func:`bench_server` times ``jupyter repro verify NB --no-cache`` as a user runs it (a new process),
then the same verify as a job of a real ``jupyter server`` with the extension (started on a free port
in a temporary folder, with a token): from ``POST runs`` until ``GET jobs/ID`` says done. The first job
finds no warm worker and starts one (``c.JobManager.warm_kernels``); the measured jobs come after it,
each a few seconds after the previous one (a user's clicks), when the replacement worker is ready.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
REPRO = (
    [str(BIN / "jupyter-repro")]
    if (BIN / "jupyter-repro").exists()
    else [sys.executable, "-m", "jupyter_repro.cli"]
)
START_TIMEOUT_S = 120.0
JOB_TIMEOUT_S = 300.0
POLL_S = 0.02


def one_cell_notebook() -> dict[str, Any]:
    """``x = 1``, saved as executed (so the verify compares it and finds it reproducible)."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {
                "id": "c0",
                "cell_type": "code",
                "metadata": {},
                "source": "x = 1",
                "outputs": [],
                "execution_count": 1,
            }
        ],
    }


def time_cli(notebook: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [*REPRO, "verify", str(notebook), "--no-cache"], cwd=notebook.parent, capture_output=True, check=True
    )
    return time.perf_counter() - start


class Server:
    """A ``jupyter server`` process with the extension, for the length of a ``with`` block."""

    def __init__(self, root: Path, warm_kernels: int = 1) -> None:
        self.root = root
        self.port = _free_port()
        self.token = os.urandom(16).hex()
        argv = [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={self.port}"]
        argv += [f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}"]
        argv += [
            "--ServerApp.jpserver_extensions=jupyter_repro=True",
            f"--JobManager.warm_kernels={warm_kernels}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--allow-root")
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
        self.log = open(root / "server.log", "wb")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(argv, cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> Server:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.call("version")
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: see {self.root / 'server.log'}") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"http://127.0.0.1:{self.port}/jupyter-repro/api/{path}"
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"token {self.token}", "Content-Type": "application/json"}
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, headers=headers), timeout=60
        ) as response:
            return json.loads(response.read())

    def verify(self, path: str) -> tuple[float, dict[str, Any]]:
        """Seconds from POST to done, and the finished job."""
        start = time.perf_counter()
        job_id = self.call("runs", {"path": path, "kind": "verify", "no_cache": True})["job_id"]
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while (job := self.call(f"jobs/{job_id}"))["state"] not in ("done", "error"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} still {job['state']}")
            time.sleep(POLL_S)
        elapsed = time.perf_counter() - start
        if job["state"] != "done":
            raise RuntimeError(f"job failed: {job['error']}")
        return elapsed, job


def bench_server(repeat: int = 5, settle_s: float = 3.0, without_pool: bool = True) -> dict[str, Any]:
    """Median seconds of a one-cell ``verify --no-cache``: command line vs a server job on a warm worker.

    ``settle_s``: the pause before each measured job, in which the worker taken by the previous job is
    replaced. Returns ``cli_s``, ``server_first_s`` (the job that found no warm worker),
    ``server_warm_s``, their ratio ``warm_vs_cli`` and ``warm_jobs`` (how many measured jobs ran warm);
    with ``without_pool``, also ``server_no_pool_s``: jobs of a server with ``warm_kernels = 0``
    (every job a new CLI process, as before the pool).
    """
    with tempfile.TemporaryDirectory(prefix="bench-server-") as folder:
        root = Path(folder)
        notebook = root / "one_cell.ipynb"
        notebook.write_text(json.dumps(one_cell_notebook()), encoding="utf-8")
        time_cli(notebook)  # the first run of a home creates it: not measured
        cli = statistics.median(time_cli(notebook) for _ in range(repeat))
        with Server(root) as server:
            first, _ = server.verify(notebook.name)
            warm: list[float] = []
            warm_jobs = 0
            for _ in range(repeat):
                time.sleep(settle_s)
                elapsed, job = server.verify(notebook.name)
                warm.append(elapsed)
                warm_jobs += bool(job.get("warm"))
        no_pool: dict[str, float] = {}
        if without_pool:
            with Server(root, warm_kernels=0) as server:
                server.verify(notebook.name)
                no_pool["server_no_pool_s"] = round(
                    statistics.median(server.verify(notebook.name)[0] for _ in range(repeat)), 3
                )
    server_warm = statistics.median(warm)
    return {
        "cli_s": round(cli, 3),
        "server_first_s": round(first, 3),
        "server_warm_s": round(server_warm, 3),
        **no_pool,
        "warm_vs_cli": round(server_warm / cli, 3),
        "warm_jobs": warm_jobs,
        "repeat": repeat,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(bench_server(args.repeat), indent=2))


if __name__ == "__main__":
    main()
