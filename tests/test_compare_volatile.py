"""Volatile output people really produce: every form of %timeit and %time, %prun tables, progress bars
(tqdm text and widgets, fastprogress HTML, Keras), widget views, and images rendered from matching text.
Each case that must match has a twin where a real difference next to the noise must still be reported."""

from __future__ import annotations

import pytest
from compare_builders import (
    LATEX,
    Output,
    compare,
    display,
    encoded,
    figure,
    formula,
    formula_png,
    result,
    stream,
)
from PIL import Image

from jupyter_repro.compare import CompareOptions, normalise_text

Pair = tuple[list[Output], list[Output]]


def timeit(mean: str, std: str, runs: str = "7 runs", loops: str = "1,000 loops", pm: str = "±") -> str:
    return f"{mean} {pm} {std} per loop (mean {pm} std. dev. of {runs}, {loops} each)"


MATCHES: list[Pair] = [
    # %timeit, IPython >= 9 (μ U+03BC) against IPython <= 8 (µ U+00B5), thousands separators, all units
    (
        [stream(timeit("1.28 ms", "159 μs") + "\n")],
        [stream(timeit("987 µs", "12.1 µs", loops="10,000 loops") + "\n")],
    ),
    (
        [stream(timeit("23.1 ns", "0.41 ns", loops="10,000,000 loops") + "\n")],
        [stream(timeit("1.02 s", "3 ms", loops="1 loop") + "\n")],
    ),
    ([stream(timeit("12 us", "1 us") + "\n")], [stream(timeit("15 us", "2 us") + "\n")]),
    (
        [stream(timeit("1min 5s", "2.1 s", loops="1 loop") + "\n")],
        [stream(timeit("58.3 s", "1.2 s", loops="1 loop") + "\n")],
    ),
    # one run and one loop (singular), and the +- of a terminal without ±
    (
        [stream(timeit("5.1 ms", "0 ns", runs="1 run", loops="1 loop") + "\n")],
        [stream(timeit("6.4 ms", "0 ns", runs="1 run", loops="1 loop", pm="+-") + "\n")],
    ),
    # %timeit -o: the printed line and the TimeitResult repr
    (
        [
            stream(timeit("1.28 ms", "159 μs") + "\n"),
            result(f"<TimeitResult : {timeit('1.28 ms', '159 μs')}>"),
        ],
        [
            stream(timeit("2.01 ms", "301 μs") + "\n"),
            result(f"<TimeitResult : {timeit('2.01 ms', '301 μs')}>"),
        ],
    ),
    # two %timeit calls in one cell; the "slowest run" warning comes and goes with the timing
    (
        [stream(f"{timeit('1 ms', '2 μs')}\n{timeit('3 ms', '4 μs')}\n")],
        [
            stream(
                "The slowest run took 6.21 times longer than the fastest. This could mean that an "
                f"intermediate result is being cached.\n{timeit('1.1 ms', '2.2 μs')}\n"
                f"{timeit('3.3 ms', '4.4 μs')}\n"
            )
        ],
    ),
    # the IPython < 5 form, also against today's form (a notebook saved by an old IPython)
    (
        [stream("100 loops, best of 3: 2.5 ms per loop\n")],
        [stream("1000 loops, best of 3: 812 µs per loop\n")],
    ),
    ([stream("100 loops, best of 3: 2.5 ms per loop\n")], [stream(timeit("2.61 ms", "35 μs") + "\n")]),
    # the number of runs is part of the timing's wording (-r 3 against the default 7)
    ([stream(timeit("1 ms", "2 μs") + "\n")], [stream(timeit("1 ms", "2 μs", runs="3 runs") + "\n")]),
    # %time, with the Compiler/Parser lines IPython prints only above a threshold
    (
        [stream("CPU times: user 1.2 ms, sys: 0 ns, total: 1.2 ms\nWall time: 1.5 ms\n42\n")],
        [
            stream(
                "CPU times: user 2.33 s, sys: 11 ms, total: 2.34 s\nWall time: 2.4 s\nCompiler : 124 ms\n42\n"
            )
        ],
    ),
    (
        [stream("CPU times: total: 15.6 ms\nWall time: 12 ms\n")],
        [stream("CPU times: total: 0 ns\nWall time: 9.8 ms\n")],
    ),
    (
        [stream("Compiler time: 0.12 s\n" + timeit("1 ms", "2 μs") + "\n")],
        [stream(timeit("2 ms", "1 μs") + "\n")],
    ),
]

