"""Environment capture and locking, done from inside the kernel's own interpreter.

The server (or CLI) process is often not the interpreter that runs the notebook: a kernelspec may point
to a conda env or a virtualenv. So the facts are gathered by running a small stdlib-only script
(:data:`CAPTURE_SCRIPT`, the source of :mod:`jupyter_repro.env_capture`) with the interpreter named by
the notebook's kernelspec, found through jupyter_client's ``KernelSpecManager`` and resolved the way
jupyter_client launches it.

The lock is a ``pip-compile --generate-hashes`` output for the distributions the notebook imports,
pinned to the versions the kernel has, with every other installed version as a constraint so that
transitive dependencies are pinned to what the kernel has too. Locks are stored by content hash in
``<home>/locks/`` and indexed by (environment hash, requirements), so each environment compiles a
given requirement set once. When pip-compile cannot run (no index reachable, timeout) the run goes on
and the snapshot carries ``lock=None`` and the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jupyter_repro.errors import EnvironmentCaptureError
from jupyter_repro.fsio import write_atomically
from jupyter_repro.hashing import ALGORITHM, hash_bytes, hash_json
from jupyter_repro.records import EnvironmentSnapshot, Lock

DEFAULT_KERNEL = "python3"
CAPTURE_TIMEOUT_S = 60.0
LOCK_TIMEOUT_S = 300.0
LOCKS_DIRNAME = "locks"
EMPTY_LOCK_TEXT = "# no third-party distributions imported: nothing to lock\n"
# env_capture.MARKER (a test checks they agree), not imported: that would import its imports here too
_MARKER = "JUPYTER_REPRO_ENV="
# The snapshot cache and the locks stay private to the user (0600), as they were when mkstemp made them.
_FILE_MODE = 0o600
CAPTURE_MARKER = _MARKER  # public: the line of CAPTURE_SCRIPT's output that holds its JSON
# Names jupyter_client replaces by its own interpreter when it launches a kernel (plus "{python}").
_SELF_PYTHON_NAMES = frozenset(
    {
        "python",
        f"python{sys.version_info[0]}",
        f"python{sys.version_info[0]}.{sys.version_info[1]}",
        "{python}",
    }
)


def capture_script() -> str:
    """The source of :mod:`jupyter_repro.env_capture`, run as text in the kernel's interpreter."""
    return resources.files("jupyter_repro").joinpath("env_capture.py").read_text(encoding="utf-8")


# Runs inside the kernel's interpreter (any Python >= 3.8): stdlib only, one marked JSON line on stdout.
CAPTURE_SCRIPT = capture_script()


@dataclass(frozen=True)
class KernelInterpreter:
    """The Python interpreter a kernelspec launches, and the kernelspec itself (as recorded)."""

    python: str
    kernelspec: Mapping[str, Any]
    env: Mapping[str, str]


# --- finding the kernel's interpreter -------------------------------------------------------------


def notebook_kernel_name(notebook: Any) -> str:
    """The kernelspec a notebook runs in: the one it names (``metadata.kernelspec.name``) when it is
    installed here, else ``python3`` for a Python notebook (see :func:`kernel_substitution`)."""
    asked = _asked_kernel(notebook)
    return DEFAULT_KERNEL if kernel_substitution(notebook) is not None else asked


def kernel_substitution(notebook: Any) -> str | None:
    """Why the notebook runs in ``python3`` instead of the kernelspec it names, or None.

    A notebook saved elsewhere often names a kernel this machine does not have (``Python [Root]``,
    a colleague's ``python3_mydev``). JupyterLab opens it and offers the default kernel; refusing it
    would be a verdict nobody can act on. So a Python notebook (by its kernelspec's language or
    ``language_info``) runs in ``python3``, and the run says so in its notes.
    """
    asked = _asked_kernel(notebook)
    if asked == DEFAULT_KERNEL or _installed(asked):
        return None
    metadata = notebook.get("metadata") or {}
    kernelspec = metadata.get("kernelspec") or {}
    language = (kernelspec.get("language") if isinstance(kernelspec, Mapping) else None) or (
        (metadata.get("language_info") or {}).get("name")
        if isinstance(metadata.get("language_info"), Mapping)
        else None
    )
    if language is not None and str(language).lower() != "python":
        return None  # another language: kernel_interpreter says so
    return (
        f"the notebook names the kernel '{asked}', which is not installed here: it ran in '{DEFAULT_KERNEL}'"
    )


