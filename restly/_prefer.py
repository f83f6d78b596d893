"""The ``Prefer`` request header (RFC 7240), parsed once for every feature that reads it.

```python
parse_prefer(['return=minimal; foo="x", count=exact'])   # {"return": "minimal", "count": "exact"}
parse_prefer(["respond-async, return = representation"])  # {"respond-async": "", "return": ...}
```

Names are case-insensitive (returned lower case); values keep their case, quoted strings are
unquoted. A preference given twice counts once, the first time (RFC 7240 §2). Parameters after
``;`` are dropped: no preference restly honours has any. An element that does not parse
(``return=``, ``=x``, a stray quote) is ignored, as a preference the server does not
understand must be (§2), so a malformed header never fails a request.

A leaf module: ``restly.views`` reads ``return``; the list routes read ``count``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["parse_prefer", "preference_applied"]

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PREFERENCE = re.compile(rf"[ \t]*({_TOKEN})(?:[ \t]*=[ \t]*({_TOKEN}|{_QUOTED}))?[ \t]*")
_ESCAPE = re.compile(r"\\(.)")


def parse_prefer(values: Iterable[str]) -> dict[str, str]:
    """``{name: value}`` of the preferences in the ``Prefer`` header lines ``values``
    (``""`` for a preference without a value)."""
    found: dict[str, str] = {}
    for value in values:
        for element in _split(value, ","):
            head = _split(element, ";")[0] if ";" in element else element
            matched = _PREFERENCE.fullmatch(head)
            if matched is None:
                continue
            name, word = matched.group(1).lower(), matched.group(2) or ""
            if word.startswith('"'):
                word = _ESCAPE.sub(r"\1", word[1:-1])
            found.setdefault(name, word)
    return found


def preference_applied(name: str, value: str) -> str:
    """The ``Preference-Applied`` value saying ``name=value`` was honoured (RFC 7240 §3)."""
    return f"{name}={value}" if value else name


def _split(text: str, separator: str) -> list[str]:
    """``text`` cut at each ``separator`` outside a quoted string."""
    if '"' not in text:
        return text.split(separator)
    parts, start, quoted, escaped = [], 0, False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts
