"""One-click fixes, carried out: the verification they start from, downloads, re-execution, writing.

The plan is pure (:mod:`jupyter_repro.fix_plan`); this adapter gathers what it needs and does what it
says:

* **Listing** (:func:`list_fixes`) reads the notebook's last verification from the ledger. When there
  is none, or the notebook changed since (its content hash differs from the one the ledger recorded),
  it verifies first, exactly as ``jupyter repro verify NB`` does. It never writes the notebook or the
  project; only that verification's ledger rows and run folder are written.
* **Applying** (:func:`apply_fixes`) completes what the plan left for the apply (``pending``): the
  lock is compiled, files are downloaded into ``data/`` beside the notebook, and a notebook whose code
  changed is re-executed (a hidden copy ``.NAME.repro-fix-XXXX.ipynb`` in the notebook's folder, so
  relative paths read the same files, removed afterwards; it is recorded in the ledger as a ``run``),
  and the outputs that re-execution made are saved. Side files are written atomically; the notebook
  is backed up under the repro home (``backups/``, :func:`jupyter_repro.layout.backup_path`; a backup
  is never overwritten) and written atomically through :mod:`jupyter_repro.notebook`. With
  ``target="model"`` only the side files are written and the edits are returned for JupyterLab to
  apply to the open notebook.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jupyter_repro import layout
from jupyter_repro.errors import FixError
from jupyter_repro.fix_edits import Edit, apply_edits, describe_changes, moved_origins
from jupyter_repro.fix_plan import (
    DATA_FOLDER,
    REQUIREMENTS_FILE,
    ExecutedCell,
    Fix,
    FixContext,
    SideFile,
    Verified,
    apply_order,
    plan_fixes,
    refreshed_outputs,
    with_hashes,
)
from jupyter_repro.fsio import write_atomically, write_errors_named
from jupyter_repro.hashing import hash_bytes

Target = Literal["file", "model"]
DOWNLOAD_TIMEOUT_S = 60.0
ALL = "all"


@dataclass(frozen=True)
class FixListing:
    """The fixes of a notebook's last verification (``fix --json``, ``GET fixes``)."""

    notebook: str
    run_id: str
    verdict: str
    fixes: tuple[Fix, ...]
    verified_now: bool
    """A verification ran for this listing (there was none, or the notebook changed since)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "run_id": self.run_id,
            "verdict": self.verdict,
            "verified_now": self.verified_now,
            "fixes": [fix.to_json() for fix in self.fixes],
        }


@dataclass(frozen=True)
class Applied:
    fix: Fix
    changed: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.fix.id,
            "kind": self.fix.kind,
            "description": self.fix.description,
            "changed": self.changed,
        }


@dataclass(frozen=True)
class ApplyResult:
    """What ``fix --apply`` did (``fix --apply ID --json``, ``POST fixes``)."""

    notebook: str
    target: Target
    applied: tuple[Applied, ...]
    backup: str | None
    edits: tuple[Edit, ...]
    files: tuple[SideFile, ...]
    run_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "target": self.target,
            "run_id": self.run_id,
            "applied": [item.to_json() for item in self.applied],
            "backup": self.backup,
            "edits": [dict(edit) for edit in self.edits],
            "files": [item.to_json() for item in self.files],
        }


@dataclass
class _State:
    """The notebook being fixed, as the fixes applied so far left it."""

    path: Path
    shown: str
    home: Path
    context: FixContext
    files: list[SideFile] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)


# -------------------------------------------------------------------------------------------- listing


def list_fixes(notebook_path: str | Path, *, home: str | None = None) -> FixListing:
    """The fixes for the notebook's last verification (verifying first when needed)."""
    state, verified_now = _start(notebook_path, home)
    verified = state.context.verified
    return FixListing(
        notebook=state.shown,
        run_id=verified.run_id,
        verdict=verified.verdict,
        fixes=tuple(plan_fixes(state.context)),
        verified_now=verified_now,
    )


def _start(notebook_path: str | Path, home_option: str | None) -> tuple[_State, bool]:
    from jupyter_repro.home import find_home
    from jupyter_repro.ledger import Ledger
    from jupyter_repro.notebook import load_notebook
    from jupyter_repro.snapshot import notebook_content_hash

    path, shown = Path(notebook_path), str(notebook_path)
    notebook = load_notebook(path)
    home = find_home(path, home_option)
    with Ledger.open(home) as ledger:
        record = ledger.last_run(path.resolve(), kind="verify")
    document = None if record is None else record.result
    current = record is not None and record.notebook_hash == notebook_content_hash(notebook)
    if document is None or not current or not _executed_path(home, document).exists():
        document = _verify(path, home)
        notebook = load_notebook(path)
        verified_now = True
    else:
        verified_now = False
    context = FixContext(
        name=shown,
        notebook=_plain(notebook),
        verified=_verified(document, _executed_path(home, document)),
        side_files=_side_files(path),
        data_files=_data_files(path),
    )
    return _State(path, shown, home, context), verified_now


