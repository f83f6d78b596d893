"""Error answers with a ``message`` (and a 422's field ``errors``), for react-admin.

react-admin's data providers (``ra-data-simple-rest`` through ``fetchUtils.fetchJson``) turn
an error answer into ``HttpError(body.message || statusText, status, body)``, and the admin
shows that message: for restly's ``{"detail": "..."}`` bodies, a user would read "Bad
Request" instead of why. Routes of views that set ``__restly_error_messages__ = True`` (the
react-admin views) answer every JSON error with a ``message`` as well::

    {"detail": "Unknown filter field 'colour'", "message": "Unknown filter field 'colour'"}

A ``422`` also gets ``errors``, which react-admin's forms read from the rejected call
(``error.body.errors``, in pessimistic mode) to show each message under its input: the
body's field paths joined with dots (``address.city``, ``tags.0``, as react-hook-form names
inputs), and under ``root.serverError`` the whole message, which the admin notifies::

    {"detail": [{"loc": ["body", "title"], "msg": "Field required", ...}],
     "message": "title: Field required",
     "errors": {"title": "Field required", "root": {"serverError": "title: Field required"}}}

``detail`` is unchanged, so clients that read it (and the OpenAPI document) see the same
answer. Problem details (``application/problem+json``) get the same ``message``, an
extension member; their ``errors`` stays RFC 9457's list. Successful answers pass through
untouched, without buffering.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Send

__all__ = ["error_message", "field_errors", "with_error_messages"]

_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})
_JSON_TYPES = frozenset({b"application/json", b"application/problem+json"})


def error_message(detail: Any) -> str | None:
    """The text a person should read for an error's ``detail``; None if there is none."""
    if isinstance(detail, str):
        return detail
    if not isinstance(detail, list):
        return None
    parts = []
    for error in detail:
        if not isinstance(error, dict) or not isinstance(error.get("msg"), str):
            continue
        loc = [str(part) for part in error.get("loc") or ()]
        if loc and loc[0] in _LOCATIONS:
            loc = loc[1:]
        parts.append(f"{'.'.join(loc)}: {error['msg']}" if loc else error["msg"])
    return "; ".join(parts) or None


def field_errors(detail: Any, message: str) -> dict[str, Any]:
    """react-admin's ``errors`` for a 422's ``detail``: the message of each body field by its
    dotted path, several joined with ``; ``, and ``message`` as ``root.serverError``.

    Errors outside the body (query, path, header) and of the body as a whole name no input:
    they are in ``message`` alone. A field named ``root`` keeps its own message and the whole
    message is not repeated (react-hook-form keeps ``root`` for errors of the form).
    """
    fields: dict[str, Any] = {}
    for error in detail if isinstance(detail, list) else ():
        if not isinstance(error, dict) or not isinstance(error.get("msg"), str):
            continue
        loc = [str(part) for part in error.get("loc") or ()]
        if len(loc) < 2 or loc[0] != "body":
            continue
        path = ".".join(loc[1:])
        fields[path] = f"{fields[path]}; {error['msg']}" if path in fields else error["msg"]
    fields.setdefault("root", {"serverError": message})
    return fields


def with_error_messages(send: Send) -> Send:
    """``send``, adding ``message`` to JSON error bodies that have a ``detail``."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def send_with_message(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            if message["status"] >= 400 and _is_json_start(message):
                start = message  # held until the body is complete
                return
            await send(message)
        elif message["type"] == "http.response.body" and start is not None:
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = _with_message(b"".join(chunks), start["status"])
            headers = [
                (name, str(len(body)).encode() if name.lower() == b"content-length" else value)
                for name, value in start.get("headers", ())
            ]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        else:
            await send(message)

    return send_with_message


def _is_json_start(start: Message) -> bool:
    for name, value in start.get("headers", ()):
        if name.lower() == b"content-type":
            return value.split(b";")[0].strip().lower() in _JSON_TYPES
    return False


def _with_message(body: bytes, status: int) -> bytes:
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    if not isinstance(answer, dict) or "message" in answer:
        return body
    detail = answer.get("detail")
    message = error_message(detail)
    if message is None:
        return body
    answer["message"] = message
    if status == 422 and "errors" not in answer:
        answer["errors"] = field_errors(detail, message)
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
