"""The self-contained HTML report of a verification (no scripts, no external resources).

One page a reviewer can open from a CI artifact or an email: the verdict and its causes, each
differing cell with its saved and new output side by side (images as images, with a difference
overlay), the environment recorded versus here, the data each step read and the step timings.
Everything user-provided is escaped. Files inside the project are named by their path relative to the
notebook's folder, as the notebook's certificate names them (:func:`jupyter_repro.evidence.portable_path`),
never by the absolute path of this checkout. See docs/report.md.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jupyter_repro import layout
from jupyter_repro.compare import CellComparison, ImageComparison, NormalisedOutput
from jupyter_repro.evidence import (
    Evidence,
    RecordedEvidence,
    environment_differences,
    portable_path,
    step_data,
)
from jupyter_repro.report_images import OVERLAY_COLOUR, difference_overlay
from jupyter_repro.results import Cause, RunResult, StepResult

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1em}
.verdict{display:inline-block;padding:.2em .7em;border-radius:1em;color:#fff;font-weight:600}
.reproducible{background:#2e7d32}.diverged{background:#e65100}.failed{background:#c62828}
table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}td{overflow-wrap:anywhere}
tr.differs td{background:#fff3e0}tr.differs td:first-child{box-shadow:inset 3px 0 #e65100}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}.side pre{margin:0}
.three{display:grid;grid-template-columns:1fr 1fr 1fr;gap:1em}.three h3{margin:.3em 0}
pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:28em;white-space:pre-wrap}
.status-match{color:#2e7d32}.status-differ{color:#e65100}.status-error{color:#c62828}
.status-unverified,.status-ignored,.muted{color:#777}img{max-width:100%;border:1px solid #ddd}
"""
_HASH_SHOWN = 12
"""Hex digits of a content hash the data tables show (the full hash is the cell's tooltip)."""


def render_report(result: RunResult, *, project_root: str | None = None) -> str:
    """The whole HTML page for a verification's ``result``.

    ``project_root`` is the folder whose files count as the project's (the repro home's parent, as
    for the certificate); when not given it is read from where the run's executed notebook lives.
    """
    paths = ReportPaths.of(result, project_root)
    document = result.to_json()
    name = paths.notebook_name(result.notebook)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>jupyter-repro: {_e(name)} {_e(result.verdict)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(name)} <span class='verdict {_e(result.verdict)}'>{_e(result.verdict)}</span></h1>",
        f"<p>Run <code>{_e(result.run_id)}</code>, seed {_e(result.seed)}, parameters "
        f"<code>{_e(document['parameters'])}</code>, {_e(result.runs or 1)} headless run(s).</p>",
        *(f"<p class='muted'>{_e(note)}</p>" for note in result.notes),
        _causes(result.causes, paths),
        _cells_table(document["cells"]),
        *(
            _cell_detail(cell.comparison, _of_cell(result.causes, cell.index), paths)
            for cell in result.cells
            if cell.differs
        ),
        _environment(result.evidence, result.recorded_evidence, result.environment_hash),
        _data(result, paths),
        _steps_table(result.steps, paths),
        _changes(document.get("changes_since"), paths),
        _isolation(document.get("isolated")),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


# ------------------------------------------------------------------------------------------- paths


