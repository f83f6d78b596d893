"""What a database error is: whose fault, and a short SQL-free message for a violated constraint.

::

    classify(error)                  # -> "unavailable", "conflict", "constraint", "invalid", None
    describe_integrity_error(error)  # -> "Unique constraint violated: users_email_key (email)"

This module is the one place that reads driver error codes: the SQLite result code and
message, PostgreSQL's SQLSTATE (psycopg, asyncpg), MySQL/MariaDB error numbers (PyMySQL,
aiomysql). The exception handlers decide the status with :func:`classify` and word the 409
with :func:`describe_integrity_error`; both read the same tables below, so a code that names a
violated constraint is a 409 *and* is described, on every driver.

- ``"unavailable"`` (answered 503 with ``Retry-After``): the server cannot be reached or went
  away, a connection was invalidated, the pool had no connection in time, SQLite is locked or
  cannot open its file, a lock or statement timeout fired, the server is shutting down or out
  of resources, a write reached a read-only server (a failover in progress). PostgreSQL
  SQLSTATE classes ``08``/``53``/``57P``, ``57014``, ``55P03``, ``25006``; MySQL codes 1040,
  1205, 1290, 1792, 1836, 2002, 2003, 2006, 2013, 2055, 3024, 4031; SQLite ``BUSY``,
  ``LOCKED``, ``IOERR``, ``FULL``, ``CANTOPEN``. A plain ``OSError`` counts when a driver or
  SQLAlchemy raised it (:func:`from_database_driver`).
- ``"conflict"`` (409): a serialization failure or deadlock between concurrent transactions
  (SQLSTATE ``40001``/``40P01``, MySQL 1213); the client may retry.
- ``"constraint"`` (409): a constraint was violated. Every ``IntegrityError``, and the
  violations MySQL/MariaDB drivers raise as other errors: a failed CHECK (MySQL 3819, MariaDB
  4025, which also guards JSON columns with ``JSON_VALID``) and a NOT NULL column without a
  default left out of an INSERT (1364).
- ``"invalid"`` (422): the database refused a value (``DataError``, SQLSTATE class ``22``,
  MySQL 1264/1292/1366/1406): too long, out of range, not representable.
- ``None``: a programming error (no such table, syntax error, wrong column...). restly does
  not hide it behind a 503: it stays a 500 so it is noticed and fixed. So does a protocol
  violation (SQLSTATE ``08P01``) the server reports, e.g. psycopg's prepared statements
  crossed between clients behind PgBouncer: a configuration error that a retry repeats.
  PgBouncer's own transient errors share the code (``query_wait_timeout``, "no more
  connections allowed"...) and stay ``"unavailable"``.

:func:`commit_outcome_unknown` tells, of an error raised by a COMMIT, whether the connection
died without an answer (the write may have been applied) or the server answered (it was not).

Only constraint and column names reach a message, never SQL text, parameters or values (a
value may be a secret). Names come from the driver's structured fields where there are some
(PostgreSQL), otherwise from the error message (SQLite, MySQL/MariaDB); a name that does not
look like an identifier is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

__all__ = [
    "Fault",
    "IntegrityErrorKind",
    "IntegrityViolation",
    "classify",
    "commit_outcome_unknown",
    "describe_integrity_error",
    "from_database_driver",
    "integrity_error_kind",
    "is_lock_wait",
    "is_missing_table",
    "parse_integrity_error",
]

Fault = Literal["unavailable", "conflict", "constraint", "invalid"]
IntegrityErrorKind = Literal["unique", "foreign_key", "not_null", "check", "exclusion", "unknown"]

# --- the tables: what each driver code means ---------------------------------------------------

# PostgreSQL SQLSTATEs. Class 23 is "integrity constraint violation": its codes not listed
# here are still constraints, of a kind the message does not name.
_PG_VIOLATIONS: dict[str, IntegrityErrorKind] = {
    "23505": "unique",
    "23503": "foreign_key",
    "23001": "foreign_key",  # restrict_violation
    "23502": "not_null",
    "23514": "check",
    "23P01": "exclusion",
}
# 08 connection exceptions, 53 out of resources, 57P operator intervention (admin or crash
# shutdown, cannot connect now...), 57014 statement timeout, 55P03 lock timeout, and 25006:
# a write reached a read-only server, which is what a failover in progress looks like.
_PG_UNAVAILABLE_CLASSES = ("08", "53", "57P")
_PG_UNAVAILABLE = frozenset({"57014", "55P03", "25006"})
# 08P01 protocol_violation: a 500 when PostgreSQL says so (crossed prepared statements, a
# bind with the wrong parameter count), a 503 when PgBouncer uses it for its own transient
# refusals, which it words thus.
_PG_PROTOCOL_VIOLATION = "08P01"
_PGBOUNCER_TRANSIENT = (
    "query_wait_timeout",
    "no more connections allowed",
    "pgbouncer cannot connect to server",
    "server login has been failing",
    "server conn crashed",
    "pgbouncer is shutting down",
)
_PG_CONFLICT = frozenset({"40001", "40P01"})

# MySQL/MariaDB error numbers of violated constraints, with the pattern that finds the name in
# the (English) message. Some arrive as OperationalError, not IntegrityError (3819, 4025, 1364).
_FOR_KEY = re.compile(r".* for key '(?:[^'.]*\.)?(?P<constraint>[^']*)'$", re.S)
_FK_CONSTRAINT = re.compile(r".*?, CONSTRAINT `(?P<constraint>[^`]*)` FOREIGN KEY", re.S)
_MYSQL_VIOLATIONS: dict[int, tuple[IntegrityErrorKind, re.Pattern[str] | None]] = {
    # "Duplicate entry '...' for key 'users.users_email_key'" (the table prefix is MySQL 8)
    1062: ("unique", _FOR_KEY),
    1586: ("unique", _FOR_KEY),
    1022: ("unique", None),
    1169: ("unique", None),
    # "... a foreign key constraint fails (`db`.`t`, CONSTRAINT `t_a_fkey` FOREIGN KEY ..."
    1451: ("foreign_key", _FK_CONSTRAINT),
    1452: ("foreign_key", _FK_CONSTRAINT),
    1216: ("foreign_key", None),
    1217: ("foreign_key", None),
    1048: ("not_null", re.compile(r"Column '(?P<column>[^']*)' cannot be null")),
    1364: ("not_null", re.compile(r"Field '(?P<column>[^']*)' doesn't have a default value")),
    3819: ("check", re.compile(r"Check constraint '(?P<constraint>[^']*)' is violated")),
    4025: ("check", re.compile(r"CONSTRAINT `(?P<constraint>[^`]*)` failed for")),
}
_MYSQL_FAULTS: dict[int, Fault] = {
    **dict.fromkeys((1040, 1205, 2002, 2003, 2006, 2013, 2055, 3024, 4031), "unavailable"),
    # A write refused by a read-only server (``--read-only``, read-only mode, a read-only
    # session): a replica that is not promoted yet.
    **dict.fromkeys((1290, 1792, 1836), "unavailable"),
    1213: "conflict",  # deadlock
    **dict.fromkeys((1264, 1292, 1366, 1406), "invalid"),
}
_MYSQL_MODULES = ("pymysql", "aiomysql", "MySQLdb")

# sqlite3 primary result codes (the low byte of ``sqlite_errorcode``).
_SQLITE_CONSTRAINT = 19
_SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 13, 14})  # BUSY, LOCKED, IOERR, FULL, CANTOPEN
_SQLITE_UNAVAILABLE_MESSAGES = ("database is locked", "database table is locked", "unable to open")
_SQLITE_VIOLATION = re.compile(
    r"(?P<label>UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (?P<subject>.*))?$", re.S
)
_SQLITE_VIOLATIONS: dict[str, IntegrityErrorKind] = {
    "UNIQUE": "unique",
    "NOT NULL": "not_null",
    "CHECK": "check",
    "FOREIGN KEY": "foreign_key",
}

# --- the status decision -----------------------------------------------------------------------


def classify(error: DBAPIError) -> Fault | None:
    """Return what kind of failure ``error`` is, or ``None`` for a programming error."""
    if isinstance(error, IntegrityError):
        return "constraint"
    if error.connection_invalidated:
        return "unavailable"
    if isinstance(error, DataError):
        return "invalid"
    original = error.orig
    code = _mysql_code(original)  # before SQLSTATE: PyMySQL sets a coarse one too
    if code is not None:
        return "constraint" if code in _MYSQL_VIOLATIONS else _MYSQL_FAULTS.get(code)
    sqlstate = _sqlstate(original)
    if sqlstate == _PG_PROTOCOL_VIOLATION:
        message = str(original).lower()
        return "unavailable" if any(text in message for text in _PGBOUNCER_TRANSIENT) else None
    if sqlstate is not None:
        return _postgres(sqlstate)
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return _sqlite(sqlite_code & 0xFF)
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


# A lock the statement needed is held by another transaction and was not granted: SQLite
# BUSY/LOCKED after its busy timeout, MySQL/MariaDB 1205 (lock wait timeout, and MariaDB's
# NOWAIT), 3572 (MySQL's NOWAIT), PostgreSQL 55P03 (lock_not_available).
_MYSQL_LOCK_WAIT = frozenset({1205, 3572})
# The statement names a table that does not exist: PostgreSQL 42P01, MySQL 1146, SQLite's text.
_MYSQL_NO_TABLE = 1146


def is_lock_wait(error: DBAPIError) -> bool:
    """Whether ``error`` says a lock held by another transaction was not granted in time."""
    original = error.orig
    code = _mysql_code(original)
    if code is not None:
        return code in _MYSQL_LOCK_WAIT
    sqlstate = _sqlstate(original)
    if sqlstate is not None:
        return sqlstate == "55P03"
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in (5, 6)  # BUSY, LOCKED
    message = str(original).lower()
    return "database is locked" in message or "database table is locked" in message


def is_missing_table(error: DBAPIError) -> bool:
    """Whether ``error`` says a table the statement names does not exist."""
    original = error.orig
    code = _mysql_code(original)
    if code is not None:
        return code == _MYSQL_NO_TABLE
    sqlstate = _sqlstate(original)
    if sqlstate is not None:
        return sqlstate == "42P01"
    return "no such table" in str(original).lower()


# MySQL/MariaDB: the connection was lost while waiting for the answer (2013, 2055). 2006
# ("server has gone away") is raised when the statement could not be sent at all.
_MYSQL_LOST_WAITING = frozenset({2013, 2055})


def commit_outcome_unknown(error: BaseException) -> bool:
    """Whether ``error``, raised by a COMMIT, leaves its outcome unknown.

    True when the connection was lost, reset or timed out with no answer from the server:
    the COMMIT may have been applied. False when the server answered with an error (it was
    not applied: a terminated backend's ``57P01``, a deferred constraint, a serialization
    failure...) and for errors that are no connection failure.
    """
    if isinstance(error, DBAPIError):
        original = error.orig
        code = _mysql_code(original)
        if code is not None:
            return code in _MYSQL_LOST_WAITING
        sqlstate = _sqlstate(original)
        if sqlstate is not None:  # asyncpg reports a lost connection as class 08 itself
            return sqlstate.startswith("08") and sqlstate != _PG_PROTOCOL_VIOLATION
        cause = getattr(original, "__cause__", None)  # asyncpg's own error, or an OSError
        if isinstance(original, (OSError, TimeoutError)) or isinstance(cause, OSError):
            return True
        # psycopg: no SQLSTATE means the server sent no answer. (asyncpg's "the underlying
        # connection is closed" is raised before anything is sent: the outcome is known.)
        return isinstance(error, OperationalError) and hasattr(original, "sqlstate")
    return isinstance(error, (OSError, TimeoutError)) and from_database_driver(error)


def from_database_driver(error: BaseException) -> bool:
    """Whether ``error`` was raised inside a database driver or SQLAlchemy.

    Some connection failures escape unwrapped as a plain ``OSError``: asyncpg, connecting to
    a host name with several addresses, raises ``OSError("Multiple exceptions: ...")``. Such
    an error is an outage; the same ``OSError`` raised by the application's own code (a
    missing file) is a bug, and stays a 500.
    """
    frame = error.__traceback__
    while frame is not None:
        module = frame.tb_frame.f_globals.get("__name__")
        if isinstance(module, str) and module.partition(".")[0] in _DATABASE_MODULES:
            return True
        frame = frame.tb_next
    return False


_DATABASE_MODULES = frozenset(
    {"sqlalchemy", "asyncpg", "psycopg", "psycopg2", "aiosqlite", "sqlite3", *_MYSQL_MODULES}
)


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


def _sqlite(primary_code: int) -> Fault | None:
    if primary_code == _SQLITE_CONSTRAINT:
        return "constraint"
    return "unavailable" if primary_code in _SQLITE_UNAVAILABLE else None


def _mysql_code(original: object) -> int | None:
    if type(original).__module__.split(".")[0] not in _MYSQL_MODULES:
        return None
    args = getattr(original, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _sqlstate(original: BaseException | None) -> str | None:
    sqlstate = _first(_postgres_errors(original), "sqlstate", "pgcode")
    return sqlstate if isinstance(sqlstate, str) else None


def _postgres_errors(original: BaseException | None) -> list[BaseException]:
    # psycopg errors carry everything; SQLAlchemy's asyncpg adapter carries the SQLSTATE and
    # keeps asyncpg's own exception, which has the constraint and column, as the __cause__.
    return [e for e in (original, getattr(original, "__cause__", None)) if e is not None]


def _first(candidates: list[BaseException], *names: str) -> Any:
    """The first non-empty attribute among ``names`` on the errors or their ``diag``."""
    for candidate in candidates:
        for holder in (candidate, getattr(candidate, "diag", None)):
            for name in names:
                value = getattr(holder, name, None)
                if value:
                    return value
    return None


# --- the message -------------------------------------------------------------------------------

_LABELS: dict[IntegrityErrorKind, str] = {
    "unique": "Unique constraint violated",
    "foreign_key": "Foreign key constraint violated",
    "not_null": "Not-null constraint violated",
    "check": "Check constraint violated",
    "exclusion": "Exclusion constraint violated",
    "unknown": "Integrity constraint violated",
}

# An identifier as databases print it; anything else (an expression such as SQLite's text of
# an unnamed CHECK) is dropped rather than echoed.
_IDENTIFIER = re.compile(r"[\w$]{1,128}")


@dataclass(frozen=True)
class IntegrityViolation:
    """What an integrity error says: the kind, and the constraint and columns when known."""

    kind: IntegrityErrorKind
    constraint: str | None = None
    columns: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """``"<Kind> constraint violated: <constraint> (<columns>)"``, omitting unknown parts."""
        columns = ", ".join(self.columns)
        if self.constraint and columns:
            subject = f"{self.constraint} ({columns})"
        else:
            subject = self.constraint or columns
        label = _LABELS[self.kind]
        return f"{label}: {subject}" if subject else label

    @classmethod
    def of(
        cls, kind: IntegrityErrorKind, constraint: Any = None, columns: Iterable[Any] = ()
    ) -> IntegrityViolation:
        """Build a violation, keeping only names that look like identifiers.

        Columns are kept all or none: naming half of a key would mislead.
        """
        columns = tuple(columns)
        safe_columns = columns if all(_is_identifier(c) for c in columns) else ()
        return cls(kind, constraint if _is_identifier(constraint) else None, safe_columns)


def parse_integrity_error(error: DBAPIError) -> IntegrityViolation:
    """Read the kind, constraint and columns from an error raised by a DBAPI driver."""
    original = error.orig
    code = _mysql_code(original)
    if code is not None:
        return _mysql_violation(code, original)
    sqlstate = _sqlstate(original)
    if sqlstate is not None:
        return _postgres_violation(sqlstate, _postgres_errors(original))
    return _sqlite_violation(original)


def describe_integrity_error(error: DBAPIError) -> str:
    """Return a short message naming the violated constraint and/or column, without values.

    E.g. ``"Unique constraint violated: users_email_key (email)"``,
    ``"Not-null constraint violated: title"``; ``"Integrity constraint violated"`` when the
    error says nothing more that is safe to repeat.
    """
    return parse_integrity_error(error).message


def integrity_error_kind(error: DBAPIError) -> IntegrityErrorKind:
    """Return which kind of constraint ``error`` reports (``"unknown"`` when it can't tell)."""
    return parse_integrity_error(error).kind


# The key part of a DETAIL such as 'Key (region, code)=(eu, 7) already exists.'; only the
# column list before ")=(" is read, the values after it never are.
_POSTGRES_KEY_DETAIL = re.compile(r"Key \((?P<columns>.*?)\)=\(")


def _postgres_violation(sqlstate: str, errors: list[BaseException]) -> IntegrityViolation:
    kind = _PG_VIOLATIONS.get(sqlstate, "unknown")
    if kind == "unknown":
        return IntegrityViolation(kind)
    column = _first(errors, "column_name")
    if kind == "not_null":
        return IntegrityViolation.of(kind, columns=[column] if column else [])
    columns: list[str] = []
    if kind in ("unique", "exclusion"):
        detail = _first(errors, "detail", "message_detail")
        match = _POSTGRES_KEY_DETAIL.match(detail) if isinstance(detail, str) else None
        if match:  # an expression index yields no identifiers: the constraint alone is named
            columns = match["columns"].split(", ")
    return IntegrityViolation.of(kind, _first(errors, "constraint_name"), columns)


def _mysql_violation(code: int, original: BaseException | None) -> IntegrityViolation:
    if code not in _MYSQL_VIOLATIONS:
        return IntegrityViolation("unknown")
    kind, pattern = _MYSQL_VIOLATIONS[code]
    args: tuple[Any, ...] = getattr(original, "args", ())
    message = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
    match = pattern.match(message) if pattern is not None else None
    if match is None:
        return IntegrityViolation(kind)
    names = match.groupdict()
    column = names.get("column")
    return IntegrityViolation.of(kind, names.get("constraint"), [column] if column else [])


def _sqlite_violation(original: BaseException | None) -> IntegrityViolation:
    args: tuple[Any, ...] = getattr(original, "args", ())
    message = args[0] if args and isinstance(args[0], str) else ""
    match = _SQLITE_VIOLATION.match(message)
    if match is None:
        return IntegrityViolation("unknown")
    kind = _SQLITE_VIOLATIONS[match["label"]]
    subject = match["subject"] or ""
    if kind == "check":  # the constraint name, or the expression of an unnamed CHECK
        return IntegrityViolation.of(kind, subject)
    if subject.startswith("index '") and subject.endswith("'"):  # a unique expression index
        return IntegrityViolation.of(kind, subject[len("index '") : -1])
    # "t.a, t.b": table-qualified columns; the table is left out as PostgreSQL's names are.
    columns = [name.partition(".")[2] or name for name in subject.split(", ") if name]
    return IntegrityViolation.of(kind, columns=columns)


def _is_identifier(name: Any) -> bool:
    return isinstance(name, str) and _IDENTIFIER.fullmatch(name) is not None
