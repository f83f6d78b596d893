"""Build the demo application for one database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import URL, make_url

import restly as fr

from .models import DemoBase
from .seed import seed_if_empty
from .views import demo_globals

__all__ = ["async_url", "create_app", "sync_url"]

_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
_SYNC_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}


def async_url(url: str | URL) -> URL:
    """The URL with an async driver: ``postgresql://...`` becomes ``postgresql+asyncpg://...``."""
    return _with_driver(url, _ASYNC_DRIVERS, keep=("aiosqlite", "asyncpg", "psycopg"))


def sync_url(url: str | URL) -> URL:
    """The URL with a sync driver: ``postgresql+asyncpg://...`` becomes ``+psycopg``."""
    return _with_driver(url, _SYNC_DRIVERS, keep=("pysqlite", "psycopg", "psycopg2"))


def _with_driver(url: str | URL, drivers: dict[str, str], keep: tuple[str, ...]) -> URL:
    parsed = make_url(str(url).replace("postgres://", "postgresql://", 1))
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(
            f"the demo runs on SQLite or PostgreSQL; got a {backend!r} URL. Use "
            "sqlite:///path/to/file.sqlite3 or postgresql://user@host/database."
        )
    if parsed.get_driver_name() in keep and "+" in parsed.drivername:
        return parsed
    return parsed.set(drivername=f"{backend}+{drivers[backend]}")


def create_app(database_url: str | URL, *, reset: bool = False) -> FastAPI:
    """Configure the demo's globals for ``database_url`` and return the app.

    Tables are created when missing and sample data is written into an empty database when
    the app starts; with ``reset`` the demo's tables are dropped first.
    """
    with fr.use_fr_globals(demo_globals):
        fr.configure(
            async_database_url=async_url(database_url), database_url=sync_url(database_url)
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with fr.use_fr_globals(demo_globals):
            if reset:
                async with demo_globals.get_async_engine().begin() as connection:
                    await connection.run_sync(DemoBase.metadata.drop_all)
            # Safe when several workers start at once: one creates and seeds, the others
            # wait for it, then find the tables and the sample data.
            await fr.db.async_create_all(DemoBase, seed=seed_if_empty)
        yield
        await demo_globals.dispose()

    app = FastAPI(
        title="restly demo",
        summary="Authors, books and reviews served by restly views.",
        lifespan=lifespan,
    )
    fr.include_views(app, globals=demo_globals)
    return app
