"""``LifecycleHooks``: ``RestView``'s lifecycle hooks, the sync twin of
``AsyncLifecycleHooks`` (see ``_rest_hooks.py``).

GENERATED from ``_rest_hooks.py`` by ``python -m restly.views._unasync``: do not edit; edit
``_rest_hooks.py`` and regenerate (``tests/views/test_sync_twin.py`` fails when this is stale).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..db import SessionDep
from ..resource import restly_default
from ._actions import WriteAction
from ._rest_base import BaseRestView

__all__ = ["LifecycleHooks"]

logger = logging.getLogger("restly")


class LifecycleHooks(BaseRestView):
    """The lifecycle hooks and ``write_action``, for ``RestView``."""

    __abstract__ = True

    if TYPE_CHECKING:  # provided by RestView
        session: SessionDep

        def _commit(self) -> None: ...

    @contextmanager
    def write_action(
        self, action: str, obj: Any = None, data: Any = None
    ) -> Iterator[WriteAction]:
        """Run a custom action (publish, archive, change a password) through the pipeline.

        ::

            @fr.post("/{id}/publish")
            def publish(self, id: int) -> BookRead:
                book = self.handle_get(id)
                with self.write_action("publish", obj=book) as write:
                    book.published = True
                return self.to_response_schema(write.obj)

        Entering calls ``authorize(action, obj, data)`` and takes ``old = snapshot(obj)``;
        leaving the block flushes, runs ``before_action_commit(action, obj, old)``, commits
        and runs ``after_action_commit``. An exception inside the block (or from
        ``before_action_commit``) rolls everything back and propagates. Set ``write.obj``
        in the block when the action creates the row.
        """
        self.authorize(action, obj, data)
        write = WriteAction(action, obj, data, self.snapshot(obj) if obj is not None else None)
        try:
            yield write
            self.session.flush()
            self.before_action_commit(action, write.obj, write.old)
        except BaseException:
            self.session.rollback()
            raise
        self._commit()
        self._after_commit(action, write.obj, write.old)

    def _after_commit(self, action: str, new: Any, old: dict[str, Any] | None) -> None:
        """``after_action_commit``: the write is durable, so a failure is logged, the work
        the hook left uncommitted is rolled back, and the client gets its success answer."""
        try:
            self.after_action_commit(action, new, old)
        except Exception:
            logger.exception(
                "%s.after_action_commit(%r) failed; the %s is committed and was answered "
                "as a success",
                type(self).__name__,
                action,
                action,
            )
            self.session.rollback()

    # -- hooks: restly's own do nothing (see restly.resource.Lifecycle) ------------------

    @restly_default
    def authorize(self, action: str, obj: Any = None, data: Any = None) -> None:
        """Decide whether this request may do ``action``; raise to refuse.

        Called by every generated route before anything is written: ``Action.GET_MANY``
        before the list query; ``GET_ONE``, ``UPDATE`` and ``DELETE`` with the row read as
        ``obj``; ``CREATE`` and ``UPDATE`` with the validated body as ``data``; and by
        ``write_action`` with a custom action's name. Raise
        :class:`~restly.exc.Forbidden` (403), or :class:`~restly.exc.NotFound` (404) to
        hide that the row exists. Class-level dependencies (the current user) are set on
        ``self``. The default allows everything.
        """

    @restly_default
    def before_action_commit(self, action: str, new: Any, old: dict[str, Any] | None = None) -> None:
        """Run inside the transaction, after the write is flushed (audit rows, an outbox).

        ``new`` is the row as written (for a delete, the deleted row); ``old`` its
        ``snapshot`` before the change (``None`` for a create). Raising rolls back
        everything, the rows this hook added included; the exception is answered like any
        other (an ``HTTPException`` keeps its status).
        """

    @restly_default
    def after_action_commit(self, action: str, new: Any, old: dict[str, Any] | None = None) -> None:
        """Run after a successful commit (emails, webhooks, cache invalidation).

        The write is durable: an exception here is logged with its traceback on the
        ``restly`` logger and the client still gets the success answer, so it does not
        retry a write that happened.
        """
