"""The reference fields of a schema, as written to one model, and their class-time checks.

::

    references_in(BookSchema, Book)
    # (Reference(name="author", label="author", target=RefTarget(Author, int), many=False,
    #            relationship=True, partner="author_id"), ...)

    check_references("BookView", Book, BookSchema)   # [] or one message per bad field

A ``fr.MustExist[int]`` field gets its target here, from the model's column: its single
``ForeignKey`` names a table, and the class of the model's registry mapping that table is the
target. What cannot be resolved is reported by ``check_references`` when the view class is
created (naming the field, what was found and ``fr.MustExist[int, Target]`` as the fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy import Column
from sqlalchemy.exc import NoReferenceError
from sqlalchemy.orm import ColumnProperty, Mapper, RelationshipProperty

from .._annotations import unwrap
from .._caches import class_cache
from .._introspect import class_mapping, fk_partner, mapper_of
from ..exc import RestlyConfigurationError
from ._base import pk_annotation, plain_type
from ._markers import RefTarget
from ._refs import MustExistMarker, find_reference

__all__ = ["Reference", "check_references", "references_in"]


@dataclass(frozen=True)
class Reference:
    """A reference field of one schema, as written to one model.

    ``name`` is the schema field (and model attribute), ``label`` the name clients send,
    ``many`` whether it is a list, ``relationship`` whether the model attribute is a
    relationship (objects are assigned) rather than a column (ids are assigned), and
    ``partner`` the foreign-key column attribute that must agree with a relationship.
    """

    name: str
    label: str
    target: RefTarget
    many: bool
    relationship: bool
    partner: str | None


def references_in(schema: type[BaseModel], model: type[Any]) -> tuple[Reference, ...]:
    """Return the reference fields of ``schema`` that are attributes of ``model`` (found
    once per pair, kept on ``schema``)."""
    cache = class_cache(schema)
    found: tuple[Reference, ...] | None = cache.get(("references", model))
    if found is None:
        found = cache[("references", model)] = _references_in(schema, model)
    return found


def _references_in(schema: type[BaseModel], model: type[Any]) -> tuple[Reference, ...]:
    mapper = mapper_of(model)
    if mapper is None:
        return ()
    found: list[Reference] = []
    for name, field in schema.model_fields.items():
        reference = find_reference(field)
        if reference is None:
            continue
        target, many = reference
        if isinstance(target, MustExistMarker):
            checked = _must_exist_target(mapper, name, target, many)
            if isinstance(checked, str):  # a schema no view class has checked
                raise RestlyConfigurationError(f"{schema.__name__} field {name!r} {checked}")
            found.append(Reference(name, _client_key(name, field), checked, False, False, None))
            continue
        prop = mapper.attrs.get(name)
        if prop is None:
            continue
        is_relationship = isinstance(prop, RelationshipProperty)
        partner = fk_partner(mapper, prop) if isinstance(prop, RelationshipProperty) else None
        found.append(Reference(name, _client_key(name, field), target, many, is_relationship, partner))
    return tuple(found)


def check_references(
    owner: str, model: type[Any], schema: type[BaseModel], option: str = "schema"
) -> list[str]:
    """Return one message per reference field of ``schema`` (the view's ``option``) that
    cannot be written to ``model`` (wrong target, single vs. list mismatch, not a
    relationship or column, a ``fr.MustExist`` whose target cannot be resolved)."""
    mapper = mapper_of(model)
    assert mapper is not None
    problems: list[str] = []
    for name, field in schema.model_fields.items():
        reference = find_reference(field)
        if reference is None:
            continue
        where = f"{owner}.{option} field {name!r}"
        target, many = reference
        if isinstance(target, MustExistMarker):
            checked = _must_exist_target(mapper, name, target, many)
            if isinstance(checked, str):
                problems.append(f"{where} {checked}")
        elif hasattr(model, name):
            problem = _idref_problem(mapper, name, target.model, many)
            if problem is not None:
                problems.append(f"{where} {problem}")
    return problems


def _idref_problem(mapper: Mapper[Any], name: str, target: type[Any], many: bool) -> str | None:
    model = mapper.class_.__name__
    prop = mapper.attrs.get(name)
    single = f"fr.IDRef[{target.__name__}]"
    wanted = f"list[{single}]" if many else single
    if isinstance(prop, RelationshipProperty):
        related = prop.mapper.class_
        if not (issubclass(target, related) or issubclass(related, target)):
            return (
                f"references {target.__name__} but {model}.{name} relates "
                f"to {related.__name__}; use fr.IDRef[{related.__name__}]."
            )
        if prop.uselist != many:
            fix = f"list[{single}]" if prop.uselist else single
            kind = "to-many" if prop.uselist else "many-to-one"
            return f"is {wanted} but {model}.{name} is a {kind} relationship; use {fix}."
        return None
    if isinstance(prop, ColumnProperty):
        if many:
            return (
                f"is {wanted} but {model}.{name} is a column, which holds "
                f"one id; use {single}, or name the to-many relationship."
            )
        return None
    return (
        f"is {wanted} but {model}.{name} is neither a relationship "
        "nor a column; name the field after one of them."
    )


def _must_exist_target(
    mapper: Mapper[Any], name: str, marker: MustExistMarker, many: bool
) -> RefTarget | str:
    """The target of a ``fr.MustExist`` field named ``name`` on ``mapper``'s class, or what
    prevents it (a message to follow "<View>.schema field 'x' ")."""
    column = _must_exist_column(mapper, name, marker, many)
    if isinstance(column, str):
        return column
    found = _target_of(mapper, column, marker)
    if isinstance(found, str):
        return found
    id_type = plain_type(pk_annotation(found))
    given = plain_type(unwrap(marker.annotation))
    if given is not object and id_type is not object and given is not id_type:
        return (
            f"is {marker.spelling()} but the primary key of {found.__name__} is "
            f"{id_type.__name__}; use fr.MustExist[{id_type.__name__}, {found.__name__}]."
        )
    return RefTarget(found, id_type)


def _must_exist_column(
    mapper: Mapper[Any], name: str, marker: MustExistMarker, many: bool
) -> Column[Any] | str:
    """The column a ``fr.MustExist`` field is written to, or why it has none."""
    model = mapper.class_.__name__
    spelling = marker.spelling()
    prop = mapper.attrs.get(name)
    if many:
        target = "Target" if marker.target is None else marker.target.__name__
        return (
            f"is a list of {spelling}, which checks one foreign-key column; use "
            f"list[fr.IDRef[{target}]] on a to-many relationship."
        )
    if isinstance(prop, RelationshipProperty):
        partner = fk_partner(mapper, prop)
        other = f", or name the field {partner!r} (its foreign-key column)" if partner else ""
        return (
            f"is {spelling} but {model}.{name} is a relationship; use "
            f"fr.IDRef[{prop.mapper.class_.__name__}] for it{other}."
        )
    column = _single_column(prop)
    if column is None:
        return (
            f"is {spelling} but {model} has no column {name!r}; name the field after a "
            f"foreign-key column of {model}."
        )
    return column


def _target_of(
    mapper: Mapper[Any], column: Column[Any], marker: MustExistMarker
) -> type[Any] | str:
    """The class whose primary key ``column`` holds: the named target, checked against the
    column's foreign keys, or the one class its single foreign key points at."""
    where = f"column {mapper.class_.__name__}.{column.key}"
    spelling, fix = marker.spelling(), marker.spelling("Target")
    foreign_keys = sorted(column.foreign_keys, key=lambda key: key.target_fullname)
    names = ", ".join(key.target_fullname for key in foreign_keys)
    if marker.target is None and len(foreign_keys) != 1:
        found = f"has {len(foreign_keys)} ForeignKeys ({names})" if foreign_keys else (
            "has no ForeignKey to take the target from"
        )
        return f"is {spelling} but {where} {found}; name the target: {fix}."
    for foreign_key in foreign_keys:
        try:
            referenced = foreign_key.column
        except NoReferenceError:
            return (
                f"is {spelling} but {where} references {foreign_key.target_fullname}, a "
                f"table its metadata does not have; name the target: {fix}."
            )
        target = marker.target or class_mapping(mapper, referenced.table)
        if target is None:
            return (
                f"is {spelling} but {where} references table {referenced.table.name!r}, "
                f"which no class of {mapper.class_.__name__}'s registry maps; map it, or "
                f"name the target: {fix}."
            )
        target_mapper = mapper_of(target)
        assert target_mapper is not None
        if referenced.table not in target_mapper.tables:
            continue  # another foreign key of the column may point at the named target
        if referenced is not target_mapper.primary_key[0]:
            return (
                f"is {spelling} but {where} references {foreign_key.target_fullname}, not "
                f"the primary key of {target.__name__}; fr.MustExist checks primary keys."
            )
        return target
    assert marker.target is not None  # an inferred target was returned in the loop
    if foreign_keys:
        return (
            f"is {spelling} but {where} references {names}, not {marker.target.__name__}; "
            "name the class the column references as the target."
        )
    return marker.target  # a column without a ForeignKey: the named target is trusted


def _single_column(prop: Any) -> Column[Any] | None:
    if isinstance(prop, ColumnProperty) and len(prop.columns) == 1:
        column = prop.columns[0]
        if isinstance(column, Column):
            return column
    return None


def _client_key(name: str, field: FieldInfo) -> str:
    """The key clients send for a field: its validation alias, else alias, else name."""
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    return field.alias or name
