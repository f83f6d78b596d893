"""Relationships in responses: nested read schemas, loaded eagerly with a constant number
of statements, on sync and async views, SQLite and PostgreSQL::

    class BookSchema(fr.IDSchema):
        title: str
        author_id: fr.IDRef[Author]
        author: fr.ReadOnly[AuthorSchema]              # many-to-one, nested
        reviews: fr.ReadOnly[list[ReviewSchema]]       # one-to-many, nested

    GET /books  ->  [{"id": 1, "title": "...", "author_id": 1,
                      "author": {"id": 1, "name": "...", "publisher": {...}},
                      "reviews": [{"id": 1, "stars": 5}, ...]}, ...]
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import httpx
import pytest
from sqlalchemy import ForeignKey, Select, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from ..relations_support import Database, StatementCounter, client_for, rest_view, seed, tables
from restly.resource import _loading


class Base(DeclarativeBase):
    pass


class Publisher(Base):
    __tablename__ = "rel_publisher"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    motto: Mapped[str] = mapped_column(String(50), default="", deferred=True)


class Author(Base):
    __tablename__ = "rel_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    secret: Mapped[str] = mapped_column(String(50), default="")
    publisher_id: Mapped[Optional[int]] = mapped_column(ForeignKey("rel_publisher.id"))
    publisher: Mapped[Optional[Publisher]] = relationship()
    books: Mapped[list[Book]] = relationship(back_populates="author", order_by="Book.id")


class Book(Base):
    __tablename__ = "rel_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("rel_author.id"))
    author: Mapped[Author] = relationship(back_populates="books")
    reviews: Mapped[list[Review]] = relationship(order_by="Review.id")


class Review(Base):
    __tablename__ = "rel_review"
    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("rel_book.id"))
    stars: Mapped[int]


class Category(Base):
    __tablename__ = "rel_category"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("rel_category.id"))
    children: Mapped[list[Category]] = relationship(order_by="Category.id")


class PublisherSchema(fr.IDSchema):
    name: str
    motto: str  # a deferred column: undeferred by the loader options


class AuthorSchema(fr.IDSchema):
    name: str
    secret: fr.WriteOnly[str]
    publisher: fr.ReadOnly[Optional[PublisherSchema]] = None


class ReviewSchema(fr.IDSchema):
    stars: int


class BookSchema(fr.IDSchema):
    title: str
    author_id: fr.IDRef[Author]
    author: fr.ReadOnly[AuthorSchema]
    reviews: fr.ReadOnly[list[ReviewSchema]] = []


class BookBriefSchema(fr.IDSchema):
    title: str
    reviews: list[ReviewSchema]


class AuthorWithBooksSchema(fr.IDSchema):
    name: str
    secret: fr.WriteOnly[str]
    books: fr.ReadOnly[list[BookBriefSchema]] = []


class BookWithPlainNestedSchema(fr.IDSchema):
    """Nested relationship fields declared without ReadOnly: still never written."""

    title: str
    author_id: int
    reviews: list[ReviewSchema] = []


class CategorySchema(fr.IDSchema):
    name: str
    parent_id: Optional[int] = None
    children: fr.ReadOnly[list[CategorySchema]] = []


@dataclass
class Api:
    http: httpx.AsyncClient
    db: Database

    async def count(self, method: str, url: str, **kwargs: Any) -> tuple[httpx.Response, int]:
        """Send one request; return its response and how many SQL statements it sent."""
        async with StatementCounter(self.db) as counter:
            response = await self.http.request(method, url, **kwargs)
        assert response.status_code < 300, response.text
        return response, counter.count


@pytest.fixture(params=["sync", "async"])
def view_base(request: pytest.FixtureRequest) -> type[Any]:
    return fr.RestView if request.param == "sync" else fr.AsyncRestView


def bookshop(books: int) -> list[list[Any]]:
    """Two publishers, ten authors, ``books`` books each with two reviews (in seed order)."""
    return [
        [Publisher(id=1, name="Penguin", motto="p"), Publisher(id=2, name="Tor", motto="t")],
        [Author(id=i, name=f"Author {i}", secret="s3cret", publisher_id=1 + i % 2) for i in range(1, 11)],
        [Book(id=i, title=f"Book {i}", author_id=1 + i % 10) for i in range(1, books + 1)],
        [Review(id=2 * i + k, book_id=i, stars=1 + (i + k) % 5) for i in range(1, books + 1) for k in (0, 1)],
    ]


class ScopedBooks:
    """A mixin scoping the list query on top of restly's (tenant-style)."""

    def build_list_query(self) -> Select[Any]:
        return super().build_list_query().where(Book.id <= 500)  # type: ignore[misc]


