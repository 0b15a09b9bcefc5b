"""The runtime that runs inside the user's kernel: seeding, file-access recording, variable transport.

This module is executed in the kernel's interpreter, which may be an isolated environment without
jupyter-repro installed. So it is stdlib-only at import, never imports from ``jupyter_repro``, and keeps
to Python 3.8 syntax at run time. It is used in two ways:

* imported as ``jupyter_repro.kernel.runtime`` where the package is installed (``%load_ext``);
* executed from its own source text as the module ``__jupyter_repro__`` by the bootstrap cell that
  :func:`jupyter_repro.kernel.codegen.bootstrap_source` generates for the headless runner.

Optional libraries (NumPy, pandas, pyarrow, torch, TensorFlow, cloudpickle, blake3) are used only when
the kernel already has them; the user's environment is never changed by importing something heavy.

Process-wide state (the audit hook, which cannot be removed, and the import hook that seeds libraries
imported later) lives on the ``sys`` module under one private attribute, so that several copies of this
module in one kernel (bootstrap and ``%load_ext``) share one recorder instead of stacking hooks.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.abc
import importlib.util
import json
import os
import pickle
import random
import re
import site
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import IO, Any

RUNTIME_NAME = "__jupyter_repro__"
FORMAT_VERSION = 1
PICKLE_PROTOCOL = 5  # the newest protocol every supported kernel (Python >= 3.8) reads
_SHARED_ATTR = "_jupyter_repro_shared"
_SERIES_COLUMN = "__jupyter_repro_series__"
_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------------------
# process-wide singletons


def _shared(key: str, factory: Callable[[], Any]) -> Any:
    """One object per process for ``key``, whichever copy of this module asks first."""
    registry: dict[str, Any] = sys.__dict__.setdefault(_SHARED_ATTR, {})
    if key not in registry:
        registry[key] = factory()
    return registry[key]


def _optional_module(name: str) -> ModuleType | None:
    """The module if it is importable in this kernel, else None (never raises)."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _is_installed(name: str) -> bool:
    """Whether a top-level module could be imported, without importing it."""
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# --------------------------------------------------------------------------------------------------
# seeding


class _NumpyEntropy:
    """Deterministic stand-in for the OS entropy NumPy draws when a generator is created without a seed.

    ``np.random.default_rng()``, ``Generator(PCG64())``, ``SeedSequence()`` and ``RandomState()``
    without a seed all end in ``SeedSequence(entropy=None)``, which is the one place that calls
    ``numpy.random.bit_generator.randbits(pool_bits)`` (a module global of that Cython module, looked
    up at each call since NumPy 1.17). Replacing that global is the narrowest hook: an explicit seed
    never reaches it, spawning and pickling are untouched. The n-th unseeded draw after seeding gets
    bits derived from (seed, n): two generators in one notebook differ, as a user expects, and the
    same notebook draws the same numbers on every run. ``random.Random`` seeded with a string hashes
    it with SHA-512, so the bits do not depend on ``PYTHONHASHSEED`` or the platform.
    """

    def __init__(self) -> None:
        self.seed = 0
        self.drawn = 0
        self.original: Any = None

    def __call__(self, bits: int) -> int:
        self.drawn += 1
        return random.Random(f"jupyter-repro:numpy-entropy:{self.seed}:{self.drawn}").getrandbits(bits)


def _numpy_entropy() -> _NumpyEntropy:
    entropy: _NumpyEntropy = _shared("numpy_entropy", _NumpyEntropy)
    return entropy


def _seed_numpy_entropy(seed: int, drawn: int = 0) -> bool:
    """Make unseeded NumPy generators deterministic from ``seed``; False if this NumPy has no hook."""
    module = importlib.import_module("numpy.random.bit_generator")
    current = getattr(module, "randbits", None)
    if not callable(current):
        return False  # a NumPy without the hook: its unseeded generators are left alone
    entropy = _numpy_entropy()
    entropy.seed, entropy.drawn = seed, drawn
    if current is not entropy:
        entropy.original = current
        setattr(module, "randbits", entropy)  # noqa: B010 (a Cython module's global, untyped)
    return True


