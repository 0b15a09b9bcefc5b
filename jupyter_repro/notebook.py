"""Reading the user's notebook: whatever JupyterLab opens is read, only an unreadable file is an error.

This is the single place that opens a source notebook. It never writes: the user's file is only
changed by ``verify --stamp`` and ``fix --apply``, which go through :func:`write_notebook_atomically`.

Notebooks in the wild break nbformat's strict schema in small ways that JupyterLab shrugs off: current
Jupyter writes cell ids into files still marked 4.4 (whose schema forbids them), cells lack
``metadata``, markdown cells carry an ``execution_count``, code cells lack ``outputs``, files are
nbformat 3. JupyterLab opens them all (``jupyter_server`` reads with ``nbformat.reads(...,
as_version=4)`` and only *logs* the validation error; the frontend then rebuilds every cell from the
fields it knows, ``@jupyter/ydoc``'s ``createCell``). :func:`load_notebook` does the same repairs, in
memory, so every caller gets a notebook that validates (papermill and ``nbformat.writes`` validate
what they are given, and the executed copy under ``.repro`` must be valid too):

* nbformat 1-3 are converted to 4 as ``nbformat.convert`` does (without its logged warnings);
* each cell is rebuilt from the fields its type allows: a missing ``metadata``/``outputs``/``source``
  gets its empty value (``outputs`` that are not a list are an error, as in JupyterLab), keys the
  schema forbids are dropped, an unknown cell type becomes ``raw``; outputs likewise (an output of
  unknown type is dropped);
* a 4.0-4.4 file whose cells carry ids, or which its own minor's schema refuses, is read as 4.5;
* metadata nbformat refuses is stripped (``nbformat.validator.normalize(...,
  strip_invalid_metadata=True)``), except cell tags: they are the pipeline, so a tag that cannot be
  read is a :class:`~jupyter_repro.errors.TagError` naming the cell rather than silently dropped.

Unlike nbformat's own upgrade, new cell ids are deterministic (``cell-<index>``): the content hash of a
notebook (:func:`jupyter_repro.snapshot.notebook_content_hash`) is made of the loaded node, and it must
be the same at every load. A notebook that already validates is returned exactly as nbformat reads it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_repro.errors import NotebookError, TagError
from jupyter_repro.fsio import write_atomically

if TYPE_CHECKING:
    from jupyter_repro.model import Pipeline

SUPPORTED_MAJOR = 4
CURRENT_MINOR = 5
"""The newest nbformat 4 minor this module knows the schema of (the first with cell ids)."""

_CELL_KEYS: Mapping[str, frozenset[str]] = {
    "code": frozenset({"id", "cell_type", "metadata", "source", "outputs", "execution_count"}),
    "markdown": frozenset({"id", "cell_type", "metadata", "source", "attachments"}),
    "raw": frozenset({"id", "cell_type", "metadata", "source", "attachments"}),
}
_TOP_KEYS = frozenset({"nbformat", "nbformat_minor", "metadata", "cells"})
_OUTPUT_KEYS: Mapping[str, frozenset[str]] = {
    "stream": frozenset({"output_type", "name", "text"}),
    "display_data": frozenset({"output_type", "data", "metadata"}),
    "execute_result": frozenset({"output_type", "data", "metadata", "execution_count"}),
    "error": frozenset({"output_type", "ename", "evalue", "traceback"}),
}
_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_JSON_MIME = re.compile(r"application/(.*\+)?json")


def load_notebook(path: str | os.PathLike[str]) -> Any:
    """Read ``path`` as a notebook, repaired in memory into a valid nbformat 4 node.

    Raises :class:`NotebookError` (one line, naming the file) when the file is missing, not UTF-8,
    not JSON or not a notebook at all, and :class:`TagError` when a cell's tags are not a list of
    strings. Returns an ``nbformat.NotebookNode`` (typed ``Any``: nbformat is only partly typed).
    """
    return notebook_from_json(read_notebook_json(path), str(path))


def read_notebook_json(path: str | os.PathLike[str]) -> Any:
    """The parsed JSON of the file ``path``, not yet checked to be a notebook: the first half of
    :func:`load_notebook`, with the same errors. It needs only the standard library; nbformat is
    imported by the second half, :func:`notebook_from_json`."""
    nb_path = Path(path)
    shown = str(path)
    if not nb_path.exists():
        raise NotebookError("no such file", notebook=shown, hint="check the path")
    if nb_path.is_dir():
        raise NotebookError("is a directory, not a notebook", notebook=shown)
    try:
        raw = nb_path.read_bytes()
    except OSError as error:
        raise NotebookError(f"cannot read: {error.strerror}", notebook=shown) from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is not an error either
    except UnicodeDecodeError as error:
        raise NotebookError(
            f"not UTF-8 text (invalid byte at offset {error.start})", notebook=shown
        ) from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        where = (
            f" (line {error.lineno}, column {error.colno}: {error.msg})"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        raise NotebookError(
            f"not valid JSON{where}", notebook=shown, hint="is this an .ipynb file?"
        ) from None
    return data


def notebook_from_json(data: Any, shown: str) -> Any:
    """The notebook node for parsed JSON ``data`` (never modified), repaired as :func:`load_notebook`
    describes; ``shown`` names the notebook in errors."""
    import copy

    if not isinstance(data, dict) or "nbformat" not in data or not ("cells" in data or "worksheets" in data):
        raise NotebookError("not a Jupyter notebook (no 'cells'/'nbformat' keys)", notebook=shown)
    major = data["nbformat"]
    if isinstance(major, bool) or not isinstance(major, int) or major < 1:
        raise NotebookError(f"not a Jupyter notebook (nbformat is {major!r})", notebook=shown)
    if major > SUPPORTED_MAJOR:
        raise NotebookError(
            f"nbformat version {major} is newer than this jupyter-repro reads",
            notebook=shown,
            hint="upgrade jupyter-repro and nbformat",
        )
    data = _from_old_format(data, major, shown) if major < SUPPORTED_MAJOR else copy.deepcopy(data)
    return _repaired(data, shown)


# --------------------------------------------------------------------------------------------------
# nbformat 1-3


def _from_old_format(data: dict[str, Any], major: int, shown: str) -> dict[str, Any]:
    """nbformat 1-3 as a version-4 dict, converted as ``nbformat.convert`` does.

    The 3 -> 4 step is ``nbformat.v4.convert.upgrade`` without its two validations, which *log*
    their findings (on the server's log, or stderr in the CLI) about a file we read anyway; the
    random ids it gives cells are dropped (deterministic ones are given later), and so is its
    transient ``orig_nbformat``: ``nbformat.writes`` drops it, and a notebook written back by
    ``verify --stamp`` must hash as the one that was certified.
    """
    import copy

    import nbformat
    from nbformat.v4.convert import upgrade_cell

    try:
        old = nbformat.versions[major].to_notebook_json(copy.deepcopy(data))
        if major < 3:
            old = nbformat.convert(old, 3)  # type: ignore[no-untyped-call]
        cells = [
            upgrade_cell(cell)  # type: ignore[no-untyped-call]
            for worksheet in old.get("worksheets") or []
            for cell in worksheet.get("cells") or []
        ]
    except Exception as error:  # nbformat's old converters fail in assorted ways on malformed files
        detail = (str(error).strip("'") or type(error).__name__).splitlines()[0]  # KeyError's is quoted
        if isinstance(error, AttributeError | KeyError) and detail.isidentifier():
            detail = f"{detail!r} is missing"  # nbformat reads fields as attributes
        raise NotebookError(
            f"not a valid nbformat version {major} notebook: {detail}",
            notebook=shown,
            hint="JupyterLab cannot open it either",
        ) from None
    metadata = dict(old["metadata"]) if isinstance(old.get("metadata"), dict) else {}
    metadata.pop("name", None)
    metadata.pop("signature", None)
    for cell in cells:
        cell.pop("id", None)
    return {"nbformat": 4, "nbformat_minor": CURRENT_MINOR, "metadata": metadata, "cells": cells}


# --------------------------------------------------------------------------------------------------
# nbformat 4: repair, then the first reading nbformat's schema accepts


def _repaired(data: dict[str, Any], shown: str) -> Any:
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    minor = data.get("nbformat_minor")
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        minor = 0
    data["nbformat_minor"] = minor
    known_schema = minor <= CURRENT_MINOR
    if known_schema:
        for key in set(data) - _TOP_KEYS:
            del data[key]
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    _repair_kernelspec(data["metadata"])
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise NotebookError("not a valid notebook: 'cells' is not a list", notebook=shown)
    data["cells"] = [_cell(cell, index, shown, known_schema) for index, cell in enumerate(cells)]

    error = None
    for candidate in _readings(data, minor):
        error = _first_error(candidate)
        if error is None:
            try:
                return rejoin_lines(nbformat.from_dict(candidate))  # type: ignore[no-untyped-call]
            except (TypeError, ValueError, AttributeError, KeyError) as failure:
                error = str(failure)
                break
    message = error.splitlines()[0] if error else "unknown error"
    raise NotebookError(f"not a valid notebook: {message}", notebook=shown)


def _readings(data: dict[str, Any], minor: int) -> Iterator[dict[str, Any]]:
    """The notebook as it is, then stripped of invalid metadata, then both again as 4.5 (with ids).

    The first that validates is used, so a notebook nbformat accepts is not changed at all. A
    pre-4.5 file whose cells carry ids skips its own minor: its schema refuses every id.
    """
    import copy

    has_ids = any("id" in cell for cell in data["cells"])
    if minor >= CURRENT_MINOR:
        _give_ids(data["cells"])
    if minor >= CURRENT_MINOR or not has_ids:
        yield data
        yield _stripped(data)
    if minor < CURRENT_MINOR:
        upgraded = copy.deepcopy(data)
        upgraded["nbformat_minor"] = CURRENT_MINOR
        _give_ids(upgraded["cells"])
        yield upgraded
        yield _stripped(upgraded)


SMALL_NOTEBOOK_CELLS = 64
"""Up to this many cells, nbformat's ``jsonschema`` validator is the faster one: the default
``fastjsonschema`` first compiles the schema into Python (0.05 s in every process), then validates
a cell in microseconds where ``jsonschema`` takes about half a millisecond."""


def _first_error(data: Mapping[str, Any]) -> str | None:
    """nbformat's first validation message, or None (neither repairs nor warns, as ``iter_validate``).

    A notebook of up to :data:`SMALL_NOTEBOOK_CELLS` cells is checked by the ``jsonschema`` validator
    (the one nbformat reports errors with anyway), a larger one by nbformat's default.
    """
    from nbformat.validator import get_validator, iter_validate

    cells, minor = data.get("cells"), data.get("nbformat_minor")
    small = isinstance(cells, list) and len(cells) <= SMALL_NOTEBOOK_CELLS
    validator = None
    if small and data.get("nbformat") == 4 and isinstance(minor, int):
        validator = get_validator(4, minor, name="jsonschema")  # type: ignore[no-untyped-call]
    if validator is not None:
        first = next(iter(validator.iter_errors(data)), None)
    else:
        first = next(iter(iter_validate(data)), None)  # type: ignore[no-untyped-call]
    if first is None:
        return None
    return str(getattr(first, "message", first))


def _stripped(data: dict[str, Any]) -> dict[str, Any]:
    """A copy without the metadata nbformat's schema refuses (nbformat's own repair)."""
    import warnings

    from nbformat.validator import normalize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, stripped = normalize(data, strip_invalid_metadata=True)
        except Exception:  # nbformat's repair walks the error tree; a notebook it cannot walk stays as is
            return data
    return dict(stripped)


def _give_ids(cells: list[dict[str, Any]]) -> None:
    """Every cell a valid, unique id; a valid id is kept (the first of duplicates), others are
    ``cell-<index>`` (made unique): deterministic, unlike nbformat's random ones."""
    taken: set[str] = set()
    missing = []
    for index, cell in enumerate(cells):
        value = cell.get("id")
        if isinstance(value, str) and _CELL_ID.fullmatch(value) and value not in taken:
            taken.add(value)
        else:
            missing.append(index)
    for index in missing:
        candidate, suffix = f"cell-{index}", 1
        while candidate in taken:
            suffix += 1
            candidate = f"cell-{index}-{suffix}"
        taken.add(candidate)
        cells[index]["id"] = candidate


