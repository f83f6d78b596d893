"""docs/permissions.md, "The write pipeline": the example run over HTTP as a reader would."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

import restly as fr
from tests.test_docs_examples import fr_globals, load, serve  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


async def test_permissions_pipeline(load: Any, fr_globals: fr.FRGlobals) -> None:  # noqa: F811
    example = load("permissions_pipeline")
    ann, bob = {"X-User": "ann"}, {"X-User": "bob"}
    async with serve(example.app, fr_globals) as client:
        created = await client.post("/articles", json={"title": "Draft", "author": "ann"}, headers=ann)
        assert created.status_code == 201
        article = created.json()["id"]
        refused = await client.post("/articles", json={"title": "X", "author": "ann"}, headers=bob)
        assert (refused.status_code, refused.json()) == (403, {"detail": "write articles under your own name"})
        stolen = await client.patch(f"/articles/{article}", json={"title": "Mine"}, headers=bob)
        assert (stolen.status_code, stolen.json()) == (403, {"detail": "only ann may update this article"})
        assert (await client.get(f"/articles/{article}", headers=bob)).json()["title"] == "Draft"
        renamed = await client.patch(f"/articles/{article}", json={"title": "Final"}, headers=ann)
        assert renamed.json()["title"] == "Final"
        assert (await client.post(f"/articles/{article}/publish", headers=bob)).status_code == 403
        published = await client.post(f"/articles/{article}/publish", headers=ann)
        assert published.json() == {"id": article, "published": True}
    assert example.sent_mail == ["'Final' is out"]
    async with fr_globals.get_async_sessionmaker()() as session:
        audit = (await session.scalars(select(example.AuditEntry).order_by(example.AuditEntry.id))).all()
    assert [(entry.action, entry.by, entry.change) for entry in audit] == [
        ("create", "ann", "{}"),
        ("update", "ann", "{'title': 'Final'}"),
        ("publish", "ann", "{'published': True}"),
    ]
