"""Column reads and single-statement writes skip ``Session.execute`` only where the ORM could
not change their rows (``restly.db.execute_rows``).

A user's ``do_orm_execute`` listener (a global soft-delete filter, say) shapes every ORM
statement a session runs; the generated routes must keep honouring it, whichever way restly
runs their statements. Without one, the same routes answer the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import String, event, insert, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    with_loader_criteria,
)

import restly as fr

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Memo(Base):
    __tablename__ = "cr_memo"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(100))
    archived: Mapped[bool] = mapped_column(default=False)


ROWS = [
    {"id": 1, "body": "kept", "archived": False},
    {"id": 2, "body": "archived", "archived": True},
    {"id": 3, "body": "also kept", "archived": False},
]


def _hide_archived(state: ORMExecuteState) -> None:
    """The soft-delete filter an application installs for every session."""
    if (state.is_select or state.is_update or state.is_delete) and not state.is_column_load:
        state.statement = state.statement.options(
            with_loader_criteria(Memo, Memo.archived.is_(False), include_aliases=True)
        )


@pytest.fixture
def soft_delete() -> Iterator[None]:
    event.listen(Session, "do_orm_execute", _hide_archived)
    try:
        yield
    finally:
        event.remove(Session, "do_orm_execute", _hide_archived)


@pytest.fixture(params=["async", "sync"])
def view_base(request: pytest.FixtureRequest) -> type:
    return fr.AsyncRestView if request.param == "async" else fr.RestView


@pytest.fixture
async def client(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> httpx.AsyncClient:
    with fr_globals.get_engine().begin() as connection:
        # without ids: the table is new, so they are 1, 2, 3 and the next one is 4
        connection.execute(insert(Memo), [{k: v for k, v in row.items() if k != "id"} for row in ROWS])
    app = FastAPI()
    view = type(
        "MemoView",
        (view_base,),
        {"prefix": "/memos", "model": Memo, "include_pagination_metadata": True},
    )
    fr.include_view(app, view)
    return client_for(app)  # type: ignore[no-any-return]


async def test_a_do_orm_execute_filter_hides_rows_from_get_and_list(
    soft_delete: None, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/memos/1")).json()["body"] == "kept"
    assert (await client.get("/memos/2")).status_code == 404
    listed = (await client.get("/memos")).json()
    assert [item["id"] for item in listed["items"]] == [1, 3]
    assert listed["total"] == 2


async def test_a_do_orm_execute_filter_guards_single_statement_writes(
    soft_delete: None, client: httpx.AsyncClient, fr_globals: fr.FRGlobals
) -> None:
    assert (await client.patch("/memos/2", json={"body": "changed"})).status_code == 404
    assert (await client.delete("/memos/2")).status_code == 404
    changed = await client.patch("/memos/1", json={"body": "changed"})
    assert changed.status_code == 200
    assert changed.json() == {"id": 1, "body": "changed", "archived": False}
    with fr_globals.get_engine().connect() as connection:  # Core: the filter does not apply
        stored = connection.execute(select(Memo.__table__.c.body).order_by(Memo.__table__.c.id))
        assert stored.scalars().all() == ["changed", "archived", "also kept"]


async def test_without_a_listener_every_row_is_answered(client: httpx.AsyncClient) -> None:
    assert (await client.get("/memos/2")).json() == ROWS[1]
    listed = (await client.get("/memos")).json()
    assert listed["items"] == ROWS
    created = await client.post("/memos", json={"body": "new"})
    assert created.status_code == 201
    assert created.json() == {"id": 4, "body": "new", "archived": False}
    assert (await client.patch("/memos/4", json={"archived": True})).json()["archived"] is True
    assert (await client.delete("/memos/4")).status_code == 204
    assert (await client.get("/memos/4")).status_code == 404
