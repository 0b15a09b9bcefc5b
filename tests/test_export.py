"""``jupyter repro export``: the registry, each target's files parsed and checked, and real runs of the
script and the cron wrapper on the bundled example (twice per interval: same outputs, cached rerun).

The Airflow DAG's real run in Airflow is in ``test_export_airflow.py``.
"""

from __future__ import annotations

import ast
import datetime
import fcntl
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest
from conftest import EXAMPLES

from jupyter_repro.errors import ExportError, ParameterError
from jupyter_repro.export import (
    BUILTIN_EXPORTERS,
    Exporter,
    ExportOptions,
    IntervalParameters,
    build_job,
    exporter_names,
    get_exporter,
)
from jupyter_repro.export.script import program_body, render_runner, runner_config, template_source

RunCli = Callable[..., subprocess.CompletedProcess[str]]
MakeNotebook = Callable[..., Path]

INTERVAL_NOTEBOOK = [
    ('start_date = "2026-09-01"\nend_date = "2026-09-30"\nlabel = "x"', ["parameters"]),
    ("print(start_date, end_date, label)", ["step:show"]),
]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the bundled example (notebook + data), so its outputs land in ``tmp_path``."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "sales_report.ipynb", project)
    shutil.copytree(EXAMPLES / "data", project / "data")
    return project / "sales_report.ipynb"


def export(run_cli: RunCli, notebook: Path, target: str, out: Path, *args: str) -> list[Path]:
    result = run_cli("export", str(notebook), "--to", target, "-o", str(out), "--json", *args)
    assert result.returncode == 0, result.stderr
    return [Path(path) for path in json.loads(result.stdout)["files"]]


