"""Sparse fields and expansion over HTTP: ``?fields=`` and ``?expand=`` on the list and
``GET /{id}`` routes, sync and async, on SQLite, PostgreSQL and MariaDB::

    class BookView(fr.AsyncRestView):
        expandable = ("author", "reviews", "author.publisher")
        sparse_fields = True

    GET /books?fields=id,title,author.name&expand=reviews
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional

import httpx
import pytest
from sqlalchemy import ColumnElement, ForeignKey, Select, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from ..relations_support import Database, StatementCounter, client_for, rest_view, seed, tables


class Base(DeclarativeBase):
    pass


class Publisher(Base):
    __tablename__ = "fx_publisher"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Author(Base):
    __tablename__ = "fx_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    password: Mapped[str] = mapped_column(String(50), default="")
    hidden: Mapped[bool] = mapped_column(default=False)
    publisher_id: Mapped[Optional[int]] = mapped_column(ForeignKey("fx_publisher.id"))
    publisher: Mapped[Optional[Publisher]] = relationship()


class Book(Base):
    __tablename__ = "fx_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[date]
    author_id: Mapped[int] = mapped_column(ForeignKey("fx_author.id"))
    author: Mapped[Author] = relationship()
    reviews: Mapped[list[Review]] = relationship(order_by="Review.id")


class Review(Base):
    __tablename__ = "fx_review"
    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("fx_book.id"))
    stars: Mapped[int]
    hidden: Mapped[bool] = mapped_column(default=False)


class PublisherSchema(fr.IDSchema):
    name: str


class AuthorSchema(fr.IDSchema):
    name: str
    password: fr.WriteOnly[str]
    publisher_id: Optional[int] = None


class ReviewSchema(fr.IDSchema):
    stars: int


class BookSchema(fr.IDSchema):
    title: str
    published_at: date
    author_id: int


EXPANDABLE = ("author", "reviews", "author.publisher")
BOOKS = 60


def published(i: int) -> date:
    """Book ``i``'s day: the higher the id, the older."""
    return date.fromordinal(date(2020, 1, 1).toordinal() + BOOKS - i)


def rows() -> list[list[Any]]:
    """Two publishers; authors 1-4 (3 hidden by its scope); 60 books, by author
    ``1 + id % 4``, published on distinct days (in reverse id order), two reviews each
    (the second of every third book hidden)."""
    return [
        [Publisher(id=1, name="Penguin"), Publisher(id=2, name="Tor")],
        [
            Author(id=i, name=f"Author {i}", password="s3cret", hidden=i == 3, publisher_id=1 + i % 2)
            for i in range(1, 5)
        ],
        [
            Book(id=i, title=f"Book {i:02}", published_at=published(i), author_id=1 + i % 4)
            for i in range(1, BOOKS + 1)
        ],
        [
            Review(id=2 * i + k, book_id=i, stars=1 + (i + k) % 5, hidden=k == 1 and i % 3 == 0)
            for i in range(1, BOOKS + 1)
            for k in (0, 1)
        ],
    ]


@dataclass
class Api:
    http: httpx.AsyncClient
    db: Database

    async def count(self, url: str) -> tuple[httpx.Response, int]:
        """GET ``url``; its response and how many SQL statements it sent."""
        async with StatementCounter(self.db) as counter:
            response = await self.http.get(url)
        return response, counter.count


class RecentBooks:
    """Scopes the list query on top of restly's: books after the tenth."""

    def build_list_query(self) -> Select[Any]:
        return super().build_list_query().where(Book.id > 10)  # type: ignore[misc]


@pytest.fixture(params=["sync", "async"])
def view_base(request: pytest.FixtureRequest) -> type[Any]:
    return fr.RestView if request.param == "sync" else fr.AsyncRestView


