"""How many requests of sync views run their endpoint at once (``fr.configure(sync_threads=)``,
``restly.db._threads``): 6 by default, what ``configure`` says otherwise, also after the app
started; the requests beyond it wait and are answered. On every backend."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.exc import RestlyConfigurationError

pytestmark = pytest.mark.anyio

REQUESTS = 12
#: Seconds an endpoint waits for the others it expects beside it (only a broken limit waits).
PATIENCE = 10.0


class Base(DeclarativeBase):
    pass


class Lamp(Base):
    __tablename__ = "sync_threads_lamp"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


class Occupancy:
    """Counts the endpoints inside ``authorize`` at once; each waits until ``expected`` are
    there, or all the requests not yet done (or ``PATIENCE`` passed), so the peak shows the
    limit rather than the timing."""

    def __init__(self) -> None:
        self.expected = 0
        self.inside = self.peak = self.done = 0
        self.changed = threading.Condition()

    def expect(self, expected: int) -> None:
        self.expected, self.peak, self.done = expected, 0, 0

    def visit(self) -> None:
        with self.changed:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
            self.changed.notify_all()
            self.changed.wait_for(
                lambda: self.inside >= min(self.expected, REQUESTS - self.done), timeout=PATIENCE
            )
            self.changed.wait(timeout=0.05)  # room for one more, were the limit broken
            self.inside -= 1
            self.done += 1
            self.changed.notify_all()


def lamp_app(occupancy: Occupancy) -> FastAPI:
    class LampView(fr.RestView):
        prefix = "/lamps"
        model = Lamp

        def authorize(self, action: str, obj: Any = None, data: Any = None) -> None:
            occupancy.visit()

    app = FastAPI()
    fr.include_view(app, LampView)
    return app


async def gets(client: httpx.AsyncClient, lamp_id: int) -> list[httpx.Response]:
    return await asyncio.gather(*(client.get(f"/lamps/{lamp_id}") for _ in range(REQUESTS)))


async def created(client: httpx.AsyncClient) -> int:
    answer = await client.post("/lamps", json={"name": "desk"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


@pytest.mark.parametrize(
    ("sync_threads", "peak"), [(None, 6), (2, 2), (REQUESTS, REQUESTS)], ids=["default", "2", "12"]
)
async def test_sync_endpoints_run_at_most_sync_threads_at_once(
    database: Any,
    client_for: Callable[[FastAPI], httpx.AsyncClient],
    sync_threads: int | None,
    peak: int,
) -> None:
    if sync_threads is not None:
        fr.configure(sync_threads=sync_threads)
    occupancy = Occupancy()  # the create passes straight through
    client = client_for(lamp_app(occupancy))
    lamp_id = await created(client)
    occupancy.expect(peak)
    answers = await gets(client, lamp_id)
    assert [answer.status_code for answer in answers] == [200] * REQUESTS
    assert {answer.json()["name"] for answer in answers} == {"desk"}
    assert occupancy.peak == peak


async def test_a_new_sync_threads_applies_to_a_running_app(
    database: Any, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    occupancy = Occupancy()
    client = client_for(lamp_app(occupancy))
    lamp_id = await created(client)
    for limit in (3, 5):
        fr.configure(sync_threads=limit)
        occupancy.expect(limit)
        answers = await gets(client, lamp_id)
        assert [answer.status_code for answer in answers] == [200] * REQUESTS
        assert occupancy.peak == limit


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "4", None])
def test_configure_refuses_a_sync_threads_that_is_not_a_positive_int(
    fr_globals: fr.FRGlobals, value: Any
) -> None:
    with pytest.raises(RestlyConfigurationError) as raised:
        fr.configure(sync_threads=value)
    assert str(raised.value) == (
        "configure(sync_threads=...) must be a number of threads (an int >= 1); "
        f"got {value!r}. Use e.g. sync_threads=6."
    )
    assert fr_globals.sync_threads == 6
