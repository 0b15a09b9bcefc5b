"""Source code of the cells the runner injects around a step: bootstrap, prelude and epilogue.

Runs in the runner's process. The kernel may not have jupyter-repro installed, so the bootstrap cell
carries the source text of :mod:`jupyter_repro.kernel.runtime` and executes it into a module registered
as ``sys.modules["__jupyter_repro__"]``. The prelude and epilogue are one call each into that module.

Every value (paths, variable names, the input manifest) is embedded as a JSON text inside a Python
string literal made by ``repr``, and decoded in the kernel by ``json.loads``: no value can change the
code around it, whatever quotes, newlines or spaces it holds. The cells bind no name in the user's
namespace and evaluate to None, so they display nothing and leave ``_`` alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jupyter_repro import hashing
from jupyter_repro.kernel import runtime

RUNTIME_NAME = runtime.RUNTIME_NAME

_BOOTSTRAP = """\
def __jupyter_repro_bootstrap__(source, digest):
    import sys, types
    current = sys.modules.get({name!r})
    if current is not None and getattr(current, "__source_digest__", None) == digest:
        return
    module = types.ModuleType({name!r}, "jupyter-repro runtime (injected by the runner)")
    module.__file__ = "<jupyter-repro runtime>"
    module.__source_digest__ = digest
    sys.modules[{name!r}] = module  # registered first, as an import would, for pickle and dataclasses
    try:
        exec(compile(source, module.__file__, "exec", dont_inherit=True), module.__dict__)
    except BaseException:
        if current is None:
            del sys.modules[{name!r}]
        else:
            sys.modules[{name!r}] = current
        raise
__jupyter_repro_bootstrap__({source!r}, {digest!r})
del __jupyter_repro_bootstrap__
"""

_CALL = '__import__("sys").modules[{name!r}].{function}(globals(), __import__("json").loads({config!r}))\n'


def runtime_source() -> str:
    """The source text of the in-kernel runtime, exactly as shipped."""
    return Path(runtime.__file__).read_text(encoding="utf-8")


def bootstrap_source() -> str:
    """A cell that defines the runtime as module ``__jupyter_repro__`` in the kernel (idempotent).

    Running it again with the same runtime does nothing; a different runtime version replaces the
    module (the audit hook and the recorder are process-wide and survive the replacement).
    """
    source = runtime_source()
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return _BOOTSTRAP.format(name=RUNTIME_NAME, source=source, digest=digest)


def _call(function: str, config: dict[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, ensure_ascii=True)
    return _CALL.format(name=RUNTIME_NAME, function=function, config=text)


def prelude_source(
    seed: int | None,
    input_manifest: dict[str, Any] | None,
    ignore_dirs: Sequence[str],
) -> str:
    """A cell that seeds (unless ``seed`` is None), loads the inputs, and starts the file recorder.

    ``input_manifest`` is what :meth:`jupyter_repro.cache.ArtifactStore.materialize_inputs` returns
    (or None for a step without inputs). ``ignore_dirs`` are never reported (pass the repro home).
    Pass ``seed=None`` for a later step in a kernel that was already seeded, so random state flows
    on as in an interactive top-down run. A failure to load an input raises in the kernel
    (``InputLoadError``), which fails the cell.
    """
    config = {
        "seed": seed,
        "inputs": input_manifest,
        "ignore_dirs": [str(path) for path in ignore_dirs],
    }
    return _call("run_prelude", config)


def epilogue_source(
    output_names: Sequence[str],
    dest_dir: str,
    report_path: str,
    algorithm: str = hashing.ALGORITHM,
) -> str:
    """A cell that stops recording, stores ``output_names`` in ``dest_dir`` and writes the report.

    The report (JSON, written atomically at ``report_path``) holds ``reads``, ``writes``, ``outputs``
    (the variable manifest), ``error``, ``seed``, ``seeded``, ``loaded``, ``hashseed`` and ``python``.
    Hashes in the manifest use ``algorithm`` (the runner's, by default) so they compare with
    :mod:`jupyter_repro.hashing` digests; they are None when the kernel lacks that algorithm.
    """
    config = {
        "outputs": [str(name) for name in output_names],
        "dest_dir": str(dest_dir),
        "report_path": str(report_path),
        "algorithm": algorithm,
    }
    return _call("run_epilogue", config)
