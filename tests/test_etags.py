"""``restly._etags``: entity tags and the precondition headers (RFC 9110 §8.8.3, §13.1)."""

from __future__ import annotations

import pytest

from restly._etags import (
    ANY,
    parse_tags,
    representation_tag,
    strong_match,
    version_tag,
    weak_match,
)


def test_parse_tags() -> None:
    assert parse_tags(['"3"']) == (('"3"', False),)
    assert parse_tags(['"3", W/"4"', ' "a,b" , ,']) == (('"3"', False), ('"4"', True), ('"a,b"', False))
    assert parse_tags([" * "]) == ANY
    assert parse_tags(['""']) == (('""', False),)


@pytest.mark.parametrize("value", ["3", '"3" x', "", " , ", 'w/"3"', '"3', '*, "3"', 'W/ "3"', '"a b"'])
def test_malformed_tags_raise(value: str) -> None:
    with pytest.raises(ValueError):
        parse_tags([value])


def test_comparison() -> None:
    tags = parse_tags(['W/"1", "2"'])
    assert not strong_match(tags, '"1"') and strong_match(tags, '"2"')
    assert weak_match(tags, '"1"') and weak_match(tags, '"2"') and not weak_match(tags, '"3"')
    assert strong_match(ANY, '"x"') and weak_match(ANY, '"x"')


def test_tags_of_versions_and_representations() -> None:
    assert version_tag(7) == '"7"'
    spaced = version_tag("2024-01-01 10:00")
    assert spaced.startswith('"') and " " not in spaced and len(spaced) == 26
    assert version_tag("2024-01-01 10:00") == spaced
    assert representation_tag(b"{}") != representation_tag(b"{ }")
    assert len(representation_tag(b"{}")) == 26
