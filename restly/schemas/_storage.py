"""Storage limits of columns, carried into the input schemas derived for a model.

A schema written by hand says what the API accepts; the columns say what the database can
store. The creation and update schemas a view derives get both, so a value no column can
hold is a 422 on every backend (SQLite stores a 5,000-character string in a ``String(100)``
column; PostgreSQL and MariaDB refuse it)::

    class Author(Base):
        name: Mapped[str] = mapped_column(String(100))
        rating: Mapped[int] = mapped_column(SmallInteger)

    class AuthorSchema(fr.IDSchema):
        name: str                          # the derived AuthorCreate: max_length=100
        rating: int = Field(ge=0, le=5)    # stricter than SMALLINT's range: kept as written

The limits are the ones a generated schema has (see ``restly._introspect.column_python_type``):
``String(n)`` -> ``max_length``, integer types -> their range, ``Numeric(p, s)`` -> the
integer digits it stores, ``Float``/``Numeric`` -> no NaN or infinities. A limit is added
only when the field's type (without ``Optional`` and ``Annotated``) is the column's Python
type (``str`` for ``String``, ``int`` for integers, ...), and only when the field has no
limit of its own that is as strict: the stricter one wins. Added limits go to the end of a
copy of the field's metadata, where pydantic applies them last.
"""

from __future__ import annotations

import copy
import typing
import weakref
from collections.abc import Iterator
from typing import Annotated, Any

import annotated_types as at
from pydantic.fields import FieldInfo
from pydantic.types import AllowInfNan
from sqlalchemy import Column
from sqlalchemy.orm import ColumnProperty, Mapper

from .._annotations import UNIONS, strip_annotated, unwrap
from .._introspect import column_python_type

__all__ = ["column_limits", "with_storage_limits"]

_KINDS: dict[type[Any], str] = {
    at.MaxLen: "max_length",
    at.Ge: "ge",
    at.Gt: "gt",
    at.Le: "le",
    at.Lt: "lt",
    AllowInfNan: "allow_inf_nan",
}


def column_limits(mapper: Mapper[Any], name: str) -> tuple[Any, tuple[Any, ...]] | None:
    """``(python type, constraints)`` of the column attribute ``name``, e.g.
    ``(str, (MaxLen(100),))``; None when it is no plain column or has no limits."""
    prop = mapper.attrs.get(name)
    if not isinstance(prop, ColumnProperty) or len(prop.columns) != 1:
        return None
    column = prop.columns[0]
    if not isinstance(column, Column):
        return None
    annotation = column_python_type(column.type)
    if typing.get_origin(annotation) is not Annotated:
        return None
    limits = tuple(
        item
        for constraint in annotation.__metadata__
        if isinstance(constraint, FieldInfo)
        for item in constraint.metadata
        if type(item) in _KINDS
    )
    return (strip_annotated(annotation), limits) if limits else None


def with_storage_limits(field: FieldInfo, limits: tuple[Any, tuple[Any, ...]]) -> FieldInfo:
    """``field``, or a copy of it with the column ``limits`` it lacks (see the module
    documentation); the same object when nothing is added."""
    python_type, constraints = limits
    if unwrap(field.annotation) is not python_type:
        return field
    own = _effective(field)
    added = [limit for limit in constraints if not _covered(limit, own)]
    if not added:
        return field
    limited = copy.copy(field)
    limited.metadata = [*field.metadata, *added]
    return limited


def _effective(field: FieldInfo) -> dict[str, Any]:
    """The field's own limits as pydantic applies them: inner ``Annotated`` layers first,
    then the field's metadata; a later limit of one kind replaces an earlier one."""
    found: dict[str, Any] = {}
    for item in (*_inner_metadata(field.annotation), *field.metadata):
        for constraint in _flattened(item):
            kind = _KINDS.get(type(constraint))
            if kind is not None:
                found[kind] = getattr(constraint, kind)
    return found


def _inner_metadata(annotation: Any) -> list[Any]:
    """``Annotated`` metadata on the way to the field's type, innermost first."""
    layers: list[list[Any]] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            layers.append(list(annotation.__metadata__))
            annotation = typing.get_args(annotation)[0]
        elif origin in UNIONS:
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                break
            annotation = members[0]
        else:
            break
    return [item for layer in reversed(layers) for item in layer]


def _flattened(item: Any) -> Iterator[Any]:
    if type(item) in _KINDS:  # a plain limit: the common case, no protocol check needed
        yield item
    elif isinstance(item, FieldInfo):
        for inner in item.metadata:
            yield from _flattened(inner)
    elif _is_grouped(type(item), item):
        yield from item  # StringConstraints, Interval, Len
    elif item is not None:
        yield item


_grouped_types: weakref.WeakKeyDictionary[type[Any], bool] = weakref.WeakKeyDictionary()


def _is_grouped(kind: type[Any], item: Any) -> bool:
    """``isinstance(item, annotated_types.GroupedMetadata)``, answered once per type.

    The check is a runtime protocol's (a look-up of its members on every call, the larger
    part of deriving an input schema for a model of a few columns); what it looks up are
    the class's members, so the answer holds for every instance of the type.
    """
    grouped = _grouped_types.get(kind)
    if grouped is None:
        grouped = _grouped_types[kind] = isinstance(item, at.GroupedMetadata)
    return grouped


def _covered(limit: Any, own: dict[str, Any]) -> bool:
    """Whether the field's own limits are at least as strict as the column's ``limit``."""
    kind = _KINDS[type(limit)]
    bound = getattr(limit, kind)
    try:
        if kind == "max_length":
            return bool(own.get("max_length", bound + 1) <= bound)
        if kind == "allow_inf_nan":
            return own.get("allow_inf_nan") is False
        if kind in ("ge", "gt"):
            return _at_least(own.get("ge"), bound, kind == "gt") or _at_least(
                own.get("gt"), bound, False
            )
        return _at_most(own.get("le"), bound, kind == "lt") or _at_most(
            own.get("lt"), bound, False
        )
    except TypeError:  # a bound of another type: keep both limits
        return False


def _at_least(value: Any, bound: Any, strictly: bool) -> bool:
    return value is not None and (value > bound if strictly else value >= bound)


def _at_most(value: Any, bound: Any, strictly: bool) -> bool:
    return value is not None and (value < bound if strictly else value <= bound)
