"""Facts about SQLAlchemy mapped classes, and the Python type of a column.

```python
mapper_of(Book)                                   # Book's Mapper (None for anything else)
primary_key_attribute(mapper_of(Book))            # "id"
fk_partner(mapper_of(Book), Book.author.property) # "author_id"
class_mapping(mapper_of(Book), author_table)      # Author
column_python_type(String(200))                   # Annotated[str, Field(max_length=200)]
```

Schemas, list parameters, eager loading and react-admin lists all ask these questions; they
live here, in a leaf that imports nothing of restly, so none of those packages imports another
just to ask. `column_python_type` carries the column -> pydantic type rules (storage ranges,
UTC for aware date-times, refusing booleans for numbers and numbers for dates).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic_core import PydanticCustomError, core_schema
from sqlalchemy import inspect, types
from sqlalchemy.orm import Mapper, RelationshipProperty
from sqlalchemy.orm.exc import UnmappedColumnError

__all__ = [
    "PURE_CHECKS",
    "class_mapping",
    "column_python_type",
    "decimal_type",
    "fk_partner",
    "mapper_of",
    "primary_key_attribute",
    "relationship_keys",
]

# Storage ranges of integer column types, so out-of-range input is a 422, not a DB error.
_INT_RANGES: tuple[tuple[type[types.TypeEngine[Any]], int], ...] = (
    (types.SmallInteger, 2**15),
    (types.BigInteger, 2**63),
    (types.Integer, 2**31),
)

def mapper_of(model: Any) -> Mapper[Any] | None:
    """Return the mapper of a mapped class, or ``None`` for anything else."""
    if not isinstance(model, type):
        return None
    found: object = inspect(model, raiseerr=False)
    return found if isinstance(found, Mapper) else None


def primary_key_attribute(mapper: Mapper[Any]) -> str:
    """The attribute name of a mapper's (first) primary-key column: `"id"` for most."""
    return mapper.get_property_by_column(mapper.primary_key[0]).key


def fk_partner(mapper: Mapper[Any], prop: RelationshipProperty[Any]) -> str | None:
    """The column attribute holding a many-to-one relationship's single foreign key.

    `fk_partner(mapper_of(Book), Book.author.property)` -> `"author_id"`; None for
    to-many relationships and when the foreign key is not a mapped column of its own.
    """
    if prop.uselist or len(prop.local_columns) != 1:
        return None
    (column,) = prop.local_columns
    if column.primary_key or not column.foreign_keys:
        return None
    try:
        return mapper.get_property_by_column(column).key
    except UnmappedColumnError:
        return None  # joined on a column the model does not map


def class_mapping(mapper: Mapper[Any], table: Any) -> type[Any] | None:
    """The class of ``mapper``'s registry that maps ``table`` as its own (for a hierarchy
    sharing one table, its base class), or None when no class of the registry maps it."""
    for candidate in mapper.registry.mappers:
        if candidate.local_table is table and (
            candidate.inherits is None or candidate.inherits.local_table is not table
        ):
            return candidate.class_
    return None


def relationship_keys(model: type[Any]) -> frozenset[str]:
    """Attributes whose change can make loaded relationships stale: relationships and the
    columns they are joined on."""
    mapper = mapper_of(model)
    if mapper is None:
        return frozenset()
    keys = set(mapper.relationships.keys())
    for relationship in mapper.relationships:
        for column in relationship.local_columns:
            try:
                keys.add(mapper.get_property_by_column(column).key)
            except UnmappedColumnError:
                continue  # joined on a column the model does not map
    return frozenset(keys)


