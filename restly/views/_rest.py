"""``AsyncRestView`` and ``RestView``: CRUD resources generated from a model.

::

    @fr.include_view(app)
    class WorldView(fr.AsyncRestView):
        prefix = "/world"
        model = World

gives ``GET /world`` (list), ``POST /world`` (201), ``GET /world/{id}``, ``PATCH /world/{id}``
and ``DELETE /world/{id}`` (204). Every step of a request is a method you can override:
``handle_list``/``handle_get``/``handle_create``/``handle_update``/``handle_delete`` for a
whole operation, ``build_list_query`` to scope every query (tenants, soft deletes),
``make_new_object``/``update_object``/``save_object``/``delete_object`` for persistence and
``to_response_schema`` for the answer. ``RestView`` is the same with sync methods, run in
FastAPI's threadpool.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Annotated, Any, ClassVar

from fastapi import Body, Path, Response
from pydantic import BaseModel
from sqlalchemy import Select

from ..db._session import AsyncSessionDep, SessionDep, async_commit, commit
from ..exc import NotFound
from ..query import (
    apply_list_params,
    list_count_query,
    list_params_page,
)
from ..query._openapi import deferred_list_params_openapi
from ..query._params import DeferredListParams
from ..query._prepared import prepared_list
from . import _persistence as persistence
from ._base import View
from ._derive import ID_PARAMETER
from ._routing import Slot, route
from ._serialize import RowSerializer, RowTypeMismatch

__all__ = ["AsyncRestView", "BaseRestView", "ErrorDetail", "RestView"]


class ErrorDetail(BaseModel):
    """The body of an error answer."""

    detail: str


def _label(action: str) -> Slot:
    return Slot("model", lambda model: f"{action} {model.__name__}")


class ValidationErrors(BaseModel):
    """The body of a 422 answer: FastAPI's list of validation errors."""

    detail: list[dict[str, Any]]


_NOT_FOUND = {404: {"model": ErrorDetail, "description": "No object with this id"}}
# List parameters are read by restly's own dependency, so FastAPI does not document their 422.
_INVALID_QUERY = {422: {"model": ValidationErrors, "description": "Invalid query parameters"}}
_CONFLICT = {409: {"model": ErrorDetail, "description": "A database constraint was violated"}}
_TOO_LARGE = {413: {"model": ErrorDetail, "description": "The request body is too large"}}
_UNAVAILABLE = {
    503: {
        "model": ErrorDetail,
        "description": "The database is unreachable, locked or timed out; retry later",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        },
    }
}

ListParams = Annotated[Any, Slot("list_params_annotation")]
ItemId = Annotated[Any, Slot("id_annotation"), Path()]
CreationBody = Annotated[Any, Slot("creation_schema"), Body()]
UpdateBody = Annotated[Any, Slot("update_schema"), Body()]

_LIST: dict[str, Any] = dict(
    response_model=Slot("list_response_model"),
    summary=_label("List"),
    responses={**_INVALID_QUERY, **_UNAVAILABLE},
    openapi_extra=Slot("_list_params", deferred_list_params_openapi),
)
_CREATE: dict[str, Any] = dict(
    status_code=201,
    response_model=Slot("response_schema"),
    summary=_label("Create"),
    responses={**_CONFLICT, **_TOO_LARGE, **_UNAVAILABLE},
)
_GET: dict[str, Any] = dict(
    response_model=Slot("response_schema"),
    summary=_label("Get"),
    responses={**_NOT_FOUND, **_UNAVAILABLE},
)
_UPDATE: dict[str, Any] = dict(
    response_model=Slot("response_schema"),
    summary=_label("Update"),
    responses={**_NOT_FOUND, **_CONFLICT, **_TOO_LARGE, **_UNAVAILABLE},
)
_DELETE: dict[str, Any] = dict(
    status_code=204,
    response_class=Response,
    summary=_label("Delete"),
    responses={**_NOT_FOUND, **_CONFLICT, **_UNAVAILABLE},
)


