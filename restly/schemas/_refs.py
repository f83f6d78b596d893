"""References: schema fields that point at existing rows by id.

``fr.IDRef[Model]`` is a field whose wire value is the referenced row's primary key::

    class BookSchema(fr.IDSchema):
        title: str
        author: fr.IDRef[Author]              # relationship Book.author: gets the Author
        editor_id: fr.IDRef[Person] | None    # column Book.editor_id: gets the checked id
        tags: list[fr.IDRef[Tag]] = []        # to-many relationship Book.tags: gets the Tags

    POST /books  {"title": "Dune", "author": 5, "tags": [1, {"id": 2}]}
    ->  201      {"id": 1, "title": "Dune", "author": 5, "editor_id": null, "tags": [1, 2]}

How a field maps to the model is decided by what its name is on the model:

- a **relationship** (``author``, ``tags``): the ids are loaded and the ORM objects assigned;
  a scalar ``IDRef`` needs a many-to-one relationship, ``list[IDRef]`` a to-many one;
- a **column** (``author_id``): the id is checked to exist, then the id itself is assigned.

On input a reference is the id (``5``) or ``{"id": 5}``; ids are validated with the referenced
primary key's type and, for integers, its column's storage range (out of range -> 422). In
responses a reference is the scalar id. When writing, every reference field costs one query
(``session.get`` for one id, one ``IN`` query per list); an id that does not exist answers
404 ``{"detail": "Id not found for author: 5"}`` (``"Ids not found for tags: 7, 9"`` when a
list names several missing ids). A body sending both a relationship reference and its
foreign-key column (``author`` and ``author_id``) with different ids answers 422.

``fr.IDSchema[Model]`` is the nested form, ``{"id": 5}`` on input and output::

    class BookSchema(fr.IDSchema):
        author: fr.IDSchema[Author]           # {"author": {"id": 5}}

``idref_target(field)`` tells other parts of restly (and you) what a field references, e.g. to
filter list routes by reference fields::

    idref_target(BookSchema.model_fields["author"])    # RefTarget(model=Author, id_type=int)
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, Union

from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    BeforeValidator,
    GetJsonSchemaHandler,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ColumnProperty, RelationshipProperty, Session

from .._annotations import COLLECTIONS, UNIONS
from .._introspect import fk_partner, mapper_of, primary_key_attribute
from .._caches import class_cache
from ..db import get_fr_globals
from ..exc import NotFound
from ._base import checked_model, id_schema_for, pk_annotation, plain_type
from ._markers import RefTarget

__all__ = [
    "MAX_IDS_PER_QUERY",
    "IDRef",
    "Reference",
    "check_references",
    "documenting",
    "idref_target",
    "references_in",
    "resolve_references",
]

M = TypeVar("M")

MAX_IDS_PER_QUERY = 1000
"""Most ids one ``IN`` query carries; longer reference lists are fetched in several chunks,
so a huge list never exceeds a driver's bound-parameter limit."""

class _RefMarker:
    """``Annotated`` metadata that marks a reference to ``model``."""

    __slots__ = ("target",)

    def __init__(self, target: RefTarget) -> None:
        self.target = target

    def __repr__(self) -> str:
        return f"<restly reference to {self.target.model.__name__}>"

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        # Read when the OpenAPI document is generated, so views mounted after the schema
        # was declared count too.
        prefixes = _DOCUMENTED.get()
        if prefixes is None:  # a document restly does not build: the active globals' views
            prefixes = get_fr_globals().mounted_prefixes
        prefix = prefixes.get(self.target.model)
        if prefix is not None:
            json_schema["x-resource-ref"] = prefix
        return json_schema


#: Model -> path prefix of the REST view serving it in the app whose OpenAPI document is
#: being built (see `documenting`); reference fields to such a model carry
#: ``x-resource-ref``.
_DOCUMENTED: ContextVar[Mapping[type[Any], str] | None] = ContextVar(
    "restly_documented_prefixes", default=None
)


@contextmanager
def documenting(prefixes: Mapping[type[Any], str]) -> Iterator[None]:
    """Inside the block, reference fields name ``prefixes[model]`` as ``x-resource-ref``
    (restly wraps ``app.openapi`` with it, passing the app's own mounted prefixes)."""
    token = _DOCUMENTED.set(prefixes)
    try:
        yield
    finally:
        _DOCUMENTED.reset(token)


