"""One-click fixes: what a verification's causes suggest doing to the notebook (pure: no I/O).

A :class:`FixContext` holds the notebook as it is now and what its last verification said
(:class:`Verified`: the causes, the outputs the headless run made, the seed, the versions). From it,
:func:`plan_fixes` makes each :class:`Fix`: an id that stays the same for the same notebook state, a
one-line description, the edit operations of :mod:`jupyter_repro.fix_edits`, the side files it writes
or downloads, and a preview (a unified diff). The kinds (``docs/verify.md``, "Fixing what breaks
reproducibility"):

* ``seed``: a cell draws random numbers without a seed. Choice ``outputs`` saves the outputs the
  headless run made under the project's seeding (and records that seed); choice ``cell`` inserts an
  explicit seed cell before the first cell that draws, and re-executes on apply.
* ``reorder``: a cell reads a name defined only later: move the defining cell up (:mod:`fix_reorder`).
* ``pin``: an environment cause: write the versions the notebook was verified with into
  ``requirements.txt`` (choice ``requirements``) or the lock into the notebook's metadata (``lock``),
  and save the outputs those versions made.
* ``ignore-output``: a clock, a timing, ids: tag the cell ``ignore-output``.
* ``vendor-data``: a network read: download the file into ``data/`` on apply, read the local copy,
  record its hash, and re-execute.

Cell numbers in the verification are those of the notebook it verified. :attr:`FixContext.origins`
follows cells through fixes applied since (``--apply all``), so a fix keeps its id and its cell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, Literal

from jupyter_repro.compare import compare_cell
from jupyter_repro.fix_edits import Edit, apply_edits, file_diff, notebook_diff
from jupyter_repro.fix_reorder import plan_reorder
from jupyter_repro.pipeline import build_pipeline
from jupyter_repro.randomness import draws_randomness

REQUIREMENTS_FILE = "requirements.txt"
DATA_FOLDER = "data"
METADATA_KEY = "jupyter_repro"
IGNORE_OUTPUT_TAG = "ignore-output"
KIND_ORDER = ("ignore-output", "pin", "vendor-data", "reorder", "seed")
"""The order of ``--apply all``: tags and side files first, moves next, outputs last (a seed fix saves
the outputs of the notebook as the other fixes left it)."""
PENDING_NOTE = "# (outputs: refreshed on apply, by re-executing the notebook as fixed)"
_OPENERS = re.compile(r"\b(?:urlopen|urlretrieve|requests\.\w+|httpx\.\w+|Request)\s*\(")
"""Readers that need a URL: a local path cannot simply replace theirs."""


@dataclass(frozen=True)
class ExecutedCell:
    """A code cell as the headless run left it."""

    outputs: tuple[Mapping[str, Any], ...]
    execution_count: int | None
    raised: bool = False


@dataclass(frozen=True)
class Verified:
    """What a verification said, with cell indices of the notebook it verified."""

    run_id: str
    verdict: str
    seed: int
    causes: tuple[Mapping[str, Any], ...]
    executed: Mapping[int, ExecutedCell] = field(default_factory=dict)
    packages: Mapping[str, str] = field(default_factory=dict)
    """The distributions the notebook imports and their versions, as the run saw them."""
    lock: Mapping[str, Any] | None = None
    """``{"hash", "requirements", "text"}`` when a lock was compiled (``verify --lock``, or on apply)."""


@dataclass(frozen=True)
class FixContext:
    """The notebook now, what its verification said, and the side files the fixes would touch."""

    name: str
    notebook: Mapping[str, Any]
    verified: Verified
    origins: tuple[int | None, ...] = ()
    """Today's cell ``i`` was cell ``origins[i]`` in the verified notebook (None: inserted by a fix)."""
    side_files: Mapping[str, str | None] = field(default_factory=dict)
    """The current text of each side file a fix may write (None: it does not exist)."""
    data_files: frozenset[str] = frozenset()
    """Names already taken in the data folder."""

    def __post_init__(self) -> None:
        if not self.origins:
            object.__setattr__(self, "origins", tuple(range(len(self.notebook.get("cells") or []))))

    def now(self, verified: int | None) -> int | None:
        """Where the verified notebook's cell ``verified`` is today (None: not there any more)."""
        if verified is None or verified not in self.origins:
            return None
        return self.origins.index(verified)

    def cells(self) -> list[Mapping[str, Any]]:
        return list(self.notebook.get("cells") or [])


