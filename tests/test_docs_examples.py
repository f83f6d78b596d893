"""Every example under ``docs/examples/`` imported and exercised over HTTP, like a reader would.

Each test loads one example file as a module while a fresh :class:`restly.FRGlobals` is
active (so no example registers views anywhere else) and from inside a temporary directory
(so the examples' relative SQLite files, such as ``app.db``, are created there).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from importlib.metadata import entry_points
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

import restly as fr

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"

pytestmark = pytest.mark.anyio


@pytest.fixture
async def fr_globals() -> AsyncIterator[fr.FRGlobals]:
    """A fresh runtime state; the engines restly built for it are closed after the test."""
    fresh = fr.FRGlobals()
    yield fresh
    await fresh.dispose()


@pytest.fixture
def load(
    fr_globals: fr.FRGlobals, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """``load("name")`` imports ``docs/examples/name.py`` under ``fr_globals`` in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    loaded: list[str] = []

    def load_example(name: str) -> ModuleType:
        module_name = f"docs_example_{name}"
        spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        loaded.append(module_name)
        with fr.use_fr_globals(fr_globals):
            spec.loader.exec_module(module)
        return module

    yield load_example
    for module_name in loaded:
        sys.modules.pop(module_name, None)


@asynccontextmanager
async def serve(
    app: FastAPI, fr_globals: fr.FRGlobals, *, active: fr.FRGlobals | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield a client calling it.

    ``fr_globals`` is the globals the app was built in; the server runs while ``active``
    (default: the same) is the active one.
    """
    with fr.use_fr_globals(active or fr_globals):
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client


# Examples that are a small pytest project, run by pytest in a subprocess: file -> name there.
PYTEST_PROJECT = {
    "testing_main": "main.py",
    "testing_conftest": "conftest.py",
    "testing_test_notes": "test_notes.py",
}


def test_every_example_is_tested() -> None:
    # This module and the guides' own modules beside it (tests/test_docs_*.py).
    source = "".join(path.read_text() for path in Path(__file__).parent.glob("test_docs_*.py"))
    untested = [
        p.stem
        for p in EXAMPLES.glob("*.py")
        if f'load("{p.stem}")' not in source and p.stem not in PYTEST_PROJECT
    ]
    assert untested == []


def test_every_seed_snippet_has_an_example() -> None:
    seeds = {p.stem for p in EXAMPLES.glob("seed_*.py")}
    assert seeds == {
        "seed_async_session_generator",
        "seed_sync_session_generator",
        "seed_background_task",
        "seed_own_declarative_base",
        "seed_isolating_state",
    }


# -- getting started ----------------------------------------------------------------------


async def test_getting_started(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("getting_started")
    assert list(fr_globals.registry) == [example.WorldView]
    async with serve(example.app, fr_globals) as client:
        created = await client.post("/world", json={"message": "Hello"})
        assert created.status_code == 201
        assert created.json() == {"id": 1, "message": "Hello"}
        assert (await client.get("/world")).json() == [{"id": 1, "message": "Hello"}]
        assert (await client.get("/world/")).json() == [{"id": 1, "message": "Hello"}]
        patched = await client.patch("/world/1", json={"message": "Hello again"})
        assert patched.json() == {"id": 1, "message": "Hello again"}
        assert (await client.delete("/world/1")).status_code == 204
        missing = await client.get("/world/1")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})


# -- existing projects (the seed page) ----------------------------------------------------


async def test_seed_async_session_generator(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("seed_async_session_generator")
    assert fr_globals.async_database_url is None  # only the generator can give sessions
    async with example.engine.begin() as connection:
        await connection.run_sync(example.Base.metadata.create_all)
    try:
        async with serve(example.app, fr_globals) as client:
            created = await client.post("/world", json={"message": "from my_get_db"})
            assert created.status_code == 201
        async with example.MyAsyncSession() as session:
            stored = (await session.scalars(select(example.World.message))).all()
        assert stored == ["from my_get_db"]
    finally:
        await example.engine.dispose()


async def test_seed_sync_session_generator(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("seed_sync_session_generator")
    assert fr_globals.database_url is None
    example.Base.metadata.create_all(example.engine)
    try:
        async with serve(example.app, fr_globals) as client:
            created = await client.post("/world", json={"message": "from my_get_db"})
            assert created.status_code == 201
            assert (await client.get("/world/1")).json() == {"id": 1, "message": "from my_get_db"}
        with example.MySession() as session:
            assert session.scalars(select(example.World.message)).all() == ["from my_get_db"]
    finally:
        example.engine.dispose()


async def test_seed_background_task(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("seed_background_task")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with fr.async_session(fr_globals) as session:
        session.add_all([example.World(message="a"), example.World(message="b")])
    # Served outside the example's globals: the view activates its own for the request.
    async with serve(example.app, fr_globals, active=fr.FRGlobals()) as client:
        answer = await client.post("/reports")
        assert (answer.status_code, answer.json()) == (202, {"status": "scheduled"})
        async with fr.async_session(fr_globals) as session:
            counts = (await session.scalars(select(example.Report.world_count))).all()
    assert counts == [2]


async def test_seed_own_declarative_base(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("seed_own_declarative_base")
    assert issubclass(example.World, example.AppBase)
    async with serve(example.app, fr_globals) as client:
        assert (await client.post("/world", json={"message": "custom base"})).status_code == 201
        assert (await client.get("/world")).json() == [{"id": 1, "message": "custom base"}]
    schema = example.WorldView.creation_schema
    assert list(schema.model_fields) == ["message"]


async def test_seed_isolating_state(load: Any, fr_globals: fr.FRGlobals, tmp_path: Path) -> None:
    example = load("seed_isolating_state")
    a, b = example.app_a_globals, example.app_b_globals
    assert list(a.registry) == [example.WorldViewA]
    assert list(b.registry) == [example.WorldViewB]
    assert list(fr_globals.registry) == []
    try:
        for g in (a, b):
            await fr.db.async_create_all(example.Base, g.get_async_engine())
        async with serve(example.app_a, a) as client_a:
            assert (await client_a.post("/world", json={"message": "only in A"})).status_code == 201
        # A real server runs outside any use_fr_globals block: the views bring their own.
        async with serve(example.app_b, b, active=fr_globals) as client_b:
            assert (await client_b.get("/world")).json() == []
        async with serve(example.app_a, a, active=fr_globals) as client_a:
            assert [w["message"] for w in (await client_a.get("/world")).json()] == ["only in A"]
    finally:
        await a.dispose()
        await b.dispose()
    assert (tmp_path / "app_a.db").exists() and (tmp_path / "app_b.db").exists()


# -- tutorial -------------------------------------------------------------------------------


async def test_tutorial(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("tutorial")
    views = [example.ProjectView, example.TaskView, example.OpenTaskView]
    assert list(fr_globals.registry) == views
    assert list(example.TaskView.creation_schema.model_fields) == ["title", "project_id"]
    async with serve(example.app, fr_globals) as client:
        project = await client.post("/projects", json={"name": "Docs"})
        assert project.status_code == 201
        project_id = project.json()["id"]
        for title in ("Write the tutorial", "Build the site"):
            sent = {"title": title, "project_id": project_id, "done": True}
            task = await client.post("/tasks", json=sent)
            assert task.status_code == 201
            assert task.json()["done"] is False  # ReadOnly: the client cannot set it
        done = await client.post("/tasks/1/done")
        assert done.status_code == 200
        expected = {"id": 1, "title": "Write the tutorial", "done": True, "project_id": 1}
        assert done.json() == expected

        assert [t["id"] for t in (await client.get("/tasks")).json()] == [1, 2]
        assert [t["id"] for t in (await client.get("/open-tasks")).json()] == [2]
        assert (await client.get("/open-tasks/1")).status_code == 404  # scoped like the list
        assert (await client.get("/open-tasks/2")).status_code == 200
        assert (await client.delete("/open-tasks/2")).status_code == 405
        empty = await client.post("/tasks", json={"title": "", "project_id": project_id})
        assert empty.status_code == 422
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert set(paths["/open-tasks"]) == {"get"}
        assert set(paths["/open-tasks/{id}"]) == {"get", "patch"}
        assert "/open-tasks/{id}/done" in paths


# -- views and overrides --------------------------------------------------------------------


async def test_views_custom(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("views_custom")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        assert (await client.get("/greetings")).status_code == 401
        ann = {"X-User": "Ann"}
        added = await client.post("/greetings", params={"text": "Hello"}, headers=ann)
        assert (added.status_code, added.json()) == (201, {"id": 1})
        assert (await client.get("/greetings", headers=ann)).json() == ["Hello, Ann!"]
        assert (await client.get("/greetings/count", headers=ann)).json() == 1
        assert (await client.get("/greetings/ping", headers=ann)).json() == {"user": "Ann"}
        removed = await client.delete("/greetings/1", headers=ann)
        assert (removed.status_code, removed.content) == (204, b"")
        missing = await client.delete("/greetings/1", headers=ann)
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert paths["/greetings"]["get"]["tags"] == ["greetings"]


async def test_views_overrides(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("views_overrides")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    acme, globex = {"X-Tenant": "acme"}, {"X-Tenant": "globex"}
    async with serve(example.app, fr_globals) as client:
        for text in ("first", "second"):
            created = await client.post("/notes", json={"text": text}, headers=acme)
            assert created.status_code == 201
        theirs = await client.post("/notes", json={"text": "theirs"}, headers=globex)
        assert theirs.status_code == 201
        listed = (await client.get("/notes", headers=acme)).json()
        assert [n["text"] for n in listed] == ["first", "second"]
        assert (await client.get("/notes/3", headers=acme)).status_code == 404  # globex's note
        assert (await client.patch("/notes/3", json={"text": "x"}, headers=acme)).status_code == 404
        assert (await client.delete("/notes/1", headers=acme)).status_code == 204
        assert [n["id"] for n in (await client.get("/notes", headers=acme)).json()] == [2]
        assert (await client.get("/notes/1", headers=acme)).status_code == 404
    async with fr.async_session(fr_globals) as session:
        note = example.Note
        rows = (await session.execute(select(note.id, note.tenant, note.archived))).all()
    assert rows == [(1, "acme", True), (2, "acme", False), (3, "globex", False)]


async def test_views_id_type(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("views_id_type")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        created = await client.post("/devices", json={"label": "sensor", "id": "not used"})
        assert created.status_code == 201
        device_id = created.json()["id"]
        assert str(uuid.UUID(device_id)) == device_id
        fetched = await client.get(f"/devices/{device_id}")
        assert fetched.json() == {"id": device_id, "label": "sensor"}
        assert (await client.get(f"/devices/{uuid.uuid4()}")).status_code == 404
        assert (await client.get("/devices/42")).status_code == 422
        assert (await client.delete(f"/devices/{device_id}")).status_code == 405


async def test_views_sync(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("views_sync")
    async with serve(example.app, fr_globals) as client:
        for name, price in (("pen", 1.5), ("book", 12.0)):
            created = await client.post("/items", json={"name": name, "price": price})
            assert created.status_code == 201
        assert (await client.get("/items/total")).json() == 13.5
        patched = await client.patch("/items/1", json={"price": 2.0})
        assert patched.json() == {"id": 1, "name": "pen", "price": 2.0}
        assert (await client.delete("/items/2")).status_code == 204
        assert [i["name"] for i in (await client.get("/items")).json()] == ["pen"]


# -- performance ----------------------------------------------------------------------------


async def test_performance_statements(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("performance_statements")
    async with serve(example.app, fr_globals) as client:
        for n in range(30):
            book = {"title": f"Book {n}", "status": "draft" if n % 3 else "published", "pages": n}
            assert (await client.post("/books", json=book)).status_code == 201

        async def statements(path: str, **params: Any) -> tuple[dict[str, Any], dict[str, int]]:
            example.executed.clear()
            response = await client.get(path, params=params)
            assert response.status_code == 200, response.text
            return response.json(), dict(example.executed)

        query = {"status": "draft", "order_by": "-pages", "page": 2, "page_size": 5}
        body, seen = await statements("/books", **query)
        assert (body["total"], [b["pages"] for b in body["items"]]) == (20, [22, 20, 19, 17, 16])
        assert seen == {"SELECT": 1}  # the page carries its total
        body, seen = await statements("/books", **{**query, "page": 9})
        assert (body["total"], body["items"], seen) == (20, [], {"SELECT": 2})  # past the end
        body, seen = await statements("/shelf", **query)
        assert (body["total"], seen) == (20, {"SELECT": 2})  # page, then count

        async def written(method: str, path: str, **kwargs: Any) -> dict[str, int]:
            example.executed.clear()
            response = await client.request(method, path, **kwargs)
            assert response.status_code < 300, response.text
            return dict(example.executed)

        # one UPDATE ... RETURNING, one DELETE ... RETURNING; the scoped view reads first
        assert await written("PATCH", "/books/1", json={"pages": 300}) == {"UPDATE": 1}
        assert await written("DELETE", "/books/2") == {"DELETE": 1}
        assert await written("PATCH", "/shelf/3", json={"pages": 7}) == {"SELECT": 1, "UPDATE": 1}


# -- schemas and markers --------------------------------------------------------------------


async def test_schemas_markers(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("schemas_markers")
    view = example.UserView
    assert list(view.creation_schema.model_fields) == ["email", "password"]
    assert not any(f.is_required() for f in view.update_schema.model_fields.values())
    assert list(view.response_schema.model_fields) == ["id", "email", "created_at"]
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        sent = {
            "email": "ann@example.com",
            "password": "s3cret",
            "id": 99,
            "created_at": "2000-01-01T00:00:00",
        }
        created = await client.post("/users", json=sent)
        assert created.status_code == 201
        body = created.json()
        assert set(body) == {"id", "email", "created_at"} and body["id"] == 1
        assert not body["created_at"].startswith("2000")
        assert (await client.patch("/users/1", json={"password": "n3w"})).status_code == 200
        assert "password" not in (await client.get("/users")).json()[0]
    async with fr.async_session(fr_globals) as session:
        stored = await session.scalar(select(example.User.password_hash))
    assert stored == example.hash_password("n3w")


async def test_schemas_generated(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("schemas_generated")
    fields = example.ArticleSchema.model_fields
    assert [name for name, field in fields.items() if field.is_required()] == ["title"]
    assert fr.schemas.is_read_only(fields["id"]) and fr.schemas.is_read_only(fields["created_at"])
    assert example.ArticleView.schema is example.ArticleSchema
    assert list(example.ArticleView.creation_schema.model_fields) == ["title", "body", "status"]
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        created = await client.post("/articles", json={"title": "Hello"})
        assert created.status_code == 201
        assert created.json()["status"] == "draft" and created.json()["body"] is None
        too_long = await client.post("/articles", json={"title": "x" * 121})
        assert too_long.status_code == 422
        assert (await client.post("/articles", json={})).status_code == 422


# -- list parameters ------------------------------------------------------------------------


async def test_list_params(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("list_params")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with fr.async_session(fr_globals) as session:
        session.add_all(
            example.Book(title=title, year=year, in_print=year > 1950)
            for title, year in (("Dune", 1965), ("Emma", 1815), ("Ubik", 1969), ("Solaris", 1961))
        )
    async with serve(example.app, fr_globals) as client:
        query = {"order_by": "-year", "page": 2, "page_size": 2}
        page = (await client.get("/books", params=query)).json()
        assert [b["title"] for b in page["items"]] == ["Solaris", "Emma"]
        assert {k: v for k, v in page.items() if k != "items"} == {
            "total": 4, "page": 2, "page_size": 2, "total_pages": 2
        }
        first = (await client.get("/books", params={"page": 1})).json()
        assert first["page_size"] == 20 and first["total"] == 4
        dune = (await client.get("/books", params={"year": 1965})).json()
        assert [b["title"] for b in dune["items"]] == ["Dune"] and dune["total"] == 1
        assert (await client.get("/books", params={"page_size": 101})).status_code == 422
        unknown = await client.get("/books", params={"colour": "red"})
        assert unknown.status_code == 422 and "colour" in unknown.text


async def test_list_params_filters(load: Any, fr_globals: fr.FRGlobals) -> None:
    import datetime as dt

    example = load("list_params_filters")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with fr.async_session(fr_globals) as session:
        ann, bob = example.Author(name="Ann Leckie"), example.Author(name="Bob Shaw")
        book = example.Book
        session.add_all([
            book(title="Ancillary Justice", pages=386, status="live",
                 published=dt.date(2013, 10, 1), author=ann),
            book(title="Ancillary Sword", pages=356, status="live",
                 published=dt.date(2014, 10, 7), author=ann),
            book(title="Orbitsville", pages=220, status="draft", author=bob),
            book(title="Night Walk", pages=160, status="archived",
                 published=dt.date(1967, 1, 1), author=bob),
        ])
    async with serve(example.app, fr_globals) as client:

        async def ids(query: str) -> list[int]:
            response = await client.get("/books?" + query)
            assert response.status_code == 200, response.text
            return [b["id"] for b in response.json()]

        assert await ids("status=live") == [1, 2]
        assert await ids("id=1,3") == [1, 3]
        assert await ids("pages__gte=300") == [1, 2]
        assert await ids("pages__gt=200&pages__lte=356") == [2, 3]
        assert await ids("status__ne=live,draft") == [4]
        assert await ids("published__isnull=true") == [3]
        assert await ids("published__lt=2000-01-01") == [4]
        assert await ids("title__contains=sword ANCILLARY") == [2]
        assert await ids("author.name=Bob Shaw") == [3, 4]
        assert await ids("author.name__contains=ann") == [1, 2]
        assert await ids("order_by=-pages&page=2&page_size=2") == [3, 4]
        assert await ids("order_by=author.name,-pages") == [1, 2, 3, 4]
        assert await ids("q=shaw") == [3, 4]  # the extra parameter, applied by handle_list
        assert await ids("q=sword&pages__gt=100") == [2]
        bad = await client.get("/books?pages=many")
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["query", "pages", 0]
        unknown = await client.get("/books?colour=red")
        assert unknown.status_code == 422
        assert unknown.json()["detail"][0]["loc"] == ["query", "colour"]
        not_text = await client.get("/books?id__contains=1")
        assert not_text.status_code == 422
        bad_sort = await client.get("/books?order_by=colour")
        assert bad_sort.json()["detail"][0]["msg"] == (
            "Unknown sort key 'colour'; sort by one of: id, title, pages, status, published, "
            "author_id, author.id, author.name"
        )
        titles = await client.get("/titles", params={"author.name": "Ann Leckie", "order_by": "-pages"})
        assert titles.json() == ["Ancillary Justice", "Ancillary Sword"]
        assert (await client.get("/titles", params={"page_size": 51})).status_code == 422
        parameters = (await client.get("/openapi.json")).json()["paths"]["/books"]["get"]["parameters"]
        names = [p["name"] for p in parameters]
        assert {"q", "author.name__contains", "published__isnull", "order_by"} <= set(names)
        assert "pages__isnull" not in names and "pages__contains" not in names


# -- references and relationships -----------------------------------------------------------


async def test_references(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("references")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with fr.async_session(fr_globals) as session:
        session.add_all([
            example.Author(name="Ann", email="ann@example.com"), example.Author(name="Bob"),
            example.Tag(label="sf"), example.Tag(label="classic"), example.Publisher(name="Ace"),
        ])
    async with serve(example.app, fr_globals) as client:
        sent = {"title": "Dune", "author": 1, "publisher_id": {"id": 1}, "tags": [2, {"id": 1}]}
        created = await client.post("/books", json=sent)
        assert created.status_code == 201, created.text
        assert created.json() == {
            "id": 1, "title": "Dune", "author": 1, "author_id": 1, "publisher_id": 1, "tags": [1, 2]
        }
        missing = await client.post("/books", json={"title": "X", "author": 9})
        assert (missing.status_code, missing.json()) == (404, {"detail": "Id not found for author: 9"})
        several = await client.post("/books", json={"title": "X", "author": 1, "tags": [1, 7, 8]})
        assert several.json() == {"detail": "Ids not found for tags: 7, 8"}
        no_publisher = await client.post("/books", json={"title": "X", "author": 1, "publisher_id": 5})
        assert no_publisher.json() == {"detail": "Id not found for publisher_id: 5"}
        disagree = await client.post("/books", json={"title": "X", "author": 1, "author_id": 2})
        assert disagree.status_code == 422
        assert disagree.json()["detail"][0]["msg"] == (
            "Value error, author (1) and author_id (2) disagree; send one of them"
        )
        by_publisher = (await client.get("/books", params={"publisher_id": 1})).json()
        assert [b["id"] for b in by_publisher] == [1]
        patched = await client.patch("/books/1", json={"author": 2, "tags": []})
        assert (patched.json()["author"], patched.json()["tags"]) == (2, [])

        nested = await client.post("/books-with-ids", json={"title": "N", "author": {"id": 1}})
        assert nested.status_code == 201
        assert nested.json() == {"id": 2, "title": "N", "author": {"id": 1}}
        assert (await client.post("/books-with-ids", json={"title": "N", "author": 1})).status_code == 422

        detail = await client.post(
            "/book-details", json={"title": "T", "author_id": 1, "tags": [{"id": 1, "label": "x"}]}
        )
        assert detail.status_code == 201
        assert detail.json() == {
            "id": 3, "title": "T", "author_id": 1, "author": {"id": 1, "name": "Ann"}, "tags": []
        }
        listed = (await client.get("/book-details", params={"author.name": "Ann"})).json()
        assert [b["id"] for b in listed] == [2, 3]
        assert all("email" not in b["author"] for b in listed)

        for title in ("A", "B", "C", "D"):
            await client.post("/books", json={"title": title, "author": 2, "tags": [1, 2]})
        engine = fr_globals.get_async_engine().sync_engine
        statements: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            everything = (await client.get("/book-details")).json()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert len(everything) == 7 and everything[-1]["tags"] == [
            {"id": 1, "label": "sf"}, {"id": 2, "label": "classic"}
        ]
        assert len(statements) == 3  # the books, then one IN query for authors, one for tags
    assert list(example.BookDetailView.creation_schema.model_fields) == ["title", "author_id"]


# -- model helpers --------------------------------------------------------------------------


async def test_models_helpers(load: Any, fr_globals: fr.FRGlobals) -> None:
    import dataclasses
    from datetime import datetime, timedelta, timezone

    example = load("models_helpers")
    assert list(example.Article.__table__.c.keys()) == ["id", "title", "created_at", "updated_at"]
    assert (example.Article.__tablename__, example.Tag.__tablename__) == ("article", "tag")
    assert dataclasses.is_dataclass(example.Tag) and example.Tag(name="x").id is None
    assert list(example.ArticleView.creation_schema.model_fields) == ["title"]
    async with serve(example.app, fr_globals) as client:
        sent = {"title": "Hello", "created_at": "2000-01-01T00:00:00Z"}
        created = (await client.post("/articles", json=sent)).json()
        stamp = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00"))
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
        assert abs(datetime.now(timezone.utc) - stamp) < timedelta(minutes=1)  # not 2000
        assert created["updated_at"] == created["created_at"]
        patched = (await client.patch("/articles/1", json={"title": "Hi"})).json()
        assert patched["created_at"] == created["created_at"]
        assert patched["updated_at"] > created["updated_at"]
        first = await client.put("/tags/by-name/news")
        assert first.json() == {"id": 1, "name": "news", "created": True}
        again = await client.put("/tags/by-name/news")
        assert again.json() == {"id": 1, "name": "news", "created": False}
        assert (await client.get("/tags")).json() == [{"id": 1, "name": "news"}]


# -- react-admin ------------------------------------------------------------------------------


async def test_react_admin(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("react_admin")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with fr.async_session(fr_globals) as session:
        session.add_all([example.Author(name="Ann"), example.Author(name="Bob")])
        await session.flush()
        session.add_all(
            example.Post(title=f"Post {i}", views=i * 10, author_id=1 + i % 2) for i in range(1, 31)
        )
    async with serve(example.app, fr_globals) as client:

        async def listed(**params: str) -> tuple[list[int], str]:
            response = await client.get("/posts", params=params)
            assert response.status_code == 200, response.text
            assert response.headers["Access-Control-Expose-Headers"] == "Content-Range, Link, Preference-Applied"
            return [p["id"] for p in response.json()], response.headers["Content-Range"]

        assert await listed() == (list(range(1, 26)), "items 0-24/30")
        # What a browser on the admin's origin asks first: the Range header of getList and
        # the JSON body of a create need a CORS preflight, which the recipe allows.
        origin = "http://localhost:5173"
        for method, headers in (("GET", "range"), ("POST", "content-type"), ("PUT", "content-type")):
            preflight = await client.options("/posts", headers={
                "Origin": origin, "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": headers,
            })  # fmt: skip
            assert preflight.status_code == 200, (method, preflight.text)
            assert headers in preflight.headers["Access-Control-Allow-Headers"].lower()
        ranged = await client.get("/posts", headers={"Origin": origin, "Range": "posts=0-24"})
        assert ranged.headers["Access-Control-Allow-Origin"] == origin
        assert "Content-Range" in ranged.headers["Access-Control-Expose-Headers"]
        page = await listed(sort='["views","DESC"]', range="[0,4]", filter='{"author_id":2}')
        assert page == ([29, 27, 25, 23, 21], "items 0-4/15")
        assert await listed(filter='{"id":[3,5,7]}') == ([3, 5, 7], "items 0-2/3")
        assert await listed(filter='{"views_gte":250,"title_q":"post 2"}') == (
            [25, 26, 27, 28, 29], "items 0-4/5"
        )
        assert await listed(filter='{"q":"post 3"}') == ([3, 13, 23, 30], "items 0-3/4")
        assert await listed(filter='{"views_neq":[10,20]}', range="[0,1]") == ([3, 4], "items 0-1/28")
        assert await listed(range="[40,49]") == ([], "items */30")

        record = {"id": 99, "title": "Renamed", "views": 10, "author_id": 1}
        put = await client.put("/posts/1", json=record)
        assert (put.status_code, put.json()) == (200, {**record, "id": 1})
        patched = await client.patch("/posts/1", json={"views": 11})
        assert (patched.status_code, patched.json()["views"]) == (200, 11)
        record["views"] = 11
        deleted = await client.delete("/posts/1")
        assert (deleted.status_code, deleted.json()) == (200, {**record, "id": 1})
        assert (await client.get("/posts/1")).status_code == 404

        fields = "id, title, views, author_id"
        errors = {
            "sort": ('["colour","ASC"]', f'cannot sort by unknown field "colour"; sort by: {fields}'),
            "filter": ('{"colour":1}', f'unknown filter field "colour"; filter on: {fields}'),
            "range": ("[0,5000]", "range [0, 5000] asks for 5001 rows; at most 1000 rows per request"),
            "page": ("1", 'unknown query parameter "page"; react-admin lists take sort, range and filter'),
        }
        for key, (value, message) in errors.items():
            answer = await client.get("/posts", params={key: value})
            # react-admin views repeat the detail as "message", which react-admin shows.
            expected = {"detail": message, "message": message}
            assert (answer.status_code, answer.json()) == (400, expected)
        options = await client.options(
            "/posts",
            headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"},
        )
        assert options.status_code == 200


# -- testing ----------------------------------------------------------------------------------


def test_testing_plugin_project(tmp_path: Path) -> None:
    for example, name in PYTEST_PROJECT.items():
        (tmp_path / name).write_text((EXAMPLES / f"{example}.py").read_text())
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\nfilterwarnings = error\n")
    options = ["-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest"]
    if not any(e.value == "restly.testing.plugin" for e in entry_points(group="pytest11")):
        options += ["-p", "restly.testing.plugin"]
    root = str(EXAMPLES.parent.parent)
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *options, "-v"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


# -- configuration --------------------------------------------------------------------------


async def test_config_engine(load: Any, fr_globals: fr.FRGlobals) -> None:
    from sqlalchemy.exc import IntegrityError

    example = load("config_engine")
    assert fr_globals.async_engine is example.engine
    assert IntegrityError in example.app.exception_handlers
    try:
        async with example.engine.begin() as connection:
            await connection.run_sync(example.Base.metadata.create_all)
        async with serve(example.app, fr_globals) as client:
            assert (await client.post("/tags", json={"name": "sql"})).status_code == 201
            duplicate = await client.post("/tags", json={"name": "sql"})
            assert duplicate.status_code == 409
    finally:
        await example.engine.dispose()


async def test_config_health_answers_liveness_and_readiness(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("config_health")
    async with serve(example.app, fr_globals) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "databases": {"async": "ok"}}


async def test_config_registry(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("config_registry")
    assert list(fr_globals.registry) == [example.AuthorView, example.BookView]
    assert list(example.admin_globals.registry) == [example.AdminBookView]
    routes_before = len(example.app.router.routes)
    fr.include_views(example.app, globals=fr_globals)  # mounting again changes nothing
    assert len(example.app.router.routes) == routes_before
    paths = example.app.openapi()["paths"]
    assert [p for p in paths if not p.startswith("/docs")] == [
        "/authors", "/authors/{id}", "/books", "/books/{id}", "/admin/books", "/admin/books/{id}"
    ]
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    await fr.db.async_create_all(example.Base, example.admin_globals.get_async_engine())
    try:
        async with serve(example.app, fr_globals) as client:
            assert (await client.post("/books", json={"title": "Main"})).status_code == 201
            assert (await client.post("/admin/books", json={"title": "Admin"})).status_code == 201
            assert [b["title"] for b in (await client.get("/books")).json()] == ["Main"]
            assert [b["title"] for b in (await client.get("/admin/books")).json()] == ["Admin"]
    finally:
        await example.admin_globals.dispose()


# -- errors ---------------------------------------------------------------------------------


async def test_errors_configuration(load: Any, fr_globals: fr.FRGlobals) -> None:
    with pytest.raises(fr.RestlyConfigurationError) as raised:
        load("errors_configuration")
    assert str(raised.value) == (
        "ArticleView is misconfigured (2 problems):\n"
        "  - ArticleView.prefix must start with '/'; got 'articles'. Use prefix = \"/articles\".\n"
        "  - ArticleView.exclude_routes names unknown route 'destroy'; choose from: delete, get, "
        "index, patch, post."
    )
    assert isinstance(raised.value, TypeError)
    assert len(raised.value.problems) == 2
    assert list(fr_globals.registry) == []
    shown_in_docs = (EXAMPLES / "errors_configuration.txt").read_text()
    assert shown_in_docs == f"{raised.value}\n"


async def test_errors_http(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("errors_http")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        missing = await client.get("/tags/7")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
        assert (await client.post("/tags", json={"name": "python"})).status_code == 201
        conflict = await client.post("/tags", json={"name": "python"})
        assert conflict.status_code == 409
        assert list(conflict.json()) == ["detail"] and isinstance(conflict.json()["detail"], str)
        assert "INSERT" not in conflict.text
        invalid = await client.post("/tags", json={"name": "x" * 51})
        assert invalid.status_code == 422
        (error,) = invalid.json()["detail"]
        assert (error["type"], error["loc"]) == ("string_too_long", ["body", "name"])


async def test_views_abstract_base(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("views_abstract_base")
    assert list(fr_globals.registry) == [example.InvoiceView, example.ReceiptView]
    assert example.OwnedView not in fr_globals.registry
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    ann, bob = {"X-User": "ann"}, {"X-User": "bob"}
    async with serve(example.app, fr_globals) as client:
        sent = {"amount": 10, "owner": "bob"}
        created = await client.post("/invoices", json=sent, headers=ann)
        assert created.json() == {"id": 1, "owner": "ann", "amount": 10}
        receipt = await client.post("/receipts", json={"text": "paid"}, headers=bob)
        assert receipt.status_code == 201
        assert (await client.get("/invoices", headers=bob)).json() == []
        assert (await client.get("/invoices/1", headers=bob)).status_code == 404
        assert [r["text"] for r in (await client.get("/receipts", headers=bob)).json()] == ["paid"]
        assert (await client.get("/receipts")).status_code == 422  # the header is required


# -- the site -------------------------------------------------------------------------------


def test_docs_build_strict(tmp_path: Path) -> None:
    reason = "the docs extra is not installed (pip install -e '.[docs]')"
    pytest.importorskip("mkdocs", reason=reason)
    pytest.importorskip("material", reason=reason)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=EXAMPLES.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    tutorial = (tmp_path / "site" / "tutorial" / "index.html").read_text()
    assert "OpenTaskView" in tutorial and "--8&lt;--" not in tutorial
