"""Flat resources answer from rows serialised straight to JSON (restly.resource._rows).

The answer must be exactly what validating each row into the response schema gives: the
same JSON for plain schemas, and the validating path itself wherever validation could change
a value (validators, string folding, computed fields, field serializers, mismatched types).
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import pytest
from fastapi import FastAPI
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_serializer,
)
from pydantic.alias_generators import to_camel
from sqlalchemy import Enum, Numeric, String, Text, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import restly as fr
from restly.resource._rows import RowSerializer

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Item(Base):
    __tablename__ = "rs_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[float]
    price: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    colour: Mapped[Colour] = mapped_column(Enum(Colour))
    active: Mapped[bool]
    made_on: Mapped[date]
    seen_at: Mapped[datetime]


ROWS = [
    {"id": 1, "name": "Ånne “one”", "note": None, "weight": 1.0, "price": Decimal("3.50"),
     "colour": Colour.RED, "active": True, "made_on": date(2020, 1, 2),
     "seen_at": datetime(2021, 3, 4, 5, 6, 7, 890000)},
    {"id": 2, "name": "  Two  ", "note": "x\ny", "weight": 2.5, "price": Decimal("0.01"),
     "colour": Colour.BLUE, "active": False, "made_on": date(1999, 12, 31),
     "seen_at": datetime(2000, 1, 1)},
]  # fmt: skip


@pytest.fixture(params=["async", "sync"])
def view_base(request: pytest.FixtureRequest) -> type:
    return fr.AsyncRestView if request.param == "async" else fr.RestView


@pytest.fixture
async def seeded(database: Any, fr_globals: fr.FRGlobals) -> Any:
    with fr_globals.get_engine().begin() as connection:
        connection.execute(insert(Item), ROWS)
    return database


def serve(view_base: type, **options: Any) -> tuple[FastAPI, type]:
    app = FastAPI()
    view = type("ItemView", (view_base,), {"prefix": "/items", "model": Item, **options})
    fr.include_view(app, view)
    return app, view


def validated(schema: type[BaseModel], fr_globals: fr.FRGlobals) -> list[Any]:
    """What the validating path answers for the stored rows (as the database keeps them:
    MariaDB drops the microseconds): the reference for the answers here."""
    with Session(fr_globals.get_engine()) as session:
        items = session.scalars(select(Item).order_by(Item.id)).all()
        return [json.loads(schema.model_validate(item).model_dump_json(by_alias=True)) for item in items]


async def test_generated_schema_answers_as_validation_would(
    view_base: type, seeded: Any, client_for: Any, fr_globals: fr.FRGlobals
) -> None:
    app, view = serve(view_base, include_pagination_metadata=True)
    assert view.__restly_compiled__.row_serializer is not None  # the fast path is taken for this schema
    client = client_for(app)
    expected = validated(view.response_schema, fr_globals)
    assert expected[0]["price"] == "3.50" and expected[1]["colour"] == "blue"
    listing = (await client.get("/items", params={"order_by": "id"})).json()
    assert listing["items"] == expected and listing["total"] == 2
    assert (await client.get("/items/2")).json() == expected[1]


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    id: int
    name: str
    made_on: date
    seen_at: datetime = Field(exclude=True)


async def test_aliases_and_exclusions_are_kept(view_base: type, seeded: Any, client_for: Any) -> None:
    app, view = serve(view_base, schema=Camel)
    assert view.__restly_compiled__.row_serializer is not None
    body = (await client_for(app).get("/items/1")).json()
    assert body == {"id": 1, "name": "Ånne “one”", "madeOn": "2020-01-02"}


def shout(value: str) -> str:
    return value.upper()


class Shouting(BaseModel):
    id: int
    name: Annotated[str, AfterValidator(shout)]


class Stripped(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    id: int
    name: str


class Computed(BaseModel):
    id: int
    name: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        return f"#{self.id} {self.name}"


class MethodSerializer(BaseModel):
    id: int
    name: str

    @field_serializer("name")
    def tagged(self, name: str) -> str:
        return f"{self.id}:{name}"


class DecimalWeight(BaseModel):
    """``weight`` is a float column: validation turns its floats into Decimals."""

    id: int
    weight: Decimal


@pytest.mark.parametrize(
    ("schema", "expected_second"),
    [
        (Shouting, {"id": 2, "name": "  TWO  "}),
        (Stripped, {"id": 2, "name": "Two"}),
        (Computed, {"id": 2, "name": "  Two  ", "label": "#2   Two  "}),
        (MethodSerializer, {"id": 2, "name": "2:  Two  "}),
        (DecimalWeight, {"id": 2, "weight": "2.5"}),
    ],
    ids=["validator", "strip-config", "computed-field", "field-serializer", "type-mismatch"],
)
async def test_schemas_whose_answer_validation_changes_are_validated(
    view_base: type, seeded: Any, client_for: Any, schema: type[BaseModel], expected_second: Any
) -> None:
    app, view = serve(view_base, schema=schema)
    # validated throughout, or (a mismatch) per value
    assert (view.__restly_compiled__.row_serializer is None) == (schema is not DecimalWeight)
    client = client_for(app)
    assert (await client.get("/items/2")).json() == expected_second
    listing = (await client.get("/items", params={"order_by": "id"})).json()
    assert listing[1] == expected_second


def test_serializer_is_only_built_where_validation_cannot_change_the_answer() -> None:
    plain = fr.create_schema_from_model(Item)
    assert RowSerializer.for_schema(plain, tuple(plain.model_fields)) is not None
    for schema in (Shouting, Stripped, Computed, MethodSerializer):
        assert RowSerializer.for_schema(schema, tuple(schema.model_fields)) is None
    # DecimalWeight gets one: its mismatch is found per value, and then validated.
    assert RowSerializer.for_schema(DecimalWeight, ("id", "weight")) is not None
    assert RowSerializer.for_schema(plain, ("id",)) is None  # not the schema's fields
