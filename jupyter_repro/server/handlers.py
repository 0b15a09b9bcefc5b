"""HTTP handlers: thin, authenticated, authorized, JSON in and out.

Every handler derives from :class:`BaseReproHandler`, which maps a :class:`ReproError` to a JSON error
with the error's HTTP status in one place; domain code never raises HTTP errors itself. A handler is a
thin verb: it parses and validates the request, resolves contents paths
(:mod:`jupyter_repro.server.paths`), and hands the work to the library (in a worker thread: the ledger,
the static analysis and the export registry block; ledger reads go through
:class:`~jupyter_repro.server.runs.ServedRuns`, which hides other servers' runs), to the
:class:`~jupyter_repro.server.jobs.JobManager` (runs and verifies, as subprocesses), to
:mod:`jupyter_repro.server.exports` (exports, as a short subprocess) or to
:mod:`jupyter_repro.server.kernels` (snapshots of a live kernel). Command lines are built in
:mod:`jupyter_repro.server.argv` only. The routes are documented in ``docs/rest-api.md``.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, TypeVar, cast

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from jupyter_repro._version import __version__
from jupyter_repro.errors import ReproError
from jupyter_repro.params import parse_cli_value
from jupyter_repro.server.argv import KINDS, ExportRequest, FixRequest, JobRequest
from jupyter_repro.server.config import JupyterRepro
from jupyter_repro.server.exports import run_export
from jupyter_repro.server.fixes import run_fix
from jupyter_repro.server.jobs import JobManager
from jupyter_repro.server.kernels import snapshot_kernel
from jupyter_repro.server.paths import contents_path, resolve_inside, resolve_notebook
from jupyter_repro.server.runs import ServedRuns

AUTH_RESOURCE = "jupyter_repro"
SETTINGS_KEY = "jupyter_repro"  # the JupyterRepro settings in the tornado settings
JOBS_KEY = "jupyter_repro_jobs"  # the JobManager in the tornado settings
API_PATH = "jupyter-repro/api"
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000

F = TypeVar("F", bound=Callable[..., Any])


def authorized_to(action: str) -> Callable[[F], F]:
    """jupyter_server's ``authorized`` decorator with an explicit action, typed for mypy."""
    return cast("Callable[[F], F]", authorized(action))


class RequestError(ReproError):
    """The request itself is malformed: bad JSON, a missing field, a value of the wrong type."""


class BodyTooLargeError(ReproError):
    """The request body exceeds ``JupyterRepro.max_body_size``."""

    http_status = 413


