"""Output comparison for verify: each normalisation rule prevents a false alarm and lets a real change
through; cell statuses; bounded diffs; invariants with hypothesis. The newer rules have their own
files: test_compare_volatile.py (timings, profiles, progress, rendered images), test_compare_numbers.py
(arrays and tables) and test_compare_formatting.py (formatting families)."""

from __future__ import annotations

from typing import Any

import pytest
from compare_builders import (
    BASE,
    BIG,
    ON_WHITE,
    TRACEBACK,
    Output,
    compare,
    display,
    encoded,
    error,
    figure_png,
    figure_svg,
    formula,
    on_transparent,
    png_bundle,
    result,
    shifted_by_one,
    stream,
    with_square,
)
from hypothesis import given
from hypothesis import strategies as st

from jupyter_repro.compare import (
    DEFAULT_OPTIONS,
    RULES,
    CompareOptions,
    NormalisedOutput,
    compare_cell,
    normalise_outputs,
    normalise_text,
    texts_equivalent,
)

PROFILE = (
    "         68 function calls (2 primitive calls) in {total} seconds\n\n   Ordered by: internal time\n\n"
    "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)\n"
    "{rows}\n\n"
)
# ------------------------------------------------------------------------------- rules: false alarms

FALSE_ALARMS = [
    pytest.param(
        "streams", [stream("a\n"), stream("b\n")], [stream("a\nb\n")], id="streams-split-differently"
    ),
    pytest.param(
        "streams",
        [stream("a\n"), stream("careful\n", "stderr"), stream("b\n")],
        [stream("a\nb\n"), stream("careful\n", "stderr")],
        id="streams-stdout-stderr-interleaving",
    ),
    pytest.param(
        "carriage_returns",
        [stream("step 3/3\ndone\n")],
        [stream("step 1/3\rstep 2/3\rstep 3/3\ndone\n")],
        id="carriage-return-progress",
    ),
    pytest.param(
        "progress",
        [stream("train: 100%|##########| 10/10 [00:01<00:00,  9.53it/s]\n", "stderr")],
        [stream("train: 100%|##########| 10/10 [00:02<00:00,  4.98it/s]\n", "stderr")],
        id="tqdm-times-and-rates",
    ),
    pytest.param(
        "progress",
        [stream("12it [00:01,  9.53it/s]\n", "stderr")],
        [stream("12it [00:03,  3.91it/s]\n", "stderr")],
        id="tqdm-without-total",
    ),
    pytest.param("ansi", [stream("\x1b[31merror\x1b[0m\n")], [stream("error\n")], id="ansi-colours"),
    pytest.param(
        "addresses",
        [result("<__main__.Foo object at 0x7f3a2b1c4d50>")],
        [result("<__main__.Foo object at 0x7f9e8d7c6b10>")],
        id="memory-address",
    ),
    pytest.param(
        "datetimes",
        [stream("started 2024-01-02 03:04:05.123456\n")],
        [stream("started 2025-06-07 08:09:10.654321\n")],
        id="datetime-with-microseconds",
    ),
    pytest.param(
        "datetimes",
        [result("Timestamp('2024-01-02T03:04:05Z')")],
        [result("Timestamp('2024-11-12T13:14:15Z')")],
        id="iso-datetime",
    ),
    pytest.param(
        "datetimes",
        [stream("2024-01-02 03:04:05,123 INFO loaded\n", "stderr")],
        [stream("2024-01-03 10:11:12,987 INFO loaded\n", "stderr")],
        id="logging-timestamp",
    ),
    pytest.param(
        "datetimes",
        [result("datetime.datetime(2024, 1, 2, 3, 4, 5, 123456)")],
        [result("datetime.datetime(2025, 2, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)")],
        id="datetime-repr",
    ),
    pytest.param(
        "datetimes",
        [stream("Sat Nov 22 07:27:11 2026\n")],
        [stream("Mon Dec  1 17:02:59 2026\n")],
        id="ctime",
    ),
    pytest.param(
        "datetimes",
        [stream("time:07:27:11 step=3\n")],
        [stream("time:17:02:59 step=3\n")],
        id="clock-after-a-colon",
    ),
    pytest.param(
        "durations",
        [stream("CPU times: user 1.2 ms, sys: 0 ns, total: 1.2 ms\nWall time: 2.5 ms\n")],
        [stream("CPU times: user 3.4 ms, sys: 10 µs, total: 3.41 ms\nWall time: 4.1 ms\n")],
        id="time-magic",
    ),
    pytest.param(
        "durations",
        [stream("1.23 ms ± 45.6 µs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)\n")],
        [stream("987 µs ± 12.1 µs per loop (mean ± std. dev. of 7 runs, 1 loop each)\n")],
        id="timeit-magic",
    ),
    pytest.param(
        "durations", [stream("training took 12.5 s\n")], [stream("training took 13.9 s\n")], id="took-seconds"
    ),
    pytest.param(
        "temp_paths",
        [stream("saved to /tmp/tmpab12cd34/out.csv\n")],
        [stream("saved to /tmp/tmpzz98yx76/out.csv\n")],
        id="tempfile-directory",
    ),
    pytest.param(
        "temp_paths",
        [error("FileNotFoundError", "[Errno 2] No such file: '/tmp/tmpab12cd34/x'")],
        [error("FileNotFoundError", "[Errno 2] No such file: '/tmp/tmpzz98yx76/x'")],
        id="tempfile-in-expected-error",
    ),
    pytest.param(
        "temp_paths",
        [stream("defined in /tmp/ipykernel_1234/567.py\n")],
        [stream("defined in /tmp/ipykernel_98/4242.py\n")],
        id="ipykernel-cell-file",
    ),
    pytest.param(
        "warning_paths",
        [
            stream(
                "/home/ann/.venv/lib/python3.11/site-packages/pandas/core/frame.py:1234: "
                "FutureWarning: use concat\n  return df.append(row)\n",
                "stderr",
            )
        ],
        [
            stream(
                "/opt/venv/lib/python3.11/site-packages/pandas/core/frame.py:1301: "
                "FutureWarning: use concat\n  return df.append(row)\n",
                "stderr",
            )
        ],
        id="warning-prefix",
    ),
    pytest.param(
        "warning_paths",
        [stream('Traceback:\n  File "/home/ann/lib.py", line 12, in load\n    open(p)\n', "stderr")],
        [stream('Traceback:\n  File "/srv/lib.py", line 14, in load\n    open(p)\n', "stderr")],
        id="printed-traceback-frame",
    ),
    pytest.param(
        "ids",
        [stream("run id 123e4567-e89b-12d3-a456-426614174000\n")],
        [stream("run id 9b2f1c3e-0000-4abc-8def-0123456789ab\n")],
        id="uuid",
    ),
    pytest.param(
        "ids",
        [display({"text/html": '<table id="T_1a2b3"><td id="T_1a2b3_row0_col0">1</td></table>'})],
        [display({"text/html": '<table id="T_9f8e7"><td id="T_9f8e7_row0_col0">1</td></table>'})],
        id="pandas-styler-ids",
    ),
    pytest.param(
        "ids",
        [display({"image/svg+xml": figure_svg([1, 2, 3]), "text/plain": "<Figure>"})],
        [display({"image/svg+xml": figure_svg([1, 2, 3]), "text/plain": "<Figure>"})],
        id="matplotlib-svg-rendered-twice",
    ),
    pytest.param(
        "widgets",
        [display({"application/vnd.jupyter.widget-view+json": {"model_id": "a1", "version_major": 2}})],
        [display({"application/vnd.jupyter.widget-view+json": {"model_id": "f9", "version_major": 2}})],
        id="widget-model-id",
    ),
    pytest.param("reprs", [result("{'b', 'a', 'c'}")], [result("{'c', 'a', 'b'}")], id="set-order"),
    pytest.param(
        "reprs",
        [stream("counts: \n{'x': 1, 'y': [{2, 1}]}\n")],
        [stream("counts: \n{'y': [{1, 2}], 'x': 1}\n")],
        id="nested-dict-set-in-stdout-line",
    ),
    pytest.param(
        "reprs",
        [result("{'alpha': 1,\n 'beta': 2}")],
        [result("{'beta': 2, 'alpha': 1}")],
        id="pprinted-dict",
    ),
    pytest.param("floats", [result("0.30000000000000004")], [result("0.3")], id="float-repr-noise"),
    pytest.param(
        "floats",
        [stream("loss=1.2345678e-03 acc=0.9100000\n")],
        [stream("loss=1.2345679e-03 acc=0.9100001\n")],
        id="floats-within-rtol",
    ),
    pytest.param(
        "images",
        [display(png_bundle(encoded(BASE)))],
        [display(png_bundle(encoded(BASE, compress_level=1, pnginfo=None)))],
        id="same-pixels-other-encoding",
    ),
    pytest.param(
        "images",
        [display(png_bundle(encoded(BASE)))],
        [display(png_bundle(encoded(shifted_by_one(BASE))))],
        id="one-level-rendering-noise",
    ),
    pytest.param(
        "images",
        [display(png_bundle(encoded(ON_WHITE)))],
        [display(png_bundle(encoded(on_transparent(ON_WHITE))))],
        id="transparent-background-over-white",
    ),
    pytest.param(
        "images",
        [display(png_bundle(figure_png([1, 2, 3], "first")))],
        [display(png_bundle(figure_png([1, 2, 3], "second")))],
        id="matplotlib-figure-rendered-twice",
    ),
    pytest.param(
        "profiles",
        [
            stream(
                PROFILE.format(
                    total="0.004", rows="     67/1    0.000    0.000    0.003    0.003 <CELL>:1(f)"
                )
            )
        ],
        [
            stream(
                PROFILE.format(
                    total="0.009", rows="     67/1    0.001    0.000    0.008    0.008 <CELL>:1(f)"
                )
            )
        ],
        id="prun-times",
    ),
    pytest.param(
        "layout",
        [result("array([ 1.5, -2. ,  0. ])")],
        [result("array([ 1.5, -2. , -0. ])")],
        id="array-sign-padding",
    ),
    pytest.param("rendered_images", [formula(20)], [formula(19)], id="sympy-formula-one-pixel-shorter"),
]


