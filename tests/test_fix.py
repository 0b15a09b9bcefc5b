"""One-click fixes on real kernels: each kind is listed from a real verification, applied, and the
notebook then verifies as reproducible for the cause it addressed.

Listing never writes the notebook; applying backs it up under the repro home and writes it atomically.
The network is a real HTTP server on 127.0.0.1 (the ``vendor-data`` fix downloads from it).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from compare_builders import code, stream
from conftest import build_notebook

from jupyter_repro.fix_edits import apply_edits
from jupyter_repro.fixes import apply_fixes, list_fixes
from jupyter_repro.hashing import hash_bytes
from jupyter_repro.runner import RunOptions
from jupyter_repro.verify import Verification, VerifyOptions, verify_notebook

pytestmark = pytest.mark.kernel


def write(folder: Path, cells: list[Any], metadata: dict[str, Any] | None = None) -> Path:
    path = folder / "notebook.ipynb"
    path.write_text(json.dumps(build_notebook(cells, metadata), indent=1), encoding="utf-8")
    return path


def home_of(path: Path) -> str:
    return str(path.parent / ".repro")


def verify(path: Path) -> Verification:
    return verify_notebook(path, VerifyOptions(run=RunOptions(home=home_of(path))))


def bad(verification: Verification) -> list[Any]:
    document = verification.result.to_json()
    return [c for c in document["cells"] if c["status"] not in ("match", "ignored")] + document["causes"]


def fix_ids(path: Path) -> dict[str, Any]:
    return {fix["id"]: fix for fix in list_fixes(path, home=home_of(path)).to_json()["fixes"]}


UNSEEDED = [
    code("import numpy as np"),
    code("print(np.random.rand(3))", stream("[0.417022   0.72032449 0.00011437]\n"), count=2),
]


# -------------------------------------------------------------------------------------------- seed


def test_seed_outputs_saves_the_seeded_outputs_and_the_notebook_then_reproduces(tmp_path: Path) -> None:
    path = write(tmp_path, UNSEEDED)
    original = path.read_bytes()
    fixes = fix_ids(path)
    assert path.read_bytes() == original  # listing (and the verify it ran) never writes the notebook
    assert {"seed-outputs", "seed-cell"} <= set(fixes)
    assert fixes["seed-outputs"]["cause_kind"] == "nondeterminism"
    assert "-[0.417022   0.72032449 0.00011437]" in fixes["seed-outputs"]["preview"]

    result = apply_fixes(path, "seed-outputs", home=home_of(path)).to_json()
    assert [item["id"] for item in result["applied"]] == ["seed-outputs"]
    assert "saved new outputs in cell 1" in result["applied"][0]["changed"]
    assert Path(result["backup"]).read_bytes() == original
    assert Path(result["backup"]).parent == tmp_path / ".repro" / "backups"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["metadata"]["jupyter_repro"]["seed"] == 0
    verification = verify(path)
    assert verification.verdict == "reproducible", bad(verification)


def test_seed_cell_inserts_a_seed_and_re_executes_so_outputs_match_it(tmp_path: Path) -> None:
    path = write(tmp_path, UNSEEDED)
    first = apply_fixes(path, "seed-cell", home=home_of(path)).to_json()
    edits = first["edits"]
    assert edits[0]["op"] == "insert_cell"
    assert edits[0]["index"] == 1
    assert any(edit["op"] == "set_outputs" and edit["cell"] == 2 for edit in edits)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert "np.random.seed(0)" in "".join(saved["cells"][1]["source"])
    assert "seed" not in saved["metadata"].get("jupyter_repro", {})  # the cell, not the metadata, seeds
    assert not list(tmp_path.glob(".notebook.repro-fix-*"))  # the re-executed copy is gone
    verification = verify(path)
    assert verification.verdict == "reproducible", bad(verification)


# ----------------------------------------------------------------------------------------- reorder


def test_reorder_moves_the_defining_cell_up_and_the_notebook_reproduces(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [code("base = 2"), code("print(limit * base)", stream("10\n"), count=3), code("limit = 5", count=2)],
    )
    fixes = fix_ids(path)
    assert fixes["reorder-1"]["available"], fixes
    assert fixes["reorder-1"]["edits"] == [{"op": "move_cell", "from": 2, "to": 1}]
    apply_fixes(path, "reorder-1", home=home_of(path))
    sources = ["".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    assert sources == ["base = 2", "limit = 5", "print(limit * base)"]
    verification = verify(path)
    assert verification.verdict == "reproducible", bad(verification)


def test_a_reorder_that_would_change_another_cells_inputs_is_refused(
    tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    path = write(
        tmp_path,
        [
            code("base = 1"),
            code("print(limit)", stream("20\n"), count=3),
            code("base = 10"),
            code("limit = base * 2"),
        ],
    )
    fixes = fix_ids(path)
    assert fixes["reorder-1"]["available"] is False
    assert "'base'" in fixes["reorder-1"]["reason"]
    before = path.read_bytes()
    completed = run_cli("fix", str(path), "--apply", "reorder-1", "--home", home_of(path))
    assert completed.returncode == 2
    assert "cannot be applied" in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before


# ----------------------------------------------------------------------------------------------- pin


def test_pin_requirements_writes_the_verified_versions_and_the_outputs_they_make(tmp_path: Path) -> None:
    import pandas

    path = write(tmp_path, [code("import pandas as pd\nprint(pd.__version__)", stream("1.5.3\n"))])
    (tmp_path / "requirements.txt").write_text("pandas==1.5.3\n", encoding="utf-8")
    fixes = fix_ids(path)
    assert fixes["pin-requirements"]["files"] == [{"path": "requirements.txt", "action": "write"}]
    assert "-pandas==1.5.3" in fixes["pin-requirements"]["preview"]
    assert (tmp_path / "requirements.txt").read_text(
        encoding="utf-8"
    ) == "pandas==1.5.3\n"  # listing writes none
    apply_fixes(path, "pin-requirements", home=home_of(path))
    requirements = (tmp_path / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert f"pandas=={pandas.__version__}" in requirements
    (kept,) = (tmp_path / ".repro" / "backups").glob("requirements.*.txt")  # the old file is backed up
    assert kept.read_text(encoding="utf-8") == "pandas==1.5.3\n"
    verification = verify(path)
    assert verification.verdict == "reproducible", bad(verification)


def test_pin_lock_writes_the_lock_into_the_notebook(tmp_path: Path) -> None:
    # the outputs were saved with another Python, and the notebook imports nothing to compile
    path = write(
        tmp_path,
        [code("print(sum([1, 2, 3]))", stream("7\n"))],
        {"language_info": {"name": "python", "version": "3.5.1"}},
    )
    assert "pin-lock" in fix_ids(path)
    result = apply_fixes(path, "pin-lock", home=home_of(path)).to_json()
    assert "set the notebook's metadata 'jupyter_repro'" in result["applied"][0]["changed"]
    lock = json.loads(path.read_text(encoding="utf-8"))["metadata"]["jupyter_repro"]["lock"]
    assert lock["hash"] == hash_bytes(lock["text"].encode("utf-8"))
    assert lock["requirements"] == []
    verification = verify(path)
    assert verification.verdict == "reproducible", bad(verification)


# ------------------------------------------------------------------------------------- ignore-output


def test_ignore_output_tags_a_clock_cell_and_verify_no_longer_compares_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            code("import time\nprint(time.time())", stream("1700000000.5\n")),
            code("print(2)", stream("2\n"), count=2),
        ],
    )
    fixes = fix_ids(path)
    assert list(fixes) == ["ignore-output-0"]
    apply_fixes(path, "ignore-output-0", home=home_of(path))
    assert json.loads(path.read_text(encoding="utf-8"))["cells"][0]["metadata"]["tags"] == ["ignore-output"]
    verification = verify(path)
    assert verification.verdict == "reproducible", bad(verification)
    assert [cell.status for cell in verification.result.cells] == ["ignored", "match"]


# --------------------------------------------------------------------------------------- vendor-data


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Callable[[], None]]]:
    """A real HTTP server on 127.0.0.1 serving a folder: (base URL, folder, stop)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            server.shutdown()
            server.server_close()

    yield f"http://127.0.0.1:{server.server_address[1]}", folder, stop
    stop()


