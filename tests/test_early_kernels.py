"""Kernels started before planning when steps will certainly execute (early_kernels.py).

The counting rule is tested on its own; the rest with real kernels. To see which kernels a run
started where, the tests wrap the real start function and record what it returned (a spy: every
kernel is still started and run for real).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook

from jupyter_repro import early_kernels, layout, runner
from jupyter_repro.cache import ArtifactStore
from jupyter_repro.early_kernels import EarlyKernels, early_kernel_count
from jupyter_repro.errors import NotebookError, ParameterError, ReproError
from jupyter_repro.model import Step
from jupyter_repro.prepare import _steps_in_json
from jupyter_repro.remote import RemoteConfig
from jupyter_repro.runner import RunOptions, run_pipeline


def step(name: str, *upstream: str, source: str = "x = 1") -> Step:
    return Step(name=name, cells=(0,), sources=(source,), direct_dependencies=upstream, depends_on=upstream)


TWO_BRANCHES = [step("left"), step("right")]


def test_no_cache_or_an_empty_cache_needs_a_kernel_before_planning(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "home")
    assert early_kernel_count(TWO_BRANCHES, RunOptions(), store) == 1  # nothing cached yet
    assert early_kernel_count(TWO_BRANCHES, RunOptions(no_cache=True), store) == 1
    assert early_kernel_count([], RunOptions(no_cache=True), store) == 0  # nothing to run


def test_with_jobs_each_lane_that_can_start_at_once_gets_one(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "home")
    assert early_kernel_count(TWO_BRANCHES, RunOptions(jobs=2), store) == 2
    assert early_kernel_count(TWO_BRANCHES, RunOptions(jobs=4), store) == 2
    chain = [step("load"), step("fit_a", "load"), step("fit_b", "load")]
    assert early_kernel_count(chain, RunOptions(jobs=2), store) == 1  # the branches wait for load
    drawing = [step("a"), step("b", source="import random\nx = random.random()")]
    assert early_kernel_count(drawing, RunOptions(jobs=2), store) == 1  # runs serially: one kernel


def test_when_a_step_may_be_cached_nothing_starts_early(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "home")
    store.entries.mkdir(parents=True)
    (store.entries / "step-abc.json").write_text("{}", encoding="utf-8")
    assert early_kernel_count(TWO_BRANCHES, RunOptions(), store) == 0
    assert early_kernel_count(TWO_BRANCHES, RunOptions(no_cache=True), store) == 1
    empty = ArtifactStore(tmp_path / "other")
    remote = RemoteConfig.resolve(f"file://{tmp_path / 'team'}", read_only=False)
    assert early_kernel_count(TWO_BRANCHES, RunOptions(remote=remote), empty) == 0  # the team may have it


def test_the_steps_are_read_from_the_raw_json_only_when_it_is_a_current_notebook() -> None:
    current = build_notebook([("left = 1", ["step:left"]), ("right = 2", ["step:right"])])
    assert [step.name for step in _steps_in_json(current, "nb.ipynb", None)] == ["left", "right"]
    assert [step.name for step in _steps_in_json(current, "nb.ipynb", "right")] == ["right"]
    assert _steps_in_json(current, "nb.ipynb", "missing") == []  # the proper reading says so
    old = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]}
    assert _steps_in_json(old, "nb.ipynb", None) == []  # converted by nbformat first
    broken = {**current, "cells": ["not a cell", *current["cells"]]}
    assert _steps_in_json(broken, "nb.ipynb", None) == []
    assert _steps_in_json([], "nb.ipynb", None) == []


# ------------------------------------------------------------------------------------- real kernels


class StartSpy:
    """Records the kernels a module's ``start_kernel_serialised`` started (and still starts them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
        self.kernels: list[Any] = []
        real = module.start_kernel_serialised

        def start(*args: Any) -> Any:
            kernel = real(*args)
            self.kernels.append(kernel)
            return kernel

        monkeypatch.setattr(module, "start_kernel_serialised", start)


