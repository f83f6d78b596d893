"""Step `derive_schemas`: the public options a model view derives when its class is created.

Unless the class declared them, `derive_schemas(cls)` sets:

- `schema` (generated from the model), `response_schema`, `creation_schema`, `update_schema`
  (the input schemas carry the storage limits of the model's columns);
- `id_type` (the primary key's Python type);
- `default_page_size` / `max_page_size` (the globals' when not declared);
- `list_params_schema` (output only: checked now, built by pydantic when first read, see
  `restly.query.defer_list_params_schema`) and `list_response_model` (a list, or
  `Page[response_schema]` with the envelope).

```python
derive_schemas(BookView)          # [] when fine, else one message per problem
BookView.creation_schema          # BookSchema without its ReadOnly fields
```

Errors raised by `restly.query` or pydantic while the list parameters are built are returned
as problems naming the option (`BookView.extra_query_params: ...`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, PydanticUserError
from sqlalchemy import Integer

from .._annotations import strip_annotated
from .._introspect import column_python_type, mapper_of
from ..exc import RestlyConfigurationError
from ..query import DeferredListParams, ListParams, defer_list_params_schema
from ..schemas import (
    Page,
    check_references,
    create_schema_from_model,
    creation_schema_for,
    idref_target,
    is_write_only,
    response_schema_for,
    update_schema_for,
)
from ._options import declared, set_derived

__all__ = ["deferred_list_params", "derive_schemas", "reported"]


def derive_schemas(cls: Any) -> list[str]:
    """Derive the schemas, id type and list configuration of `cls`; return problems."""
    model = cls.model
    mapper = mapper_of(model)
    assert mapper is not None  # checked before derivation
    schema = declared(cls, "schema") or create_schema_from_model(model)
    problems = _check_schema_fields(cls, schema) + _check_references(cls, schema)
    if problems:
        return problems
    response = declared(cls, "response_schema") or response_schema_for(schema)
    nested = _nested_relationship_fields(schema, mapper) | _generated_keys(schema)
    fr_globals = cls.__restly_globals__
    default_page_size = declared(cls, "default_page_size") or fr_globals.default_page_size
    max_page_size = declared(cls, "max_page_size") or fr_globals.max_page_size
    extras = declared(cls, "extra_query_params")
    try:
        list_params = defer_list_params_schema(
            response,
            model=model,
            default_page_size=default_page_size,
            max_page_size=max_page_size,
            extra_query_params=extras,
            name=f"{model.__name__}ListParams",
        )
    except PydanticUserError as error:  # an extra_query_params annotation pydantic refuses
        return [reported(cls, "extra_query_params" if extras else "response_schema", error)]
    except RestlyConfigurationError as error:
        option = "extra_query_params" if str(error).startswith("extra_query_params") else "response_schema"
        return [reported(cls, option, error)]
    pk_column = mapper.primary_key[0]
    derived = {
        "schema": schema,
        "response_schema": response,
        "creation_schema": declared(cls, "creation_schema")
        or creation_schema_for(schema, read_only=nested, model=model),
        "update_schema": declared(cls, "update_schema")
        or update_schema_for(schema, read_only=nested, model=model),
        "id_type": declared(cls, "id_type") or strip_annotated(column_python_type(pk_column.type)),
        "default_page_size": default_page_size,
        "max_page_size": max_page_size,
        # Checked now; pydantic builds the class on first read (see defer_list_params_schema).
        "list_params_schema": _BuiltOnFirstRead(list_params),
        "list_response_model": (
            Page[response] if cls.include_pagination_metadata else list[response]  # type: ignore[valid-type]
        ),
    }
    for name, value in derived.items():
        set_derived(cls, name, value)
    return []


def _generated_keys(schema: type[BaseModel]) -> frozenset[str]:
    """The fields of a schema that is itself a table model (SQLModel's ``table=True``) that
    the database generates: an autoincrementing integer primary key. Read-only on input,
    as on a generated schema; else a client could choose (or overwrite) a row's id."""
    table_mapper = mapper_of(schema)
    if table_mapper is None or len(table_mapper.primary_key) != 1:
        return frozenset()
    key = table_mapper.primary_key[0]
    if key.autoincrement not in (True, "auto") or not isinstance(key.type, Integer) or key.foreign_keys:
        return frozenset()
    name = table_mapper.get_property_by_column(key).key
    return frozenset({name}) if name in schema.model_fields else frozenset()


def deferred_list_params(cls: type) -> DeferredListParams:
    """The deferred list-parameters class `derive_schemas` set on `cls`."""
    descriptor = cls.__dict__["list_params_schema"]
    assert isinstance(descriptor, _BuiltOnFirstRead)
    return descriptor.deferred


def reported(cls: type, option: str, error: Exception) -> str:
    """A lower layer's error as a problem of `cls`, naming the option it came from."""
    # pydantic's messages run to several paragraphs: keep the rule and the docs link.
    paragraphs = [part.strip() for part in str(error).strip().split("\n\n")]
    text = paragraphs[0]
    if len(paragraphs) > 1 and paragraphs[-1].startswith("For further information"):
        text += " " + paragraphs[-1]
    if text.startswith(option):  # "extra_query_params [...] clash ...": reads as a check
        return f"{cls.__name__}.{text}"
    return f"{cls.__name__}.{option}: {text}"


class _BuiltOnFirstRead:
    """`list_params_schema` of a view: the deferred class, built when first read."""

    __slots__ = ("deferred",)

    def __init__(self, deferred: DeferredListParams) -> None:
        self.deferred = deferred

    def __get__(self, instance: object, owner: type | None = None) -> type[ListParams]:
        return self.deferred.get()


def _check_schema_fields(cls: Any, schema: type[BaseModel]) -> list[str]:
    """Every schema field must be a model attribute, unless restly never reads or writes it."""
    model = cls.model
    problems = []
    for name, field in schema.model_fields.items():
        if hasattr(model, name):
            continue
        if is_write_only(field) or not field.is_required():
            continue  # input-only, or has a default to answer with
        problems.append(
            f"{cls.__name__}.schema field {name!r} is not an attribute of "
            f"{model.__name__}; remove it, rename it to a {model.__name__} attribute, or "
            "give it a default."
        )
    return problems


def _check_references(cls: Any, schema: type[BaseModel]) -> list[str]:
    """Reference fields (`fr.IDRef`) must fit the model attribute they are written to."""
    problems = check_references(cls.__name__, cls.model, schema)
    for option in ("creation_schema", "update_schema"):
        declared_schema = declared(cls, option)
        if declared_schema is not None and declared_schema is not schema:
            problems += check_references(cls.__name__, cls.model, declared_schema, option)
    return problems


def _nested_relationship_fields(schema: type[BaseModel], mapper: Any) -> frozenset[str]:
    """Fields showing related rows as nested schemas: read-only (references are written
    with `fr.IDRef`), so a nested object sent by a client never reaches the model."""
    relationships = set(mapper.relationships.keys())
    return frozenset(
        name
        for name, field in schema.model_fields.items()
        if name in relationships and idref_target(field) is None
    )
