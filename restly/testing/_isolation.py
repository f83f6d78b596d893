"""Savepoint isolation for a whole :class:`~restly.FRGlobals`: what the pytest plugin uses.

::

    from restly.testing import SavepointIsolation

    with SavepointIsolation(fr.get_fr_globals()) as isolation:
        with fr.session() as session:                 # on the test's sync connection
            session.add(World(message="hi"))
        async with isolation.async_scope():           # async sessions in this event loop
            async with fr.async_session() as session:
                ...
    # everything written above is rolled back; the globals are as they were

The sessions come from the globals' own session factories, switched to savepoint-only mode
(:func:`~restly.testing.activate_savepoint_only_mode`) over a connection in an outer
transaction (:func:`~restly.testing.savepoint_connection`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from ..db import FRGlobals
from ._savepoint import (
    activate_savepoint_only_mode,
    async_savepoint_connection,
    deactivate_savepoint_only_mode,
    savepoint_connection,
)

__all__ = ["SavepointIsolation"]

# FRGlobals attributes SavepointIsolation changes and puts back.
_GLOBALS_ATTRIBUTES = (
    "make_session",
    "async_make_session",
    "session_generator",
    "sync_session_generator",
)


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
