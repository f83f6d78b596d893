"""Storage limits of columns in the input schemas derived from a schema written by hand.

Over HTTP with sync and async REST and react-admin views on SQLite, PostgreSQL and MariaDB
(where SQLite would store the value and the servers would refuse it), and at the schema
level: which limits are added, and that the stricter limit wins::

    name: Mapped[str] = mapped_column(String(100))    # the column
    name: str                                         # the view's schema
    # -> WriterCreate.name: max_length=100
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Optional

import annotated_types as at
import httpx
import pytest
from pydantic import BaseModel, Field, StringConstraints, conint
from sqlalchemy import REAL, BigInteger, Double, Float, Numeric, SmallInteger, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import restly as fr
from ..relations_support import Database, client_for, rest_view, seed, tables
from restly.schemas import creation_schema_for, update_schema_for


class Base(DeclarativeBase):
    pass


class Kind(str, enum.Enum):
    poet = "poet"
    novelist = "novelist"


class Writer(Base):
    __tablename__ = "limits_writer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[Optional[str]] = mapped_column(String(10))
    kind: Mapped[Optional[str]] = mapped_column(String(8))
    rating: Mapped[int] = mapped_column(SmallInteger, default=0)
    balance: Mapped[Optional[Decimal]] = mapped_column(Numeric(6, 2))
    followers: Mapped[Optional[int]] = mapped_column(BigInteger)
    bio: Mapped[Optional[str]] = mapped_column(Text)
    ratio: Mapped[Optional[float]] = mapped_column(Float)  # FLOAT: 4 bytes on MariaDB
    reach: Mapped[Optional[float]] = mapped_column(Double)  # 8 bytes everywhere


class WriterSchema(fr.IDSchema):
    name: str
    code: Optional[str] = Field(None, max_length=5)  # stricter than String(10): kept
    kind: Optional[Kind] = None  # typed as an enum: no max_length added
    rating: int = Field(0, ge=0)  # the user's lower bound, SMALLINT's upper one
    balance: Optional[Decimal] = None
    followers: Optional[int] = None
    bio: Optional[str] = None
    ratio: Optional[float] = None
    reach: Optional[float] = None


VIEW_BASES = {
    "rest-sync": fr.RestView,
    "rest-async": fr.AsyncRestView,
    "react-admin-sync": fr.ReactAdminView,
    "react-admin-async": fr.AsyncReactAdminView,
}


@dataclass
class Api:
    http: httpx.AsyncClient
    db: Database

    def names(self) -> list[str]:
        with Session(self.db.engine) as session:
            return list(session.scalars(select(Writer.name).order_by(Writer.id)))


@pytest.fixture(params=list(VIEW_BASES))
def view_base(request: pytest.FixtureRequest) -> type[Any]:
    return VIEW_BASES[request.param]


@pytest.fixture
async def api(db_urls: Any, view_base: type[Any]) -> AsyncIterator[Api]:
    """Writer 1 ("Ann") and the view /writers."""
    g = fr.FRGlobals()
    async with tables(db_urls, Base.metadata) as db:
        seed(db, [Writer(id=1, name="Ann")])
        view = rest_view(view_base, Writer, WriterSchema, "/writers", globals=g)
        async with client_for(db, g, view) as http:
            yield Api(http, db)


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    return error  # type: ignore[no-any-return]


# -- over HTTP -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_string_longer_than_its_column_is_422(api: Api) -> None:
    error = error_of(await api.http.post("/writers", json={"name": "x" * 5000}))
    assert (error["loc"], error["type"]) == (["body", "name"], "string_too_long")
    assert error["ctx"] == {"max_length": 100}
    fits = await api.http.post("/writers", json={"name": "x" * 100})
    assert fits.status_code == 201, fits.text
    assert api.names() == ["Ann", "x" * 100]


@pytest.mark.anyio
async def test_an_update_longer_than_its_column_is_422(api: Api, view_base: type[Any]) -> None:
    error = error_of(await api.http.patch("/writers/1", json={"name": "y" * 101}))
    assert error["type"] == "string_too_long"
    if issubclass(view_base, (fr.ReactAdminView, fr.AsyncReactAdminView)):
        put = await api.http.put("/writers/1", json={"id": 1, "name": "y" * 101})
        assert error_of(put)["type"] == "string_too_long"
    assert api.names() == ["Ann"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"code": "abcdef"}, "code", "string_too_long"),  # the user's max_length=5
        ({"rating": 40_000}, "rating", "less_than_equal"),  # SMALLINT
        ({"rating": -1}, "rating", "greater_than_equal"),  # the user's ge=0
        ({"balance": "10000"}, "balance", "less_than"),  # NUMERIC(6, 2) stores < 10^4
        ({"balance": "NaN"}, "balance", "finite_number"),
        ({"followers": 2**63}, "followers", "less_than_equal"),  # BIGINT
        ({"ratio": 5.1e289}, "ratio", "less_than_equal"),  # single-precision FLOAT
        ({"ratio": -3.5e38}, "ratio", "greater_than_equal"),
        ({"reach": "Infinity"}, "reach", "finite_number"),
    ],
)
async def test_values_no_column_can_hold_are_422(
    api: Api, body: dict[str, Any], loc: str, kind: str
) -> None:
    error = error_of(await api.http.post("/writers", json={"name": "N", **body}))
    assert (error["loc"], error["type"]) == (["body", loc], kind)
    assert api.names() == ["Ann"]


@pytest.mark.anyio
async def test_values_at_the_limits_are_stored(api: Api) -> None:
    body = {
        "name": "n" * 100,
        "code": "abcde",
        "rating": 2**15 - 1,
        "balance": "9999.99",
        "followers": 2**63 - 1,
        "bio": "b" * 5000,  # Text: no limit
        "ratio": 3.4e38,
        "reach": 1.5e300,
    }
    response = await api.http.post("/writers", json=body)
    assert response.status_code == 201, response.text
    answered = response.json()
    assert (answered["rating"], answered["followers"], Decimal(str(answered["balance"]))) == (
        2**15 - 1,
        2**63 - 1,
        Decimal("9999.99"),
    )
    assert answered["ratio"] == pytest.approx(3.4e38, rel=1e-6)  # rounded to 4 bytes
    assert answered["reach"] == 1.5e300


@pytest.mark.anyio
async def test_openapi_shows_the_limits_on_input_schemas_only(api: Api) -> None:
    components = (await api.http.get("/openapi.json")).json()["components"]["schemas"]
    for name in ("WriterCreate", "WriterUpdate"):
        properties = components[name]["properties"]
        assert _strings(properties["name"])["maxLength"] == 100, name
        assert _strings(properties["code"])["maxLength"] == 5, name
        integer = _integers(properties["rating"])
        assert (integer["minimum"], integer["maximum"]) == (0, 2**15 - 1), name
        # JSON numbers this large reach the document as floats: compare as one
        assert _integers(properties["followers"])["maximum"] == float(2**63 - 1), name
        assert "maxLength" not in str(properties["kind"]), name
        assert "maxLength" not in str(properties["bio"]), name
    response = components["WriterSchema"]["properties"]
    assert "maxLength" not in response["name"]
    assert "maximum" not in str(response["rating"])


def _strings(schema: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in schema.get("anyOf", [schema]) if s.get("type") == "string")


def _integers(schema: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in schema.get("anyOf", [schema]) if s.get("type") == "integer")


# -- which limits, and the stricter one --------------------------------------------------


def limit_of(annotation: Any, default: Any = ..., **field: Any) -> dict[str, Any]:
    """The JSON schema of ``name`` in the creation schema derived for Writer."""
    schema = type(
        "OneField",
        (BaseModel,),
        {"__annotations__": {"name": annotation}, "name": Field(default, **field)},
    )
    derived = creation_schema_for(schema, model=Writer)
    return derived.model_json_schema()["properties"]["name"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("annotation", "field", "max_length"),
    [
        (str, {}, 100),
        (str, {"max_length": 5000}, 100),  # looser: the column's wins
        (str, {"max_length": 20}, 20),  # stricter: the user's wins
        (Annotated[str, StringConstraints(max_length=5000)], {}, 100),
        (Annotated[str, StringConstraints(max_length=7)], {}, 7),
        (Optional[Annotated[str, at.MaxLen(5000)]], {}, 100),
        (Optional[Annotated[str, at.MaxLen(3)]], {}, 3),
        (Annotated[Optional[str], Field(max_length=500)], {}, 100),
    ],
)
def test_the_stricter_max_length_wins(
    annotation: Any, field: dict[str, Any], max_length: int
) -> None:
    assert _strings(limit_of(annotation, **field))["maxLength"] == max_length


def test_the_stricter_bound_wins_on_each_side() -> None:
    class Rated(BaseModel):
        rating: conint(ge=-(10**12), le=3)  # type: ignore[valid-type]
        followers: int = Field(gt=0)

    derived = creation_schema_for(Rated, model=Writer)
    properties = derived.model_json_schema()["properties"]
    assert (properties["rating"]["minimum"], properties["rating"]["maximum"]) == (-(2**15), 3)
    assert properties["followers"]["exclusiveMinimum"] == 0
    assert "minimum" not in properties["followers"]  # gt=0 is stricter than BIGINT's bound
    assert properties["followers"]["maximum"] == 2**63 - 1
    with pytest.raises(ValueError):
        derived(rating=-(2**15) - 1, followers=1)
    with pytest.raises(ValueError):
        derived(rating=4, followers=1)
    assert derived(rating=3, followers=1).rating == 3


def test_fields_typed_otherwise_get_no_limit() -> None:
    class Other(BaseModel):
        name: int  # an int over a String column
        code: Kind  # a str enum over a String column
        rating: float  # a float over an integer column
        balance: Optional[str] = None  # a string over a Numeric column
        bio: str = ""  # Text: nothing to carry

    derived = creation_schema_for(Other, model=Writer)
    assert derived.model_json_schema() == creation_schema_for(Other).model_json_schema()
    assert derived is creation_schema_for(Other, model=Writer)  # derived once


def test_a_schema_whose_fields_already_fit_is_reused() -> None:
    class Fitting(BaseModel):
        model_config = {"extra": "ignore"}
        name: str = Field(max_length=10)

    assert creation_schema_for(Fitting, model=Writer) is Fitting
    update = update_schema_for(Fitting, model=Writer).model_json_schema()["properties"]["name"]
    assert _strings(update)["maxLength"] == 10


def test_the_source_schema_is_left_as_written() -> None:
    class Source(BaseModel):
        name: str = Field(max_length=5000)

    creation_schema_for(Source, model=Writer)
    assert Source.model_json_schema()["properties"]["name"]["maxLength"] == 5000
    assert Source(name="x" * 200).name == "x" * 200


def test_without_a_model_nothing_is_added() -> None:
    class Plain(BaseModel):
        name: str

    assert "maxLength" not in creation_schema_for(Plain).model_json_schema()["properties"]["name"]


@pytest.mark.parametrize(
    ("column_type", "bounded"),
    [
        (Float(), True),
        (Float(precision=24), True),
        (REAL(), True),
        (Float(precision=53), False),
        (Double(), False),
    ],
)
def test_floats_some_backend_stores_in_four_bytes_are_bounded(
    column_type: Any, bounded: bool
) -> None:
    class Base2(DeclarativeBase):
        pass

    class Measure(Base2):
        __tablename__ = "limits_measure"
        id: Mapped[int] = mapped_column(primary_key=True)
        value: Mapped[float] = mapped_column(column_type)

    class MeasureSchema(fr.IDSchema):
        value: float

    properties = creation_schema_for(MeasureSchema, model=Measure).model_json_schema()["properties"]
    limits = {key: properties["value"].get(key) for key in ("minimum", "maximum")}
    expected = 3.4028234663852886e38 if bounded else None
    assert limits == {"minimum": -expected if expected else None, "maximum": expected}
