"""Fixtures of the reliability tests: an HTTP client over the representative app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[[FastAPI], httpx.AsyncClient]]:
    """Make an HTTP client for an app; raised app errors become 500 answers, as in production."""
    clients: list[httpx.AsyncClient] = []

    def make(app: FastAPI) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://test")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def strict_json(response: httpx.Response) -> Any:
    """The body parsed as standard JSON (no NaN/Infinity), failing the test otherwise."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"the response body contains {name}: {response.text[:200]}")

    assert response.headers["content-type"].startswith("application/json"), response.text
    return httpx.Response(200, content=response.content).json(parse_constant=refuse)
