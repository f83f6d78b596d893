"""Per-test SAVEPOINT isolation: every write a test makes vanishes when it ends.

This is SQLAlchemy's "join a session into an external transaction" recipe. A test opens one
connection and begins an outer transaction on it that is never committed. Every session of
the test — the fixtures' and the app's — is bound to that connection with
``join_transaction_mode="create_savepoint"``, so a ``commit()`` only releases a SAVEPOINT
and the rows stay visible to the next session on the same connection. At the end the outer
transaction is rolled back and everything the test wrote, committed or not, is gone.

The pytest plugin (:mod:`restly.testing.plugin`) does all of this for you. Without it::

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
before the connection goes back to the pool (async test connections are discarded instead,
see :func:`async_savepoint_connection`). Connections already in a real transaction
after ``begin()`` (Python 3.12's ``autocommit=False``, or the recipe installed on the
engine) are left as they are.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.orm import Session, sessionmaker

from ..db import FRGlobals

__all__ = [
    "SavepointIsolation",
    "activate_savepoint_only_mode",
    "async_savepoint_connection",
    "deactivate_savepoint_only_mode",
    "savepoint_connection",
]

AnyMaker = TypeVar("AnyMaker", sessionmaker[Any], async_sessionmaker[Any])

# The configurations each maker had before activate_savepoint_only_mode, innermost last.
_saved_configurations: WeakKeyDictionary[Any, list[dict[str, Any]]] = WeakKeyDictionary()

# FRGlobals attributes SavepointIsolation changes and puts back.
_GLOBALS_ATTRIBUTES = (
    "make_session",
    "async_make_session",
    "session_generator",
    "sync_session_generator",
)


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
    """
    with engine.connect() as connection:
        transaction = connection.begin()
        restore = _begin_outer_transaction(connection)
        try:
            yield connection
        finally:
            try:
                transaction.rollback()
            finally:
                restore(connection)  # never pool a connection left in autocommit mode


