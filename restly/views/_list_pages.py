"""``ListPages``: how a REST view's list route pages, counts and links (a mixin).

::

    listing = self._start_listing(request, query_params)   # cursor decoded, count chosen
    rows = self._read_page(found, listing, keys, total)      # extra row off, positions noted
    mode = self._count_to_run(listing, len(rows))            # None, or the count to run
    return self._list_answer(request, body, listing)         # Link, Preference-Applied

The steps that run statements are the twins' (``_rest.py``, and ``_rest_sync.py`` generated
from it); what they decide and build lives here, once. ``restly.views._listing`` has the
per-request ``Listing`` they share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from fastapi import Request, Response
from sqlalchemy import Select, literal, select

from .._introspect import primary_key_attribute
from ..exc import BadRequest
from ..query import (
    InvalidCursor,
    Position,
    PreparedList,
    apply_list_params,
    bind_plan,
    cursor_binding,
    cursor_codec,
    estimating,
    keyset,
    list_params_page,
    list_plan,
    plans_counts,
    set_list_position,
    watch_estimates,
)
from ..resource import StructPage
from ._listing import Listing, link_header, preferred_count
from ._responses import json_response

__all__ = ["ListPages"]


class ListPages:
    """The list route's paging, cursors and counts, for ``BaseRestView``."""

    if TYPE_CHECKING:  # provided by BaseRestView and its twins
        __restly_compiled__: ClassVar[Any]
        __restly_globals__: ClassVar[Any]
        model: ClassVar[Any]
        include_pagination_metadata: ClassVar[bool]
        count: ClassVar[str]
        count_threshold: ClassVar[int]
        session: Any
        _listing: Listing | None

        def build_list_query(self) -> Select[Any]: ...

    def _start_listing(self, request: Request | None, query_params: Any) -> Listing:
        """Decide how this list request pages and counts: decode its cursor (a 400 when it
        is not valid here), read ``Prefer: count``; kept as ``self._listing``. ``request``
        is ``None`` when an override calls the route method without it: then no
        preference is read and no link is made."""
        reports_total = self.include_pagination_metadata
        preferred = preferred_count(request) if reports_total and request is not None else None
        position = None
        if query_params.cursor is not None:
            if query_params.page is not None:
                raise BadRequest(
                    "The cursor and page parameters cannot be combined: a cursor continues "
                    "a listing from its own position. Send one of them."
                )
            position = self._decode_cursor(query_params)
            set_list_position(query_params, position)
        page, size = list_params_page(query_params)
        size = size or list_plan(query_params).max_page_size
        offset = (page - 1) * size if page is not None and position is None else 0
        if not reports_total:
            count = ""
        else:
            count = preferred or (self.count if position is None else "none")
            if count in ("planned", "estimated") and self._planner() is None:
                count = "exact"  # nothing to estimate with: the total rides on the page
        self._listing = listing = Listing(
            request=request,
            params=query_params,
            page=query_params.page,
            size=size,
            offset=offset,
            position=position,
            count=count,
            preferred=preferred is not None,
            extra_row=not (count == "exact" and position is None),
        )
        return listing

    def _decode_cursor(self, query_params: Any) -> Position:
        codec = cursor_codec(type(self).__restly_globals__.cursor_key)
        binding = cursor_binding(self.__restly_compiled__.cursor_scope, query_params)
        try:
            values, backwards = codec.decode(query_params.cursor, binding)
        except InvalidCursor as error:
            raise BadRequest(str(error)) from None
        order = tuple(query_params.order_by or ())
        keys = keyset(bind_plan(list_plan(query_params), self.model), order)
        loaded = keys.load(values)
        if loaded is None:
            raise BadRequest(
                "The cursor parameter does not fit this listing's sort keys; start again "
                "from the first page."
            )
        return Position(loaded, backwards)

    @staticmethod
    def _read_page(rows: Sequence[Any], listing: Listing, keys: int, total: bool) -> Sequence[Any]:
        """The page of the rows read: without the extra row, in the listing's order; notes
        the rows' positions and the total they carry on ``listing``. ``rows`` may be a
        ``StructPage`` collected up to the page's size (see ``_page_reader``)."""
        page: Sequence[Any]
        more = None
        if isinstance(rows, StructPage):
            page = rows
            if listing.extra_row:
                more = rows.more
            if listing.backwards:
                rows.reverse()
            first, last = rows.first, rows.last
        else:
            page = listed = list(rows)
            if listing.extra_row:
                more = len(listed) > listing.size
                del listed[listing.size :]
            if listing.backwards:
                listed.reverse()
            first, last = (listed[0], listed[-1]) if listed else (None, None)
        if page and keys:
            start = len(first) - keys - total
            listing.first = tuple(first[start : start + keys])
            listing.last = tuple(last[start : start + keys])
        if total:
            if page:
                listing.total = int(first[-1])
            elif listing.offset == 0:
                listing.total = 0
        listing.found(len(page), more)
        return page

    def _page_reader(
        self, listing: Listing, keys: int, total: bool
    ) -> Callable[[Any], tuple[Sequence[Any], bool]]:
        """What reads a page of the response's columns off its result, for
        ``restly.db.read_page``: the page (see ``_read_page``), and whether the list's
        reads are done (no count left to run). Where msgspec writes the response, the rows
        become structs a chunk at a time (``RowSerializer.collect``) instead of piling up
        until the page is encoded."""
        serializer = self.__restly_compiled__.row_serializer
        limit = listing.size if listing.extra_row else None

        def read(result: Any) -> tuple[Sequence[Any], bool]:
            if serializer is not None and serializer.collects:
                found: Sequence[Any] = serializer.collect(result, limit)
            else:
                found = result.all()
            page = self._read_page(found, listing, keys, total)
            return page, self._count_to_run(listing, len(page)) is None

        return read

    def _page_statement(self, statement: Select[Any], listing: Listing) -> tuple[Select[Any], int]:
        """``statement`` (a page of ``apply_list_params``) reading the extra row, and the
        sort keys of a keyset page; and how many keys each row carries."""
        if listing.extra_row:
            statement = statement.limit(listing.size + 1)
        if not listing.keyset:
            return statement, 0
        params = listing.params
        keys = keyset(bind_plan(list_plan(params), self.model), tuple(params.order_by or ()))
        return statement.add_columns(*keys.columns()), len(keys.keys)

    def _count_to_run(self, listing: Listing, found: int) -> str | None:
        """The count still to run for a page of ``found`` rows, or None when the total is
        settled: not answered, not wanted, carried by the page or shown by it."""
        if not listing.count:
            return None
        if listing.count == "none":
            listing.applied = "none"
            return None
        if listing.total is not None:
            listing.applied = "exact"
            return None
        known = listing.known_total(found)
        if known is not None:
            listing.settle(known, "exact")
            return None
        return listing.count

    def _estimate_statement(
        self, query_params: Any, prepared: PreparedList | None
    ) -> tuple[Select[Any], dict[str, Any] | None] | None:
        """The statement (and parameters) whose ``EXPLAIN`` estimates the list's rows, when
        the database has a planner estimate and ``count_index`` is restly's own."""
        bind = self._planner()
        if bind is None:
            return None
        watch_estimates(bind)
        if prepared is not None:
            return estimating(prepared.estimate), prepared.parameters
        return estimating(self._filtered_keys(query_params)), None

    def _planner(self) -> Any:
        """The engine or connection of the request's session when its database estimates
        rows and ``count_index`` is restly's own; else None (counts are exact)."""
        if not self.__restly_compiled__.default_count:
            return None
        session: Any = self.session
        try:
            bind = getattr(session, "sync_session", session).get_bind()
        except Exception:  # noqa: BLE001 - no bind to ask: count exactly
            return None
        return bind if plans_counts(bind) else None

    def _filtered_keys(self, query_params: Any) -> Select[Any]:
        """The rows the list's filters keep (any page), as ``count_index`` counts them, for
        the planner to estimate."""
        filtered = apply_list_params(
            query_params, self.build_list_query(), self.model, order=False, paginate=False
        )
        return select(literal(1)).select_from(filtered.order_by(None).subquery())

    def _keys_statement(self, query_params: Any, objects: Sequence[Any]) -> Select[Any] | None:
        """The sort-key values of the first and last of ``objects`` (what a custom
        ``handle_list`` returned) by primary key; ``None`` when they are not the model's."""
        model: Any = self.model
        name = primary_key_attribute(model.__mapper__)
        try:
            ids = {getattr(objects[0], name), getattr(objects[-1], name)}
        except AttributeError:
            return None
        keys = keyset(bind_plan(list_plan(query_params), model), tuple(query_params.order_by or ()))
        pk = self.__restly_compiled__.pk_column
        statement = select(pk, *keys.columns()).select_from(model)
        for alias, onclause in keys.joins:
            statement = statement.outerjoin(alias, onclause)
        return statement.where(pk.in_(ids))

    def _found_keys(self, objects: Sequence[Any], listing: Listing, rows: Sequence[Any]) -> None:
        """Note the positions of the first and last of ``objects`` from ``rows`` of
        ``_keys_statement``."""
        by_id = {row[0]: tuple(row[1:]) for row in rows}
        name = primary_key_attribute(self.model.__mapper__)
        listing.first = by_id.get(getattr(objects[0], name))
        listing.last = by_id.get(getattr(objects[-1], name))

    def _list_answer(self, request: Request | None, body: bytes, listing: Listing) -> Response:
        """The list's answer: ``body`` with its ``Link``, ``Preference-Applied`` and
        ``Vary`` headers."""
        return json_response(body, 200, listing.headers(self._links(request, listing)))

    def _links(self, request: Request | None, listing: Listing) -> str | None:
        """The ``Link`` header of the page (made once: the envelope shows its cursors)."""
        if request is None:
            return None
        if listing.link is None:
            listing.link = self._make_links(request, listing) or ""
        return listing.link or None

    def _make_links(self, request: Request, listing: Listing) -> str | None:
        links: dict[str, dict[str, Any]] = {}
        if not listing.keyset:
            page = listing.page or 1
            if listing.has_next:
                links["next"] = {"page": page + 1}
            if listing.has_prev:
                links["prev"] = {"page": page - 1}
            return link_header(request, links)
        wanted = [
            (rel, values, backwards)
            for rel, values, backwards, present in (
                ("next", listing.last, False, listing.has_next),
                ("prev", listing.first, True, listing.has_prev),
            )
            if present and values is not None
        ]
        if not wanted:
            return None
        codec = cursor_codec(type(self).__restly_globals__.cursor_key)
        binding = cursor_binding(self.__restly_compiled__.cursor_scope, listing.params)
        for rel, values, backwards in wanted:
            cursor = listing.cursors[rel] = codec.encode(binding, values, backwards)
            links[rel] = {"cursor": cursor}
        return link_header(request, links)

