"""``RestView``: the sync twin of ``AsyncRestView`` (see ``_rest.py``), run in FastAPI's
threadpool.

GENERATED from ``_rest.py`` by ``python -m restly.views._unasync``: do not edit; edit
``_rest.py`` and regenerate (``tests/views/test_sync_twin.py`` fails when this is stale).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Response
from sqlalchemy import Select

from .._routing import route
from ..db import SessionDep, commit
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

__all__ = ["RestView"]


class RestView(BaseRestView):
    """A CRUD resource over ``model`` with sync handlers and the request's ``Session``."""

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
        return json_response(self._create(schema_obj), 201)

    @route("/{id}", methods=("GET",), **GET)
    def get(self, id: ItemId) -> Response:
        rows, parameters = self._get_rows_statement(id)
        if rows is not None:
            row = self._require(self.session.execute(rows, parameters).first())
            body = self._dump_row(row)
        else:
            body = self._dump_one(self.handle_get(id))
        self._commit()
        return json_response(body, 200)

    @route("/{id}", methods=("PATCH",), **UPDATE)
    def patch(self, id: ItemId, schema_obj: UpdateBody) -> Response:
        return json_response(self._update(id, schema_obj), 200)

    @route("/{id}", methods=("DELETE",), **DELETE)
    def delete(self, id: ItemId) -> Response:
        self._delete(id)
        return Response(status_code=204)

    # -- the write path: one method per verb ---------------------------------------------
    #
    # Each write runs the same phases, in this order, in exactly one place: the handle_*
    # seam reads the row (locked for a delete), changes it and flushes; then the answer is
    # dumped (the objects are still loaded) and the transaction committed.

    def _create(self, schema_obj: Any) -> bytes:
        """The write path of ``POST``: the answer's body."""
        obj = self.handle_create(schema_obj)  # build, add, flush
        body = self._dump_one(obj)
        self._commit()
        return body

    def _update(self, id: Any, schema_obj: Any) -> bytes:
        """The write path of ``PATCH`` (and react-admin's ``PUT``): the answer's body."""
        obj = self.handle_update(id, schema_obj)  # read, change, flush
        body = self._dump_one(obj)
        self._commit()
        return body

    def _delete(self, id: Any) -> bytes | None:
        """The write path of ``DELETE``: the answer's body, if the view sends one."""
        # read (locked), delete, flush; react-admin's handle_delete returns the record
        deleted = self.handle_delete(id)  # type: ignore[func-returns-value]
        body = self._deleted_body(deleted, id)
        self._commit()
        return body

    # -- operations --------------------------------------------------------------------

    @restly_default
    def handle_list(self, query_params: Any, query: Select[Any] | None = None) -> Sequence[Any]:
        """Return the objects of one list request (filtered, ordered, paginated)."""
        found = self.session.scalars(self._list_statement(query_params, query))
        return found.all()

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
        obj = self.make_new_object(schema_obj)
        return self.save_object(obj)

    def handle_update(self, id: Any, schema_obj: Any) -> Any:
        """Apply the sent fields to the object with ``id``, save and return it."""
        obj = self.handle_get(id)
        obj = self.update_object(obj, schema_obj)
        return self.save_object(obj)

    def handle_delete(self, id: Any) -> None:
        """Delete the object with ``id``."""
        self._delete_found(id)

    def _delete_found(self, id: Any) -> Any:
        """Read the object with ``id`` (locked), delete it, flush; return it."""
        obj = self._get_to_delete(id)
        self.delete_object(obj)
        return obj

    def _get_to_delete(self, id: Any) -> Any:
        """``handle_get``, locking the row in the same read where restly can: a concurrent
        delete then waits, finds no row and answers 404."""
        locked = self._locked_statement(id)
        if locked is None:
            return self.handle_get(id)  # delete_object locks, and checks the row is there
        persistence.lock_for_write(self.session)  # SQLite ignores FOR UPDATE
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
