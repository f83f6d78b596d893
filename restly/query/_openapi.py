"""The OpenAPI description of list parameters, for a route's ``openapi_extra``::

    Params = create_list_params_schema(BookSchema, model=Book)

    @app.get("/books", openapi_extra=list_params_openapi(Params))
    async def list_books(params: Annotated[Params, Depends(list_params_dependency(Params))]): ...

Each parameter carries the schema pydantic generates for its field, with shared definitions
(enums) written inline, since ``openapi_extra`` cannot add components.

A class straight from ``create_list_params_schema`` is described from its compiled plan:
asking pydantic for the JSON schema of a whole params class (~60 fields for a 7-column
schema) would cost milliseconds per view at class creation, while the views of an
application share a handful of value types. So each value type's schema is generated once
(``value_type_schema``) and each parameter is that schema plus its title and description,
exactly the document pydantic writes for the class (a test compares the two). Any other
class is described by pydantic's ``model_json_schema``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ._params import paging_openapi
from ._plan import ListPlan
from ._values import inline_definitions, value_type_schema

__all__ = ["list_params_openapi"]

def list_params_openapi(params_class: type[BaseModel]) -> dict[str, Any]:
    """``{"parameters": [...]}`` describing ``params_class``, for a route's ``openapi_extra``.

    Each parameter has the schema FastAPI would generate, with shared definitions (enums)
    written inline. Each call returns new parameter and schema dictionaries; what is nested
    in a schema may be shared with other parameters and views: do not change it in place.
    """
    # Only the class create_list_params_schema made has exactly the fields of its plan: a
    # subclass may add fields, and extra_query_params may hold any annotation or default.
    plan = params_class.__dict__.get("__list_plan__")
    if isinstance(plan, ListPlan) and not plan.extra_fields:
        return {"parameters": _plan_parameters(plan)}
    return {"parameters": _model_parameters(params_class)}


def _plan_parameters(plan: ListPlan) -> list[dict[str, Any]]:
    # In field order: ListParams declares page, page_size and order_by before the filters.
    parameters = [_parameter(key, False, schema) for key, schema in paging_openapi(plan).items()]
    for spec in plan.filters:
        # The type's schema is shared (not copied): a view has ~60 parameters, and fewer
        # objects to create and later garbage-collect is most of what makes this cheap.
        type_schema = value_type_schema(spec.value_type)
        schema = {**type_schema, "description": spec.description, "title": spec.key}
        # pydantic sorts the keys of every schema; the type's own are sorted already.
        parameters.append(_parameter(spec.key, False, dict(sorted(schema.items()))))
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
        parameters.append(_parameter(key, key in required, property_schema))
    return parameters


def _parameter(key: str, required: bool, schema: dict[str, Any]) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": key, "in": "query", "required": required, "schema": schema}
    if "description" in schema:
        parameter["description"] = schema["description"]
    return parameter
