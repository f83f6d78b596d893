"""Database faults: unreachable, locked or slow databases answer 503 with ``Retry-After``;
programming errors stay 500; a failure anywhere in a request (a seam, a flush, the COMMIT)
rolls the whole request back, and the server keeps serving."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

from .conftest import strict_json
from .models import Base, Owner, Tag, Thing, make_app, thing, view_base

__all__ = ["Base"]  # the ``database`` fixture creates the tables of this module's Base

pytestmark = pytest.mark.anyio

NOWHERE = "/nonexistent-restly-dir/db.sqlite3"
UNREACHABLE = {
    "sqlite": (f"sqlite:///{NOWHERE}", f"sqlite+aiosqlite:///{NOWHERE}"),
    "postgresql": (
        "postgresql+psycopg://postgres@127.0.0.1:1/x",
        "postgresql+asyncpg://postgres@127.0.0.1:1/x",
    ),
    "mariadb": ("mysql+pymysql://root@127.0.0.1:1/x", "mysql+aiomysql://root@127.0.0.1:1/x"),
}
SILENT = {
    "postgresql": (
        "postgresql+psycopg://postgres@127.0.0.1:{port}/x",
        "postgresql+asyncpg://postgres@127.0.0.1:{port}/x",
    ),
}


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose server accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert strict_json(response) == {"detail": "The database is unavailable or busy; retry shortly"}


@pytest.mark.parametrize("backend", sorted(SILENT))
async def test_a_database_that_never_answers_gives_503_after_the_connect_timeout(
    fr_globals: Any, kind: str, backend: str, client_for: Any, silent_port: int
) -> None:
    sync_url, async_url = (url.format(port=silent_port) for url in SILENT[backend])
    fr.configure(database_url=sync_url, async_database_url=async_url, connect_timeout=1)
    client = client_for(make_app(kind))
    assert_unavailable(await client.get(f"/{kind}/things"))
    await fr_globals.dispose()


async def test_pymysql_is_bounded_by_the_statement_timeout(
    fr_globals: Any, client_for: Any, silent_port: int
) -> None:
    """PyMySQL's connect timeout covers the TCP connect only; its reads need a bound too."""
    url = f"mysql+pymysql://root@127.0.0.1:{silent_port}/x"
    fr.configure(database_url=url, connect_timeout=1, statement_timeout=1)
    client = client_for(make_app("sync"))
    assert_unavailable(await client.get("/sync/things"))


def test_timeouts_reach_every_driver() -> None:
    from sqlalchemy.engine import make_url

    from restly.db._engine import engine_options

    def connect_args(url: str, **timeouts: Any) -> Any:
        return engine_options(make_url(url), **timeouts).get("connect_args", {})

    assert connect_args("sqlite:///x.db", connect_timeout=2)["timeout"] == 2
    assert connect_args("sqlite+aiosqlite:///x.db", connect_timeout=2)["timeout"] == 2
    assert connect_args("postgresql+psycopg://h/d", connect_timeout=2) == {"connect_timeout": 2}
    assert connect_args("postgresql+asyncpg://h/d", connect_timeout=2) == {"timeout": 2}
    assert connect_args("mysql+pymysql://h/d", connect_timeout=2) == {"connect_timeout": 2}
    aiomysql = connect_args("mysql+aiomysql://h/d", connect_timeout=2)
    assert aiomysql.pop("connect_timeout") == 2
    assert list(aiomysql) == ["async_creator_fn"]  # the whole connect bounded by restly
    assert connect_args("postgresql+psycopg://h/d", statement_timeout=1.5)["options"] == (
        "-c statement_timeout=1500"
    )
    assert connect_args("postgresql+asyncpg://h/d", statement_timeout=1.5)["server_settings"] == {
        "statement_timeout": "1500"
    }
    # the client gives up on an answer 1 s after the server would have cancelled
    assert connect_args("postgresql+asyncpg://h/d", statement_timeout=1.5)["command_timeout"] == 2.5
    bounded = engine_options(make_url("postgresql+psycopg://h/d"), statement_timeout=1.5, asynchronous=True)
    assert bounded["connect_args"]["async_creator_fn"].__self__.__name__ == "BoundedAsyncConnection"
    assert engine_options(make_url("postgresql://h/d"), connect_timeout=3)["pool_timeout"] == 3
    assert "pool_timeout" not in engine_options(make_url("sqlite://"), connect_timeout=3)


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
async def test_an_unreachable_database_answers_503_then_service_resumes(
    fr_globals: Any, kind: str, backend: str, client_for: Any, tmp_path: Any
) -> None:
    sync_url, async_url = UNREACHABLE[backend]
    fr.configure(database_url=sync_url, async_database_url=async_url, connect_timeout=1)
    client = client_for(make_app(kind))
    things = f"/{kind}/things"
    assert_unavailable(await client.get(things))
    assert_unavailable(await client.post(things, json=thing()))
    assert_unavailable(await client.get(f"{things}/1"))
    # The database comes back: the same app serves again.
    path = tmp_path / "back.sqlite3"
    fr.configure(database_url=f"sqlite:///{path}", async_database_url=f"sqlite+aiosqlite:///{path}")
    Base.metadata.create_all(fr_globals.get_engine())
    assert (await client.post(things, json=thing())).status_code == 201
    assert len((await client.get(things)).json()) == 1
    await fr_globals.dispose()


