"""``fr.db.create_all`` / ``async_create_all`` wait for the database's lock of table creation
(the cross-process side is tests/deploy/test_cold_start.py): while another connection holds
it, nothing is created; once released, the tables and the seed's rows are."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, String, create_engine, event, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

import restly as fr
from restly.db._schema import LOCK_KEY
from tests.conftest import DatabaseURLs, sqlite_urls

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Shelf(Base):
    __tablename__ = "schema_lock_shelf"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


def _seed(session: Session) -> None:
    if not session.scalar(select(func.count()).select_from(Shelf)):
        session.add(Shelf(name="top"))


@pytest.fixture
def urls(db_urls: DatabaseURLs) -> Iterator[DatabaseURLs]:
    engine = create_engine(db_urls.sync_url, poolclass=NullPool)
    Base.metadata.drop_all(engine)
    yield db_urls
    Base.metadata.drop_all(engine)
    engine.dispose()


def _hold_lock(connection: Connection, dialect: str) -> None:
    """Take, on ``connection``, the lock ``create_all`` takes."""
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
    elif dialect == "mariadb":
        connection.execute(text("SELECT GET_LOCK(CONCAT('restly.create_all.', DATABASE()), 5)"))
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _release_lock(connection: Connection, dialect: str) -> None:
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
    elif dialect == "mariadb":
        connection.execute(text("SELECT RELEASE_LOCK(CONCAT('restly.create_all.', DATABASE()))"))
    else:
        connection.exec_driver_sql("COMMIT")


def _shelves(url: str) -> list[str] | None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(Shelf.__tablename__):
                return None
            return list(connection.scalars(select(Shelf.name)))
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_create_all_waits_for_the_lock_then_creates_and_seeds(
    urls: DatabaseURLs, fr_globals: fr.FRGlobals, kind: str
) -> None:
    fr.configure(database_url=urls.sync_url, async_database_url=urls.async_url)
    holder_engine = create_engine(urls.sync_url, poolclass=NullPool)
    errors: list[BaseException] = []

    async def seed(session: AsyncSession) -> None:
        await session.run_sync(_seed)

    async def create_async() -> None:
        await fr.db.async_create_all(Base, seed=seed)
        await fr_globals.dispose()

    def create() -> None:  # in a thread of its own: the globals activated again there
        try:
            with fr.use_fr_globals(fr_globals):
                if kind == "sync":
                    fr.db.create_all(Base, seed=_seed)
                else:
                    asyncio.run(create_async())
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    with holder_engine.connect() as holder:
        _hold_lock(holder, urls.dialect)
        worker = threading.Thread(target=create)
        worker.start()
        worker.join(1.0)
        assert worker.is_alive(), errors  # waiting for the lock
        assert _shelves(urls.sync_url) is None  # and nothing created meanwhile
        _release_lock(holder, urls.dialect)
        holder.commit()
    worker.join(30)
    holder_engine.dispose()
    fr_globals.get_engine().dispose()
    assert not worker.is_alive() and not errors, errors
    assert _shelves(urls.sync_url) == ["top"]


def test_an_sqlite_engine_that_begins_its_own_transactions_is_used_as_it_is(
    tmp_path: Path,
) -> None:
    """SQLAlchemy's recipe for SAVEPOINTs on pysqlite emits ``BEGIN`` itself: restly then
    takes no ``BEGIN IMMEDIATE`` of its own (it would fail inside that transaction)."""
    url = sqlite_urls(tmp_path).sync_url
    engine = create_engine(url, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    fr.db.create_all(Base, engine, seed=_seed)
    fr.db.create_all(Base, engine, seed=_seed)
    engine.dispose()
    assert _shelves(url) == ["top"]
