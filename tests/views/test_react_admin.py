"""react-admin views (``restly/views/_react_admin.py``): the ra-data-simple-rest dialect over
HTTP, sync and async, on SQLite and PostgreSQL; and the real client against a real server."""

from __future__ import annotations

import asyncio
import decimal
import enum
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import Field
from sqlalchemy import JSON, Enum, ForeignKey, Numeric, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from restly.views._react_admin import ReactAdminListParams
from tests.conftest import skip_or_fail

HARNESS = Path(__file__).parent.parent / "react_admin"
DatabaseURLs = Any  # tests/conftest.py's db_urls fixture value: .sync_url, .async_url


class Base(DeclarativeBase):
    pass


class Status(enum.Enum):
    draft = "draft"
    live = "live"


class Author(Base):
    __tablename__ = "ra_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Post(Base):
    __tablename__ = "ra_post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)
    views: Mapped[int] = mapped_column(default=0)
    rating: Mapped[float | None]
    published: Mapped[bool] = mapped_column(default=False)
    status: Mapped[Status] = mapped_column(Enum(Status), default=Status.draft)
    day: Mapped[date | None]
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    author_id: Mapped[int] = mapped_column(ForeignKey("ra_author.id"))
    author: Mapped[Author] = relationship(lazy="selectin")


class Reading(Base):
    """A time without a zone (UTC wall time) and a decimal without a precision."""

    __tablename__ = "ra_reading"
    id: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[decimal.Decimal] = mapped_column(Numeric)
    taken_at: Mapped[datetime]


class AuthorRef(fr.BaseSchema):
    id: int


class AliasedPost(fr.IDSchema):
    """Public names differ from the attributes; ``author`` is a many-to-one relationship."""

    title: str = Field(alias="headline")
    views: int = Field(alias="viewCount")
    author: AuthorRef | None = None


# (title, body, views, rating, published, status, day, author_id)
ROWS = [
    ("Hello react-admin", "First steps", 10, 4.5, True, "live", date(2024, 1, 1), 1),
    ("Sorting rows", None, 30, None, True, "live", date(2024, 2, 1), 2),
    ("Paging 100%", "with a _literal_ percent", 20, 3.0, False, "draft", None, 2),
    ("Filters", "React Admin filters", 5, 2.5, True, "draft", date(2024, 3, 1), 1),
    ("Zeta", "last by title", 30, None, False, "live", None, 2),
]
SEEDED = len(ROWS)


def seed(g: fr.FRGlobals, extra_posts: int = 0) -> None:
    with fr.session(g) as session:
        session.add_all([Author(name="Ann"), Author(name="Bob")])
        session.flush()
        # Ids come from the database (1, 2, ... in insertion order), so sequences stay in step.
        for title, body, views, rating, published, status, day, author in ROWS:
            session.add(
                Post(
                    title=title,
                    body=body,
                    views=views,
                    rating=rating,
                    published=published,
                    status=Status(status),
                    day=day,
                    author_id=author,
                )
            )
        for number in range(extra_posts):
            session.add(Post(title=f"Bulk {number:03}", author_id=1))


def reset(g: fr.FRGlobals, extra_posts: int = 0) -> None:
    with fr.session(g) as session:
        session.execute(Post.__table__.delete())
        session.execute(Author.__table__.delete())
    seed(g, extra_posts)


@asynccontextmanager
async def configured(urls: DatabaseURLs) -> AsyncIterator[fr.FRGlobals]:
    """A fresh FRGlobals over ``urls`` with this module's tables created (dropped after)."""
    g = fr.FRGlobals()
    with fr.use_fr_globals(g):
        fr.configure(
            database_url=urls.sync_url, async_database_url=urls.async_url, pgbouncer=urls.pgbouncer
        )
    engine = g.get_engine()
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        yield g
    finally:
        await g.dispose()
        Base.metadata.drop_all(engine)
        engine.dispose()


@pytest.fixture
async def ra_globals(db_urls: DatabaseURLs) -> AsyncIterator[fr.FRGlobals]:
    async with configured(db_urls) as g:
        seed(g)
        yield g


@pytest.fixture(params=["async", "sync"])
def view_base(request: pytest.FixtureRequest) -> type:
    return fr.AsyncReactAdminView if request.param == "async" else fr.ReactAdminView


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(*views: type) -> httpx.AsyncClient:
        app = FastAPI()
        fr.include_view(app, *views)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


def post_view(base: type, g: fr.FRGlobals, **options: Any) -> type:
    namespace = {"prefix": "/posts", "model": Post, **options}
    return type("PostView", (base,), namespace, globals=g)


@pytest.fixture
def posts(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Callable[..., httpx.AsyncClient]
) -> httpx.AsyncClient:
    return make_client(post_view(view_base, ra_globals))


def error_body(detail: str) -> dict[str, str]:
    """A react-admin view's error answer: the detail, and the same text as ``message``."""
    return {"detail": detail, "message": detail}


def ra_params(**params: Any) -> dict[str, str]:
    """react-admin query parameters: every value JSON-encoded (``range_`` for ``range``)."""
    return {key.rstrip("_"): json.dumps(value) for key, value in params.items()}