def _verify(path: Path, home: Path) -> Mapping[str, Any]:
    from jupyter_repro.runner import RunOptions
    from jupyter_repro.verify import VerifyOptions, verify_notebook

    verification = verify_notebook(path, VerifyOptions(run=RunOptions(home=str(home))))
    return verification.result.to_json()


def _executed_path(home: Path, document: Mapping[str, Any]) -> Path:
    return layout.executed_notebook_path(home, str(document["run_id"]))


def _verified(document: Mapping[str, Any], executed_path: Path) -> Verified:
    """The facts of a verification's ``--json`` document and its executed notebook."""
    from jupyter_repro.notebook import load_notebook

    here = (document.get("evidence") or {}).get("here") or {}
    statuses = {int(cell["index"]): str(cell["status"]) for cell in document.get("cells") or []}
    executed = load_notebook(executed_path)
    cells = {
        index: ExecutedCell(
            outputs=tuple(_plain(output) for output in cell.get("outputs") or []),
            execution_count=cell.get("execution_count"),
            raised=statuses.get(index) == "error",
        )
        for index, cell in enumerate(executed.cells)
        if cell.get("cell_type") == "code" and cell.get("execution_count") is not None
    }
    return Verified(
        run_id=str(document["run_id"]),
        verdict=str(document.get("verdict")),
        seed=int(document.get("seed") or 0),
        causes=tuple(document.get("causes") or ()),
        executed=cells,
        packages=dict(here.get("packages") or {}),
        lock=here.get("lock"),
    )


def _side_files(path: Path) -> dict[str, str | None]:
    target = path.parent / REQUIREMENTS_FILE
    try:
        return {REQUIREMENTS_FILE: target.read_text(encoding="utf-8")}
    except (OSError, UnicodeDecodeError):
        return {REQUIREMENTS_FILE: None}


def _data_files(path: Path) -> frozenset[str]:
    folder = path.parent / DATA_FOLDER
    return frozenset(item.name for item in folder.iterdir()) if folder.is_dir() else frozenset()


def _plain(node: Any) -> Any:
    """An nbformat node (or any JSON value) as plain dicts and lists."""
    return json.loads(json.dumps(node))


# ------------------------------------------------------------------------------------------- applying


def apply_fixes(
    notebook_path: str | Path, fix_id: str, *, home: str | None = None, target: Target = "file"
) -> ApplyResult:
    """Apply fix ``fix_id`` (or ``all``) to the notebook; see the module docstring."""
    state, _ = _start(notebook_path, home)
    fixes = plan_fixes(state.context)
    chosen = apply_order(fixes) if fix_id == ALL else [_find(state, fixes, fix_id)]
    applied = []
    for wanted in chosen:
        # planned again on the notebook as the fixes before it left it (cells may have moved)
        fix = next((f for f in plan_fixes(state.context) if f.id == wanted.id and f.available), None)
        if fix is not None:
            applied.append(_apply_one(state, fix))
    for item in state.files:  # written once every fix is computed: a failed one writes none
        if item.action == "write":
            _write_side_file(state, item)
    backup = None
    if target == "file" and applied:  # ``--apply all`` with nothing available writes nothing
        backup = str(_backup(state.path, state.home))
        _write_notebook(state.path, state.context.notebook)
    return ApplyResult(
        notebook=state.shown,
        target=target,
        applied=tuple(applied),
        backup=backup,
        edits=tuple(state.edits),
        files=tuple(state.files),
        run_id=state.context.verified.run_id,
    )


def _find(state: _State, fixes: Sequence[Fix], fix_id: str) -> Fix:
    found = next((fix for fix in fixes if fix.id == fix_id), None)
    if found is None:
        verified = state.context.verified
        if not fixes:
            raise FixError(
                f"no fix '{fix_id}': the last verification (run {verified.run_id}, {verified.verdict}) "
                "found nothing to fix",
                notebook=state.shown,
            )
        valid = ", ".join([fix.id for fix in fixes] + [ALL])
        raise FixError(f"no fix '{fix_id}' (valid ids: {valid})", notebook=state.shown)
    if not found.available:
        raise FixError(f"fix '{fix_id}' cannot be applied: {found.reason}", notebook=state.shown)
    return found


def _apply_one(state: _State, fix: Fix) -> Applied:
    if "lock" in fix.pending:
        fix = _with_lock(state, fix)
    if "download" in fix.pending:
        fix = with_hashes(fix, _download(state, fix.files))
    if "outputs" in fix.pending:
        fix = _with_outputs(state, fix)
    context = state.context
    state.context = dataclasses.replace(
        context,
        notebook=apply_edits(context.notebook, fix.edits),
        origins=tuple(moved_origins(context.origins, fix.edits)),
        side_files={**context.side_files, **{f.path: f.content for f in fix.files if f.action == "write"}},
        data_files=_data_files(state.path),
    )
    state.edits.extend(fix.edits)
    state.files.extend(fix.files)
    return Applied(fix, describe_changes(fix.edits, [item.path for item in fix.files]))


