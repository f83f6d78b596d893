"""Engines restly builds from URLs, with safe defaults per backend.

- SQLite: ``PRAGMA foreign_keys=ON`` on every connection; connections may cross threads;
  an in-memory database uses one shared connection (``StaticPool``) so every thread and
  session sees the same data.
- PostgreSQL: ``pool_pre_ping=True`` so a restarted server does not fail the next request.
- Timeouts, so a request never hangs on the database: connecting gives up after
  ``connect_timeout`` seconds, waiting for a pooled connection after ``connect_timeout`` too
  (``pool_timeout``), SQLite waits that long for a lock, and with ``statement_timeout``
  PostgreSQL cancels statements running longer (PyMySQL: every socket read is bounded by
  it). The errors they raise answer 503 (see ``restly._faults``). MySQL drivers apply
  ``connect_timeout`` to the TCP connect only: a server that accepts and never answers is
  bounded only by ``statement_timeout`` (PyMySQL), not at all with aiomysql.

Engines passed to :func:`restly.configure` are used exactly as given.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "async_url_for",
    "build_async_engine",
    "build_engine",
    "engine_options",
    "sync_url_for",
]

# Drivers restly picks when it derives one kind of URL from the other.
_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql"}
_SYNC_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg", "mysql": "pymysql"}


#: Seconds to wait for a connection (new or from the pool) or a SQLite lock by default.
DEFAULT_CONNECT_TIMEOUT = 10.0


def engine_options(
    url: URL,
    *,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    statement_timeout: float | None = None,
) -> dict[str, Any]:
    """Return the keyword arguments restly passes to ``create_engine`` for ``url``."""
    backend = url.get_backend_name()
    options: dict[str, Any]
    if backend == "sqlite":
        options = {"connect_args": {"check_same_thread": False}}
        if _is_memory_sqlite(url):
            options["poolclass"] = StaticPool
    elif backend == "postgresql":
        options = {"pool_pre_ping": True}
    elif backend in ("mysql", "mariadb"):
        options = {"pool_pre_ping": True, "pool_recycle": 3600}
    else:
        return {}
    connect_args = options.setdefault("connect_args", {})
    connect_args.update(_timeout_args(url, connect_timeout, statement_timeout))
    if connect_timeout is not None and options.get("poolclass") is not StaticPool:
        options["pool_timeout"] = connect_timeout
    if not connect_args:
        del options["connect_args"]
    return options


def _timeout_args(
    url: URL, connect_timeout: float | None, statement_timeout: float | None
) -> dict[str, Any]:
    """Driver arguments for the connect timeout and the statement timeout."""
    driver = url.get_driver_name()
    backend = url.get_backend_name()
    found: dict[str, Any] = {}
    if connect_timeout is not None:
        if backend == "sqlite":
            found["timeout"] = connect_timeout  # how long to wait for a locked database
        elif driver == "asyncpg":
            found["timeout"] = connect_timeout
        elif backend in ("postgresql", "mysql", "mariadb"):
            found["connect_timeout"] = max(1, round(connect_timeout))
    if statement_timeout is not None and driver == "pymysql":
        # No server-side equivalent shared by MySQL and MariaDB: bound every socket read,
        # which also bounds a server that accepts connections and never answers.
        found["read_timeout"] = found["write_timeout"] = statement_timeout
    if statement_timeout is not None and backend == "postgresql":
        milliseconds = str(max(1, round(statement_timeout * 1000)))
        if driver == "asyncpg":
            found["server_settings"] = {"statement_timeout": milliseconds}
        else:
            found["options"] = f"-c statement_timeout={milliseconds}"
    return found


def build_engine(
    url: str | URL,
    *,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    statement_timeout: float | None = None,
    **overrides: Any,
) -> Engine:
    """Create a sync engine for ``url`` with restly's defaults (``overrides`` win)."""
    parsed = make_url(url)
    defaults = engine_options(
        parsed, connect_timeout=connect_timeout, statement_timeout=statement_timeout
    )
    engine = create_engine(parsed, **{**defaults, **overrides})
    _install_sqlite_pragmas(engine)
    return engine


def build_async_engine(
    url: str | URL,
    *,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    statement_timeout: float | None = None,
    **overrides: Any,
) -> AsyncEngine:
    """Create an async engine for ``url`` with restly's defaults (``overrides`` win)."""
    parsed = make_url(url)
    defaults = engine_options(
        parsed, connect_timeout=connect_timeout, statement_timeout=statement_timeout
    )
    engine = create_async_engine(parsed, **{**defaults, **overrides})
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

    # The sqlite3 driver's own transaction handling is kept on purpose: it begins a
    # transaction at the first write, so concurrent requests that read before writing wait
    # for the write lock instead of deadlocking on it. Code that needs SAVEPOINTs
    # (get_one_or_create, test isolation) emits BEGIN itself.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
