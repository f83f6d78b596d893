"""The generated CRUD routes of RestView and AsyncRestView, over HTTP, on every backend."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from sqlalchemy import DateTime, ForeignKey, String, Text, Uuid, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "rv_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    bio: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[float] = mapped_column(default=0.0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Book(Base):
    __tablename__ = "rv_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("rv_author.id"))
    deleted: Mapped[bool] = mapped_column(default=False)


class Token(Base):
    __tablename__ = "rv_token"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    label: Mapped[str] = mapped_column(String(20))


class Country(Base):
    __tablename__ = "rv_country"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def view_base(kind: str) -> type:
    return fr.AsyncRestView if kind == "async" else fr.RestView


@pytest.fixture
def client_for(database: Any, client_for: Callable[..., httpx.AsyncClient]) -> Any:
    """The shared ``client_for`` (tests/conftest.py), over a configured database."""
    return client_for


def author_app(view_base: type, **options: Any) -> FastAPI:
    app = FastAPI()
    namespace = {"prefix": "/authors", "model": Author, **options}
    fr.include_view(app, type("AuthorView", (view_base,), namespace))
    return app


async def test_create_answers_201_with_server_set_fields(view_base: type, client_for: Any) -> None:
    client = client_for(author_app(view_base))
    response = await client.post("/authors", json={"name": "Ann", "bio": "Writes."})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Ann" and body["bio"] == "Writes."
    assert body["rating"] == 0.0 and body["active"] is True
    assert isinstance(body["id"], int)
    assert datetime.fromisoformat(body["created_at"])  # the server default came back


async def test_list_answers_every_object_in_id_order_with_and_without_slash(
    view_base: type, client_for: Any
) -> None:
    client = client_for(author_app(view_base))
    for name in ("Cy", "Ann", "Bo"):
        assert (await client.post("/authors/", json={"name": name})).status_code == 201
    for path in ("/authors", "/authors/"):
        response = await client.get(path)
        assert response.status_code == 200
        assert [a["name"] for a in response.json()] == ["Cy", "Ann", "Bo"]


async def test_get_answers_the_object_or_404(view_base: type, client_for: Any) -> None:
    client = client_for(author_app(view_base))
    created = (await client.post("/authors", json={"name": "Ann"})).json()
    response = await client.get(f"/authors/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    missing = await client.get("/authors/999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}


async def test_patch_applies_only_the_fields_sent(view_base: type, client_for: Any) -> None:
    client = client_for(author_app(view_base))
    created = (await client.post("/authors", json={"name": "Ann", "bio": "Old"})).json()
    response = await client.patch(f"/authors/{created['id']}", json={"rating": 4.5})
    assert response.status_code == 200
    assert response.json() == {**created, "rating": 4.5}
    cleared = await client.patch(f"/authors/{created['id']}", json={"bio": None})
    assert cleared.json()["bio"] is None
    refused = await client.patch(f"/authors/{created['id']}", json={"name": None})
    assert refused.status_code == 422
    assert (await client.get(f"/authors/{created['id']}")).json()["name"] == "Ann"
    assert (await client.patch("/authors/999", json={"rating": 1})).status_code == 404


async def test_delete_answers_204_then_the_object_is_gone(view_base: type, client_for: Any) -> None:
    client = client_for(author_app(view_base))
    created = (await client.post("/authors", json={"name": "Ann"})).json()
    response = await client.delete(f"/authors/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/authors/{created['id']}")).status_code == 404
    assert (await client.delete(f"/authors/{created['id']}")).status_code == 404


async def test_invalid_bodies_answer_422_naming_the_field(view_base: type, client_for: Any) -> None:
    client = client_for(author_app(view_base))
    missing = await client.post("/authors", json={"bio": "no name"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "name"]
    too_long = await client.post("/authors", json={"name": "x" * 51})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["type"] == "string_too_long"
    wrong_type = await client.post("/authors", json={"name": "Ann", "rating": "high"})
    assert wrong_type.status_code == 422
    assert (await client.get("/authors")).json() == []


async def test_read_only_fields_cannot_be_mass_assigned(view_base: type, client_for: Any) -> None:
    client = client_for(author_app(view_base))
    response = await client.post(
        "/authors", json={"name": "Ann", "id": 999, "created_at": "2000-01-01T00:00:00Z"}
    )
    assert response.status_code == 201
    assert response.json()["id"] != 999
    assert not response.json()["created_at"].startswith("2000")
    patched = await client.patch(f"/authors/{response.json()['id']}", json={"id": 5})
    assert patched.json()["id"] == response.json()["id"]


async def test_unique_violation_answers_409_without_sql(view_base: type, client_for: Any) -> None:
    client = client_for(author_app(view_base))
    assert (await client.post("/authors", json={"name": "Ann"})).status_code == 201
    response = await client.post("/authors", json={"name": "Ann"})
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "INSERT" not in detail and "Ann" not in detail
    assert len((await client.get("/authors")).json()) == 1


async def test_a_failing_handler_leaves_no_partial_write(view_base: type, client_for: Any) -> None:
    is_async = view_base is fr.AsyncRestView

    def fail_after_flush(error: Exception) -> Any:
        if is_async:

            async def handle_create(self: Any, schema_obj: Any) -> Any:
                await fr.AsyncRestView.handle_create(self, schema_obj)
                raise error

        else:

            def handle_create(self: Any, schema_obj: Any) -> Any:  # type: ignore[misc]
                fr.RestView.handle_create(self, schema_obj)
                raise error

        return handle_create

    app = FastAPI()
    for prefix, error in (("/teapot", HTTPException(418)), ("/crash", RuntimeError("boom"))):
        view = type(
            f"Failing{prefix[1:]}",
            (view_base,),
            {"prefix": prefix, "model": Author, "handle_create": fail_after_flush(error)},
        )
        fr.include_view(app, view)
    fr.include_view(app, type("AuthorView", (view_base,), {"prefix": "/authors", "model": Author}))
    client = client_for(app)
    assert (await client.post("/teapot", json={"name": "Ann"})).status_code == 418
    crashed = await client.post("/crash", json={"name": "Bo"})
    assert crashed.status_code == 500
    assert "boom" not in crashed.text and "Traceback" not in crashed.text
    assert (await client.get("/authors")).json() == []


async def test_pagination_envelope(view_base: type, client_for: Any) -> None:
    client = client_for(author_app(view_base, include_pagination_metadata=True))
    for index in range(5):
        await client.post("/authors", json={"name": f"A{index}"})
    page = (await client.get("/authors", params={"page": 2, "page_size": 2})).json()
    assert [a["name"] for a in page["items"]] == ["A2", "A3"]
    assert {k: v for k, v in page.items() if k != "items"} == {
        "total": 5,
        "page": 2,
        "page_size": 2,
        "total_pages": 3,
    }
    everything = (await client.get("/authors")).json()
    assert len(everything["items"]) == 5 and everything["total_pages"] == 1


async def test_exclude_routes_removes_them(view_base: type, client_for: Any) -> None:
    app = author_app(view_base, exclude_routes=("delete", "patch"))
    client = client_for(app)
    created = (await client.post("/authors", json={"name": "Ann"})).json()
    assert (await client.delete(f"/authors/{created['id']}")).status_code == 405
    assert (await client.patch(f"/authors/{created['id']}", json={})).status_code == 405
    assert set(app.openapi()["paths"]["/authors/{id}"]) == {"get"}


async def test_uuid_primary_keys(view_base: type, client_for: Any) -> None:
    app = FastAPI()
    fr.include_view(app, type("TokenView", (view_base,), {"prefix": "/tokens", "model": Token}))
    client = client_for(app)
    created = (await client.post("/tokens", json={"label": "a"})).json()
    token_id = uuid.UUID(created["id"])
    assert (await client.get(f"/tokens/{token_id}")).json() == created
    assert (await client.get("/tokens/not-a-uuid")).status_code == 422
    assert (await client.get(f"/tokens/{uuid.uuid4()}")).status_code == 404


async def test_client_supplied_string_primary_keys(view_base: type, client_for: Any) -> None:
    app = FastAPI()
    fr.include_view(
        app, type("CountryView", (view_base,), {"prefix": "/countries", "model": Country})
    )
    client = client_for(app)
    created = await client.post("/countries", json={"code": "NL", "name": "Netherlands"})
    assert created.status_code == 201
    assert (await client.get("/countries/NL")).json() == {"code": "NL", "name": "Netherlands"}
    assert (await client.post("/countries", json={"code": "NLD", "name": "x"})).status_code == 422


async def test_build_list_query_scopes_every_route(view_base: type, client_for: Any) -> None:
    def live_only(self: Any) -> Any:
        return select(Book).where(Book.deleted.is_(False))

    app = FastAPI()
    fr.include_view(app, type("AuthorView", (view_base,), {"prefix": "/authors", "model": Author}))
    fr.include_view(
        app,
        type(
            "BookView",
            (view_base,),
            {
                "prefix": "/books",
                "model": Book,
                "build_list_query": live_only,
                "include_pagination_metadata": True,
            },
        ),
    )
    client = client_for(app)
    author = (await client.post("/authors", json={"name": "Ann"})).json()
    live = (await client.post("/books", json={"title": "Live", "author_id": author["id"]})).json()
    gone = (
        await client.post("/books", json={"title": "Gone", "author_id": author["id"], "deleted": True})
    ).json()
    listing = (await client.get("/books")).json()
    assert [b["title"] for b in listing["items"]] == ["Live"] and listing["total"] == 1
    assert (await client.get(f"/books/{live['id']}")).status_code == 200
    assert (await client.get(f"/books/{gone['id']}")).status_code == 404
    assert (await client.patch(f"/books/{gone['id']}", json={"title": "x"})).status_code == 404
    assert (await client.delete(f"/books/{gone['id']}")).status_code == 404


async def test_foreign_key_violation_answers_409(view_base: type, client_for: Any) -> None:
    app = FastAPI()
    fr.include_view(app, type("BookView", (view_base,), {"prefix": "/books", "model": Book}))
    client = client_for(app)
    response = await client.post("/books", json={"title": "Orphan", "author_id": 12345})
    assert response.status_code == 409
    assert (await client.get("/books")).json() == []


async def test_overridden_seams_are_used(view_base: type, client_for: Any) -> None:
    class Shout(fr.BaseSchema):
        id: int
        name: str

    if view_base is fr.AsyncRestView:

        async def make_new_object(self: Any, schema_obj: Any) -> Any:
            obj = await fr.AsyncRestView.make_new_object(self, schema_obj)
            obj.bio = "made by the override"
            return obj

    else:

        def make_new_object(self: Any, schema_obj: Any) -> Any:  # type: ignore[misc]
            obj = fr.RestView.make_new_object(self, schema_obj)
            obj.bio = "made by the override"
            return obj

    def to_response_schema(self: Any, obj: Any) -> Any:
        return Shout(id=obj.id, name=obj.name.upper())

    client = client_for(
        author_app(view_base, make_new_object=make_new_object, to_response_schema=to_response_schema)
    )
    created = (await client.post("/authors", json={"name": "ann"})).json()
    assert created == {"id": created["id"], "name": "ANN"}
    assert (await client.get("/authors")).json() == [created]
    async with fr.async_session() as session:
        stored = await session.get(Author, created["id"])
        assert stored is not None and stored.bio == "made by the override"


async def test_openapi_documents_each_route_once_with_derived_schemas(view_base: type) -> None:
    app = author_app(view_base)
    document = app.openapi()
    assert set(document["paths"]) == {"/authors", "/authors/{id}"}
    assert set(document["paths"]["/authors"]) == {"get", "post"}
    assert set(document["paths"]["/authors/{id}"]) == {"get", "patch", "delete"}
    schemas = document["components"]["schemas"]
    create = schemas["AuthorCreate"]["properties"]
    writable = {name for name, member in create.items() if not member.get("readOnly")}
    assert writable == {"name", "bio", "rating", "active"}
    assert set(create) - writable == {"id", "created_at"}  # accepted and ignored, as documented
    assert schemas["AuthorCreate"]["required"] == ["name"]
    assert "required" not in schemas["AuthorUpdate"]
    assert {"id", "created_at"} <= set(schemas["Author"]["properties"])
    post = document["paths"]["/authors"]["post"]
    assert post["summary"] == "Create Author"
    # 400: a malformed Idempotency-Key
    assert set(post["responses"]) == {"201", "400", "409", "413", "415", "422", "503"}


async def test_list_filters_order_and_reject_unknown_keys(view_base: type, client_for: Any) -> None:
    app = author_app(view_base, include_pagination_metadata=True)
    client = client_for(app)
    for name, rating in (("Ann", 3.0), ("Annie", 5.0), ("Bo", 4.0), ("Cy", 5.0)):
        await client.post("/authors", json={"name": name, "rating": rating})
    listing = (await client.get("/authors", params={"name__contains": "ann", "order_by": "-rating"})).json()
    assert [a["name"] for a in listing["items"]] == ["Annie", "Ann"] and listing["total"] == 2
    ties = (await client.get("/authors", params={"rating__gte": 4, "order_by": "-rating"})).json()
    # Annie and Cy tie on 5.0: broken by id, descending like the sort key, so Cy (created
    # later, larger id) comes first.
    assert [a["name"] for a in ties["items"]] == ["Cy", "Annie", "Bo"]
    unknown = await client.get("/authors", params={"colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["query", "colour"]
    bad_value = await client.get("/authors", params={"rating__gt": "high"})
    assert bad_value.status_code == 422
    parameters = {p["name"] for p in app.openapi()["paths"]["/authors"]["get"]["parameters"]}
    assert {"name", "name__contains", "rating__gte", "order_by", "page", "page_size"} <= parameters


async def test_envelope_of_an_unpaginated_list_cut_at_max_page_size(
    view_base: type, client_for: Any
) -> None:
    client = client_for(author_app(view_base, include_pagination_metadata=True, max_page_size=3))
    for index in range(5):
        await client.post("/authors", json={"name": f"A{index}"})
    response = await client.get("/authors")
    body = response.json()
    assert len(body["items"]) == 3
    cursor = body.pop("next_cursor")  # cut short, and it says so: the rest is a link away
    assert {k: v for k, v in body.items() if k != "items"} == {
        "total": 5,
        "page": 1,
        "page_size": 3,
        "total_pages": 2,
    }
    assert response.headers["Link"] == f'</authors?cursor={cursor}>; rel="next"'
    rest = (await client.get("/authors", params={"cursor": cursor})).json()
    assert [a["name"] for a in rest["items"]] == ["A3", "A4"] and "next_cursor" not in rest


async def test_envelope_totals_past_the_last_page_and_for_empty_results(
    view_base: type, client_for: Any
) -> None:
    client = client_for(author_app(view_base, include_pagination_metadata=True))
    for index in range(5):
        await client.post("/authors", json={"name": f"A{index}", "rating": index})
    beyond = (await client.get("/authors", params={"page": 9, "page_size": 2})).json()
    assert beyond == {"items": [], "total": 5, "page": 9, "page_size": 2, "total_pages": 3}
    empty = (await client.get("/authors", params={"rating__gt": 99})).json()
    assert empty["items"] == [] and empty["total"] == 0 and empty["total_pages"] == 0
    filtered = (await client.get("/authors", params={"rating__gte": 3, "page_size": 1})).json()
    assert [a["name"] for a in filtered["items"]] == ["A3"] and filtered["total"] == 2


async def test_statements_per_request_are_the_minimum_the_work_needs(
    view_base: type, client_for: Any, fr_globals: fr.FRGlobals, database: Any
) -> None:
    """Counted at the driver: each route sends only the statements its work needs."""
    from sqlalchemy import event

    executed: list[str] = []
    texts: list[str] = []

    def count(*args: Any) -> None:
        executed.append(args[2].split()[0].upper())
        texts.append(" ".join(args[2].split()))

    engines = [fr_globals.get_engine(), fr_globals.get_async_engine().sync_engine]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        client = client_for(author_app(view_base, include_pagination_metadata=True))

        async def statements(method: str, url: str, **kwargs: Any) -> list[str]:
            executed.clear()
            response = await client.request(method, url, **kwargs)
            assert response.status_code < 300, response.text
            return list(executed)

        texts.clear()
        # INSERT ... RETURNING (MariaDB >= 10.5 too) brings the server default back
        assert await statements("POST", "/authors", json={"name": "Ann"}) == ["INSERT"]
        assert await statements("GET", "/authors/1") == ["SELECT"]
        # the page carries its total: one statement, unless the page is past the end
        assert await statements("GET", "/authors?name=Ann") == ["SELECT"]
        assert await statements("GET", "/authors?name=Bob") == ["SELECT"]  # empty first page
        past_end = "/authors?name=Ann&page=2&page_size=1"
        assert await statements("GET", past_end) == ["SELECT", "SELECT"]  # page, then count
        # UPDATE ... RETURNING, where the database has it (MariaDB has not: read, then write)
        patched = ["SELECT", "UPDATE"] if database.dialect == "mariadb" else ["UPDATE"]
        assert await statements("PATCH", "/authors/1", json={"rating": 2}) == patched
        assert (" RETURNING " in texts[-1]) == (database.dialect != "mariadb"), texts[-1]
        # DELETE ... RETURNING (MariaDB too): a concurrent delete then matches no row: 404
        assert await statements("DELETE", "/authors/1") == ["DELETE"]
        assert " RETURNING " in texts[-1], texts[-1]
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


async def test_delete_with_an_own_handle_get_still_locks_the_row(
    view_base: type, client_for: Any, fr_globals: fr.FRGlobals, database: Any
) -> None:
    """An overridden ``handle_get`` reads without a lock: ``delete_object`` locks then."""
    from sqlalchemy import event

    texts: list[str] = []
    seen: list[Any] = []

    if view_base is fr.AsyncRestView:

        async def handle_get(self: Any, id: Any) -> Any:
            seen.append(id)
            return await fr.AsyncRestView.handle_get(self, id)

    else:

        def handle_get(self: Any, id: Any) -> Any:  # type: ignore[misc]
            seen.append(id)
            return fr.RestView.handle_get(self, id)

    client = client_for(author_app(view_base, handle_get=handle_get))
    created = (await client.post("/authors", json={"name": "Ann"})).json()
    engines = [fr_globals.get_engine(), fr_globals.get_async_engine().sync_engine]

    def record(*args: Any) -> None:
        texts.append(" ".join(args[2].split()))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        assert (await client.delete(f"/authors/{created['id']}")).status_code == 204
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    assert seen == [created["id"]]
    locks = [text for text in texts if text.endswith("FOR UPDATE")]
    assert len(locks) == (0 if database.dialect == "sqlite" else 1)
    assert [text.split()[0] for text in texts][-1] == "DELETE"
    assert (await client.get(f"/authors/{created['id']}")).status_code == 404
