"""The artifact store in the repro home: content-addressed blobs and step cache entries.

Layout under ``<home>/cache/``::

    blobs/<algorithm>/<2 hex>/<62 hex>   immutable content, named by its digest
    entries/<algorithm>-<hex>.json       one cache entry per step key
    tmp/                                 temporary names; every write lands here first

Every file is written under a temporary name in ``tmp/``, fsynced and renamed into place (with
:mod:`jupyter_repro.fsio`), so a crash leaves at worst a stray file in ``tmp/``, never a half blob or
half entry. Nothing read back is trusted: a blob is re-hashed on every read and an entry carries a
checksum of its own content. A missing or damaged blob or entry reads as "absent" (None / False), so
the caller recomputes the step; no exception about the store's content escapes this module.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from jupyter_repro import hashing
from jupyter_repro.fsio import AtomicFile, write_atomically

CACHE_DIRNAME = "cache"
ENTRY_FORMAT = 1
MANIFEST_FORMAT = 1

_DIGEST = re.compile(r"^(blake3|sha256):([0-9a-f]{64})$")
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$")
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,16}$")
# Private to the user (0600), like the kernel's artifacts that are moved in (mkstemp made them all).
_FILE_MODE = 0o600

CurrentHash = Callable[[str], "str | None"]
STORE_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
"""Write failures that are the store's, not the artifact's: disk full, quota exceeded, read-only."""


class _CorruptBlob(Exception):
    """A blob is missing or no longer matches its digest. Never leaves this module: callers get None."""


@dataclass(frozen=True)
class CacheEntry:
    """What one execution of a step produced, enough to replay it without running.

    ``outputs`` maps a code cell's index in the notebook to its nbformat output dicts.
    ``variables`` maps each stored output variable to ``{"blob", "serializer", "file", "type", ...}``;
    ``unstored`` names the output variables that could not be stored, with the reason.
    ``reads``/``writes`` are ``(path, digest)`` of the files the step read and wrote; a path inside the
    project is relative to it (:func:`jupyter_repro.layout.project_relative`), so checkouts share entries.
    """

    key: str
    step: str
    outputs: dict[int, list[dict[str, Any]]]
    variables: dict[str, dict[str, Any]]
    reads: tuple[tuple[str, str], ...] = ()
    writes: tuple[tuple[str, str], ...] = ()
    duration: float = 0.0
    unstored: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        """The JSON form stored in ``entries/`` (cell indexes become strings, as JSON requires)."""
        return {
            "key": self.key,
            "step": self.step,
            "created": self.created,
            "duration": self.duration,
            "outputs": {str(index): outputs for index, outputs in self.outputs.items()},
            "variables": self.variables,
            "unstored": self.unstored,
            "reads": [list(pair) for pair in self.reads],
            "writes": [list(pair) for pair in self.writes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CacheEntry:
        """Rebuild an entry; raises ValueError, TypeError or KeyError when the data is malformed."""
        variables = {str(name): dict(record) for name, record in data["variables"].items()}
        return cls(
            key=str(data["key"]),
            step=str(data["step"]),
            created=float(data["created"]),
            duration=float(data["duration"]),
            outputs={int(index): list(outputs) for index, outputs in data["outputs"].items()},
            variables=variables,
            unstored={str(name): str(reason) for name, reason in data["unstored"].items()},
            reads=_pairs(data["reads"]),
            writes=_pairs(data["writes"]),
        )


def _pairs(items: Iterable[Sequence[str]]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for path, digest in items:
        if not isinstance(path, str) or not isinstance(digest, str):
            raise TypeError("a recorded file must be a (path, digest) pair of strings")
        pairs.append((path, digest))
    return tuple(pairs)


def _digest_chunks(algorithm: str, chunks: Iterable[bytes]) -> str | None:
    """Digest of chunks with the named algorithm, or None if this process cannot compute it."""
    if algorithm == hashing.ALGORITHM:
        return hashing.hash_chunks(chunks)
    if algorithm == "sha256":
        hasher = hashlib.sha256()
        for chunk in chunks:
            hasher.update(chunk)
        return f"sha256:{hasher.hexdigest()}"
    return None


def _digest_file(algorithm: str, path: Path) -> str | None:
    """Digest of a file with the named algorithm (this process's own: memory-mapped, all cores)."""
    if algorithm == hashing.ALGORITHM:
        return hashing.hash_file(path)
    with path.open("rb") as handle:
        return _digest_chunks(algorithm, _read_chunks(handle))


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    return iter(lambda: handle.read(hashing.CHUNK_SIZE), b"")


def _tee(chunks: Iterable[bytes], sink: BinaryIO) -> Iterator[bytes]:
    """Pass chunks through while writing them to ``sink`` (hash and copy in one read)."""
    for chunk in chunks:
        sink.write(chunk)
        yield chunk


def _unlink(path: str | Path) -> None:
    Path(path).unlink(missing_ok=True)


class ArtifactStore:
    """Blobs and cache entries under ``<home>/cache``; safe against crashes and damaged files."""

    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.root = Path(home) / CACHE_DIRNAME
        self.blobs = self.root / "blobs"
        self.entries = self.root / "entries"
        self.tmp = self.root / "tmp"
        self._verified: dict[str, tuple[int, int, int]] = {}  # digest -> the blob's stat when verified

    # ---------------------------------------------------------------------------------------- blobs

    def blob_path(self, digest: str) -> Path | None:
        """Where a blob lives, or None for a string that is not a digest (never a path outside)."""
        match = _DIGEST.match(digest) if isinstance(digest, str) else None
        if match is None:
            return None
        algorithm, hexdigest = match.groups()
        return self.blobs / algorithm / hexdigest[:2] / hexdigest[2:]

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; return their digest."""
        digest = hashing.hash_bytes(data)
        write_atomically(self._blob_target(digest), data, mode=_FILE_MODE, temp_dir=self._temp_dir())
        return digest

    def put_file(self, path: str | os.PathLike[str], *, move: bool = False, digest: str | None = None) -> str:
        """Store a file's content; return its digest.

        ``move=True`` renames the file into the store (for artifacts the kernel just wrote under the
        repro home); otherwise it is copied. ``digest``, when given, is trusted instead of hashing the
        file again (the kernel hashed it while writing); every read verifies it anyway. An existing
        blob is always replaced, so a damaged blob is repaired by the next run that produces it.
        """
        source = Path(path)
        if move:
            known = digest if digest is not None and self.blob_path(digest) else hashing.hash_file(source)
            try:
                os.replace(source, self._blob_target(known))
                return known
            except OSError:
                pass  # another file system: copy below, then drop the source
        with source.open("rb") as reader, self._temp_file() as temp:
            copied = hashing.hash_chunks(_tee(_read_chunks(reader), temp.stream))
            temp.commit(self._blob_target(copied))
        if move:
            _unlink(source)
        return copied

    def read_blob(self, digest: str) -> bytes | None:
        """A blob's bytes if it exists and matches its digest, else None (the caller recomputes)."""
        path = self.blob_path(digest)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return data if _digest_chunks(digest.split(":", 1)[0], [data]) == digest else None

    def verify_blob(self, digest: str) -> bool:
        """Whether a blob exists and its content still has its digest.

        Reads the whole blob, once per store object: planning verifies a cached step's blobs, and
        the step that reads them links them moments later. A blob is never changed in place (it is
        written under a temporary name and renamed), so the same file (inode, size, mtime) verified
        by this object is not read again; anything that replaced or touched it is.
        """
        path = self.blob_path(digest)
        if path is None:
            return False
        try:
            info = path.stat()
            identity = (info.st_ino, info.st_size, info.st_mtime_ns)
            if self._verified.get(digest) == identity:
                return True
            if _digest_file(digest.split(":", 1)[0], path) != digest:
                return False
        except OSError:
            return False
        self._verified[digest] = identity
        return True

    def copy_blob(self, digest: str, dest: str | os.PathLike[str]) -> bool:
        """Copy a verified blob to ``dest`` atomically; False (and no ``dest`` change) if damaged."""
        target = Path(dest)
        try:
            with AtomicFile(target.parent, name=target.name, mode=_FILE_MODE) as temp:
                self._copy_verified(digest, temp.stream)
                temp.commit(target)
        except (_CorruptBlob, OSError):
            return False
        return True

    def link_blob(self, digest: str, dest: str | os.PathLike[str]) -> bool:
        """Make ``dest`` a hard link to a verified blob; False (and no ``dest``) if it is damaged.

        A step's inputs are read, never written, by the kernel's loaders, so the kernel can read the
        store's own file: linking writes nothing, where copying a 320 MB frame (read, hash, write,
        fsync) took seconds. Where the file system cannot link (another device), the blob is copied
        and verified as it is copied. An existing ``dest`` has the same name, so the same content.
        """
        source = self.blob_path(digest)
        if source is None or not self.verify_blob(digest):
            return False
        try:
            os.link(source, dest)
        except FileExistsError:
            return True
        except OSError:
            return self.copy_blob(digest, dest)
        return True

    def _copy_verified(self, digest: str, writer: BinaryIO) -> None:
        path = self.blob_path(digest)
        if path is None:
            raise _CorruptBlob(f"not a digest: {digest!r}")
        try:
            with path.open("rb") as reader:
                copied = _digest_chunks(digest.split(":", 1)[0], _tee(_read_chunks(reader), writer))
        except FileNotFoundError as error:
            raise _CorruptBlob(f"missing blob {digest}") from error
        if copied != digest:
            raise _CorruptBlob(f"blob {digest} has content {copied}")

    def _blob_target(self, digest: str) -> Path:
        """Where the blob ``digest`` goes, its folder created."""
        target = self.blob_path(digest)
        if target is None:
            raise ValueError(f"not a digest: {digest!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _temp_dir(self) -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp

    def _temp_file(self) -> AtomicFile:
        """A new file in ``tmp/``, for content whose name is known once it is written."""
        return AtomicFile(self._temp_dir(), name="blob", mode=_FILE_MODE)

    # -------------------------------------------------------------------------------------- entries

    def entry_path(self, key: str) -> Path | None:
        """Where an entry lives, or None for a key that cannot be a file name."""
        if not isinstance(key, str) or not _KEY.match(key):
            return None
        return self.entries / f"{key.replace(':', '-')}.json"

    def entry_size(self, entry: CacheEntry) -> int:
        """Bytes the entry takes in the store: its file and its variables' blobs (a blob that other
        entries share is counted in each, as it is what removing the entry alone can free at most)."""
        paths = [self.entry_path(entry.key)]
        paths.extend(self.blob_path(str(record.get("blob"))) for record in entry.variables.values())
        return sum(path.stat().st_size for path in paths if path is not None and path.is_file())

    def save_entry(self, entry: CacheEntry) -> None:
        """Write an entry atomically, with a checksum of its content."""
        path = self.entry_path(entry.key)
        if path is None:
            raise ValueError(f"cache key cannot name a file: {entry.key!r}")
        body = entry.to_json()
        document = {"format": ENTRY_FORMAT, "checksum": hashing.hash_json(body), "entry": body}
        write_atomically(
            path, json.dumps(document, sort_keys=True), mode=_FILE_MODE, temp_dir=self._temp_dir()
        )

    def load_entry(self, key: str) -> CacheEntry | None:
        """The entry for ``key``, or None if absent, unreadable, damaged or of another format."""
        path = self.entry_path(key)
        if path is None:
            return None
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            body = document["entry"]
            if document["format"] != ENTRY_FORMAT or document["checksum"] != hashing.hash_json(body):
                return None
            entry = CacheEntry.from_json(body)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        return entry if entry.key == key else None

    def entry_keys(self) -> list[str]:
        """The keys of every entry file in the store (``push`` sends them; unreadable ones load as None)."""
        if not self.entries.is_dir():
            return []
        keys = []
        for path in sorted(self.entries.glob("*.json")):
            algorithm, _, rest = path.stem.partition("-")
            keys.append(f"{algorithm}:{rest}" if rest else path.stem)
        return keys

    def remove_entry(self, key: str) -> bool:
        """Delete an entry (its blobs stay, other entries may share them); True if one was removed."""
        path = self.entry_path(key)
        if path is None:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def entry_is_valid(
        self, entry: CacheEntry, current_hash: CurrentHash, *, check_writes: bool = True
    ) -> bool:
        """Whether replaying ``entry`` gives what running the step would give now.

        Every file the step read must still have its recorded digest (``current_hash(path)``, None
        for a missing file), and every stored variable's blob must exist and verify. With
        ``check_writes`` (default) the files it wrote must also be unchanged: a cached step does not
        recreate its files, so if one was deleted or changed the step has to run again.
        """
        recorded = list(entry.reads) + (list(entry.writes) if check_writes else [])
        for path, digest in recorded:
            try:
                if current_hash(path) != digest:
                    return False
            except Exception:  # the caller's hasher failing on a strange file means "changed"
                return False
        return all(self.verify_blob(str(record.get("blob"))) for record in entry.variables.values())

    # ---------------------------------------------------------------------- kernel manifests (transport)

    def ingest_outputs(self, manifest: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Move the files of an epilogue's variable manifest into the store.

        Returns ``(variables, unstored)`` for a :class:`CacheEntry`: each variable's record with its
        blob digest, and the names the kernel could not store (or whose file is gone) with reasons.
        The kernel's own hash is trusted only when it used this process's algorithm.
        """
        directory = Path(str(manifest.get("dir") or ""))
        variables: dict[str, dict[str, Any]] = {}
        unstored = {str(name): str(reason) for name, reason in dict(manifest.get("errors") or {}).items()}
        for name, record in dict(manifest.get("variables") or {}).items():
            kernel_hash = record.get("hash")
            trusted = kernel_hash if str(kernel_hash).startswith(f"{hashing.ALGORITHM}:") else None
            try:
                blob = self.put_file(directory / record["file"], move=True, digest=trusted)
            except (OSError, KeyError, TypeError) as error:
                if isinstance(error, OSError) and error.errno in STORE_FULL:
                    raise  # the store cannot take it: the step fails saying so (not a quietly lost variable)
                unstored[name] = f"artifact not stored: {error}"
                continue
            kept = {field: value for field, value in record.items() if field not in ("hash", "file")}
            variables[name] = {**kept, "blob": blob, "file": Path(record["file"]).name}
        return variables, unstored

    def materialize_inputs(
        self, entry: CacheEntry, names: Iterable[str], dest_dir: str | os.PathLike[str]
    ) -> dict[str, Any] | None:
        """Put the blobs of ``names`` into ``dest_dir``; return the manifest for the kernel.

        Files are named by digest, so inputs from several entries can share one folder and their
        manifests' ``variables`` can be merged. Returns None if a name is not stored in the entry or
        its blob is missing or damaged: the upstream step must be recomputed. The blobs were verified
        when the run was planned (:meth:`entry_is_valid`) or stored, so they are linked, not copied
        (see :meth:`link_blob`).
        """
        folder = Path(dest_dir)
        folder.mkdir(parents=True, exist_ok=True)
        variables: dict[str, Any] = {}
        for name in names:
            record = entry.variables.get(name)
            if record is None:
                return None
            target = self._input_file(folder, record)
            if target is None or not self.link_blob(record["blob"], target):
                return None
            kept = {field: value for field, value in record.items() if field not in ("blob", "file")}
            variables[name] = {**kept, "file": str(target), "hash": record["blob"]}
        return {"version": MANIFEST_FORMAT, "dir": str(folder), "variables": variables, "errors": {}}

    def _input_file(self, folder: Path, record: Mapping[str, Any]) -> Path | None:
        digest = record.get("blob")
        if not isinstance(digest, str) or self.blob_path(digest) is None:
            return None
        suffix = Path(str(record.get("file", ""))).suffix
        return folder / (digest.replace(":", "-") + (suffix if _SUFFIX.match(suffix) else ""))
