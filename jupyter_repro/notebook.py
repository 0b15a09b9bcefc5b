"""Reading the user's notebook, with every way it can be unusable turned into one clear error.

This is the single place that opens a source notebook. It never writes: the user's file is only
changed by ``verify --stamp``, which goes through :func:`write_notebook_atomically`.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from jupyter_repro.errors import NotebookError

SUPPORTED_MAJOR = 4


def load_notebook(path: str | os.PathLike[str]) -> Any:
    """Read and validate ``path`` as an nbformat 4 notebook; raise :class:`NotebookError` otherwise.

    Returns an ``nbformat.NotebookNode`` (typed ``Any``: nbformat is only partly typed).
    """
    nb_path = Path(path)
    shown = str(path)
    if not nb_path.exists():
        raise NotebookError("no such file", notebook=shown, hint="check the path")
    if nb_path.is_dir():
        raise NotebookError("is a directory, not a notebook", notebook=shown)
    try:
        raw = nb_path.read_bytes()
    except OSError as error:
        raise NotebookError(f"cannot read: {error.strerror}", notebook=shown) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotebookError(
            f"not UTF-8 text (invalid byte at offset {error.start})", notebook=shown
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})",
            notebook=shown,
            hint="is this an .ipynb file?",
        ) from None
    return _validated(data, shown)


def _validated(data: Any, shown: str) -> Any:
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise NotebookError("not a Jupyter notebook (no 'cells'/'nbformat' keys)", notebook=shown)
    major = data.get("nbformat")
    if major != SUPPORTED_MAJOR:
        raise NotebookError(
            f"nbformat version {major!r} is not supported",
            notebook=shown,
            hint="save it with JupyterLab or run 'jupyter nbconvert --to notebook' to upgrade to v4",
        )
    try:
        notebook = nbformat.from_dict(data)  # type: ignore[no-untyped-call]
        with warnings.catch_warnings():
            # cells without ids (nbformat < 4.5 files) are valid input; the warning would precede our
            # one-line error or clutter a clean run
            warnings.simplefilter("ignore")
            nbformat.validate(notebook)
        # on disk, multi-line strings may be lists of lines; in memory they are always one string
        notebook = rejoin_lines(notebook)  # type: ignore[no-untyped-call]
    except nbformat.ValidationError as error:
        message = str(error.message) if hasattr(error, "message") else str(error)
        raise NotebookError(f"not a valid notebook: {message.splitlines()[0]}", notebook=shown) from None
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        raise NotebookError(f"not a valid notebook: {error}", notebook=shown) from None
    return notebook


def write_notebook_atomically(notebook: Any, path: str | os.PathLike[str]) -> None:
    """Write ``notebook`` to ``path`` through a temporary file and a rename: never half a file."""
    import nbformat

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(notebook, handle)  # type: ignore[no-untyped-call]
        os.chmod(tmp_name, _default_file_mode())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@functools.cache
def _default_file_mode() -> int:
    """The mode a plain ``open(..., "w")`` would give (mkstemp's files are private, 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
