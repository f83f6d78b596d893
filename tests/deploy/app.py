"""The app the deployment tests serve with real servers (uvicorn, gunicorn), configured by
environment variables, as an operator would:

- ``DEPLOY_DATABASE_URL``: a sync URL (``postgresql+psycopg://...``, ``sqlite:///...``); the
  async views use the driver restly derives (asyncpg, aiosqlite);
- ``DEPLOY_APP_NAME``: the ``application_name`` of its PostgreSQL connections (the tests count
  them in ``pg_stat_activity``);
- ``DEPLOY_PAUSE``: seconds every write waits before its commit (to have writes in flight);
- ``DEPLOY_CURSOR_KEY``, ``DEPLOY_POOL_SIZE``: passed to ``fr.configure``.

The lifespan is the documented one: ``async_create_all`` (with the seed) at start-up, the
engines disposed at shutdown. Every answer names the process that gave it (``X-Worker``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import restly as fr

from .models import Base, Batch, Line, Memo, Note, seed_tags

PAUSE = float(os.environ.get("DEPLOY_PAUSE", "0"))
APP_NAME = os.environ.get("DEPLOY_APP_NAME", "restly-deploy-test")
BATCH_STEP_PAUSE = PAUSE / 4

fr.configure(
    database_url=os.environ["DEPLOY_DATABASE_URL"],
    cursor_key=os.environ.get("DEPLOY_CURSOR_KEY"),
    pool=fr.db.PoolSettings(size=int(os.environ["DEPLOY_POOL_SIZE"]))
    if "DEPLOY_POOL_SIZE" in os.environ
    else None,
)


def _on_connect(engine: Any) -> None:
    """Name PostgreSQL connections; and commit without waiting for the disk (``fsync``): a
    commit is as atomic and as visible, only not durable across a machine crash, which no
    test makes, and the tests' writes no longer queue behind a slow disk."""
    if engine.dialect.name == "postgresql":
        statements = [f"SET application_name = '{APP_NAME}'", "SET synchronous_commit = off"]
    elif engine.dialect.name == "sqlite":
        statements = ["PRAGMA synchronous = OFF"]
    else:
        return

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        if engine.dialect.name == "postgresql":
            dbapi_connection.commit()


_on_connect(fr.get_engine())
_on_connect(fr.get_async_engine().sync_engine)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await fr.db.async_create_all(Base, seed=seed_tags)
    yield
    await fr.get_fr_globals().dispose()


app = FastAPI(lifespan=lifespan)
fr.configure(app, health="/health", ready="/ready")


def _pausing(is_async: bool) -> dict[str, Any]:
    """A ``before_action_commit`` hook waiting ``DEPLOY_PAUSE`` seconds (none without it)."""
    if not PAUSE:
        return {}
    if is_async:

        async def before_action_commit(self: Any, action: str, new: Any, old: Any = None) -> None:
            await asyncio.sleep(PAUSE)

        return {"before_action_commit": before_action_commit}

    def sync_before_action_commit(self: Any, action: str, new: Any, old: Any = None) -> None:
        time.sleep(PAUSE)

    return {"before_action_commit": sync_before_action_commit}


NoteView = fr.include_view(app)(
    type("NoteView", (fr.AsyncRestView,), {"prefix": "/notes", "model": Note, **_pausing(True)})
)
MemoView = fr.include_view(app)(
    type("MemoView", (fr.RestView,), {"prefix": "/memos", "model": Memo, **_pausing(False)})
)


@fr.include_view(app)
class BatchView(fr.View):
    """``POST /batches?size=n``: one batch row and its ``n`` lines, flushed one by one with
    pauses between them, committed once by the request's session."""

    prefix = "/batches"
    session: fr.AsyncSessionDep

    @fr.post("", status_code=201)
    async def create_batch(self, size: int) -> dict[str, int]:
        batch = Batch(size=size)
        self.session.add(batch)
        await self.session.flush()
        for number in range(size):
            self.session.add(Line(batch_id=batch.id, number=number))
            await self.session.flush()
            await asyncio.sleep(BATCH_STEP_PAUSE)
        return {"id": batch.id, "size": size}


class WorkerHeader:
    """Adds ``X-Worker: <pid>`` to every answer (a plain ASGI middleware: it changes nothing
    of how requests run or are cancelled)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.header = (b"x-worker", str(os.getpid()).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)


app.add_middleware(WorkerHeader)
