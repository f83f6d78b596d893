"""The database going away in the middle of a request: killed between two statements or just
before the COMMIT, in restly's views and in user routes. Every case answers 503 with
``Retry-After``, commits nothing, and the same app serves the next request. SQLite has no
server connection to lose: these run on PostgreSQL and MariaDB."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

import restly as fr
from restly.db._engine import build_async_engine, build_engine

from .models import Base, Thing, make_app, thing, view_base
from .outages import (
    OWN_ID,
    assert_clean_503,
    assert_outcome_unknown,
    committing_route,
    kill,
    labels,
    serve_again,
    servers,
)

__all__ = ["Base"]  # the ``database`` fixture creates the tables of this module's Base

pytestmark = pytest.mark.anyio


def killing(kind: str, database: Any, seam: str, *, flush: bool = False) -> Any:
    """An override of ``seam`` that does the real work, then has the server kill the
    request's own connection; with ``flush``, the writes are flushed first, so the next
    statement the request sends is its COMMIT."""
    base = view_base(kind)
    original = getattr(base, seam)
    own_id = text(OWN_ID[database.dialect])
    if kind == "async":

        async def override(self: Any, *args: Any) -> Any:
            result = await original(self, *args)
            if flush:
                await self.session.flush()
            kill(database, await self.session.scalar(own_id))
            return result

    else:

        def override(self: Any, *args: Any) -> Any:  # type: ignore[misc]
            result = original(self, *args)
            if flush:
                self.session.flush()
            kill(database, self.session.scalar(own_id))
            return result

    return override


# --- 1 and 2: the connection dies between statements, or just before COMMIT ------------------


@servers
@pytest.mark.parametrize(
    ("method", "seam", "flush"),
    [
        ("PATCH", "update_object", False),  # after the SELECT, before the UPDATE
        ("PATCH", "save_object", True),  # after the UPDATE, before the COMMIT
        ("DELETE", "delete_object", False),  # after the DELETE, before the COMMIT
    ],
    ids=[
        "patch-before-the-update",
        "patch-before-the-commit",
        "delete-before-the-commit",
    ],
)
async def test_a_connection_killed_between_statements_answers_503_and_commits_nothing(
    database: Any, kind: str, client_for: Any, method: str, seam: str, flush: bool
) -> None:
    app = make_app(kind)
    dying = killing(kind, database, seam, flush=flush)
    namespace = {"prefix": "/dying", "model": Thing, seam: dying}
    fr.include_view(app, type("DyingView", (view_base(kind),), namespace))
    client = client_for(app)
    created = (await client.post(f"/{kind}/things", json=thing(label="before"))).json()

    body = {"label": "after"} if method == "PATCH" else None
    assert_clean_503(await client.request(method, f"/dying/{created['id']}", json=body))

    assert labels(database) == ["before"]
    await serve_again(client, kind, database)


@servers
async def test_a_connection_killed_before_the_commit_of_a_create_answers_503(
    database: Any, kind: str, client_for: Any
) -> None:
    app = make_app(kind)
    save_object = killing(kind, database, "save_object", flush=True)
    namespace = {"prefix": "/dying", "model": Thing, "save_object": save_object}
    fr.include_view(app, type("DyingView", (view_base(kind),), namespace))
    client = client_for(app)

    assert_clean_503(await client.post("/dying", json=thing(label="lost")))

    assert labels(database) == []
    await serve_again(client, kind, database)


def dying_route(kind: str, database: Any) -> type:
    """A user route that writes, flushes and loses its connection: the dependency's COMMIT
    is the statement that fails."""
    own_id = text(OWN_ID[database.dialect])
    if kind == "async":

        class AsyncDying(fr.View):
            prefix = "/route"
            session: fr.AsyncSessionDep

            @fr.post("", status_code=201)
            async def add(self) -> int:
                self.session.add(Thing(count=1, label="lost"))
                await self.session.flush()
                kill(database, await self.session.scalar(own_id))
                return 1

        return AsyncDying

    class SyncDying(fr.View):
        prefix = "/route"
        session: fr.SessionDep

        @fr.post("", status_code=201)
        def add(self) -> int:
            self.session.add(Thing(count=1, label="lost"))
            self.session.flush()
            kill(database, self.session.scalar(own_id))
            return 1

    return SyncDying


@servers
async def test_a_user_route_whose_connection_dies_before_the_commit_answers_503(
    database: Any, kind: str, client_for: Any
) -> None:
    app = make_app(kind)
    fr.include_view(app, dying_route(kind, database))
    client = client_for(app)

    assert_clean_503(await client.post("/route"))

    assert labels(database) == []
    await serve_again(client, kind, database)


# --- 2, at the COMMIT itself: the connection drops just before it ------------------------------


def die_at_commit(engine: Any, database: Any) -> list[bool]:
    """Have ``engine``'s next COMMIT find its connection gone: a ``commit`` event, which runs
    just before the driver's COMMIT, kills the connection. Returns the switch that arms it
    for one COMMIT."""
    armed = [False]

    @event.listens_for(engine, "connect")
    def remember_server_id(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(OWN_ID[database.dialect])
        record.info["server_id"] = cursor.fetchone()[0]
        cursor.close()

    @event.listens_for(engine, "commit")
    def drop_connection(connection: Any) -> None:
        if not armed[0]:
            return
        armed[0] = False
        kill(database, connection.info["server_id"])

    return armed


@servers
@pytest.mark.parametrize("request_kind", ["view-create", "view-update", "user-route"])
async def test_a_connection_lost_at_commit_commits_nothing_and_answers_what_the_client_knows(
    database: Any, kind: str, client_for: Any, request_kind: str
) -> None:
    """The connection is killed in the instant before the driver sends COMMIT (after restly
    checked it). psycopg reads the server's "terminating connection" error in answer: the
    COMMIT was refused, 503. The other drivers only see the connection end after sending
    COMMIT, which is what a COMMIT applied and then lost looks like: the honest answer is
    ``CommitOutcomeUnknown`` (500, no ``Retry-After``). Nothing is committed either way."""
    engine = build_engine(database.sync_url)
    async_engine = build_async_engine(database.async_url)
    fr.configure(engine=engine, async_engine=async_engine)
    armed = die_at_commit(
        async_engine.sync_engine if kind == "async" else engine, database
    )
    app = make_app(kind)
    fr.include_view(app, committing_route(kind))
    client = client_for(app)
    things = f"/{kind}/things"
    created = (await client.post(things, json=thing(label="before"))).json()

    armed[0] = True
    if request_kind == "view-create":
        response = await client.post(things, json=thing(label="lost"))
    elif request_kind == "view-update":
        response = await client.patch(
            f"{things}/{created['id']}", json={"label": "lost"}
        )
    else:
        response = await client.post("/commit")
    assert not armed[0]  # the COMMIT was reached, and failed
    if kind == "sync" and database.dialect == "postgresql":
        assert_clean_503(response)
    else:
        assert_outcome_unknown(response)

    assert labels(database) == ["before"]
    await serve_again(client, kind, database)
    await async_engine.dispose()
    engine.dispose()
