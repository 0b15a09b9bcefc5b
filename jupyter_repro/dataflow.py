"""Static data flow of notebook code: what each cell and step defines, reads and mutates.  (pure)

Nothing is executed: cells are parsed with :mod:`ast` after IPython's own input transformer has turned
``%magics`` and ``!shell`` lines into plain calls, so a notebook full of magics still parses. The rules
(documented for users in ``docs/tags.md``):

* A read is a name loaded before this cell/step bound it. Reads of names bound only on some paths
  (inside ``if``/``for``/``try``...) are "weak": they come from outside only when something outside
  defines them, and are never reported as hidden state.
* Mutation is definition: ``x += ...``, ``x[...] = ...``, ``x.attr = ...``, ``del x[...]``, calls with
  ``inplace=True``, well-known mutating methods (``append``, ``update``, ``fit``, torch's ``add_``...),
  mutating functions (``random.shuffle(x)``, ``heapq.heappush(h, ...)``, ``setattr(x, ...)``) and calls
  of notebook functions that mutate their arguments all make the cell a provider of ``x``.
  Method calls on imported modules (``np.append``, ``os.remove``) are not mutations of the module.
* A function's or class's free variables are read, and its ``global`` assignments and mutations
  happen, wherever the function is referenced (called or passed on), not where it is defined.
* ``from m import *``, ``%run``, ``%store -r``, ``exec``/``eval`` and ``globals()``/``locals()``/
  ``vars()`` make the analysis imprecise: the caller treats the step conservatively, never silently
  wrongly.
"""

from __future__ import annotations

import ast
import builtins
import functools
import heapq
import itertools
import re
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from jupyter_repro.errors import PipelineError
from jupyter_repro.model import PARAMETERS_PROVIDER, HiddenStateRead, StepInput

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

_PYTHON_MAGICS = frozenset({"time", "timeit", "prun", "debug", "capture"})
"""Magics whose argument/body is Python run in the user's namespace."""
_SCRIPT_MAGICS = frozenset({"bash", "sh", "script", "perl", "ruby", "python", "python2", "python3", "pypy"})
"""Cell magics that run a subprocess; ``--out NAME``/``--err NAME`` bind a variable."""

_IPYTHON_NAMES = frozenset(
    {"get_ipython", "display", "In", "Out", "exit", "quit", "_", "__", "___", "_i", "_ii", "_iii",
     "_ih", "_oh", "_dh", "__name__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__"}
)  # fmt: skip
_AMBIENT = frozenset(dir(builtins)) | _IPYTHON_NAMES
_HISTORY_NAME = re.compile(r"_i?\d+")


def is_ambient(name: str) -> bool:
    """True for names every kernel provides (builtins, IPython's ``display``, ``Out``, ``_3``...)."""
    return name in _AMBIENT or _HISTORY_NAME.fullmatch(name) is not None


# --------------------------------------------------------------------------------------------------
# Source code: magics, parsing, normalisation


@functools.lru_cache(maxsize=1)
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager

    factory: Any = TransformerManager  # IPython is only partly typed
    return factory()


def _ipython_transform(source: str) -> str:
    """IPython's translation of magics and ``!shell`` into calls; the source itself if that fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return str(_transformer().transform_cell(source))
    except Exception:  # IPython's transformers raise assorted errors on malformed input
        return source


def _try_parse(code: str) -> ast.Module | None:
    try:
        return _parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _parse(code: str) -> ast.Module:
    # user code full of "\d" regexes must not turn into warnings (errors under pytest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code)


def python_source(source: str) -> str:
    """The cell as plain Python: the source itself when it parses, else IPython's transformation."""
    if _try_parse(source) is not None:
        return source
    return _ipython_transform(source)


def parse_cell(
    source: str, *, notebook: str | None = None, cell: int | None = None, step: str | None = None
) -> ast.Module:
    """Parse a cell (magics allowed); a syntax error becomes a :class:`PipelineError` naming the cell."""
    tree = _try_parse(source)
    if tree is not None:
        return tree
    try:
        return _parse(_ipython_transform(source))
    except SyntaxError as error:
        line = f" on line {error.lineno}" if error.lineno else ""
        message = f"syntax error{line}: {error.msg}"
    except (ValueError, RecursionError, MemoryError) as error:
        message = f"cannot be parsed: {error or type(error).__name__}"
    raise PipelineError(
        message, notebook=notebook, cell=cell, step=step, hint="fix the cell, or tag it 'skip'"
    )


