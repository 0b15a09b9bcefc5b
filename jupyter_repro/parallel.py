"""Run lanes of steps concurrently (``--jobs N``), each once the lanes it needs have finished.

The scheduling only: which lanes are ready, at most ``jobs`` at a time, and which may never run
because a lane they need failed. What a lane does (a kernel, papermill, collecting its steps) is the
runner's. Threads are enough: a lane spends its time waiting for its kernel, another process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from jupyter_repro.lanes import Lane


def run_lanes(lanes: Sequence[Lane], jobs: int, execute: Callable[[Lane], bool]) -> set[int]:
    """Run every lane whose ``after`` lanes succeeded, at most ``jobs`` at once; return the lanes run.

    ``execute(lane)`` returns whether all its steps succeeded. A lane after a failed (or not run) lane
    is not run: a failing step stops only its downstream steps; the runner marks them skipped.
    """
    done: dict[int, bool] = {}
    pending = list(lanes)
    running: dict[Future[bool], Lane] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="jupyter-repro-lane") as pool:
        while pending or running:
            for lane in [lane for lane in pending if lane.after <= done.keys()]:
                pending.remove(lane)
                if all(done[index] for index in lane.after):
                    running[pool.submit(execute, lane)] = lane
                else:
                    done[lane.index] = False  # never run: something it needs failed
            if not running:
                if pending and not any(lane.after <= done.keys() for lane in pending):
                    raise AssertionError("lanes wait for each other")  # plan_lanes never makes a cycle
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                lane = running.pop(future)
                done[lane.index] = future.result()
    return {index for index, ran in done.items() if ran}
