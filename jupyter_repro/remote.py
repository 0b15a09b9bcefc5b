"""A team's cache: step results and run records shared through object storage (fsspec).

The local store (:mod:`jupyter_repro.cache`) stays the first level; a remote is a URL that fsspec
opens (``s3://bucket/prefix``, ``gs://...``, ``file:///shared/folder``). Below it, a versioned layout::

    v1/blobs/<algorithm>/<hex>            content, named by its digest: uploaded only if absent
    v1/entries/<key>/<result>.json        a step's cache entry, named by the digest of its content
    v1/runs/<run id>.json                 a finished run's --json document

Append-only: nothing is overwritten. Two results for one key are two files (evidence of
nondeterminism, kept for verify), and an entry is written only after its blobs, so a reader that sees
an entry finds its blobs. Every blob is re-hashed on download; a mismatch is a cache miss with one
warning, never an error and never a wrong result.

Cache entries that need pickle to load (most do: the random state is pickled) run code when they are
loaded, so from a remote they are accepted only when signed with the team's key (HMAC-SHA256, key from
``JUPYTER_REPRO_REMOTE_KEY`` or the file named by ``JUPYTER_REPRO_REMOTE_KEY_FILE``) or when the
remote is trusted explicitly (``JUPYTER_REPRO_REMOTE_TRUSTED=1``); otherwise the step recomputes and
says why. Credentials and endpoints come from each backend's standard configuration (for S3 the AWS
variables and files, including ``AWS_ENDPOINT_URL``) and are never written anywhere by this module.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_repro import hashing
from jupyter_repro.cache import ArtifactStore, CacheEntry
from jupyter_repro.errors import RemoteError

LAYOUT = "v1"
REMOTE_ENV = "JUPYTER_REPRO_REMOTE"
KEY_ENV = "JUPYTER_REPRO_REMOTE_KEY"
KEY_FILE_ENV = "JUPYTER_REPRO_REMOTE_KEY_FILE"
TRUSTED_ENV = "JUPYTER_REPRO_REMOTE_TRUSTED"
PICKLE_SERIALIZERS = frozenset({"pickle", "cloudpickle"})
ENTRY_FORMAT = 1


@dataclass(frozen=True)
class RemoteConfig:
    """Where the team's store is and how far it is trusted. ``key`` is never shown or recorded."""

    url: str
    read_only: bool = False
    trusted: bool = False
    key: bytes | None = None

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"RemoteConfig(url={self.url!r}, read_only={self.read_only}, trusted={self.trusted})"

    @classmethod
    def resolve(cls, url: str | None, *, read_only: bool = False) -> RemoteConfig | None:
        """The remote from ``--remote`` or ``JUPYTER_REPRO_REMOTE`` (None when neither is set)."""
        url = url or os.environ.get(REMOTE_ENV) or None
        if url is None:
            return None
        return cls(
            url=url, read_only=read_only, trusted=_truthy(os.environ.get(TRUSTED_ENV)), key=_team_key()
        )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _team_key() -> bytes | None:
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode("utf-8")
    path = os.environ.get(KEY_FILE_ENV)
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read().strip() or None
    except OSError as error:
        raise RemoteError(
            f"cannot read the team key file {path}: {error.strerror}",
            hint=f"fix {KEY_FILE_ENV}, or unset it to use the remote without signing",
        ) from None


@dataclass(frozen=True)
class Fetched:
    """The outcome of looking a key up on the remote: an entry copied into the local store, or why not."""

    entry: CacheEntry | None
    reason: str | None = None


def warn(message: str) -> None:
    """One line on stderr: remote problems never fail a run, but they are never silent."""
    print(f"jupyter-repro: remote: {message}", file=sys.stderr)


