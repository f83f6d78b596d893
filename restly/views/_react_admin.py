"""``AsyncReactAdminView`` / ``ReactAdminView``: resources for react-admin's simple REST client.

::

    import restly as fr
    from fastapi import FastAPI

    app = FastAPI()

    @fr.include_view(app)
    class PostView(fr.AsyncReactAdminView):
        prefix = "/posts"
        model = Post

    # in the browser:  simpleRestProvider("https://api.example.com")

A react-admin view is an :class:`~restly.AsyncRestView` / :class:`~restly.RestView` whose list
route speaks the ``ra-data-simple-rest`` dialect, and whose writes answer what that client reads:

- ``GET /posts?sort=["title","ASC"]&range=[0,24]&filter={"author_id":3}`` answers a JSON
  array and ``Content-Range: items 0-24/319`` (``items */0`` when no row is in the range;
  the total is counted as ``count`` or ``Prefer: count=...`` asks, ``*`` when not counted),
  ``Link`` headers to the ranges before and after it, and
  ``Access-Control-Expose-Headers: Content-Range, Link, Preference-Applied`` so browsers
  let the client read them.

  - ``sort``: ``[field, "ASC" | "DESC"]``; rows are ordered by the primary key after it, in
    the same direction.
  - ``range``: ``[start, end]``, both included; at most ``max_page_size`` rows. Without a
    range the first ``default_page_size`` (25) rows are answered, or every row a
    ``{"id": [...]}`` filter names (``getMany``).
  - ``filter``: ``{field: value}`` is equality (``null`` is ``IS NULL``), ``{field: [a, b]}``
    is ``IN``; ``field_gte`` / ``_gt`` / ``_lte`` / ``_lt`` compare (numbers, text, dates and
    times), ``field_neq`` excludes (a value or a list), ``field_q`` is a case-insensitive
    substring of a text field, and ``q`` searches every text field (each word must appear in
    one of them). A many-to-one relationship field filters and sorts by its foreign key
    column.

  Field names are the response schema's public (alias) names. A malformed parameter, an unknown
  field or a value that does not fit the field's type is answered ``400 {"detail": "..."}``.
- Every JSON error answer also has a ``message`` (``{"detail": "Not Found", "message": "Not
  Found"}``; for a 422, each error's field and text), which the client's ``HttpError`` shows
  in the admin instead of the bare status text; a 422 also has ``errors`` (``{"title":
  "Field required", "root": {"serverError": message}}``), which react-admin's forms show under
  each input (see ``restly._messages``).
- ``PUT /posts/{id}`` updates like ``PATCH`` (react-admin sends the whole record; read-only
  fields such as ``id`` are ignored).
- ``DELETE /posts/{id}`` answers ``200`` with the deleted record (``delete`` and
  ``deleteMany`` read it back).
- ``POST /posts`` and ``GET /posts/{id}`` are the generated ones.

For a browser app on another origin, add FastAPI's ``CORSMiddleware``; list answers already
carry ``Access-Control-Expose-Headers``.

The list request is parsed once, by the dialect in ``restly.query._react_admin`` (the same
targets, value types and bound filters as ``?field__op=`` lists, compiled when the class is
created), into a :class:`ReactAdminListParams`, which reaches
``handle_list(query_params)`` and ``count_index(query_params)``; ``build_list_query`` scopes
the list, its count and every route by id, as in every REST view.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, cast

from fastapi import Query, Request, Response
from sqlalchemy import Select, func, literal, select

from .._routing import Slot, route
from ..query import (
    ReactAdminListParams,
    ReactAdminPlan,
    compile_react_admin_plan,
    parse_react_admin_params,
    react_admin_parameters_openapi,
)
from ..resource import CompiledView, restly_default, set_derived, uses_default
from ._listing import Listing, link_header, preferred_count
from ._responses import (
    CONFLICT,
    COUNT_HEADERS,
    LINK_HEADER,
    NOT_FOUND,
    NOT_JSON,
    PREFER_COUNT,
    TOO_LARGE,
    UNAVAILABLE,
    ErrorDetail,
    ItemId,
    UpdateBody,
    json_response,
    summary,
    write_docs,
    write_parameters,
)
from ._actions import Action
from ._rest import AsyncRestView
from ._rest_sync import RestView
from ._rest_base import BaseRestView

__all__ = ["AsyncReactAdminView", "BaseReactAdminView", "ReactAdminListParams", "ReactAdminView"]


# Documented from the view's field plan (`_RA_LIST`'s openapi_extra), as JSON parameters.
SortParam = Annotated[str | None, Query(include_in_schema=False)]
RangeParam = Annotated[str | None, Query(alias="range", include_in_schema=False)]
FilterParam = Annotated[str | None, Query(alias="filter", include_in_schema=False)]
_BAD_REQUEST = {400: {"model": ErrorDetail, "description": "A malformed list parameter"}}
_CONTENT_RANGE = {
    "Content-Range": {
        "description": (
            "items start-end/total (items */total when no row is in the range; the total "
            "is * when not counted, Prefer: count=none)"
        ),
        "schema": {"type": "string"},
    }
}


def _ra_list_openapi(plan: ReactAdminPlan) -> dict[str, Any]:
    """The react-admin list's JSON query parameters, and `Prefer` (it always counts)."""
    extra = react_admin_parameters_openapi(plan)
    return {**extra, "parameters": [*extra["parameters"], dict(PREFER_COUNT)]}