def _seed_numpy(module: Any, seed: int) -> None:
    module.random.seed(seed % 2**32)  # the legacy global RandomState (np.random.rand and friends)
    with contextlib.suppress(Exception):  # seeding the legacy state must not depend on the hook
        _seed_numpy_entropy(seed)  # np.random.default_rng() and other generators made without a seed


def _seed_torch(module: Any, seed: int) -> None:
    module.manual_seed(seed)  # seeds the CPU generator and every CUDA device


def _seed_tensorflow(module: Any, seed: int) -> None:
    module.random.set_seed(seed)


_SEEDERS: dict[str, Callable[[Any, int], None]] = {
    "numpy": _seed_numpy,
    "torch": _seed_torch,
    "tensorflow": _seed_tensorflow,
}


class _ChainedLoader(importlib.abc.Loader):
    """Wraps a module's real loader to run a callback once the module has finished executing."""

    def __init__(self, loader: Any, after: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._after = after

    def create_module(self, spec: Any) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        # hand the real loader back before the module runs, so importlib.resources and friends see it
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        with contextlib.suppress(Exception):  # a failing seeder must never break the user's import
            self._after(module)


class _SeedOnImport(importlib.abc.MetaPathFinder):
    """Seeds a library right after its first import, so the prelude never imports torch itself.

    Importing TensorFlow or torch costs seconds and changes the process (threads, GPU memory), so a
    library that is installed but not yet imported is seeded when the user's code imports it.
    """

    def __init__(self) -> None:
        self.pending: dict[str, int] = {}
        self._busy: set[str] = set()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in self.pending or fullname in self._busy:
            return None
        self._busy.add(fullname)  # other finders may consult us again (another copy of this hook)
        try:
            spec = self._find_elsewhere(fullname, path, target)
        finally:
            self._busy.discard(fullname)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        seed = self.pending.pop(fullname)
        seeder = _SEEDERS[fullname]
        spec.loader = _ChainedLoader(spec.loader, lambda module: seeder(module, seed))
        return spec

    def _find_elsewhere(self, fullname: str, path: Any, target: Any) -> Any:
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                return spec
        return None


def _import_seeder() -> _SeedOnImport:
    finder: _SeedOnImport = _shared("seed_on_import", _SeedOnImport)
    if finder not in sys.meta_path:
        sys.meta_path.insert(0, finder)
    return finder


def seed_everything(seed: int) -> list[str]:
    """Seed ``random``, NumPy, torch and TensorFlow; return the libraries seeded or to be seeded.

    NumPy's legacy global state is seeded, and generators made without a seed (``default_rng()``) get
    successive seeds derived from ``seed`` (:class:`_NumpyEntropy`). Libraries already imported are
    seeded now; installed ones not yet imported are seeded right after
    the user's code first imports them; missing ones are skipped. ``PYTHONHASHSEED`` cannot be set from
    inside a running interpreter: the runner puts it in the kernel's environment.
    """
    random.seed(seed)
    seeded = ["random"]
    finder = _import_seeder()
    for name, seeder in _SEEDERS.items():
        module = sys.modules.get(name)
        if module is not None:
            try:
                seeder(module, seed)
                seeded.append(name)
            except Exception:
                pass
        elif _is_installed(name):
            finder.pending[name] = seed
            seeded.append(name)
    return seeded


# --------------------------------------------------------------------------------------------------
# file-access recorder


def _abs_dirs(paths: Sequence[str]) -> tuple[str, ...]:
    """Directory prefixes ending in a separator, both as given and with symlinks resolved."""
    prefixes = set()
    for path in paths:
        if not path:
            continue
        for variant in (os.path.abspath(path), os.path.realpath(path)):
            prefixes.add(variant.rstrip(os.sep) + os.sep)
    return tuple(sorted(prefixes))


def _site_dirs() -> list[str]:
    dirs = [path for path in sys.path if "site-packages" in path or "dist-packages" in path]
    with contextlib.suppress(AttributeError):  # old virtualenv's site module lacks these
        dirs.extend(site.getsitepackages())
    with contextlib.suppress(AttributeError):
        dirs.append(site.getusersitepackages())
    return dirs


def _tool_dirs() -> list[str]:
    """Where Jupyter, IPython and matplotlib keep their own state (never the user's data)."""
    home = os.path.expanduser("~")
    dirs = [
        os.environ.get("IPYTHONDIR") or os.path.join(home, ".ipython"),
        os.environ.get("MPLCONFIGDIR") or os.path.join(home, ".config", "matplotlib"),
        os.path.join(home, ".cache", "matplotlib"),
        os.environ.get("JUPYTER_RUNTIME_DIR") or os.path.join(home, ".local", "share", "jupyter", "runtime"),
        os.path.join(tempfile.gettempdir(), f"ipykernel_{os.getpid()}"),
    ]
    paths = sys.modules.get("jupyter_core.paths")
    if paths is not None:
        with contextlib.suppress(Exception):
            dirs.append(paths.jupyter_runtime_dir())
    return dirs


def default_ignored_dirs() -> list[str]:
    """Directories whose files are never data: the interpreter, installed packages, the OS, tools."""
    interpreter = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    return [*interpreter, *_site_dirs(), "/proc", "/dev", "/sys", *_tool_dirs()]


def _mode_access(mode: str) -> tuple[bool, bool]:
    """(reads, writes) for an ``open()`` mode string; ``w`` truncates so it reads nothing old."""
    writes = any(char in mode for char in "wax+")
    reads = "r" in mode or ("a" in mode and "+" in mode)
    return reads, writes


def _flags_access(flags: int) -> tuple[bool, bool]:
    """(reads, writes) for ``os.open`` flags."""
    access = flags & os.O_ACCMODE
    creates_new = bool(flags & os.O_CREAT) and bool(flags & os.O_EXCL)
    writes = access != os.O_RDONLY or bool(flags & (os.O_CREAT | os.O_TRUNC | os.O_APPEND))
    reads = access != os.O_WRONLY and not flags & os.O_TRUNC and not creates_new
    return reads, writes


def open_access(mode: Any, flags: Any) -> tuple[bool, bool]:
    """(reads, writes) of one audited ``open`` event: its mode string when given, else its flags."""
    if isinstance(mode, str):
        return _mode_access(mode)
    if isinstance(flags, int):
        return _flags_access(flags)
    return True, False


_RECORDED_EVENTS = frozenset({"open", "urllib.Request", "http.client.connect"})


class FileRecorder:
    """Records the absolute paths of files opened for reading and for writing while active.

    Built on ``sys.addaudithook``: the hook sees every ``open`` (``open()``, ``io.open``, ``os.open``,
    ``pathlib``) from Python and from libraries that open through Python. Audit hooks cannot be
    removed, so the recorder is installed once per process and switched on and off per step. The hook
    runs on every audited event of the process: it returns at once unless recording an ``open``, and it
    never raises, because an exception in an audit hook would surface in the user's ``open()``.
    Files opened by C code directly (e.g. a C library's ``fopen``) are not seen.

    Network reads are recorded too (``network``): the URL of every ``urllib`` request, and the
    ``host:port`` of every ``http.client`` connection (what ``requests``/``urllib3`` use), so verify can
    name the data a step fetched that no hash pins.
    """

    def __init__(self) -> None:
        self.active = False
        self.installed = False
        self._reads: set[str] = set()
        self._writes: set[str] = set()
        self._network: set[str] = set()
        self._ignored: tuple[str, ...] = _abs_dirs(default_ignored_dirs())

    def install(self) -> None:
        """Add the audit hook to the process (once)."""
        if not self.installed:
            sys.addaudithook(self._hook)
            self.installed = True

    def configure(self, ignore_dirs: Sequence[str] = ()) -> None:
        """Ignore the defaults plus ``ignore_dirs`` (e.g. the repro home)."""
        self._ignored = _abs_dirs([*default_ignored_dirs(), *ignore_dirs])

    def start(self) -> None:
        """Forget what was recorded and start recording."""
        self._reads = set()
        self._writes = set()
        self._network = set()
        self.active = True

    def stop(self) -> None:
        """Stop recording (what was recorded is kept until :meth:`collect` or :meth:`start`)."""
        self.active = False

    def collect(self) -> dict[str, list[str]]:
        """Stop, return the recorded reads and writes of files that exist now, and reset.

        A file the step read only after writing it is its own output, not an input, so it is
        listed in ``writes`` only. Files that no longer exist (temporary files) are dropped.
        """
        self.active = False
        reads, writes, network = self._reads, self._writes, self._network
        self._reads, self._writes, self._network = set(), set(), set()
        return {
            "reads": sorted(path for path in reads if os.path.isfile(path)),
            "writes": sorted(path for path in writes if os.path.isfile(path)),
            "network": sorted(network),
        }

    def is_ignored(self, path: str) -> bool:
        """Whether an absolute path is outside what the recorder reports."""
        return (path + os.sep).startswith(self._ignored) or "__pycache__" in path

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or event not in _RECORDED_EVENTS:
            return
        with contextlib.suppress(Exception):
            if event == "open":
                self.record(*args)
            elif event == "urllib.Request":
                self._network.add(str(args[0]))
            else:  # http.client.connect(self, host, port)
                self._network.add(f"{args[1]}:{args[2]}")

    def record(self, file: Any, mode: Any = None, flags: Any = 0) -> None:
        """Record one ``open`` event's arguments (public so tests can feed events directly)."""
        if isinstance(file, int):
            return  # an already open descriptor: its path was recorded when it was opened
        path = os.path.abspath(os.fsdecode(file))
        if self.is_ignored(path):
            return
        reads, writes = open_access(mode, flags)
        if reads and path not in self._writes:
            self._reads.add(path)
        if writes:
            self._writes.add(path)


def get_recorder() -> FileRecorder:
    """The process's one recorder (created, not installed, on first use)."""
    recorder: FileRecorder = _shared("recorder", FileRecorder)
    return recorder


def install_recorder(ignore_dirs: Sequence[str] = ()) -> FileRecorder:
    """Install the audit hook once, configure the ignored directories, and return the recorder."""
    recorder = get_recorder()
    recorder.configure(ignore_dirs)
    recorder.install()
    return recorder


# --------------------------------------------------------------------------------------------------
# hashing (same digest text as jupyter_repro.hashing: "<algorithm>:<hex>")


def _new_hasher(algorithm: str) -> Any:
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "blake3":
        blake3 = _optional_module("blake3")
        if blake3 is None:
            return None
        try:
            return blake3.blake3(max_threads=blake3.blake3.AUTO)
        except (AttributeError, TypeError):  # older blake3 releases
            return blake3.blake3()
    return None


def hash_file(path: str, algorithm: str) -> str | None:
    """Digest of a file as ``"<algorithm>:<hex>"``, or None when the algorithm is not available here."""
    hasher = _new_hasher(algorithm)
    if hasher is None:
        return None
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            hasher.update(chunk)
    return f"{algorithm}:{hasher.hexdigest()}"


# --------------------------------------------------------------------------------------------------
# serializers


class _ByValue(Exception):
    """Pickle worked but refers to ``__main__`` objects that a fresh kernel would not have."""


class _MainTracker(pickle.Pickler):
    """A pickler that notes references to classes and functions defined in ``__main__``.

    Plain pickle stores such objects by name; a later step runs in a kernel where that name may not
    exist (the defining step was cached), so such values are stored by value with cloudpickle.
    """

    uses_main = False

    def reducer_override(self, obj: Any) -> Any:
        if (isinstance(obj, type) or callable(obj)) and getattr(obj, "__module__", None) == "__main__":
            self.uses_main = True
        return NotImplemented


def _write_pickle(value: Any, handle: IO[bytes]) -> dict[str, Any]:
    pickler = _MainTracker(handle, protocol=PICKLE_PROTOCOL)
    pickler.dump(value)
    if pickler.uses_main and _is_installed("cloudpickle"):
        raise _ByValue("refers to objects defined in the notebook")
    return {}


def _write_cloudpickle(value: Any, handle: IO[bytes]) -> dict[str, Any]:
    cloudpickle = importlib.import_module("cloudpickle")
    cloudpickle.dump(value, handle, protocol=PICKLE_PROTOCOL)
    return {}


def _write_npy(value: Any, handle: IO[bytes]) -> dict[str, Any]:
    numpy = sys.modules["numpy"]
    numpy.save(handle, value, allow_pickle=False)
    return {}


def _write_parquet(value: Any, handle: IO[bytes]) -> dict[str, Any]:
    pandas = sys.modules["pandas"]
    meta: dict[str, Any] = {}
    frame = value
    if isinstance(value, pandas.Series):
        if value.name is not None and not isinstance(value.name, str):
            raise TypeError(f"series name {value.name!r} cannot be kept in parquet")
        meta["series_name"] = value.name
        frame = value.to_frame(name=_SERIES_COLUMN)
    if frame.attrs or not all(isinstance(column, str) for column in frame.columns):
        raise TypeError("frame has attrs or non-string column names")
    if getattr(frame.index, "freq", None) is not None:
        raise TypeError("index frequency is not kept by parquet")
    frame.to_parquet(handle)
    return meta


_WRITERS: dict[str, tuple[str, Callable[[Any, IO[bytes]], dict[str, Any]]]] = {
    "npy": (".npy", _write_npy),
    "parquet": (".parquet", _write_parquet),
    "pickle": (".pkl", _write_pickle),
    "cloudpickle": (".pkl", _write_cloudpickle),
}


def _is_plain_ndarray(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and type(value) is numpy.ndarray and not value.dtype.hasobject


def _is_pandas(value: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and type(value) in (pandas.DataFrame, pandas.Series)


def serializers_for(value: Any) -> list[str]:
    """Serializers to try for a value, best first (typed, then pickle, then cloudpickle)."""
    candidates = ["pickle"]
    if _is_plain_ndarray(value):
        candidates.insert(0, "npy")
    elif _is_pandas(value) and _is_installed("pyarrow"):
        candidates.insert(0, "parquet")
    if _is_installed("cloudpickle"):
        candidates.append("cloudpickle")
    return candidates


def _describe(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _write_one(value: Any, serializer: str, dest_dir: str, stem: str, algorithm: str) -> dict[str, Any]:
    """Write with one serializer to a temporary name, hash it, and rename it into place."""
    suffix, writer = _WRITERS[serializer]
    fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            meta = writer(value, handle)
        digest = hash_file(temp, algorithm)
        name = stem + suffix
        os.replace(temp, os.path.join(dest_dir, name))
    except BaseException:
        _unlink(temp)
        raise
    record = {"file": name, "serializer": serializer, "hash": digest, "type": _type_name(value)}
    record.update(meta)
    return record


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def store_value(value: Any, dest_dir: str, stem: str, algorithm: str = "blake3") -> dict[str, Any]:
    """Store one value with the first serializer that works; raise ValueError naming every failure."""
    failures = []
    for serializer in serializers_for(value):
        try:
            return _write_one(value, serializer, dest_dir, stem, algorithm)
        except Exception as error:
            failures.append(f"{serializer}: {_describe(error)}")
    raise ValueError("; ".join(failures))


def _file_stem(index: int, name: str) -> str:
    """A safe, unique file stem for a variable name (names never reach the file system raw)."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", name)[:64]
    return f"{index:03d}_{safe}"


def store_outputs(
    names: Sequence[str], namespace: dict[str, Any], dest_dir: str, algorithm: str = "blake3"
) -> dict[str, Any]:
    """Store the named variables of ``namespace`` in ``dest_dir`` and return their manifest.

    The manifest maps each stored name to its file, serializer, value type and content hash (None if
    ``algorithm`` is not available in this kernel: the runner hashes the file then). Names that are
    not defined or cannot be serialized are listed under ``errors`` with a reason instead of raising:
    the step still ran, only that variable cannot be cached.
    """
    os.makedirs(dest_dir, exist_ok=True)
    variables: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for index, name in enumerate(names):
        if name not in namespace:
            errors[name] = "not defined"
            continue
        try:
            variables[name] = store_value(namespace[name], dest_dir, _file_stem(index, name), algorithm)
        except Exception as error:
            errors[name] = str(error) or _describe(error)
    return {
        "version": FORMAT_VERSION,
        "dir": os.path.abspath(dest_dir),
        "variables": variables,
        "errors": errors,
    }


# --------------------------------------------------------------------------------------------------
# loaders


class InputLoadError(RuntimeError):
    """Some input variables could not be loaded; ``failures`` maps each name to the reason."""

    def __init__(self, failures: dict[str, str]) -> None:
        super().__init__(
            "jupyter-repro could not load input variables: "
            + "; ".join(f"{name} ({reason})" for name, reason in sorted(failures.items()))
        )
        self.failures = failures


def _load_npy(path: str, record: dict[str, Any]) -> Any:
    numpy = importlib.import_module("numpy")
    return numpy.load(path, allow_pickle=False)


def _load_parquet(path: str, record: dict[str, Any]) -> Any:
    pandas = importlib.import_module("pandas")
    frame = pandas.read_parquet(path)
    if "series_name" in record:
        return frame[_SERIES_COLUMN].rename(record["series_name"])
    return frame


def _load_pickle(path: str, record: dict[str, Any]) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)  # our own artifacts, written by store_outputs


_LOADERS: dict[str, Callable[[str, dict[str, Any]], Any]] = {
    "npy": _load_npy,
    "parquet": _load_parquet,
    "pickle": _load_pickle,
    "cloudpickle": _load_pickle,  # cloudpickle output is ordinary pickle data
}


def load_inputs(manifest: dict[str, Any], namespace: dict[str, Any]) -> list[str]:
    """Load every variable of a manifest into ``namespace``; return the names loaded.

    A record's ``file`` is relative to the manifest's ``dir`` or absolute. All variables are tried;
    if any fails, :class:`InputLoadError` names each failure (the runner treats it as a failed step).
    """
    directory = manifest.get("dir") or ""
    loaded = []
    failures: dict[str, str] = {}
    for name, record in sorted(manifest.get("variables", {}).items()):
        try:
            loader = _LOADERS[record["serializer"]]
            namespace[name] = loader(os.path.join(directory, record["file"]), record)
            loaded.append(name)
        except Exception as error:
            failures[name] = _describe(error)
    if failures:
        raise InputLoadError(failures)
    return loaded


# --------------------------------------------------------------------------------------------------
# the prelude and epilogue cells


# The kernel's own atomic writes (here and in _write_one), not jupyter_repro.fsio's: this module runs in
# the user's kernel, possibly an isolated environment without jupyter-repro, and is injected as source
# text, so it cannot import anything from the package. Same scheme, without the fsync: a unique mkstemp
# name in the target's folder, then os.replace; the temporary file is removed on any failure.
def _write_json_atomic(path: str, value: Any) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(value, handle, sort_keys=True, default=str)
        os.replace(temp, path)
    except BaseException:
        _unlink(temp)
        raise


def _state() -> dict[str, Any]:
    state: dict[str, Any] = _shared("state", dict)
    return state


RNG_STATE_NAME = "__jupyter_repro_rng_state__"
"""The pseudo-variable under which a step's end-of-step random state is stored with its outputs."""


def capture_rng_state() -> dict[str, Any]:
    """The state of the global generators (``random``, and NumPy's if it is imported)."""
    state: dict[str, Any] = {"random": random.getstate()}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        with contextlib.suppress(Exception):
            state["numpy"] = numpy.random.get_state()
    bit_generator = sys.modules.get("numpy.random.bit_generator")
    entropy = _numpy_entropy()
    if bit_generator is not None and getattr(bit_generator, "randbits", None) is entropy:
        # how many unseeded generators were made so far: the next one of a later step depends on it
        state["numpy_entropy"] = (entropy.seed, entropy.drawn)
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put the global generators back where a full top-down run would have them at this point.

    When the previous step came from the cache, this kernel never ran it, so its random draws did not
    happen here; the state it ended with was stored with its outputs and is restored instead.
    """
    random.setstate(state["random"])
    if "numpy" in state:
        with contextlib.suppress(Exception):
            numpy = importlib.import_module("numpy")  # seeding-on-import runs first; this overrides it
            numpy.random.set_state(state["numpy"])
    if "numpy_entropy" in state:
        with contextlib.suppress(Exception):
            seed, drawn = state["numpy_entropy"]
            _seed_numpy_entropy(int(seed), int(drawn))


def run_prelude(namespace: dict[str, Any], config: dict[str, Any]) -> None:
    """Body of the prelude cell: seed, load the step's inputs, start recording file access.

    ``config``: ``seed`` (int, or None to leave the generators alone, e.g. for a later step in a
    kernel that was seeded once already), ``inputs`` (a manifest or None), ``ignore_dirs``.
    Returns None so the cell displays nothing.
    """
    recorder = get_recorder()
    recorder.stop()  # our own reads of the input artifacts are not the step's reads
    state = _state()
    if config.get("seed") is not None:
        state["seed"] = int(config["seed"])
        state["seeded"] = seed_everything(state["seed"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state["loaded"] = load_inputs(config["inputs"], namespace) if config.get("inputs") else []
    rng_state = namespace.pop(RNG_STATE_NAME, None)
    if rng_state is not None:
        restore_rng_state(rng_state)
        state["loaded"].remove(RNG_STATE_NAME)
    install_recorder(config.get("ignore_dirs") or ())
    recorder.start()


def run_epilogue(namespace: dict[str, Any], config: dict[str, Any]) -> None:
    """Body of the epilogue cell: stop recording, store outputs, write the report for the runner.

    ``config``: ``outputs`` (names), ``dest_dir``, ``report_path``, ``algorithm``. The report is
    written atomically even if storing fails (then it carries ``error``); nothing is printed.
    """
    files = get_recorder().collect()
    state = _state()
    report: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "reads": files["reads"],
        "writes": files["writes"],
        "network": files["network"],
        "outputs": None,
        "error": None,
        "seed": state.get("seed"),
        "seeded": state.get("seeded", []),
        "loaded": state.get("loaded", []),
        "hashseed": os.environ.get("PYTHONHASHSEED"),
        "python": sys.executable,
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report["outputs"] = store_outputs(
                list(config.get("outputs", [])),
                namespace,
                config["dest_dir"],
                config.get("algorithm", "blake3"),
            )
            # the random state the next step starts from, for when this step is replayed from cache
            report["outputs"]["variables"][RNG_STATE_NAME] = store_value(
                capture_rng_state(), config["dest_dir"], "rng-state", config.get("algorithm", "blake3")
            )
    except Exception as error:
        report["error"] = _describe(error)
    _write_json_atomic(config["report_path"], report)
