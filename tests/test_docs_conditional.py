"""docs/conditional-requests.md: the safe read-modify-write client, run against its server."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import httpx
import pytest

import restly as fr
from tests.test_docs_examples import fr_globals, load, serve  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


async def test_concurrent_read_modify_writes_retry_on_412_and_lose_nothing(
    load: Any, fr_globals: fr.FRGlobals  # noqa: F811
) -> None:
    example = load("conditional_client")
    async with serve(example.app, fr_globals) as client:
        created = await client.post("/accounts", json={"owner": "ann"})
        assert (created.status_code, created.headers["ETag"]) == (201, '"1"')
        url = created.headers["Location"]
        refused = await client.patch(url, json={"balance": 5})
        assert refused.status_code == 428 and "If-Match" in refused.json()["detail"]

        statuses: list[int] = []

        async def record(response: httpx.Response) -> None:
            if response.request.method == "PATCH":
                statuses.append(response.status_code)

        client.event_hooks["response"].append(record)
        with anyio.fail_after(60):
            results = await asyncio.gather(*(example.deposit(client, url, 10) for _ in range(10)))
        account = (await client.get(url)).json()
    assert account["balance"] == 100  # no deposit lost
    assert sorted(result["balance"] for result in results) == list(range(10, 101, 10))
    assert statuses.count(200) == 10 and 412 in statuses  # losers of a race retried
    assert set(statuses) == {200, 412}
