"""Static data flow: reads, definitions, mutations, scopes, magics, steps and hidden state.

Source normalisation is in ``test_source.py``, the step graph's algorithms in ``test_graph.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_source import VALID_FRAGMENTS

from jupyter_repro import dataflow
from jupyter_repro.dataflow import (
    CellFlow,
    StepFlow,
    analyse_cell,
    combine,
    is_ambient,
    parameter_assignments,
    resolve,
)
from jupyter_repro.model import StepInput
from jupyter_repro.source import parse_cell


def reads(flow: CellFlow) -> set[str]:
    return {name for name in (*flow.reads, *flow.weak_reads) if not is_ambient(name)}


def analyse_cells(*sources: str) -> list[CellFlow]:
    """Analyse cells in order, threading the notebook-wide facts (functions, imports)."""
    known = dataflow.EMPTY
    flows = []
    for source in sources:
        flow = analyse_cell(source, known)
        flows.append(flow)
        known = flow.known
    return flows


# ---- one cell: what it reads from outside and what it defines (mutation is definition)


@pytest.mark.parametrize(
    ("source", "expected_reads", "expected_defined"),
    [
        ("x = 1", set(), {"x"}),
        ("y = x + 1", {"x"}, {"y"}),
        ("x = 1\ny = x", set(), {"x", "y"}),
        ("y = x\nx = 1", {"x"}, {"x", "y"}),  # read before the cell binds it: from outside
        ("a, (b, *c) = t", {"t"}, {"a", "b", "c"}),
        ("a = b = c", {"c"}, {"a", "b"}),
        ("n: int = 3", set(), {"n"}),
        ("n: int", set(), set()),  # an annotation alone binds nothing
        # mutation is definition -- the cases soorgeon gets wrong
        ("df.dropna(inplace=True)", {"df"}, {"df"}),
        ("df.reset_index(drop=True, inplace=True)", {"df"}, {"df"}),
        ("df.dropna(inplace=False)", {"df"}, set()),
        ("df2 = df.dropna()", {"df"}, {"df2"}),
        ("lst.append(x)", {"lst", "x"}, {"lst"}),
        ("lst.extend([1])\nd.update(a=1)\ns.add(1)", {"lst", "d", "s"}, {"lst", "d", "s"}),
        ("q.insert(0, 1); q.pop(); q.remove(2); q.sort(); q.clear()", {"q"}, {"q"}),
        ("d.setdefault('k', []).append(1)", {"d"}, {"d"}),
        ("s.discard(1)", {"s"}, {"s"}),
        ('df["c"] = df["a"] * 2', {"df"}, {"df"}),
        ("df.loc[mask, 'c'] = 0", {"df", "mask"}, {"df"}),
        ("obj.attr = value", {"obj", "value"}, {"obj"}),
        ("obj.inner.attr = 1", {"obj"}, {"obj"}),
        ("m[i][j] = 0", {"m", "i", "j"}, {"m"}),
        ("x += 1", {"x"}, {"x"}),
        ("df['c'] += 1", {"df"}, {"df"}),
        ("del d['k']", {"d"}, {"d"}),
        ("del obj.attr", {"obj"}, {"obj"}),
        ("model.fit(X, y)", {"model", "X", "y"}, {"model"}),
        ("scaler.fit_transform(X)", {"scaler", "X"}, {"scaler"}),
        ("t.add_(1)", {"t"}, {"t"}),  # torch's trailing-underscore in-place style
        ("v = rng.normal()", {"rng"}, {"v", "rng"}),  # drawing advances the generator
        ("random.shuffle(deck)", {"random", "deck"}, {"random", "deck"}),
        ("heapq.heappush(h, 1)", {"heapq", "h"}, {"h"}),
        ("setattr(cfg, 'lr', 0.1)", {"cfg"}, {"cfg"}),
        ("make().append(1)", {"make"}, set()),  # a temporary is mutated, no name
        ("n = len(items)", {"items"}, {"n"}),  # a plain call mutates nothing
        # methods on imported modules are not mutations of the module
        ("import numpy as np\nb = np.append(a, 1)", {"a"}, {"np", "b"}),
        ("import random\nrandom.shuffle(deck)", {"deck"}, {"random", "deck"}),
        ("import os\nos.remove(path)", {"path"}, {"os"}),
        # imports
        ("import os.path", set(), {"os"}),
        ("import os.path as osp", set(), {"osp"}),
        ("from a.b import c as d, e", set(), {"d", "e"}),
        ("from . import sibling", set(), {"sibling"}),
        # comprehension scopes: targets are local, the first iterable is read outside
        ("ys = [y * k for y in xs if y > t]", {"xs", "k", "t"}, {"ys"}),
        ("ys = [y for y in range(3)]\nz = y", {"y"}, {"ys", "z"}),
        ("p = {k: v for k, v in items.items()}", {"items"}, {"p"}),
        ("g = (a for row in rows for a in row)", {"rows"}, {"g"}),
        ("s = {x for x in x}", {"x"}, {"s"}),
        ("any((found := v) > 3 for v in vs)\nprint(found)", {"vs", "found"}, {"found"}),  # may stay unbound
        # for / with / except / walrus targets
        ("for i, row in enumerate(rows):\n    total = row", {"rows"}, {"i", "row", "total"}),
        ("with open(p) as fh, lock:\n    data = fh.read()", {"p", "lock"}, {"fh", "data"}),
        ("try:\n    v = f()\nexcept ValueError as err:\n    log(err)", {"f", "log"}, {"v"}),
        ("if (n := len(a)) > 3:\n    print(n)", {"a"}, {"n"}),
        ("match cmd:\n    case Point(x=px):\n        r = px", {"cmd", "Point"}, {"px", "r"}),
        ("match cmd:\n    case [a]:\n        pass\nprint(a)", {"cmd", "a"}, {"a"}),
        # functions and classes: free variables are read where they are used, not defined
        ("def f(a, b=default):\n    return a + g", {"default"}, {"f"}),
        ("def f():\n    return g\nr = f()", {"g"}, {"f", "r"}),
        ("@register\ndef f(): pass", {"register"}, {"f"}),
        ("def f(x: T) -> R: pass", {"T", "R"}, {"f"}),
        (
            "def f():\n    def inner():\n        return outer_name\n    return inner()\nf()",
            {"outer_name"},
            {"f"},
        ),
        ("def f():\n    local = 1\n    return local\nf()", set(), {"f"}),
        ("def f(xs):\n    return [x + off for x in xs]\nf(v)", {"off", "v"}, {"f"}),
        ("class A(Base):\n    k = K\n    def m(self):\n        return G", {"Base", "K"}, {"A"}),
        ("class A:\n    def m(self):\n        return G\na = A()", {"G"}, {"A", "a"}),
        (
            "class A:\n    k = 1\n    def m(self):\n        return k\nA()",
            {"k"},
            {"A"},
        ),  # methods skip class names
        ("f = lambda: hidden\nf()", {"hidden"}, {"f"}),
        ("sorted(xs, key=lambda x: x[col])", {"xs", "col"}, set()),
        ("def f():\n    global counter\n    counter = 1\nf()", set(), {"f", "counter"}),
        ("def f():\n    global counter\n    counter += 1\nf()", {"counter"}, {"f", "counter"}),
        ("def add(v):\n    items.append(v)\nadd(1)", {"items"}, {"add", "items"}),
        ("def clean(frame):\n    frame.dropna(inplace=True)\nclean(df)", {"df"}, {"clean", "df"}),
        ("def clean(frame):\n    frame['c'] = 1\nclean(frame=df)", {"df"}, {"clean", "df"}),
        ("def f(a):\n    a = a.copy()\n    return a\nf(df)", {"df"}, {"f"}),
        (
            "def outer():\n    x = 1\n    def inner():\n        nonlocal x\n        x = 2\nouter()",
            set(),
            {"outer"},
        ),
        ("def f():\n    import json\n    return json.dumps(1)\nf()", set(), {"f"}),
        ("def fact(n):\n    return n * fact(n - 1)\nfact(3)", set(), {"fact"}),
        # conditionally bound names are weak reads: outside only if something outside defines them
        ("if c:\n    x = 1\nprint(x)", {"c", "x"}, {"x"}),
        ("if c:\n    x = 1\nelse:\n    x = 2\nprint(x)", {"c"}, {"x"}),
        ("while go:\n    y = 1\nz = y", {"go", "y"}, {"y", "z"}),
        ("try:\n    from fast import f\nexcept ImportError:\n    from slow import f\nf()", {"f"}, {"f"}),
        # builtins and IPython's names are not reads from outside
        ("print(len(range(3)))\ndisplay(Out[1], _, _3, In)", set(), set()),
    ],
)
def test_cell_reads_and_definitions(
    source: str, expected_reads: set[str], expected_defined: set[str]
) -> None:
    flow = analyse_cell(source)
    assert reads(flow) == expected_reads
    assert set(flow.defined) == expected_defined


def test_strong_and_weak_reads_are_kept_apart() -> None:
    flow = analyse_cell("print(a)\nif c:\n    b = 1\nprint(b)")
    assert flow.reads == ("print", "a", "c")
    assert flow.weak_reads == ("b",)
    assert flow.must == frozenset()
    assert flow.may == {"b"}


def test_reads_are_in_first_read_order() -> None:
    assert analyse_cell("z = c + a\nw = b + a").reads == ("c", "a", "b")


def test_except_name_is_unbound_after_the_handler() -> None:
    flow = analyse_cell("try:\n    pass\nexcept E as e:\n    pass\nprint(e)")
    assert "e" in flow.reads
    assert "e" not in flow.defined


# ---- notebook-wide facts flow from cell to cell


def test_function_defined_in_one_cell_reads_its_globals_where_it_is_called() -> None:
    define, call = analyse_cells("def total():\n    return sum(values) * rate", "t = total()")
    assert reads(define) == set()
    assert reads(call) == {"total", "values", "rate"}


def test_function_mutating_its_argument_mutates_the_callers_variable_in_a_later_cell() -> None:
    _, call = analyse_cells("def normalise(frame):\n    frame['x'] /= 10", "normalise(df)")
    assert set(call.defined) == {"df"}


def test_function_calling_another_function_propagates_both() -> None:
    *_, call = analyse_cells("def g():\n    return base", "def f():\n    return g() + extra", "f()")
    assert reads(call) == {"f", "g", "base", "extra"}


def test_function_mutating_through_a_helper_mutates_the_callers_variable() -> None:
    *_, call = analyse_cells(
        "def helper(xs):\n    xs.append(1)", "def outer(ys):\n    helper(ys)", "outer(data)"
    )
    assert "data" in call.defined


def test_rebinding_a_function_name_forgets_the_function() -> None:
    *_, call = analyse_cells("def f():\n    return secret", "f = print", "f()")
    assert reads(call) == {"f"}


def test_module_alias_is_remembered_across_cells() -> None:
    _, use = analyse_cells("import numpy as np", "np.append(a, 1)")
    assert "np" not in use.defined


# ---- IPython syntax


@pytest.mark.parametrize(
    ("source", "expected_reads", "expected_defined"),
    [
        ("%matplotlib inline\nx = 1", set(), {"x"}),
        ("!pip install pandas\nx = 1", set(), {"x"}),
        ("files = !ls\nn = len(files)", set(), {"files", "n"}),
        ("home = %env HOME", set(), {"home"}),
        ("%time result = slow(data)", {"slow", "data"}, {"result"}),
        ("%timeit -n 10 -r 3 f(x)", {"f", "x"}, set()),
        ("%%time\nmodel.fit(X)\nscore = model.score(X)\n", {"model", "X"}, {"model", "score"}),
        ("%%capture captured --no-stderr\nz = w + 1\n", {"w"}, {"z", "captured"}),
        ("%%bash --out listing\nls -la\n", set(), {"listing"}),
        ("%%writefile script.py\nimport os\nx = undefined\n", set(), set()),
        ("df?", {"df"}, set()),  # help on an object shows the object
        ("??df", {"df"}, set()),
        ("df.plot?", {"df"}, set()),
        ("def f():\n    !ls\n    return y\nf()", {"y"}, {"f"}),
        ("  x = 1\n  y = x", set(), {"x", "y"}),  # IPython tolerates a uniformly indented cell
        # the forms of the issue, each through IPython's own transformer
        ("!ls", set(), set()),
        ("x = !ls", set(), {"x"}),
        ("%%capture out\nprint(a)", {"a"}, {"out"}),
        ("%time y = f(x)", {"f", "x"}, {"y"}),
        ("%matplotlib inline", set(), set()),
        ("obj?", {"obj"}, set()),
        ("/f 1 2", {"f"}, set()),  # escaped auto-call: f(1, 2)
        (",f a b", {"f"}, set()),  # f("a", "b")
        ("%%timeit\nh(k)", {"h", "k"}, set()),
        ("%%debug\nq = p", {"p"}, {"q"}),
        # names IPython expands into shell commands and magic lines are read
        ("files = !ls {folder}", {"folder"}, {"files"}),
        ("!echo $name {n + 1}", {"name", "n"}, set()),
        ("!echo $$HOME", set(), set()),  # `$$` is a literal dollar
        ("%env GREETING={greeting}", {"greeting"}, set()),
        ("%%bash --out out {flags}\necho $HOME", {"flags"}, {"out"}),
        # a cell magic that is not Python has no Python data flow, whatever its body says
        ("%%bash\nx=1\necho $x", set(), set()),
        ("%%html\n<b>{q}</b>", set(), set()),
        ("%%javascript\nvar y = x;", set(), set()),
        ("%%python3\nz = 1", set(), set()),  # runs in a subprocess
        ("%%writefile f.py\nfrom m import *", set(), set()),
        ("%%sql\nselect * from t", set(), set()),
    ],
)
def test_magics_and_shell_lines_parse(
    source: str, expected_reads: set[str], expected_defined: set[str]
) -> None:
    flow = analyse_cell(source)
    assert reads(flow) == expected_reads
    assert set(flow.defined) == expected_defined


def test_expanded_names_are_weak_reads() -> None:
    """``$HOME`` is usually the shell's own variable: never reported as hidden state."""
    flow = analyse_cell("!echo $HOME {path}")
    assert flow.reads == ()
    assert set(flow.weak_reads) == {"HOME", "path"}
    assert analyse_cell("path = '.'\n!ls {path}").weak_reads == ()  # bound by then: internal


