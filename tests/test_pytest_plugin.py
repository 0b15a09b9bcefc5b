"""``pytest --repro``: the installed plugin, run as a user runs it (a pytest subprocess, real kernels).

Each test writes a small project into ``tmp_path`` (its own ``pytest.ini``, so this repository's pytest
configuration plays no part) and reads the outcome from pytest's own JUnit XML and terminal output.
The last test runs the ``run:`` commands of the GitHub Actions workflow of ``docs/ci.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, REPO, build_notebook
from test_verify import execute_and_save

WORKFLOW = REPO / "docs" / "ci" / "repro.yml"
HERMETIC = ("JUPYTER_REPRO_HOME", "JUPYTER_REPRO_REMOTE", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")


def clean_env() -> dict[str, str]:
    """This process's environment without the variables that would steer the inner pytest or verify."""
    env = {k: v for k, v in os.environ.items() if k not in HERMETIC and not k.startswith("PYTEST_XDIST")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def pytest_run(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in ``project``; the plugin is found through its entry point only."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        capture_output=True,
        text=True,
        cwd=project,
        env=clean_env(),
        timeout=timeout,
        check=False,
    )


def project(tmp_path: Path, ini: str = "") -> Path:
    (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}\n", encoding="utf-8")
    return tmp_path


def write(
    path: Path, cells: list[Any], metadata: dict[str, Any] | None = None, execute: bool = False
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_notebook(cells, metadata), indent=1), encoding="utf-8")
    if execute:
        execute_and_save(path)
    return path


def edit_cell(path: Path, index: int, source: str) -> None:
    """Change a cell's source without re-running it: its saved outputs no longer follow from it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["cells"][index]["source"] = source
    path.write_text(json.dumps(data), encoding="utf-8")


SUM_AND_SCALE = [("total = 2 + 2\nprint(total)", ["step:sum"]), ("print(total * 10)", ["step:scale"])]


def outcomes(junit: Path) -> dict[str, tuple[str, str, dict[str, str]]]:
    """Per test case ``file::name``: outcome, its message, and its recorded properties."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            element = case.find(kind)
            if element is not None:
                outcome, message = kind, element.get("message", "")
        properties = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        notebook = case.get("classname", "").rsplit(".", 1)[-2].rsplit(".", 1)[-1]
        found[f"{notebook}::{case.get('name')}"] = (outcome, message, properties)
    return found


def test_the_plugin_is_registered_and_idle_without_repro(tmp_path: Path) -> None:
    """Installed means loaded into every pytest run: without --repro it must collect no notebook and
    import none of the engine (this repository's own suite has notebooks under tests/)."""
    assert "jupyter_repro.pytest_plugin" in {ep.value for ep in entry_points(group="pytest11")}
    root = project(tmp_path)
    write(root / "nb.ipynb", SUM_AND_SCALE)
    idle = pytest_run(root)
    assert idle.returncode == 5, idle.stdout  # "no tests ran"
    assert "collected 0 items" in idle.stdout
    assert not (root / ".repro").exists()
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, jupyter_repro.pytest_plugin; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout
    assert "'nbformat'" not in imported
    assert "'jupyter_repro.verify'" not in imported
    listed = pytest_run(root, "--repro", "--collect-only", "-q")
    assert "nb.ipynb::verify" in listed.stdout


@pytest.mark.kernel
def test_a_passing_and_a_diverged_notebook(tmp_path: Path) -> None:
    # the suite's own filterwarnings = error must not turn the engine's warnings into failures
    root = project(tmp_path, "filterwarnings = error")
    write(root / "notebooks" / "good.ipynb", SUM_AND_SCALE, execute=True)
    bad = write(root / "notebooks" / "bad.ipynb", SUM_AND_SCALE, execute=True)
    first = pytest_run(root, "--repro", "notebooks")
    assert first.returncode == 0, first.stdout
    assert "2 passed" in first.stdout  # the executed copies under notebooks/.repro/runs are not collected
    edit_cell(bad, 0, "total = 2 + 3\nprint(total)")  # edited after it ran: the ledger knows the old code

    done = pytest_run(root, "--repro", "notebooks", "--junitxml=junit.xml")

    assert done.returncode == 1, done.stdout + done.stderr
    results = outcomes(root / "junit.xml")
    assert set(results) == {"good::verify", "bad::verify"}
    assert results["good::verify"][0] == "passed"
    outcome, message, properties = results["bad::verify"]
    assert outcome == "failure"
    assert message.startswith("Failed: notebooks/bad.ipynb: DIVERGED")
    assert properties["verdict"] == "diverged"
    assert Path(properties["report"]).is_file()
    assert results["good::verify"][2]["verdict"] == "reproducible"
    out = done.stdout
    assert "verify bad.ipynb" in out  # the failure's headline
    assert "cells: 2 differ" in out
    assert "cause code in step sum (cell 0): step 'sum' code changed" in out
    assert "-4\n+5" in out  # the cell's diff, as the report shows it
    assert f"report: {properties['report']}" in out
    assert "FAILED notebooks/bad.ipynb::verify - Failed: notebooks/bad.ipynb: DIVERGED" in out
    assert "Traceback" not in out
    assert "pytest_plugin.py" not in out  # pytest's own style: none of the plugin's frames
    assert "jupyter-repro reports" in out


