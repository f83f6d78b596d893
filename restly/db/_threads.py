"""The worker threads sync views run in: at most ``FRGlobals.sync_threads`` at once.

FastAPI runs a sync endpoint in anyio's default thread pool, which lets 40 run at once.
While the GIL passes between them, every thread keeps its stack, its own malloc arena and
the rows and answer of the request it is halfway through, yet forty threads do not serve a
worker's one core faster than a few: they only wait for the database in parallel. restly
runs the endpoints of its sync views on a capacity limiter of its own (one per
`FRGlobals` and event loop, made on first use), so the requests beyond it wait on the
event loop, holding nothing::

    fr.configure(sync_threads=16)   # sync views waiting on a slow database or service

The commit or close the request's session does after its endpoint, when the endpoint
left a transaction open, stays in anyio's default pool: an endpoint waiting for a
connection must never keep a finished request from giving its connection back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar

__all__ = ["DEFAULT_SYNC_THREADS", "SyncThreads"]

T = TypeVar("T")

#: Sync view endpoints running at once per event loop (so per worker process) by default.
#: Measured on the benchmark (``benchmarks/README.md``, "Sync views' threads"): 6 serve
#: as many requests per second as 40 on SQLite and PostgreSQL, with a fifth less memory.
DEFAULT_SYNC_THREADS = 6


class SyncThreads:
    """The limiter of one `FRGlobals`' sync endpoints, one per event loop."""

    __slots__ = ("_limiters", "total")

    def __init__(self, total: int = DEFAULT_SYNC_THREADS) -> None:
        #: Endpoints running at once; a change applies to running event loops too.
        self.total = total
        self._limiters: RunVar[CapacityLimiter] = RunVar("restly_sync_threads")

    def limiter(self) -> CapacityLimiter:
        """This event loop's limiter, made on first use and resized when `total` changed."""
        limiter = self._limiters.get(None)
        if limiter is None:
            limiter = CapacityLimiter(self.total)
            self._limiters.set(limiter)
        elif limiter.total_tokens != self.total:
            limiter.total_tokens = self.total
        return limiter

    async def run(self, function: Callable[..., T], /, **arguments: Any) -> T:
        """``function(**arguments)`` in a worker thread once the limiter admits it; as
        Starlette's ``run_in_threadpool``, the caller's context variables go with it and
        a cancelled request waits for the thread to finish."""
        call = functools.partial(function, **arguments)
        return await to_thread.run_sync(call, limiter=self.limiter())
