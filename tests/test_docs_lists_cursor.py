"""The examples of cursors and counts (docs/list-parameters.md), loaded from
``docs/examples/`` and exercised over HTTP like a reader would."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import restly as fr
from tests.test_docs_examples import fr_globals, load, serve

__all__ = ["fr_globals", "load"]  # fixtures, imported to be used here

pytestmark = pytest.mark.anyio

START = datetime(2025, 3, 1, 9, 0)


async def test_list_cursor(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("list_cursor")
    client_example = load("list_cursor_client")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with fr.async_session(fr_globals) as session:
        session.add_all(
            example.Event(
                title=f"Talk {index}",
                starts_at=START + timedelta(hours=index % 9),  # ties: nine slots
                room=None if index % 4 == 0 else f"R{index % 3}",
            )
            for index in range(1, 51)
        )
    async with serve(example.app, fr_globals) as client:
        first = await client.get("/events", params={"order_by": "starts_at"})
        body = first.json()
        assert len(body["items"]) == 20 and body["total"] == 50 and body["page"] == 1
        assert first.headers["link"] == (
            f'</events?order_by=starts_at&cursor={body["next_cursor"]}>; rel="next"'
        )
        second = await client.get(first.links["next"]["url"])
        page = second.json()
        assert (page["total"], page["page"], page["has_more"]) == (None, None, True)
        assert set(second.links) == {"next", "prev"}
        counted = await client.get(first.links["next"]["url"], headers={"Prefer": "count=exact"})
        assert counted.json()["total"] == 50
        assert counted.headers["preference-applied"] == "count=exact"

        walked = [event async for event in client_example.every_event(client, order_by="-room")]
        unpaged = (await client.get("/events", params={"order_by": "-room", "page_size": 100}))
        assert [e["id"] for e in walked] == [e["id"] for e in unpaged.json()["items"]]
        assert len(walked) == 50

        by_time = [event async for event in client_example.every_event(
            client, order_by="starts_at", page_size=7, room__isnull="false"
        )]  # fmt: skip
        moments = [(event["starts_at"], event["id"]) for event in by_time]
        assert moments == sorted(moments) and len(moments) == 38  # 12 have no room

        stale = await client.get(first.links["next"]["url"] + "&room=R1")
        assert stale.status_code == 400 and "cursor" in stale.json()["detail"]
        mixed = await client.get(first.links["next"]["url"] + "&page=2")
        assert mixed.status_code == 400


async def test_list_cursor_count(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("list_cursor_count")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with fr.async_session(fr_globals) as session:
        session.add_all(
            example.LogLine(level="error" if index % 10 == 0 else "info", message=f"line {index}")
            for index in range(1, 121)
        )
    async with serve(example.app, fr_globals) as client:
        default = await client.get("/logs", params={"level": "error"})
        assert default.json()["total"] == 12 and "preference-applied" not in default.headers
        none = await client.get("/logs", headers={"Prefer": "count=none"})
        assert none.json()["total"] is None and none.json()["has_more"] is True
        assert none.headers["preference-applied"] == "count=none"
        planned = await client.get("/logs", headers={"Prefer": "count=planned"})
        # SQLite has no planner estimate: the count is exact, and the answer says so
        assert planned.json()["total"] == 120
        assert planned.headers["preference-applied"] == "count=exact"
        ignored = await client.get("/logs", headers={"Prefer": "count=banana"})
        assert ignored.status_code == 200 and "preference-applied" not in ignored.headers
        strict = await client.get("/logs", headers={"Prefer": "count=banana, handling=strict"})
        assert strict.status_code == 400
