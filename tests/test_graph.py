"""The step graph's algorithms: topological order, cycles, transitive requirements."""

from __future__ import annotations

import pytest

from jupyter_repro.graph import CycleError, topological_order, upstream


def test_topological_order_keeps_notebook_order_when_free() -> None:
    assert topological_order(["a", "b", "c"], {}) == ("a", "b", "c")
    assert topological_order(["a", "b", "c"], {"a": {"c"}}) == ("b", "c", "a")
    assert topological_order(["a", "b", "c", "d"], {"d": {"a"}, "b": {"d"}}) == ("a", "c", "d", "b")


@pytest.mark.parametrize(
    ("requires", "cycle"),
    [
        ({"a": {"a"}}, ("a", "a")),
        ({"a": {"b"}, "b": {"a"}}, ("a", "b", "a")),
        ({"a": {"c"}, "b": {"a"}, "c": {"b"}}, ("a", "b", "c", "a")),
    ],
)
def test_cycles_name_their_steps(requires: dict[str, set[str]], cycle: tuple[str, ...]) -> None:
    with pytest.raises(CycleError) as caught:
        topological_order(["a", "b", "c"], requires)
    assert caught.value.cycle == cycle
    assert " -> ".join(cycle) in str(caught.value)


def test_upstream_is_transitive_and_ordered() -> None:
    requires = {"b": {"a"}, "c": {"b"}, "d": {"a"}}
    assert upstream(("a", "b", "d", "c"), requires) == {"a": (), "b": ("a",), "d": ("a",), "c": ("a", "b")}
