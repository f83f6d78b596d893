"""``AsyncLifecycleHooks``: the write lifecycle's hooks of ``AsyncRestView`` (a mixin).

::

    class BookView(fr.AsyncRestView):
        async def authorize(self, action, obj=None, data=None):
            if action != fr.Action.GET_MANY and not self.user.is_editor:
                raise fr.Forbidden()

        async def after_action_commit(self, action, new, old=None):
            await notify(action, new.id)

``authorize``, ``before_action_commit`` and ``after_action_commit`` are restly's defaults
that do nothing; the class records at creation which of them a view overrides
(``restly.resource.Lifecycle``), and the write path (``_rest.py``) calls only those.
``write_action`` runs a custom action through the same steps. ``RestView``'s twin,
``_rest_hooks_sync.py``, is generated from this module (``restly.views._unasync``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from ..db import AsyncSessionDep
from ..resource import restly_default
from ._actions import WriteAction
from ._rest_base import BaseRestView

__all__ = ["AsyncLifecycleHooks"]

logger = logging.getLogger("restly")


class AsyncLifecycleHooks(BaseRestView):
    """The lifecycle hooks and ``write_action``, for ``AsyncRestView``."""

    __abstract__ = True

    if TYPE_CHECKING:  # provided by AsyncRestView
        session: AsyncSessionDep

        async def _commit(self) -> None: ...

    @asynccontextmanager
    async def write_action(
        self, action: str, obj: Any = None, data: Any = None
    ) -> AsyncIterator[WriteAction]:
        """Run a custom action (publish, archive, change a password) through the pipeline.

        ::

            @fr.post("/{id}/publish")
            async def publish(self, id: int) -> BookRead:
                book = await self.handle_get(id)
                async with self.write_action("publish", obj=book) as write:
                    book.published = True
                return self.to_response_schema(write.obj)

        Entering calls ``authorize(action, obj, data)`` and takes ``old = snapshot(obj)``;
        leaving the block flushes, runs ``before_action_commit(action, obj, old)``, commits
        and runs ``after_action_commit``. An exception inside the block (or from
        ``before_action_commit``) rolls everything back and propagates. Set ``write.obj``
        in the block when the action creates the row.
        """
        await self.authorize(action, obj, data)
        write = WriteAction(action, obj, data, self.snapshot(obj) if obj is not None else None)
        try:
            yield write
            await self.session.flush()
            await self.before_action_commit(action, write.obj, write.old)
        except BaseException:
            await self.session.rollback()
            raise
        await self._commit()
        await self._after_commit(action, write.obj, write.old)

    async def _after_commit(self, action: str, new: Any, old: dict[str, Any] | None) -> None:
        """``after_action_commit``: the write is durable, so a failure is logged, the work
        the hook left uncommitted is rolled back, and the client gets its success answer."""
        try:
            await self.after_action_commit(action, new, old)
        except Exception:
            logger.exception(
                "%s.after_action_commit(%r) failed; the %s is committed and was answered "
                "as a success",
                type(self).__name__,
                action,
                action,
            )
            await self.session.rollback()

    # -- hooks: restly's own do nothing (see restly.resource.Lifecycle) ------------------

    @restly_default
    async def authorize(self, action: str, obj: Any = None, data: Any = None) -> None:
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
    async def before_action_commit(self, action: str, new: Any, old: dict[str, Any] | None = None) -> None:
        """Run inside the transaction, after the write is flushed (audit rows, an outbox).

        ``new`` is the row as written (for a delete, the deleted row); ``old`` its
        ``snapshot`` before the change (``None`` for a create). Raising rolls back
        everything, the rows this hook added included; the exception is answered like any
        other (an ``HTTPException`` keeps its status).
        """

    @restly_default
    async def after_action_commit(self, action: str, new: Any, old: dict[str, Any] | None = None) -> None:
        """Run after a successful commit (emails, webhooks, cache invalidation).

        The write is durable: an exception here is logged with its traceback on the
        ``restly`` logger and the client still gets the success answer, so it does not
        retry a write that happened.
        """
