"""Step `compile_view`: what a model view's requests use, built once into a `CompiledView`.

```python
compiled = BookView.__restly_compiled__
compiled.get_objects      # SELECT book ... WHERE book.id = :restly_id, with the eager loads
compiled.row_serializer   # JSON straight from rows, for a flat response (else None)
```

Request code binds the object once (`compiled = self.__restly_compiled__`) and reads fields;
nothing here runs per request. Prebuilt statements are used only where restly's own seams
decide the answer: an override of `build_list_query` may scope rows per request, an override
of `handle_list`/`handle_get`/`count_index`/`to_response_schema` may look at ORM objects.
Whether a seam is restly's own is `uses_default` (the `@restly_default` marker).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy import Select, bindparam, select

from .._introspect import column_python_type, mapper_of
from ..db import Scope
from ..query import DeferredListParams, deferred_list_params_dependency
from ..schemas import Page
from ._conditional import Conditional, compile_conditional
from ._lifecycle import Lifecycle, compile_lifecycle
from ._loading import loader_options
from ._options import set_derived, uses_default
from ._rows import DeferredRows
from ._schemas import deferred_list_params
from ._single import SingleWrites, compile_single_writes
from ._scopes import compile_scopes
from ._shapes import EXPAND, FIELDS, Shapes, compile_shapes

__all__ = ["ID_PARAMETER", "CompiledView", "compile_view"]

#: Name of the bound parameter of the prebuilt by-id statements.
ID_PARAMETER = "restly_id"

#: Where a view class keeps its `CompiledView`.
COMPILED = "__restly_compiled__"

#: The list adapter is built by pydantic on its first use: it only wraps the response
#: schema (already complete, so it cannot fail) and serves lists of ORM objects, which most
#: views never answer with (flat responses are written from rows).
_DEFERRED = ConfigDict(defer_build=True)


@dataclass(frozen=True, slots=True)
class CompiledView:
    """Everything a model view derives for its requests, built when its class is created."""

    #: The list parameters (built by pydantic on first use) and the list route's annotation
    #: of them: validated in one pass by restly's dependency, not by FastAPI per field.
    list_params: DeferredListParams
    list_params_annotation: Any
    #: The `{id}` path parameter: `id_type`, bounded to the column's range for integers.
    id_annotation: Any
    pk_column: Any
    #: `select(model)` with the loader options the response schema needs.
    base_statement: Select[Any]
    load_options: tuple[Any, ...]
    one_validator: Any
    list_adapter: TypeAdapter[Any]
    #: The response's column attributes, in order, when it shows only columns; else None.
    flat_columns: tuple[Any, ...] | None
    #: Whether list/get may read rows instead of ORM objects (see `_plain_reads`).
    plain_reads: bool
    custom_response: bool
    row_serializer: DeferredRows | None
    #: `build_list_query` and `handle_get` are restly's own: prebuilt statements apply.
    default_query: bool
    default_get: bool
    #: `handle_list` and `count_index` are restly's own: the list route runs their
    #: statements itself (reading the sort keys a cursor needs, or a planner's estimate).
    default_list: bool
    default_count: bool
    #: What cursors of this view are bound to (with the filters and order of a request).
    cursor_scope: str
    #: Whether list answers report a total (the envelope), so `Prefer: count=` applies.
    counts: bool
    get_objects: Select[Any]
    #: Delete reads its row with the lock (one statement, not a read and then a lock).
    get_objects_locked: Select[Any]
    get_rows: Select[Any] | None
    list_rows: Select[Any] | None
    #: What prepared list statements select (`restly.query.prepared_list`), or None when an
    #: override decides the list or its count.
    prepared_base: Select[Any] | None
    #: Prepared list statements by request shape, bounded by `restly.query.MAX_SHAPES`.
    list_statements: dict[Any, Any]
    #: The write pipeline's phases this view runs (`Lifecycle.NONE` without hooks).
    lifecycle: Lifecycle
    #: The model's column attribute names (what `snapshot` records).
    column_keys: tuple[str, ...]
    #: The primary key's attribute name (the id in a created object's `Location`).
    pk_key: str
    #: How the view tags its objects, or `None`: no ETags, no precondition headers read.
    conditional: Conditional | None
    #: The models the view's statements can name (see `restly.resource._scopes`), and the
    #: row scopes that apply to them: its routes resolve these per request.
    reached_models: frozenset[type[Any]]
    scopes: tuple[Scope, ...]
    #: ``PATCH`` as one ``UPDATE … RETURNING``, ``DELETE`` as one ``DELETE … RETURNING``,
    #: where nothing needs the row before the write (see `restly.resource._single`).
    single_writes: SingleWrites
    #: What `?fields=` and `?expand=` accept (`expandable`, `sparse_fields`), or `None`:
    #: the view reads neither parameter.
    shapes: Shapes | None


def compile_view(cls: Any) -> list[str]:
    """Build the `CompiledView` of model view `cls` (its schemas are derived); return the
    problems found on the way (a response that cannot show what a row scope hides)."""
    model = cls.model
    mapper = mapper_of(model)
    assert mapper is not None  # checked before compilation
    response = cls.response_schema
    pk_column = mapper.primary_key[0]
    load_options = loader_options(model, response)
    base_statement = select(model).options(*load_options)
    flat = _flat_columns(model, mapper, response, load_options)
    plain_reads = flat is not None and all(
        uses_default(cls, name)
        for name in ("handle_list", "handle_get", "count_index", "to_response_schema")
    )
    default_query = uses_default(cls, "build_list_query")
    list_rows = select(*flat) if plain_reads and flat else None
    prepared_base = None
    if default_query and uses_default(cls, "handle_list") and uses_default(cls, "count_index"):
        prepared_base = list_rows if list_rows is not None else base_statement
    list_params = deferred_list_params(cls)
    by_id = pk_column == bindparam(ID_PARAMETER, type_=pk_column.type)
    shapes, problems = compile_shapes(
        cls, lambda target: _read_schema_of(cls, target), base_statement, by_id
    )
    problems += _reserved_by_shapes(cls, shapes, list_params)
    if problems:
        return problems
    reached, scopes, problems = compile_scopes(cls)
    lifecycle = compile_lifecycle(cls)
    conditional = compile_conditional(
        cls, mapper, flat if plain_reads and default_query else None, by_id
    )
    ignored: frozenset[str] = frozenset()  # the keys the view reads itself
    if shapes is not None:
        ignored = frozenset((FIELDS,) * shapes.sparse + (EXPAND,) * bool(shapes.expansions))
    compiled = CompiledView(
        list_params=list_params,
        list_params_annotation=Annotated[
            Any, Depends(deferred_list_params_dependency(list_params, ignored))
        ],
        id_annotation=_id_annotation(cls.id_type, pk_column),
        pk_column=pk_column,
        base_statement=base_statement,
        load_options=load_options,
        one_validator=response.__pydantic_validator__,
        list_adapter=TypeAdapter(list[response], config=_DEFERRED),  # type: ignore[valid-type]
        flat_columns=flat,
        plain_reads=plain_reads,
        custom_response=not uses_default(cls, "to_response_schema"),
        row_serializer=(
            DeferredRows.for_schema(response, tuple(response.model_fields))
            if plain_reads
            else None
        ),
        default_query=default_query,
        default_get=uses_default(cls, "handle_get"),
        default_list=uses_default(cls, "handle_list"),
        default_count=uses_default(cls, "count_index"),
        cursor_scope=f"{cls.__module__}.{cls.__qualname__}",
        counts=bool(cls.include_pagination_metadata),
        get_objects=base_statement.where(by_id),
        get_objects_locked=base_statement.where(by_id).with_for_update(),
        get_rows=select(*flat).where(by_id) if plain_reads and flat else None,
        list_rows=list_rows,
        prepared_base=prepared_base,
        list_statements={},
        lifecycle=lifecycle,
        column_keys=tuple(attribute.key for attribute in mapper.column_attrs),
        pk_key=mapper.get_property_by_column(pk_column).key,
        conditional=conditional,
        reached_models=reached,
        scopes=scopes,
        single_writes=compile_single_writes(
            cls,
            mapper,
            lifecycle,
            flat if plain_reads else None,
            by_id,
            default_query=default_query,
        ),
        shapes=shapes,
    )
    set_derived(cls, COMPILED, compiled)
    if shapes is not None:  # documented with the expansions, and sparse when it can be
        documented = shapes.documented
        model = Page[documented] if cls.include_pagination_metadata else list[documented]  # type: ignore[valid-type]
        set_derived(cls, "list_response_model", model)
    return problems


def _read_schema_of(cls: Any, target: type[Any]) -> type[BaseModel] | None:
    """The response schema an expansion to ``target`` answers with: the view's own for
    its model, else that of the first view of ``target`` registered in its globals."""
    if target is cls.model:
        return cls.response_schema  # type: ignore[no-any-return]
    for view in cls.__restly_globals__.registry:
        if getattr(view, "model", None) is target and COMPILED in view.__dict__:
            return view.response_schema  # type: ignore[no-any-return]
    return None


def _reserved_by_shapes(cls: Any, shapes: Shapes | None, list_params: DeferredListParams) -> list[str]:
    """A view reading ``fields``/``expand`` cannot also filter on keys of those names."""
    if shapes is None:
        return []
    taken = {spec.key for spec in list_params.plan.filters}
    taken.update(getattr(cls, "extra_query_params", None) or ())
    accepted = (FIELDS,) * shapes.sparse + (EXPAND,) * bool(shapes.expansions)
    return [
        f"{cls.__name__} accepts ?{name}= (expandable / sparse_fields), but its list "
        f"parameters already have a key {name!r}; rename that field or extra query parameter."
        for name in accepted
        if name in taken
    ]


def _flat_columns(
    model: Any, mapper: Any, response: type[BaseModel], load_options: Any
) -> tuple[Any, ...] | None:
    """The column attributes a flat response schema shows, in order; `None` when it
    shows anything else (relationships, properties): then whole objects are loaded."""
    if load_options:
        return None
    columns = mapper.column_attrs
    if any(name not in columns for name in response.model_fields):
        return None
    return tuple(getattr(model, name) for name in response.model_fields)


def _id_annotation(id_type: Any, pk_column: Any) -> Any:
    """The `{id}` parameter: `id_type`, bounded to the column's range for integers."""
    column_annotation = column_python_type(pk_column.type)
    if id_type is int and typing.get_origin(column_annotation) is Annotated:
        return column_annotation
    return id_type