def _asked_kernel(notebook: Any) -> str:
    kernelspec = (notebook.get("metadata") or {}).get("kernelspec") or {}
    name = kernelspec.get("name") if isinstance(kernelspec, Mapping) else None
    return str(name) if name else DEFAULT_KERNEL


def _installed(name: str) -> bool:
    if _spec_from_disk(name) is not None:
        return True
    try:
        _spec_from_jupyter_client(name)
    except EnvironmentCaptureError:
        return False
    return True


def kernel_interpreter(kernel_name: str | None = None) -> KernelInterpreter:
    """Find the interpreter of kernelspec ``kernel_name`` (default ``python3``) without starting it."""
    name = kernel_name or DEFAULT_KERNEL
    spec = _spec_from_disk(name) or _spec_from_jupyter_client(name)
    if str(spec.get("language", "")).lower() != "python":
        raise EnvironmentCaptureError(
            f"kernelspec '{name}' runs {spec.get('language')}, not Python",
            hint="only Python kernels are supported",
        )
    recorded = {
        "name": name,
        "display_name": spec.get("display_name", name),
        "language": spec.get("language"),
        "argv": list(spec["argv"]),
        "resource_dir": spec["resource_dir"],
    }
    python = resolve_python(list(spec["argv"]), spec["resource_dir"])
    return KernelInterpreter(python=python, kernelspec=recorded, env=dict(spec.get("env") or {}))


def _spec_from_jupyter_client(name: str) -> dict[str, Any]:
    """jupyter_client's answer, for kernels without a ``kernel.json`` (ipykernel's built-in one)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager(kernel_dirs=_kernel_dirs()).get_kernel_spec(name)
    except NoSuchKernel:
        raise EnvironmentCaptureError(
            f"no kernelspec named '{name}'",
            hint="see 'jupyter kernelspec list', or change the notebook's kernel",
        ) from None
    return {
        "argv": list(spec.argv),
        "display_name": spec.display_name,
        "language": spec.language,
        "env": dict(spec.env or {}),
        "resource_dir": spec.resource_dir,
    }


def lean_kernel_spec_manager(**kwargs: Any) -> Any:
    """A jupyter_client KernelSpecManager that reads ``kernel.json`` files without importing IPython.

    Starting a kernel asks the manager for the spec; for the native ``python3`` kernel jupyter_client
    imports ipykernel and IPython in the *launching* process just to describe it (half a second per
    run). Specs found on disk are read directly; anything else goes to jupyter_client as before.
    """
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class LeanKernelSpecManager(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            found = _spec_from_disk(kernel_name)
            if found is not None:
                return KernelSpec.from_resource_dir(found["resource_dir"])
            return super().get_kernel_spec(kernel_name)

    return LeanKernelSpecManager(kernel_dirs=_kernel_dirs(), **kwargs)


def kernelspec_files(name: str) -> list[str]:
    """Every ``kernel.json`` that would define kernelspec ``name`` (the first existing one does)."""
    return [os.path.join(folder, name.lower(), "kernel.json") for folder in _kernel_dirs()]


def _kernel_dirs() -> list[str]:
    """jupyter_client's kernelspec folders, without importing IPython to find ``~/.ipython``."""
    from jupyter_core.paths import jupyter_path

    ipython_dir = os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")
    return [*jupyter_path("kernels"), os.path.join(ipython_dir, "kernels")]


