"""The in-kernel runtime, exercised in this process: serializers, file recorder, seeding.

The real-kernel path (bootstrap cell, prelude, epilogue) is covered in test_kernel_codegen.py.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.random import bit_generator

from jupyter_repro import hashing
from jupyter_repro.kernel import runtime

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _numpy_entropy_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeding in this process replaces NumPy's entropy source; put the real one back after each test."""
    monkeypatch.setattr(bit_generator, "randbits", vars(bit_generator)["randbits"])


def round_trip(value: Any, dest: Path, name: str = "value") -> tuple[Any, dict[str, Any]]:
    """Store one variable, load it into a fresh namespace, return (loaded value, its record)."""
    manifest = runtime.store_outputs([name], {name: value}, str(dest), hashing.ALGORITHM)
    assert manifest["errors"] == {}
    namespace: dict[str, Any] = {}
    assert runtime.load_inputs(manifest, namespace) == [name]
    return namespace[name], manifest["variables"][name]


def stray_files(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir() if path.name.startswith(".tmp-")]


# ------------------------------------------------------------------------------------- serializers


def test_ndarray_round_trips_through_npy_with_the_runner_digest(tmp_path: Path) -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    loaded, record = round_trip(array, tmp_path)
    assert record["serializer"] == "npy"
    assert record["file"].endswith(".npy")
    assert record["type"] == "numpy.ndarray"
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, array)
    assert record["hash"] == hashing.hash_file(tmp_path / record["file"])


def test_object_ndarray_falls_back_to_pickle(tmp_path: Path) -> None:
    array = np.array([{"a": 1}, None], dtype=object)
    loaded, record = round_trip(array, tmp_path)
    assert record["serializer"] == "pickle"
    assert loaded.tolist() == [{"a": 1}, None]


@pytest.mark.parametrize(
    "value",
    [
        pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]}, index=[10, 20, 30]),
        pd.Series([1.5, 2.5], name="price"),
    ],
    ids=["frame", "series"],
)
def test_pandas_round_trip_is_exact(tmp_path: Path, value: Any) -> None:
    loaded, record = round_trip(value, tmp_path)
    expected = "parquet" if runtime._is_installed("pyarrow") else "pickle"
    assert record["serializer"] == expected
    assert type(loaded) is type(value)
    assert loaded.equals(value)
    assert str(loaded) == str(value)


def test_plain_values_use_pickle(tmp_path: Path) -> None:
    value = {"a": [1, 2.5, "three"], "b": (None, True), "c": {1, 2}}
    loaded, record = round_trip(value, tmp_path)
    assert record["serializer"] == "pickle"
    assert loaded == value


def test_lambda_falls_back_to_cloudpickle(tmp_path: Path) -> None:
    offset = 3
    loaded, record = round_trip(lambda x: x + offset, tmp_path)
    assert record["serializer"] == "cloudpickle"
    assert loaded(4) == 7


def test_local_class_instance_falls_back_to_cloudpickle(tmp_path: Path) -> None:
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    loaded, record = round_trip(Point(5), tmp_path)
    assert record["serializer"] == "cloudpickle"
    assert loaded.x == 5


