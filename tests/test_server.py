"""The server extension, served by a real Jupyter server (pytest-jupyter)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_repro import __version__
from jupyter_repro.server.handlers import ROUTES

Fetch = Callable[..., Awaitable[Any]]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    # Tokens required: an unauthenticated request must be refused, as on a real deployment.
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_repro": True},
            "allow_unauthenticated_access": False,
        }
    }


async def test_version_route_answers_with_the_package_version(jp_fetch: Fetch) -> None:
    response = await jp_fetch("jupyter-repro", "api", "version")
    assert response.code == 200
    assert json.loads(response.body) == {"name": "jupyter-repro", "version": __version__}


@pytest.mark.parametrize("pattern", [pattern for pattern, _handler in ROUTES])
async def test_every_route_refuses_unauthenticated_requests(jp_fetch: Fetch, pattern: str) -> None:
    with pytest.raises(HTTPClientError) as raised:
        # an empty Authorization header replaces pytest-jupyter's token header
        await jp_fetch("jupyter-repro", "api", pattern, headers={"Authorization": ""})
    assert raised.value.code in (401, 403)