@dataclass(frozen=True)
class SideFile:
    """A file beside the notebook a fix writes (``content``) or downloads (``url``), relative path."""

    path: str
    action: Literal["write", "download"]
    content: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"path": self.path, "action": self.action}
        if self.url is not None:
            document["url"] = self.url
        return document


@dataclass(frozen=True)
class Fix:
    """One fix, as listed (``fix --json``, ``GET fixes``) and applied."""

    id: str
    kind: str
    choice: str | None
    cell: int | None
    cause_kind: str
    description: str
    edits: tuple[Edit, ...] = ()
    files: tuple[SideFile, ...] = ()
    available: bool = True
    reason: str | None = None
    pending: tuple[str, ...] = ()
    """What applying still computes: ``outputs`` (re-execution), ``download``, ``lock`` (pip-compile)."""
    preview: str = ""
    group: str = ""
    """Fixes of one group are alternatives (the two choices of ``seed`` or ``pin``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "choice": self.choice,
            "cell": self.cell,
            "cause_kind": self.cause_kind,
            "description": self.description,
            "preview": self.preview,
            "available": self.available,
            "reason": self.reason,
            "edits": [dict(edit) for edit in self.edits],
            "files": [item.to_json() for item in self.files],
            "pending": list(self.pending),
        }


# ------------------------------------------------------------------------------------------ planning


def plan_fixes(context: FixContext) -> list[Fix]:
    """Every fix the verification's causes suggest, in a stable order, each with its preview."""
    fixes = [
        *_seed_fixes(context),
        *_reorder_fixes(context),
        *_pin_fixes(context),
        *_ignore_output_fixes(context),
        *_vendor_fixes(context),
    ]
    return [_with_preview(context, fix) for fix in fixes]


def apply_order(fixes: Sequence[Fix]) -> list[Fix]:
    """The fixes ``--apply all`` applies: the first available choice of each group, in :data:`KIND_ORDER`."""
    chosen: dict[str, Fix] = {}
    for fix in fixes:
        if fix.available and fix.group not in chosen:
            chosen[fix.group] = fix
    return sorted(chosen.values(), key=lambda fix: (KIND_ORDER.index(fix.kind), fix.id))


def _with_preview(context: FixContext, fix: Fix) -> Fix:
    # named by file name, as the side files are by their path from the notebook's folder (and a
    # server's answer never shows where the notebook lives on its disk)
    name = PurePosixPath(context.name.replace("\\", "/")).name
    parts = [notebook_diff(context.notebook, apply_edits(context.notebook, fix.edits), name)]
    if "outputs" in fix.pending:
        parts.append(PENDING_NOTE)
    for item in fix.files:
        if item.action == "write":
            parts.append(file_diff(context.side_files.get(item.path), item.content or "", item.path))
        else:
            parts.append(f"--- /dev/null\n+++ {item.path}\n@@ downloaded from {item.url} on apply @@")
    return replace(fix, preview="\n".join(part for part in parts if part))


def _causes(context: FixContext, kind: str) -> list[Mapping[str, Any]]:
    return [cause for cause in context.verified.causes if cause.get("kind") == kind]


def _cell_ids(context: FixContext, causes: Sequence[Mapping[str, Any]]) -> list[int]:
    """The verified cell indices of ``causes`` that still exist, sorted."""
    return sorted(
        {int(c["cell"]) for c in causes if c.get("cell") is not None and context.now(c["cell"]) is not None}
    )


# ---------------------------------------------------------------------------------------------- seed


def is_seed_cause(cause: Mapping[str, Any]) -> bool:
    """An unseeded random draw, in the cell or in an earlier cell whose value this one shows."""
    call = cause.get("call")
    return cause.get("kind") == "nondeterminism" and isinstance(call, str) and draws_randomness(call + "()")


def _seed_fixes(context: FixContext) -> list[Fix]:
    verified = context.verified
    cells = _cell_ids(context, [cause for cause in verified.causes if is_seed_cause(cause)])
    if not cells:
        return []
    first = context.now(cells[0])
    return [_seed_outputs(context, cells, first), _seed_cell(context, first)]