@pytest.fixture
async def api(db_urls: Any, view_base: type[Any]) -> AsyncIterator[Api]:
    """1000 books (two reviews each) by ten authors of two publishers, and the views
    /books, /authors, /scoped-books, /paged-books and /categories."""
    g = fr.FRGlobals()
    async with tables(db_urls, Base.metadata) as db:
        for rows in bookshop(1000):
            seed(db, rows)
        seed(db, [Category(id=i, name=f"level {i}", parent_id=i - 1 or None) for i in range(1, 6)])
        views = (
            rest_view(view_base, Book, BookSchema, "/books", globals=g),
            rest_view(view_base, Author, AuthorWithBooksSchema, "/authors", globals=g),
            rest_view((ScopedBooks, view_base), Book, BookSchema, "/scoped-books", globals=g),
            rest_view(
                view_base, Book, BookSchema, "/paged-books", globals=g,
                include_pagination_metadata=True,
            ),
            rest_view(view_base, Category, CategorySchema, "/categories", globals=g),
            rest_view(view_base, Book, BookWithPlainNestedSchema, "/plain-books", globals=g),
        )
        async with client_for(db, g, *views) as http:
            await http.get("/books/1")  # connect first: pool start-up is not the view's work
            yield Api(http, db)


# -- nested responses --------------------------------------------------------------------


@pytest.mark.anyio
async def test_get_nests_many_to_one_and_one_to_many(api: Api) -> None:
    response = await api.http.get("/books/7")
    assert response.status_code == 200
    assert response.json() == {
        "id": 7,
        "title": "Book 7",
        "author_id": 8,
        "author": {"id": 8, "name": "Author 8", "publisher": {"id": 1, "name": "Penguin", "motto": "p"}},
        "reviews": [{"id": 14, "stars": 3}, {"id": 15, "stars": 4}],
    }


@pytest.mark.anyio
async def test_write_only_fields_stay_hidden_in_nested_objects(api: Api) -> None:
    books = (await api.http.get("/books")).json()
    assert all("secret" not in book["author"] for book in books)
    created = await api.http.post("/authors", json={"name": "New", "secret": "hidden"})
    assert created.status_code == 201, created.text
    assert created.json() == {"id": created.json()["id"], "name": "New", "books": []}
    assert "secret" not in (await api.http.get("/authors/1")).json()


@pytest.mark.anyio
async def test_nested_lists_two_levels_deep(api: Api) -> None:
    author = (await api.http.get("/authors/3")).json()
    assert [book["id"] for book in author["books"]] == list(range(2, 1001, 10))
    assert author["books"][0] == {
        "id": 2,
        "title": "Book 2",
        "reviews": [{"id": 4, "stars": 3}, {"id": 5, "stars": 4}],
    }


@pytest.mark.anyio
async def test_self_referencing_schema_loads_the_whole_tree(api: Api) -> None:
    response, statements = await api.count("GET", "/categories/1")
    node, depth = response.json(), 0
    while node["children"]:
        (node,) = node["children"]
        depth += 1
    assert (depth, node["name"]) == (4, "level 5")
    assert statements == 6  # the root, then one query per level (the last finds none)


# -- statement counts --------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_of_1000_rows_costs_a_constant_number_of_statements(api: Api) -> None:
    response, statements = await api.count("GET", "/books")
    books = response.json()
    assert len(books) == 1000
    assert books[999]["author"]["publisher"] == {"id": 2, "name": "Tor", "motto": "t"}
    assert books[999]["reviews"] == [{"id": 2000, "stars": 1}, {"id": 2001, "stars": 2}]
    # books, then one IN query each for authors, their publishers and the reviews
    assert statements == 4
    _, ten = await api.count("GET", "/books", params={"page": 1, "page_size": 10})
    assert ten == 4


@pytest.mark.anyio
async def test_nested_one_to_many_list_costs_a_constant_number_of_statements(api: Api) -> None:
    response, statements = await api.count("GET", "/authors")
    authors = response.json()
    assert sum(len(author["books"]) for author in authors) == 1000
    assert statements == 3  # authors, their books, the books' reviews


@pytest.mark.anyio
async def test_paginated_list_carries_its_total_in_the_page_statement(api: Api) -> None:
    response, statements = await api.count("GET", "/paged-books", params={"page": 2, "page_size": 100})
    body = response.json()
    assert (body["total"], len(body["items"]), body["items"][0]["id"]) == (1000, 100, 101)
    assert body["items"][0]["author"]["name"] == "Author 2"
    assert statements == 4  # as many as the list without its total
    # past the last page no row carries the total: it is counted on its own
    response, statements = await api.count("GET", "/paged-books", params={"page": 11, "page_size": 100})
    assert (response.json()["total"], response.json()["items"]) == (1000, [])
    assert statements == 2  # the empty page (no relationships to load) and the count


@pytest.mark.anyio
async def test_overridden_list_query_keeps_the_loader_options(api: Api) -> None:
    response, statements = await api.count("GET", "/scoped-books")
    assert len(response.json()) == 500
    assert response.json()[-1]["author"]["publisher"]["name"] == "Tor"
    assert statements == 4


@pytest.mark.anyio
async def test_get_costs_one_statement_per_relationship(api: Api) -> None:
    _, statements = await api.count("GET", "/books/5")
    assert statements == 4