def run_job(program: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a generated program as a scheduler would: its own shebang, no inherited repro home."""
    env = {key: value for key, value in os.environ.items() if key != "JUPYTER_REPRO_HOME"}
    return subprocess.run(
        [str(program), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def last_run_steps(home: Path) -> dict[str, str]:
    """Step statuses of the newest run in the ledger (the public format of docs/ledger.md)."""
    with sqlite3.connect(home / "ledger.db") as db:
        rows = db.execute(
            "select step, status from step_runs where run_id = "
            "(select run_id from runs order by started_at desc limit 1) order by position"
        ).fetchall()
    return dict(rows)


def run_count(home: Path) -> int:
    with sqlite3.connect(home / "ledger.db") as db:
        count: int = db.execute("select count(*) from runs").fetchone()[0]
    return count


def is_this_interpreter(path: str) -> bool:
    """The generated command calls the interpreter the tests (and the console script) run on."""
    return os.path.isabs(path) and os.path.samefile(path, sys.executable)


def steps_json(run_cli: RunCli, notebook: Path) -> dict[str, Any]:
    result = run_cli("steps", str(notebook), "--json")
    assert result.returncode == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


# --------------------------------------------------------------------------------------------------
# Registry


def test_builtin_targets_are_known_without_installed_entry_points() -> None:
    assert exporter_names() == sorted(exporter_names())
    assert {"airflow", "cron", "kfp", "script"} <= set(exporter_names())
    for name in BUILTIN_EXPORTERS:
        exporter = get_exporter(name)
        assert isinstance(exporter, Exporter)
        assert exporter.name == name
        assert exporter.description
    assert get_exporter("script").default_schedule is None
    assert get_exporter("cron").default_schedule == "@daily"


def test_unknown_target_is_exit_2_naming_the_available_targets(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    result = run_cli("export", str(example), "--to", "oozie", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "unknown export target 'oozie'" in result.stderr
    assert "airflow, cron, kfp, script" in result.stderr
    with pytest.raises(ExportError):
        get_exporter("oozie")


PLUGIN = """
from pathlib import Path


class HelloExporter:
    name = "hello"
    description = "writes the steps, one per line"
    default_schedule = "@hourly"

    def export(self, job, out_dir: Path) -> list[Path]:
        path = out_dir / f"{job.name}.steps"
        path.write_text(job.schedule + "\\n" + "\\n".join(s.name for s in job.steps) + "\\n")
        return [path]
"""


def test_a_target_registered_under_the_entry_point_group_is_used(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    plugin = tmp_path / "plugin"
    info = plugin / "hello_exporter-1.0.dist-info"
    info.mkdir(parents=True)
    (plugin / "hello_exporter.py").write_text(PLUGIN, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-exporter\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[jupyter_repro.exporters]\nhello = hello_exporter:HelloExporter\n", encoding="utf-8"
    )
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(plugin), os.environ.get("PYTHONPATH")]))}
    help_text = " ".join(run_cli("export", "--help", env=env).stdout.split())
    assert "export target: airflow, cron, hello, kfp, script" in help_text  # the registry's order: by name
    assert "hello: writes the steps, one per line (default schedule @hourly)." in help_text
    result = run_cli("export", str(example), "--to", "hello", "-o", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "out" / "sales_report.steps"
    assert result.stdout == f"{written}\n"
    assert written.read_text().split() == [
        "0",
        "*",
        "*",
        "*",
        "*",
        "load",
        "clean",
        "aggregate",
        "model",
        "report",
    ]


def test_an_entry_point_that_is_not_an_exporter_is_exit_2(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    plugin = tmp_path / "plugin"
    info = plugin / "broken-1.0.dist-info"
    info.mkdir(parents=True)
    (plugin / "broken_exporter.py").write_text("VALUE = 3\n", encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[jupyter_repro.exporters]\nbroken = broken_exporter:VALUE\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(plugin), os.environ.get("PYTHONPATH")]))}
    result = run_cli("export", str(example), "--to", "broken", "-o", str(tmp_path / "out"), env=env)
    assert result.returncode == 2
    assert "export target 'broken' is not an exporter" in result.stderr


# --------------------------------------------------------------------------------------------------
# Options checked against the notebook (exit 2, one line)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "cron", "--schedule", "daily"], "invalid schedule 'daily'"),
        (["--to", "cron", "--schedule", "61 * * * *"], "invalid schedule '61 * * * *'"),
        (["--to", "airflow", "--schedule", "* * * * * *"], "invalid schedule"),
        (["--to", "airflow", "--schedule", "@once"], "invalid schedule '@once'"),
        (["--to", "script", "--schedule", ""], "invalid schedule ''"),
        (["--to", "script", "-p", "nosuch", "1"], "unknown parameter 'nosuch'"),
        (["--to", "airflow", "--interval-params", "start_date", "until"], "unknown parameter 'until'"),
        (["--to", "airflow", "--interval-params", "start_date", "start_date"], "two different parameters"),
        (
            [
                "--to",
                "airflow",
                "--interval-params",
                "start_date",
                "end_date",
                "-p",
                "end_date",
                "2026-01-01",
            ],
            "'end_date' is filled by the scheduler",
        ),
        (["--to", "airflow", "--interval-format", "timestamp", "--inclusive-end"], "--inclusive-end applies"),
        (["--to", "airflow", "--no-interval", "--inclusive-end"], "no interval parameters for"),
        (["--to", "airflow", "--name", "bad name"], "invalid job name 'bad name'"),
        (["--to", "airflow", "--command", "  "], "--command is empty"),
        (["--to", "airflow", "--home", "/tmp/x/$WORKER"], "add --remote URL"),
    ],
)
def test_unusable_options_are_exit_2_with_one_line(
    run_cli: RunCli, example: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = run_cli("export", str(example), "-o", str(out), *args)
    assert result.returncode == 2, result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert not out.exists()


def test_bad_schedule_names_the_accepted_forms(run_cli: RunCli, example: Path, tmp_path: Path) -> None:
    result = run_cli("export", str(example), "--to", "cron", "--schedule", "0 25 * * *", "-o", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("jupyter repro export: error: invalid schedule '0 25 * * *'")
    assert "@daily" in result.stderr


def test_missing_notebook_and_output_that_is_a_file_are_exit_2(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    missing = run_cli("export", str(tmp_path / "nope.ipynb"), "--to", "script", "-o", str(tmp_path / "o"))
    assert missing.returncode == 2
    assert "nope.ipynb: no such file" in missing.stderr
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    result = run_cli("export", str(example), "--to", "script", "-o", str(a_file))
    assert result.returncode == 2
    assert "exists and is not a folder" in result.stderr
    assert a_file.read_text() == "x"


@pytest.mark.parametrize(
    ("spec", "expression"),
    [
        ("@daily", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("*/15  * * * *", "*/15 * * * *"),
        ("0 2 * * 1-5", "0 2 * * 1-5"),
    ],
)
def test_schedules_are_validated_and_presets_expanded(
    make_notebook: MakeNotebook, tmp_path: Path, spec: str, expression: str
) -> None:
    job = build_job(make_notebook(INTERVAL_NOTEBOOK), ExportOptions(schedule=spec, home=str(tmp_path / "h")))
    assert job.schedule == expression
    assert job.schedule_spec == " ".join(spec.split())


@pytest.mark.parametrize(
    ("parameters", "options", "expected"),
    [
        (
            'start_date = "2026-01-01"\nend_date = "2026-01-31"',
            {},
            IntervalParameters("start_date", "end_date"),
        ),
        (
            'data_interval_start = "2026-01-01T00:00:00"\ndata_interval_end = "2026-01-02T00:00:00"',
            {},
            IntervalParameters("data_interval_start", "data_interval_end", "timestamp"),
        ),
        ("start = None\nend = None", {}, IntervalParameters("start", "end", "timestamp")),
        (
            'start = "2026-01-01"\nend = "2026-01-31"',
            {"inclusive_end": True},
            IntervalParameters("start", "end", "date", inclusive_end=True),
        ),
        (
            'since = "2026-01-01T00:00"\nuntil = "2026-02-01T00:00"',
            {"interval_parameters": ("since", "until"), "interval_format": "date"},
            IntervalParameters("since", "until", "date"),
        ),
        ('since = "2026-01-01"\nuntil = "2026-02-01"', {}, None),
        ('start_date = "2026-01-01"\nend_date = "2026-01-31"', {"no_interval": True}, None),
        (
            'start_date = "2026-01-01"\nend_date = "2026-01-31"',
            {"parameters": {"start_date": "2025-01-01"}},
            None,
        ),
    ],
)
def test_interval_parameters_are_detected_or_named(
    make_notebook: MakeNotebook,
    tmp_path: Path,
    parameters: str,
    options: dict[str, Any],
    expected: IntervalParameters | None,
) -> None:
    notebook = make_notebook([(parameters, ["parameters"]), ("x = 1", ["step:one"])])
    job = build_job(notebook, ExportOptions(home=str(tmp_path / "h"), **options))
    assert job.interval == expected


def test_parameter_values_must_survive_the_command_line(make_notebook: MakeNotebook, tmp_path: Path) -> None:
    notebook = make_notebook(INTERVAL_NOTEBOOK)
    home = str(tmp_path / "h")
    assert build_job(
        notebook, ExportOptions(parameters={"label": 2.5}, home=home)
    ).fixed_parameter_args() == [
        "-p",
        "label",
        "2.5",
    ]
    with pytest.raises(ParameterError, match="would be read back as int"):
        build_job(notebook, ExportOptions(parameters={"label": "2026"}, home=home))
    with pytest.raises(ParameterError, match="not list"):
        build_job(notebook, ExportOptions(parameters={"label": [1, 2]}, home=home))


def test_the_generated_program_is_the_template_filled_with_the_jobs_values(
    make_notebook: MakeNotebook, tmp_path: Path
) -> None:
    options = ExportOptions(schedule="@daily", parameters={"label": "y"}, home=str(tmp_path / "h"))
    job = build_job(make_notebook(INTERVAL_NOTEBOOK), options)
    program = render_runner(job, target="script", log_file=tmp_path / "job.log")
    tree = ast.parse(program)
    constants = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id.isupper()
    }
    expected = runner_config(job, log_file=tmp_path / "job.log")
    assert {name: constants[name] for name in expected} == expected
    assert "job configuration" not in program  # the template's markers and docstring are gone
    assert ast.get_docstring(tree, clean=False).startswith("Run the jupyter-repro pipeline of nb.ipynb")
    template, end = template_source(), "# --- end of job configuration ---\n"
    assert program.endswith(template[template.index(end) + len(end) :])  # the rest is the template's


def test_the_template_and_the_exporter_name_the_same_configuration() -> None:
    with pytest.raises(RuntimeError, match="configures"):
        program_body({"JOB": "x"})


def test_export_never_touches_the_notebook_and_prints_the_files(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    before = example.read_bytes()
    out = tmp_path / "new" / "folder"
    for target in ("airflow", "cron", "script"):
        result = run_cli(
            "export", str(example), "--to", target, "-o", str(out), "--home", str(tmp_path / "h")
        )
        assert result.returncode == 0, result.stderr
        assert all(Path(line).is_file() and Path(line).parent == out for line in result.stdout.splitlines())
    assert example.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [
        "sales_report.crontab",
        "sales_report_cron.py",
        "sales_report_dag.py",
        "sales_report_job.py",
    ]
    assert sorted(p.name for p in example.parent.iterdir()) == ["data", "sales_report.ipynb"]


# --------------------------------------------------------------------------------------------------
# Airflow: the DAG file parsed (its real run is in test_export_airflow.py)


def _dag_call(tree: ast.Module) -> ast.Call:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "DAG":
            return node
    raise AssertionError("no DAG(...) call")


def _keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {kw.arg: kw.value for kw in call.keywords if kw.arg is not None}


def _tasks(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "BashOperator":
            kwargs = _keywords(node)
            assert ast.literal_eval(kwargs["do_xcom_push"]) is False
            found[ast.literal_eval(kwargs["task_id"])] = ast.literal_eval(kwargs["bash_command"])
    return found


def _edges(tree: ast.Module) -> set[tuple[str, str]]:
    edges = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
            left, right = node.left, node.right
            assert isinstance(left, ast.Subscript)
            assert isinstance(right, ast.Subscript)
            edges.add((ast.literal_eval(left.slice), ast.literal_eval(right.slice)))
    return edges


def _render(command: str, start: datetime.datetime, end: datetime.datetime) -> list[str]:
    """Render a task's command as Airflow does (Jinja with its ds/ts filters), then split it as bash."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters["ds"] = lambda value: value.strftime("%Y-%m-%d")
    environment.filters["ts"] = lambda value: value.isoformat()
    context = {"data_interval_start": start, "data_interval_end": end, "macros": datetime}
    return shlex.split(environment.from_string(command).render(context))


def test_airflow_dag_has_a_task_per_step_the_pipeline_edges_and_a_safe_schedule(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    home = tmp_path / "shared-home"
    (dag_file,) = export(
        run_cli, example, "airflow", tmp_path / "dags", "--home", str(home), "--schedule", "0 3 * * *",
        "--retries", "4", "--retry-delay", "60", "--start-date", "2026-01-15",
    )  # fmt: skip
    source = dag_file.read_text(encoding="utf-8")
    tree = ast.parse(source)
    compile(source, str(dag_file), "exec")

    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported == {
        "__future__",
        "datetime",
        "airflow",
        "airflow.sdk",
        "airflow.providers.standard.operators.bash",
        "airflow.operators.bash",
        "airflow.timetables.interval",
    }
    dag = _keywords(_dag_call(tree))
    assert ast.literal_eval(dag["dag_id"]) == "sales_report"
    assert ast.literal_eval(dag["catchup"]) is False
    assert ast.literal_eval(dag["max_active_runs"]) == 1
    assert ast.literal_eval(dag["tags"]) == ["jupyter-repro"]
    schedule = dag["schedule"]
    assert isinstance(schedule, ast.Call)
    assert ast.unparse(schedule.func) == "CronDataIntervalTimetable"
    assert ast.literal_eval(schedule.args[0]) == "0 3 * * *"
    assert ast.unparse(dag["default_args"]) == "{'retries': 4, 'retry_delay': datetime.timedelta(seconds=60)}"
    assert ast.unparse(dag["start_date"]) == "datetime.datetime(2026, 1, 15, tzinfo=datetime.timezone.utc)"

    pipeline = steps_json(run_cli, example)
    tasks = _tasks(tree)
    assert list(tasks) == [step["name"] for step in pipeline["steps"]]
    assert _edges(tree) == {
        (upstream, step["name"]) for step in pipeline["steps"] for upstream in step["direct_depends_on"]
    }
    assert _edges(tree) == {
        ("load", "clean"),
        ("clean", "aggregate"),
        ("clean", "model"),
        ("clean", "report"),
        ("aggregate", "report"),
    }

    interval = (datetime.datetime(2026, 10, 1), datetime.datetime(2026, 10, 2))
    for step, command in tasks.items():
        argv = _render(command, *interval)
        assert is_this_interpreter(argv[0])
        assert argv[1:] == [
            "-m", "jupyter_repro.cli", "run", str(example.resolve()),
            "--home", str(home.resolve()),
            "-p", "start_date", "2026-10-01", "-p", "end_date", "2026-10-02", "--step", step,
        ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "interval", "expected"),
    [
        (
            ["--inclusive-end", "-p", "output_dir", "reports/{{ not a template }}"],
            (datetime.datetime(2026, 10, 1), datetime.datetime(2026, 10, 2)),
            [
                "start_date",
                "2026-10-01",
                "end_date",
                "2026-10-01",
                "output_dir",
                "reports/{{ not a template }}",
            ],
        ),
        (
            ["--inclusive-end", "--schedule", "@monthly"],
            (datetime.datetime(2026, 9, 1), datetime.datetime(2026, 10, 1)),
            ["start_date", "2026-09-01", "end_date", "2026-09-30"],
        ),
        (
            ["--interval-format", "timestamp", "-p", "output_dir", "it's here"],
            (
                datetime.datetime(2026, 10, 1, 6, tzinfo=datetime.timezone.utc),
                datetime.datetime(2026, 10, 1, 7, tzinfo=datetime.timezone.utc),
            ),
            [
                "start_date",
                "2026-10-01T06:00:00+00:00",
                "end_date",
                "2026-10-01T07:00:00+00:00",
                "output_dir",
                "it's here",
            ],
        ),
        (
            ["--no-interval", "-p", "start_date", "2026-01-01"],
            (datetime.datetime(2026, 10, 1), datetime.datetime(2026, 10, 2)),
            ["start_date", "2026-01-01"],
        ),
    ],
)
def test_airflow_commands_render_to_the_interval_as_parameters(
    run_cli: RunCli,
    example: Path,
    tmp_path: Path,
    args: list[str],
    interval: tuple[datetime.datetime, datetime.datetime],
    expected: list[str],
) -> None:
    (dag_file,) = export(
        run_cli, example, "airflow", tmp_path / "dags", "--command", "'/opt/my env/jr'", *args
    )
    command = _tasks(ast.parse(dag_file.read_text(encoding="utf-8")))["report"]
    argv = _render(command, *interval)
    assert argv[:3] == ["/opt/my env/jr", "run", str(example.resolve())]
    assert argv[-2:] == ["--step", "report"]
    pairs = argv[5:-2]
    assert pairs[0::3] == ["-p"] * (len(pairs) // 3)
    assert [value for i, value in enumerate(pairs) if i % 3] == expected


# --------------------------------------------------------------------------------------------------
# cron: the crontab entry and the wrapper


def test_crontab_has_one_entry_running_the_wrapper_on_the_schedule(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    out = tmp_path / "50% jobs"
    wrapper, crontab = export(run_cli, example, "cron", out, "--schedule", "30 4 * * 1-5", "--inclusive-end")
    assert (wrapper.name, crontab.name) == ("sales_report_cron.py", "sales_report.crontab")
    entries = [line for line in crontab.read_text().splitlines() if line and not line.startswith("#")]
    assert len(entries) == 1
    fields = entries[0].split(maxsplit=5)
    assert fields[:5] == ["30", "4", "*", "*", "1-5"]
    assert "\\%" in fields[5]  # cron reads a bare % as a newline
    interpreter, program = shlex.split(fields[5].replace("\\%", "%"))
    assert is_this_interpreter(interpreter)
    assert program == str(wrapper)
    assert os.access(wrapper, os.X_OK)
    source = wrapper.read_text(encoding="utf-8")
    compile(source, str(wrapper), "exec")
    assert source.startswith(f"#!{interpreter}\n")
    assert f"LOCK_FILE = {str(out / 'sales_report_cron.lock')!r}" in source
    assert f"LOG_FILE = {str(out / 'sales_report_cron.log')!r}" in source
    assert "SCHEDULE = '30 4 * * 1-5'" in source


@pytest.mark.parametrize(
    ("schedule", "at", "extra", "expected"),
    [
        ("@daily", "2026-10-02T00:00:00+00:00", ["--inclusive-end"], ("2026-10-01", "2026-10-01")),
        ("@daily", "2026-10-02T00:00:42+00:00", [], ("2026-10-01", "2026-10-02")),
        ("@daily", "2026-10-02T13:07+00:00", [], ("2026-10-01", "2026-10-02")),  # a late start
        ("0 0 * * 1", "2026-10-05T00:00+00:00", [], ("2026-09-28", "2026-10-05")),
        ("@monthly", "2026-11-01T00:00+00:00", ["--inclusive-end"], ("2026-10-01", "2026-10-31")),
        (
            "@hourly",
            "2026-10-02T05:00+02:00",
            ["--interval-format", "timestamp"],
            ("2026-10-02T04:00:00+02:00", "2026-10-02T05:00:00+02:00"),
        ),
    ],
)
def test_cron_wrapper_passes_the_period_that_ended_at_the_scheduled_time(
    run_cli: RunCli,
    make_notebook: MakeNotebook,
    tmp_path: Path,
    schedule: str,
    at: str,
    extra: list[str],
    expected: tuple[str, str],
) -> None:
    notebook = make_notebook(INTERVAL_NOTEBOOK)
    wrapper, _ = export(
        run_cli, notebook, "cron", tmp_path / "out", "--schedule", schedule, "-p", "label", "fixed", *extra
    )
    result = run_job(wrapper, "--at", at, "--dry-run")
    assert result.returncode == 0, result.stderr
    argv = shlex.split(result.stdout)
    assert argv[3:] == [
        "run", str(notebook.resolve()), "--home", str((tmp_path / "repro-home").resolve()),
        "-p", "label", "fixed", "-p", "start_date", expected[0], "-p", "end_date", expected[1],
    ]  # fmt: skip


def test_cron_wrapper_waits_for_the_lock_then_gives_up_with_75_and_a_log_line(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    wrapper, _ = export(run_cli, example, "cron", tmp_path / "out")
    lock = tmp_path / "out" / "sales_report_cron.lock"
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_job(wrapper, "--at", "2026-10-02T00:00", "--lock-timeout", "0.3")
    assert result.returncode == 75
    assert result.stderr == f"sales_report: run failed with exit code 75; see {wrapper.with_suffix('.log')}\n"
    log = (tmp_path / "out" / "sales_report_cron.log").read_text()
    assert "another run holds" in log
    assert "run 1/" not in log
    assert not (tmp_path / "repro-home" / "ledger.db").exists()


@pytest.mark.kernel
def test_cron_wrapper_retries_a_failed_run_but_not_unusable_input(
    run_cli: RunCli, make_notebook: MakeNotebook, tmp_path: Path
) -> None:
    notebook = make_notebook(
        [('start_date = "2026-09-01"\nend_date = "2026-09-30"', ["parameters"]), ("1 / 0", ["step:boom"])]
    )
    wrapper, _ = export(run_cli, notebook, "cron", tmp_path / "out", "--retries", "1", "--retry-delay", "0")
    log = tmp_path / "out" / "nb_cron.log"
    failed = run_job(wrapper, "--at", "2026-10-02T00:00")
    assert failed.returncode == 1
    assert failed.stderr == f"nb: run failed with exit code 1; see {log}\n"
    text = log.read_text()
    assert "run 1/2" in text
    assert "run 2/2" in text
    assert "retrying in 0 s" in text
    assert "ZeroDivisionError" in text
    unusable = run_job(wrapper, "--at", "2026-10-02T00:00", "-p", "nosuch", "1")
    assert unusable.returncode == 2
    assert log.read_text().count("run 1/2") == 2
    assert log.read_text().count("run 2/2") == 1


# --------------------------------------------------------------------------------------------------
# Real runs of the example: the same interval twice gives the same outputs, the second from the cache


def run_twice(
    program: Path, args: list[str], output: Path, home: Path
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """Run the same interval twice: same output bytes, the first run executes, the second is cached."""
    first = run_job(program, *args)
    assert first.returncode == 0, first.stderr
    assert output.is_file()
    produced = output.read_bytes()
    assert set(last_run_steps(home).values()) == {"executed"}
    second = run_job(program, *args)
    assert second.returncode == 0, second.stderr
    assert output.read_bytes() == produced
    assert last_run_steps(home) == dict.fromkeys(["load", "clean", "aggregate", "model", "report"], "cached")
    assert run_count(home) == 2
    return first, second


@pytest.mark.kernel
def test_script_runs_the_example_for_an_interval_idempotently(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (program,) = export(
        run_cli, example, "script", tmp_path / "jobs", "--home", str(home), "--retry-delay", "1"
    )
    assert program.name == "sales_report_job.py"
    assert os.access(program, os.X_OK)
    no_interval = run_job(program)
    assert no_interval.returncode == 2
    assert "give the interval with --interval START END" in no_interval.stderr

    output = example.parent / "output" / "summary_2026-10-01_2026-10-05.csv"
    runs = run_twice(program, ["--interval", "2026-10-01", "2026-10-05"], output, home)
    assert "load       executed" in runs[0].stdout
    assert "report     cached" in runs[1].stdout
    assert sorted(p.name for p in output.parent.iterdir()) == [output.name]
    lines = output.read_text().splitlines()
    assert lines[0] == "store,product,revenue"
    assert len(lines) == 13


@pytest.mark.kernel
def test_cron_wrapper_runs_the_example_for_its_scheduled_interval_idempotently(
    run_cli: RunCli, example: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    options = ["--home", str(home), "--schedule", "@weekly", "--inclusive-end", "--retry-delay", "1"]
    wrapper, _ = export(run_cli, example, "cron", tmp_path / "cron", *options)
    # 2026-10-04 is a Sunday: the week that ended then is 2026-09-27 .. 2026-10-03
    output = example.parent / "output" / "summary_2026-09-27_2026-10-03.csv"
    runs = run_twice(wrapper, ["--at", "2026-10-04T00:00:05"], output, home)
    assert all(run.stdout == "" and run.stderr == "" for run in runs)  # everything goes to the log
    log = (tmp_path / "cron" / "sales_report_cron.log").read_text()
    assert log.count("run 1/3: start_date=2026-09-27 end_date=2026-10-03") == 2
    assert log.count("exit 0 after") == 2
    assert "report     cached" in log
    with sqlite3.connect(home / "ledger.db") as db:
        parameters = {row[0] for row in db.execute("select parameters from runs")}
    assert parameters == {
        json.dumps({"end_date": "2026-10-03", "output_dir": "output", "start_date": "2026-09-27"})
    }


def test_with_a_remote_every_job_passes_it_and_a_home_may_name_variables(example: Path) -> None:
    from jupyter_repro.export import ExportOptions

    job = build_job(
        example, ExportOptions(remote="s3://team/cache", home="/var/tmp/repro/$AIRFLOW_CTX_TASK_ID")
    )
    assert job.run_argv()[-4:] == [
        "--home",
        "/var/tmp/repro/$AIRFLOW_CTX_TASK_ID",
        "--remote",
        "s3://team/cache",
    ]
    assert not Path("/var/tmp/repro/$AIRFLOW_CTX_TASK_ID").exists()  # a template, not created at export
    shared = build_job(example, ExportOptions())
    assert "--remote" not in shared.run_argv()


def test_a_home_naming_variables_is_expanded_when_the_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_repro.home import find_home

    monkeypatch.setenv("WORKER_ID", "task-7")
    assert (
        find_home(tmp_path, str(tmp_path / "homes" / "$WORKER_ID"))
        == (tmp_path / "homes" / "task-7").resolve()
    )