@pytest.mark.parametrize(("rule", "saved", "new"), FALSE_ALARMS)
def test_rule_prevents_false_alarm(rule: str, saved: list[Output], new: list[Output]) -> None:
    assert compare(saved, new).status == "match"
    without_rule = compare(saved, new, CompareOptions(disabled=frozenset({rule})))
    assert without_rule.status != "match", f"the case does not exercise rule {rule!r}"


def test_every_rule_has_a_false_alarm_case() -> None:
    covered = {param.values[0] for param in FALSE_ALARMS}
    assert covered == RULES


# ------------------------------------------------------------------------------ rules: real changes

REAL_CHANGES = [
    pytest.param([stream("a\n"), stream("b\n")], [stream("a\nc\n")], id="streams-merged-text-changed"),
    pytest.param([stream("a\n")], [stream("a\n", "stderr")], id="stdout-became-stderr"),
    pytest.param([stream("step 1/3\rstep 2/3\n")], [stream("step 3/3\n")], id="carriage-return-final-state"),
    pytest.param(
        [stream("100%|##########| 10/10 [00:01<00:00,  9.53it/s]\n", "stderr")],
        [stream("100%|##########| 20/20 [00:01<00:00,  9.53it/s]\n", "stderr")],
        id="tqdm-total-changed",
    ),
    pytest.param(
        [stream("\x1b[31merror\x1b[0m\n")], [stream("\x1b[31mwarning\x1b[0m\n")], id="coloured-text-changed"
    ),
    pytest.param(
        [result("<__main__.Foo object at 0x7f3a2b1c4d50>")],
        [result("<__main__.Bar object at 0x7f3a2b1c4d50>")],
        id="object-type-changed",
    ),
    pytest.param(
        [stream("2024-01-02 03:04:05 loaded 10 rows\n")],
        [stream("2024-01-02 03:04:05 loaded 11 rows\n")],
        id="text-beside-timestamp-changed",
    ),
    pytest.param([result("'2024-01-02'")], [result("'2024-01-03'")], id="bare-date-is-data"),
    pytest.param(
        [stream("ratio 1:12:03:04\n")], [stream("ratio 1:12:03:05\n")], id="four-fields-are-no-clock"
    ),
    pytest.param(
        [stream("Wall time: 1 s\nresult 42\n")],
        [stream("Wall time: 2 s\nresult 43\n")],
        id="result-after-timing",
    ),
    pytest.param(
        [stream("saved to /tmp/tmpab12cd34/out.csv\n")],
        [stream("saved to /tmp/tmpzz98yx76/other.csv\n")],
        id="file-in-tempdir-changed",
    ),
    pytest.param(
        [stream("/a/site-packages/lib.py:12: FutureWarning: use concat\n", "stderr")],
        [stream("/a/site-packages/lib.py:12: DeprecationWarning: use concat\n", "stderr")],
        id="warning-category-changed",
    ),
    pytest.param(
        [stream("/a/lib.py:12: UserWarning: x\n")],
        [stream("/b/lib.py:13: UserWarning: x\n")],
        id="warning-paths-only-in-stderr",
    ),
    pytest.param(
        [display({"text/html": '<table id="T_1a2b3"><td id="T_1a2b3_row0_col0">1</td></table>'})],
        [display({"text/html": '<table id="T_9f8e7"><td id="T_9f8e7_row0_col0">2</td></table>'})],
        id="styled-table-cell-changed",
    ),
    pytest.param(
        [display({"image/svg+xml": figure_svg([1, 2, 3]), "text/plain": "<Figure>"})],
        [display({"image/svg+xml": figure_svg([1, 2, 4]), "text/plain": "<Figure>"})],
        id="svg-plot-data-changed",
    ),
    pytest.param(
        [display({"application/vnd.jupyter.widget-view+json": {"model_id": "a1", "version_major": 2}})],
        [display({"application/vnd.jupyter.widget-view+json": {"model_id": "a1", "version_major": 3}})],
        id="widget-content-changed",
    ),
    pytest.param([result("{'a': 1, 'b': 2}")], [result("{'b': 3, 'a': 1}")], id="dict-value-changed"),
    pytest.param([result("{'a', 'b'}")], [result("{'a', 'b', 'c'}")], id="set-member-added"),
    pytest.param([result("[1, 2, 3]")], [result("[3, 2, 1]")], id="list-order-matters"),
    pytest.param(
        [result("Counter({'a': 2, 'b': 1})")],
        [result("Counter({'b': 1, 'a': 2})")],
        id="non-literal-repr-compared-as-text",
    ),
    pytest.param([result("0.3001")], [result("0.3")], id="float-beyond-rtol"),
    pytest.param([result("rows: 1000000")], [result("rows: 1000001")], id="integers-are-exact"),
    pytest.param([result("1.0 2.0")], [result("1.0, 2.0")], id="float-text-structure-changed"),
    pytest.param(
        [result("6.62607015e-34")], [result("9.1093837e-31")], id="tiny-floats-no-absolute-tolerance"
    ),
    pytest.param(
        [display(png_bundle(encoded(BASE)))],
        [display(png_bundle(encoded(with_square(BASE, (20, 10, 35, 25)))))],
        id="image-square-drawn",
    ),
    pytest.param(
        [display(png_bundle(encoded(BIG)))],
        [display(png_bundle(encoded(with_square(BIG, (300, 200, 309, 209)))))],
        id="image-small-square-on-large-figure",
    ),
    pytest.param(
        [display(png_bundle(encoded(BASE)))],
        [display(png_bundle(encoded(BASE.resize((64, 47)))))],
        id="image-size-changed",
    ),
    pytest.param(
        [display(png_bundle(figure_png([1, 2, 3], "a")))],
        [display(png_bundle(figure_png([1, 2, 4], "a")))],
        id="matplotlib-data-changed",
    ),
    pytest.param(
        [display(png_bundle(encoded(BASE)))],
        [display({"text/plain": "<Figure size 320x240 with 1 Axes>"})],
        id="image-became-text-only",
    ),
    pytest.param([result("1")], [result("1"), stream("extra\n")], id="extra-output"),
    pytest.param([stream("x\n")], [stream("x\n"), result("1")], id="output-added-after-stream"),
]