class RemoteStore:
    """The remote half of the cache (see the module docstring)."""

    def __init__(self, config: RemoteConfig) -> None:
        self.config = config
        try:
            from fsspec.core import url_to_fs  # type: ignore[import-untyped]

            self.fs, root = url_to_fs(config.url)
        except ImportError as error:
            raise RemoteError(
                f"cannot open the remote {config.url}: {error}",
                hint="install the backend, e.g. pip install 'jupyter_repro[s3]' for s3:// URLs",
            ) from None
        except (ValueError, OSError) as error:
            raise RemoteError(f"cannot open the remote {config.url}: {error}") from None
        self.root = f"{str(root).rstrip('/')}/{LAYOUT}"
        self.local = "file" in _protocols(self.fs)

    # ---------------------------------------------------------------------------------------- paths

    def _blob(self, digest: str) -> str:
        algorithm, hexdigest = digest.split(":", 1)
        return f"{self.root}/blobs/{algorithm}/{hexdigest}"

    def _entries(self, key: str) -> str:
        return f"{self.root}/entries/{key.replace(':', '-')}"

    def _run(self, run_id: str) -> str:
        return f"{self.root}/runs/{run_id}.json"

    # ---------------------------------------------------------------------------------------- writes

    def _put_new(self, path: str, data: bytes) -> bool:
        """Create ``path`` with ``data`` unless it exists; whole or not at all. True if written.

        An object store's PUT is atomic. A shared folder is written under a unique temporary name and
        renamed into place, so a reader never sees half a file.
        """
        if self.fs.exists(path):
            return False
        if not self.local:
            self.fs.pipe_file(path, data)
            return True
        parent = path.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        temporary = f"{parent}/.tmp-{uuid.uuid4().hex}"
        self.fs.pipe_file(temporary, data)
        try:
            self.fs.mv(temporary, path)
        except OSError:
            self.fs.rm(temporary)
            raise
        return True

    def push_entry(self, entry: CacheEntry, store: ArtifactStore) -> bool:
        """Upload an entry's blobs (those absent), then the entry itself. True if the entry was new."""
        if self.config.read_only:
            return False
        for record in entry.variables.values():
            digest = str(record.get("blob"))
            if self.fs.exists(self._blob(digest)):
                continue
            data = store.read_blob(digest)
            if data is None:
                warn(f"step '{entry.step}': local blob {digest} is damaged; the entry is not pushed")
                return False
            self._put_new(self._blob(digest), data)
        body = entry.to_json()
        document = {"format": ENTRY_FORMAT, "checksum": hashing.hash_json(body), "entry": body}
        if self.config.key is not None:
            document["signature"] = _sign(self.config.key, body)
        result = _result_id(body)
        payload = json.dumps(document, sort_keys=True).encode("utf-8")
        return self._put_new(f"{self._entries(entry.key)}/{result}.json", payload)

    def publish_run(self, run_id: str, document: Mapping[str, Any]) -> bool:
        """Publish a finished run's record (once; a run id names one run)."""
        if self.config.read_only:
            return False
        return self._put_new(self._run(run_id), json.dumps(document, sort_keys=True).encode("utf-8"))

    # ----------------------------------------------------------------------------------------- reads

    def fetch_entry(self, key: str, store: ArtifactStore) -> Fetched:
        """The remote entry for ``key`` with its blobs copied (and verified) into ``store``."""
        documents = list(self._entry_documents(key))
        if not documents:
            return Fetched(None)
        reasons = []
        for document in sorted(documents, key=lambda d: -float(d["entry"].get("created", 0))):
            refused = self._refusal(document)
            if refused is not None:
                reasons.append(refused)
                continue
            entry = CacheEntry.from_json(document["entry"])
            if entry.key != key:
                continue
            damaged = self._download_blobs(entry, store)
            if damaged is not None:
                reasons.append(damaged)
                continue
            return Fetched(entry)
        return Fetched(None, "; ".join(reasons) or None)

    def _entry_documents(self, key: str) -> Iterator[dict[str, Any]]:
        folder = self._entries(key)
        try:
            names = [name for name in self.fs.ls(folder, detail=False) if str(name).endswith(".json")]
        except (FileNotFoundError, OSError):
            return
        for name in names:
            try:
                document = json.loads(self.fs.cat_file(name))
                body = document["entry"]
                if document["format"] == ENTRY_FORMAT and document["checksum"] == hashing.hash_json(body):
                    yield document
                else:
                    warn(f"entry {name} fails its checksum; ignored")
            except (OSError, ValueError, KeyError, TypeError):
                warn(f"entry {name} cannot be read; ignored")

    def _refusal(self, document: Mapping[str, Any]) -> str | None:
        """Why an entry may not be loaded from this remote, or None when it may."""
        body = document["entry"]
        signature = document.get("signature")
        key = self.config.key
        if key is not None and isinstance(signature, str):
            if hmac.compare_digest(signature, _sign(key, body)):
                return None
            return "the remote entry's signature does not match the team key (changed, or another key)"
        if self.config.trusted or not _needs_pickle(body):
            return None
        return (
            "the remote entry needs pickle to load and is not signed with the team key "
            f"(set {KEY_ENV} or {KEY_FILE_ENV}, or {TRUSTED_ENV}=1 for a remote you trust)"
        )

    def _download_blobs(self, entry: CacheEntry, store: ArtifactStore) -> str | None:
        for record in entry.variables.values():
            digest = str(record.get("blob"))
            if store.verify_blob(digest):
                continue
            try:
                data = self.fs.cat_file(self._blob(digest))
            except (OSError, ValueError):
                return f"blob {digest} of step '{entry.step}' is missing on the remote"
            if hashing.hash_bytes(data) != digest:
                warn(f"blob {digest} of step '{entry.step}' fails its hash check; the step recomputes")
                return f"blob {digest} of step '{entry.step}' fails its hash check"
            store.put_bytes(data)
        return None

    def result_count(self, key: str) -> int:
        """How many different results the remote holds for ``key`` (two or more: nondeterminism)."""
        try:
            return sum(
                1 for name in self.fs.ls(self._entries(key), detail=False) if str(name).endswith(".json")
            )
        except (FileNotFoundError, OSError):
            return 0

    def runs(self) -> list[dict[str, Any]]:
        """Every published run record (unreadable ones are skipped with a warning)."""
        try:
            names = sorted(
                str(n) for n in self.fs.ls(f"{self.root}/runs", detail=False) if str(n).endswith(".json")
            )
        except (FileNotFoundError, OSError):
            return []
        records = []
        for name in names:
            try:
                records.append(json.loads(self.fs.cat_file(name)))
            except (OSError, ValueError):
                warn(f"run record {name} cannot be read; skipped")
        return records

    def entry_keys(self) -> list[str]:
        """The keys that have at least one entry (for ``pull``)."""
        try:
            folders = self.fs.ls(f"{self.root}/entries", detail=False)
        except (FileNotFoundError, OSError):
            return []
        return sorted(_key_of(str(folder).rsplit("/", 1)[-1]) for folder in folders)


