"""``list_params_openapi`` and the deferred params class: cheap to create, same documents.

A class from ``create_list_params_schema`` is documented from its plan with per-type
schemas; these tests hold that document to what pydantic itself writes for the class,
written compactly (no ``null``, no title or description repeated in the schema).

No ``from __future__ import annotations``: FastAPI must see a route's real annotation.
"""

import datetime as dt
import decimal
import json
import uuid
from typing import Annotated, Any, Literal, Optional

import fastapi
import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic.errors import PydanticSchemaGenerationError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.query import create_list_params_schema, list_params_openapi
from restly.query._openapi import compact_schema

from query_bookshop import Book, BookListParams, BookSchema, TagSchema, make_client


class Base(DeclarativeBase):
    pass


class Gadget(Base):
    """Column types whose filters each have their own value type."""

    __tablename__ = "openapi_gadget"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    small: Mapped[Optional[int]] = mapped_column(sa.SmallInteger)
    name: Mapped[str] = mapped_column(sa.String(30))
    size: Mapped[str] = mapped_column(sa.Enum("s", "m", "l", name="openapi_size"))
    price: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(8, 2))
    weight: Mapped[Optional[float]]
    code: Mapped[uuid.UUID]
    made_on: Mapped[Optional[dt.date]]
    opens_at: Mapped[Optional[dt.time]]
    seen_at: Mapped[dt.datetime]


class AscendingSchema(BaseModel):
    id: int
    grade: Literal["a", "b"]


class DescendingSchema(BaseModel):
    id: int
    grade: Literal["b", "a"]


class UnsortableSchema(BaseModel):
    tags: list[TagSchema] = []  # every key crosses a to-many relation: no sort keys


def pydantic_parameters(params_class: type[BaseModel]) -> list[dict[str, Any]]:
    """The parameters as pydantic's JSON schema of the whole class has them, compacted."""
    schema = params_class.model_json_schema(by_alias=True)
    definitions = schema.get("$defs", {})

    def inline(value: Any) -> Any:
        if isinstance(value, dict):
            if "$ref" in value:
                return inline(definitions[value["$ref"].rsplit("/", 1)[1]])
            return {key: inline(item) for key, item in value.items()}
        if isinstance(value, list):
            return [inline(item) for item in value]
        return value

    parameters = []
    for key, property_schema in schema["properties"].items():
        property_schema = inline(property_schema)
        if property_schema.get("default", ...) is None:
            del property_schema["default"]
        parameter = {
            "name": key,
            "in": "query",
            "required": key in schema.get("required", ()),
            "schema": compact_schema(property_schema),
        }
        if "description" in property_schema:
            parameter["description"] = property_schema["description"]
        parameters.append(parameter)
    return parameters


PARAMS_CLASSES = {
    "bookshop": lambda: BookListParams,
    "page sizes": lambda: create_list_params_schema(
        BookSchema, model=Book, default_page_size=20, max_page_size=70
    ),
    "column types": lambda: create_list_params_schema(
        fr.create_schema_from_model(Gadget), model=Gadget
    ),
    "literal a, b": lambda: create_list_params_schema(AscendingSchema),
    "literal b, a": lambda: create_list_params_schema(DescendingSchema),
    "no sort keys": lambda: create_list_params_schema(UnsortableSchema),
    "extras": lambda: create_list_params_schema(
        BookSchema, model=Book, extra_query_params={"q": str, "strict": (bool, False)}
    ),
}


@pytest.mark.parametrize("make", PARAMS_CLASSES.values(), ids=PARAMS_CLASSES.keys())
def test_parameters_are_what_pydantic_writes_for_the_class(make: Any) -> None:
    params_class = make()
    actual = list_params_openapi(params_class)["parameters"]
    # Order matters too: keys as pydantic sorts them, parameters in field order.
    assert json.dumps(actual) == json.dumps(pydantic_parameters(params_class))


def test_equal_literals_in_another_order_keep_their_own_order() -> None:
    ascending = create_list_params_schema(AscendingSchema)
    descending = create_list_params_schema(DescendingSchema)
    first = {p["name"]: p for p in list_params_openapi(ascending)["parameters"]}
    second = {p["name"]: p for p in list_params_openapi(descending)["parameters"]}
    assert first["grade"]["schema"]["items"]["enum"] == ["a", "b"]
    assert second["grade"]["schema"]["items"]["enum"] == ["b", "a"]
    with pytest.raises(Exception, match="'b' or 'a'"):
        descending.model_validate({"grade": "c"})


def test_each_call_returns_new_parameter_dictionaries() -> None:
    first = list_params_openapi(BookListParams)
    first["parameters"][0]["description"] = "changed"
    first["parameters"].pop()
    second = list_params_openapi(BookListParams)
    assert second == {"parameters": pydantic_parameters(BookListParams)}


def test_a_subclass_is_documented_with_its_own_fields() -> None:
    class WithFlag(BookListParams):  # type: ignore[misc, valid-type]
        flag: bool = False

    names = [p["name"] for p in list_params_openapi(WithFlag)["parameters"]]
    assert names[-1] == "flag"
    assert list_params_openapi(WithFlag)["parameters"] == pydantic_parameters(WithFlag)


def test_compact_schemas_drop_only_null_title_and_description() -> None:
    optional_int = {
        "anyOf": [{"minimum": 1, "type": "integer"}, {"type": "null"}],
        "default": 3,
        "description": "How many.",
        "title": "Count",
    }
    assert compact_schema(optional_int) == {"default": 3, "minimum": 1, "type": "integer"}
    either = {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}], "title": "X"}
    assert compact_schema(either) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    plain = {"type": "string", "format": "uuid"}
    assert list(compact_schema(plain).items()) == [("format", "uuid"), ("type", "string")]


def test_validator_is_built_on_first_use() -> None:
    params_class = create_list_params_schema(BookSchema, model=Book)
    assert not params_class.__pydantic_complete__
    assert "defer_build" not in params_class.model_config  # FastAPI builds its own at once
    assert params_class.model_validate({"pages__gte": "3"}).model_dump(exclude_unset=True) == {
        "pages__gte": 3
    }
    assert params_class.__pydantic_complete__


@pytest.mark.anyio
async def test_a_fresh_class_works_as_a_fastapi_query_model() -> None:
    params_class = create_list_params_schema(BookSchema, model=Book)
    Params = Annotated[params_class, fastapi.Query()]  # type: ignore[valid-type]
    app = fastapi.FastAPI()

    @app.get("/books")
    async def list_books(params: Params) -> Any:
        return params.model_dump(exclude_unset=True)

    async with make_client(app) as client:
        good = await client.get("/books?pages__gte=3")
        bad = await client.get("/books?pages__gte=x")
    assert good.json() == {"pages__gte": 3}
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "pages__gte"]


class OwnDate(dt.date):
    pass


def test_a_value_type_pydantic_cannot_validate_fails_at_creation() -> None:
    class Odd(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        day: OwnDate

    with pytest.raises(PydanticSchemaGenerationError):
        create_list_params_schema(Odd)


def test_an_extra_annotation_pydantic_cannot_validate_fails_at_creation() -> None:
    with pytest.raises(PydanticSchemaGenerationError):
        create_list_params_schema(BookSchema, model=Book, extra_query_params={"day": OwnDate})
