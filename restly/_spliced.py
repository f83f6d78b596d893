"""Query parameters restly generates, added to an app's OpenAPI document after FastAPI built it.

A list route documents ~50 query parameters (`restly.query._openapi`), which FastAPI would
validate into its OpenAPI models and walk back to JSON with the rest of the document: at
200 list routes that is 40 % of the time `app.openapi()` spends turning its document into
JSON. The parameters are JSON already, so restly's wrapper of `app.openapi`
(`restly.mount`) keeps them aside while FastAPI builds the document and adds a copy of
them afterwards, where FastAPI would have put them::

    extra = generated({"parameters": [...]})          # a route's openapi_extra
    with spliced_parameters(app.routes) as pending:   # FastAPI does not see them here
        document = build()
    splice(document, pending)                         # the same document as before

Only what restly generated is kept aside (`generated` marks it): an `openapi_extra` of a
user's own still goes through FastAPI, which checks it. The copy drops `None` values and
refuses anything but JSON values, as FastAPI's encoder would; a route whose parameters hold
anything else is left to FastAPI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["GeneratedExtra", "generated", "hidden", "splice", "spliced_parameters"]


class GeneratedExtra(dict[str, Any]):
    """An `openapi_extra` restly generated: only `parameters`, every value JSON."""


def generated(extra: dict[str, Any]) -> GeneratedExtra:
    """Mark `extra` (`{"parameters": [...]}`) as restly's own, to be spliced."""
    return GeneratedExtra(extra)


#: Ids of the routes whose generated parameters are kept aside while the document is built.
_HIDDEN: ContextVar[frozenset[int]] = ContextVar("restly_hidden_parameters", default=frozenset())

#: (path, method, parameters) to add to a document.
Pending = list[tuple[str, str, list[Any]]]


def hidden(route: object) -> bool:
    """Whether `route`'s generated parameters are kept aside from FastAPI right now."""
    return id(route) in _HIDDEN.get()


@contextmanager
def spliced_parameters(routes: list[Any]) -> Iterator[Pending]:
    """Inside the block, the generated parameters of `routes` (an app's own routes; those
    of routers it includes are left to FastAPI) are hidden from FastAPI; yields what
    `splice` adds back."""
    pending: Pending = []
    ids = set()
    for route in routes:
        extra = getattr(route, "__dict__", {}).get("_restly_openapi_extra")
        if (
            type(extra) is not GeneratedExtra
            or not getattr(route, "include_in_schema", False)
            or list(extra) != ["parameters"]
        ):
            continue
        parameters = _json_copy(extra["parameters"])
        if parameters is _NOT_JSON:
            continue
        ids.add(id(route))
        for method in sorted(getattr(route, "methods", ())):
            pending.append((route.path_format, method.lower(), parameters))
    token = _HIDDEN.set(frozenset(ids))
    try:
        yield pending
    finally:
        _HIDDEN.reset(token)


def splice(document: dict[str, Any], pending: Pending) -> None:
    """Add the kept parameters to their operations as FastAPI's `openapi_extra` merge does:
    after the operation's own parameters, else as its last key."""
    paths = document.get("paths", {})
    used: set[int] = set()
    for path, method, parameters in pending:
        operation = paths.get(path, {}).get(method)
        if operation is None:  # not documented
            continue
        # Each operation its own objects, as FastAPI's encoder makes them.
        copied = _json_copy(parameters) if id(parameters) in used else parameters
        used.add(id(parameters))
        own = operation.get("parameters")
        if isinstance(own, list):
            operation["parameters"] = own + copied
        else:
            operation["parameters"] = copied


_NOT_JSON: Any = object()
_SCALARS = (str, int, float, bool)


def _json_copy(value: Any) -> Any:
    """A copy of `value` without `None` in objects, or `_NOT_JSON` if it holds a non-JSON value."""
    kind = type(value)
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if item is None:
                continue
            if type(key) is not str:
                return _NOT_JSON
            item = _json_copy(item)
            if item is _NOT_JSON:
                return _NOT_JSON
            copied[key] = item
        return copied
    if kind is list:
        items = []
        for item in value:
            item = _json_copy(item)
            if item is _NOT_JSON:
                return _NOT_JSON
            items.append(item)
        return items
    if kind in _SCALARS or value is None:
        return value
    return _NOT_JSON
