"""Keeping command start-up fast: importing libraries without their optional heavy extras.

Two libraries we depend on import large optional packages at import time only to enable features
jupyter-repro never uses: sqlite-utils (pandas and NumPy column types) and papermill (S3, Azure,
GCS, HDFS and GitHub notebook storage). Importing them inside :func:`without_modules` makes those
extras look absent for that one import; afterwards they are importable again as usual, and modules
already imported are left alone. papermill also imports ``requests`` for notebooks at http(s) URLs,
which jupyter-repro never reads: it gets a stand-in that imports ``requests`` on first use
(:func:`deferred_modules`); and it looks for plugin engines and I/O handlers in every installed
distribution, where jupyter-repro runs its own engine on local files (:func:`without_entry_points`).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DATAFRAME_LIBRARIES = ("pandas", "numpy")
"""sqlite-utils maps their scalar types to columns; the ledger never stores such values (0.35 s)."""

PAPERMILL_STORAGE_BACKENDS = ("boto3", "botocore", "azure", "gcsfs", "pyarrow", "github")
"""papermill's remote notebook storage; jupyter-repro reads and writes local files only (0.5 s)."""

PAPERMILL_HTTP = ("requests",)
"""papermill's http(s) notebook handler (0.045 s); imported if a notebook URL is ever used."""

PAPERMILL_PLUGIN_GROUPS = frozenset({"papermill.engine", "papermill.io"})
"""Entry-point groups of papermill's plugin engines and I/O handlers: jupyter-repro runs papermill's
own nbclient engine on local files, and finding plugins scans every installed distribution (0.02 s)."""


class _Deferred(types.ModuleType):
    """Stands in for a module until an attribute is used, then imports it and answers from it."""

    def __getattr__(self, attribute: str) -> Any:
        if sys.modules.get(self.__name__) is self:  # used while still standing in: make way first
            del sys.modules[self.__name__]
        module = importlib.import_module(self.__name__)
        return getattr(module, attribute)


@contextmanager
def without_modules(*names: str) -> Iterator[None]:
    """Make the top-level packages ``names`` look absent for the imports inside the block."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name) is None:
                del sys.modules[name]


@contextmanager
def deferred_modules(*names: str) -> Iterator[None]:
    """Give the imports inside the block stand-ins for ``names`` that import them on first use.

    Only the block's importers hold a stand-in: afterwards ``import NAME`` is the real module again.
    """
    deferred = [name for name in names if name not in sys.modules]
    for name in deferred:
        sys.modules[name] = _Deferred(name)
    try:
        yield
    finally:
        for name in deferred:
            if isinstance(sys.modules.get(name), _Deferred):
                del sys.modules[name]


@contextmanager
def without_entry_points(groups: frozenset[str]) -> Iterator[None]:
    """Make the ``entrypoints`` package find nothing in ``groups`` for the imports inside the block."""
    import entrypoints  # type: ignore[import-untyped]

    real = entrypoints.get_group_all

    def get_group_all(group: str, path: Any = None) -> list[Any]:
        return [] if group in groups else list(real(group, path))

    entrypoints.get_group_all = get_group_all
    try:
        yield
    finally:
        entrypoints.get_group_all = real


def import_papermill() -> None:
    """Import papermill without its remote storage backends, ``requests`` and plugins (idempotent)."""
    if "papermill" in sys.modules:
        return
    with (
        without_modules(*PAPERMILL_STORAGE_BACKENDS),
        deferred_modules(*PAPERMILL_HTTP),
        without_entry_points(PAPERMILL_PLUGIN_GROUPS),
    ):
        import papermill  # noqa: F401
