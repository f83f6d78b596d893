"""Flat resources answer from rows serialised straight to JSON (restly.resource._rows).

The answer must be exactly what validating each row into the response schema gives: the
same JSON for plain schemas, and the validating path itself wherever validation could change
a value (validators, string folding, computed fields, field serializers, mismatched types).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    computed_field,
    create_model,
    field_serializer,
)
from pydantic.alias_generators import to_camel
from sqlalchemy import BigInteger, Enum, Numeric, String, Text, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import restly as fr
from restly.resource._rows import RowSerializer, RowTypeMismatch

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


# -- the msgspec route: the same bytes as pydantic-core, or pydantic-core answers ------------


class Shade(enum.Enum):
    LIGHT = "light"
    QUOTED = 'say "hi"\n'


class Level(enum.Enum):
    LOW = 1
    HIGH = -(2**40)


class Tone(str, enum.Enum):
    SOFT = "soft"


class Rank(enum.IntEnum):
    FIRST = 1


ZONES = [None, timezone.utc, timezone(timedelta(hours=5, minutes=30)),
         timezone(timedelta(hours=-8)), timezone(timedelta(seconds=3725)),
         ZoneInfo("Europe/Paris")]  # fmt: skip
# Values per field type that msgspec writes (the route is taken and must give the same bytes).
WRITTEN_BY_MSGSPEC: list[tuple[Any, list[Any]]] = [
    (int, [0, -1, 2**63 - 1, -(2**63), 2**64, -(2**63) - 1, 2**100]),
    (float, [0.0, -0.0, 1.0, 0.1, 2.5, 1 / 3, 1e15, 9999999999999998.0, 1e-5, 1e-7, 5e-324,
             -1e15]),
    (bool, [True, False]),
    (str, ["", "Ånne “one”", 'q"\\/', "".join(map(chr, range(0x30))), "\x7f\x80\u2028\u2029\ufeff",
           "😀", "</script>&'"]),
    (datetime, [datetime(2021, 3, 4, 5, 6, 7, us, tzinfo=zone) for zone in ZONES
                for us in (0, 1, 890000, 123456)]
               + [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)]),
    (date, [date(1, 1, 1), date(2020, 2, 29), date(9999, 12, 31)]),
    (time, [time(0), time(23, 59, 59, 999999), time(1, 2, 3, 4000),
            time(1, 2, 3, tzinfo=timezone.utc),
            time(1, 2, 3, 5, tzinfo=timezone(timedelta(seconds=-3725)))]),
    (Decimal, [Decimal(text) for text in ("3.50", "0.01", "0", "-0", "-0.00", "1E+2", "1e-10",
               "123456789012345678901234567890.123", "0E-7")]),
    (UUID, [UUID(int=0), UUID("12345678-1234-5678-1234-567812345678")]),
    (Shade, list(Shade)),
    (Level, list(Level)),
    (Tone, list(Tone)),
    (int | None, [None, 3]),
    (Annotated[str, Field(max_length=3)], ["abc"]),
]  # fmt: skip
# Values that msgspec would write otherwise, or not at all: pydantic-core answers them.
WRITTEN_BY_PYDANTIC: list[tuple[Any, list[Any]]] = [
    (float, [1e16, -1e16, 1e22, 1.7976931348623157e308, math.inf, -math.inf, math.nan]),
    (int, [True, Rank.FIRST]),  # another type than int; validation answers 1 too
    (float, [3]),  # an int in a float field: 3.0, as validation
    (str, [Tone.SOFT]),
    (float | None, [1e20]),
]


def one_field(annotation: Any, **config: Any) -> type[BaseModel]:
    settings: Any = config
    schema: type[BaseModel] = create_model(
        "One", __config__=settings, x=(annotation, ...)
    )
    return schema


def reference(schema: type[BaseModel], value: Any) -> bytes:
    """What validating the value into the schema answers: the bytes every route must give."""
    return schema.model_validate({"x": value}).model_dump_json(by_alias=True).encode()


def dumps(rows: RowSerializer, value: Any) -> tuple[bytes, bytes]:
    """The row's JSON from ``dump_one`` and (the item of a page of two) ``dump_many``."""
    many = rows.dump_many([(value,), (value,)])
    one = rows.dump_one((value,))
    assert many == b"[" + one + b"," + one + b"]"
    return one, many


