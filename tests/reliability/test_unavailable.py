"""Unavailable in other ways: a custom session generator that cannot connect, asyncpg's plain
``OSError``, a write reaching a read-only server (a failover in progress). Each answers 503
with ``Retry-After`` and commits nothing; the application's own ``OSError`` stays a 500."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import restly as fr
from restly.db._engine import build_async_engine, build_engine

from .models import Base, Thing, make_app, thing
from .outages import assert_clean_503, committing_route, labels, route, serve_again, servers
from .test_faults import UNREACHABLE

__all__ = ["Base"]  # the ``database`` fixture creates the tables of this module's Base

pytestmark = pytest.mark.anyio


# --- 3: a custom session generator that cannot connect ----------------------------------------


def raising_generators(error: Exception) -> tuple[Callable[[], Any], Callable[[], Any]]:
    async def async_generator() -> AsyncIterator[AsyncSession]:
        raise error
        yield  # pragma: no cover - makes this an async generator

    def sync_generator() -> Iterator[Session]:
        raise error
        yield  # pragma: no cover - makes this a generator

    return async_generator, sync_generator


def unreachable_generators(backend: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Generators whose engines point to a port nobody listens on; they connect eagerly."""
    sync_url, async_url = UNREACHABLE[backend]
    engine = create_engine(sync_url, poolclass=NullPool)
    async_engine = create_async_engine(async_url, poolclass=NullPool)

    async def async_generator() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(async_engine) as opened:
            await opened.connection()
            yield opened

    def sync_generator() -> Iterator[Session]:
        with Session(engine) as opened:
            opened.connection()
            yield opened

    return async_generator, sync_generator


GENERATORS = {
    "OSError": lambda: raising_generators(OSError("Multiple exceptions: [Errno 111] refused")),
    "ConnectionRefusedError": lambda: raising_generators(ConnectionRefusedError(111, "refused")),
    **{
        f"unreachable-{backend}": (lambda b=backend: unreachable_generators(b))
        for backend in UNREACHABLE
    },
}


@pytest.mark.parametrize("generators", sorted(GENERATORS))
async def test_a_session_generator_that_cannot_connect_answers_503(
    fr_globals: Any, kind: str, client_for: Any, tmp_path: Any, generators: str
) -> None:
    async_generator, sync_generator = GENERATORS[generators]()
    path = tmp_path / "generated.sqlite3"
    fr.configure(database_url=f"sqlite:///{path}", async_database_url=f"sqlite+aiosqlite:///{path}")
    Base.metadata.create_all(fr_globals.get_engine())
    fr.configure(session_generator=async_generator, sync_session_generator=sync_generator)
    app = make_app(kind)
    fr.include_view(app, route(kind))
    client = client_for(app)
    things = f"/{kind}/things"

    assert_clean_503(await client.get(things))
    assert_clean_503(await client.post(things, json=thing()))
    assert_clean_503(await client.get("/count"))

    fr.configure(session_generator=None, sync_session_generator=None)
    assert (await client.post(things, json=thing())).status_code == 201
    assert (await client.get("/count")).json() == 1
    await fr_globals.dispose()


# --- 4: asyncpg's plain OSError; a failover to a read-only server -----------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("db_urls", ["postgresql"], indirect=True)
async def test_asyncpgs_plain_oserror_on_connect_answers_503(
    database: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host name resolving to two addresses, both refusing: asyncio raises
    ``OSError("Multiple exceptions: ...")``, which asyncpg and SQLAlchemy let through."""
    from asyncio import base_events

    resolve = base_events.BaseEventLoop.getaddrinfo

    async def two_addresses(self: Any, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "twice.invalid":
            return await resolve(self, host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p)) for p in (1, 2)]

    monkeypatch.setattr(base_events.BaseEventLoop, "getaddrinfo", two_addresses)
    fr.configure(async_database_url="postgresql+asyncpg://postgres@twice.invalid/x")
    app = make_app("async")
    fr.include_view(app, route("async"))
    client = client_for(app)

    for response in (await client.get("/async/things"), await client.get("/count")):
        assert_clean_503(response)

    fr.configure(async_database_url=database.async_url)
    await serve_again(client, "async", database)


READ_ONLY = {
    "postgresql": "SET default_transaction_read_only = on",  # SQLSTATE 25006 on a write
    "mariadb": "SET SESSION TRANSACTION READ ONLY",  # error 1792 on a write
}


def read_only(engine: Any, dialect: str) -> None:
    """Make every connection of ``engine`` read-only, as a replica not yet promoted is."""

    @event.listens_for(engine, "connect")
    def set_read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(READ_ONLY[dialect])
        cursor.close()
        dbapi_connection.commit()  # a SET inside the driver's implicit transaction would not last


@servers
async def test_writes_reaching_a_read_only_server_answer_503(
    database: Any, kind: str, client_for: Any
) -> None:
    app = make_app(kind)
    fr.include_view(app, committing_route(kind))
    client = client_for(app)
    things = f"/{kind}/things"
    created = (await client.post(things, json=thing(label="before"))).json()
    engine = build_engine(database.sync_url)
    async_engine = build_async_engine(database.async_url)
    read_only(engine, database.dialect)
    read_only(async_engine.sync_engine, database.dialect)
    fr.configure(engine=engine, async_engine=async_engine)

    assert_clean_503(await client.post(things, json=thing(label="lost")))
    assert_clean_503(await client.patch(f"{things}/{created['id']}", json={"label": "lost"}))
    assert_clean_503(await client.delete(f"{things}/{created['id']}"))
    assert_clean_503(await client.post("/commit"))
    assert (await client.get(things)).json() == [created]  # reads are still served

    assert labels(database) == ["before"]
    fr.configure(engine=None, async_engine=None)  # the failover is over
    await serve_again(client, kind, database)
    await async_engine.dispose()
    engine.dispose()


async def test_the_applications_own_oserror_stays_500(
    database: Any, kind: str, client_for: Any
) -> None:
    """Only an OSError a driver raised is an outage: a missing file is a bug, not a 503."""
    if kind == "async":

        class AsyncReads(fr.View):
            prefix = "/file"
            session: fr.AsyncSessionDep

            @fr.get("")
            async def read(self) -> str:
                await self.session.scalar(select(Thing.id))
                with open("/nonexistent-restly-dir/file") as file:
                    return file.read()

        view: type = AsyncReads
    else:

        class SyncReads(fr.View):
            prefix = "/file"
            session: fr.SessionDep

            @fr.get("")
            def read(self) -> str:
                self.session.scalar(select(Thing.id))
                with open("/nonexistent-restly-dir/file") as file:
                    return file.read()

        view = SyncReads
    app = make_app(kind)
    fr.include_view(app, view)
    client = client_for(app)
    response = await client.get("/file")
    assert response.status_code == 500
    assert "nonexistent" not in response.text and "Traceback" not in response.text