# ---- what static analysis cannot know is said, never guessed


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("from os.path import *", "'from os.path import *'"),
        ("%run helpers.py", "%run"),
        ("%store -r model", "%store -r"),
        ("%pylab inline", "%pylab"),
        ("exec(code)", "exec()"),
        ("value = eval(expression)", "eval()"),
        ("globals()['x'] = 1", "globals()"),
        ("def f():\n    return vars()\nf()", "vars()"),
    ],
)
def test_imprecise_cells_say_why(source: str, fragment: str) -> None:
    (reason,) = analyse_cell(source).imprecise
    assert fragment in reason


@pytest.mark.parametrize(
    "source", ["x = 1", "df.eval('a + b')", "vars(obj)", "%store model", "%pylab inline --no-import-all"]
)
def test_precise_cells_have_no_reason(source: str) -> None:
    assert analyse_cell(source).imprecise == ()


@pytest.mark.parametrize(
    ("source", "modules"),
    [
        ("import pandas as pd, numpy.linalg", {"pandas", "numpy"}),
        ("from sklearn.linear_model import LinearRegression", {"sklearn"}),
        ("from . import local", set()),
        ("def f():\n    import scipy.stats\n", {"scipy"}),
        ("mod = __import__('yaml')", {"yaml"}),
        ("import importlib\nm = importlib.import_module('toml.decoder')", {"importlib", "toml"}),
        ("%time import polars", {"polars"}),
    ],
)
def test_imported_top_level_modules(source: str, modules: set[str]) -> None:
    assert analyse_cell(source).modules == modules