def normalised_code(source: str) -> str:
    """The cell's code without comments, blank lines or insignificant whitespace (for cache keys).

    Parsed code is re-rendered with :func:`ast.unparse`, so a comment-only or formatting-only edit
    gives the same text; code that does not parse falls back to dropping comment and blank lines.
    """
    tree = _try_parse(source) or _try_parse(_ipython_transform(source))
    if tree is not None:
        try:
            return ast.unparse(tree)
        except (RecursionError, ValueError):
            pass
    lines = (line.rstrip() for line in source.splitlines())
    return "\n".join(line for line in lines if line.strip() and not line.lstrip().startswith("#"))


# --------------------------------------------------------------------------------------------------
# Results


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


@dataclass(frozen=True)
class CellFlow:
    """The data flow of one cell."""

    reads: tuple[str, ...]
    """Names read before the cell binds them, in first-read order (builtins included)."""
    weak_reads: tuple[str, ...]
    """Names read when the cell has bound them only on some paths."""
    must: frozenset[str]
    """Names bound on every path through the cell."""
    may: frozenset[str]
    """Names bound on some path (a superset of :attr:`must`)."""
    defined: tuple[str, ...]
    """Names bound or mutated, in order."""
    modules: frozenset[str]
    """Top-level modules imported (including inside functions and ``__import__('m')``)."""
    imprecise: tuple[str, ...]
    """Why the analysis of this cell is not precise (empty when it is)."""
    known: Known
    """The notebook-wide facts after this cell, to analyse the next one."""


@dataclass(frozen=True)
class StepFlow:
    """The data flow of a whole step (its cells composed in order)."""

    name: str
    reads: tuple[str, ...]
    """Names read from outside the step (strong reads first, then weak), builtins included."""
    strong: frozenset[str]
    """The subset of :attr:`reads` read before any binding in the step."""
    defined: tuple[str, ...]
    imprecise_reason: str | None = None


# --------------------------------------------------------------------------------------------------
# Helpers shared by the scope collector and the cell analyser


def _root_name(node: ast.expr) -> str | None:
    """``df`` for ``df``, ``df.a.b``, ``df["c"][0]``; ``None`` when a call or literal is in the way."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _mutated_roots(target: ast.expr) -> Iterator[str]:
    """Names mutated (not rebound) by assigning to or deleting ``target``."""
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _mutated_roots(element)
    elif isinstance(target, ast.Starred):
        yield from _mutated_roots(target.value)
    elif isinstance(target, ast.Attribute | ast.Subscript):
        root = _root_name(target)
        if root is not None:
            yield root


def _is_mutating_method(name: str) -> bool:
    return name in MUTATING_METHODS or (name.endswith("_") and not name.startswith("_"))


def _has_inplace(call: ast.Call) -> bool:
    return any(
        keyword.arg == "inplace" and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
        for keyword in call.keywords
    )


def _call_mutations(
    call: ast.Call, functions: Mapping[str, FunctionSummary], imports: Collection[str]
) -> Iterator[str]:
    """Names a call mutates: its receiver, its first argument, or arguments a notebook function mutates."""
    func = call.func
    if isinstance(func, ast.Attribute):
        called = func.attr
        root = _root_name(func.value)
        if root is not None and root not in imports and (_is_mutating_method(called) or _has_inplace(call)):
            yield root
    elif isinstance(func, ast.Name):
        called = func.id
    else:
        return
    if called in MUTATING_FUNCTIONS and call.args:
        first = _root_name(call.args[0])
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
            root = _root_name(argument)
            if root is not None:
                yield root
    for keyword in call.keywords:
        if keyword.arg in summary.mutated_params:
            root = _root_name(keyword.value)
            if root is not None:
                yield root


def _imprecise_call(call: ast.Call) -> str | None:
    func = call.func
    if not isinstance(func, ast.Name):
        return None
    if func.id in ("exec", "eval"):
        return f"{func.id}() runs code that static analysis cannot see"
    if func.id in ("globals", "locals", "vars") and not call.args:
        return f"{func.id}() gives access to any variable by name"
    return None


def _dynamic_import(call: ast.Call) -> str | None:
    """``m`` for ``__import__("m.x")`` or ``importlib.import_module("m.x")``."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name not in ("__import__", "import_module") or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
        return first.value.split(".")[0] or None
    return None


def _import_binding(alias: ast.alias) -> str:
    """The name ``import a.b.c`` (``a``) or ``import a.b as c`` (``c``) binds."""
    return alias.asname or alias.name.split(".")[0]


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[ast.expr]:
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


def _star_reason(module: str | None) -> str:
    return f"'from {module} import *' binds names that cannot be known without running it"


# --------------------------------------------------------------------------------------------------
# Nested scopes (functions, lambdas, classes, comprehensions): flow-insensitive name collection

ScopeKind = Literal["function", "class", "comprehension"]