def _seed_outputs(context: FixContext, cells: Sequence[int], first: int | None) -> Fix:
    verified = context.verified
    missing = [cell for cell in cells if cell not in verified.executed or verified.executed[cell].raised]
    edits = [_outputs_edit(context, cell) for cell in cells if cell not in missing]
    settings = {**_settings(context.notebook), "seed": verified.seed}
    edits.append({"op": "set_notebook_metadata", "key": METADATA_KEY, "value": settings})
    shown = ", ".join(str(context.now(cell)) for cell in cells)
    return Fix(
        id="seed-outputs",
        kind="seed",
        choice="outputs",
        cell=first,
        cause_kind="nondeterminism",
        description=f"save the outputs of cell {shown} as the headless run made them under seed "
        f"{verified.seed}, and record the seed in the notebook's metadata",
        edits=tuple(edits),
        available=not missing,
        reason=None
        if not missing
        else f"the headless run did not complete cell {missing[0]}: choose 'seed-cell'",
        group="seed",
    )


def _seed_cell(context: FixContext, first_caused: int | None) -> Fix:
    cells = context.cells()
    drawing = [
        i
        for i, cell in enumerate(cells)
        if cell.get("cell_type") == "code" and draws_randomness(_source(cell))
    ]
    index = min([*drawing, *([first_caused] if first_caused is not None else [])])
    pipeline = build_pipeline(context.notebook, context.name)
    numpy = "numpy" in pipeline.imported_modules
    seed = context.verified.seed
    lines = [
        "# seed the random generators, so every run of this notebook draws the same numbers",
        "import random",
        "",
        f"random.seed({seed})",
    ]
    if numpy:
        lines[2:2] = ["import numpy as np"]
        lines.append(f"np.random.seed({seed})")
    cell = {"cell_type": "code", "source": "\n".join(lines), "metadata": {}, "id": "repro-seed"}
    generators = "random and numpy" if numpy else "random"
    return Fix(
        id="seed-cell",
        kind="seed",
        choice="cell",
        cell=index,
        cause_kind="nondeterminism",
        description=f"insert a cell seeding {generators} with seed {seed} before cell {index}, then "
        "re-execute the notebook and save its outputs",
        edits=({"op": "insert_cell", "index": index, "cell": cell},),
        pending=("outputs",),
        group="seed",
    )


def _outputs_edit(context: FixContext, verified_cell: int) -> Edit:
    executed = context.verified.executed[verified_cell]
    return {
        "op": "set_outputs",
        "cell": context.now(verified_cell),
        "outputs": [dict(output) for output in executed.outputs],
        "execution_count": executed.execution_count,
    }


def refreshed_outputs(
    notebook: Mapping[str, Any], executed: Mapping[int, ExecutedCell], *, always: Sequence[int] = ()
) -> list[Edit]:
    """``set_outputs`` for each cell whose new outputs differ from its saved ones (and the cells in
    ``always``), from a re-execution of ``notebook`` itself (same indices)."""
    edits: list[Edit] = []
    for index, cell in enumerate(notebook.get("cells") or []):
        new = executed.get(index)
        if cell.get("cell_type") != "code" or new is None:
            continue
        count = cell.get("execution_count")
        same = compare_cell(index, list(cell.get("outputs") or []), count, list(new.outputs), ignored=False)
        if index in always or count is None or same.status != "match":
            edits.append(
                {
                    "op": "set_outputs",
                    "cell": index,
                    "outputs": [dict(output) for output in new.outputs],
                    "execution_count": new.execution_count,
                }
            )
    return edits


# ------------------------------------------------------------------------------------------- reorder


def _reorder_fixes(context: FixContext) -> list[Fix]:
    fixes = []
    pipeline = build_pipeline(context.notebook, context.name)
    for verified_cell in _cell_ids(context, _causes(context, "hidden-state")):
        reader = context.now(verified_cell)
        assert reader is not None
        plan = plan_reorder(pipeline, reader)
        if plan is None:
            continue
        moved = ", ".join(str(index) for index in plan.definers)
        names = ", ".join(f"'{name}'" for name in plan.names)
        fixes.append(
            Fix(
                id=f"reorder-{verified_cell}",
                kind="reorder",
                choice=None,
                cell=reader,
                cause_kind="hidden-state",
                description=f"move cell {moved}, which defines {names}, up before cell {reader}, "
                "which reads it",
                edits=tuple({"op": "move_cell", "from": a, "to": b} for a, b in plan.moves),
                available=plan.refusal is None,
                reason=plan.refusal,
                group=f"reorder-{verified_cell}",
            )
        )
    return fixes


