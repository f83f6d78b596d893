"""Planner estimates of how many rows a list finds, without reading them (PostgreSQL).

``EXPLAIN (FORMAT JSON)`` of a list's filtered statement holds the planner's estimate of its
rows, read from the table statistics (as fresh as the last ``ANALYZE``; autovacuum keeps
them so). The statement is executed as the ORM select it is, so session events (row scopes
adding criteria in ``do_orm_execute``) shape it as they shape the list, with an execution
option; a listener on the engine, added the first time a planned count runs on it, puts
``EXPLAIN`` before its SQL::

    if plans_counts(bind):
        watch_estimates(bind)
        plan = (await session.execute(estimating(statement), parameters)).scalar()
        rows = planned_rows(plan)

Nothing is listened to, and nothing costs anything, on an engine that never estimates.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

__all__ = ["ESTIMATE_OPTION", "estimating", "planned_rows", "plans_counts", "watch_estimates"]

ESTIMATE_OPTION = "restly_estimate"
"""The execution option that makes a statement run as ``EXPLAIN (FORMAT JSON) ...``."""

#: Dialects whose planner estimate restly reads.
_PLANNERS = frozenset({"postgresql"})
_lock = threading.Lock()


def plans_counts(bind: Any) -> bool:
    """Whether the database behind ``bind`` (an engine or connection) estimates rows."""
    return bind is not None and bind.dialect.name in _PLANNERS


def estimating(statement: sa.Select[Any]) -> sa.Select[Any]:
    """``statement``, to be run as ``EXPLAIN`` (see ``watch_estimates``)."""
    return statement.execution_options(**{ESTIMATE_OPTION: True})


def watch_estimates(bind: Any) -> None:
    """Make the engine of ``bind`` run the statements of ``estimating`` as ``EXPLAIN``."""
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    if not event.contains(engine, "before_cursor_execute", _explain):
        with _lock:
            if not event.contains(engine, "before_cursor_execute", _explain):
                event.listen(engine, "before_cursor_execute", _explain, retval=True)


def _explain(
    connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> tuple[str, Any]:
    if context is not None and context.execution_options.get(ESTIMATE_OPTION):
        statement = "EXPLAIN (FORMAT JSON) " + statement
    return statement, parameters


def planned_rows(plan: Any) -> int:
    """The planner's row estimate from ``EXPLAIN (FORMAT JSON)`` output (parsed or text)."""
    if isinstance(plan, (str, bytes)):
        plan = json.loads(plan)
    return max(int(plan[0]["Plan"]["Plan Rows"]), 0)
