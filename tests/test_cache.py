"""The artifact store: blobs, entries, verification on read, atomic writes, kernel manifests."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyter_repro import fsio, hashing
from jupyter_repro.cache import ArtifactStore, CacheEntry
from jupyter_repro.kernel import runtime


def current_hash(path: str) -> str | None:
    """What the runner passes: a file's digest now, None when it is gone."""
    try:
        return hashing.hash_file(path)
    except FileNotFoundError:
        return None


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "home")


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1])


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def delete(path: Path) -> None:
    path.unlink()


DAMAGE: dict[str, Callable[[Path], None]] = {"truncated": truncate, "flipped": flip_byte, "deleted": delete}


def blob_file(store: ArtifactStore, digest: str) -> Path:
    path = store.blob_path(digest)
    assert path is not None
    return path


def is_temporary(path: Path) -> bool:
    """A temporary name: :mod:`jupyter_repro.fsio`'s, or the kernel runtime's (``.tmp-...``)."""
    return path.name.endswith(fsio.TEMP_SUFFIX) or path.name.startswith((".tmp-", "tmp-"))


def leftovers(store: ArtifactStore) -> list[Path]:
    """Temporary files anywhere under the store (there must never be any after an operation)."""
    return [path for path in store.root.rglob("*") if is_temporary(path)]


# ------------------------------------------------------------------------------------------ blobs


def test_bytes_round_trip_under_their_digest(store: ArtifactStore) -> None:
    digest = store.put_bytes(b"hello")
    assert digest == hashing.hash_bytes(b"hello")
    algorithm, hexdigest = digest.split(":")
    assert blob_file(store, digest) == store.root / "blobs" / algorithm / hexdigest[:2] / hexdigest[2:]
    assert store.read_blob(digest) == b"hello"
    assert store.verify_blob(digest)
    assert leftovers(store) == []


