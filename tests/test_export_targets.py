"""The export registry is the one list of targets: a plug-in exporter reaches the CLI, REST and the UI.

A plug-in registered under the entry-point group ``jupyter_repro.exporters`` must appear in
``GET /jupyter-repro/api/export/targets`` (which the JupyterLab dialog lists), be accepted by
``POST export`` and be listed by the CLI's ``--to``, with nothing else to change. The server runs in
this process (pytest-jupyter), its exports in CLI subprocesses.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook

from jupyter_repro.cli import build_parser
from jupyter_repro.errors import ExportError
from jupyter_repro.export import ENTRY_POINT_GROUP, export_targets, exporter_names, get_exporter

Fetch = Callable[..., Awaitable[Any]]

PLUGIN_MODULE = "jupyter_repro_test_hello_exporter"
PLUGIN_SOURCE = """
from pathlib import Path


class HelloExporter:
    name = "hello"
    description = "a text file: the schedule, then the steps, one per line"
    default_schedule = "@hourly"

    def export(self, job, out_dir: Path) -> list[Path]:
        path = out_dir / f"{job.name}.steps"
        lines = [job.schedule, *(step.name for step in job.steps)]
        path.write_text("\\n".join(lines) + "\\n", encoding="utf-8")
        return [path]
"""


def install_distribution(
    folder: Path, monkeypatch: pytest.MonkeyPatch, name: str, entry_points: str, modules: dict[str, str]
) -> None:
    """Make ``folder`` hold a distribution as pip installs it, and put it on this process's and the
    subprocesses' import paths.

    A real entry point, not a patched registry: a ``*.dist-info`` folder whose ``entry_points.txt``
    registers the plug-in, which ``importlib.metadata`` finds on ``sys.path`` exactly as it finds a
    pip-installed package's. ``sys.path`` serves the server (this process); ``PYTHONPATH`` serves the
    CLI subprocesses it starts (prepended, so a ``PYTHONPATH`` pointing at the source tree is kept).
    """
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}\n", encoding="utf-8")
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(source, encoding="utf-8")
        monkeypatch.delitem(sys.modules, module, raising=False)  # dropped again at teardown
    monkeypatch.syspath_prepend(str(folder))  # also invalidates importlib's caches
    inherited = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), *([inherited] if inherited else [])]))


@pytest.fixture
def plugin_exporter(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """Install the plug-in target ``hello`` (see :func:`install_distribution`); returns its name."""
    folder = tmp_path_factory.mktemp("plugin")
    install_distribution(
        folder,
        monkeypatch,
        "hello-exporter",
        f"hello = {PLUGIN_MODULE}:HelloExporter",
        {PLUGIN_MODULE: PLUGIN_SOURCE},
    )
    return "hello"


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_repro": True},
            "allow_unauthenticated_access": False,
        }
    }


async def get_targets(jp_fetch: Fetch) -> list[dict[str, Any]]:
    response = await jp_fetch("jupyter-repro", "api", "export", "targets")
    assert response.code == 200
    document = json.loads(response.body)
    assert list(document) == ["targets"]
    targets: list[dict[str, Any]] = document["targets"]
    return targets


# --- the built-ins ---------------------------------------------------------------------------------


async def test_export_targets_lists_the_builtins_sorted_with_description_and_default_schedule(
    jp_fetch: Fetch,
) -> None:
    targets = await get_targets(jp_fetch)
    assert [(t["name"], t["default_schedule"]) for t in targets] == [
        ("airflow", "@daily"),
        ("cron", "@daily"),
        ("kfp", None),
        ("script", None),
    ]
    for target in targets:
        assert set(target) == {"name", "description", "default_schedule"}
        assert target["description"] == get_exporter(target["name"]).description
    assert targets == [target.to_dict() for target in export_targets()]


# --- a plug-in -------------------------------------------------------------------------------------


async def test_a_plugin_exporter_is_listed_by_rest_accepted_by_post_export_and_by_the_cli(
    plugin_exporter: str,
    jp_fetch: Fetch,
    jp_root_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GET export/targets: the plug-in, with what it carries, in its place by name
    targets = await get_targets(jp_fetch)
    assert [t["name"] for t in targets] == ["airflow", "cron", plugin_exporter, "kfp", "script"]
    assert targets[2] == {
        "name": plugin_exporter,
        "description": "a text file: the schedule, then the steps, one per line",
        "default_schedule": "@hourly",
    }

    # POST export: accepted, and exported by the CLI subprocess with the plug-in's default schedule
    notebook = build_notebook([("n = 1", ["parameters"]), ("m = n * 2", ["step:double"])])
    (jp_root_dir / "daily.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    body = {"path": "daily.ipynb", "target": plugin_exporter}
    response = await jp_fetch("jupyter-repro", "api", "export", method="POST", body=json.dumps(body))
    exported = json.loads(response.body)
    assert exported == {"files": ["daily-hello/daily.steps"], "output_dir": "daily-hello"}
    assert (jp_root_dir / "daily-hello" / "daily.steps").read_text(encoding="utf-8").split("\n") == [
        "0 * * * *",
        "double",
        "",
    ]

    # the CLI's --to: the same list (the parser is built from the registry in this process)
    with pytest.raises(SystemExit) as exited:
        build_parser("export").parse_args(["export", "--help"])
    assert exited.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "export target: airflow, cron, hello, kfp, script" in help_text
    assert "hello: a text file: the schedule, then the steps, one per line (default schedule @hourly)." in (
        help_text
    )


def test_a_broken_plugin_is_left_out_of_the_list_but_named_when_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One broken package must not hide the other targets from --help and the UI."""
    module = "jupyter_repro_test_broken_exporter"
    install_distribution(
        tmp_path, monkeypatch, "broken-exporter", f"broken = {module}:VALUE", {module: "VALUE = 3\n"}
    )
    assert "broken" in exporter_names()  # a name: POST export passes it on to the CLI's error
    assert [target.name for target in export_targets()] == ["airflow", "cron", "kfp", "script"]
    with pytest.raises(ExportError, match="export target 'broken' is not an exporter"):
        get_exporter("broken")
