"""jupyter-repro: turn notebooks into reproducible, cached pipelines and prove that they reproduce.

This module is the package's entry for Jupyter: it names the prebuilt JupyterLab extension and the
server extension. It stays import-light (no server, no nbformat) so the CLI starts fast.
"""

from __future__ import annotations

from typing import Any

from jupyter_repro._version import __version__

__all__ = ["__version__"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-repro"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_repro"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the REST routes; imported lazily so the CLI never loads jupyter_server."""
    from jupyter_repro.server import load_extension

    load_extension(server_app)


def load_ipython_extension(ipython: Any) -> None:  # pragma: no cover - filled by the kernel issue
    """``%load_ext jupyter_repro``: reserved for the kernel prelude (seeding, file recorder)."""