@asynccontextmanager
async def async_savepoint_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The async twin of :func:`savepoint_connection`.

    The connection belongs to the running event loop, which may end with the test (an
    ``asyncpg`` connection cannot be used from another loop), so it is closed for good at
    the end instead of going back to the pool.
    """
    connection = await engine.connect()
    try:
        transaction = await connection.begin()
        await connection.run_sync(_begin_outer_transaction)
        try:
            yield connection
        finally:
            await transaction.rollback()
    finally:
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


def _engine_of(maker: sessionmaker[Any] | async_sessionmaker[Any], fallback: Any) -> Any:
    bind = maker.kw.get("bind")
    if isinstance(bind, (Engine, AsyncEngine)):
        return bind
    if bind is not None:
        raise RuntimeError(
            f"restly.testing cannot isolate sessions of {maker!r}: it is bound to {bind!r}, "
            "not to an engine. Bind the sessionmaker to an engine."
        )
    return fallback()


class _SyncSide:
    """``maker`` in savepoint-only mode over a :func:`savepoint_connection`."""

    def __init__(self, maker: sessionmaker[Session], engine: Engine) -> None:
        self.maker = maker
        with ExitStack() as stack:
            connection = stack.enter_context(savepoint_connection(engine))
            activate_savepoint_only_mode(maker, bind=connection)
            stack.callback(deactivate_savepoint_only_mode, maker)
            self._stack = stack.pop_all()

    def close(self) -> None:
        self._stack.close()


class _AsyncSide:
    """``maker`` in savepoint-only mode over an :func:`async_savepoint_connection`, in
    the event loop that opened it."""

    def __init__(self, maker: async_sessionmaker[AsyncSession], stack: AsyncExitStack) -> None:
        self.maker = maker
        self.loop = asyncio.get_running_loop()
        self._stack = stack

    @classmethod
    async def open(
        cls, maker: async_sessionmaker[AsyncSession], engine: AsyncEngine
    ) -> _AsyncSide:
        stack = AsyncExitStack()
        try:
            connection = await stack.enter_async_context(async_savepoint_connection(engine))
            activate_savepoint_only_mode(maker, bind=connection)
            stack.callback(deactivate_savepoint_only_mode, maker)
        except BaseException:
            await stack.aclose()
            raise
        return cls(maker, stack)

    async def close(self) -> None:
        await self._stack.aclose()


# -- a whole FRGlobals in savepoint mode ---------------------------------------------------


class SavepointIsolation:
    """Puts one :class:`~restly.FRGlobals` in savepoint mode for the duration of a test.

    :meth:`install` replaces the globals' session generators with ones that hand out
    sessions from the globals' own session factories, bound (on first use) to a connection
    in an outer transaction; :meth:`uninstall` rolls that transaction back and restores
    every attribute it changed. The sync side and the async side are two connections,
    each opened only when something asks for a session of its kind — so a project that
    configured only one kind of database never needs the other.

    An async connection belongs to the event loop that opened it and must be rolled back
    there, so async sessions are only handed out inside an :meth:`async_scope` of the
    running loop; the last scope of that loop to end closes the connection::

        with SavepointIsolation(fr.get_fr_globals()) as isolation:   # install() ... uninstall()
            async with isolation.async_scope():
                async with fr.async_session() as session:
                    ...
    """

    def __init__(self, fr_globals: FRGlobals) -> None:
        self.fr_globals = fr_globals
        self._saved: dict[str, Any] | None = None
        self._sync: _SyncSide | None = None
        self._async: _AsyncSide | None = None
        self._sync_lock = threading.Lock()
        self._async_lock: asyncio.Lock | None = None
        self._scopes: dict[asyncio.AbstractEventLoop, int] = {}

    # -- install / uninstall -----------------------------------------------------------

    def __enter__(self) -> SavepointIsolation:
        self.install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def install(self) -> None:
        """Route every session of the globals through the savepoint connections."""
        if self._saved is not None:
            raise RuntimeError("this SavepointIsolation is already installed")
        g = self.fr_globals
        self._saved = {name: getattr(g, name) for name in _GLOBALS_ATTRIBUTES}
        g.sync_session_generator = self._sync_session_generator
        g.session_generator = self._async_session_generator

    def uninstall(self) -> None:
        """Roll back the sync outer transaction and restore the globals."""
        if self._saved is None:
            return
        try:
            if self._async is not None:
                self._async = None
                raise RuntimeError(
                    "SavepointIsolation.uninstall(): the async connection is still open; "
                    "leave every async_scope() first (its rollback must run in its loop)."
                )
            if self._sync is not None:
                opened, self._sync = self._sync, None
                opened.close()
        finally:
            for name, value in self._saved.items():
                setattr(self.fr_globals, name, value)
            self._saved = None

    # -- sync side ---------------------------------------------------------------------

    def sessionmaker(self) -> sessionmaker[Session]:
        """The globals' ``sessionmaker``, bound to this test's sync connection."""
        with self._sync_lock:
            if self._sync is None:
                g = self._installed_globals()
                with self._explained("sync", "sync_session_generator", "database_url"):
                    maker = g.get_sessionmaker()
                    engine = _engine_of(maker, g.get_engine)
                self._sync = _SyncSide(maker, engine)
            return self._sync.maker

    def _sync_session_generator(self) -> Iterator[Session]:
        with self.sessionmaker()() as session:
            yield session

    # -- async side --------------------------------------------------------------------

    @asynccontextmanager
    async def async_scope(self) -> AsyncIterator[SavepointIsolation]:
        """Allow async sessions in the running event loop while the block runs; when the
        last scope of this loop ends, roll back and close the async connection."""
        loop = asyncio.get_running_loop()
        self._scopes[loop] = self._scopes.get(loop, 0) + 1
        try:
            yield self
        finally:
            self._scopes[loop] -= 1
            if not self._scopes[loop]:
                del self._scopes[loop]
                if self._async is not None and self._async.loop is loop:
                    opened, self._async = self._async, None
                    await opened.close()

    async def async_sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """The globals' ``async_sessionmaker``, bound to this test's async connection
        (opened in the running event loop on first use)."""
        loop = asyncio.get_running_loop()
        if not self._scopes.get(loop):
            raise RuntimeError(
                "An async session was requested in an event loop where restly.testing "
                "cannot roll it back: it hands them out in the test's loop while "
                "`async_session` or `async_client` is set up, and in the loop of the "
                "`client` fixture after the app's startup. In async tests request "
                "`async_session` or `async_client` (even if unused) before opening async "
                "sessions."
            )
        if self._async_lock is None:
            self._async_lock = asyncio.Lock()
        async with self._async_lock:
            if self._async is None:
                g = self._installed_globals()
                with self._explained("async", "session_generator", "async_database_url"):
                    maker = g.get_async_sessionmaker()
                    engine = _engine_of(maker, g.get_async_engine)
                self._async = await _AsyncSide.open(maker, engine)
            elif self._async.loop is not loop:
                raise RuntimeError(
                    "This test's async database connection was opened in another event "
                    "loop. The sync `client` runs the app in its own loop: in async tests "
                    "use `async_client` together with `async_session`."
                )
            return self._async.maker

    async def _async_session_generator(self) -> AsyncIterator[AsyncSession]:
        async with (await self.async_sessionmaker())() as session:
            yield session

    # -- helpers -----------------------------------------------------------------------

    @contextmanager
    def _explained(self, kind: str, generator: str, url: str) -> Iterator[None]:
        try:
            yield
        except RuntimeError as error:
            if self._saved is None or self._saved[generator] is None:
                raise
            raise RuntimeError(
                f"restly.testing isolates {kind} sessions by binding the session factory of "
                f"FRGlobals to a test connection, but only a {generator} is configured (it "
                f"is set aside during tests). Also configure the database it uses: "
                f"fr.configure({url}=...), an engine or a sessionmaker."
            ) from error

    def _installed_globals(self) -> FRGlobals:
        if self._saved is None:
            raise RuntimeError("SavepointIsolation.install() must be called first")
        return self.fr_globals