# ---- a cell that does not parse is run, not refused: it is imprecise


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("def broken(:\n    pass", "syntax error on line 1"),  # the chapter on syntax errors
        ("x = (1,", "syntax error"),
        ("x = 1\ny = = 2", "syntax error on line 2"),
        ("print 'hello'", "syntax error on line 1"),  # Python 2
        ("a\x00b", "null bytes"),
        ("x = " + "-" * 50_000 + "1", "nested too deeply"),
    ],
)
def test_a_cell_that_cannot_be_parsed_is_imprecise_and_defines_nothing(source: str, fragment: str) -> None:
    known = analyse_cell("def helper():\n    return 1").known
    flow = analyse_cell(source, known)
    (reason,) = flow.imprecise
    assert fragment in reason
    assert "\n" not in reason
    assert (flow.reads, flow.weak_reads, flow.defined, flow.may) == ((), (), (), frozenset())
    assert flow.known == known  # what earlier cells defined still holds for the next one


def test_a_step_holding_a_cell_that_cannot_be_parsed_names_the_cell() -> None:
    flows = analyse_cells("x = 1", "def broken(:\n    pass", "y = x")
    step = combine("demo", list(enumerate(flows, start=4)))
    assert step.imprecise_reason is not None
    assert step.imprecise_reason.startswith("cell 5: syntax error on line 1")
    assert step.defined == ("x", "y")


