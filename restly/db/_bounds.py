"""Client-side bounds on a database that stops answering: no request waits forever.

PostgreSQL's ``statement_timeout`` is enforced by the server: when the link to it goes silent
(a partition, a server that accepts and never answers), nothing enforces it. With a
``statement_timeout`` configured, restly-built engines also bound, on the client, every wait
for an answer to ``statement_timeout + ANSWER_GRACE`` seconds (the grace lets the server's
own cancellation arrive first):

- asyncpg: its ``command_timeout``;
- psycopg 3.2+ (sync and async): a connection class whose waits have that timeout; a wait that
  expires closes the connection (it is mid-protocol, unusable) and raises
  ``psycopg.OperationalError``, an outage (503; at COMMIT, ``CommitOutcomeUnknown``);
- PyMySQL: its ``read_timeout`` (set by ``restly.db._engine``);
- aiomysql: nothing per statement; its ``connect_timeout`` covers only the TCP connect, so
  restly bounds the whole connect (handshake included) with it.

The errors are what the drivers raise for a lost connection, so ``restly._faults`` classifies
them as outages without a special case.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = [
    "ANSWER_GRACE",
    "bounded_aiomysql_connect",
    "psycopg_connection_classes",
    "psycopg_waits_are_boundable",
]

#: Seconds beyond ``statement_timeout`` the client waits for an answer before giving up.
ANSWER_GRACE = 1.0


def bounded_aiomysql_connect(timeout: float) -> Callable[..., Awaitable[Any]]:
    """An ``aiomysql.connect`` whose whole connect, handshake included, takes ``timeout`` s."""
    import aiomysql  # type: ignore[import-untyped]

    async def connect(*args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.wait_for(aiomysql.connect(*args, **kwargs), timeout)
        except asyncio.TimeoutError as error:
            raise ConnectionError(f"no answer from the database within {timeout:g} s") from error

    return connect


def psycopg_waits_are_boundable() -> bool:
    """Whether this psycopg's ``Connection.wait`` takes a ``timeout`` (psycopg 3.2 and
    later; 3.1's waits cannot be bounded, and stay as they are)."""
    import psycopg

    parameters = inspect.signature(psycopg.Connection.wait).parameters
    return "interval" in parameters and "timeout" in parameters


def psycopg_connection_classes(answer_timeout: float) -> tuple[type[Any], type[Any]]:
    """psycopg ``(Connection, AsyncConnection)`` subclasses whose waits for the server give
    up after ``answer_timeout`` seconds (see :func:`psycopg_waits_are_boundable`)."""
    import psycopg
    from psycopg import errors

    def silent(connection: Any) -> psycopg.OperationalError:
        connection.pgconn.finish()  # mid-protocol: never usable again
        return psycopg.OperationalError(
            f"the database sent no answer within {answer_timeout:g} s; connection closed"
        )

    class BoundedConnection(psycopg.Connection):
        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            try:
                return super().wait(gen, interval, answer_timeout if timeout is None else timeout)
            except errors._WaitTimeout as error:
                if timeout is not None:
                    raise
                raise silent(self) from error

    class BoundedAsyncConnection(psycopg.AsyncConnection):
        async def wait(
            self, gen: Any, interval: float = 0.1, timeout: float | None = None
        ) -> Any:
            try:
                return await super().wait(
                    gen, interval, answer_timeout if timeout is None else timeout
                )
            except errors._WaitTimeout as error:
                if timeout is not None:
                    raise
                raise silent(self) from error

    return BoundedConnection, BoundedAsyncConnection
