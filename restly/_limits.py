"""Input hardening for the routes restly mounts: strict JSON bodies, a body size limit.

Every route a view contributes is built with :func:`hardened_route_class` over the router's
own route class, so the checks run before FastAPI validates anything::

    POST /authors  {"rating": NaN}            -> 422 (json_invalid: not standard JSON)
    POST /authors  {"name": "\\ud800"}         -> 422 (lone surrogate)
    POST /authors  {"name": "a\\u0000b"}       -> 422 (NUL character)
    POST /authors  [[[[ ... 10,000 levels       -> 422 (nested too deeply)
    GET  /countries/a%00b                      -> 422 (NUL character in the path)
    POST /authors  <2 MiB of JSON>             -> 413 {"detail": "Content Too Large"}

The body is parsed once, here, strictly (``NaN``, ``Infinity``, numbers that overflow a float
and more than :data:`MAX_JSON_DEPTH` levels of nesting are refused); FastAPI then reuses the
parsed value. NUL characters and lone surrogates are refused on every backend, because
PostgreSQL cannot store them and no JSON encoder can answer them back.

The size limit is FastAPI's own per-route ``max_body_size``; restly passes
``FRGlobals.max_body_size`` (``fr.configure(max_body_size=...)``, default 1 MiB, ``None`` for
no limit) when it mounts a view, unless the route decorator set ``max_body_size`` itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from functools import cache
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "MAX_JSON_DEPTH",
    "hardened_route_class",
    "parse_json_strictly",
]

#: Default request body limit of mounted routes, in bytes.
DEFAULT_MAX_BODY_SIZE = 1024 * 1024

#: Deepest nesting of arrays/objects accepted in a JSON body.
MAX_JSON_DEPTH = 100

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# "\ud800".."\udfff" written as JSON escapes; raw UTF-8 cannot encode surrogates at all.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_NUL_ESCAPE = b"\\u0000"
_FORBIDDEN_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_STRING = re.compile(rb'"(?:[^"\\\\]|\\\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class _JSONRefused(ValueError):
    """The body is JSON Python accepts but restly does not (NaN, surrogates, ...)."""


def _refuse_constant(name: str) -> Any:
    raise _JSONRefused(f"{name} is not a valid JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _JSONRefused(f"number {text[:20]} is out of range")
    return value


def parse_json_strictly(body: bytes) -> Any:
    """Parse a request body as standard JSON; raise ``ValueError`` with a short reason.

    Refused besides malformed JSON: ``NaN``/``Infinity``, numbers that overflow a float,
    nesting deeper than :data:`MAX_JSON_DEPTH`, lone surrogates and NUL characters.
    """
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
        _check_depth(body)  # only bodies that could be deep pay for the scan
    value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    if _NUL_ESCAPE in body or _SURROGATE_ESCAPE.search(body):
        _check_strings(value)
    return value


def _check_depth(body: bytes) -> None:
    brackets = _STRING.sub(b'""', body).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise _JSONRefused(f"nested deeper than {MAX_JSON_DEPTH} levels")
        else:
            depth -= 1


def _check_strings(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings: Any = (item,)
        elif isinstance(item, dict):
            strings = item.keys()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for text in strings:
            found = _FORBIDDEN_CHARACTERS.search(text)
            if found:
                kind = "NUL character" if found.group() == "\x00" else "lone surrogate"
                raise _JSONRefused(f"strings cannot contain a {kind}")


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return True  # FastAPI may parse it as JSON anyway: parse it strictly first
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("application/") and (
        media_type == "application/json" or media_type.endswith("+json")
    )


def _json_error(reason: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "json_invalid",
                "loc": ("body",),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": reason},
            }
        ]
    )


def _nul_error(location: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "string_pattern_mismatch",
                "loc": (location,),
                "msg": f"The {location} cannot contain a NUL character",
                "input": None,
            }
        ]
    )


def _check_url(request: Request) -> None:
    scope = request.scope
    if "\x00" in scope.get("path", ""):
        raise _nul_error("path")
    if b"%00" in scope.get("query_string", b""):
        raise _nul_error("query")


async def _read_strict_json(request: Request) -> None:
    if request.method not in _BODY_METHODS or not _is_json(request):
        return
    body = await request.body()
    if not body:
        return
    try:
        parsed = parse_json_strictly(body)
    except (ValueError, RecursionError) as error:
        reason = str(error) if isinstance(error, _JSONRefused) else _reason(error)
        raise _json_error(reason) from None
    # Starlette caches the parsed body here; FastAPI's ``await request.json()`` reuses it.
    request._json = parsed


def _reason(error: BaseException) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at position {error.pos}"
    if isinstance(error, UnicodeDecodeError):
        return "the body is not valid UTF-8"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return "not valid JSON"


@cache
def hardened_route_class(route_class: type[APIRoute]) -> type[APIRoute]:
    """Return a subclass of ``route_class`` whose handler checks URLs and JSON bodies first."""

    class HardenedRoute(route_class):  # type: ignore[valid-type, misc]
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def hardened(request: Request) -> Response:
                _check_url(request)
                await _read_strict_json(request)
                return await handle(request)

            return hardened

    HardenedRoute.__name__ = HardenedRoute.__qualname__ = f"Restly{route_class.__name__}"
    return HardenedRoute