def declare(view_base: type[Any], g: fr.FRGlobals) -> tuple[type[Any], ...]:
    @fr.scope(Author, globals=g)
    def visible_authors() -> ColumnElement[bool]:
        return Author.hidden.is_(False)

    @fr.scope(Review, globals=g)
    def visible_reviews() -> ColumnElement[bool]:
        return Review.hidden.is_(False)

    return (
        rest_view(view_base, Publisher, PublisherSchema, "/publishers", globals=g),
        rest_view(view_base, Author, AuthorSchema, "/authors", globals=g),
        rest_view(view_base, Review, ReviewSchema, "/reviews", globals=g),
        rest_view(
            view_base, Book, BookSchema, "/books", globals=g,
            expandable=EXPANDABLE, sparse_fields=True, include_pagination_metadata=True,
        ),
        rest_view(view_base, Book, BookSchema, "/plain-books", globals=g),
        rest_view(
            view_base, Book, BookSchema, "/tagged-books", globals=g,
            expandable=("author", "reviews"), etag=True,
        ),
        rest_view(
            (RecentBooks, view_base), Book, BookSchema, "/recent-books", globals=g,
            expandable=("author",), sparse_fields=True, include_pagination_metadata=True,
        ),
    )


@pytest.fixture
async def api(db_urls: Any, view_base: type[Any]) -> AsyncIterator[Api]:
    g = fr.FRGlobals()
    async with tables(db_urls, Base.metadata) as db:
        for batch in rows():
            seed(db, batch)
        async with client_for(db, g, *declare(view_base, g)) as http:
            await http.get("/books/1")  # connect first: pool start-up is not the view's work
            yield Api(http, db)


def book(i: int) -> dict[str, Any]:
    return {
        "id": i, "title": f"Book {i:02}", "published_at": published(i).isoformat(),
        "author_id": 1 + i % 4,
    }


def author(i: int) -> dict[str, Any] | None:
    if i == 3:
        return None  # hidden by its scope
    return {"id": i, "name": f"Author {i}", "publisher_id": 1 + i % 2}


def reviews(i: int) -> list[dict[str, Any]]:
    shown = (0,) if i % 3 == 0 else (0, 1)
    return [{"id": 2 * i + k, "stars": 1 + (i + k) % 5} for k in shown]


# -- without the parameters nothing changes -------------------------------------------------


@pytest.mark.anyio
async def test_without_the_parameters_answers_as_before(api: Api) -> None:
    response, statements = await api.count("/books?page_size=3")
    assert response.json()["items"] == [book(1), book(2), book(3)]
    assert statements == 1  # the total rides on the page, as for a view without options
    response = await api.http.get("/books/5")
    assert response.json() == book(5)


