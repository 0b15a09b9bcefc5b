"""Causes read from one cell's own evidence (pure: no kernel)."""

from __future__ import annotations

from jupyter_repro.cell_causes import CellEvidence, NotebookEvidence, cell_causes

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
