"""``jupyter repro steps NB [--json]`` end to end, through the installed console script."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).parent / "notebooks"

RunCli = Callable[..., subprocess.CompletedProcess[str]]
MakeNotebook = Callable[..., Path]

PIPELINE = [
    ("import pandas as pd", ["setup"]),
    ("rows = 3", ["parameters"]),
    {"cell_type": "markdown", "source": "# Load"},
    ("df = pd.DataFrame({'a': range(rows)})", ["step:load"]),
    ("df.dropna(inplace=True)", ["step:clean", "no-cache"]),
    ("explore(df)", ["skip"]),
    ("# NBVAL_IGNORE_OUTPUT\nprint(df.shape, later)", ["step:report", "after:load"]),
    "later = 1",
]


def test_table_shows_steps_cells_dependencies_inputs_and_outputs(
    run_cli: RunCli, make_notebook: MakeNotebook
) -> None:
    result = run_cli("steps", str(make_notebook(PIPELINE)))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["step", "cells", "depends", "on", "inputs", "(from)", "outputs"]
    assert lines[2].split() == ["load", "3", "-", "rows", "(parameters)", "df"]
    assert lines[3].split() == ["clean", "[no-cache]", "4", "load", "df", "(load)", "df"]
    assert lines[4].split() == ["report", "6-7", "load,", "clean", "df", "(clean)", "-"]
    assert "parameters: rows=3" in lines
    assert "setup cells: 0" in lines
    assert "skipped cells: 5" in lines
    assert "outputs not compared: 6" in lines
    assert "warning: hidden state: cell 6 reads 'later', which is defined only later, in cell 7" in lines


def test_json_is_the_contract_shape(run_cli: RunCli, make_notebook: MakeNotebook) -> None:
    path = make_notebook(PIPELINE)
    result = run_cli("steps", str(path), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["notebook"] == str(path)
    assert payload["parameters"] == {"rows": 3}
    assert payload["setup_cells"] == [0]
    steps = {step["name"]: step for step in payload["steps"]}
    assert list(steps) == ["load", "clean", "report"]
    assert steps["report"] == steps["report"] | {
        "cells": [6, 7],
        "after": ["load"],
        "depends_on": ["load", "clean"],
        "inputs": [{"name": "df", "from": "clean"}],
        "outputs": [],
        "parameters": [],
    }
    assert steps["load"]["inputs"] == [{"name": "rows", "from": "parameters"}]
    assert payload["hidden_state"] == [
        {
            "cell": 6,
            "name": "later",
            "defined_in": 7,
            "kind": "later",
            "step": "report",
            "description": "cell 6 reads 'later', which is defined only later, in cell 7",
        }
    ]
    roles = {cell["index"]: (cell["role"], cell["step"]) for cell in payload["cells"]}
    assert roles[6] == ("step", "report")


def test_kale_notebook(run_cli: RunCli) -> None:
    result = run_cli("steps", str(NOTEBOOKS / "kale_titanic.ipynb"), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [step["name"] for step in payload["steps"]][:2] == ["loaddata", "datapreprocessing"]
    assert payload["parameters"] == {"LR": 0.1, "EPOCHS": 3}


def test_magics_do_not_break_the_table(run_cli: RunCli, make_notebook: MakeNotebook) -> None:
    path = make_notebook(
        ["%matplotlib inline\n!echo hi\nfiles = !ls", ("%%time\nn = len(files)", ["step:count"])]
    )
    result = run_cli("steps", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["steps"][1]["inputs"] == [{"name": "files", "from": "main"}]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.ipynb"
    path.write_text(text, encoding="utf-8")
    return path


def _notebook_json(cells: list[Any]) -> str:
    from conftest import build_notebook

    return json.dumps(build_notebook(cells))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "missing.ipynb: no such file"),
        ("{oops", "bad.ipynb: not valid JSON"),
        ('{"hello": 1}', "bad.ipynb: not a Jupyter notebook"),
        (
            _notebook_json([{"cell_type": "code", "source": "x", "outputs": "not a list"}]),
            "bad.ipynb: not a valid notebook",
        ),
        (_notebook_json([("x = 1", ["step:Load"])]), "bad.ipynb: cell 0: tag 'step:Load': invalid step name"),
        (
            _notebook_json([("x = 1", ["step:a"]), ("y = 2", ["step:b", "after:nope"])]),
            "bad.ipynb: cell 1: tag 'after:nope': no step named 'nope'",
        ),
        (
            _notebook_json([("x = 1", ["step:a", "after:b"]), ("y = x", ["step:b"])]),
            "bad.ipynb: cell 0: tag 'after:b': the steps form a cycle: a -> b -> a",
        ),
        (
            _notebook_json([("x = 1", ["step:a"]), ("y = 1", ["step:b"]), ("z = 1", ["step:a"])]),
            "bad.ipynb: cell 2: tag 'step:a': step 'a' already started at cell 0",
        ),
        (
            _notebook_json([("x = 1", ["step:a", "step:b"])]),
            "bad.ipynb: cell 0: tag 'step:b': a cell can start only one step",
        ),
    ],
)
def test_unusable_input_is_one_line_and_exit_code_2(
    run_cli: RunCli, tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "missing.ipynb" if content is None else _write(tmp_path, content)
    result = run_cli("steps", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("jupyter repro steps: error: ")
    assert expected in line
    assert str(path) in line
