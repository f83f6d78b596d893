"""The row-scope examples of ``docs/permissions.md`` and ``docs/testing.md``, run over HTTP.

Each example is loaded under a fresh ``FRGlobals`` in a temporary directory, with the
``fr_globals`` and ``load`` fixtures of ``tests/test_docs_examples.py``.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from sqlalchemy import select

import restly as fr
from restly.testing import AsyncRestlyTestClient
from tests.test_docs_examples import fr_globals, load, serve

__all__ = ["fr_globals", "load"]  # fixtures, imported for pytest

pytestmark = pytest.mark.anyio

ANN, BOB, ROOT = ({"X-User": name} for name in ("ann", "bob", "root"))


async def test_permissions_scopes(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("permissions_scopes")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        draft = await client.post("/posts", json={"title": "Ann's draft"}, headers=ANN)
        assert draft.status_code == 201 and draft.json()["id"] == 1
        public = {"title": "Bob's post", "published": True}
        assert (await client.post("/posts", json=public, headers=BOB)).status_code == 201
        # Ann comments on her draft; Bob cannot, exactly as if it did not exist
        mine = await client.post("/comments", json={"text": "note", "post_id": 1}, headers=ANN)
        assert mine.json() == {"id": 1, "text": "note", "post_id": 1, "post": {"id": 1, "title": "Ann's draft"}}
        hidden = await client.post("/comments", json={"text": "hi", "post_id": 1}, headers=BOB)
        missing = await client.post("/comments", json={"text": "hi", "post_id": 9}, headers=BOB)
        assert (hidden.status_code, hidden.json()) == (404, {"detail": "Id not found for post_id: 1"})
        assert (missing.status_code, missing.json()) == (404, {"detail": "Id not found for post_id: 9"})
        assert (await client.post("/comments", json={"text": "yo", "post_id": 2}, headers=BOB)).status_code == 201

        def titles(response: Any) -> list[str]:
            return [post["title"] for post in response.json()]

        assert titles(await client.get("/posts", headers=ANN)) == ["Ann's draft", "Bob's post"]
        assert titles(await client.get("/posts", headers=BOB)) == ["Bob's post"]
        assert len((await client.get("/posts", headers=ROOT)).json()) == 2
        for method in ("GET", "PATCH", "DELETE"):
            answer = await client.request(method, "/posts/1", headers=BOB, json={} if method == "PATCH" else None)
            assert answer.status_code == 404, method
        # the comment scope builds on the post scope: comments of hidden posts are hidden too
        assert [c["id"] for c in (await client.get("/comments", headers=BOB)).json()] == [2]
        assert (await client.get("/comments/1", headers=BOB)).status_code == 404
        assert (await client.get("/comments", params={"post.title": "Ann's draft"}, headers=BOB)).json() == []
        nested = (await client.get("/posts/1", headers=ANN)).json()
        assert nested["comments"] == [{"id": 1, "text": "note", "post_id": 1}]
        # publishing the draft shows it, and its comment, to everyone
        assert (await client.patch("/posts/1", json={"published": True}, headers=ANN)).status_code == 200
        assert titles(await client.get("/posts", headers=BOB)) == ["Ann's draft", "Bob's post"]
        assert [c["id"] for c in (await client.get("/comments", headers=BOB)).json()] == [1, 2]
        assert (await client.get("/posts", headers={"X-User": "eve"})).status_code == 401


async def test_permissions_scopes_soft_delete(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("permissions_scopes_soft_delete")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        for title in ("Report", "Budget"):
            assert (await client.post("/documents", json={"title": title})).status_code == 201
        for name, document in (("a.pdf", 1), ("b.pdf", 1), ("c.pdf", 2)):
            attached = await client.post("/attachments", json={"name": name, "document_id": document})
            assert attached.status_code == 201
        assert (await client.delete("/attachments/2")).status_code == 204
        assert [a["name"] for a in (await client.get("/documents/1")).json()["attachments"]] == ["a.pdf"]
        assert (await client.delete("/documents/2")).status_code == 204
        assert (await client.delete("/documents/2")).status_code == 404  # gone already
        assert [d["title"] for d in (await client.get("/documents")).json()] == ["Report"]
        for method in ("GET", "PATCH"):
            answer = await client.request(method, "/documents/2", json={} if method == "PATCH" else None)
            assert answer.status_code == 404
        refused = await client.post("/attachments", json={"name": "d.pdf", "document_id": 2})
        assert (refused.status_code, refused.json()) == (404, {"detail": "Id not found for document_id: 2"})
        assert (await client.get("/documents", params={"attachments.name": "b.pdf"})).json() == []
    async with fr.async_session(fr_globals) as session:  # the rows are still there, marked
        documents = (await session.execute(select(example.Document.id, example.Document.deleted_at))).all()
    assert [(id, deleted is not None) for id, deleted in documents] == [(1, False), (2, True)]


ACME, GLOBEX = ({"Authorization": f"Bearer token-{name}"} for name in ("acme", "globex"))


async def test_permissions_scopes_tenancy(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("permissions_scopes_tenancy")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        assert (await client.post("/projects", json={"name": "Roadmap"}, headers=ACME)).status_code == 201
        assert (await client.post("/projects", json={"name": "Plans"}, headers=GLOBEX)).status_code == 201
        task = await client.post("/tasks", json={"title": "Ship", "project_id": 1}, headers=ACME)
        assert task.json() == {"id": 1, "title": "Ship", "project_id": 1, "project": {"id": 1, "name": "Roadmap"}}
        stolen = await client.post("/tasks", json={"title": "Spy", "project_id": 1}, headers=GLOBEX)
        assert (stolen.status_code, stolen.json()) == (404, {"detail": "Id not found for project_id: 1"})
        assert [p["name"] for p in (await client.get("/projects", headers=GLOBEX)).json()] == ["Plans"]
        assert (await client.get("/tasks", headers=GLOBEX)).json() == []
        assert (await client.get("/tasks/1", headers=GLOBEX)).status_code == 404
        assert (await client.get("/tasks", params={"project.name": "Roadmap"}, headers=GLOBEX)).json() == []
        assert (await client.get("/tasks", headers={"Authorization": "Bearer nope"})).status_code == 401
    async with fr.async_session(fr_globals) as session:
        owners = (await session.execute(select(example.Project.name, example.Project.tenant_id))).all()
    assert owners == [("Roadmap", 1), ("Plans", 2)]


async def test_testing_scopes(
    load: Any, fr_globals: fr.FRGlobals, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenancy = load("permissions_scopes_tenancy")
    monkeypatch.setitem(sys.modules, "tenancy", tenancy)  # what the test imports its app as
    example = load("testing_scopes")
    await fr.db.async_create_all(tenancy.Base, fr_globals.get_async_engine())
    with fr.use_fr_globals(fr_globals):
        async with fr.async_session(fr_globals) as session, AsyncRestlyTestClient(tenancy.app) as client:
            await example.test_acme_never_sees_globex_rows(client, session)
            # the helper can fail: acme's own rows are visible to acme
            own = tenancy.Project(name="Acme only", tenant_id=1)
            session.add(own)
            await session.commit()
            with pytest.raises(AssertionError, match="ProjectView GET /projects lists hidden row Project 3"):
                await example.async_assert_rows_hidden(client, [own], headers=ACME)
