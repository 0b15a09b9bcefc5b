"""Reading notebooks as JupyterLab does: schema nits repaired in memory, the user's file never touched."""

from __future__ import annotations

import copy
import json
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import build_notebook

from jupyter_repro.errors import NotebookError, TagError
from jupyter_repro.notebook import load_notebook, notebook_from_json, write_notebook_atomically
from jupyter_repro.pipeline import build_pipeline
from jupyter_repro.snapshot import notebook_content_hash

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def code(source: Any = "x = 1", **fields: Any) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "outputs": [],
        "execution_count": None,
        **fields,
    }


def notebook(minor: int, *cells: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"nbformat": 4, "nbformat_minor": minor, "metadata": {}, "cells": list(cells), **fields}


def without(cell: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in cell.items() if key not in keys}


V3: dict[str, Any] = {
    "nbformat": 3,
    "nbformat_minor": 0,
    "metadata": {"name": "old"},
    "worksheets": [
        {
            "cells": [
                {"cell_type": "heading", "level": 1, "metadata": {}, "source": "Title"},
                {
                    "cell_type": "code",
                    "language": "python",
                    "collapsed": False,
                    "metadata": {},
                    "input": ["x = 1\n", "x"],
                    "prompt_number": 1,
                    "outputs": [{"output_type": "pyout", "prompt_number": 1, "text": ["1"], "metadata": {}}],
                },
                {"cell_type": "markdown", "metadata": {}, "source": "some *text*"},
            ]
        }
    ],
}

READABLE: dict[str, dict[str, Any]] = {
    "4.4 with cell ids (current Jupyter)": notebook(4, code(id="a1"), code("y = x", id="b2")),
    "4.5 without ids": notebook(5, code(), code("y = x")),
    "4.5 with duplicate and invalid ids": notebook(5, code(id="a"), code(id="a"), code(id="not valid!")),
    **{
        f"4.{minor}": notebook(minor, code(), {"cell_type": "markdown", "metadata": {}, "source": "# t"})
        for minor in range(6)
    },
    "markdown cell with execution_count and outputs": notebook(
        4, {"cell_type": "markdown", "metadata": {}, "source": "# t", "execution_count": 3, "outputs": []}
    ),
    "cell without metadata": notebook(4, without(code(), "metadata")),
    "code cell without outputs or execution_count": notebook(
        4, without(code(), "outputs", "execution_count")
    ),
    "cell without source": notebook(4, without(code(), "source")),
    "sources as line lists": notebook(4, code(["x = 1\n", "y = x\n"])),
    "unknown cell type": notebook(4, {"cell_type": "heading", "level": 1, "metadata": {}, "source": "T"}),
    "v3 leftovers on a v4 cell": notebook(4, code(language="python", collapsed=False, prompt_number=1)),
    "outputs missing fields": notebook(
        4,
        code(
            outputs=[
                {"output_type": "execute_result", "data": {"text/plain": ["1"]}},
                {"output_type": "stream", "text": "hi\n"},
                {"output_type": "error", "ename": "ValueError", "evalue": "bad"},
                {"output_type": "display_data", "data": {"text/plain": "x"}, "transient": {}},
                {"output_type": "pyout", "text": "left over from v3"},
            ],
            execution_count=1,
        ),
    ),
    "kernelspec without display_name": notebook(4, code(), metadata={"kernelspec": {"name": "python3"}}),
    "invalid notebook metadata": notebook(4, code(), metadata={"language_info": {}, "title": 3}),
    "invalid cell metadata": notebook(4, code(metadata={"collapsed": "yes", "name": ""})),
    "duplicate tags": notebook(4, code(metadata={"tags": ["step:a", "step:a"]})),
    "no nbformat_minor": {"nbformat": 4, "metadata": {}, "cells": [code()]},
    "unknown top-level key": notebook(4, code(), extra=1),
    "nbformat 3": V3,
    "nbformat 2": {
        "nbformat": 2,
        "metadata": {"name": "n"},
        "worksheets": [{"cells": [V3["worksheets"][0]["cells"][1]]}],
    },
    "nbformat 1": {
        "nbformat": 1,
        "cells": [{"cell_type": "code", "code": "x = 1"}, {"cell_type": "text", "text": "t"}],
    },
    "a minor from the future": notebook(9, code(id="c", novelty=True)),
}


def _load(tmp_path: Path, data: Any, name: str = "nb.ipynb") -> tuple[Path, Any]:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, load_notebook(path)


