"""A notebook read as a pipeline: steps, data flow between them, the DAG, parameters, hidden state."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook

from jupyter_repro.errors import NotebookError, PipelineError, TagError
from jupyter_repro.model import Pipeline, StepInput
from jupyter_repro.notebook import load_pipeline
from jupyter_repro.pipeline import build_pipeline

NOTEBOOKS = Path(__file__).parent / "notebooks"
NB = "analysis.ipynb"


def pipeline_of(*cells: Any) -> Pipeline:
    return build_pipeline(build_notebook(cells), NB)


def inputs(pipeline: Pipeline, step: str) -> dict[str, str]:
    return dict(pipeline.step(step).inputs)


def markdown(text: str = "# notes") -> dict[str, Any]:
    return {"cell_type": "markdown", "source": text}


# ---- steps


def test_untagged_notebook_is_one_main_step_with_every_code_cell() -> None:
    pipeline = pipeline_of(markdown(), "import os", "x = 1", markdown(), "print(x, os.sep)")
    assert pipeline.step_names == ("main",)
    main = pipeline.step("main")
    assert main.cells == (1, 2, 4)
    assert main.sources == ("import os", "x = 1", "print(x, os.sep)")
    assert main.inputs == ()
    assert main.outputs == ()
    assert main.defines == ("os", "x")
    assert pipeline.hidden_state == ()


def test_steps_inputs_outputs_and_dependencies() -> None:
    pipeline = pipeline_of(
        ("import pandas as pd", ["setup"]),
        ("rows = 100", ["parameters"]),
        ("raw = pd.DataFrame({'a': range(rows)})\nunused = 1", ["step:load"]),
        ("clean = raw.dropna()", ["step:clean"]),
        ("total = clean['a'].sum()\nprint(total)", ["step:report"]),
    )
    assert pipeline.step_names == ("load", "clean", "report")
    load, clean, report = pipeline.steps
    assert load.inputs == (StepInput("rows", "parameters"),)
    assert load.parameters == ("rows",)
    assert load.outputs == ("raw",)  # only what a later step reads
    assert load.defines == ("raw", "unused")  # everything it binds
    assert clean.inputs == (StepInput("raw", "load"),)
    assert report.inputs == (StepInput("clean", "clean"),)
    assert report.direct_dependencies == ("clean",)
    assert report.depends_on == ("load", "clean")  # every upstream step, transitively


@pytest.mark.parametrize(
    "mutation",
    [
        "df.dropna(inplace=True)",
        "df['ratio'] = df['a'] / 2",
        "df.columns = ['x']",
        "df.loc[0, 'a'] = 1",
        "df.insert(0, 'b', 1)",
        "df += 1",
        "del df['a']",
        "normalise(df)",
    ],
)
def test_in_place_mutation_makes_the_mutating_step_the_provider(mutation: str) -> None:
    pipeline = pipeline_of(
        ("def normalise(frame):\n    frame['a'] = frame['a'] / frame['a'].max()", ["setup"]),
        ("df = make()", ["step:load"]),
        (mutation, ["step:clean"]),
        ("df.plot()", ["step:plot"]),
    )
    assert inputs(pipeline, "clean") == {"df": "load"}
    assert inputs(pipeline, "plot") == {"df": "clean"}
    assert pipeline.step("clean").outputs == ("df",)
    assert pipeline.step("plot").depends_on == ("load", "clean")


def test_list_append_in_a_later_step_is_seen() -> None:
    pipeline = pipeline_of(
        ("results = []", ["step:a"]), ("results.append(1)", ["step:b"]), ("n = len(results)", ["step:c"])
    )
    assert inputs(pipeline, "c") == {"results": "b"}


def test_reads_within_a_step_are_internal_and_read_before_define_is_not() -> None:
    pipeline = pipeline_of(("x = 1", ["step:a"]), ("y = x", ["step:b"]), "x = y + 1", ("z = x", ["step:c"]))
    assert inputs(pipeline, "b") == {"x": "a"}
    assert inputs(pipeline, "c") == {"x": "b"}


def test_explicit_after_adds_a_dependency_without_data() -> None:
    pipeline = pipeline_of(
        ("open('out.csv', 'w').write('1')", ["step:write"]),
        ("print(open('out.csv').read())", ["step:read", "after:write"]),
    )
    read = pipeline.step("read")
    assert read.after == ("write",)
    assert read.inputs == ()
    assert read.depends_on == ("write",)


def test_forward_after_reorders_the_steps_topologically() -> None:
    pipeline = pipeline_of(("print('b')", ["step:report", "after:fetch"]), ("x = 1", ["step:fetch"]))
    assert pipeline.step_names == ("fetch", "report")
    assert pipeline.step("report").depends_on == ("fetch",)


def test_independent_steps_keep_notebook_order() -> None:
    pipeline = pipeline_of(("a = 1", ["step:one"]), ("b = 2", ["step:two"]), ("c = a + b", ["step:three"]))
    assert pipeline.step_names == ("one", "two", "three")
    assert pipeline.step("two").depends_on == ()
    assert pipeline.step("three").direct_dependencies == ("one", "two")


def test_no_cache_flag() -> None:
    pipeline = pipeline_of(("x = fetch()", ["step:live", "no-cache"]), ("y = 1", ["step:calm"]))
    assert pipeline.step("live").no_cache
    assert not pipeline.step("calm").no_cache


# ---- setup and parameters


def test_setup_names_are_never_inputs_but_redefined_ones_are() -> None:
    pipeline = pipeline_of(
        ("import numpy as np\nLIMIT = 3", ["setup"]),
        ("a = np.ones(LIMIT)", ["step:a"]),
        ("LIMIT = 5", ["step:b"]),
        ("c = np.zeros(LIMIT)", ["step:c"]),
    )
    assert inputs(pipeline, "a") == {}
    assert inputs(pipeline, "c") == {"LIMIT": "b"}
    assert pipeline.setup_cells == (0,)
    assert pipeline.setup_sources == ("import numpy as np\nLIMIT = 3",)


def test_setup_function_reads_its_globals_in_the_calling_step() -> None:
    pipeline = pipeline_of(
        ("def scaled(values):\n    return [v * factor for v in values]", ["setup"]),
        ("factor = 2.5", ["step:config"]),
        ("out = scaled([1, 2])", ["step:use"]),
    )
    assert inputs(pipeline, "use") == {"factor": "config"}


def test_parameters_values_expressions_and_reads() -> None:
    pipeline = pipeline_of(
        ("import datetime\nn = 10\nrate: float = 0.5\nstart = datetime.date(2024, 1, 1)", ["parameters"]),
        ("m = n * 2\nd = datetime.date.today()", ["step:a"]),
        ("r = rate + m", ["step:b"]),
    )
    assert dict(pipeline.parameters) == {"n": 10, "rate": 0.5}
    assert dict(pipeline.parameter_expressions) == {"start": "datetime.date(2024, 1, 1)"}
    assert pipeline.parameter_names == ("n", "rate", "start")
    assert pipeline.parameter_cell == 0
    assert pipeline.step("a").parameters == ("n",)  # the import is shared, not a parameter
    assert inputs(pipeline, "b") == {"rate": "parameters", "m": "a"}


def test_injected_parameters_override_the_defaults_as_papermill_ran_them() -> None:
    pipeline = pipeline_of(
        ("n = 10\nlabel = 'x'", ["parameters"]),
        ("n = 99", ["injected-parameters"]),
        ("print(n, label)", ["step:a"]),
    )
    assert dict(pipeline.parameters) == {"n": 99, "label": "x"}
    assert pipeline.injected_parameter_cell == 1
    assert pipeline.parameter_cells == (0,)


def test_a_notebook_without_parameters() -> None:
    pipeline = pipeline_of("x = 1")
    assert pipeline.parameter_cell is None
    assert dict(pipeline.parameters) == {}


# ---- cells: roles, skips, outputs not compared


def test_cell_roles_steps_and_ignore_output() -> None:
    pipeline = pipeline_of(
        markdown(),
        ("import os", ["setup"]),
        ("x = 1", ["step:a"]),
        "# NBVAL_SKIP\nslow()",
        ("y = x", ["skip"]),
        "# NBVAL_IGNORE_OUTPUT\nprint(os.getpid())",
        ("z = 2", ["ignore-output", "step:b"]),
    )
    assert [(c.role, c.step) for c in pipeline.cells] == [
        ("text", None),
        ("setup", None),
        ("step", "a"),
        ("skip", "a"),
        ("skip", "a"),
        ("step", "a"),
        ("step", "b"),
    ]
    assert pipeline.skip_cells == (3, 4)
    assert pipeline.ignore_output_cells == (5, 6)
    assert pipeline.step("a").cells == (2, 5)
    assert pipeline.cell(5).ignore_output


def test_skipped_cells_may_hold_broken_code() -> None:
    pipeline = pipeline_of("x = 1", ("this is not python (", ["skip"]))
    assert pipeline.step("main").cells == (0,)


def test_imported_modules_from_every_executed_cell() -> None:
    pipeline = pipeline_of(
        ("import pandas as pd", ["setup"]),
        ("import yaml", ["parameters"]),
        "from sklearn.linear_model import Ridge\nimport os.path",
        ("import torch", ["skip"]),
        "def f():\n    import scipy.stats",
    )
    assert pipeline.imported_modules == {"pandas", "yaml", "sklearn", "os", "scipy"}


# ---- hidden state


def test_hidden_state_reads_name_the_cell_the_name_and_where_it_is_defined() -> None:
    pipeline = pipeline_of(
        ("threshold = 0.5", ["skip"]),
        ("a = data[data > threshold]", ["step:a"]),
        ("print(model)", ["step:b"]),
        "data = [0.1, 0.9]",
    )
    found = [(r.cell, r.name, r.defined_in, r.kind, r.step) for r in pipeline.hidden_state]
    assert found == [
        (1, "data", 3, "later", "a"),
        (1, "threshold", 0, "skipped", "a"),
        (2, "model", None, "undefined", "b"),
    ]
    assert (
        pipeline.hidden_state[0].describe() == "cell 1 reads 'data', which is defined only later, in cell 3"
    )


# ---- imprecise analysis is conservative, and said


def test_star_import_step_is_treated_conservatively() -> None:
    pipeline = pipeline_of(
        ("a = 1", ["step:a"]),
        ("b = 2", ["step:b"]),
        ("from math import *\nc = sqrt(a)", ["step:star"]),
        ("print(pi, b)", ["step:d"]),
    )
    star = pipeline.step("star")
    assert star.imprecise
    assert (
        star.imprecise_reason
        == "cell 2: 'from math import *' binds names that cannot be known without running it"
    )
    assert star.depends_on == ("a", "b")
    assert inputs(pipeline, "star") == {"a": "a", "b": "b"}
    assert inputs(pipeline, "d") == {"pi": "star", "b": "star"}
    assert pipeline.hidden_state == ()  # 'pi' may well come from the star import


def test_star_import_in_setup_is_a_note() -> None:
    pipeline = pipeline_of(("from helpers import *", ["setup"]), "result = helper()")
    assert len(pipeline.notes) == 1
    assert pipeline.notes[0].startswith("cell 0 (setup): 'from helpers import *'")
    assert pipeline.hidden_state == ()


# ---- JSON: exactly the shape of docs/cli.md, "JSON output" (keys may be added, never removed)


def test_to_json_has_the_contract_shape() -> None:
    pipeline = pipeline_of(
        ("n = 3\nxs = (1, 2)\nflags = {True}", ["parameters"]),
        ("import os", ["setup"]),
        ("a = n", ["step:a"]),
        ("b = a", ["step:b", "after:a"]),
    )
    payload = json.loads(json.dumps(pipeline.to_json()))  # JSON-able as it is
    assert payload["notebook"] == NB
    assert payload["parameters"] == {"n": 3, "xs": [1, 2], "flags": [True]}
    assert payload["setup_cells"] == [1]
    assert {"notebook", "steps", "parameters", "setup_cells"} <= set(payload)
    a_step, b_step = payload["steps"]
    assert {"name", "cells", "after", "depends_on", "inputs", "outputs", "parameters"} <= set(b_step)
    assert b_step == b_step | {
        "name": "b",
        "cells": [3],
        "after": ["a"],
        "depends_on": ["a"],
        "inputs": [{"name": "a", "from": "a"}],
        "outputs": [],
        "parameters": [],
    }
    assert a_step["inputs"] == [{"name": "n", "from": "parameters"}]
    assert a_step["outputs"] == ["a"]


def test_cells_json_lists_what_each_cell_reads_and_defines() -> None:
    pipeline = pipeline_of(
        ("import numpy as np\nrows = 3", ["setup"]),
        markdown(),
        "data = np.arange(rows)\nprint(len(data))",
        "data.append(4)",
        ("peek = data[:2]", ["skip"]),
        "len = 2\ntotal = sum(data) + len",
    )
    cells = json.loads(json.dumps(pipeline.to_json()))["cells"]
    assert [{key: cell[key] for key in ("index", "reads", "defines")} for cell in cells] == [
        {"index": 0, "reads": [], "defines": ["rows"]},  # the import binds the same module again
        {"index": 1, "reads": [], "defines": []},
        {"index": 2, "reads": ["len", "np", "rows"], "defines": ["data"]},  # a builtin a cell rebinds
        {"index": 3, "reads": ["data"], "defines": ["data"]},  # mutation is definition
        {"index": 4, "reads": ["data"], "defines": ["peek"]},  # skipped cells run interactively
        {"index": 5, "reads": ["data"], "defines": ["len", "total"]},
    ]
    assert {"index", "role", "step"} <= set(cells[0])  # keys are only ever added


def test_cells_json_leaves_out_builtins_nobody_rebinds() -> None:
    cells = pipeline_of("x = 1", "print(sorted([x]))").to_json()["cells"]
    assert cells[1]["reads"] == ["x"]
    assert cells[1]["defines"] == []


# ---- Kale


def test_kale_tagged_notebook() -> None:
    pipeline = load_pipeline(NOTEBOOKS / "kale_titanic.ipynb")
    assert pipeline.setup_cells == (1, 2, 3)  # imports, the untagged cell after it, functions
    assert pipeline.parameter_cells == (4,)
    assert dict(pipeline.parameters) == {"LR": 0.1, "EPOCHS": 3}
    assert pipeline.skip_cells == (7,)
    assert pipeline.step_names == (
        "loaddata",
        "datapreprocessing",
        "featureengineering",
        "logisticregression",
        "results",
        "pipeline-metrics",
    )
    assert pipeline.step("loaddata").cells == (5, 6)
    assert pipeline.step("datapreprocessing").after == ("loaddata",)
    assert inputs(pipeline, "featureengineering") == {"train_df": "datapreprocessing"}
    assert inputs(pipeline, "logisticregression") == {
        "EPOCHS": "parameters",
        "LR": "parameters",
        "X": "featureengineering",
        "y": "featureengineering",
    }
    assert pipeline.step("logisticregression").outputs == ("acc",)
    assert inputs(pipeline, "pipeline-metrics") == {"acc": "logisticregression"}
    assert pipeline.imported_modules == {"numpy", "pandas", "sklearn"}
    assert pipeline.hidden_state == ()


# ---- errors: one line, naming the notebook and the cell/tag


def test_cycle_names_the_steps_and_the_after_tag() -> None:
    with pytest.raises(PipelineError) as caught:
        pipeline_of(("x = 1", ["step:a", "after:b"]), ("y = x", ["step:b"]))
    error = caught.value
    assert (error.notebook, error.cell, error.tag) == (NB, 0, "after:b")
    assert "the steps form a cycle: a -> b -> a" in str(error)


def test_longer_cycle() -> None:
    with pytest.raises(PipelineError, match="cycle: a -> b -> c -> a") as caught:
        pipeline_of(("x = 1", ["step:a", "after:c"]), ("y = x", ["step:b"]), ("z = y", ["step:c"]))
    assert caught.value.cell == 0


def test_a_cell_that_cannot_be_parsed_makes_its_step_imprecise_not_an_error() -> None:
    """A SyntaxError demo runs in the kernel like any cell; only its data flow is unknown."""
    pipeline = pipeline_of(
        ("x = 1", ["step:a"]),
        ("def broken(:\n    pass", ["step:demo"]),
        markdown(),
        ("print(x)", ["step:c"]),
    )
    demo = pipeline.step("demo")
    assert demo.imprecise_reason is not None
    assert demo.imprecise_reason.startswith("cell 1: syntax error on line 1")
    assert demo.sources == ("def broken(:\n    pass",)
    assert demo.depends_on == ("a",)  # conservatively: every earlier step
    assert inputs(pipeline, "demo") == {"x": "a"}
    assert inputs(pipeline, "c") == {"x": "demo"}  # it might have redefined x
    assert pipeline.hidden_state == ()


def test_a_parameters_cell_that_cannot_be_parsed_is_a_note() -> None:
    pipeline = pipeline_of(("n = = 1", ["parameters"]), ("m = 2", ["parameters"]), "print(m)")
    assert pipeline.parameter_names == ("m",)
    (note,) = pipeline.notes
    assert note.startswith("cell 0 (parameters): syntax error on line 1")


def test_a_skipped_cell_that_cannot_be_parsed_defines_nothing() -> None:
    pipeline = pipeline_of(("y = (", ["skip"]), "print(1)")
    assert not pipeline.step("main").imprecise


@pytest.mark.parametrize(
    ("cells", "cell", "fragment"),
    [
        ([("x = 1", ["step:Load"])], 0, "invalid step name 'Load'"),
        ([("x = 1", ["step:a"]), ("y = 1", ["step:b", "after:c"])], 1, "no step named 'c'"),
        (
            [("x = 1", ["step:a"]), ("y = 1", ["step:b"]), ("z = 1", ["step:a"])],
            2,
            "already started at cell 0",
        ),
    ],
)
def test_tag_errors(cells: Sequence[Any], cell: int, fragment: str) -> None:
    with pytest.raises(TagError) as caught:
        pipeline_of(*cells)
    assert caught.value.cell == cell
    assert fragment in str(caught.value)


def test_unknown_step_lookup_lists_the_steps() -> None:
    pipeline = pipeline_of(("x = 1", ["step:a"]), ("y = 1", ["step:b"]))
    with pytest.raises(PipelineError, match=r"no step named 'c' \(steps: a, b\)"):
        pipeline.step("c")


def test_non_string_tags_are_a_tag_error() -> None:
    notebook = build_notebook(["x = 1"])
    notebook["cells"][0]["metadata"]["tags"] = [1]
    with pytest.raises(TagError, match="cell 0: cell tags must be a list of strings"):
        build_pipeline(notebook, NB)


# ---- loading from a file


def test_load_pipeline_reads_the_file(make_notebook: Callable[..., Path]) -> None:
    path = make_notebook([("x = 1", ["step:a"]), ("y = x", ["step:b"])])
    pipeline = load_pipeline(path)
    assert pipeline.notebook == str(path)
    assert inputs(pipeline, "b") == {"x": "a"}


def test_sources_saved_as_line_lists_are_joined() -> None:
    notebook = build_notebook(["placeholder"])
    notebook["cells"][0]["source"] = ["x = 1\n", "y = x\n"]
    assert build_pipeline(notebook, NB).step("main").sources == ("x = 1\ny = x\n",)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        (
            '{"cells": [{"cell_type": "code", "source": "", "outputs": 1}], "nbformat": 4}',
            "not a valid notebook",
        ),
        ('{"cells": [], "nbformat": 5}', "nbformat version 5"),
    ],
)
def test_load_pipeline_rejects_unusable_files(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "broken.ipynb"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(NotebookError, match=fragment):
        load_pipeline(path)


def test_steps_json_reports_a_cell_that_cannot_be_parsed(
    run_cli: Callable[..., Any], make_notebook: Callable[..., Path]
) -> None:
    path = make_notebook(
        [("print('before')", ["step:a"]), ("def broken(:\n    pass", ["step:b"]), "print('after')"]
    )
    result = run_cli("steps", str(path), "--json")
    assert result.returncode == 0, result.stderr
    steps = {step["name"]: step for step in json.loads(result.stdout)["steps"]}
    assert steps["a"]["imprecise"] is None
    assert steps["b"]["imprecise"].startswith("cell 1: syntax error on line 1")
    table = run_cli("steps", str(path))
    assert table.returncode == 0, table.stderr
    assert "step 'b' is analysed conservatively: cell 1: syntax error" in table.stdout


def test_pipeline_survives_pickling_for_jobs_in_other_processes() -> None:
    pipeline = load_pipeline(NOTEBOOKS / "kale_titanic.ipynb")
    assert pickle.loads(pickle.dumps(pipeline)) == pipeline