class IDRef(Generic[M]):
    """``IDRef[Model]``: a field holding the primary key of an existing ``Model`` row.

    ``IDRef[Author]`` is ``Annotated[int, ...]`` at runtime (the primary key's type, with
    the column's storage range), accepting ``5`` or ``{"id": 5}`` on input and answering
    ``5``. Use ``list[IDRef[Tag]]`` for to-many relationships and ``IDRef[Author] | None``
    for optional references. See the module documentation for how writes resolve it.
    """

    def __class_getitem__(cls, model: Any) -> Any:
        return _idref_annotation(model)


def idref_target(field: FieldInfo | Any) -> RefTarget | None:
    """Return what ``field`` references, or ``None`` for fields that are not references.

    ``field`` is a pydantic ``FieldInfo`` or an annotation. ``fr.IDRef[Model]``,
    ``fr.IDSchema[Model]``, their optional forms and lists of them are recognised.
    """
    found = _find_reference(field)
    return None if found is None else found[0]


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
        reference = _find_reference(field)
        prop = mapper.attrs.get(name)
        if reference is None or prop is None:
            continue
        target, many = reference
        is_relationship = isinstance(prop, RelationshipProperty)
        partner = fk_partner(mapper, prop) if isinstance(prop, RelationshipProperty) else None
        found.append(Reference(name, _client_key(name, field), target, many, is_relationship, partner))
    return tuple(found)


def check_references(
    owner: str, model: type[Any], schema: type[BaseModel], option: str = "schema"
) -> list[str]:
    """Return one message per reference field of ``schema`` (the view's ``option``) that
    cannot be written to ``model`` (wrong target, single vs. list mismatch, or not a
    relationship or column)."""
    mapper = mapper_of(model)
    assert mapper is not None
    problems: list[str] = []
    for name, field in schema.model_fields.items():
        reference = _find_reference(field)
        if reference is None or not hasattr(model, name):
            continue
        (target, _), many = reference
        where = f"{owner}.{option} field {name!r}"
        prop = mapper.attrs.get(name)
        wanted = f"list[fr.IDRef[{target.__name__}]]" if many else f"fr.IDRef[{target.__name__}]"
        if isinstance(prop, RelationshipProperty):
            related = prop.mapper.class_
            if not (issubclass(target, related) or issubclass(related, target)):
                problems.append(
                    f"{where} references {target.__name__} but {model.__name__}.{name} relates "
                    f"to {related.__name__}; use fr.IDRef[{related.__name__}]."
                )
            elif prop.uselist != many:
                single = f"fr.IDRef[{target.__name__}]"
                fix = f"list[{single}]" if prop.uselist else single
                kind = "to-many" if prop.uselist else "many-to-one"
                problems.append(
                    f"{where} is {wanted} but {model.__name__}.{name} is a {kind} "
                    f"relationship; use {fix}."
                )
        elif isinstance(prop, ColumnProperty):
            if many:
                problems.append(
                    f"{where} is {wanted} but {model.__name__}.{name} is a column, which holds "
                    f"one id; use fr.IDRef[{target.__name__}], or name the to-many relationship."
                )
        else:
            problems.append(
                f"{where} is {wanted} but {model.__name__}.{name} is neither a relationship "
                "nor a column; name the field after one of them."
            )
    return problems


def resolve_references(
    session: Session | AsyncSession,
    model: type[Any],
    schema: type[BaseModel],
    values: dict[str, Any],
) -> dict[str, Any]:
    """Return ``values`` with each reference of ``schema`` replaced by what ``model`` stores.

    Relationship references become the loaded ORM object(s), column references stay ids
    once checked. One query per reference field (``session.get`` for one id, ``IN`` for a
    list). Raises ``NotFound`` (404) naming missing ids and ``RequestValidationError`` (422)
    when a relationship and its foreign-key column are both sent and disagree. Async code
    runs it through ``AsyncSession.run_sync``.
    """
    references = references_in(schema, model)
    if not references:
        return values
    if not isinstance(session, Session):
        raise TypeError(
            "resolve_references() needs a sync Session; with an AsyncSession use "
            "await session.run_sync(resolve_references, model, schema, values)."
        )
    _check_consistency(references, values)
    resolved = dict(values)
    for reference in references:
        raw = values.get(reference.name)
        if reference.name not in values or raw is None:
            continue
        if reference.many:
            ids = list(dict.fromkeys(_id_of(item) for item in raw))
            objects = _fetch_many(session, reference.target, ids)
            missing = [item for item in ids if item not in objects]
            if missing:
                noun = "Id" if len(missing) == 1 else "Ids"
                listed = ", ".join(str(item) for item in missing)
                raise NotFound(f"{noun} not found for {reference.label}: {listed}")
            resolved[reference.name] = (
                [objects[item] for item in ids] if reference.relationship else ids
            )
        else:
            ident = _id_of(raw)
            obj = session.get(reference.target.model, ident)
            if obj is None:
                raise NotFound(f"Id not found for {reference.label}: {ident}")
            resolved[reference.name] = obj if reference.relationship else ident
    return resolved


