"""``export --to kfp``: the generated pipeline compiled by the real ``kfp`` SDK and run, twice for one
interval, by KFP's local runner (``SubprocessRunner``: every task a subprocess on this machine).

The SDK is installed from PyPI into its own virtual environment under the test cache folder
(``$JUPYTER_REPRO_TEST_CACHE`` or ``~/.cache/jupyter-repro-tests``), created on first use and reused, as
for Airflow: the project itself never imports ``kfp``. The export finds that interpreter through
``$JUPYTER_REPRO_KFP_PYTHON`` and compiles the spec with it; the pipeline's tasks call ``jupyter repro``
from the project's environment (the interpreter running these tests). What this proves and what it
does not (a local runner is not a cluster) is in docs/export.md.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, cached_tool_venv, console_script

from jupyter_repro._version import __version__
from jupyter_repro.export import export_targets, get_exporter
from jupyter_repro.notebook import load_pipeline

KFP_VERSION = "2.17.3"
STEPS = ["load", "clean", "aggregate", "model", "report"]
NAME = "sales_report"
INTERVAL = {"start_date": "2026-09-30", "end_date": "2026-09-30"}

DRIVER = """
import sys

from kfp import local
from kfp.components import load_component_from_file

local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=sys.argv[2])
pipeline = load_component_from_file(sys.argv[1])  # the compiled spec, as a cluster would get it
pipeline(start_date=sys.argv[3], end_date=sys.argv[4])
print("driver: pipeline finished")
"""

SPEC_AS_JSON = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"


@pytest.fixture(scope="session")
def kfp_python() -> Path:
    """The interpreter of a virtual environment with the kfp SDK, created once and reused."""
    return cached_tool_venv(f"kfp-{KFP_VERSION}", f"kfp=={KFP_VERSION}") / "python"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The bundled example and its data, copied: the runs write ``output/`` beside the notebook."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(EXAMPLES / "sales_report.ipynb", folder)
    shutil.copytree(EXAMPLES / "data", folder / "data")
    return folder


def _env(**extra: str) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_REPRO_HOME", "JUPYTER_REPRO_KFP_PYTHON"}
    }
    return {**inherited, **extra}


def _export(project: Path, out: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *console_script(), "export", str(project / "sales_report.ipynb"), "--to", "kfp", "-o", str(out),
            "--inclusive-end", "--retries", "0", *args,
        ],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip


def _spec(kfp_python: Path, path: Path) -> dict[str, Any]:
    """The compiled pipeline spec, read with the PyYAML that the kfp SDK brings."""
    shown = subprocess.run(
        [str(kfp_python), "-c", SPEC_AS_JSON, str(path)], capture_output=True, text=True, check=True
    )
    spec: dict[str, Any] = json.loads(shown.stdout)
    return spec


def _install_line(spec: dict[str, Any], task: str) -> str:
    """The shell text a task's container starts with: the ``pip install`` of its packages."""
    container = spec["deploymentSpec"]["executors"][f"exec-{task}"]["container"]
    return str(container["command"][2])


