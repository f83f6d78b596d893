"""Engines shared by every contender, so they differ only in their web layer.

The runner chooses the database and passes it to each server process through environment
variables; a contender module builds its engine with::

    from benchmarks.db import make_async_engine
    engine = make_async_engine()          # reads RESTLY_BENCH_ASYNC_URL

Settings mirror the defaults restly applies to engines it builds (SQLite: foreign keys on;
PostgreSQL: ``pool_pre_ping``); pool sizes are explained in ``engine_options``.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["ASYNC_URL_ENV", "PGBOUNCER_ENV", "POOL_SIZE_ENV", "SYNC_URL_ENV", "engine_options", "make_async_engine", "make_sync_engine"]

ASYNC_URL_ENV = "RESTLY_BENCH_ASYNC_URL"
SYNC_URL_ENV = "RESTLY_BENCH_SYNC_URL"
#: Set (to "1") when the URLs lead through PgBouncer in transaction pooling mode.
PGBOUNCER_ENV = "RESTLY_BENCH_PGBOUNCER"

# PostgreSQL: larger than the load's default concurrency (16), so no request waits for a
# connection and the pool does not decide the result. With several worker processes the
# runner sets a share per worker (`POOL_SIZE_ENV`), so that all contenders' pools together
# stay within PostgreSQL's default max_connections (100).
POOL_SIZE = 20
POOL_SIZE_ENV = "RESTLY_BENCH_POOL_SIZE"


def engine_options(url: str) -> dict[str, Any]:
    """Keyword arguments for ``create_engine`` / ``create_async_engine`` for this URL.

    SQLite gets ONE pooled connection. SQLite admits one writer at a time; with a pool of
    many, concurrent writers wait in SQLite's busy-handler back-off, which is unfair: the
    ``create`` scenario's throughput swung by half between rounds and its p99 reached
    seconds. One connection makes requests queue in the pool, first come first served.
    Reads lose ~10% throughput on one core, identically for every contender.

    Through PgBouncer (transaction pooling), a server connection may change between two
    transactions of one client connection, so nothing may outlive a transaction: asyncpg
    gets no statement caches and a fresh name for each prepared statement, psycopg prepares
    nothing. Every contender gets the same settings, as its users would write them.
    """
    if url.startswith("sqlite"):
        return {"pool_size": 1, "max_overflow": 0}
    size = int(os.environ.get(POOL_SIZE_ENV, POOL_SIZE))
    options: dict[str, Any] = {"pool_size": size, "max_overflow": 0, "pool_pre_ping": True}
    if os.environ.get(PGBOUNCER_ENV) == "1":
        if "+asyncpg" in url:
            options["connect_args"] = {
                "statement_cache_size": 0,
                "prepared_statement_cache_size": 0,
                "prepared_statement_name_func": lambda: f"__bench_{uuid.uuid4().hex}__",
            }
        else:
            options["connect_args"] = {"prepare_threshold": None}
    return options


def _enable_sqlite_foreign_keys(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _url_from_env(name: str) -> str:
    try:
        return os.environ[name]
    except KeyError:
        raise RuntimeError(
            f"{name} is not set; contender apps are started by `python -m benchmarks`, "
            f"or set {name} to a database URL yourself."
        ) from None


def make_async_engine(url: str | None = None) -> AsyncEngine:
    """The async engine every async contender uses (URL from ``RESTLY_BENCH_ASYNC_URL``)."""
    url = url or _url_from_env(ASYNC_URL_ENV)
    engine = create_async_engine(url, **engine_options(url))
    if url.startswith("sqlite"):
        _enable_sqlite_foreign_keys(engine.sync_engine)
    return engine


def make_sync_engine(url: str | None = None) -> Engine:
    """The sync engine for sync contenders (URL from ``RESTLY_BENCH_SYNC_URL``)."""
    url = url or _url_from_env(SYNC_URL_ENV)
    engine = create_engine(url, **engine_options(url))
    if url.startswith("sqlite"):
        _enable_sqlite_foreign_keys(engine)
    return engine