def test_notebook_function_is_stored_by_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A function defined in the notebook (``__main__``) pickles by name but would not load in a
    fresh kernel whose earlier step was cached, so it must be stored by value."""

    def double(x: int) -> int:
        return 2 * x

    double.__module__ = "__main__"
    double.__qualname__ = "double"
    monkeypatch.setattr(sys.modules["__main__"], "double", double, raising=False)
    pickle.dumps(double)  # plain pickle succeeds (by reference) ...
    manifest = runtime.store_outputs(["double"], {"double": double}, str(tmp_path))
    monkeypatch.delattr(sys.modules["__main__"], "double")  # ... and the next kernel lacks the name
    namespace: dict[str, Any] = {}
    runtime.load_inputs(manifest, namespace)
    assert manifest["variables"]["double"]["serializer"] == "cloudpickle"
    assert namespace["double"](21) == 42


def test_unserializable_and_missing_names_are_reported_not_raised(tmp_path: Path) -> None:
    namespace = {"lock": threading.Lock(), "ok": 1}
    manifest = runtime.store_outputs(["lock", "absent", "ok"], namespace, str(tmp_path))
    assert set(manifest["variables"]) == {"ok"}
    assert manifest["errors"]["absent"] == "not defined"
    reason = manifest["errors"]["lock"]
    assert "pickle:" in reason
    assert "cloudpickle:" in reason
    assert stray_files(tmp_path) == []


def test_hostile_names_never_reach_the_file_system(tmp_path: Path) -> None:
    dest = tmp_path / "artifacts"
    name = '../../x"; import os #'
    manifest = runtime.store_outputs([name], {name: 1}, str(dest))
    record = manifest["variables"][name]
    assert "/" not in record["file"]
    assert (dest / record["file"]).is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["artifacts"]


def test_hash_is_none_when_the_algorithm_is_unavailable(tmp_path: Path) -> None:
    manifest = runtime.store_outputs(["v"], {"v": 1}, str(tmp_path), "no-such-algorithm")
    assert manifest["variables"]["v"]["hash"] is None


def test_sha256_digest_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    manifest = runtime.store_outputs(["v"], {"v": [1, 2]}, str(tmp_path), "sha256")
    record = manifest["variables"]["v"]
    content = (tmp_path / record["file"]).read_bytes()
    assert record["hash"] == "sha256:" + hashlib.sha256(content).hexdigest()


def test_load_failures_name_every_variable(tmp_path: Path) -> None:
    manifest = runtime.store_outputs(["a", "b"], {"a": 1, "b": 2}, str(tmp_path))
    (tmp_path / manifest["variables"]["a"]["file"]).unlink()
    (tmp_path / manifest["variables"]["b"]["file"]).write_bytes(b"not a pickle")
    namespace: dict[str, Any] = {}
    with pytest.raises(runtime.InputLoadError) as caught:
        runtime.load_inputs(manifest, namespace)
    assert set(caught.value.failures) == {"a", "b"}
    assert namespace == {}


# ---------------------------------------------------------------------------------------- recorder


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[runtime.FileRecorder]:
    """The process's recorder, ignoring ``tmp_path/ignored``; always stopped afterwards."""
    installed = runtime.install_recorder([str(tmp_path / "ignored")])
    try:
        yield installed
    finally:
        installed.collect()


