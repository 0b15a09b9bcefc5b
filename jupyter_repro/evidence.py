"""The evidence that travels inside a notebook, and the causes a recipient can read from it (pure).

A person who receives a notebook usually has only the ``.ipynb`` and its data, not the author's
``.repro/`` ledger. So ``verify --stamp`` writes, next to the verdict, what a later verification needs to
name a cause without any history: the Python and platform, the versions of the distributions the
notebook imports, the environment hash, the seed, the content hash of each data file each step read
(by project-relative path), the source hash of each code cell whose outputs were verified and, when one
was compiled, the lock. JupyterLab adds, per cell, the hash of the source that produced its outputs
(``cell.metadata.jupyter_repro.source_sha256``, see docs/frontend.md).

Everything here is stable (sorted keys, no run-specific values), so re-stamping a notebook whose code,
data and environment did not change writes the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_repro.hashing import source_hash
from jupyter_repro.model import Pipeline
from jupyter_repro.results import Cause, StepResult

RAN_SOURCE_KEY = "source_sha256"
"""Cell metadata key (under ``jupyter_repro``) of the hash of the source that produced the outputs."""


@dataclass(frozen=True)
class Evidence:
    """What a verification saw: the environment, the data each step read and the verified cells."""

    python: str = ""
    implementation: str = ""
    platform: str = ""
    environment_hash: str = ""
    seed: int | None = None
    packages: Mapping[str, str] = field(default_factory=dict)
    """Distribution -> version, for the distributions the notebook imports."""
    data: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Step -> project-relative path -> content hash of each file the step read."""
    cells: Mapping[int, str] = field(default_factory=dict)
    """Code cell index -> source hash (:func:`jupyter_repro.hashing.source_hash`) of verified cells."""
    lock: Mapping[str, Any] | None = None
    """``{"hash", "requirements", "text"}`` of the pip-tools lock, when one was compiled."""

    def to_json(self) -> dict[str, Any]:
        """The ``evidence`` of a certificate and of ``verify --json`` (stable: sorted, no run ids)."""
        document: dict[str, Any] = {
            "python": self.python,
            "implementation": self.implementation,
            "platform": self.platform,
            "environment_hash": self.environment_hash,
            "seed": self.seed,
            "packages": dict(sorted(self.packages.items())),
            "data": {step: dict(sorted(files.items())) for step, files in sorted(self.data.items())},
            "cells": {str(index): digest for index, digest in sorted(self.cells.items())},
        }
        if self.lock is not None:
            document["lock"] = dict(self.lock)
        return document

    @classmethod
    def from_json(cls, value: object) -> Evidence | None:
        """Read a certificate's evidence; None when absent or not a mapping (an older certificate).

        A field of the wrong type is left empty rather than failing: the notebook came from elsewhere,
        and evidence that cannot be read is no evidence, not a reason to refuse the verification.
        """
        if not isinstance(value, Mapping):
            return None
        lock = value.get("lock")
        seed = value.get("seed")
        return cls(
            python=_text(value.get("python")),
            implementation=_text(value.get("implementation")),
            platform=_text(value.get("platform")),
            environment_hash=_text(value.get("environment_hash")),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            packages=_strings(value.get("packages")),
            data={
                str(step): _strings(files)
                for step, files in _mapping(value.get("data")).items()
                if isinstance(files, Mapping)
            },
            cells={
                int(index): str(digest)
                for index, digest in _strings(value.get("cells")).items()
                if index.isdigit()
            },
            lock=dict(lock) if isinstance(lock, Mapping) and isinstance(lock.get("text"), str) else None,
        )

    @property
    def lock_text(self) -> str | None:
        return None if self.lock is None else str(self.lock["text"])


@dataclass(frozen=True)
class RecordedEvidence:
    """What the notebook itself says about how its outputs were made."""

    certificate: Evidence | None = None
    ran: Mapping[int, str] = field(default_factory=dict)
    """Code cell index -> hash of the source that produced its outputs, recorded by JupyterLab."""

    def ran_hash(self, index: int) -> str | None:
        """The source hash the cell's outputs came from: JupyterLab's record, else the certificate's."""
        recorded = self.ran.get(index)
        if recorded is None and self.certificate is not None:
            recorded = self.certificate.cells.get(index)
        return recorded


def recorded_evidence(notebook: Mapping[str, Any]) -> RecordedEvidence:
    """The evidence a notebook carries: its certificate's and its cells' source hashes."""
    settings = _mapping(_mapping(notebook.get("metadata")).get("jupyter_repro"))
    certificate = Evidence.from_json(_mapping(settings.get("certificate")).get("evidence"))
    ran: dict[int, str] = {}
    for index, cell in enumerate(notebook.get("cells") or []):
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        digest = _mapping(_mapping(cell.get("metadata")).get("jupyter_repro")).get(RAN_SOURCE_KEY)
        if isinstance(digest, str) and digest:
            ran[index] = digest
    return RecordedEvidence(certificate, ran)


# ----------------------------------------------------------------------------------------- building


def portable_path(path: str, notebook_folder: str, project_root: str) -> str:
    """A data file's path as the certificate records it: relative to the notebook's folder when the
    file is inside the project (so another checkout, at another path, names the same file), else
    absolute (a file outside the project is not part of what is shared)."""
    absolute = os.path.normpath(path)
    root = os.path.normpath(project_root)
    if absolute != root and not absolute.startswith(root.rstrip(os.sep) + os.sep):
        return absolute
    return os.path.relpath(absolute, os.path.normpath(notebook_folder)).replace(os.sep, "/")


