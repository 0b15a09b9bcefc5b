"""Environment capture from the kernel's own interpreter, and pip-tools locks (a real pip-compile)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from jupyter_repro.env import (
    CAPTURE_MARKER,
    CAPTURE_SCRIPT,
    EMPTY_LOCK_TEXT,
    KernelInterpreter,
    capture_environment,
    capture_for_notebook,
    kernel_interpreter,
    kernel_substitution,
    lock_environment,
    notebook_kernel_name,
    requirements_for,
    resolve_python,
    stored_lock_path,
)
from jupyter_repro.errors import EnvironmentCaptureError
from jupyter_repro.hashing import hash_bytes
from jupyter_repro.records import EnvironmentSnapshot

# --- a second interpreter with its own packages, reachable only through a kernelspec ---


def _site_packages(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Lib" / "site-packages"
    return venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _fake_distribution(site: Path, name: str, version: str, module: str, *, local: bool = False) -> None:
    """An installed distribution as pip leaves it: a .dist-info folder with METADATA, RECORD, top_level."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{module}\n")
    (info / "RECORD").write_text(f"{module}/__init__.py,,\n{info.name}/METADATA,,\n")
    if local:
        (info / "direct_url.json").write_text(
            json.dumps({"url": "file:///src/x", "dir_info": {"editable": True}})
        )
    (site / module).mkdir()
    (site / module / "__init__.py").write_text("")


@pytest.fixture(scope="module")
def other_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv (no pip) holding two distributions the test process does not have."""
    venv = tmp_path_factory.mktemp("kernel-env") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = _site_packages(venv)
    _fake_distribution(site, "Fancy_Stats", "1.2.3", "fancystats")
    _fake_distribution(site, "house-tools", "0.1.0", "housetools", local=True)
    return venv


@pytest.fixture
def kernel_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private JUPYTER_PATH whose ``kernels/`` the KernelSpecManager will search."""
    root = tmp_path / "jupyter-data"
    (root / "kernels").mkdir(parents=True)
    monkeypatch.setenv("JUPYTER_PATH", str(root))
    return root / "kernels"


def _kernelspec(kernels: Path, name: str, argv: list[str], language: str = "python") -> None:
    folder = kernels / name
    folder.mkdir()
    spec = {"argv": argv, "display_name": name, "language": language}
    (folder / "kernel.json").write_text(json.dumps(spec))


# --- finding the interpreter ---


def test_python_names_resolve_to_the_launching_interpreter_as_jupyter_client_does() -> None:
    major, minor = sys.version_info[:2]
    for name in ("python", f"python{major}", f"python{major}.{minor}", "{python}"):
        assert resolve_python([name, "-m", "ipykernel_launcher"]) == sys.executable


def test_absolute_and_templated_interpreter_paths_are_used_as_given(tmp_path: Path) -> None:
    assert resolve_python([sys.executable, "-m", "ipykernel_launcher"]) == sys.executable
    relative = Path(sys.executable).relative_to(sys.prefix)
    assert resolve_python([f"{{prefix}}{os.sep}{relative}"]) == str(Path(sys.prefix) / relative)
    with pytest.raises(EnvironmentCaptureError, match="does not exist"):
        resolve_python([str(tmp_path / "no-python")])
    with pytest.raises(EnvironmentCaptureError, match="not on PATH"):
        resolve_python(["no-such-python-anywhere"])
    with pytest.raises(EnvironmentCaptureError, match="empty argv"):
        resolve_python([])


