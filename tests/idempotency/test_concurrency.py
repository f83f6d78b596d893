"""Exactly one execution under real concurrency: many identical requests with one key, sent
at once, on SQLite (a file database), PostgreSQL and MariaDB; async views interleave on the
event loop, sync views run in the threadpool, each request with its own connection.

While the first request runs, a duplicate is answered 409 with `Retry-After` (PostgreSQL,
MariaDB: at once; SQLite: after waiting `connect_timeout` for the write lock), or, once the
first committed, the first answer replayed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

import restly as fr

from .models import Base, count_items, make_view, stored_keys

__all__ = ["Base"]

pytestmark = pytest.mark.anyio

Serve = Callable[..., httpx.AsyncClient]
CONCURRENT = 20
SECONDS = 60


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def slow_commit(kind: str, seconds: float) -> Any:
    """A `before_action_commit` that keeps the write's transaction open for `seconds`."""
    if kind == "async":

        async def before(self: Any, action: str, new: Any, old: Any = None) -> None:
            await asyncio.sleep(seconds)

        return before

    def sync_before(self: Any, action: str, new: Any, old: Any = None) -> None:
        time.sleep(seconds)

    return sync_before


def check_answers(responses: list[httpx.Response]) -> httpx.Response:
    """Every answer is the one execution, its replay, or a 409 to retry; return the first."""
    executed = [r for r in responses if r.status_code in (200, 201) and "idempotent-replayed" not in r.headers]
    assert len(executed) == 1, [(r.status_code, r.text) for r in responses]
    [first] = executed
    for response in responses:
        if response.status_code == 409:
            assert response.headers["retry-after"] == "1", response.text
            assert "Idempotency-Key is still being processed" in response.json()["detail"]
        else:
            assert response.status_code == first.status_code, response.text
            assert response.content == first.content
    return first


async def test_concurrent_posts_with_one_key_create_one_row(
    serve: Serve, kind: str, fr_globals: fr.FRGlobals
) -> None:
    calls: list[str] = []
    client = serve(make_view(kind, calls, before_action_commit=slow_commit(kind, 0.2)))
    with anyio.fail_after(SECONDS):
        for round_ in range(2):
            headers = {"Idempotency-Key": f'"round-{round_}"'}
            body = {"name": f"item-{round_}"}
            responses = await asyncio.gather(
                *(client.post("/items", json=body, headers=headers) for _ in range(CONCURRENT))
            )
            first = check_answers(list(responses))
            again = await client.post("/items", json=body, headers=headers)
            assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert count_items(fr_globals) == 2
    assert calls.count("after:create") == 2  # one execution per key, hooks included
    assert len(stored_keys(fr_globals)) == 2


async def test_concurrent_patches_with_one_key_apply_once(
    serve: Serve, kind: str, fr_globals: fr.FRGlobals
) -> None:
    calls: list[str] = []
    client = serve(make_view(kind, calls, before_action_commit=slow_commit(kind, 0.2)))
    item = (await client.post("/items", json={"name": "a"})).json()
    with anyio.fail_after(SECONDS):
        responses = await asyncio.gather(
            *(
                client.patch(f"/items/{item['id']}", json={"count": 5}, headers={"Idempotency-Key": "p"})
                for _ in range(CONCURRENT)
            )
        )
    check_answers(list(responses))
    assert calls.count("after:update") == 1


async def test_a_duplicate_while_the_first_runs_is_409_then_replayed(
    serve: Serve, kind: str, fr_globals: fr.FRGlobals, keyed: Any
) -> None:
    if keyed.dialect == "sqlite":
        fr.configure(connect_timeout=0.5)  # how long the duplicate waits for the write lock
    started, release = threading.Event(), threading.Event()

    def hold(self: Any, action: str, new: Any, old: Any = None) -> None:
        started.set()
        assert release.wait(SECONDS)

    async def async_hold(self: Any, action: str, new: Any, old: Any = None) -> None:
        started.set()
        await anyio.to_thread.run_sync(release.wait, SECONDS)

    client = serve(make_view(kind, before_action_commit=async_hold if kind == "async" else hold))
    headers = {"Idempotency-Key": '"held"'}
    with anyio.fail_after(SECONDS):
        first = asyncio.ensure_future(client.post("/items", json={"name": "a"}, headers=headers))
        await anyio.to_thread.run_sync(started.wait, SECONDS)
        duplicate = await client.post("/items", json={"name": "a"}, headers=headers)
        assert duplicate.status_code == 409, duplicate.text
        assert duplicate.headers["retry-after"] == "1"
        release.set()
        answer = await first
        assert answer.status_code == 201, answer.text
        retried = await client.post("/items", json={"name": "a"}, headers=headers)
    assert retried.status_code == 201 and retried.headers["idempotent-replayed"] == "true"
    assert retried.content == answer.content
    assert count_items(fr_globals) == 1