@pytest.mark.parametrize(("saved", "new"), REAL_CHANGES)
def test_real_change_still_differs(saved: list[Output], new: list[Output]) -> None:
    comparison = compare(saved, new)
    assert comparison.status == "differ"
    assert comparison.diff


# --------------------------------------------------------------------------- always-on normalisation


def test_execution_counts_and_metadata_are_ignored() -> None:
    saved = [result("42", count=3, metadata={"scrolled": True})]
    assert compare(saved, [result("42", count=1)]).status == "match"
    assert compare(saved, [result("43", count=3, metadata={"scrolled": True})]).status == "differ"


def test_execute_result_and_display_data_are_one_kind() -> None:
    assert compare([result({"text/plain": "x"})], [display({"text/plain": "x"})]).status == "match"
    assert compare([result({"text/plain": "x"})], [display({"text/plain": "y"})]).status == "differ"


def test_multiline_list_values_are_joined() -> None:
    saved = [{"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"]}]
    assert compare(saved, [stream("a\nb\n")]).status == "match"
    assert compare(saved, [stream("a\nc\n")]).status == "differ"


# ----------------------------------------------------------------------------------- mime bundles


def test_html_is_compared_when_both_sides_have_it() -> None:
    saved = [result({"text/html": "<b>1</b>", "text/plain": "1"})]
    assert compare(saved, [result({"text/html": "<b>2</b>", "text/plain": "1"})]).status == "differ"
    assert compare(saved, [result({"text/html": "<b>1</b>", "text/plain": "9"})]).status == "match"


