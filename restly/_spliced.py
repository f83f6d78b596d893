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

Extra responses (`spliced_responses` / `splice_responses`, see below) go the same way: the
first route documenting a response shows it to FastAPI, later routes documenting it the
same way get a copy of what FastAPI wrote. An operation that two routes document (FastAPI
writes the later one's) is left to FastAPI for both.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "GeneratedExtra",
    "generated",
    "hidden",
    "hidden_responses",
    "splice",
    "splice_responses",
    "spliced_parameters",
    "spliced_responses",
]


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
    shared = _shared_operations(routes)
    for route in routes:
        extra = getattr(route, "__dict__", {}).get("_restly_openapi_extra")
        if (
            type(extra) is not GeneratedExtra
            or not getattr(route, "include_in_schema", False)
            or list(extra) != ["parameters"]
            or _in_shared(route, shared)
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


def _shared_operations(routes: list[Any]) -> set[tuple[Any, str]]:
    """The (path, method) operations that more than one of `routes` documents. FastAPI
    writes the later route's: such routes are left to it, nothing of theirs is kept aside."""
    seen: set[tuple[Any, str]] = set()
    shared: set[tuple[Any, str]] = set()
    for route in routes:
        if getattr(route, "include_in_schema", False):
            for method in getattr(route, "methods", None) or ():
                key = (getattr(route, "path_format", None), method)
                (shared if key in seen else seen).add(key)
    return shared


def _in_shared(route: Any, shared: set[tuple[Any, str]]) -> bool:
    path = getattr(route, "path_format", None)
    return any((path, method) in shared for method in getattr(route, "methods", None) or ())


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


# -- Error responses ---------------------------------------------------------------------
#
# A generated route documents up to ten extra responses (404, 409, 413, 415, 503, ...), most
# of them equal on every view: at 200 resources they are half of what
# FastAPI validates into its OpenAPI models and encodes back to JSON. FastAPI turns such a
# response into JSON from four things only: the response dictionary, its status code, the
# field documenting its model and the route's media type. So the first route with a given
# four shows FastAPI its response and every later one keeps it aside; once the document is
# built, each kept response gets a copy of what FastAPI wrote for the first, in its place.

#: Ids of the routes whose responses are kept aside, and the status codes kept.
_HIDDEN_RESPONSES: ContextVar[dict[int, frozenset[Any]] | None] = ContextVar(
    "restly_hidden_responses", default=None
)


class PendingResponses:
    """What `splice_responses` puts back: per operation, the codes in the route's order."""

    def __init__(self) -> None:
        #: (path, method, main status key, the route's codes in order, {code: exemplar})
        self.operations: list[tuple[str, str, str, list[Any], dict[Any, tuple[str, str]]]] = []


def hidden_responses(route: object) -> frozenset[Any]:
    """The status codes of `route`'s responses kept aside from FastAPI right now."""
    hidden = _HIDDEN_RESPONSES.get()
    return frozenset() if hidden is None else hidden.get(id(route), frozenset())


@contextmanager
def spliced_responses(routes: list[Any]) -> Iterator[PendingResponses]:
    """Inside the block, the extra responses of `routes` (an app's own restly routes) that
    an earlier route documents the same way are hidden from FastAPI; yields what
    `splice_responses` adds back."""
    pending = PendingResponses()
    exemplars: dict[tuple[Any, Any, int, Any], tuple[str, str]] = {}
    hidden: dict[int, frozenset[Any]] = {}
    shared = _shared_operations(routes)
    for route in routes:
        responses = getattr(route, "__dict__", {}).get("_restly_responses")
        methods = sorted(getattr(route, "methods", None) or ())
        extra = getattr(route, "__dict__", {}).get("_restly_openapi_extra")
        if (
            not responses
            or not methods
            or not getattr(route, "include_in_schema", False)
            or _in_shared(route, shared)
        ):
            continue
        merged = _merged_codes(extra)  # what the route's openapi_extra changes afterwards
        main = _main_status(route)
        if merged is None or main is None:
            continue
        media_type = _media_type(route)
        fields = getattr(route, "response_fields", {})
        kept: dict[Any, tuple[str, str]] = {}
        for code, response in responses.items():
            if type(code) is not int or str(code) in (main, "422") or str(code) in merged:
                continue  # the main answer merges with it; a 422 decides FastAPI's own
            field = fields.get(code)
            key = (_response_key(response), code, id(field), media_type)
            exemplar = exemplars.get(key)
            if exemplar is None:
                exemplars[key] = (route.path_format, methods[0].lower())
            else:
                kept[code] = exemplar
        if kept:
            hidden[id(route)] = frozenset(kept)
            for method in methods:
                pending.operations.append(
                    (route.path_format, method.lower(), main, list(responses), kept)
                )
    # The exemplars' responses stay alive (held by the routes) while the document is built.
    token = _HIDDEN_RESPONSES.set(hidden)
    try:
        yield pending
    finally:
        _HIDDEN_RESPONSES.reset(token)


def splice_responses(document: dict[str, Any], pending: PendingResponses) -> None:
    """Give each operation its kept responses (copies of their exemplars'), in the order
    FastAPI writes them: the main answer, then the route's responses, then its own 422."""
    paths = document.get("paths", {})
    for path, method, main, codes, kept in pending.operations:
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue
        built = operation.get("responses", {})
        copies = {}
        for code, (exemplar_path, exemplar_method) in kept.items():
            source = paths.get(exemplar_path, {}).get(exemplar_method, {}).get("responses", {})
            answer = source.get(str(code))
            if answer is None:  # not documented there after all: leave this operation be
                break
            copies[str(code)] = _json_copy(answer)
        else:
            ordered: dict[str, Any] = {}
            if main in built:
                ordered[main] = built[main]
            for code in codes:
                key = str(code).upper()
                if key == "DEFAULT":
                    key = "default"
                if key in copies:
                    ordered[key] = copies[key]
                elif key in built:
                    ordered[key] = built[key]
            for key, answer in built.items():
                ordered.setdefault(key, answer)
            operation["responses"] = ordered


def _merged_codes(extra: Any) -> frozenset[str] | None:
    """The response keys a route's `openapi_extra` merges into its operation (after FastAPI
    wrote the responses), or None when that cannot be told."""
    if extra is None:
        return frozenset()
    if not isinstance(extra, dict):
        return None
    responses = extra.get("responses", {})
    if not isinstance(responses, dict):
        return None
    return frozenset(str(code).upper() for code in responses)


def _main_status(route: Any) -> str | None:
    """The status code FastAPI documents `route`'s own answer under, as it decides it."""
    if route.status_code is not None:
        return str(route.status_code)
    response_class = route.response_class
    response_class = getattr(response_class, "value", response_class)  # a DefaultPlaceholder
    default = _status_defaults.get(response_class)
    if default is None:
        parameter = inspect.signature(response_class.__init__).parameters.get("status_code")
        found = parameter.default if parameter is not None else None
        default = _status_defaults[response_class] = str(found) if type(found) is int else ""
    return default or None


#: Per response class: the default status of its constructor ("" when it has none).
_status_defaults: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _response_key(response: Any) -> Any:
    """What FastAPI writes `response` from: its text when it holds only JSON values (and a
    class under "model", documented by the field), else the dictionary itself."""
    if type(response) is dict and all(
        _plain(value) if key != "model" else isinstance(value, type)
        for key, value in response.items()
    ):
        return repr(response)
    return id(response)


def _plain(value: Any) -> bool:
    """Whether `value` holds nothing but JSON values (so its `repr` tells it apart)."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list:
        return all(_plain(item) for item in value)
    return kind in _SCALARS or value is None


def _media_type(route: Any) -> Any:
    """The media type FastAPI documents `route`'s responses with."""
    response_class = route.response_class
    response_class = getattr(response_class, "value", response_class)  # a DefaultPlaceholder
    return getattr(response_class, "media_type", None)
