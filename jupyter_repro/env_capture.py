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
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

MARKER = "JUPYTER_REPRO_ENV="
"""Starts the output line that holds the facts (:data:`jupyter_repro.env.CAPTURE_MARKER`)."""


def norm(name: str) -> str:
    """A distribution name normalised as PEP 503 does."""
    return re.sub(r"[-_.]+", "-", name).lower()


def owners_from_files(dists: Iterable[tuple[metadata.Distribution, str]]) -> dict[str, list[str]]:
    """Top-level import names -> distributions, for Python < 3.10 (no ``packages_distributions()``)."""
    owners: dict[str, list[str]] = {}
    for dist, name in dists:
        tops = set((dist.read_text("top_level.txt") or "").split())
        for entry in dist.files or ():
            if len(entry.parts) > 1 and entry.parts[0].isidentifier():
                tops.add(entry.parts[0])
            elif len(entry.parts) == 1 and entry.suffix == ".py":
                tops.add(entry.stem)
        for top in tops:
            owners.setdefault(top, []).append(name)
    return owners


def owners_from_top_levels(dists: Iterable[tuple[metadata.Distribution, str]]) -> dict[str, list[str]] | None:
    """``metadata.packages_distributions()``, from distributions whose metadata was read already.

    The standard library's version reads every distribution's metadata again only for its name
    (0.04 s for 200 distributions); its two helpers give the same answer from the names read once.
    None when this Python does not have them (then the public function is used).
    """
    declared = getattr(metadata, "_top_level_declared", None)
    inferred = getattr(metadata, "_top_level_inferred", None)
    if declared is None or inferred is None:
        return None
    owners: dict[str, list[str]] = {}
    for dist, name in dists:
        for top in declared(dist) or inferred(dist):
            owners.setdefault(top, []).append(name)
    return owners


def facts() -> dict[str, Any]:
    """What this interpreter is, and every distribution it can import (the first on ``sys.path`` wins)."""
    packages: dict[str, str] = {}
    local: list[str] = []
    every: list[tuple[metadata.Distribution, str]] = []
    for dist in metadata.distributions():
        info = dist.metadata  # parsed on every access: read once
        name = info["Name"]
        every.append((dist, name))
        if not name or norm(name) in packages:
            continue  # the first one on sys.path wins, as for imports
        packages[norm(name)] = info["Version"]
        if dist.read_text("direct_url.json"):
            local.append(norm(name))  # editable, local path, VCS or URL install: not from an index
    owners: Mapping[str, list[str]]
    if hasattr(metadata, "packages_distributions"):
        owners = owners_from_top_levels(every) or metadata.packages_distributions()
    else:
        owners = owners_from_files((dist, name) for dist, name in every if name and norm(name) in packages)
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