async def ra_list(client: httpx.AsyncClient, **params: Any) -> tuple[list[Any], str]:
    response = await client.get("/posts", params=ra_params(**params))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-expose-headers"] == "Content-Range, Link, Preference-Applied"
    return response.json(), response.headers["content-range"]


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


pytestmark = pytest.mark.anyio


# -- list: range, sort ---------------------------------------------------------------------


async def test_list_without_parameters_answers_25_rows_by_id(
    view_base: type, db_urls: DatabaseURLs, make_client: Any
) -> None:
    async with configured(db_urls) as g:
        seed(g, extra_posts=30)
        client = make_client(post_view(view_base, g))
        rows, content_range = await ra_list(client)
        assert ids(rows) == list(range(1, 26))
        assert content_range == "items 0-24/35"


async def test_range_selects_rows_inclusively(posts: httpx.AsyncClient) -> None:
    rows, content_range = await ra_list(posts, range_=[1, 3])
    assert ids(rows) == [2, 3, 4]
    assert content_range == "items 1-3/5"
    rows, content_range = await ra_list(posts, range_=[4, 10])
    assert ids(rows) == [5]
    assert content_range == "items 4-4/5"
    rows, content_range = await ra_list(posts, range_=[0, 0])
    assert ids(rows) == [1]
    assert content_range == "items 0-0/5"


async def test_range_beyond_the_end_answers_no_rows_and_the_total(posts: httpx.AsyncClient) -> None:
    rows, content_range = await ra_list(posts, range_=[25, 49])
    assert rows == []
    assert content_range == "items */5"


async def test_sort_orders_rows_then_by_primary_key(posts: httpx.AsyncClient) -> None:
    rows, _ = await ra_list(posts, sort=["title", "ASC"])
    assert ids(rows) == [4, 1, 3, 2, 5]
    # Posts 2 and 5 tie on 30 views: the primary key decides, in the sort's direction.
    rows, _ = await ra_list(posts, sort=["views", "ASC"])
    assert ids(rows) == [4, 1, 3, 2, 5]
    rows, _ = await ra_list(posts, sort=["views", "DESC"])
    assert ids(rows) == [5, 2, 3, 1, 4]
    rows, _ = await ra_list(posts, sort=["id", "desc"])
    assert ids(rows) == [5, 4, 3, 2, 1]


async def test_sort_and_range_together_page_through_a_sorted_list(posts: httpx.AsyncClient) -> None:
    first, first_range = await ra_list(posts, sort=["views", "ASC"], range_=[0, 1])
    second, second_range = await ra_list(posts, sort=["views", "ASC"], range_=[2, 3])
    assert ids(first) + ids(second) == [4, 1, 3, 2]
    assert (first_range, second_range) == ("items 0-1/5", "items 2-3/5")


async def test_range_is_capped_at_max_page_size(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    client = make_client(post_view(view_base, ra_globals, max_page_size=3))
    rows, content_range = await ra_list(client, range_=[0, 2])
    assert (ids(rows), content_range) == ([1, 2, 3], "items 0-2/5")
    rows, content_range = await ra_list(client)
    assert (ids(rows), content_range) == ([1, 2, 3], "items 0-2/5")  # default range capped too
    response = await client.get("/posts", params=ra_params(range_=[0, 3]))
    assert response.status_code == 400
    assert response.json() == error_body("range [0, 3] asks for 4 rows; at most 3 rows per request")


async def test_default_page_size_sets_the_default_range(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    client = make_client(post_view(view_base, ra_globals, default_page_size=2))
    rows, content_range = await ra_list(client)
    assert (ids(rows), content_range) == ([1, 2], "items 0-1/5")


# -- list: filter ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({}, [1, 2, 3, 4, 5]),
        ({"title": "Zeta"}, [5]),
        ({"views": 30}, [2, 5]),
        ({"views": "30"}, [2, 5]),  # text inputs send strings
        ({"published": True}, [1, 2, 4]),
        ({"published": False, "author_id": 2}, [3, 5]),
        ({"status": "draft"}, [3, 4]),
        ({"rating": 2.5}, [4]),
        ({"day": "2024-02-01"}, [2]),
        ({"body": None}, [2]),
        ({"id": [5, 1, 3]}, [1, 3, 5]),
        ({"id": []}, []),
        ({"day": [None, "2024-01-01"]}, [1, 3, 5]),
        ({"views_gte": 20}, [2, 3, 5]),
        ({"views_gt": 20}, [2, 5]),
        ({"views_lte": 10}, [1, 4]),
        ({"views_lt": 10}, [4]),
        ({"views_gte": 10, "views_lt": 30}, [1, 3]),
        ({"day_gte": "2024-02-01"}, [2, 4]),
        ({"status_neq": "live"}, [3, 4]),
        ({"author_id_neq": [2]}, [1, 4]),
        ({"rating_neq": 3.0}, [1, 2, 4, 5]),  # NULL differs from 3.0
        ({"rating_neq": None}, [1, 3, 4]),
        ({"body_neq": [None, "First steps"]}, [3, 4, 5]),
        ({"title_q": "ROW"}, [2]),
        ({"title_q": "hello REACT"}, [1]),  # every word must appear
        ({"q": "react ADMIN"}, [1, 4]),  # each word in any text field
        ({"q": "100%"}, [3]),  # % and _ are literal characters
        ({"q": "_literal_"}, [3]),
        ({"q": "r_w"}, []),
        ({"q": "   "}, [1, 2, 3, 4, 5]),
        ({"q": "filters", "author_id": 1}, [4]),
    ],
)
async def test_filter(posts: httpx.AsyncClient, filter_: dict[str, Any], expected: list[int]) -> None:
    rows, content_range = await ra_list(posts, filter=filter_)
    assert ids(rows) == expected
    total = len(expected)
    assert content_range == (f"items 0-{total - 1}/{total}" if total else "items */0")


