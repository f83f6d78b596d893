"""Concurrent writes of one row on every backend, SQLite (a file database) included.

Ten DELETEs of one row: exactly one answers 204 (react-admin: 200 with the record), the others
404. A PATCH racing a DELETE answers 200 (it ran first) or 404 (the row was gone), never 409.
Async views interleave on the event loop, sync views run in the threadpool; each request has
its own session and connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

import restly as fr

from .models import Base, Thing, thing

__all__ = ["Base"]

pytestmark = pytest.mark.anyio

ROUNDS = 3
DELETES = 10
SECONDS = 60

VIEW_BASES = {
    "async": fr.AsyncRestView,
    "sync": fr.RestView,
    "async-ra": fr.AsyncReactAdminView,
    "sync-ra": fr.ReactAdminView,
}


@pytest.fixture(params=list(VIEW_BASES))
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(database: Any, flavour: str, client_for: Any) -> Any:
    app = FastAPI()
    namespace = {"prefix": "/things", "model": Thing}
    fr.include_view(app, type("RaceThingView", (VIEW_BASES[flavour],), namespace))
    return client_for(app)


def _deleted_status(flavour: str) -> int:
    return 200 if flavour.endswith("-ra") else 204


async def _rows(fr_globals: fr.FRGlobals) -> int:
    async with fr.async_session(fr_globals) as session:
        return int(await session.scalar(select(func.count()).select_from(Thing)) or 0)


async def test_of_concurrent_deletes_of_one_row_exactly_one_succeeds(
    client: Any, flavour: str, fr_globals: fr.FRGlobals
) -> None:
    keep = (await client.post("/things", json=thing(label="keep"))).json()
    deleted = _deleted_status(flavour)
    with anyio.fail_after(SECONDS):
        for _ in range(ROUNDS):
            created = (await client.post("/things", json=thing())).json()
            path = f"/things/{created['id']}"
            responses = await asyncio.gather(*(client.delete(path) for _ in range(DELETES)))
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [deleted] + [404] * (DELETES - 1), [r.text for r in responses]
            assert (await client.get(path)).status_code == 404
    assert await _rows(fr_globals) == 1
    assert (await client.get(f"/things/{keep['id']}")).status_code == 200


async def test_a_patch_racing_a_delete_answers_200_or_404(
    client: Any, flavour: str, fr_globals: fr.FRGlobals
) -> None:
    deleted = _deleted_status(flavour)
    seen: set[int] = set()
    with anyio.fail_after(SECONDS):
        for _ in range(ROUNDS):
            created = (await client.post("/things", json=thing())).json()
            path = f"/things/{created['id']}"
            requests = [client.patch(path, json={"count": n}) for n in range(4)]
            requests[2:2] = [client.delete(path), client.delete(path)]
            responses = await asyncio.gather(*requests)
            patches = [r.status_code for r in responses if r.request.method == "PATCH"]
            deletes = sorted(r.status_code for r in responses if r.request.method == "DELETE")
            assert set(patches) <= {200, 404}, [r.text for r in responses]
            assert deletes == [deleted, 404], [r.text for r in responses]
            seen |= set(patches)
            assert (await client.get(path)).status_code == 404
    assert await _rows(fr_globals) == 0