def test_falls_back_to_a_representation_both_sides_have() -> None:
    saved = [result({"text/html": "<table>...</table>", "text/plain": "   a\n0  1"})]
    assert compare(saved, [result({"text/plain": "   a\n0  1"})]).status == "match"
    assert compare(saved, [result({"text/plain": "   a\n0  2"})]).status == "differ"
    assert compare(saved, [result({"text/markdown": "1"})]).status == "differ"


def test_vendor_payload_yields_to_text_plain() -> None:
    def plot(div: str, text: str) -> Output:
        return display({"application/vnd.plotly.v1+json": {"config": {}, "div": div}, "text/plain": text})

    assert compare([plot("a1b2", "Figure(1 trace)")], [plot("c3d4", "Figure(1 trace)")]).status == "match"
    assert compare([plot("a1b2", "Figure(1 trace)")], [plot("a1b2", "Figure(2 traces)")]).status == "differ"


def test_vendor_payload_without_text_is_compared_as_canonical_json() -> None:
    def own(payload: dict[str, Any]) -> Output:
        return display({"application/vnd.jupyter-repro.summary+json": payload})

    assert compare([own({"a": 1, "b": 2})], [own({"b": 2, "a": 1})]).status == "match"
    assert compare([own({"a": 1, "b": 2})], [own({"a": 1, "b": 3})]).status == "differ"


