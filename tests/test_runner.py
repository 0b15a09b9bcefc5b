"""Headless cached execution with real kernels (papermill), a real ledger and a real artifact store."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_repro.errors import ParameterError, PipelineError
from jupyter_repro.runner import RunOptions, RunOutcome, run_pipeline

pytestmark = pytest.mark.kernel

PIPELINE = [
    ("n = 3", ["parameters"]),
    ('data = open("data.txt").read().split()', ["step:load"]),
    ("# double every value\ndoubled = [int(x) * 2 for x in data]\nprint(doubled)", ["step:double"]),
    ("scaled = [x * n for x in doubled]\nprint(scaled)", ["step:scale"]),
    ('other = "independent"\nprint(other)', ["step:other"]),
]


@pytest.fixture
def pipeline_nb(tmp_path: Path, make_notebook: Callable[..., Path]) -> Path:
    (tmp_path / "data.txt").write_text("1 2 3\n", encoding="utf-8")
    return make_notebook(PIPELINE)


def run(nb: Path, **options: Any) -> RunOutcome:
    options.setdefault("home", str(nb.parent / ".repro"))
    return run_pipeline(nb, RunOptions(**options))


def statuses(outcome: RunOutcome) -> dict[str, str]:
    return {step.step.name: step.status for step in outcome.steps}


def stdout_of(outcome: RunOutcome, cell: int) -> str:
    return "".join(o.get("text", "") for o in outcome.outputs[cell] if o.get("output_type") == "stream")


def edit_cell(nb: Path, index: int, source: str) -> None:
    data = json.loads(nb.read_text(encoding="utf-8"))
    data["cells"][index]["source"] = source
    nb.write_text(json.dumps(data), encoding="utf-8")


def test_first_run_executes_everything_and_second_run_replays_the_cache(pipeline_nb: Path) -> None:
    before = pipeline_nb.read_bytes()
    first = run(pipeline_nb)
    assert first.failure is None
    assert set(statuses(first).values()) == {"executed"}
    assert stdout_of(first, 3) == "[6, 12, 18]\n"
    assert first.steps[0].reads == [(str(pipeline_nb.parent / "data.txt"), first.steps[0].reads[0][1])]

    second = run(pipeline_nb)
    assert set(statuses(second).values()) == {"cached"}
    assert stdout_of(second, 3) == "[6, 12, 18]\n"
    assert [s.key for s in second.steps] == [s.key for s in first.steps]
    # the source notebook is never written; each run has its own executed notebook with all outputs
    assert pipeline_nb.read_bytes() == before
    executed = json.loads(Path(second.executed_notebook).read_text(encoding="utf-8"))
    assert executed["cells"][3]["outputs"][0]["text"] in ("[6, 12, 18]\n", ["[6, 12, 18]\n"])
    assert len(executed["cells"]) == len(PIPELINE)


def test_a_copy_of_the_project_at_another_path_replays_its_cache(pipeline_nb: Path, tmp_path: Path) -> None:
    run(pipeline_nb)
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    shutil.copytree(tmp_path, moved)
    shutil.rmtree(tmp_path / ".repro")  # nothing left to read at the old path
    (tmp_path / "data.txt").unlink()
    copy = moved / pipeline_nb.name
    again = run(copy)
    assert set(statuses(again).values()) == {"cached"}
    assert again.steps[0].reads == [(str(moved / "data.txt"), again.steps[0].reads[0][1])]
    (moved / "data.txt").write_text("4 5 6\n", encoding="utf-8")
    changed = run(copy)
    assert statuses(changed) == {
        "load": "executed",
        "double": "executed",
        "scale": "executed",
        "other": "cached",
    }


def test_comment_only_edit_stays_cached(pipeline_nb: Path) -> None:
    run(pipeline_nb)
    edit_cell(
        pipeline_nb, 2, "# doubled, as before\n\ndoubled = [int(x) * 2 for x in data]  # same\nprint(doubled)"
    )
    assert set(statuses(run(pipeline_nb)).values()) == {"cached"}


def test_edited_step_reruns_with_its_dependents_only(pipeline_nb: Path) -> None:
    run(pipeline_nb)
    edit_cell(pipeline_nb, 2, "doubled = [int(x) * 20 for x in data]\nprint(doubled)")
    outcome = run(pipeline_nb)
    assert statuses(outcome) == {
        "load": "cached",
        "double": "executed",
        "scale": "executed",
        "other": "cached",
    }
    assert stdout_of(outcome, 3) == "[60, 120, 180]\n"


def test_touched_but_unchanged_data_stays_cached(pipeline_nb: Path) -> None:
    run(pipeline_nb)
    data = pipeline_nb.parent / "data.txt"
    later = time.time() + 5
    os.utime(data, (later, later))
    assert set(statuses(run(pipeline_nb)).values()) == {"cached"}


def test_changed_data_reruns_the_reader_and_its_dependents(pipeline_nb: Path) -> None:
    run(pipeline_nb)
    (pipeline_nb.parent / "data.txt").write_text("1 2 3 4\n", encoding="utf-8")
    outcome = run(pipeline_nb)
    # the reader's new output makes its dependents stale; the independent step stays cached
    assert statuses(outcome) == {
        "load": "executed",
        "double": "executed",
        "scale": "executed",
        "other": "cached",
    }
    assert stdout_of(outcome, 3) == "[6, 12, 18, 24]\n"
    # and the new results are cached in turn
    assert set(statuses(run(pipeline_nb)).values()) == {"cached"}


def test_changed_parameter_reruns_the_steps_that_read_it(pipeline_nb: Path) -> None:
    run(pipeline_nb)
    outcome = run(pipeline_nb, parameters={"n": 10})
    assert statuses(outcome) == {"load": "cached", "double": "cached", "scale": "executed", "other": "cached"}
    assert stdout_of(outcome, 3) == "[20, 40, 60]\n"


def test_unknown_parameter_is_a_user_error(pipeline_nb: Path) -> None:
    with pytest.raises(ParameterError, match="unknown parameter 'm'"):
        run(pipeline_nb, parameters={"m": 1})


def test_corrupted_blob_is_recomputed(pipeline_nb: Path) -> None:
    run(pipeline_nb)
    blobs = [
        p for p in (pipeline_nb.parent / ".repro" / "cache").rglob("*") if p.is_file() and "blobs" in p.parts
    ]
    assert blobs
    for blob in blobs:
        blob.write_bytes(blob.read_bytes()[:-1] + b"!")
    outcome = run(pipeline_nb)
    assert outcome.failure is None
    assert "executed" in statuses(outcome).values()
    assert stdout_of(outcome, 3) == "[6, 12, 18]\n"


def test_step_option_runs_one_step_with_missing_upstream(pipeline_nb: Path) -> None:
    outcome = run(pipeline_nb, step="scale")
    assert statuses(outcome) == {"load": "executed", "double": "executed", "scale": "executed"}
    again = run(pipeline_nb, step="scale", parameters={"n": 2})
    assert statuses(again) == {"load": "cached", "double": "cached", "scale": "executed"}
    assert stdout_of(again, 3) == "[4, 8, 12]\n"
    with pytest.raises(PipelineError, match="no step named 'nope'"):
        run(pipeline_nb, step="nope")


def test_failing_cell_fails_its_step_and_skips_dependents(
    tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    nb = make_notebook(
        [
            ("x = 1", ["step:a"]),
            ("y = x + 1\nraise ValueError('bad value')", ["step:b"]),
            ("z = y * 2", ["step:c"]),
        ]
    )
    outcome = run(nb)
    assert statuses(outcome) == {"a": "executed", "b": "failed", "c": "skipped"}
    failed = outcome.steps[1]
    assert failed.error is not None
    assert failed.error.cell == 1
    assert failed.error.ename == "ValueError"
    assert failed.error.evalue == "bad value"
    assert outcome.failure == "step 'b' failed in cell 1: ValueError: bad value"
    assert outcome.steps[2].reason == "upstream step 'b' failed"


def test_kernel_that_exits_is_a_clear_failure(tmp_path: Path, make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook([("x = 1", ["step:a"]), ("import os\nos._exit(3)", ["step:b"]), ("y = 2", ["step:c"])])
    outcome = run(nb)
    assert outcome.failure is not None
    assert "kernel died" in outcome.failure
    assert statuses(outcome)["a"] == "executed"
    assert statuses(outcome)["b"] != "executed"
    assert statuses(outcome)["c"] == "skipped"


def test_cell_timeout_is_a_failure_not_a_hang(tmp_path: Path, make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook([("import time\ntime.sleep(60)", ["step:slow"])])
    started = time.monotonic()
    outcome = run(nb, cell_timeout_s=2)
    assert time.monotonic() - started < 40
    assert outcome.failure is not None
    assert "timeout" in outcome.failure


def test_cli_run_json_shape_and_exit_codes(pipeline_nb: Path, run_cli: Callable[..., Any]) -> None:
    result = run_cli("run", str(pipeline_nb), "--json", "-p", "n", "4")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "run"
    assert data["status"] == "ok"
    assert data["verdict"] is None
    assert data["parameters"]["n"] == 4
    assert [s["name"] for s in data["steps"]] == ["load", "double", "scale", "other"]
    assert {s["status"] for s in data["steps"]} == {"executed"}
    for key in ("run_id", "seed", "environment_hash", "cells", "causes", "executed_notebook"):
        assert key in data
    assert Path(data["executed_notebook"]).exists()

    unknown = run_cli("run", str(pipeline_nb), "-p", "nope", "1")
    assert unknown.returncode == 2
    assert "unknown parameter 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1

    log = run_cli("log", "--json")
    assert log.returncode == 0, log.stderr
    assert json.loads(log.stdout)["runs"][0]["run_id"] == data["run_id"]


def test_every_stored_and_replayed_entry_is_in_the_ledgers_cache_entries(pipeline_nb: Path) -> None:
    import sqlite3

    first = run(pipeline_nb)
    ledger = sqlite3.connect(pipeline_nb.parent / ".repro" / "ledger.db")
    rows = {
        row[0]: row[1:]
        for row in ledger.execute(
            "SELECT key, step, run_id, size_bytes, created_at, last_used FROM cache_entries"
        )
    }
    assert {rows[step.key][0] for step in first.steps} == {"load", "double", "scale", "other"}
    assert all(rows[step.key][1] == first.run_id for step in first.steps)
    assert all(rows[step.key][2] > 0 for step in first.steps)  # the entry file and its variables' blobs
    time.sleep(0.01)
    second = run(pipeline_nb)
    assert set(statuses(second).values()) == {"cached"}
    used = dict(ledger.execute("SELECT key, last_used FROM cache_entries").fetchall())
    assert all(used[step.key] > rows[step.key][4] for step in second.steps)  # a replay is a use
    assert ledger.execute("SELECT count(*) FROM cache_entries").fetchone()[0] == 4
    ledger.close()
