"""Engine defaults restly applies to the engines it builds."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import ForeignKey, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool

import restly as fr
from restly.db import build_async_engine, build_engine


class Base(DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "eng_parent"
    id: Mapped[int] = mapped_column(primary_key=True)


class Child(Base):
    __tablename__ = "eng_child"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("eng_parent.id"))


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'fk.sqlite3'}")
    Base.metadata.create_all(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        with pytest.raises(IntegrityError):
            connection.execute(Child.__table__.insert().values(id=1, parent_id=42))
    engine.dispose()


@pytest.mark.anyio
async def test_aiosqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = build_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'fk.sqlite3'}")
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await engine.dispose()


def test_in_memory_sqlite_is_one_database_for_every_thread(fr_globals: fr.FRGlobals) -> None:
    fr.configure(database_url="sqlite://")
    engine = fr.get_engine()
    assert isinstance(engine.pool, StaticPool)
    fr.create_all(Base)

    def insert() -> None:
        # A new thread starts with an empty context: name the globals explicitly.
        with fr.session(fr_globals) as session:
            session.add(Parent(id=7))

    worker = threading.Thread(target=insert)
    worker.start()
    worker.join()
    with fr.session() as session:
        assert session.get(Parent, 7) is not None


def test_postgresql_engines_ping_before_use() -> None:
    engine = build_engine("postgresql+psycopg://user@localhost/db")
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    async_engine = build_async_engine("postgresql+asyncpg://user@localhost/db")
    assert async_engine.sync_engine.pool._pre_ping  # type: ignore[attr-defined]


def test_engines_passed_in_are_used_as_given(fr_globals: fr.FRGlobals) -> None:
    from sqlalchemy import create_engine

    mine = create_engine("sqlite://")
    fr.configure(engine=mine)
    assert fr.get_engine() is mine
    with mine.connect() as connection:  # no pragma installed on engines we did not build
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 0
