"""The pytest plugin: ``pytest --repro [PATHS]`` verifies notebooks as test items.

It is registered through the ``pytest11`` entry point, so installing jupyter-repro loads it into every
pytest run of that environment, including test suites that have nothing to do with notebooks. That
is why it does nothing unless ``--repro`` (or ``--repro-cells``) is given: without it no ``.ipynb`` is
collected, and importing this module costs only pytest and the standard library (the engine is
imported when the first notebook is verified).

It is an edge, like the CLI: collection and options live here, the verification is
:func:`jupyter_repro.verify.verify_notebook` with the options ``jupyter repro verify`` would build (same
repro home, same cache, same ledger), and a failure is the CLI's :func:`verify_summary` of the
:class:`~jupyter_repro.results.RunResult`, raised with ``pytest.fail(..., pytrace=False)`` so pytest
shows it in its own style (the short summary line, ``--junitxml``) without the plugin's frames.
User-facing behaviour: ``docs/ci.md``.
"""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from jupyter_repro.results import CellVerdict, RunResult
    from jupyter_repro.verify import Verification, VerifyOptions

NOTEBOOK_ITEM_NAME = "verify"
"""The name of the one item of a notebook verified as a whole: ``nb.ipynb::verify``."""
GENERATED_FOLDERS = frozenset({".repro", ".ipynb_checkpoints"})
"""Folders whose notebooks are copies written by tools (executed runs, autosaves), never sources."""
DIFF_LINES = 30
"""How many lines of a cell's diff a failure shows; the HTML report has all of them."""
MARKER = "repro: a notebook (or one of its cells) verified by jupyter-repro (pytest --repro)"


@dataclass(frozen=True)
class Settings:
    """The ``--repro*`` options of this session, read once in :func:`pytest_configure`."""

    cells: bool
    runs: int
    isolated: bool
    home: str | None
    remote: str | None
    """None: ``$JUPYTER_REPRO_REMOTE``, as for ``jupyter repro verify``."""
    remote_read_only: bool
    no_cache: bool
    timeout: float | None
    skips: dict[Path, str]
    """Notebooks the ``repro_skip`` ini option skips, with their reasons."""

    def verify_options(self) -> VerifyOptions:
        from jupyter_repro.remote import RemoteConfig
        from jupyter_repro.runner import RunOptions
        from jupyter_repro.verify import VerifyOptions

        return VerifyOptions(
            run=RunOptions(
                no_cache=self.no_cache,
                cell_timeout_s=self.timeout,
                home=self.home,
                capture_lock=self.isolated,
                remote=RemoteConfig.resolve(self.remote, read_only=self.remote_read_only),
            ),
            runs=self.runs,
            isolated=self.isolated,
        )


SETTINGS = pytest.StashKey[Settings]()
VERIFIED = pytest.StashKey[list[tuple[str, str, str]]]()
"""(notebook, verdict, report) of every verification of the session, for the terminal summary."""


# ------------------------------------------------------------------------------------------- options


