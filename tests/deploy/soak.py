"""A soak run: one uvicorn worker, a warm-up, then many mixed requests; what the process
holds before and after (resident memory, file descriptors, PostgreSQL connections).

Used by ``test_soak.py`` (a few thousand requests) and ``python -m benchmarks.soak`` (the
100,000-request run)::

    result = asyncio.run(soak(urls, requests=100_000, warmup=5_000))
    print(result.report())
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.conftest import DatabaseURLs

from .conftest import app_environ, drop_tables, server_connections
from .load import check_database, mixed_load
from .servers import Server, open_fds, rss_kib

__all__ = ["POOL_SIZE", "SoakResult", "soak"]

#: The pool size of the soaked app (each of its two engines, async and sync).
POOL_SIZE = 5
CONCURRENCY = 16


@dataclass
class SoakResult:
    """What one soak run measured (memory in KiB, after the warm-up and after the run)."""

    backend: str
    requests: int
    seconds: float
    #: Statuses of every answer, the warm-up's included.
    statuses: Counter[int] = field(default_factory=Counter)
    surprises: int = 0
    rss_warm: int = 0
    rss_after: int = 0
    fds_warm: int = 0
    fds_after: int = 0
    connections_warm: int | None = None
    connections_after: int | None = None
    rows: dict[str, int] = field(default_factory=dict)
    #: ``(requests sent since the warm-up, resident KiB)`` at each sample point.
    rss_series: list[tuple[int, int]] = field(default_factory=list)

    @property
    def rss_growth(self) -> float:
        """Growth of resident memory over the run, as a fraction of the warm value."""
        return (self.rss_after - self.rss_warm) / self.rss_warm

    def report(self) -> str:
        connections = (
            f", PostgreSQL connections {self.connections_warm} -> {self.connections_after}"
            if self.connections_after is not None
            else ""
        )
        return (
            f"{self.backend}: {self.requests} requests in {self.seconds:.1f} s "
            f"({self.requests / self.seconds:.0f}/s), statuses {dict(sorted(self.statuses.items()))}, "
            f"unexpected {self.surprises}; RSS {self.rss_warm / 1024:.1f} -> "
            f"{self.rss_after / 1024:.1f} MiB ({self.rss_growth:+.2%}), fds {self.fds_warm} -> "
            f"{self.fds_after}{connections}; rows {self.rows}; RSS series (requests: MiB) "
            + ", ".join(f"{n}: {kib / 1024:.1f}" for n, kib in self.rss_series)
        )


async def soak(
    urls: DatabaseURLs, *, requests: int, warmup: int, samples: int = 1, pool_size: int = POOL_SIZE
) -> SoakResult:
    """Serve the deploy app with one worker on ``urls`` (tables recreated), send ``warmup``
    then ``requests`` mixed requests in ``samples`` equal parts, measure after the warm-up
    and after each part (resident memory: `SoakResult.rss_series`), the load paused."""
    drop_tables(urls.sync_url)
    environ = app_environ(urls, DEPLOY_POOL_SIZE=str(pool_size))
    name = environ["DEPLOY_APP_NAME"]
    is_postgres = urls.dialect == "postgresql"
    try:
        with Server.uvicorn(environ, options=("--log-level", "warning")) as server:
            pid = server.process.pid
            ledger = await mixed_load(server.url, operations=warmup, concurrency=CONCURRENCY, run="w")
            warm_requests = ledger.requests
            await asyncio.sleep(0.5)  # let the last connections close
            gc.collect()
            result = SoakResult(urls.name, 0, 0.0)
            result.rss_warm, result.fds_warm = rss_kib(pid), open_fds(pid)
            if is_postgres:
                result.connections_warm = server_connections(urls, name)
            result.rss_series.append((0, result.rss_warm))
            part = max(CONCURRENCY, requests // max(1, samples))
            started = time.monotonic()
            for number in range(max(1, samples)):
                await mixed_load(
                    server.url, operations=part, concurrency=CONCURRENCY, ledger=ledger,
                    run=f"p{number}-",
                )  # fmt: skip
                await asyncio.sleep(0.5)
                result.rss_series.append((ledger.requests - warm_requests, rss_kib(pid)))
            result.seconds = time.monotonic() - started - 0.5 * max(1, samples)
            result.rss_after, result.fds_after = rss_kib(pid), open_fds(pid)
            if is_postgres:
                result.connections_after = server_connections(urls, name)
            result.requests = ledger.requests - warm_requests
            for counter in ledger.statuses.values():  # the warm-up's included
                result.statuses.update(counter)
            result.surprises = len(ledger.surprises)
            ledger.assert_no_surprises()
            result.rows = check_database(urls.sync_url, ledger)
        return result
    finally:
        drop_tables(urls.sync_url)
