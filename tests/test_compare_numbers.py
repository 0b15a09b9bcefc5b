"""Numbers in NumPy arrays and pandas tables: compared as numbers, with an absolute tolerance scaled to
their neighbours (float noise from another BLAS), whatever padding or style block the library prints;
and a real change, even of a small number beside large ones in another column, still differs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from compare_builders import Output, compare, display, result, stream

from jupyter_repro.compare import CompareOptions, texts_equivalent
from jupyter_repro.compare.numeric import neighbour_groups, tokens

EIGEN_SAVED = "array([ 1.61168440e+01, -1.11684397e+00, -1.30367773e-15])"
EIGEN_NEW = "array([ 1.61168440e+01, -1.11684397e+00, -9.75918483e-16])"


def frame(values: list[float], other: list[float] | None = None) -> pd.DataFrame:
    columns = {"n": [1, 2, 3], "x": values}
    if other is not None:
        columns["p"] = other
    return pd.DataFrame(columns)


def frame_outputs(data: pd.DataFrame) -> list[Output]:
    return [result({"text/html": data._repr_html_(), "text/plain": repr(data)})]


@pytest.mark.parametrize(
    ("saved", "new"),
    [
        (EIGEN_SAVED, EIGEN_NEW),
        (EIGEN_SAVED, EIGEN_NEW.replace("-9.75918483e-16", " 9.75918483e-16")),  # noise changed sign
        ("[ 1.61168440e+01 -1.11684397e+00 -1.30367773e-15]", "[ 1.61168440e+01 -1.11684397e+00\n  4.1e-16]"),
        (  # a 2-D array: each column has its own scale
            "array([[ 1.00000000e+00, -2.77555756e-17],\n       [ 5.55111512e-17,  1.00000000e+00]])",
            "array([[ 1.00000000e+00,  0.00000000e+00],\n       [-1.11022302e-16,  1.00000000e+00]])",
        ),
        (
            "tensor([ 1.6117e+01, -1.1168e+00, -1.3037e-15])",
            "tensor([ 1.6117e+01, -1.1168e+00,  9.7592e-16])",
        ),
    ],
    ids=["eigenvalues-repr", "noise-sign-flip", "print-form-rewrapped", "identity-2d", "torch"],
)
def test_array_float_noise_matches(saved: str, new: str) -> None:
    assert compare([result(saved)], [result(new)]).status == "match"
    assert compare([result(saved)], [result(new)], CompareOptions(float_rtol=0.0)).status == "differ"


@pytest.mark.parametrize(
    ("saved", "new"),
    [
        (EIGEN_SAVED, EIGEN_SAVED.replace("-1.11684397e+00", "-1.21684397e+00")),
        (EIGEN_SAVED, EIGEN_SAVED.replace("-1.30367773e-15", "-1.30367773e-03")),  # not noise at scale 16
        (EIGEN_SAVED, "array([ 1.61168440e+01, -1.11684397e+00])"),
        (EIGEN_SAVED, EIGEN_SAVED.replace("array", "matrix")),
        ("array([1, 2, 3])", "array([1, 2, 4])"),  # integers stay exact inside arrays
        ("[0.5, 1e-17]", "[0.5, 3e-10]"),  # a Python list is not an array: no neighbour tolerance
    ],
    ids=["large-value", "small-value-beyond-scale", "length", "type", "integers", "python-list"],
)
def test_array_real_changes_differ(saved: str, new: str) -> None:
    assert compare([result(saved)], [result(new)]).status == "differ"


def test_dataframe_noise_matches_in_text_and_html() -> None:
    saved = frame([16.116844, -1.30367773e-15, 2.0])
    new = frame([16.116844, 9.75918483e-16, 2.0])
    assert compare(frame_outputs(saved), frame_outputs(new)).status == "match"
    plain = [stream(repr(saved) + "\n")], [stream(repr(new) + "\n")]
    assert compare(*plain).status == "match"
    series = [result(repr(saved["x"]))], [result(repr(new["x"]))]
    assert compare(*series).status == "match"


def test_dataframe_columns_keep_their_own_scale() -> None:
    """A small probability next to a large price in the same row is compared at its own scale."""
    saved = frame([1.0e6, 2.0e6, 3.0e6], other=[0.001, 0.002, 0.003])
    new = frame([1.0e6, 2.0e6, 3.0e6], other=[0.001, 0.0025, 0.003])
    assert compare(frame_outputs(saved), frame_outputs(new)).status == "differ"
    assert compare([stream(repr(saved) + "\n")], [stream(repr(new) + "\n")]).status == "differ"


def test_dataframe_value_and_label_changes_differ() -> None:
    saved = frame([16.116844, -1.3e-15, 2.0])
    assert compare(frame_outputs(saved), frame_outputs(frame([16.116844, -1.3e-15, 2.5]))).status == "differ"
    renamed = saved.rename(columns={"x": "y"})
    assert compare(frame_outputs(saved), frame_outputs(renamed)).status == "differ"


def test_pandas_style_block_and_padding_are_layout() -> None:
    data = frame([1.5, 2.25, 3.0])
    html = data._repr_html_()
    bare = html.replace(html[html.index("<style scoped>") : html.index("</style>") + len("</style>\n")], "")
    assert compare([display({"text/html": html})], [display({"text/html": bare})]).status == "match"
    off = CompareOptions(disabled=frozenset({"layout"}))
    assert compare([display({"text/html": html})], [display({"text/html": bare})], off).status == "differ"
    repadded = repr(data).replace("  1.50", " 1.50")
    assert repadded != repr(data)
    assert compare([result(repr(data))], [result(repadded)]).status == "match"


def test_layout_keeps_the_spaces_between_words() -> None:
    saved = pd.DataFrame({"city": ["New York", "Paris"], "x": [1.5, 2.5]})
    new = pd.DataFrame({"city": ["NewYork", "Paris"], "x": [1.5, 2.5]})
    assert compare([stream(repr(saved) + "\n")], [stream(repr(new) + "\n")]).status == "differ"
    assert compare(frame_outputs(saved), frame_outputs(new)).status == "differ"


def test_layout_applies_only_where_there_is_a_table() -> None:
    assert not texts_equivalent("total  1.5", "total 1.5")
    assert texts_equivalent("a  1.5\nb  2.5", "a 1.5\nb 2.5")


def test_numpy_printed_by_numpy_itself_round_trips() -> None:
    """Real NumPy output: the same matrix printed with a perturbation at 1e-15 of its scale."""
    matrix = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    noisy = matrix + np.array([[0.0, 3e-15, 0.0], [0.0, 0.0, -4e-15], [2e-15, 0.0, 0.0]])
    assert texts_equivalent(
        repr(np.linalg.inv(matrix.T @ matrix + np.eye(3))), repr(np.linalg.inv(noisy.T @ noisy + np.eye(3)))
    )
    assert not texts_equivalent(repr(matrix), repr(matrix * 1.001))


def test_neighbour_groups_are_whole_1d_arrays_and_columns_otherwise() -> None:
    one = tokens(EIGEN_SAVED)
    assert len(set(neighbour_groups(one).values())) == 1
    two = tokens("array([[1.5, 2.5],\n       [3.5, 4.5]])")
    groups = neighbour_groups(two)
    assert groups[0] == groups[2] != groups[1] == groups[3]
    assert neighbour_groups(tokens("loss 0.5")) == {}