DIFFERS: list[Pair] = [
    # what the cell prints next to a timing is still compared
    ([stream(timeit("1 ms", "2 μs") + "\nresult 42\n")], [stream(timeit("1 ms", "2 μs") + "\nresult 43\n")]),
    (
        [stream("CPU times: total: 1 ms\nWall time: 1 ms\nCompiler : 1 s\n[1, 2]\n")],
        [stream("Wall time: 1 ms\n[1, 3]\n")],
    ),
    # a line that only looks like a timing line
    ([stream("Parser   : strict\n")], [stream("Parser   : lenient\n")]),
    ([result(f"<TimeitResult : {timeit('1 ms', '2 μs')}>")], [result("<TimeitResult : broken>")]),
]


@pytest.mark.parametrize(("saved", "new"), MATCHES)
def test_timings_match(saved: list[Output], new: list[Output]) -> None:
    assert compare(saved, new).status == "match"
    assert compare(saved, new, CompareOptions(disabled=frozenset({"durations"}))).status == "differ"


@pytest.mark.parametrize(("saved", "new"), DIFFERS)
def test_changes_next_to_timings_differ(saved: list[Output], new: list[Output]) -> None:
    assert compare(saved, new).status == "differ"


# -------------------------------------------------------------------------------------------- %prun


def profile(
    rows: list[str],
    total: str = "0.004",
    calls: str = "68 function calls (2 primitive calls)",
    order: str = "internal time",
    reduced: str = "",
) -> str:
    return (
        f"         {calls} in {total} seconds\n\n   Ordered by: {order}\n{reduced}\n"
        "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)\n"
        + "".join(f"{row}\n" for row in rows)
        + "\n\n"
    )


ROWS = [
    "     67/1    0.000    0.000    0.003    0.003 /tmp/ipykernel_81/2795.py:1(fib)",
    "        1    0.000    0.000    0.004    0.004 {built-in method builtins.exec}",
    "        1    0.000    0.000    0.000    0.000 /home/ann/env/site-packages/pkg/u.py:12(load)",
]
FASTER = [
    "        1    0.002    0.002    0.002    0.002 /opt/venv/lib/python3.11/site-packages/pkg/u.py:12(load)",
    "     67/1    0.001    0.000    0.001    0.001 /tmp/ipykernel_4/17.py:1(fib)",
    "        1    0.000    0.000    0.003    0.003 {built-in method builtins.exec}",
]


def test_prun_compares_calls_and_functions_not_times_or_order() -> None:
    assert compare([stream(profile(ROWS))], [stream(profile(FASTER, total="0.011"))]).status == "match"
    # cProfile.run prints the same table to stdout; %prun -s cumulative orders by another time
    by_cumulative = profile(FASTER, order="cumulative time")
    assert (
        compare([stream(profile(ROWS, order="cumulative time"))], [stream(by_cumulative)]).status == "match"
    )


@pytest.mark.parametrize(
    "new",
    [
        profile(
            [ROWS[0].replace("67/1", "177/1"), *ROWS[1:]], calls="178 function calls (2 primitive calls)"
        ),
        profile([ROWS[0].replace("67/1", "67/2"), *ROWS[1:]]),
        profile([ROWS[0].replace("(fib)", "(fib_memo)"), *ROWS[1:]]),
        profile(ROWS[:2]),
        profile(ROWS, calls="69 function calls (2 primitive calls)"),
    ],
    ids=["call-count", "primitive-calls", "function", "row-missing", "total-calls"],
)
def test_prun_call_count_or_function_changes_differ(new: str) -> None:
    assert compare([stream(profile(ROWS))], [stream(new)]).status == "differ"