class BaseReproHandler(APIHandler):
    """Common error mapping, body parsing and path resolution for every jupyter-repro route."""

    auth_resource = AUTH_RESOURCE

    # --- settings ---

    @property
    def repro_settings(self) -> JupyterRepro:
        settings: JupyterRepro = self.settings[SETTINGS_KEY]
        return settings

    @property
    def job_manager(self) -> JobManager:
        manager: JobManager = self.settings[JOBS_KEY]
        return manager

    @property
    def repro_home(self) -> str | None:
        """``c.JupyterRepro.repro_home`` as an absolute path (jobs run in the notebook's folder)."""
        home = self.repro_settings.repro_home
        return None if home is None else str(Path(home).expanduser().resolve())

    @property
    def root_dir(self) -> str:
        """The folder contents paths are relative to: the contents manager's root, else the server's."""
        root = getattr(self.contents_manager, "root_dir", None) or self.settings["server_root_dir"]
        return str(root)

    # --- JSON out, errors out ---

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, default=str))

    def write_repro_error(self, error: ReproError) -> None:
        self.write_json(error.to_dict(), status=error.http_status)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The one error mapper: a ReproError becomes its JSON form with its own status."""
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ReproError):
            self.write_repro_error(error)
            return
        super().write_error(status_code, **kwargs)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, ReproError):  # the user's error, not ours: one line, no traceback
            self.log.warning("jupyter_repro: %s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    # --- JSON in, paths in ---

    def json_body(self, allowed: frozenset[str]) -> dict[str, Any]:
        """The request body as a JSON object with only ``allowed`` keys: 413 too large, 400 malformed."""
        body = self.request.body or b""
        limit = self.repro_settings.max_body_size
        if len(body) > limit:
            raise BodyTooLargeError(f"the request body is larger than {limit} bytes")
        try:
            parsed = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestError(f"the request body is not valid JSON ({error})") from None
        if not isinstance(parsed, dict):
            raise RequestError("the request body must be a JSON object")
        unknown = sorted(set(parsed) - allowed)
        if unknown:
            raise RequestError(
                f"unknown field {', '.join(repr(name) for name in unknown)}",
                hint=f"allowed fields: {', '.join(sorted(allowed))}",
            )
        return parsed

    def notebook(self, path: str) -> Path:
        """The real path of the notebook at contents path ``path`` (403, 404 or 400 otherwise)."""
        allow_hidden = bool(getattr(self.contents_manager, "allow_hidden", False))
        return resolve_notebook(self.root_dir, path, allow_hidden=allow_hidden)

    def query_notebook(self, *, required: bool) -> tuple[str | None, Path | None]:
        """The ``?path=`` query argument and its real path."""
        path = self.get_query_argument("path", None)
        if path is None or path == "":
            if required:
                raise RequestError("the query argument 'path' is required", hint="e.g. ?path=analysis.ipynb")
            return None, None
        return path, self.notebook(path)

    def home_for(self, notebook: Path | None) -> Path:
        """The repro home serving ``notebook`` (or the server root), as the CLI finds it."""
        from jupyter_repro.home import find_home

        return find_home(notebook or Path(self.root_dir), self.repro_home)

    def shown_path(self, real: str | None) -> str | None:
        """A real path as a contents path, when it lies under the server root."""
        return contents_path(self.root_dir, real) if real else None

    def served_runs(self, notebook: Path | None) -> ServedRuns:
        """The ledger of ``notebook``'s repro home as this server may show it (blocks: call in a thread)."""
        return ServedRuns(self.home_for(notebook), self.root_dir)


# --- field validation -----------------------------------------------------------------------------


def field(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    """``body[name]`` checked against ``kind`` (``None``/absent gives ``default``); 400 otherwise."""
    value = body.get(name)
    if value is None:
        if default is _REQUIRED:
            raise RequestError(f"the field '{name}' is required")
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    is_bool = isinstance(value, bool)
    if not isinstance(value, kinds) or (is_bool and bool not in kinds):
        expected = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise RequestError(f"the field '{name}' must be {expected}, not {_TYPE_NAMES.get(type(value))}")
    return value


_REQUIRED = object()
_TYPE_NAMES: dict[type | None, str] = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    dict: "an object",
    list: "an array",
    type(None): "null",
}


def cli_parameters(body: Mapping[str, Any]) -> dict[str, str]:
    """``parameters`` as ``-p NAME VALUE`` texts that the CLI types back to exactly the JSON value.

    The CLI types ``-p`` values as papermill does (``True``, ``None``, numbers, else strings), so a JSON
    string such as ``"42"`` or ``"True"`` cannot reach the notebook as a string: it is refused rather
    than silently changed. Lists and objects are refused too (papermill's ``-p`` has no form for them).
    """
    raw = field(body, "parameters", dict, {})
    texts: dict[str, str] = {}
    for name, value in raw.items():
        if not name.isidentifier():
            raise RequestError(f"parameter name {name!r} is not a Python identifier")
        if value is None or isinstance(value, bool):
            text = repr(value)
        elif isinstance(value, (int, float)):
            text = repr(float(value)) if isinstance(value, float) else str(value)
        elif isinstance(value, str):
            text = value
        else:
            raise RequestError(
                f"parameter '{name}' must be a string, number, boolean or null, "
                f"not {_TYPE_NAMES[type(value)]}"
            )
        if "\x00" in text:
            raise RequestError(f"parameter '{name}' contains a NUL character")
        if text.startswith("-") and not isinstance(value, (int, float)):
            raise RequestError(f"parameter '{name}': a string value may not start with '-'")
        if not _same_value(parse_cli_value(text), value):
            raise RequestError(
                f"parameter '{name}': the string {value!r} would reach the notebook as "
                f"{parse_cli_value(text)!r}",
                hint="send it as a JSON number/boolean/null, or change the value",
            )
        texts[name] = text
    return texts


