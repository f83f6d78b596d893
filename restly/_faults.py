"""Classify database failures: which ones are the client's, which are transient, which are bugs.

::

    classify(error)  # -> "unavailable" | "conflict" | "constraint" | "invalid" | None

- ``"unavailable"`` (answered 503 with ``Retry-After``): the server cannot be reached or went
  away, a connection was invalidated, the pool had no connection in time, SQLite is locked or
  cannot open its file, a lock or statement timeout fired, the server is shutting down or out
  of resources. PostgreSQL SQLSTATE classes ``08``/``53``/``57P0x``, ``57014``, ``55P03``;
  MySQL codes 1040, 1205, 2002, 2003, 2006, 2013, 2055, 3024, 4031; SQLite ``BUSY``,
  ``LOCKED``, ``IOERR``, ``FULL``, ``CANTOPEN``.
- ``"conflict"`` (409): a serialization failure or deadlock between concurrent transactions
  (SQLSTATE ``40001``/``40P01``, MySQL 1213); the client may retry.
- ``"constraint"`` (409, like an ``IntegrityError``): a CHECK constraint failed where the
  driver reports it as an operational error (MySQL 3819, MariaDB 4025 — MariaDB checks JSON
  columns with ``JSON_VALID``, which refuses more than 32 levels of nesting).
- ``"invalid"`` (422): the database refused a value (``DataError``, SQLSTATE class ``22``,
  MySQL 1264/1292/1366/1406): too long, out of range, not representable.
- ``None``: a programming error (no such table, syntax error, wrong column...). restly does
  not hide it behind a 503: it stays a 500 so it is noticed and fixed.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError

__all__ = ["Fault", "classify"]

Fault = Literal["unavailable", "conflict", "constraint", "invalid"]

_PG_UNAVAILABLE_CLASSES = ("08", "53")
_PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "57P04", "57P05", "57014", "55P03"})
_PG_CONFLICT = frozenset({"40001", "40P01"})

_MYSQL_UNAVAILABLE = frozenset({1040, 1205, 2002, 2003, 2006, 2013, 2055, 3024, 4031})
_MYSQL_CONFLICT = frozenset({1213})
_MYSQL_CONSTRAINT = frozenset({3819, 4025})  # CHECK failed (MySQL, MariaDB; e.g. JSON_VALID)
_MYSQL_INVALID = frozenset({1264, 1292, 1366, 1406})

# sqlite3 primary result codes: BUSY, LOCKED, IOERR, FULL, CANTOPEN.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 13, 14})
_SQLITE_UNAVAILABLE_MESSAGES = ("database is locked", "database table is locked", "unable to open")


def classify(error: DBAPIError) -> Fault | None:
    """Return what kind of failure ``error`` is, or ``None`` for a programming error."""
    if error.connection_invalidated:
        return "unavailable"
    if isinstance(error, DataError):
        return "invalid"
    original = error.orig
    code = _mysql_code(original)  # before SQLSTATE: PyMySQL sets a coarse one too
    if code is not None:
        return _mysql(code)
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if isinstance(sqlstate, str):
        return _postgres(sqlstate)
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return "unavailable" if sqlite_code & 0xFF in _SQLITE_UNAVAILABLE else None
    if isinstance(original, (OSError, TimeoutError)):
        return "unavailable"
    if isinstance(error, OperationalError):
        message = str(original).lower()
        if any(text in message for text in _SQLITE_UNAVAILABLE_MESSAGES):
            return "unavailable"
        if hasattr(original, "sqlstate"):
            return "unavailable"  # psycopg: no SQLSTATE means the connection failed
    if isinstance(error, InterfaceError):
        return "unavailable"  # the driver lost or closed its connection
    return None


def _postgres(sqlstate: str) -> Fault | None:
    if sqlstate in _PG_CONFLICT:
        return "conflict"
    if sqlstate in _PG_UNAVAILABLE or sqlstate.startswith(_PG_UNAVAILABLE_CLASSES):
        return "unavailable"
    if sqlstate.startswith("22"):
        return "invalid"
    if sqlstate.startswith("23"):
        return "constraint"
    return None


def _mysql_code(original: object) -> int | None:
    if type(original).__module__.split(".")[0] not in ("pymysql", "aiomysql", "MySQLdb"):
        return None
    args = getattr(original, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _mysql(code: int) -> Fault | None:
    if code in _MYSQL_UNAVAILABLE:
        return "unavailable"
    if code in _MYSQL_CONFLICT:
        return "conflict"
    if code in _MYSQL_CONSTRAINT:
        return "constraint"
    if code in _MYSQL_INVALID:
        return "invalid"
    return None