_RA_LIST: dict[str, Any] = dict(
    response_model=Slot("list_response_model"),
    summary=summary("List"),
    responses={
        200: {"headers": {**_CONTENT_RANGE, **LINK_HEADER, **COUNT_HEADERS}},
        **_BAD_REQUEST,
        **UNAVAILABLE,
    },
    openapi_extra=Slot("__restly_compiled__.plan", _ra_list_openapi),
)
_RA_PUT: dict[str, Any] = dict(
    response_model=Slot("response_schema"),
    summary=summary("Replace"),
    responses=write_docs(
        200,
        {**NOT_FOUND, **CONFLICT, **TOO_LARGE, **NOT_JSON, **UNAVAILABLE},
        preconditions=True,
        minimal=True,
    ),
    openapi_extra=write_parameters(preconditions=True, minimal=True),
)
_RA_DELETE: dict[str, Any] = dict(
    response_model=Slot("response_schema"),
    summary=summary("Delete"),
    description="Deletes the object and answers it, as react-admin expects.",
    responses=write_docs(
        200, {**NOT_FOUND, **CONFLICT, **UNAVAILABLE}, preconditions=True, minimal=False
    ),
    openapi_extra=write_parameters(preconditions=True, minimal=False),
)


@dataclasses.dataclass(frozen=True, slots=True)
class ReactAdminCompiledView(CompiledView):
    """A react-admin view's `CompiledView`, with its field plan."""

    #: Fields, parsers and search columns of the list dialect (see `restly.query._react_admin`).
    plan: ReactAdminPlan
    #: Whether restly's own list and count run, so a short page tells the total itself.
    counts_itself: bool


