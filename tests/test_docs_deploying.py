"""The deployment guide's example app (docs/deploying.md): in-process, then served as the
guide says, by ``uvicorn --workers 2`` starting on an empty database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import restly as fr
from tests.deploy.servers import Server
from tests.test_docs_examples import EXAMPLES, fr_globals, load, serve  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


def _environ(tmp_path: Path) -> dict[str, str]:
    return {
        "APP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'orders.sqlite3'}",
        "APP_CURSOR_KEY": "a secret of more than 16 characters",
        "APP_CREATE_TABLES": "1",
    }


async def test_the_example_serves_orders_with_probes(
    load: Any,
    fr_globals: fr.FRGlobals,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in _environ(tmp_path).items():
        monkeypatch.setenv(name, value)
    example = load("deploying_app")
    assert fr_globals.pool == fr.db.PoolSettings(size=5, max_overflow=5)
    assert (fr_globals.connect_timeout, fr_globals.statement_timeout) == (5, 30)
    async with serve(example.app, fr_globals) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        assert (await http.get("/ready")).json() == {"status": "ok", "databases": {"async": "ok"}}
        for item in ("tea", "cake", "jam"):
            assert (await http.post("/orders", json={"item": item})).status_code == 201
        first = await http.get("/orders", params={"order_by": "item", "page_size": 2})
        rest = await http.get(first.links["next"]["url"])
        assert [o["item"] for o in first.json() + rest.json()] == ["cake", "jam", "tea"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux /proc")
def test_two_workers_start_on_an_empty_database_and_share_cursors(tmp_path: Path) -> None:
    environ = {**_environ(tmp_path), "PYTHONPATH": str(EXAMPLES)}
    with Server.uvicorn(environ, workers=2, app="deploying_app:app") as server:
        with httpx.Client(base_url=server.url, headers={"Connection": "close"}) as http:
            for number in range(6):
                assert http.post("/orders", json={"item": f"item {number}"}).status_code == 201
            page = http.get("/orders", params={"order_by": "item", "page_size": 2})
            items = [order["item"] for order in page.json()]
            while "next" in page.links:  # each page on a new connection, any worker
                page = http.get(page.links["next"]["url"])
                assert page.status_code == 200, page.text
                items += [order["item"] for order in page.json()]
        assert items == [f"item {number}" for number in range(6)]
        assert server.stop() in (0, -15)
    assert "Traceback" not in server.output(), server.output()