def _with_lock(state: _State, fix: Fix) -> Fix:
    """Compile the lock of the verified versions (pip-compile, cached in the repro home), then re-plan."""
    from jupyter_repro.env import capture_for_notebook, lock_environment
    from jupyter_repro.pipeline import build_pipeline

    notebook = state.context.notebook
    pipeline = build_pipeline(notebook, state.shown)
    snapshot = lock_environment(
        capture_for_notebook(state.path, notebook, state.home), pipeline.imported_modules, state.home
    )
    if snapshot.lock is None:
        raise FixError(
            f"cannot compile the lock: {snapshot.lock_error}",
            notebook=state.shown,
            hint="pip-compile needs the package index; choose pin-requirements instead",
        )
    lock = {key: value for key, value in snapshot.lock.to_dict().items() if key != "excluded"}
    verified = dataclasses.replace(state.context.verified, lock=lock)
    state.context = dataclasses.replace(state.context, verified=verified)
    return next(f for f in plan_fixes(state.context) if f.id == fix.id)


def _download(state: _State, files: Sequence[SideFile]) -> dict[str, str]:
    """Download each file once into the project (atomically); their content hashes by relative path."""
    hashes = {}
    for item in files:
        if item.action != "download" or item.url is None:
            continue
        try:
            with urllib.request.urlopen(item.url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            raise FixError(
                f"cannot download {item.url}: {reason}",
                notebook=state.shown,
                hint="check the URL, then retry",
            ) from None
        with write_errors_named(item.path):
            write_atomically(state.path.parent / item.path, data)
        hashes[item.path] = hash_bytes(data)
    return hashes


def _with_outputs(state: _State, fix: Fix) -> Fix:
    """``fix`` with the outputs a re-execution of the notebook, as fixed, makes."""
    candidate = apply_edits(state.context.notebook, fix.edits)
    executed = _re_execute(state, candidate)
    inserted = [int(edit["index"]) for edit in fix.edits if edit.get("op") == "insert_cell"]
    outputs = refreshed_outputs(candidate, executed, always=inserted)
    return dataclasses.replace(
        fix, edits=(*fix.edits, *outputs), pending=tuple(p for p in fix.pending if p != "outputs")
    )


def _re_execute(state: _State, candidate: Mapping[str, Any]) -> dict[int, ExecutedCell]:
    """Run ``candidate`` headlessly from the notebook's folder (no cache); each code cell's result."""
    from jupyter_repro.notebook import load_notebook
    from jupyter_repro.runner import RunOptions, run_pipeline

    copy = state.path.parent / f".{state.path.stem}.repro-fix-{secrets.token_hex(4)}.ipynb"
    _write_notebook(copy, candidate)
    try:
        outcome = run_pipeline(copy, RunOptions(kind="run", no_cache=True, home=str(state.home)))
    finally:
        copy.unlink(missing_ok=True)
    if outcome.result.failure is not None:
        raise FixError(
            f"re-executing the fixed notebook failed: {outcome.result.failure}",
            notebook=state.shown,
            hint="the notebook was not changed",
        )
    counts = [cell.get("execution_count") for cell in load_notebook(outcome.executed_notebook).cells]
    return {
        index: ExecutedCell(tuple(_plain(o) for o in outputs), counts[index], index in outcome.errors)
        for index, outputs in outcome.outputs.items()
    }


# -------------------------------------------------------------------------------------------- writing


def _write_side_file(state: _State, item: SideFile) -> None:
    target = state.path.parent / item.path
    if target.exists():
        _backup(target, state.home)
    with write_errors_named(item.path):
        write_atomically(target, item.content or "")


def _backup(path: Path, home: Path) -> Path:
    """Copy ``path`` into the repro home's backups, under a name no earlier backup has."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    data = path.read_bytes()
    with write_errors_named("the backup"):
        layout.backups_dir(home).mkdir(parents=True, exist_ok=True)
        for number in range(1, 1000):
            target = layout.backup_path(home, path.name, stamp, number)
            try:
                with target.open("xb") as stream:  # exclusive: an earlier backup is never replaced
                    stream.write(data)
            except FileExistsError:
                continue
            return target
    raise FixError("too many backups made this second", path=str(path))


def _write_notebook(path: Path, notebook: Mapping[str, Any]) -> None:
    import nbformat

    from jupyter_repro.notebook import write_notebook_atomically

    node = nbformat.from_dict(_plain(notebook))  # type: ignore[no-untyped-call]
    with write_errors_named(str(path)):
        write_notebook_atomically(node, path)