def _repair_kernelspec(metadata: dict[str, Any]) -> None:
    """A kernelspec with a name but no display name (hand-written) keeps its name: it picks the kernel."""
    spec = metadata.get("kernelspec")
    if isinstance(spec, dict) and isinstance(spec.get("name"), str) and "display_name" not in spec:
        metadata["kernelspec"] = {**spec, "display_name": spec["name"]}


# --------------------------------------------------------------------------------------------------
# cells and outputs, rebuilt from the fields their type allows (as JupyterLab's model does)


def _cell(cell: Any, index: int, shown: str, known_schema: bool) -> dict[str, Any]:
    if not isinstance(cell, dict):
        raise NotebookError(f"not a valid notebook: cell {index} is not a JSON object", notebook=shown)
    cell_type = cell.get("cell_type")
    if not isinstance(cell_type, str) or cell_type not in _CELL_KEYS:
        cell_type = "raw"  # JupyterLab shows a cell of unknown type as a raw cell
    repaired = dict(cell)
    repaired["cell_type"] = cell_type
    if not isinstance(repaired.get("metadata"), dict):
        repaired["metadata"] = {}
    repaired["metadata"] = _checked_tags(repaired["metadata"], index, shown)
    repaired["source"] = _multiline(repaired.get("source"))
    if cell_type == "code":
        outputs = repaired.get("outputs")
        if outputs is not None and not isinstance(outputs, list):  # JupyterLab cannot open this either
            raise NotebookError(
                f"not a valid notebook: cell {index}: 'outputs' is not a list", notebook=shown
            )
        found = (_output(item, known_schema) for item in outputs or [])
        repaired["outputs"] = [output for output in found if output is not None]
        repaired["execution_count"] = _count(repaired.get("execution_count"))
    elif "attachments" in repaired and not isinstance(repaired["attachments"], dict):
        del repaired["attachments"]
    if known_schema:
        for key in set(repaired) - _CELL_KEYS[cell_type]:
            del repaired[key]
    return repaired


