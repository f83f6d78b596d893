"""asyncpg's prepared statements are reused by the generated routes on PostgreSQL.

Each statement a generated route runs has one SQL text per shape (restly builds it once per
view and shape), so SQLAlchemy's asyncpg adapter prepares it once per connection and reuses
it: the server keeps one prepared statement per shape, however many requests ran. Through
PgBouncer (``pgbouncer=True``) nothing is cached, which every database test also runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.db import PoolSettings
from tests.conftest import postgres_urls

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


class Base(DeclarativeBase):
    pass


class Gauge(Base):
    __tablename__ = "ps_gauge"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(40))
    level: Mapped[int]


@pytest.fixture
async def client(fr_globals: fr.FRGlobals, client_for: object) -> AsyncIterator[httpx.AsyncClient]:
    urls = postgres_urls()
    # one connection: every request's statements are prepared on the same server session
    fr.configure(
        database_url=urls.sync_url,
        async_database_url=urls.async_url,
        pool=PoolSettings(size=1, max_overflow=0),
    )
    engine = fr_globals.get_engine()
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    app = FastAPI()
    view = type(
        "GaugeView",
        (fr.AsyncRestView,),
        {"prefix": "/gauges", "model": Gauge, "include_pagination_metadata": True},
    )
    fr.include_view(app, view)
    try:
        yield client_for(app)  # type: ignore[operator]
    finally:
        await fr_globals.dispose()
        Base.metadata.drop_all(engine)


async def test_each_statement_is_prepared_once_for_many_requests(
    client: httpx.AsyncClient, fr_globals: fr.FRGlobals
) -> None:
    assert (await client.post("/gauges", json={"label": "a", "level": 0})).status_code == 201
    for level in range(1, 21):
        assert (await client.get("/gauges/1")).status_code == 200
        patched = await client.patch("/gauges/1", json={"level": level})
        assert patched.json()["level"] == level
        assert (await client.get("/gauges", params={"order_by": "-level"})).status_code == 200
    async with fr_globals.get_async_engine().connect() as connection:
        prepared = (
            await connection.execute(
                text("SELECT statement FROM pg_prepared_statements WHERE statement LIKE :t"),
                {"t": "%ps_gauge%"},
            )
        ).scalars().all()
    kinds = sorted(statement.split()[0] for statement in prepared)
    # the create, the read by id, the update and the list's page: once each, not 20 times
    assert kinds == ["INSERT", "SELECT", "SELECT", "UPDATE"], prepared
