"""HTTP handlers: thin, authenticated, authorized, JSON in and out.

Every handler derives from :class:`BaseReproHandler`, which maps a :class:`ReproError` to a JSON error
with the error's HTTP status in one place; domain code never raises HTTP errors itself.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler

from jupyter_repro._version import __version__
from jupyter_repro.errors import ReproError

AUTH_RESOURCE = "jupyter_repro"


class BaseReproHandler(APIHandler):
    """Common error mapping and JSON writing for every jupyter-repro route."""

    auth_resource = AUTH_RESOURCE

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, default=str))

    def write_repro_error(self, error: ReproError) -> None:
        self.write_json(error.to_dict(), status=error.http_status)


class VersionHandler(BaseReproHandler):
    """``GET version``: lets the frontend check it talks to a matching server extension."""

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json({"name": "jupyter-repro", "version": __version__})


# (pattern relative to /jupyter-repro/api/, handler); tests enumerate this table to check auth.
ROUTES: list[tuple[str, type[BaseReproHandler]]] = [
    ("version", VersionHandler),
]