def _same_value(parsed: Any, value: Any) -> bool:
    if type(parsed) is not type(value):
        return False
    if isinstance(value, float) and math.isnan(value):
        return math.isnan(parsed)
    return bool(parsed == value)


def positive_number(body: Mapping[str, Any], name: str) -> float | None:
    value = field(body, name, (int, float))
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise RequestError(f"the field '{name}' must be a positive number")
    return None if value is None else float(value)


# --- handlers -------------------------------------------------------------------------------------


class VersionHandler(BaseReproHandler):
    """``GET version``: lets the frontend check it talks to a matching server extension."""

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json({"name": "jupyter-repro", "version": __version__})


class StepsHandler(BaseReproHandler):
    """``GET steps?path=NB``: the notebook's pipeline (``steps --json`` shape), by static analysis only."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        from jupyter_repro.notebook import load_pipeline

        path, notebook = self.query_notebook(required=True)
        assert notebook is not None
        pipeline = await asyncio.to_thread(load_pipeline, notebook)
        self.write_json({**pipeline.to_json(), "path": path})


class RunsHandler(BaseReproHandler):
    """``GET runs?path=NB&limit=N`` (recorded runs) and ``POST runs`` (start a run or verify job)."""

    FIELDS = frozenset({"path", "kind", "parameters", "no_cache", "step", "runs", "isolated", "timeout"})

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        _path, notebook = self.query_notebook(required=False)
        limit = self._limit()
        runs = await asyncio.to_thread(lambda: self.served_runs(notebook).list_runs(notebook, limit))
        self.write_json({"runs": runs})

    def _limit(self) -> int:
        text = self.get_query_argument("limit", None)
        if text is None or text == "":
            return DEFAULT_LIMIT
        try:
            limit = int(text)
        except ValueError:
            raise RequestError(f"the query argument 'limit' must be an integer, not {text!r}") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise RequestError(f"the query argument 'limit' must be between 1 and {MAX_LIMIT}")
        return limit

    @tornado.web.authenticated
    @authorized_to("execute")
    def post(self) -> None:
        body = self.json_body(self.FIELDS)
        request = self._job_request(body)
        job, created = self.job_manager.submit(request)
        self.set_header("Location", url_path_join(self.base_url, API_PATH, "jobs", job.job_id))
        payload = {"job_id": job.job_id, "state": job.state, "created": created}
        self.write_json(payload, status=202 if created else 200)

    def _job_request(self, body: Mapping[str, Any]) -> JobRequest:
        path = field(body, "path", str, _REQUIRED)
        kind = field(body, "kind", str, "run")
        if kind not in KINDS:
            raise RequestError(f"the field 'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
        step = field(body, "step", str)
        runs = field(body, "runs", int)
        isolated = field(body, "isolated", bool, False)
        if kind != "run" and step is not None:
            raise RequestError("the field 'step' applies to kind 'run' only")
        if kind != "verify" and (runs is not None or isolated):
            raise RequestError("the fields 'runs' and 'isolated' apply to kind 'verify' only")
        if runs is not None and not 1 <= runs <= 10:
            raise RequestError("the field 'runs' must be between 1 and 10")
        if step is not None and (not step or step.startswith("-")):
            raise RequestError(f"the field 'step' is not a step name: {step!r}")
        return JobRequest(
            kind=kind,
            notebook=self.notebook(path),
            path=path,
            parameters=cli_parameters(body),
            no_cache=field(body, "no_cache", bool, False),
            step=step,
            runs=runs,
            isolated=isolated,
            timeout=positive_number(body, "timeout"),
            home=self.repro_home,
            remote=self.repro_settings.remote,
            remote_read_only=self.repro_settings.remote_read_only,
            jobs=self.repro_settings.jobs,
        )


class RunHandler(BaseReproHandler):
    """``GET runs/{run_id}[?path=NB]``: one recorded run (``show --json`` shape)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        _path, notebook = self.query_notebook(required=False)
        detail = await asyncio.to_thread(lambda: self.served_runs(notebook).run_detail(run_id))
        self.write_json(detail)


