"""Entity tags (RFC 9110 §8.8.3) and the precondition headers that carry them (§13.1).

```python
tags = parse_tags(['"3", W/"4"'])    # (('"3"', False), ('"4"', True))
parse_tags(["*"])                    # ANY
parse_tags(["3"])                    # ValueError: an entity tag is quoted
strong_match(tags, '"3"')            # If-Match compares strongly: True
weak_match(tags, '"4"')              # If-None-Match compares weakly: True
version_tag(7)                       # '"7"'
representation_tag(b'{"id":1}')      # '"<24 hex digits>"'
```

restly's own tags are always strong. Header lines are joined as one list; empty list elements
are skipped (§5.6.1.2). A value that is not ``*`` nor a list of quoted tags raises
``ValueError``, which the views answer ``400`` (restly does not guess that ``abc`` meant
``"abc"``: a precondition it misread would let a write through, or refuse one, silently).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Final

__all__ = [
    "ANY",
    "Tags",
    "parse_tags",
    "representation_tag",
    "strong_match",
    "version_tag",
    "weak_match",
]

#: ``*``: any current representation matches.
ANY: Final = "*"

#: What a precondition header holds: ``ANY``, or ``(opaque tag with its quotes, weak)`` pairs.
Tags = str | tuple[tuple[str, bool], ...]

_TAG = re.compile(r'(W/)?("[^"\x00-\x20\x7f]*")')
_OPAQUE = re.compile(r'[^"\x00-\x20\x7f]{1,64}')
_SPACE = " \t"


def parse_tags(values: Iterable[str]) -> Tags:
    """The tags of the header lines ``values``; ``ValueError`` when they are malformed."""
    text = ",".join(values)
    if text.strip(_SPACE) == ANY:
        return ANY
    tags: list[tuple[str, bool]] = []
    position, end = 0, len(text)
    while True:
        while position < end and (text[position] in _SPACE or text[position] == ","):
            position += 1
        if position == end:
            break
        matched = _TAG.match(text, position)
        if matched is None:
            raise ValueError(text)
        tags.append((matched.group(2), matched.group(1) is not None))
        position = matched.end()
        while position < end and text[position] in _SPACE:
            position += 1
        if position < end and text[position] != ",":
            raise ValueError(text)
    if not tags:
        raise ValueError(text)
    return tuple(tags)


def strong_match(tags: Tags, current: str) -> bool:
    """``If-Match``: whether ``current`` (a strong tag) is among ``tags``, compared strongly."""
    if isinstance(tags, str):  # ANY
        return True
    return any(not weak and opaque == current for opaque, weak in tags)


def weak_match(tags: Tags, current: str) -> bool:
    """``If-None-Match``: whether ``current`` is among ``tags``, compared weakly."""
    if isinstance(tags, str):  # ANY
        return True
    return any(opaque == current for opaque, _ in tags)


def version_tag(version: object) -> str:
    """The tag of a row at ``version`` (its version counter): the value itself when it is a
    short run of tag characters, else a digest of it."""
    text = str(version)
    if _OPAQUE.fullmatch(text):
        return f'"{text}"'
    return f'"{hashlib.blake2b(text.encode(), digest_size=12).hexdigest()}"'


def representation_tag(body: bytes) -> str:
    """The tag of a representation: a digest of its bytes."""
    return f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
