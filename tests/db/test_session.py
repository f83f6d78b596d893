"""restly.db._session: the request dependencies commit, and roll back a COMMIT that fails.

The routes here are the user's own (``fr.View`` with ``fr.AsyncSessionDep`` /
``fr.SessionDep``): restly's REST views commit through their own path first, so only a user
route leaves the COMMIT to the dependency. The engines have a pool of one connection, so the
request after a failed COMMIT gets the very connection that failed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import ForeignKeyConstraint, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.db._engine import build_async_engine, build_engine

from ..conftest import DatabaseURLs

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Writer(Base):
    __tablename__ = "sess_writer"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(40))


class Note(Base):
    """A foreign key checked at COMMIT where the backend can defer it (PostgreSQL, SQLite).

    MariaDB cannot defer constraints: there the flush the dependency's commit starts with
    fails instead, which takes the same path out of the dependency.
    """

    __tablename__ = "sess_note"
    __table_args__ = (
        ForeignKeyConstraint(
            ["writer_id"], ["sess_writer.id"], deferrable=True, initially="DEFERRED"
        ).ddl_if(dialect=("postgresql", "sqlite")),
        ForeignKeyConstraint(["writer_id"], ["sess_writer.id"]).ddl_if(dialect="mysql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    writer_id: Mapped[int]


@pytest.fixture
async def one_connection(database: DatabaseURLs) -> AsyncIterator[DatabaseURLs]:
    """Reconfigure with restly-default engines whose pools hold exactly one connection."""
    engine = build_engine(database.sync_url, pool_size=1, max_overflow=0)
    async_engine = build_async_engine(database.async_url, pool_size=1, max_overflow=0)
    fr.configure(engine=engine, async_engine=async_engine)
    try:
        yield database
    finally:
        await async_engine.dispose()
        engine.dispose()


def async_notes() -> type:
    class Notes(fr.View):
        prefix = "/notes"
        session: fr.AsyncSessionDep

        @fr.post("", status_code=201)
        async def add(self, id: int, writer_id: int) -> int:
            self.session.add(Note(id=id, writer_id=writer_id))
            return id  # the dependency commits after this

        @fr.post("/writers", status_code=201)
        async def add_writer(self, id: int) -> int:
            self.session.add(Writer(id=id, name="Ann"))
            return id

        @fr.get("")
        async def ids(self) -> list[int]:
            return list(await self.session.scalars(select(Note.id).order_by(Note.id)))

    return Notes


def sync_notes() -> type:
    class Notes(fr.View):
        prefix = "/notes"
        session: fr.SessionDep

        @fr.post("", status_code=201)
        def add(self, id: int, writer_id: int) -> int:
            self.session.add(Note(id=id, writer_id=writer_id))
            return id

        @fr.post("/writers", status_code=201)
        def add_writer(self, id: int) -> int:
            self.session.add(Writer(id=id, name="Ann"))
            return id

        @fr.get("")
        def ids(self) -> list[int]:
            return list(self.session.scalars(select(Note.id).order_by(Note.id)))

    return Notes


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_failed_commit_answers_409_writes_nothing_and_frees_the_connection(
    one_connection: DatabaseURLs, kind: str, client_for: Any
) -> None:
    app = FastAPI()
    fr.include_view(app, async_notes() if kind == "async" else sync_notes())
    client = client_for(app)

    failed = await client.post("/notes", params={"id": 1, "writer_id": 4242})

    assert failed.status_code == 409, failed.text
    assert failed.json()["detail"].startswith("Foreign key constraint violated")
    # The same (only) connection serves the next requests, with nothing of the failed one.
    assert (await client.get("/notes")).json() == []
    assert (await client.post("/notes/writers", params={"id": 7})).status_code == 201
    assert (await client.post("/notes", params={"id": 2, "writer_id": 7})).status_code == 201
    assert (await client.get("/notes")).json() == [2]