def column_python_type(sql_type: types.TypeEngine[Any]) -> Any:
    """Return the pydantic annotation for a column type, with storage constraints."""
    if isinstance(sql_type, types.TypeDecorator):
        return column_python_type(sql_type.impl_instance)
    if isinstance(sql_type, types.Enum):
        if sql_type.enum_class is not None:
            return sql_type.enum_class
        return Literal[tuple(sql_type.enums)] if sql_type.enums else str
    if isinstance(sql_type, types.Boolean):
        return _STRICT_BOOL
    if isinstance(sql_type, types.Integer):
        for int_type, bound in _INT_RANGES:
            if isinstance(sql_type, int_type):
                return _constrained(int, ge=-bound, le=bound - 1)
    if isinstance(sql_type, types.String) and sql_type.length:
        return _constrained(str, max_length=sql_type.length)
    if isinstance(sql_type, types.Float) and not getattr(sql_type, "asdecimal", False):
        if _single_precision(sql_type):
            return _constrained(float, allow_inf_nan=False, ge=-_FLOAT32_MAX, le=_FLOAT32_MAX)
        return _constrained(float, allow_inf_nan=False)
    if isinstance(sql_type, types.Numeric):
        precision = getattr(sql_type, "precision", None)
        scale = sql_type.scale if isinstance(sql_type.scale, int) else None
        python_type = _sql_python_type(sql_type)
        if python_type is not Decimal:  # Numeric(asdecimal=False)
            bounds = {}
            if isinstance(precision, int):
                bound = 10 ** (precision - (scale or 0))
                bounds = {"gt": -bound, "lt": bound}
            return _constrained(python_type, allow_inf_nan=False, **bounds)
        if not isinstance(precision, int):
            return decimal_type(None, scale)
        return decimal_type(max(precision - (scale or 0), 0), scale or 0)
    if isinstance(sql_type, types.DateTime) and sql_type.timezone:
        return Annotated[datetime, _REFUSE_NUMBER["datetime"], AfterValidator(_as_utc)]
    if isinstance(sql_type, (types.DateTime, types.Date, types.Time)):
        python_type = _sql_python_type(sql_type)
        return Annotated[python_type, _REFUSE_NUMBER[python_type.__name__]]
    if isinstance(sql_type, types.Uuid):
        return uuid.UUID
    if isinstance(sql_type, types.JSON):
        return Any
    if isinstance(sql_type, types.ARRAY):
        return list[column_python_type(sql_type.item_type)]  # type: ignore[misc]
    return _sql_python_type(sql_type)


# The largest finite IEEE 754 single-precision value.
_FLOAT32_MAX = 3.4028234663852886e38


def _single_precision(sql_type: types.Float[Any]) -> bool:
    """Whether some backend stores the column in 4 bytes: ``REAL``, and a ``Float`` without
    a precision above 24 bits (MariaDB and MySQL make ``FLOAT`` single precision, where
    PostgreSQL and SQLite use 8 bytes). ``Double`` and ``Float(53)`` are 8 bytes everywhere."""
    if isinstance(sql_type, types.Double):
        return False
    if isinstance(sql_type, types.REAL):
        return True
    precision = sql_type.precision
    return precision is None or precision <= 24


