"""Read replicas against a real PostgreSQL streaming replica (SPEC §12).

`fr.configure(read_replica_urls=[...])`: the reads of GET and HEAD requests (lists, counts,
items, your own GET routes) come from a replica, taken in turn; writes, and reads after a
write in the same request, go to the primary; a replica that does not accept connections is
skipped for a while and no request fails because of it. Sync (psycopg) and async (asyncpg)
views. The replica is a `pg_basebackup -R` copy of the test server (tests/db/replica_server.py);
pausing its replay proves where a read came from: a row written to the primary meanwhile is
invisible to reads served by the replica.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import String, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from tests.db.replica_server import wait_replayed

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "replica_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))


class NoteSchema(fr.IDSchema):
    title: str


@dataclass
class Servers:
    primary: str  # sync URLs (postgresql+psycopg://...)
    replica: str


@pytest.fixture(scope="module")
def servers(pg_replica: tuple[str, str]) -> Iterator[Servers]:
    primary, replica = pg_replica
    engine = create_engine(primary)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield Servers(primary, replica)
    engine = create_engine(primary)
    Base.metadata.drop_all(engine)
    engine.dispose()


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def _insert_on_primary(servers: Servers, title: str) -> int:
    with psycopg.connect(_conninfo(servers.primary), autocommit=True) as connection:
        row = connection.execute(
            "insert into replica_note (title) values (%s) returning id", (title,)
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def clean(servers: Servers) -> Iterator[Servers]:
    with psycopg.connect(_conninfo(servers.primary), autocommit=True) as connection:
        connection.execute("delete from replica_note")
    wait_replayed(servers.primary, servers.replica)
    yield servers


@pytest.fixture
def paused(clean: Servers) -> Iterator[Servers]:
    """The replica stops replaying the primary's writes until the test ends."""
    with psycopg.connect(_conninfo(clean.replica), autocommit=True) as replica:
        replica.execute("select pg_wal_replay_pause()")
        try:
            yield clean
        finally:
            replica.execute("select pg_wal_replay_resume()")


