"""What one executed cell of the generated notebook shows: its outputs and its error, if any.

Kept apart from the runner so the rules about outputs read like the rules they are: JupyterLab's inline
pager, the error output, and IPython's ``UsageError`` (which fails a cell with a line on stderr only).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_repro.model import Pipeline

USAGE_ERROR = "UsageError: "


def show_pager_inline(cell: Any, execute_reply: Mapping[str, Any] | None) -> None:
    """Add what IPython sent to the pager (``%prun``, ``obj?``, ``%pinfo``, ``%page``) as an output.

    The pager's text is no output message but a ``page`` payload of the execute reply. JupyterLab shows
    the first such payload inline as a ``display_data`` output and saves it with the notebook; nbclient
    drops it. Doing what JupyterLab does keeps a notebook saved there comparable with a headless run.
    """
    payloads = ((execute_reply or {}).get("content") or {}).get("payload") or []
    page = next((item for item in payloads if item.get("source") == "page"), None)
    if page is not None and page.get("data"):
        import nbformat

        output = nbformat.v4.new_output("display_data", data=page["data"], metadata={})  # type: ignore[no-untyped-call]
        cell.outputs.append(output)


def cell_error(cell: Mapping[str, Any]) -> dict[str, Any] | None:
    """The cell's error (``ename``, ``evalue``, ``traceback``), or None if it did not fail."""
    outputs = cell.get("outputs", [])
    error = next((o for o in outputs if o.get("output_type") == "error"), None)
    if error is not None:
        return {
            "ename": error.get("ename", ""),
            "evalue": error.get("evalue", ""),
            "traceback": list(error.get("traceback", [])),
        }
    if cell.get("metadata", {}).get("papermill", {}).get("exception"):
        # IPython's UsageError (an unknown magic, bad magic arguments) fails the cell with only a
        # line on stderr: name it like an error, so the step fails on this cell and says why
        message = usage_error(outputs) or "the cell failed without an error output"
        return {"ename": "UsageError", "evalue": message, "traceback": []}
    return None


def usage_error(outputs: Sequence[Mapping[str, Any]]) -> str | None:
    """The message of an IPython ``UsageError`` printed on stderr, if the outputs hold one."""
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            text = "".join(output.get("text", ""))
            if text.startswith(USAGE_ERROR):
                return text[len(USAGE_ERROR) :].strip().splitlines()[0]
    return None


def expected_error_cells(pipeline: Pipeline, source: Any) -> frozenset[int]:
    """Code cells meant to raise: declared so, or saved with an error output (a teaching notebook's
    ``1/0``, an exploratory session that went on past an exception)."""
    declared = {cell.index for cell in pipeline.cells if cell.raises_exception}
    saved = {
        index
        for index, cell in enumerate(source.cells)
        if cell.get("cell_type") == "code"
        and (
            any(output.get("output_type") == "error" for output in cell.get("outputs", []))
            or usage_error(cell.get("outputs", [])) is not None
        )
    }
    return frozenset(declared | saved)


def executed_notebook(
    source: Any, outputs: Mapping[int, Sequence[Mapping[str, Any]]], key: str, marks: Mapping[str, Any]
) -> Any:
    """A copy of the source notebook (same cell indices) showing a run's ``outputs``, numbered in order;
    cells without outputs in the run are shown as never executed. ``marks`` go into ``metadata[key]``."""
    notebook = copy.deepcopy(source)
    counter = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        if index in outputs:
            counter += 1
            cell.outputs = [_as_output(output, counter) for output in outputs[index]]
            cell.execution_count = counter
        else:
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata[key] = {**dict(notebook.metadata.get(key, {})), **marks}
    return notebook


def _as_output(output: Mapping[str, Any], counter: int) -> Any:
    import nbformat

    node = nbformat.from_dict(copy.deepcopy(dict(output)))  # type: ignore[no-untyped-call]
    if node.get("output_type") == "execute_result":
        node["execution_count"] = counter
    return node
