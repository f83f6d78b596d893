"""Read replicas: reads of GET and HEAD requests go to a replica, everything else to the primary.

```python
fr.configure(
    async_database_url="postgresql+asyncpg://app@primary/app",
    read_replica_urls=["postgresql+asyncpg://app@replica-1/app", "postgresql+asyncpg://app@replica-2/app"],
)
```

How a request's session is routed:

- The session of a ``GET`` or ``HEAD`` request (restly's list and get routes, and your own
  ``GET`` routes that use `AsyncSessionDep` / `SessionDep`) connects to a replica when it is
  opened, choosing them in turn (round-robin). A replica that fails to connect is skipped
  for `FRGlobals.replica_retry_after` seconds, and the request tries the next one, then the
  primary: no request fails because a replica is down.
- A session that writes (an ORM flush, an ``INSERT``/``UPDATE``/``DELETE`` statement) sends
  that statement and every later one to the primary, so a request reads its own writes.
- Every other request uses the primary only. To force the primary in a ``GET`` route, call
  `use_primary(session)` before the reads that must see the latest data (or declare the
  route's session as `AsyncPrimarySessionDep` / `PrimarySessionDep`).

Replicas lag: a client that wrote in one request may not see it in its next ``GET``. Routes
that must read what was just written (a "read after write" page) use the primary.

Sessions restly makes are `RoutingSession` instances. A session factory or generator of your
own routes reads only when its sessions are `RoutingSession`\\ s (``sessionmaker(
class_=RoutingSession)``, ``async_sessionmaker(sync_session_class=RoutingSession)``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

__all__ = ["READ_METHODS", "Replicas", "RoutingSession", "use_primary"]

#: The HTTP methods whose sessions read from a replica.
READ_METHODS = frozenset({"GET", "HEAD"})

# session.info key: the replica engine (sync) this session reads from, while it has not written.
_REPLICA = "restly_replica"

# What a failed connection attempt raises (refused, timed out, DNS, authentication...).
_CONNECT_ERRORS = (OperationalError, DBAPIError, OSError, TimeoutError)


class RoutingSession(Session):
    """A `Session` that reads from the replica `Replicas.connect` gave it until it writes.

    Without a replica (the session of a write request, or no replicas configured) it is a
    plain `Session` bound to the primary.
    """

    def get_bind(
        self,
        mapper: Any = None,
        *,
        clause: Any = None,
        bind: Any = None,
        **kw: Any,
    ) -> Any:
        if bind is not None:
            return bind
        replica = self.info.get(_REPLICA)
        if replica is not None:
            if not self._flushing and not isinstance(clause, UpdateBase):
                return replica
            del self.info[_REPLICA]  # it writes: this and every later statement on the primary
        return super().get_bind(mapper, clause=clause, **kw)


def use_primary(session: Session | AsyncSession) -> None:
    """Send every later statement of ``session`` to the primary (a no-op without replicas).

    Call it in a ``GET`` route before reads that must see the latest writes.
    """
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.pop(_REPLICA, None)


class Replicas:
    """The read replicas of one `FRGlobals`: engines built on first use, taken in turn.

    ``build`` makes an engine from a URL (restly's `build_engine` / `build_async_engine`
    with the primary's settings). A replica that failed to connect is left out of the turn
    for ``retry_after`` seconds.
    """

    def __init__(
        self,
        urls: Sequence[str | URL],
        *,
        retry_after: float,
        build_async: Callable[[str | URL], AsyncEngine],
        build_sync: Callable[[str | URL], Engine],
    ) -> None:
        self.urls = tuple(urls)
        self.retry_after = retry_after
        self._build_async = build_async
        self._build_sync = build_sync
        self._async: list[AsyncEngine] | None = None
        self._sync: list[Engine] | None = None
        self._turn = itertools.count()
        self._down_until: dict[int, float] = {}  # replica index -> monotonic time
        self._lock = threading.Lock()  # sync views connect from threadpool workers

    def async_engines(self) -> list[AsyncEngine]:
        """The replicas' async engines (built on first use)."""
        if self._async is None:
            self._async = [self._build_async(url) for url in self.urls]
        return self._async

    def sync_engines(self) -> list[Engine]:
        """The replicas' sync engines (built on first use)."""
        if self._sync is None:
            self._sync = [self._build_sync(url) for url in self.urls]
        return self._sync

    def order(self) -> list[int]:
        """Indexes of the replicas to try for one session: every replica that is not
        marked down, starting with the next one in turn."""
        now = time.monotonic()
        with self._lock:
            start = next(self._turn) % len(self.urls)
            up = [
                index
                for step in range(len(self.urls))
                if self._down_until.get(index := (start + step) % len(self.urls), 0.0) <= now
            ]
        return up

    def mark_down(self, index: int) -> None:
        """Leave replica ``index`` out of the turn for `retry_after` seconds."""
        with self._lock:
            self._down_until[index] = time.monotonic() + self.retry_after

    def down(self) -> list[str]:
        """The URLs (passwords hidden) of the replicas currently left out."""
        now = time.monotonic()
        return [
            _shown(self.urls[index])
            for index, until in sorted(self._down_until.items())
            if until > now
        ]

    async def connect(self, session: AsyncSession) -> None:
        """Bind ``session``'s reads to the first replica that accepts a connection; leave
        it on the primary when none does."""
        engines = self.async_engines()
        for index in self.order():
            engine = engines[index].sync_engine
            try:
                _ = await session.connection(bind_arguments={"bind": engine})
            except _CONNECT_ERRORS:
                self.mark_down(index)
                await session.rollback()
                continue
            session.sync_session.info[_REPLICA] = engine
            return

    def connect_sync(self, session: Session) -> None:
        """`connect` for a sync session (blocking: run it in a worker thread)."""
        engines = self.sync_engines()
        for index in self.order():
            engine = engines[index]
            try:
                _ = session.connection(bind_arguments={"bind": engine})
            except _CONNECT_ERRORS:
                self.mark_down(index)
                session.rollback()
                continue
            session.info[_REPLICA] = engine
            return

    def forget(self) -> None:
        """Close the sync pools and drop every engine (after the settings changed)."""
        for sync in self._sync or ():
            sync.dispose()
        self._async = self._sync = None

    async def dispose(self) -> None:
        """Close the replicas' connection pools."""
        for engine in self._async or ():
            await engine.dispose()
        for sync in self._sync or ():
            sync.dispose()
        self._async = self._sync = None


def _shown(url: str | URL) -> str:
    return make_url(url).render_as_string(hide_password=True)