def _async(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(False)


def make_app(
    kind: str,
    servers: Servers,
    replicas: list[str],
    view_options: dict[str, Any] | None = None,
    **options: Any,
) -> FastAPI:
    """An app with /notes (a REST view) and /where (which server a session talks to)."""
    g = fr.FRGlobals()
    with fr.use_fr_globals(g):
        fr.configure(
            database_url=servers.primary,
            async_database_url=_async(servers.primary),
            read_replica_urls=replicas,
            **options,
        )
    base = fr.AsyncRestView if kind == "async" else fr.RestView
    notes = type(
        "NoteView",
        (base,),
        {"prefix": "/notes", "model": Note, "schema": NoteSchema, **(view_options or {})},
        globals=g,
    )
    # The same resource on a view whose session never reads from a replica.
    primary_session = fr.db.AsyncPrimarySessionDep if kind == "async" else fr.db.PrimarySessionDep
    fresh = type(
        "FreshNoteView",
        (base,),
        {
            "prefix": "/fresh-notes",
            "model": Note,
            "schema": NoteSchema,
            "__annotations__": {"session": primary_session},
        },
        globals=g,
    )
    app = FastAPI()
    fr.include_view(app, notes, fresh, where_view(kind, g))
    app.state.fr_globals = g
    return app


_WHERE = text("select pg_is_in_recovery() as standby, current_database() as db")
_WRITTEN = select(func.count()).select_from(Note).where(Note.title == "written by a GET")


def _answer(row: Any, written: int | None = None) -> dict[str, Any]:
    answer = {"standby": row.standby, "database": row.db}
    return answer if written is None else {**answer, "written": written}


def where_view(kind: str, g: fr.FRGlobals) -> type[Any]:
    if kind == "async":

        class AsyncWhere(fr.View, globals=g):
            prefix = "/where"
            session: fr.AsyncSessionDep

            @fr.get("/")
            async def read(self) -> dict[str, Any]:
                return _answer((await self.session.execute(_WHERE)).one())

            @fr.post("/")
            async def write(self) -> dict[str, Any]:
                return _answer((await self.session.execute(_WHERE)).one())

            @fr.get("/write-then-read")
            async def write_then_read(self) -> dict[str, Any]:
                before = _answer((await self.session.execute(_WHERE)).one())
                self.session.add(Note(title="written by a GET"))
                await self.session.flush()
                row = (await self.session.execute(_WHERE)).one()
                after = _answer(row, await self.session.scalar(_WRITTEN))
                return {"before": before, "after": after}

            @fr.get("/primary")
            async def primary(self) -> dict[str, Any]:
                fr.db.use_primary(self.session)
                return _answer((await self.session.execute(_WHERE)).one())

        return AsyncWhere

    class SyncWhere(fr.View, globals=g):
        prefix = "/where"
        session: fr.SessionDep

        @fr.get("/")
        def read(self) -> dict[str, Any]:
            return _answer(self.session.execute(_WHERE).one())

        @fr.post("/")
        def write(self) -> dict[str, Any]:
            return _answer(self.session.execute(_WHERE).one())

        @fr.get("/write-then-read")
        def write_then_read(self) -> dict[str, Any]:
            before = _answer(self.session.execute(_WHERE).one())
            self.session.add(Note(title="written by a GET"))
            self.session.flush()
            after = _answer(self.session.execute(_WHERE).one(), self.session.scalar(_WRITTEN))
            return {"before": before, "after": after}

        @fr.get("/primary")
        def primary(self) -> dict[str, Any]:
            fr.db.use_primary(self.session)
            return _answer(self.session.execute(_WHERE).one())

    return SyncWhere


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def client_of() -> AsyncIterator[Any]:
    apps: list[FastAPI] = []

    def make(app: FastAPI) -> httpx.AsyncClient:
        apps.append(app)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    yield make
    for app in apps:
        await app.state.fr_globals.dispose()


async def test_gets_read_from_the_replica_and_writes_go_to_the_primary(
    paused: Servers, kind: str, client_of: Any
) -> None:
    hidden = _insert_on_primary(paused, "on the primary only")  # the replica is paused
    async with client_of(make_app(kind, paused, [paused.replica])) as http:
        assert (await http.get("/where/")).json()["standby"] is True
        assert (await http.post("/where/")).json()["standby"] is False
        listed = await http.get("/notes", params={"page_size": 10})
        assert listed.status_code == 200, listed.text
        assert listed.json() == []  # the list and its rows came from the replica
        assert (await http.get(f"/notes/{hidden}")).status_code == 404
        created = await http.post("/notes", json={"title": "through the API"})
        assert created.status_code == 201, created.text  # the write reached the primary
        patched = await http.patch(f"/notes/{hidden}", json={"title": "patched"})
        assert patched.status_code == 200, patched.text  # a write request reads the primary
        primary = (await http.get("/where/primary")).json()
        assert primary["standby"] is False  # use_primary in a GET route
        fresh = await http.get("/fresh-notes")  # a view declared with a primary session
        assert fresh.status_code == 200, fresh.text
        assert {note["title"] for note in fresh.json()} == {"patched", "through the API"}


async def test_counts_come_from_the_replica_too(paused: Servers, kind: str, client_of: Any) -> None:
    for title in ("a", "b", "c"):
        _insert_on_primary(paused, title)
    app = make_app(
        kind, paused, [paused.replica], view_options={"include_pagination_metadata": True}
    )
    async with client_of(app) as http:
        response = await http.get("/notes", params={"page": 1, "page_size": 2})
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 0  # counted on the replica, which has not seen them
    with fr.use_fr_globals(app.state.fr_globals):
        async with fr.async_session() as session:  # a script's session: the primary
            assert await session.scalar(select(func.count()).select_from(Note)) == 3


async def test_a_get_that_writes_reads_its_own_write_from_the_primary(
    paused: Servers, kind: str, client_of: Any
) -> None:
    async with client_of(make_app(kind, paused, [paused.replica])) as http:
        answer = (await http.get("/where/write-then-read")).json()
    assert answer["before"]["standby"] is True
    assert answer["after"] == {
        "standby": False,
        "database": answer["before"]["database"],
        "written": 1,
    }
    with psycopg.connect(_conninfo(paused.primary), autocommit=True) as primary:
        row = primary.execute("select count(*) from replica_note").fetchone()
    assert row == (1,)  # committed on the primary


async def test_replicas_are_taken_in_turn(clean: Servers, kind: str, client_of: Any) -> None:
    # Two "replicas": the replica server's test database and its `postgres` database.
    other = make_url(clean.replica).set(database="postgres").render_as_string(False)
    async with client_of(make_app(kind, clean, [clean.replica, other])) as http:
        answers = [(await http.get("/where/")).json() for _ in range(6)]
    databases = [answer["database"] for answer in answers]
    assert all(answer["standby"] for answer in answers)
    assert set(databases) == {make_url(clean.replica).database, "postgres"}
    assert all(first != second for first, second in zip(databases, databases[1:]))


class RefusingServer:
    """A TCP port that accepts connections and closes them at once, counting them: a
    replica that is down (its PostgreSQL stopped, its host restarting)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = int(self.socket.getsockname()[1])
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def refusing() -> Iterator[RefusingServer]:
    server = RefusingServer()
    yield server
    server.close()


async def test_a_replica_that_is_down_is_skipped_and_no_request_fails(
    clean: Servers, kind: str, client_of: Any, refusing: RefusingServer
) -> None:
    dead = make_url(clean.replica).set(port=refusing.port, password="s3cret")
    dead_url = dead.render_as_string(False)
    app = make_app(kind, clean, [dead_url, clean.replica], replica_retry_after=0.5)
    async with client_of(app) as http:
        answers = [await http.get("/where/") for _ in range(6)]
        assert [response.status_code for response in answers] == [200] * 6
        assert all(response.json()["standby"] for response in answers)  # the live replica
        assert refusing.accepted == 1  # tried once, then left out
        down = app.state.fr_globals.replicas.down()
        assert len(down) == 1 and "s3cret" not in down[0]
        await asyncio.sleep(0.6)  # past replica_retry_after: tried again
        assert (await http.get("/where/")).status_code == 200
        assert (await http.get("/where/")).status_code == 200
        assert refusing.accepted == 2


async def test_with_every_replica_down_reads_use_the_primary(
    clean: Servers, kind: str, client_of: Any, refusing: RefusingServer
) -> None:
    dead = make_url(clean.replica).set(port=refusing.port).render_as_string(False)
    _insert_on_primary(clean, "on the primary")
    async with client_of(make_app(kind, clean, [dead])) as http:
        where = await http.get("/where/")
        listed = await http.get("/notes")
    assert where.status_code == 200 and where.json()["standby"] is False
    assert [note["title"] for note in listed.json()] == ["on the primary"]


def test_replica_urls_that_are_not_a_list_are_refused_without_echoing_them() -> None:
    g = fr.FRGlobals()
    with fr.use_fr_globals(g):
        with pytest.raises(fr.RestlyConfigurationError) as refused:
            fr.configure(read_replica_urls="postgresql://app:s3cret@replica/app")  # type: ignore[arg-type]
        assert "read_replica_urls" in str(refused.value)
        assert "s3cret" not in str(refused.value)
        with pytest.raises(fr.RestlyConfigurationError, match="replica_retry_after"):
            fr.configure(replica_retry_after=-1)


async def test_readiness_lists_replicas_and_a_dead_one_does_not_make_the_app_unready(
    clean: Servers, client_of: Any, refusing: RefusingServer
) -> None:
    dead = make_url(clean.replica).set(port=refusing.port).render_as_string(False)
    app = make_app("async", clean, [clean.replica, dead])
    with fr.use_fr_globals(app.state.fr_globals):
        fr.configure(app, ready="/ready")
    async with client_of(app) as http:
        response = await http.get("/ready")
    assert response.status_code == 200, response.text
    databases = response.json()["databases"]
    assert (databases["replica 1"], databases["replica 2"]) == ("ok", "unavailable")
