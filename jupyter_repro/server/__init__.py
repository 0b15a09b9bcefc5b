"""The Jupyter server extension: REST routes under ``/jupyter-repro/api/``."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from jupyter_repro.server.handlers import ROUTES

API_PREFIX = "jupyter-repro/api"


def load_extension(server_app: Any) -> None:
    """Add every route of :data:`ROUTES` under the server's base URL."""
    web_app = server_app.web_app
    base_url = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, API_PREFIX, pattern), handler) for pattern, handler in ROUTES]
    web_app.add_handlers(".*$", handlers)
    server_app.log.info("jupyter_repro: registered %d routes under /%s/", len(handlers), API_PREFIX)
