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

- PgBouncer in transaction pooling mode (``pgbouncer=True``): a client connection is served by
  a different server connection in each transaction, so nothing may outlive one. asyncpg
  gets no statement caches and uniquely named prepared statements, psycopg prepares nothing
  server-side, and ``statement_timeout`` is set with ``SET LOCAL`` at the start of each
  transaction (PgBouncer refuses it as a startup parameter; setting it on the database role,
  ``ALTER ROLE ... SET statement_timeout``, saves that round trip).
- With ``statement_timeout``, a server that goes silent is also given up on by the client
  (``restly.db._bounds``): asyncpg's ``command_timeout``, a bounded psycopg connection class,
  PyMySQL's read timeout; aiomysql's whole connect is bounded by ``connect_timeout``.
- Pool settings (``pool_size``, ``max_overflow``, ``pool_recycle``, ``pool_pre_ping``) are
  SQLAlchemy's, with restly's defaults where it has one; ``overrides`` win, their
  ``connect_args`` merged into restly's, and a ``poolclass`` without a queue (``NullPool``,
  ``StaticPool``) drops the queue's options instead of failing.

Engines passed to :func:`restly.configure` are used exactly as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool, StaticPool

from ._bounds import (
    ANSWER_GRACE,
    bounded_aiomysql_connect,
    psycopg_connection_classes,
    psycopg_waits_are_boundable,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "PoolSettings",
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

# Options only a queue pool takes: dropped when another pool class is asked for.
_QUEUE_OPTIONS = ("pool_timeout", "pool_size", "max_overflow")


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """The pool options of the engines restly builds; ``None`` keeps restly's default."""

    #: Connections kept open (SQLAlchemy's default: 5).
    size: int | None = None
    #: Connections opened beyond ``size`` under load, closed when returned (default: 10).
    max_overflow: int | None = None
    #: Seconds after which a connection is replaced (MariaDB default: 3600; else never).
    recycle: float | None = None
    #: Test each connection on checkout (default: on for PostgreSQL and MariaDB). One round
    #: trip per request; off, a connection the server dropped fails one request with 503.
    pre_ping: bool | None = None

    def options(self) -> dict[str, Any]:
        found = {
            "pool_size": self.size,
            "max_overflow": self.max_overflow,
            "pool_recycle": self.recycle,
            "pool_pre_ping": self.pre_ping,
        }
        return {key: value for key, value in found.items() if value is not None}


def engine_options(
    url: URL,
    *,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    statement_timeout: float | None = None,
    pgbouncer: bool = False,
    pool: PoolSettings | None = None,
    asynchronous: bool = False,
) -> dict[str, Any]:
    """Return the keyword arguments restly passes to ``create_engine`` for ``url``
    (``create_async_engine`` with ``asynchronous``)."""
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
    pooled = pgbouncer and backend == "postgresql"
    connect_args.update(
        _timeout_args(url, connect_timeout, None if pooled else statement_timeout)
    )
    connect_args.update(_answer_bounds(url, connect_timeout, statement_timeout, asynchronous))
    if pooled:
        connect_args.update(_pgbouncer_args(url))
    if connect_timeout is not None and options.get("poolclass") is not StaticPool:
        options["pool_timeout"] = connect_timeout
    if pool is not None and options.get("poolclass") is not StaticPool:
        options.update(pool.options())
    if not connect_args:
        del options["connect_args"]
    return options


def _answer_bounds(
    url: URL, connect_timeout: float | None, statement_timeout: float | None, asynchronous: bool
) -> dict[str, Any]:
    """Driver arguments bounding, on the client, waits for a server that went silent (see
    ``restly.db._bounds``; sync psycopg is bounded by :func:`_install_answer_bound`)."""
    driver = url.get_driver_name()
    if driver == "aiomysql" and connect_timeout is not None:
        return {"async_creator_fn": bounded_aiomysql_connect(connect_timeout)}
    if statement_timeout is None or url.get_backend_name() != "postgresql":
        return {}
    answer_timeout = statement_timeout + ANSWER_GRACE
    if driver == "asyncpg":
        return {"command_timeout": answer_timeout}
    if driver == "psycopg" and asynchronous and psycopg_waits_are_boundable():
        return {"async_creator_fn": psycopg_connection_classes(answer_timeout)[1].connect}
    return {}


def _install_answer_bound(engine: Engine, statement_timeout: float | None) -> None:
    """Sync psycopg: connect with a connection class whose waits are bounded."""
    if statement_timeout is None or engine.dialect.driver != "psycopg" or engine.dialect.is_async:
        return
    if not psycopg_waits_are_boundable():
        return
    bounded = psycopg_connection_classes(statement_timeout + ANSWER_GRACE)[0]

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        return bounded.connect(*cargs, **cparams)


def _pgbouncer_args(url: URL) -> dict[str, Any]:
    """Driver arguments under which nothing outlives a transaction (PgBouncer's transaction
    pooling hands each transaction another server connection)."""
    if url.get_driver_name() == "asyncpg":
        return {
            "statement_cache_size": 0,  # asyncpg's own cache
            "prepared_statement_cache_size": 0,  # SQLAlchemy's, in its asyncpg adapter
            # Names unique across client connections: two clients' statements may meet on
            # one server connection.
            "prepared_statement_name_func": _statement_name,
        }
    return {"prepare_threshold": None}  # psycopg: never prepare server-side


def _statement_name() -> str:
    return f"__restly_{uuid4().hex}__"


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
    pgbouncer: bool = False,
    pool: PoolSettings | None = None,
    **overrides: Any,
) -> Engine:
    """Create a sync engine for ``url`` with restly's defaults (``overrides`` win)."""
    parsed = make_url(url)
    defaults = engine_options(
        parsed,
        connect_timeout=connect_timeout,
        statement_timeout=statement_timeout,
        pgbouncer=pgbouncer,
        pool=pool,
    )
    engine = create_engine(parsed, **_merged(defaults, overrides))
    _install_answer_bound(engine, statement_timeout)
    _install_sqlite_pragmas(engine)
    _install_local_statement_timeout(engine, parsed, pgbouncer, statement_timeout)
    return engine