class BaseReactAdminView(BaseRestView):
    """What the sync and async react-admin views share: request parsing and statements."""

    __abstract__ = True
    #: JSON error answers carry a ``message``, a 422 also ``errors`` (react-admin shows them;
    #: see restly._messages).
    __restly_error_messages__: ClassVar[bool] = True

    # Extended by __restly_prepare__ for each concrete class.
    __restly_compiled__: ClassVar[ReactAdminCompiledView]

    @classmethod
    def __restly_prepare__(cls) -> list[str]:
        """Check the options react-admin views do not support; precompute the field plan."""
        problems = []
        if cls.include_pagination_metadata:
            problems.append(
                f"{cls.__name__}.include_pagination_metadata must be False: react-admin "
                "lists answer a JSON array and send the total in Content-Range. Remove it."
            )
        if cls.extra_query_params:
            problems.append(
                f"{cls.__name__}.extra_query_params is not supported by react-admin views, "
                "whose lists take only sort, range and filter; remove it and scope rows in "
                "build_list_query instead."
            )
        if cls.__restly_compiled__.shapes is not None:
            problems.append(
                f"{cls.__name__}.expandable / sparse_fields are not supported by react-admin "
                "views (react-admin sends neither ?expand= nor ?fields=); remove them, or "
                "declare them on a fr.AsyncRestView / fr.RestView of the same model."
            )
        if problems:
            return problems
        plan = compile_react_admin_plan(
            cls.response_schema,  # type: ignore[arg-type]
            model=cls.model,  # type: ignore[arg-type]
            default_page_size=cls.default_page_size,
            max_page_size=cls.max_page_size,  # type: ignore[arg-type]
        )
        base = cls.__restly_compiled__
        fields = {
            field.name: getattr(base, field.name) for field in dataclasses.fields(CompiledView)
        }
        counts_itself = all(
            uses_default(cls, name)
            for name in ("handle_list", "count_index", "_list_statement", "_count_statement")
        )
        set_derived(
            cls,
            "__restly_compiled__",
            ReactAdminCompiledView(**fields, plan=plan, counts_itself=counts_itself),
        )
        return []

    @restly_default
    def _list_statement(self, query_params: Any, query: Select[Any] | None) -> Select[Any]:
        base = self.build_list_query() if query is None else query
        return (
            base.where(*query_params.where)
            .order_by(None)
            .order_by(*query_params.order_by)
            .offset(query_params.start)
            .limit(query_params.limit)
        )

    @restly_default
    def _count_statement(self, query_params: Any) -> Select[Any]:
        filtered = self.build_list_query().where(*query_params.where).order_by(None)
        return select(func.count()).select_from(filtered.subquery())

    def _parse(
        self, sort: str | None, range_: str | None, filter_: str | None, request: Request
    ) -> ReactAdminListParams:
        keys = (key for key, _ in request.query_params.multi_items())
        return parse_react_admin_params(self.__restly_compiled__.plan, sort, range_, filter_, keys)

    @restly_default
    def _filtered_keys(self, query_params: Any) -> Select[Any]:
        filtered = self.build_list_query().where(*query_params.where).order_by(None)
        return select(literal(1)).select_from(filtered.subquery())

    def _range_listing(self, request: Request, params: ReactAdminListParams, count: int) -> Listing:
        """The paging of a range of ``count`` rows: its count (``Prefer: count=`` or the
        view's ``count``); a short range shows the total when restly read it."""
        preferred = preferred_count(request)
        listing = Listing(
            request=request,
            params=params,
            page=None,
            size=params.limit,
            offset=params.start,
            position=None,
            count=preferred or self.count,
            preferred=preferred is not None,
            extra_row=False,
            proves_total=self.__restly_compiled__.counts_itself,
        )
        listing.found(count, None)
        return listing

    def _list_response(self, objects: Sequence[Any], params: Any, listing: Listing) -> Response:
        body = self._dump_list(objects, params, None)
        count = len(objects)
        shown = f"{params.start}-{params.start + count - 1}" if count else "*"
        total = "*" if listing.total is None else listing.total  # "*": not counted
        headers = listing.headers(link_header(listing.request, self._range_links(listing)))
        headers["Content-Range"] = f"items {shown}/{total}"
        headers["Access-Control-Expose-Headers"] = "Content-Range, Link, Preference-Applied"
        return json_response(body, 200, headers)

    @staticmethod
    def _range_links(listing: Listing) -> dict[str, dict[str, Any]]:
        """The ranges next to this one, of the same length (react-admin's own parameter,
        ``[start,end]`` as a URL writes it)."""
        start, size, count = listing.offset, listing.size, listing.rows
        links: dict[str, dict[str, Any]] = {}
        if listing.has_next and count:
            links["next"] = {"range": f"%5B{start + count}%2C{start + count + size - 1}%5D"}
        if start > 0:
            links["prev"] = {"range": f"%5B{max(start - size, 0)}%2C{start - 1}%5D"}
        return links

    #: A delete answers the deleted record, so it is never one ``DELETE … RETURNING`` of
    #: the key (see ``restly.resource._single``).
    _delete_answers_record: ClassVar[bool] = True

    def _deleted_body(self, obj: Any, id: Any) -> bytes:
        """The deleted record (react-admin reads it back); ``{pk: id}`` when an overridden
        ``handle_delete`` returned nothing."""
        if obj is not None:
            return self._dump_one(obj)
        plan = self.__restly_compiled__.plan
        key = plan.primary_key.name if plan.primary_key else "id"
        return json.dumps({key: id}, default=str).encode()


