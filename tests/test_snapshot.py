"""The run snapshot: seed from metadata, notebook content hash, and git commit/dirty state."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook

from jupyter_repro.errors import NotebookError
from jupyter_repro.notebook import load_notebook
from jupyter_repro.snapshot import (
    DEFAULT_SEED,
    MAX_SEED,
    Seed,
    git_state,
    notebook_content_hash,
    notebook_seed,
    take_snapshot,
)

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(folder: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args],
        cwd=folder,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


def with_metadata(**repro: Any) -> dict[str, Any]:
    return build_notebook(["x = 1"], metadata={"jupyter_repro": repro} if repro else None)


# --- seed ---


def test_a_notebook_without_a_seed_gets_the_default() -> None:
    assert notebook_seed(with_metadata()) == Seed(DEFAULT_SEED, is_default=True)


@pytest.mark.parametrize("value", [0, 42, MAX_SEED])
def test_the_seed_comes_from_the_notebook_metadata(value: int) -> None:
    assert notebook_seed(with_metadata(seed=value)) == Seed(value, is_default=False)


@pytest.mark.parametrize("value", [-1, MAX_SEED + 1, "42", 1.5, True, [1]])
def test_an_unusable_seed_is_a_one_line_notebook_error(value: object) -> None:
    with pytest.raises(NotebookError, match=r"metadata\.jupyter_repro\.seed") as caught:
        notebook_seed(with_metadata(seed=value), "analysis.ipynb")
    assert str(caught.value).startswith("analysis.ipynb: ")
    assert "\n" not in str(caught.value)


# --- content hash ---


def test_the_content_hash_is_stable_and_follows_the_code() -> None:
    base = build_notebook(["x = 1", "print(x)"])
    assert notebook_content_hash(base) == notebook_content_hash(json.loads(json.dumps(base)))
    changed = build_notebook(["x = 2", "print(x)"])
    assert notebook_content_hash(changed) != notebook_content_hash(base)


def test_a_certificate_stamp_does_not_change_the_hash_but_the_seed_does() -> None:
    plain = with_metadata(seed=3)
    stamped = with_metadata(seed=3, certificate={"verdict": "reproducible", "run_id": "r1"})
    reseeded = with_metadata(seed=4)
    assert notebook_content_hash(stamped) == notebook_content_hash(plain)
    assert notebook_content_hash(reseeded) != notebook_content_hash(plain)
    assert notebook_content_hash(with_metadata(certificate={"run_id": "r"})) == notebook_content_hash(
        with_metadata()
    )


def test_the_content_hash_does_not_modify_the_notebook() -> None:
    notebook = with_metadata(seed=1, certificate={"run_id": "r"})
    before = json.dumps(notebook, sort_keys=True)
    notebook_content_hash(notebook)
    assert json.dumps(notebook, sort_keys=True) == before


# --- git ---


def test_outside_git_there_is_no_git_state(tmp_path: Path, make_notebook: Callable[..., Path]) -> None:
    path = make_notebook(["x = 1"])
    assert (
        subprocess.run(["git", "rev-parse"], cwd=tmp_path, capture_output=True, check=False).returncode != 0
    )
    assert git_state(path) is None


def test_a_committed_notebook_is_clean_until_edited(
    tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    path = make_notebook(["x = 1"])
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", path.name)
    git(tmp_path, "commit", "-q", "-m", "first")
    (tmp_path / ".repro").mkdir()  # untracked files elsewhere do not make it dirty
    (tmp_path / "scratch.txt").write_text("notes")

    state = git_state(path)
    assert state is not None
    assert state.commit == git(tmp_path, "rev-parse", "HEAD")
    assert state.dirty is False
    assert Path(state.root).resolve() == tmp_path.resolve()

    path.write_text(path.read_text().replace("x = 1", "x = 2"))
    edited = git_state(path)
    assert edited is not None
    assert edited.dirty is True
    assert edited.commit == state.commit


def test_an_untracked_notebook_is_dirty(tmp_path: Path, make_notebook: Callable[..., Path]) -> None:
    tracked = make_notebook(["x = 1"], name="tracked.ipynb")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", tracked.name)
    git(tmp_path, "commit", "-q", "-m", "first")
    untracked = make_notebook(["y = 1"], name="new.ipynb")
    state = git_state(untracked)
    assert state is not None
    assert state.dirty is True


def test_a_repository_without_commits_has_no_commit(
    tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    path = make_notebook(["x = 1"])
    git(tmp_path, "init", "-q")
    state = git_state(path)
    assert state is not None
    assert state.commit is None
    assert state.dirty is True


# --- the whole snapshot ---


def test_take_snapshot_gathers_seed_parameters_hash_and_git(
    tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    path = make_notebook(["x = 1"], metadata={"jupyter_repro": {"seed": 11}})
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", path.name)
    git(tmp_path, "commit", "-q", "-m", "first")
    notebook = load_notebook(path)
    snapshot = take_snapshot(path, notebook, {"alpha": 0.5})
    document = snapshot.to_dict()
    assert document["seed"] == 11
    assert document["seed_is_default"] is False
    assert document["parameters"] == {"alpha": 0.5}
    assert document["notebook_hash"] == notebook_content_hash(notebook)
    assert document["git_commit"] == git(tmp_path, "rev-parse", "HEAD")
    assert document["git_dirty"] is False