def _spec_from_disk(name: str) -> dict[str, Any] | None:
    """The kernelspec read from the first ``kernels/<name>/kernel.json`` on Jupyter's path, or None.

    This is where jupyter_client looks too; reading the file directly spares importing
    jupyter_client, zmq and tornado (and IPython, for the native ``python3`` kernel) on every command.
    """
    for folder in _kernel_dirs():
        resource_dir = Path(folder) / name.lower()
        try:
            spec = json.loads((resource_dir / "kernel.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(spec, dict) and isinstance(spec.get("argv"), list) and spec["argv"]:
            return {**spec, "resource_dir": str(resource_dir)}
    return None


def resolve_python(argv: list[str], resource_dir: str | None = None) -> str:
    """The interpreter path from a kernelspec's ``argv``, resolved as jupyter_client launches it.

    ``python``, ``python3`` and ``python3.X`` (and ``{python}``) mean the launching process's own
    interpreter, because jupyter_client substitutes ``sys.executable`` for them; ``{prefix}`` and
    ``{resource_dir}`` are expanded; any other bare name is looked up on ``PATH``.
    """
    if not argv:
        raise EnvironmentCaptureError("the kernelspec has an empty argv")
    first = argv[0]
    if first in _SELF_PYTHON_NAMES:
        return sys.executable
    expanded = first.replace("{prefix}", sys.prefix).replace("{resource_dir}", resource_dir or "")
    if os.path.isabs(expanded):
        if not os.path.exists(expanded):
            raise EnvironmentCaptureError(
                "the kernel's interpreter does not exist", path=expanded, hint="reinstall the kernelspec"
            )
        return expanded
    found = shutil.which(expanded)
    if found is None:
        raise EnvironmentCaptureError(
            f"the kernel's interpreter '{expanded}' is not on PATH", hint="reinstall the kernelspec"
        )
    return found


# --- capturing ------------------------------------------------------------------------------------


def capture_for_notebook(
    notebook_path: str | os.PathLike[str],
    notebook: Any,
    home: str | os.PathLike[str] | None = None,
    ahead: CaptureAhead | None = None,
) -> EnvironmentSnapshot:
    """Snapshot of the interpreter that runs ``notebook``'s kernel, run from the notebook's folder.

    With ``home``, an unchanged environment is answered from the snapshot cache there (see
    :func:`snapshot_environment`); ``ahead`` is this capture, started earlier.
    """
    try:
        interpreter = kernel_interpreter(notebook_kernel_name(notebook))
    except BaseException:
        if ahead is not None:
            ahead.abandon()
        raise
    cwd = Path(notebook_path).resolve().parent
    if home is None:
        return capture_environment(interpreter, cwd=cwd)
    return snapshot_environment(interpreter, home, cwd=cwd, ahead=ahead)


ENV_CACHE_DIRNAME = "envcache"


def snapshot_environment(
    interpreter: KernelInterpreter,
    home: str | os.PathLike[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    ahead: CaptureAhead | None = None,
) -> EnvironmentSnapshot:
    """:func:`capture_environment`, skipped when the interpreter's import path has not changed.

    Listing every distribution costs a process start and reading hundreds of metadata files; a
    ``pip install`` or uninstall always adds or removes an entry in a ``sys.path`` folder, which
    changes that folder's mtime. So the last capture is kept with the (path, mtime) of every
    ``sys.path`` folder and of the interpreter itself, and reused while they are all the same.
    A capture started earlier for the same interpreter and folder (``ahead``) is used when the
    cache cannot answer, and stopped when it can.
    """
    folder = Path(cwd).resolve() if cwd is not None else Path.cwd()
    cached = _cached_facts(interpreter, home, folder)
    if cached is not None:
        if ahead is not None:
            ahead.abandon()
        return capture_from_facts(cached, interpreter)
    if ahead is not None and ahead.is_for(interpreter, folder):
        facts = ahead.facts(CAPTURE_TIMEOUT_S)
    else:
        if ahead is not None:
            ahead.abandon()
        facts = _run_capture_script(interpreter, folder, CAPTURE_TIMEOUT_S)
    snapshot = capture_from_facts(facts, interpreter)
    path = [str(entry) for entry in facts.get("path", [])]
    record = {"signature": _path_signature(interpreter.python, path, folder), "path": path, "facts": facts}
    write_atomically(_env_cache_file(interpreter, home, folder), json.dumps(record), mode=_FILE_MODE)
    return snapshot


class CaptureAhead:
    """The capture script, started before the run asks for its answer (:func:`start_capture_ahead`).

    A first run, or the first after a ``pip install``, must list every distribution (0.16 s in
    another process); started as soon as the notebook is read, that runs while the kernels boot and
    the rest of the command is imported, instead of after them.
    """

    def __init__(self, interpreter: KernelInterpreter, folder: Path, process: subprocess.Popen[str]) -> None:
        self.interpreter = interpreter
        self.folder = folder
        self._process = process

    def is_for(self, interpreter: KernelInterpreter, folder: Path) -> bool:
        return self.interpreter == interpreter and self.folder == folder

    def facts(self, timeout_s: float) -> dict[str, Any]:
        """The script's answer, as :func:`_run_capture_script` gives it."""
        try:
            stdout, stderr = self._process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.abandon()
            raise EnvironmentCaptureError(
                f"the kernel's interpreter did not answer within {timeout_s:g} s",
                path=self.interpreter.python,
            ) from None
        completed = subprocess.CompletedProcess(self._process.args, self._process.returncode, stdout, stderr)
        return _parse_capture_output(completed, self.interpreter.python)

    def abandon(self) -> None:
        """Stop the script if it still runs (the answer is not needed after all)."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


def start_capture_ahead(
    notebook_path: str | os.PathLike[str], notebook: Any, home: str | os.PathLike[str]
) -> CaptureAhead | None:
    """Start :func:`capture_for_notebook`'s script now when the snapshot cache in ``home`` will not
    answer it; None when it will, or when the kernel's interpreter cannot be found (the run says so
    when it asks)."""
    try:
        interpreter = kernel_interpreter(notebook_kernel_name(notebook))
    except EnvironmentCaptureError:
        return None
    folder = Path(notebook_path).resolve().parent
    if _cached_facts(interpreter, home, folder) is not None:
        return None
    try:
        process = subprocess.Popen(
            [interpreter.python, "-c", CAPTURE_SCRIPT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            cwd=folder,
            env=_capture_env(interpreter),
        )
    except OSError:
        return None
    return CaptureAhead(interpreter, folder, process)


def _env_cache_file(interpreter: KernelInterpreter, home: str | os.PathLike[str], folder: Path) -> Path:
    key = hash_json({"python": interpreter.python, "env": dict(interpreter.env), "cwd": str(folder)})
    return Path(home) / ENV_CACHE_DIRNAME / (key.replace(":", "-") + ".json")


def _cached_facts(
    interpreter: KernelInterpreter, home: str | os.PathLike[str], folder: Path
) -> dict[str, Any] | None:
    """The snapshot cache's facts for this interpreter and folder, if its import path is unchanged."""
    cached = _read_env_cache(_env_cache_file(interpreter, home, folder))
    if cached is None or cached["signature"] != _path_signature(interpreter.python, cached["path"], folder):
        return None
    facts: dict[str, Any] = cached["facts"]
    return facts


def _read_env_cache(cache_file: Path) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not {"signature", "path", "facts"} <= set(record):
        return None
    return record


def import_path_signature(python: str, path: Iterable[str], cwd: Path) -> list[list[Any]]:
    """What changes when a ``pip install`` changes what ``python`` imports from ``path`` (run in ``cwd``).

    The snapshot cache's test, shared with the server's warm workers: a worker whose kernel or own
    interpreter imports from a folder that changed since it started is stale and discarded.
    """
    return _path_signature(python, path, cwd)


def _path_signature(python: str, path: Iterable[str], cwd: Path) -> list[list[Any]]:
    """(entry, mtime_ns) of the interpreter and each ``sys.path`` entry; None for a missing one."""
    signature: list[list[Any]] = []
    for entry in [python, *path]:
        target = cwd / entry if entry == "" or not os.path.isabs(entry) else Path(entry)
        if target == cwd:
            # the notebook's own folder changes whenever a run writes a file there: what matters is
            # only whether it holds distributions
            signature.append([entry, _distribution_entries(target)])
            continue
        try:
            signature.append([entry, os.stat(target).st_mtime_ns])
        except OSError:
            signature.append([entry, None])
    return signature


def _distribution_entries(folder: Path) -> list[str]:
    """Names in ``folder`` that make distributions importable from it (metadata, .pth, .egg-link)."""
    suffixes = (".dist-info", ".egg-info", ".egg-link", ".pth", ".egg")
    try:
        with os.scandir(folder) as entries:
            return sorted(entry.name for entry in entries if entry.name.endswith(suffixes))
    except OSError:
        return []


def capture_environment(
    interpreter: KernelInterpreter,
    *,
    cwd: str | os.PathLike[str] | None = None,
    timeout_s: float = CAPTURE_TIMEOUT_S,
) -> EnvironmentSnapshot:
    """Run :data:`CAPTURE_SCRIPT` in the kernel's interpreter and return what it saw.

    The script runs with the kernelspec's environment variables and in ``cwd`` (the notebook's
    folder), as the kernel would, so ``sys.path`` and therefore the visible distributions match.
    """
    return capture_from_facts(_run_capture_script(interpreter, cwd, timeout_s), interpreter)


def capture_from_facts(facts: Mapping[str, Any], interpreter: KernelInterpreter) -> EnvironmentSnapshot:
    """The snapshot for what :data:`CAPTURE_SCRIPT` reported (shared by the cache and the server)."""
    facts = {key: value for key, value in facts.items() if key != "path"}
    try:
        return EnvironmentSnapshot.from_dict({**facts, "kernelspec": dict(interpreter.kernelspec)})
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise EnvironmentCaptureError(
            f"unexpected environment report ({error})", path=interpreter.python
        ) from None


def _run_capture_script(
    interpreter: KernelInterpreter, cwd: str | os.PathLike[str] | None, timeout_s: float
) -> dict[str, Any]:
    try:
        completed = subprocess.run(
            [interpreter.python, "-c", CAPTURE_SCRIPT],
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=cwd,
            env=_capture_env(interpreter),
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentCaptureError(
            f"the kernel's interpreter did not answer within {timeout_s:g} s", path=interpreter.python
        ) from None
    except OSError as error:
        raise EnvironmentCaptureError(
            f"cannot run the kernel's interpreter: {error.strerror}", path=interpreter.python
        ) from None
    return _parse_capture_output(completed, interpreter.python)


def _capture_env(interpreter: KernelInterpreter) -> dict[str, str]:
    return {**os.environ, **interpreter.env, "PYTHONIOENCODING": "utf-8"}


def _parse_capture_output(completed: subprocess.CompletedProcess[str], python: str) -> dict[str, Any]:
    lines = [line for line in completed.stdout.splitlines() if line.startswith(_MARKER)]
    if completed.returncode != 0 or not lines:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvironmentCaptureError(f"cannot inspect the kernel's interpreter: {last}", path=python)
    facts: dict[str, Any] = json.loads(lines[-1][len(_MARKER) :])
    return facts


# --- locking --------------------------------------------------------------------------------------


class LockFailed(Exception):
    """pip-compile could not produce a lock; the message is the one-line reason recorded."""


def lock_environment(
    snapshot: EnvironmentSnapshot,
    import_names: Iterable[str],
    home: str | os.PathLike[str],
    *,
    timeout_s: float = LOCK_TIMEOUT_S,
) -> EnvironmentSnapshot:
    """``snapshot`` with a lock for the distributions behind ``import_names`` (or the reason it has none).

    The lock comes from the cache in ``<home>/locks/`` when this environment already compiled the same
    requirements; failures are not cached, so a later run retries once the index is reachable.
    """
    requirements, excluded = requirements_for(snapshot, import_names)
    locks = Path(home) / LOCKS_DIRNAME
    key = hash_json({"environment": snapshot.hash, "requirements": requirements, "excluded": excluded})
    cached = _cached_lock(locks, key)
    if cached is not None:
        return snapshot.with_lock(cached, None)
    try:
        text = compile_requirements(requirements, snapshot, timeout_s=timeout_s) if requirements else None
    except LockFailed as failure:
        return snapshot.with_lock(None, str(failure))
    lock = Lock(
        text=text if text is not None else EMPTY_LOCK_TEXT,
        hash=hash_bytes((text if text is not None else EMPTY_LOCK_TEXT).encode("utf-8")),
        requirements=tuple(requirements),
        excluded=tuple(excluded),
    )
    _store_lock(locks, key, lock)
    return snapshot.with_lock(lock, None)


def requirements_for(
    snapshot: EnvironmentSnapshot, import_names: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Pinned ``name==version`` lines for the distributions that provide ``import_names``.

    An import name maps to distributions through ``packages_distributions()`` of the kernel's
    interpreter, by its top-level package (``sklearn.linear_model`` -> ``scikit-learn``). Standard
    library and local modules map to nothing. Distributions not installed from an index (editable,
    local path, VCS) cannot be locked and are returned separately as ``excluded``.
    """
    wanted: set[str] = set()
    for name in import_names:
        top = name.strip().split(".", 1)[0]
        wanted.update(snapshot.packages_distributions.get(top, ()))
    local = set(snapshot.local_distributions)
    pinned = sorted(
        f"{dist}=={snapshot.packages[dist]}" for dist in wanted - local if dist in snapshot.packages
    )
    return pinned, sorted(wanted & local)


def compile_requirements(
    requirements: Iterable[str], snapshot: EnvironmentSnapshot, *, timeout_s: float = LOCK_TIMEOUT_S
) -> str:
    """Run ``pip-compile --generate-hashes`` on ``requirements``; raise :class:`LockFailed` with the reason.

    Every other distribution the kernel has is passed as a constraint, so the dependencies pip-compile
    adds are pinned to the kernel's versions too. It runs in a scratch folder under fixed file names so
    the annotations, and therefore the lock's content hash, do not depend on where it ran.
    """
    with tempfile.TemporaryDirectory(prefix="jupyter-repro-lock-") as scratch:
        folder = Path(scratch)
        (folder / "requirements.in").write_text("".join(f"{line}\n" for line in requirements), "utf-8")
        (folder / "constraints.txt").write_text(_constraints(snapshot), "utf-8")
        _run_pip_compile(folder, timeout_s)
        return (folder / "requirements.txt").read_text("utf-8")


def _constraints(snapshot: EnvironmentSnapshot) -> str:
    local = set(snapshot.local_distributions)
    return "".join(
        f"{name}=={version}\n" for name, version in sorted(snapshot.packages.items()) if name not in local
    )


def _run_pip_compile(folder: Path, timeout_s: float) -> None:
    command = [
        sys.executable,
        "-m",
        "piptools",
        "compile",
        "--generate-hashes",
        "--allow-unsafe",
        "--no-header",
        "--no-emit-index-url",
        "--no-emit-find-links",
        "--no-config",
        "--quiet",
        "--constraint",
        "constraints.txt",
        "--pip-args",
        "--retries 1 --timeout 15",
        "--output-file",
        "requirements.txt",
        "requirements.in",
    ]
    try:
        completed = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise LockFailed(f"pip-compile did not finish within {timeout_s:g} s") from None
    except OSError as error:
        raise LockFailed(f"cannot run pip-compile: {error.strerror}") from None
    if completed.returncode != 0 or not (folder / "requirements.txt").exists():
        raise LockFailed(f"pip-compile failed: {_reason(completed.stderr)}")


_UNREACHABLE_MARKERS = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "nodename nor servname",
    "ConnectTimeoutError",
    "Network is unreachable",
)


def _reason(stderr: str) -> str:
    """The most telling line of pip-compile's error output, on one line and not too long.

    "Could not find a version ..." names the requirement that failed; else pip's first ``ERROR:`` line
    does; else the exception line that ends the traceback. An index that could not be reached at all is
    said so first, since that is the usual cause (offline machine, proxy) and the one a user can act on.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    not_found = [line for line in lines if "Could not find a version" in line]
    pip_errors = [line for line in lines if line.startswith("ERROR:")]
    unindented = [line.strip() for line in stderr.splitlines() if line.strip() and not line[0].isspace()]
    candidates = not_found or pip_errors[:1] or unindented[-1:] or ["no error output"]
    chosen = candidates[0].removeprefix("ERROR:").strip()
    if any(marker in stderr for marker in _UNREACHABLE_MARKERS):
        chosen = f"no package index reachable ({chosen})"
    return chosen if len(chosen) <= 300 else chosen[:297] + "..."


def _lock_file(locks: Path, lock_hash: str) -> Path:
    return locks / f"{lock_hash.replace(':', '-')}.txt"


def _index_file(locks: Path, key: str) -> Path:
    return locks / "index" / f"{key.replace(':', '-')}.json"


def _cached_lock(locks: Path, key: str) -> Lock | None:
    """The stored lock for ``key``, if its index entry and content are intact."""
    try:
        entry = json.loads(_index_file(locks, key).read_text("utf-8"))
        text = _lock_file(locks, entry["hash"]).read_text("utf-8")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (
        not str(entry["hash"]).startswith(f"{ALGORITHM}:")
        or hash_bytes(text.encode("utf-8")) != entry["hash"]
    ):
        return None
    return Lock.from_dict({**entry, "text": text})


def _store_lock(locks: Path, key: str, lock: Lock) -> None:
    """Write the lock by content hash, then its index entry: a crash never leaves a dangling entry."""
    write_atomically(_lock_file(locks, lock.hash), lock.text, mode=_FILE_MODE)
    entry = {key_: value for key_, value in lock.to_dict().items() if key_ != "text"}
    write_atomically(_index_file(locks, key), json.dumps(entry, indent=1, sort_keys=True), mode=_FILE_MODE)


def stored_lock_path(home: str | os.PathLike[str], lock_hash: str) -> Path:
    """Where the lock with content hash ``lock_hash`` lives in the repro home."""
    return _lock_file(Path(home) / LOCKS_DIRNAME, lock_hash)
