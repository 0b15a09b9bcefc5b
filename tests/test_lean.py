"""Lean imports (_lean.py): blocked extras and deferred modules leave the process as it was.

Each test imports a module of its own, written to ``tmp_path``, so none depends on what other tests
already imported.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_repro._lean import deferred_modules, without_modules


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``extra`` (a module counting its imports) and ``user``, which imports it, on the import path."""
    counting = "import builtins\nbuiltins.extra_imports = getattr(builtins, 'extra_imports', 0) + 1\n"
    (tmp_path / "extra.py").write_text(counting + "VALUE = 42\n")
    (tmp_path / "user.py").write_text("import extra\n\ndef value():\n    return extra.VALUE\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("extra", "user"):
        sys.modules.pop(name, None)
    import builtins

    if hasattr(builtins, "extra_imports"):
        del builtins.extra_imports


def imports_of_extra() -> int:
    import builtins

    return int(getattr(builtins, "extra_imports", 0))


def test_a_deferred_module_is_imported_on_first_use_only(modules: Path) -> None:
    with deferred_modules("extra"):
        user = importlib.import_module("user")
    assert imports_of_extra() == 0  # importing user did not import extra
    assert "extra" not in sys.modules  # outside the block, nobody holds the stand-in
    assert user.value() == 42  # first use imports it
    assert imports_of_extra() == 1
    assert importlib.import_module("extra").VALUE == 42  # and it is the one real module
    assert imports_of_extra() == 1


def test_a_stand_in_used_inside_the_block_imports_the_module(modules: Path) -> None:
    with deferred_modules("extra"):
        user = importlib.import_module("user")
        assert user.value() == 42  # no recursion through the stand-in
    assert imports_of_extra() == 1


def test_blocked_modules_are_importable_again_afterwards(modules: Path) -> None:
    with without_modules("extra"), pytest.raises(ImportError):
        importlib.import_module("user")
    sys.modules.pop("user", None)
    assert importlib.import_module("user").value() == 42


def test_papermill_is_imported_without_its_plugins_and_the_discovery_is_restored(tmp_path: Path) -> None:
    """A papermill engine plugin installed beside papermill is not loaded (the run uses papermill's
    own engine), and afterwards the ``entrypoints`` package finds it again."""
    import subprocess

    dist = tmp_path / "papermill_fake_engine-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: papermill-fake-engine\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[papermill.engine]\nfake = fake_engine_module:Engine\n")
    script = (
        "import sys, entrypoints\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from jupyter_repro._lean import import_papermill\n"
        "import_papermill()\n"
        "from papermill.engines import papermill_engines\n"
        "print(sorted(name for name in papermill_engines._engines if name))\n"
        "print([ep.name for ep in entrypoints.get_group_all('papermill.engine')])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    engines, found_after = done.stdout.splitlines()
    assert engines == "['nbclient']"  # the plugin (whose module does not even exist) was not loaded
    assert found_after == "['fake']"
