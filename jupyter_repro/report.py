"""The self-contained HTML report of a verification (no scripts, no external resources).

One page a reviewer can open from a CI artifact or an email: the verdict and its causes, each
differing cell with its saved and new output side by side (images as images), the environment and
the step timings. Everything user-provided is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from jupyter_repro.compare import CellComparison, NormalisedOutput
from jupyter_repro.results import Cause, RunResult

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:.2em .7em;border-radius:1em;color:#fff;font-weight:600}
.reproducible{background:#2e7d32}.diverged{background:#e65100}.failed{background:#c62828}
table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}.side pre{margin:0}
pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:28em;white-space:pre-wrap}
.status-match{color:#2e7d32}.status-differ{color:#e65100}.status-error{color:#c62828}
.status-unverified,.status-ignored{color:#777}img{max-width:100%;border:1px solid #ddd}
"""


def render_report(result: RunResult) -> str:
    """The whole HTML page for a verification's ``result``."""
    document = result.to_json()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>jupyter-repro: {_e(result.notebook)} {_e(result.verdict)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(result.notebook)} <span class='verdict {_e(result.verdict)}'>"
        f"{_e(result.verdict)}</span></h1>",
        f"<p>Run <code>{_e(result.run_id)}</code>, seed {_e(result.seed)}, parameters "
        f"<code>{_e(document['parameters'])}</code>, {_e(result.runs or 1)} headless run(s).</p>",
        _causes(result.causes),
        _cells_table(document["cells"]),
        *(
            _cell_detail(cell.comparison, _of_cell(result.causes, cell.index))
            for cell in result.cells
            if cell.differs
        ),
        _steps_table(document["steps"]),
        _changes(document.get("changes_since")),
        _isolation(document.get("isolated")),
        f"<h2>Environment</h2><p>Environment hash <code>{_e(result.environment_hash)}</code>.</p>",
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def _of_cell(causes: Iterable[Cause], index: int) -> list[Cause]:
    return [cause for cause in causes if cause.cell == index]


def _cause_item(c: Cause) -> str:
    where = f"{' (step ' + _e(c.step) + ')' if c.step else ''}"
    where += f"{' (cell ' + _e(c.cell) + ')' if c.cell is not None else ''}"
    hint = f"<br><i>What to do:</i> {_e(c.hint)}" if c.hint else ""
    return f"<li><b>{_e(c.kind)}</b>{where}: {_e(c.detail)}{hint}</li>"


def _causes(causes: Iterable[Cause]) -> str:
    items = [_cause_item(c) for c in causes]
    return "<h2>Causes</h2><ul>" + "".join(items) + "</ul>" if items else ""


def _cells_table(cells: Iterable[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{c['index']}</td><td>{_e(c.get('step'))}</td>"
        f"<td class='status-{_e(c['status'])}'>{_e(c['status'])}</td><td>{_e(c.get('reason', ''))}</td></tr>"
        for c in cells
    ]
    return (
        "<h2>Cells</h2><table><tr><th>cell</th><th>step</th><th>status</th><th>why</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _cell_detail(comparison: CellComparison, causes: Iterable[Cause]) -> str:
    parts = [f"<h2 id='cell-{comparison.index}'>Cell {comparison.index}: {_e(comparison.status)}</h2>"]
    parts.append(f"<p>{_e(comparison.reason)}</p>")
    items = [_cause_item(c) for c in causes]
    if items:
        parts.append("<ul class='causes'>" + "".join(items) + "</ul>")
    parts.append(
        "<div class='side'><div><h3>saved</h3>"
        + _outputs_html(comparison.saved)
        + "</div><div><h3>new</h3>"
        + _outputs_html(comparison.new)
        + "</div></div>"
    )
    for image in comparison.images:
        parts.append(
            "<div class='side'>"
            + _image("saved", image.saved_mime, image.saved_data)
            + _image("new", image.new_mime, image.new_data)
            + f"</div><p>{_e(image.describe())}</p>"
        )
    if comparison.diff:
        parts.append(f"<details open><summary>diff</summary><pre>{_e(comparison.diff)}</pre></details>")
    return "".join(parts)


def _image(side: str, mime: str, data: str) -> str:
    return f"<div><img alt='{side} image' src='data:{_e(mime)};base64,{_e(data)}'></div>"


def _outputs_html(outputs: Iterable[NormalisedOutput]) -> str:
    texts = [f"<pre>{_e(output.label)}\n{_e(_text_of(output))}</pre>" for output in outputs]
    return "".join(texts) or "<p><i>no output</i></p>"


def _text_of(output: NormalisedOutput) -> str:
    """What a reader compares by eye: the plain-text form where there is one (HTML tables show as
    markup otherwise); the diff below still shows what was actually compared."""
    if output.key == "text/html" and "text/plain" in output.data:
        return output.data["text/plain"]
    if output.key in output.data:
        value = output.data[output.key]
        return value if not output.key.startswith("image/") else f"[{output.key} image]"
    return next(iter(output.data.values()), "")


def _steps_table(steps: Iterable[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{_e(s['name'])}</td><td>{_e(s['status'])}</td><td>{s['duration_s']:.2f} s</td>"
        f"<td>{_e(', '.join(r['path'] for r in s['reads']))}</td>"
        f"<td>{_e(', '.join(w['path'] for w in s['writes']))}</td></tr>"
        for s in steps
    ]
    return (
        "<h2>Steps</h2><table><tr><th>step</th><th>status</th><th>time</th><th>reads</th><th>writes</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _changes(changes: dict[str, Any] | None) -> str:
    """Parameters, code, data, packages and environment that differ from the last recorded run."""
    if not changes:
        return ""
    title = f"<h2>Changes since run <code>{_e(changes['run_a'])}</code></h2>"
    if changes.get("identical"):
        return title + "<p>None: same parameters, seed, code, data files and environment.</p>"
    rows = [
        f"<tr><td>{_e(category)}</td><td>{_e(change['name'])}</td><td>{_e(change['change'])}</td>"
        f"<td>{_e(_short(change.get('before')))}</td><td>{_e(_short(change.get('after')))}</td></tr>"
        for category in ("parameters", "seed", "code", "data", "packages", "environment")
        for change in changes.get(category, [])
    ]
    return (
        title
        + "<table><tr><th>what</th><th>name</th><th>change</th><th>before</th><th>after</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _isolation(report: dict[str, Any] | None) -> str:
    if not report:
        return ""
    return (
        "<h2>Isolated environment</h2>"
        f"<p>Built a fresh virtual environment from the lock in {report.get('build_s', 0):.1f} s "
        f"({_e(report.get('packages', 0))} locked distributions).</p>"
    )


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)
