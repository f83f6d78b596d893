"""The generated params class: OpenAPI documentation, configuration errors, the public API."""

from __future__ import annotations

from typing import Any, Optional

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import restly as fr
import restly.query
from restly.exc import RestlyConfigurationError
from restly.query import bind_plan
from restly.query import (
    apply_list_params,
    create_list_params_schema,
    list_params_extras,
    list_params_page,
    list_plan,
)

from query_bookshop import Book, BookListParams, BookSchema, make_app, make_client


@pytest.fixture
def idle_engine() -> AsyncEngine:
    # Never connected: these tests only read OpenAPI or compile SQL.
    return create_async_engine("sqlite+aiosqlite://")


@pytest.fixture
async def parameters(idle_engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    async with make_client(make_app(idle_engine)) as client:
        openapi = (await client.get("/openapi.json")).json()
    return {p["name"]: p for p in openapi["paths"]["/books"]["get"]["parameters"]}


def value_schema(parameter: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional parameter's schema."""
    [schema] = [s for s in parameter["schema"]["anyOf"] if s.get("type") != "null"]
    return schema


@pytest.mark.anyio
async def test_openapi_documents_every_key(parameters: dict[str, Any]) -> None:
    aliases = {field.alias or name for name, field in BookListParams.model_fields.items()}
    assert set(parameters) == aliases
    assert {"page", "page_size", "order_by", "bookTitle__contains", "author.publisher.name"} <= (
        aliases
    )
    assert not [key for key in aliases if "secret" in key]  # WriteOnly: never a key
    for parameter in parameters.values():
        assert (parameter["in"], parameter["required"]) == ("query", False)
        assert parameter["description"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("pages__gte", {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}),
        ("published_at__lt", {"type": "string", "format": "date-time"}),
        ("author.born__gt", {"type": "string", "format": "date"}),
        ("pages__isnull", {"type": "boolean"}),
        ("bookTitle__contains", {"type": "string"}),
        ("page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
        ("page_size", {"type": "integer", "minimum": 1, "maximum": 50}),
    ],
)
async def test_openapi_types_of_single_values(
    parameters: dict[str, Any], key: str, expected: dict[str, Any]
) -> None:
    assert value_schema(parameters[key]) == expected


@pytest.mark.anyio
async def test_openapi_lists_are_arrays_of_the_field_type(parameters: dict[str, Any]) -> None:
    ids = value_schema(parameters["id"])
    assert ids["type"] == "array"
    assert ids["maxItems"] == 1000
    assert ids["items"]["type"] == "integer"
    assert value_schema(parameters["code__ne"])["items"] == {"type": "string", "format": "uuid"}
    assert value_schema(parameters["genre"])["items"] == {"$ref": "#/components/schemas/Genre"}


@pytest.mark.anyio
async def test_openapi_lists_the_sort_keys(parameters: dict[str, Any]) -> None:
    choices = value_schema(parameters["order_by"])["items"]["enum"]
    assert {"bookTitle", "-bookTitle", "author.name", "-author.publisher.name"} <= set(choices)
    assert not any(key.lstrip("-") in {"tags.label", "secret", "title"} for key in choices)


def test_params_class_is_named_after_the_schema_or_as_asked() -> None:
    assert BookListParams.__name__ == "BookSchemaListParams"
    named = create_list_params_schema(BookSchema, model=Book, name="BookFilters")
    assert named.__name__ == "BookFilters"


def test_plan_is_compiled_once_and_bound_once_per_model() -> None:
    plan = list_plan(BookListParams)
    assert plan is list_plan(BookListParams.model_validate({"pages": "1"}))
    assert bind_plan(plan, Book) is bind_plan(plan, Book)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_page_size": 0}, "max_page_size must be >= 1; got 0."),
        (
            {"default_page_size": 0},
            "default_page_size must be between 1 and max_page_size (1000); got 0.",
        ),
        (
            {"default_page_size": 20, "max_page_size": 10},
            "default_page_size must be between 1 and max_page_size (10); got 20.",
        ),
        (
            {"extra_query_params": {"pages__gte": int, "page": int}},
            "extra_query_params ['page', 'pages__gte'] clash with list parameters of "
            "BookSchema; rename them (e.g. 'x_page').",
        ),
    ],
)
def test_configuration_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(RestlyConfigurationError) as caught:
        create_list_params_schema(BookSchema, model=Book, **options)
    assert str(caught.value) == message


@pytest.mark.anyio
async def test_extra_query_params_are_documented_validated_and_passed_through(
    bookshop: AsyncEngine,
) -> None:
    params = create_list_params_schema(
        BookSchema, model=Book, extra_query_params={"q": str, "strict-mode": (bool, False)}
    )
    async with make_client(make_app(bookshop, params)) as client:
        openapi = (await client.get("/openapi.json")).json()
        docs = {p["name"]: p for p in openapi["paths"]["/books"]["get"]["parameters"]}
        plain = (await client.get("/books")).json()
        given = (await client.get("/books?q=war&strict-mode=true&pages=300")).json()
        bad = await client.get("/books?strict-mode=sometimes")
    assert docs["q"]["schema"] == {"type": "string", "title": "q"}
    assert docs["strict-mode"]["schema"] == {
        "type": "boolean",
        "title": "strict-mode",
        "default": False,
    }
    assert plain["extras"] == {"q": None, "strict-mode": False}
    assert given["extras"] == {"q": "war", "strict-mode": True}
    assert given["ids"] == [2, 4, 6]  # "q" filters nothing by itself
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "strict-mode"]


