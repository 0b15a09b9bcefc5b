"""``--to kfp``: a Kubeflow Pipelines (KFP v2) pipeline, one lightweight component per step.

Each component runs ``jupyter repro run NB --step NAME --home HOME [--remote URL] -p ...`` with
subprocess, in ``BASE_IMAGE`` after pip-installing ``PACKAGES``; the step graph's edges become
``.after()`` dependencies. The interval parameters are *pipeline* parameters, so one compiled spec serves
every interval; fixed parameters are baked in, as in the Airflow target. KFP's own cache is turned off
for every task: its key sees a task's arguments, not the notebook or its data, so it would skip a step
whose code changed; jupyter-repro's cache, which does see them, decides what runs again.

Pods share no disk, so on a cluster the steps hand results to each other through the team's remote
(``--remote``); without one the export still works with KFP's local runner on this machine (every step
a subprocess here, sharing the repro home), and says so in the file and on stderr.

Why the compile is a subprocess: this package must not import ``kfp`` (a heavy SDK most users do not
have), and the generated ``NAME_pipeline.py`` must import only ``kfp`` and the standard library. So the
generated file compiles itself (``python NAME_pipeline.py`` writes ``NAME_pipeline.yaml``), and the
export runs it with the first interpreter that has the SDK: ``$JUPYTER_REPRO_KFP_PYTHON``, this one, or
the one behind a ``kfp`` command on ``PATH`` (``pipx install kfp``, a virtual environment's ``bin``).
Without any, it writes the Python file only, removes a stale spec, and prints how to compile.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from jupyter_repro.errors import ExportError
from jupyter_repro.export import Job, JobStep, docstring, write_file

KFP_PYTHON_ENV = "JUPYTER_REPRO_KFP_PYTHON"
"""An interpreter with the ``kfp`` SDK that compiles the exported pipeline (path or command name)."""
STEP_ENV = "JUPYTER_REPRO_KFP_STEP"
"""Set to the step's name for its command, so ``--home '/var/tmp/repro/$JUPYTER_REPRO_KFP_STEP'`` gives
each step its own home, as separate pods have (KFP's local runner shares one machine)."""
COMPILE_TIMEOUT_S = 300.0
_PIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?==\S+")
_RESERVED = frozenset({"_steps", "_tasks", "_configure"})
"""Names the generated pipeline function's body uses; an interval parameter must not shadow them."""


class KfpExporter:
    """The ``kfp`` target. No default schedule: KFP runs are triggered (``kfp.Client().create_run...``);
    a recurring run is set up on the cluster, and would pass the same interval every time."""

    name = "kfp"
    description = "a Kubeflow Pipelines pipeline: one component per step, compiled to its pipeline spec YAML"
    default_schedule: str | None = None

    def export(self, job: Job, out_dir: Path) -> list[Path]:
        if job.schedule is not None:
            raise ExportError(
                "the kfp target takes no --schedule: KFP runs are triggered with the interval as arguments",
                hint="drop --schedule; start each interval's run with its arguments (see docs/export.md)",
            )
        if job.interval is not None and {job.interval.start, job.interval.end} & _RESERVED:
            raise ExportError(f"interval parameters named {', '.join(sorted(_RESERVED))} are not supported")
        source = out_dir / f"{job.name}_pipeline.py"
        spec = out_dir / f"{job.name}_pipeline.yaml"
        image, packages, notes = environment_of(job)
        write_file(source, render_pipeline(job, image, packages, notes))
        if job.remote is None:
            _note(f"no --remote: {source.name} runs with KFP's local runner here; a cluster needs --remote")
        python = kfp_python()
        if python is None:
            spec.unlink(missing_ok=True)  # a spec from an earlier export would no longer match the file
            _note(f"no Python with the kfp SDK found (${KFP_PYTHON_ENV}): compile with 'python {source}'")
            return [source]
        compile_pipeline(python, source, spec)
        return [source, spec]


# --------------------------------------------------------------------------------------------------
# What the steps run in


def environment_of(job: Job) -> tuple[str, list[str], list[str]]:
    """``(base image, packages, notes)``: the kernel's Python minor version as ``python:X.Y-slim``, and
    jupyter-repro plus every pin of the notebook's lock (the same versions ``verify --isolated``
    installs, without the hashes, which pip takes only from requirement files).

    Without a lock (pip-compile needs the index), the kernel's versions of the distributions the
    notebook imports, their own dependencies unpinned; the notes say so in the generated file.
    """
    from jupyter_repro._version import __version__
    from jupyter_repro.env import capture_for_notebook, lock_environment, requirements_for
    from jupyter_repro.home import find_home
    from jupyter_repro.notebook import load_notebook
    from jupyter_repro.pipeline import build_pipeline

    path = Path(job.notebook)
    notebook = load_notebook(path)
    pipeline = build_pipeline(notebook, job.notebook)
    # the lock cache lives in a home; a home naming $VARS is a worker's, so use the notebook's own
    home = find_home(path, None if "$" in job.home else job.home)
    snapshot = lock_environment(capture_for_notebook(path, notebook, home), pipeline.imported_modules, home)
    notes: list[str] = []
    if snapshot.lock is not None:
        pins = lock_pins(snapshot.lock.text)
        excluded = list(snapshot.lock.excluded)
    else:
        pins, excluded = requirements_for(snapshot, pipeline.imported_modules)
        notes.append(f"No lock ({snapshot.lock_error}): PACKAGES pins only what the notebook imports.")
    if excluded:
        notes.append(f"Not from an index, so not in PACKAGES (put them in the image): {', '.join(excluded)}.")
    ours = f"jupyter-repro=={__version__}"
    packages = [ours, *(pin for pin in pins if _dist(pin) != "jupyter-repro")]
    major, minor = snapshot.python_version.split(".")[:2]
    return f"python:{major}.{minor}-slim", packages, notes


def lock_pins(text: str) -> list[str]:
    """The ``name==version`` lines of a pip-compile lock (markers kept), without hashes and comments."""
    pins = []
    for line in text.splitlines():
        if line[:1].isspace() or line.startswith(("#", "-")):
            continue
        requirement = line.rstrip().removesuffix("\\").strip()
        if _PIN.match(requirement):
            pins.append(requirement)
    return pins


def _dist(pin: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>!~; ]", pin, maxsplit=1)[0]).lower()


# --------------------------------------------------------------------------------------------------
# Compiling


def kfp_python() -> str | None:
    """The interpreter that compiles the pipeline: ``$JUPYTER_REPRO_KFP_PYTHON`` (trusted as given: a
    wrong one fails the export loudly), this interpreter if it has ``kfp``, or the one running the
    ``kfp`` command on ``PATH``. ``find_spec`` looks the package up without importing it."""
    configured = os.environ.get(KFP_PYTHON_ENV)
    if configured:
        return shutil.which(configured) or configured
    if importlib.util.find_spec("kfp") is not None:
        return sys.executable
    command = shutil.which("kfp")
    if command is None:
        return None
    try:
        with open(command, "rb") as script:
            first = script.readline(4096).decode("utf-8", errors="replace")
    except OSError:
        return None
    interpreter = first[2:].strip().split(" ")[0] if first.startswith("#!") else ""
    usable = Path(interpreter).name.startswith("python") and os.access(interpreter, os.X_OK)
    return interpreter if usable else None


def compile_pipeline(python: str, source: Path, spec: Path) -> None:
    """Run the generated file with ``python`` to write the spec; a failure is an ExportError (exit 2)."""
    argv = [python, str(source), "--output", str(spec)]
    try:
        completed = subprocess.run(
            argv, cwd=source.parent, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ExportError(f"cannot compile the pipeline with {python}: {error}", path=str(source)) from None
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {completed.returncode}"
        raise ExportError(
            f"compiling the pipeline with {python} failed: {reason}",
            path=str(source),
            hint=f"the Python in ${KFP_PYTHON_ENV} (or on PATH) needs the kfp SDK 2.x",
        )


def _note(message: str) -> None:
    """One line on stderr: the export succeeded, but the user should know this (stdout lists files)."""
    print(f"jupyter-repro: kfp: {message}", file=sys.stderr)


# --------------------------------------------------------------------------------------------------
# The generated file


def render_pipeline(job: Job, image: str, packages: list[str], notes: list[str]) -> str:
    names = _function_names(job.steps)
    lines = [
        docstring(_module_doc(job, image, notes)),
        "",
        "import argparse",
        "import pathlib",
        "",
        "from kfp import compiler, dsl",
        "",
        f"PIPELINE_NAME = {_py(_pipeline_name(job.name))}",
        f"BASE_IMAGE = {_py(image)}",
        '"""The image every step runs in; it needs the notebook and its data at the exported path."""',
        "PACKAGES = [",
        *(f"    {_py(package)}," for package in packages),
        "]",
        '"""What each step pip-installs before it runs: jupyter-repro and the pins of the notebook lock."""',
        f"RETRIES = {job.retries}",
        f"RETRY_DELAY_S = {job.retry_delay_s}",
        "",
        *(_component(job, step.name, names[step.name]) for step in job.steps),
        _build(job, names),
        _CONFIGURE,
        _MAIN,
    ]
    return "\n".join(lines)


def _module_doc(job: Job, image: str, notes: list[str]) -> str:
    nb = Path(job.notebook).name
    interval = job.interval
    if interval is None:
        arguments, call = "", ""
        fills = ["The notebook has no interval parameters: every run passes the same ones."]
    else:
        arguments = f', arguments={{"{interval.start}": START, "{interval.end}": END}}'
        call = f"{interval.start}=START, {interval.end}=END"
        end = "the last day inside it" if interval.inclusive_end else "its exclusive end"
        fills = [
            f"Pipeline parameters {interval.start} (the interval's start) and {interval.end} ({end}),",
            "passed to the notebook as given: one compiled spec serves every interval, and a rerun of",
            "an interval reuses the cache and rewrites the same outputs.",
        ]
    stem = f"{job.name}_pipeline"
    return "\n".join(
        [
            f"Kubeflow Pipelines pipeline {_pipeline_name(job.name)!r}: the jupyter-repro pipeline of {nb}.",
            "",
            "Generated by 'jupyter repro export --to kfp'; export again rather than edit.",
            f"Notebook: {job.notebook}",
            *_sharing(job),
            "",
            *fills,
            "",
            f"'python {stem}.py' writes {stem}.yaml, the pipeline spec (the export did if it",
            "found the kfp SDK). Options: --base-image IMAGE, --package SPEC (repeat; replaces PACKAGES),",
            "--no-packages (the image has jupyter-repro and the packages already), -o FILE. The image",
            "must hold the notebook and its data at the path above (a checkout in it, or a volume).",
            *notes,
            "",
            "On a cluster: kfp.Client(host=URL).create_run_from_pipeline_package(",
            f'    "{stem}.yaml"{arguments})',
            "Here, with KFP's local runner (the commands below need no packages installed):",
            "    kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False))",
            f"    build_pipeline(packages=[])({call})",
            f"Each step's command sees {STEP_ENV}=<step>, for a home per step in --home.",
        ]
    )


def _sharing(job: Job) -> list[str]:
    if job.remote is not None:
        return [
            f"Remote store the steps share results through: {job.remote}",
            f"Repro home of each step: {job.home}",
            "",
            "Each step runs 'jupyter repro run --step'; its inputs come from its local cache or, on a",
            "miss, from the remote, where every step uploads what it made. Pods need the remote's",
            "credentials (for S3 the AWS variables; pickled results need JUPYTER_REPRO_REMOTE_KEY), e.g.",
            "from a Kubernetes secret (kfp-kubernetes' use_secret_as_env), and no shared disk.",
        ]
    return [
        f"Repro home shared by every step: {job.home}",
        "",
        "NO REMOTE: the steps hand results to each other through the cache in this repro home, which",
        "works with KFP's local runner on this machine only. A cluster's pods share no disk: export",
        "again with --remote URL (the team's store, see docs/remote.md) to run it there.",
    ]


def _component(job: Job, step: str, function: str) -> str:
    """One step's component function: self-contained (KFP ships only its source), its command baked in."""
    interval = job.interval
    signature = "" if interval is None else "interval_start: str, interval_end: str"
    words = [_py(word) for word in [*job.run_argv()]]
    if interval is not None:
        words += [_py("-p"), _py(interval.start), "interval_start"]
        words += [_py("-p"), _py(interval.end), "interval_end"]
    words += [_py(word) for word in [*job.fixed_parameter_args(), "--step", step]]
    failed = _py(f"step {step!r} failed: jupyter repro run exited with code %d")
    return "\n".join(
        [
            "",
            f"def {function}({signature}):",
            f'    """Step {step!r}: \'jupyter repro run --step {step}\' of the notebook."""',
            "    import os",
            "    import shlex",
            "    import subprocess",
            "",
            "    argv = [",
            *_wrapped(words, indent=8),
            "    ]",
            '    print("+ " + shlex.join(argv), flush=True)',
            f"    env = dict(os.environ, {STEP_ENV}={_py(step)})",
            "    code = subprocess.run(argv, env=env, check=False).returncode",
            "    if code != 0:",
            f"        raise RuntimeError({failed} % code)",
            "",
        ]
    )


def _build(job: Job, names: dict[str, str]) -> str:
    interval = job.interval
    parameters = "" if interval is None else f"{interval.start}: str, {interval.end}: str"
    arguments = "" if interval is None else f"interval_start={interval.start}, interval_end={interval.end}"
    description = f"jupyter-repro pipeline of {Path(job.notebook).name}"
    tasks = []
    for step in job.steps:
        after = ", ".join(f"_tasks[{_py(upstream)}]" for upstream in step.upstream)
        tasks += [
            f"        _tasks[{_py(step.name)}] = _configure(",
            f"            _steps[{_py(step.name)}]({arguments}), {_py(step.name)}",
            f"        ){f'.after({after})' if after else ''}",
        ]
    return "\n".join(
        [
            "",
            "def build_pipeline(base_image=BASE_IMAGE, packages=None):",
            '    """The pipeline, its steps components of ``base_image`` that install ``packages`` (default',
            '    PACKAGES; ``[]`` when the image, or the local runner\'s Python, has them)."""',
            "    installs = list(PACKAGES if packages is None else packages)",
            "    _steps = {",
            *(
                f"        {_py(step.name)}: dsl.component({names[step.name]}, base_image=base_image, "
                "packages_to_install=installs),"
                for step in job.steps
            ),
            "    }",
            "",
            f"    @dsl.pipeline(name=PIPELINE_NAME, description={_py(description)})",
            f"    def pipeline({parameters}):",
            "        _tasks = {}",
            *tasks,
            "",
            "    return pipeline",
            "",
        ]
    )


_CONFIGURE = '''
def _configure(task, step):
    """Name the task after its step, retry as exported, and turn KFP's cache off: its key sees only
    the task's arguments, not the notebook or its data; jupyter-repro's cache decides what reruns."""
    task.set_display_name(step)
    task.set_caching_options(False)
    if RETRIES:
        task.set_retry(num_retries=RETRIES, backoff_duration="%ds" % RETRY_DELAY_S)
    return task
'''

_MAIN = """
def main(argv=None):
    here = pathlib.Path(__file__).resolve()
    parser = argparse.ArgumentParser(description="Compile the pipeline to its KFP pipeline spec (YAML).")
    parser.add_argument("-o", "--output", default=str(here.with_suffix(".yaml")), help="default: %(default)s")
    parser.add_argument("--base-image", default=BASE_IMAGE, help="default: %(default)s")
    parser.add_argument(
        "--package", action="append", metavar="SPEC", help="a pip requirement (repeat); replaces PACKAGES"
    )
    parser.add_argument("--no-packages", action="store_true", help="install nothing: the image has it all")
    args = parser.parse_args(argv)
    packages = [] if args.no_packages else args.package
    compiler.Compiler().compile(build_pipeline(args.base_image, packages), args.output)
    print(args.output)


if __name__ == "__main__":
    main()
"""


def _function_names(steps: tuple[JobStep, ...]) -> dict[str, str]:
    """A Python function name per step (``step_`` + the name, ``-`` as ``_``), unique; KFP names the
    step's component and task after it (``step-clean``); the task's display name is the step's."""
    names: dict[str, str] = {}
    for step in steps:
        base = "step_" + re.sub(r"\W", "_", step.name)
        name, n = base, 2
        while name in names.values():
            name, n = f"{base}_{n}", n + 1
        names[step.name] = name
    return names


def _pipeline_name(name: str) -> str:
    """KFP's pipeline names are ``[a-z0-9][a-z0-9-]{0,127}``."""
    return (re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "notebook")[:128]


def _wrapped(words: list[str], *, indent: int, width: int = 100) -> list[str]:
    lines, line = [], ""
    for word in words:
        candidate = f"{line} {word}," if line else f"{word},"
        if line and indent + len(candidate) > width:
            lines.append(" " * indent + line)
            candidate = f"{word},"
        line = candidate
    return [*lines, " " * indent + line] if line else lines


def _py(text: str) -> str:
    """A Python string literal (JSON's escaping is valid Python for str)."""
    return json.dumps(text, ensure_ascii=False)
