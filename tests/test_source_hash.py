"""The hash JupyterLab records for the source a cell ran (``metadata.jupyter_repro.source_sha256``).

``tests/fixtures/source_hashes.json`` pins the values; Jest checks ``src/core/sourcehash.ts`` against
the same file, so the Python verify and the browser always agree on what "the same source" is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_repro.hashing import source_hash

FIXTURE = Path(__file__).parent / "fixtures" / "source_hashes.json"


def _cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]
    return cases


@pytest.mark.parametrize("case", _cases(), ids=lambda case: repr(case["source"]))
def test_source_hash_gives_the_pinned_value(case: dict[str, Any]) -> None:
    assert source_hash(case["source"]) == case["hash"]


def test_the_fixture_pins_sha256_prefixes_of_distinct_sources() -> None:
    cases = _cases()
    assert len({case["source"] for case in cases}) == len(cases) >= 5
    for case in cases:
        assert case["hash"] == hashlib.sha256(case["source"].encode("utf-8")).hexdigest()[:16]


def test_any_edit_changes_the_hash() -> None:
    assert source_hash("x = 1") != source_hash("x = 1 ")
    assert source_hash("x = 1\n") != source_hash("x = 1\r\n")