def test_json_payloads_are_json_not_multiline_text() -> None:
    saved = [display({"application/json": [{"b": 1, "a": 2}, "x"]})]
    assert compare(saved, [display({"application/json": [{"a": 2, "b": 1}, "x"]})]).status == "match"
    assert compare(saved, [display({"application/json": [{"a": 2, "b": 1}, "y"]})]).status == "differ"
    assert compare(saved, [display({"application/json": ["x", {"a": 2, "b": 1}]})]).status == "differ"


def test_normalised_output_exposes_preferred_representation() -> None:
    (output,) = normalise_outputs([result({"text/plain": "<Figure>", "image/png": "iVBO\nRw0K"})])
    assert output == NormalisedOutput(
        "data", "execute_result", {"text/plain": "<Figure>", "image/png": "iVBORw0K"}, "image/png"
    )
    assert output.text == "<image/png>"


# --------------------------------------------------------------------------------------- statuses


def test_never_executed_cell_is_unverified_even_when_outputs_agree() -> None:
    comparison = compare_cell(0, [], None, [], ignored=False)
    assert comparison.status == "unverified"
    assert comparison.diff is None
    assert compare_cell(0, [stream("x\n")], None, [stream("x\n")], ignored=False).status == "unverified"


def test_executed_cell_with_no_saved_outputs_must_produce_none() -> None:
    assert compare([], []).status == "match"
    assert compare([], [stream("")]).status == "match"
    produced = compare([], [stream("surprise\n")])
    assert produced.status == "differ"
    assert "+surprise" in (produced.diff or "")