@pytest.mark.parametrize(
    ("annotation", "value"),
    [(annotation, value) for annotation, values in WRITTEN_BY_MSGSPEC for value in values],
)
def test_msgspec_writes_the_bytes_pydantic_writes(annotation: Any, value: Any) -> None:
    schema = one_field(annotation)
    rows = RowSerializer.for_schema(schema, ("x",))
    assert rows is not None and rows.structs is not None
    assert rows.structs.dump_one((value,)) is not None  # the msgspec route answers this value
    assert rows.structs.dump_many([(value,), (value,)]) is not None
    pydantic_only = dataclasses.replace(rows, structs=None)
    assert dumps(rows, value) == dumps(pydantic_only, value)
    assert dumps(rows, value)[0] == reference(schema, value)


@pytest.mark.parametrize(
    ("annotation", "value"),
    [(annotation, value) for annotation, values in WRITTEN_BY_PYDANTIC for value in values],
)
def test_values_msgspec_would_write_otherwise_go_to_pydantic(annotation: Any, value: Any) -> None:
    schema = one_field(annotation)
    rows = RowSerializer.for_schema(schema, ("x",))
    assert rows is not None and rows.structs is not None
    assert rows.structs.dump_one((value,)) is None
    assert rows.structs.dump_many([(value,), (value,)]) is None
    assert dumps(rows, value)[0] == reference(schema, value)


@pytest.mark.parametrize("text", ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity"])
def test_non_finite_decimals_are_written_as_pydantic_writes_them(text: str) -> None:
    """PostgreSQL's numeric holds them; validation would refuse them (not finite), and the
    rows are written as pydantic-core writes them, as before msgspec."""
    rows = RowSerializer.for_schema(one_field(Decimal), ("x",))
    assert rows is not None and rows.structs is not None
    assert rows.structs.dump_one((Decimal(text),)) is not None
    pydantic_only = dataclasses.replace(rows, structs=None)
    assert dumps(rows, Decimal(text)) == dumps(pydantic_only, Decimal(text))
    assert dumps(rows, Decimal(text))[0] == b'{"x":"%s"}' % text.encode()


def test_a_lone_surrogate_is_still_a_mismatch() -> None:
    rows = RowSerializer.for_schema(one_field(str), ("x",))
    assert rows is not None and rows.structs is not None
    with pytest.raises(RowTypeMismatch):
        rows.dump_one(("\ud800",))
    with pytest.raises(RowTypeMismatch):
        rows.dump_many([("a",), ("\ud800",)])


class Pair(BaseModel):
    id: int
    weight: float
    name: str


def pair_rows(count: int) -> list[tuple[Any, ...]]:
    """Rows of ``Pair`` with a trailing value (as a keyset page's rows carry sort keys)."""
    return [(index, index / 4, f"row {index}", f"key {index}") for index in range(count)]


@pytest.mark.parametrize("count", [0, 1, 127, 128, 129, 300])
@pytest.mark.parametrize("limit", [None, 128, 200])
def test_a_collected_page_is_written_as_its_rows_are(count: int, limit: int | None) -> None:
    """``collect`` reads rows a chunk at a time into structs: the page keeps ``limit`` rows,
    tells whether more came, keeps its boundary rows whole (trailing values included) and
    is written byte for byte as its rows would be."""
    rows = RowSerializer.for_schema(Pair, ("id", "weight", "name"))
    assert rows is not None and rows.collects
    source = pair_rows(count)
    kept = source if limit is None else source[:limit]
    page = rows.collect(iter(source), limit)
    assert len(page) == len(kept) and page.more == (len(kept) < count) and page.exact
    assert (page.first, page.last) == ((kept[0], kept[-1]) if kept else (None, None))
    pydantic_only = dataclasses.replace(rows, structs=None)
    assert rows.dump_page(page) == rows.dump_many(kept) == pydantic_only.dump_many(kept)
    page.reverse()
    assert rows.dump_page(page) == pydantic_only.dump_many(kept[::-1])
    assert (page.first, page.last) == ((kept[-1], kept[0]) if kept else (None, None))


@pytest.mark.parametrize("weight", [1e16, -math.inf, math.nan])
def test_a_float_past_the_first_chunk_that_msgspec_writes_otherwise_goes_to_pydantic(
    weight: float,
) -> None:
    rows = RowSerializer.for_schema(Pair, ("id", "weight", "name"))
    assert rows is not None
    source = pair_rows(300)
    source[250] = (250, weight, "row 250", "key 250")
    page = rows.collect(source, None)
    assert page.exact is math.isnan(weight)  # NaN: written null by both, either route
    assert rows.dump_page(page) == dataclasses.replace(rows, structs=None).dump_many(source)


@pytest.mark.parametrize(("weight", "name"), [("1.5", "row 250"), (62.5, "\ud800")])
def test_a_value_past_the_first_chunk_that_pydantic_refuses_is_a_mismatch(
    weight: Any, name: str
) -> None:
    """A ``str`` in a float column, or a lone surrogate, 250 rows in: ``RowTypeMismatch``
    for the whole page, as for a page written at once (the view then validates it)."""
    rows = RowSerializer.for_schema(Pair, ("id", "weight", "name"))
    assert rows is not None
    source = pair_rows(300)
    source[250] = (250, weight, name, "key 250")
    with pytest.raises(RowTypeMismatch):
        rows.dump_many(source)
    with pytest.raises(RowTypeMismatch):
        rows.dump_page(rows.collect(source, None))


def plain_serialised(value: int) -> str:
    return f"n{value}"


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        (one_field(bytes), b"abc"),
        (one_field(timedelta), timedelta(days=1, microseconds=5)),
        (one_field(timedelta), timedelta(0)),
        (one_field(Literal["a", "b"]), "a"),
        (one_field(Any), 1e20),
        (one_field(Annotated[int, PlainSerializer(plain_serialised)]), 3),
        (one_field(float, ser_json_inf_nan="constants"), math.inf),
        (one_field(date, ser_json_temporal="seconds"), date(2020, 1, 2)),
        (create_model("Quoted", x=(int, Field(serialization_alias='the "x"'))), 1),
        (create_model("Hidden", x=(int, Field(exclude=True)), y=(int, 2)), 1),
    ],
    ids=["bytes", "timedelta", "timedelta-zero", "literal", "any", "plain-serializer",
         "inf-nan-constants", "temporal-seconds", "quoted-alias", "exclusion"],
)  # fmt: skip
def test_schemas_msgspec_would_write_otherwise_keep_pydantic(
    schema: type[BaseModel], value: Any
) -> None:
    names = tuple(schema.model_fields)
    rows = RowSerializer.for_schema(schema, names)
    assert rows is not None and rows.structs is None
    row = (value, 2)[: len(names)]
    expected = schema.model_validate(dict(zip(names, row))).model_dump_json(by_alias=True)
    assert rows.dump_one(row) == expected.encode()