def step_data(
    steps: Iterable[StepResult], notebook_folder: str, project_root: str
) -> dict[str, dict[str, str]]:
    """Step -> portable path -> hash of what each step read (steps that read nothing are left out)."""
    return {
        step.name: {portable_path(path, notebook_folder, project_root): digest for path, digest in step.reads}
        for step in steps
        if step.reads
    }


def imported_packages(
    imported_modules: Iterable[str],
    module_distributions: Mapping[str, Sequence[str]],
    packages: Mapping[str, str],
) -> dict[str, str]:
    """Distribution -> version for what the notebook imports (the standard library has no entry)."""
    found: dict[str, str] = {}
    for module in imported_modules:
        for distribution in module_distributions.get(module.split(".")[0], ()):
            version = packages.get(distribution)
            if version is not None:
                found[distribution] = version
    return found


def verified_cells(sources: Mapping[int, str], matched: Iterable[int]) -> dict[int, str]:
    """Source hashes of the cells whose outputs matched."""
    return {index: source_hash(sources[index]) for index in matched if index in sources}


# ------------------------------------------------------------------------------------------ causes


def evidence_causes(
    index: int,
    step: str | None,
    pipeline: Pipeline,
    recorded: RecordedEvidence,
    here: Evidence,
) -> list[Cause]:
    """Causes of one differing or failing cell from the notebook's own evidence (no ledger needed):
    a cell of its step or upstream edited after it ran, a data file its step or upstream read changed."""
    upstream = _upstream_steps(pipeline, step)
    causes = [
        _edited(index, step, edited, recorded, pipeline)
        for edited in _edited_cells(index, upstream, pipeline, recorded)
    ]
    certificate = recorded.certificate
    if certificate is not None:
        for reader in sorted(upstream & set(certificate.data)):
            now = here.data.get(reader, {})
            for path, digest in sorted(certificate.data[reader].items()):
                if path in now and now[path] != digest:
                    causes.append(
                        Cause(
                            "data",
                            reader,
                            f"{path} changed since the notebook was stamped (its content hash differs from "
                            f"the one step '{reader}' read then)",
                            cell=index,
                            evidence={"path": path, "recorded": digest, "now": now[path]},
                            hint="restore the data file the outputs were made with, or re-execute and save",
                        )
                    )
    return causes


def environment_differences(recorded: RecordedEvidence, here: Evidence) -> list[dict[str, str | None]]:
    """``{"name", "before", "after"}`` for Python and each recorded distribution whose version differs."""
    certificate = recorded.certificate
    if certificate is None:
        return []
    changes: list[dict[str, str | None]] = []
    if certificate.python and here.python and certificate.python != here.python:
        changes.append({"name": "Python", "before": certificate.python, "after": here.python})
    installed = {_canonical(name): version for name, version in here.packages.items()}
    for name, version in sorted(certificate.packages.items()):
        now = here.packages.get(name, installed.get(_canonical(name)))
        if now != version:
            changes.append({"name": name, "before": version, "after": now})
    return changes


def environment_cause(recorded: RecordedEvidence, here: Evidence) -> Cause | None:
    """One cause naming what differs from the environment the certificate recorded, or None."""
    changes = environment_differences(recorded, here)
    if not changes:
        return None
    shown = ", ".join(
        f"{change['name']} {change['after'] or 'not installed'} here, {change['before']} when saved"
        for change in changes[:8]
    ) + (f" and {len(changes) - 8} more" if len(changes) > 8 else "")
    return Cause(
        "environment",
        None,
        f"the environment differs from the one the notebook was stamped in: {shown}",
        evidence={"changes": changes},
        hint="verify --isolated rebuilds the recorded environment from the lock inside the notebook"
        if recorded.certificate is not None and recorded.certificate.lock is not None
        else "install the recorded versions (stamp with --lock next time to carry the lock)",
    )


def _edited_cells(
    index: int, upstream: set[str], pipeline: Pipeline, recorded: RecordedEvidence
) -> list[int]:
    """Cells up to ``index`` in the same or an upstream step whose source is not what ran."""
    edited = []
    for cell in pipeline.cells:
        if cell.cell_type != "code" or cell.index > index:
            continue
        if cell.index != index and cell.step not in upstream and cell.role not in ("setup", "parameters"):
            continue
        ran = recorded.ran_hash(cell.index)
        if ran is not None and ran != source_hash(cell.source):
            edited.append(cell.index)
    return edited


def _edited(
    index: int, step: str | None, edited: int, recorded: RecordedEvidence, pipeline: Pipeline
) -> Cause:
    now = source_hash(pipeline.cell(edited).source)
    detail = (
        f"cell {index} was edited after it ran: its saved outputs come from other code"
        if edited == index
        else f"cell {index} depends on cell {edited}, which was edited after it ran"
    )
    return Cause(
        "code",
        step,
        f"{detail} (source hash {recorded.ran_hash(edited)} when it ran, {now} now)",
        cell=index,
        evidence={"edited_cell": edited, "recorded": recorded.ran_hash(edited), "now": now},
        hint=f"re-run cell {edited} (and the cells after it) and save, or undo the edit",
    )


def _upstream_steps(pipeline: Pipeline, step: str | None) -> set[str]:
    found = next((s for s in pipeline.steps if s.name == step), None)
    return {name for name in (step, *(found.depends_on if found else ())) if name is not None}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: object) -> dict[str, str]:
    return {str(key): item for key, item in _mapping(value).items() if isinstance(item, str)}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
