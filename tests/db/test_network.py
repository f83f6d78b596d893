"""A bad network between the app and its database, over HTTP: the database is reached through
a fault-injecting TCP proxy (``tests/db/_proxy.py``) that delays, resets and blackholes.

Each test runs on PostgreSQL (psycopg behind sync views, asyncpg and psycopg behind async
views) and MariaDB (PyMySQL, aiomysql). Rows are checked over a direct connection, not
through the proxy. The time the server takes to serve again after the link heals is printed
(``pytest -s``) and reported in docs/reliability.md; no timing is asserted, but every wait
has a bound (``anyio.fail_after``) so that a hang fails the test instead of stalling it.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import restly as fr
from tests.reliability.models import Base, Thing, make_app, thing
from tests.reliability.outages import (
    assert_clean_503,
    assert_outcome_unknown,
    labels,
    serve_again,
)

from ._proxy import FaultyLink

__all__ = ["Base"]  # the ``database`` fixture creates the tables of this module's Base

pytestmark = pytest.mark.anyio

CONNECT_TIMEOUT = 2.0
STATEMENT_TIMEOUT = 2.0
#: No request may take longer than this, whatever the fault: the timeouts and a margin.
HANG = 4 * (CONNECT_TIMEOUT + STATEMENT_TIMEOUT)

_PG, _MARIADB = pytest.mark.postgres, pytest.mark.mariadb
DRIVERS = [
    pytest.param("postgresql", "sync", marks=_PG, id="psycopg"),
    pytest.param("postgresql", "async", marks=_PG, id="asyncpg"),
    pytest.param("postgresql", "async-psycopg", marks=_PG, id="psycopg-async"),
    pytest.param("mariadb", "sync", marks=_MARIADB, id="pymysql"),
    pytest.param("mariadb", "async", marks=_MARIADB, id="aiomysql"),
]
drivers = pytest.mark.parametrize(("db_urls", "kind"), DRIVERS, indirect=["db_urls"])


@pytest.fixture
def link(db_urls: Any) -> Iterator[FaultyLink]:
    url = make_url(db_urls.sync_url)
    default_port = 5432 if db_urls.dialect == "postgresql" else 3306
    with FaultyLink(url.host or "127.0.0.1", url.port or default_port) as proxy:
        yield proxy


@pytest.fixture
async def app(
    database: Any, link: FaultyLink, kind: str, fr_globals: fr.FRGlobals
) -> AsyncIterator[Any]:
    """An app whose engines reach the database through ``link``, with restly's timeouts;
    its engines are disposed before the link closes."""
    async_url = database.sync_url if kind == "async-psycopg" else database.async_url
    direct = create_engine(database.sync_url, poolclass=NullPool)
    fr.idempotency_metadata.create_all(direct)
    fr.configure(
        database_url=link.url(database.sync_url),
        async_database_url=link.url(async_url),
        connect_timeout=CONNECT_TIMEOUT,
        statement_timeout=STATEMENT_TIMEOUT,
    )
    application = make_app(view_kind(kind))
    fr.include_view(application, two_writes(view_kind(kind)))
    try:
        yield application
    finally:
        await fr_globals.dispose()
        fr.idempotency_metadata.drop_all(direct)
        direct.dispose()


def view_kind(kind: str) -> str:
    return "sync" if kind == "sync" else "async"


def two_writes(kind: str) -> type:
    """A user route writing two rows, each flushed: a reset between them must keep neither."""
    if kind == "async":

        class AsyncPair(fr.View):
            prefix = "/pair"
            session: fr.AsyncSessionDep

            @fr.post("", status_code=201)
            async def add(self) -> int:
                self.session.add(Thing(count=1, label="first-row"))
                await self.session.flush()
                self.session.add(Thing(count=2, label="second-row"))
                await self.session.flush()
                return 2

        return AsyncPair

    class SyncPair(fr.View):
        prefix = "/pair"
        session: fr.SessionDep

        @fr.post("", status_code=201)
        def add(self) -> int:
            self.session.add(Thing(count=1, label="first-row"))
            self.session.flush()
            self.session.add(Thing(count=2, label="second-row"))
            self.session.flush()
            return 2

    return SyncPair


async def timed(request: Any) -> tuple[Any, float]:
    """Await ``request``, failing the test past ``HANG`` seconds; return it and its time."""
    started = time.monotonic()
    with anyio.fail_after(HANG):
        response = await request
    return response, time.monotonic() - started


async def recovery_time(client: Any, path: str) -> float:
    """Seconds from now until ``path`` answers 200 again (polled, at most 100 times)."""
    started = time.monotonic()
    for _ in range(100):
        with anyio.fail_after(HANG):
            response = await client.get(path)
        if response.status_code == 200:
            return time.monotonic() - started
        await anyio.sleep(0.05)
    raise AssertionError(f"still {response.status_code} after 100 tries: {response.text}")


def report(what: str, kind: str, database: Any, seconds: float) -> None:
    print(f"\n[network] {what} ({database.dialect}, {kind}): {seconds * 1000:.0f} ms")


# --- latency ---------------------------------------------------------------------------------


@drivers
@pytest.mark.parametrize("latency", [0.05, 0.2])
async def test_added_latency_slows_requests_but_they_succeed(
    app: Any, link: FaultyLink, database: Any, kind: str, client_for: Any, latency: float
) -> None:
    client = client_for(app)
    things = f"/{view_kind(kind)}/things"
    link.delay(latency)

    created, seconds = await timed(client.post(things, json=thing(label="slow")))
    assert created.status_code == 201, created.text
    report(f"create at +{latency * 1000:.0f} ms", kind, database, seconds)
    path = f"{things}/{created.json()['id']}"
    assert (await client.get(path)).json()["label"] == "slow"
    patched = await client.patch(path, json={"label": "slower"})
    assert patched.status_code == 200, patched.text
    assert [row["label"] for row in (await client.get(things)).json()] == ["slower"]
    assert (await client.delete(path)).status_code == 204
    assert labels(database) == []
    assert link.connections >= 1  # the requests did go through the link


# --- resets ----------------------------------------------------------------------------------


@drivers
async def test_a_reset_between_two_writes_answers_503_and_commits_neither(
    app: Any, link: FaultyLink, database: Any, kind: str, client_for: Any
) -> None:
    client = client_for(app)
    link.reset_on(b"second-row", deliver=False)  # the first INSERT went through

    response, _ = await timed(client.post("/pair"))

    assert link.fired == {"reset_on": 1}
    assert_clean_503(response)
    assert labels(database) == []
    await serve_again(client, view_kind(kind), database)


@drivers
async def test_a_reset_in_the_middle_of_a_statement_answers_503_and_commits_nothing(
    app: Any, link: FaultyLink, database: Any, kind: str, client_for: Any
) -> None:
    """The connection is reset 4,000 bytes into a 20,000-byte INSERT: the server got half
    a message."""
    client = client_for(app)
    things = f"/{view_kind(kind)}/things"
    assert (await client.get(things)).status_code == 200  # a pooled connection, warmed up
    link.reset_after(4000)

    response, _ = await timed(client.post(things, json=thing(label="cut", notes="n" * 20000)))

    assert link.fired == {"reset_after": 1}
    assert_clean_503(response)
    assert labels(database) == []
    await serve_again(client, view_kind(kind), database)


@drivers
async def test_resetting_every_connection_fails_no_request_that_follows(
    app: Any, link: FaultyLink, database: Any, kind: str, client_for: Any
) -> None:
    """Pooled connections reset while idle: the pre-ping finds them dead and reconnects."""
    client = client_for(app)
    things = f"/{view_kind(kind)}/things"
    assert (await client.post(things, json=thing(label="before"))).status_code == 201
    assert link.reset_all() >= 1

    response, seconds = await timed(client.get(things))

    assert response.status_code == 200, response.text
    report("first request after every connection was reset", kind, database, seconds)
    await serve_again(client, view_kind(kind), database)


# --- a COMMIT that reached the server, and whose answer was lost -----------------------------

#: COMMIT as each protocol sends it: PostgreSQL's query message (asyncpg adds a ";"), MySQL's
#: COM_QUERY (which ``SET AUTOCOMMIT = 0`` does not match).
COMMIT = {"postgresql": re.compile(rb"COMMIT;?\x00"), "mariadb": re.compile(rb"\x03COMMIT")}


@drivers
async def test_a_lost_commit_answer_says_the_outcome_is_unknown_and_a_keyed_retry_replays(
    app: Any, link: FaultyLink, database: Any, kind: str, client_for: Any
) -> None:
    client = client_for(app)
    things = f"/{view_kind(kind)}/things"
    key = {"Idempotency-Key": '"network-retry-1"'}
    link.reset_on(COMMIT[database.dialect], deliver=True)

    lost, _ = await timed(client.post(things, json=thing(label="maybe"), headers=key))

    assert link.fired == {"reset_on": 1}
    assert_outcome_unknown(lost)
    assert labels(database) == ["maybe"]  # it did commit
    retried, _ = await timed(client.post(things, json=thing(label="maybe"), headers=key))
    assert retried.status_code == 201, retried.text
    assert retried.json()["label"] == "maybe"
    assert labels(database) == ["maybe"]  # replayed, not written twice
    assert [row["id"] for row in (await client.get(things)).json()] == [retried.json()["id"]]


@drivers
async def test_a_lost_commit_answer_of_a_patch_says_the_outcome_is_unknown(
    app: Any, link: FaultyLink, database: Any, kind: str, client_for: Any
) -> None:
    client = client_for(app)
    things = f"/{view_kind(kind)}/things"
    created = (await client.post(things, json=thing(label="before"))).json()
    link.reset_on(COMMIT[database.dialect], deliver=True)

    lost, _ = await timed(client.patch(f"{things}/{created['id']}", json={"label": "after"}))

    assert link.fired == {"reset_on": 1}
    assert_outcome_unknown(lost)
    assert labels(database) == ["after"]
    await serve_again(client, view_kind(kind), database)


# --- a blackholed link -----------------------------------------------------------------------


@drivers
async def test_a_blackholed_link_answers_503_within_the_timeouts_and_recovers_when_healed(
    app: Any, link: FaultyLink, database: Any, kind: str, client_for: Any
) -> None:
    """Every connection reset, and the link then accepts connections it never forwards: each
    request answers 503 once the connect timeout expires; healed, the app serves again."""
    client = client_for(app)
    things = f"/{view_kind(kind)}/things"
    assert (await client.post(things, json=thing(label="before"))).status_code == 201
    link.reset_all()
    link.blackhole()

    for request in (client.get(things), client.post(things, json=thing(label="lost"))):
        response, seconds = await timed(request)
        assert_clean_503(response)
    report("503 on a blackholed link", kind, database, seconds)

    link.heal()
    report("recovery after the link healed", kind, database, await recovery_time(client, things))
    assert labels(database) == ["before"]
    await serve_again(client, view_kind(kind), database)


SILENT_DRIVERS = [p for p in DRIVERS if p.id != "aiomysql"]  # aiomysql: no read timeout


@pytest.mark.parametrize(("db_urls", "kind"), SILENT_DRIVERS, indirect=["db_urls"])
async def test_a_link_gone_silent_answers_503_within_the_timeouts_and_recovers(
    app: Any, link: FaultyLink, database: Any, kind: str, client_for: Any
) -> None:
    """Open connections stop getting answers (nothing is reset: a partition): the client's
    own bound on each wait (``statement_timeout`` + 1 s) answers 503; healed, the app
    serves again without a restart."""
    client = client_for(app)
    things = f"/{view_kind(kind)}/things"
    created = (await client.post(things, json=thing(label="before"))).json()
    link.blackhole()

    response, seconds = await timed(client.patch(f"{things}/{created['id']}", json=thing()))
    assert_clean_503(response)
    report("503 on a link gone silent", kind, database, seconds)

    link.heal()
    report("recovery after the silence", kind, database, await recovery_time(client, things))
    assert labels(database) == ["before"]
    await serve_again(client, view_kind(kind), database)
