"""``--jobs N``: independent branches of the step graph in parallel kernels, with the same results as
``--jobs 1`` (real kernels). The lane planner itself is pure and tested first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook

from jupyter_repro.lanes import Lane, plan_lanes, serial_reason
from jupyter_repro.model import Step
from jupyter_repro.runner import RunOptions, RunOutcome, run_pipeline


def step(name: str, *direct: str, depends: tuple[str, ...] = (), source: str = "x = 1") -> Step:
    return Step(
        name=name,
        cells=(0,),
        sources=(source,),
        direct_dependencies=direct,
        depends_on=depends or direct,
    )


DIAMOND = [
    step("load"),
    step("clean", "load"),
    step("fit_a", "clean", depends=("load", "clean")),
    step("fit_b", "clean", depends=("load", "clean")),
    step("report", "fit_a", "fit_b", depends=("load", "clean", "fit_a", "fit_b")),
]


def test_a_chain_shares_one_lane_and_branches_get_their_own() -> None:
    lanes = plan_lanes(DIAMOND, [s.name for s in DIAMOND])
    assert lanes == [
        Lane(0, ("load", "clean"), frozenset()),
        Lane(1, ("fit_a",), frozenset({0})),
        Lane(2, ("fit_b",), frozenset({0})),
        Lane(3, ("report",), frozenset({0, 1, 2})),
    ]


def test_cached_steps_are_not_in_any_lane() -> None:
    lanes = plan_lanes(DIAMOND, ["fit_a", "fit_b", "report"])
    assert [lane.steps for lane in lanes] == [("fit_a",), ("fit_b",), ("report",)]
    assert [lane.after for lane in lanes] == [frozenset(), frozenset(), frozenset({0, 1})]


def test_global_randomness_and_no_cache_steps_run_serially() -> None:
    random = [step("a"), step("b", source="import numpy as np\nnoise = np.random.rand(3)")]
    assert "global random generator" in (serial_reason(random, ["a", "b"]) or "")
    assert serial_reason(random, ["a"]) is None
    seeded = [step("b", source="rng = np.random.default_rng(7)\nnoise = rng.random(3)")]
    assert serial_reason(seeded, ["b"]) is None
    live = [Step(name="live", cells=(0,), sources=("x = 1",), no_cache=True)]
    assert "no-cache" in (serial_reason(live, ["live"]) or "")


# ------------------------------------------------------------------------------------- real kernels

SLEEP = 1.0
CELLS = [
    ("values = [1, 2, 3]", ["step:load"]),
    (f"import time\ntime.sleep({SLEEP})\nsquares = [v * v for v in values]\nprint(squares)", ["step:fit_a"]),
    (f"import time\ntime.sleep({SLEEP})\ncubes = [v ** 3 for v in values]\nprint(cubes)", ["step:fit_b"]),
    ("print('report', sum(squares) + sum(cubes))", ["step:report"]),
]


def notebook(folder: Path, cells: list[Any] = CELLS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "branches.ipynb"
    path.write_text(json.dumps(build_notebook(cells)), encoding="utf-8")
    return path


def run(path: Path, jobs: int, events: list[tuple[str, str]] | None = None, **options: Any) -> RunOutcome:
    def progress(event: str, data: dict[str, Any]) -> None:
        if events is not None and event == "step":
            events.append((data["step"], data["status"]))
        elif events is not None and event == "note":
            events.append(("note", data["message"]))

    home = str(path.parent / ".repro")
    return run_pipeline(path, RunOptions(home=home, jobs=jobs, progress=progress, no_cache=True, **options))


@pytest.mark.kernel
def test_independent_branches_run_at_once_with_the_results_of_jobs_1(tmp_path: Path) -> None:
    serial = run(notebook(tmp_path / "serial"), jobs=1)
    events: list[tuple[str, str]] = []
    parallel = run(notebook(tmp_path / "parallel"), jobs=2, events=events)
    assert [s.status for s in parallel.steps] == ["executed"] * 4
    assert parallel.outputs == serial.outputs  # same cells, same outputs
    assert [s.key for s in parallel.steps] == [s.key for s in serial.steps]  # same cache keys
    running = [name for name, status in events if status == "running"]
    finished = [name for name, status in events if status == "executed"]
    # both branches were running before either finished: two kernels at once
    assert set(running[1:3]) == {"fit_a", "fit_b"}
    assert events.index(("fit_b", "running")) < events.index(("fit_a", "executed"))
    assert events.index(("fit_a", "running")) < events.index(("fit_b", "executed"))
    assert finished[-1] == "report"
    generated = sorted(p.name for p in parallel.run_dir.iterdir() if p.name.startswith("generated"))
    assert generated == ["generated-0.ipynb", "generated-1.ipynb", "generated-2.ipynb", "generated-3.ipynb"]
    executed = json.loads(Path(parallel.executed_notebook).read_text(encoding="utf-8"))
    assert ["".join(c["outputs"][0]["text"]) for c in executed["cells"][1:]] == [
        "[1, 4, 9]\n",
        "[1, 8, 27]\n",
        "report 50\n",
    ]


@pytest.mark.kernel
def test_a_failing_branch_stops_only_its_downstream(tmp_path: Path) -> None:
    cells = [*CELLS[:1], ("squares = []\nraise ValueError('no fit')", ["step:fit_a"]), *CELLS[2:]]
    outcome = run(notebook(tmp_path, cells), jobs=2)
    statuses = {s.step.name: (s.status, s.reason) for s in outcome.steps}
    assert statuses["fit_a"][0] == "failed"
    assert statuses["fit_b"][0] == "executed"  # independent: not stopped by fit_a
    assert statuses["report"] == ("skipped", "upstream step 'fit_a' failed")
    assert outcome.failure is not None
    assert "no fit" in outcome.failure


@pytest.mark.kernel
def test_branches_drawing_global_randomness_run_serially_and_say_why(tmp_path: Path) -> None:
    cells = [
        *CELLS[:1],
        ("import random\nsquares = [random.random() for v in values]", ["step:fit_a"]),
        *CELLS[2:],
    ]
    events: list[tuple[str, str]] = []
    outcome = run(notebook(tmp_path, cells), jobs=2, events=events)
    assert [s.status for s in outcome.steps] == ["executed"] * 4
    notes = [message for name, message in events if name == "note"]
    assert len(notes) == 1
    assert "draws from the global random generator" in notes[0]
    assert [p.name for p in outcome.run_dir.iterdir() if p.name.startswith("generated")] == [
        "generated.ipynb"
    ]