def test_vendor_data_downloads_once_reads_the_local_copy_and_reproduces_offline(
    tmp_path: Path, served: tuple[str, Path, Callable[[], None]]
) -> None:
    base, folder, stop = served
    (folder / "values.csv").write_text("x\n1\n2\n3\n", encoding="utf-8")
    url = f"{base}/values.csv"
    project = tmp_path / "project"
    project.mkdir()
    # saved when the server still had other data
    path = write(
        project, [code(f"import pandas as pd\nprint(pd.read_csv('{url}')['x'].sum())", stream("3\n"))]
    )
    fixes = fix_ids(path)
    fix = fixes["vendor-data-0"]
    assert fix["files"] == [{"path": "data/values.csv", "action": "download", "url": url}]
    assert not (project / "data").exists()  # listing downloads nothing

    result = apply_fixes(path, "vendor-data-0", home=home_of(path)).to_json()
    stop()  # from now on, the notebook must not need the network
    vendored = project / "data" / "values.csv"
    assert vendored.read_text(encoding="utf-8") == "x\n1\n2\n3\n"
    cell = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    assert "'data/values.csv'" in "".join(cell["source"])
    assert url not in "".join(cell["source"])
    recorded = cell["metadata"]["jupyter_repro"]["vendored"]["data/values.csv"]
    assert recorded == {"url": url, "hash": hash_bytes(vendored.read_bytes())}
    assert "".join(cell["outputs"][0]["text"]) == "6\n"  # re-executed against the local copy
    assert result["files"][0]["path"] == "data/values.csv"
    verification = verify(path)
    assert verification.verdict == "reproducible", bad(verification)
    assert verification.result.steps[0].network == ()