def test_recorder_sees_reads_and_writes(tmp_path: Path, recorder: runtime.FileRecorder) -> None:
    source = tmp_path / "input.csv"
    source.write_text("a,b\n")
    other = tmp_path / "raw.bin"
    other.write_bytes(b"\0")
    recorder.start()
    source.read_text()
    with open(tmp_path / "out.txt", "w") as handle:
        handle.write("x")
    fd = os.open(other, os.O_RDONLY)
    os.close(fd)
    fd = os.open(tmp_path / "log.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.close(fd)
    files = recorder.collect()
    assert files["reads"] == sorted([str(source), str(other)])
    assert files["writes"] == sorted([str(tmp_path / "out.txt"), str(tmp_path / "log.txt")])


def test_recorder_ignores_interpreter_packages_and_configured_dirs(
    tmp_path: Path, recorder: runtime.FileRecorder
) -> None:
    ignored = tmp_path / "ignored"
    ignored.mkdir()
    (ignored / "blob").write_bytes(b"1")
    recorder.start()
    Path(np.__file__).read_bytes()  # site-packages
    Path(os.__file__).read_bytes()  # the standard library under sys.base_prefix
    (ignored / "blob").read_bytes()
    (ignored / "new").write_bytes(b"2")
    Path("/proc/self/status").read_text()
    files = recorder.collect()
    assert files == {"reads": [], "writes": [], "network": []}


def test_recorder_records_nothing_while_stopped(tmp_path: Path, recorder: runtime.FileRecorder) -> None:
    data = tmp_path / "data.txt"
    data.write_text("1")
    recorder.start()
    recorder.stop()
    data.read_text()
    recorder.start()
    assert recorder.collect() == {"reads": [], "writes": [], "network": []}


def test_own_outputs_and_deleted_temp_files_are_not_inputs(
    tmp_path: Path, recorder: runtime.FileRecorder
) -> None:
    produced = tmp_path / "model.bin"
    scratch = tmp_path / "scratch.tmp"
    recorder.start()
    produced.write_bytes(b"weights")
    produced.read_bytes()  # read back after writing: still only an output
    scratch.write_bytes(b"x")
    scratch.unlink()
    files = recorder.collect()
    assert files == {"reads": [], "writes": [str(produced)], "network": []}


def test_collect_resets(tmp_path: Path, recorder: runtime.FileRecorder) -> None:
    (tmp_path / "a").write_text("1")
    recorder.start()
    (tmp_path / "a").read_text()
    assert recorder.collect()["reads"] == [str(tmp_path / "a")]
    assert recorder.collect() == {"reads": [], "writes": [], "network": []}


def test_hook_never_raises_and_decodes_bytes_paths(tmp_path: Path, recorder: runtime.FileRecorder) -> None:
    (tmp_path / "b.txt").write_bytes(b"1")
    recorder.start()
    recorder._hook("open", (object(), None, 0))  # not a path at all
    recorder._hook("open", ())  # wrong arity
    recorder._hook("open", (3, "r", 0))  # a file descriptor
    with open(os.fsencode(tmp_path / "b.txt"), "rb") as handle:
        handle.read()
    assert recorder.collect() == {"reads": [str(tmp_path / "b.txt")], "writes": [], "network": []}


def test_recorder_sees_network_reads_through_urllib_and_http_client(
    recorder: runtime.FileRecorder,
) -> None:
    import http.server
    import threading
    import urllib.request

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        recorder.start()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
        network = recorder.collect()["network"]
    finally:
        server.shutdown()
        server.server_close()
    assert network == [f"127.0.0.1:{port}", f"http://127.0.0.1:{port}/"]
    recorder._hook("urllib.Request", ("http://example.org/data.csv", None, {}, "GET"))  # stopped
    assert recorder.collect()["network"] == []


def test_install_is_idempotent() -> None:
    first = runtime.install_recorder()
    second = runtime.install_recorder()
    assert first is second
    assert first.installed


@pytest.mark.parametrize(
    ("mode", "flags", "expected"),
    [
        ("r", 0, (True, False)),
        ("rb", 0, (True, False)),
        ("r+", 0, (True, True)),
        ("w", 0, (False, True)),
        ("w+", 0, (False, True)),
        ("a", 0, (False, True)),
        ("a+", 0, (True, True)),
        ("x", 0, (False, True)),
        (None, os.O_RDONLY, (True, False)),
        (None, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, (False, True)),
        (None, os.O_RDWR, (True, True)),
        (None, os.O_RDWR | os.O_TRUNC, (False, True)),
        (None, os.O_RDWR | os.O_CREAT | os.O_EXCL, (False, True)),
        (None, os.O_WRONLY | os.O_APPEND, (False, True)),
        (None, None, (True, False)),
    ],
)
def test_open_access(mode: str | None, flags: int | None, expected: tuple[bool, bool]) -> None:
    assert runtime.open_access(mode, flags) == expected


# ----------------------------------------------------------------------------------------- seeding


def draws() -> tuple[float, float]:
    return random.random(), float(np.random.rand())


def test_seeding_makes_random_and_numpy_repeatable() -> None:
    runtime.seed_everything(1234)
    first = draws()
    runtime.seed_everything(1234)
    assert draws() == first
    runtime.seed_everything(1235)
    assert draws() != first


def test_seeds_beyond_32_bits_work() -> None:
    seeded = runtime.seed_everything(2**40 + 7)
    assert seeded[:2] == ["random", "numpy"]
    first = draws()
    runtime.seed_everything(2**40 + 7)
    assert draws() == first


def test_library_imported_later_is_seeded_on_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "jr_fake_rng.py").write_text("state = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(runtime._SEEDERS, "jr_fake_rng", lambda module, seed: setattr(module, "state", seed))
    try:
        assert "jr_fake_rng" in runtime.seed_everything(99)
        import jr_fake_rng  # type: ignore[import-not-found]

        assert jr_fake_rng.state == 99
        assert type(jr_fake_rng.__loader__).__name__ == "SourceFileLoader"  # the real loader is back
    finally:
        sys.modules.pop("jr_fake_rng", None)
        runtime._import_seeder().pending.pop("jr_fake_rng", None)


# ---------------------------------------------------------------- unseeded generators (fresh processes)

DRAWS = """
import json, sys
from jupyter_repro.kernel import runtime
runtime.seed_everything(int(sys.argv[1]))
import numpy as np
first, second = np.random.default_rng(), np.random.default_rng()
print(json.dumps({
    "first": first.random(3).tolist(),
    "second": second.random(3).tolist(),
    "pcg64": np.random.Generator(np.random.PCG64()).random(2).tolist(),
    "entropy": str(np.random.SeedSequence().entropy),
    "legacy": np.random.RandomState().random_sample(2).tolist(),
    "explicit": np.random.default_rng(42).random(3).tolist(),
    "explicit_sequence": np.random.SeedSequence(7).entropy,
}))
"""


def run_python(code: str, *args: str, site: bool = True) -> str:
    """Run ``code`` in a fresh interpreter that imports this checkout's jupyter_repro."""
    command = [sys.executable, *([] if site else ["-S"]), "-c", code, *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def draws_in_fresh_process(seed: int) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run_python(DRAWS, str(seed)))
    return result


def test_unseeded_numpy_generators_repeat_across_processes_with_the_same_seed() -> None:
    first, again = draws_in_fresh_process(1234), draws_in_fresh_process(1234)
    assert first == again
    other = draws_in_fresh_process(1235)
    for key in ("first", "second", "pcg64", "entropy", "legacy"):
        assert other[key] != first[key], key


def test_two_unseeded_generators_in_one_notebook_differ() -> None:
    draws = draws_in_fresh_process(1234)
    assert draws["first"] != draws["second"]
    assert len({json.dumps(draws[key]) for key in ("first", "second", "pcg64", "legacy")}) == 4


def test_explicitly_seeded_generators_are_untouched() -> None:
    draws = draws_in_fresh_process(1234)
    assert draws["explicit"] == np.random.default_rng(42).random(3).tolist()
    assert draws["explicit_sequence"] == 7


def test_numpy_imported_before_seeding_is_hooked_too() -> None:
    code = (
        "import numpy as np, sys\n"
        "from jupyter_repro.kernel import runtime\n"
        "runtime.seed_everything(int(sys.argv[1]))\n"
        "print(np.random.default_rng().random(2).tolist())\n"
    )
    assert run_python(code, "5") == run_python(code, "5")
    assert run_python(code, "5") != run_python(code, "6")


def test_load_ext_seeds_unseeded_generators_in_an_interactive_shell() -> None:
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_line_magic('load_ext', 'jupyter_repro')\n"
        "shell.run_cell('import numpy as np; values = np.random.default_rng().random(2).tolist()')\n"
        "print(shell.user_ns['values'])\n"
    )
    first = run_python(code)
    assert first == run_python(code)
    assert first.startswith("[")


