"""Input hardening for the routes restly mounts: strict JSON bodies, a body size limit.

Every route a view contributes wraps its handler with `harden_handler` (see
`restly.mount.RestlyRoute`), so the checks run before FastAPI validates anything:

    POST /authors  {"rating": NaN}            -> 422 (json_invalid: not standard JSON)
    POST /authors  {"name": "\\ud800"}         -> 422 (lone surrogate)
    POST /authors  {"name": "a\\u0000b"}       -> 422 (NUL character)
    POST /authors  [[[[ ... 10,000 levels       -> 422 (nested too deeply)
    GET  /countries/a%00b                      -> 422 (NUL character in the path)
    GET  /authors?name=%ff                     -> 422 (not UTF-8)
    POST /authors  <2 MiB of JSON>             -> 413 {"detail": "Content Too Large"}
    POST /authors  Content-Type: text/plain    -> 415 (Accept-Post: application/json)

The body is parsed once, here, strictly (``NaN``, ``Infinity``, numbers that overflow a float
and more than :data:`MAX_JSON_DEPTH` levels of nesting are refused); FastAPI then reuses the
parsed value. NUL characters and lone surrogates are refused on every backend, because
PostgreSQL cannot store them and no JSON encoder can answer them back.

The size limit is ``FRGlobals.max_body_size`` (``fr.configure(max_body_size=...)``, default
1 MiB, ``None`` for no limit), read on every request. A declared ``Content-Length`` above
it is refused before reading; a body without one is counted while it is read. restly enforces
it itself rather than through FastAPI's ``max_body_size`` route option, whose 413 answer is
plain text; a route decorator may still pass FastAPI's option (it applies as well). Form and
multipart bodies are left to FastAPI's form limits (only their ``Content-Length`` is checked).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .exc import PayloadTooLarge

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "MAX_JSON_DEPTH",
    "RefusedNumber",
    "forbidden_character",
    "harden_handler",
    "loads_finite",
    "parse_json_strictly",
]

#: Default request body limit of mounted routes, in bytes.
DEFAULT_MAX_BODY_SIZE = 1024 * 1024

#: Deepest nesting of arrays/objects accepted in a JSON body.
MAX_JSON_DEPTH = 100

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TOO_LARGE = "Content Too Large"
# "\ud800".."\udfff" written as JSON escapes; raw UTF-8 cannot encode surrogates at all.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_NUL_ESCAPE = b"\\u0000"
_FORBIDDEN_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class _JSONRefused(ValueError):
    """The body is JSON Python accepts but restly does not (NaN, surrogates, ...)."""


class RefusedNumber(_JSONRefused):
    """A number Python's ``json`` reads but standard JSON and the databases do not:
    ``NaN``/``Infinity`` (``constant``), or a float that overflows to infinity."""

    def __init__(self, text: str, *, constant: bool) -> None:
        self.text = text
        self.constant = constant
        reason = "is not a valid JSON value" if constant else "is out of range"
        super().__init__(f"{text} {reason}" if constant else f"number {text[:20]} {reason}")


def _refuse_constant(name: str) -> Any:
    raise RefusedNumber(name, constant=True)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise RefusedNumber(text, constant=False)
    return value


def loads_finite(text: str | bytes) -> Any:
    """``json.loads`` refusing what no column can hold: ``NaN``, ``Infinity`` and numbers
    that overflow a float raise :class:`RefusedNumber` (a ``ValueError``)."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def forbidden_character(text: str) -> str | None:
    """The first NUL character or lone surrogate in ``text``, else None: PostgreSQL cannot
    store either, and no JSON encoder can answer a lone surrogate back."""
    found = _FORBIDDEN_CHARACTERS.search(text)
    return None if found is None else found.group()


