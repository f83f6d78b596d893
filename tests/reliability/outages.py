"""Helpers of the outage tests: killing a request's own connection from a second one, reading
the table over a fresh connection, and the routes and checks the tests share."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import restly as fr
from restly.exc import CommitOutcomeUnknown

from .models import Thing, thing
from .test_faults import assert_unavailable

servers = pytest.mark.parametrize(
    "db_urls",
    [
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
    indirect=True,
)

# --- killing a connection from a second one, as an operator or a failover would ---------------

OWN_ID = {"postgresql": "SELECT pg_backend_pid()", "mariadb": "SELECT CONNECTION_ID()"}


def kill(database: Any, connection_id: int) -> None:
    """Terminate the server connection ``connection_id`` and wait until it is gone."""
    url = make_url(database.sync_url)
    if database.dialect == "postgresql":
        import psycopg

        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as admin:
            # With a timeout, pg_terminate_backend waits for the backend to exit.
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (connection_id,))
        return
    import pymysql

    admin = pymysql.connect(
        host=url.host,
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        connect_timeout=5,
    )
    still_there = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"KILL {int(connection_id)}")
            for _ in range(50):  # bounded: at most ~5 s
                cursor.execute(still_there, (connection_id,))
                if cursor.fetchone() == (0,):
                    return
                time.sleep(0.1)
        raise AssertionError(f"connection {connection_id} survived KILL")
    finally:
        admin.close()


def labels(database: Any) -> list[str]:
    """The stored labels, read over a fresh connection (nothing pooled, nothing cached)."""
    engine = create_engine(database.sync_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(Thing.label).order_by(Thing.id)))
    finally:
        engine.dispose()


def assert_clean_503(response: Any) -> None:
    assert_unavailable(response)
    for leak in ("Traceback", "SELECT", "UPDATE", "INSERT", "COMMIT", "rel_thing"):
        assert leak not in response.text


def assert_outcome_unknown(response: Any) -> None:
    """The answer to a write whose COMMIT was sent and never answered."""
    assert response.status_code == 500, response.text
    assert "retry-after" not in response.headers
    assert response.json() == {"detail": CommitOutcomeUnknown.default_detail}
    assert "Idempotency-Key" in response.json()["detail"]
    for leak in ("Traceback", "INSERT", "UPDATE", "COMMIT", "rel_thing"):
        assert leak not in response.text


async def serve_again(client: Any, kind: str, database: Any) -> None:
    """The app answers the next requests normally, reading and writing."""
    things = f"/{kind}/things"
    assert (await client.get(things)).status_code == 200
    created = await client.post(things, json=thing(label="next"))
    assert created.status_code == 201, created.text
    assert labels(database)[-1] == "next"


def route(kind: str) -> type:
    """A user route reading through the request's session."""
    if kind == "async":

        class AsyncCount(fr.View):
            prefix = "/count"
            session: fr.AsyncSessionDep

            @fr.get("")
            async def count(self) -> int:
                return len((await self.session.scalars(select(Thing.id))).all())

        return AsyncCount

    class SyncCount(fr.View):
        prefix = "/count"
        session: fr.SessionDep

        @fr.get("")
        def count(self) -> int:
            return len(self.session.scalars(select(Thing.id)).all())

    return SyncCount


def committing_route(kind: str) -> type:
    """A user route that writes; the dependency commits after it returns."""
    if kind == "async":

        class AsyncWrite(fr.View):
            prefix = "/commit"
            session: fr.AsyncSessionDep

            @fr.post("", status_code=201)
            async def add(self) -> int:
                self.session.add(Thing(count=1, label="lost"))
                return 1

        return AsyncWrite

    class SyncWrite(fr.View):
        prefix = "/commit"
        session: fr.SessionDep

        @fr.post("", status_code=201)
        def add(self) -> int:
            self.session.add(Thing(count=1, label="lost"))
            return 1

    return SyncWrite
