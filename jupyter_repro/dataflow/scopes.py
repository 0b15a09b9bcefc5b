"""Nested scopes (functions, lambdas, classes, comprehensions): flow-insensitive name collection.  (pure)

A nested scope's body does not run where it is written (a function) or runs at once in its own
namespace (a class body, a comprehension). :class:`Scope` collects what it loads, binds and mutates,
following Python's scoping rules; the cell analyser (:mod:`.cells`) decides when those effects happen.
"""

from __future__ import annotations

import ast
from typing import Literal

from jupyter_repro.dataflow.rules import (
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

ScopeKind = Literal["function", "class", "comprehension"]


class Scope(ast.NodeVisitor):
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
    def of_function(cls, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, known: Known) -> Scope:
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
    def of_class(cls, node: ast.ClassDef, known: Known) -> Scope:
        scope = cls("class", known)
        for statement in node.body:
            scope.visit(statement)
        return scope

    @classmethod
    def of_comprehension(
        cls, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, known: Known
    ) -> Scope:
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

    def _absorb(self, child: Scope) -> None:
        self.global_writes |= child.outer_rebinds()
        self.mutated |= child.outer_mutations()
        self.modules |= child.modules
        self.imprecise.extend(child.imprecise)

    def _merge_function(self, child: Scope) -> None:
        self.deferred.update(dict.fromkeys([*child.free_loads(), *child.free_deferred()]))
        self._absorb(child)

    def _merge_immediate(self, child: Scope) -> None:
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
            self.stores.add(import_binding(alias))
            self.modules.add(alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.modules.add(node.module.split(".")[0])
        for alias in node.names:
            if alias.name == "*":
                self.imprecise.append(star_reason(node.module))
            else:
                self.stores.add(alias.asname or alias.name)

    def _visit_signature(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        for expression in signature_expressions(node):
            self.visit(expression)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._visit_signature(node)
        self.stores.add(node.name)
        self._merge_function(Scope.of_function(node, self.known))

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_signature(node)
        self._merge_function(Scope.of_function(node, self.known))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expression)
        self.stores.add(node.name)
        self._merge_immediate(Scope.of_class(node, self.known))

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        self.visit(node.generators[0].iter)
        self._merge_immediate(Scope.of_comprehension(node, self.known))

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
        self.mutated.update(call_mutations(node, self.known.functions, self.known.imports))
        reason = imprecise_call(node)
        if reason is not None:
            self.imprecise.append(reason)
        module = dynamic_import(node)
        if module is not None:
            self.modules.add(module)

    def _visit_assignment(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Delete) -> None:
        self.generic_visit(node)
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            self.mutated.update(mutated_roots(target))
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            self.loads.setdefault(node.target.id)

    visit_Assign = visit_AnnAssign = visit_AugAssign = visit_Delete = _visit_assignment