def parse_json_strictly(body: bytes) -> Any:
    """Parse a request body as standard JSON; raise ``ValueError`` with a short reason.

    Refused besides malformed JSON: ``NaN``/``Infinity``, numbers that overflow a float,
    nesting deeper than :data:`MAX_JSON_DEPTH`, lone surrogates and NUL characters.
    """
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
        _check_depth(body)  # only bodies that could be deep pay for the scan
    value = loads_finite(body)
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
            found = forbidden_character(text)
            if found is not None:
                kind = "NUL character" if found == "\x00" else "lone surrogate"
                raise _JSONRefused(f"strings cannot contain a {kind}")


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").lower()
    return content_type.startswith(("multipart/", "application/x-www-form-urlencoded"))


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return True  # FastAPI may parse it as JSON anyway: parse it strictly first
    return _is_json_type(content_type)


def _is_json_type(content_type: str) -> bool:
    if content_type == "application/json":
        return True
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


def _url_error(location: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": (location,),
                "msg": f"The {location} must be valid UTF-8 without NUL characters",
                "input": None,
            }
        ]
    )


def _check_url(request: Request) -> None:
    """Refuse NUL characters and invalid UTF-8 in the path and the query string."""
    scope = request.scope
    raw_path = scope.get("raw_path")
    if "\x00" in scope.get("path", "") or (raw_path is not None and not _decodes(raw_path)):
        raise _url_error("path")
    query = scope.get("query_string", b"")
    if b"%00" in query or not _decodes(query):
        raise _url_error("query")


def _decodes(raw: bytes) -> bool:
    """Whether percent-decoded ``raw`` is valid UTF-8 (ASCII-only is, and is the usual case)."""
    if raw.isascii() and b"%" not in raw:
        return True
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def _read_body(request: Request, limit: int | None) -> bytes | None:
    """Read the body (JSON or raw), refusing it with 413 past ``limit`` bytes."""
    if limit is not None:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(_TOO_LARGE)
    if request.method not in _BODY_METHODS or _is_form(request):
        return None  # forms stream through FastAPI's own form limits
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge(_TOO_LARGE)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's cache: FastAPI reads the body from here
    return body


def _parse_json_body(request: Request, body: bytes) -> None:
    if not body or not _is_json(request):
        return
    try:
        parsed = parse_json_strictly(body)
    except (ValueError, RecursionError) as error:
        reason = str(error) if isinstance(error, _JSONRefused) else _reason(error)
        raise _json_error(reason) from None
    request._json = parsed  # Starlette's cache: ``await request.json()`` returns it


def _reason(error: BaseException) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at position {error.pos}"
    if isinstance(error, UnicodeDecodeError):
        return "the body is not valid UTF-8"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return "not valid JSON"


def _check_media_type(request: Request) -> None:
    """Refuse a body declared as something else than JSON (415, RFC 9110 §15.5.16), naming
    what is accepted (`Accept-Post`, RFC 5789's `Accept-Patch`)."""
    if request.method not in _BODY_METHODS:
        return
    content_type = request.headers.get("content-type")
    if content_type is None or _is_json_type(content_type):
        return
    raise HTTPException(
        415,
        detail="The request body must be JSON (Content-Type: application/json)",
        headers=_ACCEPTED.get(request.method),
    )


_ACCEPTED = {
    "POST": {"Accept-Post": "application/json"},
    "PATCH": {"Accept-Patch": "application/json"},
}


def harden_handler(
    handle: Callable[[Request], Coroutine[Any, Any, Response]],
    max_body_size: Callable[[], int | None],
    *,
    json_body: bool = False,
) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    """Wrap a route handler so URLs and bodies are checked before FastAPI sees them.

    `max_body_size` is called per request, so a later `fr.configure(max_body_size=...)`
    applies to routes already mounted. A route with a `json_body` refuses bodies of any
    other media type (415).
    """

    async def hardened(request: Request) -> Response:
        _check_url(request)
        if json_body:
            _check_media_type(request)
        body = await _read_body(request, max_body_size())
        if body is not None:
            _parse_json_body(request, body)
        return await handle(request)

    return hardened
