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

from collections.abc import Sequence
from typing import Any

from fastapi import Response
from sqlalchemy import Select

from .._routing import route
from ..db import AsyncSessionDep, SessionDep, async_commit, commit
from ..resource import restly_default
from . import _persistence as persistence
from ._responses import (
    CREATE,
    DELETE,
    GET,
    LIST,
    UPDATE,
    CreationBody,
    ItemId,
    ListParamsParameter,
    UpdateBody,
    json_response,
)
from ._rest_base import BaseRestView

__all__ = ["AsyncRestView", "RestView"]


class AsyncRestView(BaseRestView):
    """A CRUD resource over ``model`` with async handlers and an ``AsyncSession``."""

    __abstract__ = True

    #: The request's session (committed before the response, rolled back on error).
    session: AsyncSessionDep

    @route("", methods=("GET",), **LIST)
    async def index(self, query_params: ListParamsParameter) -> Response:
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
            plain_reads = self.__restly_compiled__.plain_reads
            rows = self._rows(self._list_statement(query_params, None)) if plain_reads else None
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
        return json_response(body, 200)

    @route("", methods=("POST",), **CREATE)
    async def post(self, schema_obj: CreationBody) -> Response:
        obj = await self.handle_create(schema_obj)
        body = self._dump_one(obj)
        await self._commit()
        return json_response(body, 201)

    @route("/{id}", methods=("GET",), **GET)
    async def get(self, id: ItemId) -> Response:
        rows, parameters = self._get_rows_statement(id)
        if rows is not None:
            row = self._require((await self.session.execute(rows, parameters)).first())
            body = self._dump_row(row)
        else:
            body = self._dump_one(await self.handle_get(id))
        await self._commit()
        return json_response(body, 200)

    @route("/{id}", methods=("PATCH",), **UPDATE)
    async def patch(self, id: ItemId, schema_obj: UpdateBody) -> Response:
        obj = await self.handle_update(id, schema_obj)
        body = self._dump_one(obj)
        await self._commit()
        return json_response(body, 200)

    @route("/{id}", methods=("DELETE",), **DELETE)
    async def delete(self, id: ItemId) -> Response:
        await self.handle_delete(id)
        await self._commit()
        return Response(status_code=204)

    # -- operations --------------------------------------------------------------------

    @restly_default
    async def handle_list(self, query_params: Any, query: Select[Any] | None = None) -> Sequence[Any]:
        """Return the objects of one list request (filtered, ordered, paginated)."""
        return (await self.session.scalars(self._list_statement(query_params, query))).all()

    @restly_default
    async def count_index(self, query_params: Any) -> int:
        """Return how many objects match the list request's filters (ignoring pages)."""
        return int(await self.session.scalar(self._count_statement(query_params)) or 0)

    @restly_default
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
        return await persistence.async_save_object(self.session, obj, options=self.__restly_compiled__.load_options)

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

    @route("", methods=("GET",), **LIST)
    def index(self, query_params: ListParamsParameter) -> Response:
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
            plain_reads = self.__restly_compiled__.plain_reads
            rows = self._rows(self._list_statement(query_params, None)) if plain_reads else None
            if rows is not None:
                objects: Sequence[Any] = self.session.execute(rows).all()
            else:
                objects = self.handle_list(query_params)
            total = self.count_index(query_params) if self.include_pagination_metadata else None
            dump = self._dump_list if rows is None else self._dump_rows
            body = dump(objects, query_params, total)
        self._commit()
        return json_response(body, 200)

    @route("", methods=("POST",), **CREATE)
    def post(self, schema_obj: CreationBody) -> Response:
        body = self._dump_one(self.handle_create(schema_obj))
        self._commit()
        return json_response(body, 201)

    @route("/{id}", methods=("GET",), **GET)
    def get(self, id: ItemId) -> Response:
        rows, parameters = self._get_rows_statement(id)
        if rows is not None:
            body = self._dump_row(self._require(self.session.execute(rows, parameters).first()))
        else:
            body = self._dump_one(self.handle_get(id))
        self._commit()
        return json_response(body, 200)

    @route("/{id}", methods=("PATCH",), **UPDATE)
    def patch(self, id: ItemId, schema_obj: UpdateBody) -> Response:
        body = self._dump_one(self.handle_update(id, schema_obj))
        self._commit()
        return json_response(body, 200)

    @route("/{id}", methods=("DELETE",), **DELETE)
    def delete(self, id: ItemId) -> Response:
        self.handle_delete(id)
        self._commit()
        return Response(status_code=204)

    # -- operations --------------------------------------------------------------------

    @restly_default
    def handle_list(self, query_params: Any, query: Select[Any] | None = None) -> Sequence[Any]:
        """Return the objects of one list request (filtered, ordered, paginated)."""
        return self.session.scalars(self._list_statement(query_params, query)).all()

    @restly_default
    def count_index(self, query_params: Any) -> int:
        """Return how many objects match the list request's filters (ignoring pages)."""
        return int(self.session.scalar(self._count_statement(query_params)) or 0)

    @restly_default
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
        return persistence.save_object(self.session, obj, options=self.__restly_compiled__.load_options)

    def delete_object(self, obj: Any) -> None:
        """Delete ``obj`` and flush."""
        persistence.delete_object(self.session, obj, locked=obj is self._locked)

    def _commit(self) -> None:
        commit(self.session)  # rolls back if COMMIT fails
