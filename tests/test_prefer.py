"""``restly._prefer``: the ``Prefer`` header (RFC 7240) as a mapping."""

from __future__ import annotations

import pytest

from restly._prefer import parse_prefer, preference_applied


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["return=minimal"], {"return": "minimal"}),
        (["Return = Minimal"], {"return": "Minimal"}),
        (['return=minimal; foo="x", count=exact'], {"return": "minimal", "count": "exact"}),
        (["respond-async, wait=10"], {"respond-async": "", "wait": "10"}),
        (['return=minimal, return=representation'], {"return": "minimal"}),  # the first wins
        (["count=exact", "return=minimal"], {"count": "exact", "return": "minimal"}),
        (['a="b,c\\"d", e=f'], {"a": 'b,c"d', "e": "f"}),
        (["return=", "=x", ";;", ",,", "a b", 'q="unterminated'], {}),
        (["", "  "], {}),
    ],
)
def test_parse_prefer(lines: list[str], expected: dict[str, str]) -> None:
    assert parse_prefer(lines) == expected


def test_preference_applied() -> None:
    assert preference_applied("return", "minimal") == "return=minimal"
    assert preference_applied("respond-async", "") == "respond-async"
