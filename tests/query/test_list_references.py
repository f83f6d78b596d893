"""List filters and sorting on reference fields, over HTTP with real restly views.

A reference on a relationship filters with the operators of its id type::

    class BookSchema(fr.IDSchema):
        author: Optional[fr.IDRef[Author]]    # ?author=1,2  ?author__gt=1  ?order_by=author
        tags: list[fr.IDRef[Tag]] = []        # ?tags=1,2 (any)  ?tags__ne=2  ?tags__isnull=true

A many-to-one compares its foreign-key column; one without its own foreign-key column, and a
to-many list, compare the related primary key through EXISTS (``has`` / ``any``). Every HTTP
test runs with ``fr.RestView`` and ``fr.AsyncRestView`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, Optional

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from restly.query import bind_plan, create_list_params_schema, list_plan
from tests.relations_support import client_for, rest_view, seed, tables

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


book_tags = sa.Table(
    "qref_book_tag",
    Base.metadata,
    sa.Column("book_id", sa.ForeignKey("qref_book.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("qref_tag.id", ondelete="CASCADE"), primary_key=True),
)


class Publisher(Base):
    __tablename__ = "qref_publisher"
    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))


class Author(Base):
    __tablename__ = "qref_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    publisher_id: Mapped[Optional[int]] = mapped_column(
        sa.SmallInteger, sa.ForeignKey("qref_publisher.id")
    )
    publisher: Mapped[Optional[Publisher]] = relationship(lazy="selectin")


class Tag(Base):
    __tablename__ = "qref_tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(50))


class Shelf(Base):
    __tablename__ = "qref_shelf"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))


class Book(Base):
    __tablename__ = "qref_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    author_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("qref_author.id"))
    author: Mapped[Optional[Author]] = relationship(foreign_keys=[author_id])
    # No foreign-key constraint: the relationship has no FK column of its own to compare.
    reviewer_id: Mapped[Optional[int]]
    reviewer: Mapped[Optional[Author]] = relationship(
        primaryjoin="foreign(Book.reviewer_id) == Author.id"
    )
    shelf_id: Mapped[Optional[uuid.UUID]] = mapped_column(sa.ForeignKey("qref_shelf.id"))
    shelf: Mapped[Optional[Shelf]] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=book_tags, order_by=Tag.id)


class BookSchema(fr.IDSchema):
    title: str
    author: Optional[fr.IDRef[Author]] = None
    reviewer: Optional[fr.IDRef[Author]] = None
    shelf: Optional[fr.IDRef[Shelf]] = None
    tags: list[fr.IDRef[Tag]] = []


class AuthorOut(fr.IDSchema):
    name: str
    publisher: Optional[fr.IDRef[Publisher]] = None


class NestedBookSchema(fr.IDSchema):
    title: str
    author: Optional[AuthorOut] = None


S1 = uuid.UUID("0f7d2c9e-8a51-4b0e-9d7a-2b9f0c1e3a01")
S2 = uuid.UUID("0f7d2c9e-8a51-4b0e-9d7a-2b9f0c1e3a02")


def rows() -> list[list[Any]]:
    """Publishers, authors, tags, shelves, then four books:

    ====  =======  ========  =====  ======  ========================
    book  author   reviewer  shelf  tags    author's publisher
    ====  =======  ========  =====  ======  ========================
    1     1        2         S1     1, 2    1
    2     2        -         S2     2       2
    3     -        1         -      -       -
    4     3        3         S1     3       -
    ====  =======  ========  =====  ======  ========================
    """
    tags = {i: Tag(id=i, label=f"tag{i}") for i in (1, 2, 3)}
    return [
        [Publisher(id=1, name="Ace"), Publisher(id=2, name="Bantam")],
        [
            Author(id=1, name="Ann", publisher_id=1),
            Author(id=2, name="Bob", publisher_id=2),
            Author(id=3, name="Cy"),
        ],
        list(tags.values()),
        [Shelf(id=S1, name="top"), Shelf(id=S2, name="low")],
        [
            Book(
                id=1, title="Dune", author_id=1, reviewer_id=2, shelf_id=S1, tags=[tags[1], tags[2]]
            ),
            Book(id=2, title="Emma", author_id=2, shelf_id=S2, tags=[tags[2]]),
            Book(id=3, title="Ulysses", reviewer_id=1),
            Book(id=4, title="Walden", author_id=3, reviewer_id=3, shelf_id=S1, tags=[tags[3]]),
        ],
    ]


@pytest.fixture(params=["sync", "async"])
def view_base(request: pytest.FixtureRequest) -> type[Any]:
    return fr.RestView if request.param == "sync" else fr.AsyncRestView


@pytest.fixture
async def http(db_urls: Any, view_base: type[Any]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of /books, /paged-books (BookSchema) and /nested-books over rows()."""
    g = fr.FRGlobals()
    async with tables(db_urls, Base.metadata) as db:
        for group in rows():
            seed(db, group)
        views = (
            rest_view(view_base, Book, BookSchema, "/books", globals=g),
            rest_view(view_base, Book, NestedBookSchema, "/nested-books", globals=g),
            rest_view(
                view_base, Book, BookSchema, "/paged-books", globals=g,
                include_pagination_metadata=True,
            ),
        )
        async with client_for(db, g, *views) as client:
            yield client


