"""Keeping command start-up fast: importing libraries without their optional heavy extras."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_dataframe_libraries() -> Iterator[None]:
    """Make pandas and NumPy look absent for the imports inside the block (if not imported yet).

    sqlite_utils imports both, when installed, only to map their scalar types to SQLite column
    types, which costs 0.35 s on every command; the ledger never stores a pandas or NumPy value.
    Afterwards both are importable again as usual.
    """
    blocked = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name) is None:
                del sys.modules[name]
