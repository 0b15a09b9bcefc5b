"""Which steps of a run may execute at the same time (``--jobs N``), and in which kernels. Pure.

A *lane* is a chain of steps that run one after another in one kernel: a step joins the lane of its
only upstream step to run when it is that step's only downstream step to run, so a linear chain
shares one kernel (and its variables stay in the kernel's namespace, as with ``--jobs 1``). A lane
starts once the lanes of every upstream step it needs have finished; it then reads their results from
the cache, like results of cached steps. Independent lanes run concurrently, one kernel each.

Running concurrently must not change what the run computes. Every run draws from one global random
stream in topological order (see ``docs/tags.md``), so two lanes are run one after another as soon as
any step to run draws from it (as far as its code shows); :func:`serial_reason` says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jupyter_repro.model import Step
from jupyter_repro.randomness import draws_randomness


@dataclass(frozen=True)
class Lane:
    """Steps that run one after another in one kernel, and the lanes that must finish first."""

    index: int
    steps: tuple[str, ...]
    after: frozenset[int]


def plan_lanes(steps: Sequence[Step], to_run: Iterable[str]) -> list[Lane]:
    """Lanes of the steps ``to_run`` (``steps`` in topological order; the others are cached)."""
    running = [step for step in steps if step.name in set(to_run)]
    names = {step.name for step in running}
    downstream: dict[str, int] = dict.fromkeys(names, 0)
    for step in running:
        for name in step.direct_dependencies:
            if name in names:
                downstream[name] += 1
    lane_of: dict[str, int] = {}
    members: list[list[str]] = []
    after: list[set[int]] = []
    for step in running:
        upstream = [name for name in step.direct_dependencies if name in names]
        if len(upstream) == 1 and downstream[upstream[0]] == 1:
            lane = lane_of[upstream[0]]
            members[lane].append(step.name)
        else:
            lane = len(members)
            members.append([step.name])
            after.append({lane_of[name] for name in step.depends_on if name in lane_of})
        lane_of[step.name] = lane
    return [Lane(index, tuple(chain), frozenset(after[index])) for index, chain in enumerate(members)]


def serial_reason(steps: Sequence[Step], to_run: Iterable[str]) -> str | None:
    """Why the steps to run must run one after another even with ``--jobs N``, or None."""
    wanted = set(to_run)
    for step in steps:
        if step.name not in wanted:
            continue
        if step.no_cache:
            return f"step '{step.name}' is no-cache: its results cannot be handed to another kernel"
        if any(draws_randomness(source) for source in step.sources):
            return (
                f"step '{step.name}' draws from the global random generator: the steps run one after "
                "another so that they draw what a --jobs 1 run draws"
            )
    return None
