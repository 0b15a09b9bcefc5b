"""``GET fixes`` and ``POST fixes`` on a real Jupyter server, running the real CLI with real kernels."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import build_notebook
from tornado.httpclient import HTTPClientError

from jupyter_repro.runner import RunOptions
from jupyter_repro.verify import VerifyOptions, verify_notebook

Fetch = Callable[..., Awaitable[Any]]

pytestmark = pytest.mark.kernel

UNSEEDED = [
    {
        "cell_type": "code",
        "source": "import numpy as np\nprint(np.random.rand(3))",
        "metadata": {},
        "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "[0.417022   0.72032449 0.00011437]\n"}
        ],
        "execution_count": 1,
    }
]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_repro": True}, "allow_unauthenticated_access": False},
        "JupyterRepro": {"fix_timeout": 300.0},
    }


def write_notebook(root: Path, name: str, cells: list[Any]) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_notebook(cells)), encoding="utf-8")
    return path


async def post(jp_fetch: Fetch, body: dict[str, Any]) -> dict[str, Any]:
    response = await jp_fetch("jupyter-repro", "api", "fixes", method="POST", body=json.dumps(body))
    assert response.code == 200
    document: dict[str, Any] = json.loads(response.body)
    return document


async def post_error(jp_fetch: Fetch, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch("jupyter-repro", "api", "fixes", method="POST", body=json.dumps(body))
    assert raised.value.response is not None
    return raised.value.code, json.loads(raised.value.response.body)


async def test_get_fixes_verifies_and_lists_without_writing_the_notebook(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    path = write_notebook(jp_root_dir, "work/nb.ipynb", UNSEEDED)
    before = path.read_bytes()
    response = await jp_fetch("jupyter-repro", "api", "fixes", params={"path": "work/nb.ipynb"})
    document = json.loads(response.body)
    assert document["notebook"] == "work/nb.ipynb"
    assert document["verdict"] == "diverged"
    assert document["run_id"]
    fixes = {fix["id"]: fix for fix in document["fixes"]}
    assert {"seed-outputs", "seed-cell"} <= set(fixes)
    for key in (
        "kind",
        "choice",
        "cell",
        "cause_kind",
        "description",
        "preview",
        "available",
        "reason",
        "edits",
    ):
        assert key in fixes["seed-outputs"], key
    assert fixes["seed-outputs"]["preview"].startswith("--- nb.ipynb\n+++ nb.ipynb (fixed)")
    assert str(jp_root_dir) not in response.body.decode()  # nothing says where the server's files are
    assert path.read_bytes() == before


async def test_post_model_returns_edits_and_post_file_writes_the_notebook(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    path = write_notebook(jp_root_dir, "nb.ipynb", UNSEEDED)
    before = path.read_bytes()
    model = await post(jp_fetch, {"path": "nb.ipynb", "id": "seed-outputs", "target": "model"})
    assert model["backup"] is None
    assert model["notebook"] == "nb.ipynb"
    assert path.read_bytes() == before  # the open notebook's model gets the edits, not the file
    assert [edit["op"] for edit in model["edits"]] == ["set_outputs", "set_notebook_metadata"]
    assert [item["id"] for item in model["applied"]] == ["seed-outputs"]

    written = await post(jp_fetch, {"path": "nb.ipynb", "id": "seed-outputs"})
    assert written["backup"].startswith(".repro/backups/nb.")  # a contents path under the server root
    assert (jp_root_dir / written["backup"]).read_bytes() == before
    assert path.read_bytes() != before
    home = str(jp_root_dir / ".repro")
    verification = verify_notebook(path, VerifyOptions(run=RunOptions(home=home)))
    assert verification.verdict == "reproducible"


async def test_an_unknown_fix_id_is_400_with_the_valid_ids(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    path = write_notebook(jp_root_dir, "nb.ipynb", UNSEEDED)
    before = path.read_bytes()
    status, error = await post_error(jp_fetch, {"path": "nb.ipynb", "id": "seed-everything"})
    assert status == 400
    assert error["error"] == "FixError"
    assert "no fix 'seed-everything'" in error["message"]
    assert "seed-outputs" in error["message"]
    assert str(jp_root_dir) not in error["message"]  # the notebook is named by its contents path
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"path": "nb.ipynb", "id": "seed-cell", "target": "disk"}, "'target' must be one of file, model"),
        ({"path": "nb.ipynb"}, "'id' is required"),
        ({"path": "nb.ipynb", "id": "--json"}, "not a fix id"),
        ({"path": "nb.ipynb", "id": "seed-cell", "force": True}, "unknown field 'force'"),
    ],
)
async def test_a_malformed_fix_request_is_400(
    jp_fetch: Fetch, jp_root_dir: Path, body: dict[str, Any], words: str
) -> None:
    write_notebook(jp_root_dir, "nb.ipynb", UNSEEDED)
    status, error = await post_error(jp_fetch, body)
    assert status == 400
    assert words in error["message"]
    assert not (jp_root_dir / ".repro").exists()  # refused before any work
