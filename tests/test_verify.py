"""Verify reproducible, end to end: golden notebooks executed as a user would, then verified headlessly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_repro.runner import RunOptions
from jupyter_repro.verify import Verification, VerifyOptions, verify_notebook

pytestmark = pytest.mark.kernel


def execute_and_save(path: Path) -> None:
    """What a user does before sharing: run all cells top to bottom in a kernel, save."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(notebook, path)


def verify(path: Path, **options: Any) -> Verification:
    run_options = RunOptions(
        home=str(path.parent / ".repro"),
        **{k: options.pop(k) for k in list(options) if k in ("no_cache", "parameters", "capture_lock")},
    )
    return verify_notebook(path, VerifyOptions(run=run_options, **options))


def cells(verification: Verification) -> dict[int, str]:
    return {cell["index"]: cell["status"] for cell in verification.result.to_json()["cells"]}


def causes(verification: Verification) -> list[dict[str, Any]]:
    """The causes as ``verify --json`` shows them."""
    return verification.result.to_json()["causes"]


def cause_kinds(verification: Verification) -> list[str]:
    return [cause["kind"] for cause in causes(verification)]


VOLATILE_BUT_DETERMINISTIC = [
    ("class Model:\n    pass\n\nModel()", ["step:reprs"]),  # <__main__.Model at 0x7f...>
    ("import datetime\nprint('generated at', datetime.datetime.now())", ["step:clock"]),
    (
        "import sys, time\nfor i in range(5):\n    sys.stdout.write(f'\\rprogress {i * 25}%')\n"
        "    sys.stdout.flush()\n    time.sleep(0.01)\nprint('\\rdone          ')",
        ["step:progress"],
    ),
    (
        "import warnings\nwarnings.warn('Series.dt.weekofyear is deprecated', FutureWarning)\nprint('ok')",
        ["step:warning"],
    ),
    ("print({'b': 2, 'a': 1})\nprint(0.1 + 0.2)", ["step:values"]),
    ("x = sum(range(10))\nx", ["step:result"]),
]


