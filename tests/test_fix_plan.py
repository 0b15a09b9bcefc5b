"""The pure part of one-click fixes: edit operations, previews and the plans, without kernels or files.

The kinds are applied with real kernels in ``test_fix.py``; here each rule that decides whether a fix is
offered, and what its edits are, is checked on notebooks built in memory.
"""

from __future__ import annotations

from typing import Any

import pytest
from compare_builders import code, stream
from conftest import build_notebook

from jupyter_repro.errors import FixError, ReproError
from jupyter_repro.fix_edits import apply_edits, describe_changes, moved_origins, notebook_diff
from jupyter_repro.fix_plan import (
    ExecutedCell,
    FixContext,
    Verified,
    apply_order,
    plan_fixes,
    refreshed_outputs,
    with_hashes,
)


def context(cells: list[Any], causes: list[dict[str, Any]], **verified: Any) -> FixContext:
    facts = {"run_id": "r1", "verdict": "diverged", "seed": 7, "causes": tuple(causes), **verified}
    return FixContext(name="nb.ipynb", notebook=build_notebook(cells), verified=Verified(**facts))


def by_id(ctx: FixContext) -> dict[str, Any]:
    return {fix.id: fix for fix in plan_fixes(ctx)}


# ------------------------------------------------------------------------------------------- edits


def test_edit_operations_apply_in_order_each_seeing_the_previous_result() -> None:
    notebook = build_notebook(["a = 1", "b = 2", {"cell_type": "markdown", "source": "# notes"}])
    edits = [
        {"op": "insert_cell", "index": 0, "cell": {"cell_type": "code", "source": "seed()", "metadata": {}}},
        {"op": "move_cell", "from": 2, "to": 1},  # "b = 2" (now at 2) moves before "a = 1"
        {"op": "set_source", "cell": 3, "source": "# more notes"},
        {"op": "set_cell_metadata", "cell": 1, "key": "tags", "value": ["ignore-output"]},
        {"op": "set_outputs", "cell": 2, "outputs": [stream("1\n")], "execution_count": 4},
        {"op": "set_notebook_metadata", "key": "jupyter_repro", "value": {"seed": 3}},
    ]
    fixed = apply_edits(notebook, edits)
    assert [cell["source"] for cell in fixed["cells"]] == ["seed()", "b = 2", "a = 1", "# more notes"]
    assert fixed["cells"][1]["metadata"]["tags"] == ["ignore-output"]
    assert fixed["cells"][2]["outputs"] == [stream("1\n")]
    assert fixed["cells"][2]["execution_count"] == 4
    assert fixed["metadata"]["jupyter_repro"] == {"seed": 3}
    assert fixed["cells"][0]["outputs"] == []
    assert len({cell["id"] for cell in fixed["cells"]}) == 4  # the new cell got an id of its own
    assert [cell["source"] for cell in notebook["cells"]] == ["a = 1", "b = 2", "# notes"]  # input untouched
    assert moved_origins([0, 1, 2], edits) == [None, 1, 0, 2]
    cleared = apply_edits(fixed, [{"op": "set_cell_metadata", "cell": 1, "key": "tags", "value": None}])
    assert "tags" not in cleared["cells"][1]["metadata"]


@pytest.mark.parametrize(
    "edit",
    [
        {"op": "move_cell", "from": 5, "to": 0},
        {"op": "set_source", "cell": -1, "source": ""},
        {"op": "set_outputs", "cell": 1, "outputs": []},  # a markdown cell has no outputs
        {"op": "rename_cell", "cell": 0},
    ],
)
def test_an_edit_that_does_not_fit_the_notebook_is_an_error_of_its_own(edit: dict[str, Any]) -> None:
    notebook = build_notebook(["a = 1", {"cell_type": "markdown", "source": "text"}])
    with pytest.raises(FixError) as raised:
        apply_edits(notebook, [edit])
    assert isinstance(raised.value, ReproError)
    assert "\n" not in str(raised.value)


