"""One list request's paging: its position, its count, its links and its envelope.

A list answers a page and says how to go on. ``Listing`` holds what a request decided (an
offset page or a keyset page, the count to run, whether to read one row more than the page
to know whether more follow) and, once its rows are read, what the answer tells::

    GET /books?order_by=title&page_size=2
    Link: </books?order_by=title&page_size=2&cursor=AbC...>; rel="next"

    GET /books?order_by=title&page_size=2&cursor=AbC...
    Link: </books?...&cursor=DeF...>; rel="next", </books?...&cursor=GhI...>; rel="prev"

A request that sends ``page`` is an offset page, and its links are offset pages too
(``page=3``); any other is a keyset page and its links carry cursors (the first page is an
ordinary request). Links are relative references (path and query), so they stay right
behind a proxy that terminates TLS or rewrites the host.

Counting is negotiated with ``Prefer: count=exact|planned|estimated|none`` (RFC 7240): a
malformed or unknown value is ignored, unless the request also prefers
``handling=strict`` (then 400); the count run is answered in ``Preference-Applied``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Request

from .._prefer import parse_prefer
from ..exc import BadRequest
from ..resource import COUNT_MODES

__all__ = ["Listing", "link_header", "preferred_count"]


def preferred_count(request: Request) -> str | None:
    """The count a request prefers (``Prefer: count=...``, parsed by ``restly._prefer``:
    only the first ``count`` counts, a malformed element is ignored), or None. A value
    restly cannot honour is ignored too, as RFC 7240 says, unless ``handling=strict`` is
    preferred as well: then it is a 400."""
    if "prefer" not in request.headers:
        return None
    preferences = parse_prefer(request.headers.getlist("prefer"))
    count = preferences.get("count")
    if count is None:
        return None
    count = count.lower()
    if count not in COUNT_MODES:
        if preferences.get("handling", "").lower() == "strict":
            raise BadRequest(
                f"Prefer: count={count} is not supported (with handling=strict); prefer "
                "one of count=exact, count=planned, count=estimated, count=none."
            )
        return None
    return count


@dataclass(slots=True)
class Listing:
    """What one list request decided, and what its page found."""

    #: The request (its URL is the links'; None when an override calls the route without
    #: it) and its list parameters (what cursors bind).
    request: Request | None
    params: Any
    #: The page number of an offset page (``page`` was sent); None for a keyset page.
    page: int | None
    #: Rows per page (``max_page_size`` for an unpaginated list), and the first row's offset.
    size: int
    offset: int
    #: Where a keyset page starts (``restly.query.Position``, decoded from ``cursor``).
    position: Any
    #: The count to run: one of COUNT_MODES, or "" when the answer reports no total.
    count: str
    #: Whether the client sent ``Prefer: count=``: then ``Preference-Applied`` answers it.
    preferred: bool
    #: Whether one row more than the page is read (more rows follow when it is there).
    extra_row: bool
    #: What the page found: whether a page follows or precedes it, its first and last
    #: rows' sort-key values (the cursors' positions), the total and how it was counted.
    has_next: bool = False
    has_prev: bool = False
    first: Sequence[Any] | None = None
    last: Sequence[Any] | None = None
    total: int | None = None
    applied: str | None = None
    cursors: dict[str, str] = field(default_factory=dict)
    #: The rows of the page, and whether ``has_next`` is a guess (a full page, no extra
    #: row read, no total yet).
    rows: int = 0
    guessed: bool = False
    #: The ``Link`` header, once made ("" for none).
    link: str | None = None
    #: Whether a short page proves the total (restly read it; an override may filter).
    proves_total: bool = True

    @property
    def keyset(self) -> bool:
        """A keyset page: its links carry cursors."""
        return self.page is None

    @property
    def backwards(self) -> bool:
        return self.position is not None and self.position.backwards

    def found(self, count: int, more: bool | None) -> None:
        """Record a page of ``count`` rows; ``more``: whether the extra row came (None: not
        read). A page read backwards goes on after itself, and ``more`` tells what is
        before it."""
        self.rows = count
        if self.backwards:
            self.has_next = count > 0
            self.has_prev = more if more is not None else count >= self.size
            return
        self.has_prev = self.page is not None and self.page > 1 or (
            self.position is not None and count > 0
        )
        if more is not None:
            self.has_next = more
        elif self.total is not None:
            self.has_next = self.offset + count < self.total
        else:
            self.has_next = count >= self.size  # a full page: more may follow
            self.guessed = True

    def settle(self, total: int, applied: str) -> None:
        """Record the total and how it was counted; an exact one tells whether a page
        follows a first or offset page whose next was guessed."""
        self.total, self.applied = total, applied
        if self.guessed and applied == "exact" and self.position is None:
            self.has_next = self.offset + self.rows < total
            self.guessed = False

    def known_total(self, count: int) -> int | None:
        """The total the page itself proves: a first or offset page that is not full."""
        if not self.proves_total or self.position is not None or self.has_next:
            return None
        if count or self.offset == 0:
            return self.offset + count
        return None

    def clamp(self, estimate: int, count: int) -> int:
        """An estimate no smaller than what a page of ``count`` rows has shown exists (an
        empty page shows nothing: past the end, its offset proves no row)."""
        if not count:
            return estimate
        shown = count + self.has_next + (self.offset if self.position is None else 0)
        return max(estimate, shown)

    def envelope_tail(self) -> bytes:
        """The envelope after ``"items":[...]``: totals, the page, its cursors."""
        total = self.total
        pages = math.ceil(total / self.size) if total else 0
        parts = [
            f'"total":{_json_int(total)}',
            f'"page":{_json_int(self.page if self.page is not None else self._page_number())}',
            f'"page_size":{self.size}',
            f'"total_pages":{_json_int(None if total is None else pages)}',
        ]
        if total is None:
            parts.append(f'"has_more":{"true" if self.has_next else "false"}')
        elif self.applied == "planned":
            parts.append('"total_estimated":true')
        for rel in ("next", "prev"):
            cursor = self.cursors.get(rel)
            if cursor is not None:
                parts.append(f'"{rel}_cursor":"{cursor}"')
        return ("," + ",".join(parts) + "}").encode()

    def _page_number(self) -> int | None:
        return 1 if self.position is None else None

    def headers(self, link: str | None) -> dict[str, str]:
        """The list answer's own headers: ``Link``, and with a total ``Vary: Prefer`` and
        ``Preference-Applied`` when the client preferred a count."""
        headers = {"Link": link} if link else {}
        if self.count:
            headers["Vary"] = "Prefer"
            if self.preferred and self.applied is not None:
                headers["Preference-Applied"] = f"count={self.applied}"
        return headers


def _json_int(value: int | None) -> str:
    return "null" if value is None else str(value)


def link_header(request: Request | None, links: dict[str, dict[str, Any]]) -> str | None:
    """``Link: <path?query>; rel="next", ...``: each link is the request's own URL with
    the given query parameters replaced (by values safe in a URL: numbers, cursors,
    react-admin ranges are quoted by the caller), relative to the host.

    The query string is kept as the client sent it, less the replaced keys (compared as
    sent: a key spelled with escapes stays, and the value appended after it wins)."""
    if request is None or not links:
        return None
    scope = request.scope
    path, root = scope["path"], scope.get("root_path", "")
    if root and not (path == root or path.startswith(root + "/")):
        path = root + path  # a proxy removed the root path: the client's URL has it
    path = _quoted_path(path)
    parts = scope.get("query_string", b"").decode("latin-1").split("&")
    values = []
    for rel, replaced in links.items():
        kept = [part for part in parts if part and part.partition("=")[0] not in replaced]
        kept.extend(f"{key}={value}" for key, value in replaced.items())
        values.append(f'<{path}?{"&".join(kept)}>; rel="{rel}"')
    return ", ".join(values)


@functools.lru_cache(maxsize=256)
def _quoted_path(path: str) -> str:
    # Cached: a list route has one path (a few, with path parameters); quote() is slow.
    return quote(path, safe="/:@!$&'()*+,;=-._~")
