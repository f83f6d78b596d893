"""Cursor tokens: every sort value comes back exactly, and no changed token is accepted."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import math
import uuid
from decimal import Decimal

import pytest

from restly.query import InvalidCursor, cursor_codec
from restly.query._cursor import EnumName

BINDING = b"\x01" * 8


class Colour(enum.Enum):
    RED = "r"


VALUES = (
    None,
    True,
    0,
    -(2**63),
    2**63 - 1,
    1.5,
    0.1 + 0.2,
    "",
    "naïve \u2603 , ; \" '",
    dt.datetime(2024, 5, 6, 7, 8, 9, 123456),
    dt.datetime(2024, 5, 6, 7, 8, 9, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
    dt.date(1999, 12, 31),
    dt.time(23, 59, 59, 999999),
    dt.timedelta(days=-2, seconds=5, microseconds=7),
    Decimal("12345678901234567890.000000000001"),
    Decimal("-0.000"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    b"\x00\xffbytes",
)


def test_every_value_comes_back_with_its_type_and_precision() -> None:
    codec = cursor_codec("a key of at least 16 chars")
    for backwards in (False, True):
        token = codec.encode(BINDING, VALUES, backwards)
        values, back = codec.decode(token, BINDING)
        assert back is backwards
        assert values == VALUES
        assert [type(value) for value in values] == [type(value) for value in VALUES]
        assert values[10].utcoffset() == VALUES[10].utcoffset()  # type: ignore[union-attr]
        assert str(values[15]) == "-0.000"
    nan, infinite = codec.decode(codec.encode(BINDING, (math.nan, -math.inf), False), BINDING)[0]
    assert math.isnan(nan) and infinite == -math.inf


def test_enums_travel_by_name() -> None:
    codec = cursor_codec(None)
    (name,), _ = codec.decode(codec.encode(BINDING, (Colour.RED,), False), BINDING)
    assert isinstance(name, EnumName) and name == "RED"


def test_a_cursor_is_url_safe_and_does_not_show_its_values() -> None:
    codec = cursor_codec(None)
    token = codec.encode(BINDING, ("a secret title", 42), False)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"secret" not in raw and b"title" not in raw and b"42" not in raw
    # deterministic: the same position gives the same cursor (links are cacheable)
    assert codec.encode(BINDING, ("a secret title", 42), False) == token


def test_any_changed_character_is_refused() -> None:
    codec = cursor_codec(None)
    token = codec.encode(BINDING, ("title", 7, dt.date(2024, 1, 1)), False)
    alphabet = "AQgw"  # changes the bits of any position (base64 digits 0, 16, 32, 48)
    for index in range(len(token)):
        for replacement in alphabet:
            changed = token[:index] + replacement + token[index + 1 :]
            if changed == token:
                continue
            with pytest.raises(InvalidCursor, match="not one this API issued"):
                codec.decode(changed, BINDING)
    for broken in ("", "x", token[:-1], token[:10], token + "A", "!" * 40, "é" * 40, "A" * 5000):
        with pytest.raises(InvalidCursor, match="not one this API issued"):
            codec.decode(broken, BINDING)


def test_another_key_or_another_listing_is_refused_with_its_reason() -> None:
    token = cursor_codec("the first key, 16+").encode(BINDING, (1,), False)
    with pytest.raises(InvalidCursor, match="signed with another key"):
        cursor_codec("the other key, 16+").decode(token, BINDING)
    with pytest.raises(InvalidCursor, match="belongs to another listing"):
        cursor_codec("the first key, 16+").decode(token, b"\x02" * 8)
