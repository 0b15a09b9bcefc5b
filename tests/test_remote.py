"""A team's cache through a remote store, against a real S3 server on loopback (moto's server mode) and a
shared folder (``file://``): two checkouts at different paths, real kernels.

moto is the only stand-in: it is a real HTTP server speaking the S3 protocol, started on 127.0.0.1 by
the fixture and stopped after, because no S3 service is reachable from the test machine.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook

from jupyter_repro.cache import ArtifactStore
from jupyter_repro.remote import KEY_ENV, RemoteConfig, RemoteStore
from jupyter_repro.runner import RunOptions, RunOutcome, run_pipeline

pytestmark = pytest.mark.kernel

TEAM_KEY = "team-secret-4f1c0d2a"
CELLS = [
    ("values = [int(v) for v in open('data/values.txt').read().split()]", ["step:load"]),
    ("doubled = [v * 2 for v in values]\nprint(doubled)", ["step:double"]),
    ("total = sum(doubled)\nprint('total', total)", ["step:total"]),
    ("label = 'independent'\nprint(label)", ["step:other"]),
]
STEPS = ("load", "double", "total", "other")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """A real S3 endpoint on loopback with one bucket; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["file", "s3"])
def remote_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, TEAM_KEY)
    if request.param == "file":
        return f"file://{tmp_path / 'shared-cache'}"
    endpoint = request.getfixturevalue("s3_server")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    import boto3

    bucket = f"team-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/projects/demo"


def checkout(folder: Path) -> Path:
    """A clone of the project: the notebook and its data, at its own path, with its own repro home."""
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "values.txt").write_text("1 2 3\n", encoding="utf-8")
    path = folder / "pipeline.ipynb"
    path.write_text(json.dumps(build_notebook(CELLS)), encoding="utf-8")
    return path


def run(path: Path, url: str, **remote: Any) -> RunOutcome:
    config = RemoteConfig.resolve(url, read_only=remote.pop("read_only", False))
    return run_pipeline(path, RunOptions(home=str(path.parent / ".repro"), remote=config))


def origins(outcome: RunOutcome) -> dict[str, str]:
    return {
        step.step.name: step.status + ("/" + step.origin if step.origin else "") for step in outcome.steps
    }


def test_a_colleague_at_another_path_replays_every_step_from_the_remote(
    tmp_path: Path, remote_url: str
) -> None:
    first = run(checkout(tmp_path / "alice"), remote_url)
    assert set(origins(first).values()) == {"executed"}
    second = run(checkout(tmp_path / "bob" / "work"), remote_url)
    assert origins(second) == dict.fromkeys(STEPS, "cached/remote")
    assert [s.to_json()["from"] for s in second.result.steps] == ["remote"] * 4
    assert "".join(o.get("text", "") for o in second.outputs[2]) == "total 12\n"
    assert "kernel.log" not in {p.name for p in second.run_dir.iterdir()}  # no kernel was started
    third = run(second.run_dir.parent.parent.parent / "pipeline.ipynb", remote_url)
    assert origins(third) == dict.fromkeys(STEPS, "cached/local")
    records = RemoteStore(RemoteConfig.resolve(remote_url)).runs()  # type: ignore[arg-type]
    assert {record["run"]["run_id"] for record in records} >= {first.run_id, second.run_id}


def test_a_tampered_blob_makes_exactly_its_step_recompute(tmp_path: Path, remote_url: str) -> None:
    run(checkout(tmp_path / "alice"), remote_url)
    remote = RemoteStore(RemoteConfig.resolve(remote_url))  # type: ignore[arg-type]
    documents = [
        json.loads(remote.fs.cat_file(name))
        for key in remote.entry_keys()
        for name in remote.fs.ls(remote._entries(key), detail=False)
    ]
    double = next(d["entry"] for d in documents if d["entry"]["step"] == "double")
    blob = double["variables"]["doubled"]["blob"]
    remote.fs.pipe_file(remote._blob(blob), b"not the list it was")  # damaged in storage
    bob = run(checkout(tmp_path / "bob"), remote_url)
    # the damaged step runs again; 'total' reads its result, known only once it ran, so it runs with
    # it (as after any re-executed step); the steps that do not need it replay from the remote
    assert origins(bob) == {
        "load": "cached/remote",
        "double": "executed",
        "total": "executed",
        "other": "cached/remote",
    }
    assert "".join(o.get("text", "") for o in bob.outputs[2]) == "total 12\n"


