"""What a keyed create costs in statements, on a view without hooks (whose create is one
``INSERT … RETURNING``, see ``restly.resource._single``), sync and async, on SQLite,
PostgreSQL and MariaDB — and that the cheaper path keeps every rule of the header.

On SQLite the claim rides on the create: ``INSERT … SELECT … WHERE`` the key is unclaimed,
then the key's row with its answer (two statements; a plain create is one). On PostgreSQL
the claim (with its advisory lock) is a CTE of the create, then the answer is stored (two
too). MariaDB reads the key locked, inserts it, creates, stores the answer (four).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import text, update

import restly as fr
from tests.statements_support import recording

from .models import Base, Dated, Item, count_items, stored_keys

__all__ = ["Base"]

pytestmark = pytest.mark.anyio

Serve = Callable[..., httpx.AsyncClient]
KEY = {"Idempotency-Key": '"statements"'}
#: The statements of a keyed create, by backend (first words).
KEYED_CREATE = {
    "sqlite": ["INSERT", "INSERT"],
    "postgresql": ["WITH", "UPDATE"],
    "mariadb": ["SELECT", "INSERT", "INSERT", "UPDATE"],
}
#: ... and of its replay: the claim fails, the stored answer is read.
REPLAY = {"sqlite": ["INSERT", "SELECT"], "postgresql": ["WITH", "SELECT"], "mariadb": ["SELECT"]}


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def plain_view(kind: str, **namespace: Any) -> type:
    """A view of `Item` without hooks: its create is one INSERT."""
    base = fr.AsyncRestView if kind == "async" else fr.RestView
    name = f"Plain{kind.title()}View{abs(hash(tuple(sorted(namespace))))}"
    return type(name, (base,), {"prefix": "/items", "model": Item, **namespace})


@pytest.fixture
def statements(fr_globals: fr.FRGlobals, keyed: Any) -> Iterator[list[str]]:
    """The statements sent to the database while the test runs, as their first word."""
    with recording(fr_globals) as sent:
        yield sent


async def test_a_keyed_create_and_its_replay_cost_these_statements(
    serve: Serve, kind: str, keyed: Any, statements: list[str], fr_globals: fr.FRGlobals
) -> None:
    client = serve(plain_view(kind))
    plain = await client.post("/items", json={"name": "plain"})
    assert plain.status_code == 201 and statements == ["INSERT"]
    statements.clear()
    first = await client.post("/items", json={"name": "a"}, headers=KEY)
    assert first.status_code == 201, first.text
    assert first.json() == {"id": first.json()["id"], "name": "a", "count": 0}  # defaults
    assert first.headers["Location"].endswith(f"/items/{first.json()['id']}")
    assert statements == KEYED_CREATE[keyed.dialect]
    statements.clear()
    again = await client.post("/items", json={"name": "a"}, headers=KEY)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["Location"] == first.headers["Location"]
    assert statements == REPLAY[keyed.dialect]
    assert count_items(fr_globals) == 2
    [stored] = stored_keys(fr_globals)
    assert (stored.status, stored.body) == (201, first.text)


#: A create claiming its key first, then storing the answer (MariaDB: a locked read first).
CLAIM_FIRST = {
    "sqlite": ["INSERT", "INSERT", "UPDATE"],
    "postgresql": ["INSERT", "INSERT", "UPDATE"],
    "mariadb": ["SELECT", "INSERT", "INSERT", "UPDATE"],
}


async def test_a_default_computed_in_python_keeps_the_claim_first(
    serve: Serve, kind: str, keyed: Any, statements: list[str]
) -> None:
    client = serve(plain_view(kind, model=Dated))
    statements.clear()
    first = await client.post("/items", json={"name": "a"}, headers=KEY)
    assert first.status_code == 201 and first.json()["day"] == "2020-01-02"
    assert statements == CLAIM_FIRST[keyed.dialect]
    again = await client.post("/items", json={"name": "a"}, headers=KEY)
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"


async def test_the_same_key_with_another_body_is_422_and_inserts_nothing(
    serve: Serve, kind: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(plain_view(kind))
    assert (await client.post("/items", json={"name": "a"}, headers=KEY)).status_code == 201
    other = await client.post("/items", json={"name": "b"}, headers=KEY)
    assert other.status_code == 422, other.text
    assert count_items(fr_globals) == 1


async def test_a_minimal_keyed_create_is_replayed_as_it_was_answered(
    serve: Serve, kind: str
) -> None:
    client = serve(plain_view(kind))
    headers = {**KEY, "Prefer": "return=minimal"}
    first = await client.post("/items", json={"name": "a"}, headers=headers)
    assert (first.status_code, first.content) == (201, b"")
    again = await client.post("/items", json={"name": "a"}, headers=headers)
    assert (again.status_code, again.content) == (201, b"")
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Preference-Applied"] == "return=minimal"


async def test_an_expired_key_runs_anew(serve: Serve, kind: str, fr_globals: fr.FRGlobals) -> None:
    client = serve(plain_view(kind))
    first = await client.post("/items", json={"name": "a"}, headers=KEY)
    table = fr.idempotency.idempotency_keys
    with fr_globals.get_sessionmaker()() as session:
        session.execute(update(table).values(expires_at=table.c.expires_at - 86_400 - 1))
        session.commit()
    again = await client.post("/items", json={"name": "b"}, headers=KEY)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    [stored] = stored_keys(fr_globals)
    assert (stored.status, stored.body) == (201, again.text)
    assert (await client.post("/items", json={"name": "b"}, headers=KEY)).content == again.content


async def test_a_failed_keyed_create_leaves_the_key_free(
    serve: Serve, kind: str, fr_globals: fr.FRGlobals
) -> None:
    """A unique violation (409) rolls back the create and the key: a retry runs."""
    client = serve(plain_view(kind))
    await client.post("/items", json={"name": "taken"})
    refused = await client.post("/items", json={"name": "taken"}, headers=KEY)
    assert refused.status_code == 409, refused.text
    assert stored_keys(fr_globals) == []
    with fr_globals.get_sessionmaker()() as session:
        session.execute(update(Item).values(name="renamed"))
        session.commit()
    assert (await client.post("/items", json={"name": "taken"}, headers=KEY)).status_code == 201


async def test_an_etag_view_s_keyed_create_answers_and_replays_the_tag_get_answers(
    serve: Serve, kind: str
) -> None:
    client = serve(plain_view(kind, etag=True))
    first = await client.post("/items", json={"name": "a"}, headers=KEY)
    assert first.status_code == 201
    read = await client.get(f"/items/{first.json()['id']}")
    assert first.headers["ETag"] == read.headers["ETag"]
    again = await client.post("/items", json={"name": "a"}, headers=KEY)
    assert again.headers["ETag"] == first.headers["ETag"]


async def test_concurrent_keyed_creates_of_one_key_create_one_row(
    serve: Serve, kind: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(plain_view(kind))
    with anyio.fail_after(60):
        for round_ in range(2):
            headers = {"Idempotency-Key": f'"round-{round_}"'}
            body = {"name": f"item-{round_}"}
            answers = await asyncio.gather(*(client.post("/items", json=body, headers=headers) for _ in range(20)))
            executed = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
            assert len(executed) == 1, [(a.status_code, a.text) for a in answers]
            for answer in answers:
                assert answer.status_code in (201, 409), answer.text
                if answer.status_code == 201:
                    assert answer.content == executed[0].content
                else:
                    assert answer.headers["retry-after"] == "1"
    assert count_items(fr_globals) == 2
    assert len(stored_keys(fr_globals)) == 2


@pytest.mark.parametrize("db_urls", ["sqlite"], indirect=True)  # servers: test_concurrency.py
async def test_a_keyed_create_that_cannot_take_sqlite_s_write_lock_is_409(
    serve: Serve, kind: str, keyed: Any, fr_globals: fr.FRGlobals
) -> None:
    """Another connection holds the write lock (maybe the key's first request): after
    `connect_timeout` the create answers 409 with Retry-After, as a claim does, and then
    runs once the lock is free."""
    fr.configure(connect_timeout=0.3)
    client = serve(plain_view(kind))
    holder = sqlite3.connect(fr_globals.get_engine().url.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with anyio.fail_after(30):
            refused = await client.post("/items", json={"name": "a"}, headers=KEY)
        assert refused.status_code == 409, refused.text
        assert refused.headers["retry-after"] == "1"
    finally:
        holder.rollback()
        holder.close()
    assert count_items(fr_globals) == 0 and stored_keys(fr_globals) == []
    assert (await client.post("/items", json={"name": "a"}, headers=KEY)).status_code == 201


@pytest.mark.parametrize("db_urls", ["postgresql"], indirect=True)  # SQLite: the test above
async def test_a_keyed_create_whose_key_another_transaction_holds_is_409_at_once(
    serve: Serve, kind: str, keyed: Any, fr_globals: fr.FRGlobals
) -> None:
    """The key's advisory lock is held by another transaction (the key's first request, in
    flight): the create answers 409 with Retry-After without waiting, and writes nothing."""
    client = serve(plain_view(kind))
    lookup = fr.idempotency.IdempotentRequest("statements", "").lookup("")
    lock = int.from_bytes(bytes.fromhex(lookup[:16]), "big", signed=True)
    with fr_globals.get_engine().connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})
        with anyio.fail_after(10):
            refused = await client.post("/items", json={"name": "a"}, headers=KEY)
        assert refused.status_code == 409, refused.text
        assert refused.headers["retry-after"] == "1"
        holder.rollback()
    assert count_items(fr_globals) == 0 and stored_keys(fr_globals) == []
    created = await client.post("/items", json={"name": "a"}, headers=KEY)
    assert created.status_code == 201 and "idempotent-replayed" not in created.headers