def test_the_preview_is_a_unified_diff_that_shows_changed_outputs() -> None:
    before = build_notebook([code("print(draw())", stream("0.1\n"))])
    after = apply_edits(
        before, [{"op": "set_outputs", "cell": 0, "outputs": [stream("0.9\n")], "execution_count": 1}]
    )
    diff = notebook_diff(before, after, "nb.ipynb")
    assert diff.startswith("--- nb.ipynb\n+++ nb.ipynb (fixed)")
    assert "-0.1" in diff
    assert "+0.9" in diff
    assert " print(draw())" in diff  # context
    assert describe_changes([{"op": "set_outputs", "cell": 0}], ["requirements.txt"]) == (
        "saved new outputs in cell 0; wrote requirements.txt"
    )


def test_refreshed_outputs_are_only_those_that_changed() -> None:
    notebook = build_notebook(
        [code("a = 1"), code("print(a)", stream("1\n"), count=2), code("print(2)", count=None)]
    )
    executed = {
        0: ExecutedCell((), 1),
        1: ExecutedCell((stream("1\n"),), 2),
        2: ExecutedCell((stream("2\n"),), 3),
    }
    edits = refreshed_outputs(notebook, executed, always=[0])
    assert [edit["cell"] for edit in edits] == [0, 2]  # cell 1 matches; cell 0 is asked for
    assert edits[1]["outputs"] == [stream("2\n")]


# -------------------------------------------------------------------------------------------- seed


DRAW = {"kind": "nondeterminism", "cell": 1, "call": "np.random.rand", "detail": "draws", "hint": "seed"}


def test_an_unseeded_draw_offers_two_seed_fixes_and_all_takes_the_outputs() -> None:
    cells = [code("import numpy as np"), code("print(np.random.rand(2))", stream("[0.1 0.2]\n"), count=2)]
    new = (stream("[0.07 0.77]\n"),)
    ctx = context(cells, [DRAW], executed={0: ExecutedCell((), 1), 1: ExecutedCell(new, 2)})
    fixes = by_id(ctx)
    assert set(fixes) == {"seed-outputs", "seed-cell"}
    outputs = fixes["seed-outputs"]
    assert outputs.edits[0] == {"op": "set_outputs", "cell": 1, "outputs": [new[0]], "execution_count": 2}
    assert outputs.edits[1] == {"op": "set_notebook_metadata", "key": "jupyter_repro", "value": {"seed": 7}}
    assert "+[0.07 0.77]" in outputs.preview
    cell = fixes["seed-cell"]
    inserted = cell.edits[0]
    assert inserted["op"] == "insert_cell"
    assert inserted["index"] == 1  # before the first cell that draws
    assert "random.seed(7)" in inserted["cell"]["source"]
    assert "np.random.seed(7)" in inserted["cell"]["source"]
    assert cell.pending == ("outputs",)
    assert "refreshed on apply" in cell.preview
    assert [fix.id for fix in apply_order(plan_fixes(ctx))] == ["seed-outputs"]


def test_seed_outputs_are_unavailable_when_the_run_did_not_complete_the_cell() -> None:
    cells = [code("import random\nprint(random.random())", stream("0.3\n"))]
    cause = {**DRAW, "cell": 0, "call": "random.random"}
    fixes = by_id(context(cells, [cause]))
    assert not fixes["seed-outputs"].available
    assert "seed-cell" in str(fixes["seed-outputs"].reason)
    assert "np.random" not in fixes["seed-cell"].edits[0]["cell"]["source"]  # numpy is not imported
    assert [fix.id for fix in apply_order(list(fixes.values()))] == ["seed-cell"]


# ----------------------------------------------------------------------------------------- reorder


HIDDEN = {"kind": "hidden-state", "cell": 1, "detail": "reads later", "hint": "move"}


def test_a_name_defined_only_later_is_fixed_by_moving_its_cell_up() -> None:
    cells = [code("x = 1"), code("print(limit * x)", count=3), code("y = x + 1"), code("limit = 5", count=2)]
    fix = by_id(context(cells, [HIDDEN]))["reorder-1"]
    assert fix.available
    assert fix.edits == ({"op": "move_cell", "from": 3, "to": 1},)
    fixed = apply_edits(build_notebook(cells), fix.edits)
    assert [cell["source"] for cell in fixed["cells"]][:2] == ["x = 1", "limit = 5"]


