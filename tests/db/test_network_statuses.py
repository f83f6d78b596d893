"""Statuses that send clients the right way, shown over real HTTP: a database error restly
cannot classify is a JSON 500 (logged on ``restly``) after which uvicorn keeps the client's
keep-alive connection open; psycopg's prepared statements crossed between clients (SQLSTATE
08P01, a configuration error) are a 500 that says nothing internal, not a 503 "retry".

(A plain ``OSError`` from asyncpg connecting, and a write reaching a read-only standby, answer
503: tests/reliability/test_unavailable.py.)
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

import restly as fr
from tests.live_server import serve_in_thread
from tests.reliability.models import Base, make_app

__all__ = ["Base"]  # the ``database`` fixture creates the tables of this module's Base

pytestmark = pytest.mark.anyio

_SERVER_ERROR = "The server could not answer this request"


@contextmanager
def serving(app: FastAPI, fr_globals: fr.FRGlobals) -> Iterator[tuple[str, int]]:
    """Serve ``app`` with uvicorn on a free port of 127.0.0.1, in a thread; the async
    engine, whose connections belong to the server's loop, is disposed in that loop."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await fr_globals.dispose()

    app.router.lifespan_context = lifespan
    with serve_in_thread(app) as address:
        yield address


def on_one_connection(address: tuple[str, int], *paths: str) -> list[tuple[int, str, bytes]]:
    """GET each path in turn on one keep-alive connection; ``(status, content type, body)``
    of each answer. A connection the server closed fails the test."""
    answers = []
    with socket.create_connection(address, timeout=15) as connection:
        stream = connection.makefile("rb")
        for path in paths:
            connection.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
            status_line = stream.readline()
            assert status_line, f"the server closed the connection before answering {path}"
            headers = {}
            for _ in range(100):  # bounded: no answer of these routes has 100 headers
                line = stream.readline().decode().strip()
                if not line:
                    break
                name, _, value = line.partition(":")
                headers[name.lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            assert headers.get("connection") != "close", headers
            answers.append((int(status_line.split()[1]), headers["content-type"], body))
    return answers


def broken_route(kind: str) -> type:
    """A route whose statement the database refuses as a programming error."""
    if kind == "async":

        class AsyncBroken(fr.View):
            prefix = "/broken"
            session: fr.AsyncSessionDep

            @fr.get("")
            async def read(self) -> int:
                return int(await self.session.scalar(text("SELEC 1 FROM rel_thing")))

        return AsyncBroken

    class SyncBroken(fr.View):
        prefix = "/broken"
        session: fr.SessionDep

        @fr.get("")
        def read(self) -> int:
            return int(self.session.scalar(text("SELEC 1 FROM rel_thing")))

    return SyncBroken


@pytest.mark.parametrize("kind", ["async", "sync"])
@pytest.mark.parametrize("problem_details", [False, True], ids=["detail", "problem"])
async def test_an_unclassified_database_error_is_a_logged_json_500_and_keeps_the_connection(
    database: Any,
    kind: str,
    problem_details: bool,
    caplog: pytest.LogCaptureFixture,
    fr_globals: fr.FRGlobals,
) -> None:
    app = make_app(kind)
    fr.include_view(app, broken_route(kind))
    if problem_details:
        fr.configure(app, problem_details=True)
    things = f"/{kind}/things"

    with caplog.at_level(logging.ERROR, logger="restly"), serving(app, fr_globals) as address:
        failed, served = on_one_connection(address, "/broken", things)

    status, content_type, body = failed
    assert status == 500
    if problem_details:
        assert content_type == "application/problem+json"
        assert b'"status":500' in body and _SERVER_ERROR.encode() in body
    else:
        assert content_type == "application/json"
        assert body == b'{"detail":"%s"}' % _SERVER_ERROR.encode()
    for leak in (b"SELEC", b"rel_thing", b"syntax", b"Traceback"):
        assert leak not in body
    assert served[0] == 200 and served[2] == b"[]"  # the same connection serves on
    logged = [r for r in caplog.records if r.name == "restly" and r.exc_info is not None]
    assert len(logged) == 1 and "GET /broken" in logged[0].getMessage()
    assert "SELEC" in str(logged[0].exc_info[1])  # the log has what the answer hides


def crossing_route() -> type:
    """A route whose connection's prepared statement is swapped behind psycopg's back, as
    another client's statement of the same name is behind PgBouncer in transaction pooling
    mode: the server refuses the bind with SQLSTATE 08P01."""
    statement = text("SELECT CAST(:value AS integer)")
    prepared = "SELECT CAST($1 AS integer)"

    class Crossed(fr.View):
        prefix = "/crossed"
        session: fr.SessionDep

        @fr.get("")
        def read(self) -> int:
            raw = self.session.connection().connection.driver_connection
            raw.prepare_threshold = 0  # prepare at once, as the default does after 5 runs
            self.session.execute(statement, {"value": 1})
            names = raw.pgconn.exec_(
                b"SELECT name FROM pg_prepared_statements WHERE statement = '%s'"
                % prepared.encode()
            )
            name = names.get_value(0, 0).decode()
            raw.pgconn.exec_(f"DEALLOCATE {name}".encode())  # libpq: psycopg does not see it
            raw.pgconn.exec_(f"PREPARE {name} AS SELECT $1::int + $2::int".encode())
            return int(self.session.scalar(statement, {"value": 2}))

    return Crossed


@pytest.mark.postgres
@pytest.mark.parametrize("db_urls", ["postgresql"], indirect=True)
@pytest.mark.parametrize("problem_details", [False, True], ids=["detail", "problem"])
async def test_crossed_prepared_statements_are_a_500_that_says_nothing_internal(
    database: Any, client_for: Any, problem_details: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app("sync")
    fr.include_view(app, crossing_route())
    if problem_details:
        fr.configure(app, problem_details=True)
    client = client_for(app)

    with caplog.at_level(logging.ERROR, logger="restly"):
        response = await client.get("/crossed")

    assert response.status_code == 500, response.text
    assert "retry-after" not in response.headers
    assert response.json()["detail"] == _SERVER_ERROR
    for leak in ("prepared", "bind", "_pg3_", "SELECT", "08P01"):
        assert leak not in response.text
    (record,) = [r for r in caplog.records if r.name == "restly" and r.exc_info is not None]
    assert getattr(record.exc_info[1].orig, "sqlstate", None) == "08P01"
    assert (await client.get("/sync/things")).status_code == 200


# --- the classification behind these answers ----------------------------------------------

def test_a_protocol_violation_is_a_bug_unless_pgbouncer_refuses_for_now() -> None:
    """08P01 from PostgreSQL (crossed prepared statements) is a configuration error, not an
    outage: a retry repeats it. PgBouncer words its own transient refusals with it too."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    from restly._faults import classify

    def violation(message: str) -> OperationalError:
        return OperationalError("SELECT 1", {}, psycopg.errors.lookup("08P01")(message))

    crossed = 'bind message supplies 1 parameters, but prepared statement "_pg3_0" requires 2'
    assert classify(violation(crossed)) is None
    for transient in ("query_wait_timeout", "no more connections allowed (max_client_conn)"):
        assert classify(violation(transient)) == "unavailable", transient


def test_only_a_commit_left_without_an_answer_has_an_unknown_outcome() -> None:
    import asyncpg
    import psycopg
    import pymysql
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    from restly._faults import commit_outcome_unknown

    def asyncpg_error(cause: Exception) -> Exception:
        adapted = Exception(str(cause))
        adapted.__cause__ = cause
        return adapted

    lost = psycopg.OperationalError("consuming input failed: server closed the connection")
    terminated = psycopg.errors.lookup("57P01")("terminating connection")
    assert commit_outcome_unknown(OperationalError("COMMIT", {}, lost))
    assert not commit_outcome_unknown(OperationalError("COMMIT", {}, terminated))
    closed_midway = asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle")
    assert commit_outcome_unknown(DBAPIError("COMMIT", {}, asyncpg_error(closed_midway)))
    refused = asyncpg.exceptions.InterfaceError("the underlying connection is closed")
    assert not commit_outcome_unknown(InterfaceError("COMMIT", {}, asyncpg_error(refused)))
    reset = asyncpg_error(ConnectionResetError("reset"))
    assert commit_outcome_unknown(DBAPIError("COMMIT", {}, reset))
    mysql = pymysql.err.OperationalError
    assert commit_outcome_unknown(OperationalError("COMMIT", {}, mysql(2013, "lost")))
    assert not commit_outcome_unknown(OperationalError("COMMIT", {}, mysql(2006, "gone")))
    assert not commit_outcome_unknown(OperationalError("COMMIT", {}, mysql(1213, "deadlock")))
    serialization = psycopg.errors.lookup("40001")("could not serialize")
    assert not commit_outcome_unknown(OperationalError("COMMIT", {}, serialization))
    assert not commit_outcome_unknown(ValueError("not a database error"))
    assert not commit_outcome_unknown(ConnectionResetError("the application's own socket"))
