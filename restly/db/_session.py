"""Sessions: context managers for scripts and FastAPI dependencies for requests.

Outside a request (background tasks, scripts):

```python
async with fr.async_session() as session:
    session.add(World(message="hi"))
# committed here; rolled back instead if the block raised
```

In a request, declare the dependency on a view or a route:

```python
class Stats(fr.View):
    prefix = "/stats"
    session: fr.AsyncSessionDep
```

A session used by a request is committed before the response is sent when it still holds a
transaction, and rolled back when the handler raised: no partial write survives a failed request.
A configured `session_generator` / `sync_session_generator` owns its session's lifecycle
(creation and closing); restly still commits or rolls back around the handler.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, AsyncExitStack, asynccontextmanager, contextmanager
from types import TracebackType
from typing import Annotated, Any

from anyio import CancelScope
from anyio.lowlevel import checkpoint_if_cancelled
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from .._faults import commit_outcome_unknown
from ..exc import CommitOutcomeUnknown
from ._globals import FRGlobals, get_fr_globals
from ._liveness import closed_before_commit
from ._replicas import READ_METHODS, RoutingSession

__all__ = [
    "AsyncPrimarySessionDep",
    "AsyncSessionDep",
    "PrimarySessionDep",
    "SessionDep",
    "async_open_session",
    "async_session",
    "get_async_engine",
    "get_async_primary_session",
    "get_async_session",
    "get_engine",
    "get_primary_session",
    "get_session",
    "open_async_session",
    "open_session",
    "session",
]


@asynccontextmanager
async def async_session(fr_globals: FRGlobals | None = None) -> AsyncIterator[AsyncSession]:
    """Open an async session from the active globals; commit on success, roll back on error.

    Uses the configured `session_generator` when there is one, else the configured
    async sessionmaker.
    """
    g = fr_globals or get_fr_globals()
    if g.session_generator is not None:
        async with asynccontextmanager(g.session_generator)() as generated:
            async with _transaction(generated) as session:
                yield session
    else:
        async with g.get_async_sessionmaker()() as made:
            async with _transaction(made) as session:
                yield session


@asynccontextmanager
async def _transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    await async_commit(session)


def commit(session: Session, *, read_only: bool = False) -> None:
    """Commit ``session`` if it holds a transaction; roll back explicitly if COMMIT fails.

    The explicit rollback matters on SQLite: a COMMIT refused by a deferred constraint leaves
    the transaction open on the connection, and the pool would hand it, writes included, to
    the next request.

    The writes are flushed first, and the connection is checked (without a round trip, see
    ``restly.db._liveness``), so that a connection lost during the commit itself is known to
    be lost after COMMIT was sent: that raises
    :class:`~restly.exc.CommitOutcomeUnknown` (from the driver's error), as the write may
    have been applied; a failed flush raises the driver's error (nothing was committed).
    A ``read_only`` transaction (the caller knows it wrote nothing and holds nothing to
    flush) skips both: no outcome of it can be unknown.
    """
    if not session.in_transaction():
        return
    closed = True  # read only: nothing whose outcome a lost connection would leave unknown
    if not read_only:
        try:
            session.flush()
            closed = closed_before_commit(session)
        except BaseException:
            session.rollback()
            raise
    try:
        session.commit()
    except BaseException as error:
        session.rollback()
        if not closed and commit_outcome_unknown(error):
            raise CommitOutcomeUnknown() from error
        raise


async def async_commit(session: AsyncSession) -> None:
    """:func:`commit` for an async session: the same code, run on its sync `Session`.

    ``run_sync`` runs :func:`commit` in SQLAlchemy's greenlet, so sync and async sessions share
    one commit-or-roll-back path that cannot drift.
    """
    if session.in_transaction():  # no greenlet switch when there is nothing to commit
        await session.run_sync(commit)


@contextmanager
def session(fr_globals: FRGlobals | None = None) -> Iterator[Session]:
    """Open a sync session from the active globals; commit on success, roll back on error.

    Uses the configured `sync_session_generator` when there is one, else the configured
    sessionmaker.
    """
    g = fr_globals or get_fr_globals()
    manager: AbstractContextManager[Session]
    if g.sync_session_generator is not None:
        manager = contextmanager(g.sync_session_generator)()
    else:
        manager = g.get_sessionmaker()()
    with manager as opened:
        try:
            yield opened
        except BaseException:
            opened.rollback()
            raise
        commit(opened)


open_async_session = async_session
async_open_session = async_session
open_session = session


async def get_async_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: the request's async session (see `AsyncSessionDep`).

    With read replicas configured, the session of a GET or HEAD request reads from one
    (see `restly.db.RoutingSession`).
    """
    g = get_fr_globals()
    if g.session_generator is not None:
        entered = False
        try:
            async with async_session(g) as generated:
                entered = True
                if g.read_replica_urls and request.method in READ_METHODS:
                    await _read_from_replica(g, generated)
                yield generated
        except OSError as error:
            if entered or isinstance(error, (ConnectionError, TimeoutError)):
                raise
            raise _cannot_connect(error) from error
        return
    # The common case: the same steps as the routes of `restly._direct` take, on a stack of
    # the dependency's own (an error thrown in at the yield reaches it: rollback).
    async with AsyncExitStack() as stack:
        opened = await enter_async_session(request, stack)
        assert opened is not None  # None only with a session_generator, handled above
        yield opened


async def enter_async_session(request: Request, stack: AsyncExitStack) -> AsyncSession | None:
    """``get_async_session`` opened for a request and closed by ``stack`` (the request's exit
    stack of dependencies), as FastAPI runs the dependency, without its generator: rolled
    back when the handler raised, else committed; closed; a cancellation waits until that
    is done, as FastAPI shields a dependency's exit. None with a ``session_generator`` (the
    caller runs the dependency itself). The same steps as ``get_async_session``'s common
    case, which opens its session with it (``restly._direct`` uses it directly)."""
    g = get_fr_globals()
    if g.session_generator is not None:
        return None
    opened = g.get_async_sessionmaker()()
    if g.read_replica_urls and request.method in READ_METHODS:
        try:
            await _read_from_replica(g, opened)
        except BaseException:
            try:
                await opened.rollback()
            finally:
                await opened.close()
            raise
    stack.push_async_exit(functools.partial(_end_async_session, opened))
    return opened


async def _end_async_session(
    opened: AsyncSession,
    error_type: type[BaseException] | None,
    error: BaseException | None,
    traceback: TracebackType | None,
) -> bool:
    with CancelScope(shield=True):
        try:
            if error_type is not None:
                await opened.rollback()
            else:
                await async_commit(opened)
        finally:
            if opened.in_transaction():
                await opened.close()
            else:  # holds no connection: no I/O, no switch into SQLAlchemy's greenlet
                opened.sync_session.close()
    if error_type is None:
        await checkpoint_if_cancelled()
    return False


async def enter_session(request: Request, stack: AsyncExitStack) -> Session | None:
    """:func:`enter_async_session` for ``get_session``: the sync session, its commit and
    close in the threadpool. None with a ``sync_session_generator``."""
    g = get_fr_globals()
    if g.sync_session_generator is not None:
        return None
    opened = g.get_sessionmaker()()
    if g.read_replica_urls and request.method in READ_METHODS:
        try:
            await run_in_threadpool(_read_from_replica_sync, g, opened)
        except BaseException:
            await run_in_threadpool(opened.close)  # closing rolls back
            raise
    stack.push_async_exit(functools.partial(_end_session, opened))
    return opened


async def _end_session(
    opened: Session,
    error_type: type[BaseException] | None,
    error: BaseException | None,
    traceback: TracebackType | None,
) -> bool:
    with CancelScope(shield=True):
        if error_type is not None:
            await run_in_threadpool(opened.close)  # closing rolls back
        elif opened.in_transaction():
            await run_in_threadpool(_commit_and_close, opened)
        else:
            opened.close()  # holds no connection: no I/O
    if error_type is None:
        await checkpoint_if_cancelled()
    return False


async def _read_from_replica(g: FRGlobals, opened: AsyncSession) -> None:
    replicas = g.replicas
    if replicas is not None and isinstance(opened.sync_session, RoutingSession):
        await replicas.connect(opened)


def _read_from_replica_sync(g: FRGlobals, opened: Session) -> None:
    replicas = g.replicas
    if replicas is not None and isinstance(opened, RoutingSession):
        replicas.connect_sync(opened)


async def get_async_primary_session() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: an async session on the primary whatever the method (see
    `AsyncPrimarySessionDep`)."""
    async for opened in get_async_session(_WRITE_REQUEST):
        yield opened


async def get_session(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: the request's sync session (see `SessionDep`).

    An async generator on purpose: creating a `Session` does no I/O, so the request
    avoids two threadpool hops; the commit, which does I/O, runs in the threadpool only
    when the handler left a transaction open.
    """
    g = get_fr_globals()
    if g.sync_session_generator is not None:
        manager = contextmanager(g.sync_session_generator)()
        try:
            opened = await run_in_threadpool(manager.__enter__)
        except (ConnectionError, TimeoutError):
            raise
        except OSError as error:
            raise _cannot_connect(error) from error
        try:
            if g.read_replica_urls and request.method in READ_METHODS:
                await run_in_threadpool(_read_from_replica_sync, g, opened)
            yield opened
        except BaseException as error:
            await run_in_threadpool(_rollback_and_exit, opened, manager, error)
            raise
        await run_in_threadpool(_commit_and_exit, opened, manager)
        return
    async with AsyncExitStack() as stack:  # the common case, as in `get_async_session`
        opened_sync = await enter_session(request, stack)
        assert opened_sync is not None  # None only with a sync_session_generator, handled above
        yield opened_sync


def _cannot_connect(error: OSError) -> ConnectionError:
    """What an ``OSError`` a session generator raised before yielding means: the session
    could not be opened, a connection failure (a DNS lookup, asyncpg's "Multiple
    exceptions"...). As a ``ConnectionError`` it answers 503, and is still an ``OSError``
    to the application's own handlers."""
    return ConnectionError(*error.args)


def _commit_and_close(opened: Session) -> None:
    try:
        commit(opened)
    finally:
        opened.close()


def _commit_and_exit(opened: Session, manager: AbstractContextManager[Any]) -> None:
    try:
        commit(opened)
    except BaseException as error:
        _rollback_and_exit(opened, manager, error)
        raise
    manager.__exit__(None, None, None)


def _rollback_and_exit(
    opened: Session, manager: AbstractContextManager[Any], error: BaseException
) -> None:
    try:
        opened.rollback()
    finally:
        manager.__exit__(type(error), error, error.__traceback__)


async def get_primary_session() -> AsyncIterator[Session]:
    """FastAPI dependency: a sync session on the primary whatever the method (see
    `PrimarySessionDep`)."""
    async for opened in get_session(_WRITE_REQUEST):
        yield opened


class _WriteRequest:
    """Stands in for the request of the primary-session dependencies."""

    method = "POST"


_WRITE_REQUEST: Any = _WriteRequest()

AsyncSessionDep = Annotated[AsyncSession, Depends(get_async_session, scope="function")]
"""The request's `AsyncSession`: committed before the response, rolled back on error."""

SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""The request's sync `Session`: committed before the response, rolled back on error."""


AsyncPrimarySessionDep = Annotated[
    AsyncSession, Depends(get_async_primary_session, scope="function")
]
"""`AsyncSessionDep` that never reads from a replica (for reads that must see every write)."""

PrimarySessionDep = Annotated[Session, Depends(get_primary_session, scope="function")]
"""`SessionDep` that never reads from a replica (for reads that must see every write)."""


def get_async_engine() -> AsyncEngine:
    """Return the active globals' async engine."""
    return get_fr_globals().get_async_engine()


def get_engine() -> Engine:
    """Return the active globals' sync engine."""
    return get_fr_globals().get_engine()
