"""Benchmarks of size: a 320 MB DataFrame handed between steps, and notebooks of 50 to 200 steps.

Run by ``bench.py``, which checks the targets (:func:`scale_rows`); every command is timed as a user
runs it, a new process each time.

- :func:`bench_frame`: two steps, ``make`` builds a 320 MB float64 DataFrame and ``use`` reduces it.
  The first run (the frame is stored in the cache), the run after editing ``use`` (it loads the frame
  from the cache) and papermill's run of the same notebook; and the peak resident memory of the
  largest process of the first run (the kernel, where the frame lives), read from
  ``RUSAGE_CHILDREN`` of a fresh wrapper process, so nothing else is counted.
- :func:`bench_many_steps`: ``steps --json`` (reading and planning the pipeline) and a fully cached
  ``verify`` of notebooks with 50, 100 and 200 chained steps.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import PAPERMILL, REPRO, WORK, median_of, notebook, timed, write

FRAME_ROWS = 5_000_000
FRAME_COLUMNS = 8
FRAME_BYTES = FRAME_ROWS * FRAME_COLUMNS * 8  # 320 MB of float64
STEP_COUNTS = (50, 100, 200)

# The frame is built without a second copy (a new array wrapped as it is), so the peak measures what
# the tool adds, not what a careless cell would.
MAKE_FRAME = (
    "import numpy as np\nimport pandas as pd\n"
    f"values = np.random.default_rng(0).random(({FRAME_ROWS}, {FRAME_COLUMNS}))\n"
    "frame = pd.DataFrame(values, copy=False)\ndel values"
)


def frame_notebook(factor: int) -> list[tuple[str, list[str]]]:
    return [
        (MAKE_FRAME, ["step:make"]),
        (f"total = float(frame[0].sum()) * {factor}\nprint(round(total))", ["step:use"]),
    ]


def chain_notebook(count: int) -> list[tuple[str, list[str]]]:
    """``count`` chained steps, each reading the previous one's value (saved as executed)."""
    cells = [("value = 0", ["step:s0"])]
    cells += [(f"value = value + {i}", [f"step:s{i}"]) for i in range(1, count)]
    return cells


def bench_frame(repeat: int) -> dict[str, float]:
    folder = WORK / "frame"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    nb = write(folder / "frame.ipynb", notebook(frame_notebook(1)))
    home = folder / "home"
    run = [*REPRO, "run", str(nb), "--home", str(home)]
    pm = median_of(repeat, lambda: timed([*PAPERMILL, str(nb), str(folder / "pm.ipynb")], folder))
    first = median_of(repeat, lambda: timed(run, folder), lambda: shutil.rmtree(home, ignore_errors=True))
    shutil.rmtree(home, ignore_errors=True)
    peak = peak_rss_bytes(run, folder)
    factors = iter(range(2, 2 + repeat + 1))

    def edit_use() -> None:
        write(nb, notebook(frame_notebook(next(factors))))

    edited = median_of(repeat, lambda: timed(run, folder), edit_use)
    return {
        "frame_bytes": FRAME_BYTES,
        "papermill_s": pm,
        "first_run_s": first,
        "edit_last_step_s": edited,
        "peak_rss_bytes": peak,
    }


def peak_rss_bytes(command: Sequence[str], cwd: Path) -> int:
    """The largest resident set of ``command`` and its descendants (Linux reports KiB)."""
    script = (
        "import resource, subprocess, sys\n"
        f"subprocess.run({list(command)!r}, cwd={str(cwd)!r}, check=True, capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) * 1024


def bench_many_steps(repeat: int) -> dict[str, dict[str, float]]:
    return {str(count): _chain_of(count, repeat) for count in STEP_COUNTS}


def _chain_of(count: int, repeat: int) -> dict[str, float]:
    folder = WORK / f"steps{count}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    nb = write(folder / "chain.ipynb", notebook(chain_notebook(count)))
    home = ["--home", str(folder / "home")]
    saved = folder / "saved.ipynb"
    timed([*PAPERMILL, str(nb), str(saved)], folder)  # the notebook as saved after running it
    steps = [*REPRO, "steps", str(saved), "--json", *home]
    verify = [*REPRO, "verify", str(saved), *home]
    planning = median_of(repeat, lambda: timed(steps, folder))
    timed(verify, folder)  # fills the cache
    return {"steps_s": planning, "cached_verify_s": median_of(repeat, lambda: timed(verify, folder))}


def grows_linearly(times: dict[str, float]) -> bool:
    """Whether the cost per added step stays flat (within 50%, plus 1 ms per step for noise) from
    50 to 100 to 200 steps: a fixed start-up plus a constant per step."""
    t50, t100, t200 = (times[str(count)] for count in STEP_COUNTS)
    first, second = (t100 - t50) / 50, (t200 - t100) / 100
    return second <= 1.5 * max(first, 0.0) + 0.001


def scale_rows(results: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """The issue's targets for the frame and the many-step notebooks."""
    frame, many = results["frame"], results["many_steps"]
    pm = frame["papermill_s"]
    peak = frame["peak_rss_bytes"] / frame["frame_bytes"]
    steps = {count: many[count]["steps_s"] for count in many}
    verify = {count: many[count]["cached_verify_s"] for count in many}
    return [
        ("320 MB frame: first run / papermill", f"{frame['first_run_s'] / pm:.2f}x", "<= 1.0x",
         frame["first_run_s"] / pm <= 1.0),
        ("320 MB frame: last step edited / papermill", f"{frame['edit_last_step_s'] / pm:.2f}x",
         "<= 0.4x", frame["edit_last_step_s"] / pm <= 0.4),
        ("320 MB frame: peak RSS / frame", f"{peak:.2f}x", "<= 1.5x", peak <= 1.5),
        ("50/100/200 steps: planning grows linearly", _series(steps), "linear", grows_linearly(steps)),
        ("50/100/200 steps: cached verify grows linearly", _series(verify), "linear",
         grows_linearly(verify)),
        ("200 steps: cached verify", f"{verify['200']:.2f}s", "< 1s", verify["200"] < 1.0),
    ]  # fmt: skip


def _series(times: dict[str, float]) -> str:
    return "/".join(f"{times[str(count)]:.2f}" for count in STEP_COUNTS)
