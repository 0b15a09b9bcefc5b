"""Edit operations on a notebook, and the text diffs that preview them (pure: no I/O).

A fix (:mod:`jupyter_repro.fix_plan`) is a list of edit operations, not a rewritten file, because the
same list has two consumers: the CLI applies it to the file (:func:`apply_edits`), and JupyterLab
applies it to the open notebook's document model, where each operation is one undoable change. The
operations (``docs/rest-api.md``, "Fixes"), applied in order, each seeing the notebook after the
previous one; indices are cell indices in the whole notebook, markdown included:

* ``{"op": "insert_cell", "index": i, "cell": {"cell_type", "source", "metadata"}}``
* ``{"op": "move_cell", "from": i, "to": j}`` (``to`` is the index the cell has afterwards)
* ``{"op": "set_source", "cell": i, "source": str}``
* ``{"op": "set_cell_metadata", "cell": i, "key": str, "value": any}`` (``None`` deletes the key)
* ``{"op": "set_outputs", "cell": i, "outputs": [nbformat outputs], "execution_count": int | None}``
* ``{"op": "set_notebook_metadata", "key": str, "value": any}`` (``None`` deletes the key)

The preview of a fix is a unified diff of a plain-text rendering of the notebook (each cell's header
with its tags, its source, its metadata and what its outputs show) and of any side file.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jupyter_repro.errors import FixError

Edit = Mapping[str, Any]


class EditError(FixError):
    """An edit operation does not fit the notebook it is applied to (a bug, or a stale plan)."""


# ---------------------------------------------------------------------------------------- applying


def apply_edits(notebook: Mapping[str, Any], edits: Iterable[Edit]) -> dict[str, Any]:
    """A copy of the nbformat dict ``notebook`` with ``edits`` applied in order (the input is unchanged)."""
    result = copy.deepcopy(dict(notebook))
    cells: list[dict[str, Any]] = result.setdefault("cells", [])
    for edit in edits:
        _apply_one(result, cells, edit)
    return result


def _apply_one(notebook: dict[str, Any], cells: list[dict[str, Any]], edit: Edit) -> None:
    op = edit.get("op")
    if op == "insert_cell":
        index = _index(edit.get("index"), len(cells) + 1, op)
        cells.insert(index, _new_cell(edit.get("cell") or {}, cells))
    elif op == "move_cell":
        source = _index(edit.get("from"), len(cells), op)
        target = _index(edit.get("to"), len(cells), op)
        cells.insert(target, cells.pop(source))
    elif op == "set_source":
        cells[_index(edit.get("cell"), len(cells), op)]["source"] = str(edit.get("source", ""))
    elif op == "set_cell_metadata":
        cell = cells[_index(edit.get("cell"), len(cells), op)]
        _set_key(cell.setdefault("metadata", {}), str(edit["key"]), edit.get("value"))
    elif op == "set_outputs":
        cell = cells[_index(edit.get("cell"), len(cells), op)]
        if cell.get("cell_type") != "code":
            raise EditError(f"set_outputs on cell {edit.get('cell')}, which is not a code cell")
        cell["outputs"] = copy.deepcopy(list(edit.get("outputs") or []))
        cell["execution_count"] = edit.get("execution_count")
    elif op == "set_notebook_metadata":
        _set_key(notebook.setdefault("metadata", {}), str(edit["key"]), edit.get("value"))
    else:
        raise EditError(f"unknown edit operation {op!r}")


def _index(value: Any, limit: int, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise EditError(f"{op}: cell index {value!r} is outside the notebook (0..{limit - 1})")
    return value


def _set_key(target: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = copy.deepcopy(value)


def _new_cell(spec: Mapping[str, Any], cells: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A full nbformat cell from an ``insert_cell`` spec, with an id no other cell has."""
    cell_type = str(spec.get("cell_type", "code"))
    cell: dict[str, Any] = {
        "cell_type": cell_type,
        "metadata": copy.deepcopy(dict(spec.get("metadata") or {})),
        "source": str(spec.get("source", "")),
    }
    if cell_type == "code":
        cell["outputs"] = copy.deepcopy(list(spec.get("outputs") or []))
        cell["execution_count"] = spec.get("execution_count")
    if any("id" in other for other in cells):
        taken = {other.get("id") for other in cells}
        wanted = str(spec.get("id") or "repro-fix")
        candidate, number = wanted, 1
        while candidate in taken:
            number += 1
            candidate = f"{wanted}-{number}"
        cell["id"] = candidate
    return cell


