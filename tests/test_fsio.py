"""Atomic writes: whole files or nothing, unique temporary names, no temporary file left, mode bits."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from jupyter_repro import fsio
from jupyter_repro.fsio import TEMP_SUFFIX, AtomicFile, default_file_mode, write_atomically


def temporaries(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(TEMP_SUFFIX)]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def renames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every ``os.replace(source, target)`` made while the test runs, in order."""
    made: list[tuple[str, str]] = []
    real = os.replace

    def spy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        made.append((str(source), str(target)))
        real(source, target)

    monkeypatch.setattr(fsio.os, "replace", spy)
    return made


# --- content ------------------------------------------------------------------------------------


def test_text_is_written_as_utf8_with_newlines_untranslated(tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder" / "file.txt"
    assert write_atomically(target, "é\r\nx\n") == target
    assert target.read_bytes() == "é\r\nx\n".encode()
    assert temporaries(tmp_path) == []


def test_bytes_replace_an_existing_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "blob"
    target.write_bytes(b"old content, longer than the new one")
    write_atomically(target, b"\x00new")
    assert target.read_bytes() == b"\x00new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["blob"]


def test_the_temporary_file_is_beside_the_target_or_in_temp_dir(
    tmp_path: Path, renames: list[tuple[str, str]]
) -> None:
    write_atomically(tmp_path / "a.json", "{}")
    write_atomically(tmp_path / "entries" / "b.json", "{}", temp_dir=tmp_path / "tmp")
    (beside, _), (in_tmp, _) = renames
    assert Path(beside).parent == tmp_path
    assert Path(beside).name.startswith(".a.json.")
    assert Path(beside).name.endswith(TEMP_SUFFIX)
    assert Path(in_tmp).parent == tmp_path / "tmp"
    assert (tmp_path / "entries" / "b.json").read_text() == "{}"
    assert temporaries(tmp_path) == []


def test_the_content_reaches_the_disk_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        events.append("replace")
        real_replace(source, target)

    monkeypatch.setattr(fsio.os, "fsync", fsync)
    monkeypatch.setattr(fsio.os, "replace", replace)
    write_atomically(tmp_path / "f", "x")
    assert events == ["fsync", "replace"]


# --- concurrency --------------------------------------------------------------------------------


def test_threads_writing_the_same_target_never_share_a_temporary_name(
    tmp_path: Path, renames: list[tuple[str, str]]
) -> None:
    target = tmp_path / "shared.txt"
    threads, rounds = 8, 25
    payloads = {
        f"{writer}-{i}": f"{writer}-{i}:" + str(writer) * 20_000
        for writer in range(threads)
        for i in range(rounds)
    }
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for i in range(rounds):
                write_atomically(target, payloads[f"{number}-{i}"])
        except BaseException as error:  # reported below: a thread's exception would be lost
            failures.append(error)

    workers = [threading.Thread(target=writer, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert failures == []
    sources = [source for source, _ in renames]
    assert len(sources) == threads * rounds
    assert len(set(sources)) == len(sources)  # every write had its own temporary file
    assert target.read_text() in payloads.values()  # the last rename wins, and it is a whole file
    assert sorted(path.name for path in tmp_path.iterdir()) == ["shared.txt"]


# --- failures leave no temporary file and the target untouched ------------------------------------


@pytest.mark.parametrize("failing", ["replace", "fsync", "chmod"])
def test_a_failing_system_call_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsio.os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["f.txt"]


@pytest.mark.parametrize("error", [ValueError("bad value"), KeyboardInterrupt()])
def test_a_writer_that_raises_leaves_no_temporary(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "stream.bin"

    def write_then_fail() -> None:
        with AtomicFile(tmp_path, name=target.name) as temp:
            temp.stream.write(b"half of it")
            raise error

    with pytest.raises(type(error)):
        write_then_fail()
    assert list(tmp_path.iterdir()) == []


def test_leaving_without_a_commit_discards_the_file(tmp_path: Path) -> None:
    with AtomicFile(tmp_path) as temp:
        temp.stream.write(b"abandoned")
        assert temp.path.exists()
    assert list(tmp_path.iterdir()) == []


# --- a target chosen once the content is written --------------------------------------------------


def test_a_file_is_committed_under_a_name_computed_from_its_content(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    with AtomicFile(tmp_path / "tmp", name="blob") as temp:
        temp.stream.write(b"content")
        name = f"{len(b'content')}.bin"
        assert temp.commit(tmp_path / name) == tmp_path / name
        with pytest.raises(ValueError, match="already committed"):
            temp.commit(tmp_path / "again")
    assert (tmp_path / name).read_bytes() == b"content"
    assert list((tmp_path / "tmp").iterdir()) == []


# --- mode bits -----------------------------------------------------------------------------------


def test_the_default_mode_is_what_open_gives(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("x")
    atomic = write_atomically(tmp_path / "atomic", "x")
    assert mode_of(atomic) == mode_of(plain) == default_file_mode()


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o755, 0o640])
def test_an_explicit_mode_is_exact(tmp_path: Path, mode: int) -> None:
    assert mode_of(write_atomically(tmp_path / "f", "x", mode=mode)) == mode


def test_replacing_a_file_gives_the_new_mode(tmp_path: Path) -> None:
    target = tmp_path / "script.py"
    write_atomically(target, "x", mode=0o644)
    write_atomically(target, "y", mode=0o755)
    assert mode_of(target) == 0o755


def test_atomic_file_mode_applies_at_commit(tmp_path: Path) -> None:
    with AtomicFile(tmp_path, mode=0o600) as temp:
        temp.stream.write(b"x")
        committed = temp.commit(tmp_path / "private")
    assert mode_of(committed) == 0o600
