"""``--to cron``: a crontab entry and a wrapper program that locks, computes the interval and logs.

The wrapper is the script target's program (:func:`~jupyter_repro.export.script.render_runner`) with a
lock file and a log file beside it. cron starts it at the scheduled minute; it takes the scheduled time
to be the latest time the schedule matches at or before now, and passes the period that ended then (the
data interval, as Airflow computes it) to the notebook's interval parameters. The choice keeps cron and
Airflow jobs of one notebook writing the same files for the same interval; a late start (a busy
machine, a lock wait) still processes the interval it was scheduled for.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from jupyter_repro.errors import ExportError
from jupyter_repro.export import Job, write_file
from jupyter_repro.export.script import render_runner


class CronExporter:
    name = "cron"
    description = "a crontab entry and a wrapper that locks (no overlapping runs), passes the interval, logs"
    default_schedule: str | None = "@daily"

    def export(self, job: Job, out_dir: Path) -> list[Path]:
        if job.schedule is None:  # pragma: no cover - default_schedule always supplies one
            raise ExportError("the cron target needs a schedule (--schedule)")
        wrapper = out_dir / f"{job.name}_cron.py"
        lock = out_dir / f"{job.name}_cron.lock"
        log = out_dir / f"{job.name}_cron.log"
        crontab = out_dir / f"{job.name}.crontab"
        write_file(wrapper, render_runner(job, target="cron", lock_file=lock, log_file=log), executable=True)
        write_file(crontab, render_crontab(job, wrapper, log, crontab))
        return [wrapper, crontab]


def render_crontab(job: Job, wrapper: Path, log: Path, crontab: Path) -> str:
    """The crontab file: comments saying how to install it, then one entry."""
    command = crontab_command([job.command[0], str(wrapper)])
    return "\n".join(
        [
            f"# jupyter-repro job {job.name!r}: runs {job.notebook}",
            f"# schedule {job.schedule_spec!r}, in the cron daemon's time zone; log: {log}",
            "# install once (keeps your other entries):",
            f"#   (crontab -l 2>/dev/null; cat {shlex.quote(str(crontab))}) | crontab -",
            "# rerun or backfill one interval by hand:",
            f"#   {shlex.quote(str(wrapper))} --at YYYY-MM-DDTHH:MM    or    --interval START END",
            f"{job.schedule} {command}",
            "",
        ]
    )


def crontab_command(argv: list[str]) -> str:
    """A shell command for a crontab line: quoted, and ``%`` escaped (cron turns it into a newline)."""
    return shlex.join(argv).replace("%", "\\%")