def test_aliases_are_written_by_msgspec() -> None:
    rows = RowSerializer.for_schema(Camel, tuple(Camel.model_fields))
    assert rows is not None and rows.structs is None  # seen_at is excluded: pydantic writes it
    schema = create_model("Aliased", __config__=ConfigDict(alias_generator=to_camel),
                          made_on=(date, ...), seen_at=(datetime, ...))  # fmt: skip
    rows = RowSerializer.for_schema(schema, ("made_on", "seen_at"))
    assert rows is not None and rows.structs is not None
    row = (date(2020, 1, 2), datetime(2021, 3, 4, 5, 6, 7, 8))
    assert rows.dump_one(row) == b'{"madeOn":"2020-01-02","seenAt":"2021-03-04T05:06:07.000008"}'
    one = rows.dump_one(row)
    assert rows.dump_many([row, (*row, "ignored", 7)]) == b"[" + one + b"," + one + b"]"


class Kind(Base):
    """A column of each type the generated schemas serialise from rows."""

    __tablename__ = "rs_kind"
    id: Mapped[int] = mapped_column(primary_key=True)
    big: Mapped[int] = mapped_column(BigInteger)
    ratio: Mapped[float]
    label: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    shade: Mapped[Shade] = mapped_column(Enum(Shade))
    flag: Mapped[bool]
    made_on: Mapped[date]
    at: Mapped[time]
    seen_at: Mapped[datetime]  # naive: aware columns are validated (to UTC)
    ref: Mapped[UUID]


KINDS = [
    {"id": 1, "big": 2**62 + 1, "ratio": 0.1, "label": 'Å “q” "\\/\t\u2028😀', "note": None,
     "amount": Decimal("12345678901234.500000"), "shade": Shade.QUOTED, "flag": True,
     "made_on": date(2020, 2, 29), "at": time(23, 59, 59, 123456),
     "seen_at": datetime(2021, 3, 4, 5, 6, 7, 890000),
     "ref": UUID("12345678-1234-5678-1234-567812345678")},
    # msgspec writes 1e+20 as 1e20: this row's answers come from pydantic-core
    {"id": 2, "big": -1, "ratio": 1e20, "label": "", "note": "x\ny",
     "amount": Decimal("-0.000001"), "shade": Shade.LIGHT, "flag": False,
     "made_on": date(1999, 12, 31), "at": time(0), "seen_at": datetime(2000, 1, 1),
     "ref": UUID(int=0)},
]  # fmt: skip