def test_prun_list_cut_by_time_compares_only_counts() -> None:
    """Which rows survive ``-l 1`` under a time ordering is itself timing."""
    cut = "   List reduced from 3 to 1 due to restriction <1>\n"
    saved = [stream(profile(ROWS[:1], reduced=cut))]
    assert compare(saved, [stream(profile(FASTER[:1], reduced=cut))]).status == "match"
    fewer = "   List reduced from 2 to 1 due to restriction <1>\n"
    assert compare(saved, [stream(profile(FASTER[:1], reduced=fewer))]).status == "differ"
    by_name = profile(ROWS[:1], order="function name", reduced=cut)
    assert compare(
        [stream(by_name)], [stream(profile(FASTER[:1], order="function name", reduced=cut))]
    ).status == ("differ")


# ----------------------------------------------------------------------------------------- progress


def test_tqdm_carriage_returns_rates_and_padding() -> None:
    saved = stream("train: 100%|##########| 3/3 [00:00<00:00, 20695.58it/s]\n", "stderr")
    new = stream(
        "\rtrain:   0%|          | 0/3 [00:00<?, ?it/s]\rtrain:  67%|######6   | 2/3 [00:01<00:00, 2.2it/s] "
        "\rtrain: 100%|##########| 3/3 [00:01<00:00,  1.99it/s]   \n",
        "stderr",
    )
    assert compare([saved], [new]).status == "match"
    shorter = stream("\rtrain:  67%|######6   | 2/3 [00:01<00:00, 2.2it/s]\n", "stderr")
    assert compare([saved], [shorter]).status == "differ"


def test_tqdm_postfix_is_data() -> None:
    def bar(rate: str, loss: str) -> Output:
        return stream(f"100%|██████████| 10/10 [00:02<00:00, {rate}it/s, loss={loss}]\n", "stderr")

    assert compare([bar("4.95", "0.123")], [bar("9.10", "0.123")]).status == "match"
    assert compare([bar("4.95", "0.123")], [bar("4.95", "0.456")]).status == "differ"


def test_tqdm_widget_and_ipywidgets_progress_ignore_the_model_id() -> None:
    def widget(model_id: str, text: str = "  0%|          | 0/10 [00:00<?, ?it/s]") -> Output:
        view = {"model_id": model_id, "version_major": 2, "version_minor": 0}
        return display({"application/vnd.jupyter.widget-view+json": view, "text/plain": text})

    assert compare([widget("3f9a")], [widget("b21c")]).status == "match"
    progress = display({"text/plain": "IntProgress(value=10, max=10)"})
    assert compare([widget("3f9a"), progress], [widget("b21c"), progress]).status == "match"
    other = {"model_id": "b21c", "version_major": 2, "version_minor": 1}
    changed = display({"application/vnd.jupyter.widget-view+json": other, "text/plain": "x"})
    assert compare([widget("3f9a")], [changed]).status == "differ"
    # without the widget payload (a frontend without ipywidgets saved only the text) the meter is read
    text_only = [display({"text/plain": "100%|██████████| 10/10 [00:02<00:00,  4.95it/s]"})]
    assert compare(
        text_only, [display({"text/plain": "100%|██████████| 10/10 [00:05<00:00,  1.99it/s]"})]
    ).status == ("match")


def test_fastprogress_html() -> None:
    def bar(times: str, n: str = "10/10") -> Output:
        html = f"<div><progress value='10' max='10'></progress> 100.00% [{n} {times}]</div>"
        return display({"text/html": html, "text/plain": "<IPython.core.display.HTML object>"})

    assert compare([bar("00:02&lt;00:00")], [bar("00:07&lt;00:00")]).status == "match"
    assert compare([bar("00:02&lt;00:00")], [bar("00:02&lt;00:00", "9/10")]).status == "differ"


