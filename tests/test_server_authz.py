"""Authorization: an authenticated user whom the server's authorizer denies gets nothing.

Jupyter servers with several users (JupyterHub roles, custom authorizers) decide per resource; every
jupyter-repro handler asks for the resource ``jupyter_repro``. The authorizer here is a real
jupyter_server ``Authorizer`` subclass that denies exactly that resource, so the same user can still
use the contents API (proving authentication itself works) but no jupyter-repro route.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

from jupyter_repro.server.handlers import AUTH_RESOURCE, ROUTES

Fetch = Callable[..., Awaitable[Any]]


class DenyReproAuthorizer(Authorizer):  # type: ignore[misc]
    """Allows everything but the jupyter_repro resource."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != AUTH_RESOURCE


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_repro": True},
            "allow_unauthenticated_access": False,
            "authorizer_class": DenyReproAuthorizer,
        }
    }


def _calls() -> list[tuple[str, str]]:
    calls = []
    for pattern, handler in ROUTES:
        path = pattern.replace("(?P<job_id>[^/]+)", "sample").replace("(?P<run_id>[^/]+)", "sample")
        path = path.replace("([^/]+)", "sample")
        for method in ("GET", "HEAD", "POST"):
            if method.lower() in vars(handler):
                calls.append((path, method))
    return calls


async def test_the_authorizer_lets_the_user_in_elsewhere(jp_fetch: Fetch) -> None:
    response = await jp_fetch("api", "contents")
    assert response.code == 200


@pytest.mark.parametrize(("path", "method"), _calls())
async def test_every_route_refuses_an_unauthorized_user(
    jp_fetch: Fetch, jp_root_dir: Path, path: str, method: str
) -> None:
    (jp_root_dir / "nb.ipynb").write_text(
        json.dumps(build_notebook([("x = 1", ["step:a"])])), encoding="utf-8"
    )
    body = json.dumps({"path": "nb.ipynb", "kind": "run", "kernel_id": "sample", "target": "script"})
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch(
            "jupyter-repro",
            "api",
            path,
            method=method,
            body=body if method == "POST" else None,
            params={"path": "nb.ipynb"},
        )
    assert raised.value.code == 403
    assert not (jp_root_dir / ".repro").exists()
