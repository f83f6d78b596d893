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
responses a reference is the scalar id.

``fr.MustExist[int, Author]`` is a plain scalar foreign key (``author_id: 5`` in and out, typed
as written) whose target row is checked to exist before anything is written;
``fr.MustExist[int]`` takes the target from the column's single ``ForeignKey``::

    class BookSchema(fr.IDSchema):
        author_id: fr.MustExist[int]                    # Book.author_id -> author.id
        editor_id: fr.MustExist[int, Person] | None = None

``fr.IDSchema[Model]`` is the nested form, ``{"id": 5}`` on input and output::

    class BookSchema(fr.IDSchema):
        author: fr.IDSchema[Author]           # {"author": {"id": 5}}

This module builds the types and reads them back from schemas; ``_ref_fields`` maps the
fields of a schema to a model (and checks them when a view class is created), ``_resolve``
checks and loads the referenced rows on write (one query per referenced model; a missing id
answers 404 ``{"detail": "Id not found for author: 5"}``).

``idref_target(field)`` tells other parts of restly (and you) what a field references, e.g. to
filter list routes by reference fields::

    idref_target(BookSchema.model_fields["author"])    # RefTarget(model=Author, id_type=int)
"""

from __future__ import annotations

import typing
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, Generic, Union

from pydantic import BaseModel, BeforeValidator, GetJsonSchemaHandler
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from typing_extensions import TypeAliasType, TypeVar

from .._annotations import COLLECTIONS, UNIONS
from .._caches import class_cache
from .._introspect import mapper_of, primary_key_attribute
from ..db import get_fr_globals
from ._base import checked_model, id_schema_for, pk_annotation, plain_type
from ._markers import RefTarget

__all__ = [
    "IDRef",
    "MustExist",
    "MustExistMarker",
    "documenting",
    "find_reference",
    "idref_target",
    "pk_key",
]

M = TypeVar("M")
T = TypeVar("T")
Target = TypeVar("Target", default=Any)


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


class MustExistMarker:
    """``Annotated`` metadata of ``fr.MustExist[annotation, target]``; ``target`` is
    ``None`` when it is to be inferred from the column's foreign key."""

    __slots__ = ("annotation", "target")

    def __init__(self, annotation: Any, target: type[Any] | None) -> None:
        self.annotation = annotation
        self.target = target

    def __repr__(self) -> str:
        return f"<restly existence check: {self.spelling()}>"

    def spelling(self, target: str | None = None) -> str:
        """How the field is written: ``fr.MustExist[int]``, ``fr.MustExist[int, Author]``."""
        name = getattr(self.annotation, "__name__", None) or repr(self.annotation)
        if target is None and self.target is not None:
            target = self.target.__name__
        return f"fr.MustExist[{name}]" if target is None else f"fr.MustExist[{name}, {target}]"


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


#: The id type a type checker sees for ``IDRef[Model]`` (``IDRef[Model, uuid.UUID]``).
IdT = TypeVar("IdT", default=int)

if typing.TYPE_CHECKING:
    #: For type checkers ``IDRef[Author]`` is the id itself, an ``int`` (``IDRef[Token,
    #: uuid.UUID]`` for another key type): a field typed with it reads as the id.
    IDRef = TypeAliasType("IDRef", IdT, type_params=(M, IdT))
else:

    class IDRef:
        """``IDRef[Model]``: a field holding the primary key of an existing ``Model`` row.

        ``IDRef[Author]`` is ``Annotated[int, ...]`` at runtime (the primary key's type, with
        the column's storage range), accepting ``5`` or ``{"id": 5}`` on input and answering
        ``5``. Use ``list[IDRef[Tag]]`` for to-many relationships and ``IDRef[Author] | None``
        for optional references. See the module documentation for how writes resolve it.

        Type checkers see the id's type: ``int``, or the second argument for another key
        type (``IDRef[Token, uuid.UUID]``), which must then be the key's type.
        """

        def __class_getitem__(cls, params: Any) -> Any:
            model, *id_type = params if isinstance(params, tuple) else (params,)
            annotation = _idref_annotation(model)
            if id_type:
                _check_id_type(model, id_type, annotation)
            return annotation


class MustExist(Generic[T, Target]):
    """``MustExist[int, Author]``: a scalar foreign key whose ``Author`` row must exist.

    At runtime it is ``Annotated[int, ...]``: the value is validated as the type written
    and assigned to the model's column as it is, once a query has found the row (a missing
    or hidden row answers 404 like a missing ``fr.IDRef``). ``MustExist[int]`` takes the
    target from the column's single ``ForeignKey``; that is resolved when the view class is
    created, which reports a column it cannot resolve. Use ``MustExist[int] | None`` for a
    nullable foreign key.
    """

    def __class_getitem__(cls, params: Any) -> Any:
        annotation, *rest = params if isinstance(params, tuple) else (params,)
        if len(rest) > 1:
            raise TypeError(
                f"fr.MustExist takes a type and optionally a model, e.g. "
                f"fr.MustExist[int, Author] or fr.MustExist[int]; got {1 + len(rest)} arguments"
            )
        if not rest:
            return Annotated[annotation, MustExistMarker(annotation, None)]
        model = checked_model(rest[0], "MustExist")
        cache = class_cache(model)
        key: Hashable = ("must_exist", annotation)
        marker = cache.get(key)
        if marker is None:
            marker = cache[key] = MustExistMarker(annotation, model)
        return Annotated[annotation, marker]


