"""The ``jupyter repro`` entry point itself, through the real console script and ``jupyter`` dispatch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO, console_script

from jupyter_repro import __version__
from jupyter_repro.cli import SUBCOMMANDS, build_parser


def test_console_script_prints_help_and_lists_every_subcommand() -> None:
    result = subprocess.run([*console_script(), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: jupyter repro")
    for name in SUBCOMMANDS:
        assert name in result.stdout


def test_jupyter_dispatches_repro_to_the_console_script() -> None:
    jupyter = Path(sys.executable).parent / "jupyter"
    result = subprocess.run([str(jupyter), "repro", "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"jupyter-repro {__version__}"


def test_every_subcommand_has_help_text() -> None:
    # as sqlite-utils does: a command without help is a bug
    for name, help_text in SUBCOMMANDS.items():
        assert help_text.strip(), name
        sub_help = build_parser(name).format_help()
        assert name in sub_help


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = subprocess.run([*console_script(), "frobnicate"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_and_javascript_versions_agree() -> None:
    package = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    assert package["version"] == __version__


def test_cli_reference_is_generated_from_the_current_help() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_cli_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    # `jupyter repro steps NB | head -1`: far more output than a pipe buffer holds, reader gone early
    cells = [
        {
            "cell_type": "code",
            "metadata": {"tags": [f"step:s{i}"]},
            "source": f"v{i} = {i}",
            "outputs": [],
            "execution_count": None,
            "id": f"c{i}",
        }
        for i in range(3000)
    ]
    nb = tmp_path / "many.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    process = subprocess.Popen(
        [*console_script(), "steps", str(nb)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(b"step")
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert b"Traceback" not in stderr
    assert process.returncode == 141
