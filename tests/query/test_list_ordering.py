"""order_by over HTTP: directions, several keys, relation paths, ties and stable pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from query_bookshop import Book, ByCollation, add_rows, make_app, make_client

pytestmark = pytest.mark.anyio

GetIds = Callable[..., Any]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # NULLs sort first on SQLite and last on PostgreSQL, so they are filtered out here.
        # Ties (2, 4 and 6 have 300 pages) by id, in the direction of the sort key.
        ("?pages__isnull=false&order_by=pages", [5, 2, 4, 6, 1]),
        ("?pages__isnull=false&order_by=-pages", [1, 6, 4, 2, 5]),
        ("?order_by=-id", [6, 5, 4, 3, 2, 1]),
        ("?order_by=id", [1, 2, 3, 4, 5, 6]),
        ("?order_by=bookTitle", ByCollation([4, 2, 5, 1, 6, 3], [4, 6, 5, 2, 3, 1])),
        ("?order_by=-bookTitle", ByCollation([3, 6, 1, 5, 2, 4], [1, 3, 2, 5, 6, 4])),
        # Ties (4 and 6: in print, 300 pages) by id, in the direction of the last key.
        ("?pages__isnull=false&order_by=-in_print,pages", [4, 6, 1, 5, 2]),
        ("?pages__isnull=false&order_by=-in_print&order_by=pages", [4, 6, 1, 5, 2]),
        ("?pages__isnull=false&order_by=in_print,-pages", [2, 5, 1, 6, 4]),
        ("?published_at__isnull=false&order_by=published_at", [1, 4, 5, 6, 3]),
        ("?order_by=code&id=1", [1]),
    ],
)
async def test_order_by(
    get_ids: GetIds, db_urls: Any, query: str, expected: list[int] | ByCollation
) -> None:
    if isinstance(expected, ByCollation):
        expected = expected.on(db_urls.name)
    assert await get_ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Books by author: Ann 1, 4; Bob 2, 6; Cy 5. Publishers: Ann's Penguin, Bob's Vintage.
        # Equal sort values are ordered by book id in the direction of the last key.
        ("?author.id__isnull=false&order_by=author.name", [1, 4, 2, 6, 5]),
        ("?author.id__isnull=false&order_by=-author.name", [5, 6, 2, 4, 1]),
        ("?author.id__isnull=false&order_by=-author.name,-pages", [5, 6, 2, 1, 4]),
        ("?author.publisher.id__isnull=false&order_by=-author.publisher.name", [6, 2, 4, 1]),
        (
            "?author.publisher.id__isnull=false&order_by=author.publisher.name,-author.id",
            [4, 1, 6, 2],
        ),
    ],
)
async def test_order_by_relation_path(get_ids: GetIds, query: str, expected: list[int]) -> None:
    assert await get_ids(query) == expected


async def test_primary_key_breaks_ties_in_the_direction_of_the_last_key(get_ids: GetIds) -> None:
    # Books 2, 4 and 6 have 300 pages; 1 has 1225 and 5 has 50 (3 has none: filtered out).
    ascending = await get_ids("?pages__isnull=false&order_by=pages")
    descending = await get_ids("?pages__isnull=false&order_by=-pages")
    assert ascending == [5, 2, 4, 6, 1]  # pages ASC, id ASC
    assert descending == [1, 6, 4, 2, 5]  # pages DESC, id DESC
    assert descending == ascending[::-1]  # one index on pages serves both directions
    # Only the last key's direction counts: in print first, then pages; 4 and 6 tie on both.
    assert await get_ids("?pages__isnull=false&order_by=-in_print,pages") == [4, 6, 1, 5, 2]
    assert await get_ids("?pages__isnull=false&order_by=-in_print,-pages") == [1, 6, 4, 2, 5]
    # With the primary key among the keys, nothing is added: its own direction stands.
    assert await get_ids("?pages__isnull=false&order_by=-pages,id") == [1, 2, 4, 6, 5]


async def test_relation_sort_neither_drops_nor_repeats_rows(client: Any) -> None:
    body = (await client.get("/books?order_by=author.publisher.name,author.name")).json()
    assert sorted(body["ids"]) == [1, 2, 3, 4, 5, 6]  # book 3 has no author: still listed
    assert body["total"] == 6


@pytest.mark.parametrize("key", ["nope", "title", "secret", "tags.label", "--pages", "-", ""])
async def test_unknown_sort_key_is_422_naming_it(client: Any, key: str) -> None:
    response = await client.get("/books", params={"order_by": f"id,{key}"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "order_by", 1]
    assert error["msg"] == (
        f"Unknown sort key '{key}'; sort by one of: id, bookTitle, pages, rating, price, "
        "in_print, genre, code, published_at, status, author.id, author.name, author.born, "
        "author.publisher.id, author.publisher.name"
    )


@pytest.mark.parametrize("order_by", ["pages", "-pages", "in_print,-pages", "author.name"])
async def test_pages_never_skip_or_repeat_rows_when_sort_values_tie(
    engine: AsyncEngine, order_by: str
) -> None:
    # 31 books sharing three page counts and two authors: most sort values tie.
    await add_rows(
        engine,
        [Book(id=i, title=f"b{i}", pages=i % 3, in_print=i % 2 == 0) for i in range(1, 32)],
    )
    async with make_client(make_app(engine)) as client:
        everything = (await client.get("/books", params={"order_by": order_by})).json()["ids"]
        pages = []
        for page in range(1, 7):
            query = {"order_by": order_by, "page": page, "page_size": 6}
            body = (await client.get("/books", params=query)).json()
            assert body["total"] == 31
            pages.append(body["ids"])
    assert [len(ids) for ids in pages] == [6, 6, 6, 6, 6, 1]
    assert [book_id for ids in pages for book_id in ids] == everything
    assert sorted(everything) == list(range(1, 32))
