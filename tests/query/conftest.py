"""Fixtures of the list-query tests: fresh bookshop tables per test, and a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from query_bookshop import Base, add_rows, books, make_app, make_client, people


@pytest.fixture
async def engine(db_urls: Any) -> AsyncIterator[AsyncEngine]:
    """An async engine on a fresh set of bookshop tables, dropped after the test."""
    engine = create_async_engine(db_urls.async_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    try:
        yield engine
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
        await engine.dispose()


@pytest.fixture
async def bookshop(engine: AsyncEngine) -> AsyncEngine:
    """The engine, with the publishers, authors and books above stored."""
    await add_rows(engine, people())
    await add_rows(engine, books())
    return engine


@pytest.fixture
async def client(bookshop: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the bookshop app."""
    async with make_client(make_app(bookshop)) as http:
        yield http


@pytest.fixture
def get_ids(client: httpx.AsyncClient) -> Callable[..., Any]:
    """``await get_ids("?pages=300")`` -> the ids listed, asserting a 200."""

    async def get(query: str = "", **params: Any) -> list[int]:
        response = await client.get("/books" + query, params=params or None)
        assert response.status_code == 200, response.text
        return response.json()["ids"]

    return get