def test_edits_only_writes_the_side_files_and_returns_edits_that_fix_the_notebook(
    tmp_path: Path, served: tuple[str, Path, Callable[[], None]]
) -> None:
    base, folder, stop = served
    (folder / "table.csv").write_text("x\n5\n", encoding="utf-8")
    path = write(
        tmp_path,
        [code(f"import pandas as pd\nprint(pd.read_csv('{base}/table.csv')['x'].sum())", stream("4\n"))],
    )
    before = path.read_bytes()
    result = apply_fixes(path, "vendor-data-0", home=home_of(path), target="model").to_json()
    stop()
    assert path.read_bytes() == before  # JupyterLab applies the edits to its model instead
    assert result["backup"] is None
    assert (tmp_path / "data" / "table.csv").exists()
    assert any(edit["op"] == "set_outputs" for edit in result["edits"])
    # what the frontend does with the edits, done here to the file: the notebook then reproduces
    notebook = apply_edits(json.loads(before), result["edits"])
    path.write_text(json.dumps(notebook), encoding="utf-8")
    verification = verify(path)
    assert verification.verdict == "reproducible", bad(verification)


# ------------------------------------------------------------------------------ listing, all, CLI


def test_listing_reuses_the_last_verification_until_the_notebook_changes(tmp_path: Path) -> None:
    path = write(tmp_path, UNSEEDED)
    first = list_fixes(path, home=home_of(path))
    assert first.verified_now
    again = list_fixes(path, home=home_of(path))
    assert not again.verified_now
    assert again.run_id == first.run_id
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook["cells"][1]["source"] = "print(np.random.rand(2))"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    changed = list_fixes(path, home=home_of(path))
    assert changed.verified_now
    assert changed.run_id != first.run_id


def test_apply_all_fixes_hidden_state_clock_and_seed_in_one_go(
    tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    path = write(
        tmp_path,
        [
            code("import numpy as np\nprint(np.random.rand(2))", stream("[0.1 0.2]\n")),
            code("print(limit * 2)", stream("10\n"), count=3),
            code("import time\nprint('now', time.time())", stream("now 1.5\n"), count=4),
            code("limit = 5", count=2),
        ],
    )
    original = path.read_bytes()
    completed = run_cli("fix", str(path), "--apply", "all", "--json", "--home", home_of(path))
    assert completed.returncode == 0, completed.stderr
    applied = [item["id"] for item in json.loads(completed.stdout)["applied"]]
    assert applied == ["reorder-1", "seed-outputs"]  # the clock cell was not executed: it is not known yet
    second = run_cli("fix", str(path), "--apply", "all", "--home", home_of(path))
    assert second.returncode == 0, second.stderr
    assert "ignore-output-3" in second.stdout
    backups = sorted((tmp_path / ".repro" / "backups").iterdir())
    assert len(backups) == 2  # one per apply, the first never overwritten (even within the same second)
    assert original in [backup.read_bytes() for backup in backups]
    verification = verify(path)
    assert verification.verdict == "reproducible", bad(verification)


def test_an_unknown_fix_id_is_one_line_naming_the_notebook_and_the_valid_ids(
    tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    path = write(tmp_path, UNSEEDED)
    before = path.read_bytes()
    completed = run_cli("fix", str(path), "--apply", "seed-everything", "--home", home_of(path))
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert str(path) in lines[0]
    assert "seed-outputs, seed-cell, all" in lines[0]
    assert "Traceback" not in completed.stderr
    assert path.read_bytes() == before
    listing = run_cli("fix", str(path), "--home", home_of(path))
    assert listing.returncode == 0
    assert "seed-outputs cell 1:" in listing.stdout


def test_a_reproducible_notebook_has_nothing_to_fix_and_nothing_is_written(
    tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    path = write(tmp_path, [code("print(6 * 7)", stream("42\n"))])
    before = path.read_bytes()
    listing = list_fixes(path, home=home_of(path))
    assert listing.verdict == "reproducible"
    assert listing.fixes == ()
    everything = run_cli("fix", str(path), "--apply", "all", "--json", "--home", home_of(path))
    assert everything.returncode == 0, everything.stderr
    assert json.loads(everything.stdout)["applied"] == []
    one = run_cli("fix", str(path), "--apply", "seed-cell", "--home", home_of(path))
    assert one.returncode == 2
    assert "found nothing to fix" in one.stderr
    assert path.read_bytes() == before
    assert not (tmp_path / ".repro" / "backups").exists()