def moved_origins(origins: Sequence[int | None], edits: Iterable[Edit]) -> list[int | None]:
    """Follow cells through ``edits``: ``origins[i]`` is where today's cell ``i`` was when the notebook
    was verified (None for a cell a fix inserted). Fixes applied one after another (``--apply all``)
    keep pointing at the cells the verification talked about."""
    result = list(origins)
    for edit in edits:
        if edit.get("op") == "insert_cell":
            result.insert(int(edit["index"]), None)
        elif edit.get("op") == "move_cell":
            result.insert(int(edit["to"]), result.pop(int(edit["from"])))
    return result


def describe_changes(edits: Sequence[Edit], files: Sequence[str] = ()) -> str:
    """One line saying what ``edits`` (and writing ``files``) change, for the apply's answer."""
    parts: list[str] = []
    outputs = [str(edit["cell"]) for edit in edits if edit.get("op") == "set_outputs"]
    for edit in edits:
        op = edit.get("op")
        if op == "insert_cell":
            parts.append(f"inserted cell {edit['index']}")
        elif op == "move_cell":
            parts.append(f"moved cell {edit['from']} to {edit['to']}")
        elif op == "set_source":
            parts.append(f"changed the source of cell {edit['cell']}")
        elif op == "set_cell_metadata":
            parts.append(f"set metadata '{edit['key']}' of cell {edit['cell']}")
        elif op == "set_notebook_metadata":
            parts.append(f"set the notebook's metadata '{edit['key']}'")
    if outputs:
        parts.append(f"saved new outputs in cell {', '.join(outputs)}")
    parts.extend(f"wrote {name}" for name in files)
    return "; ".join(parts) or "nothing"


# ---------------------------------------------------------------------------------------- previews


def notebook_diff(before: Mapping[str, Any], after: Mapping[str, Any], name: str) -> str:
    """The unified diff of two states of a notebook, as text a reader can follow."""
    return _unified(render_notebook(before), render_notebook(after), name, f"{name} (fixed)")


def file_diff(before: str | None, after: str, name: str) -> str:
    """The unified diff that writing ``after`` into side file ``name`` (absent: ``before`` None) makes."""
    return _unified(
        (before or "").splitlines(), after.splitlines(), "/dev/null" if before is None else name, name
    )


def _unified(before: list[str], after: list[str], old: str, new: str) -> str:
    lines = difflib.unified_diff(before, after, fromfile=old, tofile=new, n=2, lineterm="")
    return "\n".join(lines)


def render_notebook(notebook: Mapping[str, Any]) -> list[str]:
    """The notebook as lines: jupyter-repro's metadata, then each cell's header, source, metadata and
    outputs. Only what a fix may change is shown, so a preview is short."""
    lines: list[str] = []
    settings = (notebook.get("metadata") or {}).get("jupyter_repro")
    if settings:
        lines.append("# notebook metadata jupyter_repro:")
        lines.extend(json.dumps(settings, indent=1, sort_keys=True, default=str).splitlines())
    for cell in notebook.get("cells") or []:
        lines.extend(_render_cell(cell))
    return lines


def _render_cell(cell: Mapping[str, Any]) -> list[str]:
    """A cell's lines; its index is not shown, so a moved or inserted cell does not renumber the rest."""
    metadata = dict(cell.get("metadata") or {})
    tags = metadata.pop("tags", None)
    lines = [f"# %% {cell.get('cell_type', 'code')} cell" + (f" (tags: {', '.join(tags)})" if tags else "")]
    lines.extend(_text(cell.get("source")).splitlines())
    if metadata.get("jupyter_repro"):
        lines.append(
            f"# metadata: {json.dumps({'jupyter_repro': metadata['jupyter_repro']}, sort_keys=True)}"
        )
    if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
        lines.append(f"# outputs (execution count {cell.get('execution_count')}):")
        for output in cell.get("outputs") or []:
            lines.extend(output_text(output).splitlines())
    return lines


def output_text(output: Mapping[str, Any]) -> str:
    """What an output shows, as text: stream text, the plain text of a result, an error's name and value,
    a placeholder for an image."""
    kind = output.get("output_type")
    if kind == "stream":
        return _text(output.get("text"))
    if kind == "error":
        return f"{output.get('ename', '')}: {output.get('evalue', '')}"
    data = output.get("data") or {}
    if "text/plain" in data:
        return _text(data["text/plain"])
    return " ".join(f"<{mime}>" for mime in sorted(data)) or f"<{kind}>"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(item) for item in value)
    return "" if value is None else str(value)