@pytest.mark.kernel
def test_the_same_cache_as_the_cli(tmp_path: Path) -> None:
    root = project(tmp_path)
    good = write(root / "good.ipynb", SUM_AND_SCALE, execute=True)
    cli = Path(sys.executable).parent / "jupyter-repro"
    subprocess.run([str(cli), "verify", str(good)], check=True, capture_output=True, env=clean_env())

    done = pytest_run(root, "--repro", "good.ipynb", "--junitxml=junit.xml")

    assert done.returncode == 0, done.stdout
    report = Path(outcomes(root / "junit.xml")["good::verify"][2]["report"])
    assert report.parent.parent == root / ".repro" / "runs"
    steps = json.loads((report.parent / "result.json").read_text(encoding="utf-8"))["steps"]
    assert [(step["name"], step["status"]) for step in steps] == [("sum", "cached"), ("scale", "cached")]


@pytest.mark.kernel
def test_per_cell_items_come_from_one_verification(tmp_path: Path) -> None:
    root = project(tmp_path)
    nb = write(
        root / "cells.ipynb",
        [
            *SUM_AND_SCALE,
            ("import time\nprint(time.time())", ["ignore-output"]),
            ("print('exploring')", ["skip"]),
            {"cell_type": "markdown", "source": "notes"},
        ],
        execute=True,
    )
    edit_cell(nb, 1, "print(total * 100)")

    done = pytest_run(root, "--repro-cells", "cells.ipynb", "--junitxml=junit.xml")

    assert done.returncode == 1, done.stdout
    results = outcomes(root / "junit.xml")
    assert {name: result[0] for name, result in results.items()} == {
        "cells::cell[0]": "passed",
        "cells::cell[1]": "failure",
        "cells::cell[2]": "skipped",
        "cells::cell[3]": "skipped",
    }
    assert results["cells::cell[2]"][1] == "cell 2: ignore-output: outputs not compared"
    assert results["cells::cell[3]"][1] == "cell 3: tagged skip: not executed, nothing to compare"
    assert results["cells::cell[1]"][1].startswith("Failed: cell 1 (step scale): differ")
    assert results["cells::cell[1]"][2]["status"] == "differ"
    assert "cause nondeterminism: cell 1 differs and no recorded evidence explains it" in done.stdout
    assert "cells.ipynb: DIVERGED (cells: 1 differ, 1 ignored, 1 match)" in done.stdout
    assert len(list((root / ".repro" / "runs").iterdir())) == 1  # one verification for all four items
    assert "SKIPPED [1] cells.ipynb:1: cell 3: tagged skip" in done.stdout  # at the notebook, not the plugin


def test_a_repro_error_is_a_one_line_failure(tmp_path: Path) -> None:
    root = project(tmp_path)
    write(root / "tags.ipynb", [("x = 1", ["step:load"]), ("y = x", ["step:fit", "after:lod"])])
    (root / "broken.ipynb").write_text("{not json", encoding="utf-8")

    for mode in ("--repro", "--repro-cells"):
        done = pytest_run(root, mode, ".", "--junitxml=junit.xml")
        assert done.returncode == 1, done.stdout
        results = outcomes(root / "junit.xml")
        failures = {name: message for name, (outcome, message, _) in results.items() if outcome == "failure"}
        assert set(failures) == set(results)  # every item of both notebooks fails
        assert failures["broken::verify"].startswith("Failed: cannot verify: broken.ipynb: not valid JSON")
        tags = [message for name, message in failures.items() if name.startswith("tags::")]
        assert len(tags) == (1 if mode == "--repro" else 2)
        assert all("tag 'after:lod': no step named 'lod'" in message for message in tags)
        assert all("\n" not in message for message in failures.values())
        assert "Traceback" not in done.stdout


