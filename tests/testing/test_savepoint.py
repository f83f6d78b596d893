"""Savepoint mode and connections (``_savepoint.py``) and ``SavepointIsolation``
(``_isolation.py``), on real databases (a SQLite file, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, String, create_engine, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

import restly as fr
from restly.db import FRGlobals, build_async_engine, build_engine, use_fr_globals
from restly.testing import (
    SavepointIsolation,
    activate_savepoint_only_mode,
    async_savepoint_connection,
    deactivate_savepoint_only_mode,
    savepoint_connection,
)


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "restly_testing_savepoint_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


@pytest.fixture
def engine(db_urls: Any) -> Iterator[Engine]:
    built = build_engine(db_urls.sync_url)
    Base.metadata.drop_all(built)
    Base.metadata.create_all(built)
    yield built
    Base.metadata.drop_all(built)
    built.dispose()


@pytest.fixture
async def async_engine(engine: Engine, db_urls: Any) -> AsyncIterator[AsyncEngine]:
    built = build_async_engine(db_urls.async_url)
    yield built
    await built.dispose()


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Row)) or 0)


# -- activate / deactivate: configuration ---------------------------------------------


def test_activate_sets_the_join_mode_and_bind_and_deactivate_restores() -> None:
    engine = create_engine("sqlite://")
    maker = sessionmaker(engine, expire_on_commit=False)
    before = dict(maker.kw)
    with engine.connect() as connection:
        assert activate_savepoint_only_mode(maker, bind=connection) is maker
        assert maker.kw == {
            **before,
            "bind": connection,
            "join_transaction_mode": "create_savepoint",
        }
        assert deactivate_savepoint_only_mode(maker) is maker
    assert maker.kw == before


def test_activate_without_bind_keeps_the_bind() -> None:
    engine = create_engine("sqlite://")
    maker = sessionmaker(engine)
    activate_savepoint_only_mode(maker)
    assert maker.kw["bind"] is engine
    assert maker.kw["join_transaction_mode"] == "create_savepoint"
    deactivate_savepoint_only_mode(maker)
    assert "join_transaction_mode" not in maker.kw


def test_calls_nest() -> None:
    maker = sessionmaker(join_transaction_mode="rollback_only")
    activate_savepoint_only_mode(maker)
    activate_savepoint_only_mode(maker)
    deactivate_savepoint_only_mode(maker)
    assert maker.kw["join_transaction_mode"] == "create_savepoint"
    deactivate_savepoint_only_mode(maker)
    assert maker.kw["join_transaction_mode"] == "rollback_only"


def test_deactivate_without_activate_is_an_error() -> None:
    maker = sessionmaker()
    with pytest.raises(RuntimeError, match=r"is not in savepoint-only mode: .* call that first"):
        deactivate_savepoint_only_mode(maker)


def test_a_maker_is_required() -> None:
    with pytest.raises(TypeError) as raised:
        activate_savepoint_only_mode(Session)  # type: ignore[type-var]
    assert str(raised.value) == (
        "activate_savepoint_only_mode() needs a sessionmaker or an async_sessionmaker; "
        f"got {Session!r}."
    )


def test_the_bind_must_match_the_maker() -> None:
    engine = create_engine("sqlite://")
    with pytest.raises(TypeError) as raised:
        activate_savepoint_only_mode(sessionmaker(), bind=engine)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "activate_savepoint_only_mode(): bind a sessionmaker to a connection of type "
        f"Connection; got {engine!r}. Pass engine.connect() of the matching kind."
    )
    with engine.connect() as connection:
        with pytest.raises(TypeError, match=r"bind a async_sessionmaker to a connection of type AsyncConnection; got <sqlalchemy.engine.base.Connection"):
            activate_savepoint_only_mode(async_sessionmaker(), bind=connection)


# -- activate / deactivate: behaviour ---------------------------------------------------


def test_commit_only_releases_a_savepoint(engine: Engine) -> None:
    maker = sessionmaker(engine, expire_on_commit=False)
    with savepoint_connection(engine) as connection:
        activate_savepoint_only_mode(maker, bind=connection)
        try:
            with maker() as first:
                first.add(Row(name="a"))
                first.commit()
            with maker() as second:  # a later session on the connection sees the row
                assert second.scalar(select(func.count()).select_from(Row)) == 1
                second.add(Row(name="b"))
                second.rollback()  # back to its savepoint only
                assert second.scalar(select(func.count()).select_from(Row)) == 1
        finally:
            deactivate_savepoint_only_mode(maker)
    assert count(engine) == 0


@pytest.mark.anyio
async def test_async_commit_only_releases_a_savepoint(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    maker = async_sessionmaker(async_engine)
    async with async_savepoint_connection(async_engine) as connection:
        activate_savepoint_only_mode(maker, bind=connection)
        try:
            async with maker() as first:
                first.add(Row(name="a"))
                await first.commit()
            async with maker() as second:
                assert await second.scalar(select(func.count()).select_from(Row)) == 1
        finally:
            deactivate_savepoint_only_mode(maker)
    assert count(engine) == 0


def test_a_connection_whose_engine_was_disposed_is_closed_at_the_end(engine: Engine) -> None:
    """An app whose lifespan disposes the pools (as docs/deploying.md shows) runs under the
    test client: the engine is disposed while the test holds its connection. Handed back to
    the pool it came from, which the engine no longer has, the driver's connection stayed open
    until garbage collection (psycopg: a ResourceWarning, an error in a suite with warnings as
    errors; the PostgreSQL sync project of `restly new` failed so)."""
    with savepoint_connection(engine) as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        connection.execute(select(func.count()).select_from(Row))
        engine.dispose()
    with pytest.raises(engine.dialect.loaded_dbapi.Error):
        raw.cursor().execute("SELECT 1")
    with savepoint_connection(engine) as connection:  # the engine's new pool serves on
        assert connection.scalar(select(func.count()).select_from(Row)) == 0


def test_sqlite_needs_the_begin_that_savepoint_connection_emits(tmp_path: Any) -> None:
    # Without it, pysqlite sends SAVEPOINT outside any transaction: RELEASE commits for good.
    engine = build_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    Base.metadata.create_all(engine)
    maker = sessionmaker(join_transaction_mode="create_savepoint")
    with engine.connect() as connection:
        outer = connection.begin()
        with maker(bind=connection) as plain:
            plain.add(Row(name="leaks"))
            plain.commit()
        outer.rollback()
    assert count(engine) == 1
    with savepoint_connection(engine) as connection:
        with maker(bind=connection) as isolated:
            isolated.add(Row(name="vanishes"))
            isolated.commit()
    assert count(engine) == 1
    engine.dispose()


# -- SavepointIsolation ------------------------------------------------------------------


def configured(**options: Any) -> FRGlobals:
    """A new FRGlobals configured with ``fr.configure(**options)``."""
    g = FRGlobals()
    with use_fr_globals(g):
        fr.configure(**options)
    return g


def test_isolation_rolls_back_sync_writes_and_restores_the_globals(engine: Engine) -> None:
    g = configured(engine=engine)
    with SavepointIsolation(g) as isolation:
        with use_fr_globals(g), fr.session() as opened:
            opened.add(Row(name="a"))  # fr.session() commits at the end of the block
        with isolation.sessionmaker()() as opened:
            assert opened.scalar(select(func.count()).select_from(Row)) == 1
        assert isinstance(g.get_sessionmaker().kw["bind"], Connection)
    assert count(engine) == 0
    assert g.make_session is None and g.sync_session_generator is None
    assert g.session_generator is None and g.async_make_session is None


@pytest.mark.anyio
async def test_isolation_rolls_back_async_writes(engine: Engine, async_engine: AsyncEngine) -> None:
    maker = async_sessionmaker(async_engine, expire_on_commit=False)
    before = dict(maker.kw)
    g = configured(async_make_session=maker)
    with SavepointIsolation(g) as isolation:
        async with isolation.async_scope():
            with use_fr_globals(g):
                async with fr.async_session() as opened:
                    opened.add(Row(name="a"))
            async with maker() as opened:  # the user's maker itself is bound for the test
                assert await opened.scalar(select(func.count()).select_from(Row)) == 1
    assert maker.kw == before
    assert g.async_make_session is maker and g.session_generator is None
    assert count(engine) == 0


@pytest.mark.anyio
async def test_async_sessions_need_an_async_scope(engine: Engine) -> None:
    with SavepointIsolation(configured(database_url=str(engine.url))) as isolation:
        with pytest.raises(RuntimeError, match=r"in an event loop where restly.testing cannot"):
            await isolation.async_sessionmaker()


def test_isolation_sets_a_custom_generator_aside(engine: Engine) -> None:
    maker = sessionmaker(engine)

    def generator() -> Iterator[Session]:
        with maker() as opened:
            opened.info["from"] = "generator"
            yield opened

    g = configured(make_session=maker, sync_session_generator=generator)
    with SavepointIsolation(g):
        with use_fr_globals(g), fr.session() as opened:
            assert "from" not in opened.info
            opened.add(Row(name="a"))
    assert g.sync_session_generator is generator
    assert count(engine) == 0


def test_isolation_explains_a_generator_without_a_database() -> None:
    def generator() -> Iterator[Session]:
        yield Session()

    with SavepointIsolation(configured(sync_session_generator=generator)) as isolation:
        with pytest.raises(RuntimeError) as raised:
            isolation.sessionmaker()
    assert str(raised.value) == (
        "restly.testing isolates sync sessions by binding the session factory of FRGlobals "
        "to a test connection, but only a sync_session_generator is configured (it is set "
        "aside during tests). Also configure the database it uses: "
        "fr.configure(database_url=...), an engine or a sessionmaker."
    )


def test_isolation_is_installed_once() -> None:
    with SavepointIsolation(FRGlobals()) as isolation:
        with pytest.raises(RuntimeError, match="already installed"):
            isolation.install()
    isolation.uninstall()  # a second uninstall does nothing
