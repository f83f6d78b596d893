"""``get_one_or_create``: find the one row matching some filters, or create it, race-safely.

::

    tag, created = fr.get_one_or_create(session, Tag, name="news")
    tag, created = await fr.async_get_one_or_create(session, Tag, {"color": "red"}, name="news")

Two requests creating the same row at once both end with that one row: the loser's INSERT
fails on the unique constraint inside a SAVEPOINT, which is rolled back, and the winner's row
is read and returned (``created=False``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

__all__ = ["async_get_one_or_create", "get_one_or_create"]

ModelT = TypeVar("ModelT")


def get_one_or_create(
    session: Session,
    model: type[ModelT],
    defaults: Mapping[str, Any] | None = None,
    **filters: Any,
) -> tuple[ModelT, bool]:
    """Return ``(object, created)``: the one row matching ``filters``, created when absent.

    A new object gets ``filters`` plus ``defaults`` and is flushed inside a SAVEPOINT. When a
    concurrent transaction inserts the same row first (a unique constraint fires), the
    savepoint is rolled back and the winner's row is returned with ``created=False``; other
    integrity errors propagate. Nothing is committed. More than one match raises
    ``sqlalchemy.exc.MultipleResultsFound``.

    The winner's row is found at the databases' default isolation levels (on MySQL/MariaDB
    through a ``FOR SHARE`` read); under PostgreSQL's REPEATABLE READ or SERIALIZABLE it is
    invisible to the transaction, and the ``IntegrityError`` propagates.
    """
    statement, values = _lookup(model, defaults, filters)
    found = session.scalars(statement).one_or_none()
    if found is not None:
        return found, False
    # Flush pending changes first: their errors belong to the caller, not to the race below.
    session.flush()
    connection = session.connection(bind_arguments={"mapper": inspect(model)})
    if _outside_sqlite_transaction(connection):
        connection.exec_driver_sql("BEGIN")
    new = model(**values)
    try:
        with session.begin_nested():
            session.add(new)
    except IntegrityError:
        winner = session.scalars(_reread(statement, connection.dialect)).one_or_none()
        if winner is None:
            raise
        return winner, False
    return new, True


async def async_get_one_or_create(
    session: AsyncSession,
    model: type[ModelT],
    defaults: Mapping[str, Any] | None = None,
    **filters: Any,
) -> tuple[ModelT, bool]:
    """The ``AsyncSession`` twin of :func:`get_one_or_create`, with the same guarantees."""
    statement, values = _lookup(model, defaults, filters)
    found = (await session.scalars(statement)).one_or_none()
    if found is not None:
        return found, False
    await session.flush()
    connection = await session.connection(bind_arguments={"mapper": inspect(model)})
    if _outside_sqlite_transaction(connection.sync_connection):
        await connection.exec_driver_sql("BEGIN")
    new = model(**values)
    try:
        async with session.begin_nested():
            session.add(new)
    except IntegrityError:
        winner = (await session.scalars(_reread(statement, connection.dialect))).one_or_none()
        if winner is None:
            raise
        return winner, False
    return new, True


def _reread(statement: Select[ModelT], dialect: Dialect) -> Select[ModelT]:
    """The SELECT that finds the row a concurrent transaction committed first.

    InnoDB's default REPEATABLE READ keeps showing the snapshot in which the row was absent;
    a locking read (``FOR SHARE``) reads the latest committed row instead. PostgreSQL's and
    SQLite's defaults see the row with a plain SELECT.
    """
    if dialect.name in ("mysql", "mariadb"):
        return statement.with_for_update(read=True)
    return statement


def _outside_sqlite_transaction(connection: Connection | None) -> bool:
    """Return whether SQLite's driver has not really begun the transaction SQLAlchemy began.

    The sqlite3 module (and aiosqlite on top of it) defers BEGIN until the first INSERT, so a
    SAVEPOINT issued first opens the outermost transaction and its RELEASE commits the row.
    Engines configured with SQLAlchemy's documented fix (or ``autocommit=False``) are already
    in a transaction here, and nothing is done for them.
    """
    if connection is None or connection.dialect.name != "sqlite":
        return False
    driver_connection = connection.connection.driver_connection
    return getattr(driver_connection, "in_transaction", True) is False


def _lookup(
    model: type[ModelT], defaults: Mapping[str, Any] | None, filters: dict[str, Any]
) -> tuple[Select[ModelT], dict[str, Any]]:
    """Build the SELECT for ``filters`` and the constructor arguments of a new object."""
    if not filters:
        raise TypeError("get_one_or_create() needs at least one filter, e.g. email='a@b.c'")
    defaults = dict(defaults or {})
    clashing = sorted(filters.keys() & defaults.keys())
    if clashing:
        raise TypeError(
            f"get_one_or_create() got {', '.join(map(repr, clashing))} both as a filter and in "
            "defaults; pass each name once (filters are also used to create the object)"
        )
    return select(model).filter_by(**filters), {**filters, **defaults}
