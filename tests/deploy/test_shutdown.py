"""Graceful shutdown (SPEC §12): SIGTERM to a real uvicorn process while writes are in flight.

With a drain longer than the slowest request (``--timeout-graceful-shutdown 30``, what
docs/deploying.md recommends) every request in flight finishes and commits, new connections
are refused once the signal arrived, the process exits 0 and leaves no connection open on
PostgreSQL. With a drain shorter than the requests (``--timeout-graceful-shutdown 1``)
uvicorn cancels the requests still running: they get no answer, and are rolled back whole;
never half a batch."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from tests.conftest import DatabaseURLs

from .conftest import app_environ, server_connections
from .models import Batch, Line, Memo, Note
from .servers import Server

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

PAUSE = 2.0  # seconds each write waits before its commit
BATCH_SIZE = 4
EACH = 4  # requests of each kind in flight
STOP_SECONDS = 30.0


async def _write(client: httpx.AsyncClient, kind: str, number: int) -> httpx.Response | Exception:
    try:
        if kind == "batches":
            return await client.post("/batches", params={"size": BATCH_SIZE})
        return await client.post(f"/{kind}", json={"title": f"{kind}-{number}"})
    except httpx.HTTPError as error:  # cut off: no answer at all
        return error


def _in_flight(urls: DatabaseURLs, app_name: str, at_least: int) -> None:
    """Wait until the server holds ``at_least`` PostgreSQL connections (writes waiting to
    commit hold theirs)."""
    deadline = time.monotonic() + 10
    while server_connections(urls, app_name) < at_least:
        assert time.monotonic() < deadline, "the writes never reached the database"
        time.sleep(0.05)


def _refused(url: str) -> bool:
    """Whether a new connection to ``url`` is refused, within two seconds."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health", timeout=0.5)
        except httpx.ConnectError:
            return True
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return False


def _stored(urls: DatabaseURLs) -> tuple[set[str], dict[int, int]]:
    """The titles of notes and memos, and the line count of every batch."""
    engine = create_engine(urls.sync_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            titles = set(connection.scalars(select(Note.title).union_all(select(Memo.title))))
            sizes = dict(
                connection.execute(
                    select(Batch.id, func.count(Line.id)).outerjoin(Line).group_by(Batch.id)
                ).all()
            )
            return titles, sizes
    finally:
        engine.dispose()


async def _sigterm_during_writes(
    urls: DatabaseURLs, drain: int
) -> tuple[Server, list[tuple[str, httpx.Response | Exception]], bool, int]:
    """Serve with ``drain``, send writes, SIGTERM while they wait to commit; the server,
    ``(kind, answer)`` of each write, whether new connections were refused, the exit status."""
    environ = app_environ(urls, DEPLOY_PAUSE=str(PAUSE))
    kinds = [kind for kind in ("notes", "memos", "batches") for _ in range(EACH)]
    with Server.uvicorn(environ, options=("--timeout-graceful-shutdown", str(drain))) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=STOP_SECONDS) as client:
            writes = [
                asyncio.create_task(_write(client, kind, number))
                for number, kind in enumerate(kinds)
            ]
            await asyncio.to_thread(_in_flight, urls, environ["DEPLOY_APP_NAME"], len(kinds) // 2)
            server.process.send_signal(signal.SIGTERM)
            refused = await asyncio.to_thread(_refused, server.url)
            answers = await asyncio.gather(*writes)
        status = await asyncio.to_thread(server.stop, signal.SIGTERM, STOP_SECONDS)
    assert server_connections(urls, environ["DEPLOY_APP_NAME"]) == 0  # nothing left behind
    return server, list(zip(kinds, answers)), refused, status


def _clean_exit(server: Server, status: int) -> bool:
    """uvicorn ran its shutdown to the end (lifespan included: the app disposed its
    engines), then exits 0, or re-raises the SIGTERM (uvicorn >= 0.29) for the supervisor."""
    output = server.output()
    return status in (0, -signal.SIGTERM) and all(
        line in output for line in ("Application shutdown complete.", "Finished server process")
    )


async def test_sigterm_lets_writes_in_flight_finish_and_commit(fresh_postgres: DatabaseURLs) -> None:
    server, answers, refused, status = await _sigterm_during_writes(fresh_postgres, drain=30)
    assert refused, "a new connection was accepted after SIGTERM"
    statuses = [getattr(answer, "status_code", answer) for _, answer in answers]
    assert statuses == [201] * len(answers), server.output()
    titles, sizes = _stored(fresh_postgres)
    for kind, answer in answers:
        assert isinstance(answer, httpx.Response)
        if kind == "batches":
            assert sizes[answer.json()["id"]] == BATCH_SIZE
        else:
            assert answer.json()["title"] in titles
    assert len(titles) == 2 * EACH and len(sizes) == EACH
    assert _clean_exit(server, status)


async def test_a_short_drain_cuts_requests_off_but_never_writes_half(
    fresh_postgres: DatabaseURLs,
) -> None:
    """Every write outlives the drain: uvicorn cancels them all and closes their connections
    without an answer. restly's request session rolls a cancelled async request back (the
    batches' lines already flushed included). A sync view's thread cannot be cancelled: its
    write may still commit if the process lives long enough, so its outcome is unknown to
    the client, which is what an ``Idempotency-Key`` retry is for."""
    server, answers, refused, status = await _sigterm_during_writes(fresh_postgres, drain=1)
    assert refused
    assert all(isinstance(answer, httpx.HTTPError) for _, answer in answers), answers
    titles, sizes = _stored(fresh_postgres)
    assert sizes == {}  # no batch, not a line of one
    assert not any(title.startswith("notes-") for title in titles)
    assert f"Cancel {3 * EACH} running task(s)" in server.output()
    assert _clean_exit(server, status)