def test_pickled_results_from_an_unsigned_remote_are_recomputed_and_say_why(
    tmp_path: Path, remote_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    run(checkout(tmp_path / "alice"), remote_url)
    bob = run(checkout(tmp_path / "bob"), remote_url)
    assert set(origins(bob).values()) == {"executed"}
    assert "not signed with the team key" in (bob.steps[0].reason or "")  # the steps after it run anyway
    assert "not signed with the team key" in (bob.steps[3].reason or "")  # independent: looked up too


def test_a_read_only_checkout_reads_but_never_writes(tmp_path: Path, remote_url: str) -> None:
    laptop = run(checkout(tmp_path / "laptop"), remote_url, read_only=True)
    assert set(origins(laptop).values()) == {"executed"}
    remote = RemoteStore(RemoteConfig.resolve(remote_url))  # type: ignore[arg-type]
    assert remote.entry_keys() == []
    assert remote.runs() == []


def test_the_team_key_and_credentials_are_never_recorded(tmp_path: Path, remote_url: str) -> None:
    outcome = run(checkout(tmp_path / "alice"), remote_url)
    home = outcome.home
    for path in [*home.rglob("*.json"), *home.rglob("*.db"), *home.rglob("*.log")]:
        data = path.read_bytes()
        assert TEAM_KEY.encode() not in data, path
        assert b"testing-secret" not in data, path


def _push(url: str, home: str, key: str, barrier: Any, results: Any) -> None:
    import os

    os.environ[KEY_ENV] = TEAM_KEY
    store = ArtifactStore(home)
    entry = store.load_entry(key)
    assert entry is not None
    remote = RemoteStore(RemoteConfig.resolve(url))  # type: ignore[arg-type]
    barrier.wait()
    try:
        remote.push_entry(entry, store)
        results.put("ok")
    except Exception as error:  # reported to the parent
        results.put(f"{type(error).__name__}: {error}")


def test_two_processes_pushing_the_same_entry_at_once_both_succeed(tmp_path: Path, remote_url: str) -> None:
    local = run(checkout(tmp_path / "alice"), "file://" + str(tmp_path / "elsewhere"))
    key = local.steps[1].key
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_push, args=(remote_url, str(local.home), key, barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert sorted(results.get(timeout=5) for _ in workers) == ["ok", "ok"]
    remote = RemoteStore(RemoteConfig.resolve(remote_url))  # type: ignore[arg-type]
    names = remote.fs.ls(remote._entries(key), detail=False)
    assert len(names) == 1  # one result, written once, whole
    assert json.loads(remote.fs.cat_file(names[0]))["entry"]["key"] == key


def test_a_checkout_without_the_remote_still_runs_alone(tmp_path: Path) -> None:
    path = checkout(tmp_path / "solo")
    outcome = run_pipeline(path, RunOptions(home=str(path.parent / ".repro")))
    assert set(origins(outcome).values()) == {"executed"}
    shutil.rmtree(path.parent / ".repro")


def test_the_cli_runs_pulls_pushes_and_lists_the_teams_runs(
    tmp_path: Path, remote_url: str, run_cli: Any
) -> None:
    own_homes = {"JUPYTER_REPRO_HOME": ""}  # each checkout its own .repro/

    def cli(*args: str) -> Any:
        result = run_cli(*args, env=own_homes)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if "--json" in args else result.stdout

    alice, bob = checkout(tmp_path / "alice"), checkout(tmp_path / "bob")
    first = cli("run", str(alice), "--remote", remote_url, "--json")
    assert {step["status"] for step in first["steps"]} == {"executed"}
    assert cli("pull", str(bob), "--remote", remote_url, "--json") == {"entries": 4, "skipped": []}
    replay = cli("run", str(bob), "--json")  # no remote: the pulled entries are local now
    assert [(step["status"], step["from"]) for step in replay["steps"]] == [("cached", "local")] * 4
    listed = cli("log", str(bob), "--remote", remote_url, "--json")["runs"]
    assert [run["imported_from"] for run in listed if run["run_id"] == first["run_id"]] == [remote_url]
    assert "imported 0 run(s)" in cli("log", str(bob), "--remote", remote_url)  # idempotent
    other = remote_url.rstrip("/") + "-copy"
    pushed = cli("push", str(alice), "--remote", other, "--json")
    assert pushed == {"entries": 4, "runs": 1}
    assert cli("push", str(alice), "--remote", other, "--json") == {"entries": 0, "runs": 0}


def test_a_remote_that_cannot_be_used_is_one_line_and_exit_2(tmp_path: Path, run_cli: Any) -> None:
    result = run_cli("pull", str(checkout(tmp_path / "p")), env={"JUPYTER_REPRO_REMOTE": ""})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no remote given" in result.stderr
    bad = run_cli("run", str(tmp_path / "p" / "pipeline.ipynb"), "--remote", "nosuchproto://x/y")
    assert bad.returncode == 2
    assert "cannot open the remote" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_two_results_for_one_key_on_the_remote_are_named_as_nondeterminism(
    tmp_path: Path, remote_url: str
) -> None:
    from jupyter_repro.verify import VerifyOptions, verify_notebook

    path = tmp_path / "clock" / "clock.ipynb"
    path.parent.mkdir()
    saved = {"output_type": "stream", "name": "stdout", "text": "0\n"}
    cell = {"cell_type": "code", "source": "import time\nprint(time.time_ns() % 1000003)", "outputs": [saved]}
    path.write_text(json.dumps(build_notebook([{**cell, "execution_count": 1}])), encoding="utf-8")
    config = RemoteConfig.resolve(remote_url)
    home = str(path.parent / ".repro")
    for _ in range(2):  # two runs of the same inputs upload two different results
        run_pipeline(path, RunOptions(home=home, remote=config, no_cache=True))
    remote = RemoteStore(config)  # type: ignore[arg-type]
    again = run_pipeline(path, RunOptions(home=home, remote=config, no_cache=True))
    assert remote.result_count(again.steps[0].key) >= 2
    verification = verify_notebook(path, VerifyOptions(run=RunOptions(home=home, remote=config)))
    kinds = {(cause.kind, cause.cell) for cause in verification.causes}
    assert ("nondeterminism", 0) in kinds
    assert any("different results" in cause.detail for cause in verification.causes)
