"""The program ``jupyter repro export --to script`` generates (and ``--to cron`` wraps): a template.

This module is not imported by jupyter-repro. :func:`jupyter_repro.export.script.render_runner` reads
its source text (:mod:`importlib.resources`), drops this docstring for one describing the job, and
replaces the block between the ``job configuration`` markers with the job's values (one plain
``NAME = literal`` line each). The annotated placeholders below only make the module valid for ruff
and ``mypy --strict``.

The generated file runs with the interpreter that exported it (Python >= 3.10): standard library only,
plus croniter when it computes the interval from the schedule.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO, TypedDict


class Interval(TypedDict):
    """The notebook's interval parameters: their names and how their values are written."""

    start: str
    end: str
    format: str
    inclusive_end: bool


# --- job configuration: render_runner() replaces this block with the job's values ---
JOB: str = "example"
NOTEBOOK: str = "example.ipynb"
HOME: str = ".repro"
COMMAND: list[str] = ["python", "-m", "jupyter_repro.cli"]
PARAMETERS: dict[str, str] = {}
SCHEDULE: str | None = None
INTERVAL: Interval | None = None
RETRIES: int = 2
RETRY_DELAY_S: float = 300
LOCK_FILE: str | None = None
LOG_FILE: str | None = None
# --- end of job configuration ---

EXIT_BAD_INPUT = 2
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run of this job held the lock for too long


class JobError(Exception):
    """Unusable arguments: one line on stderr, exit 2."""


class Locked(Exception):
    """The lock stayed held by another run."""


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        scheduled, values = interval_values(args)
    except JobError as error:
        print(f"{JOB}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parameters = {**PARAMETERS, **values, **dict(args.parameters or [])}
    command = [*COMMAND, "run", NOTEBOOK, "--home", HOME]
    for name, value in parameters.items():
        command += ["-p", name, value]
    if args.dry_run:
        print(shlex.join(command))
        return 0
    with open_log(args.log) as log:
        try:
            with job_lock(args.lock, args.lock_timeout):
                code = run_with_retries(command, scheduled, values, args, log)
        except Locked:
            note(log, f"another run holds {args.lock} (waited {args.lock_timeout:g} s): not started")
            code = EXIT_LOCKED
    if code != 0 and args.log:
        print(f"{JOB}: run failed with exit code {code}; see {args.log}", file=sys.stderr)
    return code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=JOB, description=__doc__.splitlines()[0] if __doc__ else None)
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--at",
        metavar="TIME",
        help="the time this run was scheduled for (ISO 8601, local time unless an offset is given; "
        "default: now); the interval is the schedule's period that ended then",
    )
    when.add_argument(
        "--interval", nargs=2, metavar=("START", "END"), help="run this interval (backfills, reruns)"
    )
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        dest="parameters",
        metavar=("NAME", "VALUE"),
        help="set or override a parameter",
    )
    p.add_argument(
        "--retries", type=int, default=RETRIES, metavar="N", help=f"retries of a failed run ({RETRIES})"
    )
    p.add_argument(
        "--retry-delay", type=float, default=RETRY_DELAY_S, metavar="SECONDS", help="wait between retries"
    )
    p.add_argument("--lock", default=LOCK_FILE, metavar="FILE", help="hold this lock file while running")
    p.add_argument(
        "--lock-timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how long to wait for a lock held by an earlier run (default 3600)",
    )
    p.add_argument("--log", default=LOG_FILE, metavar="FILE", help="append the run's output to this file")
    p.add_argument("--dry-run", action="store_true", help="print the command that would run, and exit")
    return p


def interval_values(args: argparse.Namespace) -> tuple[dt.datetime | None, dict[str, str]]:
    """The scheduled time and the interval parameters' values (``{}`` when the job has none)."""
    if INTERVAL is None:
        if args.at or args.interval:
            raise JobError("this job has no interval parameters: --at and --interval do not apply")
        return None, {}
    if args.interval:
        start, end = args.interval
        return None, {INTERVAL["start"]: start, INTERVAL["end"]: end}
    if SCHEDULE is None:
        given = {name for name, _ in args.parameters or []}
        if {INTERVAL["start"], INTERVAL["end"]} <= given:
            return None, {}
        raise JobError(
            f"this job has no schedule: give the interval with --interval START END "
            f"(it fills {INTERVAL['start']} and {INTERVAL['end']})"
        )
    scheduled = parse_time(args.at) if args.at else dt.datetime.now().astimezone()
    start, end = schedule_interval(SCHEDULE, scheduled)
    return scheduled, {
        INTERVAL["start"]: render(start, INTERVAL, end=False),
        INTERVAL["end"]: render(end, INTERVAL, end=True),
    }


def parse_time(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise JobError(f"--at: not an ISO 8601 time: {text!r} (e.g. 2026-10-02T00:00)") from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def schedule_interval(schedule: str, scheduled: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)``: the schedule's period that ended at or before ``scheduled``."""
    from croniter import croniter

    minute = scheduled.replace(second=0, microsecond=0)
    end = minute if croniter.match(schedule, minute) else croniter(schedule, minute).get_prev(dt.datetime)
    start = croniter(schedule, end).get_prev(dt.datetime)
    return start, end


def render(moment: dt.datetime, interval: Interval, *, end: bool) -> str:
    if interval["format"] == "date":
        if end and interval["inclusive_end"]:
            moment -= dt.timedelta(microseconds=1)
        return moment.date().isoformat()
    return moment.isoformat()


@contextlib.contextmanager
def open_log(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stderr
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8", buffering=1) as stream:
        yield stream


@contextlib.contextmanager
def job_lock(path: str | None, timeout: float) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``: released by the kernel even if this process dies."""
    if path is None:
        yield
        return
    import fcntl

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Locked from None
                time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_with_retries(
    command: list[str],
    scheduled: dt.datetime | None,
    values: dict[str, str],
    args: argparse.Namespace,
    log: TextIO,
) -> int:
    shown = " ".join(f"{name}={value}" for name, value in values.items()) or "no interval"
    when = f" (scheduled {scheduled.isoformat()})" if scheduled is not None else ""
    attempts = max(0, args.retries) + 1
    code = 1
    for attempt in range(1, attempts + 1):
        note(log, f"run {attempt}/{attempts}: {shown}{when}: {shlex.join(command)}")
        started = time.monotonic()
        log.flush()
        to_log = log is not sys.stderr  # without a log file the run's output goes where ours goes
        code = subprocess.run(
            command,
            stdout=log if to_log else None,
            stderr=subprocess.STDOUT if to_log else None,
            check=False,
        ).returncode
        note(log, f"exit {code} after {time.monotonic() - started:.1f} s")
        if code in (0, EXIT_BAD_INPUT) or attempt == attempts:
            break
        note(log, f"retrying in {args.retry_delay:g} s")
        time.sleep(args.retry_delay)
    return code


def note(log: TextIO, message: str) -> None:
    stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"[{stamp}] {JOB}: {message}", file=log, flush=True)


if __name__ == "__main__":
    sys.exit(main())
