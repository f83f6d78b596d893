"""Step `check`, continued: refuse FastAPI-Restly spellings that restly would ignore.

A view ported from FastAPI-Restly keeps working only if every name it overrides means
something to restly. A `build_query` override that restly never calls would silently drop a
tenant filter, so a REST view defining one fails when its class is created, naming restly's
equivalent:

```text
PostView.build_query is FastAPI-Restly's spelling, which restly never calls; rename it to
build_list_query (the statement every route of the view starts from: list, count, get,
update and delete).
```

Methods decorated as routes (`@fr.get(...)`, ...) are the view's own endpoints and are never
refused, whatever their name.
"""

from __future__ import annotations

from .._routing import route_spec

__all__ = ["check_porting_names"]

_LIST = "handle_list(query_params, query=None) (returns the objects of one list request)"
_GET = "handle_get(id) (returns the object, raising fr.exc.NotFound)"
_CREATE = "handle_create(schema_obj) (creates, saves and returns the object)"
_UPDATE = "handle_update(id, schema_obj) (applies the sent fields, saves and returns it)"
_DELETE = "handle_delete(id)"

#: FastAPI-Restly names (0.5 to 0.11) -> what a restly view spells instead.
RENAMED: dict[str, str] = {
    # options
    "schema_create": "creation_schema (the schema POST accepts)",
    "schema_update": "update_schema (the schema PATCH accepts)",
    "paginated": "include_pagination_metadata (True answers {items, total, page, ...})",
    # read scope and wire shape
    "build_query": (
        "build_list_query (the statement every route of the view starts from: list, "
        "count, get, update and delete)"
    ),
    "apply_query_params": _LIST,
    "to_response": "to_response_schema(obj) (the schema object an answer is built from)",
    # business verbs and request handlers
    "get_many": _LIST,
    "get_one": _GET,
    "create": _CREATE,
    "update": _UPDATE,
    "handle_get_many": _LIST,
    "handle_get_one": _GET,
    "perform_listing": _LIST,
    "perform_get": _GET,
    "perform_create": _CREATE,
    "perform_update": _UPDATE,
    "perform_delete": _DELETE,
    "on_list": _LIST,
    "on_get": _GET,
    "on_create": _CREATE,
    "on_update": _UPDATE,
    "on_delete": _DELETE,
    "count_listing": "count_index(query_params) (the total of a list request)",
    # route shells
    "get_many_endpoint": "index (the GET list route)",
    "listing": "index (the GET list route)",
    "get_one_endpoint": "get (the GET by id route)",
    "create_endpoint": "post (the POST route)",
    "update_endpoint": "patch (the PATCH route)",
    "delete_endpoint": "delete (the DELETE route)",
}


def check_porting_names(cls: type) -> list[str]:
    """One message per FastAPI-Restly name that `cls` (a REST view) defines or inherits."""
    problems = []
    for name, instead in RENAMED.items():
        value = getattr(cls, name, None)
        if value is None or route_spec(value) is not None:
            continue
        owner = _defined_in(cls, name)
        where = "" if owner is cls else f" (inherited from {owner.__name__})"
        problems.append(
            f"{cls.__name__}.{name}{where} is FastAPI-Restly's spelling, which restly never "
            f"calls; rename it to {instead}."
        )
    return problems


def _defined_in(cls: type, name: str) -> type:
    return next(klass for klass in cls.__mro__ if name in vars(klass))
