"""HEAD, OPTIONS and ``405 Allow`` for the routes restly mounts (RFC 9110 §9.3.2, §9.3.7,
§15.5.6).

restly mounts one route per method, and FastAPI answers neither ``HEAD`` nor ``OPTIONS``, so
by themselves::

    HEAD /books/1      -> 405 Allow: GET          (GET answers it: it should too)
    OPTIONS /books/1   -> 405 Allow: GET
    PUT /books/1       -> 405 Allow: GET          (PATCH and DELETE are served there too)

A request whose method no route of its path serves reaches the first route of that path
(Starlette's "partial match"); a restly route then answers it for the whole path::

    HEAD /books/1      -> what GET answers, without the body
    OPTIONS /books/1   -> 204 Allow: GET, HEAD, PATCH, DELETE, OPTIONS
    PUT /books/1       -> 405 Allow: GET, HEAD, PATCH, DELETE, OPTIONS

The methods of a path are read from the router's routes when such a request arrives; requests
with a served method never get here. A CORS preflight is answered before routing by
Starlette's ``CORSMiddleware`` when the app installs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import Host, Match, Mount
from starlette.types import Message, Scope, Send

__all__ = ["allow_header", "path_methods", "without_body"]

#: The methods looked for on a path, in the order `Allow` lists them.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "QUERY", "OPTIONS")
# HEAD follows GET and OPTIONS is always answered: neither is looked for.
_PROBED = tuple(method for method in _METHODS if method not in ("HEAD", "OPTIONS"))
# Mounted applications nested this deep are not looked into.
_MAX_DEPTH = 8


def path_methods(scope: Scope, own: Iterable[str]) -> set[str]:
    """The methods the path of ``scope`` is served with, by any route of the router that
    dispatched it (``own``: those of the route answering, when the router is unknown), plus
    HEAD where GET is and OPTIONS."""
    router = scope.get("router")
    methods = set(own)
    if router is not None:
        methods |= _served(getattr(router, "routes", ()), scope, 0)
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return methods


def _served(routes: Iterable[Any], scope: Scope, depth: int) -> set[str]:
    served: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            if depth < _MAX_DEPTH:
                served |= _served(route.routes, {**scope, **child}, depth + 1)
            continue
        if isinstance(route, Host):
            continue  # matches by host name, whatever the method
        for method in _PROBED:
            if method in served:
                continue
            if route.matches({**scope, "method": method})[0] is Match.FULL:
                served.add(method)
    return served


def allow_header(methods: Iterable[str]) -> str:
    """The `Allow` value of ``methods``: known methods in a fixed order, then the others."""
    given = set(methods)
    ordered = [method for method in _METHODS if method in given]
    return ", ".join([*ordered, *sorted(given.difference(_METHODS))])


def without_body(send: Send) -> Send:
    """``send`` for a HEAD request: the status and headers of the answer (its
    ``Content-Length`` too), none of its body."""

    async def send_headers(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return send_headers