class ReportHandler(BaseReproHandler):
    """``GET runs/{run_id}/report[?path=NB]``: a verification's self-contained HTML report.

    The report lives in the hidden repro home, which the contents API does not serve.
    """

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        report = await self._report(run_id)
        self._finish_html(report.read_bytes())

    @tornado.web.authenticated
    @authorized
    async def head(self, run_id: str) -> None:
        await self._report(run_id)
        self._finish_html(b"")

    def _finish_html(self, body: bytes) -> None:
        # APIHandler.finish would label the page application/json
        self.set_header("Content-Type", "text/html; charset=utf-8")
        JupyterHandler.finish(self, body)

    async def _report(self, run_id: str) -> Path:
        _path, notebook = self.query_notebook(required=False)
        return await asyncio.to_thread(lambda: self.served_runs(notebook).report(run_id))


class JobsHandler(BaseReproHandler):
    """``GET jobs``: every job the server remembers, newest first (without their results)."""

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json({"jobs": [job.summary() for job in self.job_manager.jobs()]})


class JobHandler(BaseReproHandler):
    """``GET jobs/{job_id}``: state, per-step progress and, when done, the CLI's JSON result."""

    @tornado.web.authenticated
    @authorized
    def get(self, job_id: str) -> None:
        self.write_json(self.job_manager.get(job_id).to_dict())


class SnapshotHandler(BaseReproHandler):
    """``POST snapshot {"kernel_id"}``: the environment of a live kernel, captured inside that kernel."""

    FIELDS = frozenset({"kernel_id"})

    @tornado.web.authenticated
    @authorized_to("execute")
    async def post(self) -> None:
        body = self.json_body(self.FIELDS)
        kernel_id = field(body, "kernel_id", str, _REQUIRED)
        snapshot = await snapshot_kernel(
            self.kernel_manager, kernel_id, timeout_s=self.repro_settings.snapshot_timeout
        )
        self.write_json(snapshot)


class ExportTargetsHandler(BaseReproHandler):
    """``GET export/targets``: the export registry (built-ins and plug-ins), for the UI's target list.

    The registry is the only list of targets, so a plug-in exporter installed in the server's
    environment appears here, is accepted by ``POST export`` and by the CLI's ``--to``, all at once.
    """

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        from jupyter_repro.export import export_targets

        targets = await asyncio.to_thread(export_targets)  # loading plug-ins imports them
        self.write_json({"targets": [target.to_dict() for target in targets]})