def notebook(folder: Path, cells: list[Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "nb.ipynb"
    path.write_text(json.dumps(build_notebook(cells)), encoding="utf-8")
    return path


BRANCH_CELLS = [("left = 1\nprint(left)", ["step:left"]), ("right = 2\nprint(right)", ["step:right"])]


@pytest.mark.kernel
def test_a_first_run_executes_in_the_kernels_started_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    early, late = StartSpy(monkeypatch, early_kernels), StartSpy(monkeypatch, runner)
    path = notebook(tmp_path, BRANCH_CELLS)
    home = tmp_path / ".repro"
    outcome = run_pipeline(path, RunOptions(home=str(home), jobs=2))
    assert [s.status for s in outcome.steps] == ["executed", "executed"]
    assert outcome.outputs[0][0]["text"] == "1\n"
    assert outcome.outputs[1][0]["text"] == "2\n"
    assert len(early.kernels) == 2
    assert late.kernels == []
    assert not any(kernel.has_kernel for kernel in early.kernels)  # and stopped it when done
    assert layout.kernel_log_path(home, outcome.run_id).is_file()  # the early log became the run's
    assert list(ArtifactStore(home).tmp.glob("kernel-*.log")) == []


@pytest.mark.kernel
def test_a_cached_run_starts_no_kernel_and_no_cache_starts_one_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = notebook(tmp_path, BRANCH_CELLS)
    home = str(tmp_path / ".repro")
    run_pipeline(path, RunOptions(home=home))
    early, late = StartSpy(monkeypatch, early_kernels), StartSpy(monkeypatch, runner)
    cached = run_pipeline(path, RunOptions(home=home))
    assert [s.status for s in cached.steps] == ["cached", "cached"]
    assert early.kernels == []
    assert late.kernels == []
    again = run_pipeline(path, RunOptions(home=home, no_cache=True))
    assert [s.status for s in again.steps] == ["executed", "executed"]
    assert len(early.kernels) == 1
    assert late.kernels == []


@pytest.mark.kernel
def test_kernels_nobody_took_are_stopped_and_their_log_removed(tmp_path: Path) -> None:
    home = tmp_path / ".repro"
    started = EarlyKernels.start(2, home, "python3", tmp_path)
    logs = list(ArtifactStore(home).tmp.glob("kernel-*.log"))
    assert len(logs) == 1
    kernels = [started.take(), started.take()]
    assert all(kernel.has_kernel for kernel in kernels)
    assert started.take() is None
    unused = EarlyKernels(kernels, logs[0])
    unused.stop_unused()
    assert not any(kernel.has_kernel for kernel in kernels)
    assert not logs[0].exists()


def test_the_jupyter_client_hooks_the_kernel_start_and_stop_rely_on_exist() -> None:
    """kernel_process overrides ``wait_for_ready`` (no 0.2 s IOPub drain) and the private
    ``_async_wait`` (a 5 ms exit poll): a jupyter_client that renamed them would silently bring the
    waits back, so this fails instead."""
    import inspect

    from jupyter_client.asynchronous.client import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    assert "pollinterval" in inspect.signature(AsyncKernelManager._async_wait).parameters
    assert inspect.iscoroutinefunction(AsyncKernelClient.wait_for_ready)
    from jupyter_repro.kernel_process import ready_client_class

    assert issubclass(ready_client_class(), AsyncKernelClient)


def unreadable_outputs(nb: dict[str, Any]) -> dict[str, Any]:
    nb["cells"][1]["outputs"] = "not a list"  # the JSON names the steps; nbformat's reading refuses it
    return nb


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("spoil", "options", "error"),
    [
        (unreadable_outputs, {}, NotebookError),
        (lambda nb: nb, {"parameters": {"unknown": 1}}, ParameterError),
    ],
    ids=["invalid-notebook", "unknown-parameter"],
)
def test_a_run_refused_after_its_kernels_started_stops_them_and_leaves_no_home(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spoil: Any,
    options: dict[str, Any],
    error: type[ReproError],
) -> None:
    """The kernels start from the notebook's raw JSON, before it is read properly; when the reading
    (or the parameters) then refuse the run, the kernels are stopped and the folders made for their
    log removed: a refused run leaves nothing, as it did when the kernels started after reading."""
    early = StartSpy(monkeypatch, early_kernels)
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(spoil(build_notebook(BRANCH_CELLS))), encoding="utf-8")
    home = tmp_path / "project" / ".repro"
    with pytest.raises(error):
        run_pipeline(path, RunOptions(home=str(home), jobs=2, **options))
    assert len(early.kernels) == 2
    assert not any(kernel.has_kernel for kernel in early.kernels)
    assert not (tmp_path / "project").exists()