@pytest.mark.anyio
async def test_create_answers_loaded_relationships(api: Api) -> None:
    response, statements = await api.count("POST", "/books", json={"title": "New", "author_id": 4})
    body = response.json()
    assert body == {
        "id": body["id"],
        "title": "New",
        "author_id": 4,
        "author": {"id": 4, "name": "Author 4", "publisher": {"id": 1, "name": "Penguin", "motto": "p"}},
        "reviews": [],
    }
    # check author 4 exists, INSERT, then re-select the book with its three relationships
    assert statements == 6


@pytest.mark.anyio
async def test_update_of_plain_fields_does_not_reload(api: Api) -> None:
    response, statements = await api.count("PATCH", "/books/5", json={"title": "Renamed"})
    assert response.json()["title"] == "Renamed"
    assert response.json()["author"]["id"] == 6
    assert statements == 5  # select with three relationships, UPDATE


@pytest.mark.anyio
async def test_update_of_a_foreign_key_answers_the_new_relationship(api: Api) -> None:
    response, statements = await api.count("PATCH", "/books/5", json={"author_id": 3})
    body = response.json()
    assert (body["author_id"], body["author"]["id"], body["author"]["name"]) == (3, 3, "Author 3")
    assert body["author"]["publisher"] == {"id": 2, "name": "Tor", "motto": "t"}
    assert len(body["reviews"]) == 2
    # select + 3 relationships, check author 3, UPDATE, re-select + 3 relationships
    assert statements == 10
    assert (await api.http.get("/books/5")).json() == body


# -- what is loaded ----------------------------------------------------------------------


def loaded_paths(options: Sequence[Any]) -> set[str]:
    """The relationship paths a tuple of loader options loads: {"author", "author.publisher"}."""
    return {
        ".".join(str(getattr(item, "key")) for item in element.path.natural_path[1::2])
        for option in options
        for element in option.context
    }


def test_loader_options_follow_nested_schemas() -> None:
    options = _loading.loader_options(Book, fr.schemas.response_schema_for(BookSchema))
    assert loaded_paths(options) == {"author", "author.publisher", "author.publisher.motto", "reviews"}


def test_reference_fields_on_relationships_are_loaded_too() -> None:
    class BookRefsSchema(fr.IDSchema):
        author: fr.IDRef[Author]

    assert loaded_paths(_loading.loader_options(Book, BookRefsSchema)) == {"author"}


def test_schemas_without_relationships_load_nothing() -> None:
    assert _loading.loader_options(Book, fr.create_schema_from_model(Book)) == ()


def test_depth_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_loading, "MAX_LOAD_DEPTH", 1)
    options = _loading.loader_options(Book, fr.schemas.response_schema_for(BookSchema))
    assert loaded_paths(options) == {"author", "reviews"}


def test_mutually_nested_schemas_are_expanded_once() -> None:
    class WriterSchema(fr.IDSchema):
        name: str
        books: list[TitleSchema] = []

    class TitleSchema(fr.IDSchema):
        title: str
        author: Optional[WriterSchema] = None

    WriterSchema.model_rebuild()
    options = _loading.loader_options(Author, WriterSchema)
    assert loaded_paths(options) == {"books", "books.author"}


def test_view_base_statement_carries_the_options() -> None:
    view = rest_view(fr.AsyncRestView, Book, BookSchema, "/books", globals=fr.FRGlobals())
    assert loaded_paths(view.__restly_compiled__.load_options) == {
        "author",
        "author.publisher",
        "author.publisher.motto",
        "reviews",
    }
    assert view.__restly_compiled__.base_statement._with_options == view.__restly_compiled__.load_options


class SecretNodeSchema(fr.IDSchema):
    name: str
    secret: fr.WriteOnly[str] = ""
    children: list[SecretNodeSchema] = []


def test_write_only_fields_stay_hidden_in_self_referencing_schemas() -> None:
    response = fr.schemas.response_schema_for(SecretNodeSchema)
    child = SecretNodeSchema(id=2, name="leaf", secret="s")
    dumped = response(id=1, name="root", secret="s", children=[child]).model_dump()
    assert "secret" not in dumped["children"][0]


@pytest.mark.anyio
async def test_nested_relationship_fields_are_read_only_on_input(api: Api) -> None:
    sent = {"title": "New", "author_id": 1, "reviews": [{"id": 1, "stars": 5}]}
    created = await api.http.post("/plain-books", json=sent)
    assert created.status_code == 201, created.text
    assert created.json()["reviews"] == []
    patched = await api.http.patch(f"/plain-books/{created.json()['id']}", json={"reviews": [{"id": 2, "stars": 1}]})
    assert patched.status_code == 200 and patched.json()["reviews"] == []


def test_nested_relationship_fields_are_left_out_of_input_schemas(view_base: type[Any]) -> None:
    view = rest_view(view_base, Book, BookWithPlainNestedSchema, "/nested", globals=fr.FRGlobals())
    assert set(view.creation_schema.model_fields) == {"title", "author_id"}
    assert set(view.update_schema.model_fields) == {"title", "author_id"}
    assert "reviews" in view.response_schema.model_fields
