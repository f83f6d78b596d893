"""Eager loading: what a view loads with every object so its responses never lazy-load.

When a view class is created, ``loader_options(model, response_schema)`` reads the response
schema once and returns the SQLAlchemy loader options its responses need::

    class AuthorSchema(fr.IDSchema):
        name: str

    class BookSchema(fr.IDSchema):
        title: str
        author: fr.ReadOnly[AuthorSchema]          # many-to-one, nested
        tags: list[fr.IDRef[Tag]] = []             # to-many, ids

    loader_options(Book, BookSchema)
    # (selectinload(Book.author), selectinload(Book.tags))

Every response field that is a relationship of the model is loaded with ``selectinload``:
one extra ``SELECT ... IN`` per relationship, whatever the number of rows (up to
``LOAD_CHUNK_SIZE`` parents per ``IN``, which covers a full page of the default
``max_page_size``). Nested schemas are followed recursively up to ``MAX_LOAD_DEPTH``
relationships deep, and a schema already being expanded on the current path is not expanded
again. A schema nesting itself through a self-referential relationship (a tree:
``children: list["CategorySchema"]``) is loaded level by level, one query per level, up to
``MAX_TREE_DEPTH`` levels. Deferred columns a schema shows are undeferred.

The options are part of the view's base statement, so the list, get, update and delete
routes, and ``build_list_query()`` overrides built on ``super()``, carry them; created objects
and updated objects whose relationships or foreign keys changed are re-selected with them
(see ``save_object``). Async views therefore never lazy-load while serialising, which would
fail with ``MissingGreenlet``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import ColumnProperty, RelationshipProperty, selectinload, undefer
from sqlalchemy.orm.interfaces import LoaderOption

from .._annotations import nested_models
from .._introspect import mapper_of

__all__ = [
    "LOAD_CHUNK_SIZE",
    "MAX_LOAD_DEPTH",
    "MAX_TREE_DEPTH",
    "loader_options",
]

MAX_LOAD_DEPTH = 4
"""How many relationships deep nested response schemas are loaded eagerly."""

MAX_TREE_DEPTH = 32
"""How many levels of a self-referencing schema (a tree) are loaded eagerly."""

LOAD_CHUNK_SIZE = 1000
"""Most parent rows one eager ``IN`` query covers: a list of up to 1000 rows costs one
query per relationship (SQLAlchemy's default is 500)."""

_NOT_EAGER = frozenset({"dynamic", "write_only", "noload"})


def loader_options(model: type[Any], schema: type[BaseModel]) -> tuple[LoaderOption, ...]:
    """Return the loader options that load everything ``schema`` reads from ``model``."""
    return tuple(_options(model, schema, depth=1, path=(schema,)))


def _options(
    model: type[Any], schema: type[BaseModel], *, depth: int, path: tuple[type[BaseModel], ...]
) -> list[LoaderOption]:
    mapper = mapper_of(model)
    if mapper is None:
        return []
    options: list[Any] = []
    for name in schema.model_fields:
        prop = mapper.attrs.get(name)
        if isinstance(prop, ColumnProperty) and prop.deferred:
            options.append(undefer(getattr(model, name)))
        if not isinstance(prop, RelationshipProperty) or prop.lazy in _NOT_EAGER:
            continue
        attribute = getattr(model, name)
        nested_schemas = nested_models(schema.model_fields[name].annotation)
        if prop.mapper is mapper and any(name in n.model_fields for n in nested_schemas):
            # A tree: the nested schema shows the same self-referential relationship again.
            options.append(
                selectinload(attribute, recursion_depth=MAX_TREE_DEPTH, chunksize=LOAD_CHUNK_SIZE)
            )
            continue
        option = selectinload(attribute, chunksize=LOAD_CHUNK_SIZE)
        children: list[Any] = []
        if depth < MAX_LOAD_DEPTH:
            for nested in nested_schemas:
                if nested not in path:
                    children += _options(
                        prop.mapper.class_, nested, depth=depth + 1, path=(*path, nested)
                    )
        options.append(option.options(*children) if children else option)
    return options