def test_regex_escapes_do_not_raise_warnings_under_filterwarnings_error() -> None:
    flow = analyse_cell('import re\npattern = re.compile("\\d+")\nok = x is 1')
    assert set(flow.defined) == {"re", "pattern", "ok"}


_FRAGMENTS = [*VALID_FRAGMENTS, "%%capture out\nx = 2", ")", "def", "    indented", "x = 'open", "#comment"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes_the_analyser(source: str) -> None:
    flow = analyse_cell(source)
    assert set(flow.must) <= set(flow.may)
    assert all("\n" not in reason for reason in flow.imprecise)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=8))
def test_arbitrary_code_fragments_never_crash_the_analyser(parts: list[str]) -> None:
    flow = analyse_cell("\n".join(parts))
    assert set(flow.must) <= set(flow.may) <= set(flow.defined)


# ---- steps: composition and resolution


def step(name: str, *sources: str, start: int = 0) -> StepFlow:
    return combine(name, list(enumerate(analyse_cells(*sources), start=start)))


def test_a_step_reads_only_what_its_own_earlier_cells_do_not_define() -> None:
    flow = step("s", "a = x", "b = a + y", "y = 1")
    assert flow.reads == ("x", "y")
    assert set(flow.defined) == {"a", "b", "y"}


def test_step_imprecision_names_the_cell() -> None:
    flow = step("s", "x = 1", "from m import *", start=4)
    assert flow.imprecise_reason is not None
    assert flow.imprecise_reason.startswith("cell 5: ")


