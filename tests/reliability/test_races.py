"""Concurrent requests on one row, with real concurrency: each request has its own session and
connection (async views interleave on the event loop, sync views run in the threadpool).

Semantics: a PATCH writes only the fields it was sent, so concurrent PATCHes of different
fields all survive and, for one field, the last write wins (no lost update of untouched
fields, no optimistic locking). A PATCH racing a DELETE answers 404 when the row was gone
before it looked or vanished before its write (see test_write_races.py). Of two DELETEs
of one row, one answers 204 and the other 404 (the row is locked before it is deleted).
Concurrent creates with one unique value: one 201, the others 409.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .models import Base, make_app, thing

__all__ = ["Base"]

pytestmark = pytest.mark.anyio

ROUNDS = 5


@pytest.fixture(params=["postgresql", "mariadb"])
def db_urls(request: pytest.FixtureRequest) -> Any:
    """Server backends only: SQLite serialises writers (and may answer 503 while locked)."""
    from tests.conftest import mysql_urls, postgres_urls

    return postgres_urls() if request.param == "postgresql" else mysql_urls()


@pytest.fixture
def client(database: Any, kind: str, client_for: Any) -> Any:
    return client_for(make_app(kind))


async def test_concurrent_patches_and_deletes_answer_only_2xx_404_409(
    client: Any, kind: str
) -> None:
    things = f"/{kind}/things"
    seen: set[int] = set()
    for _ in range(ROUNDS):
        created = (await client.post(things, json=thing())).json()
        path = f"{things}/{created['id']}"
        requests = [client.patch(path, json={"count": n, "notes": f"n{n}"}) for n in range(8)]
        requests[3:3] = [client.delete(path), client.delete(path)]
        responses = await asyncio.gather(*requests)
        statuses = {response.status_code for response in responses}
        assert statuses <= {200, 204, 404, 409}, [r.text for r in responses]
        assert all(r.headers.get("content-type", "application/json") for r in responses)
        seen |= statuses
        assert (await client.get(path)).status_code == 404
        assert sum(r.status_code == 204 for r in responses) == 1  # one DELETE deleted it
    assert 204 in seen


async def test_concurrent_patches_keep_every_field_and_the_last_write_per_field(
    client: Any, kind: str
) -> None:
    things = f"/{kind}/things"
    created = (await client.post(things, json=thing())).json()
    path = f"{things}/{created['id']}"
    patches = [{"label": "a"}, {"notes": "b"}, {"ratio": 0.5}, {"count": 7}]
    patches += [{"small": n} for n in range(6)]
    responses = await asyncio.gather(*(client.patch(path, json=p) for p in patches))
    assert {r.status_code for r in responses} == {200}
    final = (await client.get(path)).json()
    assert (final["label"], final["notes"], final["ratio"], final["count"]) == ("a", "b", 0.5, 7)
    assert final["small"] in range(6)


async def test_concurrent_creates_with_one_unique_value_give_one_201(
    client: Any, kind: str
) -> None:
    owners = f"/{kind}/owners"
    for round_number in range(ROUNDS):
        name = f"same-{round_number}"
        responses = await asyncio.gather(*(client.post(owners, json={"name": name}) for _ in range(8)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 7, [r.text for r in responses]
    assert len((await client.get(owners)).json()) == ROUNDS
