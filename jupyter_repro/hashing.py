"""Content hashing: the one definition of "same bytes" used by the cache, the ledger and verify.

Digests are written ``"blake3:<hex>"`` (or ``"sha256:<hex>"`` when the blake3 package is missing) so a
stored hash always says how it was made, and a ledger written with one algorithm is never silently
compared with the other. JSON-able values hash through a canonical encoding (sorted keys, no
whitespace), as DVC's run cache does, so equal values give equal keys across processes and machines.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from typing import Any, BinaryIO, Protocol

CHUNK_SIZE = 1 << 20  # 1 MiB: large enough for throughput, small enough to stream big files


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...
    def hexdigest(self) -> str: ...


try:
    import blake3 as _blake3

    ALGORITHM = "blake3"

    def _new_hasher() -> _Hasher:
        hasher: _Hasher = _blake3.blake3(max_threads=_blake3.blake3.AUTO)
        return hasher

except ImportError:  # pragma: no cover - blake3 is a declared dependency
    ALGORITHM = "sha256"

    def _new_hasher() -> _Hasher:
        return hashlib.sha256()


def hash_bytes(data: bytes) -> str:
    """Digest of an in-memory byte string."""
    hasher = _new_hasher()
    hasher.update(data)
    return f"{ALGORITHM}:{hasher.hexdigest()}"


def hash_chunks(chunks: Iterable[bytes]) -> str:
    """Digest of a stream given as chunks (equal to :func:`hash_bytes` of their concatenation)."""
    hasher = _new_hasher()
    for chunk in chunks:
        hasher.update(chunk)
    return f"{ALGORITHM}:{hasher.hexdigest()}"


def hash_stream(handle: BinaryIO) -> str:
    """Digest of an open binary file, read in :data:`CHUNK_SIZE` pieces."""
    return hash_chunks(iter(lambda: handle.read(CHUNK_SIZE), b""))


def hash_file(path: str | os.PathLike[str]) -> str:
    """Digest of a file's content, streamed (never the whole file in memory)."""
    return hash_file_counted(path)[0]


def hash_file_counted(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Digest of a file and the number of bytes read to compute it.

    With BLAKE3 the file is memory-mapped and hashed on several threads (the kernel pages it in and
    out, so memory stays bounded); this is about twice as fast as feeding 1 MiB chunks from Python.
    """
    if ALGORITHM == "blake3":
        hasher = _new_hasher()
        hasher.update_mmap(os.fspath(path))  # type: ignore[attr-defined]
        return f"{ALGORITHM}:{hasher.hexdigest()}", os.path.getsize(path)
    total = 0

    def counted(handle: BinaryIO) -> Iterable[bytes]:
        nonlocal total
        while chunk := handle.read(CHUNK_SIZE):
            total += len(chunk)
            yield chunk

    with open(path, "rb") as handle:
        return hash_chunks(counted(handle)), total


def canonical_json(value: Any) -> bytes:
    """The canonical encoding hashed for keys: sorted keys, compact separators, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode(
        "utf-8"
    )


def hash_json(value: Any) -> str:
    """Digest of a JSON-able value in its canonical encoding."""
    return hash_bytes(canonical_json(value))


SOURCE_HASH_LENGTH = 16
"""Hex digits kept of a cell source's SHA-256: enough to tell edits apart, short enough for metadata."""


def source_hash(source: str) -> str:
    """The hash JupyterLab records for the source that produced a cell's outputs.

    SHA-256 (not BLAKE3) because the frontend computes the same value with the browser's Web Crypto,
    which has no BLAKE3; the text is hashed as UTF-8 exactly as saved, so any edit (a comment included)
    changes it. ``tests/fixtures/source_hashes.json`` pins the values both implementations must give.
    """
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:SOURCE_HASH_LENGTH]
