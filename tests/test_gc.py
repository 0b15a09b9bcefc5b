"""``jupyter repro gc``: the pure policy (gc_plan), and collection of real homes made by real runs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_repro import cli
from jupyter_repro.commands import gc as gc_command
from jupyter_repro.gc_plan import EntryInfo, Policy, RunFolder, parse_age, parse_size, plan_gc
from jupyter_repro.runner import RunOptions, RunOutcome, run_pipeline

NOW = 1_000_000.0
DAY = 86400.0

# ------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [("200KB", 200_000), ("500MB", 500_000_000), ("2GB", 2_000_000_000), ("4096", 4096), ("1.5k", 1500)],
)
def test_sizes_use_decimal_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


def test_binary_units_are_binary() -> None:
    assert parse_size("1KiB") == 1024
    assert parse_size("2MiB") == 2 * 1024 * 1024


@pytest.mark.parametrize("text", ["", "MB", "12XB", "-1MB", "1 2MB", "ib"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_ages() -> None:
    assert parse_age("30s") == 30
    assert parse_age("15m") == 900
    assert parse_age("7d") == 7 * DAY
    assert parse_age("2w") == 14 * DAY
    for bad in ("7", "d", "3y", "-1d"):
        with pytest.raises(ValueError, match="not an age"):
            parse_age(bad)


# ------------------------------------------------------------------------------------ the policy


def entry(key: str, last_used: float, blobs: tuple[str, ...] = (), **fields: Any) -> EntryInfo:
    return EntryInfo(key, key, "nb", 10, frozenset(blobs), last_used, **fields)


def test_lru_entries_go_first_until_the_budget_is_met_and_protected_ones_stay() -> None:
    entries = [
        entry("old", NOW - 3 * DAY, ("b1",)),
        entry("older-but-protected", NOW - 9 * DAY, ("b2",), protected="latest-run"),
        entry("middle", NOW - 2 * DAY, ("b3",)),
        entry("new", NOW - DAY, ("b4",)),
    ]
    blobs = dict.fromkeys(("b1", "b2", "b3", "b4"), (100, NOW - 9 * DAY))
    plan = plan_gc(entries, blobs, [], 1000, Policy(now=NOW, max_size=800))
    assert [r.name for r in plan.of_kind("entry")] == ["old", "middle"]
    assert sorted(r.name for r in plan.of_kind("blob")) == ["b1", "b3"]
    assert plan.size_after == 1000 - 2 * 110
    assert plan.fits
    assert plan.kept == {"latest-run": 1}


def test_a_blob_shared_with_a_kept_entry_is_never_removed_nor_counted() -> None:
    entries = [
        entry("a", NOW - 3 * DAY, ("shared", "own")),
        entry("b", NOW - DAY, ("shared",), protected="running"),
    ]
    blobs = {"shared": (500, 0.0), "own": (100, 0.0)}
    plan = plan_gc(entries, blobs, [], 2000, Policy(now=NOW, max_size=0))
    assert [r.name for r in plan.of_kind("blob")] == ["own"]
    assert plan.freed == 110
    assert not plan.fits


def test_recently_used_entries_and_young_blobs_are_kept_for_runs_going_on() -> None:
    entries = [entry("just-used", NOW - 5), entry("stale", NOW - DAY, ("fresh-blob",))]
    blobs = {"fresh-blob": (100, NOW - 5), "orphan-old": (7, NOW - DAY), "orphan-new": (7, NOW - 1)}
    plan = plan_gc(entries, blobs, [], 1000, Policy(now=NOW, max_size=0, grace_s=60))
    assert [r.name for r in plan.of_kind("entry")] == ["stale"]
    assert [r.name for r in plan.of_kind("blob")] == ["orphan-old"]
    assert plan.kept == {"recent": 1}


def test_older_than_removes_unused_entries_without_a_budget() -> None:
    entries = [entry("week", NOW - 8 * DAY), entry("today", NOW - 3600)]
    plan = plan_gc(entries, {}, [], 100, Policy(now=NOW, older_than=7 * DAY))
    assert [(r.name, r.reason) for r in plan.of_kind("entry")] == [("week", "older-than")]


def test_run_folders_keep_the_newest_n_per_notebook_and_protected_ones() -> None:
    runs = [RunFolder(f"a{i}", "a", NOW - (10 - i) * DAY, 5) for i in range(5)]
    runs += [
        RunFolder("b0", "b", NOW - 20 * DAY, 5),
        RunFolder("a-cert", "a", NOW - 30 * DAY, 5, "certificate"),
    ]
    plan = plan_gc([], {}, runs, 100, Policy(now=NOW, keep_runs=2))
    assert [r.name for r in plan.of_kind("run")] == ["a0", "a1", "a2"]
    aged = plan_gc([], {}, runs, 100, Policy(now=NOW, keep_runs=2, older_than=8.5 * DAY))
    assert [r.name for r in aged.of_kind("run")] == ["a0", "a1"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10 * 86400),
            st.sets(st.sampled_from("abcdef"), max_size=3),
            st.sampled_from([None, None, "latest-run", "running"]),
        ),
        max_size=8,
    ),
    st.integers(0, 3000),
)
def test_the_plan_never_removes_what_must_stay(specs: list[Any], budget: int) -> None:
    entries = [
        entry(f"k{i}", NOW - age, tuple(blobs), protected=p) for i, (age, blobs, p) in enumerate(specs)
    ]
    blobs = dict.fromkeys("abcdefg", (100, 0.0))
    plan = plan_gc(entries, blobs, [], 5000, Policy(now=NOW, max_size=budget, grace_s=3600))
    removed = {r.name for r in plan.of_kind("entry")}
    kept = [e for e in entries if e.key not in removed]
    assert all(e.protected is None and NOW - e.last_used >= 3600 for e in entries if e.key in removed)
    assert not {b for e in kept for b in e.blobs} & {r.name for r in plan.of_kind("blob")}
    assert "g" in {r.name for r in plan.of_kind("blob")}  # an orphan is always collected
    # removal stops once the budget is met: without the last removed entry the home was still too big
    if removed and budget is not None:
        assert plan.size_after + min(e.file_size for e in entries if e.key in removed) > budget or plan.fits


# ------------------------------------------------------------------------------------ the command

PIPELINE = [
    ("n = 1", ["parameters"]),
    ('payload = "x" * 20000 * n', ["step:make"]),
    ('constant = "c" * 5000', ["step:const"]),
    ("size = len(payload)\nprint(size)", ["step:measure"]),
]


@pytest.fixture
def gc_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Any]:
    """Run ``jupyter repro gc`` in process through the real CLI entry point (gc added to its table)."""
    monkeypatch.setitem(cli.SUBCOMMANDS, "gc", gc_command.HELP)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(["gc", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def run(nb: Path, **parameters: Any) -> RunOutcome:
    outcome = run_pipeline(nb, RunOptions(home=str(nb.parent / ".repro"), parameters=parameters))
    assert outcome.failure is None
    return outcome


def keys(outcome: RunOutcome) -> dict[str, str]:
    return {step.key: step.step.name for step in outcome.steps}


def listing(home: Path) -> dict[str, int]:
    return {
        str(p.relative_to(home)): p.stat().st_size
        for p in home.rglob("*")
        if p.is_file() and p.suffix != ".db-shm"
    }


def ledger_keys(home: Path) -> set[str]:
    with sqlite3.connect(home / "ledger.db") as db:
        return {row[0] for row in db.execute("SELECT key FROM cache_entries")}


def test_bad_sizes_and_ages_are_one_line_errors_with_exit_2(
    gc_cli: Callable[..., Any], tmp_path: Path
) -> None:
    for option, value in (("--max-size", "12XB"), ("--older-than", "soon"), ("--keep-runs", "-1")):
        code, out, err = gc_cli(option, value, "--home", str(tmp_path / "home"))
        assert code == 2, (option, err)
        assert out == ""
        assert len(err.strip().splitlines()) == 1
        assert option in err


def test_an_empty_home_has_nothing_to_remove(gc_cli: Callable[..., Any], tmp_path: Path) -> None:
    code, out, _ = gc_cli("--home", str(tmp_path / "home"), "--max-size", "1KB")
    assert code == 0
    assert "nothing to remove" in out


@pytest.mark.kernel
def test_gc_under_a_budget_removes_lru_entries_keeps_the_latest_run_and_rerun_recomputes_them(
    make_notebook: Callable[..., Path], gc_cli: Callable[..., Any]
) -> None:
    nb = make_notebook(PIPELINE)
    home = nb.parent / ".repro"
    first = run(nb, n=1)
    second = run(nb, n=2)
    only_first = set(keys(first)) - set(keys(second))
    assert only_first, "the parameter should change some step's key"

    before = listing(home)
    code, out, _ = gc_cli("--home", str(home), "--max-size", "1KB", "--grace", "0s", "--dry-run", "--json")
    assert code == 0
    document = json.loads(out)
    assert set(document) >= {
        "home",
        "dry_run",
        "size_before",
        "size_after",
        "max_size",
        "freed",
        "removed",
        "kept",
    }
    assert document["dry_run"] is True
    assert document["max_size"] == 1000
    assert {r["name"] for r in document["removed"] if r["kind"] == "entry"} == only_first
    assert all(set(r) == {"kind", "name", "bytes", "reason"} for r in document["removed"])
    assert document["freed"] == sum(r["bytes"] for r in document["removed"]) > 0
    assert set(before) - set(listing(home)) == set(), "--dry-run must delete nothing"

    code, out, _ = gc_cli("--home", str(home), "--max-size", "1KB", "--grace", "0s", "--json")
    done = json.loads(out)
    removed = {r["name"] for r in done["removed"] if r["kind"] == "entry"}
    assert removed == only_first
    assert done["fits"] is False
    assert done["kept"]["latest-run"] == len(keys(second))
    assert ledger_keys(home) == set(keys(second))
    assert done["size_after"] < done["size_before"]
    # every blob a remaining entry needs is still there: the latest run replays entirely from the cache
    again = run(nb, n=2)
    assert {s.status for s in again.steps} == {"cached"}

    rerun = run(nb, n=1)
    recomputed = {s.step.name for s in rerun.steps if s.status == "executed"}
    assert recomputed == {keys(first)[key] for key in only_first}
    assert {s.step.name for s in rerun.steps if s.status == "cached"} == set(
        keys(first).values()
    ) - recomputed

    code, out, _ = gc_cli("--home", str(home))
    assert code == 0
    assert "freed" in out


@pytest.mark.kernel
def test_the_certificates_run_folder_and_a_running_notebooks_entries_are_kept(
    make_notebook: Callable[..., Path], gc_cli: Callable[..., Any]
) -> None:
    nb = make_notebook(PIPELINE)
    home = nb.parent / ".repro"
    certified = run(nb, n=1)
    latest = run(nb, n=2)
    data = json.loads(nb.read_text(encoding="utf-8"))
    data["metadata"]["jupyter_repro"] = {
        "certificate": {"verdict": "reproducible", "run_id": certified.run_id}
    }
    nb.write_text(json.dumps(data), encoding="utf-8")

    code, out, _ = gc_cli(
        "--home", str(home), "--keep-runs", "0", "--grace", "0s", "--max-size", "1", "--json"
    )
    assert code == 0
    document = json.loads(out)
    assert {r["name"] for r in document["removed"] if r["kind"] == "run"} == {latest.run_id}
    assert (home / "runs" / certified.run_id).is_dir()
    assert not (home / "runs" / latest.run_id).exists()
    assert not [r for r in document["removed"] if r["kind"] == "entry"]  # both runs' entries are needed
    assert ledger_keys(home) == set(keys(certified)) | set(keys(latest))

    # a run of the notebook going on: none of its entries may disappear under it
    data["metadata"] = {}
    nb.write_text(json.dumps(data), encoding="utf-8")
    from jupyter_repro.ledger import Ledger

    with Ledger.open(home) as ledger:
        ledger.start_run(
            "run",
            nb.resolve(),
            parameters={},
            seed=0,
            environment_hash=latest.environment_hash,
            notebook_hash="blake3:going-on",
        )
    _code, out, _ = gc_cli(
        "--home", str(home), "--keep-runs", "0", "--grace", "0s", "--max-size", "1", "--json"
    )
    document = json.loads(out)
    assert not [r for r in document["removed"] if r["kind"] == "entry"]
    assert document["kept"].get("running", 0) == len(set(keys(certified)) - set(keys(latest)))


@pytest.mark.kernel
def test_an_automatic_budget_collects_after_a_run_and_keeps_what_it_needs(
    make_notebook: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = make_notebook(PIPELINE)
    home = nb.parent / ".repro"
    first = run(nb, n=1)
    monkeypatch.setenv("JUPYTER_REPRO_AUTO_GC", "1KB")
    monkeypatch.setenv("JUPYTER_REPRO_GC_GRACE", "0s")
    second = run(nb, n=2)  # over the budget afterwards: the older run's own entries go
    remaining = ledger_keys(home)
    assert set(keys(second)) <= remaining
    assert not (set(keys(first)) - set(keys(second))) & remaining
    replay = run(nb, n=2)
    assert {step.status for step in replay.steps} == {"cached"}


def test_a_file_with_two_names_counts_once_and_is_not_freed_by_removing_one(tmp_path: Path) -> None:
    from jupyter_repro.storage import tree_size

    blob = tmp_path / "cache" / "blob"
    blob.parent.mkdir()
    blob.write_bytes(b"x" * 1000)
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "input").hardlink_to(blob)  # a run's input, as the runner links it
    (run / "kernel.log").write_bytes(b"y" * 10)
    assert tree_size(tmp_path) == 1010  # the home holds 1,010 bytes, not 2,010
    assert tree_size(run) == 1010
    assert tree_size(run, linked=False) == 10  # removing the run frees only its own file