def _runs(text: str) -> int:
    from jupyter_repro.commands import whole_number

    return whole_number(1)(text)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jupyter-repro", "verify notebooks with jupyter-repro (docs/ci.md)")
    group.addoption(
        "--repro",
        action="store_true",
        help="collect every .ipynb under the given paths (or the repro_notebooks globs) and verify that "
        "it reproduces its saved outputs, as 'jupyter repro verify' does",
    )
    group.addoption(
        "--repro-cells",
        action="store_true",
        help="one test item per code cell, all from one verification of the notebook (implies --repro)",
    )
    group.addoption(
        "--repro-runs",
        type=_runs,
        default=1,
        metavar="N",
        help="run N times without cache to tell nondeterministic cells from drift",
    )
    group.addoption(
        "--repro-isolated",
        action="store_true",
        help="verify in a fresh virtual environment built from the notebook's lock",
    )
    group.addoption(
        "--repro-home",
        metavar="DIR",
        default=None,
        help="repro home directory (default: nearest .repro/ above each notebook; env JUPYTER_REPRO_HOME)",
    )
    group.addoption(
        "--repro-remote",
        metavar="URL",
        default=None,
        help="the team's remote cache, an fsspec URL (default: $JUPYTER_REPRO_REMOTE)",
    )
    group.addoption(
        "--repro-remote-read-only",
        action="store_true",
        help="read cached steps from the remote but never write to it",
    )
    group.addoption("--repro-no-cache", action="store_true", help="execute every step, ignoring the cache")
    group.addoption(
        "--repro-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="fail a cell that runs longer than this",
    )
    parser.addini(
        "repro_notebooks",
        "globs (relative to the rootdir) of the notebooks 'pytest --repro' verifies when given no paths",
        type="linelist",
        default=[],
    )
    parser.addini(
        "repro_skip",
        "'GLOB: reason' lines: notebooks 'pytest --repro' collects but skips, with the reason",
        type="linelist",
        default=[],
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    option = config.option
    if not (option.repro or option.repro_cells):
        return  # installed but not asked for: collect nothing, change nothing
    root = config.rootpath
    config.stash[SETTINGS] = Settings(
        cells=option.repro_cells,
        runs=option.repro_runs,
        isolated=option.repro_isolated,
        home=option.repro_home,
        remote=option.repro_remote,
        remote_read_only=option.repro_remote_read_only,
        no_cache=option.repro_no_cache,
        timeout=option.repro_timeout,
        skips=_ini_skips(config.getini("repro_skip"), root),
    )
    config.stash[VERIFIED] = []
    patterns: list[str] = config.getini("repro_notebooks")
    if patterns and not option.file_or_dir and config.invocation_params.dir == root:
        # like testpaths: the project's notebooks when pytest is run from the rootdir without paths
        config.args = _expand(patterns, root) or _no_match(patterns, root)


def _expand(patterns: list[str], root: Path) -> list[str]:
    found = {str(root / m) for p in patterns for m in glob.glob(p, root_dir=root, recursive=True)}
    return sorted(found)


def _no_match(patterns: list[str], root: Path) -> list[str]:
    raise pytest.UsageError(f"repro_notebooks matches no file under {root}: {' '.join(patterns)}")


def _ini_skips(lines: list[str], root: Path) -> dict[Path, str]:
    """``GLOB: reason`` lines as the notebooks they name, resolved once for the whole session."""
    skips: dict[Path, str] = {}
    for line in lines:
        pattern, _, reason = line.partition(":")
        for match in glob.glob(pattern.strip(), root_dir=root, recursive=True):
            skips.setdefault((root / match).resolve(), reason.strip() or "skipped by repro_skip")
    return skips


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return None
    from jupyter_repro._version import __version__

    per = "cell" if settings.cells else "notebook"
    extras = [f"runs {settings.runs}"] + (["isolated"] if settings.isolated else [])
    home = settings.home or os.environ.get("JUPYTER_REPRO_HOME") or "the nearest .repro/ of each notebook"
    return f"jupyter-repro {__version__}: verifying per {per} ({', '.join(extras)}); home: {home}"


# ---------------------------------------------------------------------------------------- collection


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ReproNotebook | None:
    settings = parent.config.stash.get(SETTINGS, None)
    if settings is None or file_path.suffix != ".ipynb" or _is_generated(file_path, settings):
        return None
    notebook: ReproNotebook = ReproNotebook.from_parent(parent, path=file_path)
    return notebook


def _is_generated(path: Path, settings: Settings) -> bool:
    """Executed copies in a repro home and autosaves are outputs of tools, not notebooks to verify."""
    if GENERATED_FOLDERS.intersection(path.parts):
        return True
    home = settings.home or os.environ.get("JUPYTER_REPRO_HOME")
    return bool(home) and Path(os.path.expandvars(str(home))).expanduser().resolve() in path.resolve().parents


class ReproNotebook(pytest.File):
    """A notebook: one ``verify`` item, or one item per code cell with ``--repro-cells``.

    The verification is made once, by the first item that runs, and kept here for the others, so
    per-cell mode costs what verifying the whole notebook costs.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._verified: Verification | Exception | None = None

    @property
    def settings(self) -> Settings:
        return self.config.stash[SETTINGS]

    def collect(self) -> Iterator[pytest.Item]:
        from jupyter_repro.errors import ReproError
        from jupyter_repro.notebook import load_notebook

        self.add_marker("repro")
        try:
            notebook = load_notebook(self.path)
        except ReproError:  # the item fails with the one-line message when it verifies
            notebook = None
        self._mark_skips(notebook)
        code = [] if notebook is None else [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
        if not self.settings.cells or not code:
            yield ReproNotebookItem.from_parent(self, name=NOTEBOOK_ITEM_NAME)
            return
        for index in code:
            yield ReproCellItem.from_parent(self, name=f"cell[{index}]", index=index)

    def _mark_skips(self, notebook: Any) -> None:
        """pytest's own skip/xfail marks, from ``repro_skip`` and ``metadata.jupyter_repro.pytest``."""
        reason = self.settings.skips.get(self.path.resolve())
        if reason is not None:
            self.add_marker(pytest.mark.skip(reason=reason))
        settings = {} if notebook is None else (notebook.metadata.get("jupyter_repro", {}) or {})
        wanted = settings.get("pytest", {}) if isinstance(settings, dict) else {}
        for name in ("skip", "xfail") if isinstance(wanted, dict) else ():
            value = wanted.get(name)
            if value:
                why = value if isinstance(value, str) else f"metadata.jupyter_repro.pytest.{name}"
                self.add_marker(getattr(pytest.mark, name)(reason=why))

    def verification(self) -> Verification:
        """The notebook's one verification, made on first use; its error, if any, raised each time."""
        if self._verified is None:
            try:
                self._verified = _verify(self._shown_path(), self.settings)
            except Exception as error:
                self._verified = error
            else:
                result = self._verified.result
                self.config.stash[VERIFIED].append((result.notebook, str(result.verdict), str(result.report)))
        if isinstance(self._verified, Exception):
            raise self._verified
        return self._verified

    def _shown_path(self) -> Path:
        """The notebook as a user would name it to the CLI: relative to where pytest was started."""
        try:
            return self.path.relative_to(self.config.invocation_params.dir)
        except ValueError:
            return self.path


def _verify(path: Path, settings: Settings) -> Verification:
    """``jupyter repro verify`` of one notebook, with the engine's own warnings kept as warnings.

    A verdict is about the notebook. Deprecation warnings the Jupyter stack raises in this process
    would become errors under a suite's ``filterwarnings = error`` and fail a notebook that reproduces;
    pytest still shows them in its warnings summary.
    """
    from jupyter_repro.verify import verify_notebook

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        return verify_notebook(path, settings.verify_options())


class _ReproItem(pytest.Item):
    """What both kinds of item share: their notebook, and a ReproError as a one-line failure."""

    parent: ReproNotebook

    def verification(self) -> Verification:
        from jupyter_repro.errors import ReproError

        try:
            return self.parent.verification()
        except ReproError as error:  # its one line names the notebook, unless the problem is elsewhere
            where = "" if error.notebook else f" {self.parent.path.name}"
            message = f"cannot verify{where}: {error}"
        pytest.fail(message, pytrace=False)

    def record(self, result: RunResult, **facts: str) -> None:
        """Facts a CI reads in ``--junitxml`` (``<property>``) and ``report.user_properties``."""
        for name, value in {"verdict": str(result.verdict), **facts, "run_id": result.run_id}.items():
            self.user_properties.append((name, value))
        self.user_properties.append(("report", str(result.report)))


class ReproNotebookItem(_ReproItem):
    """The whole notebook: passes when its verdict is ``reproducible``."""

    def runtest(self) -> None:
        result = self.verification().result
        self.record(result)
        if result.verdict != "reproducible":
            pytest.fail(notebook_failure(result), pytrace=False)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"verify {self.path.name}"


class ReproCellItem(_ReproItem):
    """One code cell: passes when it matches; skipped when it was not compared, with the reason."""

    def __init__(self, *, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index

    def runtest(self) -> None:
        verification = self.verification()
        result = verification.result
        cell = next((c for c in result.cells if c.index == self.index), None)
        self.record(result, status=cell.status if cell else "not compared")
        if cell is not None and cell.differs:
            pytest.fail(cell_failure(result, cell), pytrace=False)
        if cell is not None and cell.status == "match":
            return
        reason = cell.comparison.reason if cell else _not_compared(verification, self.index)
        if result.verdict == "failed" and not any(c.differs for c in result.cells):
            # no cell of its own to blame: every uncompared cell carries the failure, never all skips
            pytest.fail(f"cell {self.index}: {reason}\n\n{verify_summary(result)}", pytrace=False)
        # reported at the notebook, as a skip mark would be, not at this line of the plugin
        raise pytest.skip.Exception(f"cell {self.index}: {reason}", _use_item_location=True)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"{self.path.name} cell {self.index}"


def _not_compared(verification: Verification, index: int) -> str:
    """Why a code cell has no verdict: the pipeline says which kind of cell it is."""
    pipeline = verification.outcome.pipeline
    if index in pipeline.skip_cells:
        return "tagged skip: not executed, nothing to compare"
    for role, cells in (("parameters", pipeline.parameter_cells), ("setup", pipeline.setup_cells)):
        if index in cells:
            return f"{role} cell: its outputs were not compared by this verification"
    return "not compared by this verification (in no step that ran)"


# ----------------------------------------------------------------------------------------- rendering


def verify_summary(result: RunResult) -> str:
    from jupyter_repro.commands.verify import verify_summary as summary

    return summary(result)


def notebook_failure(result: RunResult) -> str:
    """The CLI's summary, then each bad cell's diff (capped: the report has the rest)."""
    parts = [verify_summary(result)]
    for cell in result.cells:
        if cell.differs and cell.comparison.diff:
            parts.append(f"cell {cell.index}{_in_step(cell)}: {cell.status}\n{_capped(cell.comparison.diff)}")
    return "\n\n".join(parts)


def cell_failure(result: RunResult, cell: CellVerdict) -> str:
    """One cell: its status and diff, its own causes (else its step's), then the notebook's verdict."""
    lines = [f"cell {cell.index}{_in_step(cell)}: {cell.status}: {cell.comparison.reason}"]
    if cell.comparison.diff:
        lines.append(_capped(cell.comparison.diff))
    own = [c for c in result.causes if c.cell == cell.index]
    causes = own or [c for c in result.causes if c.cell is None and c.step in (None, cell.step)]
    for cause in causes:
        lines.append(f"  cause {cause.kind}: {cause.detail}")
        if cause.hint:
            lines.append(f"    what to do: {cause.hint}")
    counts: dict[str, int] = {}
    for other in result.cells:
        counts[other.status] = counts.get(other.status, 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines.append(f"{result.notebook}: {str(result.verdict).upper()} (cells: {tally})")
    lines.append(f"run {result.run_id}; report: {result.report}")
    return "\n".join(lines)


def _in_step(cell: CellVerdict) -> str:
    return f" (step {cell.step})" if cell.step else ""


def _capped(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= DIFF_LINES:
        return text
    return "\n".join([*lines[:DIFF_LINES], f"... {len(lines) - DIFF_LINES} more lines in the report"])


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Where each verification's report is: what a CI uploads, and what a reader opens first."""
    verified = config.stash.get(VERIFIED, [])
    if not verified:
        return
    terminalreporter.write_sep("-", "jupyter-repro reports")
    for notebook, verdict, report in verified:
        terminalreporter.write_line(f"{verdict.upper():<12}  {notebook}  {report}")
