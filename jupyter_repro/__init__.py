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


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_repro``: seed the interactive kernel the way the headless run is seeded.

    Outputs saved from an interactive session then match a headless verify without the user seeding
    anything: ``random``, NumPy, torch and TensorFlow get the notebook's seed (``JUPYTER_REPRO_SEED``,
    else the default seed, as for a notebook without ``metadata.jupyter_repro.seed``). ``%repro_seed N``
    reseeds with another seed.
    """
    import os

    from jupyter_repro.kernel.runtime import seed_everything
    from jupyter_repro.snapshot import DEFAULT_SEED

    seed_everything(int(os.environ.get("JUPYTER_REPRO_SEED", DEFAULT_SEED)))

    def repro_seed(line: str) -> None:
        seed_everything(int(line.strip() or DEFAULT_SEED))

    ipython.register_magic_function(repro_seed, "line", "repro_seed")
