"""Formatting-only differences of known libraries are detected and reported, never silently matched:
the cell stays ``differ`` and ``CellComparison.formatting`` names the families that explain it. When a
value differs too, no family is named (verify must not say "the values are equal")."""

from __future__ import annotations

import pytest
from compare_builders import Output, compare, figure, result, stream

from jupyter_repro.compare import (
    CompareOptions,
    FormattingFamily,
    compare_cell,
    explain_formatting,
    formatting_families,
)

INFO_PANDAS_2 = (  # pandas 2 pads the table's lines with trailing spaces
    "<class 'pandas.core.frame.DataFrame'>\n"
    "RangeIndex: 3 entries, 0 to 2\n"
    "Data columns (total 2 columns):\n"
    " #   Column  Non-Null Count  Dtype  \n"
    "---  ------  --------------  -----  \n"
    " 0   a       3 non-null      int64  \n"
    " 1   b       3 non-null      object \n"
    "dtypes: int64(1), object(1)\n"
    "memory usage: 176.0+ bytes\n"
)
INFO_PANDAS_3 = """<class 'pandas.DataFrame'>
RangeIndex: 3 entries, 0 to 2
Data columns (total 2 columns):
 #   Column  Non-Null Count  Dtype
---  ------  --------------  -----
 0   a       3 non-null      int64
 1   b       3 non-null      str
dtypes: int64(1), str(1)
memory usage: 156.0 bytes
"""
INFO_PANDAS_0 = """<class 'pandas.core.frame.DataFrame'>
RangeIndex: 3 entries, 0 to 2
Data columns (total 2 columns):
a    3 non-null int64
b    3 non-null object
dtypes: int64(1), object(1)
memory usage: 128.0+ bytes
"""

DETECTED = [
    pytest.param([result("9")], [result("np.int64(9)")], ("numpy-scalar-repr",), id="np-int64"),
    pytest.param([result("0.5")], [result("np.float64(0.5)")], ("numpy-scalar-repr",), id="np-float64"),
    pytest.param(
        [result("(True, 'a')")],
        [result("(np.True_, np.str_('a'))")],
        ("numpy-scalar-repr",),
        id="np-bool-str",
    ),
    pytest.param(
        [result("{'a': 1, 'b': 0.30000000000000004}")],
        [result("{'b': np.float64(0.3), 'a': np.int64(1)}")],
        ("numpy-scalar-repr",),
        id="np-in-dict-reordered-within-tolerance",
    ),
    pytest.param(
        [result("numpy.datetime64('2024-01-01')")],
        [result("np.datetime64('2024-01-01')")],
        ("numpy-scalar-repr",),
        id="np-datetime64",
    ),
    pytest.param(
        [result("0    x\n1    y\nName: b, dtype: object")],
        [result("0    x\n1    y\nName: b, dtype: str")],
        ("pandas-string-dtype",),
        id="series-str-dtype",
    ),
    pytest.param(
        [result("Index(['a', 'b'], dtype='object')")],
        [result("Index(['a', 'b'], dtype='str')")],
        ("pandas-string-dtype",),
        id="index-str-dtype",
    ),
    pytest.param(
        [result("a      int64\nb     object\ndtype: object")],
        [result("a    int64\nb      str\ndtype: object")],
        ("pandas-string-dtype",),
        id="dtypes-listing",
    ),
    pytest.param(
        [result("<class 'pandas.core.frame.DataFrame'>")],
        [result("<class 'pandas.DataFrame'>")],
        ("class-path",),
        id="class-path",
    ),
    pytest.param(
        [result("Int64Index([1, 3, 5, 7, 9], dtype='int64')")],
        [result("Index([1, 3, 5, 7, 9], dtype='int64')")],
        ("pandas-index-repr",),
        id="int64index",
    ),
    pytest.param(
        [
            result(
                "Float64Index([0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0,\n"
                "              3.25], dtype='float64')"
            )
        ],
        [
            result(
                "Index([ 0.0, 0.25,  0.5, 0.75,  1.0, 1.25,  1.5, 1.75,  2.0, 2.25,  2.5, 2.75,  3.0,\n"
                "       3.25], dtype='float64')"
            )
        ],
        ("pandas-index-repr",),
        id="float64index-rewrapped",
    ),
    pytest.param(
        [result("<pandas.core.groupby.generic.DataFrameGroupBy object at 0x7f5f63d706d0>")],
        [result("<pandas.api.typing.DataFrameGroupBy object at 0x7f0011223344>")],
        ("class-path",),
        id="object-path",
    ),
    pytest.param(
        [stream(INFO_PANDAS_2)],
        [stream(INFO_PANDAS_3)],
        ("class-path", "pandas-string-dtype", "info-layout"),
        id="info-pandas-2-to-3",
    ),
    pytest.param([stream(INFO_PANDAS_0)], [stream(INFO_PANDAS_2)], ("info-layout",), id="info-pandas-0-to-2"),
    pytest.param([result("'2.1.4'")], [result("'2.2.3'")], ("version-string",), id="version-output"),
    pytest.param(
        [stream("numpy 2.1.4\npandas 2.2.3\n")],
        [stream("numpy 2.2.6\npandas 3.0.0\n")],
        ("version-string",),
        id="version-lines",
    ),
    pytest.param(
        [stream("np.__version__ = 1.26\n")],
        [stream("np.__version__ = 2.0\n")],
        ("version-string",),
        id="after-__version__",
    ),
    pytest.param([figure(100)], [figure(200)], ("figure-size",), id="dpi-doubled"),
    pytest.param(
        [result({"text/latex": "$$x^{2} + \\sin{\\left (z \\right )}$$", "text/plain": "x**2 + sin(z)"})],
        [
            result(
                {
                    "text/latex": "$\\displaystyle x^{2} + \\sin{\\left(z \\right)}$",
                    "text/plain": "x**2 + sin(z)",
                }
            )
        ],
        ("sympy-latex",),
        id="sympy-latex-markup",
    ),
    pytest.param(
        [stream("module://ipykernel.pylab.backend_inline\n")],
        [stream("inline\n")],
        ("inline-backend",),
        id="inline-backend-renamed",
    ),
    pytest.param(
        [result("9"), stream("numpy 1.26.4\n")],
        [result("np.int64(9)"), stream("numpy 2.1.0\n")],
        ("numpy-scalar-repr", "version-string"),
        id="two-families-two-outputs",
    ),
]


