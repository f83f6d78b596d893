"""create_schema_from_model: types, constraints, required/optional and read-only rules."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BeforeValidator, TypeAdapter, ValidationError
from sqlalchemy import (
    JSON,
    BigInteger,
    Computed,
    Enum,
    ForeignKey,
    Numeric,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from restly import _introspect
from restly.schemas import creation_schema_for, is_read_only, update_schema_for


class Base(DeclarativeBase):
    pass


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Owner(Base):
    __tablename__ = "gen_owner"
    id: Mapped[int] = mapped_column(primary_key=True)
    pets: Mapped[list[Pet]] = relationship(back_populates="owner")


class Pet(Base):
    __tablename__ = "gen_pet"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(10))
    nickname: Mapped[str | None]
    legs: Mapped[int] = mapped_column(SmallInteger, default=4)
    chip: Mapped[int | None] = mapped_column(BigInteger)
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    colour: Mapped[Colour] = mapped_column(Enum(Colour))
    size: Mapped[str] = mapped_column(Enum("small", "big", name="gen_size"))
    born: Mapped[date | None]
    tags: Mapped[Any] = mapped_column(JSON, default=list)
    token: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime | None]
    name_length: Mapped[int] = mapped_column(Computed("length(name)"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("gen_owner.id"))
    owner: Mapped[Owner | None] = relationship(back_populates="pets")


VALID = {"name": "Rex", "weight": "12.5", "colour": "red", "size": "big"}


def test_columns_become_fields_and_relationships_are_left_out() -> None:
    schema = fr.create_schema_from_model(Pet)
    assert list(schema.model_fields) == [
        "id", "name", "nickname", "legs", "chip", "weight", "colour", "size", "born",
        "tags", "token", "created_at", "updated_at", "name_length", "owner_id",
    ]  # fmt: skip
    assert schema.__name__ == "Pet"
    assert fr.create_schema_from_model(Pet) is schema  # generated once


def test_required_fields_are_exactly_the_ones_without_default_or_null() -> None:
    create = creation_schema_for(fr.create_schema_from_model(Pet))
    required = {name for name, field in create.model_fields.items() if field.is_required()}
    assert required == {"name", "weight", "colour", "size"}


def test_id_timestamps_and_computed_columns_are_read_only() -> None:
    schema = fr.create_schema_from_model(Pet)
    read_only = {name for name, field in schema.model_fields.items() if is_read_only(field)}
    assert read_only == {"id", "created_at", "updated_at", "name_length"}
    assert set(creation_schema_for(schema).model_fields).isdisjoint(read_only)
    assert set(update_schema_for(schema).model_fields).isdisjoint(read_only)


def test_values_are_parsed_by_column_type() -> None:
    create = creation_schema_for(fr.create_schema_from_model(Pet))
    pet = create.model_validate({**VALID, "born": "2020-02-03", "tags": ["a"]})
    assert pet.weight == Decimal("12.5")  # type: ignore[attr-defined]
    assert pet.colour is Colour.RED  # type: ignore[attr-defined]
    assert pet.born == date(2020, 2, 3)  # type: ignore[attr-defined]
    assert pet.tags == ["a"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("name", "x" * 11, "string_too_long"),
        ("legs", 2**15, "less_than_equal"),
        ("chip", 2**63, "less_than_equal"),
        ("chip", -(2**63) - 1, "greater_than_equal"),
        ("colour", "green", "enum"),
        ("size", "medium", "literal_error"),
        ("weight", "NaN", "finite_number"),
        ("token", "nope", "uuid_parsing"),
    ],
)
def test_storage_limits_are_validated(field: str, value: Any, error: str) -> None:
    create = creation_schema_for(fr.create_schema_from_model(Pet))
    with pytest.raises(ValidationError) as caught:
        create.model_validate({**VALID, field: value})
    assert caught.value.errors()[0]["type"] == error


def test_openapi_schema_shows_limits() -> None:
    properties = creation_schema_for(fr.create_schema_from_model(Pet)).model_json_schema()[
        "properties"
    ]
    assert properties["name"]["maxLength"] == 10
    assert properties["legs"]["maximum"] == 2**15 - 1


def test_a_client_supplied_id_stays_writable() -> None:
    class Code(Base):
        __tablename__ = "gen_code"
        id: Mapped[str] = mapped_column(String(5), primary_key=True)
        label: Mapped[str]

    schema = fr.create_schema_from_model(Code)
    assert not is_read_only(schema.model_fields["id"])
    assert creation_schema_for(schema).model_fields["id"].is_required()


def test_options_exclude_and_mark_read_only() -> None:
    schema = fr.create_schema_from_model(
        Pet, name="PetOut", exclude=("tags", "token"), read_only=("legs",)
    )
    assert schema.__name__ == "PetOut"
    assert "tags" not in schema.model_fields and "token" not in schema.model_fields
    assert is_read_only(schema.model_fields["legs"])


def test_only_mapped_classes_are_accepted() -> None:
    with pytest.raises(TypeError, match="needs a mapped class; got <class 'dict'>"):
        fr.create_schema_from_model(dict)


@pytest.mark.parametrize("field", ["legs", "chip", "weight"])
def test_numbers_refuse_booleans(field: str) -> None:
    create = creation_schema_for(fr.create_schema_from_model(Pet))
    with pytest.raises(ValidationError) as caught:
        create.model_validate({**VALID, field: True})
    assert caught.value.errors()[0]["type"] in {"int_type", "decimal_type"}
    assert create.model_validate({**VALID, field: 1}) is not None


def test_dates_refuse_numbers() -> None:
    create = creation_schema_for(fr.create_schema_from_model(Pet))
    with pytest.raises(ValidationError) as caught:
        create.model_validate({**VALID, "born": 1_700_000_000})
    assert caught.value.errors()[0]["type"] == "date_type"
    assert create.model_validate({**VALID, "born": "2020-02-03"}) is not None


@pytest.mark.parametrize(
    ("python_type", "check"),
    [*_introspect._REFUSE_BOOL.items(), (datetime, _introspect._REFUSE_NUMBER["datetime"])],
)
def test_the_checks_build_the_schema_a_before_validator_builds(
    python_type: Any, check: BeforeValidator
) -> None:
    """The checks skip pydantic's signature inspection, and nothing else."""
    plain = BeforeValidator(check.func)
    assert repr(TypeAdapter(Annotated[python_type, check]).core_schema) == repr(
        TypeAdapter(Annotated[python_type, plain]).core_schema
    )