class ExportHandler(BaseReproHandler):
    """``POST export {"path", "target", "schedule", "parameters", "output_dir"}`` -> ``{"files"}``."""

    FIELDS = frozenset({"path", "target", "schedule", "parameters", "output_dir"})

    @tornado.web.authenticated
    @authorized_to("write")
    async def post(self) -> None:
        from jupyter_repro.export import exporter_names

        body = self.json_body(self.FIELDS)
        request = self._export_request(body, await asyncio.to_thread(exporter_names))
        timeout_s = self.repro_settings.export_timeout
        files = await run_export(self.job_manager.command, request, timeout_s=timeout_s)
        self.write_json(
            {
                "files": [self.shown_path(str(file)) or str(file) for file in files],
                "output_dir": self.shown_path(str(request.output_dir)),
            }
        )

    def _export_request(self, body: Mapping[str, Any], targets: Sequence[str]) -> ExportRequest:
        path = field(body, "path", str, _REQUIRED)
        target = field(body, "target", str, _REQUIRED)
        if target not in targets:
            raise RequestError(f"the field 'target' must be one of {', '.join(targets)}, not {target!r}")
        schedule = field(body, "schedule", str)
        if schedule is not None and (not schedule.strip() or schedule.startswith("-")):
            raise RequestError(f"the field 'schedule' is not a schedule: {schedule!r}")
        parameters = cli_parameters(body)
        notebook = self.notebook(path)
        default_output = (PurePosixPath(path).parent / f"{notebook.stem}-{target}").as_posix()
        output_path = field(body, "output_dir", str, default_output)
        output_dir = resolve_inside(self.root_dir, output_path)
        if output_dir.exists() and not output_dir.is_dir():
            raise RequestError("the field 'output_dir' names a file, not a folder", path=output_path)
        return ExportRequest(
            notebook=notebook,
            path=path,
            target=target,
            output_dir=output_dir,
            schedule=schedule,
            parameters=parameters,
            home=self.repro_home,
        )


class FixesHandler(BaseReproHandler):
    """``GET fixes?path=NB`` (the fixes of its last verification) and ``POST fixes {"path", "id",
    "target"}`` (apply one, or ``all``). Both may execute the notebook (listing verifies first when the
    notebook changed since its last verification; some fixes re-execute it), hence ``execute``."""

    FIELDS = frozenset({"path", "id", "target"})
    TARGETS = ("file", "model")

    @tornado.web.authenticated
    @authorized_to("execute")
    async def get(self) -> None:
        path, notebook = self.query_notebook(required=True)
        assert path is not None
        assert notebook is not None
        document = await self._run(FixRequest(notebook=notebook, path=path, home=self.repro_home))
        self.write_json({**document, "notebook": path})

    @tornado.web.authenticated
    @authorized_to("execute")
    async def post(self) -> None:
        body = self.json_body(self.FIELDS)
        path = field(body, "path", str, _REQUIRED)
        fix_id = field(body, "id", str, _REQUIRED)
        target = field(body, "target", str, "file")
        if target not in self.TARGETS:
            raise RequestError(f"the field 'target' must be one of {', '.join(self.TARGETS)}, not {target!r}")
        if not fix_id.strip() or fix_id.startswith("-"):
            raise RequestError(f"the field 'id' is not a fix id: {fix_id!r}")
        request = FixRequest(
            notebook=self.notebook(path),
            path=path,
            fix_id=fix_id,
            edits_only=target == "model",
            home=self.repro_home,
        )
        document = await self._run(request)
        backup = document.get("backup")
        shown_backup = (self.shown_path(backup) or backup) if isinstance(backup, str) else None
        self.write_json({**document, "notebook": path, "backup": shown_backup})

    async def _run(self, request: FixRequest) -> dict[str, Any]:
        timeout_s = self.repro_settings.fix_timeout
        return await run_fix(self.job_manager.command, request, timeout_s=timeout_s)


# (pattern relative to /jupyter-repro/api/, handler); tests enumerate this table to check auth.
ROUTES: list[tuple[str, type[BaseReproHandler]]] = [
    ("version", VersionHandler),
    ("steps", StepsHandler),
    ("runs", RunsHandler),
    (r"runs/(?P<run_id>[^/]+)/report", ReportHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
    ("jobs", JobsHandler),
    (r"jobs/(?P<job_id>[^/]+)", JobHandler),
    ("snapshot", SnapshotHandler),
    ("export/targets", ExportTargetsHandler),
    ("export", ExportHandler),
    ("fixes", FixesHandler),
]
