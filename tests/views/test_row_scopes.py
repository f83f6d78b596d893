"""Row scopes over HTTP: every path that reaches a scoped model sees only the rows the
request's user may see, on sync and async views, SQLite, PostgreSQL and MariaDB.

The app is the two-tenant bookshop of ``tests/scopes_support.py``: alice (tenant 1) and bob
(tenant 2) see different rows of every model; root sees all of them.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Select, String, false
from sqlalchemy.event import registry as event_registry
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from ..relations_support import Database, StatementCounter, client_for, seed, tables
from ..scopes_support import (
    ALICE,
    BOB,
    CALLS,
    ROOT,
    AsyncTenantWrites,
    Base,
    Book,
    BookSchema,
    CurrentUser,
    Review,
    SyncTenantWrites,
    bookshop_views,
    declare_scopes,
    rows,
    tag_books,
)

pytestmark = pytest.mark.anyio


@dataclass
class Shop:
    http: httpx.AsyncClient
    db: Database
    views: dict[str, type[Any]]

    async def get(self, url: str, user: dict[str, str], **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, headers=user, **kwargs)

    async def ids(self, url: str, user: dict[str, str], **params: Any) -> list[int]:
        response = await self.get(url, user, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        return [item["id"] for item in (body["items"] if isinstance(body, dict) else body)]


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def shop(db_urls: Any, kind: str) -> AsyncIterator[Shop]:
    g = fr.FRGlobals()
    declare_scopes(g)
    views = bookshop_views(g, kind)
    async with tables(db_urls, Base.metadata) as db:
        for batch in rows():
            seed(db, batch)
        tag_books(db.engine)
        async with client_for(db, g, *views.values()) as http:
            yield Shop(http, db, views)


# -- the view's own model ------------------------------------------------------------------


async def test_each_user_lists_only_their_rows_with_their_total(shop: Shop) -> None:
    alice = (await shop.get("/books", ALICE)).json()
    assert [b["id"] for b in alice["items"]] == [1, 2, 3]
    assert alice["total"] == 3 and alice["total_pages"] == 1
    bob = (await shop.get("/books", BOB)).json()
    assert [b["id"] for b in bob["items"]] == [4, 5] and bob["total"] == 2
    assert await shop.ids("/books", ROOT) == [1, 2, 3, 4, 5]
    # a flat response is read as rows of columns, not objects: scoped the same
    assert await shop.ids("/reviews", ALICE) == [1, 3]
    assert await shop.ids("/authors", BOB) == [2, 4]
    # a page past the end counts on its own: the count is scoped too
    past = (await shop.get("/books", ALICE, params={"page": 3, "page_size": 2})).json()
    assert past["items"] == [] and past["total"] == 3
    page = (await shop.get("/books", BOB, params={"page": 1, "page_size": 1})).json()
    assert [b["id"] for b in page["items"]] == [4] and page["total"] == 2


async def test_filters_and_counts_apply_within_the_scope(shop: Shop) -> None:
    assert await shop.ids("/books", ALICE, title__contains="a") == [1, 2, 3]
    assert await shop.ids("/books", BOB, title__contains="a") == [4]
    assert await shop.ids("/books", ALICE, id="4,5") == []
    envelope = (await shop.get("/books", ALICE, params={"id": "1,4"})).json()
    assert [b["id"] for b in envelope["items"]] == [1] and envelope["total"] == 1


async def test_a_hidden_row_answers_like_a_missing_one_by_id(shop: Shop) -> None:
    for method, body in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
        hidden = await shop.http.request(method, "/books/4", headers=ALICE, json=body)
        missing = await shop.http.request(method, "/books/99", headers=ALICE, json=body)
        assert (hidden.status_code, hidden.json()) == (404, {"detail": "Not Found"}), method
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    # nothing was changed or deleted: bob still has it, unchanged
    assert (await shop.get("/books/4", BOB)).json()["title"] == "Delta"
    assert (await shop.get("/authors/2", ALICE)).status_code == 404
    assert (await shop.get("/authors/2", BOB)).json() == {"id": 2, "name": "Nora"}


async def test_visible_rows_are_read_changed_and_deleted_as_usual(shop: Shop) -> None:
    changed = await shop.http.patch("/books/3", headers=ALICE, json={"title": "Gamma II"})
    assert changed.status_code == 200 and changed.json()["title"] == "Gamma II"
    assert (await shop.http.delete("/reviews/3", headers=ALICE)).status_code == 204
    assert (await shop.get("/reviews/3", ROOT)).status_code == 404


# -- react-admin -----------------------------------------------------------------------------


async def test_react_admin_routes_are_scoped(shop: Shop) -> None:
    listed = await shop.get("/ra/books", ALICE)
    assert [b["id"] for b in listed.json()] == [1, 2, 3]
    assert listed.headers["Content-Range"] == "items 0-2/3"
    # a full page: the total is counted, within the scope
    page = await shop.get("/ra/books", BOB, params={"range": "[0,0]"})
    assert [b["id"] for b in page.json()] == [4] and page.headers["Content-Range"] == "items 0-0/2"
    many = await shop.get("/ra/books", ALICE, params={"filter": '{"id":[1,4,5]}'})
    assert [b["id"] for b in many.json()] == [1] and many.headers["Content-Range"] == "items 0-0/1"
    searched = await shop.get("/ra/books", ALICE, params={"filter": '{"q":"e"}'})
    assert [b["id"] for b in searched.json()] == [2]  # Beta; Delta and Epsilon are bob's
    for method, body in (("GET", None), ("PUT", {"title": "x"}), ("DELETE", None)):
        hidden = await shop.http.request(method, "/ra/books/5", headers=ALICE, json=body)
        assert hidden.status_code == 404, method
        assert hidden.json() == {"detail": "Not Found", "message": "Not Found"}
    assert (await shop.get("/ra/books/5", BOB)).json()["title"] == "Epsilon"


# -- everything that reaches a scoped model from elsewhere ---------------------------------


async def test_a_hidden_reference_target_answers_like_a_missing_id(shop: Shop) -> None:
    for author in (2, 99):  # bob's author, and none
        created = await shop.http.post("/books", headers=ALICE, json={"title": "N", "author_id": author})
        assert (created.status_code, created.json()) == (404, {"detail": f"Id not found for author_id: {author}"})
        changed = await shop.http.patch("/books/1", headers=ALICE, json={"author_id": author})
        assert (changed.status_code, changed.json()) == (404, {"detail": f"Id not found for author_id: {author}"})
        put = await shop.http.put("/ra/books/1", headers=ALICE, json={"author_id": author})
        assert put.status_code == 404 and put.json()["detail"] == f"Id not found for author_id: {author}"
    for tags, missing in (([1, 2], "2"), ([2, 99], "2, 99")):
        changed = await shop.http.patch("/books/3", headers=ALICE, json={"tags": tags})
        noun = "Ids" if "," in missing else "Id"
        assert (changed.status_code, changed.json()) == (404, {"detail": f"{noun} not found for tags: {missing}"})
    assert (await shop.get("/books/1", ROOT)).json()["author_id"] == 1  # nothing changed
    created = await shop.http.post("/books", headers=BOB, json={"title": "N", "author_id": 2, "tags": [2]})
    assert created.status_code == 201, created.text
    assert created.json()["author"] == {"id": 2, "name": "Nora"} and created.json()["tags"] == [2]


class CheckedReviewSchema(fr.IDSchema):
    stars: int
    book_id: fr.MustExist[int]  # Review has no relationship: only this reaches Book


async def test_a_must_exist_key_to_a_hidden_row_answers_like_a_missing_one(
    db_urls: Any, kind: str
) -> None:
    g = fr.FRGlobals()
    declare_scopes(g)
    base = fr.AsyncRestView if kind == "async" else fr.RestView
    writes = AsyncTenantWrites if kind == "async" else SyncTenantWrites

    class CheckedReviewView(writes, base, globals=g):  # type: ignore[valid-type, misc]
        prefix = "/checked-reviews"
        model = Review
        schema = CheckedReviewSchema

    assert Book in CheckedReviewView.__restly_compiled__.reached_models
    async with tables(db_urls, Base.metadata) as db:
        for batch in rows():
            seed(db, batch)
        async with client_for(db, g, CheckedReviewView) as http:
            for book in (4, 99):  # bob's book, and none
                refused = await http.post("/checked-reviews", headers=ALICE, json={"stars": 2, "book_id": book})
                assert (refused.status_code, refused.json()) == (404, {"detail": f"Id not found for book_id: {book}"})
            changed = await http.patch("/checked-reviews/1", headers=ALICE, json={"book_id": 5})
            assert changed.status_code == 404
            accepted = await http.post("/checked-reviews", headers=BOB, json={"stars": 2, "book_id": 4})
            assert accepted.status_code == 201, accepted.text


async def test_relation_filters_do_not_match_through_hidden_rows(shop: Shop) -> None:
    # Beta is alice's, but its author Nora is bob's: alice cannot find it through her
    assert await shop.ids("/books", ALICE, **{"author.name": "Nora"}) == []
    assert await shop.ids("/books", ROOT, **{"author.name": "Nora"}) == [2]
    assert await shop.ids("/books", ALICE, **{"author.id": "2"}) == []
    assert await shop.ids("/books", ALICE, **{"reviews.stars": "1"}) == []  # review 2 is bob's
    assert await shop.ids("/books", ROOT, **{"reviews.stars": "1"}) == [1]
    assert await shop.ids("/books", ALICE, tags="2") == []
    assert await shop.ids("/books", ALICE, tags="1") == [1]
    # "no related row" counts hidden ones as absent
    assert await shop.ids("/books", ALICE, **{"author.name__isnull": "true"}) == [2]
    total = (await shop.get("/books", ALICE, params={"author.name__isnull": "false"})).json()["total"]
    assert total == 2


async def test_sorting_through_a_relation_does_not_leak_hidden_values(shop: Shop) -> None:
    # Authors: Alpha by Mia, Beta by (hidden) Nora, Gamma by Zed. A leak would sort Beta
    # between them; hidden, its author sorts as a missing one (NULL: first or last).
    order = await shop.ids("/books", ALICE, order_by="author.name")
    assert order in ([2, 1, 3], [1, 3, 2]), order
    assert await shop.ids("/books", ROOT, order_by="author.name") == [4, 1, 5, 2, 3]
    descending = await shop.ids("/books", ALICE, order_by="-author.name")
    assert descending in ([2, 3, 1], [3, 1, 2]) and len(descending) == 3


async def test_nested_relationships_show_only_visible_rows(shop: Shop) -> None:
    alpha = (await shop.get("/books/1", ALICE)).json()
    assert alpha["reviews"] == [{"id": 1, "stars": 5}]  # review 2 is bob's
    assert alpha["tags"] == [1]  # tag 2 is bob's
    beta = (await shop.get("/books/2", ALICE)).json()
    assert beta["author"] is None and beta["author_id"] == 2  # a hidden to-one is null
    listed = (await shop.get("/books", ALICE)).json()["items"]
    assert [b["author"] and b["author"]["name"] for b in listed] == ["Mia", None, "Zed"]
    everything = (await shop.get("/books/1", ROOT)).json()
    assert everything["tags"] == [1, 2] and len(everything["reviews"]) == 2
    react_admin = (await shop.get("/ra/books", ALICE)).json()
    assert react_admin[0]["reviews"] == [{"id": 1, "stars": 5}] and react_admin[1]["author"] is None
    epsilon = (await shop.get("/books/5", BOB)).json()
    assert epsilon["author"] is None and epsilon["tags"] == []


async def test_written_rows_answer_with_their_relationships_scoped(shop: Shop) -> None:
    changed = await shop.http.patch("/books/1", headers=ALICE, json={"tags": [1], "author_id": 3})
    assert changed.status_code == 200, changed.text
    assert changed.json()["author"] == {"id": 3, "name": "Zed"}
    assert changed.json()["reviews"] == [{"id": 1, "stars": 5}]  # reloaded: still scoped


async def test_no_criteria_is_repeated_in_relationship_loads(shop: Shop) -> None:
    async with StatementCounter(shop.db) as counter:
        assert (await shop.get("/books/1", ALICE)).status_code == 200
    assert len(counter.statements) == 4  # the book, then its author, reviews and tags
    for statement in counter.statements:
        assert statement.count("tenant_id = ") == 1, statement  # one condition, not two


async def test_scoped_sessions_leave_no_listener_behind(shop: Shop) -> None:
    await shop.get("/books", ALICE)
    gc.collect()
    before = len(event_registry._key_to_collection)
    for _ in range(20):
        assert (await shop.get("/books/1", ALICE)).status_code == 200
    gc.collect()
    assert len(event_registry._key_to_collection) == before


# -- per request ---------------------------------------------------------------------------


async def test_the_scope_is_evaluated_per_request_under_concurrency(shop: Shop) -> None:
    users = [ALICE, BOB, ROOT] * 8
    answers = await asyncio.wait_for(
        asyncio.gather(*(shop.ids("/books", user) for user in users)), timeout=60
    )
    expected = {"alice": [1, 2, 3], "bob": [4, 5], "root": [1, 2, 3, 4, 5]}
    assert answers == [expected[user["X-User"]] for user in users]


async def test_the_current_user_is_resolved_once_per_request(shop: Shop) -> None:
    CALLS.clear()
    assert (await shop.http.post("/books", headers=BOB, json={"title": "Z"})).status_code == 201
    assert CALLS == ["bob"]  # four scopes and the view's own `user`: one call


async def test_an_unknown_user_gets_the_dependency_s_error(shop: Shop) -> None:
    response = await shop.get("/books", {"X-User": "mallory"})
    assert (response.status_code, response.json()) == (401, {"detail": "Unknown user"})


async def test_the_scope_s_dependencies_are_documented(shop: Shop) -> None:
    operation = (await shop.http.get("/openapi.json")).json()["paths"]["/books/{id}"]["get"]
    headers = [p["name"].lower() for p in operation["parameters"] if p["in"] == "header"]
    assert headers == ["x-user"]


# -- composition, edge answers -------------------------------------------------------------


async def test_build_list_query_composes_with_the_model_scope(db_urls: Any, kind: str) -> None:
    g = fr.FRGlobals()
    declare_scopes(g)
    base = fr.AsyncRestView if kind == "async" else fr.RestView

    class NoBetaView(base, globals=g):  # type: ignore[valid-type, misc]
        prefix = "/no-beta"
        model = Book
        schema = BookSchema

        def build_list_query(self) -> Select[Any]:
            return super().build_list_query().where(Book.title != "Beta")

    async with tables(db_urls, Base.metadata) as db:
        for batch in rows():
            seed(db, batch)
        async with client_for(db, g, NoBetaView) as http:
            listed = (await http.get("/no-beta", headers=ALICE)).json()
            assert [b["id"] for b in listed] == [1, 3]
            assert (await http.get("/no-beta/2", headers=ALICE)).status_code == 404
            assert (await http.get("/no-beta/4", headers=ALICE)).status_code == 404
            assert (await http.get("/no-beta/4", headers=BOB)).status_code == 200


class MovableBookSchema(BookSchema):
    tenant_id: int


async def test_a_write_moving_its_row_out_of_the_scope_answers_the_row_as_written(
    db_urls: Any, kind: str
) -> None:
    g = fr.FRGlobals()
    declare_scopes(g)
    base = fr.AsyncRestView if kind == "async" else fr.RestView

    class MovableBookView(base, globals=g):  # type: ignore[valid-type, misc]
        prefix = "/movable"
        model = Book
        schema = MovableBookSchema

    async with tables(db_urls, Base.metadata) as db:
        for batch in rows():
            seed(db, batch)
        async with client_for(db, g, MovableBookView) as http:
            moved = await http.patch("/movable/1", headers=ALICE, json={"tenant_id": 2, "author_id": 3})
            assert moved.status_code == 200, moved.text
            assert moved.json()["tenant_id"] == 2 and moved.json()["author"] == {"id": 3, "name": "Zed"}
            assert (await http.get("/movable/1", headers=ALICE)).status_code == 404
            assert (await http.get("/movable/1", headers=BOB)).json()["author"] is None  # Zed is alice's


async def test_a_scope_answering_false_hides_every_row_and_garbage_is_a_server_error(
    db_urls: Any, kind: str
) -> None:
    g = fr.FRGlobals()

    @fr.scope(Book, globals=g)
    def closed(user: CurrentUser) -> Any:
        return {"alice": false(), "bob": False}.get(user.name, "oops")

    view = bookshop_views(g, kind)["/books"]  # created after the scope: it applies
    assert [s.function for s in view.__restly_compiled__.scopes] == [closed]
    async with tables(db_urls, Base.metadata) as db:
        for batch in rows():
            seed(db, batch)
        with fr.use_fr_globals(g):
            fr.configure(engine=db.engine, async_engine=db.async_engine)
        app = FastAPI()
        fr.include_view(app, view)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get("/books", headers=ALICE)).json()["items"] == []
            assert (await http.get("/books", headers=BOB)).json()["total"] == 0
            broken = await http.get("/books", headers=ROOT)
            assert broken.status_code == 500
            assert "oops" not in broken.text and "SELECT" not in broken.text


class OtherBase(DeclarativeBase):
    pass


class Note(OtherBase):
    __tablename__ = "scp_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


async def test_views_reaching_no_scoped_model_pay_nothing(db_urls: Any) -> None:
    g = fr.FRGlobals()
    declare_scopes(g)

    class NoteView(fr.AsyncRestView, globals=g):
        prefix = "/notes"
        model = Note

    assert NoteView.__restly_compiled__.scopes == ()
    assert all("dependencies" not in route.options for route in NoteView.__restly_routes__)
    async with tables(db_urls, OtherBase.metadata) as db:
        seed(db, [Note(id=1, text="hi")])
        async with client_for(db, g, NoteView) as http, StatementCounter(db) as counter:
            assert (await http.get("/notes/1")).json() == {"id": 1, "text": "hi"}
            assert (await http.get("/notes")).json() == [{"id": 1, "text": "hi"}]
    assert counter.count == 2 and all("tenant" not in s for s in counter.statements)