def _published(remote: Path, *, newest: bool = False) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Per task (its ``--step``), the steps of its published run: ``(status, from)``; the first run of
    each task, or with ``newest`` its latest."""
    records = [json.loads(p.read_text(encoding="utf-8")) for p in (remote / "v1" / "runs").glob("*.json")]
    by_task: dict[str, dict[str, tuple[str, str | None]]] = {}
    for record in sorted(records, key=lambda r: r["run"]["run_id"], reverse=newest):
        run = record["run"]
        assert run["status"] == "ok", run
        task = run["steps"][-1]["name"]  # --step runs the step after its upstream steps
        by_task.setdefault(task, {s["name"]: (s["status"], s.get("from")) for s in run["steps"]})
    return by_task


@pytest.mark.kernel
@pytest.mark.network
def test_exported_pipeline_compiles_and_runs_twice_in_kfp_locally_the_rerun_replays_every_step(
    kfp_python: Path, project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pipelines"
    remote = tmp_path / "team"
    workers = tmp_path / "workers"
    env = _env(JUPYTER_REPRO_REMOTE_KEY="team-key-for-kfp", JUPYTER_REPRO_KFP_PYTHON=str(kfp_python))
    export = _export(
        project, out, env, "--remote", f"file://{remote}", "--home", f"{workers}/$JUPYTER_REPRO_KFP_STEP"
    )
    assert export.returncode == 0, export.stderr
    source, compiled = out / f"{NAME}_pipeline.py", out / f"{NAME}_pipeline.yaml"
    assert export.stdout.split() == [str(source), str(compiled)]
    assert export.stderr == ""  # a remote and an SDK: nothing to warn about

    # the file imports only kfp and the standard library, at the top and inside each component
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "kfp" in imported
    assert {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names} == {"kfp"}

    # the spec the export compiled: one component and one task per step, the step graph's edges
    spec = _spec(kfp_python, compiled)
    pipeline = load_pipeline(EXAMPLES / "sales_report.ipynb")
    graph = {step.name: set(step.direct_dependencies) for step in pipeline.steps}
    assert sorted(graph) == sorted(STEPS)
    assert sorted(spec["components"]) == sorted(f"comp-step-{step}" for step in STEPS)
    tasks = spec["root"]["dag"]["tasks"]
    assert {task["taskInfo"]["name"] for task in tasks.values()} == set(STEPS)  # display names
    assert {key: set(task.get("dependentTasks", [])) for key, task in tasks.items()} == {
        f"step-{step}": {f"step-{upstream}" for upstream in upstream_steps}
        for step, upstream_steps in graph.items()
    }
    assert graph["report"] == {"clean", "aggregate"}  # the example has a join, so edges are not a chain
    assert all(task["cachingOptions"] == {} for task in tasks.values())  # KFP's cache off: ours decides
    assert set(spec["root"]["inputDefinitions"]["parameters"]) == set(INTERVAL)  # one spec, any interval
    image = f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"
    executors = spec["deploymentSpec"]["executors"].values()
    assert {executor["container"]["image"] for executor in executors} == {image}
    install = _install_line(spec, "step-report")
    assert f"'jupyter-repro=={__version__}'" in install
    for pin in ("'pandas==", "'numpy==", "'python-dateutil=="):  # the lock: imports and their dependencies
        assert pin in install
    assert f"file://{remote}" in json.dumps(spec)

    # the local runner: this machine's Python already has every package, so compile without installs
    local_spec = out / "local.yaml"
    compiled_again = subprocess.run(
        [str(kfp_python), str(source), "--no-packages", "-o", str(local_spec)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert compiled_again.returncode == 0, compiled_again.stderr
    assert "'pandas==" not in _install_line(_spec(kfp_python, local_spec), "step-report")

    def run_pipeline() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(kfp_python), "-c", DRIVER, str(local_spec), str(tmp_path / "kfp-root"),
                INTERVAL["start_date"], INTERVAL["end_date"],
            ],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=900, check=False,
        )  # fmt: skip

    output = project / "output" / "summary_2026-09-30_2026-09-30.csv"
    first = run_pipeline()
    assert first.returncode == 0, first.stdout[-5000:]
    assert "driver: pipeline finished" in first.stdout
    assert output.is_file()
    produced = output.read_bytes()
    assert produced.decode().splitlines()[0] == "store,product,revenue"
    assert sorted(p.name for p in workers.iterdir()) == sorted(STEPS)  # one home per task, as on pods
    published = _published(remote)
    assert sorted(published) == sorted(STEPS)
    for task in STEPS:
        steps = published[task]
        assert steps.pop(task) == ("executed", None)  # each task ran its own step, and got the
        assert set(steps.values()) <= {("cached", "remote")}  # results of the others through the remote
    assert published["report"]["aggregate"] == ("cached", "remote")

    second = run_pipeline()
    assert second.returncode == 0, second.stdout[-5000:]
    assert output.read_bytes() == produced
    assert sorted(p.name for p in output.parent.iterdir()) == [output.name]
    rerun = _published(remote, newest=True)
    assert sorted(rerun) == sorted(STEPS)
    assert all(steps[task][0] == "cached" for task, steps in rerun.items())  # every step replayed
    assert {status for steps in rerun.values() for status, _ in steps.values()} == {"cached"}
    assert len(list((remote / "v1" / "runs").glob("*.json"))) == 2 * len(STEPS)


@pytest.mark.network
def test_without_a_remote_or_an_sdk_the_export_writes_the_file_says_why_and_compiles_later(
    kfp_python: Path, project: Path, tmp_path: Path
) -> None:
    # the project's test environment has no kfp SDK (it is not a dependency, nor in the test extra):
    # that is the case this test is about, and the other one compiles with the SDK's own environment
    assert importlib.util.find_spec("kfp") is None, "uninstall kfp from the project's environment"
    out = tmp_path / "pipelines"
    out.mkdir()
    stale = out / f"{NAME}_pipeline.yaml"
    stale.write_text("an earlier export's spec\n")
    bare_path = f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin"  # no kfp command
    export = _export(project, out, _env(PATH=bare_path), "--home", str(tmp_path / "home"))
    assert export.returncode == 0, export.stderr
    source = out / f"{NAME}_pipeline.py"
    assert export.stdout.split() == [str(source)]
    assert not stale.exists()  # it would no longer match the file
    notes = export.stderr.splitlines()
    assert len(notes) == 2, export.stderr
    assert "a cluster needs --remote" in notes[0]
    assert f"compile with 'python {source}'" in notes[1]
    text = source.read_text(encoding="utf-8")
    assert "NO REMOTE" in text  # said in the docstring
    assert '"--remote"' not in text  # and no step passes one
    assert "cluster's pods share no disk" in text

    # compiling later, as the note says, gives the spec
    compiled = subprocess.run([str(kfp_python), str(source)], capture_output=True, text=True, check=False)
    assert compiled.returncode == 0, compiled.stderr
    assert sorted(_spec(kfp_python, stale)["components"]) == sorted(f"comp-step-{step}" for step in STEPS)


def test_kfp_is_a_registered_target_without_a_schedule_and_refuses_one(project: Path, tmp_path: Path) -> None:
    target = {t.name: t for t in export_targets()}["kfp"]
    assert target.default_schedule is None
    assert target.description == get_exporter("kfp").description
    refused = _export(project, tmp_path / "out", _env(), "--schedule", "@daily")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "the kfp target takes no --schedule" in refused.stderr
    assert not (tmp_path / "out" / f"{NAME}_pipeline.py").exists()


def test_the_package_does_not_import_kfp() -> None:
    """Loading every target (as --help and GET export/targets do) must not need the kfp SDK."""
    probe = "import sys; import jupyter_repro.export as e; e.export_targets(); print('kfp' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