class _Scope(ast.NodeVisitor):
    """Collects the names one nested scope loads, binds and mutates, following Python's scoping."""

    def __init__(self, kind: ScopeKind, known: Known) -> None:
        self.kind = kind
        self.known = known
        self.params: list[str] = []
        self.other_params: set[str] = set()
        self.loads: dict[str, None] = {}
        self.deferred: dict[str, None] = {}  # free names of nested function-like scopes
        self.stores: set[str] = set()
        self.declared_global: set[str] = set()
        self.declared_nonlocal: set[str] = set()
        self.mutated: set[str] = set()
        self.global_writes: set[str] = set()
        self.walrus: set[str] = set()  # comprehension: names bound in the enclosing scope
        self.modules: set[str] = set()
        self.imprecise: list[str] = []

    # ---- construction

    @classmethod
    def of_function(cls, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, known: Known) -> _Scope:
        scope = cls("function", known)
        arguments = node.args
        scope.params = [arg.arg for arg in (*arguments.posonlyargs, *arguments.args)]
        extra = [arguments.vararg, *arguments.kwonlyargs, arguments.kwarg]
        scope.other_params = {arg.arg for arg in extra if arg is not None}
        if isinstance(node, ast.Lambda):
            scope.visit(node.body)
        else:
            for statement in node.body:
                scope.visit(statement)
        return scope

    @classmethod
    def of_class(cls, node: ast.ClassDef, known: Known) -> _Scope:
        scope = cls("class", known)
        for statement in node.body:
            scope.visit(statement)
        return scope

    @classmethod
    def of_comprehension(
        cls, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, known: Known
    ) -> _Scope:
        """The first iterable is evaluated outside: the caller visits ``generators[0].iter``."""
        scope = cls("comprehension", known)
        for position, generator in enumerate(node.generators):
            scope.visit(generator.target)
            if position:
                scope.visit(generator.iter)
            for condition in generator.ifs:
                scope.visit(condition)
        elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for element in elements:
            scope.visit(element)
        return scope

    # ---- results

    def local_names(self) -> set[str]:
        bound = self.stores - self.declared_global - self.declared_nonlocal
        return bound | set(self.params) | self.other_params

    def free_loads(self) -> list[str]:
        local = self.local_names()
        return [name for name in self.loads if name not in local]

    def free_deferred(self) -> list[str]:
        if self.kind == "class":  # methods do not see class-body names
            return list(self.deferred)
        local = self.local_names()
        return [name for name in self.deferred if name not in local]

    def outer_mutations(self) -> set[str]:
        return self.mutated - self.local_names()

    def outer_rebinds(self) -> set[str]:
        return (self.stores & self.declared_global) | self.global_writes

    def summary(self) -> FunctionSummary:
        reads = tuple(dict.fromkeys([*self.free_loads(), *self.free_deferred()]))
        return FunctionSummary(
            reads=reads,
            rebinds=frozenset(self.outer_rebinds()),
            mutates=frozenset(self.outer_mutations()),
            params=tuple(self.params),
            mutated_params=frozenset(p for p in self.params if p in self.mutated),
            imprecise=self.imprecise[0] if self.imprecise else None,
        )

    # ---- merging nested scopes

    def _absorb(self, child: _Scope) -> None:
        self.global_writes |= child.outer_rebinds()
        self.mutated |= child.outer_mutations()
        self.modules |= child.modules
        self.imprecise.extend(child.imprecise)

    def _merge_function(self, child: _Scope) -> None:
        self.deferred.update(dict.fromkeys([*child.free_loads(), *child.free_deferred()]))
        self._absorb(child)

    def _merge_immediate(self, child: _Scope) -> None:
        """A class body or comprehension runs now: its free loads are loads of this scope."""
        self.loads.update(dict.fromkeys(child.free_loads()))
        self.deferred.update(dict.fromkeys(child.free_deferred()))
        if self.kind == "comprehension":
            self.walrus |= child.walrus
        else:
            self.stores |= child.walrus
        self._absorb(child)

    # ---- visitors

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.setdefault(node.id)
        else:
            self.stores.add(node.id)

    def visit_Global(self, node: ast.Global) -> None:
        self.declared_global.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.declared_nonlocal.update(node.names)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.stores.add(_import_binding(alias))
            self.modules.add(alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.modules.add(node.module.split(".")[0])
        for alias in node.names:
            if alias.name == "*":
                self.imprecise.append(_star_reason(node.module))
            else:
                self.stores.add(alias.asname or alias.name)

    def _visit_signature(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        for expression in _signature(node):
            self.visit(expression)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._visit_signature(node)
        self.stores.add(node.name)
        self._merge_function(_Scope.of_function(node, self.known))

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_signature(node)
        self._merge_function(_Scope.of_function(node, self.known))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expression)
        self.stores.add(node.name)
        self._merge_immediate(_Scope.of_class(node, self.known))

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        self.visit(node.generators[0].iter)
        self._merge_immediate(_Scope.of_comprehension(node, self.known))

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _visit_comprehension

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        if self.kind == "comprehension":
            self.walrus.add(node.target.id)
        else:
            self.stores.add(node.target.id)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.stores.add(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.stores.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.stores.add(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.stores.add(node.rest)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        self.mutated.update(_call_mutations(node, self.known.functions, self.known.imports))
        reason = _imprecise_call(node)
        if reason is not None:
            self.imprecise.append(reason)
        module = _dynamic_import(node)
        if module is not None:
            self.modules.add(module)

    def _visit_assignment(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Delete) -> None:
        self.generic_visit(node)
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            self.mutated.update(_mutated_roots(target))
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            self.loads.setdefault(node.target.id)

    visit_Assign = visit_AnnAssign = visit_AugAssign = visit_Delete = _visit_assignment


# --------------------------------------------------------------------------------------------------
# Top-level code of a cell: flow-sensitive, in execution order

_Block = Sequence[ast.stmt]


class _CellAnalyser:
    """Walks a cell's top-level statements in order, tracking what is bound on every/some path."""

    def __init__(self, known: Known) -> None:
        self.functions: dict[str, FunctionSummary] = dict(known.functions)
        self.imports: set[str] = set(known.imports)
        self.must: set[str] = set()
        self.may: set[str] = set()
        self.reads: dict[str, None] = {}
        self.weak_reads: dict[str, None] = {}
        self.defined: dict[str, None] = {}
        self.modules: set[str] = set()
        self.imprecise: dict[str, None] = {}
        self._expanding: set[str] = set()
        self._conditional = 0  # > 0 inside `a and b`, `a or b`, `x if c else y`

    def result(self) -> CellFlow:
        return CellFlow(
            reads=tuple(self.reads),
            weak_reads=tuple(name for name in self.weak_reads if name not in self.reads),
            must=frozenset(self.must),
            may=frozenset(self.may),
            defined=tuple(self.defined),
            modules=frozenset(self.modules),
            imprecise=tuple(self.imprecise),
            known=Known(MappingProxyType(dict(self.functions)), frozenset(self.imports)),
        )

    def known(self) -> Known:
        return Known(self.functions, frozenset(self.imports))

    # ---- events

    def read(self, name: str) -> None:
        if name in self.must:
            pass
        elif name in self.may:
            self.weak_reads.setdefault(name)
        else:
            self.reads.setdefault(name)
        summary = self.functions.get(name)
        if summary is not None and name not in self._expanding:
            self._expanding.add(name)
            self._apply(summary)
            self._expanding.discard(name)

    def _apply(self, summary: FunctionSummary) -> None:
        """Referencing a function: its free names are read and its side effects happen now."""
        for name in summary.reads:
            self.read(name)
        for name in sorted(summary.rebinds):
            self.bind(name, certain=False)
        for name in sorted(summary.mutates):
            self.mutate(name)
        if summary.imprecise:
            self.imprecise.setdefault(summary.imprecise)

    def bind(self, name: str, *, certain: bool = True, is_import: bool = False) -> None:
        self.may.add(name)
        if certain:
            self.must.add(name)
        self.defined.setdefault(name)
        self.functions.pop(name, None)
        if is_import:
            self.imports.add(name)
        else:
            self.imports.discard(name)

    def mutate(self, name: str) -> None:
        if name not in self.imports:
            self.defined.setdefault(name)

    def _apply_scope(self, scope: _Scope, reads: Iterable[str]) -> None:
        """A nested scope that runs now (lambda used inline, comprehension, class body)."""
        for name in reads:
            self.read(name)
        for name in sorted(scope.walrus):
            self.bind(name, certain=False)
        for name in sorted(scope.outer_rebinds()):
            self.bind(name, certain=False)
        for name in sorted(scope.outer_mutations()):
            self.mutate(name)
        self.modules |= scope.modules
        self.imprecise.update(dict.fromkeys(scope.imprecise))

    # ---- statements

    def block(self, statements: _Block) -> None:
        for statement in statements:
            handler: Callable[[Any], None] = getattr(self, f"_s_{type(statement).__name__}", self._generic)
            handler(statement)

    def _branch(self, statements: _Block) -> set[str]:
        """Run a block that may not execute; return what it binds on every path, restore the rest."""
        before = set(self.must)
        self.block(statements)
        bound = set(self.must)
        self.must = before
        return bound

    def _generic(self, node: ast.AST) -> None:
        for _, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ast.stmt):
                    self.block([item])
                elif isinstance(item, ast.expr):
                    self.expr(item)

    def _s_Expr(self, node: ast.Expr) -> None:
        self.expr(node.value)

    def _s_Assign(self, node: ast.Assign) -> None:
        (first, *others) = node.targets
        if isinstance(node.value, ast.Lambda) and not others and isinstance(first, ast.Name):
            self._define_function(first.id, node.value)
            return
        self.expr(node.value)
        for target in node.targets:
            self.target(target)

    def _s_AugAssign(self, node: ast.AugAssign) -> None:
        self.expr(node.value)
        if isinstance(node.target, ast.Name):
            self.read(node.target.id)
            self.bind(node.target.id)
        else:
            self.target(node.target)

    def _s_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.expr(node.annotation)
        if node.value is not None:
            self.expr(node.value)
            self.target(node.target)
        elif not isinstance(node.target, ast.Name):
            self.expr(node.target.value)

    def _s_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):  # `del x`: x is changed; later readers see this cell last
                self.read(target.id)
                self.defined.setdefault(target.id)
            else:
                self.target(target)

    def _s_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.modules.add(alias.name.split(".")[0])
            self.bind(_import_binding(alias), is_import=True)

    def _s_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.modules.add(node.module.split(".")[0])
        for alias in node.names:
            if alias.name == "*":
                self.imprecise.setdefault(_star_reason(node.module))
            else:
                self.bind(alias.asname or alias.name, is_import=True)

    def _s_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._define_function(node.name, node)

    _s_AsyncFunctionDef = _s_FunctionDef

    def _define_function(self, name: str, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        for expression in _signature(node):
            self.expr(expression)
        scope = _Scope.of_function(node, self.known())
        self.bind(name)
        self.modules |= scope.modules
        self.functions[name] = scope.summary()

    def _s_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.expr(expression)
        scope = _Scope.of_class(node, self.known())
        self._apply_scope(scope, scope.free_loads())
        self.bind(node.name)
        self.functions[node.name] = FunctionSummary(
            reads=tuple(scope.free_deferred()),
            rebinds=frozenset(scope.outer_rebinds()),
            mutates=frozenset(scope.outer_mutations()),
            imprecise=scope.imprecise[0] if scope.imprecise else None,
        )

    def _s_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.expr(node.iter)
        before = set(self.must)
        self.target(node.target)
        self.block(node.body)
        self.must = before
        self._branch(node.orelse)

    _s_AsyncFor = _s_For

    def _s_While(self, node: ast.While) -> None:
        self.expr(node.test)
        self._branch(node.body)
        self._branch(node.orelse)

    def _s_If(self, node: ast.If) -> None:
        self.expr(node.test)
        body = self._branch(node.body)
        orelse = self._branch(node.orelse)
        self.must |= body & orelse

    def _s_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.expr(item.context_expr)
            if item.optional_vars is not None:
                self.target(item.optional_vars)
        self.block(node.body)

    _s_AsyncWith = _s_With

    def _s_Try(self, node: ast.Try | ast.TryStar) -> None:
        self._branch(node.body)
        for handler in node.handlers:
            self._handler(handler)
        self._branch(node.orelse)
        self.block(node.finalbody)

    _s_TryStar = _s_Try

    def _handler(self, handler: ast.ExceptHandler) -> None:
        if handler.type is not None:
            self.expr(handler.type)
        name = handler.name
        if name is None:
            self._branch(handler.body)
            return
        was_defined, was_bound = name in self.defined, name in self.may
        self.bind(name)
        self._branch(handler.body)
        self.must.discard(name)  # Python unbinds `except ... as name` after the handler
        if not was_bound:
            self.may.discard(name)
        if not was_defined:
            self.defined.pop(name, None)

    def _s_Match(self, node: ast.Match) -> None:
        self.expr(node.subject)
        for case in node.cases:
            before = set(self.must)
            self._pattern(case.pattern)
            if case.guard is not None:
                self.expr(case.guard)
            self.block(case.body)
            self.must = before

    def _pattern(self, pattern: ast.pattern) -> None:
        for node in ast.walk(pattern):
            if isinstance(node, ast.MatchValue):
                self.expr(node.value)
            elif isinstance(node, ast.MatchClass):
                self.expr(node.cls)
            elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
                self.bind(node.name)  # certain inside the case; the caller restores afterwards
            elif isinstance(node, ast.MatchMapping):
                for key in node.keys:
                    self.expr(key)
                if node.rest:
                    self.bind(node.rest)

    def _s_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        """No effect at top level."""

    _s_Nonlocal = _s_Global

    # ---- assignment targets

    def target(self, node: ast.expr, *, certain: bool = True) -> None:
        if isinstance(node, ast.Name):
            self.bind(node.id, certain=certain)
        elif isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                self.target(element, certain=certain)
        elif isinstance(node, ast.Starred):
            self.target(node.value, certain=certain)
        elif isinstance(node, ast.Attribute | ast.Subscript):
            self.expr(node.value)
            if isinstance(node, ast.Subscript):
                self.expr(node.slice)
            for root in _mutated_roots(node):
                self.mutate(root)
        else:
            self.expr(node)

    # ---- expressions

    def expr(self, node: ast.AST) -> None:
        handler = getattr(self, f"_e_{type(node).__name__}", None)
        if handler is not None:
            handler(node)
            return
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.expr_context):
                self.expr(child)

    def _e_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.read(node.id)

    def _e_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.expr(node.value)
        self.bind(node.target.id, certain=self._conditional == 0)

    def _e_BoolOp(self, node: ast.BoolOp) -> None:
        first, *others = node.values
        self.expr(first)
        self._conditionally(others)

    def _e_IfExp(self, node: ast.IfExp) -> None:
        self.expr(node.test)
        self._conditionally([node.body, node.orelse])

    def _conditionally(self, expressions: Sequence[ast.expr]) -> None:
        self._conditional += 1
        try:
            for expression in expressions:
                self.expr(expression)
        finally:
            self._conditional -= 1

    def _e_Lambda(self, node: ast.Lambda) -> None:
        """An inline lambda is treated as if called where it is written (conservative)."""
        for expression in _signature(node):
            self.expr(expression)
        scope = _Scope.of_function(node, self.known())
        self._apply_scope(scope, [*scope.free_loads(), *scope.free_deferred()])

    def _e_comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        self.expr(node.generators[0].iter)
        scope = _Scope.of_comprehension(node, self.known())
        self._apply_scope(scope, [*scope.free_loads(), *scope.free_deferred()])

    _e_ListComp = _e_SetComp = _e_GeneratorExp = _e_DictComp = _e_comprehension

    def _e_Call(self, node: ast.Call) -> None:
        if self._magic(node):
            return
        self.expr(node.func)
        for argument in node.args:
            self.expr(argument)
        for keyword in node.keywords:
            self.expr(keyword.value)
        for root in _call_mutations(node, self.functions, self.imports):
            self.mutate(root)
        reason = _imprecise_call(node)
        if reason is not None:
            self.imprecise.setdefault(reason)
        module = _dynamic_import(node)
        if module is not None:
            self.modules.add(module)

    # ---- IPython magics (already turned into get_ipython().run_*_magic(...) calls)

    def _magic(self, node: ast.Call) -> bool:
        func = node.func
        if not (
            isinstance(func, ast.Attribute)
            and func.attr in ("run_line_magic", "run_cell_magic")
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "get_ipython"
        ):
            return False
        texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if not texts or len(texts) != len(node.args):
            return False
        name, *rest = texts
        if func.attr == "run_line_magic":
            self._line_magic(name, rest[0] if rest else "")
        else:
            self._cell_magic(name, rest[0] if rest else "", rest[1] if len(rest) > 1 else "")
        return True

    def _line_magic(self, name: str, argument: str) -> None:
        if name in _PYTHON_MAGICS:
            self._embedded(argument, skip_options=True)
        elif name == "run":
            self.imprecise.setdefault("%run executes another file in the notebook's namespace")
        elif name == "store" and argument.split()[:1] == ["-r"]:
            self.imprecise.setdefault("%store -r restores variables saved by another session")

    def _cell_magic(self, name: str, line: str, body: str) -> None:
        words = line.split()
        if name in _PYTHON_MAGICS:
            self._embedded(body)
            if name == "capture":
                output = next((word for word in words if not word.startswith("-")), None)
                if output is not None and output.isidentifier():
                    self.bind(output)
        elif name in _SCRIPT_MAGICS:
            for option, value in itertools.pairwise(words):
                if option in ("--out", "--err") and value.isidentifier():
                    self.bind(value)

    def _embedded(self, code: str, *, skip_options: bool = False) -> None:
        """Python inside a magic runs in the user's namespace: analyse it in place."""
        starts = [0]
        if skip_options:  # `%timeit -n 10 f(x)`: try the text after each leading word
            starts += [match.end() for match in re.finditer(r"\s+", code)]
        for start in starts:
            tree = _try_parse(python_source(code[start:]))
            if tree is not None:
                self.block(tree.body)
                return


def analyse_cell(
    source: str,
    known: Known = EMPTY,
    *,
    notebook: str | None = None,
    cell: int | None = None,
    step: str | None = None,
) -> CellFlow:
    """The data flow of one cell, given what earlier cells defined; never executes anything.

    A cell that does not parse raises :class:`PipelineError` naming the cell.
    """
    tree = parse_cell(source, notebook=notebook, cell=cell, step=step)
    analyser = _CellAnalyser(known)
    try:
        analyser.block(tree.body)
    except RecursionError:
        raise PipelineError(
            "the code is nested too deeply to analyse",
            notebook=notebook,
            cell=cell,
            step=step,
            hint="split the expression, or tag the cell 'skip'",
        ) from None
    return analyser.result()


# --------------------------------------------------------------------------------------------------
# Steps: composing cells, resolving reads to providers, the DAG


def combine(name: str, cells: Sequence[tuple[int, CellFlow]]) -> StepFlow:
    """Compose a step's cells (index, flow) in order: a read an earlier cell satisfies is internal."""
    must: set[str] = set()
    may: set[str] = set()
    strong: dict[str, None] = {}
    weak: dict[str, None] = {}
    defined: dict[str, None] = {}
    reasons: list[str] = []
    for index, flow in cells:
        for read in flow.reads:
            if read not in must:
                (weak if read in may else strong).setdefault(read)
        for read in flow.weak_reads:
            if read not in must:
                weak.setdefault(read)
        must |= flow.must
        may |= flow.may
        defined.update(dict.fromkeys(flow.defined))
        reasons.extend(f"cell {index}: {reason}" for reason in flow.imprecise)
    reads = tuple(dict.fromkeys([*strong, *weak]))
    reason = "; ".join(dict.fromkeys(reasons)) or None
    return StepFlow(name, reads, frozenset(strong), tuple(defined), reason)


@dataclass(frozen=True)
class Resolution:
    """A step's inputs (with providers) and the steps it depends on through data."""

    inputs: tuple[StepInput, ...]
    dependencies: tuple[str, ...]


class _Providers:
    """Which earlier step last defined each name, walking the steps in notebook order."""

    def __init__(self, parameters: Collection[str], shared: Collection[str]) -> None:
        self.parameters = parameters
        self.shared = shared
        self.last: dict[str, int] = {}
        self.last_imprecise: int | None = None

    def provider(self, name: str) -> int | str | None:
        """A step position, ``"parameters"``, or ``None`` (setup, builtin or unknown)."""
        position = self.last.get(name)
        if position is None and (name in self.shared or is_ambient(name)):
            return None
        if self.last_imprecise is not None and (position is None or self.last_imprecise > position):
            return self.last_imprecise
        if position is not None:
            return position
        return PARAMETERS_PROVIDER if name in self.parameters else None

    def record(self, position: int, flow: StepFlow) -> None:
        for name in flow.defined:
            self.last[name] = position
        if flow.imprecise_reason is not None:
            self.last_imprecise = position


def resolve(
    flows: Sequence[StepFlow], *, parameters: Collection[str], shared: Collection[str]
) -> tuple[Resolution, ...]:
    """Resolve every step's reads to the nearest earlier provider (steps in notebook order).

    ``parameters`` resolve to ``"parameters"`` unless a step redefined them; ``shared`` names (setup,
    imports/functions of parameter cells) and builtins are available in every step and are not
    inputs. An imprecise step reads every name defined earlier, depends on every earlier step, and
    is taken to redefine any name a later step reads (except builtins and shared names).
    """
    providers = _Providers(parameters, shared)
    resolutions = []
    for position, flow in enumerate(flows):
        wanted = list(flow.reads)
        if flow.imprecise_reason is not None:
            wanted += [*providers.last, *parameters]
        inputs = {}
        for name in dict.fromkeys(wanted):
            found = providers.provider(name)
            if found is not None:
                inputs[name] = found if isinstance(found, str) else flows[found].name
        dependencies = {value for value in inputs.values() if value != PARAMETERS_PROVIDER}
        if flow.imprecise_reason is not None:
            dependencies |= {earlier.name for earlier in flows[:position]}
        resolutions.append(
            Resolution(
                inputs=tuple(StepInput(name, inputs[name]) for name in sorted(inputs)),
                dependencies=tuple(sorted(dependencies)),
            )
        )
        providers.record(position, flow)
    return tuple(resolutions)


class CycleError(PipelineError):
    """The step graph has a cycle; ``cycle`` lists its steps, the first repeated at the end."""

    def __init__(self, cycle: Sequence[str]) -> None:
        super().__init__(f"the steps form a cycle: {' -> '.join(cycle)}", step=cycle[0])
        self.cycle = tuple(cycle)


def topological_order(names: Sequence[str], requires: Mapping[str, Collection[str]]) -> tuple[str, ...]:
    """Order ``names`` so each comes after what it ``requires``; ties keep the order of ``names``.

    Raises :class:`CycleError` naming the steps of a cycle.
    """
    position = {name: index for index, name in enumerate(names)}
    waiting = {name: len(set(requires.get(name, ()))) for name in names}
    dependants: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        for needed in set(requires.get(name, ())):
            dependants[needed].append(name)
    ready = [position[name] for name in names if waiting[name] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for dependant in dependants[name]:
            waiting[dependant] -= 1
            if waiting[dependant] == 0:
                heapq.heappush(ready, position[dependant])
    if len(order) < len(names):
        raise CycleError(_find_cycle([n for n in names if n not in order], requires))
    return tuple(order)


def _find_cycle(remaining: Sequence[str], requires: Mapping[str, Collection[str]]) -> list[str]:
    """Follow unmet requirements from a remaining node until a node repeats: that loop is a cycle."""
    rank = {name: index for index, name in enumerate(remaining)}
    path: list[str] = []
    seen: dict[str, int] = {}
    node = remaining[0]
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min((n for n in requires.get(node, ()) if n in rank), key=rank.__getitem__)
    loop = list(reversed(path[seen[node] :]))  # dependency direction: a -> b means "a runs before b"
    first = min(range(len(loop)), key=lambda i: rank[loop[i]])  # start at the earliest step
    loop = loop[first:] + loop[:first]
    return [*loop, loop[0]]


def upstream(order: Sequence[str], requires: Mapping[str, Collection[str]]) -> dict[str, tuple[str, ...]]:
    """Every step's transitive requirements, each listed in ``order`` (a topological order)."""
    closure: dict[str, set[str]] = {}
    for name in order:
        found: set[str] = set()
        for needed in requires.get(name, ()):
            found.add(needed)
            found |= closure[needed]
        closure[name] = found
    return {name: tuple(n for n in order if n in closure[name]) for name in order}


# --------------------------------------------------------------------------------------------------
# Hidden state


def hidden_state(
    executed: Sequence[tuple[int, CellFlow]],
    skipped: Sequence[tuple[int, frozenset[str]]],
    *,
    preloaded: Collection[str],
    step_of: Mapping[int, str | None],
    uncertain: bool = False,
) -> tuple[HiddenStateRead, ...]:
    """Reads a clean top-down run cannot satisfy: the name is defined only later, in a skipped cell,
    or nowhere.

    ``executed`` are the cells that run, in notebook order; ``preloaded`` names exist before any of
    them (setup and parameters). After an imprecise cell (star import, ``%run``...) nothing more is
    reported: any name might come from it, and a wrong accusation is worse than silence.
    """
    available = set(preloaded)
    found: list[HiddenStateRead] = []
    for position, (index, flow) in enumerate(executed):
        uncertain = uncertain or bool(flow.imprecise)
        if not uncertain:
            for name in flow.reads:
                if name not in available and not is_ambient(name):
                    found.append(_explain(name, index, position, executed, skipped, step_of))
        available |= flow.may | set(flow.defined)
    return tuple(found)


def _explain(
    name: str,
    index: int,
    position: int,
    executed: Sequence[tuple[int, CellFlow]],
    skipped: Sequence[tuple[int, frozenset[str]]],
    step_of: Mapping[int, str | None],
) -> HiddenStateRead:
    step = step_of.get(index)
    earlier_skip = next((i for i, names in skipped if i < index and name in names), None)
    if earlier_skip is not None:
        return HiddenStateRead(index, name, earlier_skip, "skipped", step)
    later = next(
        (i for i, flow in executed[position + 1 :] if name in flow.may or name in flow.defined), None
    )
    if later is not None:
        return HiddenStateRead(index, name, later, "later", step)
    later_skip = next((i for i, names in skipped if i > index and name in names), None)
    if later_skip is not None:
        return HiddenStateRead(index, name, later_skip, "skipped", step)
    return HiddenStateRead(index, name, None, "undefined", step)


# --------------------------------------------------------------------------------------------------
# Parameters cell


@dataclass(frozen=True)
class ParameterAssignment:
    """``name = value`` in a parameters cell: the literal value, or the expression's source."""

    name: str
    literal: bool
    value: Any


def parameter_assignments(tree: ast.Module) -> tuple[ParameterAssignment, ...]:
    """Top-level simple assignments of a parameters cell, in order (papermill's reading of it)."""
    found: list[ParameterAssignment] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                found.extend(_assignments(target, statement.value))
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            found.extend(_assignments(statement.target, statement.value))
    return tuple(found)


def _assignments(target: ast.expr, value: ast.expr) -> Iterator[ParameterAssignment]:
    if isinstance(target, ast.Name):
        yield _evaluated(target.id, value)
    elif (
        isinstance(target, ast.Tuple | ast.List)
        and isinstance(value, ast.Tuple | ast.List)
        and len(target.elts) == len(value.elts)
        and not any(isinstance(e, ast.Starred) for e in [*target.elts, *value.elts])
    ):
        for element, item in zip(target.elts, value.elts, strict=True):
            yield from _assignments(element, item)
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            if isinstance(element, ast.Name):
                yield ParameterAssignment(element.id, False, ast.unparse(value))


def _evaluated(name: str, value: ast.expr) -> ParameterAssignment:
    try:
        return ParameterAssignment(name, True, ast.literal_eval(value))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ParameterAssignment(name, False, ast.unparse(value))
