"""The run snapshot that is not the environment: seed, parameters, notebook content hash, git state.

Everything here is cheap and deterministic, so a run can take it before executing anything and the
ledger can later explain a divergence ("the notebook changed", "the seed changed", "uncommitted
edits"). Git is asked through one subprocess helper, :func:`_git`, and only when the notebook sits in
a git work tree; a missing ``git`` binary is not an error, just an absent commit.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_repro.errors import NotebookError
from jupyter_repro.hashing import hash_json

METADATA_KEY = "jupyter_repro"
SEED_KEY = "seed"
# The seed used when the notebook names none. It is fixed (not random) so that the interactive kernel's
# prelude and a headless verify seed the same way and unseeded randomness reproduces.
DEFAULT_SEED = 0
MAX_SEED = 2**32 - 1  # NumPy's legacy seeding accepts 0 .. 2**32 - 1
GIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Seed:
    """The seed a run uses and whether it came from the notebook or is the default."""

    value: int
    is_default: bool


@dataclass(frozen=True)
class GitState:
    """Where the notebook stands in git: ``commit`` is None in a repository without commits."""

    root: str
    commit: str | None
    dirty: bool


@dataclass(frozen=True)
class RunSnapshot:
    """The non-environment facts recorded with every run."""

    notebook: str
    notebook_hash: str
    seed: Seed
    parameters: Mapping[str, Any] = field(default_factory=dict)
    git: GitState | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "notebook_hash": self.notebook_hash,
            "seed": self.seed.value,
            "seed_is_default": self.seed.is_default,
            "parameters": dict(self.parameters),
            "git_commit": self.git.commit if self.git else None,
            "git_dirty": self.git.dirty if self.git else None,
        }


def take_snapshot(
    notebook_path: str | os.PathLike[str], notebook: Any, parameters: Mapping[str, Any] | None = None
) -> RunSnapshot:
    """Seed, parameters, content hash and git state of a loaded notebook (see ``load_notebook``)."""
    path = Path(notebook_path)
    return RunSnapshot(
        notebook=str(path),
        notebook_hash=notebook_content_hash(notebook),
        seed=notebook_seed(notebook, str(path)),
        parameters=dict(parameters or {}),
        git=git_state(path),
    )


def notebook_seed(notebook: Any, shown: str | None = None) -> Seed:
    """The seed in ``metadata.jupyter_repro.seed``, or :data:`DEFAULT_SEED` when there is none.

    A seed that NumPy could not use is refused here, naming the notebook, rather than failing later
    inside the kernel's prelude.
    """
    settings = _repro_metadata(notebook)
    if SEED_KEY not in settings or settings[SEED_KEY] is None:
        return Seed(DEFAULT_SEED, is_default=True)
    value = settings[SEED_KEY]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise NotebookError(
            f"metadata.{METADATA_KEY}.{SEED_KEY} is {value!r}, not an integer between 0 and {MAX_SEED}",
            notebook=shown,
            hint="fix the seed in the notebook metadata",
        )
    return Seed(value, is_default=False)


def notebook_content_hash(notebook: Any) -> str:
    """Hash of the notebook's content (cells, outputs, metadata) in canonical JSON.

    jupyter-repro's own bookkeeping in ``metadata.jupyter_repro`` is left out, except the seed: a
    ``verify --stamp`` writes a certificate there, and stamping must not change the hash it certifies.
    """
    content = copy.deepcopy(dict(notebook))
    metadata = dict(content.get("metadata") or {})
    settings = _repro_metadata(notebook)
    if SEED_KEY in settings:
        metadata[METADATA_KEY] = {SEED_KEY: settings[SEED_KEY]}
    else:
        metadata.pop(METADATA_KEY, None)
    content["metadata"] = metadata
    return hash_json(content)


def _repro_metadata(notebook: Any) -> Mapping[str, Any]:
    metadata = notebook.get("metadata") or {}
    settings = metadata.get(METADATA_KEY) or {}
    return settings if isinstance(settings, Mapping) else {}


def git_state(path: str | os.PathLike[str]) -> GitState | None:
    """Commit and dirty flag of the git work tree holding ``path``; None outside git (or without git).

    The tree is dirty when tracked files have uncommitted changes or when the notebook itself is not
    tracked: either way the commit alone does not describe what ran. Untracked files elsewhere (such as
    the ``.repro/`` home) do not count.
    """
    target = Path(path).resolve()
    folder = target if target.is_dir() else target.parent
    both = _git(["rev-parse", "--show-toplevel", "HEAD"], folder)  # one call where HEAD exists
    lines = both.splitlines() if both is not None else []
    if len(lines) == 2:
        root, commit = lines[0], lines[1]
    else:  # outside git, or a repository without commits yet
        top = _git(["rev-parse", "--show-toplevel"], folder)
        if top is None:
            return None
        root, commit = top.strip(), None
    # the two questions left are independent: ask them at once
    status = _start_git(["status", "--porcelain", "--untracked-files=no"], folder)
    listing = ["ls-files", "--error-unmatch", "--", str(target)]
    listed = None if target.is_dir() else _start_git(listing, folder)
    changes = _finish_git(status)
    tracked = target.is_dir() or _finish_git(listed) is not None
    return GitState(
        root=root.strip(),
        commit=commit.strip() if commit else None,
        dirty=bool(changes and changes.strip()) or not tracked,
    )


def _git(args: Sequence[str], cwd: Path) -> str | None:
    """Run one git command in ``cwd``: its stdout, or None when git is missing or the command fails."""
    return _finish_git(_start_git(args, cwd))


def _start_git(args: Sequence[str], cwd: Path) -> subprocess.Popen[str] | None:
    """Start one git command in ``cwd`` (None when git is missing); :func:`_finish_git` reads it.

    Every git call goes through here. ``GIT_OPTIONAL_LOCKS=0`` keeps ``git status`` from taking the
    index lock, so recording a run never disturbs the user's own git commands.
    """
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        return subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    except OSError:
        return None


def _finish_git(process: subprocess.Popen[str] | None) -> str | None:
    """The command's stdout, or None when it failed, did not start or took too long."""
    if process is None:
        return None
    try:
        stdout, _ = process.communicate(timeout=GIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    return stdout if process.returncode == 0 else None
