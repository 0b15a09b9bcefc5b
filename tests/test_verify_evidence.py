"""Evidence that travels inside the notebook: an author stamps, a recipient with only the ``.ipynb`` and
its data verifies in another folder, without the author's ledger (real kernels)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import build_notebook
from test_verify import causes, execute_and_save, verify

from jupyter_repro.hashing import source_hash

pytestmark = pytest.mark.kernel

CELLS = [
    ("import nbformat\nrows = open('data/values.csv').read().split()", ["step:load"]),
    ("print('total', sum(int(v) for v in rows))", ["step:total"]),
    ("print('nbformat', nbformat.__name__)", ["step:report"]),
]


def author(folder: Path) -> Path:
    """The author's project: data, the notebook run top to bottom, saved, then verified and stamped."""
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "values.csv").write_text("1 2 3\n", encoding="utf-8")
    path = folder / "analysis.ipynb"
    path.write_text(json.dumps(build_notebook(CELLS)), encoding="utf-8")
    execute_and_save(path)
    assert verify(path, stamp=True).verdict == "reproducible"
    return path


def recipient(notebook: Path, folder: Path) -> Path:
    """What a colleague receives: the notebook and its data, nothing else (no .repro/)."""
    (folder / "data").mkdir(parents=True)
    shutil.copy(notebook.parent / "data" / "values.csv", folder / "data" / "values.csv")
    shutil.copy(notebook, folder / notebook.name)
    return folder / notebook.name


def certificate(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))["metadata"]["jupyter_repro"]["certificate"]


def test_the_certificate_carries_the_evidence_and_a_restamp_of_an_unchanged_notebook_writes_nothing(
    tmp_path: Path,
) -> None:
    path = author(tmp_path / "author")
    evidence = certificate(path)["evidence"]
    assert evidence["python"].count(".") == 2
    assert evidence["platform"]
    assert evidence["seed"] == certificate(path).get("evidence", {}).get("seed")
    assert set(evidence["packages"]) == {"nbformat"}  # what the notebook imports, not the whole venv
    assert evidence["data"] == {"load": {"data/values.csv": evidence["data"]["load"]["data/values.csv"]}}
    assert evidence["cells"] == {str(i): source_hash(source) for i, (source, _) in enumerate(CELLS)}
    assert "lock" not in evidence  # none was compiled
    stamped = path.read_bytes()
    assert verify(path, stamp=True).verdict == "reproducible"
    assert path.read_bytes() == stamped  # an empty git diff


def test_a_recipient_without_the_ledger_is_told_which_data_file_changed(tmp_path: Path) -> None:
    path = recipient(author(tmp_path / "author"), tmp_path / "recipient")
    (path.parent / "data" / "values.csv").write_text("1 2 4\n", encoding="utf-8")
    verification = verify(path)
    assert verification.verdict == "diverged"
    data = [cause for cause in causes(verification) if cause["kind"] == "data"]
    assert [(cause["cell"], cause["path"]) for cause in data] == [(1, "data/values.csv")]
    assert "changed since the notebook was stamped" in data[0]["detail"]


def test_a_cell_edited_after_it_ran_is_a_code_cause_on_that_cell(tmp_path: Path) -> None:
    path = recipient(author(tmp_path / "author"), tmp_path / "recipient")
    notebook = nbformat.read(path, as_version=4)
    ran = notebook.cells[1].source
    notebook.cells[1].metadata["jupyter_repro"] = {"source_sha256": source_hash(ran)}  # as JupyterLab records
    notebook.cells[1].source = ran.replace("'total'", "'sum'")  # edited and saved, not re-run
    nbformat.write(notebook, path)
    verification = verify(path)
    assert verification.verdict == "diverged"
    code = [cause for cause in causes(verification) if cause["kind"] == "code"]
    assert [(cause["cell"], cause["edited_cell"]) for cause in code] == [(1, 1)]
    assert "edited after it ran" in code[0]["detail"]


def test_another_package_version_is_named_with_both_versions(tmp_path: Path) -> None:
    path = recipient(author(tmp_path / "author"), tmp_path / "recipient")
    notebook = nbformat.read(path, as_version=4)
    here = notebook.metadata["jupyter_repro"]["certificate"]["evidence"]["packages"]["nbformat"]
    # the author's machine had another nbformat, which printed another name (imitated by hand)
    notebook.metadata["jupyter_repro"]["certificate"]["evidence"]["packages"]["nbformat"] = "4.4.0"
    notebook.cells[2].outputs[0]["text"] = "nbformat nbformat.v4\n"
    nbformat.write(notebook, path)
    verification = verify(path)
    environment = [cause for cause in causes(verification) if cause["kind"] == "environment"]
    assert [cause["cell"] for cause in environment] == [2, None]  # the bad cell's, and the run's
    assert f"nbformat {here} here, 4.4.0 when saved" in environment[0]["detail"]


def test_with_a_ledger_the_notebooks_evidence_agrees_and_is_not_repeated(tmp_path: Path) -> None:
    path = author(tmp_path / "author")
    (path.parent / "data" / "values.csv").write_text("5 5 5\n", encoding="utf-8")
    verification = verify(path)
    data = [cause for cause in causes(verification) if cause["kind"] == "data" and cause["cell"] == 1]
    assert len(data) == 1  # the ledger's cause; the certificate names the same file
    assert data[0]["path"].endswith("data/values.csv")


def test_isolated_on_the_recipients_machine_rebuilds_the_authors_environment_from_the_notebooks_lock(
    tmp_path: Path,
) -> None:
    authored = author(tmp_path / "author")
    assert verify(authored, stamp=True, capture_lock=True).verdict == "reproducible"  # verify --lock --stamp
    lock = certificate(authored)["evidence"]["lock"]
    assert "--hash=sha256:" in lock["text"]
    assert any(line.startswith("nbformat==") for line in lock["requirements"])
    path = recipient(authored, tmp_path / "recipient")
    verification = verify(path, isolated=True)
    assert verification.result.to_json()["isolated"]["lock_source"] == "notebook"
    assert verification.result.to_json()["isolated"]["lock_hash"] == lock["hash"]
    assert verification.verdict == "reproducible"
