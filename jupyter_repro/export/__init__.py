"""Export a notebook's pipeline as a scheduled, idempotent job: the job description and the target registry.

:func:`export_notebook` reads like a recipe: read the pipeline, describe the job once for every target
(the parameters fixed at export time, the *interval parameters* the scheduler fills, the schedule, the
command and the repro home every task shares), then hand the :class:`Job` to the target's exporter,
which writes its files into the output folder. The source notebook is only read.

Idempotency comes from the parameters: the scheduler supplies the values that define the work (the data
interval), so a rerun of the same interval has the same cache keys, reuses the cached steps and rewrites
the same outputs.

Targets are found as papermill finds its engines: the built-ins below, plus any object registered under
the entry-point group ``jupyter_repro.exporters`` (an :class:`Exporter` instance, or a class that builds
one without arguments). A built-in name always means the built-in. This registry is the only list of
targets: the CLI's ``--to`` help, the server's ``POST export`` validation and ``GET export/targets``
(which the JupyterLab dialog shows) all read it, so a plug-in target is usable everywhere once it is
installed (see ``docs/export.md``).
"""

from __future__ import annotations

import datetime
import importlib
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from jupyter_repro.errors import ExportError, ParameterError
from jupyter_repro.fsio import write_atomically

if TYPE_CHECKING:
    from jupyter_repro.model import Pipeline

ENTRY_POINT_GROUP = "jupyter_repro.exporters"

BUILTIN_EXPORTERS: dict[str, str] = {
    "airflow": "jupyter_repro.export.airflow:AirflowExporter",
    "cron": "jupyter_repro.export.cron:CronExporter",
    "kfp": "jupyter_repro.export.kfp:KfpExporter",
    "script": "jupyter_repro.export.script:ScriptExporter",
}
"""Built-in targets, known without installed entry points (``module:attribute``)."""

IntervalFormat = Literal["date", "timestamp"]

INTERVAL_NAME_PAIRS: tuple[tuple[str, str], ...] = (
    ("data_interval_start", "data_interval_end"),
    ("start_date", "end_date"),
    ("interval_start", "interval_end"),
    ("start_time", "end_time"),
    ("start", "end"),
)
"""Parameter pairs read as the data interval when ``--interval-params`` is not given (first match)."""

CRON_PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

DEFAULT_START_DATE = datetime.date(2000, 1, 1)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_JOB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class IntervalParameters:
    """The two notebook parameters that receive the scheduler's data interval ``[start, end)``."""

    start: str
    end: str
    format: IntervalFormat = "date"
    """``date``: ``YYYY-MM-DD``; ``timestamp``: ISO 8601 with the UTC offset."""
    inclusive_end: bool = False
    """Pass the last day inside the interval as the end (dates only), not the exclusive end."""


@dataclass(frozen=True)
class JobStep:
    name: str
    upstream: tuple[str, ...] = ()
    """Steps this one depends on directly (edges of the scheduler's graph)."""


