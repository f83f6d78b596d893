"""Targets: the scalar values a response schema exposes, and where they live on the model.

``collect_targets`` walks a response schema (and, through nested models, its relations) and
lists each filterable scalar with its wire path; ``resolve_target`` finds the SQLAlchemy
attributes behind one such path::

    class BookSchema(fr.IDSchema):
        title: str
        author: AuthorSchema          # AuthorSchema has `name: str`

    [t.key for t in collect_targets(BookSchema)]    # ['id', 'title', 'author.id', 'author.name']
    resolve_target(Book, target).hops               # (Book.author,)

A reference field (``author: fr.IDRef[Author]``, ``tags: list[fr.IDRef[Tag]]``) is a scalar
target holding the referenced id. On a relationship it resolves to the foreign-key column of
a many-to-one (``Book.author_id``), else to the related primary key across the relationship
(``Book.tags`` -> ``Tag.id``, filtered with EXISTS like any relation path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args, get_origin

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy.orm import ColumnProperty, Mapper, RelationshipProperty
from sqlalchemy.orm.attributes import QueryableAttribute

from .._annotations import COLLECTIONS, allows_none, unwrap
from .._introspect import fk_partner, primary_key_attribute
from ..schemas import idref_target, is_write_only
from ._values import ScalarKind, scalar_kind

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
    reference: bool = False
    """An ``fr.IDRef`` field: ``leaf`` may name a relationship, whose ids are the value."""


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


def _item(annotation: Any) -> tuple[Any, bool] | None:
    """``(item, many)``: the unwrapped annotation, or the item of a one-type collection."""
    inner = unwrap(annotation)
    if get_origin(inner) not in COLLECTIONS:
        return inner, False
    args = get_args(inner)
    return (unwrap(args[0]), True) if len(args) == 1 else None


def _nested_schema(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """``(Schema, many)`` when ``annotation`` is a nested model or a collection of them."""
    found = _item(annotation)
    if found is not None and isinstance(found[0], type) and issubclass(found[0], BaseModel):
        return found
    return None


def _id_list(field: FieldInfo) -> tuple[Any, ScalarKind] | None:
    """``(id annotation, kind)`` of a ``list[fr.IDRef[Model]]`` field, else None."""
    found = _item(field.annotation)
    if found is None or not found[1] or idref_target(field) is None:
        return None
    kind = scalar_kind(found[0])
    return None if kind is None else (found[0], kind)


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
            reference = idref_target(field) is not None
            targets.append(Target(key, _hops, name, kind, annotation, nullable, _many, reference))
            continue
        ids = _id_list(field) if len(_hops) < MAX_RELATION_DEPTH else None
        if ids is not None:  # list[fr.IDRef[Tag]]: filters on the related ids, never sorts
            id_annotation, id_kind = ids
            targets.append(Target(key, _hops, name, id_kind, id_annotation, True, True, True))
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
    relationship = mapper.relationships.get(target.leaf)
    if relationship is not None:
        if not target.reference:
            return None
        return _resolve_reference(current, relationship, hops)
    leaf = getattr(current, target.leaf, None)
    if not isinstance(leaf, (QueryableAttribute, sa.ColumnElement)):
        return None
    return ResolvedTarget(tuple(hops), leaf, _single_column(mapper, target.leaf))


def _resolve_reference(
    owner: type, relationship: RelationshipProperty[Any], hops: list[QueryableAttribute[Any]]
) -> ResolvedTarget | None:
    """The ids behind a reference to ``relationship`` of ``owner``.

    A many-to-one with its own foreign-key column is that column (``Book.author_id``: plain
    comparisons, sortable); otherwise the relationship is one more hop to the related primary
    key (``Book.tags`` -> ``Tag.id``), as for ``tags.id``.
    """
    mapper: Mapper[Any] = sa.inspect(owner)
    partner = fk_partner(mapper, relationship)
    if partner is not None:
        return ResolvedTarget(tuple(hops), getattr(owner, partner), _single_column(mapper, partner))
    related = relationship.mapper
    if len(related.primary_key) != 1 or len(hops) >= MAX_RELATION_DEPTH:
        return None
    pk_key = primary_key_attribute(related)
    hops.append(getattr(owner, relationship.key))
    return ResolvedTarget(
        tuple(hops), getattr(related.class_, pk_key), _single_column(related, pk_key)
    )


def _single_column(mapper: Mapper[Any], name: str) -> sa.Column[Any] | None:
    prop = mapper.attrs.get(name)
    if isinstance(prop, ColumnProperty) and len(prop.columns) == 1:
        column = prop.columns[0]
        if isinstance(column, sa.Column):
            return column
    return None