# ----------------------------------------------------------------------------------------------- pin


def _pin_fixes(context: FixContext) -> list[Fix]:
    causes = _causes(context, "environment")
    if not causes:
        return []
    verified = context.verified
    cells = [
        cell
        for cell in _cell_ids(context, causes)
        if cell in verified.executed and not verified.executed[cell].raised
    ]
    outputs = [_outputs_edit(context, cell) for cell in cells]
    caused = _cell_ids(context, causes)
    first = context.now(caused[0]) if caused else None
    numbers = ", ".join(str(context.now(c)) for c in cells)
    saved = ""
    if cells:
        saved = f", and save the outputs of {_plural(len(cells), 'cell')} {numbers} made with them"
    packages = dict(sorted(verified.packages.items(), key=lambda item: item[0].lower()))
    text = requirements_text(context.name, packages)
    requirements = Fix(
        id="pin-requirements",
        kind="pin",
        choice="requirements",
        cell=first,
        cause_kind="environment",
        description=f"write the {_plural(len(packages), 'version')} the notebook was verified with into "
        f"{REQUIREMENTS_FILE}{saved}",
        edits=tuple(outputs),
        files=(SideFile(REQUIREMENTS_FILE, "write", content=text),),
        available=bool(packages),
        reason=None
        if packages
        else "the notebook imports no installed distribution: there is nothing to pin",
        group="pin",
    )
    # without a lock from the verification, it is compiled on apply (pending): the preview shows
    # what it will pin, not an empty lock
    pinned = [f"{name}=={version}" for name, version in packages.items()]
    lock = {"hash": None, "requirements": pinned, "text": ""}
    if verified.lock is not None:
        lock = dict(verified.lock)
    settings = {
        **_settings(context.notebook),
        "lock": {key: lock.get(key) for key in ("hash", "requirements", "text")},
    }
    locked = Fix(
        id="pin-lock",
        kind="pin",
        choice="lock",
        cell=first,
        cause_kind="environment",
        description="write the lock of the versions the notebook was verified with into its metadata "
        f"(metadata.{METADATA_KEY}.lock, used by verify --isolated){saved}",
        edits=(*outputs, {"op": "set_notebook_metadata", "key": METADATA_KEY, "value": settings}),
        pending=() if verified.lock is not None else ("lock",),
        group="pin",
    )
    return [requirements, locked]


def requirements_text(name: str, packages: Mapping[str, str]) -> str:
    """``requirements.txt``: the versions of the distributions the notebook imports, one a line."""
    header = f"# the versions {PurePosixPath(name).name} was verified with (written by jupyter repro fix)\n"
    return header + "".join(f"{distribution}=={version}\n" for distribution, version in packages.items())


# ------------------------------------------------------------------------------------- ignore-output


def _ignore_output_fixes(context: FixContext) -> list[Fix]:
    seeded = {
        int(c["cell"]) for c in context.verified.causes if is_seed_cause(c) and c.get("cell") is not None
    }
    wanted = [
        cause
        for cause in _causes(context, "nondeterminism")
        if IGNORE_OUTPUT_TAG in str(cause.get("hint") or "") and cause.get("cell") not in seeded
    ]
    fixes = []
    cells = context.cells()
    for verified_cell in _cell_ids(context, wanted):
        index = context.now(verified_cell)
        assert index is not None
        tags = list((cells[index].get("metadata") or {}).get("tags") or [])
        executed = context.verified.executed.get(verified_cell)
        if IGNORE_OUTPUT_TAG in tags or (executed is not None and executed.raised):
            continue
        why = next(str(c["detail"]) for c in wanted if c.get("cell") == verified_cell)
        fixes.append(
            Fix(
                id=f"ignore-output-{verified_cell}",
                kind="ignore-output",
                choice=None,
                cell=index,
                cause_kind="nondeterminism",
                description=f"tag cell {index} '{IGNORE_OUTPUT_TAG}' (its outputs are not compared): {why}",
                edits=(
                    {
                        "op": "set_cell_metadata",
                        "cell": index,
                        "key": "tags",
                        "value": [*tags, IGNORE_OUTPUT_TAG],
                    },
                ),
                group=f"ignore-output-{verified_cell}",
            )
        )
    return fixes