def _checked_tags(metadata: dict[str, Any], index: int, shown: str) -> dict[str, Any]:
    """Tags are the pipeline: duplicates are merged, anything nbformat would strip is an error."""
    if "tags" not in metadata:
        return metadata
    tags = metadata["tags"]
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise TagError("cell tags must be a list of strings", notebook=shown, cell=index)
    bad = next((tag for tag in tags if not tag or "," in tag), None)
    if bad is not None:
        raise TagError(
            f"tag {bad!r} is empty or holds a comma, which nbformat does not allow",
            notebook=shown,
            cell=index,
            hint="edit the cell's tags in JupyterLab",
        )
    if len(set(tags)) == len(tags):
        return metadata
    return {**metadata, "tags": list(dict.fromkeys(tags))}


def _output(output: Any, known_schema: bool) -> dict[str, Any] | None:
    """The output with its type's required fields; None for what no Jupyter front end can show.

    A notebook from a future minor keeps outputs of unknown types and unknown fields: nbformat's
    schema for it allows them.
    """
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if not isinstance(kind, str) or kind not in _OUTPUT_KEYS:
        return None if known_schema else output
    allowed = _OUTPUT_KEYS[kind]
    repaired = {key: value for key, value in output.items() if key in allowed or not known_schema}
    if kind == "stream":
        repaired["name"] = output.get("name") if isinstance(output.get("name"), str) else "stdout"
        repaired["text"] = _multiline(output.get("text"))
    elif kind == "error":
        for key in ("ename", "evalue"):
            repaired[key] = output.get(key) if isinstance(output.get(key), str) else str(output.get(key, ""))
        traceback = output.get("traceback")
        repaired["traceback"] = [str(line) for line in traceback] if isinstance(traceback, list) else []
    else:
        repaired["data"] = _mimebundle(output.get("data"))
        repaired["metadata"] = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
        if kind == "execute_result":
            repaired["execution_count"] = _count(output.get("execution_count"))
    return repaired


