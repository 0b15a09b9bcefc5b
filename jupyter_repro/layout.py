"""Where things live under a repro home: the names of its files and folders, and nothing else.

The runner writes a run's files, the verifier writes its report, and the server extension serves that
report; each used to spell ``home / "runs" / run_id / "report.html"`` itself, so renaming a file meant
finding every copy. This module is the one place that knows the layout. It is pure: it builds paths and
never touches the disk (callers create folders and check for files), so any module can import it
without cost or side effects.

Besides the ledger and the cache, which their own modules place, a repro home (``.repro/``, see
:mod:`jupyter_repro.home`) holds::

    runs/RUN_ID/            one folder per run or verification (run_dir)
        executed.ipynb      the executed notebook, as the run shows it (executed_notebook_path)
        generated.ipynb     papermill's own output: the generated notebook (generated_notebook_path)
        result.json         the run's --json document (result_path)
        report.html         a verification's self-contained HTML report (report_path)
        kernel.log          the kernel's stdout and stderr (kernel_log_path)
        work/               per-step scratch files: reports, outputs, inputs loaded from the cache (work_dir)
    backups/                the notebooks as they were before ``jupyter repro fix --apply`` wrote them
        NAME.YYYYMMDDTHHMMSSZ.ipynb   (backup_path; numbered -2, -3 ... when one exists already;
                                      a side file a fix replaces, requirements.txt, is kept here too)
"""

from __future__ import annotations

from pathlib import Path

RUNS_DIRNAME = "runs"
"""The folder of the repro home that holds one folder per run."""

EXECUTED_NOTEBOOK_FILENAME = "executed.ipynb"
GENERATED_NOTEBOOK_FILENAME = "generated.ipynb"
RESULT_FILENAME = "result.json"
REPORT_FILENAME = "report.html"
KERNEL_LOG_FILENAME = "kernel.log"
WORK_DIRNAME = "work"
BACKUPS_DIRNAME = "backups"


def runs_dir(home: Path) -> Path:
    """The folder holding every run's folder."""
    return home / RUNS_DIRNAME


def run_dir(home: Path, run_id: str) -> Path:
    """The folder of run ``run_id`` (a full run id, not a prefix: resolve prefixes in the ledger first)."""
    return runs_dir(home) / run_id


def executed_notebook_path(home: Path, run_id: str) -> Path:
    """The executed notebook of a run, with the outputs the run produced."""
    return run_dir(home, run_id) / EXECUTED_NOTEBOOK_FILENAME


def generated_notebook_path(home: Path, run_id: str) -> Path:
    """Papermill's output: the generated notebook (cache loads and stores inserted) as it executed.

    The runner reads it back only when a run fails midway, to show what ran before the failure.
    """
    return run_dir(home, run_id) / GENERATED_NOTEBOOK_FILENAME


def result_path(home: Path, run_id: str) -> Path:
    """The run's ``--json`` document, as recorded in the ledger."""
    return run_dir(home, run_id) / RESULT_FILENAME


def report_path(home: Path, run_id: str) -> Path:
    """A verification's HTML report (plain runs have none)."""
    return run_dir(home, run_id) / REPORT_FILENAME


def kernel_log_path(home: Path, run_id: str) -> Path:
    """What the run's kernel wrote on its stdout and stderr."""
    return run_dir(home, run_id) / KERNEL_LOG_FILENAME


def work_dir(home: Path, run_id: str) -> Path:
    """Per-step scratch files of the run: step reports and outputs, inputs loaded from the cache."""
    return run_dir(home, run_id) / WORK_DIRNAME


def backups_dir(home: Path) -> Path:
    """The folder of the notebooks' backups that ``fix --apply`` makes before it writes a notebook."""
    return home / BACKUPS_DIRNAME


def backup_path(home: Path, file_name: str, stamp: str, number: int = 1) -> Path:
    """The ``number``-th backup of ``file_name`` (a notebook, ``requirements.txt``) made at ``stamp``
    (UTC, compact): ``NAME.STAMP[-N].SUFFIX``."""
    name = Path(file_name)
    counter = "" if number == 1 else f"-{number}"
    return backups_dir(home) / f"{name.stem}.{stamp}{counter}{name.suffix}"


def project_root(home: Path) -> Path:
    """The project a repro home belongs to: the folder that holds it. Paths in cache entries are
    relative to it, so another checkout of the project, at another path, shares the entries."""
    return home.parent


def project_relative(path: str, root: Path) -> str:
    """``path`` relative to the project (POSIX separators) when it is inside it, else unchanged."""
    absolute = Path(path)
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return path


def from_project(stored: str, root: Path) -> str:
    """The absolute path of a path as :func:`project_relative` stored it."""
    return stored if Path(stored).is_absolute() else str(root / stored)
