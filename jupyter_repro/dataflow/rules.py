"""What counts as a read, a binding or a mutation: the rules shared by both analyses.  (pure)

The names every kernel provides, the methods and functions that change an object in place, the
summary of a notebook function, and small helpers on :mod:`ast` nodes used by the nested-scope
collector (:mod:`.scopes`) and the cell analyser (:mod:`.cells`).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

MUTATING_METHODS = frozenset(
    {
        # list / dict / set / deque / bytearray
        "append", "extend", "insert", "pop", "popitem", "remove", "sort", "reverse", "update",
        "setdefault", "clear", "add", "discard", "difference_update", "intersection_update",
        "symmetric_difference_update", "appendleft", "extendleft", "popleft", "rotate",
        "__setitem__", "__delitem__", "__iadd__", "__setattr__",
        # NumPy arrays
        "fill", "resize", "put", "itemset", "setflags",
        # estimators and models: fitting changes the object (scikit-learn, Keras, PyTorch)
        "fit", "partial_fit", "fit_transform", "fit_predict", "set_params", "compile",
        "train_on_batch", "load_state_dict", "load_weights", "train", "eval", "zero_grad", "step", "to",
        # random generators: drawing advances their state (np.random.Generator, random.Random)
        "seed", "manual_seed", "shuffle", "permutation", "random", "integers", "choice", "choices",
        "normal", "standard_normal", "uniform", "randint", "rand", "randn", "gauss", "binomial",
        "poisson", "exponential", "lognormal", "multivariate_normal",
    }
)  # fmt: skip
"""Methods that change the object they are called on; ``name_`` (torch's in-place style) counts too."""

MUTATING_FUNCTIONS = frozenset(
    {
        "shuffle", "heappush", "heappop", "heapify", "heappushpop", "heapreplace", "insort",
        "insort_left", "insort_right", "setattr", "delattr", "copyto", "fill_diagonal", "place",
        "putmask",
    }
)  # fmt: skip
"""Functions (called by name or as ``module.name``) that change their first argument."""

_IPYTHON_NAMES = frozenset(
    {"get_ipython", "display", "In", "Out", "exit", "quit", "_", "__", "___", "_i", "_ii", "_iii",
     "_ih", "_oh", "_dh", "__name__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__"}
)  # fmt: skip
_AMBIENT = frozenset(dir(builtins)) | _IPYTHON_NAMES
_HISTORY_NAME = re.compile(r"_i?\d+")


def is_ambient(name: str) -> bool:
    """True for names every kernel provides (builtins, IPython's ``display``, ``Out``, ``_3``...)."""
    return name in _AMBIENT or _HISTORY_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class FunctionSummary:
    """What calling a notebook function (or instantiating a class) reads and changes."""

    reads: tuple[str, ...] = ()
    """Global names read when called (free variables, transitively through nested scopes)."""
    rebinds: frozenset[str] = frozenset()
    """Global names assigned through ``global``."""
    mutates: frozenset[str] = frozenset()
    """Global names mutated in place."""
    params: tuple[str, ...] = ()
    """Positional parameter names, in order (to map call arguments)."""
    mutated_params: frozenset[str] = frozenset()
    """Parameters the function mutates in place: the caller's argument is mutated."""
    imprecise: str | None = None


@dataclass(frozen=True)
class Known:
    """Notebook-wide facts the analysis of later cells needs: functions and import-bound names."""

    functions: Mapping[str, FunctionSummary] = field(default_factory=lambda: MappingProxyType({}))
    imports: frozenset[str] = frozenset()


EMPTY = Known()


def root_name(node: ast.expr) -> str | None:
    """``df`` for ``df``, ``df.a.b``, ``df["c"][0]``; ``None`` when a call or literal is in the way."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def mutated_roots(target: ast.expr) -> Iterator[str]:
    """Names mutated (not rebound) by assigning to or deleting ``target``."""
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from mutated_roots(element)
    elif isinstance(target, ast.Starred):
        yield from mutated_roots(target.value)
    elif isinstance(target, ast.Attribute | ast.Subscript):
        root = root_name(target)
        if root is not None:
            yield root


def _is_mutating_method(name: str) -> bool:
    return name in MUTATING_METHODS or (name.endswith("_") and not name.startswith("_"))


def _has_inplace(call: ast.Call) -> bool:
    return any(
        keyword.arg == "inplace" and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
        for keyword in call.keywords
    )


def call_mutations(
    call: ast.Call, functions: Mapping[str, FunctionSummary], imports: Collection[str]
) -> Iterator[str]:
    """Names a call mutates: its receiver, its first argument, or arguments a notebook function mutates."""
    func = call.func
    if isinstance(func, ast.Attribute):
        called = func.attr
        root = root_name(func.value)
        if root is not None and root not in imports and (_is_mutating_method(called) or _has_inplace(call)):
            yield root
    elif isinstance(func, ast.Name):
        called = func.id
    else:
        return
    if called in MUTATING_FUNCTIONS and call.args:
        first = root_name(call.args[0])
        if first is not None:
            yield first
    summary = functions.get(called) if isinstance(func, ast.Name) else None
    if summary is not None and summary.mutated_params:
        yield from _mutated_arguments(call, summary)


def _mutated_arguments(call: ast.Call, summary: FunctionSummary) -> Iterator[str]:
    for position, argument in enumerate(call.args):
        if isinstance(argument, ast.Starred):
            break
        if position < len(summary.params) and summary.params[position] in summary.mutated_params:
            root = root_name(argument)
            if root is not None:
                yield root
    for keyword in call.keywords:
        if keyword.arg in summary.mutated_params:
            root = root_name(keyword.value)
            if root is not None:
                yield root


def imprecise_call(call: ast.Call) -> str | None:
    func = call.func
    if not isinstance(func, ast.Name):
        return None
    if func.id in ("exec", "eval"):
        return f"{func.id}() runs code that static analysis cannot see"
    if func.id in ("globals", "locals", "vars") and not call.args:
        return f"{func.id}() gives access to any variable by name"
    return None


def dynamic_import(call: ast.Call) -> str | None:
    """``m`` for ``__import__("m.x")`` or ``importlib.import_module("m.x")``."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name not in ("__import__", "import_module") or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
        return first.value.split(".")[0] or None
    return None


def import_binding(alias: ast.alias) -> str:
    """The name ``import a.b.c`` (``a``) or ``import a.b as c`` (``c``) binds."""
    return alias.asname or alias.name.split(".")[0]


def signature_expressions(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[ast.expr]:
    """Expressions evaluated where a function is defined: decorators, defaults, annotations."""
    arguments = node.args
    found: list[ast.expr] = []
    if not isinstance(node, ast.Lambda):
        found += node.decorator_list
    found += [d for d in [*arguments.defaults, *arguments.kw_defaults] if d is not None]
    if isinstance(node, ast.Lambda):
        return found
    every = [
        *arguments.posonlyargs,
        *arguments.args,
        arguments.vararg,
        *arguments.kwonlyargs,
        arguments.kwarg,
    ]
    found += [a.annotation for a in every if a is not None and a.annotation is not None]
    if node.returns is not None:
        found.append(node.returns)
    return found


def star_reason(module: str | None) -> str:
    return f"'from {module} import *' binds names that cannot be known without running it"