def test_skips_from_metadata_ini_and_conftest(tmp_path: Path) -> None:
    root = project(tmp_path, "repro_notebooks = notebooks/*.ipynb\nrepro_skip = notebooks/wip-*.ipynb: draft")
    broken_tags = [("x = 1", ["step:load", "after:nowhere"])]  # would fail at once if it ran
    notebooks = root / "notebooks"
    write(notebooks / "gpu.ipynb", broken_tags, {"jupyter_repro": {"pytest": {"skip": "needs a GPU"}}})
    write(notebooks / "known.ipynb", broken_tags, {"jupyter_repro": {"pytest": {"xfail": "known drift"}}})
    write(notebooks / "wip-1.ipynb", broken_tags)
    write(notebooks / "slow.ipynb", broken_tags)
    write(root / "elsewhere" / "other.ipynb", broken_tags)  # not matched by repro_notebooks
    (root / "conftest.py").write_text(
        "import pytest\n\n"
        "def pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        "        if item.get_closest_marker('repro') and item.path.name == 'slow.ipynb':\n"
        "            item.add_marker(pytest.mark.skip(reason='too slow for CI'))\n",
        encoding="utf-8",
    )

    done = pytest_run(root, "--repro", "--junitxml=junit.xml")

    assert done.returncode == 0, done.stdout
    results = outcomes(root / "junit.xml")
    assert {name: (outcome, message) for name, (outcome, message, _) in results.items()} == {
        "gpu::verify": ("skipped", "needs a GPU"),
        "known::verify": ("skipped", "known drift"),  # JUnit writes an xfail as a skip
        "wip-1::verify": ("skipped", "draft"),
        "slow::verify": ("skipped", "too slow for CI"),
    }
    assert "XFAIL notebooks/known.ipynb::verify - known drift" in done.stdout
    deselected = pytest_run(root, "--repro", "-m", "not repro")
    assert deselected.returncode == 5, deselected.stdout
    assert "4 deselected" in deselected.stdout
    explicit = pytest_run(root, "--repro", "elsewhere", "--junitxml=junit.xml")  # given paths win
    assert explicit.returncode == 1, explicit.stdout
    assert [(n, r[0]) for n, r in outcomes(root / "junit.xml").items()] == [("other::verify", "failure")]


@pytest.mark.kernel
def test_runs_home_and_remote_options(tmp_path: Path) -> None:
    root = project(tmp_path)
    write(
        root / "random.ipynb",
        [
            ("%load_ext jupyter_repro", ["setup"]),
            ("import random\nprint(random.random())", ["step:seeded"]),
            ("import os\nprint(os.urandom(8).hex())", ["step:unseeded"]),
        ],
        execute=True,
    )
    home, shared = root / "ci-home", tmp_path / "shared"
    args = ["--repro-runs", "2", "--repro-home", str(home), "--repro-remote", f"file://{shared}"]

    done = pytest_run(root, "--repro", "random.ipynb", *args, "--junitxml=junit.xml")

    assert done.returncode == 1, done.stdout
    assert "cause nondeterminism in step unseeded (cell 2)" in done.stdout
    assert "runs 2" in done.stdout  # the report header
    assert not (root / ".repro").exists()
    assert len(list((home / "runs").iterdir())) == 2  # the verification and its second run
    assert Path(outcomes(root / "junit.xml")["random::verify"][2]["report"]).parent.parent == home / "runs"
    assert (shared / "v1" / "runs").is_dir()  # the run records went to the team's store
    listed = pytest_run(root, "--repro", ".", "--repro-home", "ci-home", "--collect-only", "-q")
    assert list(home.glob("runs/*/executed.ipynb"))
    assert "1 test collected" in listed.stdout, listed.stdout  # not the executed copies in the home


def _expression_free(value: str) -> str:
    """A workflow value with ``${{ ... }}`` as GitHub evaluates an unset variable: empty."""
    while "${{" in value:
        start = value.index("${{")
        value = value[:start] + value[value.index("}}", start) + 2 :]
    return value


@pytest.mark.kernel
def test_the_github_workflow_runs(tmp_path: Path) -> None:
    """The workflow of docs/ci.md, step by step, in a checkout of a project with the bundled example.

    ``uses:`` steps are GitHub's (checkout is the copy below, the cache is the folder staying in
    place between the two runs, the upload is checked: its files must exist); the install step is
    skipped because this package is installed; every other ``run:`` command runs as written, in bash.
    """
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    job = workflow["jobs"]["verify"]
    env = {**clean_env(), **{k: _expression_free(str(v)) for k, v in job["env"].items()}}
    checkout = tmp_path / "checkout"
    shutil.copytree(EXAMPLES, checkout / "notebooks", ignore=shutil.ignore_patterns(".repro", "output"))
    uses = [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]
    assert uses == ["actions/checkout", "actions/setup-python", "actions/cache", "actions/upload-artifact"]

    cached = next(step["with"]["path"].split() for step in job["steps"] if "cache" in step.get("uses", ""))
    for attempt in ("cold", "cached"):
        for step in job["steps"]:
            if "run" in step and step["name"] != "Install":
                done = subprocess.run(
                    ["bash", "-e", "-c", step["run"]],
                    cwd=checkout,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                assert done.returncode == 0, f"{attempt}: {step['name']}: {done.stdout}{done.stderr}"
                assert "1 passed" in done.stdout
            elif step.get("uses", "").startswith("actions/upload-artifact"):
                paths = step["with"]["path"].split()
                assert all(list(checkout.glob(pattern)) for pattern in paths), (attempt, paths)
        assert all((checkout / path).exists() for path in cached), attempt  # what the cache saves

    reports = sorted(checkout.glob(".repro/runs/*/report.html"))
    assert len(reports) == 2
    results = outcomes(checkout / "reports" / "repro-junit.xml")
    assert results["sales_report::verify"][:2] == ("passed", "")
    second = json.loads((reports[-1].parent / "result.json").read_text(encoding="utf-8"))
    assert second["verdict"] == "reproducible"
    assert {step["status"] for step in second["steps"]} == {"cached"}  # the restored cache made it fast
