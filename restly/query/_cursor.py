"""Cursors: opaque, signed tokens telling where a keyset page starts.

::

    codec = cursor_codec("a secret shared by every worker")      # one per key, reused
    binding = cursor_binding("app.BookView", params)              # the view, filters, order
    token = codec.encode(binding, (dt.date(2024, 1, 1), "Dune", 42), backwards=False)
    codec.decode(token, binding)          # ((date(2024, 1, 1), 'Dune', 42), False)

A token is URL-safe base64 (no padding) of a version byte, a 16-byte tag and the encrypted
``binding + JSON(values)``. The tag is an HMAC-SHA256 of the plaintext and doubles as the
IV of the keystream (HMAC-SHA256 in counter mode) the plaintext is XORed with, the SIV
construction: deterministic, no random nonce, and a client can neither read a cursor nor
change one without the tag failing. ``binding`` is a digest of what the cursor is valid
for, so a cursor sent with other filters, another ``order_by`` or to another view is
refused with its own message. Values keep their exact type (datetimes with microseconds
and offset, ``Decimal``, ``UUID``, enums by name; never a lossy float conversion).

The key is ``fr.configure(cursor_key=...)``; without one a fixed key is used, the same in
every process, so cursors stay valid across the workers of a deployment (a per-process
random key would refuse every cursor another worker issued), but anyone can then forge a
cursor. A cursor carries no authority either way: the view re-applies its scope and
filters, and a forged position only chooses where a listing starts, as a filter can.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from .._caches import put_bounded

__all__ = [
    "MAX_CURSOR_LENGTH",
    "CursorCodec",
    "EnumName",
    "InvalidCursor",
    "cursor_binding",
    "cursor_codec",
]

MAX_CURSOR_LENGTH = 4096
"""Longest cursor accepted (characters); restly's own are far shorter."""

_VERSION = b"\x01"
_TAG = 16
_BINDING = 8
#: The key of views whose FRGlobals configures none (see the module's docstring).
_DEFAULT_KEY = b"restly cursors: no cursor_key configured"
#: Query keys a cursor is not bound to: the position itself and the size of the pages.
_UNBOUND = frozenset({"cursor", "page", "page_size"})


class InvalidCursor(ValueError):
    """A cursor that cannot be used: the message says why, for the client."""


class EnumName(str):
    """An enum member's name read from a cursor; the sort key's enum type resolves it."""

    __slots__ = ()


def cursor_binding(scope: str, params: BaseModel) -> bytes:
    """The digest of what a cursor of this request is valid for: ``scope`` (the view) and
    every parameter sent but the position and the page size (a client may change it)."""
    parts = [scope]
    for name in sorted(params.model_fields_set - _UNBOUND):
        value = getattr(params, name)
        if value is not None:
            parts.append(f"{name}={value!r}")
    return hashlib.sha256("\x1f".join(parts).encode()).digest()[:_BINDING]


class CursorCodec:
    """Encodes and decodes cursors with one key."""

    __slots__ = ("_encryption", "_mac")

    def __init__(self, key: bytes) -> None:
        self._mac = hmac.new(hmac.digest(key, b"restly cursor mac", "sha256"), digestmod="sha256")
        self._encryption = hmac.digest(key, b"restly cursor keystream", "sha256")

    def encode(self, binding: bytes, values: Sequence[Any], backwards: bool) -> str:
        """The cursor of a position: after the row with ``values``, or before it."""
        document = [1 if backwards else 0, [_dump(value) for value in values]]
        plaintext = binding + json.dumps(document, separators=(",", ":")).encode()
        tag = self._tag(plaintext)
        token = _VERSION + tag + _xor(plaintext, self._keystream(tag, len(plaintext)))
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode()

    def decode(self, cursor: str, binding: bytes) -> tuple[tuple[Any, ...], bool]:
        """``(values, backwards)`` of a cursor made for ``binding``; ``InvalidCursor`` else."""
        plaintext = self._open(cursor)
        if plaintext is None:
            raise InvalidCursor(
                "The cursor parameter is not one this API issued (changed, truncated, or "
                "signed with another key); start again from the first page."
            )
        if not hmac.compare_digest(plaintext[:_BINDING], binding):
            raise InvalidCursor(
                "The cursor parameter belongs to another listing: send it with the filters "
                "and order_by of the link it came from (only page_size may change)."
            )
        try:
            backwards, values = json.loads(plaintext[_BINDING:])
            return tuple(_load(value) for value in values), bool(backwards)
        except (ValueError, TypeError, KeyError) as error:  # signed, so not from a client
            raise InvalidCursor("The cursor parameter could not be read.") from error

    def _open(self, cursor: str) -> bytes | None:
        if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
            return None
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(token) <= 1 + _TAG + _BINDING or token[:1] != _VERSION:
            return None
        tag, ciphertext = token[1 : 1 + _TAG], token[1 + _TAG :]
        plaintext = _xor(ciphertext, self._keystream(tag, len(ciphertext)))
        return plaintext if hmac.compare_digest(tag, self._tag(plaintext)) else None

    def _tag(self, plaintext: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(_VERSION + plaintext)
        return mac.digest()[:_TAG]

    def _keystream(self, tag: bytes, length: int) -> bytes:
        blocks = (length + 31) // 32
        key = self._encryption
        return b"".join(
            hmac.digest(key, tag + block.to_bytes(4, "big"), "sha256") for block in range(blocks)
        )[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


_codecs: dict[bytes, CursorCodec] = {}


def cursor_codec(key: str | bytes | None) -> CursorCodec:
    """The codec of ``key`` (``None``: the fixed default key); kept for reuse (bounded)."""
    raw = _DEFAULT_KEY if key is None else key.encode() if isinstance(key, str) else key
    codec = _codecs.get(raw)
    if codec is None:
        codec = put_bounded(_codecs, raw, CursorCodec(raw), 64)
    return codec


# -- values ---------------------------------------------------------------------------------
#
# JSON's own types stay as they are; any other value is a [tag, text] pair (a sort value is
# never a list, so the two cannot be confused).

_DUMPERS: tuple[tuple[type, str, Callable[[Any], Any]], ...] = (
    (enum.Enum, "e", lambda value: value.name),
    (bool, "", lambda value: value),
    (int, "", lambda value: value),
    (float, "", lambda value: value),
    (str, "", lambda value: value),
    (dt.datetime, "dt", dt.datetime.isoformat),
    (dt.date, "d", dt.date.isoformat),
    (dt.time, "t", dt.time.isoformat),
    (dt.timedelta, "td", lambda value: [value.days, value.seconds, value.microseconds]),
    (decimal.Decimal, "n", str),
    (uuid.UUID, "u", str),
    (bytes, "b", lambda value: base64.b64encode(value).decode()),
)

_LOADERS: dict[str, Callable[[Any], Any]] = {
    "e": EnumName,
    "dt": dt.datetime.fromisoformat,
    "d": dt.date.fromisoformat,
    "t": dt.time.fromisoformat,
    "td": lambda parts: dt.timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2]),
    "n": decimal.Decimal,
    "u": uuid.UUID,
    "b": base64.b64decode,
}


def _dump(value: Any) -> Any:
    if value is None:
        return None
    for kind, tag, dump in _DUMPERS:
        if isinstance(value, kind):
            return [tag, dump(value)] if tag else dump(value)
    raise TypeError(f"a sort key value of type {type(value).__name__} cannot go into a cursor")


def _load(value: Any) -> Any:
    if isinstance(value, list):
        tag, text = value
        return _LOADERS[tag](text)
    return value
