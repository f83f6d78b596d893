"""Was a session's connection already closed by the server before its COMMIT was sent?

A COMMIT that fails because the connection is gone leaves its outcome unknown, unless the
connection was gone *before* the COMMIT was sent: then it never reached the server, and
nothing was committed (503, retry) rather than perhaps committed (``CommitOutcomeUnknown``).
:func:`closed_before_commit` tells, without a round trip, by peeking at the socket: the end of
the stream, or bytes the server sent unprompted while the client held an idle transaction (a
terminated PostgreSQL backend's ``FATAL`` error, MySQL's error packet before it closes),
mean the server has ended the session. A connection that dies in the moment between the peek
and the COMMIT is reported as unknown, which is the truth as far as the client knows.
"""

from __future__ import annotations

import socket
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["closed_before_commit"]

_PEEK = socket.MSG_PEEK | socket.MSG_DONTWAIT


def closed_before_commit(session: Session) -> bool:
    """Whether a connection of ``session``'s transaction was ended by the server already."""
    transaction = session.get_transaction()
    if transaction is None:
        return False
    # SQLAlchemy keeps the transaction's connections, one per bind, on the root transaction.
    entries = getattr(transaction._connections_boundary, "_connections", {})
    return any(_closed(entry[0]) for entry in list(entries.values()))


def _closed(connection: Any) -> bool:
    try:
        driver = connection.connection.driver_connection
    except Exception:  # noqa: BLE001 - an invalidated connection: the COMMIT will say more
        return False
    if driver is None:
        return False
    module = type(driver).__module__.partition(".")[0]
    if module == "psycopg":
        return not driver.closed and _ended(_fd(driver.pgconn), postgres=True)
    if module == "pymysql":
        sock = getattr(driver, "_sock", None)
        return sock is not None and _ended(sock.fileno(), postgres=False)
    if module in ("asyncpg", "aiomysql"):
        transport = getattr(driver, "_transport", None) or getattr(
            getattr(driver, "_writer", None), "transport", None
        )
        if transport is None or transport.is_closing():
            return True  # the event loop saw the end already
        sock = transport.get_extra_info("socket")
        return sock is not None and _ended(sock.fileno(), postgres=module == "asyncpg")
    return False


def _fd(pgconn: Any) -> int:
    try:
        return int(pgconn.socket)
    except Exception:  # noqa: BLE001 - psycopg raises when the connection has no socket
        return -1


def _ended(fd: int, *, postgres: bool) -> bool:
    """Peek at ``fd`` without consuming: EOF, or an unprompted error, ends the session."""
    if fd < 0:
        return False
    peeker = socket.socket(fileno=fd)
    try:
        pending = peeker.recv(1, _PEEK)
    except BlockingIOError:
        return False  # nothing to read: the connection looks alive
    except OSError:
        return True  # reset
    finally:
        peeker.detach()  # the fd stays the driver's
    # PostgreSQL may send an unprompted notice ('N') or parameter change ('S'); an error
    # ('E') while the client is idle is FATAL. MySQL sends nothing unprompted but an error.
    return pending == b"" or not postgres or pending == b"E"
