"""Soak (SPEC §12): one uvicorn worker under a few thousand mixed requests after a warm-up,
on SQLite and on PostgreSQL. Resident memory grows by less than 5 %, no file descriptor is
leaked, the PostgreSQL connections are back to the pools' size, and every answer and row is
the expected one. ``python -m benchmarks.soak`` runs the same with 100,000 requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DatabaseURLs, postgres_urls, sqlite_urls

from .conftest import linux_only
from .soak import POOL_SIZE, soak

pytestmark = [pytest.mark.anyio, linux_only]

WARMUP = 400
REQUESTS = 800
#: Descriptors that may come and go without a leak: sockets of the load's last connections
#: still closing (the pools are full after the warm-up already).
FD_SLACK = 4


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def soak_urls(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseURLs:
    return sqlite_urls(tmp_path) if request.param == "sqlite" else postgres_urls()


async def test_one_worker_under_a_soak_keeps_memory_descriptors_and_connections_flat(
    soak_urls: DatabaseURLs,
) -> None:
    result = await soak(soak_urls, requests=REQUESTS, warmup=WARMUP)
    print(result.report())
    assert result.requests >= REQUESTS and result.surprises == 0
    assert result.rss_growth < 0.05, result.report()
    assert result.fds_after <= result.fds_warm + FD_SLACK, result.report()
    if result.connections_after is not None:
        assert 1 <= result.connections_after <= 2 * POOL_SIZE, result.report()  # async + sync pools
