"""Where jupyter-repro keeps its state: the repro home.

The repro home is a ``.repro/`` directory found the way git finds ``.git``: the nearest ancestor of the
notebook's folder that has one; if none has, a new one is created beside the notebook. ``--home DIR``
or the environment variable ``JUPYTER_REPRO_HOME`` name the home directory itself and take precedence.
Keeping the lookup in one function means the CLI, the server and exported jobs always agree.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from jupyter_repro.errors import PathError

HOME_DIRNAME = ".repro"
HOME_ENV = "JUPYTER_REPRO_HOME"


def find_home(start: Path | None = None, explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the repro home for a notebook (or folder) ``start``, creating it when needed."""
    home = locate_home(start, explicit)
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PathError(
            f"cannot use this folder as the repro home: {error.strerror}",
            path=str(home),
            hint="pass another folder with --home or JUPYTER_REPRO_HOME",
        ) from None
    return home


def locate_home(start: Path | None = None, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The repro home :func:`find_home` returns, without creating it (it may not exist)."""
    chosen = explicit if explicit is not None else os.environ.get(HOME_ENV) or None
    if chosen is not None:
        # $VARS too: an exported job may give each worker its own home ($AIRFLOW_CTX_TASK_ID)
        return Path(os.path.expandvars(str(chosen))).expanduser().resolve()
    folder = _folder_of(start)
    return _nearest_existing_home(folder) or folder / HOME_DIRNAME


def _folder_of(start: Path | None) -> Path:
    if start is None:
        return Path.cwd().resolve()
    start = start.expanduser().resolve()
    return start if start.is_dir() else start.parent


def _nearest_existing_home(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        home = candidate / HOME_DIRNAME
        if home.is_dir():
            return home
    return None


def check_trusted(home: Path) -> None:
    """Refuse a repro home another user could have written: its cache holds pickles, and loading a
    pickle runs code. The home must be owned by the current user and not writable by group or others.

    See docs/security.md for the threat model and the options (a private home per user, ``--home``).
    """
    if not hasattr(os, "getuid"):  # pragma: no cover - Windows has no uid to compare
        return
    for folder in (home, home / "cache"):
        try:
            info = folder.stat()
        except FileNotFoundError:
            continue
        if info.st_uid != os.getuid():
            raise PathError(
                f"repro home is owned by another user (uid {info.st_uid}); its cached pickles could run "
                "their code as you",
                path=str(folder),
                hint="use your own repro home with --home or JUPYTER_REPRO_HOME",
            )
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise PathError(
                "repro home is writable by other users; its cached pickles could be replaced",
                path=str(folder),
                hint=f"run 'chmod go-w {folder}' or use --home",
            )
