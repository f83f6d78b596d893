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
- ``id``, ``created_at``, ``updated_at``, computed columns, generated primary keys and the
  mapper's version counter (``version_id_col``, which SQLAlchemy sets) are read-only; a column with a default, a server default or that is nullable is optional on
  input;
- relationships are left out (declare a schema to show them, nested or as ``fr.IDRef``).
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import create_model
from sqlalchemy import Column
from sqlalchemy.orm import ColumnProperty

from .._caches import class_cache
from .._introspect import column_python_type, mapper_of
from ._base import BaseSchema
from ._markers import READ_ONLY

__all__ = ["create_schema_from_model"]

READ_ONLY_NAMES = frozenset({"id", "created_at", "updated_at"})


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
    cache = class_cache(model)  # kept on the model: it goes when the model goes
    key = ("schema", name, tuple(exclude), tuple(read_only))
    cached: type[BaseSchema] | None = cache.get(key)
    if cached is not None and cached.__base__ is base:
        return cached
    fields: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        if prop.key in exclude or prop.key.startswith("_"):
            continue
        versioned = prop.columns[0] is mapper.version_id_col
        fields[prop.key] = _field_for(prop, forced_read_only=versioned or prop.key in read_only)
    schema = create_model(
        name or model.__name__,
        __base__=base,
        __module__=model.__module__,
        **fields,
    )
    schema.__doc__ = f"Schema of {model.__name__}, generated from its columns."
    cache[key] = schema
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
