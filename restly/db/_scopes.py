"""Row scopes at run time: the registry of an app's scopes, and scoped sessions.

A row scope is a function declared for a model (``@fr.scope(Post)``, see
``restly.resource``) that answers, per request, which rows of the model the request may
see: a SQL condition, or ``None`` for all of them. Each `FRGlobals` keeps its scopes in a
`ScopeRegistry`. A view that reaches a scoped model resolves its scopes per request and
hands the conditions to its session with `scope_session`; from then on every ORM
statement the session runs carries them::

    scope_session(session, {Post: Post.tenant_id == 7})
    session.scalars(select(Post))                  # ... WHERE post.tenant_id = 7
    session.get(Post, 3)                           # None unless post 3 is tenant 7's
    select(Comment).where(Comment.post.has(...))   # the EXISTS carries it too

The conditions are added as SQLAlchemy ``with_loader_criteria(Model, condition,
include_aliases=True)`` options by a ``do_orm_execute`` listener on that one session, so
they reach the entity wherever a statement names it: its FROM clause, joins (in the ON
clause), subqueries and EXISTS, relationship loads (hidden children are not loaded, a
hidden to-one target loads as ``None``), ``session.get`` and ORM-enabled bulk
``UPDATE``/``DELETE``. Column loads of objects already loaded (a refresh after a flush)
are left alone: those rows were visible when they were read. Sessions that are never
scoped carry no listener and pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, event, false
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

__all__ = [
    "WRITTEN",
    "Scope",
    "ScopeRegistry",
    "scope_criteria",
    "scope_session",
    "session_scopes",
]

WRITTEN = "restly_written"
"""Execution option naming the model of the row a write just wrote, when restly reads it
back for the answer (``save_object``): the row is read as written, even if the write moved
it out of the scope; its relationships still load through the scopes."""

#: Where a scoped session keeps its criteria: ``((model, option), ...)`` (``session.info``).
_CRITERIA = "restly_scope_criteria"
#: Marks a session whose listener is installed.
_LISTENING = "restly_scope_listening"


@dataclass(frozen=True, slots=True)
class Scope:
    """One declared row scope: the rows of ``model`` a request may see, as ``function``
    (whose parameters are FastAPI dependencies) answers them."""

    model: type[Any]
    function: Callable[..., Any]
    #: What FastAPI resolves per request: ``function``, or a wrapper of it (one per scope,
    #: so that views sharing the scope share FastAPI's per-request cache entry).
    dependency: Callable[..., Any]

    @property
    def name(self) -> str:
        """The function's name, for messages."""
        return getattr(self.function, "__qualname__", repr(self.function))


class ScopeRegistry:
    """The row scopes of one `FRGlobals`, in declaration order."""

    __slots__ = ("_scopes",)

    def __init__(self) -> None:
        self._scopes: list[Scope] = []

    def add(self, scope: Scope) -> None:
        """Register ``scope`` (several scopes of one model all apply, ANDed)."""
        self._scopes.append(scope)

    def models(self) -> frozenset[type[Any]]:
        """The models that have a scope."""
        return frozenset(scope.model for scope in self._scopes)

    def clear(self) -> None:
        """Forget every scope (a fresh start, e.g. between tests)."""
        self._scopes.clear()

    def __iter__(self) -> Iterator[Scope]:
        return iter(tuple(self._scopes))

    def __len__(self) -> int:
        return len(self._scopes)

    def __bool__(self) -> bool:
        return bool(self._scopes)

    def __repr__(self) -> str:
        shown = ", ".join(f"{s.model.__name__}: {s.name}" for s in self._scopes)
        return f"ScopeRegistry([{shown}])"


def scope_criteria(scope: Scope, value: Any) -> ColumnElement[bool] | None:
    """The condition a scope function answered: a SQL expression, ``None`` or ``True``
    (every row), ``False`` (no row). Anything else is a bug in the scope: `TypeError`."""
    if value is None or value is True:
        return None
    if value is False:
        return false()
    if isinstance(value, ColumnElement):
        return value
    raise TypeError(
        f"row scope {scope.name} for {scope.model.__name__} returned {value!r}; a scope "
        f"returns a SQL condition (e.g. {scope.model.__name__}.owner_id == user.id), or "
        "None for every row."
    )


def scope_session(
    session: Session | AsyncSession, criteria: Mapping[type[Any], ColumnElement[bool]]
) -> None:
    """Make every ORM statement ``session`` runs from now on see only the rows of each
    model that its condition in ``criteria`` admits (replacing any earlier criteria)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    info = sync.info
    info[_CRITERIA] = tuple(
        (model, with_loader_criteria(model, condition, include_aliases=True))
        for model, condition in criteria.items()
    )
    if _LISTENING not in info:
        info[_LISTENING] = True
        event.listen(sync, "do_orm_execute", _add_criteria)


def session_scopes(session: Session | AsyncSession) -> tuple[Any, ...]:
    """The models ``session`` scopes (empty when it is not scoped)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    return tuple(model for model, _ in sync.info.get(_CRITERIA, ()))


def _add_criteria(state: ORMExecuteState) -> None:
    criteria = state.session.info.get(_CRITERIA)
    if not criteria or state.is_column_load:
        return  # a refresh reads columns of an object already visible
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_relationship_load:
        # Loads of relationships of objects this session read carry the options already
        # (SQLAlchemy propagates them); those of objects created here do not.
        present = {id(option) for option in state.statement._with_options}
        options = tuple(option for _, option in criteria if id(option) not in present)
    else:
        written = state.execution_options.get(WRITTEN)
        options = tuple(
            option
            for model, option in criteria
            if written is None or not issubclass(written, model)
        )
    if options:
        state.statement = state.statement.options(*options)