def test_captured_random_state_keeps_the_count_of_unseeded_generators() -> None:
    """A step replayed from the cache restores where the next unseeded generator starts."""
    code = (
        "import numpy as np\n"
        "from jupyter_repro.kernel import runtime\n"
        "runtime.seed_everything(3)\n"
        "np.random.default_rng()\n"
        "state = runtime.capture_rng_state()\n"
        "after = np.random.default_rng().random(2).tolist()\n"
        "runtime.seed_everything(99)\n"
        "runtime.restore_rng_state(state)\n"
        "print(after == np.random.default_rng().random(2).tolist(), state['numpy_entropy'])\n"
    )
    assert run_python(code).split() == ["True", "(3,", "1)"]


def test_runtime_seeds_without_numpy() -> None:
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from jupyter_repro.kernel import runtime\n"
        "print(runtime.seed_everything(5), 'numpy' in sys.modules, sorted(runtime.capture_rng_state()))\n"
    )
    assert run_python(code, site=False).strip() == "['random'] False ['random']"


def test_seeding_in_process_hooks_numpy_entropy_and_reseeding_restarts_it() -> None:
    runtime.seed_everything(11)
    first = np.random.default_rng().random(2).tolist()
    assert np.random.default_rng().random(2).tolist() != first
    runtime.seed_everything(11)
    assert np.random.default_rng().random(2).tolist() == first