# -- building the types ------------------------------------------------------------------


def _idref_annotation(model: Any) -> Any:
    if isinstance(model, type):
        annotation = model.__dict__.get("__restly_cache__", {}).get("idref")
        if annotation is not None:
            return annotation
    model = checked_model(model, "IDRef")
    annotation = class_cache(model)["idref"] = _build_idref(model)
    return annotation


def _build_idref(model: type[Any]) -> Any:
    pk = pk_annotation(model)
    target = RefTarget(model, plain_type(pk))
    unwrap = BeforeValidator(
        _unwrap_id(model), json_schema_input_type=Union[pk, id_schema_for(model)]
    )
    return Annotated[pk, unwrap, _RefMarker(target)]


def _pk_key(model: type[Any]) -> str:
    mapper = mapper_of(model)
    assert mapper is not None
    return primary_key_attribute(mapper)


def _unwrap_id(model: type[Any]) -> Any:
    pk_key = _pk_key(model)

    def unwrap(value: Any) -> Any:
        if isinstance(value, model):
            return getattr(value, pk_key)  # an ORM object, read for a response
        if isinstance(value, dict) and "id" in value:
            return value["id"]
        if isinstance(value, BaseModel) and hasattr(value, "id"):
            return value.id
        return value

    return unwrap


# -- reading schemas ---------------------------------------------------------------------


def _find_reference(field: FieldInfo | Any) -> tuple[RefTarget, bool] | None:
    """``(target, many)`` for a reference field or annotation, else ``None``."""
    if isinstance(field, FieldInfo):
        for item in field.metadata:
            if isinstance(item, _RefMarker):
                return item.target, False
        return _find_in(field.annotation, many=False)
    return _find_in(field, many=False)


def _find_in(annotation: Any, *, many: bool) -> tuple[RefTarget, bool] | None:
    target = getattr(annotation, "__restly_ref_target__", None)
    if isinstance(annotation, type) and isinstance(target, RefTarget):
        return target, many
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        for item in annotation.__metadata__:
            if isinstance(item, _RefMarker):
                return item.target, many
        return _find_in(args[0], many=many)
    if origin in UNIONS:
        members = [arg for arg in args if arg is not type(None)]
        return _find_in(members[0], many=many) if len(members) == 1 else None
    if origin in COLLECTIONS and not many and args and args[-1] is not Ellipsis:
        return _find_in(args[0], many=True)
    if origin is tuple and not many and len(args) == 2 and args[1] is Ellipsis:
        return _find_in(args[0], many=True)
    return None


def _client_key(name: str, field: FieldInfo) -> str:
    """The key clients send for a field: its validation alias, else alias, else name."""
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    return field.alias or name


# -- writing -----------------------------------------------------------------------------


def _id_of(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) else value


def _check_consistency(references: Iterable[Reference], values: dict[str, Any]) -> None:
    errors = []
    for reference in references:
        partner = reference.partner
        if partner is None or reference.name not in values or partner not in values:
            continue
        ident, column_value = _id_of(values[reference.name]), _id_of(values[partner])
        if ident != column_value:
            errors.append(
                {
                    "type": "value_error",
                    "loc": ("body", reference.label),
                    "msg": (
                        f"Value error, {reference.label} ({ident}) and {partner} "
                        f"({column_value}) disagree; send one of them"
                    ),
                    "input": values[reference.name],
                }
            )
    if errors:
        raise RequestValidationError(errors)


def _fetch_many(session: Session, target: RefTarget, ids: list[Any]) -> dict[Any, Any]:
    """``{id: object}`` for the ``ids`` that exist, one ``IN`` query per chunk."""
    mapper = mapper_of(target.model)
    assert mapper is not None
    pk_key = _pk_key(target.model)
    pk_attribute = getattr(target.model, pk_key)
    found: dict[Any, Any] = {}
    for chunk in _chunks(ids, MAX_IDS_PER_QUERY):
        for obj in session.scalars(select(target.model).where(pk_attribute.in_(chunk))):
            found[getattr(obj, pk_key)] = obj
    return found


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
