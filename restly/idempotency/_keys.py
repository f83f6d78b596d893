"""Reading `Idempotency-Key`: the header's value, the request's fingerprint, the route guard.

```
Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"   # an RFC 8941 sf-string
Idempotency-Key: 8e03978e-40d5-43e8-bc93-6894a57f9324     # a bare token, as Stripe clients send
```

Each POST and PATCH route of a view that honours the header is wrapped by `guard_handler`
when it is mounted: before FastAPI validates anything, a malformed key (empty, longer than
255 characters, anything but visible ASCII, two headers) answers 400, and so does a missing
key on a view with `idempotency = "required"`. A valid key becomes an `IdempotentRequest`
(the key and the request's fingerprint) that the view's route reads with `current_request()`
to claim the key in its own transaction. Routes of views that do not honour the header are
not wrapped; a request without the header pays one scan of its header list.

The fingerprint is a SHA-256 of the method, the route template, the path parameters and the
body as canonical JSON (keys sorted, no whitespace): a retry whose JSON differs only in key
order or spacing is the same request; any other difference is another request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..exc import BadRequest

__all__ = [
    "HEADER",
    "MAX_KEY_LENGTH",
    "IdempotentRequest",
    "current_request",
    "fingerprint",
    "guard_handler",
    "parse_key",
]

#: The request header (RFC 8941 sf-string; draft-ietf-httpapi-idempotency-key-header).
HEADER = "Idempotency-Key"
#: The longest key accepted, in characters.
MAX_KEY_LENGTH = 255

_RAW_HEADER = HEADER.lower().encode()
_CURRENT: ContextVar[IdempotentRequest | None] = ContextVar("restly_idempotency", default=None)


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A request that sent a valid `Idempotency-Key`."""

    key: str
    #: SHA-256 (hex) of the method, route, path parameters and canonical body.
    fingerprint: str

    def lookup(self, scope: str) -> str:
        """The row's key: a SHA-256 (hex) of the caller's `scope` and the key."""
        text = f"{len(scope)}:{scope}\n{self.key}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def current_request() -> IdempotentRequest | None:
    """The `IdempotentRequest` of the request being handled, if it sent a key to a route
    that honours it."""
    return _CURRENT.get()


def parse_key(raw: bytes) -> str:
    """The key a header value carries (an sf-string or a bare token); 400 if malformed."""
    if len(raw) > 2 * MAX_KEY_LENGTH + 2:  # longer than any quoted key of 255 characters
        raise _bad(f"must be at most {MAX_KEY_LENGTH} characters")
    if any(byte < 0x20 or byte > 0x7E for byte in raw):
        raise _bad("may contain only visible ASCII characters (no control characters)")
    text = raw.decode("ascii").strip(" ")
    key = _unquote(text) if text.startswith('"') else _token(text)
    if not key:
        raise _bad("must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise _bad(f"must be at most {MAX_KEY_LENGTH} characters")
    return key


def _unquote(text: str) -> str:
    """The characters of an sf-string `"..."` (escapes `\\"` and `\\\\`), nothing after it."""
    characters = []
    index = 1
    while index < len(text):
        character = text[index]
        if character == "\\":
            following = text[index + 1 : index + 2]
            if following not in ('"', "\\"):
                raise _bad('is not a valid quoted string: only \\" and \\\\ may be escaped')
            characters.append(following)
            index += 2
            continue
        if character == '"':
            if index != len(text) - 1:
                raise _bad('must be one quoted string, with nothing after its closing "')
            return "".join(characters)
        characters.append(character)
        index += 1
    raise _bad('is not a valid quoted string: it has no closing "')


def _token(text: str) -> str:
    if any(character in ' "\\,;' for character in text):
        raise _bad('must be a quoted string ("...") or a token without spaces, quotes, , or ;')
    return text


def _bad(reason: str) -> BadRequest:
    return BadRequest(f"{HEADER} {reason}")


def fingerprint(method: str, route: str, path_params: dict[str, Any], body: Any) -> str:
    """SHA-256 (hex) of what makes two requests the same one: the method, the route
    template, the path parameters and the body (parsed JSON as canonical JSON, else bytes)."""
    digest = hashlib.sha256(f"{method}\n{route}\n".encode())
    digest.update(json.dumps(sorted(path_params.items()), separators=(",", ":")).encode())
    digest.update(b"\n")
    if isinstance(body, bytes):
        digest.update(b"b:" + body)
    else:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
        digest.update(b"j:" + canonical.encode())
    return digest.hexdigest()


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def guard_handler(handle: Handler, *, route: str, required: bool) -> Handler:
    """Wrap the handler of a POST/PATCH route that honours `Idempotency-Key` (see the
    module docstring). Runs after the body is read and parsed (`restly._limits`)."""
    route = route.rstrip("/") or "/"  # "/books/" is the same route as "/books"

    async def guarded(request: Request) -> Response:
        values = [value for name, value in request.scope["headers"] if name == _RAW_HEADER]
        if not values:
            if required:
                raise BadRequest(f"This route requires an {HEADER} header")
            return await handle(request)
        if len(values) > 1:
            raise _bad("must be sent once")
        key = parse_key(values[0])
        body: Any = getattr(request, "_json", None)
        if body is None:  # no JSON body (or JSON null): compare the bytes
            body = await request.body()
        token = _CURRENT.set(
            IdempotentRequest(key, fingerprint(request.method, route, request.path_params, body))
        )
        try:
            return await handle(request)
        finally:
            _CURRENT.reset(token)

    return guarded
