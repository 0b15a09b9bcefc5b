"""jupyter-repro benchmarks, side by side with papermill, in one run.

    python benchmarks/bench.py [--repeat N] [--quick]

Builds its own notebooks and data under benchmarks/work/, measures each scenario N times (median),
writes benchmarks/results.json and prints a table of ratios against the targets of the performance
issue. Commands are timed as users run them (a new process each time), papermill included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench_scale import bench_frame, bench_many_steps, scale_rows
from bench_server import bench_server
from harness import HERE, PAPERMILL, REPRO, WORK, median_of, notebook, timed, write

# ----------------------------------------------------------------------------------------- notebooks


def six_steps(last_factor: int = 2) -> dict[str, Any]:
    """Six chained steps with about 0.5 s of work each (CPU, not sleep)."""

    def work(expr: str) -> str:
        return (
            "import time as _t\n_end = _t.perf_counter() + 0.5\n"
            "while _t.perf_counter() < _end:\n    pass\n" + expr
        )

    cells = [("scale = 3", ["parameters"]), (work("data = list(range(1000))"), ["step:s1"])]
    for i in range(2, 6):
        cells.append((work(f"data = [x + {i} for x in data]"), [f"step:s{i}"]))
    cells.append((work(f"result = sum(data) * scale * {last_factor}\nprint(result)"), ["step:s6"]))
    return notebook(cells)


def trivial_cells(count: int = 200) -> dict[str, Any]:
    return notebook([(f"x{i} = {i}", []) for i in range(count)])


# ----------------------------------------------------------------------------------------- scenarios


def bench_six_steps(repeat: int) -> dict[str, float]:
    folder = WORK / "six"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    nb = write(folder / "six.ipynb", six_steps())
    home = folder / "home"
    repro = [*REPRO, "run", str(nb), "--home", str(home)]

    papermill = median_of(repeat, lambda: timed([*PAPERMILL, str(nb), str(folder / "pm.ipynb")], folder))
    first = median_of(repeat, lambda: timed(repro, folder), lambda: shutil.rmtree(home, ignore_errors=True))
    cached_run = median_of(repeat, lambda: timed(repro, folder))
    write(folder / "verified.ipynb", json.loads((folder / "pm.ipynb").read_text(encoding="utf-8")))
    verify = [*REPRO, "verify", str(folder / "verified.ipynb"), "--home", str(home)]
    timed(verify, folder)  # fills the cache for this copy
    cached_verify = median_of(repeat, lambda: timed(verify, folder))

    factors = iter(range(3, 3 + repeat + 1))

    def edit_last() -> None:
        write(nb, six_steps(last_factor=next(factors)))

    timed(repro, folder)
    edited = median_of(repeat, lambda: timed(repro, folder), edit_last)
    return {
        "papermill_s": papermill,
        "first_run_s": first,
        "cached_run_s": cached_run,
        "cached_verify_s": cached_verify,
        "edit_last_step_s": edited,
        "remote_replay_s": bench_remote_replay(repeat),
    }


def bench_branches(repeat: int) -> dict[str, float]:
    """Two independent 2-second steps: ``--jobs 2`` runs them in two kernels at once."""
    folder = WORK / "branches"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cells = [
        ("import time\ntime.sleep(2)\nleft = 1", ["step:left"]),
        ("import time\ntime.sleep(2)\nright = 2", ["step:right"]),
    ]
    nb = write(folder / "branches.ipynb", notebook(cells))
    command = [*REPRO, "run", str(nb), "--home", str(folder / "home"), "--no-cache"]
    return {
        "jobs_1_s": median_of(repeat, lambda: timed([*command, "--jobs", "1"], folder)),
        "jobs_2_s": median_of(repeat, lambda: timed([*command, "--jobs", "2"], folder)),
    }


def bench_remote_replay(repeat: int) -> float:
    """A colleague's first run: an empty repro home, every step replayed from the team's remote (a
    shared folder; the S3 backend adds the network's latency, which is not the tool's)."""
    folder = WORK / "remote"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    nb = write(folder / "six.ipynb", six_steps())
    env = {**os.environ, "JUPYTER_REPRO_REMOTE_KEY": "benchmark-team-key"}
    remote = ["--remote", f"file://{folder / 'team'}"]
    timed([*REPRO, "run", str(nb), "--home", str(folder / "author"), *remote], folder, env)
    colleague = folder / "colleague"
    replay = [*REPRO, "run", str(nb), "--home", str(colleague), *remote]
    return median_of(
        repeat, lambda: timed(replay, folder, env), lambda: shutil.rmtree(colleague, ignore_errors=True)
    )


def bench_trivial_cells(repeat: int) -> dict[str, float]:
    folder = WORK / "trivial"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    nb = write(folder / "trivial.ipynb", trivial_cells())
    home = folder / "home"
    papermill = median_of(
        repeat,
        lambda: timed(
            [
                *PAPERMILL,
                str(nb),
                str(folder / "pm.ipynb"),
                "--no-request-save-on-cell-execute",
                "--autosave-cell-every",
                "0",
            ],
            folder,
        ),
    )
    repro = median_of(
        repeat,
        lambda: timed([*REPRO, "run", str(nb), "--home", str(home)], folder),
        lambda: shutil.rmtree(home, ignore_errors=True),
    )
    return {"papermill_nosave_s": papermill, "run_s": repro}


def bench_hashing(size_mib: int) -> dict[str, float]:
    import blake3

    from jupyter_repro.ledger import Ledger

    folder = WORK / "hashing"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    data = folder / "big.bin"
    chunk = os.urandom(1 << 20)
    with data.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(chunk)
    old = time.time() - 60  # outside the racy window, as a data file normally is
    os.utime(data, (old, old))
    size = data.stat().st_size

    started = time.perf_counter()
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update_mmap(str(data))
    hasher.hexdigest()
    raw = time.perf_counter() - started

    with Ledger.open(folder / "home") as ledger:
        started = time.perf_counter()
        ledger.hash_file(data)
        first = time.perf_counter() - started
        read_before = ledger.bytes_read
        started = time.perf_counter()
        ledger.hash_file(data)
        second = time.perf_counter() - started
        second_bytes = ledger.bytes_read - read_before
    data.unlink()
    return {
        "size_mib": size_mib,
        "raw_blake3_mib_s": size / raw / (1 << 20),
        "repro_mib_s": size / first / (1 << 20),
        "second_pass_s": second,
        "second_pass_bytes_read": second_bytes,
    }


def bench_environment(repeat: int) -> dict[str, float]:
    from jupyter_repro.env import capture_environment, kernel_interpreter, snapshot_environment

    interpreter = kernel_interpreter("python3")
    fresh = median_of(repeat, lambda: _clock(lambda: capture_environment(interpreter)))
    home = WORK / "env-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    snapshot_environment(interpreter, home)
    cached = median_of(repeat, lambda: _clock(lambda: snapshot_environment(interpreter, home)))
    packages = len(capture_environment(interpreter).packages)
    help_s = median_of(repeat, lambda: timed([*REPRO, "--help"], WORK))
    return {"distributions": packages, "capture_s": fresh, "snapshot_cached_s": cached, "help_s": help_s}


def bench_log(runs: int, repeat: int) -> dict[str, float]:
    from jupyter_repro.ledger import Ledger

    home = WORK / "log-home"
    shutil.rmtree(home, ignore_errors=True)
    with Ledger.open(home) as ledger:
        rows = [
            (
                f"20260101-000000-{i:08x}",
                "run",
                "/nb.ipynb",
                "ok",
                None,
                0,
                "{}",
                f"2026-01-01T00:00:{i % 60:02d}.{i:06d}",
            )
            for i in range(runs)
        ]
        with ledger.transaction():
            ledger.db.conn.executemany(
                "INSERT INTO runs (run_id, kind, notebook, status, verdict, seed, parameters, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        query = median_of(repeat, lambda: _clock(lambda: ledger.list_runs("/nb.ipynb", limit=20)))
    cli = median_of(repeat, lambda: timed([*REPRO, "log", "--home", str(home), "--limit", "20"], WORK))
    return {"runs": runs, "list_runs_s": query, "cli_log_s": cli}


def _clock(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------- reporting


def verdicts(results: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    six, trivial = results["six_steps"], results["trivial_cells"]
    hashing, env, log = results["hashing"], results["environment"], results["log"]
    pm = six["papermill_s"]
    rows = [
        (
            "6 steps: first run / papermill",
            f"{six['first_run_s'] / pm:.2f}x",
            "<= 0.6x",
            six["first_run_s"] / pm <= 0.6,
        ),
        (
            "6 steps: cached run / papermill",
            f"{six['cached_run_s'] / pm:.2f}x",
            "<= 0.05x",
            six["cached_run_s"] / pm <= 0.05,
        ),
        (
            "6 steps: cached verify / papermill",
            f"{six['cached_verify_s'] / pm:.2f}x",
            "<= 0.05x",
            six["cached_verify_s"] / pm <= 0.05,
        ),
        (
            "6 steps: replay from the remote / papermill",
            f"{six['remote_replay_s'] / pm:.2f}x",
            "<= 0.3x",
            six["remote_replay_s"] / pm <= 0.3,
        ),
        (
            "6 steps: last step edited / papermill",
            f"{six['edit_last_step_s'] / pm:.2f}x",
            "<= 0.25x",
            six["edit_last_step_s"] / pm <= 0.25,
        ),
        (
            "2 independent 2 s steps: --jobs 2 / --jobs 1",
            f"{results['branches']['jobs_2_s'] / results['branches']['jobs_1_s']:.2f}x",
            "<= 0.6x",
            results["branches"]["jobs_2_s"] / results["branches"]["jobs_1_s"] <= 0.6,
        ),
        (
            "1-cell verify: JupyterLab job (warm worker) / command line",
            f"{results['server']['warm_vs_cli']:.2f}x",
            "<= 0.5x",
            results["server"]["warm_vs_cli"] <= 0.5,
        ),
        (
            "200 cells: run / papermill (no saves)",
            f"{trivial['run_s'] / trivial['papermill_nosave_s']:.2f}x",
            "<= 1.1x",
            trivial["run_s"] / trivial["papermill_nosave_s"] <= 1.1,
        ),
        (
            "hashing / raw BLAKE3",
            f"{hashing['repro_mib_s'] / hashing['raw_blake3_mib_s']:.0%}",
            ">= 70%",
            hashing["repro_mib_s"] / hashing["raw_blake3_mib_s"] >= 0.7,
        ),
        (
            "hashing: second pass bytes read",
            str(hashing["second_pass_bytes_read"]),
            "0",
            hashing["second_pass_bytes_read"] == 0,
        ),
        (
            f"environment snapshot ({env['distributions']} dists, cached)",
            f"{env['snapshot_cached_s']:.3f}s",
            "<= 0.3s",
            env["snapshot_cached_s"] <= 0.3,
        ),
        ("jupyter repro --help", f"{env['help_s']:.3f}s", "<= 0.3s", env["help_s"] <= 0.3),
        (
            f"log over {log['runs']:,} runs (query)",
            f"{log['list_runs_s']:.4f}s",
            "<= 0.1s",
            log["list_runs_s"] <= 0.1,
        ),
    ]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="smaller hashing file and ledger (a smoke run)")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "six_steps": bench_six_steps(args.repeat),
        "branches": bench_branches(args.repeat),
        "trivial_cells": bench_trivial_cells(args.repeat),
        "hashing": bench_hashing(64 if args.quick else 1024),
        "environment": bench_environment(args.repeat),
        "log": bench_log(10_000 if args.quick else 100_000, args.repeat),
        "frame": bench_frame(args.repeat),
        "many_steps": bench_many_steps(args.repeat),
        "server": bench_server(args.repeat),
    }
    rows = verdicts(results) + scale_rows(results)
    results["targets"] = [{"measure": m, "value": v, "target": t, "met": ok} for m, v, t, ok in rows]
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    width = max(len(m) for m, *_ in rows)
    print(f"{'measure'.ljust(width)}  {'value':>9}  {'target':>8}  met")
    for measure, value, target, ok in rows:
        print(f"{measure.ljust(width)}  {value:>9}  {target:>8}  {'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