async def test_get_many_answers_every_named_row_beyond_the_default_range(
    view_base: type, db_urls: DatabaseURLs, make_client: Any
) -> None:
    async with configured(db_urls) as g:
        seed(g, extra_posts=40)
        client = make_client(post_view(view_base, g))
        wanted = list(range(6, 46))
        rows, content_range = await ra_list(client, filter={"id": wanted})
        assert ids(rows) == wanted
        assert content_range == "items 0-39/40"


async def test_get_many_reference_filters_on_the_foreign_key(posts: httpx.AsyncClient) -> None:
    rows, content_range = await ra_list(
        posts, filter={"author_id": 2}, sort=["title", "DESC"], range_=[0, 1]
    )
    assert ids(rows) == [5, 2]
    assert content_range == "items 0-1/3"


async def test_filter_values_are_typed_on_the_answer(posts: httpx.AsyncClient) -> None:
    rows, _ = await ra_list(posts, filter={"id": 1})
    assert rows == [
        {
            "id": 1,
            "title": "Hello react-admin",
            "body": "First steps",
            "views": 10,
            "rating": 4.5,
            "published": True,
            "status": "live",
            "day": "2024-01-01",
            "extra": None,
            "author_id": 1,
        }
    ]


async def test_public_alias_names_are_the_wire_names(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    client = make_client(post_view(view_base, ra_globals, schema=AliasedPost))
    rows, content_range = await ra_list(
        client, filter={"viewCount_gte": 20, "author": 2}, sort=["headline", "ASC"]
    )
    assert rows == [
        {"id": 3, "headline": "Paging 100%", "viewCount": 20, "author": {"id": 2}},
        {"id": 2, "headline": "Sorting rows", "viewCount": 30, "author": {"id": 2}},
        {"id": 5, "headline": "Zeta", "viewCount": 30, "author": {"id": 2}},
    ]
    assert content_range == "items 0-2/3"
    # Posts 2, 3 and 5 are Bob's (author 2): ties by id, descending like the sort.
    rows, _ = await ra_list(client, sort=["author", "DESC"], range_=[0, 1])
    assert ids(rows) == [5, 3]
    response = await client.get("/posts", params=ra_params(filter={"title": "Zeta"}))
    assert response.status_code == 400
    assert response.json() == error_body(
        'unknown filter field "title"; filter on: id, headline, viewCount, author'
    )


async def test_build_list_query_scopes_rows_and_total(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    def build_list_query(self: Any) -> Any:
        return select(Post).where(Post.published.is_(True))

    client = make_client(post_view(view_base, ra_globals, build_list_query=build_list_query))
    rows, content_range = await ra_list(client, range_=[0, 1])
    assert (ids(rows), content_range) == ([1, 2], "items 0-1/3")
    response = await client.delete("/posts/3")  # hidden rows are not there for writes either
    assert response.status_code == 404


async def test_an_overridden_count_index_gives_the_total(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    if view_base is fr.AsyncReactAdminView:

        async def count_index(self: Any, query_params: Any) -> int:
            return 1000 + len(query_params.filter)

    else:

        def count_index(self: Any, query_params: Any) -> int:  # type: ignore[misc]
            return 1000 + len(query_params.filter)

    client = make_client(post_view(view_base, ra_globals, count_index=count_index))
    rows, content_range = await ra_list(client, filter={"author_id": 1})
    assert ids(rows) == [1, 4]
    assert content_range == "items 0-1/1001"


def recording_handle_list(view_base: type, seen: list[Any]) -> Any:
    """A ``handle_list`` override appending the parameters it receives to ``seen``."""
    parent = view_base.handle_list

    if view_base is fr.AsyncReactAdminView:

        async def handle_list(self: Any, query_params: Any, query: Any = None) -> Any:
            seen.append(query_params)
            return await parent(self, query_params, query)

        return handle_list

    def sync_handle_list(self: Any, query_params: Any, query: Any = None) -> Any:
        seen.append(query_params)
        return parent(self, query_params, query)

    return sync_handle_list


async def test_handle_list_receives_the_parsed_parameters(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    seen: list[Any] = []
    handle_list = recording_handle_list(view_base, seen)
    client = make_client(post_view(view_base, ra_globals, handle_list=handle_list))
    await ra_list(client, filter={"views_gte": "10", "q": "a b"}, sort=["title", "asc"], range_=[1, 2])
    (params,) = seen
    assert isinstance(params, ReactAdminListParams)
    assert params.filter == {"views_gte": 10, "q": ["a", "b"]}
    assert params.sort == ("title", "ASC")
    assert (params.start, params.limit) == (1, 2)


async def test_order_by_ends_with_the_primary_key_in_the_sort_direction(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    seen: list[Any] = []
    handle_list = recording_handle_list(view_base, seen)
    client = make_client(post_view(view_base, ra_globals, handle_list=handle_list))
    expected = {
        None: ["ra_post.id ASC"],
        ("views", "ASC"): ["ra_post.views ASC", "ra_post.id ASC"],
        ("views", "DESC"): ["ra_post.views DESC", "ra_post.id DESC"],
        ("id", "DESC"): ["ra_post.id DESC"],
    }
    for sort, order_by in expected.items():
        seen.clear()
        await ra_list(client) if sort is None else await ra_list(client, sort=list(sort))
        (params,) = seen
        assert [str(clause.compile()) for clause in params.order_by] == order_by


# -- list: bad requests ------------------------------------------------------------------------

FIELDS = "id, title, body, views, rating, published, status, day, author_id"

SORT_SHAPE = 'sort must be a JSON array ["field", "ASC" or "DESC"]; got '
RANGE_SHAPE = (
    f"range must be a JSON array [start, end] of integers with 0 <= start <= end <= {2**53 - 1}; got "
)
RANGE_JSON = "range must be JSON such as [0, 24]; "
FILTER_JSON = 'filter must be JSON such as {"title": "Hello", "id": [1, 2]}; '
UNKNOWN_FILTER = 'unknown filter field "{}"; filter on: ' + FIELDS

BAD_REQUESTS = [
    ({"sort": "[title"}, "sort must be JSON such as [\"title\", \"ASC\"]; Expecting value at position 1 in '[title'"),
    ({"sort": '"title"'}, SORT_SHAPE + "'\"title\"'"),
    ({"sort": '["title"]'}, SORT_SHAPE + "'[\"title\"]'"),
    ({"sort": '["title", "UP"]'}, SORT_SHAPE + "'[\"title\", \"UP\"]'"),
    ({"sort": '[1, "ASC"]'}, SORT_SHAPE + "'[1, \"ASC\"]'"),
    ({"sort": '["colour", "ASC"]'}, f'cannot sort by unknown field "colour"; sort by: {FIELDS}'),
    ({"sort": '["extra", "ASC"]'}, f'cannot sort by unknown field "extra"; sort by: {FIELDS}'),
    ({"range": "0,24"}, RANGE_JSON + "Extra data at position 1 in '0,24'"),
    ({"range": "[0]"}, RANGE_SHAPE + "'[0]'"),
    ({"range": "[5, 4]"}, RANGE_SHAPE + "'[5, 4]'"),
    ({"range": "[-1, 4]"}, RANGE_SHAPE + "'[-1, 4]'"),
    ({"range": "[0.0, 4]"}, RANGE_SHAPE + "'[0.0, 4]'"),
    ({"range": "[true, 4]"}, RANGE_SHAPE + "'[true, 4]'"),
    ({"range": '["0", "4"]'}, RANGE_SHAPE + f"'[\"0\", \"4\"]'"),
    ({"range": f"[{2**53}, {2**53 + 1}]"}, RANGE_SHAPE + f"'[{2**53}, {2**53 + 1}]'"),
    ({"range": "[0, 1000]"}, "range [0, 1000] asks for 1001 rows; at most 1000 rows per request"),
    ({"range": "[NaN, 4]"}, RANGE_JSON + "NaN is not a JSON number in '[NaN, 4]'"),
    ({"range": "[0, 1e999]"}, RANGE_JSON + "1e999 is too large for a number in '[0, 1e999]'"),
    ({"range": "[0, " + "9" * 5000 + "]"}, RANGE_JSON + "it is too large or too deeply nested in '[0, " + "9" * 56 + "...'"),
    ({"filter": "{"}, FILTER_JSON + "Expecting property name enclosed in double quotes at position 1 in '{'"),
    ({"filter": "[" * 5000}, FILTER_JSON + "it is too large or too deeply nested in '" + "[" * 60 + "...'"),
    ({"filter": "[]"}, "filter must be a JSON object such as {\"title\": \"Hello\"}; got '[]'"),
    ({"filter": "null"}, "filter must be a JSON object such as {\"title\": \"Hello\"}; got 'null'"),
    ({"filter": '{"colour": "red"}'}, UNKNOWN_FILTER.format("colour")),
    ({"filter": '{"extra": {}}'}, UNKNOWN_FILTER.format("extra")),
    ({"filter": '{"published_gte": true}'}, UNKNOWN_FILTER.format("published_gte")),
    ({"filter": '{"views_q": "1"}'}, UNKNOWN_FILTER.format("views_q")),
    ({"filter": '{"\\ud800": 1}'}, "a filter key contains an unpaired surrogate"),
    ({"filter": '{"views": "many"}'}, 'filter "views" is invalid: Input should be a valid integer, unable to parse string as an integer; got \'"many"\''),
    ({"filter": '{"views": 1.5}'}, 'filter "views" is invalid: Input should be a valid integer, got a number with a fractional part; got \'1.5\''),
    ({"filter": '{"views": 2147483648}'}, 'filter "views" is invalid: Input should be less than or equal to 2147483647; got \'2147483648\''),
    ({"filter": '{"views": ' + "9" * 400 + "}"}, 'filter "views" is invalid: Input should be less than or equal to 2147483647; got \'' + "9" * 60 + "...'"),
    ({"filter": '{"id": [1, "x"]}'}, 'filter "id" is invalid: Input should be a valid integer, unable to parse string as an integer; got \'"x"\''),
    ({"filter": '{"id": [[1]]}'}, "filter \"id\" must be a single value; got '[1]'"),
    ({"filter": '{"id": {"in": [1]}}'}, "filter \"id\" must be a single value; got '{\"in\": [1]}'"),
    ({"filter": '{"rating": NaN}'}, FILTER_JSON + "NaN is not a JSON number in '{\"rating\": NaN}'"),
    ({"filter": '{"rating": -Infinity}'}, FILTER_JSON + "-Infinity is not a JSON number in '{\"rating\": -Infinity}'"),
    ({"filter": '{"rating": 1e400}'}, FILTER_JSON + "1e400 is too large for a number in '{\"rating\": 1e400}'"),
    ({"filter": '{"title": 5}'}, 'filter "title" is invalid: Input should be a valid string; got \'5\''),
    ({"filter": '{"title": "' + "x" * 101 + '"}'}, 'filter "title" is invalid: String should have at most 100 characters; got \'"' + "x" * 59 + "...'"),
    ({"filter": '{"title": "a\\u0000b"}'}, 'filter "title" contains a NUL character'),
    ({"filter": '{"title": "\\udc00"}'}, 'filter "title" is invalid: Input should be a valid string, unable to parse raw data as a unicode string; got \'"\\\\udc00"\''),
    ({"filter": '{"q": "\\udc00"}'}, 'filter "q" contains an unpaired surrogate'),
    ({"filter": '{"status": "gone"}'}, "filter \"status\" is invalid: Input should be 'draft' or 'live'; got '\"gone\"'"),
    ({"filter": '{"published": "maybe"}'}, "filter \"published\" is invalid: Input should be a valid boolean, unable to interpret input; got '\"maybe\"'"),
    ({"filter": '{"day": "2024-13-01"}'}, "filter \"day\" is invalid: Input should be a valid date or datetime, month value is outside expected range of 1-12; got '\"2024-13-01\"'"),
    ({"filter": '{"views_gte": null}'}, 'filter "views_gte" needs a value to compare with; got null'),
    ({"filter": '{"views_gte": [1, 2]}'}, "filter \"views_gte\" must be a single value; got '[1, 2]'"),
    ({"filter": '{"q": 5}'}, "filter \"q\" must be a string; got '5'"),
    ({"filter": '{"q": "a b c d e f g h i j k"}'}, 'filter "q" has 11 words; at most 10'),
    ({"filter": '{"q": "\\u0000"}'}, 'filter "q" contains a NUL character'),
    ({"filter": '{"title_q": ["a"]}'}, "filter \"title_q\" must be a string; got '[\"a\"]'"),
    ({"filter": json.dumps({"id": list(range(1001))})}, 'filter "id" lists 1001 values; at most 1000 are accepted'),
    ({"colour": "red"}, 'unknown query parameter "colour"; react-admin lists take sort, range and filter'),
    ({"embed": '["author"]'}, "embed is not supported: this resource does not embed related records"),
]


@pytest.mark.parametrize(
    ("params", "detail"),
    BAD_REQUESTS,
    ids=[" ".join(f"{k}={v[:30]}" for k, v in params.items()) for params, _ in BAD_REQUESTS],
)
async def test_malformed_parameters_answer_400(
    posts: httpx.AsyncClient, params: dict[str, str], detail: str
) -> None:
    response = await posts.get("/posts", params=params)
    assert response.status_code == 400, response.text
    assert response.json() == error_body(detail)


async def test_a_repeated_parameter_answers_400(posts: httpx.AsyncClient) -> None:
    response = await posts.get("/posts?sort=[\"id\",\"ASC\"]&sort=[\"id\",\"DESC\"]")
    assert response.status_code == 400
    assert response.json() == error_body('query parameter "sort" is given more than once')


async def test_q_without_text_fields_answers_400(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    class Numbers(fr.BaseSchema):
        id: int
        views: int

    client = make_client(post_view(view_base, ra_globals, schema=Numbers))
    response = await client.get("/posts", params=ra_params(filter={"q": "x"}))
    assert response.status_code == 400
    assert response.json() == error_body('filter "q" searches text fields, and this resource has none')


# -- list: what the dialect shares with ?field__op= lists ------------------------------------------


async def test_enum_fields_have_no_comparisons(posts: httpx.AsyncClient) -> None:
    # As for ?status__gte=: an enum's order differs between databases (declaration order of
    # a native enum, text order elsewhere), so only equality and _neq are offered.
    response = await posts.get("/posts", params=ra_params(filter={"status_gte": "draft"}))
    assert response.status_code == 400
    assert response.json() == error_body(UNKNOWN_FILTER.format("status_gte"))
    rows, _ = await ra_list(posts, filter={"status_neq": "draft"})
    assert ids(rows) == [1, 2, 5]


@pytest.fixture
def readings(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Callable[..., httpx.AsyncClient]
) -> httpx.AsyncClient:
    with fr.session(ra_globals) as session:
        session.add_all(
            [
                Reading(amount=decimal.Decimal(1), taken_at=datetime(2024, 1, 1, 9)),
                Reading(amount=decimal.Decimal(2), taken_at=datetime(2024, 1, 1, 11)),
            ]
        )
    namespace = {"prefix": "/readings", "model": Reading}
    return make_client(type("ReadingView", (view_base,), namespace, globals=ra_globals))


async def test_an_aware_time_compares_as_utc_with_a_column_without_zone(
    readings: httpx.AsyncClient,
) -> None:
    # 12:00+02:00 is 10:00 UTC, the wall time the column holds.
    for filter_, expected in [
        ({"taken_at_gte": "2024-01-01T12:00:00+02:00"}, [2]),
        ({"taken_at_lt": "2024-01-01T10:00:00Z"}, [1]),
        ({"taken_at": "2024-01-01T04:00:00-05:00"}, [1]),
    ]:
        response = await readings.get("/readings", params=ra_params(filter=filter_))
        assert response.status_code == 200, response.text
        assert ids(response.json()) == expected, filter_


async def test_a_decimal_beyond_what_databases_compare_answers_400(
    readings: httpx.AsyncClient,
) -> None:
    response = await readings.get("/readings", params=ra_params(filter={"amount_gte": "1e999999"}))
    assert response.status_code == 400
    assert response.json() == error_body(
        'filter "amount_gte" is invalid: Input should be between -1e100 and 1e100; '
        "got '\"1e999999\"'"
    )
    response = await readings.get("/readings", params=ra_params(filter={"amount_gte": "1.5"}))
    assert ids(response.json()) == [2]


# -- writes ------------------------------------------------------------------------------------


async def test_put_updates_like_patch_and_ignores_read_only_fields(posts: httpx.AsyncClient) -> None:
    record = (await posts.get("/posts/2")).json()
    response = await posts.put("/posts/2", json={**record, "id": 77, "title": "Renamed", "views": 1})
    assert response.status_code == 200
    assert response.json() == {**record, "title": "Renamed", "views": 1}
    assert (await posts.get("/posts/2")).json() == response.json()
    assert (await posts.get("/posts/77")).status_code == 404


async def test_put_answers_404_and_422_like_patch(posts: httpx.AsyncClient) -> None:
    assert (await posts.put("/posts/999", json={"title": "x"})).status_code == 404
    response = await posts.put("/posts/1", json={"views": "many"})
    assert response.status_code == 422
    assert (await posts.get("/posts/1")).json()["views"] == 10


async def test_delete_answers_the_deleted_record(posts: httpx.AsyncClient) -> None:
    record = (await posts.get("/posts/3")).json()
    response = await posts.delete("/posts/3", headers={"Content-Type": "text/plain"})
    assert response.status_code == 200
    assert response.json() == record
    assert (await posts.get("/posts/3")).status_code == 404
    assert (await posts.delete("/posts/3")).status_code == 404
    _, content_range = await ra_list(posts)
    assert content_range == "items 0-3/4"


async def test_delete_answers_the_id_when_handle_delete_returns_nothing(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    if view_base is fr.AsyncReactAdminView:

        async def handle_delete(self: Any, id: Any) -> None:
            await self.delete_object(await self.handle_get(id))

    else:

        def handle_delete(self: Any, id: Any) -> None:  # type: ignore[misc]
            self.delete_object(self.handle_get(id))

    client = make_client(post_view(view_base, ra_globals, handle_delete=handle_delete))
    response = await client.delete("/posts/4")
    assert response.status_code == 200
    assert response.json() == {"id": 4}


async def test_create_and_get_one_are_the_generated_routes(posts: httpx.AsyncClient) -> None:
    response = await posts.post("/posts", json={"title": "New", "author_id": 1})
    assert response.status_code == 201
    created = response.json()
    assert (await posts.get(f"/posts/{created['id']}")).json() == created
    assert (await posts.get("/posts/999")).json() == error_body("Not Found")


# -- class creation ----------------------------------------------------------------------------


def test_unsupported_options_are_configuration_errors() -> None:
    g = fr.FRGlobals()
    with pytest.raises(fr.RestlyConfigurationError) as caught:
        type(
            "PostView",
            (fr.AsyncReactAdminView,),
            {
                "prefix": "/posts",
                "model": Post,
                "include_pagination_metadata": True,
                "extra_query_params": {"mine": bool},
            },
            globals=g,
        )
    assert str(caught.value) == (
        "PostView is misconfigured (2 problems):\n"
        "  - PostView.include_pagination_metadata must be False: react-admin lists answer a "
        "JSON array and send the total in Content-Range. Remove it.\n"
        "  - PostView.extra_query_params is not supported by react-admin views, whose lists "
        "take only sort, range and filter; remove it and scope rows in build_list_query instead."
    )
    assert len(g.registry) == 0


def test_react_admin_bases_are_abstract_and_routes_are_documented() -> None:
    g = fr.FRGlobals()
    view = post_view(fr.ReactAdminView, g)
    assert list(g.registry) == [view]
    assert fr.ReactAdminView.__restly_abstract__ and fr.AsyncReactAdminView.__restly_abstract__
    app = FastAPI()
    fr.include_view(app, view)
    paths = app.openapi()["paths"]
    assert set(paths["/posts/{id}"]) == {"get", "put", "patch", "delete"}
    listing = paths["/posts"]["get"]
    assert [p["name"] for p in listing["parameters"]] == ["sort", "range", "filter", "Prefer"]
    assert "Content-Range" in listing["responses"]["200"]["headers"]
    assert "400" in listing["responses"]
    assert "200" in paths["/posts/{id}"]["delete"]["responses"]


def test_routes_can_be_excluded_by_name() -> None:
    g = fr.FRGlobals()
    view = post_view(fr.AsyncReactAdminView, g, exclude_routes=("put", "patch"))
    app = FastAPI()
    fr.include_view(app, view)
    assert set(app.openapi()["paths"]["/posts/{id}"]) == {"get", "delete"}


# -- the real react-admin client ---------------------------------------------------------------


def harness_unavailable_reason() -> str | None:
    """Install the node harness when needed; return why it cannot run, or None."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are needed to run the ra-data-simple-rest client"
    if (HARNESS / "node_modules" / "ra-data-simple-rest").is_dir():
        return None
    try:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=HARNESS,
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (subprocess.SubprocessError, OSError) as error:
        return f"npm ci in {HARNESS} failed ({type(error).__name__}); run it by hand to see why"
    return None


@pytest.fixture(scope="module")
def node_harness() -> Path:
    reason = harness_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)  # in CI (RESTLY_REQUIRE_SERVICES=1) the real client must run
    return HARNESS / "drive.mjs"


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, fr.FRGlobals]]:
    """A real uvicorn server on 127.0.0.1 (free port) with async views under /async and
    sync views under /sync, over one SQLite database."""
    import uvicorn

    path = tmp_path / "react-admin.sqlite3"
    urls = {"database_url": f"sqlite:///{path}", "async_database_url": f"sqlite+aiosqlite:///{path}"}
    g = fr.FRGlobals()
    with fr.use_fr_globals(g):
        fr.configure(**urls)
    Base.metadata.create_all(g.get_engine())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await g.dispose()  # in the server's own event loop

    app = FastAPI(lifespan=lifespan)
    for kind, base in (("async", fr.AsyncReactAdminView), ("sync", fr.ReactAdminView)):
        for name, model in (("posts", Post), ("authors", Author)):
            namespace = {"prefix": f"/{kind}/{name}", "model": model}
            fr.include_view(app, type(f"{kind}{name}", (base,), namespace, globals=g))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", http="h11", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", g
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        g.get_engine().dispose()


def run_client(script: Path, base_url: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(script), base_url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def post(number: int, **changes: Any) -> dict[str, Any]:
    title, body, views, rating, published, status, day, author = ROWS[number - 1]
    record = {
        "id": number,
        "title": title,
        "body": body,
        "views": views,
        "rating": rating,
        "published": published,
        "status": status,
        "day": day and day.isoformat(),
        "extra": None,
        "author_id": author,
    }
    return {**record, **changes}


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_ra_data_simple_rest_client(
    node_harness: Path, live_server: tuple[str, fr.FRGlobals], kind: str
) -> None:
    base_url, g = live_server
    reset(g, extra_posts=2)  # "Bulk 000" (id 6) and "Bulk 001" (id 7) besides the five posts
    results = run_client(node_harness, f"{base_url}/{kind}")
    bulk = [
        post(1, id=6 + n, title=f"Bulk {n:03}", body=None, views=0, rating=None,
             published=False, status="draft", day=None)
        for n in range(2)
    ]
    assert results["list_by_title"] == {"data": [*bulk, post(4), post(1), post(3)], "total": 7}
    # views DESC: 5 and 2 (30), 3, 1, 4, then the bulk posts 7 and 6 tie on 0: id DESC too.
    assert results["list_page_2_by_views_desc"] == {"data": bulk[::-1], "total": 7}
    assert results["list_search"] == {"data": [post(1), post(4)], "total": 2}
    assert results["list_filtered"] == {"data": [post(2), post(1)], "total": 2}
    assert results["list_beyond_the_end"] == {"data": [], "total": 7}
    assert results["get_one"] == {"data": post(3)}
    assert results["get_many"] == {"data": [post(1), post(3), post(5)]}
    assert results["get_many_reference"] == {"data": [post(5), post(2)], "total": 3}
    created = post(1, id=8, title="Fresh post", body=None, views=1, rating=None,
                   published=False, status="draft", day=None)
    assert results["create"] == {"data": created}
    renamed = post(2, title="Renamed", views=70, author_id=1)
    assert results["update"] == {"data": renamed}
    assert results["update_many"] == {"data": [3, 4]}
    assert results["after_updates"] == {"data": [renamed, post(3, views=0), post(4, views=0)]}
    assert results["delete"] == {"data": post(5)}
    assert results["delete_many"] == {"data": [4, 6]}
    assert results["after_deletes"] == {
        "data": [post(1), renamed, post(3, views=0), bulk[1], created],
        "total": 5,
    }
    assert results["authors_by_name"] == {
        "data": [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}],
        "total": 2,
    }
    # The client's HttpError carries restly's message, which react-admin shows to the user.
    not_found = {"status": 404, "message": "Not Found", "body": error_body("Not Found")}
    assert results["get_one_missing"] == {"error": not_found}
    unknown = UNKNOWN_FILTER.format("colour")
    assert results["unknown_filter_field"] == {
        "error": {"status": 400, "message": unknown, "body": error_body(unknown)}
    }
    assert results["delete_missing"] == {"error": not_found}
    invalid = results["create_invalid"]["error"]
    assert invalid["status"] == 422
    assert invalid["message"] == (
        "title: Field required; views: Input should be a valid integer, unable to parse string "
        "as an integer; author_id: Field required"
    )
    assert invalid["body"]["message"] == invalid["message"]


# -- error messages ----------------------------------------------------------------------------


async def test_every_json_error_carries_a_message(posts: httpx.AsyncClient) -> None:
    response = await posts.post("/posts", json={"title": "x" * 101, "author_id": 1, "views": "a"})
    assert response.status_code == 422
    body = response.json()
    assert [error["loc"] for error in body["detail"]] == [["body", "title"], ["body", "views"]]
    assert body["message"] == (
        "title: String should have at most 100 characters; "
        "views: Input should be a valid integer, unable to parse string as an integer"
    )
    # react-admin's form shows each under its input, and the message as the notification.
    assert body["errors"] == {
        "title": "String should have at most 100 characters",
        "views": "Input should be a valid integer, unable to parse string as an integer",
        "root": {"serverError": body["message"]},
    }
    missing_author = await posts.post("/posts", json={"title": "Orphan", "author_id": 999})
    assert missing_author.status_code == 409
    detail = missing_author.json()["detail"]
    assert missing_author.json() == error_body(detail)
    assert int(missing_author.headers["content-length"]) == len(missing_author.content)
    assert (await posts.get("/posts/1")).json()["title"] == "Hello react-admin"  # no message


class Extra(fr.BaseSchema):
    tags: list[str]
    score: int


class PostWithExtra(fr.IDSchema):
    title: str
    author_id: int
    extra: Extra | None = None


async def test_field_errors_name_nested_inputs_and_only_body_fields(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    client = make_client(post_view(view_base, ra_globals, schema=PostWithExtra))
    nested = await client.post(
        "/posts", json={"title": "t", "author_id": 1, "extra": {"tags": ["a", 5], "score": "x"}}
    )
    assert nested.status_code == 422, nested.text
    # Paths joined with dots, as react-hook-form names inputs (ArrayInput: "extra.tags.1").
    message = (
        "extra.tags.1: Input should be a valid string; "
        "extra.score: Input should be a valid integer, unable to parse string as an integer"
    )
    assert nested.json()["message"] == message
    assert nested.json()["errors"] == {
        "extra.tags.1": "Input should be a valid string",
        "extra.score": "Input should be a valid integer, unable to parse string as an integer",
        "root": {"serverError": message},
    }
    # Errors of the body as a whole, or outside it, name no input: the notification alone.
    not_an_object = (await client.post("/posts", json=[1])).json()
    assert not_an_object["errors"] == {"root": {"serverError": not_an_object["message"]}}
    assert "valid dictionary" in not_an_object["message"]
    bad_id = await client.get("/posts/abc")
    assert bad_id.status_code == 422
    message = "id: Input should be a valid integer, unable to parse string as an integer"
    assert bad_id.json()["message"] == message
    assert bad_id.json()["errors"] == {"root": {"serverError": message}}
    # A 4xx other than 422 has no field errors.
    assert "errors" not in (await client.get("/posts/999")).json()


class RootField(fr.IDSchema):
    """A public field named ``root``, the name react-hook-form keeps for the form's errors."""

    title: str = Field(alias="root", max_length=3)
    views: int
    author_id: int


async def test_a_field_named_root_keeps_its_message(
    view_base: type, ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    client = make_client(post_view(view_base, ra_globals, schema=RootField))
    body = (await client.post("/posts", json={"root": "long", "author_id": 1})).json()
    assert body["errors"] == {
        "root": "String should have at most 3 characters",
        "views": "Field required",
    }
    assert body["message"] == "root: String should have at most 3 characters; views: Field required"


async def test_other_views_answer_errors_without_a_message(
    ra_globals: fr.FRGlobals, make_client: Any
) -> None:
    client = make_client(post_view(fr.AsyncRestView, ra_globals))
    assert (await client.get("/posts/999")).json() == {"detail": "Not Found"}
    # Byte for byte what FastAPI answers: the detail alone, compact JSON.
    invalid = await client.post("/posts", json={"title": "x" * 101, "author_id": 1})
    assert invalid.status_code == 422
    detail = invalid.json()["detail"]
    assert invalid.content == json.dumps(
        {"detail": detail}, ensure_ascii=False, separators=(",", ":")
    ).encode()
