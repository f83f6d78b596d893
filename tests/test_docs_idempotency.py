"""docs/idempotency.md, "Idempotent retries": the example run over HTTP as a reader would,
with a network that loses the first answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import restly as fr
from tests.test_docs_examples import fr_globals, load, serve  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


class LosingFirstAnswers(httpx.AsyncBaseTransport):
    """Delivers every request, and loses the answer of the first `lost` POSTs."""

    def __init__(self, inner: httpx.AsyncBaseTransport, lost: int) -> None:
        self.inner, self.lost = inner, lost

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and self.lost > 0:
            self.lost -= 1
            await response.aclose()
            raise httpx.ReadError("connection reset", request=request)
        return response


async def test_idempotency_orders(load: Any, fr_globals: fr.FRGlobals) -> None:  # noqa: F811
    example = load("idempotency_orders")
    ann = {"X-User": "ann"}
    async with serve(example.app, fr_globals) as plain:
        missing = await plain.post("/orders", json={"customer": "ann", "item": "tea", "quantity": 1}, headers=ann)
        assert (missing.status_code, missing.json()) == (400, {"detail": "This route requires an Idempotency-Key header"})
        lossy = httpx.AsyncClient(
            transport=LosingFirstAnswers(plain._transport, lost=2), base_url="http://test", headers=ann
        )
        async with lossy:
            order = await example.place_order(lossy, {"customer": "ann", "item": "tea", "quantity": 2})
        assert order["item"] == "tea" and order["quantity"] == 2
        listed = (await plain.get("/orders", headers=ann)).json()
        assert [o["id"] for o in listed] == [order["id"]]  # three attempts, one order
        second = await example.place_order(
            httpx.AsyncClient(transport=plain._transport, base_url="http://test", headers=ann),
            {"customer": "ann", "item": "tea", "quantity": 2},
        )
        assert second["id"] != order["id"]  # a new key is a new order
    async with fr_globals.get_async_sessionmaker()() as session:
        assert await session.scalar(select(func.count()).select_from(example.Order)) == 2
