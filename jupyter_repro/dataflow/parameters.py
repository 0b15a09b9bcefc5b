"""The parameters cell: its top-level ``name = value`` assignments, read as papermill reads them.  (pure)"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


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
