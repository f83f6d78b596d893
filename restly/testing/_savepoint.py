"""Per-test SAVEPOINT isolation: every write a test makes vanishes when it ends.

This is SQLAlchemy's "join a session into an external transaction" recipe. A test opens one
connection and begins an outer transaction on it that is never committed. Every session of
the test — the fixtures' and the app's — is bound to that connection with
``join_transaction_mode="create_savepoint"``, so a ``commit()`` only releases a SAVEPOINT
and the rows stay visible to the next session on the same connection. At the end the outer
transaction is rolled back and everything the test wrote, committed or not, is gone.

The pytest plugin (:mod:`restly.testing.plugin`) does all of this for you, through
:class:`~restly.testing.SavepointIsolation`. The building blocks, without it::

    from restly.testing import (
        activate_savepoint_only_mode,
        deactivate_savepoint_only_mode,
        savepoint_connection,
    )

    with savepoint_connection(engine) as connection:      # BEGIN ... ROLLBACK at the end
        activate_savepoint_only_mode(make_session, bind=connection)
        try:
            with make_session() as session:
                session.add(World(message="hi"))
                session.commit()                          # RELEASE SAVEPOINT only
        finally:
            deactivate_savepoint_only_mode(make_session)
    # the row is gone

``async_savepoint_connection(async_engine)`` is the same for an ``async_sessionmaker``.

SQLite needs one more step, because Python's ``sqlite3`` driver (and ``aiosqlite`` over it)
does not emit ``BEGIN`` before a ``SAVEPOINT``, so a released savepoint would be committed
for good. For the test connection only, :func:`savepoint_connection` applies SQLAlchemy's
documented remedy: it turns the driver's own transaction handling off
(``isolation_level = None``) and emits ``BEGIN`` itself, then restores the driver's setting
before the connection goes back to the pool. Connections already in a real transaction
after ``begin()`` (Python 3.12's ``autocommit=False``, or the recipe installed on the
engine) are left as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlalchemy.orm import sessionmaker

__all__ = [
    "activate_savepoint_only_mode",
    "async_savepoint_connection",
    "deactivate_savepoint_only_mode",
    "savepoint_connection",
]

AnyMaker = TypeVar("AnyMaker", sessionmaker[Any], async_sessionmaker[Any])

# The configurations each maker had before activate_savepoint_only_mode, innermost last.
_saved_configurations: WeakKeyDictionary[Any, list[dict[str, Any]]] = WeakKeyDictionary()


def activate_savepoint_only_mode(
    maker: AnyMaker, bind: Connection | AsyncConnection | None = None
) -> AnyMaker:
    """Switch ``maker`` to savepoint-only mode; return it.

    Precisely: sets ``join_transaction_mode="create_savepoint"`` on the ``sessionmaker`` or
    ``async_sessionmaker`` and, when ``bind`` is given, binds it to that connection
    (a ``Connection`` for a ``sessionmaker``, an ``AsyncConnection`` for an
    ``async_sessionmaker``). A session the maker creates while bound to a connection that is
    already in a transaction then runs each of its transactions in a SAVEPOINT:
    ``commit()`` releases the savepoint, ``rollback()`` rolls back to it, and ``close()``
    never ends the connection's transaction — whoever began it decides its fate. Sessions
    bound to an engine are unaffected (the mode only applies to connection binds).

    The maker's previous configuration is remembered; :func:`deactivate_savepoint_only_mode`
    restores it. Calls nest.
    """
    _check_maker(maker, bind)
    _saved_configurations.setdefault(maker, []).append(dict(maker.kw))
    changes: dict[str, Any] = {"join_transaction_mode": "create_savepoint"}
    if bind is not None:
        changes["bind"] = bind
    maker.configure(**changes)
    return maker


def deactivate_savepoint_only_mode(maker: AnyMaker) -> AnyMaker:
    """Give ``maker`` back the configuration it had before the matching
    :func:`activate_savepoint_only_mode` (its bind and ``join_transaction_mode``); return it.

    Sessions already created keep their bind; close them first.
    """
    saved = _saved_configurations.get(maker)
    if not saved:
        raise RuntimeError(
            f"{maker!r} is not in savepoint-only mode: deactivate_savepoint_only_mode() "
            "undoes activate_savepoint_only_mode(maker); call that first."
        )
    previous = saved.pop()
    maker.kw.clear()
    maker.kw.update(previous)
    return maker


def _check_maker(maker: Any, bind: Any) -> None:
    if isinstance(maker, sessionmaker):
        expected: type = Connection
    elif isinstance(maker, async_sessionmaker):
        expected = AsyncConnection
    else:
        raise TypeError(
            "activate_savepoint_only_mode() needs a sessionmaker or an async_sessionmaker; "
            f"got {maker!r}."
        )
    if bind is not None and not isinstance(bind, expected):
        raise TypeError(
            f"activate_savepoint_only_mode(): bind a {type(maker).__name__} to a connection "
            f"of type {expected.__name__}; got {bind!r}. Pass engine.connect() of the "
            "matching kind."
        )


# -- one connection in an outer transaction -----------------------------------------------


@contextmanager
def savepoint_connection(engine: Engine) -> Iterator[Connection]:
    """Yield a connection of ``engine`` inside an outer transaction that is rolled back
    when the block ends, whatever sessions bound to it in savepoint-only mode committed.

    On SQLite the driver's own transaction handling is turned off for this connection and
    ``BEGIN`` is emitted explicitly, so SAVEPOINTs nest inside the outer transaction; the
    driver setting is restored before the connection returns to the pool.

    When the engine is disposed inside the block (an app's lifespan closing its pools as the
    test client stops it), the connection is closed at the end instead: the pool it came
    from is no longer the engine's, and would leave it open until garbage collection.
    """
    with engine.connect() as connection:
        pool = engine.pool
        transaction = connection.begin()
        restore = _begin_outer_transaction(connection)
        try:
            yield connection
        finally:
            try:
                transaction.rollback()
            finally:
                restore(connection)  # never pool a connection left in autocommit mode
                if engine.pool is not pool:
                    connection.invalidate()  # closes the driver's connection now


@asynccontextmanager
async def async_savepoint_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The async twin of :func:`savepoint_connection`.

    A server connection (``asyncpg``, ``psycopg``...) belongs to the running event loop,
    which may end with the test, so it is closed for good at the end instead of going back
    to the pool. An ``aiosqlite`` connection is not tied to a loop and goes back to the
    pool, so an in-memory database on a single shared connection survives the test.
    """
    connection = await engine.connect()
    reusable = False
    try:
        transaction = await connection.begin()
        restore = await connection.run_sync(_begin_outer_transaction)
        try:
            yield connection
        finally:
            await transaction.rollback()
            await connection.run_sync(restore)
            reusable = connection.dialect.name == "sqlite"
    finally:
        if not reusable:
            await connection.invalidate()
        await connection.close()


def _begin_outer_transaction(connection: Connection) -> Callable[[Connection], None]:
    """Make sure ``connection`` (whose ``begin()`` was called) is really inside a
    transaction; return what undoes the driver change (called after the rollback)."""
    if connection.dialect.name != "sqlite":
        return _nothing_to_restore
    driver = connection.connection.driver_connection
    if getattr(driver, "in_transaction", True):
        return _nothing_to_restore  # Python 3.12 autocommit=False, or the recipe is installed
    adapted = connection.connection.dbapi_connection
    previous = adapted.isolation_level  # type: ignore[union-attr]
    # The adapter's setter (aiosqlite) runs in the driver's thread; pysqlite's is direct.
    adapted.isolation_level = None  # type: ignore[union-attr]

    def restore(connection: Connection) -> None:
        connection.connection.dbapi_connection.isolation_level = previous  # type: ignore[union-attr]

    try:
        connection.exec_driver_sql("BEGIN")
    except BaseException:
        restore(connection)
        raise
    return restore


def _nothing_to_restore(connection: Connection) -> None:
    return None