def test_a_move_that_would_change_another_cells_inputs_is_refused_with_the_reason() -> None:
    # cell 3 defines limit from 'base', which cell 2 defines: moving it up would read base too early
    cells = [code("base = 1"), code("print(limit)"), code("base = 10"), code("limit = base * 2")]
    fix = by_id(context(cells, [HIDDEN]))["reorder-1"]
    assert not fix.available
    assert "cell 3" in str(fix.reason)
    assert "'base'" in str(fix.reason)
    assert apply_order([fix]) == []


def test_a_tagged_defining_cell_is_not_moved() -> None:
    cells = [code("a = 1", tags=("step:one",)), code("print(b)"), code("b = 2", tags=("step:two",))]
    fix = by_id(context(cells, [HIDDEN]))["reorder-1"]
    assert not fix.available
    assert "step:two" in str(fix.reason)


# ----------------------------------------------------------------------------- pin, ignore-output


def test_an_environment_cause_offers_requirements_and_a_lock() -> None:
    cells = [code("import pandas as pd\nprint(pd.__version__)", stream("1.5.3\n"))]
    cause = {"kind": "environment", "cell": 0, "detail": "version", "hint": "re-save"}
    new = (stream("2.2.3\n"),)
    ctx = context(cells, [cause], executed={0: ExecutedCell(new, 1)}, packages={"pandas": "2.2.3"})
    fixes = by_id(ctx)
    requirements = fixes["pin-requirements"]
    assert requirements.files[0].path == "requirements.txt"
    assert requirements.files[0].content is not None
    assert requirements.files[0].content.endswith("pandas==2.2.3\n")
    assert "+pandas==2.2.3" in requirements.preview
    assert requirements.edits[0]["outputs"] == [new[0]]
    lock = fixes["pin-lock"]
    assert lock.pending == ("lock",)  # the verification compiled none: applying compiles it
    assert lock.edits[-1]["key"] == "jupyter_repro"


def test_a_clock_offers_ignore_output_unless_the_cell_is_tagged_already() -> None:
    cause = {"kind": "nondeterminism", "cell": 0, "detail": "clock", "hint": "tag the cell 'ignore-output'"}
    fix = by_id(context([code("import time\nprint(time.time())", stream("1.0\n"))], [cause]))[
        "ignore-output-0"
    ]
    assert fix.edits == ({"op": "set_cell_metadata", "cell": 0, "key": "tags", "value": ["ignore-output"]},)
    assert "(tags: ignore-output)" in fix.preview
    tagged = context([code("import time\nprint(time.time())", tags=("ignore-output",))], [cause])
    assert not plan_fixes(tagged)


# ------------------------------------------------------------------------------------- vendor-data


def data_cause(url: str) -> dict[str, Any]:
    return {"kind": "data", "cell": 0, "detail": "network", "hint": "download", "urls": [url]}


def test_a_url_literal_is_vendored_into_the_data_folder_with_its_hash() -> None:
    url = "http://127.0.0.1:8000/sets/iris.csv?raw=1"
    cells = [code(f"import pandas as pd\ndf = pd.read_csv('{url}')")]
    ctx = FixContext(
        name="nb.ipynb",
        notebook=build_notebook(cells),
        verified=Verified("r1", "diverged", 0, (data_cause(url),)),
        data_files=frozenset({"iris.csv"}),
    )
    fix = by_id(ctx)["vendor-data-0"]
    assert fix.available
    assert [(item.path, item.action, item.url) for item in fix.files] == [
        ("data/iris-2.csv", "download", url)
    ]
    assert fix.edits[0]["source"] == "import pandas as pd\ndf = pd.read_csv('data/iris-2.csv')"
    hashed = with_hashes(fix, {"data/iris-2.csv": "blake3:ab"})
    assert hashed.edits[1]["value"]["vendored"] == {"data/iris-2.csv": {"url": url, "hash": "blake3:ab"}}
    assert "download" not in hashed.pending


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import urllib.request\nurllib.request.urlopen('http://h:1/a.csv').read()", "urlopen"),
        ("url = 'http' + '://h:1/a.csv'\nprint(url)", "built at run time"),
    ],
)
def test_a_url_that_a_local_path_cannot_replace_is_not_vendored(source: str, reason: str) -> None:
    fix = by_id(context([code(source)], [data_cause("http://h:1/a.csv")]))["vendor-data-0"]
    assert not fix.available
    assert reason in str(fix.reason)
