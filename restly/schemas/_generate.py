"""Generate a pydantic schema from a SQLAlchemy mapped class.

This is what a view uses when it declares no ``schema``::

    class World(AppBase):
        __tablename__ = "world"
        id: Mapped[int] = mapped_column(primary_key=True)
        message: Mapped[str] = mapped_column(String(200))

    WorldSchema = fr.create_schema_from_model(World)
    # id: ReadOnly[int]; message: str (max_length=200)

Rules, per column:

- the type comes from the column type (``String(n)`` adds ``max_length=n``, integer and
  ``Numeric(p, s)`` columns get their storage range, floats refuse NaN and infinities,
  ``Enum`` becomes the enum class or a ``Literal``; ``DateTime(timezone=True)`` values are
  converted to UTC, naive ones read as UTC);
- nullable columns accept ``None``;
- ``id``, ``created_at``, ``updated_at``, computed columns and generated primary keys are
  read-only; a column with a default, a server default or that is nullable is optional on
  input;
- relationships are left out unless named in ``include_relationships``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional, cast

from pydantic import AfterValidator, BeforeValidator, Field, GetCoreSchemaHandler, create_model
from pydantic_core import PydanticCustomError, core_schema
from sqlalchemy import Column, inspect, types
from sqlalchemy.orm import ColumnProperty, Mapper

from ._base import BaseSchema
from ._markers import READ_ONLY

__all__ = ["create_schema_from_model", "column_python_type", "mapper_of"]

READ_ONLY_NAMES = frozenset({"id", "created_at", "updated_at"})

# Storage ranges of integer column types, so out-of-range input is a 422, not a DB error.
_INT_RANGES: tuple[tuple[type[types.TypeEngine[Any]], int], ...] = (
    (types.SmallInteger, 2**15),
    (types.BigInteger, 2**63),
    (types.Integer, 2**31),
)

_cache: dict[tuple[type, str | None, tuple[str, ...], tuple[str, ...]], type[BaseSchema]] = {}


def mapper_of(model: Any) -> Mapper[Any] | None:
    """Return the mapper of a mapped class, or ``None`` for anything else."""
    if not isinstance(model, type):
        return None
    found: object = inspect(model, raiseerr=False)
    return found if isinstance(found, Mapper) else None


def create_schema_from_model(
    model: type,
    *,
    name: str | None = None,
    exclude: tuple[str, ...] | list[str] = (),
    read_only: tuple[str, ...] | list[str] = (),
    base: type[BaseSchema] = BaseSchema,
) -> type[BaseSchema]:
    """Build (once per arguments, then cached) a schema mirroring ``model``'s columns.

    Args:
        model: a SQLAlchemy mapped class on any ``DeclarativeBase``.
        name: the schema's class name (shown in OpenAPI); default ``model.__name__``.
        exclude: column attributes to leave out.
        read_only: more attributes to mark ``ReadOnly`` besides the default ones.
        base: the pydantic base class (a :class:`~restly.BaseSchema` subclass).
    """
    mapper = mapper_of(model)
    if mapper is None:
        raise TypeError(f"create_schema_from_model() needs a mapped class; got {model!r}")
    key = (model, name, tuple(exclude), tuple(read_only))
    cached = _cache.get(key)
    if cached is not None and cached.__base__ is base:
        return cached
    fields: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        if prop.key in exclude or prop.key.startswith("_"):
            continue
        fields[prop.key] = _field_for(prop, forced_read_only=prop.key in read_only)
    schema = create_model(
        name or model.__name__,
        __base__=base,
        __module__=model.__module__,
        **fields,
    )
    schema.__doc__ = f"Schema of {model.__name__}, generated from its columns."
    _cache[key] = schema
    return schema


def _field_for(prop: ColumnProperty[Any], *, forced_read_only: bool) -> tuple[Any, Any]:
    column = prop.columns[0]
    annotation = column_python_type(column.type)
    if getattr(column, "nullable", True):
        annotation = Optional[annotation]
    read_only = forced_read_only or _is_read_only(prop.key, column)
    if read_only:
        annotation = Annotated[annotation, READ_ONLY]
    optional = read_only or _has_default(column) or getattr(column, "nullable", True)
    if optional:
        return annotation, None
    return annotation, ...


def column_python_type(sql_type: types.TypeEngine[Any]) -> Any:
    """Return the pydantic annotation for a column type, with storage constraints."""
    if isinstance(sql_type, types.TypeDecorator):
        return column_python_type(sql_type.impl_instance)
    if isinstance(sql_type, types.Enum):
        if sql_type.enum_class is not None:
            return sql_type.enum_class
        return Literal[tuple(sql_type.enums)] if sql_type.enums else str
    if isinstance(sql_type, types.Boolean):
        return bool
    if isinstance(sql_type, types.Integer):
        for int_type, bound in _INT_RANGES:
            if isinstance(sql_type, int_type):
                return _constrained(int, ge=-bound, le=bound - 1)
    if isinstance(sql_type, types.String) and sql_type.length:
        return _constrained(str, max_length=sql_type.length)
    if isinstance(sql_type, types.Float) and not getattr(sql_type, "asdecimal", False):
        return _constrained(float, allow_inf_nan=False)
    if isinstance(sql_type, types.Numeric):
        bounds = _numeric_range(sql_type)
        return _constrained(_python_type(sql_type), allow_inf_nan=False, **bounds)
    if isinstance(sql_type, types.DateTime) and sql_type.timezone:
        return Annotated[datetime, _REFUSE_NUMBER["datetime"], AfterValidator(_as_utc)]
    if isinstance(sql_type, (types.DateTime, types.Date, types.Time)):
        python_type = _python_type(sql_type)
        return Annotated[python_type, _REFUSE_NUMBER[python_type.__name__]]
    if isinstance(sql_type, types.Uuid):
        return uuid.UUID
    if isinstance(sql_type, types.JSON):
        return Any
    if isinstance(sql_type, types.ARRAY):
        return list[column_python_type(sql_type.item_type)]  # type: ignore[misc]
    return _python_type(sql_type)


def _as_utc(value: datetime) -> datetime:
    """Timezone-aware columns hold UTC: convert input to it, and read naive values as it
    (SQLite and MySQL store no offset), so every answer is an RFC 3339 date-time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _numeric_range(sql_type: types.Numeric[Any]) -> dict[str, int]:
    """``Numeric(p, s)`` stores fewer than ``p - s`` integer digits: bound the input to it."""
    precision = getattr(sql_type, "precision", None)
    if not isinstance(precision, int):
        return {}
    bound = 10 ** (precision - (sql_type.scale or 0))
    return {"gt": -bound, "lt": bound}


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