class BaseRestView(View):
    """What the sync and async REST views share: options, queries and serialisation."""

    __abstract__ = True
    __restly_model_view__ = True

    #: The SQLAlchemy mapped class this resource serves (required).
    model: ClassVar[type[Any] | None] = None
    #: Response schema; generated from the model's columns when not given.
    schema: ClassVar[type[BaseModel] | None] = None
    #: Body schema of ``POST``; default: ``schema`` without ``ReadOnly`` fields.
    creation_schema: ClassVar[type[BaseModel] | None] = None
    #: Body schema of ``PATCH``; default: ``creation_schema`` with every field optional.
    update_schema: ClassVar[type[BaseModel] | None] = None
    #: What responses are serialised with; default: ``schema`` without ``WriteOnly`` fields.
    response_schema: ClassVar[type[BaseModel] | None] = None
    #: Query parameters of the list route; derived from ``response_schema``.
    list_params_schema: ClassVar[type[BaseModel] | None] = None
    #: Type of the ``{id}`` path parameter; default: the primary key's type.
    id_type: ClassVar[type[Any] | None] = None
    #: Names of generated routes to leave out, e.g. ``("delete",)``.
    exclude_routes: ClassVar[Collection[str]] = ()
    #: Answer lists as ``{"items", "total", "page", "page_size", "total_pages"}``.
    include_pagination_metadata: ClassVar[bool] = False
    #: Page size when a client sends ``page`` without ``page_size`` (default: globals').
    default_page_size: ClassVar[int | None] = None
    #: Largest ``page_size`` accepted, and most rows of any list (default: globals', 1000).
    max_page_size: ClassVar[int | None] = None
    #: More query parameters for the list route: ``{name: annotation}``; passed through in
    #: ``query_params`` for your ``handle_list`` / ``build_list_query`` to use.
    extra_query_params: ClassVar[Mapping[str, Any] | None] = None

    # Derived by ResourceMeta (see restly.views._derive).
    list_response_model: ClassVar[Any]
    _list_params: ClassVar[DeferredListParams]
    id_annotation: ClassVar[Any]
    _pk_column: ClassVar[Any]
    _base_statement: ClassVar[Select[Any]]
    _load_options: ClassVar[tuple[Any, ...]]
    _one_validator: ClassVar[Any]
    _flat_columns: ClassVar[tuple[Any, ...] | None]
    _plain_reads: ClassVar[bool]
    _custom_response: ClassVar[bool]
    _default_query: ClassVar[bool]
    _get_objects: ClassVar[Select[Any]]
    _get_objects_locked: ClassVar[Select[Any]]
    _own_get: ClassVar[bool]
    #: The object this request read with a row lock, so ``delete_object`` need not lock it.
    _locked: Any = None
    _get_rows: ClassVar[Select[Any] | None]
    _list_rows: ClassVar[Select[Any] | None]
    _list_statements: ClassVar[dict[Any, Any]]
    _prepared_base: ClassVar[Select[Any] | None]
    _list_adapter: ClassVar[Any]
    _row_serializer: ClassVar[RowSerializer | None]

    # -- queries -----------------------------------------------------------------------

    def build_list_query(self) -> Select[Any]:
        """The statement every route starts from: override to scope rows (tenants, soft
        deletes). It applies to the list, its count, and get/update/delete by id."""
        return self._base_statement

    def _get_statement(self, id: Any) -> Select[Any]:
        return self.build_list_query().where(self._pk_column == id)

    def _list_statement(self, query_params: BaseModel, query: Select[Any] | None) -> Select[Any]:
        base = self.build_list_query() if query is None else query
        return apply_list_params(query_params, base, self.model, self.response_schema)  # type: ignore[arg-type]

    def _rows(self, statement: Select[Any]) -> Select[Any] | None:
        """``statement`` reading only the response's columns (no ORM objects to build), or
        ``None`` when whole objects are needed."""
        if not self._plain_reads or statement._with_options:
            return None
        return statement.with_only_columns(*self._flat_columns, maintain_column_froms=True)  # type: ignore[misc]

    def _prepared_list(
        self, query_params: BaseModel
    ) -> tuple[Select[Any], Select[Any] | None, dict[str, Any]] | None:
        """The page statement, count statement and parameters of this list request when
        restly decides the whole list (default query, own ``handle_list``/``count_index``);
        ``None`` when an override does.

        Statements are prepared once per request shape (``restly.query._prepared``): rows of
        the response's columns for a flat response, else objects with their eager loads.
        With the envelope, the page carries its total, so one round trip answers; the count
        statement runs only for an empty page past the last one, where no row carries it."""
        if self._prepared_base is None:
            return None
        return prepared_list(
            query_params,
            self._prepared_base,
            self.model,  # type: ignore[arg-type]
            total=self.include_pagination_metadata,
            cache=self._list_statements,
        )

    def _dump_found(self, found: Sequence[Any], query_params: BaseModel, total: int | None) -> bytes:
        """The answer for the rows of a prepared page (see ``_prepared_list``)."""
        if self._list_rows is not None:
            return self._dump_rows(found, query_params, total)
        return self._dump_list([row[0] for row in found], query_params, total)

    @staticmethod
    def _carried_total(rows: Sequence[Any], query_params: BaseModel) -> int | None:
        """The total a page of rows carries; for an empty page, 0 if it is the first page,
        else ``None`` (unknown: count)."""
        if rows:
            return int(rows[0][-1])
        page, _ = list_params_page(query_params)
        return 0 if (page or 1) == 1 else None

    def _get_rows_statement(self, id: Any) -> tuple[Select[Any] | None, dict[str, Any] | None]:
        if self._default_query:
            return self._get_rows, {ID_PARAMETER: id}
        return self._rows(self._get_statement(id)), None

    def _get_objects_statement(self, id: Any) -> tuple[Select[Any], dict[str, Any] | None]:
        if self._default_query:
            return self._get_objects, {ID_PARAMETER: id}
        return self._get_statement(id), None

    def _locked_statement(self, id: Any) -> tuple[Select[Any], dict[str, Any]] | None:
        """The by-id read with ``FOR UPDATE`` (ignored by SQLite), when ``handle_get`` and
        the query are restly's own; ``None`` otherwise (then ``delete_object`` locks)."""
        if self._default_query and self._own_get:
            return self._get_objects_locked, {ID_PARAMETER: id}
        return None

    def _count_statement(self, query_params: BaseModel) -> Select[Any]:
        return list_count_query(query_params, self.build_list_query(), self.model)  # type: ignore[arg-type]

    # -- responses ---------------------------------------------------------------------

    def to_response_schema(self, obj: Any) -> BaseModel:
        """Turn an ORM object into the response schema object sent to the client."""
        return self._one_validator.validate_python(obj, from_attributes=True)  # type: ignore[no-any-return]

    def _require(self, found: Any) -> Any:
        if found is None:
            raise NotFound()
        return found

    def _dump_one(self, obj: Any) -> bytes:
        schema_obj = self.to_response_schema(obj)
        return schema_obj.__pydantic_serializer__.to_json(schema_obj, by_alias=True)

    def _dump_row(self, row: Any) -> bytes:
        """``_dump_one`` for a row of the response's columns (see ``_rows``)."""
        if self._row_serializer is not None:
            try:
                return self._row_serializer.dump_one(row)
            except RowTypeMismatch:
                pass  # a value of another type than its field's: validate it, as for objects
        return self._dump_one(row)

    def _dump_list(
        self, objects: Sequence[Any], query_params: BaseModel, total: int | None
    ) -> bytes:
        if not self._custom_response:
            adapter = self._list_adapter
            items = adapter.dump_json(
                adapter.validate_python(objects, from_attributes=True), by_alias=True
            )
        else:
            items = b"[" + b",".join(self._dump_one(obj) for obj in objects) + b"]"
        return self._envelope(items, query_params, total)

    def _dump_rows(self, rows: Sequence[Any], query_params: BaseModel, total: int | None) -> bytes:
        """``_dump_list`` for rows of the response's columns (see ``_rows``)."""
        if self._row_serializer is not None:
            try:
                items = self._row_serializer.dump_many(rows)
            except RowTypeMismatch:
                pass  # as in _dump_row
            else:
                return self._envelope(items, query_params, total)
        return self._dump_list(rows, query_params, total)

    def _envelope(self, items: bytes, query_params: BaseModel, total: int | None) -> bytes:
        if total is None:
            return items
        page, page_size = list_params_page(query_params)
        page = page or 1
        # An unpaginated list is still cut at max_page_size: that is its page size.
        size = page_size or self.max_page_size or max(total, 1)
        pages = math.ceil(total / size) if total else 0
        tail = f',"total":{total},"page":{page},"page_size":{size},"total_pages":{pages}}}'
        return b'{"items":' + items + tail.encode()


