"""Contents-manager paths to real paths, refusing anything that leaves the server root.

The REST API names notebooks the way Jupyter's contents API does: a ``/``-separated path relative to
the server root (``analysis/report.ipynb``). Before any work, that path becomes a real path on disk
that is guaranteed to lie under the root: absolute paths, ``..`` components and symlinks that resolve
outside the root are refused (403), missing files are 404, and anything that is not a notebook is 400.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from jupyter_repro.errors import NotebookError, PathError

NOTEBOOK_SUFFIX = ".ipynb"
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


class PathEscapeError(PathError):
    """A contents path is absolute or resolves outside the server root."""

    http_status = 403


def contents_parts(path: str) -> tuple[str, ...]:
    """The components of a contents path, refusing absolute paths and ``..`` (403)."""
    if not path or not path.strip():
        raise PathError("no path given", hint="give a notebook path relative to the server root")
    if "\x00" in path:
        raise PathEscapeError("the path contains a NUL character", path=path)
    if path.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(path):
        raise PathEscapeError(
            "absolute paths are not allowed", path=path, hint="give a path relative to the server root"
        )
    parts = tuple(part for part in PurePosixPath(path.replace("\\", "/")).parts if part not in ("", "."))
    if ".." in parts:
        raise PathEscapeError("'..' is not allowed in a path", path=path)
    if not parts:
        raise PathError("the path names the server root, not a file", path=path)
    return parts


def resolve_inside(root: str | os.PathLike[str], path: str, *, allow_hidden: bool = True) -> Path:
    """The real path of contents path ``path`` under ``root``; 403 when it resolves outside ``root``.

    Symlinks are followed (``Path.resolve``) before the check, so a link inside the root that points
    elsewhere is refused like a ``..``. The target need not exist (output folders are created later).
    With ``allow_hidden=False`` (the contents manager's setting) a hidden component is 404, as in
    Jupyter's contents API.
    """
    parts = contents_parts(path)
    if not allow_hidden and any(part.startswith(".") for part in parts):
        raise PathError("no such file under the server root (hidden files are not served)", path=path)
    real_root = Path(root).expanduser().resolve()
    target = real_root.joinpath(*parts).resolve()
    if target != real_root and not target.is_relative_to(real_root):
        raise PathEscapeError("the path resolves outside the server root", path=path)
    return target


def resolve_notebook(root: str | os.PathLike[str], path: str, *, allow_hidden: bool = True) -> Path:
    """The real path of an existing notebook under ``root``: 403 escape, 404 missing, 400 not a notebook."""
    target = resolve_inside(root, path, allow_hidden=allow_hidden)
    if not target.exists():
        raise PathError("no such file under the server root", path=path)
    if target.is_dir():
        raise NotebookError("the path is a folder, not a notebook", path=path)
    if target.suffix != NOTEBOOK_SUFFIX:
        raise NotebookError(f"not a notebook (expected a {NOTEBOOK_SUFFIX} file)", path=path)
    return target


def contents_path(root: str | os.PathLike[str], real: str | os.PathLike[str]) -> str | None:
    """The contents path of real path ``real`` (``None`` when it is not under ``root``)."""
    real_root = Path(root).expanduser().resolve()
    try:
        relative = Path(real).resolve().relative_to(real_root)
    except ValueError:
        return None
    return relative.as_posix()