def test_ignored_cell_is_not_compared() -> None:
    comparison = compare_cell(1, [stream("a\n")], 2, [stream("b\n")], ignored=True)
    assert (comparison.status, comparison.diff) == ("ignored", None)
    assert compare_cell(1, [stream("a\n")], 2, [stream("b\n")], ignored=False).status == "differ"


def test_new_error_is_error_with_traceback_summary() -> None:
    comparison = compare([result("1")], [error("ZeroDivisionError", "division by zero", TRACEBACK)])
    assert comparison.status == "error"
    diff = comparison.diff or ""
    assert diff.splitlines()[0] == "ZeroDivisionError: division by zero"
    assert "----> 1 1/0" in diff
    assert "\x1b" not in diff
    assert comparison.reason == "raised ZeroDivisionError: division by zero"


def test_error_shown_in_saved_outputs_is_compared_not_failed() -> None:
    saved = [stream("before\n"), error("ValueError", "bad value <object at 0x7f3a2b1c4d50>", ["old tb"])]
    same = [stream("before\n"), error("ValueError", "bad value <object at 0x7f0000000000>", ["new tb"])]
    assert compare(saved, same).status == "match"
    other = [stream("before\n"), error("ValueError", "worse value", ["tb"])]
    assert compare(saved, other).status == "error"
    assert compare(saved, [stream("after\n"), *same[1:]]).status == "differ"


def test_raise_without_error_output_is_error() -> None:
    comparison = compare_cell(0, [], 1, [], ignored=False, new_raised=True)
    assert comparison.status == "error"
    assert "no error output" in (comparison.diff or "")


def test_explicit_no_raise_compares_error_output_as_output() -> None:
    new = [error("KeyError", "'x'")]
    assert compare_cell(0, [], 1, new, ignored=False, new_raised=False).status == "differ"
    assert compare_cell(0, [], 1, new, ignored=False).status == "error"


@pytest.mark.parametrize("saved_count", [None, 4])
def test_error_wins_over_ignored_and_unverified(saved_count: int | None) -> None:
    new = [error("RuntimeError", "boom")]
    assert compare_cell(0, [], saved_count, new, ignored=True).status == "error"
    assert compare_cell(0, [], saved_count, [], ignored=True).status == "ignored"


