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

Every write goes through one method per verb (``_create``, ``_update``, ``_delete``; the
react-admin views' ``PUT`` and ``DELETE`` too): the row is read and changed and the session
flushed by the ``handle_*`` seam, the answer is dumped, then the transaction is committed.

The class is three modules: this one (the routes, the write path, the list steps, the
``handle_*`` and persistence seams), ``_rest_hooks.py`` (``authorize``, the commit hooks and
``write_action``) and ``_rest_headers.py`` (``Idempotency-Key`` and conditional requests);
what needs no I/O is ``BaseRestView``'s (``_rest_base.py``).

**One definition for both kinds.** These three modules are the hand-written ones:
``_rest_sync.py`` (``RestView``) and its mixins' twins are generated from them by token
substitution (``async def`` -> ``def``, ``await`` dropped, ``AsyncSession`` -> ``Session``,
...; see ``restly.views._unasync``), and ``tests/views/test_sync_twin.py`` fails on any
difference. After editing, regenerate::

    python -m restly.views._unasync

Why generated code rather than one generator-based flow driven by an async and a sync
driver: the generated twin costs nothing per request (no driver loop, no extra frames),
tracebacks point at plain code, ``async with``/``with`` context managers translate one to
one, and a user override is called exactly as a hand-written method would call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError

from .._etags import representation_tag, version_tag
from .._routing import route
from ..db import AsyncSessionDep, async_commit, async_read_and_commit, async_read_page
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
from ._rest_headers import AsyncHeaderSteps
from ._rest_hooks import AsyncLifecycleHooks

__all__ = ["AsyncRestView"]


class AsyncRestView(AsyncHeaderSteps, AsyncLifecycleHooks):
    """A CRUD resource over ``model`` with async handlers and the request's ``AsyncSession``."""

    __abstract__ = True

    #: The request's session (committed before the response, rolled back on error).
    session: AsyncSessionDep

    @route("", methods=("GET",), **LIST)
    async def index(self, query_params: ListParamsParameter, http_request: Request = None) -> Response:  # type: ignore[assignment]
        if self.__restly_compiled__.lifecycle.authorize:
            await self.authorize(Action.GET_MANY, None, None)
        shape = self._shape(http_request) if self.__restly_compiled__.shapes is not None else None
        listing = self._start_listing(http_request, query_params)
        prepared = self._prepared_list(query_params, listing) if shape is None else None
        if shape is not None:
            body = await self._shaped_list(query_params, listing, shape)
        elif prepared is not None:
            if self.__restly_compiled__.list_rows is not None:  # columns: no ORM loading
                # read, paged and, when no count is left, committed: one step
                reader = self._page_reader(listing, prepared.keys, prepared.total)
                rows = await async_read_page(self.session, prepared.page, prepared.parameters, reader)
            else:
                found = (await self.session.execute(prepared.page, prepared.parameters)).all()
                rows = self._read_page(found, listing, prepared.keys, prepared.total)
            await self._count(listing, len(rows), query_params, prepared)
            body = self._dump_found(rows, query_params)
        else:
            body = await self._list_body(query_params, listing)
        await self._commit()
        return self._list_answer(http_request, body, listing)

    @route("", methods=("POST",), **CREATE)
    async def post(self, schema_obj: CreationBody, http_request: Request = None) -> Response:  # type: ignore[assignment]
        keyed = self._keyed_insert(schema_obj)
        if keyed is not None:  # the claim of the key rides on the INSERT
            return await self._create_keyed(*keyed, http_request)
        replay = await self._claim_key(http_request)
        if replay is not None:
            return replay
        return self._write_response(await self._create(schema_obj), 201, http_request)

    @route("/{id}", methods=("GET",), **GET)
    async def get(self, id: ItemId, http_request: Request = None) -> Response:  # type: ignore[assignment]
        if self.__restly_compiled__.shapes is not None:
            shape = self._shape(http_request)
            if shape is not None:
                return await self._get_shaped(id, shape, http_request)
        if self.__restly_compiled__.conditional is not None:
            return await self._get_tagged(id, http_request)
        if self.__restly_compiled__.lifecycle.authorize:  # authorize sees the object
            obj = await self.handle_get(id)
            await self.authorize(Action.GET_ONE, obj, None)
            body = self._dump_one(obj)
        else:
            rows, parameters = self._get_rows_statement(id)
            if rows is not None:  # no code of the view's runs: read, dump, commit in one step
                read = await async_read_and_commit(self.session, rows, parameters, self._dump_row)
                return json_response(self._require(read), 200)
            body = self._dump_one(await self.handle_get(id))
        await self._commit()
        return json_response(body, 200)

    @route("/{id}", methods=("PATCH",), **UPDATE)
    async def patch(self, id: ItemId, schema_obj: UpdateBody, http_request: Request = None) -> Response:  # type: ignore[assignment]
        replay = await self._claim_key(http_request)
        if replay is not None:
            return replay
        return self._write_response(await self._update(id, schema_obj), 200, http_request)

    @route("/{id}", methods=("DELETE",), **DELETE)
    async def delete(self, id: ItemId) -> Response:
        await self._delete(id)
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

    async def _create(self, schema_obj: Any) -> Written:
        """The write path of ``POST``: the answer (body, id, ETag)."""
        compiled = self.__restly_compiled__
        lifecycle = compiled.lifecycle
        if lifecycle.authorize:
            await self.authorize(Action.CREATE, None, schema_obj)
        if compiled.single_writes.insert is not None:  # nothing needs the object
            values = persistence.schema_values(schema_obj, include_defaults=True)
            parameters = compiled.single_writes.insert_for(self.session, values)
            if parameters is not None:
                return await self._write_returning(compiled.single_writes.insert, parameters, 201)
        obj = await self.handle_create(schema_obj)  # build, add, flush
        if lifecycle.before_commit:
            await self.before_action_commit(Action.CREATE, obj, None)
        written = self._written(obj, self._dump_one(obj))
        if self._claimed_key is not None:
            await self._record_answer(written, 201)
        await self._commit()
        if lifecycle.after_commit:
            await self._after_commit(Action.CREATE, obj, None)
        return written

    async def _update(self, id: Any, schema_obj: Any) -> Written:
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
                return await self._write_returning(statement, parameters, 200, id)
        if compiled.single_writes.update is not None and self._locked is None:
            # nothing needs the row before (no precondition header made the guard read it)
            values = persistence.schema_values(schema_obj, include_defaults=False)
            update = compiled.single_writes.update_for(self.session, values, {ID_PARAMETER: id})
            if update is not None:
                return await self._write_returning(*update, 200, id)
        old = None
        obj = self._locked  # read (locked) by the precondition check, if it ran
        if obj is None and not lifecycle.around_row:
            obj = await self.handle_update(id, schema_obj)  # read, change, flush
        else:
            if obj is None:
                obj = await self.handle_get(id)
            if lifecycle.authorize:
                await self.authorize(Action.UPDATE, obj, schema_obj)
            if lifecycle.snapshots:
                old = self.snapshot(obj)
            if lifecycle.default_update:  # handle_update's own steps, on the row read
                obj = await self.save_object(await self.update_object(obj, schema_obj))
            else:
                obj = await self.handle_update(id, schema_obj)
        if lifecycle.before_commit:
            await self.before_action_commit(Action.UPDATE, obj, old)
        written = self._written(obj, self._dump_one(obj))
        if self._claimed_key is not None:
            await self._record_answer(written, 200)
        await self._commit()
        if lifecycle.after_commit:
            await self._after_commit(Action.UPDATE, obj, old)
        return written

    async def _delete(self, id: Any) -> bytes | None:
        """The write path of ``DELETE``: the answer's body, if the view sends one. Rows of
        other tables that still reference the row answer 409 naming those tables."""
        try:
            return await self._delete_row(id)
        except IntegrityError as error:
            raise self._still_referenced(error) from error

    async def _delete_row(self, id: Any) -> bytes | None:
        compiled = self.__restly_compiled__
        lifecycle = compiled.lifecycle
        if compiled.single_writes.deletes is not None and self._locked is None:
            statement = compiled.single_writes.delete_for(self.session)
            if statement is not None:
                self._require((await self.session.execute(statement, {ID_PARAMETER: id})).first())
                await self._commit()
                return None
        old = None
        deleted: Any  # what handle_delete returned: react-admin's returns the record
        if not lifecycle.around_row:
            deleted = await self.handle_delete(id)  # read (locked), delete, flush
            obj = deleted
        else:
            obj = await self._get_to_delete(id)
            if lifecycle.authorize:
                await self.authorize(Action.DELETE, obj, None)
            if lifecycle.snapshots:
                old = self.snapshot(obj)
            if lifecycle.default_delete:  # handle_delete's own steps, on the row read
                await self.delete_object(obj)
                deleted = obj
            else:
                deleted = await self.handle_delete(id)
        if lifecycle.before_commit:
            await self.before_action_commit(Action.DELETE, obj, old)
        body = self._deleted_body(deleted, id)
        await self._commit()
        if lifecycle.after_commit:
            await self._after_commit(Action.DELETE, obj, old)
        return body

    async def _write_returning(
        self, statement: Any, parameters: dict[str, Any], status: int, id: Any = None
    ) -> Written:
        """``POST`` or ``PATCH`` as one ``INSERT``/``UPDATE … RETURNING`` (see
        ``restly.resource._single``): the row as written is the answer; an update that
        matches no row is a 404, as a read is (or a 412, see ``_not_written``). A created
        row's key follows its columns. On a view with ETags the tag is the returned version
        (the last column of a versioned update), or the digest of the answer, as ``GET``
        computes it from the same columns."""
        if self._claimed_key is None:  # nothing to store: write, answer, commit in one step
            written = await async_read_and_commit(
                self.session, statement, parameters, lambda row: self._returned(row, id)
            )
            if written is None:
                raise await self._not_written(parameters)
            return written
        row = (await self.session.execute(statement, parameters)).first()
        if row is None:
            raise await self._not_written(parameters)
        written = self._returned(row, id)
        await self._record_answer(written, status)
        await self._commit()
        return written

    async def _not_written(self, parameters: dict[str, Any]) -> Exception:
        """What a single-statement write that matched no row answers: 404, or 412 when it
        was guarded by the version ``If-Match`` named and the row is still there (another
        write changed it since the precondition was checked)."""
        if VERSION_PARAMETER not in parameters:
            return NotFound()
        read = self.__restly_compiled__.single_writes.version_read
        assert read is not None  # a versioned update has its read
        found = (await self.session.execute(read, {ID_PARAMETER: parameters[ID_PARAMETER]})).first()
        return NotFound() if found is None else PreconditionFailed()

    # -- list pages and counts: the steps of index -------------------------------------

    async def _list_body(self, query_params: Any, listing: Listing) -> bytes:
        """The body of a list whose query or ``handle_list`` is overridden."""
        compiled = self.__restly_compiled__
        envelope = self._envelope_listing()
        if not compiled.default_list:
            objects = list(await self.handle_list(query_params))
            if listing.backwards:
                objects.reverse()
            listing.proves_total = False
            listing.found(len(objects), None)
            await self._count(listing, len(objects), query_params, None)
            if objects and listing.keyset and (listing.has_next or listing.has_prev):
                lookup = self._keys_statement(query_params, objects)
                if lookup is not None:
                    self._found_keys(objects, listing, (await self.session.execute(lookup)).all())
            return self._dump_list(objects, query_params, envelope)
        statement = self._list_statement(query_params, None)
        rows = self._rows(statement) if compiled.plain_reads else None
        page, keys = self._page_statement(rows if rows is not None else statement, listing)
        found = self._read_page((await self.session.execute(page)).all(), listing, keys, False)
        await self._count(listing, len(found), query_params, None)
        if rows is not None:
            return self._dump_rows(found, query_params, envelope)
        return self._dump_list([row[0] for row in found], query_params, envelope)

    async def _shaped_list(self, query_params: Any, listing: Listing, shape: Shape) -> bytes:
        """The body of a list sending ``fields`` or ``expand``: objects with the loads of
        its expansions (one ``SELECT ... IN`` each), dumped as asked. A keyset page's rows
        carry their sort keys whatever the fields answered."""
        prepared = self._prepared_shape(query_params, listing, shape)
        if prepared is not None:
            page = (await self.session.execute(prepared.page, prepared.parameters)).all()
            found = self._read_page(page, listing, prepared.keys, prepared.total)
            await self._count(listing, len(found), query_params, prepared)
        else:  # build_list_query is overridden: it may scope rows per request
            statement = self._list_statement(query_params, None).options(*shape.options)
            statement, keys = self._page_statement(statement, listing)
            page = (await self.session.execute(statement)).all()
            found = self._read_page(page, listing, keys, False)
            await self._count(listing, len(found), query_params, None)
        return self._envelope(shape.dump_many([row[0] for row in found]), self._envelope_listing())

    async def _get_shaped(self, id: Any, shape: Shape, http_request: Request | None) -> Response:
        """``GET /{id}`` sending ``fields`` or ``expand`` (with its ETag on views with
        ETags: the tag of this representation, or the row's version)."""
        statement, parameters = self._get_shaped_statement(id, shape)
        obj = self._require(await self.session.scalar(statement, parameters))
        if self.__restly_compiled__.lifecycle.authorize:
            await self.authorize(Action.GET_ONE, obj, None)
        body = shape.dump_one(obj)
        conditional = self.__restly_compiled__.conditional
        if conditional is None:
            await self._commit()
            return json_response(body, 200)
        if conditional.version_key is not None:
            tag = version_tag(getattr(obj, conditional.version_key))
        else:
            tag = representation_tag(body)
        fresh = http_request is not None and self._not_modified(http_request.headers, tag)
        await self._commit()
        return self._tagged(None if fresh else body, tag)

    async def _count(
        self, listing: Listing, found: int, query_params: Any, prepared: PreparedList | None
    ) -> None:
        """Settle the list's total as its count asks (see ``_count_to_run``)."""
        mode = self._count_to_run(listing, found)
        if mode is None:
            return
        if mode != "exact":
            estimated = self._estimate_statement(query_params, prepared)
            if estimated is not None:
                plan = (await self.session.execute(*estimated)).scalar()
                estimate = planned_rows(plan)
                if mode == "planned" or estimate > self.count_threshold:
                    listing.settle(listing.clamp(estimate, found), "planned")
                    return
        if prepared is not None and prepared.count is not None:
            total = int(await self.session.scalar(prepared.count, prepared.parameters) or 0)
        else:
            total = await self.count_index(query_params)
        listing.settle(total, "exact")

    # -- operations --------------------------------------------------------------------

    @restly_default
    async def handle_list(self, query_params: Any, query: Select[Any] | None = None) -> Sequence[Any]:
        """Return the objects of one list request (filtered, ordered, paginated)."""
        found = await self.session.scalars(self._list_statement(query_params, query))
        return found.all()

    @restly_default
    async def count_index(self, query_params: Any) -> int:
        """Return how many objects match the list request's filters (ignoring pages)."""
        return int(await self.session.scalar(self._count_statement(query_params)) or 0)

    @restly_default
    async def handle_get(self, id: Any) -> Any:
        """Return the object with ``id``; raise :class:`~restly.exc.NotFound` if none."""
        return self._require(await self.session.scalar(*self._get_objects_statement(id)))

    @restly_default
    async def handle_create(self, schema_obj: Any) -> Any:
        """Create, save and return a new object from the validated body."""
        obj = await self.make_new_object(schema_obj)
        return await self.save_object(obj)

    @restly_default
    async def handle_update(self, id: Any, schema_obj: Any) -> Any:
        """Apply the sent fields to the object with ``id``, save and return it."""
        obj = await self.handle_get(id)
        obj = await self.update_object(obj, schema_obj)
        return await self.save_object(obj)

    @restly_default
    async def handle_delete(self, id: Any) -> Any:
        """Delete the object with ``id`` and return it (react-admin answers its fields; a
        REST ``DELETE`` answers 204 whatever this returns)."""
        return await self._delete_found(id)

    async def _delete_found(self, id: Any) -> Any:
        """Read the object with ``id`` (locked), delete it, flush; return it."""
        obj = await self._get_to_delete(id)
        await self.delete_object(obj)
        return obj

    async def _get_to_delete(self, id: Any) -> Any:
        """``handle_get``, locking the row in the same read where restly can: a concurrent
        delete then waits, finds no row and answers 404."""
        if self._locked is not None:  # read, locked, by the precondition check
            return self._locked
        locked = self._locked_statement(id)
        if locked is None:
            return await self.handle_get(id)  # delete_object locks, and checks the row is there
        await persistence.async_lock_for_write(self.session)  # SQLite ignores FOR UPDATE
        self._locked = self._require(await self.session.scalar(*locked))
        return self._locked

    # -- persistence -------------------------------------------------------------------

    @restly_default
    async def make_new_object(self, schema_obj: Any) -> Any:
        """Build the new ORM object (added to the session, not yet flushed)."""
        return await persistence.async_make_new_object(self.session, self.model, schema_obj)  # type: ignore[arg-type]

    @restly_default
    async def update_object(self, obj: Any, schema_obj: Any) -> Any:
        """Apply the fields the client sent to ``obj``."""
        return await persistence.async_update_object(self.session, obj, schema_obj)

    @restly_default
    async def save_object(self, obj: Any) -> Any:
        """Flush ``obj`` and load what the database set, and the relationships the
        response shows."""
        return await persistence.async_save_object(self.session, obj, options=self.__restly_compiled__.load_options)

    @restly_default
    async def delete_object(self, obj: Any) -> None:
        """Delete ``obj`` and flush."""
        await persistence.async_delete_object(self.session, obj, locked=obj is self._locked)

    async def _commit(self) -> None:
        await async_commit(self.session)  # rolls back if COMMIT fails