def idref_target(field: FieldInfo | Any) -> RefTarget | None:
    """Return what ``field`` references, or ``None`` for fields that are not references.

    ``field`` is a pydantic ``FieldInfo`` or an annotation. ``fr.IDRef[Model]``,
    ``fr.IDSchema[Model]``, their optional forms and lists of them are recognised; a
    ``fr.MustExist`` field is a plain scalar column, not a reference, to the list routes.
    """
    found = find_reference(field)
    if found is None or not isinstance(found[0], RefTarget):
        return None
    return found[0]


def pk_key(model: type[Any]) -> str:
    """The attribute holding ``model``'s primary key (a referenceable, mapped class)."""
    mapper = mapper_of(model)
    assert mapper is not None
    return primary_key_attribute(mapper)


# -- building the types ------------------------------------------------------------------


def _idref_annotation(model: Any) -> Any:
    if isinstance(model, type):
        annotation = model.__dict__.get("__restly_cache__", {}).get("idref")
        if annotation is not None:
            return annotation
    model = checked_model(model, "IDRef")
    annotation = class_cache(model)["idref"] = _build_idref(model)
    return annotation


def _check_id_type(model: Any, given: list[Any], annotation: Any) -> None:
    """``IDRef[Model, id_type]``: ``id_type`` must be the type of ``Model``'s key."""
    actual = plain_type(typing.get_args(annotation)[0])
    if len(given) != 1 or given[0] is not actual:
        names = ", ".join(getattr(kind, "__name__", repr(kind)) for kind in given)
        raise TypeError(
            f"fr.IDRef[{model.__name__}, {names}]: the second argument is the type of "
            f"{model.__name__}'s primary key, {actual.__name__}; write "
            f"fr.IDRef[{model.__name__}, {actual.__name__}] or fr.IDRef[{model.__name__}]"
        )


def _build_idref(model: type[Any]) -> Any:
    pk = pk_annotation(model)
    target = RefTarget(model, plain_type(pk))
    unwrap = BeforeValidator(
        _unwrap_id(model), json_schema_input_type=Union[pk, id_schema_for(model)]
    )
    return Annotated[pk, unwrap, _RefMarker(target)]


def _unwrap_id(model: type[Any]) -> Any:
    key = pk_key(model)

    def unwrap(value: Any) -> Any:
        if isinstance(value, model):
            return getattr(value, key)  # an ORM object, read for a response
        if isinstance(value, dict) and "id" in value:
            return value["id"]
        if isinstance(value, BaseModel) and hasattr(value, "id"):
            return value.id
        return value

    return unwrap


# -- reading schemas ---------------------------------------------------------------------


def find_reference(field: FieldInfo | Any) -> tuple[RefTarget | MustExistMarker, bool] | None:
    """``(target, many)`` for a reference field or annotation, else ``None``: the target is
    a ``RefTarget`` (``IDRef``, ``IDSchema``) or the ``MustExistMarker`` of a checked
    foreign key."""
    if isinstance(field, FieldInfo):
        for item in field.metadata:
            found = _marked(item)
            if found is not None:
                return found, False
        return _find_in(field.annotation, many=False)
    return _find_in(field, many=False)


def _marked(item: Any) -> RefTarget | MustExistMarker | None:
    if isinstance(item, _RefMarker):
        return item.target
    return item if isinstance(item, MustExistMarker) else None


def _find_in(annotation: Any, *, many: bool) -> tuple[RefTarget | MustExistMarker, bool] | None:
    target = getattr(annotation, "__restly_ref_target__", None)
    if isinstance(annotation, type) and isinstance(target, RefTarget):
        return target, many
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        for item in annotation.__metadata__:
            found = _marked(item)
            if found is not None:
                return found, many
        return _find_in(args[0], many=many)
    if origin in UNIONS:
        members = [arg for arg in args if arg is not type(None)]
        return _find_in(members[0], many=many) if len(members) == 1 else None
    if origin in COLLECTIONS and not many and args and args[-1] is not Ellipsis:
        return _find_in(args[0], many=True)
    if origin is tuple and not many and len(args) == 2 and args[1] is Ellipsis:
        return _find_in(args[0], many=True)
    return None
