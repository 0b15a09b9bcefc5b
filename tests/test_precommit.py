"""The pre-commit hooks of ``.pre-commit-hooks.yaml``, through the real ``pre-commit`` tool.

pre-commit installs a ``language: python`` hook by building this repository from source, which needs
npm and GitHub; here the hooks of the manifest are used as they are, as ``repo: local`` hooks whose
entry is the console script this environment already has (``language: system``), in a throw-away git
repository. The manifest itself is checked with ``pre-commit validate-manifest``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, build_notebook
from test_verify import execute_and_save

from jupyter_repro.precommit import main

MANIFEST = REPO / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent


def hooks() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def tool(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_the_manifest_is_valid_and_names_the_installed_script(tmp_path: Path) -> None:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    done = tool(str(BIN / "pre-commit"), "validate-manifest", str(MANIFEST), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {hook["id"]: hook["entry"] for hook in hooks()} == {
        "jupyter-repro-verify": "jupyter-repro-precommit verify",
        "jupyter-repro-steps": "jupyter-repro-precommit steps",
    }
    assert all(hook["language"] == "python" and hook["files"] == r"\.ipynb$" for hook in hooks())
    assert (BIN / "jupyter-repro-precommit").exists()  # the [project.scripts] entry, installed


def test_steps_checks_every_file_and_exits_with_the_worst(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad, broken = tmp_path / "good.ipynb", tmp_path / "bad.ipynb", tmp_path / "broken.ipynb"
    good.write_text(json.dumps(build_notebook([("x = 1", ["step:load"])])), encoding="utf-8")
    bad.write_text(json.dumps(build_notebook([("x = 1", ["step:load", "after:lod"])])), encoding="utf-8")
    broken.write_text("{", encoding="utf-8")

    assert main(["steps", str(bad), str(good), str(broken)]) == 2
    out, err = capsys.readouterr()
    assert out == f"{good}: steps load\n"  # the file after a bad one is still checked
    errors = err.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("jupyter-repro-precommit steps: error: ")
    assert "tag 'after:lod': no step named 'lod'" in errors[0]
    assert "not valid JSON" in errors[1]
    assert main(["steps"]) == 0  # pre-commit found nothing to check


def git_repo(root: Path) -> dict[str, str]:
    """A fresh repository that reads no global git configuration, and the environment to use in it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_REPRO_", "GIT_"))},
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(root.parent / "pre-commit-home"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
    }
    root.mkdir()
    assert tool("git", "init", "-q", "-b", "main", cwd=root, env=env).returncode == 0
    (root / ".gitignore").write_text(".repro/\n", encoding="utf-8")
    local = []
    for hook in hooks():
        script, *args = hook["entry"].split()
        local.append({**hook, "language": "system", "entry": " ".join([str(BIN / script), *args])})
    config = {"repos": [{"repo": "local", "hooks": local}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    assert tool("git", "add", ".gitignore", ".pre-commit-config.yaml", cwd=root, env=env).returncode == 0
    return env


def notebook(path: Path, cells: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_notebook(cells), indent=1), encoding="utf-8")
    execute_and_save(path)
    return path


@pytest.mark.kernel
def test_the_hooks_verify_the_staged_notebooks_and_block_a_bad_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    env = git_repo(repo)
    pre_commit = str(BIN / "pre-commit")
    assert tool(pre_commit, "validate-config", cwd=repo, env=env).returncode == 0
    cells = [("total = 2 + 2\nprint(total)", ["step:sum"]), ("print(total * 10)", ["step:scale"])]
    good = notebook(repo / "analysis" / "good.ipynb", cells)
    bad = notebook(repo / "analysis" / "bad.ipynb", cells)
    data = json.loads(bad.read_text(encoding="utf-8"))
    data["cells"][1]["outputs"][0]["text"] = "41\n"  # a saved output the code does not produce
    bad.write_text(json.dumps(data), encoding="utf-8")
    tool("git", "add", str(good), cwd=repo, env=env)  # bad.ipynb is in the folder, but not staged

    passed = tool(pre_commit, "run", cwd=repo, env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "jupyter-repro verify" in passed.stdout
    assert "jupyter-repro steps" in passed.stdout
    assert passed.stdout.count("Passed") == 2
    again = tool(pre_commit, "run", "--verbose", cwd=repo, env=env)  # the steps are cached now
    assert again.returncode == 0, again.stdout
    assert "analysis/good.ipynb: REPRODUCIBLE" in again.stdout
    assert "bad.ipynb" not in again.stdout  # only staged notebooks are verified
    results = sorted((repo / "analysis" / ".repro" / "runs").glob("*/result.json"))
    assert {s["status"] for s in json.loads(results[-1].read_text(encoding="utf-8"))["steps"]} == {"cached"}

    assert tool(pre_commit, "install", cwd=repo, env=env).returncode == 0
    tool("git", "add", str(bad), cwd=repo, env=env)
    commit = tool("git", "commit", "-q", "-m", "analysis", cwd=repo, env=env)
    assert commit.returncode != 0  # the hook blocked the commit
    output = commit.stdout + commit.stderr
    assert "analysis/bad.ipynb: DIVERGED" in output
    assert "analysis/good.ipynb: REPRODUCIBLE" in output  # every staged notebook, in one process
    assert "1     scale  differ" in output  # the CLI's table of the differing cells
    assert tool("git", "rev-parse", "--verify", "HEAD", cwd=repo, env=env).returncode != 0  # no commit

    data["cells"][0]["metadata"]["tags"] = ["step:sum", "after:nowhere"]
    bad.write_text(json.dumps(data), encoding="utf-8")
    tool("git", "add", str(bad), cwd=repo, env=env)
    tags = tool(pre_commit, "run", "jupyter-repro-steps", cwd=repo, env=env)
    assert tags.returncode == 1, tags.stdout
    assert "tag 'after:nowhere': no step named 'nowhere'" in tags.stdout
    assert "jupyter-repro-precommit steps: error: analysis/bad.ipynb: cell 0:" in tags.stdout