@pytest.mark.parametrize(
    ("saved", "new", "status"),
    [
        (
            "1875/1875 [==============================] - 3s 1ms/step - loss: 0.2939\n",
            "1875/1875 [==============================] - 5s 3ms/step - loss: 0.2939\n",
            "match",
        ),
        (
            "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.91 - loss: 0.29\n",
            "\x1b[1m1875/1875\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m4s\x1b[0m 2ms/step"
            " - accuracy: 0.91 - loss: 0.29\n",
            "match",
        ),
        (
            "  32/1875 [..............................] - ETA: 4s" + "\b" * 56 + "\r"
            "1875/1875 [==============================]"
            " - 3s 1ms/step - loss: 0.29\n",
            "1875/1875 [==============================] - 2s 1ms/step - loss: 0.29\n",
            "match",
        ),
        (
            "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.91 - loss: 0.29\n",
            "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.85 - loss: 0.29\n",
            "differ",
        ),
    ],
    ids=["keras2", "keras3-coloured", "keras2-backspaces", "keras3-metric-changed"],
)
def test_keras_progress(saved: str, new: str, status: str) -> None:
    assert compare([stream(saved)], [stream(new)]).status == status


def test_backspaces_erase_like_jupyterlab() -> None:
    assert normalise_text("abc\b\bx\n") == "ax\n"
    assert normalise_text("\bz") == "z"


# ---------------------------------------------------------------------------------- rendered images


def test_formula_image_noise_matches_when_its_latex_matches() -> None:
    comparison = compare([formula(20)], [formula(19)])
    assert comparison.status == "match"
    (image,) = comparison.images
    assert image.rendered_from == "text/latex"
    assert "text/latex it renders matches" in image.describe()
    same_size_other_pixels = display({"image/png": formula_png(20, "x^2 + 1"), "text/latex": LATEX})
    assert compare([formula(20)], [same_size_other_pixels]).status == "match"


@pytest.mark.parametrize(
    "new",
    [
        formula(19, latex=r"$\displaystyle x^{2} + 2$", text="x^2+2"),  # another formula
        formula(40),  # twice as tall: not rendering noise
        display({"image/png": formula_png(19), "text/plain": "x**2 + 1"}),  # nothing it renders from
    ],
    ids=["latex-differs", "size-beyond-tolerance", "no-source-text"],
)
def test_formula_image_differs_when_its_source_does_not_vouch(new: Output) -> None:
    assert compare([formula(20)], [new]).status == "differ"


def test_figure_placeholder_text_is_not_evidence() -> None:
    """``<Figure size 320x240 with 1 Axes>`` is the same for any plot: the pixels decide."""
    assert compare([figure(100)], [figure(100, values=(1, 2, 4))]).status == "differ"
    assert compare([figure(100)], [figure(100)]).status == "match"


def test_html_source_vouches_too_and_tolerance_is_configurable() -> None:
    def rendered(height: int, html: str = "<b>x</b>") -> Output:
        return display({"image/png": encoded(Image.new("RGB", (50, height), "white")), "text/html": html})

    assert compare([rendered(30)], [rendered(31)]).status == "match"
    assert compare([rendered(30)], [rendered(31, "<b>y</b>")]).status == "differ"
    strict = CompareOptions(disabled=frozenset({"rendered_images"}))
    assert compare([rendered(30)], [rendered(31)], strict).status == "differ"
    assert compare([rendered(100)], [rendered(104)]).status == "match"  # within 5% of the larger
    assert (
        compare([rendered(100)], [rendered(104)], CompareOptions(rendered_size_tolerance=0.0)).status
        == "differ"
    )


# ----------------------------------------------------------------------------------------- %%writefile


def test_writefile_says_overwriting_once_the_file_exists_and_that_matches() -> None:
    saved, new = [stream("Writing doc_sanitize.cfg\n")], [stream("Overwriting doc_sanitize.cfg\n")]
    assert compare(saved, new).status == "match"
    assert compare(saved, new, CompareOptions(disabled=frozenset({"temp_paths"}))).status == "differ"


def test_writefile_of_another_file_differs() -> None:
    assert compare([stream("Writing a.cfg\n")], [stream("Overwriting b.cfg\n")]).status == "differ"
