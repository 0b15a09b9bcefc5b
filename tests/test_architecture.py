"""The layering of docs/architecture.md, checked: the pure core imports no adapter and no I/O library.

Dependencies point from the edges (CLI, server, report) to the adapters (ledger, cache, runner, env)
to the pure core (tags, data flow, plan, compare, results, causes). A core module that imported an
adapter would make the rules it holds reachable only through kernels and files again.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_repro"

CORE = (
    "tags",
    "source",
    "dataflow",
    "graph",
    "model",
    "pipeline",
    "plan",
    "compare",
    "results",
    "causes",
    "cell_causes",
    "randomness",
    "lanes",
    "evidence",
    "gc_plan",
    "records",
    "layout",
    "params",
    "hashing",
    "errors",
    "fix_plan",
    "fix_edits",
    "fix_reorder",
)
"""The pure core: modules (or packages) named relative to ``jupyter_repro``."""

IO_LIBRARIES = frozenset(
    {
        "sqlite3",
        "sqlite_utils",
        "subprocess",
        "socket",
        "shutil",
        "tempfile",
        "papermill",
        "nbclient",
        "jupyter_client",
        "jupyter_server",
        "tornado",
        "fsspec",
    }
)


def core_files() -> list[Path]:
    files = []
    for name in CORE:
        module, package = PACKAGE / f"{name}.py", PACKAGE / name
        files.extend([module] if module.exists() else sorted(package.glob("*.py")))
    return files


def imported_modules(path: Path) -> set[str]:
    """Every module the file imports at run time (imports only for type checking are left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_core_module_imports_only_the_core_and_no_io_library(path: Path) -> None:
    for module in imported_modules(path):
        top, _, rest = module.partition(".")
        assert top not in IO_LIBRARIES, f"{path.name} imports {module}"
        if top == "jupyter_repro" and rest:
            assert rest.split(".")[0] in CORE, f"{path.name} imports the adapter or edge {module}"


def test_every_source_file_stays_under_800_lines() -> None:
    long = [
        f"{path.relative_to(PACKAGE)} ({n} lines)"
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 800
    ]
    assert not long
