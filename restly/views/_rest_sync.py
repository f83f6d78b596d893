"""``RestView``: the sync twin of ``AsyncRestView`` (see ``_rest.py``), run in FastAPI's
threadpool.

GENERATED from ``_rest.py`` by ``python -m restly.views._unasync``: do not edit; edit
``_rest.py`` and regenerate (``tests/views/test_sync_twin.py`` fails when this is stale).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError

from .._etags import representation_tag, version_tag
from .._routing import route
from ..db import SessionDep, commit, read_and_commit, read_page
from ..exc import NotFound, PreconditionFailed
from ..query import PreparedList, planned_rows
from ..resource import ID_PARAMETER, VERSION_PARAMETER, Shape, restly_default
from . import _persistence as persistence
from ._actions import Action
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
from ._listing import Listing
from ._rest_base import Written
from ._rest_headers_sync import HeaderSteps
from ._rest_hooks_sync import LifecycleHooks

__all__ = ["RestView"]


class RestView(HeaderSteps, LifecycleHooks):
    """A CRUD resource over ``model`` with sync handlers and the request's ``Session``."""

    __abstract__ = True

    #: The request's session (committed before the response, rolled back on error).
    session: SessionDep

    @route("", methods=("GET",), **LIST)
    def index(self, query_params: ListParamsParameter, http_request: Request = None) -> Response:  # type: ignore[assignment]
        if self.__restly_compiled__.lifecycle.authorize:
            self.authorize(Action.GET_MANY, None, None)
        shape = self._shape(http_request) if self.__restly_compiled__.shapes is not None else None
        listing = self._start_listing(http_request, query_params)
        prepared = self._prepared_list(query_params, listing) if shape is None else None
        if shape is not None:
            body = self._shaped_list(query_params, listing, shape)
        elif prepared is not None:
            if self.__restly_compiled__.list_rows is not None:  # columns: no ORM loading
                # read, paged and, when no count is left, committed: one step
                reader = self._page_reader(listing, prepared.keys, prepared.total)
                rows = read_page(self.session, prepared.page, prepared.parameters, reader)
            else:
                found = self.session.execute(prepared.page, prepared.parameters).all()
                rows = self._read_page(found, listing, prepared.keys, prepared.total)
            self._count(listing, len(rows), query_params, prepared)
            body = self._dump_found(rows, query_params)
        else:
            body = self._list_body(query_params, listing)
        self._commit()
        return self._list_answer(http_request, body, listing)

    @route("", methods=("POST",), **CREATE)
    def post(self, schema_obj: CreationBody, http_request: Request = None) -> Response:  # type: ignore[assignment]
        keyed = self._keyed_insert(schema_obj)
        if keyed is not None:  # the claim of the key rides on the INSERT
            return self._create_keyed(*keyed, http_request)
        replay = self._claim_key(http_request)
        if replay is not None:
            return replay
        return self._write_response(self._create(schema_obj), 201, http_request)

    @route("/{id}", methods=("GET",), **GET)
    def get(self, id: ItemId, http_request: Request = None) -> Response:  # type: ignore[assignment]
        if self.__restly_compiled__.shapes is not None:
            shape = self._shape(http_request)
            if shape is not None:
                return self._get_shaped(id, shape, http_request)
        if self.__restly_compiled__.conditional is not None:
            return self._get_tagged(id, http_request)
        if self.__restly_compiled__.lifecycle.authorize:  # authorize sees the object
            obj = self.handle_get(id)
            self.authorize(Action.GET_ONE, obj, None)
            body = self._dump_one(obj)
        else:
            rows, parameters = self._get_rows_statement(id)
            if rows is not None:  # no code of the view's runs: read, dump, commit in one step
                read = read_and_commit(self.session, rows, parameters, self._dump_row)
                return json_response(self._require(read), 200)
            body = self._dump_one(self.handle_get(id))
        self._commit()
        return json_response(body, 200)

    @route("/{id}", methods=("PATCH",), **UPDATE)
    def patch(self, id: ItemId, schema_obj: UpdateBody, http_request: Request = None) -> Response:  # type: ignore[assignment]
        replay = self._claim_key(http_request)
        if replay is not None:
            return replay
        return self._write_response(self._update(id, schema_obj), 200, http_request)

    @route("/{id}", methods=("DELETE",), **DELETE)
    def delete(self, id: ItemId) -> Response:
        self._delete(id)
        return Response(status_code=204)

    # -- the write path: one method per verb ---------------------------------------------
    #
    # Each write runs the pipeline's phases, in this order, in exactly one place:
    #
    #   authorize -> snapshot -> mutate -> flush -> before_action_commit -> commit
    #             -> after_action_commit
    #
    # The handle_* seam reads the row (locked for a delete), changes it and flushes; the
    # answer is dumped while the objects are loaded, then the transaction is committed. Which
    # hooks run is decided when the class is created (`compiled.lifecycle`): a view without
    # hooks runs only the seam, the dump and the commit. A request that claimed an
    # Idempotency-Key (POST and PATCH) stores its answer just before the commit.

    def _create(self, schema_obj: Any) -> Written:
        """The write path of ``POST``: the answer (body, id, ETag)."""
        compiled = self.__restly_compiled__
        lifecycle = compiled.lifecycle
        if lifecycle.authorize:
            self.authorize(Action.CREATE, None, schema_obj)
        if compiled.single_writes.insert is not None:  # nothing needs the object
            values = persistence.schema_values(schema_obj, include_defaults=True)
            parameters = compiled.single_writes.insert_for(self.session, values)
            if parameters is not None:
                return self._write_returning(compiled.single_writes.insert, parameters, 201)
        obj = self.handle_create(schema_obj)  # build, add, flush
        if lifecycle.before_commit:
            self.before_action_commit(Action.CREATE, obj, None)
        written = self._written(obj, self._dump_one(obj))
        if self._claimed_key is not None:
            self._record_answer(written, 201)
        self._commit()
        if lifecycle.after_commit:
            self._after_commit(Action.CREATE, obj, None)
        return written

    def _update(self, id: Any, schema_obj: Any) -> Written:
        """The write path of ``PATCH`` (and react-admin's ``PUT``): the answer (body, id,
        ETag)."""
        compiled = self.__restly_compiled__
        lifecycle = compiled.lifecycle
        if self._checked_version is not None:  # If-Match named the version read: no lock
            values = persistence.schema_values(schema_obj, include_defaults=False)
            version = self._checked_version[0]
            statement = compiled.single_writes.versioned_update_for(values, version)
            if statement is not None:  # else nothing to set: answered as read, below
                parameters = {ID_PARAMETER: id, VERSION_PARAMETER: version}
                return self._write_returning(statement, parameters, 200, id)
        if compiled.single_writes.update is not None and self._locked is None:
            # nothing needs the row before (no precondition header made the guard read it)
            values = persistence.schema_values(schema_obj, include_defaults=False)
            update = compiled.single_writes.update_for(self.session, values, {ID_PARAMETER: id})
            if update is not None:
                return self._write_returning(*update, 200, id)
        old = None
        obj = self._locked  # read (locked) by the precondition check, if it ran
        if obj is None and not lifecycle.around_row:
            obj = self.handle_update(id, schema_obj)  # read, change, flush
        else:
            if obj is None:
                obj = self.handle_get(id)
            if lifecycle.authorize:
                self.authorize(Action.UPDATE, obj, schema_obj)
            if lifecycle.snapshots:
                old = self.snapshot(obj)
            if lifecycle.default_update:  # handle_update's own steps, on the row read
                obj = self.save_object(self.update_object(obj, schema_obj))
            else:
                obj = self.handle_update(id, schema_obj)
        if lifecycle.before_commit:
            self.before_action_commit(Action.UPDATE, obj, old)
        written = self._written(obj, self._dump_one(obj))
        if self._claimed_key is not None:
            self._record_answer(written, 200)
        self._commit()
        if lifecycle.after_commit:
            self._after_commit(Action.UPDATE, obj, old)
        return written

    def _delete(self, id: Any) -> bytes | None:
        """The write path of ``DELETE``: the answer's body, if the view sends one. Rows of
        other tables that still reference the row answer 409 naming those tables."""
        try:
            return self._delete_row(id)
        except IntegrityError as error:
            raise self._still_referenced(error) from error

    def _delete_row(self, id: Any) -> bytes | None:
        compiled = self.__restly_compiled__
        lifecycle = compiled.lifecycle
        if compiled.single_writes.deletes is not None and self._locked is None:
            statement = compiled.single_writes.delete_for(self.session)
            if statement is not None:
                self._require(self.session.execute(statement, {ID_PARAMETER: id}).first())
                self._commit()
                return None
        old = None
        deleted: Any  # what handle_delete returned: react-admin's returns the record
        if not lifecycle.around_row:
            deleted = self.handle_delete(id)  # read (locked), delete, flush
            obj = deleted
        else:
            obj = self._get_to_delete(id)
            if lifecycle.authorize:
                self.authorize(Action.DELETE, obj, None)
            if lifecycle.snapshots:
                old = self.snapshot(obj)
            if lifecycle.default_delete:  # handle_delete's own steps, on the row read
                self.delete_object(obj)
                deleted = obj
            else:
                deleted = self.handle_delete(id)
        if lifecycle.before_commit:
            self.before_action_commit(Action.DELETE, obj, old)
        body = self._deleted_body(deleted, id)
        self._commit()
        if lifecycle.after_commit:
            self._after_commit(Action.DELETE, obj, old)
        return body

    def _write_returning(
        self, statement: Any, parameters: dict[str, Any], status: int, id: Any = None
    ) -> Written:
        """``POST`` or ``PATCH`` as one ``INSERT``/``UPDATE … RETURNING`` (see
        ``restly.resource._single``): the row as written is the answer; an update that
        matches no row is a 404, as a read is (or a 412, see ``_not_written``). A created
        row's key follows its columns. On a view with ETags the tag is the returned version
        (the last column of a versioned update), or the digest of the answer, as ``GET``
        computes it from the same columns."""
        if self._claimed_key is None:  # nothing to store: write, answer, commit in one step
            written = read_and_commit(
                self.session, statement, parameters, lambda row: self._returned(row, id)
            )
            if written is None:
                raise self._not_written(parameters)
            return written
        row = self.session.execute(statement, parameters).first()
        if row is None:
            raise self._not_written(parameters)
        written = self._returned(row, id)
        self._record_answer(written, status)
        self._commit()
        return written

    def _not_written(self, parameters: dict[str, Any]) -> Exception:
        """What a single-statement write that matched no row answers: 404, or 412 when it
        was guarded by the version ``If-Match`` named and the row is still there (another
        write changed it since the precondition was checked)."""
        if VERSION_PARAMETER not in parameters:
            return NotFound()
        read = self.__restly_compiled__.single_writes.version_read
        assert read is not None  # a versioned update has its read
        found = self.session.execute(read, {ID_PARAMETER: parameters[ID_PARAMETER]}).first()
        return NotFound() if found is None else PreconditionFailed()

    # -- list pages and counts: the steps of index -------------------------------------

    def _list_body(self, query_params: Any, listing: Listing) -> bytes:
        """The body of a list whose query or ``handle_list`` is overridden."""
        compiled = self.__restly_compiled__
        envelope = self._envelope_listing()
        if not compiled.default_list:
            objects = list(self.handle_list(query_params))
            if listing.backwards:
                objects.reverse()
            listing.proves_total = False
            listing.found(len(objects), None)
            self._count(listing, len(objects), query_params, None)
            if objects and listing.keyset and (listing.has_next or listing.has_prev):
                lookup = self._keys_statement(query_params, objects)
                if lookup is not None:
                    self._found_keys(objects, listing, self.session.execute(lookup).all())
            return self._dump_list(objects, query_params, envelope)
        statement = self._list_statement(query_params, None)
        rows = self._rows(statement) if compiled.plain_reads else None
        page, keys = self._page_statement(rows if rows is not None else statement, listing)
        found = self._read_page(self.session.execute(page).all(), listing, keys, False)
        self._count(listing, len(found), query_params, None)
        if rows is not None:
            return self._dump_rows(found, query_params, envelope)
        return self._dump_list([row[0] for row in found], query_params, envelope)

    def _shaped_list(self, query_params: Any, listing: Listing, shape: Shape) -> bytes:
        """The body of a list sending ``fields`` or ``expand``: objects with the loads of
        its expansions (one ``SELECT ... IN`` each), dumped as asked. A keyset page's rows
        carry their sort keys whatever the fields answered."""
        prepared = self._prepared_shape(query_params, listing, shape)
        if prepared is not None:
            page = self.session.execute(prepared.page, prepared.parameters).all()
            found = self._read_page(page, listing, prepared.keys, prepared.total)
            self._count(listing, len(found), query_params, prepared)
        else:  # build_list_query is overridden: it may scope rows per request
            statement = self._list_statement(query_params, None).options(*shape.options)
            statement, keys = self._page_statement(statement, listing)
            page = self.session.execute(statement).all()
            found = self._read_page(page, listing, keys, False)
            self._count(listing, len(found), query_params, None)
        return self._envelope(shape.dump_many([row[0] for row in found]), self._envelope_listing())

    def _get_shaped(self, id: Any, shape: Shape, http_request: Request | None) -> Response:
        """``GET /{id}`` sending ``fields`` or ``expand`` (with its ETag on views with
        ETags: the tag of this representation, or the row's version)."""
        statement, parameters = self._get_shaped_statement(id, shape)
        obj = self._require(self.session.scalar(statement, parameters))
        if self.__restly_compiled__.lifecycle.authorize:
            self.authorize(Action.GET_ONE, obj, None)
        body = shape.dump_one(obj)
        conditional = self.__restly_compiled__.conditional
        if conditional is None:
            self._commit()
            return json_response(body, 200)
        if conditional.version_key is not None:
            tag = version_tag(getattr(obj, conditional.version_key))
        else:
            tag = representation_tag(body)
        fresh = http_request is not None and self._not_modified(http_request.headers, tag)
        self._commit()
        return self._tagged(None if fresh else body, tag)

    def _count(
        self, listing: Listing, found: int, query_params: Any, prepared: PreparedList | None
    ) -> None:
        """Settle the list's total as its count asks (see ``_count_to_run``)."""
        mode = self._count_to_run(listing, found)
        if mode is None:
            return
        if mode != "exact":
            estimated = self._estimate_statement(query_params, prepared)
            if estimated is not None:
                plan = self.session.execute(*estimated).scalar()
                estimate = planned_rows(plan)
                if mode == "planned" or estimate > self.count_threshold:
                    listing.settle(listing.clamp(estimate, found), "planned")
                    return
        if prepared is not None and prepared.count is not None:
            total = int(self.session.scalar(prepared.count, prepared.parameters) or 0)
        else:
            total = self.count_index(query_params)
        listing.settle(total, "exact")

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

    @restly_default
    def handle_create(self, schema_obj: Any) -> Any:
        """Create, save and return a new object from the validated body."""
        obj = self.make_new_object(schema_obj)
        return self.save_object(obj)

    @restly_default
    def handle_update(self, id: Any, schema_obj: Any) -> Any:
        """Apply the sent fields to the object with ``id``, save and return it."""
        obj = self.handle_get(id)
        obj = self.update_object(obj, schema_obj)
        return self.save_object(obj)

    @restly_default
    def handle_delete(self, id: Any) -> Any:
        """Delete the object with ``id`` and return it (react-admin answers its fields; a
        REST ``DELETE`` answers 204 whatever this returns)."""
        return self._delete_found(id)

    def _delete_found(self, id: Any) -> Any:
        """Read the object with ``id`` (locked), delete it, flush; return it."""
        obj = self._get_to_delete(id)
        self.delete_object(obj)
        return obj

    def _get_to_delete(self, id: Any) -> Any:
        """``handle_get``, locking the row in the same read where restly can: a concurrent
        delete then waits, finds no row and answers 404."""
        if self._locked is not None:  # read, locked, by the precondition check
            return self._locked
        locked = self._locked_statement(id)
        if locked is None:
            return self.handle_get(id)  # delete_object locks, and checks the row is there
        persistence.lock_for_write(self.session)  # SQLite ignores FOR UPDATE
        self._locked = self._require(self.session.scalar(*locked))
        return self._locked

    # -- persistence -------------------------------------------------------------------

    @restly_default
    def make_new_object(self, schema_obj: Any) -> Any:
        """Build the new ORM object (added to the session, not yet flushed)."""
        return persistence.make_new_object(self.session, self.model, schema_obj)  # type: ignore[arg-type]

    @restly_default
    def update_object(self, obj: Any, schema_obj: Any) -> Any:
        """Apply the fields the client sent to ``obj``."""
        return persistence.update_object(self.session, obj, schema_obj)

    @restly_default
    def save_object(self, obj: Any) -> Any:
        """Flush ``obj`` and load what the database set, and the relationships the
        response shows."""
        return persistence.save_object(self.session, obj, options=self.__restly_compiled__.load_options)

    @restly_default
    def delete_object(self, obj: Any) -> None:
        """Delete ``obj`` and flush."""
        persistence.delete_object(self.session, obj, locked=obj is self._locked)

    def _commit(self) -> None:
        commit(self.session)  # rolls back if COMMIT fails
