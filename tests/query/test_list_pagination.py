"""page / page_size over HTTP: defaults, edges, caps, and the unpaginated row limit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from restly.query import MAX_PAGE, create_list_params_schema

from query_bookshop import Book, BookSchema, add_rows, make_app, make_client

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("query", "ids", "page", "page_size"),
    [
        ("", [1, 2, 3, 4, 5, 6], None, None),  # unpaginated by default
        ("?page_size=2", [1, 2], 1, 2),
        ("?page_size=2&page=2", [3, 4], 2, 2),
        ("?page_size=4&page=2", [5, 6], 2, 4),  # a short last page
        ("?page_size=2&page=4", [], 4, 2),  # past the end: empty, not an error
        ("?page=1", [1, 2, 3, 4, 5, 6], 1, 50),  # page alone: max_page_size
        ("?page=2", [], 2, 50),
        ("?page_size=50", [1, 2, 3, 4, 5, 6], 1, 50),
        (f"?page={MAX_PAGE}&page_size=50", [], MAX_PAGE, 50),
        ("?page_size=2&page=2&order_by=-id", [4, 3], 2, 2),
        ("?id=99&page_size=2", [], 1, 2),
    ],
)
async def test_pages(client: Any, query: str, ids: list[int], page: Any, page_size: Any) -> None:
    response = await client.get("/books" + query)
    assert response.status_code == 200
    body = response.json()
    assert (body["ids"], body["page"], body["page_size"]) == (ids, page, page_size)
    assert body["total"] == (0 if "id=99" in query else 6)


@pytest.mark.parametrize(
    ("query", "key", "message"),
    [
        ("?page=0", "page", "Input should be greater than or equal to 1"),
        ("?page=-1", "page", "Input should be greater than or equal to 1"),
        (f"?page={MAX_PAGE + 1}", "page", f"Input should be less than or equal to {MAX_PAGE}"),
        ("?page=99999999999999999999999", "page", f"Input should be less than or equal to {MAX_PAGE}"),
        ("?page=two", "page", "Input should be a valid integer, unable to parse string as an integer"),
        ("?page_size=0", "page_size", "Input should be greater than or equal to 1"),
        ("?page_size=51", "page_size", "Input should be less than or equal to 50"),
        ("?page_size=1.5", "page_size", "Input should be a valid integer, unable to parse string as an integer"),
    ],
)
async def test_bad_pages_are_422_naming_the_key(
    client: Any, query: str, key: str, message: str
) -> None:
    response = await client.get("/books" + query)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["msg"]) == (["query", key], message)


async def test_unpaginated_list_still_stops_at_max_page_size(engine: AsyncEngine) -> None:
    await add_rows(engine, [Book(id=i, title=f"b{i}") for i in range(1, 61)])
    async with make_client(make_app(engine)) as client:
        body = (await client.get("/books")).json()
    assert body["ids"] == list(range(1, 51))
    assert body["total"] == 60


async def test_default_page_size_paginates_without_asking(bookshop: AsyncEngine) -> None:
    params = create_list_params_schema(BookSchema, model=Book, default_page_size=4)
    async with make_client(make_app(bookshop, params)) as client:
        first = (await client.get("/books")).json()
        second = (await client.get("/books?page=2")).json()
        bigger = (await client.get("/books?page_size=10")).json()
    assert (first["ids"], first["page"], first["page_size"]) == ([1, 2, 3, 4], 1, 4)
    assert (second["ids"], second["page"], second["page_size"]) == ([5, 6], 2, 4)
    assert (bigger["ids"], bigger["page_size"]) == ([1, 2, 3, 4, 5, 6], 10)


async def test_a_route_of_your_own_refuses_a_cursor_rather_than_starting_over(
    client: Any,
) -> None:
    """Only restly's list views decode cursors; ``apply_list_params`` never answers the
    first page to a request that asked to go on."""
    response = await client.get("/books?page_size=2&cursor=AQIDBA")
    assert response.status_code == 400
    assert "cursor parameter is not supported by this route" in response.json()["detail"]
