"""Causes read from one cell's own evidence (pure: no kernel)."""

from __future__ import annotations

from jupyter_repro.cell_causes import CellEvidence, NotebookEvidence, cell_causes, volatile_names

PANDAS = NotebookEvidence(packages={"pandas": "3.1.1"}, module_distributions={"pandas": ["pandas"]})


def failing(ename: str, evalue: str, traceback: list[str] | None = None) -> CellEvidence:
    error = {"ename": ename, "evalue": evalue, "traceback": traceback or []}
    return CellEvidence(index=3, step="main", source="df.fillna(method='ffill')", error=error)


def test_a_removed_keyword_of_a_known_library_class_names_the_library_and_its_version() -> None:
    causes = cell_causes(
        failing("TypeError", "NDFrame.fillna() got an unexpected keyword argument 'method'"), PANDAS
    )
    assert [(c.kind, c.cell) for c in causes] == [("environment", 3)]
    assert "pandas 3.1.1" in causes[0].detail


def test_an_unexpected_keyword_of_the_users_own_function_is_not_blamed_on_a_library() -> None:
    causes = cell_causes(failing("TypeError", "load.run() got an unexpected keyword argument 'x'"), PANDAS)
    assert causes == []


def test_the_shells_own_frames_never_name_the_package() -> None:
    frames = ["File /venv/lib/python3.11/site-packages/IPython/core/interactiveshell.py:3577, in run_code"]
    assert cell_causes(failing("SyntaxError", "Foo", frames), PANDAS) == []


def differing(source: str, saved: str, new: str, index: int = 5) -> CellEvidence:
    return CellEvidence(index=index, step=None, source=source, saved_text=saved, new_text=new)


def test_items_reordered_and_retyped_by_a_newer_pandas_are_still_named_as_reordered() -> None:
    cell = differing("s", "Index(['b', 'a'], dtype='object')", "Index(['a', 'b'], dtype='str')")
    causes = cell_causes(cell, NotebookEvidence(saved_python_version="3.5.2"))
    assert [c.kind for c in causes] == ["environment"]
    assert "another order" in causes[0].detail
    assert "3.5.2" in causes[0].detail


def test_a_value_taken_from_the_clock_earlier_is_traced_to_the_cell_that_took_it() -> None:
    names = volatile_names(
        {1: "from datetime import datetime\nstarted = datetime.now()", 3: "x = 2"}, seeded=True
    )
    assert names == {"started": (1, "datetime.now")}
    causes = cell_causes(
        differing("print('run at', started)", "a", "b"), NotebookEvidence(volatile_names=names)
    )
    assert [(c.kind, c.evidence) for c in causes] == [
        ("nondeterminism", {"name": "started", "set_in": 1, "call": "datetime.now"})
    ]


def test_a_reassigned_name_and_a_seeded_draw_are_not_volatile() -> None:
    sources = {0: "t = time.time()\nr = np.random.rand(3)", 2: "t = 5"}
    assert volatile_names(sources, seeded=True) == {}
    assert volatile_names(sources, seeded=False) == {"r": (0, "np.random.rand")}
    later = cell_causes(
        differing("print(t)", "a", "b", index=1), NotebookEvidence(volatile_names={"t": (4, "time.time")})
    )
    assert later == []  # set only after the cell that shows it


def test_a_missing_environment_variable_is_named() -> None:
    error = {"ename": "KeyError", "evalue": "'MY_DUMMY_VARIABLE'", "traceback": []}
    cell = CellEvidence(index=5, step=None, source="import os\nos.environ['MY_DUMMY_VARIABLE']", error=error)
    (cause,) = cell_causes(cell, NotebookEvidence())
    assert (cause.kind, cause.evidence) == ("environment", {"variable": "MY_DUMMY_VARIABLE"})
    other = CellEvidence(index=5, step=None, source="d = {}\nd['MY_DUMMY_VARIABLE']", error=error)
    assert cell_causes(other, NotebookEvidence()) == []  # a dict's missing key is no environment cause