def compile_sql(query: sa.Select[Any]) -> str:
    return str(query.compile(compile_kwargs={"literal_binds": True}))


def test_parts_can_be_switched_off_for_the_count_query() -> None:
    params = BookListParams.model_validate({"pages": "300", "order_by": "-pages", "page": "2"})
    base = sa.select(Book)
    everything = compile_sql(apply_list_params(params, base, Book))
    assert "WHERE query_book.pages = 300" in everything
    assert "ORDER BY query_book.pages DESC, query_book.id DESC" in everything
    assert "LIMIT 50 OFFSET 50" in everything
    filters_only = compile_sql(apply_list_params(params, base, Book, order=False, paginate=False))
    assert "WHERE" in filters_only
    assert "ORDER BY" not in filters_only and "LIMIT" not in filters_only
    no_filters = compile_sql(apply_list_params(params, base, Book, filters=False))
    assert "WHERE" not in no_filters and "ORDER BY" in no_filters


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, "query_book.id ASC"),
        ("pages", "query_book.pages ASC, query_book.id ASC"),
        ("-pages", "query_book.pages DESC, query_book.id DESC"),
        ("-author.name", "query_author_1.name DESC, query_book.id DESC"),
        ("-pages,bookTitle", "query_book.pages DESC, query_book.title ASC, query_book.id ASC"),
        ("pages,-bookTitle", "query_book.pages ASC, query_book.title DESC, query_book.id DESC"),
        ("-id", "query_book.id DESC"),
        ("-pages,id", "query_book.pages DESC, query_book.id ASC"),
    ],
)
def test_order_by_ends_with_the_primary_key_in_the_direction_of_the_last_key(
    order_by: Optional[str], expected: str
) -> None:
    params = BookListParams.model_validate({} if order_by is None else {"order_by": order_by})
    sql = compile_sql(apply_list_params(params, sa.select(Book), Book))
    assert sql.split("ORDER BY ", 1)[1].split("\n", 1)[0] == expected


def test_an_already_scoped_query_keeps_its_conditions() -> None:
    params = BookListParams.model_validate({"pages": "300"})
    sql = compile_sql(apply_list_params(params, sa.select(Book).where(Book.in_print), Book))
    assert "WHERE query_book.in_print AND query_book.pages = 300" in sql


def test_list_params_page() -> None:
    def page(**query: Any) -> tuple[int | None, int | None]:
        return list_params_page(BookListParams.model_validate(query))

    assert page() == (None, None)
    assert page(page="3") == (3, 50)
    assert page(page_size="7") == (1, 7)
    assert page(page="2", page_size="7") == (2, 7)


class Widget(BaseModel):
    name: Optional[str] = None


def test_params_not_made_by_restly_are_refused() -> None:
    message = (
        "Widget was not made by create_list_params_schema(); build list parameters with "
        "restly.query.create_list_params_schema(schema, model=...)."
    )
    with pytest.raises(TypeError, match=r"^Widget was not made") as caught:
        apply_list_params(Widget(), sa.select(Book), Book)
    assert str(caught.value) == message


class LooseSchema(fr.IDSchema):
    title: str
    shelf: str  # not a Book attribute


def test_schema_fields_the_model_lacks_are_not_offered() -> None:
    params = create_list_params_schema(LooseSchema, model=Book)
    assert "shelf" not in {field.alias for field in params.model_fields.values()}
    with pytest.raises(ValidationError):
        params.model_validate({"shelf": "x"})


def test_without_model_the_plan_binds_on_first_use() -> None:
    params = create_list_params_schema(BookSchema)
    by_ann = params.model_validate({"author.name": "Ann"})
    sql = compile_sql(apply_list_params(by_ann, sa.select(Book), Book))
    assert "EXISTS (SELECT 1" in sql
    loose = create_list_params_schema(LooseSchema)
    with pytest.raises(RestlyConfigurationError) as caught:
        apply_list_params(loose(), sa.select(Book), Book)
    assert str(caught.value) == (
        "Book has no attribute or relationship for ['shelf'] of LooseSchema; give the schema "
        "fields the model's attribute names, or pass model= to create_list_params_schema."
    )


class PagedSchema(BaseModel):
    id: int
    page: int  # a field named like a reserved key


def test_a_field_named_like_a_reserved_key_keeps_its_operators() -> None:
    params = create_list_params_schema(PagedSchema)
    aliases = {field.alias for field in params.model_fields.values()}
    assert {"page__gte", "page__ne"} <= aliases
    # The bare key stays the page number.
    assert list_params_page(params.model_validate({"page": "2", "page__gte": "5"})) == (2, 1000)


def test_exports() -> None:
    def isort_order(name: str) -> tuple[int, str]:  # CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert restly.query.__all__ == sorted(restly.query.__all__, key=isort_order)
    for name in restly.query.__all__:
        assert getattr(restly.query, name) is not None
    assert list_params_extras(BookListParams()) == {}