# -- sparse fields ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_fields_answers_only_those_fields(api: Api) -> None:
    response = await api.http.get("/books", params={"fields": "id,title", "page_size": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["items"] == [{"id": 1, "title": "Book 01"}, {"id": 2, "title": "Book 02"}]
    assert body["total"] == BOOKS
    response = await api.http.get("/books/7?fields=title&fields=author_id")
    assert response.json() == {"title": "Book 07", "author_id": 4}


@pytest.mark.anyio
async def test_dotted_field_expands_its_relation(api: Api) -> None:
    response = await api.http.get("/books/2?fields=id,title,author.name")
    assert response.json() == {"id": 2, "title": "Book 02", "author": None}  # hidden
    response = await api.http.get("/books/1?fields=id,title,author.name")
    assert response.json() == {"id": 1, "title": "Book 01", "author": {"name": "Author 2"}}


@pytest.mark.anyio
async def test_unknown_fields_are_a_422_naming_them(api: Api) -> None:
    response = await api.http.get("/books?fields=id,colour,size")
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "fields"]
    assert "'colour', 'size'" in error["msg"]
    response = await api.http.get("/books/1?fields=")
    assert response.status_code == 422


@pytest.mark.anyio
async def test_write_only_fields_cannot_be_selected_nor_hinted(api: Api) -> None:
    response = await api.http.get("/books?fields=author.password")
    assert response.status_code == 422
    assert "'author.password'" in response.json()["detail"][0]["msg"]
    assert response.json()["detail"][0]["msg"].count("password") == 1  # only the name sent
    response = await api.http.get("/books?expand=author")
    assert all("password" not in (item["author"] or {}) for item in response.json()["items"])
    assert "s3cret" not in response.text


# -- expansion -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_expand_answers_relations_with_their_read_schema(api: Api) -> None:
    response, statements = await api.count("/books?expand=author,reviews&page_size=4")
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [
        {**book(i), "author": author(1 + i % 4), "reviews": reviews(i)} for i in range(1, 5)
    ]
    # the page (carrying its total), one SELECT ... IN per relation
    assert statements == 3


@pytest.mark.anyio
async def test_nested_expansion(api: Api) -> None:
    response = await api.http.get("/books/4?expand=author.publisher&fields=title,author.name")
    assert response.json() == {
        "title": "Book 04",
        "author": {"name": "Author 1", "publisher": {"id": 2, "name": "Tor"}},
    }


@pytest.mark.anyio
async def test_hidden_rows_are_not_expanded(api: Api) -> None:
    response = await api.http.get("/books/6?expand=author,reviews")
    assert response.json() == {**book(6), "author": None, "reviews": [{"id": 12, "stars": 2}]}
    hidden = await api.http.get("/books?expand=author.publisher&page_size=10")
    by_id = {item["id"]: item for item in hidden.json()["items"]}
    assert by_id[2]["author"] is None and by_id[6]["author"] is None
    assert by_id[1]["author"]["publisher"] == {"id": 1, "name": "Penguin"}


@pytest.mark.anyio
async def test_unknown_or_not_allowed_expansions_are_a_422(api: Api) -> None:
    for url in ("/books?expand=owner", "/books/1?expand=author.books", "/books?expand=publisher"):
        response = await api.http.get(url)
        assert response.status_code == 422, url
        assert response.json()["detail"][0]["loc"] == ["query", "expand"]


@pytest.mark.anyio
async def test_statements_do_not_grow_with_the_page(api: Api) -> None:
    url = "/books?expand=author.publisher,reviews&fields=id,author.name&page_size={}"
    _, few = await api.count(url.format(2))
    response, many = await api.count(url.format(50))
    assert len(response.json()["items"]) == 50
    assert few == many == 4  # the page with its total, authors, publishers, reviews


@pytest.mark.anyio
async def test_cursor_walk_with_sort_key_left_out_of_fields(api: Api) -> None:
    url = "/books?fields=title&order_by=-published_at&page_size=7&expand=author"
    seen: list[str] = []
    pages = 0
    while url:
        response = await api.http.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        assert all(set(item) == {"title", "author"} for item in body["items"])
        seen += [item["title"] for item in body["items"]]
        cursor = body.get("next_cursor")
        url = (
            f"/books?fields=title&order_by=-published_at&page_size=7&expand=author&cursor={cursor}"
            if cursor
            else ""
        )
        pages += 1
    assert seen == [f"Book {i:02}" for i in range(1, BOOKS + 1)]  # newest first = lowest id
    assert pages == 9


@pytest.mark.anyio
async def test_cursor_pages_with_a_scoped_list_query(api: Api) -> None:
    """A view overriding build_list_query expands through its own statements."""
    seen: list[int] = []
    url = "/recent-books?expand=author&fields=id,author.name&order_by=-published_at&page_size=4"
    while url:
        response, statements = await api.count(url)
        body = response.json()
        assert statements <= 3  # the page, its count (first page only), the authors
        seen += [item["id"] for item in body["items"]]
        assert all(item["author"] == (
            None if 1 + item["id"] % 4 == 3 else {"name": f"Author {1 + item['id'] % 4}"}
        ) for item in body["items"])
        cursor = response.links.get("next", {}).get("url")
        url = cursor or ""
    assert seen == list(range(11, BOOKS + 1))


@pytest.mark.anyio
async def test_views_without_the_options_ignore_nothing(api: Api) -> None:
    response = await api.http.get("/plain-books?fields=id")
    assert response.status_code == 422  # an unknown query key, as before


# -- OpenAPI ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_openapi_documents_the_parameters_and_an_honest_schema(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    parameters = {p["name"]: p for p in document["paths"]["/books"]["get"]["parameters"]}
    assert parameters["expand"]["schema"]["items"]["enum"] == sorted(EXPANDABLE)
    fields = parameters["fields"]["schema"]["items"]["enum"]
    assert "author.name" in fields and "title" in fields
    assert not any("password" in name for name in fields)
    get = {p["name"] for p in document["paths"]["/books/{id}"]["get"]["parameters"]}
    assert {"fields", "expand"} <= get
    schemas = document["components"]["schemas"]
    answer = document["paths"]["/books/{id}"]["get"]["responses"]["200"]["content"]
    item = schemas[answer["application/json"]["schema"]["$ref"].rpartition("/")[2]]
    assert "required" not in item
    assert set(item["properties"]) == {"id", "title", "published_at", "author_id", "author", "reviews"}
    ref = item["properties"]["author"]["anyOf"][0]["$ref"].rpartition("/")[2]
    assert set(schemas[ref]["properties"]) == {"id", "name", "publisher_id", "publisher"}
    assert "required" not in schemas[ref]  # nested members can be left out too
    plain = {p["name"] for p in document["paths"]["/plain-books"]["get"]["parameters"]}
    assert "fields" not in plain and "expand" not in plain


@pytest.mark.anyio
async def test_expansion_without_sparse_fields_keeps_the_item_required(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    answer = document["paths"]["/tagged-books/{id}"]["get"]["responses"]["200"]["content"]
    ref = answer["application/json"]["schema"]["$ref"].rpartition("/")[2]
    item = document["components"]["schemas"][ref]
    assert sorted(item["required"]) == ["author_id", "id", "published_at", "title"]
    assert {"author", "reviews"} <= set(item["properties"])  # optional: absent unless expanded
    names = {p["name"] for p in document["paths"]["/tagged-books"]["get"]["parameters"]}
    assert "expand" in names and "fields" not in names
    refused = await api.http.get("/tagged-books?fields=id")
    assert refused.status_code == 422  # not accepted by this view: an unknown key


@pytest.mark.anyio
async def test_an_expanded_answer_has_its_own_etag(api: Api) -> None:
    plain = await api.http.get("/tagged-books/5")
    expanded = await api.http.get("/tagged-books/5?expand=author")
    assert expanded.json() == {**book(5), "author": author(2)}
    tag = expanded.headers["etag"]
    assert tag != plain.headers["etag"]
    again = await api.http.get("/tagged-books/5?expand=author", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["etag"] == tag
    stale = await api.http.get("/tagged-books/5?expand=author", headers={"If-Match": '"x"'})
    assert stale.status_code == 412


# -- configuration ---------------------------------------------------------------------------


def test_misconfigured_expansions_are_refused_at_class_creation() -> None:
    g = fr.FRGlobals()
    with pytest.raises(fr.RestlyConfigurationError) as caught:
        rest_view(fr.AsyncRestView, Book, BookSchema, "/b", globals=g, expandable=("title", "author"))
    message = str(caught.value)
    assert "BookView.expandable holds 'title', but Book.title is not a relationship" in message
    assert "no view of Author is declared before BookView" in message
    with pytest.raises(fr.RestlyConfigurationError, match="at most 2"):
        rest_view(
            fr.AsyncRestView, Book, BookSchema, "/b", globals=g,
            expandable={"author": AuthorSchema, "author.publisher": PublisherSchema,
                        "author.publisher.x": PublisherSchema},
        )
    with pytest.raises(fr.RestlyConfigurationError, match="not 'author'"):
        rest_view(fr.AsyncRestView, Book, BookSchema, "/b", globals=g,
                  expandable={"author.publisher": PublisherSchema})
    with pytest.raises(fr.RestlyConfigurationError, match="must be a tuple"):
        rest_view(fr.AsyncRestView, Book, BookSchema, "/b", globals=g, expandable="author")


def test_explicit_schemas_need_no_view_of_the_target() -> None:
    g = fr.FRGlobals()
    view = rest_view(
        fr.AsyncRestView, Book, BookSchema, "/b", globals=g, expandable={"author": AuthorSchema}
    )
    shapes = view.__restly_compiled__.shapes
    assert "password" not in shapes.expansions["author"].schema.model_fields
    assert "author.password" not in shapes.selectable


def test_react_admin_views_refuse_the_options() -> None:
    g = fr.FRGlobals()
    with pytest.raises(fr.RestlyConfigurationError, match="not supported by react-admin"):
        rest_view(fr.AsyncReactAdminView, Book, BookSchema, "/ra", globals=g, sparse_fields=True)
