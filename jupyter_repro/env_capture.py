"""The environment capture script: what :mod:`jupyter_repro.env` runs in the kernel's own interpreter.

This module is never imported to do its work. Its source text is read with :mod:`importlib.resources`
(:data:`jupyter_repro.env.CAPTURE_SCRIPT`) and run as ``python -c TEXT`` with the interpreter of the
notebook's kernelspec, or ``exec``-ed in a live kernel by the server (in a namespace named
``__jupyter_repro_capture__``). That interpreter may be any Python >= 3.8 and may not have jupyter-repro
installed, so this file uses the standard library only and nothing newer than Python 3.8. It prints
one line, :data:`MARKER` followed by a JSON object; anything else a ``sitecustomize`` prints is ignored.

It is a real module so that ruff and ``mypy --strict`` check it; importing it does nothing.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from collections.abc import Iterable
from importlib import metadata
from typing import Any

MARKER = "JUPYTER_REPRO_ENV="
"""Starts the output line that holds the facts (:data:`jupyter_repro.env.CAPTURE_MARKER`)."""


def norm(name: str) -> str:
    """A distribution name normalised as PEP 503 does."""
    return re.sub(r"[-_.]+", "-", name).lower()


def owners_from_files(dists: Iterable[metadata.Distribution]) -> dict[str, list[str]]:
    """Top-level import names -> distributions, for Python < 3.10 (no ``packages_distributions()``)."""
    owners: dict[str, list[str]] = {}
    for dist in dists:
        tops = set((dist.read_text("top_level.txt") or "").split())
        for entry in dist.files or ():
            if len(entry.parts) > 1 and entry.parts[0].isidentifier():
                tops.add(entry.parts[0])
            elif len(entry.parts) == 1 and entry.suffix == ".py":
                tops.add(entry.stem)
        for top in tops:
            owners.setdefault(top, []).append(dist.metadata["Name"])
    return owners


def facts() -> dict[str, Any]:
    """What this interpreter is, and every distribution it can import (the first on ``sys.path`` wins)."""
    packages: dict[str, str] = {}
    local: list[str] = []
    seen: list[metadata.Distribution] = []
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name or norm(name) in packages:
            continue  # the first one on sys.path wins, as for imports
        packages[norm(name)] = dist.version
        seen.append(dist)
        if dist.read_text("direct_url.json"):
            local.append(norm(name))  # editable, local path, VCS or URL install: not from an index
    if hasattr(metadata, "packages_distributions"):
        owners = metadata.packages_distributions()
    else:
        owners = owners_from_files(seen)
    return {
        "implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "system": platform.system(),
        "machine": platform.machine(),
        "packages": packages,
        "packages_distributions": {top: sorted({norm(n) for n in names}) for top, names in owners.items()},
        "local_distributions": sorted(local),
        "path": list(sys.path),
    }


def main() -> None:
    print(MARKER + json.dumps(facts()))


if __name__ in ("__main__", "__jupyter_repro_capture__"):
    main()
