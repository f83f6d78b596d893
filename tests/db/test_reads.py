"""restly.db._reads: a list's page is read and, when nothing is left to read, committed in
the same step; a count the page leaves to run still shares the page's transaction.

Observed over HTTP, through the engines' own events: every list request is one transaction
(one BEGIN, its statements, one COMMIT), whichever step commits it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import String, event, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "rd_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(40))


@pytest.fixture(params=["async", "sync"])
def view_base(request: pytest.FixtureRequest) -> type:
    return fr.AsyncRestView if request.param == "async" else fr.RestView


@pytest.fixture
def steps(database: Any, fr_globals: fr.FRGlobals) -> Iterator[list[str]]:
    """What both engines do, in order: "begin", "commit", "rollback" and each statement's
    first word (seeded first, so the seeding is not recorded)."""
    with fr_globals.get_engine().begin() as connection:
        connection.execute(insert(Note), [{"id": i, "body": f"note {i}"} for i in range(1, 4)])
    recorded: list[str] = []
    engines = [fr_globals.get_engine(), fr_globals.get_async_engine().sync_engine]

    def begin(_connection: Any) -> None:
        recorded.append("begin")

    def commit(_connection: Any) -> None:
        recorded.append("commit")

    def rollback(_connection: Any) -> None:
        recorded.append("rollback")

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        recorded.append(text.split(None, 1)[0].upper())

    listeners = [("begin", begin), ("commit", commit), ("rollback", rollback),
                 ("before_cursor_execute", statement)]  # fmt: skip
    for engine in engines:
        for name, listener in listeners:
            event.listen(engine, name, listener)
    yield recorded
    for engine in engines:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def notes_app(view_base: type, **options: Any) -> FastAPI:
    app = FastAPI()
    view = type(
        "NoteView",
        (view_base,),
        {"prefix": "/notes", "model": Note, "include_pagination_metadata": True, **options},
    )
    fr.include_view(app, view)
    return app


def transactions(recorded: list[str]) -> list[list[str]]:
    """``recorded`` cut into transactions (pool pings and rollbacks on checkin dropped)."""
    found: list[list[str]] = []
    for step in recorded:
        if step == "begin":
            found.append([])
        elif found and found[-1][-1:] != ["commit"]:
            found[-1].append(step)
    return found


async def test_a_page_carrying_its_total_is_read_and_committed_in_one_transaction(
    view_base: type, steps: list[str], client_for: Any
) -> None:
    client = client_for(notes_app(view_base))
    response = await client.get("/notes", params={"order_by": "id"})
    assert response.status_code == 200
    assert response.json()["total"] == 3 and len(response.json()["items"]) == 3
    assert transactions(steps) == [["SELECT", "commit"]]


async def test_a_page_past_the_end_counts_in_the_same_transaction(
    view_base: type, steps: list[str], client_for: Any
) -> None:
    """Past the last page no row carries the total: the count runs after the page, before
    the one COMMIT."""
    client = client_for(notes_app(view_base))
    response = await client.get("/notes", params={"page": 3, "page_size": 2})
    assert response.status_code == 200
    assert response.json()["items"] == [] and response.json()["total"] == 3
    assert transactions(steps) == [["SELECT", "SELECT", "commit"]]


async def test_a_transaction_open_before_the_page_is_committed_by_the_request(
    view_base: type, steps: list[str], client_for: Any
) -> None:
    """An ``authorize`` that reads opens the transaction: the page joins it, and the
    request's commit (not the page's read) ends it, once."""

    if view_base is fr.AsyncRestView:

        async def authorize(self: Any, action: str, obj: Any, data: Any) -> None:
            await self.session.get(Note, 1)

    else:

        def authorize(self: Any, action: str, obj: Any, data: Any) -> None:  # type: ignore[misc]
            self.session.get(Note, 1)

    client = client_for(notes_app(view_base, authorize=authorize))
    response = await client.get("/notes", params={"order_by": "id"})
    assert response.status_code == 200 and response.json()["total"] == 3
    assert transactions(steps) == [["SELECT", "SELECT", "commit"]]
