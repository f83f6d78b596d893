"""Engines restly builds from URLs, with safe defaults per backend.

- SQLite: ``PRAGMA foreign_keys=ON`` on every connection; connections may cross threads;
  an in-memory database uses one shared connection (``StaticPool``) so every thread and
  session sees the same data.
- PostgreSQL: ``pool_pre_ping=True`` so a restarted server does not fail the next request.

Engines passed to :func:`restly.configure` are used exactly as given.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

__all__ = [
    "async_url_for",
    "build_async_engine",
    "build_engine",
    "engine_options",
    "sync_url_for",
]

# Drivers restly picks when it derives one kind of URL from the other.
_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql"}
_SYNC_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg", "mysql": "pymysql"}


def engine_options(url: URL) -> dict[str, Any]:
    """Return the keyword arguments restly passes to ``create_engine`` for ``url``."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if _is_memory_sqlite(url):
            options["poolclass"] = StaticPool
        return options
    if backend == "postgresql":
        return {"pool_pre_ping": True}
    if backend in ("mysql", "mariadb"):
        return {"pool_pre_ping": True, "pool_recycle": 3600}
    return {}


def build_engine(url: str | URL, **overrides: Any) -> Engine:
    """Create a sync engine for ``url`` with restly's defaults (``overrides`` win)."""
    parsed = make_url(url)
    engine = create_engine(parsed, **{**engine_options(parsed), **overrides})
    _install_sqlite_pragmas(engine)
    return engine


def build_async_engine(url: str | URL, **overrides: Any) -> AsyncEngine:
    """Create an async engine for ``url`` with restly's defaults (``overrides`` win)."""
    parsed = make_url(url)
    engine = create_async_engine(parsed, **{**engine_options(parsed), **overrides})
    _install_sqlite_pragmas(engine.sync_engine)
    return engine


def async_url_for(url: str | URL) -> URL:
    """Derive an async-driver URL from a sync one (``sqlite://`` -> ``sqlite+aiosqlite://``)."""
    return _with_driver(make_url(url), _ASYNC_DRIVERS)


def sync_url_for(url: str | URL) -> URL:
    """Derive a sync-driver URL from an async one (``postgresql+asyncpg`` -> ``+psycopg``)."""
    return _with_driver(make_url(url), _SYNC_DRIVERS)


def _with_driver(url: URL, drivers: dict[str, str]) -> URL:
    backend = url.get_backend_name()
    driver = drivers.get("mysql" if backend == "mariadb" else backend)
    if driver is None:
        raise ValueError(f"restly cannot derive a driver for {backend!r} URLs; pass both URLs")
    return url.set(drivername=f"{backend}+{driver}")


def _is_memory_sqlite(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(url)


def _install_sqlite_pragmas(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _enable_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