@given(st.binary(max_size=4096))
def test_any_bytes_round_trip(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as home:
        store = ArtifactStore(home)
        assert store.read_blob(store.put_bytes(data)) == data


def test_put_file_copies_or_moves(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"content" * 1000)
    copied = store.put_file(source)
    assert source.exists()
    moved = store.put_file(source, move=True)
    assert not source.exists()
    assert copied == moved == hashing.hash_bytes(b"content" * 1000)
    assert store.read_blob(moved) == b"content" * 1000
    assert leftovers(store) == []


def test_put_file_repairs_a_damaged_blob(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"payload")
    digest = store.put_file(source)
    flip_byte(blob_file(store, digest))
    assert store.read_blob(digest) is None
    store.put_file(source, move=True, digest=digest)  # the recomputed artifact replaces it
    assert store.read_blob(digest) == b"payload"


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_blob_reads_as_absent(store: ArtifactStore, tmp_path: Path, damage: str) -> None:
    digest = store.put_bytes(b"some bytes to damage")
    DAMAGE[damage](blob_file(store, digest))
    assert store.read_blob(digest) is None
    assert not store.verify_blob(digest)
    target = tmp_path / "copy.bin"
    target.write_bytes(b"before")
    assert not store.copy_blob(digest, target)
    assert target.read_bytes() == b"before"  # untouched, and no temporary file beside it
    assert sorted(path.name for path in tmp_path.iterdir()) == ["copy.bin", "home"]


def test_a_store_reads_a_verified_blob_once_until_the_file_changes(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning verifies a cached step's blobs and the step that reads them links them moments
    later: the same store object does not hash the same file twice, but any change to it is seen."""
    from jupyter_repro import cache

    digest = store.put_bytes(b"a large frame" * 1000)
    reads: list[Path] = []
    real = cache._digest_file

    def counting(algorithm: str, path: Path) -> str | None:
        reads.append(path)
        return real(algorithm, path)

    monkeypatch.setattr(cache, "_digest_file", counting)
    assert store.verify_blob(digest)
    assert store.verify_blob(digest)
    assert len(reads) == 1
    assert ArtifactStore(store.root.parent).verify_blob(digest)  # another store object reads it
    assert len(reads) == 2
    flip_byte(blob_file(store, digest))  # in place, keeping size and (perhaps) mtime
    os.utime(blob_file(store, digest), ns=(1, 1))
    assert not store.verify_blob(digest)
    assert len(reads) == 3


@pytest.mark.parametrize(
    "digest",
    [
        "../../etc/passwd",
        "blake3:../../x",
        "md5:" + "0" * 32,
        "sha256:" + "A" * 64,
        "sha256:" + "0" * 63,
        "",
    ],
)
def test_strings_that_are_not_digests_name_no_file(store: ArtifactStore, digest: str) -> None:
    assert store.blob_path(digest) is None
    assert store.read_blob(digest) is None
    assert not store.verify_blob(digest)


def test_blob_of_another_algorithm_is_verified_with_it(store: ArtifactStore) -> None:
    import hashlib

    data = b"sha256 content"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = blob_file(store, digest)
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    assert store.read_blob(digest) == data
    path.write_bytes(b"other")
    assert store.read_blob(digest) is None


@pytest.mark.parametrize("stored_by", ["put_bytes", "put_file"])
def test_a_failed_blob_write_leaves_no_temporary_and_no_blob(
    store: ArtifactStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stored_by: str
) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"never stored")

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsio.os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        store.put_bytes(b"never stored") if stored_by == "put_bytes" else store.put_file(source)
    monkeypatch.undo()
    assert leftovers(store) == []
    assert store.read_blob(hashing.hash_bytes(b"never stored")) is None
    assert source.read_bytes() == b"never stored"


def test_the_stores_files_are_private_to_the_user(store: ArtifactStore, tmp_path: Path) -> None:
    digest = store.put_bytes(b"private")
    copied = tmp_path / "copy.bin"
    assert store.copy_blob(digest, copied)
    entry = make_entry(store, tmp_path)
    store.save_entry(entry)
    entry_file = store.entry_path(entry.key)
    assert entry_file is not None
    for path in (blob_file(store, digest), copied, entry_file):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


# ---------------------------------------------------------------------------------------- entries


def make_entry(store: ArtifactStore, tmp_path: Path, key: str = "blake3:" + "ab" * 32) -> CacheEntry:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    out = tmp_path / "out.txt"
    out.write_text("result")
    blob = store.put_bytes(b"pickled value")
    return CacheEntry(
        key=key,
        step="load",
        outputs={0: [{"output_type": "stream", "name": "stdout", "text": "hi\n"}], 3: []},
        variables={
            "df": {"blob": blob, "serializer": "pickle", "file": "000_df.pkl", "type": "builtins.dict"}
        },
        reads=((str(data), hashing.hash_file(data)),),
        writes=((str(out), hashing.hash_file(out)),),
        duration=1.25,
        unstored={"conn": "pickle: TypeError: cannot pickle"},
    )


def test_entry_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    entry = make_entry(store, tmp_path)
    store.save_entry(entry)
    assert store.load_entry(entry.key) == entry
    assert leftovers(store) == []


def test_missing_or_unusable_keys_load_nothing(store: ArtifactStore) -> None:
    assert store.load_entry("blake3:" + "0" * 64) is None
    assert store.load_entry("../../etc/passwd") is None
    assert store.load_entry(".hidden") is None


def test_invalid_key_is_refused_before_writing(store: ArtifactStore, tmp_path: Path) -> None:
    entry = make_entry(store, tmp_path, key="../escape")
    with pytest.raises(ValueError, match="cannot name a file"):
        store.save_entry(entry)
    assert leftovers(store) == []
    assert not store.entries.exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],
        lambda text: text.replace('"duration": 1.25', '"duration": 9.25'),
        lambda text: text.replace('"step": "load"', '"step": 5'),
        lambda text: "[]",
        lambda text: "",
    ],
    ids=["truncated", "tampered", "wrong-type", "not-an-object", "empty"],
)
def test_damaged_entry_loads_as_absent(
    store: ArtifactStore, tmp_path: Path, damage: Callable[[str], str]
) -> None:
    entry = make_entry(store, tmp_path)
    store.save_entry(entry)
    path = store.entry_path(entry.key)
    assert path is not None
    changed = damage(path.read_text())
    assert changed != path.read_text()
    path.write_text(changed)
    assert store.load_entry(entry.key) is None


def test_entry_under_another_key_is_not_returned(store: ArtifactStore, tmp_path: Path) -> None:
    entry = make_entry(store, tmp_path, key="a:b")
    store.save_entry(entry)
    path = store.entry_path("a:b")
    assert path is not None
    assert path == store.entry_path("a-b")  # both keys share a file name ...
    assert store.load_entry("a-b") is None  # ... but the entry names its own key


def test_remove_entry(store: ArtifactStore, tmp_path: Path) -> None:
    entry = make_entry(store, tmp_path)
    store.save_entry(entry)
    assert store.remove_entry(entry.key)
    assert store.load_entry(entry.key) is None
    assert not store.remove_entry(entry.key)
    assert not store.remove_entry("../x")


# --------------------------------------------------------------------------------------- validity


def test_fresh_entry_is_valid(store: ArtifactStore, tmp_path: Path) -> None:
    assert store.entry_is_valid(make_entry(store, tmp_path), current_hash)


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_blob_invalidates(store: ArtifactStore, tmp_path: Path, damage: str) -> None:
    entry = make_entry(store, tmp_path)
    DAMAGE[damage](blob_file(store, entry.variables["df"]["blob"]))
    assert not store.entry_is_valid(entry, current_hash)
    assert store.materialize_inputs(entry, ["df"], tmp_path / "inputs") is None


def test_changed_or_deleted_read_file_invalidates(store: ArtifactStore, tmp_path: Path) -> None:
    entry = make_entry(store, tmp_path)
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,3\n")
    assert not store.entry_is_valid(entry, current_hash)
    data.unlink()
    assert not store.entry_is_valid(entry, current_hash)


def test_changed_written_file_invalidates_unless_ignored(store: ArtifactStore, tmp_path: Path) -> None:
    entry = make_entry(store, tmp_path)
    (tmp_path / "out.txt").unlink()
    assert not store.entry_is_valid(entry, current_hash)
    assert store.entry_is_valid(entry, current_hash, check_writes=False)


def test_failing_hasher_means_invalid_not_a_crash(store: ArtifactStore, tmp_path: Path) -> None:
    def broken(path: str) -> str | None:
        raise PermissionError(path)

    assert not store.entry_is_valid(make_entry(store, tmp_path), broken)


def test_malformed_blob_reference_invalidates(store: ArtifactStore, tmp_path: Path) -> None:
    entry = make_entry(store, tmp_path)
    entry.variables["df"]["blob"] = "../../etc/passwd"
    assert not store.entry_is_valid(entry, current_hash)
    assert store.materialize_inputs(entry, ["df"], tmp_path / "inputs") is None


# ------------------------------------------------------------------- kernel manifests (transport)


def stored_outputs(store: ArtifactStore, tmp_path: Path, namespace: dict[str, Any]) -> CacheEntry:
    """What the runner does after an epilogue: store the kernel's files, build an entry."""
    manifest = runtime.store_outputs([*namespace, "absent"], namespace, str(tmp_path / "kernel out"))
    variables, unstored = store.ingest_outputs(manifest)
    assert list((tmp_path / "kernel out").iterdir()) == []  # every artifact moved into the store
    return CacheEntry(key="k1", step="s", outputs={}, variables=variables, unstored=unstored)


def test_ingest_then_materialize_reaches_load_inputs(store: ArtifactStore, tmp_path: Path) -> None:
    entry = stored_outputs(store, tmp_path, {"arr": np.arange(4), "cfg": {"k": [1, 2]}})
    assert entry.unstored == {"absent": "not defined"}
    assert entry.variables["arr"]["serializer"] == "npy"
    assert store.entry_is_valid(entry, current_hash)
    manifest = store.materialize_inputs(entry, ["arr", "cfg"], tmp_path / "in put")
    assert manifest is not None
    namespace: dict[str, Any] = {}
    assert runtime.load_inputs(manifest, namespace) == ["arr", "cfg"]
    np.testing.assert_array_equal(namespace["arr"], np.arange(4))
    assert namespace["cfg"] == {"k": [1, 2]}
    assert json.loads(json.dumps(manifest)) == manifest
    assert leftovers(store) == []
    assert [path.name for path in (tmp_path / "in put").iterdir() if is_temporary(path)] == []


def test_inputs_are_the_store_s_own_files_linked_not_copied(store: ArtifactStore, tmp_path: Path) -> None:
    entry = stored_outputs(store, tmp_path, {"arr": np.arange(100_000)})
    manifest = store.materialize_inputs(entry, ["arr"], tmp_path / "inputs")
    assert manifest is not None
    given = Path(manifest["variables"]["arr"]["file"])
    blob = blob_file(store, entry.variables["arr"]["blob"])
    assert given.stat().st_ino == blob.stat().st_ino  # one file on disk: nothing was written
    assert store.materialize_inputs(entry, ["arr"], tmp_path / "inputs") == manifest  # again: same link


def test_materialize_refuses_names_the_entry_lacks(store: ArtifactStore, tmp_path: Path) -> None:
    entry = stored_outputs(store, tmp_path, {"x": 1})
    assert store.materialize_inputs(entry, ["x", "absent"], tmp_path / "inputs") is None


def test_ingest_reports_vanished_artifacts(store: ArtifactStore, tmp_path: Path) -> None:
    manifest = runtime.store_outputs(["x"], {"x": 1}, str(tmp_path / "out"))
    (tmp_path / "out" / manifest["variables"]["x"]["file"]).unlink()
    variables, unstored = store.ingest_outputs(manifest)
    assert variables == {}
    assert unstored["x"].startswith("artifact not stored")


def test_ingest_rehashes_when_the_kernel_could_not(store: ArtifactStore, tmp_path: Path) -> None:
    manifest = runtime.store_outputs(["x"], {"x": "v"}, str(tmp_path / "out"), "unavailable")
    content = (tmp_path / "out" / manifest["variables"]["x"]["file"]).read_bytes()
    variables, _ = store.ingest_outputs(manifest)
    assert variables["x"]["blob"] == hashing.hash_bytes(content)
    assert store.verify_blob(variables["x"]["blob"])
