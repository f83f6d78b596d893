"""``HeaderSteps``: ``RestView``'s ``Idempotency-Key`` and conditional-request steps, the
sync twin of ``AsyncHeaderSteps`` (see ``_rest_headers.py``).

GENERATED from ``_rest_headers.py`` by ``python -m restly.views._unasync``: do not edit; edit
``_rest_headers.py`` and regenerate (``tests/views/test_sync_twin.py`` fails when this is stale).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from sqlalchemy.exc import DBAPIError

from .. import idempotency
from .._etags import representation_tag, strong_match, version_tag, weak_match
from ..db import SessionDep
from ..exc import PreconditionFailed, PreconditionRequired
from ..resource import ID_PARAMETER
from . import _persistence as persistence
from ._actions import Action
from ._responses import ItemId
from ._rest_base import BaseRestView, Written

__all__ = ["HeaderSteps"]


class HeaderSteps(BaseRestView):
    """``Idempotency-Key`` and conditional requests, for ``RestView``."""

    __abstract__ = True

    if TYPE_CHECKING:  # provided by RestView and LifecycleHooks
        session: SessionDep

        def handle_get(self, id: Any) -> Any: ...
        def authorize(self, action: str, obj: Any = None, data: Any = None) -> None: ...
        def _commit(self) -> None: ...

    # -- Idempotency-Key ------------------------------------------------------------------

    def _create_keyed(
        self, statement: Any, parameters: dict[str, Any], http_request: Request | None
    ) -> Response:
        """``POST`` with an ``Idempotency-Key`` as one ``INSERT … SELECT … RETURNING`` that
        writes only while the key is unclaimed, then the key's row with the answer, then
        the commit (see ``_keyed_insert``). Nothing inserted: the key's stored answer is
        replayed (422 for another request, 409 while another request holds the key)."""
        try:
            row = self.session.execute(statement, parameters).first()
        except DBAPIError as error:
            instead = idempotency.in_flight_instead(error)
            if instead is None:
                raise
            raise instead from None
        if row is None:
            return idempotency.stored_answer(self.session, parameters)
        compiled = self.__restly_compiled__
        body = self._dump_row(row)
        tag = representation_tag(body) if compiled.conditional is not None else None
        written = Written(body, row[len(compiled.flat_columns or ())], tag)
        answer = self._write_response(written, 201, http_request)
        idempotency.store(self.session, parameters, answer)
        self._commit()
        return answer

    def _claim_key(self, http_request: Request | None) -> Response | None:
        """Claim the ``Idempotency-Key`` the request sent, in its transaction; return the
        stored answer to replay instead when the key's request already ran (409 while it
        runs, 422 when the key was used for another request). Once per request: on a view
        with ETags the precondition check claims first, so a replay is never a 412."""
        claiming = self._key_to_claim()
        if claiming is None:
            return self._replay
        outcome = idempotency.claim(self.session, *claiming)
        if isinstance(outcome, Response):
            self._replay = outcome
        else:
            self._claimed_key = (outcome, http_request)
        return self._replay

    def _record_answer(self, written: Written, status: int) -> None:
        """Store the answer this write sends, as its route builds it (``Prefer``,
        ``Location``, ``ETag``), under the claimed key, in the write's transaction."""
        assert self._claimed_key is not None  # only called once the key is claimed
        claimed, request = self._claimed_key
        answer = self._write_response(written, status, request)
        idempotency.record(self.session, claimed, answer)

    # -- ETags and preconditions ------------------------------------------------------------

    def _check_preconditions(self, id: ItemId, http_request: Request) -> None:
        """The preconditions of a write, checked before its body is validated (the guard of
        ``PATCH``/``PUT``/``DELETE``), so 404 comes first, then 428 and 412, then 422.

        With ``If-Match`` or ``If-None-Match`` the row is read locked (a concurrent write of
        it waits until this request ends), so the check and the write are one step: of two
        writes carrying the same current tag, the second finds the first's new tag and
        answers 412. ``authorize`` runs after, when the write itself runs. A request whose
        ``Idempotency-Key`` already has an answer gets it replayed, whatever the tags.
        """
        if self._claim_key(http_request) is not None:
            return  # the route answers the replay
        if_match, if_none_match = self._precondition_tags(http_request.headers)
        conditional = self.__restly_compiled__.conditional
        assert conditional is not None  # guards are set only for views with ETags
        if if_match is None and if_none_match is None:
            if conditional.require_if_match:
                self.handle_get(id)  # 404 before 428
                raise PreconditionRequired()
            return
        writes = self.__restly_compiled__.single_writes
        if (
            if_none_match is None
            and isinstance(if_match, tuple)
            and len(if_match) == 1  # one tag: `*` or a list hold at other versions too
            and http_request.method in ("PATCH", "PUT")
            and writes.versioned_ready(self.session)
        ):  # the version is checked again by the UPDATE itself (see _update)
            read = writes.version_read
            assert read is not None  # versioned_ready: the view has a versioned update
            row = self._require(self.session.execute(read, {ID_PARAMETER: id}).first())
            if not strong_match(if_match, version_tag(row[0])):
                raise PreconditionFailed()
            self._checked_version = (row[0],)
            return
        tag = self._tag(self._read_current(id))
        if if_match is None and conditional.require_if_match:
            raise PreconditionRequired()
        if if_match is not None and not strong_match(if_match, tag):
            raise PreconditionFailed()
        if if_none_match is not None and weak_match(if_none_match, tag):
            raise PreconditionFailed()

    def _read_current(self, id: Any) -> Any:
        """The object with ``id`` as committed now, locked until this request ends."""
        persistence.lock_for_write(self.session)  # SQLite: its write lock
        locked = self._locked_statement(id)
        if locked is not None:
            obj = self._require(self.session.scalar(*locked))
        else:  # the view's own handle_get or scope: read, then lock and re-read the row
            obj = self.handle_get(id)
            persistence.refresh_locked(self.session, obj)
        self._locked = obj
        return obj

    def _get_tagged(self, id: Any, http_request: Request | None) -> Response:
        """``GET /{id}`` of a view with ETags: the answer with its tag, 304 when
        ``If-None-Match`` names the tag (after ``authorize``; no body is dumped for a
        version tag), 412 when ``If-Match`` does not."""
        compiled = self.__restly_compiled__
        conditional = compiled.conditional
        assert conditional is not None
        rows = None if compiled.lifecycle.authorize else conditional.get_rows
        body: bytes | None = None
        row = obj = None
        if rows is not None:
            row = self._require(self.session.execute(rows, {ID_PARAMETER: id}).first())
            if conditional.version_key is not None:
                tag = version_tag(row[conditional.version_index])
            else:
                body = self._dump_row(row)
                tag = representation_tag(body)
        else:
            obj = self.handle_get(id)
            if compiled.lifecycle.authorize:
                self.authorize(Action.GET_ONE, obj, None)
            if conditional.version_key is None:
                body = self._dump_one(obj)
            tag = self._tag(obj, body)
        if http_request is not None and self._not_modified(http_request.headers, tag):
            self._commit()
            return self._tagged(None, tag)
        if body is None:  # a version tag: dumped only now that it is needed
            body = self._dump_row(row) if rows is not None else self._dump_one(obj)
        self._commit()
        return self._tagged(body, tag)