async def test_a_locked_sqlite_database_answers_503_until_released(
    fr_globals: Any, kind: str, client_for: Any, tmp_path: Any
) -> None:
    path = tmp_path / "locked.sqlite3"
    fr.configure(
        database_url=f"sqlite:///{path}",
        async_database_url=f"sqlite+aiosqlite:///{path}",
        connect_timeout=0.2,  # how long SQLite waits for the lock
    )
    Base.metadata.create_all(fr_globals.get_engine())
    client = client_for(make_app(kind))
    things = f"/{kind}/things"
    created = (await client.post(things, json=thing())).json()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert_unavailable(await client.post(things, json=thing()))
        assert_unavailable(await client.get(things))
        assert_unavailable(await client.patch(f"{things}/{created['id']}", json={"count": 5}))
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert (await client.get(f"{things}/{created['id']}")).json() == created
    assert (await client.post(things, json=thing())).status_code == 201
    await fr_globals.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("db_urls", ["postgresql"], indirect=True)
async def test_a_statement_timeout_answers_503(
    database: Any, kind: str, client_for: Any
) -> None:
    import psycopg

    fr.configure(statement_timeout=0.2)
    client = client_for(make_app(kind))
    things = f"/{kind}/things"
    created = (await client.post(things, json=thing())).json()
    url = database.sync_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as holder:
        holder.execute("LOCK TABLE rel_thing IN ACCESS EXCLUSIVE MODE")
        assert_unavailable(await client.get(things))
        assert_unavailable(await client.patch(f"{things}/{created['id']}", json={"count": 2}))
        holder.rollback()
    assert (await client.get(f"{things}/{created['id']}")).json() == created


class MissingBase(DeclarativeBase):
    pass


class Missing(MissingBase):
    """A model whose table is never created: a programming error, not an outage."""

    __tablename__ = "rel_never_created"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(10))


async def test_programming_errors_stay_500_without_sql(
    database: Any, kind: str, client_for: Any
) -> None:
    app = FastAPI()
    fr.include_view(app, type("MissingView", (view_base(kind),), {"prefix": "/m", "model": Missing}))
    client = client_for(app)
    for response in (await client.get("/m"), await client.post("/m", json={"name": "x"})):
        assert response.status_code == 500
        assert "rel_never_created" not in response.text and "SELECT" not in response.text
    assert (await client.get("/m/1")).status_code == 500


def failing(kind: str, seam: str, error: Exception) -> Any:
    """An override of ``seam`` that does the real work (flushes), then raises ``error``."""
    base = view_base(kind)
    original = getattr(base, seam)
    if kind == "async":

        async def override(self: Any, *args: Any) -> Any:
            await original(self, *args)
            await self.session.flush()
            raise error

    else:

        def override(self: Any, *args: Any) -> Any:  # type: ignore[misc]
            original(self, *args)
            self.session.flush()
            raise error

    return override