def build_async_engine(
    url: str | URL,
    *,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    statement_timeout: float | None = None,
    pgbouncer: bool = False,
    pool: PoolSettings | None = None,
    **overrides: Any,
) -> AsyncEngine:
    """Create an async engine for ``url`` with restly's defaults (``overrides`` win)."""
    parsed = make_url(url)
    defaults = engine_options(
        parsed,
        connect_timeout=connect_timeout,
        statement_timeout=statement_timeout,
        pgbouncer=pgbouncer,
        pool=pool,
        asynchronous=True,
    )
    engine = create_async_engine(parsed, **_merged(defaults, overrides))
    _install_sqlite_pragmas(engine.sync_engine)
    _install_local_statement_timeout(engine.sync_engine, parsed, pgbouncer, statement_timeout)
    return engine


def _merged(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` over ``defaults``: ``connect_args`` merged key by key (restly's
    timeouts stay unless overridden), and a pool class without a queue rid of the queue's
    options it would refuse."""
    merged = {**defaults, **overrides}
    if "connect_args" in defaults and "connect_args" in overrides:
        ours, theirs = defaults["connect_args"], overrides["connect_args"]
        merged["connect_args"] = {
            key: {**ours[key], **value}
            if isinstance(value, dict) and isinstance(ours.get(key), dict)  # server_settings
            else value
            for key, value in {**ours, **theirs}.items()
        }
    poolclass = merged.get("poolclass")
    if isinstance(poolclass, type) and not issubclass(poolclass, QueuePool):
        for key in _QUEUE_OPTIONS:
            if key not in overrides:
                merged.pop(key, None)
    return merged


def _install_local_statement_timeout(
    engine: Engine, url: URL, pgbouncer: bool, statement_timeout: float | None
) -> None:
    """Behind PgBouncer, set ``statement_timeout`` for each transaction (``SET LOCAL``)."""
    if not (pgbouncer and statement_timeout is not None and url.get_backend_name() == "postgresql"):
        return
    statement = f"SET LOCAL statement_timeout = {max(1, round(statement_timeout * 1000))}"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(statement)


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
