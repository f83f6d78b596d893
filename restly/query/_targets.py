"""Targets: the scalar values a response schema exposes, and where they live on the model.

``collect_targets`` walks a response schema (and, through nested models, its relations) and
lists each filterable scalar with its wire path; ``resolve_target`` finds the SQLAlchemy
attributes behind one such path::

    class BookSchema(fr.IDSchema):
        title: str
        author: AuthorSchema          # AuthorSchema has `name: str`

    [t.key for t in collect_targets(BookSchema)]    # ['id', 'title', 'author.id', 'author.name']
    resolve_target(Book, target).hops               # (Book.author,)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, get_args, get_origin

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy.orm import ColumnProperty, Mapper
from sqlalchemy.orm.attributes import QueryableAttribute

from ..schemas import is_write_only
from ._values import ScalarKind, allows_none, scalar_kind, unwrap

__all__ = [
    "MAX_RELATION_DEPTH",
    "ResolvedTarget",
    "Target",
    "collect_targets",
    "public_name",
    "resolve_target",
]

MAX_RELATION_DEPTH = 2
"""How many relations a filter path may cross: ``author.publisher.name`` is 2."""

_COLLECTIONS: tuple[Any, ...] = (list, tuple, set, frozenset, Sequence)


@dataclass(frozen=True, slots=True)
class Target:
    """A scalar of the response schema, e.g. ``author.name``.

    ``hops`` are the model relationship names crossed (``("author",)``), ``leaf`` the model
    attribute holding the value (``"name"``); both are schema field python names, which
    restly requires to equal the model attribute names.
    """

    key: str
    hops: tuple[str, ...]
    leaf: str
    kind: ScalarKind
    annotation: Any
    nullable: bool
    through_many: bool


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """The SQLAlchemy side of a ``Target`` on one model.

    ``hops`` are relationship attributes starting at the queried model; ``leaf`` is the
    attribute (column or hybrid) on the last related class; ``column`` is the table column
    behind it when there is exactly one, used to read its type and nullability.
    """

    hops: tuple[QueryableAttribute[Any], ...]
    leaf: Any
    column: sa.Column[Any] | None

    @property
    def through_many(self) -> bool:
        """Whether a to-many relationship is crossed (such a value cannot be sorted on)."""
        return any(hop.property.uselist for hop in self.hops)

    @property
    def nullable(self) -> bool:
        """Whether the value can be missing: a nullable column or any relation crossed."""
        return bool(self.hops) or self.column is None or bool(self.column.nullable)


def public_name(name: str, field: FieldInfo) -> str:
    """The name a field has on the wire: its serialization alias, else alias, else name."""
    return field.serialization_alias or field.alias or name


def _nested_schema(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """``(Schema, many)`` when ``annotation`` is a nested model or a collection of them."""
    inner = unwrap(annotation)
    many = False
    origin = get_origin(inner)
    if origin in _COLLECTIONS:
        args = get_args(inner)
        if len(args) != 1:
            return None
        inner, many = unwrap(args[0]), True
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner, many
    return None


def collect_targets(
    schema: type[BaseModel],
    *,
    _prefix: str = "",
    _hops: tuple[str, ...] = (),
    _nullable: bool = False,
    _many: bool = False,
) -> list[Target]:
    """List every filterable scalar of ``schema``, following nested models.

    WriteOnly fields never leave the server, so they are skipped, nested ones too; so are
    fields of a type no filter understands (dicts, unions of several types...).
    """
    targets: list[Target] = []
    for name, field in schema.model_fields.items():
        if is_write_only(field):
            continue
        key = _prefix + public_name(name, field)
        nullable = _nullable or allows_none(field.annotation)
        annotation = unwrap(field.annotation)
        kind = scalar_kind(annotation)
        if kind is not None:
            targets.append(Target(key, _hops, name, kind, annotation, nullable, _many))
            continue
        nested = _nested_schema(field.annotation)
        if nested is not None and len(_hops) < MAX_RELATION_DEPTH:
            sub_schema, many = nested
            targets.extend(
                collect_targets(
                    sub_schema,
                    _prefix=key + ".",
                    _hops=(*_hops, name),
                    _nullable=nullable or many,
                    _many=_many or many,
                )
            )
    return targets


def resolve_target(model: type, target: Target) -> ResolvedTarget | None:
    """Find the attributes behind ``target`` on ``model``; None if the model lacks them.

    A schema field without a model attribute (a computed field, a plain property) is simply
    not filterable; a relation is crossed only through a real ``relationship()``.
    """
    current: type = model
    hops: list[QueryableAttribute[Any]] = []
    for name in target.hops:
        mapper: Mapper[Any] = sa.inspect(current)
        relationship = mapper.relationships.get(name)
        if relationship is None:
            return None
        hops.append(getattr(current, name))
        current = relationship.mapper.class_
    mapper = sa.inspect(current)
    if target.leaf in mapper.relationships:
        return None
    leaf = getattr(current, target.leaf, None)
    if not isinstance(leaf, (QueryableAttribute, sa.ColumnElement)):
        return None
    return ResolvedTarget(tuple(hops), leaf, _single_column(mapper, target.leaf))


def _single_column(mapper: Mapper[Any], name: str) -> sa.Column[Any] | None:
    prop = mapper.attrs.get(name)
    if isinstance(prop, ColumnProperty) and len(prop.columns) == 1:
        column = prop.columns[0]
        if isinstance(column, sa.Column):
            return column
    return None