def test_to_json_is_the_contract_cell_entry() -> None:
    entry = compare([stream("a\n")], [stream("b\n")]).to_json()
    assert set(entry) == {"index", "status", "diff"}
    assert (entry["index"], entry["status"]) == (3, "differ")


# ------------------------------------------------------------------------------------------- diffs


def test_diff_is_unified_over_normalised_text() -> None:
    saved = [stream("at 0x7f3a2b1c4d50\nvalue 1\n")]
    new = [stream("at 0x7f9e8d7c6b10\nvalue 2\n")]
    diff = compare(saved, new).diff or ""
    assert diff.startswith("--- saved outputs\n+++ new outputs")
    assert "-value 1" in diff
    assert "+value 2" in diff
    assert " at 0xADDR" in diff


def test_diff_shows_lines_within_tolerance_as_unchanged() -> None:
    diff = compare([stream("a 0.30000000000000004\nb 1\n")], [stream("a 0.3\nb 2\n")]).diff or ""
    assert " a 0.30000000000000004" in diff
    assert "+a 0.3" not in diff
    assert "+b 2" in diff


def test_diff_is_bounded_with_a_note() -> None:
    saved = [stream("".join(f"old {n}\n" for n in range(1000)))]
    new = [stream("".join(f"new {n}\n" for n in range(1000)))]
    lines = (compare(saved, new).diff or "").splitlines()
    assert len(lines) == DEFAULT_OPTIONS.max_diff_lines + 1
    assert lines[-1].startswith("... diff cut:")
    short = compare(saved, new, CompareOptions(max_diff_lines=10)).diff or ""
    assert len(short.splitlines()) == 11


def test_diff_clips_long_lines() -> None:
    diff = compare([result("a" * 5000)], [result("b" * 5000)]).diff or ""
    assert max(len(line) for line in diff.splitlines()) < 400
    assert "(line cut)" in diff


def test_diff_of_one_long_line_shows_where_it_changed() -> None:
    row = "".join(f"<td>{n}</td>" for n in range(2000))
    diff = compare(
        [result({"text/html": row})], [result({"text/html": row.replace("<td>1500<", "<td>X<")})]
    ).diff
    assert "-...(cut) " in (diff or "")
    assert "<td>1500</td>" in (diff or "")
    assert "<td>X</td>" in (diff or "")


def test_image_difference_is_described_and_detailed() -> None:
    saved_png = encoded(BASE)
    new_png = encoded(with_square(BASE, (20, 10, 35, 25)))
    comparison = compare([display(png_bundle(saved_png))], [display(png_bundle(new_png))])
    (image,) = comparison.images
    assert (image.saved_data, image.new_data) == (saved_png, new_png)
    assert image.saved_size == image.new_size == (64, 48)
    assert image.differing_fraction == pytest.approx(16 * 16 / (64 * 48), rel=0.05)
    assert image.mean_abs_diff is not None
    assert image.mean_abs_diff > DEFAULT_OPTIONS.image_mean_tolerance
    assert "pixels differ" in (comparison.diff or "")
    assert "pixels differ" in comparison.reason


def test_undecodable_images_compare_as_bytes() -> None:
    broken = [display({"image/png": "bm90IGFuIGltYWdl"})]
    assert compare(broken, broken).status == "match"
    comparison = compare(broken, [display({"image/png": "YWxzbyBub3Q="})])
    assert comparison.status == "differ"
    assert "could not decode" in comparison.reason


@pytest.mark.parametrize(
    ("options", "status"),
    [
        (CompareOptions(image_mean_tolerance=0.5), "differ"),
        (CompareOptions(image_pixel_threshold=0), "differ"),
        (CompareOptions(), "match"),
    ],
)
def test_image_tolerances_are_configurable(options: CompareOptions, status: str) -> None:
    saved = [display(png_bundle(encoded(BASE)))]
    assert compare(saved, [display(png_bundle(encoded(shifted_by_one(BASE))))], options).status == status


