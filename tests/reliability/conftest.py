"""Fixtures of the reliability tests (``client_for`` comes from ``tests/conftest.py``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def strict_json(response: httpx.Response) -> Any:
    """The body parsed as standard JSON (no NaN/Infinity), failing the test otherwise."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"the response body contains {name}: {response.text[:200]}")

    assert response.headers["content-type"].startswith("application/json"), response.text
    return httpx.Response(200, content=response.content).json(parse_constant=refuse)
