"""The pure cache plan: key invariants (hypothesis) and cached / execute decisions.

Planning takes a lookup callable instead of the artifact store, so these tests need no kernel: the
entries below are plain values with the fields planning reads (the store's ``CacheEntry`` has them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import nbformat
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_repro.model import Pipeline
from jupyter_repro.pipeline import build_pipeline
from jupyter_repro.plan import KeyInputs, StepPlan, plan_steps, step_code_hash

Layout = list[tuple[int, list[int]]]
"""Per step: its constant, and the earlier steps whose variable it reads."""


def notebook(layout: Layout, *, comments: bool = False, parameter: int = 3) -> Pipeline:
    cells = [nbformat.v4.new_code_cell(f"p = {parameter}", metadata={"tags": ["parameters"]})]
    for index, (constant, reads) in enumerate(layout):
        terms = " + ".join([str(constant), *(f"v{j}" for j in reads)])
        if index == 0:
            terms += " + p"
        source = f"v{index} = {terms}"
        if comments:
            source = f"# step {index}\n\n{source}  # the value\n"
        cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": [f"step:s{index}"]}))
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return build_pipeline(nb, "plan.ipynb")


def keys_of_run(pipeline: Pipeline, *, parameter: int = 3, seed: int = 7) -> dict[str, str]:
    """Every step's key in a full run where a step's result is determined by its key."""
    inputs = KeyInputs(pipeline, {"p": parameter}, seed, "env")
    fingerprints: dict[str, str] = {}
    keys: dict[str, str] = {}
    for step in pipeline.steps:
        keys[step.name] = inputs.key(step, {name: fingerprints[name] for name in step.direct_dependencies})
        fingerprints[step.name] = "result-of-" + keys[step.name]
    return keys


def downstream(pipeline: Pipeline, name: str) -> set[str]:
    return {step.name for step in pipeline.steps if name in step.depends_on}


layouts = st.integers(min_value=1, max_value=6).flatmap(
    lambda n: st.tuples(
        *(
            st.tuples(st.integers(0, 9), st.lists(st.integers(0, max(0, i - 1)), max_size=i, unique=True))
            for i in range(n)
        )
    ).map(lambda steps: [(c, reads if i else []) for i, (c, reads) in enumerate(steps)])
)


@settings(max_examples=60, deadline=None)
@given(layouts)
def test_comments_and_blank_lines_keep_every_key(layout: Layout) -> None:
    plain, commented = notebook(layout), notebook(layout, comments=True)
    assert keys_of_run(plain) == keys_of_run(commented)
    assert [step_code_hash(s) for s in plain.steps] == [step_code_hash(s) for s in commented.steps]


@settings(max_examples=60, deadline=None)
@given(layouts, st.data())
def test_a_code_change_changes_exactly_that_step_and_its_downstream_keys(layout: Layout, data: Any) -> None:
    edited = data.draw(st.integers(0, len(layout) - 1))
    changed_layout = [(c + 1 if i == edited else c, reads) for i, (c, reads) in enumerate(layout)]
    before, after = keys_of_run(notebook(layout)), keys_of_run(notebook(changed_layout))
    changed = {name for name in before if before[name] != after[name]}
    pipeline = notebook(layout)
    assert changed == {f"s{edited}"} | downstream(pipeline, f"s{edited}")


@settings(max_examples=40, deadline=None)
@given(layouts)
def test_a_parameter_changes_the_keys_of_its_reader_and_downstream_only(layout: Layout) -> None:
    pipeline = notebook(layout)
    before, after = keys_of_run(pipeline, parameter=3), keys_of_run(pipeline, parameter=4)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"s0"} | downstream(pipeline, "s0")


@settings(max_examples=20, deadline=None)
@given(layouts)
def test_the_seed_is_part_of_every_key(layout: Layout) -> None:
    pipeline = notebook(layout)
    before, after = keys_of_run(pipeline, seed=1), keys_of_run(pipeline, seed=2)
    assert all(before[name] != after[name] for name in before)


# ----------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Entry:
    variables: Mapping[str, Mapping[str, Any]]
    writes: Sequence[tuple[str, str]] = ()
    unstored: Mapping[str, str] = field(default_factory=dict)


def entries_of_full_run(pipeline: Pipeline, inputs: KeyInputs) -> dict[str, Entry]:
    """The entries a first run stores: each step's variables, named by a digest of its key."""
    plans = plan_steps(pipeline.steps, inputs, lambda key: None)
    assert not any(plan.cached for plan in plans)
    store: dict[str, Entry] = {}
    fingerprints: dict[str, str | None] = {}
    for step in pipeline.steps:
        key = inputs.key_when_known(step, fingerprints)
        assert key is not None
        entry = Entry({name: {"blob": "blob-" + key} for name in step.outputs})
        store[key] = entry
        fingerprints[step.name] = StepPlan(step, key, entry).fingerprint
    return store


def decisions(plans: Sequence[StepPlan[Entry]]) -> dict[str, str]:
    return {
        plan.step.name: "cached" if plan.cached else ("execute" if plan.key else "later") for plan in plans
    }


def test_an_unchanged_notebook_replays_every_step() -> None:
    pipeline = notebook([(1, []), (2, [0]), (3, [1])])
    inputs = KeyInputs(pipeline, {"p": 3}, 7, "env")
    store = entries_of_full_run(pipeline, inputs)
    assert decisions(plan_steps(pipeline.steps, inputs, store.get)) == dict.fromkeys(
        ("s0", "s1", "s2"), "cached"
    )


def test_an_edited_step_executes_and_its_downstream_keys_wait_for_its_result() -> None:
    layout: Layout = [(1, []), (2, [0]), (3, [1]), (4, [0])]
    inputs = KeyInputs(notebook(layout), {"p": 3}, 7, "env")
    store = entries_of_full_run(notebook(layout), inputs)
    edited = notebook([(1, []), (5, [0]), (3, [1]), (4, [0])])
    plans = plan_steps(edited.steps, KeyInputs(edited, {"p": 3}, 7, "env"), store.get)
    assert decisions(plans) == {"s0": "cached", "s1": "execute", "s2": "later", "s3": "cached"}


def test_no_cache_executes_every_step_but_still_knows_the_first_keys() -> None:
    pipeline = notebook([(1, []), (2, [0])])
    inputs = KeyInputs(pipeline, {"p": 3}, 7, "env")
    store = entries_of_full_run(pipeline, inputs)
    plans = plan_steps(pipeline.steps, inputs, store.get, no_cache=True)
    assert decisions(plans) == {"s0": "execute", "s1": "later"}


def test_a_cached_provider_executes_again_when_its_entry_lacks_a_variable_a_runner_needs() -> None:
    pipeline = notebook([(1, []), (2, [0])])
    inputs = KeyInputs(pipeline, {"p": 3}, 7, "env")
    store = entries_of_full_run(pipeline, inputs)
    key0 = inputs.key_when_known(pipeline.steps[0], {})
    assert key0 is not None
    store[key0] = Entry({})  # s0's entry holds no v0 (a value that could not be stored)
    plans = plan_steps(pipeline.steps, inputs, store.get)
    assert decisions(plans) == {"s0": "execute", "s1": "execute"}
    assert plans[0].reason == "re-executed: 'v0' was not stored in its cache entry"