def _as_utc(value: datetime) -> datetime:
    """Timezone-aware columns hold UTC: convert input to it, and read naive values as it
    (SQLite and MySQL store no offset), so every answer is an RFC 3339 date-time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@functools.lru_cache(maxsize=256)
def decimal_type(integer_digits: int | None, scale: int | None) -> Any:
    """The pydantic type of a decimal stored with at most ``integer_digits`` digits before
    the point and ``scale`` after it (None: unbounded), whose schema says what it accepts.

    - A JSON number is rounded to ``scale`` places by the database: it must stay below the
      first value that rounds out of range (``99999999.995`` for ``Numeric(10, 2)``), the
      bound the schema documents (``exclusiveMaximum``).
    - A string must be plain digits that the column holds exactly (``"-12.50"``, trailing
      zeros allowed), the ``pattern`` the schema documents; pydantic's lax forms (spaces,
      ``1_000``, exponents, other scripts' digits) are refused.
    """
    pattern = _decimal_pattern(integer_digits, scale)
    constraints: dict[str, Any] = {"allow_inf_nan": False}
    bound = None
    if integer_digits is not None:
        bound = Decimal(1).scaleb(integer_digits)
        if scale is not None:
            bound -= Decimal(5).scaleb(-(scale + 1))
        constraints.update(gt=-bound, lt=bound)
    return Annotated[
        Decimal,
        Field(**constraints),
        _Check(_DecimalText(pattern, bound)),
        _REFUSE_BOOL[Decimal],
        _StringPattern(pattern.pattern),
    ]


def _decimal_pattern(integer_digits: int | None, scale: int | None) -> re.Pattern[str]:
    # [0-9], not \d: JSON Schema patterns are ECMAScript's, where \d is ASCII digits only.
    digits = "[0-9]+" if integer_digits is None else f"[0-9]{{1,{integer_digits}}}"
    if integer_digits == 0:
        digits = "0"  # nothing but zeros before the point
    fraction = "[0-9]*" if scale is None else f"[0-9]{{0,{scale}}}0*"
    alternatives = [rf"{digits}(?:\.{fraction})?"]
    if scale != 0:
        alternatives.append(r"\." + ("[0-9]+" if scale is None else f"[0-9]{{1,{scale}}}0*"))
    return re.compile(rf"^[+-]?0*(?:{'|'.join(alternatives)})$")


# Unbounded decimals: above this, the range checks of filters answer (restly.query).
_TEXT_LIMIT = Decimal("1e100")


@dataclasses.dataclass(frozen=True, slots=True)
class _DecimalText:
    """Refuse a decimal string that does not match ``pattern`` (other values pass as is)."""

    pattern: re.Pattern[str]
    bound: Decimal | None

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str) and self.pattern.fullmatch(value) is None:
            try:
                number = Decimal(value)
                limit = _TEXT_LIMIT if self.bound is None else self.bound
                readable = number.is_finite() and abs(number) < limit
            except ArithmeticError:
                readable = False
            # A lax spelling of a number in range. What pydantic refuses (not a number, not
            # finite) and a number out of range are reported by the checks made for them.
            if readable:
                raise PydanticCustomError(
                    "decimal_parsing",
                    "Input should be a decimal number of digits the column can hold, "
                    "e.g. '12.50'",
                )
        return value




@dataclasses.dataclass(frozen=True, slots=True)
class _StringPattern:
    """Document ``pattern`` on the string form of a value (its JSON schema's string branch)."""

    pattern: str

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        json_schema = handler(schema)
        if handler.mode == "validation":
            resolved = handler.resolve_ref_schema(json_schema)
            for branch in resolved.get("anyOf", [resolved]):
                if branch.get("type") == "string":
                    branch["pattern"] = self.pattern
        return json_schema


@functools.lru_cache(maxsize=256)
def _constrained(python_type: Any, **constraints: Any) -> Any:
    """``Annotated[python_type, Field(**constraints)]``, one object per distinct arguments.

    Every model of an application has ``id`` and ``String(n)`` columns: sharing their types
    spares pydantic re-reading equal annotations, and the garbage collector fresh objects.
    """
    refuse_bool = _REFUSE_BOOL.get(python_type)
    if refuse_bool is not None:
        return Annotated[python_type, Field(**constraints), refuse_bool]
    return Annotated[python_type, Field(**constraints)]


@dataclasses.dataclass(frozen=True, slots=True)
class _Check(BeforeValidator):
    """A ``BeforeValidator`` whose function takes the value alone, as pydantic would find.

    pydantic inspects a validator's signature (for an ``info`` argument) each time it builds a
    schema with it: for every schema, adapter and OpenAPI pass that meets an ``int``,
    ``float`` or date column of any model. The signatures of these checks are known.
    """

    def __get_pydantic_core_schema__(
        self, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        check = cast("Callable[[Any], Any]", self.func)  # built by the refusers below
        return core_schema.no_info_before_validator_function(check, handler(source_type))


def _bool_refuser(error_type: str, message: str) -> BeforeValidator:
    # pydantic's lax mode reads true/false as 1/0; the OpenAPI schema says "integer" or
    # "number", so a client sending a boolean there has made a mistake worth a 422.
    def refuse_bool(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(error_type, message)
        return value

    return _Check(refuse_bool)


def _number_refuser(error_type: str, message: str) -> BeforeValidator:
    # pydantic's lax mode reads numbers as Unix timestamps; the OpenAPI schema says an
    # ISO 8601 string, so a number there is a client mistake worth a 422.
    def refuse_number(value: Any) -> Any:
        if isinstance(value, (int, float, Decimal)):
            raise PydanticCustomError(error_type, message)
        return value

    return _Check(refuse_number)


_REFUSE_NUMBER: dict[str, BeforeValidator] = {
    "datetime": _number_refuser("datetime_type", "Input should be an ISO 8601 date-time string"),
    "date": _number_refuser("date_type", "Input should be an ISO 8601 date string"),
    "time": _number_refuser("time_type", "Input should be an ISO 8601 time string"),
}

_REFUSE_BOOL: dict[Any, BeforeValidator] = {
    int: _bool_refuser("int_type", "Input should be a valid integer"),
    float: _bool_refuser("float_type", "Input should be a valid number"),
    Decimal: _bool_refuser("decimal_type", "Decimal input should be an integer, float, string or Decimal object"),
}

def _refuse_non_bool(value: Any) -> Any:
    # pydantic's lax mode reads 0, 1, "yes" and "off" as booleans; the schema says
    # "boolean". Its own words for a value it cannot read are kept.
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        raise PydanticCustomError(
            "bool_parsing", "Input should be a valid boolean, unable to interpret input"
        )
    raise PydanticCustomError("bool_type", "Input should be a valid boolean")


_STRICT_BOOL = Annotated[bool, _Check(_refuse_non_bool)]

#: The validator functions above: checks that return their input unchanged, so a value read
#: from the database serialises the same with or without them (restly.resource._rows).
class _PureChecks:
    def __init__(self, functions: Any) -> None:
        self._functions = frozenset(functions)

    def __contains__(self, function: object) -> bool:
        return isinstance(function, _DecimalText) or function in self._functions


PURE_CHECKS = _PureChecks(
    [
        *(validator.func for validator in (*_REFUSE_NUMBER.values(), *_REFUSE_BOOL.values())),
        _refuse_non_bool,
    ]
)


def _sql_python_type(sql_type: types.TypeEngine[Any]) -> Any:
    try:
        return sql_type.python_type
    except NotImplementedError:
        return Any