async def ids(http: httpx.AsyncClient, query: str, path: str = "/books") -> list[int]:
    response = await http.get(f"{path}?{query}")
    assert response.status_code == 200, response.text
    return [book["id"] for book in response.json()]


async def error(http: httpx.AsyncClient, query: str) -> dict[str, Any]:
    """The single 422 error of ``GET /books?<query>``."""
    response = await http.get(f"/books?{query}")
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    return problem  # type: ignore[no-any-return]


# -- filters --------------------------------------------------------------------------------

FILTERS: list[tuple[str, list[int]]] = [
    # many-to-one with its own foreign-key column (Book.author_id)
    ("author=1", [1]),
    ("author=1,3", [1, 4]),
    ("author=1&author=2", [1, 2]),
    ("author=99", []),
    ("author__ne=1", [2, 3, 4]),  # a book without an author is "not 1" too
    ("author__ne=1,2", [3, 4]),
    ("author__gt=1", [2, 4]),
    ("author__gte=2", [2, 4]),
    ("author__lt=3", [1, 2]),
    ("author__lte=1", [1]),
    ("author__isnull=true", [3]),
    ("author__isnull=false", [1, 2, 4]),
    ("author=1,2&author__ne=2", [1]),
    # many-to-one without a foreign-key column: through the relationship (has)
    ("reviewer=2", [1]),
    ("reviewer=1,3", [3, 4]),
    ("reviewer__ne=2", [2, 3, 4]),
    ("reviewer__gt=1", [1, 4]),
    ("reviewer__lte=2", [1, 3]),
    ("reviewer__isnull=true", [2]),
    ("reviewer__isnull=false", [1, 3, 4]),
    # to-many list reference (any)
    ("tags=2", [1, 2]),
    ("tags=1,2", [1, 2]),  # any of them; a book with both is listed once
    ("tags=1,3", [1, 4]),
    ("tags=1&tags=3", [1, 4]),
    ("tags=99", []),
    ("tags__ne=2", [3, 4]),  # no tag 2; a book without tags qualifies
    ("tags__ne=1,3", [2, 3]),
    ("tags__gt=2", [4]),
    ("tags__gte=2", [1, 2, 4]),
    ("tags__lt=2", [1]),
    ("tags__lte=1", [1]),
    ("tags__isnull=true", [3]),  # no related rows
    ("tags__isnull=false", [1, 2, 4]),
    ("tags=2&author=2", [2]),
    # uuid ids: equality, not-equal and null; no ranges
    (f"shelf={S1}", [1, 4]),
    (f"shelf={S1},{S2}", [1, 2, 4]),
    (f"shelf__ne={S1}", [2, 3]),
    ("shelf__isnull=true", [3]),
    ("shelf__isnull=false", [1, 2, 4]),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
async def test_reference_filters(
    http: httpx.AsyncClient, query: str, expected: list[int]
) -> None:
    assert await ids(http, query) == expected


async def test_list_reference_filter_counts_each_row_once(http: httpx.AsyncClient) -> None:
    response = await http.get("/paged-books?tags=1,2,3&page_size=2")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [book["id"] for book in body["items"]] == [1, 2]
    assert (body["total"], body["total_pages"]) == (3, 2)


# -- references inside a nested schema ------------------------------------------------------


async def test_reference_in_a_nested_schema_filters_and_sorts(http: httpx.AsyncClient) -> None:
    assert await ids(http, "author.publisher=2", "/nested-books") == [2]
    assert await ids(http, "author.publisher__isnull=false", "/nested-books") == [1, 2]
    assert await ids(
        http, "author.publisher__isnull=false&order_by=-author.publisher", "/nested-books"
    ) == [2, 1]
    response = await http.get("/nested-books?author.publisher=32768")  # SMALLINT
    assert response.status_code == 422, response.text


# -- ordering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("author__isnull=false&order_by=author", [1, 2, 4]),
        ("author__isnull=false&order_by=-author", [4, 2, 1]),
        ("reviewer__isnull=false&order_by=reviewer", [3, 1, 4]),
        ("reviewer__isnull=false&order_by=-reviewer", [4, 1, 3]),
        ("shelf__isnull=false&order_by=shelf,-id", [4, 1, 2]),
        ("author__isnull=false&order_by=-author&page=2&page_size=2", [1]),
    ],
)
async def test_many_to_one_references_sort(
    http: httpx.AsyncClient, query: str, expected: list[int]
) -> None:
    assert await ids(http, query) == expected