class ReportPaths:
    """How the report names files: inside the project relative to the notebook's folder, else as is.

    The rule is the certificate's (:func:`~jupyter_repro.evidence.portable_path`), with one addition: a
    file below the notebook's folder is always relative, even when the project root is unknown. Paths
    are tried both as recorded and with symlinks resolved (a temp folder is often behind a symlink).
    """

    def __init__(self, notebook_folder: str, project_root: str, known: Iterable[str] = ()) -> None:
        self.folder = os.path.normpath(notebook_folder)
        self.root = os.path.normpath(project_root)
        self._known = {path: self.show(path) for path in known if os.path.isabs(path)}
        self._known = {path: shown for path, shown in self._known.items() if shown != path}
        alternatives = "|".join(re.escape(path) for path in sorted(self._known, key=len, reverse=True))
        self._pattern = (
            re.compile(rf"(?<![\w.\-/])(?:{alternatives})(?![\w\-]|\.\w)") if alternatives else None
        )

    @classmethod
    def of(cls, result: RunResult, project_root: str | None = None) -> ReportPaths:
        folder = os.path.dirname(os.path.abspath(result.notebook))
        root = project_root if project_root is not None else _project_root(result.executed_notebook)
        return cls(folder, os.path.abspath(root) if root is not None else folder, _absolute_paths(result))

    def show(self, path: str) -> str:
        """``path`` as the report names it (relative inside the project, unchanged otherwise)."""
        if not os.path.isabs(path):
            return path
        variants = [(path, self.folder, self.root)]
        variants.append((os.path.realpath(path), os.path.realpath(self.folder), os.path.realpath(self.root)))
        for candidate, folder, root in variants:
            for base in (root, folder):
                shown = portable_path(candidate, folder, base)
                if not os.path.isabs(shown):
                    return shown
        return path

    def text(self, value: object) -> str:
        """``value`` as text, with each known absolute path of a project file replaced by its name."""
        text = "" if value is None else str(value)
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda found: self._known[found.group(0)], text)

    def notebook_name(self, notebook: str) -> str:
        """The notebook as typed when relative, else relative to the project root, else its file name."""
        if not os.path.isabs(notebook):
            return notebook
        absolute = os.path.normpath(notebook)
        for base in (self.root, self.folder):
            if absolute.startswith(base.rstrip(os.sep) + os.sep):
                return os.path.relpath(absolute, base).replace(os.sep, "/")
        return os.path.basename(absolute)


def _project_root(executed_notebook: str) -> str | None:
    """The repro home's parent, when the executed notebook sits where :mod:`layout` puts it."""
    executed = Path(os.path.abspath(executed_notebook))
    if (
        executed.name != layout.EXECUTED_NOTEBOOK_FILENAME
        or executed.parent.parent.name != layout.RUNS_DIRNAME
    ):
        return None
    root = executed.parent.parent.parent.parent
    return None if root.parent == root else str(root)  # a home at the file system's root names no project


def _absolute_paths(result: RunResult) -> list[str]:
    """Every file path the result's texts may mention: what steps read and wrote, changed data files."""
    found = [path for step in result.steps for path, _ in (*step.reads, *step.writes)]
    found.extend(str(cause.evidence["path"]) for cause in result.causes if cause.evidence.get("path"))
    changes = result.changes_since or {}
    found.extend(str(change.get("name")) for change in changes.get("data", ()) if isinstance(change, Mapping))
    found.append(result.notebook)
    return found


# ------------------------------------------------------------------------------------- causes, cells


def _of_cell(causes: Iterable[Cause], index: int) -> list[Cause]:
    return [cause for cause in causes if cause.cell == index]


def _cause_item(c: Cause, paths: ReportPaths) -> str:
    where = f"{' (step ' + _e(c.step) + ')' if c.step else ''}"
    where += f"{' (cell ' + _e(c.cell) + ')' if c.cell is not None else ''}"
    hint = f"<br><i>What to do:</i> {_e(paths.text(c.hint))}" if c.hint else ""
    return f"<li><b>{_e(c.kind)}</b>{where}: {_e(paths.text(c.detail))}{hint}</li>"


def _causes(causes: Iterable[Cause], paths: ReportPaths) -> str:
    items = [_cause_item(c, paths) for c in causes]
    return "<h2>Causes</h2><ul>" + "".join(items) + "</ul>" if items else ""


