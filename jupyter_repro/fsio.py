"""Atomic file writes: the one way this package replaces a file's content.

Every file is written under a temporary name and then renamed onto its target with ``os.replace``,
which is atomic on POSIX and Windows when both names are on the same file system. Hence:

* a crash (kill -9, power loss after the fsync) never leaves a half-written file: a reader sees the
  old content or the new one, and at worst a stray temporary file is left behind;
* two processes or threads writing the same target at once never share a temporary name
  (:func:`tempfile.mkstemp` creates it exclusively), so neither can rename the other's half file;
  the last rename wins, and it is a complete file;
* on any failure, the temporary file is removed and the target is untouched.

The content is flushed and fsynced before the rename, so after a crash the target never names a file
whose data had not reached the disk yet.

:mod:`jupyter_repro.kernel.runtime` keeps its own small copy of this: it runs inside the user's kernel,
where jupyter-repro may not be installed.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from jupyter_repro.errors import PathError

FULL_HINT = "free space in the repro home (jupyter repro gc), or point --home at another disk"

StrPath = str | os.PathLike[str]

TEMP_SUFFIX = ".tmp"
"""Every temporary file's name ends with this (``.<target name>.<random>.tmp``)."""


def write_atomically(
    path: StrPath, data: str | bytes, *, mode: int | None = None, temp_dir: StrPath | None = None
) -> Path:
    """Replace ``path``'s content with ``data`` (text is written as UTF-8, newlines untranslated).

    ``mode`` is the new file's permission bits; ``None`` gives what a plain ``open(path, "w")`` would
    (``0o666`` minus the umask). The temporary file is created in ``temp_dir`` (default: the target's
    folder), which must be on the same file system as the target. Missing folders are created.
    Returns ``path`` as a :class:`~pathlib.Path`.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with AtomicFile(target.parent if temp_dir is None else temp_dir, name=target.name, mode=mode) as temp:
        temp.stream.write(payload)
        temp.commit(target)
    return target


class AtomicFile:
    """A new binary file under a unique temporary name, renamed onto a target by :meth:`commit`.

    Use it when the content is streamed, or when the target is only known once the content is written
    (a content-addressed blob is named by the digest computed while writing it)::

        with AtomicFile(folder, name="blob") as temp:
            digest = copy_and_hash(source, temp.stream)
            temp.commit(folder / digest)

    Leaving the ``with`` block without a commit (an exception, or an early return) removes the
    temporary file. ``folder`` must exist and be on the target's file system; ``name`` only makes the
    temporary name recognisable; ``mode`` is as for :func:`write_atomically`.
    """

    def __init__(self, folder: StrPath, *, name: str = "", mode: int | None = None) -> None:
        self.folder = Path(folder)
        self.mode = default_file_mode() if mode is None else mode
        fd, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=self.folder)
        self.path = Path(temp_name)
        try:
            self.stream: BinaryIO = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise
        self.committed = False

    def commit(self, target: StrPath) -> Path:
        """Flush and fsync the content, set the mode, and rename the file onto ``target``."""
        if self.committed:
            raise ValueError(f"{self.path} was already committed")
        try:
            self.stream.flush()
            os.fsync(self.stream.fileno())
            self.stream.close()
            os.chmod(self.path, self.mode)
            os.replace(self.path, target)
        except BaseException:
            self.discard()
            raise
        self.committed = True
        return Path(target)

    def discard(self) -> None:
        """Close and remove the temporary file (nothing happens to any target)."""
        self.stream.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.committed:
            self.discard()


@functools.cache
def default_file_mode() -> int:
    """The mode a plain ``open(..., "w")`` gives a new file (mkstemp's files are private, 0600).

    The umask can only be read by setting it, so it is read once per process.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def write_errors_named(what: str) -> Iterator[None]:
    """Turn a failed write (disk full, quota, a read-only folder) into one line naming the file.

    The writes themselves are atomic (:func:`write_atomically`), so the failure leaves the old file
    or none, never half of one; what remains is to tell the user where and what to do.
    """
    try:
        yield
    except OSError as error:
        raise PathError(
            f"cannot write {what}: {error.strerror or error}", path=error.filename, hint=FULL_HINT
        ) from None