def _json(body: bytes, status_code: int) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")


class AsyncRestView(BaseRestView):
    """A CRUD resource over ``model`` with async handlers and an ``AsyncSession``."""

    __abstract__ = True

    #: The request's session (committed before the response, rolled back on error).
    session: AsyncSessionDep

    @route("", methods=("GET",), **_LIST)
    async def index(self, query_params: ListParams) -> Response:
        prepared = self._prepared_list(query_params)
        if prepared is not None:
            page, count, parameters = prepared
            found = (await self.session.execute(page, parameters)).all()
            total = None
            if count is not None:
                total = self._carried_total(found, query_params)
                if total is None:
                    total = int(await self.session.scalar(count, parameters) or 0)
            body = self._dump_found(found, query_params, total)
        else:
            rows = self._rows(self._list_statement(query_params, None)) if self._plain_reads else None
            if rows is not None:
                objects: Sequence[Any] = (await self.session.execute(rows)).all()
            else:
                objects = await self.handle_list(query_params)
            total = None
            if self.include_pagination_metadata:
                total = await self.count_index(query_params)
            dump = self._dump_list if rows is None else self._dump_rows
            body = dump(objects, query_params, total)
        await self._commit()
        return _json(body, 200)

    @route("", methods=("POST",), **_CREATE)
    async def post(self, schema_obj: CreationBody) -> Response:
        obj = await self.handle_create(schema_obj)
        body = self._dump_one(obj)
        await self._commit()
        return _json(body, 201)

    @route("/{id}", methods=("GET",), **_GET)
    async def get(self, id: ItemId) -> Response:
        rows, parameters = self._get_rows_statement(id)
        if rows is not None:
            row = self._require((await self.session.execute(rows, parameters)).first())
            body = self._dump_row(row)
        else:
            body = self._dump_one(await self.handle_get(id))
        await self._commit()
        return _json(body, 200)

    @route("/{id}", methods=("PATCH",), **_UPDATE)
    async def patch(self, id: ItemId, schema_obj: UpdateBody) -> Response:
        obj = await self.handle_update(id, schema_obj)
        body = self._dump_one(obj)
        await self._commit()
        return _json(body, 200)

    @route("/{id}", methods=("DELETE",), **_DELETE)
    async def delete(self, id: ItemId) -> Response:
        await self.handle_delete(id)
        await self._commit()
        return Response(status_code=204)

    # -- operations --------------------------------------------------------------------

    async def handle_list(self, query_params: Any, query: Select[Any] | None = None) -> Sequence[Any]:
        """Return the objects of one list request (filtered, ordered, paginated)."""
        return (await self.session.scalars(self._list_statement(query_params, query))).all()

    async def count_index(self, query_params: Any) -> int:
        """Return how many objects match the list request's filters (ignoring pages)."""
        return int(await self.session.scalar(self._count_statement(query_params)) or 0)

    async def handle_get(self, id: Any) -> Any:
        """Return the object with ``id``; raise :class:`~restly.exc.NotFound` if none."""
        return self._require(await self.session.scalar(*self._get_objects_statement(id)))

    async def handle_create(self, schema_obj: Any) -> Any:
        """Create, save and return a new object from the validated body."""
        obj = await self.make_new_object(schema_obj)
        return await self.save_object(obj)

    async def handle_update(self, id: Any, schema_obj: Any) -> Any:
        """Apply the sent fields to the object with ``id``, save and return it."""
        obj = await self.handle_get(id)
        obj = await self.update_object(obj, schema_obj)
        return await self.save_object(obj)

    async def handle_delete(self, id: Any) -> None:
        """Delete the object with ``id``."""
        await self.delete_object(await self._get_to_delete(id))

    async def _get_to_delete(self, id: Any) -> Any:
        """``handle_get``, locking the row in the same read where restly can (on a server
        database, a concurrent delete then waits, and answers 404)."""
        locked = self._locked_statement(id)
        if locked is None:
            return await self.handle_get(id)
        self._locked = self._require(await self.session.scalar(*locked))
        return self._locked

    # -- persistence -------------------------------------------------------------------

    async def make_new_object(self, schema_obj: Any) -> Any:
        """Build the new ORM object (added to the session, not yet flushed)."""
        return await persistence.async_make_new_object(self.session, self.model, schema_obj)  # type: ignore[arg-type]

    async def update_object(self, obj: Any, schema_obj: Any) -> Any:
        """Apply the fields the client sent to ``obj``."""
        return await persistence.async_update_object(self.session, obj, schema_obj)

    async def save_object(self, obj: Any) -> Any:
        """Flush ``obj`` and load what the database set, and the relationships the
        response shows."""
        return await persistence.async_save_object(self.session, obj, options=self._load_options)

    async def delete_object(self, obj: Any) -> None:
        """Delete ``obj`` and flush."""
        await persistence.async_delete_object(self.session, obj, locked=obj is self._locked)

    async def _commit(self) -> None:
        await async_commit(self.session)  # rolls back if COMMIT fails


