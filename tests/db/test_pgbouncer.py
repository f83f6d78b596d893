"""restly through a real PgBouncer in transaction pooling mode, and the engine options that
make it work (SPEC §12): asyncpg and psycopg, sync and async views, concurrent requests
multiplexed over fewer server connections than clients, `statement_timeout` per transaction.
Plus the pool options restly's engines take, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import String, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

import restly as fr
from restly.db import PoolSettings, build_async_engine, build_engine
from tests.conftest import postgres_urls
from tests.db.pgbouncer_server import pgbouncer

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

#: Server connections PgBouncer keeps per database: fewer than the clients below, so
#: consecutive transactions of one client land on different server connections.
SERVER_POOL = 3


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "bouncer_ticket"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    done: Mapped[bool] = mapped_column(default=False)


@pytest.fixture(scope="module")
def bouncer() -> Iterator[str]:
    """A PgBouncer (transaction pooling, trust auth) in front of the test PostgreSQL; yields
    the `user@host:port/database` part of URLs through it."""
    with pgbouncer(server_pool=SERVER_POOL) as through:
        yield through


@pytest.fixture
def tables(bouncer: str) -> Iterator[None]:
    engine = build_engine(postgres_urls().sync_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield
    Base.metadata.drop_all(engine)
    engine.dispose()


def _app(kind: str) -> FastAPI:
    base = fr.AsyncRestView if kind == "async" else fr.RestView

    class TicketView(base):  # type: ignore[valid-type, misc]
        prefix = "/tickets"
        model = Ticket

    app = FastAPI()
    fr.include_view(app, TicketView)
    return app


async def _mixed_load(client: httpx.AsyncClient, rounds: int) -> list[int]:
    """Concurrent creates, reads, updates, lists and deletes; the statuses answered."""

    async def one(index: int) -> list[int]:
        created = await client.post("/tickets", json={"title": f"t{index}"})
        statuses = [created.status_code]
        if created.status_code != 201:
            return statuses
        ticket = created.json()["id"]
        statuses.append((await client.get(f"/tickets/{ticket}")).status_code)
        statuses.append((await client.patch(f"/tickets/{ticket}", json={"done": True})).status_code)
        statuses.append((await client.get("/tickets", params={"done": "true"})).status_code)
        if index % 3 == 0:
            statuses.append((await client.delete(f"/tickets/{ticket}")).status_code)
        return statuses

    answers = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(rounds))), timeout=120)
    return [status for statuses in answers for status in statuses]


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_views_work_through_pgbouncer_transaction_pooling(
    kind: str,
    bouncer: str,
    tables: None,
    fr_globals: fr.FRGlobals,
    client_for: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    """30 clients' requests interleaved over 3 server connections: every one succeeds, and the
    rows are what the answers say (asyncpg for the async view, psycopg for the sync one)."""
    fr.configure(
        async_database_url=f"postgresql+asyncpg://{bouncer}",
        database_url=f"postgresql+psycopg://{bouncer}",
        pgbouncer=True,
        pool=PoolSettings(size=10, max_overflow=20),
    )
    client = client_for(_app(kind))
    try:
        statuses = await _mixed_load(client, rounds=30)
    finally:
        await fr_globals.dispose()
    assert set(statuses) <= {200, 201, 204}, sorted(set(statuses))
    assert statuses.count(201) == 30
    engine = build_engine(postgres_urls().sync_url)
    with engine.connect() as connection:
        left = connection.scalar(select(func.count()).select_from(Ticket))
        done = connection.scalar(select(func.count()).select_from(Ticket).where(Ticket.done))
    engine.dispose()
    assert left == done == 30 - statuses.count(204)


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
async def test_statement_timeout_is_set_per_transaction_behind_pgbouncer(
    driver: str, bouncer: str
) -> None:
    """PgBouncer refuses `statement_timeout` as a startup parameter; restly sets it with
    `SET LOCAL` in each transaction instead, so it holds whichever server connection serves
    the transaction, and a statement over it is cancelled."""
    url = f"postgresql+{driver}://{bouncer}"
    if driver == "asyncpg":
        engine = build_async_engine(url, statement_timeout=0.3, pgbouncer=True)
        try:
            for _ in range(SERVER_POOL + 1):  # more transactions than server connections
                async with engine.connect() as connection:
                    assert await connection.scalar(text("SHOW statement_timeout")) == "300ms"
            async with engine.connect() as connection:
                with pytest.raises(Exception, match="statement timeout"):
                    await connection.execute(text("SELECT pg_sleep(3)"))
        finally:
            await engine.dispose()
    else:
        sync_engine = build_engine(url, statement_timeout=0.3, pgbouncer=True)
        try:
            for _ in range(SERVER_POOL + 1):
                with sync_engine.connect() as connection:
                    assert connection.scalar(text("SHOW statement_timeout")) == "300ms"
            with sync_engine.connect() as connection:
                with pytest.raises(Exception, match="statement timeout"):
                    connection.execute(text("SELECT pg_sleep(3)"))
        finally:
            sync_engine.dispose()


async def test_a_statement_over_the_timeout_answers_503_through_pgbouncer(
    bouncer: str, tables: None, fr_globals: fr.FRGlobals, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    fr.configure(async_database_url=f"postgresql+asyncpg://{bouncer}", pgbouncer=True, statement_timeout=0.3)

    class Slow(fr.View):
        prefix = "/slow"
        session: fr.AsyncSessionDep

        @fr.get("")
        async def slow(self) -> dict[str, Any]:
            await self.session.execute(text("SELECT pg_sleep(3)"))
            return {}

    app = FastAPI()
    fr.include_view(app, Slow)
    try:
        answer = await client_for(app).get("/slow")
    finally:
        await fr_globals.dispose()
    assert answer.status_code == 503 and "retry-after" in answer.headers


# -- engine options, against PostgreSQL directly ---------------------------------------


async def test_engine_overrides_merge_with_restly_defaults() -> None:
    """`connect_args` given to build_async_engine keep restly's (statement_timeout in
    `server_settings` included); a `NullPool` is accepted (it takes no queue options)."""
    urls = postgres_urls()
    engine = build_async_engine(
        urls.async_url,
        statement_timeout=0.25,
        poolclass=NullPool,
        connect_args={"server_settings": {"application_name": "restly-test"}},
    )
    try:
        assert isinstance(engine.pool, NullPool)
        async with engine.connect() as connection:
            assert await connection.scalar(text("SHOW statement_timeout")) == "250ms"
            assert await connection.scalar(text("SHOW application_name")) == "restly-test"
    finally:
        await engine.dispose()


def test_pool_settings_reach_the_pool() -> None:
    urls = postgres_urls()
    engine = build_engine(urls.sync_url, pool=PoolSettings(size=7, max_overflow=2, pre_ping=False))
    try:
        assert engine.pool.size() == 7  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 2  # type: ignore[attr-defined]
        assert engine.pool._pre_ping is False
    finally:
        engine.dispose()


def test_configure_refuses_a_pool_that_is_not_pool_settings(fr_globals: fr.FRGlobals) -> None:
    with pytest.raises(fr.RestlyConfigurationError, match=r"PoolSettings"):
        fr.configure(pool={"size": 5})  # type: ignore[arg-type]
    with pytest.raises(fr.RestlyConfigurationError, match=r"size=\.\.\.\)\) must be an int"):
        fr.configure(pool=PoolSettings(size=-1))
