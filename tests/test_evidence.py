"""The evidence a notebook carries, read and compared without a kernel (pure)."""

from __future__ import annotations

from jupyter_repro.commands.verify import _isolated_line
from jupyter_repro.evidence import (
    Evidence,
    RecordedEvidence,
    environment_cause,
    portable_path,
    recorded_evidence,
)

FULL = Evidence(
    python="3.11.9",
    implementation="CPython",
    platform="Linux x86_64",
    environment_hash="blake3:ab",
    seed=7,
    packages={"pandas": "2.2.3", "numpy": "1.26.4"},
    data={"load": {"data/b.csv": "blake3:2", "data/a.csv": "blake3:1"}},
    cells={10: "x", 2: "y"},
    lock={"hash": "blake3:cd", "requirements": ["pandas==2.2.3"], "text": "pandas==2.2.3 --hash=sha256:00\n"},
)


def test_evidence_round_trips_through_json_with_sorted_keys() -> None:
    document = FULL.to_json()
    assert list(document["packages"]) == ["numpy", "pandas"]
    assert list(document["data"]["load"]) == ["data/a.csv", "data/b.csv"]
    assert list(document["cells"]) == ["2", "10"]
    assert Evidence.from_json(document) == FULL


def test_unreadable_evidence_is_no_evidence_not_an_error() -> None:
    assert Evidence.from_json(None) is None
    assert Evidence.from_json("broken") is None
    odd = Evidence.from_json({"python": 3, "seed": True, "packages": ["x"], "cells": {"a": "b"}, "lock": {}})
    assert odd == Evidence()


def test_recorded_evidence_reads_the_certificate_and_jupyterlabs_per_cell_hashes() -> None:
    notebook = {
        "metadata": {
            "jupyter_repro": {"certificate": {"verdict": "reproducible", "evidence": FULL.to_json()}}
        },
        "cells": [
            {"cell_type": "markdown", "metadata": {"jupyter_repro": {"source_sha256": "ignored"}}},
            {"cell_type": "code", "metadata": {"jupyter_repro": {"source_sha256": "ran"}}},
            {"cell_type": "code", "metadata": {}},
        ],
    }
    recorded = recorded_evidence(notebook)
    assert recorded.certificate == FULL
    assert recorded.ran == {1: "ran"}
    assert recorded.ran_hash(1) == "ran"
    assert recorded.ran_hash(2) == "y"  # the certificate's verified cell, when JupyterLab recorded nothing
    assert recorded.ran_hash(3) is None
    assert recorded_evidence({"metadata": {}, "cells": []}) == RecordedEvidence()


def test_paths_inside_the_project_are_relative_to_the_notebook_and_others_stay_absolute() -> None:
    assert portable_path("/p/data/a.csv", "/p/notebooks", "/p") == "../data/a.csv"
    assert portable_path("/p/notebooks/a.csv", "/p/notebooks", "/p") == "a.csv"
    assert portable_path("/etc/hosts", "/p/notebooks", "/p") == "/etc/hosts"
    assert portable_path("/pother/a.csv", "/p", "/p") == "/pother/a.csv"


def test_the_environment_cause_names_what_differs_with_both_versions() -> None:
    here = Evidence(python="3.12.1", packages={"pandas": "3.1.1", "numpy": "1.26.4"})
    cause = environment_cause(RecordedEvidence(FULL), here)
    assert cause is not None
    assert cause.kind == "environment"
    assert "Python 3.12.1 here, 3.11.9 when saved" in cause.detail
    assert "pandas 3.1.1 here, 2.2.3 when saved" in cause.detail
    assert "numpy" not in cause.detail
    assert "--isolated" in (cause.hint or "")  # the notebook carries a lock
    assert environment_cause(RecordedEvidence(FULL), FULL) is None
    assert environment_cause(RecordedEvidence(), here) is None


def test_a_missing_distribution_is_named_as_not_installed() -> None:
    cause = environment_cause(RecordedEvidence(FULL), Evidence(python="3.11.9", packages={"numpy": "1.26.4"}))
    assert cause is not None
    assert "pandas not installed here, 2.2.3 when saved" in cause.detail


def test_the_summary_says_whose_environment_the_isolated_run_rebuilt() -> None:
    assert "lock inside the notebook" in _isolated_line(
        {"lock_source": "notebook", "packages": 3, "build_s": 9}
    )
    assert "made here" in _isolated_line({"lock_source": "here", "packages": 3, "build_s": 9})
