"""Fixtures of the idempotency tests: restly's table next to the test module's own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import restly as fr


@pytest.fixture
async def keyed(database: Any, fr_globals: fr.FRGlobals) -> AsyncIterator[Any]:
    """`database`, with restly's table of idempotency keys created (and dropped after)."""
    engine = fr_globals.get_engine()
    fr.idempotency_metadata.drop_all(engine)
    fr.idempotency_metadata.create_all(engine)
    try:
        yield database
    finally:
        fr.idempotency_metadata.drop_all(fr_globals.get_engine())


@pytest.fixture
def serve(
    keyed: Any, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> Callable[..., httpx.AsyncClient]:
    """Mount views on a new app and return a client for it."""

    def serve_views(*views: type) -> httpx.AsyncClient:
        app = FastAPI()
        fr.include_view(app, *views)
        return client_for(app)

    return serve_views