async def test_list_reference_is_not_a_sort_key(http: httpx.AsyncClient) -> None:
    problem = await error(http, "order_by=tags")
    assert problem["type"] == "unknown_sort_key"
    assert "'tags'" in problem["msg"]
    assert problem["ctx"]["key"] == "tags"
    assert "author" in problem["ctx"]["choices"].split(", ")


# -- invalid values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "loc", "kind"),
    [
        ("author=x", ["query", "author", 0], "int_parsing"),
        ("author=2147483648", ["query", "author", 0], "less_than_equal"),
        ("author__gt=-2147483649", ["query", "author__gt"], "greater_than_equal"),
        ("reviewer=2147483648", ["query", "reviewer", 0], "less_than_equal"),
        ("tags=1,x", ["query", "tags", 1], "int_parsing"),
        ("tags=2147483648", ["query", "tags", 0], "less_than_equal"),
        ("tags__lt=99999999999999999999", ["query", "tags__lt"], "less_than_equal"),
        ("tags__isnull=maybe", ["query", "tags__isnull"], "bool_parsing"),
        ("shelf=nope", ["query", "shelf", 0], "uuid_parsing"),
        ("shelf__gt=" + str(S1), ["query", "shelf__gt"], "extra_forbidden"),
        ("tags__contains=1", ["query", "tags__contains"], "extra_forbidden"),
        ("author__contains=1", ["query", "author__contains"], "extra_forbidden"),
    ],
)
async def test_bad_reference_values_are_422(
    http: httpx.AsyncClient, query: str, loc: list[Any], kind: str
) -> None:
    problem = await error(http, query)
    assert (problem["loc"], problem["type"]) == (loc, kind)


# -- OpenAPI --------------------------------------------------------------------------------


async def test_openapi_documents_references_with_their_id_type(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    parameters = {p["name"]: p["schema"] for p in spec["paths"]["/books"]["get"]["parameters"]}
    int_item = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
    for key in ("author", "author__ne", "reviewer", "tags", "tags__ne"):
        array = parameters[key]
        assert array["type"] == "array" and array["items"] == int_item, key
    for key in ("author__gt", "tags__lte"):
        assert parameters[key] == int_item, key
    assert parameters["shelf"]["items"] == {"type": "string", "format": "uuid"}
    assert "shelf__gt" not in parameters
    assert "tags__isnull" in parameters and "author__isnull" in parameters
    sort_keys = parameters["order_by"]["items"]["enum"]
    assert {"author", "-author", "reviewer", "shelf"} <= set(sort_keys)
    assert "tags" not in sort_keys and "-tags" not in sort_keys


# -- the params class, without HTTP ---------------------------------------------------------


def test_only_reference_fields_reach_through_relationships() -> None:
    class PlainSchema(fr.IDSchema):
        author: Optional[int] = None  # not a reference: no filter on the relationship

    plan = list_plan(create_list_params_schema(PlainSchema, model=Book))
    keys = {spec.key for spec in plan.filters}
    assert keys == {"id", "id__ne", "id__gt", "id__gte", "id__lt", "id__lte"}


def test_reference_keys_without_a_model_are_bound_on_first_use() -> None:
    plan = list_plan(create_list_params_schema(BookSchema))
    keys = {spec.key for spec in plan.filters}
    assert {"author", "author__isnull", "tags", "tags__ne", "tags__isnull", "tags__gt"} <= keys
    assert "tags" not in plan.sort_keys and "author" in plan.sort_keys
    bound = bind_plan(plan, Book)
    assert bound.sorts["author"].expression is Book.author_id
