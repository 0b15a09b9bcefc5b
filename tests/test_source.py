"""Cell source as Python: magics translated, parsing, and normalised code (the text of cache keys)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_repro.errors import PipelineError
from jupyter_repro.source import normalised_code, parse_cell, parse_or_reason

VALID_FRAGMENTS = [
    "x = 1", "y = x + z", "df.dropna(inplace=True)", "lst.append(x)", "def f(a):\n    return a + g",
    "f(y)", "class C:\n    k = 1", "for i in range(3):\n    s += i", "import os", "from m import *",
    "%time t = 1", "!ls", "[q for q in qs]", "(w := 3)", "if a:\n    b = 1",
    "try:\n    c = d\nexcept E as e:\n    pass", "del x", "global g", "lambda: h", "x[0] = y",
    "with ctx() as (u, v):\n    pass", "async def co():\n    await z",
    "match p:\n    case [a1, *r]:\n        pass", "@dec\ndef h(): ...", "exec(s)",
]  # fmt: skip
"""Small cells that parse (some with magics), also used to build cells in ``test_dataflow.py``."""


# ---- normalised code (cache keys)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("x = 1", "x = 1  # set x"),
        ("x = 1\ny = 2", "# header\n\nx = 1\n\n\ny = 2\n"),
        ("x=1", "x = 1"),
        ("f(a,b)", "f(\n    a,\n    b,\n)"),
        ("%matplotlib inline\nx = 1", "%matplotlib inline\n# comment\nx = 1"),
        ("x = (1,", "x = (1,  \n# comment\n"),  # does not parse: comment lines are dropped
        ("def broken(:\n    pass", "# a SyntaxError demo\ndef broken(:   \n\n    pass\n"),
        ("%time y = f(x)", "%time y = f(x)  # timed"),  # the Python a magic runs is normalised too
        ("%%time\nz = 1", "%%time\n# the body is Python\nz=1  # set z\n"),
        ("%%capture out\nprint(a)", "%%capture out\n\nprint( a )\n"),
        ("x = !ls", "x = !ls\n# list the folder"),
    ],
)
def test_normalised_code_ignores_comments_and_formatting(first: str, second: str) -> None:
    assert normalised_code(first) == normalised_code(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("x = 1", "x = 2"),
        ("x = '# not a comment'", "x = ''"),
        ("f(a, b)", "f(b, a)"),
        ("x = (1,", "x = (2,"),
        ("def broken(:\n    pass", "def broken(:\n    return"),
        ("%time y = f(x)", "%time y = g(x)"),
        ("%%time\nz = 1", "%%time\nz = 2"),
        ("%%bash\necho a", "%%bash\necho b"),
        ("!ls", "!ls -la"),
        ("%matplotlib inline", "%matplotlib widget"),
    ],
)
def test_normalised_code_keeps_code_changes(first: str, second: str) -> None:
    assert normalised_code(first) != normalised_code(second)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(VALID_FRAGMENTS), min_size=1, max_size=6),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),  # no NUL: Python rejects it
)
def test_adding_a_comment_line_never_changes_normalised_code(parts: list[str], comment: str) -> None:
    code = "\n".join(parts)
    commented = "# " + comment.replace("\n", " ").replace("\r", " ") + "\n" + code
    assert normalised_code(commented) == normalised_code(code)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_normalised_code_never_crashes(source: str) -> None:
    assert isinstance(normalised_code(source), str)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(VALID_FRAGMENTS), min_size=1, max_size=4),
    st.sampled_from(["%%time", "%%capture out", "%%timeit"]),
)
def test_a_comment_line_in_a_python_cell_magic_never_changes_normalised_code(
    parts: list[str], magic: str
) -> None:
    body = "\n".join(part for part in parts if not part.startswith("%"))
    assert normalised_code(f"{magic}\n# a comment\n{body}") == normalised_code(f"{magic}\n{body}")


# ---- parsing: IPython syntax through IPython's own transformer, and cells that do not parse


def test_parse_cell_returns_plain_python_for_magics() -> None:
    tree = parse_cell("%time x = 1")
    assert len(tree.body) == 1


@pytest.mark.parametrize(
    "source",
    [
        "!ls", "x = !ls", "%%capture out\nprint(1)", "%time y = f(x)", "%matplotlib inline", "obj?",
        "??obj", "%%bash\necho $HOME", "%%html\n<b>hi</b>", "/f 1 2", ",f a b", "%load_ext autoreload",
        "  x = 1\n  y = 2",
    ],
)  # fmt: skip
def test_ipython_syntax_parses(source: str) -> None:
    tree, reason = parse_or_reason(source)
    assert tree is not None
    assert reason is None


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("def broken(:\n    pass", "syntax error on line 1"),
        ("x = 1\ny = = 2", "syntax error on line 2"),
        ("print 'hello'", "Missing parentheses"),
        ("f 1", "syntax error"),  # auto-call without the '/' escape needs %autocall: a SyntaxError
        ("a\x00b", "null bytes"),
    ],
)
def test_a_cell_that_does_not_parse_gives_a_one_line_reason(source: str, fragment: str) -> None:
    tree, reason = parse_or_reason(source)
    assert tree is None
    assert reason is not None
    assert fragment in reason
    assert "\n" not in reason


def test_parse_cell_still_raises_for_callers_that_need_the_code() -> None:
    with pytest.raises(PipelineError, match=r"cell 4: syntax error on line 1") as caught:
        parse_cell("def broken(:", notebook="nb.ipynb", cell=4)
    assert "\n" not in str(caught.value)
