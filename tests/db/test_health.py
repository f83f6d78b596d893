"""`fr.configure(app, health=..., ready=...)`: liveness and readiness over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import restly as fr
from restly.db import FRGlobals, use_fr_globals
from restly.exc import RestlyConfigurationError

pytestmark = pytest.mark.anyio

# Nothing listens on port 1: connections are refused at once, no timeout is waited for.
UNREACHABLE_ASYNC = "postgresql+asyncpg://postgres@127.0.0.1:1/test"
UNREACHABLE_SYNC = "postgresql+psycopg://postgres@127.0.0.1:1/test"


async def test_liveness_touches_no_database_and_readiness_reports_it_down(
    fr_globals: FRGlobals, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    app = FastAPI()
    fr.configure(app, async_database_url=UNREACHABLE_ASYNC, health="/health", ready="/ready")
    client = client_for(app)
    live = await client.get("/health")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "1"
    assert ready.json() == {"status": "unavailable", "databases": {"async": "unavailable"}}
    assert "127.0.0.1" not in ready.text  # no connection details in the answer


async def test_readiness_pings_every_configured_engine(
    db_urls: Any, fr_globals: FRGlobals, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    app = FastAPI()
    fr.configure(
        app,
        database_url=db_urls.sync_url,
        async_database_url=db_urls.async_url,
        health="/health",
        ready="/ready",
    )
    try:
        ready = await client_for(app).get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ok", "databases": {"async": "ok", "sync": "ok"}}
        assert "retry-after" not in ready.headers
    finally:
        await fr_globals.dispose()


async def test_one_engine_down_makes_the_app_not_ready(
    tmp_path: Path, fr_globals: FRGlobals, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    app = FastAPI()
    fr.configure(
        app,
        async_database_url=f"sqlite+aiosqlite:///{tmp_path / 'up.sqlite3'}",
        database_url=UNREACHABLE_SYNC,
        connect_timeout=2,
        ready="/ready",
    )
    try:
        ready = await client_for(app).get("/ready")
        assert ready.status_code == 503
        assert ready.json()["databases"] == {"async": "ok", "sync": "unavailable"}
        assert (await client_for(app).get("/health")).status_code == 404  # not asked for
    finally:
        await fr_globals.dispose()


async def test_each_app_checks_the_database_of_its_own_globals(
    tmp_path: Path, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    apps = {}
    for name, url in (("up", f"sqlite+aiosqlite:///{tmp_path / 'a.sqlite3'}"), ("down", UNREACHABLE_ASYNC)):
        g = FRGlobals()
        with use_fr_globals(g):
            apps[name] = FastAPI()
            fr.configure(apps[name], async_database_url=url, ready="/ready")
    # served outside any use_fr_globals block, as in production
    assert (await client_for(apps["up"]).get("/ready")).status_code == 200
    assert (await client_for(apps["down"]).get("/ready")).status_code == 503


async def test_probes_are_documented_in_openapi(fr_globals: FRGlobals) -> None:
    app = FastAPI()
    fr.configure(app, async_database_url=UNREACHABLE_ASYNC, health="/healthz", ready="/readyz")
    paths = app.openapi()["paths"]
    assert paths["/healthz"]["get"]["tags"] == ["health"]
    responses = paths["/readyz"]["get"]["responses"]
    assert set(responses) >= {"200", "503"}
    assert responses["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Readiness"
    }


def test_configuring_twice_adds_the_routes_once(fr_globals: FRGlobals) -> None:
    app = FastAPI()
    fr.configure(app, health="/health", ready="/ready")
    fr.configure(app, health="/health", ready="/ready")
    paths = [getattr(route, "path", None) for route in app.router.routes]
    assert paths.count("/health") == 1 and paths.count("/ready") == 1


def test_bad_probe_paths_are_refused(fr_globals: FRGlobals) -> None:
    with pytest.raises(RestlyConfigurationError) as caught:
        fr.configure(FastAPI(), health="health", ready="/ready")
    assert str(caught.value) == (
        "configure(health=...) must be a path starting with '/'; got 'health'. "
        'Use e.g. health="/health".'
    )
    with pytest.raises(RestlyConfigurationError) as caught:
        fr.configure(ready="/ready")
    assert str(caught.value) == (
        "configure(ready='/ready') needs the app to add the route to. "
        "Use fr.configure(app, ready='/ready')."
    )
    with pytest.raises(RestlyConfigurationError) as caught:
        fr.configure(FastAPI(), health="/probe", ready="/probe")
    assert str(caught.value) == (
        "configure(health=..., ready=...) must be two paths; both are '/probe'. "
        'Use e.g. health="/health", ready="/ready".'
    )

