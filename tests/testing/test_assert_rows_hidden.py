"""``restly.testing.assert_rows_hidden``: one call checks every route of an app for rows a
user must not see, and fails, naming the view, the route and the row, when one leaks.

The app is the two-tenant bookshop of ``tests/scopes_support.py``; alice must not see
tenant 2's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import restly as fr
from restly.testing import assert_rows_hidden, async_assert_rows_hidden
from restly.db import build_async_engine, build_engine
from tests.relations_support import Database, seed, tables
from tests.scopes_support import (
    ALICE,
    BOB,
    Author,
    Base,
    Book,
    BookSchema,
    Review,
    Tag,
    bookshop_views,
    declare_scopes,
    rows,
    tag_books,
)

HIDDEN_FROM_ALICE = {Book: [4, 5], Author: [2, 4], Review: [2, 4], Tag: [2]}


@dataclass
class Shop:
    app: FastAPI
    db: Database
    g: fr.FRGlobals


def make_app(db: Database, g: fr.FRGlobals, *views: type[Any]) -> FastAPI:
    with fr.use_fr_globals(g):
        fr.configure(engine=db.engine, async_engine=db.async_engine)
    app = FastAPI()
    fr.include_view(app, *views)
    return app


@pytest.fixture
async def shop(db_urls: Any) -> AsyncIterator[Shop]:
    g = fr.FRGlobals()
    declare_scopes(g)
    views = bookshop_views(g, "async")
    async with tables(db_urls, Base.metadata) as db:
        for batch in rows():
            seed(db, batch)
        tag_books(db.engine)
        yield Shop(make_app(db, g, *views.values()), db, g)


def client_of(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def snapshot(db: Database) -> list[Any]:
    with Session(db.engine) as session:
        return [
            (type(row).__name__, row.id, getattr(row, "title", None), getattr(row, "author_id", None))
            for model in (Author, Book, Review, Tag)
            for row in session.query(model).order_by(model.id)
        ]


@pytest.mark.anyio
async def test_a_scoped_app_passes_every_probe(shop: Shop) -> None:
    before = snapshot(shop.db)
    async with client_of(shop.app) as http:
        report = await async_assert_rows_hidden(http, HIDDEN_FROM_ALICE, app=shop.app, headers=ALICE)
    for line in (
        "BookView GET /books does not list Book 4",
        "BookView GET /books filtered by id hides Book 4",
        "BookView GET /books/{id} hides Book 5",
        "BookView PATCH /books/{id} hides Book 4",
        "BookView DELETE /books/{id} hides Book 5",
        "BookAdminView GET /ra/books filtered by id hides Book 4",
        "BookAdminView PUT /ra/books/{id} hides Book 4",
        "BookAdminView DELETE /ra/books/{id} hides Book 4",
        "AuthorView GET /authors/{id} hides Author 2",
        "ReviewView DELETE /reviews/{id} hides Review 4",
        "BookView PATCH /books/{id} with author_id refuses Author 2",
        "BookView PATCH /books/{id} with tags refuses Tag 2",
        "BookAdminView PUT /ra/books/{id} with tags refuses Tag 2",
        "BookView GET /books?author.id= does not match through Author 4",
        "BookView GET /books?reviews.id= does not match through Review 2",
        "BookView GET /books?tags= does not match through Tag 2",
    ):
        assert line in report.checked, line
    assert report.skipped == []
    assert snapshot(shop.db) == before  # every write was answered 404: nothing changed


def test_the_sync_form_over_a_test_client(db_urls: Any) -> None:
    g = fr.FRGlobals()
    declare_scopes(g)
    views = bookshop_views(g, "sync")
    engine, async_engine = build_engine(db_urls.sync_url), build_async_engine(db_urls.async_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    db = Database(db_urls.dialect, engine, async_engine)
    try:
        for batch in rows():
            seed(db, batch)
        with TestClient(make_app(db, g, *views.values())) as client:
            report = assert_rows_hidden(client, HIDDEN_FROM_ALICE, headers=ALICE)
            assert "BookView GET /books/{id} hides Book 4" in report.checked
            with pytest.raises(AssertionError) as caught:  # bob sees his own rows
                assert_rows_hidden(client, {Book: [4]}, headers=BOB)
            assert "BookView GET /books lists hidden row Book 4" in str(caught.value)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


@pytest.mark.anyio
async def test_the_rows_may_be_given_as_objects(shop: Shop) -> None:
    with Session(shop.db.engine) as session:
        hidden = [session.get(Book, 4), session.get(Author, 2)]
    async with client_of(shop.app) as http:
        report = await async_assert_rows_hidden(http, hidden, app=shop.app, headers=ALICE)
    assert "AuthorView GET /authors/{id} hides Author 2" in report.checked


def leak_message(error: pytest.ExceptionInfo[AssertionError]) -> str:
    return str(error.value)


@pytest.mark.anyio
async def test_it_fails_when_a_view_reads_around_the_scope(shop: Shop) -> None:
    class LeakyBookView(fr.AsyncRestView, globals=shop.g):
        prefix = "/leaky"
        model = Book
        schema = BookSchema

        async def handle_get(self, id: Any) -> Any:
            async with fr.async_session(shop.g) as unscoped:  # not the request's session
                options = self.__restly_compiled__.load_options
                return self._require(await unscoped.get(Book, id, options=options))

    app = make_app(shop.db, shop.g, LeakyBookView)
    async with client_of(app) as http:
        with pytest.raises(AssertionError) as caught:
            await async_assert_rows_hidden(http, {Book: [4]}, app=app, headers=ALICE)
    message = leak_message(caught)
    assert message.startswith("rows outside the scope are visible (")
    assert (
        "  - LeakyBookView GET /leaky/{id}: hidden row Book 4 answers 200 "
        "'{\"id\":4,\"title\":\"Delta\""
    ) in message
    assert "but a missing id answers 404 '{\"detail\":\"Not Found\"}'" in message


@pytest.mark.anyio
async def test_it_fails_when_a_custom_route_reads_unscoped(shop: Shop) -> None:
    class BookTitles(fr.AsyncRestView, globals=shop.g):
        prefix = "/titles"
        model = Book
        schema = BookSchema

        @fr.get("/{id}/title")
        async def title(self, id: int) -> str:
            async with fr.async_session(shop.g) as unscoped:
                book = await unscoped.get(Book, id)
            return book.title if book else "?"

    app = make_app(shop.db, shop.g, BookTitles)
    async with client_of(app) as http:
        with pytest.raises(AssertionError) as caught:
            await async_assert_rows_hidden(http, {Book: [5]}, app=app, headers=ALICE)
    assert leak_message(caught) == (
        "rows outside the scope are visible (1 leak):\n"
        "  - BookTitles GET /titles/{id}/title: hidden row Book 5 answers 200 '\"Epsilon\"', "
        "but a missing id answers 200 '\"?\"'"
    )


@pytest.mark.anyio
async def test_it_fails_on_references_filters_and_nesting_through_an_unscoped_view(shop: Shop) -> None:
    other = fr.FRGlobals()  # no scopes: its views see every row
    (unscoped,) = [v for p, v in bookshop_views(other, "async").items() if p == "/books"]
    with fr.use_fr_globals(other):
        fr.configure(engine=shop.db.engine, async_engine=shop.db.async_engine)
    app = FastAPI()
    fr.include_view(app, unscoped)
    async with client_of(app) as http:
        with pytest.raises(AssertionError) as caught:
            await async_assert_rows_hidden(http, {Author: [2]}, app=app, headers=ALICE)
    message = leak_message(caught)
    assert "BookView PATCH /books/{id} with author_id: hidden row Author 2 answers 200" in message
    assert "BookView GET /books?author.id=: hidden row Author 2 answers 200" in message
    assert "BookView GET /books shows hidden row Author 2 in 'author'" in message


@pytest.mark.anyio
async def test_it_fails_when_nothing_would_be_checked(shop: Shop) -> None:
    app = make_app(shop.db, shop.g, bookshop_views(fr.FRGlobals(), "async")["/authors"])
    async with client_of(app) as http:
        with pytest.raises(AssertionError) as caught:
            await async_assert_rows_hidden(http, {Tag: [2]}, app=app, headers=ALICE)
    assert "no mounted view serves or references Tag: nothing was checked" in leak_message(caught)
    with pytest.raises(TypeError, match="at least one hidden row"):
        await async_assert_rows_hidden(http, {Tag: []}, app=app)


def test_the_missing_id_is_chosen_by_the_key_s_type() -> None:
    import uuid

    from restly.testing._mounted import missing_id as _missing_id

    assert _missing_id(3) == -1
    assert _missing_id(uuid.uuid4()) == uuid.UUID(int=0)
    assert _missing_id("abc") == "restly-missing-id"
    with pytest.raises(TypeError, match="pass missing_ids"):
        _missing_id(2.5)