def test_float_tolerance_is_configurable() -> None:
    assert compare([result("1.0")], [result("1.001")], CompareOptions(float_rtol=1e-2)).status == "match"
    assert (
        compare([result("1e-300")], [result("2e-300")], CompareOptions(float_atol=1e-200)).status == "match"
    )
    assert compare([result("1.0")], [result("1.001")]).status == "differ"


@pytest.mark.parametrize(
    "bad",
    [
        {"disabled": frozenset({"no-such-rule"})},
        {"float_rtol": -1.0},
        {"image_pixel_threshold": 256},
        {"image_max_differing_fraction": 2.0},
        {"max_diff_lines": 0},
    ],
)
def test_invalid_options_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"rule|tolerance|threshold|fraction|lines"):
        CompareOptions(**bad)


# -------------------------------------------------------------------------------------- hypothesis

TRICKY = st.sampled_from(
    [
        "\r",
        "\n",
        "\r\n",
        "\x1b[31m",
        "\x1b",
        "[0m",
        "0x7f3a2b1c4d50",
        "0x",
        "2024-01-02 03:04:05.123",
        "12:34:56",
        "T",
        " ",
        "{",
        "}",
        "'a'",
        ": ",
        ", ",
        "set()",
        "(",
        ")",
        "[",
        "]",
        "1",
        "0.5",
        "-",
        "e",
        "\\x30",
        "'",
        "100%|##| 10/10 [00:01<00:00, 9.5it/s]",
        "Wall time: 1 s",
        "/tmp/ipykernel_1/2.py",
        "/tmp/tmpab12cd34",
        '  File "/x.py", line 3',
        "x.py:3: UserWarning: ",
        "T_1a2b3",
        "123e4567-e89b-12d3-a456-426614174000",
        "datetime.datetime(2024, 1, 2)",
        "\x08",
        "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)",
        "        1    0.000    0.000    0.000    0.000 /a/b.py:1(f)",
        "List reduced from 5 to 1 due to restriction <1>",
        "Ordered by: internal time",
        "1.2 ms ± 3 μs per loop (mean ± std. dev. of 7 runs, 1 loop each)",
        "The slowest run took 5.00 times longer than the fastest. This could mean that an "
        "intermediate result is being cached.",
        "Parser   : 101 ms",
        "10/10 ━━━━ 1s 5ms/step",
        "[====>...] - ETA: 2s",
        "[3/10 00:01&lt;00:02]",
    ]
)
TEXTS = st.lists(TRICKY | st.text(max_size=4), max_size=12).map("".join)


@given(
    st.lists(
        st.tuples(st.sampled_from(["stdout", "stderr"]), TEXTS) | st.tuples(st.just("result"), TEXTS),
        max_size=6,
    )
)
def test_outputs_always_match_themselves(parts: list[tuple[str, str]]) -> None:
    outputs = [result(text) if kind == "result" else stream(text, kind) for kind, text in parts]
    assert compare(outputs, outputs).status == "match"


@given(TEXTS, st.booleans(), st.booleans())
def test_text_normalisation_is_idempotent(text: str, stderr: bool, literals: bool) -> None:
    once = normalise_text(text, stderr=stderr, literals=literals)
    assert normalise_text(once, stderr=stderr, literals=literals) == once


@given(st.lists(st.tuples(st.sampled_from(["stdout", "stderr"]), TEXTS), max_size=6))
def test_stream_normalisation_is_idempotent(parts: list[tuple[str, str]]) -> None:
    once = normalise_outputs([stream(text, name) for name, text in parts])
    again = normalise_outputs([stream(output.text, output.label) for output in once])
    assert again == once


@given(st.floats(min_value=-1e300, max_value=1e300), st.floats(min_value=-1e-8, max_value=1e-8))
def test_floats_within_relative_tolerance_are_equivalent(value: float, relative: float) -> None:
    nearby = value * (1 + relative)
    assert texts_equivalent(f"x = {value!r};", f"x = {nearby!r};")