@pytest.mark.parametrize("data", READABLE.values(), ids=READABLE.keys())
def test_what_jupyterlab_opens_is_read_as_a_valid_v4_notebook(tmp_path: Path, data: dict[str, Any]) -> None:
    original = copy.deepcopy(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no MissingIDFieldWarning, no DuplicateCellId
        path, loaded = _load(tmp_path, data)
        nbformat.validate(copy.deepcopy(loaded))  # what papermill and nbformat.writes check
        written = tmp_path / "executed.ipynb"
        write_notebook_atomically(loaded, written)  # as the executed copy under .repro is written
        assert load_notebook(written) == loaded  # and read back unchanged
    assert loaded.nbformat == 4
    assert data == original
    assert all(isinstance(cell.source, str) for cell in loaded.cells)
    build_pipeline(loaded, str(path))


@pytest.mark.parametrize("data", READABLE.values(), ids=READABLE.keys())
def test_the_users_file_is_byte_identical_after_loading(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    before, stat = path.read_bytes(), path.stat()
    load_notebook(path)
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb"]


@pytest.mark.parametrize("data", READABLE.values(), ids=READABLE.keys())
def test_loading_is_deterministic(tmp_path: Path, data: dict[str, Any]) -> None:
    """The content hash is made of the loaded node: no random cell ids."""
    _, first = _load(tmp_path, data, "a.ipynb")
    _, second = _load(tmp_path, data, "b.ipynb")
    assert first == second
    assert notebook_content_hash(first) == notebook_content_hash(second)


@pytest.mark.parametrize("minor", range(6))
def test_a_valid_notebook_is_read_exactly_as_nbformat_reads_it(tmp_path: Path, minor: int) -> None:
    data = build_notebook(["x = 1", {"cell_type": "markdown", "source": ["# a\n", "b"]}])
    data["nbformat_minor"] = minor
    if minor < 5:
        for cell in data["cells"]:
            del cell["id"]
    _, loaded = _load(tmp_path, data)
    assert loaded == nbformat.reads(json.dumps(data), as_version=4)  # type: ignore[no-untyped-call]


def test_cell_ids_of_a_4_4_file_are_kept_and_it_is_read_as_4_5(tmp_path: Path) -> None:
    _, loaded = _load(tmp_path, READABLE["4.4 with cell ids (current Jupyter)"])
    assert loaded.nbformat_minor == 5
    assert [cell.id for cell in loaded.cells] == ["a1", "b2"]


def test_missing_duplicate_and_invalid_ids_get_deterministic_ones(tmp_path: Path) -> None:
    _, loaded = _load(tmp_path, READABLE["4.5 with duplicate and invalid ids"])
    assert [cell.id for cell in loaded.cells] == ["a", "cell-1", "cell-2"]
    _, loaded = _load(tmp_path, notebook(5, code(), code(id="cell-0")))
    assert [cell.id for cell in loaded.cells] == ["cell-0-2", "cell-0"]


CODE_KEYS = {"cell_type", "metadata", "source", "outputs", "execution_count"}
MARKDOWN_KEYS = {"cell_type", "metadata", "source"}
REPAIRED: list[tuple[str, Callable[[Any], Any], Any]] = [
    ("markdown cell with execution_count and outputs", lambda nb: set(nb.cells[0]), MARKDOWN_KEYS),
    ("cell without metadata", lambda nb: nb.cells[0].metadata, {}),
    ("code cell without outputs or execution_count", lambda nb: nb.cells[0].outputs, []),
    ("code cell without outputs or execution_count", lambda nb: nb.cells[0].execution_count, None),
    ("cell without source", lambda nb: nb.cells[0].source, ""),
    ("sources as line lists", lambda nb: nb.cells[0].source, "x = 1\ny = x\n"),
    ("unknown cell type", lambda nb: (nb.cells[0].cell_type, nb.cells[0].source), ("raw", "T")),
    ("v3 leftovers on a v4 cell", lambda nb: set(nb.cells[0]), CODE_KEYS),
    ("kernelspec without display_name", lambda nb: nb.metadata.kernelspec.display_name, "python3"),
    ("invalid cell metadata", lambda nb: nb.cells[0].metadata, {}),
    ("duplicate tags", lambda nb: nb.cells[0].metadata.tags, ["step:a"]),
    ("no nbformat_minor", lambda nb: nb.nbformat_minor, 0),
    ("unknown top-level key", lambda nb: "extra" in nb, False),
    ("a minor from the future", lambda nb: nb.cells[0].novelty, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "part", "expected"), REPAIRED, ids=[f"{name}-{n}" for n, (name, _, _) in enumerate(REPAIRED)]
)
def test_each_nit_is_repaired_as_jupyterlab_does(
    tmp_path: Path, name: str, part: Callable[[Any], Any], expected: Any
) -> None:
    _, loaded = _load(tmp_path, READABLE[name])
    assert part(loaded) == expected


def test_outputs_are_completed_and_unknown_ones_dropped(tmp_path: Path) -> None:
    _, loaded = _load(tmp_path, READABLE["outputs missing fields"])
    result, stream, error, display = loaded.cells[0].outputs
    assert (result.data, result.metadata, result.execution_count) == ({"text/plain": "1"}, {}, None)
    assert (stream.name, stream.text) == ("stdout", "hi\n")
    assert error.traceback == []
    assert "transient" not in display


def test_a_v3_notebook_is_converted_to_v4(tmp_path: Path) -> None:
    _, loaded = _load(tmp_path, V3)
    assert (loaded.nbformat, loaded.nbformat_minor) == (4, 5)
    assert [(cell.cell_type, cell.source) for cell in loaded.cells] == [
        ("markdown", "# Title"),
        ("code", "x = 1\nx"),
        ("markdown", "some *text*"),
    ]
    assert [cell.id for cell in loaded.cells] == ["cell-0", "cell-1", "cell-2"]
    (output,) = loaded.cells[1].outputs
    assert (output.output_type, output.data) == ("execute_result", {"text/plain": "1"})
    assert loaded.metadata == {}  # v3's name and signature are gone, as nbformat.convert does


# ---- what stays an error: a file that is not a notebook at all, and tags that cannot be read


@pytest.mark.parametrize(
    ("content", "error", "fragment"),
    [
        ("{not json", NotebookError, "not valid JSON (line 1, column 2"),
        ("", NotebookError, "not valid JSON"),
        ("[1, 2]", NotebookError, "not a Jupyter notebook"),
        ('{"hello": 1}', NotebookError, "not a Jupyter notebook"),
        ('{"nbformat": "4", "cells": []}', NotebookError, "not a Jupyter notebook (nbformat is '4')"),
        ('{"nbformat": 5, "cells": []}', NotebookError, "nbformat version 5 is newer"),
        ('{"nbformat": 3, "cells": []}', NotebookError, "version 3 notebook: 'worksheets' is missing"),
        ('{"nbformat": 1, "worksheets": []}', NotebookError, "not a valid nbformat version 1 notebook"),
        ('{"nbformat": 4, "cells": {}}', NotebookError, "'cells' is not a list"),
        ('{"nbformat": 4, "cells": [1]}', NotebookError, "cell 0 is not a JSON object"),
        (json.dumps(notebook(4, code(outputs="x"))), NotebookError, "cell 0: 'outputs' is not a list"),
        (json.dumps(notebook(4, code(metadata={"tags": "step:a"}))), TagError, "cell 0: cell tags must be"),
        (json.dumps(notebook(4, code(metadata={"tags": [1]}))), TagError, "must be a list of strings"),
        (json.dumps(notebook(4, code(metadata={"tags": ["a,b"]}))), TagError, "holds a comma"),
    ],
)  # fmt: skip
def test_what_cannot_be_read_is_one_line_naming_the_file(
    tmp_path: Path, content: str, error: type[Exception], fragment: str
) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(error) as caught:
        load_notebook(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert fragment in message
    assert "\n" not in message


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bom.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(notebook(4, code())).encode())
    assert load_notebook(path).cells[0].source == "x = 1"


def test_notebook_from_json_never_changes_its_argument() -> None:
    data = notebook(
        4, code(["a\n", "b"], id="x"), {"cell_type": "markdown", "source": "m", "execution_count": 1}
    )
    original = copy.deepcopy(data)
    notebook_from_json(data, "nb.ipynb")
    assert data == original


# ---- through the CLI, as a user meets it


@pytest.mark.parametrize(
    "data",
    [
        READABLE["4.4 with cell ids (current Jupyter)"],
        V3,
        READABLE["markdown cell with execution_count and outputs"],
    ],
    ids=["4.4 with ids", "v3", "markdown with execution_count"],
)
def test_steps_reads_what_jupyterlab_opens(run_cli: RunCli, tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = path.read_bytes()
    result = run_cli("steps", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # nothing logged about the repairs
    assert json.loads(result.stdout)["steps"]
    assert path.read_bytes() == before


def test_steps_on_a_file_that_is_not_json_is_one_line_and_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "notes.ipynb"
    path.write_text("this is not JSON\n", encoding="utf-8")
    result = run_cli("steps", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"jupyter repro steps: error: {path}: not valid JSON")
