"""Cell source as Python: IPython syntax translated, parsing, normalisation.  (pure)

A notebook cell may hold IPython syntax that is not Python: ``%magics``, ``%%cell magics``, ``!shell``
and ``x = !shell`` lines, ``obj?``/``??obj`` help, ``/f 1`` auto-call. IPython's own input transformer
(``TransformerManager().transform_cell``, the one the kernel runs before compiling) turns them into
plain calls (``get_ipython().run_line_magic(...)``), so the data flow analysis
(:mod:`jupyter_repro.dataflow`) parses the result with :mod:`ast` and reads those calls; nothing here
strips IPython syntax by hand.

A cell may still not parse: a teaching notebook's intended ``def broken(:``, Python 2, syntax newer
than this interpreter. The kernel runs it (and records the error), so it is not an error here:
:func:`parse_or_reason` gives the reason instead of a tree, and the analysis treats the cell as
imprecise. :func:`normalised_code` is the text cache keys and code hashes are made of: a comment-only
or formatting-only edit does not change it, whether the cell parses or not.
"""

from __future__ import annotations

import ast
import functools
import warnings
from typing import Any

from jupyter_repro.errors import PipelineError

PYTHON_MAGICS = frozenset({"time", "timeit", "prun", "debug", "capture"})
"""Magics whose argument or body is Python run in the user's namespace."""


@functools.lru_cache(maxsize=1)
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager  # lazily: IPython is slow to import

    factory: Any = TransformerManager  # IPython is only partly typed
    return factory()


@functools.lru_cache(maxsize=4096)
def ipython_transform(source: str) -> str:
    """IPython's translation of magics and ``!shell`` into calls; the source itself if that fails.

    Cached by source: a cell is transformed for the analysis and again for its normalised code.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return str(_transformer().transform_cell(source))
    except Exception:  # IPython's transformers raise assorted errors on malformed input
        return source


def try_parse(code: str) -> ast.Module | None:
    """The code parsed as plain Python (no magics), or None if it does not parse."""
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
    if try_parse(source) is not None:
        return source
    return ipython_transform(source)


def parse_or_reason(source: str) -> tuple[ast.Module | None, str | None]:
    """The cell parsed (IPython syntax allowed), or ``(None, why not)`` in one line.

    Plain Python is parsed as it is; only a cell that does not parse goes through IPython's
    transformer, which leaves plain Python alone anyway (and costs far more than parsing).
    """
    tree = try_parse(source)
    if tree is not None:
        return tree, None
    try:
        return _parse(ipython_transform(source)), None
    except SyntaxError as error:
        line = f" on line {error.lineno}" if error.lineno else ""
        return None, f"syntax error{line}: {error.msg}"
    except (RecursionError, MemoryError):
        return None, "the code is nested too deeply to analyse"
    except ValueError as error:  # null bytes
        return None, f"cannot be parsed: {str(error) or type(error).__name__}"


def parse_cell(
    source: str, *, notebook: str | None = None, cell: int | None = None, step: str | None = None
) -> ast.Module:
    """Parse a cell (magics allowed); a syntax error becomes a :class:`PipelineError` naming the cell.

    For callers that need the code itself; the analysis uses :func:`parse_or_reason` and goes on.
    """
    tree, reason = parse_or_reason(source)
    if tree is not None:
        return tree
    raise PipelineError(
        reason or "cannot be parsed",
        notebook=notebook,
        cell=cell,
        step=step,
        hint="fix the cell, or tag it 'skip'",
    )


@functools.lru_cache(maxsize=4096)
def normalised_code(source: str) -> str:
    """The cell's code without comments, blank lines or insignificant whitespace (for cache keys).

    Memoised: a run asks for each step's code several times (its key, the ledger's code hash, the
    result), and parsing and unparsing is most of planning a large notebook.

    Parsed code is re-rendered with :func:`ast.unparse`, so a comment-only or formatting-only edit
    gives the same text; so is the Python inside ``%time``/``%%capture``... (IPython hands it over as
    a string). Code that does not parse is its raw text with comment lines, blank lines and trailing
    whitespace dropped: never a crash, and still comment-insensitive.
    """
    tree, _ = parse_or_reason(source)
    if tree is not None:
        try:
            return ast.unparse(_EmbeddedPython().visit(tree))
        except (RecursionError, ValueError):
            pass
    return _normalised_text(source)


def _normalised_text(source: str) -> str:
    lines = (line.rstrip() for line in source.splitlines())
    return "\n".join(line for line in lines if line.strip() and not line.lstrip().startswith("#"))


def magic_call(node: ast.Call) -> tuple[str, list[str]] | None:
    """``("run_line_magic", [name, argument])`` and the like for ``get_ipython().<method>("...")``
    calls with string arguments (what IPython's transformer writes), else None."""
    func = node.func
    if not (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "get_ipython"
        and not func.value.args
        and not node.keywords
    ):
        return None
    texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if not texts or len(texts) != len(node.args):
        return None
    return func.attr, texts


class _EmbeddedPython(ast.NodeTransformer):
    """Normalise the Python a magic runs (``%%time`` body, ``%time`` argument) like any cell code."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        found = magic_call(node)
        if found is None:
            return node
        method, texts = found
        if method == "run_cell_magic" and len(texts) == 3 and texts[0] in PYTHON_MAGICS:
            node.args[2] = ast.Constant(normalised_code(texts[2]))
        elif (
            method == "run_line_magic"
            and len(texts) == 2
            and texts[0] in PYTHON_MAGICS
            and try_parse(texts[1]) is not None  # `-n 10 f(x)` has options: kept as written
        ):
            node.args[1] = ast.Constant(normalised_code(texts[1]))
        return node