# --------------------------------------------------------------------------------------- vendor-data


def _vendor_fixes(context: FixContext) -> list[Fix]:
    fixes = []
    taken = set(context.data_files)
    cells = context.cells()
    causes = [cause for cause in _causes(context, "data") if cause.get("urls")]
    for verified_cell in _cell_ids(context, causes):
        index = context.now(verified_cell)
        assert index is not None
        urls = sorted({str(url) for c in causes if c.get("cell") == verified_cell for url in c["urls"]})
        fixes.append(_vendor_fix(verified_cell, index, _source(cells[index]), urls, taken, cells[index]))
    return fixes


def _vendor_fix(
    verified_cell: int, index: int, source: str, urls: Sequence[str], taken: set[str], cell: Mapping[str, Any]
) -> Fix:
    literal = [url for url in urls if re.search(rf"""(['"]){re.escape(url)}\1""", source)]
    files, new_source, vendored = [], source, {}
    for url in literal:
        name = _free_name(_file_name(url), taken)
        taken.add(name)
        path = f"{DATA_FOLDER}/{name}"
        files.append(SideFile(path, "download", url=url))
        new_source = _replace_literal(new_source, url, path)
        vendored[path] = {"url": url, "hash": None}
    reason = None
    if not literal:
        reason = "the URL is built at run time: there is no literal to replace; download the file by hand"
    elif opener := _OPENERS.search(source):
        reason = (
            f"cell {index} opens the URL with {opener.group(0).rstrip('(').strip()}, which cannot read a "
            "local path; read it with pandas or open() first"
        )
    settings = {**dict((cell.get("metadata") or {}).get(METADATA_KEY) or {}), "vendored": vendored}
    return Fix(
        id=f"vendor-data-{verified_cell}",
        kind="vendor-data",
        choice=None,
        cell=index,
        cause_kind="data",
        description=f"download {', '.join(literal or urls)} once into {DATA_FOLDER}/, read the local copy in "
        f"cell {index} and record its hash, then re-execute and save the outputs",
        edits=(
            {"op": "set_source", "cell": index, "source": new_source},
            {"op": "set_cell_metadata", "cell": index, "key": METADATA_KEY, "value": settings},
        ),
        files=tuple(files),
        available=reason is None,
        reason=reason,
        pending=("download", "outputs"),
        group=f"vendor-data-{verified_cell}",
    )


def _replace_literal(source: str, url: str, path: str) -> str:
    """``source`` with the string literal ``url`` (in either quotes) replaced by ``path``."""
    return re.sub(
        rf"""(['"]){re.escape(url)}\1""", lambda found: f"{found.group(1)}{path}{found.group(1)}", source
    )


def with_hashes(fix: Fix, hashes: Mapping[str, str]) -> Fix:
    """``fix`` with the content hash of each downloaded file (by its relative path) recorded."""
    edits = []
    for edit in fix.edits:
        value = edit.get("value")
        if (
            edit.get("op") == "set_cell_metadata"
            and edit.get("key") == METADATA_KEY
            and isinstance(value, Mapping)
        ):
            vendored = {
                path: {**dict(entry), "hash": hashes.get(path, entry.get("hash"))}
                for path, entry in dict(value.get("vendored") or {}).items()
            }
            edit = {**edit, "value": {**dict(value), "vendored": vendored}}
        edits.append(edit)
    return replace(fix, edits=tuple(edits), pending=tuple(p for p in fix.pending if p != "download"))


def _file_name(url: str) -> str:
    tail = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", tail).lstrip(".")
    return (
        name
        if name and "." in name and not re.fullmatch(r"[\d.]+(:\d+)?", tail)
        else f"{name or 'download'}.dat"
    )


def _free_name(name: str, taken: set[str]) -> str:
    stem, dot, suffix = name.rpartition(".")
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{stem}-{number}{dot}{suffix}" if dot else f"{name}-{number}"
    return candidate


# ------------------------------------------------------------------------------------------- helpers


def _settings(notebook: Mapping[str, Any]) -> dict[str, Any]:
    value = (notebook.get("metadata") or {}).get(METADATA_KEY)
    return dict(value) if isinstance(value, Mapping) else {}


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