def test_the_kernel_name_comes_from_the_notebook_metadata(kernel_dir: Path) -> None:
    _kernelspec(
        kernel_dir, "py-analysis", [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    )
    assert notebook_kernel_name({"metadata": {"kernelspec": {"name": "py-analysis"}}}) == "py-analysis"
    assert notebook_kernel_name({"metadata": {}}) == "python3"


def test_a_python_notebook_naming_a_kernel_not_installed_here_runs_in_python3(kernel_dir: Path) -> None:
    elsewhere = {"metadata": {"kernelspec": {"name": "Python [Root]", "language": "python"}}}
    assert notebook_kernel_name(elsewhere) == "python3"
    assert "'Python [Root]', which is not installed here" in (kernel_substitution(elsewhere) or "")
    r_notebook = {"metadata": {"kernelspec": {"name": "ir"}, "language_info": {"name": "R"}}}
    assert kernel_substitution(r_notebook) is None  # another language is not run as Python
    assert kernel_substitution({"metadata": {}}) is None


def test_the_default_kernelspec_is_found_without_starting_a_kernel() -> None:
    interpreter = kernel_interpreter(None)
    assert Path(interpreter.python).exists()
    assert interpreter.kernelspec["name"] == "python3"
    assert interpreter.kernelspec["language"] == "python"


def test_unknown_and_non_python_kernelspecs_are_capture_errors(kernel_dir: Path) -> None:
    _kernelspec(kernel_dir, "ir", ["R", "--slave"], language="R")
    with pytest.raises(EnvironmentCaptureError, match="no kernelspec named 'missing-kernel'"):
        kernel_interpreter("missing-kernel")
    with pytest.raises(EnvironmentCaptureError, match="not Python"):
        kernel_interpreter("ir")


# --- capturing ---


def test_capturing_this_interpreter_reports_its_version_and_packages() -> None:
    snapshot = capture_environment(KernelInterpreter(sys.executable, {"name": "here"}, {}))
    assert snapshot.python_version == platform.python_version()
    assert snapshot.implementation == platform.python_implementation()
    assert snapshot.system == platform.system()
    assert snapshot.packages["blake3"] == metadata.version("blake3")
    assert snapshot.packages["sqlite-utils"] == metadata.version("sqlite-utils")
    assert list(snapshot.packages_distributions["sqlite_utils"]) == ["sqlite-utils"]
    assert dict(snapshot.kernelspec) == {"name": "here"}
    assert capture_environment(KernelInterpreter(sys.executable, {}, {})).hash == snapshot.hash


def test_the_capture_script_is_the_env_capture_module_and_importing_it_does_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from jupyter_repro import env_capture

    assert capsys.readouterr().out == ""  # imported (by this test), it printed nothing
    assert Path(env_capture.__file__).read_text(encoding="utf-8") == CAPTURE_SCRIPT
    assert env_capture.MARKER == CAPTURE_MARKER


def test_the_capture_reads_each_distribution_once_and_answers_as_the_standard_library() -> None:
    """The capture parses each distribution's metadata once and maps import names to distributions
    itself; the answer must stay the standard library's (it is part of the environment's hash)."""
    from importlib import metadata

    from jupyter_repro import env_capture

    facts = env_capture.facts()
    expected = {
        top: sorted({env_capture.norm(name) for name in names})
        for top, names in metadata.packages_distributions().items()
    }
    assert facts["packages_distributions"] == expected
    first_seen: dict[str, str] = {}
    for dist in metadata.distributions():
        first_seen.setdefault(env_capture.norm(dist.metadata["Name"]), dist.version)
    assert facts["packages"] == first_seen


def test_the_capture_script_run_as_the_server_runs_it_prints_one_marked_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exec(CAPTURE_SCRIPT, {"__name__": "__jupyter_repro_capture__"})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(CAPTURE_MARKER)
    facts = json.loads(lines[0][len(CAPTURE_MARKER) :])
    assert list(facts) == [
        "implementation",
        "python_version",
        "executable",
        "platform",
        "system",
        "machine",
        "packages",
        "packages_distributions",
        "local_distributions",
        "path",
    ]
    assert facts["packages"]["blake3"] == metadata.version("blake3")


def test_capture_uses_the_kernelspec_interpreter_not_the_current_one(
    other_venv: Path, kernel_dir: Path
) -> None:
    python = _venv_python(other_venv)
    _kernelspec(kernel_dir, "other", [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    notebook = {"metadata": {"kernelspec": {"name": "other", "display_name": "Other"}}, "cells": []}
    snapshot = capture_for_notebook(other_venv / "nb.ipynb", notebook)
    assert snapshot.kernelspec["name"] == "other"
    assert Path(snapshot.executable).parent == python.parent
    assert dict(snapshot.packages) == {"fancy-stats": "1.2.3", "house-tools": "0.1.0"}
    assert list(snapshot.packages_distributions["fancystats"]) == ["fancy-stats"]
    assert snapshot.local_distributions == ("house-tools",)
    assert "blake3" not in snapshot.packages  # the server's packages are not the kernel's


def test_the_kernelspec_environment_variables_reach_the_capture(tmp_path: Path) -> None:
    extra = tmp_path / "extra-site"
    _fake_distribution(extra, "only-on-pythonpath", "9.9", "onlyhere")
    interpreter = KernelInterpreter(sys.executable, {}, {"PYTHONPATH": str(extra)})
    assert capture_environment(interpreter).packages["only-on-pythonpath"] == "9.9"


def test_an_interpreter_that_fails_is_a_one_line_capture_error(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'boom: interpreter is broken' >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(EnvironmentCaptureError, match="boom: interpreter is broken") as caught:
        capture_environment(KernelInterpreter(str(broken), {}, {}))
    assert "\n" not in str(caught.value)


def test_the_environment_hash_ignores_where_the_interpreter_lives_but_not_versions() -> None:
    base = _snapshot(six="1.17.0")
    assert replace(base, executable="/elsewhere/python", platform="Linux-6.9").hash == base.hash
    assert _snapshot(six="1.16.0").hash != base.hash
    assert replace(base, python_version="3.12.1").hash != base.hash


# --- locking ---


def _snapshot(**packages: str) -> EnvironmentSnapshot:
    return EnvironmentSnapshot(
        implementation="CPython",
        python_version="3.11.7",
        executable="/usr/bin/python3",
        platform="Linux",
        system="Linux",
        machine="x86_64",
        kernelspec={},
        packages=packages,
        packages_distributions={"six": ["six"], "yaml": ["pyyaml"], "house": ["house-tools"]},
        local_distributions=("house-tools",),
    )


def test_import_names_map_to_pinned_distributions() -> None:
    snapshot = _snapshot(six="1.17.0", pyyaml="6.0.1", **{"house-tools": "0.1"})
    requirements, excluded = requirements_for(snapshot, ["os", "yaml.loader", "six", "json", "house", "mine"])
    assert requirements == ["pyyaml==6.0.1", "six==1.17.0"]
    assert excluded == ["house-tools"]


def test_a_notebook_importing_only_the_standard_library_needs_no_pip_compile(tmp_path: Path) -> None:
    locked = lock_environment(_snapshot(six="1.17.0"), ["os", "json"], tmp_path, timeout_s=0.001)
    assert locked.lock is not None
    assert locked.lock.text == EMPTY_LOCK_TEXT
    assert locked.lock_error is None


@pytest.mark.network
def test_a_real_pip_compile_locks_with_hashes_once_per_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = capture_environment(KernelInterpreter(sys.executable, {}, {}))
    six_version = snapshot.packages["six"]
    locked = lock_environment(snapshot, ["six"], tmp_path, timeout_s=300)
    assert locked.lock_error is None
    assert locked.lock is not None
    assert locked.lock.requirements == (f"six=={six_version}",)
    assert f"six=={six_version} \\\n    --hash=sha256:" in locked.lock.text
    assert locked.lock.hash == hash_bytes(locked.lock.text.encode("utf-8"))
    assert stored_lock_path(tmp_path, locked.lock.hash).read_text("utf-8") == locked.lock.text
    assert locked.hash == snapshot.hash  # the lock is not part of the environment hash

    # the second time comes from the store: it works even with no index reachable at all
    _no_index(monkeypatch, tmp_path)
    again = lock_environment(snapshot, ["six"], tmp_path, timeout_s=300)
    assert again.lock == locked.lock


def _no_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point pip at a closed port and away from every configured index and wheel folder."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_TOOLS_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-xdg-cache"))


def test_without_a_reachable_index_the_lock_is_missing_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_index(monkeypatch, tmp_path)
    locked = lock_environment(_snapshot(six="1.17.0"), ["six"], tmp_path / "home", timeout_s=240)
    assert locked.lock is None
    assert locked.lock_error is not None
    assert locked.lock_error.startswith("pip-compile failed: no package index reachable (")
    assert "\n" not in locked.lock_error
    assert not (tmp_path / "home" / "locks" / "index").exists()  # failures are not cached


def test_a_pip_compile_that_takes_too_long_is_cut_off(tmp_path: Path) -> None:
    locked = lock_environment(_snapshot(six="1.17.0"), ["six"], tmp_path, timeout_s=0.05)
    assert locked.lock is None
    assert locked.lock_error == "pip-compile did not finish within 0.05 s"


PYTHON_NOTEBOOK = {
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
}


def test_a_capture_started_ahead_is_the_one_the_run_waits_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first run starts the capture as soon as the notebook is read (it then runs while the
    kernels boot); the snapshot is the one a capture made at that point gives, and no second
    capture runs. Once the snapshot cache can answer, nothing starts ahead."""
    from jupyter_repro import env

    notebook = tmp_path / "nb.ipynb"
    home = tmp_path / "home"
    ahead = env.start_capture_ahead(notebook, PYTHON_NOTEBOOK, home)
    assert ahead is not None
    fresh = env.capture_for_notebook(notebook, PYTHON_NOTEBOOK)

    def no_second_capture(*args: object) -> None:
        raise AssertionError("the capture started ahead was not used")

    monkeypatch.setattr(env, "_run_capture_script", no_second_capture)
    snapshot = env.capture_for_notebook(notebook, PYTHON_NOTEBOOK, home, ahead)
    assert snapshot.hash == fresh.hash
    assert env.start_capture_ahead(notebook, PYTHON_NOTEBOOK, home) is None  # the cache answers


def test_a_run_refused_after_its_capture_started_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_repro import env
    from jupyter_repro.errors import ParameterError
    from jupyter_repro.prepare import prepare_run
    from jupyter_repro.run_state import RunOptions

    started: list[env.CaptureAhead | None] = []
    real = env.start_capture_ahead

    def spy(*args: Any) -> env.CaptureAhead | None:
        started.append(real(*args))
        return started[-1]

    monkeypatch.setattr(env, "start_capture_ahead", spy)
    monkeypatch.setattr(env, "CAPTURE_SCRIPT", "import time; time.sleep(60)")  # still running when refused
    path = tmp_path / "nb.ipynb"
    cells = [
        {
            "cell_type": "code",
            "id": "c0",
            "metadata": {},
            "source": "x = 1",
            "outputs": [],
            "execution_count": None,
        }
    ]
    path.write_text(json.dumps({**PYTHON_NOTEBOOK, "nbformat": 4, "nbformat_minor": 5, "cells": cells}))
    with pytest.raises(ParameterError):
        prepare_run(path, RunOptions(home=str(tmp_path / "home"), parameters={"unknown": 1}))
    assert len(started) == 1
    assert started[0] is not None
    assert started[0]._process.poll() == -9  # killed and reaped, not left to run