@pytest.mark.parametrize(("saved", "new", "families"), DETECTED)
def test_formatting_only_difference_is_named_and_still_differs(
    saved: list[Output], new: list[Output], families: tuple[str, ...]
) -> None:
    comparison = compare(saved, new)
    assert comparison.status == "differ"
    assert comparison.formatting == families
    assert "only the formatting differs" in comparison.reason
    assert comparison.diff


NOT_FORMATTING = [
    pytest.param([result("9")], [result("np.int64(10)")], id="np-value-changed"),
    pytest.param([result("0.5")], [result("np.float32(0.6)")], id="np-float-changed"),
    pytest.param([result("True")], [result("np.False_")], id="np-bool-changed"),
    pytest.param([result("'a'")], [result("np.str_('b')")], id="np-str-changed"),
    pytest.param(
        [result("0    x\n1    y\nName: b, dtype: object")],
        [result("0    x\n1    z\nName: b, dtype: str")],
        id="str-dtype-and-value",
    ),
    pytest.param(
        [result("<class 'pandas.core.frame.DataFrame'>")],
        [result("<class 'pandas.Series'>")],
        id="other-class",
    ),
    pytest.param(
        [stream(INFO_PANDAS_2)],
        [stream(INFO_PANDAS_3.replace("3 non-null      int64", "2 non-null      int64"))],
        id="info-count",
    ),
    pytest.param(
        [stream(INFO_PANDAS_2)], [stream(INFO_PANDAS_3.replace("3 entries", "4 entries"))], id="info-rows"
    ),
    pytest.param([result("'2.1.4'")], [result("'2.1.4-beta'")], id="not-a-version"),
    pytest.param(
        [result("Int64Index([3, 5, 7], dtype='int64')")],
        [result("Index([False, True, True], dtype='bool')")],
        id="index-operator-changed-meaning",
    ),
    pytest.param([stream("accuracy 0.91\n")], [stream("accuracy 0.93\n")], id="float-is-not-a-version"),
    pytest.param(
        [stream("numpy 2.1.4 loaded 10 rows\n")],
        [stream("numpy 2.2.0 loaded 11 rows\n")],
        id="version-and-data",
    ),
    pytest.param([figure(100)], [figure(200, axes=2)], id="figure-size-and-axes"),
    pytest.param([figure(100)], [figure(100, values=(1, 2, 4))], id="same-size-other-plot"),
    pytest.param(
        [result({"text/latex": "$$2 x$$", "text/plain": "2*x"})],
        [result({"text/latex": "$\\displaystyle 3 x$", "text/plain": "3*x"})],
        id="sympy-other-formula",
    ),
    pytest.param([result("a  b")], [result("a b")], id="spacing-only-is-no-family"),
    pytest.param([result("9")], [result("np.int64(9)"), result("1")], id="extra-output"),
]


@pytest.mark.parametrize(("saved", "new"), NOT_FORMATTING)
def test_a_real_difference_is_not_called_formatting(saved: list[Output], new: list[Output]) -> None:
    comparison = compare(saved, new)
    assert comparison.status == "differ"
    assert comparison.formatting == ()


def test_formatting_is_empty_unless_the_cell_differs() -> None:
    assert compare([result("9")], [result("9")]).formatting == ()
    assert compare_cell(0, [result("9")], None, [result("np.int64(9)")], ignored=False).formatting == ()
    assert compare_cell(0, [result("9")], 1, [result("np.int64(9)")], ignored=True).formatting == ()


def test_formatting_is_not_part_of_the_json_contract() -> None:
    assert set(compare([result("9")], [result("np.int64(9)")]).to_json()) == {"index", "status", "diff"}


def test_families_are_listed_with_one_line_explanations() -> None:
    families = formatting_families()
    names = [family.name for family in families]
    assert names == [
        "numpy-scalar-repr",
        "class-path",
        "pandas-string-dtype",
        "pandas-index-repr",
        "info-layout",
        "sympy-latex",
        "inline-backend",
        "figure-size",
        "version-string",
    ]
    for family in families:
        assert isinstance(family, FormattingFamily)
        assert family.explanation
        assert "\n" not in family.explanation
        assert explain_formatting(family.name) == family.explanation
    assert explain_formatting("no-such-family") == "no such family"
    detected = {name for param in DETECTED for name in param.values[2]}  # type: ignore[union-attr]
    assert detected == set(names)


def test_float_tolerance_applies_after_the_rewrite() -> None:
    saved, new = [result("0.30000000000000004")], [result("np.float64(0.3)")]
    assert compare(saved, new).formatting == ("numpy-scalar-repr",)
    assert compare(saved, new, CompareOptions(disabled=frozenset({"floats"}))).formatting == ()
