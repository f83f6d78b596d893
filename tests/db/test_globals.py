"""FRGlobals, use_fr_globals and configure: isolation per app, bound views, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import restly as fr
from restly.exc import RestlyConfigurationError

from ..conftest import DatabaseURLs

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "glob_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def build_app(g: fr.FRGlobals, path: Path, view_base: type) -> FastAPI:
    """An app built the way the seed page shows: inside its own use_fr_globals block."""
    app = FastAPI()
    with fr.use_fr_globals(g):
        fr.configure(
            async_database_url=f"sqlite+aiosqlite:///{path}", database_url=f"sqlite:///{path}"
        )
        fr.create_all(Base)

        @fr.include_view(app)
        class ItemView(view_base):  # type: ignore[valid-type, misc]
            prefix = "/items"
            model = Item

        @fr.include_view(app)
        class WhoView(fr.View):
            prefix = "/who"

            @fr.get("")
            async def who(self) -> dict[str, object]:
                async with fr.async_session() as session:
                    count = await session.scalar(select(func.count()).select_from(Item))
                return {"same_globals": fr.get_fr_globals() is g, "items": count}

    return app


@pytest.mark.parametrize("view_base", [fr.AsyncRestView, fr.RestView])
async def test_two_apps_in_one_process_use_only_their_own_database(
    tmp_path: Path, view_base: type
) -> None:
    g_a, g_b = fr.FRGlobals(), fr.FRGlobals()
    app_a = build_app(g_a, tmp_path / "a.sqlite3", view_base)
    app_b = build_app(g_b, tmp_path / "b.sqlite3", view_base)
    # Served outside any use_fr_globals block, like uvicorn serving two apps.
    try:
        async with client_for(app_a) as a, client_for(app_b) as b:
            assert (await a.post("/items", json={"name": "only in a"})).status_code == 201
            assert [i["name"] for i in (await a.get("/items")).json()] == ["only in a"]
            assert (await b.get("/items")).json() == []
            assert (await b.post("/items", json={"name": "b1"})).status_code == 201
            assert (await b.post("/items", json={"name": "b2"})).status_code == 201
            # inside a request, fr.async_session() sees the view's own globals
            assert (await a.get("/who")).json() == {"same_globals": True, "items": 1}
            assert (await b.get("/who")).json() == {"same_globals": True, "items": 2}
        assert fr.get_fr_globals() is not g_a and fr.get_fr_globals() is not g_b
    finally:
        await g_a.dispose()
        await g_b.dispose()


async def test_concurrent_tasks_each_see_the_globals_active_when_they_started() -> None:
    seen: dict[str, list[bool]] = {"a": [], "b": []}
    g_a, g_b = fr.FRGlobals(), fr.FRGlobals()

    async def worker(name: str, g: fr.FRGlobals) -> None:
        with fr.use_fr_globals(g):
            for _ in range(5):
                await asyncio.sleep(0)
                seen[name].append(fr.get_fr_globals() is g)

    await asyncio.gather(worker("a", g_a), worker("b", g_b))
    assert seen == {"a": [True] * 5, "b": [True] * 5}

    with fr.use_fr_globals(g_a):
        inherited = asyncio.create_task(asyncio.sleep(0, result=None))
        child = asyncio.create_task(_active())
    assert await child is g_a
    await inherited
    assert fr.get_fr_globals() is not g_a


async def _active() -> fr.FRGlobals:
    await asyncio.sleep(0)
    return fr.get_fr_globals()


def test_configure_changes_only_what_it_is_given(fr_globals: fr.FRGlobals) -> None:
    fr.configure(database_url="sqlite:///one.sqlite3")
    fr.configure(async_database_url="sqlite+aiosqlite:///two.sqlite3")
    assert fr_globals.database_url == "sqlite:///one.sqlite3"
    assert fr_globals.async_database_url == "sqlite+aiosqlite:///two.sqlite3"
    fr.configure(max_page_size=20)
    assert fr_globals.database_url == "sqlite:///one.sqlite3" and fr_globals.max_page_size == 20


def test_an_unconfigured_globals_says_how_to_configure(fr_globals: fr.FRGlobals) -> None:
    with pytest.raises(RuntimeError) as caught:
        fr_globals.get_async_engine()
    assert str(caught.value) == (
        "restly has no database configured for async sessions: call "
        "fr.configure(async_database_url=...) first (or pass an engine, a sessionmaker or a "
        "session generator)."
    )
    with pytest.raises(RuntimeError, match=r"fr\.configure\(database_url=\.\.\.\)"):
        with fr.session():
            pass


def test_configure_rejects_generators_of_the_wrong_kind(fr_globals: fr.FRGlobals) -> None:
    def sync_gen() -> Iterator[Session]:
        yield Session()

    async def async_gen() -> AsyncIterator[AsyncSession]:
        yield AsyncSession()

    with pytest.raises(RestlyConfigurationError, match="use sync_session_generator="):
        fr.configure(session_generator=sync_gen)  # type: ignore[arg-type]
    with pytest.raises(RestlyConfigurationError, match="use session_generator="):
        fr.configure(sync_session_generator=async_gen)  # type: ignore[arg-type]
    assert fr_globals.session_generator is None


def test_urls_of_one_kind_derive_the_other(fr_globals: fr.FRGlobals, tmp_path: Path) -> None:
    fr.configure(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert fr_globals.get_async_engine().dialect.driver == "aiosqlite"
    other = fr.FRGlobals()
    with fr.use_fr_globals(other):
        fr.configure(async_database_url="postgresql+asyncpg://u@localhost/db")
        assert fr.get_engine().dialect.driver == "psycopg"
        assert fr.get_engine().pool._pre_ping  # type: ignore[attr-defined]


async def test_own_async_session_generator_serves_views_and_scripts(
    fr_globals: fr.FRGlobals, db_urls: DatabaseURLs
) -> None:
    engine = fr.db.build_async_engine(db_urls.async_url)
    events: list[str] = []

    async def my_get_db() -> AsyncIterator[AsyncSession]:
        events.append("open")
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session
        events.append("closed")

    fr.configure(session_generator=my_get_db)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    try:
        app = FastAPI()
        fr.include_view(
            app, type("ItemView", (fr.AsyncRestView,), {"prefix": "/items", "model": Item})
        )
        async with client_for(app) as client:
            assert (await client.post("/items", json={"name": "a"})).status_code == 201
        assert events == ["open", "closed"]
        async with fr.async_session() as session:
            assert await session.scalar(select(func.count()).select_from(Item)) == 1
        assert events == ["open", "closed", "open", "closed"]
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
        await engine.dispose()


async def test_own_sync_session_generator_serves_sync_views(
    fr_globals: fr.FRGlobals, db_urls: DatabaseURLs
) -> None:
    engine = fr.db.build_engine(db_urls.sync_url)
    events: list[str] = []

    def my_get_db() -> Iterator[Session]:
        events.append("open")
        try:
            with Session(engine, expire_on_commit=False) as session:
                yield session
        finally:
            events.append("closed")

    fr.configure(sync_session_generator=my_get_db)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        app = FastAPI()
        fr.include_view(app, type("ItemView", (fr.RestView,), {"prefix": "/items", "model": Item}))
        async with client_for(app) as client:
            assert (await client.post("/items", json={"name": "a"})).status_code == 201
            assert (await client.post("/items", json={"name": "x" * 21})).status_code == 422
        with fr.session() as session:
            assert session.scalar(select(func.count()).select_from(Item)) == 1
        assert events == ["open", "closed", "open", "closed", "open", "closed"]
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


async def test_session_blocks_commit_on_success_and_roll_back_on_error(
    database: DatabaseURLs,
) -> None:
    async with fr.async_session() as session:
        session.add(Item(name="kept"))
    with pytest.raises(ZeroDivisionError):
        async with fr.async_session() as session:
            session.add(Item(name="dropped"))
            await session.flush()
            1 / 0  # noqa: B018
    with fr.session() as sync_session:
        sync_session.add(Item(name="kept too"))
    with pytest.raises(ZeroDivisionError):
        with fr.session() as sync_session:
            sync_session.add(Item(name="dropped too"))
            sync_session.flush()
            1 / 0  # noqa: B018
    async with fr.open_async_session() as session:
        names = (await session.scalars(select(Item.name).order_by(Item.id))).all()
    assert names == ["kept", "kept too"]
    assert fr.async_open_session is fr.async_session and fr.open_session is fr.session


async def test_session_dependencies_commit_before_the_response_and_roll_back_on_error(
    database: DatabaseURLs,
) -> None:
    class Writer(fr.View):
        prefix = "/write"
        session: fr.AsyncSessionDep

        @fr.post("/{name}")
        async def write(self, name: str, fail: bool = False) -> str:
            self.session.add(Item(name=name))
            await self.session.flush()
            if fail:
                raise fr.exc.Conflict("refused")
            return name

    class SyncWriter(fr.View):
        prefix = "/sync-write"
        session: fr.SessionDep

        @fr.post("/{name}")
        def write(self, name: str, fail: bool = False) -> str:
            self.session.add(Item(name=name))
            self.session.flush()
            if fail:
                raise fr.exc.Conflict("refused")
            return name

    app = FastAPI()
    fr.include_view(app, Writer, SyncWriter)
    async with client_for(app) as client:
        assert (await client.post("/write/a")).status_code == 201
        refused = await client.post("/write/b", params={"fail": True})
        assert (refused.status_code, refused.json()) == (409, {"detail": "refused"})
        assert (await client.post("/sync-write/c")).status_code == 201
        assert (await client.post("/sync-write/d", params={"fail": True})).status_code == 409
    async with fr.async_session() as session:
        assert (await session.scalars(select(Item.name).order_by(Item.id))).all() == ["a", "c"]


async def test_create_all_helpers(fr_globals: fr.FRGlobals, tmp_path: Path) -> None:
    fr.configure(
        async_database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}",
        database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}",
    )
    await fr.async_create_all(Base)
    fr.create_all(Base.metadata)
    with fr.session() as session:
        session.add(Item(name="x"))
    with pytest.raises(TypeError, match="expected a declarative base or a MetaData"):
        fr.create_all(object())
    await fr_globals.dispose()