def _result_id(body: Mapping[str, Any]) -> str:
    """An entry's file name: the digest of what the step produced, not of when or how fast it ran, so
    the same result pushed twice is one file and two files under a key are two different results."""
    produced = {name: body.get(name) for name in ("outputs", "variables", "unstored", "writes")}
    return hashing.hash_json(produced).replace(":", "-")


def _key_of(folder: str) -> str:
    algorithm, _, rest = folder.partition("-")
    return f"{algorithm}:{rest}" if rest else folder


def _sign(key: bytes, body: Mapping[str, Any]) -> str:
    return "hmac-sha256:" + hmac.new(key, hashing.canonical_json(body), hashlib.sha256).hexdigest()


def _needs_pickle(body: Mapping[str, Any]) -> bool:
    variables = body.get("variables") or {}
    return any(str(record.get("serializer")) in PICKLE_SERIALIZERS for record in variables.values())


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return tuple(protocol) if isinstance(protocol, (tuple, list)) else (str(protocol),)


class Uploader:
    """Uploads in the background while the run goes on; :meth:`finish` waits before the command exits.

    A failed upload is one warning: the local run is complete either way.
    """

    def __init__(self, remote: RemoteStore, store: ArtifactStore) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.remote = remote
        self.store = store
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jupyter-repro-upload")
        self.pending: list[Any] = []

    def submit(self, action: Callable[[], object], what: str) -> None:
        def guarded() -> None:
            try:
                action()
            except Exception as error:  # a remote outage must not fail the run
                warn(f"could not upload {what}: {type(error).__name__}: {error}")

        self.pending.append(self.pool.submit(guarded))

    def push_entry(self, entry: CacheEntry) -> None:
        if not self.remote.config.read_only:
            self.submit(
                lambda: self.remote.push_entry(entry, self.store), f"the entry of step '{entry.step}'"
            )

    def finish(self, run: Mapping[str, Any] | None = None) -> None:
        """Publish ``run`` (a :func:`published_run` record), then wait for every upload."""
        if run is not None:
            run_id = str(run["run"]["run_id"])
            self.submit(lambda: self.remote.publish_run(run_id, run), f"the record of run {run_id}")
        for future in self.pending:
            future.result()
        self.pool.shutdown(wait=True)


def published_run(
    document: Mapping[str, Any], notebook: str, started_at: str, finished_at: str | None
) -> dict[str, Any]:
    """The record a finished run is published as: its ``--json`` document, the notebook by its path in
    the project (another checkout finds the same notebook there) and when it ran."""
    return {
        "format": ENTRY_FORMAT,
        "run": dict(document),
        "notebook": notebook,
        "started_at": started_at,
        "finished_at": finished_at,
    }


def connect(config: RemoteConfig | None, store: ArtifactStore) -> tuple[RemoteStore | None, Uploader | None]:
    """The remote of a run and, unless it is read-only, the uploader that writes to it."""
    if config is None:
        return None, None
    remote = RemoteStore(config)
    return remote, None if config.read_only else Uploader(remote, store)


# ------------------------------------------------------------------------------------ push and pull


@dataclass(frozen=True)
class Synced:
    """What ``push`` or ``pull`` moved."""

    entries: int = 0
    runs: int = 0
    skipped: tuple[str, ...] = ()
    """Why some entries did not move (damaged locally, refused from the remote), one line each."""


def push(
    remote: RemoteStore, store: ArtifactStore, runs: Iterator[dict[str, Any]] | list[dict[str, Any]]
) -> Synced:
    """Upload every local entry (and its blobs) and every given run record not yet on the remote."""
    if remote.config.read_only:
        raise RemoteError("cannot push to a read-only remote", hint="drop --remote-read-only")
    entries = 0
    for key in store.entry_keys():
        entry = store.load_entry(key)
        if entry is not None and remote.push_entry(entry, store):
            entries += 1
    published = sum(remote.publish_run(str(record["run"]["run_id"]), record) for record in runs)
    return Synced(entries=entries, runs=published)


def pull(remote: RemoteStore, store: ArtifactStore) -> Synced:
    """Copy every remote entry this store lacks (blobs verified); refused ones say why."""
    entries, skipped = 0, []
    for key in remote.entry_keys():
        if store.load_entry(key) is not None:
            continue
        fetched = remote.fetch_entry(key, store)
        if fetched.entry is not None:
            store.save_entry(fetched.entry)
            entries += 1
        elif fetched.reason:
            skipped.append(f"{key}: {fetched.reason}")
    return Synced(entries=entries, skipped=tuple(skipped))
