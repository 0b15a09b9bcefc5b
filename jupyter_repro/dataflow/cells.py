"""One cell's data flow: its top-level code, walked in execution order.  (pure)

Flow-sensitive: what is bound on every path (``must``) and on some path (``may``) is tracked through
``if``/``for``/``try``/``match``, so a read after a conditional binding is "weak". Nested scopes are
collected by :mod:`.scopes` and applied where they run (a function: wherever it is referenced).
IPython syntax arrives as the ``get_ipython().<method>(...)`` calls IPython's transformer writes
(:mod:`jupyter_repro.source`): magics running Python in the user's namespace are analysed in place,
the text IPython expands into shell commands and magic lines is read. A cell that does not parse at
all is imprecise (:func:`analyse_cell`), never an error.
"""

from __future__ import annotations

import ast
import itertools
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from jupyter_repro.dataflow.rules import (
    EMPTY,
    FunctionSummary,
    Known,
    call_mutations,
    dynamic_import,
    import_binding,
    imprecise_call,
    mutated_roots,
    signature_expressions,
    star_reason,
)
from jupyter_repro.dataflow.scopes import Scope
from jupyter_repro.source import PYTHON_MAGICS, magic_call, parse_or_reason, python_source, try_parse

_HELP_MAGICS = frozenset({"pinfo", "pinfo2", "pdoc", "pdef", "psource", "pfile"})
"""What ``obj?``/``obj??`` become: they show the object named by the argument."""
_UNEXPANDED_MAGICS = frozenset({"time", "timeit", "prun", "debug"})
"""Magics IPython does not ``var_expand`` (``@no_var_expand``): their text is Python."""
_SCRIPT_MAGICS = frozenset({"bash", "sh", "script", "perl", "ruby", "python", "python2", "python3", "pypy"})
"""Cell magics that run a subprocess; ``--out NAME``/``--err NAME`` bind a variable."""


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

    def _apply_scope(self, scope: Scope, reads: Iterable[str]) -> None:
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
            self.bind(import_binding(alias), is_import=True)

    def _s_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.modules.add(node.module.split(".")[0])
        for alias in node.names:
            if alias.name == "*":
                self.imprecise.setdefault(star_reason(node.module))
            else:
                self.bind(alias.asname or alias.name, is_import=True)

    def _s_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._define_function(node.name, node)

    _s_AsyncFunctionDef = _s_FunctionDef

    def _define_function(self, name: str, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        for expression in signature_expressions(node):
            self.expr(expression)
        scope = Scope.of_function(node, self.known())
        self.bind(name)
        self.modules |= scope.modules
        self.functions[name] = scope.summary()

    def _s_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.expr(expression)
        scope = Scope.of_class(node, self.known())
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
            for root in mutated_roots(node):
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
        for expression in signature_expressions(node):
            self.expr(expression)
        scope = Scope.of_function(node, self.known())
        self._apply_scope(scope, [*scope.free_loads(), *scope.free_deferred()])

    def _e_comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        self.expr(node.generators[0].iter)
        scope = Scope.of_comprehension(node, self.known())
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
        for root in call_mutations(node, self.functions, self.imports):
            self.mutate(root)
        reason = imprecise_call(node)
        if reason is not None:
            self.imprecise.setdefault(reason)
        module = dynamic_import(node)
        if module is not None:
            self.modules.add(module)

    # ---- IPython syntax (already turned into get_ipython().<method>(...) calls by IPython itself)

    def _magic(self, node: ast.Call) -> bool:
        found = magic_call(node)
        if found is None:
            return False
        method, texts = found
        name, *rest = texts
        if method in ("system", "getoutput"):  # `!cmd`, `x = !cmd`: IPython expands {expr} and $name
            self._expanded(name)
        elif method == "run_line_magic":
            self._line_magic(name, rest[0] if rest else "")
        elif method == "run_cell_magic":
            self._cell_magic(name, rest[0] if rest else "", rest[1] if len(rest) > 1 else "")
        else:
            return False
        return True

    def _line_magic(self, name: str, argument: str) -> None:
        if name in PYTHON_MAGICS:
            self._embedded(argument, skip_options=True)
            return
        self._expanded(argument)
        if name in _HELP_MAGICS:  # `obj?`, `??obj.attr`: shows the object, if it exists
            root = argument.strip().split(".")[0]
            if root.isidentifier():
                self._weak_read(root)
        elif name == "run":
            self.imprecise.setdefault("%run executes another file in the notebook's namespace")
        elif name == "pylab" and "--no-import-all" not in argument:
            self.imprecise.setdefault("%pylab imports all of numpy and matplotlib.pylab into the namespace")
        elif name == "store" and argument.split()[:1] == ["-r"]:
            self.imprecise.setdefault("%store -r restores variables saved by another session")

    def _cell_magic(self, name: str, line: str, body: str) -> None:
        words = line.split()
        if name not in _UNEXPANDED_MAGICS:
            self._expanded(line)
        if name in PYTHON_MAGICS:
            self._embedded(body)
            if name == "capture":
                output = next((word for word in words if not word.startswith("-")), None)
                if output is not None and output.isidentifier():
                    self.bind(output)
        elif name in _SCRIPT_MAGICS:
            for option, value in itertools.pairwise(words):
                if option in ("--out", "--err") and value.isidentifier():
                    self.bind(value)
        # any other cell magic (%%bash, %%html, %%writefile, %%sql...) runs no Python of the cell

    def _embedded(self, code: str, *, skip_options: bool = False) -> None:
        """Python inside a magic runs in the user's namespace: analyse it in place."""
        starts = [0]
        if skip_options:  # `%timeit -n 10 f(x)`: try the text after each leading word
            starts += [match.end() for match in re.finditer(r"\s+", code)]
        for start in starts:
            tree = try_parse(python_source(code[start:]))
            if tree is not None:
                self.block(tree.body)
                return

    def _expanded(self, text: str) -> None:
        """Names IPython substitutes into a shell command or magic line (``{expr}``, ``$name``).

        Weak reads: IPython expands them only when they exist (``$HOME`` is usually the shell's), so
        they come from an earlier step that defines them, and are never reported as hidden state.
        """
        if "{" not in text and "$" not in text:
            return
        for name in expanded_names(text):
            self._weak_read(name)

    def _weak_read(self, name: str) -> None:
        if name not in self.must:
            self.weak_reads.setdefault(name)


def analyse_cell(source: str, known: Known = EMPTY) -> CellFlow:
    """The data flow of one cell, given what earlier cells defined; never executes anything.

    A cell the analysis cannot read (a syntax error the kernel will report, code nested too deeply
    for :mod:`ast`) is not an error: it defines and reads nothing known, and is imprecise, with the
    reason, so the step holding it is treated conservatively. The kernel still runs it.
    """
    tree, reason = parse_or_reason(source)
    if tree is not None:
        analyser = _CellAnalyser(known)
        try:
            analyser.block(tree.body)
            return analyser.result()
        except RecursionError:
            reason = "the code is nested too deeply to analyse"
    return CellFlow(
        reads=(),
        weak_reads=(),
        must=frozenset(),
        may=frozenset(),
        defined=(),
        modules=frozenset(),
        imprecise=(f"{reason}; the cell runs, but what it reads and defines is unknown",),
        known=known,
    )


def expanded_names(text: str) -> tuple[str, ...]:
    """Names in the ``{expr}`` and ``$name`` fields IPython's ``var_expand`` fills in (its own parser)."""
    from IPython.utils.text import DollarFormatter

    names: dict[str, None] = {}
    try:
        fields = [field for _, field, _, _ in DollarFormatter().parse(text) if field]
    except (ValueError, IndexError):  # unbalanced braces: IPython leaves the text as it is
        return ()
    for field in fields:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(field.strip(), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        names.update(
            dict.fromkeys(
                n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            )
        )
    return tuple(names)
