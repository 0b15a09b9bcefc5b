"""Pipeline parameters: ``-p NAME VALUE`` parsing and validation against the notebook's parameters cell.

Values given on the command line are typed the way papermill types them, so a job moved from papermill
to jupyter-repro behaves the same: ``True``/``False``/``None``, then integers, then floats, else the
string itself. Values from JSON (REST, exported jobs) keep their JSON type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jupyter_repro.errors import ParameterError

_KEYWORDS: dict[str, Any] = {"True": True, "False": False, "None": None}


def parse_cli_value(text: str) -> Any:
    """Type a command-line value as papermill's ``-p`` does."""
    if text in _KEYWORDS:
        return _KEYWORDS[text]
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def parse_cli_pairs(pairs: Iterable[Iterable[str]] | None) -> dict[str, Any]:
    """``[[NAME, VALUE], ...]`` from argparse (``nargs=2, action="append"``) to a typed dict."""
    parsed: dict[str, Any] = {}
    for name, value in pairs or ():
        parsed[name] = parse_cli_value(value)
    return parsed


def resolve_parameters(
    declared: Mapping[str, Any], overrides: Mapping[str, Any], *, notebook: str
) -> dict[str, Any]:
    """The values a run uses: the notebook's defaults, overridden by ``overrides``.

    An override naming no declared parameter is a user error (exit 2): silently ignoring it would run
    the job on the wrong data, which is worse than refusing.
    """
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none (no cell is tagged 'parameters')"
        raise ParameterError(
            f"unknown parameter {', '.join(repr(n) for n in unknown)}",
            notebook=notebook,
            hint=f"the notebook's parameters are: {known}",
        )
    return {**declared, **overrides}


def assignment_source(values: Mapping[str, Any]) -> str:
    """Python source assigning ``values``; every value is written with ``repr`` (no code injection)."""
    lines = ["# Parameters injected by jupyter-repro"]
    for name, value in values.items():
        if not name.isidentifier():
            raise ParameterError(f"{name!r} is not a valid Python name for a parameter")
        lines.append(f"{name} = {value!r}")
    return "\n".join(lines) + "\n"
