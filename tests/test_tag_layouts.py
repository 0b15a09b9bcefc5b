"""The golden tag-layout corpus (``tests/fixtures/tag_layouts/*.json``) against the Python grammar.

Each fixture is a small notebook (cells with ``cell_type``, ``source`` and ``tags``) and either the
expected placement (``expected``: each cell's role and step as ``steps --json`` reports them in
``cells[]``, the steps in notebook order, the ignore-output cells) or the expected error
(``expected_error``: class, a substring of the message, the cell, and the tag / hint when given). The
same files are checked against the TypeScript grammar by ``src/core/__tests__/tag_layouts.spec.ts``,
so the frontend's offline placement cannot drift from the server's. A fixture with ``python_bug``
states what a user expects where tags.py is currently wrong: it is a strict xfail here until the bug
is fixed (then the marker goes, and the fixture stays).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_repro import tags
from jupyter_repro.errors import ReproError
from jupyter_repro.pipeline import build_pipeline, raw_cells

FIXTURES = Path(__file__).parent / "fixtures" / "tag_layouts"
NB = "nb.ipynb"
_MAKE_CELL = {
    "code": nbformat.v4.new_code_cell,
    "markdown": nbformat.v4.new_markdown_cell,
    "raw": nbformat.v4.new_raw_cell,
}


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def notebook(case: dict[str, Any]) -> nbformat.NotebookNode:
    """The fixture's cells as an nbformat notebook (tags in ``metadata.tags`` when there are any)."""
    nb = nbformat.v4.new_notebook()
    for cell in case["cells"]:
        node = _MAKE_CELL[cell["cell_type"]](cell["source"])
        if cell["tags"]:
            node.metadata["tags"] = list(cell["tags"])
        nb.cells.append(node)
    return nb


def cases() -> Iterator[Any]:
    for path in sorted(FIXTURES.glob("*.json")):
        bug = load(path).get("python_bug")
        marks = [pytest.mark.xfail(reason=f"Python grammar bug: {bug}", strict=True)] if bug else []
        yield pytest.param(path, marks=marks, id=path.stem)


def test_the_corpus_is_well_formed() -> None:
    paths = sorted(FIXTURES.glob("*.json"))
    assert len(paths) >= 50
    for path in paths:
        case = load(path)
        assert isinstance(case["description"], str), path.name
        assert ("expected" in case) != ("expected_error" in case), path.name
        for cell in case["cells"]:
            assert set(cell) == {"cell_type", "source", "tags"}, path.name
            assert cell["cell_type"] in _MAKE_CELL, path.name
        if "expected" in case:
            assert len(case["expected"]["cells"]) == len(case["cells"]), path.name
        else:
            assert {"error", "message", "cell"} <= set(case["expected_error"]), path.name


@pytest.mark.parametrize("path", list(cases()))
def test_the_python_grammar_agrees_with_the_corpus(path: Path) -> None:
    case = load(path)
    nb = notebook(case)
    if "expected_error" in case:
        expected_error = case["expected_error"]
        with pytest.raises(ReproError) as caught:
            build_pipeline(nb, NB)
        error = caught.value
        assert type(error).__name__ == expected_error["error"]
        assert expected_error["message"] in error.message
        assert error.cell == expected_error["cell"]
        if "tag" in expected_error:
            assert error.tag == expected_error["tag"]
        if "hint" in expected_error:
            assert expected_error["hint"] in (error.hint or "")
        return

    expected = case["expected"]
    document = build_pipeline(nb, NB).to_json()  # what `steps --json` and `GET steps` answer
    assert [cell["index"] for cell in document["cells"]] == list(range(len(case["cells"])))
    assert [{"role": cell["role"], "step": cell["step"]} for cell in document["cells"]] == expected["cells"]
    steps = {
        step["name"]: {
            "name": step["name"],
            "cells": step["cells"],
            "after": step["after"],
            "no_cache": step["no_cache"],
        }
        for step in document["steps"]
    }
    assert steps == {step["name"]: step for step in expected["steps"]}
    in_notebook_order = [step.name for step in tags.layout(raw_cells(nb, NB), NB).steps]
    assert in_notebook_order == [step["name"] for step in expected["steps"]]
    assert document["ignore_output_cells"] == expected["ignore_output_cells"]
