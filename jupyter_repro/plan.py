"""Cache keys, result fingerprints and the plan of what a run executes (pure: no I/O).

A step's key is the content address of its results: its normalised code (comments and blank lines do
not count), the setup code, the values of the parameters it reads, the *fingerprints* of what its
direct upstream steps produced, the names it reads and writes, the seed and the environment hash.
Upstream steps count by what they produced, not by their keys: a reader whose data file changed
re-executes with an unchanged key, and only its new output tells its dependents that they are stale.

Planning asks a lookup callable for a valid cache entry by key (the artifact store, in the runner),
so these rules are tested without a kernel or a store (tests/test_plan.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from jupyter_repro import hashing
from jupyter_repro.model import Pipeline, Step
from jupyter_repro.source import normalised_code


class CachedResult(Protocol):
    """What planning needs of a cache entry (``jupyter_repro.cache.CacheEntry`` has it)."""

    @property
    def variables(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def writes(self) -> Sequence[tuple[str, str]]: ...

    @property
    def unstored(self) -> Mapping[str, str]: ...


EntryT = TypeVar("EntryT", bound=CachedResult)


def step_code(step: Step) -> str:
    """A step's code as its key sees it: each cell normalised (comments, blank lines dropped)."""
    return "\n".join(normalised_code(src) for src in step.sources)


def step_code_hash(step: Step) -> str:
    """Digest of a step's normalised code, as recorded in the ledger (comments do not count)."""
    return hashing.hash_bytes(step_code(step).encode("utf-8"))


def result_fingerprint(
    variables: Mapping[str, Mapping[str, Any]], writes: Sequence[tuple[str, str]], unstored: Mapping[str, str]
) -> str:
    """What a step produced, as one digest: its stored variables and the files it wrote."""
    return hashing.hash_json(
        {
            "variables": {name: record.get("blob") for name, record in variables.items()},
            "unstored": sorted(unstored),
            "writes": sorted(writes),
        }
    )


def entry_fingerprint(entry: CachedResult) -> str:
    return result_fingerprint(entry.variables, entry.writes, entry.unstored)


@dataclass(frozen=True)
class KeyInputs:
    """What every step's key of one run shares: the pipeline, parameter values, seed, environment."""

    pipeline: Pipeline
    parameters: Mapping[str, Any]
    seed: int
    environment_hash: str

    def key(self, step: Step, upstream_fingerprints: Mapping[str, str]) -> str:
        """The step's key, given the fingerprint of each of its direct upstream steps."""
        return hashing.hash_json(
            {
                "code": step_code(step),
                "setup": [normalised_code(src) for src in self.pipeline.setup_sources],
                "parameters": {name: repr(self.parameters.get(name)) for name in step.parameters},
                "upstream": {name: upstream_fingerprints[name] for name in step.direct_dependencies},
                "inputs": sorted(step.input_names),
                "outputs": sorted(step.outputs),
                "seed": self.seed,
                "environment": self.environment_hash,
            }
        )

    def key_when_known(self, step: Step, fingerprints: Mapping[str, str | None]) -> str | None:
        """The step's key if every direct upstream step's result is known yet, else None."""
        known: dict[str, str] = {}
        for name in step.direct_dependencies:
            fingerprint = fingerprints.get(name)
            if fingerprint is None:
                return None
            known[name] = fingerprint
        return self.key(step, known)


@dataclass(frozen=True)
class StepPlan(Generic[EntryT]):
    """The decision for one step: replay ``entry``, or execute (``entry`` None).

    ``key`` is empty when an upstream step executes in this run: the key depends on that step's new
    result, so it is computed after the upstream step has run.
    """

    step: Step
    key: str
    entry: EntryT | None = None
    reason: str | None = None

    @property
    def cached(self) -> bool:
        return self.entry is not None

    @property
    def fingerprint(self) -> str | None:
        return None if self.entry is None else entry_fingerprint(self.entry)


def plan_steps(
    steps: Sequence[Step],
    inputs: KeyInputs,
    lookup: Callable[[str], EntryT | None],
    *,
    no_cache: bool = False,
) -> list[StepPlan[EntryT]]:
    """Decide, in topological order, which steps replay a valid cache entry and which execute.

    ``lookup(key)`` returns a valid entry for ``key`` or None. A step whose upstream step executes
    executes too (its key is only known afterwards); ``no_cache`` or a ``no-cache`` step executes.
    """
    plans: list[StepPlan[EntryT]] = []
    fingerprints: dict[str, str | None] = {}
    for step in steps:
        key = inputs.key_when_known(step, fingerprints)
        entry = None
        if key is not None and not (no_cache or step.no_cache):
            entry = lookup(key)
        plan = StepPlan(step=step, key=key or "", entry=entry)
        fingerprints[step.name] = plan.fingerprint
        plans.append(plan)
    return _execute_providers_missing_inputs(plans)


def _execute_providers_missing_inputs(plans: list[StepPlan[EntryT]]) -> list[StepPlan[EntryT]]:
    """A cached step must execute again when a step that executes needs a variable its entry lacks.

    Repeated until nothing changes: a provider that now executes may need variables from its own
    cached providers.
    """
    index = {plan.step.name: position for position, plan in enumerate(plans)}
    changed = True
    while changed:
        changed = False
        for plan in list(plans):
            if plan.cached:
                continue
            for name, provider in plan.step.inputs:
                position = index.get(provider)
                upstream = None if position is None else plans[position]
                if upstream is None or upstream.entry is None or name in upstream.entry.variables:
                    continue
                plans[index[provider]] = replace(
                    upstream, entry=None, reason=f"re-executed: '{name}' was not stored in its cache entry"
                )
                changed = True
    return plans
