"""The step graph's algorithms: topological order, cycles, transitive requirements.  (pure)

A graph is given as ``requires``: each node's direct requirements (the nodes that must come before
it). Orders are stable: among nodes free to go next, the one earlier in the given order goes first,
so a notebook whose steps are already in order keeps that order.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence

from jupyter_repro.errors import PipelineError


class CycleError(PipelineError):
    """The step graph has a cycle; ``cycle`` lists its steps, the first repeated at the end."""

    def __init__(self, cycle: Sequence[str]) -> None:
        super().__init__(f"the steps form a cycle: {' -> '.join(cycle)}", step=cycle[0])
        self.cycle = tuple(cycle)


def topological_order(names: Sequence[str], requires: Mapping[str, Collection[str]]) -> tuple[str, ...]:
    """Order ``names`` so each comes after what it ``requires``; ties keep the order of ``names``.

    Raises :class:`CycleError` naming the steps of a cycle.
    """
    position = {name: index for index, name in enumerate(names)}
    waiting = {name: len(set(requires.get(name, ()))) for name in names}
    dependants: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        for needed in set(requires.get(name, ())):
            dependants[needed].append(name)
    ready = [position[name] for name in names if waiting[name] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for dependant in dependants[name]:
            waiting[dependant] -= 1
            if waiting[dependant] == 0:
                heapq.heappush(ready, position[dependant])
    if len(order) < len(names):
        raise CycleError(_find_cycle([n for n in names if n not in order], requires))
    return tuple(order)


def _find_cycle(remaining: Sequence[str], requires: Mapping[str, Collection[str]]) -> list[str]:
    """Follow unmet requirements from a remaining node until a node repeats: that loop is a cycle."""
    rank = {name: index for index, name in enumerate(remaining)}
    path: list[str] = []
    seen: dict[str, int] = {}
    node = remaining[0]
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min((n for n in requires.get(node, ()) if n in rank), key=rank.__getitem__)
    loop = list(reversed(path[seen[node] :]))  # dependency direction: a -> b means "a runs before b"
    first = min(range(len(loop)), key=lambda i: rank[loop[i]])  # start at the earliest step
    loop = loop[first:] + loop[:first]
    return [*loop, loop[0]]


def upstream(order: Sequence[str], requires: Mapping[str, Collection[str]]) -> dict[str, tuple[str, ...]]:
    """Every step's transitive requirements, each listed in ``order`` (a topological order)."""
    closure: dict[str, set[str]] = {}
    for name in order:
        found: set[str] = set()
        for needed in requires.get(name, ()):
            found.add(needed)
            found |= closure[needed]
        closure[name] = found
    return {name: tuple(n for n in order if n in closure[name]) for name in order}