@pytest.mark.parametrize(
    ("seam", "method"),
    [
        ("handle_create", "POST"),
        ("make_new_object", "POST"),
        ("save_object", "POST"),
        ("handle_update", "PATCH"),
        ("update_object", "PATCH"),
        ("save_object", "PATCH"),
        ("handle_delete", "DELETE"),
        ("delete_object", "DELETE"),
    ],
)
@pytest.mark.parametrize("error", [HTTPException(418), RuntimeError("boom")], ids=["http", "crash"])
async def test_an_error_in_any_seam_rolls_back_the_whole_request(
    database: Any, kind: str, client_for: Any, seam: str, method: str, error: Exception
) -> None:
    app = make_app(kind)
    namespace = {"prefix": "/failing", "model": Thing, seam: failing(kind, seam, error)}
    fr.include_view(app, type("FailingView", (view_base(kind),), namespace))
    client = client_for(app)
    things = f"/{kind}/things"
    created = (await client.post(things, json=thing(label="before"))).json()
    path = "/failing" if method == "POST" else f"/failing/{created['id']}"
    body = thing(label="after") if method != "DELETE" else None
    response = await client.request(method, path, json=body)
    assert response.status_code == (418 if isinstance(error, HTTPException) else 500)
    assert "boom" not in response.text
    assert (await client.get(things)).json() == [created]  # nothing written, nothing deleted
    assert (await client.post(things, json=thing())).status_code == 201  # still serving


async def test_a_constraint_failing_at_commit_answers_409_and_writes_nothing(
    database: Any, kind: str, client_for: Any
) -> None:
    flushed: list[int] = []
    base = view_base(kind)
    if kind == "async":

        async def save_object(self: Any, obj: Any) -> Any:
            obj = await fr.AsyncRestView.save_object(self, obj)
            flushed.append(obj.id)
            return obj

    else:

        def save_object(self: Any, obj: Any) -> Any:  # type: ignore[misc]
            obj = fr.RestView.save_object(self, obj)
            flushed.append(obj.id)
            return obj

    app = make_app(kind)
    namespace = {"prefix": "/tags", "model": Tag, "save_object": save_object}
    fr.include_view(app, type("TagView", (base,), namespace))
    client = client_for(app)
    response = await client.post("/tags", json={"owner_id": 4242})
    assert response.status_code == 409, response.text
    assert strict_json(response)["detail"].startswith("Foreign key constraint violated")
    if database.dialect != "mariadb":  # MariaDB cannot defer: its flush fails already
        assert len(flushed) == 1  # the flush passed; the COMMIT failed
    assert (await client.get("/tags")).json() == []
    owner = (await client.post(f"/{kind}/owners", json={"name": "Ann"})).json()
    assert (await client.post("/tags", json={"owner_id": owner["id"]})).status_code == 201


async def test_integrity_errors_still_answer_409(database: Any, kind: str, client_for: Any) -> None:
    client = client_for(make_app(kind))
    owners = f"/{kind}/owners"
    assert (await client.post(owners, json={"name": "Ann"})).status_code == 201
    assert (await client.post(owners, json={"name": "Ann"})).status_code == 409
    missing_owner = await client.post(f"/{kind}/things", json=thing(owner_id=999))
    assert missing_owner.status_code == 409
    assert [o["name"] for o in (await client.get(owners)).json()] == ["Ann"]
    assert Owner.__tablename__ in {t.name for t in Base.metadata.sorted_tables}


def cast_view() -> type:
    """A custom route whose SQL the database refuses for its value, not its syntax."""

    class Cast(fr.View):
        prefix = "/cast"
        session: fr.AsyncSessionDep

        @fr.get("")
        async def cast(self, value: str) -> int:
            from sqlalchemy import Integer, cast, literal, select

            return int(await self.session.scalar(select(cast(literal(value), Integer))) or 0)

    return Cast


@pytest.mark.postgres
@pytest.mark.parametrize("db_urls", ["postgresql"], indirect=True)
async def test_a_value_the_database_refuses_answers_422_in_fastapis_shape(
    database: Any, client_for: Any
) -> None:
    app = FastAPI()
    fr.include_view(app, cast_view())
    client = client_for(app)
    assert (await client.get("/cast", params={"value": "12"})).json() == 12
    for value in ("abc", "99999999999"):
        response = await client.get("/cast", params={"value": value})
        assert response.status_code == 422
        assert strict_json(response) == {
            "detail": [
                {
                    "type": "value_error",
                    "loc": [],
                    "msg": "The database refused a value of this request",
                    "input": None,
                }
            ]
        }


