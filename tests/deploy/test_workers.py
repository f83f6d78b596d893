"""Several worker processes serving one database (SPEC §12, stateless): ``uvicorn --workers
2`` and gunicorn with uvicorn workers on PostgreSQL, under a bounded mixed load.

Every 201 is a row afterwards and every 204 is a row gone, every PATCH's value is the one
stored, no answer is a 5xx, an idempotent retry on another connection replays and never
writes twice, batches are whole; a cursor one worker issued is accepted by the other."""

from __future__ import annotations

import pytest

from tests.conftest import DatabaseURLs

from .conftest import app_environ, linux_only
from .load import check_database, mixed_load, walk_pages
from .servers import Server

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, linux_only]

OPERATIONS = 400
WORKERS = 2


@pytest.mark.parametrize(
    "start",
    [
        # A cursor key from the environment, as the docs ask for in production.
        pytest.param(
            lambda environ: Server.uvicorn(
                {**environ, "DEPLOY_CURSOR_KEY": "a secret every worker shares"}, workers=WORKERS
            ),
            id="uvicorn",
        ),
        # No cursor key: the fixed default key is the same in every process.
        pytest.param(lambda environ: Server.gunicorn(environ, workers=WORKERS), id="gunicorn"),
    ],
)
async def test_workers_serve_one_database_consistently(
    start: object, fresh_postgres: DatabaseURLs
) -> None:
    with start(app_environ(fresh_postgres)) as server:  # type: ignore[operator]
        assert len(server.worker_pids()) == WORKERS
        ledger = await mixed_load(server.url, operations=OPERATIONS)
        ledger.assert_no_surprises()
        assert len(ledger.workers) == WORKERS, ledger.workers  # both took part
        assert ledger.keyed and ledger.replays == len(ledger.keyed)
        counts = check_database(fresh_postgres.sync_url, ledger)
        assert counts["notes"] > 0 and counts["memos"] > 0 and counts["batches"] > 0
        for resource in ("notes", "memos"):
            ids, crossings = await walk_pages(server.url, resource, page_size=5)
            assert sorted(ids) == sorted(ledger.alive[resource])  # each row once
            assert crossings > 0, "no cursor was ever answered by another worker"
        assert server.stop() == 0, server.output()
    assert "Traceback" not in server.output(), server.output()