async def test_every_column_type_answers_the_bytes_validation_gives(
    view_base: type, database: Any, fr_globals: fr.FRGlobals, client_for: Any
) -> None:
    with fr_globals.get_engine().begin() as connection:
        connection.execute(insert(Kind), KINDS)
    app = FastAPI()
    view = type("KindView", (view_base,), {"prefix": "/kinds", "model": Kind})
    fr.include_view(app, view)
    rows = view.__restly_compiled__.row_serializer
    assert rows is not None and rows.structs is not None  # msgspec may write this schema
    with Session(fr_globals.get_engine()) as session:
        kinds = session.scalars(select(Kind).order_by(Kind.id)).all()
        validate = view.response_schema.model_validate
        expected = [validate(kind).model_dump_json(by_alias=True).encode() for kind in kinds]
    # The drivers return the exact types msgspec may write (asyncpg its own UUID subclass).
    if view_base is fr.AsyncRestView:
        async with fr_globals.get_async_engine().connect() as connection:
            fetched = (await connection.execute(select(*Kind.__table__.c))).all()
    else:
        with fr_globals.get_engine().connect() as connection:
            fetched = connection.execute(select(*Kind.__table__.c)).all()
    assert rows.structs.dump_many([row for row in fetched if row.id == 1]) is not None
    client = client_for(app)
    for index, body in enumerate(expected, start=1):
        assert (await client.get(f"/kinds/{index}")).content == body
    listing = (await client.get("/kinds", params={"order_by": "id"})).content
    assert listing == b"[" + b",".join(expected) + b"]"


class FloatPages(BaseModel):
    """``id`` declared a float: the ``int`` column's values are answered 2.0, as validated."""

    model_config = ConfigDict(from_attributes=True)
    id: float
    name: str


async def test_values_of_another_type_answer_as_validation(
    view_base: type, seeded: Any, client_for: Any, fr_globals: fr.FRGlobals
) -> None:
    app, view = serve(view_base, schema=FloatPages)
    rows = view.__restly_compiled__.row_serializer
    assert rows is not None and rows.structs is not None  # taken, then refused per value
    expected = validated(FloatPages, fr_globals)
    assert expected[1] == {"id": 2.0, "name": "  Two  "}
    client = client_for(app)
    assert (await client.get("/items/2")).content == b'{"id":2.0,"name":"  Two  "}'
    listing = (await client.get("/items", params={"order_by": "id"})).content
    assert json.loads(listing) == expected and b'"id":1.0' in listing


@pytest.mark.parametrize("db_urls", ["sqlite"], indirect=True)
async def test_sqlite_value_of_another_type_is_validated(
    view_base: type, seeded: Any, client_for: Any, fr_globals: fr.FRGlobals
) -> None:
    """SQLite keeps a BLOB in a VARCHAR column: validated, it is the str answered (msgspec
    would write base64)."""
    with fr_globals.get_engine().begin() as connection:
        connection.execute(text("UPDATE rs_item SET name = :name WHERE id = 2"), {"name": b"blob"})
    app, view = serve(view_base)  # the generated schema: msgspec may write it
    rows = view.__restly_compiled__.row_serializer
    assert rows is not None and rows.structs is not None
    client = client_for(app)
    assert (await client.get("/items/2")).json()["name"] == "blob"
    listing = (await client.get("/items", params={"order_by": "id"})).json()
    assert [item["name"] for item in listing] == ["Ånne “one”", "blob"]


@pytest.mark.parametrize("db_urls", ["sqlite"], indirect=True)
async def test_sqlite_value_of_another_type_past_the_first_chunk_is_validated(
    view_base: type, seeded: Any, client_for: Any, fr_globals: fr.FRGlobals
) -> None:
    """A page read a chunk at a time: a BLOB 250 rows in still has the whole page
    validated, every row answered as validation answers it."""
    more = [{**ROWS[0], "id": index, "name": f"item {index}"} for index in range(3, 301)]
    with fr_globals.get_engine().begin() as connection:
        connection.execute(insert(Item), more)
        connection.execute(text("UPDATE rs_item SET name = :name WHERE id = 250"), {"name": b"blob"})
    app, view = serve(view_base, include_pagination_metadata=True)
    client = client_for(app)
    listing = (await client.get("/items", params={"order_by": "id", "page_size": 300})).json()
    names = [item["name"] for item in listing["items"]]
    assert names[:2] == ["Ånne “one”", "  Two  "] and names[249] == "blob"
    assert names[2:249] + names[250:] == [f"item {index}" for index in range(3, 301) if index != 250]
    assert listing["total"] == 300 and listing["items"][299]["price"] == "3.50"
