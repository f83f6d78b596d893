"""Runtime state per application: `FRGlobals` and `use_fr_globals`.

One `FRGlobals` holds everything an app needs at run time: database URLs, engines, session
factories, session generators, the view registry and list defaults. A module-level default
instance is active unless a `use_fr_globals` block activates another:

```python
app_a = FRGlobals()
with use_fr_globals(app_a):
    fr.configure(async_database_url="postgresql+asyncpg://host-a/db")

    class ItemView(fr.AsyncRestView):      # registered in app_a, bound to it forever
        prefix = "/items"
        model = Item
```

The active instance lives in a `ContextVar`, so each asyncio task sees the globals that were
active when it started. A view remembers the globals it was registered in and activates them
while it handles a request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from ..idempotency import DEFAULT_TTL
from ..registry import ViewRegistry
from .._limits import DEFAULT_MAX_BODY_SIZE
from ._replicas import Replicas, RoutingSession
from ._scopes import ScopeRegistry
from ._threads import SyncThreads
from ._engine import (
    DEFAULT_CONNECT_TIMEOUT,
    PoolSettings,
    async_url_for,
    build_async_engine,
    build_engine,
    sync_url_for,
)

__all__ = ["FRGlobals", "get_fr_globals", "use_fr_globals"]

AsyncSessionGenerator = Callable[[], AsyncIterator[AsyncSession]]
SessionGenerator = Callable[[], Iterator[Session]]
T = TypeVar("T")

DEFAULT_MAX_PAGE_SIZE = 1000
DEFAULT_REPLICA_RETRY_AFTER = 30.0


class FRGlobals:
    """The runtime state of one restly application.

    Create one per app when several apps share a process; otherwise the module-level default
    is used. Attributes are set by `restly.configure` while this instance is active.
    """

    def __init__(
        self,
        *,
        default_page_size: int | None = None,
        max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    ) -> None:
        #: URL for the async engine restly builds when none is given.
        self.async_database_url: str | URL | None = None
        #: URL for the sync engine restly builds when none is given.
        self.database_url: str | URL | None = None
        #: An async engine to use as given (else built from `async_database_url`).
        self.async_engine: AsyncEngine | None = None
        #: A sync engine to use as given (else built from `database_url`).
        self.engine: Engine | None = None
        #: Factory of async sessions (default: ``async_sessionmaker(autoflush=False,
        #: expire_on_commit=False)`` over the async engine).
        self.async_make_session: async_sessionmaker[AsyncSession] | None = None
        #: Factory of sync sessions (default: `sessionmaker(expire_on_commit=False)`).
        self.make_session: sessionmaker[Session] | None = None
        #: Async generator yielding the session of each async request; owns its lifecycle.
        self.session_generator: AsyncSessionGenerator | None = None
        #: Sync generator yielding the session of each sync request; owns its lifecycle.
        self.sync_session_generator: SessionGenerator | None = None
        #: Whether mounting a view on an app installs restly's exception handlers.
        self.install_default_exception_handlers: bool = True
        #: Page size used when a list request sends `page` but no `page_size`; read
        #: when a view class is created (a view's own `default_page_size` wins).
        self.default_page_size: int | None = default_page_size
        #: Upper bound of `page_size` and of any unpaginated list; read when a view class
        #: is created (a view's own `max_page_size` wins).
        self.max_page_size: int = max_page_size
        #: Largest request body (bytes) the routes of its views accept; larger -> 413.
        #: Read when a view is mounted; ``None`` disables the limit.
        self.max_body_size: int | None = DEFAULT_MAX_BODY_SIZE
        #: Seconds restly-built engines wait to connect, for a pooled connection, or for a
        #: SQLite lock before failing (the request then answers 503); ``None``: driver default.
        self.connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT
        #: Seconds after which PostgreSQL cancels a statement of restly-built engines (503);
        #: ``None`` (default) leaves statements unbounded.
        self.statement_timeout: float | None = None
        #: The database is reached through PgBouncer in transaction pooling mode: restly-built
        #: PostgreSQL engines keep nothing across transactions (see `restly.db.build_engine`).
        self.pgbouncer: bool = False
        #: Pool options of restly-built engines (`PoolSettings`; ``None``: restly's defaults).
        self.pool: PoolSettings | None = None
        #: The secret list cursors are signed and encrypted with; every worker process of
        #: an app must share it. ``None``: a fixed key, the same everywhere (cursors then
        #: work across workers but can be forged; a cursor grants no access either way).
        self.cursor_key: str | bytes | None = None
        #: URLs of read replicas: the sessions of GET and HEAD requests read from them (see
        #: `restly.db.RoutingSession`); ``()``: every session uses the primary.
        self.read_replica_urls: tuple[str | URL, ...] = ()
        #: Seconds a replica that failed to connect is left out before it is tried again.
        self.replica_retry_after: float = DEFAULT_REPLICA_RETRY_AFTER
        #: Seconds an `Idempotency-Key` and its stored answer are kept (default 24 h);
        #: read on every request, so a later `configure` applies to mounted views.
        self.idempotency_ttl: float = DEFAULT_TTL
        # The threads sync view endpoints run in (see `sync_threads`, `restly.db._threads`).
        self._sync_threads = SyncThreads()
        #: The views registered while this instance was active, in declaration order.
        self.registry: ViewRegistry = ViewRegistry()
        #: The row scopes declared while this instance was active (``@fr.scope(Model)``),
        #: in declaration order; they apply to views created afterwards.
        self.scopes: ScopeRegistry = ScopeRegistry()
        #: restly's own: the route classes bound to this instance (see `restly.mount`), by
        #: the router's route class and whether error answers carry a `message`.
        self.route_classes: dict[tuple[type, bool], type] = {}
        #: restly's own: model -> path of the first view of this instance mounted for it,
        #: for `x-resource-ref` in documents restly does not build (see `restly.mount`).
        self.mounted_prefixes: WeakKeyDictionary[type, str] = WeakKeyDictionary()
        # Engines restly built itself (and so disposes); never ones the user passed in.
        self._built_async_engine: AsyncEngine | None = None
        self._built_engine: Engine | None = None
        self._replicas: Replicas | None = None

    @property
    def sync_threads(self) -> int:
        """Endpoints of sync views running at once in worker threads, per worker process
        (default 6); more requests wait on the event loop until one finishes. A change
        applies to running apps too."""
        return self._sync_threads.total

    @sync_threads.setter
    def sync_threads(self, value: int) -> None:
        self._sync_threads.total = value

    async def run_sync_endpoint(self, function: Callable[..., T], /, **arguments: Any) -> T:
        """restly's own: ``function(**arguments)`` in a worker thread, at most
        `sync_threads` at once (see `restly.db._threads`)."""
        return await self._sync_threads.run(function, **arguments)

    # -- engines -----------------------------------------------------------------------

    def get_async_engine(self) -> AsyncEngine:
        """Return the async engine, building it from the configured URL on first use."""
        if self.async_engine is not None:
            return self.async_engine
        if self._built_async_engine is None:
            url = self.async_database_url
            if url is None and self.database_url is not None:
                url = async_url_for(self.database_url)
            if url is None:
                raise RuntimeError(_unconfigured("async", "async_database_url"))
            self._built_async_engine = build_async_engine(url, **self._timeouts())
        return self._built_async_engine

    def _timeouts(self) -> dict[str, Any]:
        """The settings restly-built engines are built with."""
        return {
            "connect_timeout": self.connect_timeout,
            "statement_timeout": self.statement_timeout,
            "pgbouncer": self.pgbouncer,
            "pool": self.pool,
        }

    def get_engine(self) -> Engine:
        """Return the sync engine, building it from the configured URL on first use."""
        if self.engine is not None:
            return self.engine
        if self._built_engine is None:
            url = self.database_url
            if url is None and self.async_database_url is not None:
                url = sync_url_for(self.async_database_url)
            if url is None:
                raise RuntimeError(_unconfigured("sync", "database_url"))
            self._built_engine = build_engine(url, **self._timeouts())
        return self._built_engine

    @property
    def replicas(self) -> Replicas | None:
        """The read replicas (`restly.db.Replicas`), or None when none are configured."""
        if not self.read_replica_urls:
            return None
        if self._replicas is None:
            self._replicas = Replicas(
                self.read_replica_urls,
                retry_after=self.replica_retry_after,
                build_async=lambda url: build_async_engine(async_url_for(url), **self._timeouts()),
                build_sync=lambda url: build_engine(sync_url_for(url), **self._timeouts()),
            )
        return self._replicas

    # -- session factories -------------------------------------------------------------

    def get_async_sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """Return the async session factory (restly's default one unless configured)."""
        if self.async_make_session is None:
            self.async_make_session = async_sessionmaker(
                self.get_async_engine(),
                autoflush=False,
                expire_on_commit=False,
                sync_session_class=RoutingSession if self.read_replica_urls else Session,
            )
        return self.async_make_session

    def get_sessionmaker(self) -> sessionmaker[Session]:
        """Return the sync session factory (restly's default one unless configured)."""
        if self.make_session is None:
            self.make_session = sessionmaker(
                self.get_engine(),
                expire_on_commit=False,
                class_=RoutingSession if self.read_replica_urls else Session,
            )
        return self.make_session

    # -- lifecycle ---------------------------------------------------------------------

    def reset_database(self) -> None:
        """Forget engines and session factories derived from URLs (after a URL changes)."""
        if self._built_engine is not None:
            self._built_engine.dispose()
        self._built_engine = None
        self._built_async_engine = None
        self.async_make_session = None
        self.make_session = None
        if self._replicas is not None:
            self._replicas.forget()
            self._replicas = None

    async def dispose(self) -> None:
        """Close the connection pools of the engines restly built (not ones passed in)."""
        if self._built_async_engine is not None:
            await self._built_async_engine.dispose()
        if self._built_engine is not None:
            self._built_engine.dispose()
        if self._replicas is not None:
            await self._replicas.dispose()

    def __repr__(self) -> str:
        url = self.async_database_url or self.database_url
        shown = url.render_as_string() if isinstance(url, URL) else url
        return f"<FRGlobals url={shown!r} views={len(self.registry)}>"


def _unconfigured(kind: str, parameter: str) -> str:
    return (
        f"restly has no database configured for {kind} sessions: call "
        f"fr.configure({parameter}=...) first (or pass an engine, a sessionmaker or a "
        f"session generator)."
    )


_DEFAULT_GLOBALS = FRGlobals()
_ACTIVE: ContextVar[FRGlobals] = ContextVar("restly_fr_globals", default=_DEFAULT_GLOBALS)


def get_fr_globals() -> FRGlobals:
    """Return the active `FRGlobals` (the module default outside any block)."""
    return _ACTIVE.get()


@contextmanager
def use_fr_globals(fr_globals: FRGlobals) -> Iterator[FRGlobals]:
    """Make `fr_globals` the active runtime state inside the `with` block."""
    token = _ACTIVE.set(fr_globals)
    try:
        yield fr_globals
    finally:
        _ACTIVE.reset(token)


def activate(fr_globals: FRGlobals) -> Any:
    """Activate `fr_globals` without a block; returns the token for `deactivate`."""
    return _ACTIVE.set(fr_globals)


def deactivate(token: Any) -> None:
    """Undo `activate`."""
    _ACTIVE.reset(token)
