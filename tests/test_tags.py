"""The tag grammar: ours, Kale's and nbval's, laid out as steps; every mistake is one clear error."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from jupyter_repro.errors import TagError
from jupyter_repro.tags import CellTags, Layout, RawCell, layout, nbval_markers, parse_cell_tags

NB = "nb.ipynb"


def parse(tags: Sequence[str], source: str = "x = 1") -> CellTags:
    return parse_cell_tags(tags, source, notebook=NB, cell=4)


def lay(*cells: str | tuple[str, Sequence[str]] | RawCell) -> Layout:
    raws = []
    for cell in cells:
        if isinstance(cell, RawCell):
            raws.append(cell)
        elif isinstance(cell, str):
            raws.append(RawCell("code", cell, ()))
        else:
            raws.append(RawCell("code", cell[0], tuple(cell[1])))
    return layout(raws, NB)


def markdown(text: str = "# title") -> RawCell:
    return RawCell("markdown", text, ())


def steps_of(result: Layout) -> list[tuple[str, tuple[int, ...]]]:
    return [(step.name, step.cells) for step in result.steps]


# ---- one cell's tags


@pytest.mark.parametrize(
    ("tags", "step", "role", "after"),
    [
        ([], None, "step", ()),
        (["step:load"], "load", "step", ()),
        (["step:load_2-b"], "load_2-b", "step", ()),
        (["step:_private"], "_private", "step", ()),
        (["after:load"], None, "step", ("load",)),
        (["step:b", "after:a", "after:c"], "b", "step", ("a", "c")),
        (["parameters"], None, "parameters", ()),
        (["injected-parameters"], None, "injected-parameters", ()),
        (["setup"], None, "setup", ()),
        (["skip"], None, "skip", ()),
        (["skip", "step:x"], "x", "skip", ()),  # the step still starts here; the cell is not run
        (["skip", "setup"], None, "skip", ()),  # skip wins over any role
        # Kale's vocabulary, read unchanged
        (["block:train"], "train", "step", ()),
        (["prev:load"], None, "step", ("load",)),
        (["imports"], None, "setup", ()),
        (["functions"], None, "setup", ()),
        (["pipeline-parameters"], None, "parameters", ()),
        (["pipeline-metrics"], "pipeline-metrics", "step", ()),
        (["block:"], None, "step", ()),  # Kale's UI leaves empty block tags; Kale ignores them
        (["limit:nvidia.com/gpu:2", "annotation:a:b", "label:x:y"], None, "step", ()),
        # nbval's tag spelling
        (["nbval-skip"], None, "skip", ()),
        # other tools' tags pass through
        (["hide-input", "remove-output", "raises-exception", "thebe-init"], None, "step", ()),
    ],
)
def test_cell_tags_are_read(tags: list[str], step: str | None, role: str, after: tuple[str, ...]) -> None:
    parsed = parse(tags)
    assert (parsed.step, parsed.role, parsed.after) == (step, role, after)


@pytest.mark.parametrize(
    ("tags", "source", "no_cache", "ignore_output"),
    [
        ([], "x = 1", False, False),
        (["no-cache"], "x = 1", True, False),
        (["ignore-output"], "x = 1", False, True),
        (["nbval-ignore-output"], "x = 1", False, True),
        ([], "# NBVAL_IGNORE_OUTPUT\nx = 1", False, True),
        ([], "x = 1\n    #  NBVAL_IGNORE_OUTPUT  \n", False, True),
        ([], "# PYTEST_VALIDATE_IGNORE_OUTPUT\nx = 1", False, True),
        ([], "x = 1  # NBVAL_IGNORE_OUTPUT", False, False),  # not a whole-line comment: nbval ignores it too
        ([], "s = '# NBVAL_IGNORE_OUTPUT'", False, False),
        (["no-cache", "ignore-output"], "x", True, True),
    ],
)
def test_flags(tags: list[str], source: str, no_cache: bool, ignore_output: bool) -> None:
    parsed = parse(tags, source)
    assert (parsed.no_cache, parsed.ignore_output) == (no_cache, ignore_output)


@pytest.mark.parametrize(
    ("source", "markers"),
    [
        ("", set()),
        ("# NBVAL_SKIP\nimport x", {"NBVAL_SKIP"}),
        ("## NBVAL_SKIP", {"NBVAL_SKIP"}),
        ("# NBVAL_SKIP please", set()),
        ("# NBVAL_IGNORE_OUTPUT\n# NBVAL_SKIP", {"NBVAL_SKIP", "NBVAL_IGNORE_OUTPUT"}),
        ("# NBVAL_CHECK_OUTPUT", set()),
    ],
)
def test_nbval_markers(source: str, markers: set[str]) -> None:
    assert nbval_markers(source) == markers


def test_nbval_skip_comment_skips_the_cell() -> None:
    assert parse([], "# NBVAL_SKIP\nslow()").role == "skip"


@pytest.mark.parametrize(
    ("tags", "bad_tag", "fragment"),
    [
        (["step:Load"], "step:Load", "invalid step name 'Load'"),
        (["step:1st"], "step:1st", "invalid step name"),
        (["step:load data"], "step:load data", "invalid step name"),
        (["block:load.csv"], "block:load.csv", "invalid step name"),
        (["after:"], "after:", "invalid step name ''"),
        (["after:Load"], "after:Load", "invalid step name"),
        (["step:parameters"], "step:parameters", "reserved"),
        (["step:setup"], "step:setup", "reserved"),
        (["step:a", "step:b"], "step:b", "only one step"),
        (["step:a", "pipeline-metrics"], "pipeline-metrics", "only one step"),
        (["Step:load"], "Step:load", "did you mean 'step:load'"),
        (["stpe:load"], "stpe:load", "did you mean 'step:load'"),
        (["steps:load"], "steps:load", "did you mean 'step:load'"),
        (["afterr:x"], "afterr:x", "did you mean 'after:x'"),
        (["parameter"], "parameter", "did you mean 'parameters'"),
        (["Parameters"], "Parameters", "did you mean 'parameters'"),
        (["nocache"], "nocache", "did you mean 'no-cache'"),
        (["set-up"], "set-up", "did you mean 'setup'"),
        (["parameters", "setup"], "setup", "two roles"),
        (["setup", "step:x"], "step:x", "cannot also start a step"),
        (["parameters", "step:x"], "step:x", "cannot also start a step"),
    ],
)
def test_bad_tags_are_errors_naming_cell_and_tag(tags: list[str], bad_tag: str, fragment: str) -> None:
    with pytest.raises(TagError) as caught:
        parse(tags)
    error = caught.value
    assert (error.notebook, error.cell, error.tag) == (NB, 4, bad_tag)
    assert fragment in str(error)
    assert "\n" not in str(error)
    assert str(error).startswith(f"{NB}: cell 4: tag '{bad_tag}': ")


# ---- laying out the notebook


def test_untagged_notebook_is_one_step_main() -> None:
    result = lay(markdown(), "import os", "x = 1", markdown(), "print(x)")
    assert steps_of(result) == [("main", (1, 2, 4))]
    assert [cell.step for cell in result.cells] == [None, "main", "main", None, "main"]
    assert [cell.role for cell in result.cells] == ["text", "step", "step", "text", "step"]


def test_notebook_without_code_still_has_an_empty_main_step() -> None:
    assert steps_of(lay(markdown())) == [("main", ())]
    assert steps_of(lay()) == [("main", ())]


def test_cells_before_the_first_step_form_main_and_untagged_cells_join_the_open_step() -> None:
    result = lay("import os", ("a = 1", ["step:load"]), "b = a", markdown(), ("c = b", ["step:fit"]), "d = c")
    assert steps_of(result) == [("main", (0,)), ("load", (1, 2)), ("fit", (4, 5))]


def test_no_main_step_when_the_first_code_cell_starts_a_step() -> None:
    result = lay(markdown(), ("a = 1", ["step:load"]))
    assert steps_of(result) == [("load", (1,))]


def test_same_step_on_following_cells_is_one_step_kale_style() -> None:
    result = lay(
        ("a = 1", ["block:load"]), ("b = 2", ["block:load"]), ("skip()", ["skip"]), ("c", ["block:load"])
    )
    assert steps_of(result) == [("load", (0, 1, 3))]


def test_same_step_on_non_adjacent_cells_is_an_error() -> None:
    with pytest.raises(TagError) as caught:
        lay(("a = 1", ["step:load"]), ("b = 2", ["step:fit"]), ("c = 3", ["step:load"]))
    assert caught.value.cell == 2
    assert caught.value.tag == "step:load"
    assert "already started at cell 0" in str(caught.value)


def test_explicit_main_after_other_steps_is_a_duplicate() -> None:
    with pytest.raises(TagError, match="step 'main' already started at cell 0"):
        lay("x = 1", ("y = 2", ["step:fit"]), ("z = 3", ["step:main"]))


def test_setup_parameters_and_skip_cells_are_outside_steps_but_do_not_end_them() -> None:
    result = lay(
        ("import pandas as pd", ["setup"]),
        ("n = 3", ["parameters"]),
        ("a = n", ["step:load"]),
        ("explore(a)", ["skip"]),
        ("def helper(): ...", ["setup"]),
        "b = a",
    )
    assert steps_of(result) == [("load", (2, 5))]
    assert result.indices("setup") == (0, 4)
    assert result.indices("parameters") == (1,)
    assert result.indices("skip") == (3,)
    assert [cell.step for cell in result.cells] == [None, None, "load", "load", None, "load"]


def test_skip_cell_with_a_step_tag_starts_the_step_without_being_in_it() -> None:
    result = lay("a = 1", ("slow()", ["step:fit", "skip"]), "b = a")
    assert steps_of(result) == [("main", (0,)), ("fit", (2,))]


def test_step_whose_cells_are_all_skipped_exists_but_is_empty() -> None:
    result = lay(("slow()", ["step:fit", "skip"]), ("b = 2", ["step:report", "after:fit"]))
    assert steps_of(result) == [("fit", ()), ("report", (1,))]


def test_kale_special_tags_continue_to_following_untagged_cells() -> None:
    result = lay(
        ("import numpy as np", ["imports"]),
        "import pandas as pd",
        ("def f(): ...", ["functions"]),
        ("x = 1", ["skip"]),  # a skipped cell does not end the sticky role (as in Kale)
        "def g(): ...",
        ("lr = 0.1", ["pipeline-parameters"]),
        "epochs = 3",
        ("data = np.ones(3)", ["block:load"]),
        "more = data",
        ("print(more)", ["pipeline-metrics"]),
        "print(data)",
    )
    assert result.indices("setup") == (0, 1, 2, 4)
    assert result.indices("parameters") == (5, 6)
    assert steps_of(result) == [("load", (7, 8)), ("pipeline-metrics", (9, 10))]


def test_our_setup_and_parameters_tags_are_not_sticky() -> None:
    result = lay(("import os", ["setup"]), "x = 1", ("n = 1", ["parameters"]), "y = n")
    assert result.indices("setup") == (0,)
    assert steps_of(result) == [("main", (1, 3))]


def test_after_tags_attach_to_the_step_and_are_deduplicated() -> None:
    result = lay(
        ("a = 1", ["step:a"]), ("b = 1", ["step:b"]), ("c = 1", ["step:c", "after:a"]), ("d", ["prev:a"])
    )
    (c_step,) = [step for step in result.steps if step.name == "c"]
    assert c_step.after == (("a", 2, "after:a"),)


def test_forward_after_is_allowed_by_the_layout() -> None:
    result = lay(("a = 1", ["step:a", "after:b"]), ("b = 1", ["step:b"]))
    assert result.steps[0].after == (("b", 0, "after:b"),)


def test_after_to_an_unknown_step_names_the_cell_and_tag() -> None:
    with pytest.raises(TagError) as caught:
        lay(("a = 1", ["step:a"]), ("b = 1", ["step:b", "after:lod"]))
    assert (caught.value.cell, caught.value.tag) == (1, "after:lod")
    assert "no step named 'lod'" in str(caught.value)
    assert "steps: a, b" in str(caught.value)


def test_after_on_a_setup_cell_is_an_error() -> None:
    with pytest.raises(TagError, match="belongs to no step") as caught:
        lay(("import os", ["setup", "after:a"]), ("a = 1", ["step:a"]))
    assert caught.value.cell == 0


def test_no_cache_marks_the_step_and_is_an_error_on_a_setup_cell() -> None:
    result = lay(("a = 1", ["step:a"]), ("b = 1", ["no-cache"]), ("c = 1", ["step:c"]))
    assert [step.no_cache for step in result.steps] == [True, False]
    with pytest.raises(TagError, match="'no-cache' has no effect") as caught:
        lay(("import os", ["setup", "no-cache"]))
    assert caught.value.tag == "no-cache"


def test_only_one_injected_parameters_cell() -> None:
    with pytest.raises(TagError, match="more than one 'injected-parameters' cell") as caught:
        lay(("a = 1", ["injected-parameters"]), ("a = 2", ["injected-parameters"]))
    assert caught.value.cell == 1


def test_several_parameters_cells_are_allowed() -> None:
    result = lay(("a = 1", ["parameters"]), "x = a", ("b = 2", ["parameters"]))
    assert result.indices("parameters") == (0, 2)


def test_tags_on_markdown_cells_are_ignored() -> None:
    result = lay(RawCell("markdown", "# Load", ("step:load",)), "x = 1")
    assert steps_of(result) == [("main", (1,))]


def test_ignore_output_cells_include_nbval_comments() -> None:
    result = lay(("x = 1", ["ignore-output"]), "# NBVAL_IGNORE_OUTPUT\nprint(x)", "y = 2")
    assert result.ignore_output_cells == (0, 1)