@dataclass(frozen=True)
class Job:
    """Everything a target needs to write a scheduled job for one notebook; no target-specific fields."""

    name: str
    """Job / DAG id and stem of the generated files (``[A-Za-z0-9_.-]``)."""
    notebook: str
    """Absolute path of the notebook the job runs."""
    home: str
    """The repro home every task passes with ``--home``: absolute and shared (the cache lives there),
    or, with a remote, possibly naming environment variables (``$AIRFLOW_CTX_TASK_ID``) that the CLI
    expands when the task runs, for a home per worker."""
    command: tuple[str, ...]
    """How the job calls jupyter-repro, e.g. ``("/venv/bin/python", "-m", "jupyter_repro.cli")``."""
    steps: tuple[JobStep, ...]
    """The pipeline's steps in topological order."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """Parameter values fixed at export time (``-p``)."""
    interval: IntervalParameters | None = None
    schedule: str | None = None
    """Five-field cron expression (presets expanded), or ``None`` for a job run on demand."""
    schedule_spec: str | None = None
    """The schedule as the user wrote it (``@daily``), for comments."""
    retries: int = 2
    retry_delay_s: int = 300
    start_date: datetime.date = DEFAULT_START_DATE
    """First interval a scheduler may run (Airflow's ``start_date``)."""
    remote: str | None = None
    """The team's store (fsspec URL) the tasks hand results to each other through, if any."""

    def run_argv(self) -> list[str]:
        """``jupyter repro run NB --home HOME [--remote URL]``: the command every task starts with."""
        remote = [] if self.remote is None else ["--remote", self.remote]
        return [*self.command, "run", self.notebook, "--home", self.home, *remote]

    def fixed_parameter_args(self) -> list[str]:
        """``-p NAME VALUE`` for each parameter fixed at export time."""
        args: list[str] = []
        for name, value in self.parameters.items():
            args += ["-p", name, cli_text(value, name)]
        return args


@dataclass(frozen=True)
class ExportOptions:
    """What the user chose (CLI flags or the REST body); :func:`build_job` checks it against the notebook."""

    schedule: str | None = None
    """Cron expression or preset; ``None``: the target's default."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    interval_parameters: tuple[str, str] | None = None
    """Explicit (start, end) parameter names; ``None``: detect from :data:`INTERVAL_NAME_PAIRS`."""
    no_interval: bool = False
    interval_format: IntervalFormat | None = None
    """``None``: ``date`` when the start parameter's default looks like ``YYYY-MM-DD``."""
    inclusive_end: bool = False
    name: str | None = None
    command: Sequence[str] | None = None
    """``None``: this interpreter, ``python -m jupyter_repro.cli``."""
    home: str | os.PathLike[str] | None = None
    remote: str | None = None
    retries: int = 2
    retry_delay_s: int = 300
    start_date: datetime.date = DEFAULT_START_DATE


@runtime_checkable
class Exporter(Protocol):
    """One export target. Register more under the entry-point group ``jupyter_repro.exporters``."""

    name: str
    description: str
    """One line, shown in ``jupyter repro export --help``, by ``GET export/targets`` and in the UI."""
    default_schedule: str | None
    """Schedule used when the user gives none; ``None``: the job may run without one."""

    def export(self, job: Job, out_dir: Path) -> list[Path]:
        """Write the job's files into ``out_dir`` (which exists) and return their paths."""
        ...


# --------------------------------------------------------------------------------------------------
# The recipe


def export_notebook(
    notebook: str | os.PathLike[str], target: str, out_dir: str | os.PathLike[str], options: ExportOptions
) -> list[Path]:
    """Export ``notebook`` for ``target`` into ``out_dir`` (created if missing); return the files written."""
    exporter = get_exporter(target)
    job = build_job(notebook, options, default_schedule=exporter.default_schedule)
    folder = prepare_output_dir(out_dir)
    return [Path(path) for path in exporter.export(job, folder)]


def build_job(
    notebook: str | os.PathLike[str], options: ExportOptions, *, default_schedule: str | None = None
) -> Job:
    """Describe the job for ``notebook``: parameters checked, interval found, schedule validated."""
    from jupyter_repro.notebook import load_pipeline

    pipeline = load_pipeline(notebook)
    notebook_path = Path(notebook).expanduser().resolve()
    shown = str(notebook)
    fixed = _fixed_parameters(pipeline, options.parameters, shown)
    interval = _interval(pipeline, options, fixed, shown)
    spec = options.schedule if options.schedule is not None else default_schedule
    if options.retries < 0 or options.retry_delay_s < 0:
        raise ExportError("--retries and --retry-delay must not be negative")
    return Job(
        name=_job_name(options.name, notebook_path),
        notebook=str(notebook_path),
        home=_job_home(notebook_path, options),
        remote=options.remote,
        command=tuple(options.command) if options.command else default_command(),
        steps=tuple(JobStep(step.name, step.direct_dependencies) for step in pipeline.steps),
        parameters=fixed,
        interval=interval,
        schedule=normalize_schedule(spec) if spec is not None else None,
        schedule_spec=" ".join(spec.split()) if spec is not None else None,
        retries=options.retries,
        retry_delay_s=options.retry_delay_s,
        start_date=options.start_date,
    )


def _job_home(notebook: Path, options: ExportOptions) -> str:
    """The home the tasks pass: found (and created) now, unless it names environment variables, which
    only make sense with a remote (each worker its own home, results shared through the remote)."""
    from jupyter_repro.home import find_home

    if options.home is not None and "$" in str(options.home):
        if options.remote is None:
            raise ExportError(
                f"--home {options.home} names environment variables, so the tasks would not share a cache",
                hint="add --remote URL so they hand results to each other through it",
            )
        return str(options.home)
    return str(find_home(notebook, options.home))


def default_command() -> tuple[str, ...]:
    """This interpreter running the CLI module: the job uses the environment that exported it."""
    return (os.path.abspath(sys.executable), "-m", "jupyter_repro.cli")


def normalize_schedule(spec: str) -> str:
    """A five-field cron expression for ``spec`` (a cron expression or ``@daily``-style preset)."""
    from croniter import croniter

    text = " ".join(spec.split())
    expression = CRON_PRESETS.get(text.lower(), text)
    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(expression):
        presets = ", ".join(CRON_PRESETS)
        raise ExportError(
            f"invalid schedule {spec!r}",
            hint=f"use five cron fields 'minute hour day month weekday' ('0 2 * * *') or one of {presets}",
        )
    return expression


def cli_text(value: Any, name: str = "") -> str:
    """``value`` as text that ``jupyter repro run -p`` reads back as the same value."""
    from jupyter_repro.params import parse_cli_value

    if value is None or isinstance(value, bool | int | float):
        text = repr(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ParameterError(
            f"parameter {name!r}: a scheduled job passes values with -p, which holds numbers, "
            f"booleans, None or text, not {type(value).__name__}"
        )
    if parse_cli_value(text) != value or type(parse_cli_value(text)) is not type(value):
        raise ParameterError(
            f"parameter {name!r}: the text {value!r} would be read back as "
            f"{type(parse_cli_value(text)).__name__} by 'jupyter repro run -p'",
            hint="give it as that type, or change the notebook to convert it",
        )
    return text


def docstring(text: str) -> str:
    """``text`` as a module docstring of generated code, whatever paths it quotes."""
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f'"""{escaped}\n"""'


def prepare_output_dir(out_dir: str | os.PathLike[str]) -> Path:
    folder = Path(out_dir).expanduser().absolute()
    if folder.exists() and not folder.is_dir():
        raise ExportError("the output path exists and is not a folder", path=str(out_dir))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create the output folder: {error.strerror}", path=str(out_dir)) from None
    return folder


def write_file(path: Path, text: str, *, executable: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (see :mod:`jupyter_repro.fsio`); ``executable``: mode 0755."""
    return write_atomically(path, text, mode=0o755 if executable else 0o644)


# --------------------------------------------------------------------------------------------------
# The registry


@dataclass(frozen=True)
class ExportTarget:
    """What users are shown of a target before they export: its name, what it writes, its schedule.

    The CLI's help and ``GET export/targets`` (the UI's list) both render this, so a target is
    described once, by its exporter's own attributes, and a plug-in is described like a built-in.
    """

    name: str
    description: str
    default_schedule: str | None

    @classmethod
    def of(cls, name: str, exporter: Exporter) -> ExportTarget:
        """The registry's ``name`` (which a plug-in's ``exporter.name`` may not match) and its fields."""
        description = " ".join(str(exporter.description).split())  # one line, whatever a plug-in wrote
        schedule = exporter.default_schedule
        return cls(name, description, None if schedule is None else str(schedule))

    def to_dict(self) -> dict[str, str | None]:
        """The JSON form of ``GET export/targets``: ``{"name", "description", "default_schedule"}``."""
        return {"name": self.name, "description": self.description, "default_schedule": self.default_schedule}


def exporter_names() -> list[str]:
    """Every known target's name, sorted: the built-ins and those registered through entry points.

    Only names: no plug-in is imported, so this is cheap enough to validate a request with. One order
    (by name) everywhere, so the CLI's help, the REST API and the UI list targets alike.
    """
    return sorted(set(BUILTIN_EXPORTERS) | {ep.name for ep in _entry_points()})


def export_targets() -> list[ExportTarget]:
    """Every target that loads, sorted by name, with the description and default schedule it carries.

    Each exporter is loaded (plug-ins are imported). A plug-in that fails to load is left out rather
    than raised: one broken package must not hide every other target from ``--help`` and the UI;
    asking for it by name (:func:`get_exporter`) reports why it is broken.
    """
    targets = []
    for name in exporter_names():
        try:
            exporter = get_exporter(name)
        except ExportError:
            continue
        targets.append(ExportTarget.of(name, exporter))
    return targets


def get_exporter(name: str) -> Exporter:
    """The exporter registered as ``name``; an unknown name is an :class:`ExportError` (exit 2)."""
    if name in BUILTIN_EXPORTERS:
        module_name, _, attribute = BUILTIN_EXPORTERS[name].partition(":")
        return _as_exporter(name, getattr(importlib.import_module(module_name), attribute))
    for entry_point in _entry_points():
        if entry_point.name == name:
            try:
                loaded = entry_point.load()
            except Exception as error:
                raise ExportError(
                    f"export target {name!r} ({entry_point.value}) failed to load: {error}"
                ) from error
            return _as_exporter(name, loaded)
    raise ExportError(
        f"unknown export target {name!r}", hint=f"available targets: {', '.join(exporter_names())}"
    )


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def _as_exporter(name: str, loaded: Any) -> Exporter:
    """``loaded`` (an exporter, or a class that builds one) checked against the protocol.

    A plug-in class that cannot be built is the plug-in's fault, not a bug of ours: an ExportError
    (exit 2, one line), like a plug-in that fails to import.
    """
    try:
        candidate = loaded() if isinstance(loaded, type) else loaded
    except Exception as error:
        raise ExportError(f"export target {name!r} failed to load: {error}") from error
    if not isinstance(candidate, Exporter):
        raise ExportError(
            f"export target {name!r} is not an exporter",
            hint="it needs name, description, default_schedule and export(job, out_dir)",
        )
    return candidate


# --------------------------------------------------------------------------------------------------
# Parameters


def _fixed_parameters(pipeline: Pipeline, values: Mapping[str, Any], shown: str) -> dict[str, Any]:
    from jupyter_repro.params import resolve_parameters

    resolve_parameters(dict.fromkeys(pipeline.parameter_names), values, notebook=shown)
    fixed = dict(values)
    for name, value in fixed.items():
        cli_text(value, name)
    return fixed


def _interval(
    pipeline: Pipeline, options: ExportOptions, fixed: Mapping[str, Any], shown: str
) -> IntervalParameters | None:
    if options.no_interval:
        if options.interval_parameters is not None:
            raise ExportError("--no-interval and --interval-params contradict each other")
        if options.inclusive_end or options.interval_format is not None:
            raise ExportError("--no-interval: no interval parameters for --inclusive-end/--interval-format")
        return None
    names = set(pipeline.parameter_names)
    if options.interval_parameters is not None:
        pair = options.interval_parameters
        missing = [name for name in pair if name not in names]
        if missing:
            known = ", ".join(pipeline.parameter_names) or "none (no cell is tagged 'parameters')"
            raise ParameterError(
                f"--interval-params names unknown parameter {', '.join(map(repr, missing))}",
                notebook=shown,
                hint=f"the notebook's parameters are: {known}",
            )
        if pair[0] == pair[1]:
            raise ExportError("--interval-params needs two different parameters")
        both_fixed = [name for name in pair if name in fixed]
        if both_fixed:
            raise ExportError(
                f"parameter {both_fixed[0]!r} is filled by the scheduler (--interval-params)",
                hint="drop its -p, or use --no-interval to fix the interval",
            )
    else:
        found = next((p for p in INTERVAL_NAME_PAIRS if set(p) <= names and not set(p) & set(fixed)), None)
        if found is None:
            if options.inclusive_end or options.interval_format is not None:
                raise ExportError(
                    "no interval parameters found for --inclusive-end/--interval-format",
                    notebook=shown,
                    hint="name them with --interval-params START END",
                )
            return None
        pair = found
    default = pipeline.parameters.get(pair[0])
    detected: IntervalFormat = (
        "date" if isinstance(default, str) and _DATE.fullmatch(default) else "timestamp"
    )
    form = options.interval_format or detected
    if options.inclusive_end and form != "date":
        raise ExportError("--inclusive-end applies to date interval parameters (--interval-format date)")
    return IntervalParameters(pair[0], pair[1], form, options.inclusive_end)


def _job_name(name: str | None, notebook: Path) -> str:
    if name is None:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", notebook.stem).strip("_.-") or "notebook"
    if not _JOB_NAME.fullmatch(name):
        raise ExportError(f"invalid job name {name!r}", hint="use letters, digits, '_', '.' and '-'")
    return name
