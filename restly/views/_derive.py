"""What a model view derives once, when its class is created.

``derive_model_view`` fills in (unless the class declared them):

- ``schema`` (generated from the model), ``response_schema``, ``creation_schema``,
  ``update_schema`` and ``list_params_schema`` (checked now, built by pydantic when first
  used: see ``restly.query._params.defer_list_params_schema``);
- ``id_type`` (the primary key's Python type) and the annotation of the ``{id}`` path
  parameter, with the column's storage range for integers;
- ``list_response_model`` (a list, or the pagination envelope);
- the precomputed pieces requests use: primary-key column, base statement (with the loader
  options that eagerly load the relationships ``response_schema`` shows, see
  ``restly.views._loading``), serializers.
"""

from __future__ import annotations

import threading
import typing
import weakref
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model
from sqlalchemy import bindparam, select

from ..query._dependency import deferred_list_params_dependency
from ..query._params import DeferredListParams, ListParams, defer_list_params_schema
from ..resource import declared, set_derived
from ..schemas._derive import creation_schema_for, response_schema_for, update_schema_for
from ..schemas._generate import column_python_type, create_schema_from_model, mapper_of
from ..schemas._markers import is_write_only
from ..schemas._refs import check_references, idref_target
from ._loading import loader_options
from ._serialize import RowSerializer

__all__ = ["ID_PARAMETER", "Page", "derive_model_view"]

#: Name of the bound parameter of the prebuilt by-id statements.
ID_PARAMETER = "restly_id"

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """The list envelope of views with ``include_pagination_metadata = True``.

    ``Page[Model]`` is built once per model class (then reused, by views and your own
    routes alike) as a plain subclass of ``Page[Any]`` with ``items: list[Model]``: the same
    fields, name and schema as pydantic's parametrisation at half its cost, which every view
    with the envelope pays when its class is created. Other parameters (``Page[int]``, type
    variables) go through pydantic's generics as usual.
    """

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    items: list[T]
    total: int
    page: int
    page_size: int
    total_pages: int

    def __class_getitem__(cls, typevar_values: Any) -> Any:
        params = typevar_values
        if cls is Page and isinstance(params, type) and issubclass(params, BaseModel):
            envelope = _envelopes.get(params)
            if envelope is None:
                with _envelopes_lock:
                    envelope = _envelopes.get(params)
                    if envelope is None:
                        envelope = _envelopes[params] = _envelope(params)
            return envelope
        return super().__class_getitem__(params)


def _envelope(item: type[BaseModel]) -> type[BaseModel]:
    envelope: type[BaseModel] = create_model(
        f"Page[{item.__name__}]",
        __base__=_ANY_PAGE,
        __module__=Page.__module__,
        __doc__=None,  # as pydantic's parametrisations: no description in the schema
        items=(list[item], ...),  # type: ignore[valid-type]
    )
    return envelope


_ANY_PAGE = Page[Any]
# Weak keys: a model class made at runtime (tests, per-tenant schemas) can still go away.
_envelopes: weakref.WeakKeyDictionary[type[BaseModel], type[BaseModel]] = (
    weakref.WeakKeyDictionary()
)
_envelopes_lock = threading.Lock()


def derive_model_view(cls: Any) -> list[str]:
    """Derive schemas, id and list configuration and precomputed pieces of ``cls``."""
    model = cls.model
    mapper = mapper_of(model)
    assert mapper is not None  # checked before derivation
    schema = declared(cls, "schema") or create_schema_from_model(model)
    problems = _check_schema_fields(cls, schema) + _check_references(cls, schema)
    if problems:
        return problems
    response = declared(cls, "response_schema") or response_schema_for(schema)
    nested = _nested_relationship_fields(schema, mapper)
    creation = declared(cls, "creation_schema") or creation_schema_for(schema, read_only=nested)
    update = declared(cls, "update_schema") or update_schema_for(schema, read_only=nested)
    pk_column = mapper.primary_key[0]
    id_type = declared(cls, "id_type") or _python_type(column_python_type(pk_column.type))
    fr_globals = cls.__restly_target_globals__
    default_page_size = declared(cls, "default_page_size") or fr_globals.default_page_size
    max_page_size = declared(cls, "max_page_size") or fr_globals.max_page_size
    list_params = defer_list_params_schema(
        response,
        model=model,
        default_page_size=default_page_size,
        max_page_size=max_page_size,
        extra_query_params=declared(cls, "extra_query_params"),
        name=f"{model.__name__}ListParams",
    )
    load_options = loader_options(model, response)
    derived = {
        "schema": schema,
        "response_schema": response,
        "creation_schema": creation,
        "update_schema": update,
        "id_type": id_type,
        "default_page_size": default_page_size,
        "max_page_size": max_page_size,
        # Checked now; pydantic builds the class on first use (see defer_list_params_schema).
        "list_params_schema": _BuiltOnFirstRead(list_params),
        "_list_params": list_params,
        # Validated in one pass (FastAPI's query models inspect every field per request).
        "list_params_annotation": Annotated[
            Any, Depends(deferred_list_params_dependency(list_params))
        ],
        "list_response_model": (
            Page[response] if cls.include_pagination_metadata else list[response]  # type: ignore[valid-type]
        ),
        "id_annotation": _id_annotation(id_type, pk_column),
        "_pk_column": pk_column,
        "_base_statement": select(model).options(*load_options),
        "_load_options": load_options,
        "_flat_columns": _flat_columns(model, mapper, response, load_options),
        "_one_validator": response.__pydantic_validator__,
        "_list_adapter": TypeAdapter(list[response]),  # type: ignore[valid-type]
    }
    for name, value in derived.items():
        set_derived(cls, name, value)
    set_derived(cls, "_plain_reads", _plain_reads(cls))
    set_derived(cls, "_custom_response", not _is_own(cls, "to_response_schema"))
    set_derived(cls, "_row_serializer", _row_serializer(cls, response))
    for name, value in _prebuilt_statements(cls, model, pk_column).items():
        set_derived(cls, name, value)
    return []