def resolved(
    flows: Sequence[StepFlow], parameters: Sequence[str] = (), shared: Sequence[str] = ()
) -> list[tuple[tuple[StepInput, ...], tuple[str, ...]]]:
    return [(r.inputs, r.dependencies) for r in resolve(flows, parameters=parameters, shared=shared)]


def test_reads_resolve_to_the_nearest_earlier_definer() -> None:
    flows = [step("a", "df = load()\nn = 1"), step("b", "df = clean(df)"), step("c", "report(df, n)")]
    assert resolved(flows)[2] == ((StepInput("df", "b"), StepInput("n", "a")), ("a", "b"))


def test_in_place_mutation_makes_a_step_the_provider() -> None:
    flows = [step("load", "df = read()"), step("clean", "df.dropna(inplace=True)"), step("plot", "df.plot()")]
    assert resolved(flows)[2] == ((StepInput("df", "clean"),), ("clean",))
    assert resolved(flows)[1] == ((StepInput("df", "load"),), ("load",))


def test_parameters_shared_names_and_builtins() -> None:
    flows = [
        step("a", "x = pd.read_csv(path)\nprint(x)"),
        step("b", "path = path + '/'"),
        step("c", "open(path)"),
    ]
    result = resolved(flows, parameters=["path"], shared=["pd"])
    assert result[0] == ((StepInput("path", "parameters"),), ())
    assert result[2] == ((StepInput("path", "b"),), ("b",))  # a step redefined the parameter