#: The validator functions above: checks that return their input unchanged, so a value read
#: from the database serialises the same with or without them (restly.views._serialize).
PURE_CHECKS = frozenset(
    validator.func for validator in (*_REFUSE_NUMBER.values(), *_REFUSE_BOOL.values())
)


def _python_type(sql_type: types.TypeEngine[Any]) -> Any:
    try:
        return sql_type.python_type
    except NotImplementedError:
        return Any


def _is_read_only(key: str, column: Any) -> bool:
    if not isinstance(column, Column):
        return True  # a column_property over an expression is computed by the database
    if column.computed is not None:
        return True
    generated_pk = column.primary_key and (
        column is _autoincrement_column(column) or column.default is not None
    )
    if key == "id":
        # An ``id`` the client must supply (no default, not generated) stays writable,
        # otherwise the resource could never be created.
        return generated_pk or column.server_default is not None
    if key in READ_ONLY_NAMES:
        return True
    return bool(generated_pk or (column.identity is not None))


def _autoincrement_column(column: Column[Any]) -> Any:
    table = column.table
    return getattr(table, "autoincrement_column", None)


def _has_default(column: Any) -> bool:
    if not isinstance(column, Column):
        return True
    return (
        column.default is not None
        or column.server_default is not None
        or column.computed is not None
        or column.identity is not None
        or column is _autoincrement_column(column)
    )