def test_faults_are_classified_by_driver_codes() -> None:
    import pymysql
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

    from restly._faults import classify, describe_integrity_error

    def wrap(kind: type[DBAPIError], original: Exception) -> DBAPIError:
        return kind("SELECT 1", {}, original)

    mysql = pymysql.err.OperationalError
    assert classify(wrap(OperationalError, mysql(2003, "Can't connect"))) == "unavailable"
    assert classify(wrap(OperationalError, mysql(1205, "Lock wait timeout"))) == "unavailable"
    assert classify(wrap(OperationalError, mysql(1213, "Deadlock found"))) == "conflict"
    assert classify(wrap(OperationalError, mysql(4025, "CONSTRAINT failed"))) == "constraint"
    no_default = mysql(1364, "Field 'code' doesn't have a default value")
    assert classify(wrap(OperationalError, no_default)) == "constraint"
    assert describe_integrity_error(wrap(OperationalError, no_default)) == (
        "Not-null constraint violated: code"
    )
    assert classify(wrap(OperationalError, mysql(1264, "Out of range"))) == "invalid"
    assert classify(wrap(OperationalError, mysql(1054, "Unknown column"))) is None
    locked = sqlite3.OperationalError("database is locked")
    assert classify(wrap(OperationalError, locked)) == "unavailable"
    no_table = sqlite3.OperationalError("no such table: x")
    assert classify(wrap(OperationalError, no_table)) is None
    assert classify(wrap(ProgrammingError, sqlite3.ProgrammingError("bad"))) is None
    assert classify(wrap(InterfaceError, Exception("connection closed"))) == "unavailable"
    assert classify(wrap(OperationalError, ConnectionResetError())) == "unavailable"


def test_outage_codes_are_unavailable_on_every_driver() -> None:
    """SQLSTATE classes 57P and 08 and a read-only server (25006), from psycopg and from
    asyncpg (through SQLAlchemy's adapter, which keeps asyncpg's error as the cause);
    MySQL/MariaDB server gone, connection lost, read-only."""
    import asyncpg
    import psycopg
    import pymysql
    from sqlalchemy.exc import DBAPIError, InternalError, OperationalError

    from restly._faults import classify

    def asyncpg_error(cause: Exception) -> Exception:
        adapted = Exception(str(cause))  # what the adapter raises, with the driver's cause
        adapted.__cause__ = cause
        return adapted

    for sqlstate in ("57P01", "57P02", "57P03", "08000", "08003", "08006", "25006"):
        psycopg_error = psycopg.errors.lookup(sqlstate)("gone")
        assert classify(OperationalError("SELECT 1", {}, psycopg_error)) == "unavailable", sqlstate
        asyncpg_class = asyncpg.exceptions.PostgresError.get_message_class_for_sqlstate(sqlstate)
        wrapped = DBAPIError("SELECT 1", {}, asyncpg_error(asyncpg_class("gone")))
        assert classify(wrapped) == "unavailable", sqlstate
    read_only = psycopg.errors.lookup("25006")("read-only")
    assert classify(InternalError("INSERT", {}, read_only)) == "unavailable"

    mysql = pymysql.err.OperationalError
    for code in (2006, 2013, 1290, 1792, 1836):
        assert classify(OperationalError("SELECT 1", {}, mysql(code, "gone"))) == "unavailable"


def test_only_oserrors_from_a_driver_count_as_outages() -> None:
    import asyncio

    from restly._faults import from_database_driver

    def raised(function: Any) -> BaseException:
        try:
            function()
        except OSError as error:
            return error
        raise AssertionError("nothing raised")

    assert not from_database_driver(raised(lambda: open(NOWHERE)))  # the application's own I/O

    async def connect() -> None:
        import asyncpg

        await asyncpg.connect("postgresql://postgres@127.0.0.1:1/x", timeout=1)

    assert from_database_driver(raised(lambda: asyncio.run(connect())))