def test_unknown_reads_resolve_to_nothing() -> None:
    assert resolved([step("a", "y = mystery + 1")]) == [((), ())]


def test_imprecise_step_is_treated_conservatively() -> None:
    flows = [
        step("a", "x = 1"),
        step("b", "w = 2"),
        step("star", "from helpers import *\nz = x"),
        step("d", "print(x, sqrt(2), pd)"),
    ]
    result = resolved(flows, parameters=["p"], shared=["pd"])
    # it reads every name defined earlier and every parameter, and depends on every earlier step
    assert result[2] == (
        (StepInput("p", "parameters"), StepInput("w", "b"), StepInput("x", "a")),
        ("a", "b"),
    )
    # later reads resolve to it (it may have redefined anything), except builtins and shared names
    assert result[3] == ((StepInput("sqrt", "star"), StepInput("x", "star")), ("star",))


# ---- hidden state


def test_hidden_state_kinds() -> None:
    sources = {1: "a = b + undefined_name", 2: "c = late + from_skip", 4: "late = 1\nb = 2"}
    flows = dict(zip(sources, analyse_cells(*sources.values()), strict=True))
    found = dataflow.hidden_state(
        list(flows.items()),
        [(0, frozenset({"from_skip"}))],
        preloaded={"pd"},
        step_of={1: "s", 2: "s", 4: "t"},
    )
    assert [(r.cell, r.name, r.defined_in, r.kind, r.step) for r in found] == [
        (1, "b", 4, "later", "s"),
        (1, "undefined_name", None, "undefined", "s"),
        (2, "late", 4, "later", "s"),
        (2, "from_skip", 0, "skipped", "s"),
    ]


def test_hidden_state_is_silent_after_an_imprecise_cell_and_for_preloaded_names() -> None:
    flows = analyse_cells("print(pd)", "from m import *", "print(anything)")
    found = dataflow.hidden_state(list(enumerate(flows)), [], preloaded={"pd"}, step_of={})
    assert found == ()
    assert dataflow.hidden_state(list(enumerate(flows)), [], preloaded=set(), step_of={})[0].name == "pd"


# ---- parameters cell


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("n = 10", [("n", True, 10)]),
        ("rate: float = 0.5\nname = 'x'", [("rate", True, 0.5), ("name", True, "x")]),
        ("a, b = 1, (2, 3)", [("a", True, 1), ("b", True, (2, 3))]),
        ("a = b = -1", [("a", True, -1), ("b", True, -1)]),
        ("start = pd.Timestamp('2024-01-01')", [("start", False, "pd.Timestamp('2024-01-01')")]),
        ("a, b = pair()", [("a", False, "pair()"), ("b", False, "pair()")]),
        ("import os\nx: int\nprint(1)\nd = {'k': [1, None, True]}", [("d", True, {"k": [1, None, True]})]),
        ("n = 1  # comment\nn = 2", [("n", True, 1), ("n", True, 2)]),
    ],
)
def test_parameter_assignments(source: str, expected: list[tuple[str, bool, object]]) -> None:
    found = parameter_assignments(parse_cell(source))
    assert [(a.name, a.literal, a.value) for a in found] == expected
