"""Reads of the generated routes: statements of columns in the request's session, and the
commit of a read-only request in the same step as its read.

```python
rows = await async_read_rows(session, select(Book.id, Book.title), None)     # a list of rows
book = await async_read_and_commit(session, by_id, {"id": 1}, serializer.dump_one)
page = await async_read_page(session, statement, parameters, read)            # see below
```

Each async function is its sync twin run in one ``run_sync``: one switch into SQLAlchemy's
greenlet for the whole step, whatever it reads. The callables they take (``answer``,
``read``) run in that greenlet, so they must not do I/O.

``execute_rows`` decides how a statement runs: on the session's connection when the ORM
could not change its rows, else through ``Session.execute`` (row scopes and other
``do_orm_execute`` listeners then shape it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ._session import commit

T = TypeVar("T")

__all__ = [
    "async_read_and_commit",
    "async_read_page",
    "async_read_rows",
    "execute_rows",
    "read_and_commit",
    "read_page",
    "read_rows",
]


def read_and_commit(
    session: Session,
    statement: Any,
    parameters: dict[str, Any] | None,
    answer: Callable[[Any], T],
) -> T | None:
    """The first row of ``statement`` handed to ``answer``, then :func:`commit`; what
    ``answer`` returned. No row: None, and nothing is committed (the caller answers 404,
    and the request's session rolls back, as after any failed read).

    For a route whose whole work is one statement: the read, the answer and the commit in
    one step, so an async session switches into SQLAlchemy's greenlet once, not twice
    (see :func:`async_read_and_commit`). A ``SELECT`` that opens the session's transaction,
    with nothing pending to flush, commits without the checks a write needs (nothing was
    written whose outcome could be unknown).
    """
    read_only = _opens_read(session, statement)
    row = execute_rows(session, statement, parameters).first()
    if row is None:
        return None
    result = answer(row)
    commit(session, read_only=read_only)
    return result


async def async_read_and_commit(
    session: AsyncSession,
    statement: Any,
    parameters: dict[str, Any] | None,
    answer: Callable[[Any], T],
) -> T | None:
    """:func:`read_and_commit` for an async session, in one ``run_sync``: ``answer`` must
    not do I/O (it runs in SQLAlchemy's greenlet)."""
    return await session.run_sync(read_and_commit, statement, parameters, answer)


def read_page(
    session: Session,
    statement: Any,
    parameters: dict[str, Any] | None,
    read: Callable[[Any], tuple[T, bool]],
) -> T:
    """The result of ``statement`` handed to ``read``, which consumes its rows and returns
    the page it made of them and whether the request's reads are done; then, when they
    are and ``statement`` opened the session's transaction, the read-only :func:`commit`.
    What ``read`` made.

    A list read this way is read, made into its page and committed in one step: the rows
    need not outlive ``read`` (it may turn them into something lighter as they come), and
    the connection goes back to the pool before the answer is encoded. A transaction that
    was open before (an ``authorize`` that read or wrote) is left to the request's commit.
    """
    read_only = _opens_read(session, statement)
    page, done = read(execute_rows(session, statement, parameters))
    if done and read_only:
        commit(session, read_only=True)
    return page


async def async_read_page(
    session: AsyncSession,
    statement: Any,
    parameters: dict[str, Any] | None,
    read: Callable[[Any], tuple[T, bool]],
) -> T:
    """:func:`read_page` for an async session, in one ``run_sync``: ``read`` must not do
    I/O (it runs in SQLAlchemy's greenlet)."""
    return await session.run_sync(read_page, statement, parameters, read)


def execute_rows(session: Session, statement: Any, parameters: dict[str, Any] | None) -> Any:
    """The result of ``statement`` (a statement of columns, or a write ``… RETURNING``
    columns), run in ``session``'s transaction.

    ``Session.execute`` runs a statement as the ORM would: it flushes pending objects
    first, fires ``do_orm_execute`` listeners (row scopes are one) and sets the rows up for
    ORM loading. When the session holds no object and has no such listener, none of that
    can change the rows, and the statement runs on the session's connection instead: the
    same transaction, the same bind (replica routing and per-model binds see the statement
    and its mapper, as ``Session.execute`` shows them), the rows as the database sent them,
    for about half the CPU time of a small read.
    """
    if session.new or session.identity_map or session.dispatch.do_orm_execute:
        return session.execute(statement, parameters)
    subject = statement._propagate_attrs.get("plugin_subject")
    connection = session.connection(
        bind_arguments={"clause": statement, "mapper": getattr(subject, "mapper", None)}
    )
    return connection.execute(statement, parameters)


def read_rows(
    session: Session, statement: Any, parameters: dict[str, Any] | None
) -> Sequence[Any]:
    """Every row of ``statement`` (see :func:`execute_rows`)."""
    return execute_rows(session, statement, parameters).all()  # type: ignore[no-any-return]


async def async_read_rows(
    session: AsyncSession, statement: Any, parameters: dict[str, Any] | None
) -> Sequence[Any]:
    """:func:`read_rows` for an async session."""
    return await session.run_sync(read_rows, statement, parameters)


def _opens_read(session: Session, statement: Any) -> bool:
    """Whether ``statement`` is a ``SELECT`` that opens ``session``'s transaction with
    nothing pending to flush: committing after it needs none of a write's checks."""
    return bool(statement.is_select) and not (
        session.in_transaction() or session.new or session.dirty or session.deleted
    )