class _BuiltOnFirstRead:
    """``list_params_schema`` of a view: the deferred class, built when first read."""

    __slots__ = ("deferred",)

    def __init__(self, deferred: DeferredListParams) -> None:
        self.deferred = deferred

    def __get__(self, instance: object, owner: type | None = None) -> type[ListParams]:
        return self.deferred.get()


def _prebuilt_statements(cls: Any, model: Any, pk_column: Any) -> dict[str, Any]:
    """Statements built once instead of per request, when ``build_list_query`` is restly's
    own (an override may scope rows per request, so then they are built per request)."""
    from ._rest import BaseRestView

    default_query = cls.build_list_query is BaseRestView.build_list_query
    by_id = pk_column == bindparam(ID_PARAMETER, type_=pk_column.type)
    flat = cls._flat_columns if cls._plain_reads else None
    list_rows = select(*flat) if flat else None
    # What prepared list statements select (restly.query._prepared): rows for a flat
    # response, else objects; none when an override decides the list or its count.
    prepared_base = None
    if default_query and _is_own(cls, "handle_list") and _is_own(cls, "count_index"):
        prepared_base = list_rows if list_rows is not None else cls._base_statement
    return {
        "_default_query": default_query,
        "_get_objects": cls._base_statement.where(by_id),
        # Delete reads its row with the lock (one statement, not a read and then a lock).
        "_get_objects_locked": cls._base_statement.where(by_id).with_for_update(),
        "_own_get": _is_own(cls, "handle_get"),
        "_get_rows": select(*flat).where(by_id) if flat else None,
        "_list_rows": list_rows,
        "_prepared_base": prepared_base,
        "_list_statements": {},  # by request shape: see restly.query._prepared
    }


def _row_serializer(cls: Any, response: type[BaseModel]) -> RowSerializer | None:
    """Serialises rows of a flat response straight to JSON (see ``restly.views._serialize``)."""
    if not cls._plain_reads:
        return None
    return RowSerializer.for_schema(response, tuple(response.model_fields))


def _flat_columns(
    model: Any, mapper: Any, response: type[BaseModel], load_options: Any
) -> tuple[Any, ...] | None:
    """The column attributes a flat response schema shows, in order; ``None`` when it
    shows anything else (relationships, properties): then whole objects are loaded."""
    if load_options:
        return None
    columns = mapper.column_attrs
    if any(name not in columns for name in response.model_fields):
        return None
    return tuple(getattr(model, name) for name in response.model_fields)


def _is_own(cls: Any, name: str) -> bool:
    """Whether ``cls`` uses restly's own implementation of method ``name``."""
    from ._rest import AsyncRestView, BaseRestView, RestView

    own = (getattr(base, name, None) for base in (BaseRestView, AsyncRestView, RestView))
    return getattr(cls, name) in set(filter(None, own))


def _plain_reads(cls: Any) -> bool:
    """Whether list/get may read rows instead of ORM objects: the schema is flat and the
    seams that would see the objects or the count (handle_list, handle_get, count_index,
    to_response_schema) are restly's own, so no override can tell the difference."""
    if cls._flat_columns is None:
        return False
    seams = ("handle_list", "handle_get", "count_index", "to_response_schema")
    return all(_is_own(cls, name) for name in seams)


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
    """Reference fields (``fr.IDRef``) must fit the model attribute they are written to."""
    problems = check_references(cls.__name__, cls.model, schema)
    for option in ("creation_schema", "update_schema"):
        declared_schema = declared(cls, option)
        if declared_schema is not None and declared_schema is not schema:
            problems += check_references(cls.__name__, cls.model, declared_schema, option)
    return problems


def _nested_relationship_fields(schema: type[BaseModel], mapper: Any) -> frozenset[str]:
    """Fields showing related rows as nested schemas: read-only (references are written
    with ``fr.IDRef``), so a nested object sent by a client never reaches the model."""
    relationships = set(mapper.relationships.keys())
    return frozenset(
        name
        for name, field in schema.model_fields.items()
        if name in relationships and idref_target(field) is None
    )


def _python_type(annotation: Any) -> Any:
    if typing.get_origin(annotation) is Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _id_annotation(id_type: Any, pk_column: Any) -> Any:
    """The ``{id}`` parameter: ``id_type``, bounded to the column's range for integers."""
    column_annotation = column_python_type(pk_column.type)
    if id_type is int and typing.get_origin(column_annotation) is Annotated:
        return column_annotation
    return id_type
