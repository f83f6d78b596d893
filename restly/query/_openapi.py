"""The OpenAPI description of list parameters, for a route's ``openapi_extra``::

    Params = create_list_params_schema(BookSchema, model=Book)

    @app.get("/books", openapi_extra=list_params_openapi(Params))
    async def list_books(params: Annotated[Params, Depends(list_params_dependency(Params))]): ...

Each parameter carries the JSON schema pydantic generates for its field, written compactly
(``compact_schema``): a query parameter is never ``null`` (``"required": false`` already says
it may be left out), so the ``anyOf [X, null]`` of an optional field becomes ``X``; the
field's title repeats the parameter's name and its description sits on the parameter, so
neither is repeated in the schema; shared definitions (enums) are written inline, since
``openapi_extra`` cannot add components. A list route documents ~50 keys per resource: this
makes their part of ``app.openapi()`` 40 % smaller.

A class straight from ``create_list_params_schema`` is described from its compiled plan:
asking pydantic for the JSON schema of a whole params class (~60 fields for a 7-column
schema) would cost milliseconds per view at class creation, while the views of an
application share a handful of value types. So each value type's schema is generated and
compacted once (``value_type_schema``), and shared by every parameter of that type: the
same document as compacting pydantic's schema of the class (a test compares the two). Any
other class is described from pydantic's ``model_json_schema``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .._caches import put_bounded
from ._params import DeferredListParams, paging_openapi
from ._plan import ListPlan
from ._values import MAX_VALUE_TYPES, inline_definitions, value_type_schema

__all__ = ["compact_schema", "deferred_list_params_openapi", "list_params_openapi"]

def list_params_openapi(params_class: type[BaseModel]) -> dict[str, Any]:
    """``{"parameters": [...]}`` describing ``params_class``, for a route's ``openapi_extra``.

    Each parameter has the schema pydantic generates for its field, compacted (see the
    module's docstring), with shared definitions (enums) written inline. Each call returns
    new parameter dictionaries; their schemas may be shared with other parameters and
    views: do not change them in place.
    """
    # Only the class create_list_params_schema made has exactly the fields of its plan: a
    # subclass may add fields, and extra_query_params may hold any annotation or default.
    plan = params_class.__dict__.get("__list_plan__")
    if isinstance(plan, ListPlan) and not plan.extra_fields:
        return {"parameters": _plan_parameters(plan)}
    return {"parameters": _model_parameters(params_class)}


def deferred_list_params_openapi(deferred: DeferredListParams) -> dict[str, Any]:
    """``list_params_openapi`` of a deferred class, from its plan: the class is not built
    (unless it has ``extra_query_params``, and then it already is)."""
    if deferred.has_extras:
        return list_params_openapi(deferred.get())
    return {"parameters": _plan_parameters(deferred.plan)}


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (a query parameter's) without ``null``, ``title`` and ``description``.

    ``{"anyOf": [X, {"type": "null"}], "title": ..., "default": 3}`` becomes ``X`` with its
    default; an ``anyOf`` of several other types keeps them; keys stay sorted.
    """
    compact = {key: value for key, value in schema.items() if key not in _DROPPED}
    branches = compact.get("anyOf")
    if branches is not None:
        kept = [branch for branch in branches if branch != _NULL]
        del compact["anyOf"]
        if len(kept) == 1:
            compact.update(kept[0])
        else:
            compact["anyOf"] = kept
    return dict(sorted(compact.items()))


_DROPPED = frozenset({"title", "description"})
_NULL = {"type": "null"}
# Compacted schema of each value type's shared schema, by the shared schema's id; the entry
# holds the shared schema, so its id is not reused while the entry exists.
_compacted: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _plan_parameters(plan: ListPlan) -> list[dict[str, Any]]:
    # In field order: ListParams declares page, page_size and order_by before the filters.
    parameters = [
        _parameter(key, False, schema["description"], compact_schema(schema))
        for key, schema in paging_openapi(plan).items()
    ]
    for spec in plan.filters:
        # One schema per value type, shared: a view has ~50 parameters, and fewer objects
        # to create and later garbage-collect is most of what makes this cheap.
        type_schema = value_type_schema(spec.value_type)
        entry = _compacted.get(id(type_schema))
        if entry is None:
            entry = (type_schema, compact_schema(type_schema))
            put_bounded(_compacted, id(type_schema), entry, MAX_VALUE_TYPES)
        schema = entry[1]
        parameters.append(_parameter(spec.key, False, spec.description, schema))
    return parameters


def _model_parameters(params_class: type[BaseModel]) -> list[dict[str, Any]]:
    schema = params_class.model_json_schema(by_alias=True)
    definitions = schema.get("$defs", {})
    parameters = []
    required = set(schema.get("required", ()))
    for key, property_schema in schema["properties"].items():
        property_schema = inline_definitions(property_schema, definitions)
        if "default" in property_schema and property_schema["default"] is None:
            del property_schema["default"]  # FastAPI does not show a None default either
        description = property_schema.get("description")
        parameters.append(
            _parameter(key, key in required, description, compact_schema(property_schema))
        )
    return parameters


def _parameter(
    key: str, required: bool, description: str | None, schema: dict[str, Any]
) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": key, "in": "query", "required": required, "schema": schema}
    if description is not None:
        parameter["description"] = description
    return parameter
