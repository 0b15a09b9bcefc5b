"""The one exception hierarchy of jupyter-repro.

Every error caused by the user's input or environment derives from :class:`ReproError`. The CLI and the
server handlers catch only this class: it turns into one line on stderr with exit code 2 (CLI) or a JSON
error (REST). Anything else that escapes is a bug in jupyter-repro and keeps its traceback.

Errors carry structured fields (notebook, cell, step, tag, path, hint) so that callers can render them
differently; ``str(error)`` is always a single line that names where the problem is and what to do.
"""

from __future__ import annotations

from typing import Any


class ReproError(Exception):
    """Base class for every error a user can cause; rendered as one line, exit code 2."""

    exit_code = 2
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        notebook: str | None = None,
        cell: int | None = None,
        step: str | None = None,
        tag: str | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.notebook = notebook
        self.cell = cell
        self.step = step
        self.tag = tag
        self.path = path
        self.hint = hint

    def __str__(self) -> str:
        where = [
            part
            for part in (
                self.notebook,
                f"cell {self.cell}" if self.cell is not None else None,
                f"step '{self.step}'" if self.step is not None else None,
                f"tag '{self.tag}'" if self.tag is not None else None,
                self.path if self.path is not None and self.path != self.notebook else None,
            )
            if part
        ]
        text = ": ".join([*where, self.message])
        if self.hint:
            text = f"{text} ({self.hint})"
        return " ".join(text.split())  # always one line, whatever the message held

    def to_dict(self) -> dict[str, Any]:
        """The structured form used in JSON answers."""
        return {
            "error": type(self).__name__,
            "message": str(self),
            "notebook": self.notebook,
            "cell": self.cell,
            "step": self.step,
            "tag": self.tag,
            "path": self.path,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only fields survive pickling (jobs may cross process boundaries)
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: type[ReproError], message: str, state: dict[str, Any]) -> ReproError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class NotebookError(ReproError):
    """The notebook file is missing, unreadable, not JSON, or not a valid nbformat notebook."""


class TagError(ReproError):
    """A cell's tags break the tag grammar (bad step name, unknown step in ``after:``, ...)."""


class PipelineError(ReproError):
    """The steps do not form a valid pipeline (cycle, duplicated step, syntax error in a step)."""


class ParameterError(ReproError):
    """A ``-p NAME VALUE`` names no parameter of the notebook, or its value cannot be used."""


class RunNotFoundError(ReproError):
    """A run id given by the user is not in the ledger."""

    http_status = 404


class LedgerError(ReproError):
    """The ledger file cannot be opened or is not a jupyter-repro ledger."""


class EnvironmentCaptureError(ReproError):
    """The kernel's interpreter could not be found or inspected."""


class ExportError(ReproError):
    """An export target or its options are unusable (unknown target, bad schedule)."""


class PathError(ReproError):
    """A path leaves the allowed root (server) or does not exist."""

    http_status = 404


class RemoteError(ReproError):
    """The team's remote store cannot be used as configured (bad URL, missing backend, key file)."""


class FixError(ReproError):
    """A fix cannot be listed or applied: an unknown fix id, an unavailable fix, a failed download."""