def _cells_table(cells: Iterable[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{c['index']}</td><td>{_e(c.get('step'))}</td>"
        f"<td class='status-{_e(c['status'])}'>{_e(c['status'])}</td><td>{_e(c.get('reason', ''))}</td></tr>"
        for c in cells
    ]
    return (
        "<h2>Cells</h2><table id='cells'><tr><th>cell</th><th>step</th><th>status</th><th>why</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _cell_detail(comparison: CellComparison, causes: Iterable[Cause], paths: ReportPaths) -> str:
    parts = [f"<h2 id='cell-{comparison.index}'>Cell {comparison.index}: {_e(comparison.status)}</h2>"]
    parts.append(f"<p>{_e(comparison.reason)}</p>")
    items = [_cause_item(c, paths) for c in causes]
    if items:
        parts.append("<ul class='causes'>" + "".join(items) + "</ul>")
    parts.append(
        "<div class='side'><div><h3>saved</h3>"
        + _outputs_html(comparison.saved)
        + "</div><div><h3>new</h3>"
        + _outputs_html(comparison.new)
        + "</div></div>"
    )
    parts.extend(_image_pair(image) for image in comparison.images)
    if comparison.diff:
        parts.append(f"<details open><summary>diff</summary><pre>{_e(comparison.diff)}</pre></details>")
    return "".join(parts)


def _image_pair(image: ImageComparison) -> str:
    """A matching pair side by side; a differing pair with a third picture, the difference overlay."""
    saved = _img("saved image", image.saved_mime, image.saved_data)
    new = _img("new image", image.new_mime, image.new_data)
    if image.match:
        return f"<div class='side'><div>{saved}</div><div>{new}</div></div><p>{_e(image.describe())}</p>"
    overlay = difference_overlay(image)
    third = (
        _img("difference overlay", "image/png", overlay.png_base64)
        if overlay.png_base64 is not None
        else f"<p class='muted'>{_e(overlay.note)}</p>"
    )
    colour = "#{:02x}{:02x}{:02x}".format(*OVERLAY_COLOUR)
    legend = (
        f" Painted <span style='color:{colour}'>&#9632;</span> {colour}." if overlay.differing_pixels else ""
    )
    return (
        f"<div class='three'><div><h3>saved</h3>{saved}</div><div><h3>new</h3>{new}</div>"
        f"<div><h3>difference</h3>{third}</div></div>"
        f"<p>{_e(image.describe())}. {_e(overlay.note)}{legend}</p>"
    )


def _img(alt: str, mime: str, data: str) -> str:
    return f"<img alt='{_e(alt)}' src='data:{_e(mime)};base64,{_e(data)}'>"


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


# ------------------------------------------------------------------------------------- environment


def _environment(here: Evidence | None, recorded: Evidence | None, environment_hash: str) -> str:
    """Python, platform, hash and seed; the imported distributions; the lock. Recorded versus here."""
    title = "<h2 id='environment'>Environment</h2>"
    if here is None:
        return (
            f"{title}<p>Environment hash <code>{_e(environment_hash)}</code>. This result carries no "
            "evidence of the environment (a plain run, or a result recorded before evidence existed).</p>"
        )
    changes = [] if recorded is None else environment_differences(RecordedEvidence(recorded), here)
    python_differs = recorded is not None and any(
        change["name"] == "Python" and change["before"] == recorded.python for change in changes
    )
    intro = (
        "<p>What this verification ran with, next to what the notebook's certificate recorded when it "
        "was stamped. Highlighted rows differ (the same comparison the environment cause uses).</p>"
        if recorded is not None
        else "<p>What this verification ran with. The notebook carries no certificate evidence, so there "
        "is nothing recorded to compare with (<code>verify --stamp</code> records it).</p>"
    )
    then = recorded if recorded is not None else Evidence()
    facts = [
        ("Python", _code(_python(here)), _code(_python(then)), python_differs),
        ("platform", _code(here.platform), _code(then.platform), False),
        ("environment hash", _hash(here.environment_hash), _hash(then.environment_hash), False),
        ("seed", _code(here.seed), _code(then.seed), False),
    ]
    rows = "".join(
        _row([_e(name), now, *([] if recorded is None else [before])], differs)
        for name, now, before, differs in facts
    )
    return (
        f"{title}{intro}<table id='environment-facts'>{_head('', 'here', recorded)}{rows}</table>"
        + _distributions(here, recorded, changes)
        + _locks(here.lock, None if recorded is None else recorded.lock, recorded is not None)
    )


def _python(evidence: Evidence) -> str:
    return f"{evidence.implementation} {evidence.python}".strip()


def _distributions(here: Evidence, recorded: Evidence | None, changes: list[dict[str, str | None]]) -> str:
    """The imported distributions, one row each: version here, version recorded, highlighted if they
    differ. Every verdict of "differs" is :func:`environment_differences`'s."""
    title = "<h3>Imported distributions</h3>"
    rows: list[tuple[str, str | None, str | None, bool]]
    if recorded is None:
        rows = [(name, version, None, False) for name, version in here.packages.items()]
        summary = f"{len(rows)} distribution(s) the notebook imports."
    else:
        changed = {str(c["name"]): c["after"] for c in changes if c["name"] in recorded.packages}
        rows = [
            (name, changed.get(name, version), version, name in changed)
            for name, version in recorded.packages.items()
        ]
        # The same rule, the other way round: what is installed here that the certificate lacks.
        reverse = environment_differences(RecordedEvidence(here), recorded)
        rows.extend(
            (str(c["name"]), here.packages[str(c["name"])], None, False)
            for c in reverse
            if c["after"] is None and c["name"] in here.packages
        )
        summary = (
            f"{len(changed)} of the {len(recorded.packages)} recorded distribution(s) differ here."
            if changed
            else f"All {len(recorded.packages)} recorded distribution(s) have the same version here."
        )
    if not rows:
        return f"{title}<p>The notebook imports no installed distribution (only the standard library).</p>"
    body = "".join(
        _row(
            [
                _e(name),
                _code(now) if now is not None else "<i>not installed</i>",
                *([] if recorded is None else [_code(then) if then is not None else "<i>not recorded</i>"]),
            ],
            differs,
        )
        for name, now, then, differs in sorted(rows, key=lambda row: row[0].lower())
    )
    return (
        f"{title}<p>{_e(summary)}</p><table id='distributions'>"
        f"{_head('distribution', 'here', recorded)}{body}</table>"
    )


def _locks(here: Mapping[str, Any] | None, carried: Mapping[str, Any] | None, certified: bool) -> str:
    """The lock the notebook carries and the one compiled here, each with its text folded away."""
    title = "<h3>Lock</h3>"
    if here is None and carried is None:
        where = "the notebook's certificate carries none and " if certified else ""
        return f"{title}<p>No lock: {where}none was compiled here (<code>verify --lock</code>).</p>"
    parts = [title]
    if carried is not None:
        origin = "From the notebook: the lock its certificate carries, compiled where it was stamped"
        parts.append(_lock(origin, carried))
    if here is not None:
        if carried is not None and here.get("hash") == carried.get("hash"):
            parts.append("<p>The lock compiled here has the same hash: the same pins.</p>")
        else:
            parts.append(_lock("Made here: compiled by this verification, from this environment", here))
    return "".join(parts)


def _lock(origin: str, lock: Mapping[str, Any]) -> str:
    text = str(lock.get("text", ""))
    requirements = lock.get("requirements") or []
    count = len(requirements) if isinstance(requirements, list | tuple) else 0
    return (
        f"<p>{_e(origin)}: hash <code>{_e(lock.get('hash'))}</code>, {_count(count, 'requirement')}.</p>"
        f"<details><summary>lock text ({_count(len(text.splitlines()), 'line')})</summary>"
        f"<pre>{_e(text)}</pre></details>"
    )


# -------------------------------------------------------------------------------------------- data


def _data(result: RunResult, paths: ReportPaths) -> str:
    """Per step, the files it read (project-relative), their hash, and whether the certificate's match."""
    here = (
        result.evidence.data
        if result.evidence is not None
        else step_data(result.steps, paths.folder, paths.root)
    )
    recorded = None if result.recorded_evidence is None else result.recorded_evidence.data
    order = [step.name for step in result.steps]
    order += sorted({*here, *(recorded or {})} - set(order))
    intro = (
        "<p>Files each step read, by path relative to the notebook's folder (a file outside the project "
        "keeps its absolute path), with the start of its content hash"
        + ("; compared with the hashes the notebook's certificate recorded." if recorded is not None else ".")
        + "</p>"
    )
    tables = [
        _data_table(name, here.get(name, {}), None if recorded is None else recorded.get(name, {}))
        for name in order
        if here.get(name) or (recorded or {}).get(name)
    ]
    if not tables:
        return "<h2 id='data'>Data</h2><p>No step read a data file.</p>"
    return "<h2 id='data'>Data</h2>" + intro + "".join(tables)


def _data_table(step: str, here: Mapping[str, str], recorded: Mapping[str, str] | None) -> str:
    rows = []
    for path, digest in sorted(here.items()):
        cells = [f"<code>{_e(path)}</code>", _hash(digest)]
        if recorded is None:
            rows.append(_row(cells))
            continue
        then = recorded.get(path)
        status = "not recorded" if then is None else "unchanged" if then == digest else "changed"
        rows.append(_row([*cells, _hash(then) if then else "", status], status == "changed"))
    for path in sorted(set(recorded or {}) - set(here)):
        then = (recorded or {})[path]
        rows.append(_row([f"<code>{_e(path)}</code>", "", _hash(then), "recorded, not read now"], True))
    head = "<tr><th>file</th><th>hash here</th>" + (
        "<th>hash recorded</th><th>since recorded</th></tr>" if recorded is not None else "</tr>"
    )
    return f"<h3>Step {_e(step)}</h3><table class='data' data-step='{_e(step)}'>{head}{''.join(rows)}</table>"


def _hash(digest: str | None) -> str:
    """``blake3:0123456789ab`` (the algorithm and the first hex digits), the full hash as a tooltip."""
    if not digest:
        return ""
    algorithm, _, hexdigest = digest.rpartition(":")
    shown = (f"{algorithm}:" if algorithm else "") + hexdigest[:_HASH_SHOWN]
    return f"<code title='{_e(digest)}'>{_e(shown)}</code>"


# ------------------------------------------------------------------------------- steps and changes


def _steps_table(steps: Iterable[StepResult], paths: ReportPaths) -> str:
    rows = [
        f"<tr><td>{_e(s.name)}</td><td>{_e(s.status)}</td><td>{s.duration_s:.2f} s</td>"
        f"<td>{_e(', '.join(paths.show(path) for path, _ in s.reads))}</td>"
        f"<td>{_e(', '.join(paths.show(path) for path, _ in s.writes))}</td></tr>"
        for s in steps
    ]
    return (
        "<h2>Steps</h2><table id='steps'>"
        "<tr><th>step</th><th>status</th><th>time</th><th>reads</th><th>writes</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _changes(changes: dict[str, Any] | None, paths: ReportPaths) -> str:
    """Parameters, code, data, packages and environment that differ from the last recorded run."""
    if not changes:
        return ""
    title = f"<h2>Changes since run <code>{_e(changes['run_a'])}</code></h2>"
    if changes.get("identical"):
        return title + "<p>None: same parameters, seed, code, data files and environment.</p>"
    rows = [
        f"<tr><td>{_e(category)}</td>"
        f"<td>{_e(paths.show(str(change['name'])) if category == 'data' else change['name'])}</td>"
        f"<td>{_e(change['change'])}</td>"
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
    source = {
        "notebook": " the notebook carries (the environment it was stamped in)",
        "here": " compiled here (the notebook carries none)",
    }.get(str(report.get("lock_source")), "")
    return (
        "<h2>Isolated environment</h2>"
        f"<p>Built a fresh virtual environment from the lock{_e(source)} in {report.get('build_s', 0):.1f} s "
        f"({_e(report.get('packages', 0))} locked distributions).</p>"
    )


# ----------------------------------------------------------------------------------------- helpers


def _head(first: str, here: str, recorded: Evidence | None) -> str:
    return (
        f"<tr><th>{_e(first)}</th><th>{_e(here)}</th>"
        + ("<th>recorded</th>" if recorded is not None else "")
        + "</tr>"
    )


def _row(cells: Iterable[str], differs: bool = False) -> str:
    """A table row of already escaped cells; ``differs`` highlights it."""
    return ("<tr class='differs'>" if differs else "<tr>") + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _code(value: Any) -> str:
    return "" if value is None or value == "" else f"<code>{_e(value)}</code>"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)