def test_volatile_but_deterministic_outputs_are_reproducible(make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook(VOLATILE_BUT_DETERMINISTIC)
    execute_and_save(nb)
    saved = nb.read_bytes()
    verification = verify(nb)
    assert verification.verdict == "reproducible", verification.result.to_json()["cells"]
    assert set(cells(verification).values()) == {"match"}
    assert verification.exit_code == 0
    assert nb.read_bytes() == saved  # verify never writes the notebook unless --stamp


def test_unseeded_randomness_diverges_and_runs_2_flags_it(make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook(
        [
            ("%load_ext jupyter_repro", ["setup"]),  # seeds the interactive kernel as verify seeds its own
            ("import random\nprint(random.random())", ["step:seeded"]),
            ("import os\nprint(os.urandom(8).hex())", ["step:unseeded"]),  # no seed can fix this one
        ]
    )
    execute_and_save(nb)
    verification = verify(nb, runs=2)
    assert verification.verdict == "diverged"
    assert cells(verification) == {0: "match", 1: "match", 2: "differ"}
    nondeterminism = [c for c in causes(verification) if c["kind"] == "nondeterminism"]
    assert [c["cell"] for c in nondeterminism] == [2]
    assert nondeterminism[0]["step"] == "unseeded"
    assert verification.result.to_json()["runs"] == 2


def test_a_step_after_a_cached_one_draws_what_a_full_run_draws(make_notebook: Callable[..., Path]) -> None:
    """Step b uses the global generators after step a did; when a is replayed from the cache, b must
    start from the state a ended with, or a reproducible notebook would be reported as diverged."""
    nb = make_notebook(
        [
            ("%load_ext jupyter_repro", ["setup"]),
            ("import random\nimport numpy as np\nprint(random.random(), np.random.rand())", ["step:a"]),
            ("print(random.random(), np.random.rand())", ["step:b"]),
        ]
    )
    execute_and_save(nb)
    assert verify(nb).verdict == "reproducible"
    data = json.loads(nb.read_text(encoding="utf-8"))
    data["cells"][2]["source"] = "draws = (random.random(), np.random.rand())\nprint(*draws)"  # same output
    nb.write_text(json.dumps(data), encoding="utf-8")
    verification = verify(nb)
    assert {s.step.name: s.status for s in verification.outcome.steps} == {"a": "cached", "b": "executed"}
    assert verification.verdict == "reproducible", verification.result.to_json()["cells"]


def test_cell_edited_after_execution_is_a_code_change(make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook([("total = 2 + 2\nprint(total)", ["step:sum"]), ("print(total * 10)", ["step:scale"])])
    execute_and_save(nb)
    assert verify(nb).verdict == "reproducible"
    data = json.loads(nb.read_text(encoding="utf-8"))
    data["cells"][0]["source"] = "total = 2 + 3\nprint(total)"  # edited, never re-executed
    nb.write_text(json.dumps(data), encoding="utf-8")
    verification = verify(nb)
    assert verification.verdict == "diverged"
    assert cells(verification) == {0: "differ", 1: "differ"}
    code = [c for c in causes(verification) if c["kind"] == "code"]
    assert [(c["cell"], c["step"]) for c in code] == [(0, "sum"), (1, "scale")]
    assert "step 'sum' code changed" in code[0]["detail"]
    assert "depends on step 'sum', whose code changed" in code[1]["detail"]  # downstream of the edit


def test_out_of_order_hidden_state_fails_with_the_reason(make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook([("print(threshold * 2)", ["step:use"]), ("threshold = 21", ["step:define"])])
    # the saved outputs came from running cell 1 before cell 0, interactively
    notebook = nbformat.read(nb, as_version=4)
    client = NotebookClient(notebook, resources={"metadata": {"path": str(nb.parent)}})
    with client.setup_kernel():
        client.execute_cell(notebook.cells[1], 1)
        client.execute_cell(notebook.cells[0], 0)
    nbformat.write(notebook, nb)
    verification = verify(nb)
    assert verification.verdict == "failed"
    assert cells(verification)[0] == "error"
    hidden = [c for c in causes(verification) if c["kind"] == "hidden-state"]
    assert hidden
    assert "threshold" in hidden[0]["detail"]
    assert "cell 1" in hidden[0]["detail"]
    assert "error" in cause_kinds(verification)


def test_data_drift_between_two_verifications_names_the_file(
    tmp_path: Path, make_notebook: Callable[..., Path]
) -> None:
    (tmp_path / "prices.csv").write_text("item,price\napple,3\npear,4\n", encoding="utf-8")
    nb = make_notebook(
        [
            ("rows = open('prices.csv').read().splitlines()[1:]", ["step:load"]),
            ("print(sum(int(r.split(',')[1]) for r in rows))", ["step:total"]),
        ]
    )
    execute_and_save(nb)
    assert verify(nb).verdict == "reproducible"
    (tmp_path / "prices.csv").write_text("item,price\napple,3\npear,5\n", encoding="utf-8")
    verification = verify(nb)
    assert verification.verdict == "diverged"
    data = [c for c in causes(verification) if c["kind"] == "data"]
    assert len(data) == 1
    assert str(tmp_path / "prices.csv") in data[0]["detail"]
    assert data[0]["step"] == "load"
    page = (verification.outcome.run_dir / "report.html").read_text(encoding="utf-8")
    assert "Changes since run" in page
    assert "prices.csv" in page


def test_a_raising_cell_fails_the_verification(make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook([("x = 1\nprint(x)", ["step:a"]), ("print(x)", ["step:b"])])
    execute_and_save(nb)
    data = json.loads(nb.read_text(encoding="utf-8"))
    data["cells"][1]["source"] = "print(x)\nraise RuntimeError('disk full')"
    nb.write_text(json.dumps(data), encoding="utf-8")
    verification = verify(nb)
    assert verification.verdict == "failed"
    assert verification.exit_code == 1
    assert cells(verification)[1] == "error"
    errors = [c for c in causes(verification) if c["kind"] == "error"]
    assert errors[0]["step"] == "b"
    assert "RuntimeError: disk full" in errors[0]["detail"]


def test_never_executed_notebook_cannot_be_called_reproducible(make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook([("print('hello')", ["step:a"])])
    verification = verify(nb)
    assert cells(verification) == {0: "unverified"}
    assert verification.verdict == "failed"
    assert "none of the 1 code cells has saved outputs" in causes(verification)[-1]["detail"]
    assert "execute the notebook top to bottom" in causes(verification)[-1]["hint"]


def test_stamp_report_and_ledger(tmp_path: Path, make_notebook: Callable[..., Path]) -> None:
    nb = make_notebook([("print(6 * 7)", ["step:answer"])])
    execute_and_save(nb)
    before = json.loads(nb.read_text(encoding="utf-8"))
    report = tmp_path / "out" / "verify.html"
    verification = verify(nb, stamp=True, report=str(report))
    assert verification.verdict == "reproducible"
    after = json.loads(nb.read_text(encoding="utf-8"))
    certificate = after["metadata"]["jupyter_repro"]["certificate"]
    assert certificate["verdict"] == "reproducible"
    assert certificate["run_id"] == verification.outcome.run_id
    assert certificate["notebook_hash"].startswith(("blake3:", "sha256:"))
    assert after["cells"] == before["cells"]  # nothing but the certificate changed
    page = report.read_text(encoding="utf-8")
    assert "reproducible" in page
    assert verification.outcome.run_id in page
    assert (verification.outcome.run_dir / "report.html").exists()

    from jupyter_repro.ledger import Ledger

    with Ledger.open(nb.parent / ".repro") as ledger:
        run = ledger.get_run(verification.outcome.run_id)
        assert run.kind == "verify"
        assert run.verdict == "reproducible"
        assert [c.status for c in ledger.cell_comparisons(run.run_id)] == ["match"]


def test_isolated_environment_reproduces_and_changes_are_attributed(
    make_notebook: Callable[..., Path],
) -> None:
    nb = make_notebook(
        [
            ("import json\nprint(json.dumps({'ok': True}))", ["step:stdlib"]),
            ("import importlib.util\nprint(importlib.util.find_spec('pandas') is not None)", ["step:probe"]),
        ]
    )
    execute_and_save(nb)
    assert verify(nb).verdict == "reproducible"
    verification = verify(nb, isolated=True)
    isolated = verification.result.to_json()["isolated"]
    assert isolated["build_s"] > 0
    assert not Path(isolated["python"]).exists()  # the temporary environment is cleaned up
    # pandas is installed here but not in an environment built from this notebook's lock
    assert cells(verification) == {0: "match", 1: "differ"}
    assert verification.verdict == "diverged"
    environment = [c for c in causes(verification) if c["kind"] == "environment"]
    assert environment
    removed = {c["name"] for c in environment[0]["changes"] if c["after"] is None}
    assert "pandas" in removed


def test_cli_verify_json_and_exit_codes(
    make_notebook: Callable[..., Path], run_cli: Callable[..., Any]
) -> None:
    nb = make_notebook([("print('stable')", ["step:a"])])
    execute_and_save(nb)
    result = run_cli("verify", str(nb), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "verify"
    assert data["verdict"] == "reproducible"
    assert data["cells"] == [
        {"index": 0, "status": "match", "diff": None, "step": "a", "reason": data["cells"][0]["reason"]}
    ]
    notebook = json.loads(nb.read_text(encoding="utf-8"))
    notebook["cells"][0]["source"] = "print('changed')"
    nb.write_text(json.dumps(notebook), encoding="utf-8")
    diverged = run_cli("verify", str(nb))
    assert diverged.returncode == 1
    assert "DIVERGED" in diverged.stdout
    missing = run_cli("verify", str(nb.parent / "missing.ipynb"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