def _mimebundle(data: Any) -> dict[str, Any]:
    """A mimebundle: JSON types hold anything, the others text (an entry that is not is dropped)."""
    if not isinstance(data, dict):
        return {}
    bundle = {}
    for mime, value in data.items():
        text = isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        if text or _JSON_MIME.fullmatch(str(mime)):
            bundle[mime] = value
    return bundle


def _multiline(value: Any) -> str | list[str]:
    """Source or stream text: a string or a list of strings as saved, anything else as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return value if all(isinstance(line, str) for line in value) else "".join(map(str, value))
    return "" if value is None else str(value)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def load_pipeline(path: str | os.PathLike[str]) -> Pipeline:
    """Read the notebook at ``path`` and build its pipeline.

    Raises NotebookError (unreadable file), TagError (bad tags) or PipelineError (cycle).
    """
    from jupyter_repro.pipeline import build_pipeline

    return build_pipeline(load_notebook(path), str(path))


def write_notebook_atomically(notebook: Any, path: str | os.PathLike[str]) -> None:
    """Write ``notebook`` to ``path`` as ``nbformat.write`` would, atomically: never half a file.

    The new file gets the mode a plain ``open(path, "w")`` would give it (see :mod:`jupyter_repro.fsio`).
    """
    import nbformat

    error = _first_error(notebook)  # as nbformat.writes: an invalid notebook is logged, then written
    if error is not None:
        logging.getLogger(__name__).error("Notebook JSON is invalid: %s", error)
    text = nbformat.v4.writes(notebook)  # type: ignore[no-untyped-call]
    write_atomically(path, text if text.endswith("\n") else text + "\n")
