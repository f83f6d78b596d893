"""The one-pass dependency answers exactly like ``Annotated[Params, Query()]``."""

from __future__ import annotations

from typing import Annotated, Any

import fastapi
import httpx
import pytest

from restly.query import list_params_dependency, list_params_openapi
from restly.query._openapi import compact_schema

from query_bookshop import BookListParams, make_client

ParamsDep = Annotated[BookListParams, fastapi.Depends(list_params_dependency(BookListParams))]


def dump(params: Any) -> dict[str, Any]:
    return dict(params.model_dump(by_alias=True, exclude_unset=True, mode="json"))


def apps() -> tuple[fastapi.FastAPI, fastapi.FastAPI]:
    """The same route twice: FastAPI's query model, and restly's dependency."""
    by_fastapi, by_restly = fastapi.FastAPI(), fastapi.FastAPI()

    @by_fastapi.get("/books")
    async def with_query_model(params: Annotated[BookListParams, fastapi.Query()]) -> Any:
        return dump(params)

    @by_restly.get("/books", openapi_extra=list_params_openapi(BookListParams))
    async def with_dependency(params: ParamsDep) -> Any:
        return dump(params)

    return by_fastapi, by_restly


QUERIES = [
    "",
    "?pages=300",
    "?id=1,2&id=3",
    "?pages__gte=1&pages__gte=7",  # a single-value key keeps the last value
    "?bookTitle__contains=war%20peace&author.name=Ann,Bob",
    "?order_by=-pages,author.name&order_by=id&page=2&page_size=10",
    "?genre=poetry&published_at__lt=2020-01-01T00:00:00%2B02:00&in_print=0",
    "?bogus=1",
    "?bogus=1&bogus=2",
    "?id=1,x",
    "?pages__gte=1e999",
    "?page=0&page_size=1000",
    "?order_by=nope",
    "?rating=nan&code=zzz",
    "?bookTitle=a%00",
]


@pytest.mark.anyio
@pytest.mark.parametrize("query", QUERIES)
async def test_same_answers_as_the_query_model(query: str) -> None:
    by_fastapi, by_restly = apps()
    async with make_client(by_fastapi) as first, make_client(by_restly) as second:
        expected = await first.get("/books" + query)
        actual = await second.get("/books" + query)
    assert (actual.status_code, actual.json()) == (expected.status_code, expected.json())


def inline_refs(value: Any, components: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if "$ref" in value:
            return inline_refs(components[value["$ref"].rsplit("/", 1)[1]], components)
        return {key: inline_refs(item, components) for key, item in value.items()}
    if isinstance(value, list):
        return [inline_refs(item, components) for item in value]
    return value


def test_same_openapi_parameters_as_the_query_model_written_compactly() -> None:
    by_fastapi, by_restly = apps()
    expected = by_fastapi.openapi()
    components = expected["components"]["schemas"]
    expected_parameters = inline_refs(expected["paths"]["/books"]["get"]["parameters"], components)
    actual_parameters = by_restly.openapi()["paths"]["/books"]["get"]["parameters"]
    assert actual_parameters == [
        {**parameter, "schema": compact_schema(parameter["schema"])}
        for parameter in expected_parameters
    ]
    # What compacting leaves out: null, and the title and description the parameter has.
    page_size = next(p for p in actual_parameters if p["name"] == "page_size")
    assert page_size["schema"] == {"maximum": 50, "minimum": 1, "type": "integer"}
    assert page_size["description"].startswith("Rows per page, at most 50")


def test_only_params_classes_from_restly() -> None:
    with pytest.raises(TypeError, match="was not made by create_list_params_schema"):
        list_params_dependency(httpx.Response)  # type: ignore[type-var]
