"""Liveness and readiness routes: ``fr.configure(app, health="/health", ready="/ready")``.

- **Liveness** (``GET /health``) answers ``{"status": "ok"}`` as long as the process serves
  requests. It touches no database: a balancer restarting workers whose database is down
  would only make an outage worse.
- **Readiness** (``GET /ready``) runs ``SELECT 1`` on every engine the globals are configured
  with (async and sync, each at most once) and answers ``200 {"status": "ok", ...}``, or
  ``503`` with ``Retry-After`` when one of them cannot answer within the connect timeout, so
  a balancer stops sending traffic until the database is back. Read replicas are pinged
  and listed (``"replica 1"``, ...) but never make the app unready: their reads fall back
  to the primary.

Both routes are bound to the `FRGlobals` active when `configure` was called and are listed
in OpenAPI (tag ``health``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import anyio.to_thread
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ._globals import FRGlobals

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["install_health_routes"]

RETRY_AFTER_SECONDS = 1
#: How long readiness waits for an engine when the globals set no connect timeout.
DEFAULT_PING_TIMEOUT = 5.0

Status = Literal["ok", "unavailable"]


class Health(BaseModel):
    """The liveness answer."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """The readiness answer: overall status and one entry per configured engine."""

    status: Status
    databases: dict[str, Status]


def install_health_routes(
    app: FastAPI, fr_globals: FRGlobals, *, health: str | None, ready: str | None
) -> None:
    """Add the liveness route at ``health`` and the readiness route at ``ready`` (either
    may be ``None``); a path the app already routes is left as it is."""
    taken = {getattr(route, "path", None) for route in app.router.routes}
    if health is not None and health not in taken:

        async def liveness() -> Health:
            return Health()

        app.add_api_route(
            health,
            liveness,
            methods=["GET"],
            tags=["health"],
            summary="Liveness: the process serves requests",
            response_model=Health,
        )
    if ready is not None and ready not in taken:

        async def readiness() -> JSONResponse:
            answer = await check_readiness(fr_globals)
            headers = {} if answer.status == "ok" else {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return JSONResponse(
                answer.model_dump(),
                status_code=200 if answer.status == "ok" else 503,
                headers=headers,
            )

        app.add_api_route(
            ready,
            readiness,
            methods=["GET"],
            tags=["health"],
            summary="Readiness: every configured database answers",
            response_model=Readiness,
            responses={503: {"model": Readiness, "description": "A database is unavailable"}},
        )
    app.openapi_schema = None


async def check_readiness(fr_globals: FRGlobals) -> Readiness:
    """Ping every engine ``fr_globals`` is configured with."""
    timeout = fr_globals.connect_timeout or DEFAULT_PING_TIMEOUT
    databases: dict[str, Status] = {}
    if fr_globals.async_engine is not None or fr_globals.async_database_url is not None:
        databases["async"] = await _ping(fr_globals.get_async_engine(), timeout)
    if fr_globals.engine is not None or fr_globals.database_url is not None:
        databases["sync"] = await _ping(fr_globals.get_engine(), timeout)
    healthy = all(status == "ok" for status in databases.values())
    replicas = fr_globals.replicas
    if replicas is not None:  # reported, but never unready for them: reads fall back
        engines: list[AsyncEngine | Engine] = [
            *(replicas.async_engines() if "async" in databases else replicas.sync_engines())
        ]
        for number, engine in enumerate(engines, start=1):
            databases[f"replica {number}"] = await _ping(engine, timeout)
    return Readiness(status="ok" if healthy else "unavailable", databases=databases)


async def _ping(engine: AsyncEngine | Engine, timeout: float) -> Status:
    try:
        with anyio.fail_after(timeout):
            if isinstance(engine, AsyncEngine):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            else:
                await anyio.to_thread.run_sync(_ping_sync, engine, abandon_on_cancel=True)
    except Exception:  # noqa: BLE001 - whatever failed (refused, timed out, auth): not ready
        return "unavailable"
    return "ok"


def _ping_sync(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