class AsyncReactAdminView(BaseReactAdminView, AsyncRestView):
    """A react-admin (``ra-data-simple-rest``) resource over ``model``, async."""

    __abstract__ = True

    @route("", methods=("GET",), **_RA_LIST)
    async def index(  # type: ignore[override]  # react-admin's own list parameters
        self,
        request: Request,
        sort: SortParam = None,
        range_: RangeParam = None,
        filter_: FilterParam = None,
    ) -> Response:
        """List objects in react-admin's dialect; the total is sent in Content-Range."""
        if self.__restly_compiled__.lifecycle.authorize:
            await self.authorize(Action.GET_MANY, None, None)
        params = self._parse(sort, range_, filter_, request)
        objects = await self.handle_list(params)
        listing = self._range_listing(request, params, len(objects))
        await self._count(listing, len(objects), params, None)
        response = self._list_response(objects, params, listing)
        await self._commit()
        return response

    # The writes run the REST view's write path (``_update``, ``_delete``); the sync class
    # below mirrors these methods one to one (tests/views/test_sync_twin.py checks it).

    @route("/{id}", methods=("PUT",), **_RA_PUT)
    async def put(
        self,
        id: ItemId,
        schema_obj: UpdateBody,
        http_request: Request = None,  # type: ignore[assignment]
    ) -> Response:
        return self._write_response(await self._update(id, schema_obj), 200, http_request)

    @route("/{id}", methods=("DELETE",), **_RA_DELETE)
    async def delete(self, id: ItemId) -> Response:
        return json_response(cast(bytes, await self._delete(id)), 200)  # _deleted_body's


class ReactAdminView(BaseReactAdminView, RestView):
    """A react-admin (``ra-data-simple-rest``) resource over ``model``, sync (threadpool)."""

    __abstract__ = True

    @route("", methods=("GET",), **_RA_LIST)
    def index(  # type: ignore[override]  # react-admin's own list parameters
        self,
        request: Request,
        sort: SortParam = None,
        range_: RangeParam = None,
        filter_: FilterParam = None,
    ) -> Response:
        """List objects in react-admin's dialect; the total is sent in Content-Range."""
        if self.__restly_compiled__.lifecycle.authorize:
            self.authorize(Action.GET_MANY, None, None)
        params = self._parse(sort, range_, filter_, request)
        objects = self.handle_list(params)
        listing = self._range_listing(request, params, len(objects))
        self._count(listing, len(objects), params, None)
        response = self._list_response(objects, params, listing)
        self._commit()
        return response

    @route("/{id}", methods=("PUT",), **_RA_PUT)
    def put(self, id: ItemId, schema_obj: UpdateBody, http_request: Request = None) -> Response:  # type: ignore[assignment]
        return self._write_response(self._update(id, schema_obj), 200, http_request)

    @route("/{id}", methods=("DELETE",), **_RA_DELETE)
    def delete(self, id: ItemId) -> Response:
        return json_response(cast(bytes, self._delete(id)), 200)  # _deleted_body's