class RestView(BaseRestView):
    """A CRUD resource over ``model`` with sync handlers and a ``Session``; FastAPI runs
    each request's handler in its threadpool, so the event loop is never blocked."""

    __abstract__ = True

    #: The request's session (committed before the response, rolled back on error).
    session: SessionDep

    @route("", methods=("GET",), **_LIST)
    def index(self, query_params: ListParams) -> Response:
        prepared = self._prepared_list(query_params)
        if prepared is not None:
            page, count, parameters = prepared
            found = self.session.execute(page, parameters).all()
            total = None
            if count is not None:
                total = self._carried_total(found, query_params)
                if total is None:
                    total = int(self.session.scalar(count, parameters) or 0)
            body = self._dump_found(found, query_params, total)
        else:
            rows = self._rows(self._list_statement(query_params, None)) if self._plain_reads else None
            if rows is not None:
                objects: Sequence[Any] = self.session.execute(rows).all()
            else:
                objects = self.handle_list(query_params)
            total = self.count_index(query_params) if self.include_pagination_metadata else None
            dump = self._dump_list if rows is None else self._dump_rows
            body = dump(objects, query_params, total)
        self._commit()
        return _json(body, 200)

    @route("", methods=("POST",), **_CREATE)
    def post(self, schema_obj: CreationBody) -> Response:
        body = self._dump_one(self.handle_create(schema_obj))
        self._commit()
        return _json(body, 201)

    @route("/{id}", methods=("GET",), **_GET)
    def get(self, id: ItemId) -> Response:
        rows, parameters = self._get_rows_statement(id)
        if rows is not None:
            body = self._dump_row(self._require(self.session.execute(rows, parameters).first()))
        else:
            body = self._dump_one(self.handle_get(id))
        self._commit()
        return _json(body, 200)

    @route("/{id}", methods=("PATCH",), **_UPDATE)
    def patch(self, id: ItemId, schema_obj: UpdateBody) -> Response:
        body = self._dump_one(self.handle_update(id, schema_obj))
        self._commit()
        return _json(body, 200)

    @route("/{id}", methods=("DELETE",), **_DELETE)
    def delete(self, id: ItemId) -> Response:
        self.handle_delete(id)
        self._commit()
        return Response(status_code=204)

    # -- operations --------------------------------------------------------------------

    def handle_list(self, query_params: Any, query: Select[Any] | None = None) -> Sequence[Any]:
        """Return the objects of one list request (filtered, ordered, paginated)."""
        return self.session.scalars(self._list_statement(query_params, query)).all()

    def count_index(self, query_params: Any) -> int:
        """Return how many objects match the list request's filters (ignoring pages)."""
        return int(self.session.scalar(self._count_statement(query_params)) or 0)

    def handle_get(self, id: Any) -> Any:
        """Return the object with ``id``; raise :class:`~restly.exc.NotFound` if none."""
        return self._require(self.session.scalar(*self._get_objects_statement(id)))

    def handle_create(self, schema_obj: Any) -> Any:
        """Create, save and return a new object from the validated body."""
        return self.save_object(self.make_new_object(schema_obj))

    def handle_update(self, id: Any, schema_obj: Any) -> Any:
        """Apply the sent fields to the object with ``id``, save and return it."""
        return self.save_object(self.update_object(self.handle_get(id), schema_obj))

    def handle_delete(self, id: Any) -> None:
        """Delete the object with ``id``."""
        self.delete_object(self._get_to_delete(id))

    def _get_to_delete(self, id: Any) -> Any:
        """Sync twin of ``AsyncRestView._get_to_delete``."""
        locked = self._locked_statement(id)
        if locked is None:
            return self.handle_get(id)
        self._locked = self._require(self.session.scalar(*locked))
        return self._locked

    # -- persistence -------------------------------------------------------------------

    def make_new_object(self, schema_obj: Any) -> Any:
        """Build the new ORM object (added to the session, not yet flushed)."""
        return persistence.make_new_object(self.session, self.model, schema_obj)  # type: ignore[arg-type]

    def update_object(self, obj: Any, schema_obj: Any) -> Any:
        """Apply the fields the client sent to ``obj``."""
        return persistence.update_object(self.session, obj, schema_obj)

    def save_object(self, obj: Any) -> Any:
        """Flush ``obj`` and load what the database set, and the relationships the
        response shows."""
        return persistence.save_object(self.session, obj, options=self._load_options)

    def delete_object(self, obj: Any) -> None:
        """Delete ``obj`` and flush."""
        persistence.delete_object(self.session, obj, locked=obj is self._locked)

    def _commit(self) -> None:
        commit(self.session)  # rolls back if COMMIT fails
