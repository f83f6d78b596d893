"""Creating tables (and sample rows) at start-up, safely when many processes start at once.

```python
@asynccontextmanager
async def lifespan(app: FastAPI):
    await fr.db.async_create_all(Base, seed=add_sample_rows)  # one worker at a time
    yield
```

Every worker of ``uvicorn --workers 4`` (or gunicorn) runs its lifespan at the same moment.
Two ``CREATE TABLE`` of one table racing each other fail one of the workers (PostgreSQL:
``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``, SQLite and
MariaDB: ``table already exists``), and the server stops. So the creation runs under a lock
the database holds for all processes:

- PostgreSQL: a transaction-level advisory lock (``pg_advisory_xact_lock`` on `LOCK_KEY`),
  taken in the transaction that creates the tables and seeds them (PostgreSQL's DDL is
  transactional), released by its COMMIT; it works through PgBouncer's transaction pooling;
- MariaDB/MySQL: ``GET_LOCK('restly.create_all.<database>')`` (DDL commits by itself there),
  released after the seed's COMMIT; waiting gives up after `LOCK_TIMEOUT` seconds;
- SQLite: ``BEGIN IMMEDIATE``, the database's write lock, taken first (its busy timeout,
  restly's ``connect_timeout``, bounds the wait).

The first process creates the tables; the others wait, then find them and create nothing.
The lock lives in the database server, so it also holds across machines, and a process
that dies holding it releases it with its connection. ``seed`` runs in every process, one
at a time, after the tables exist and before the lock is released: it should check before
writing (the demo inserts its sample data only into an empty table). For production,
migrate before the workers start instead (docs/deploying.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from ..idempotency import idempotency_metadata
from ._globals import get_fr_globals

__all__ = ["LOCK_KEY", "LOCK_TIMEOUT", "async_create_all", "create_all"]

#: The PostgreSQL advisory lock key `create_all` holds (visible in ``pg_locks``).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"restly.create_all").digest()[:8], "big", signed=True)
#: Seconds a MariaDB/MySQL process waits for another one's table creation.
LOCK_TIMEOUT = 300

Seed = Callable[[Session], object]
AsyncSeed = Callable[[AsyncSession], Awaitable[object]]


def create_all(base: Any, engine: Engine | None = None, *, seed: Seed | None = None) -> None:
    """Create the tables of `base` (a declarative base or a `MetaData`), and restly's own
    (`fr.idempotency_metadata`: the table of idempotency keys) if they are missing.

    Safe when several processes run it at once: one creates the tables, the others wait
    for it (a lock the database holds) and find them. ``seed``, when given, is called
    with a `Session` after the tables exist, under the same lock and in the same
    transaction, in each process one after the other: let it check whether its rows are
    there already.
    """
    metadata = _metadata(base)
    with (engine or get_fr_globals().get_engine()).connect() as connection:
        with _locked(connection):
            _create(connection, metadata)
            if seed is not None:
                with Session(bind=connection, autoflush=False, expire_on_commit=False) as session:
                    seed(session)
                    session.flush()
            connection.commit()


async def async_create_all(
    base: Any, engine: AsyncEngine | None = None, *, seed: AsyncSeed | None = None
) -> None:
    """Create the tables of `base` (a declarative base or a `MetaData`), and restly's own
    (`fr.idempotency_metadata`) if they are missing, async.

    Safe when several processes run it at once, like `create_all`; ``seed`` is an async
    function called with an `AsyncSession` after the tables exist, under the same lock.
    """
    metadata = _metadata(base)
    async with (engine or get_fr_globals().get_async_engine()).connect() as connection:
        await connection.run_sync(_lock)
        try:
            await connection.run_sync(_create, metadata)
            if seed is not None:
                await _seed_async(connection, seed)
            await connection.commit()
        except BaseException:
            await connection.rollback()
            await _unlock_quietly(connection)
            raise
        await connection.run_sync(_unlock)


async def _seed_async(connection: AsyncConnection, seed: AsyncSeed) -> None:
    async with AsyncSession(bind=connection, autoflush=False, expire_on_commit=False) as session:
        await seed(session)
        await session.flush()


async def _unlock_quietly(connection: AsyncConnection) -> None:
    try:
        await connection.run_sync(_unlock)
    except Exception:  # noqa: BLE001 - the error being raised matters; a dead connection frees the lock
        pass


@contextmanager
def _locked(connection: Connection) -> Iterator[None]:
    _lock(connection)
    try:
        yield
    except BaseException:
        connection.rollback()
        try:
            _unlock(connection)
        except Exception:  # noqa: BLE001 - as in _unlock_quietly
            pass
        raise
    _unlock(connection)


def _lock(connection: Connection) -> None:
    """Take the lock of table creation for this database (see the module docstring)."""
    backend = connection.dialect.name
    if backend == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    elif backend in ("mysql", "mariadb"):
        taken = connection.scalar(
            text("SELECT GET_LOCK(CONCAT('restly.create_all.', DATABASE()), :timeout)"),
            {"timeout": LOCK_TIMEOUT},
        )
        if taken != 1:
            raise TimeoutError(
                f"restly's create_all waited {LOCK_TIMEOUT} s for another process creating "
                "the tables of this database (GET_LOCK); is one stuck?"
            )
    elif backend == "sqlite":
        connection.begin()  # the engine's own "begin" listeners run now, before the check
        if not _sqlite_in_transaction(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _unlock(connection: Connection) -> None:
    if connection.dialect.name in ("mysql", "mariadb"):
        connection.execute(text("SELECT RELEASE_LOCK(CONCAT('restly.create_all.', DATABASE()))"))
        connection.commit()


def _sqlite_in_transaction(connection: Connection) -> bool:
    """Whether the sqlite3 (or aiosqlite) connection has a transaction open already (an
    engine whose ``begin`` event emits ``BEGIN``): then its transaction is used as it is."""
    return bool(getattr(connection.connection.driver_connection, "in_transaction", False))


def _create(connection: Connection, metadata: MetaData) -> None:
    metadata.create_all(connection)
    if metadata is not idempotency_metadata:
        idempotency_metadata.create_all(connection)


def _metadata(base: Any) -> MetaData:
    if isinstance(base, MetaData):
        return base
    metadata = getattr(base, "metadata", None)
    if not isinstance(metadata, MetaData):
        raise TypeError(f"expected a declarative base or a MetaData; got {base!r}")
    return metadata
