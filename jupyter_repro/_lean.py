"""Keeping command start-up fast: importing libraries without their optional heavy extras.

Two libraries we depend on import large optional packages at import time only to enable features
jupyter-repro never uses: sqlite-utils (pandas and NumPy column types) and papermill (S3, Azure,
GCS, HDFS and GitHub notebook storage). Importing them inside :func:`without_modules` makes those
extras look absent for that one import; afterwards they are importable again as usual, and modules
already imported are left alone.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

DATAFRAME_LIBRARIES = ("pandas", "numpy")
"""sqlite-utils maps their scalar types to columns; the ledger never stores such values (0.35 s)."""

PAPERMILL_STORAGE_BACKENDS = ("boto3", "botocore", "azure", "gcsfs", "pyarrow", "github")
"""papermill's remote notebook storage; jupyter-repro reads and writes local files only (0.5 s)."""


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


def import_papermill() -> None:
    """Import papermill without its remote storage backends (idempotent)."""
    with without_modules(*PAPERMILL_STORAGE_BACKENDS):
        import papermill  # noqa: F401
