"""Short, SQL-free descriptions of integrity errors, for 409 responses and logs.

::

    try:
        session.flush()
    except IntegrityError as error:
        raise Conflict(describe_integrity_error(error))
        # "Unique constraint violated: users_email_key (email)"

Only constraint and column names reach the message, never SQL text, parameters or values
(a value may be a secret). Names come from the driver's structured fields where there are
some (PostgreSQL through psycopg or asyncpg), otherwise from the error message (SQLite,
MySQL/MariaDB); a name that does not look like an identifier is left out.

MySQL/MariaDB drivers raise ``OperationalError``, not ``IntegrityError``, for a violated CHECK
constraint (errors 3819/4025) and for a NOT NULL column left without a value (1364). So an
exception handler mapping integrity errors to 409 should also ask :func:`is_integrity_violation`
about other ``DBAPIError`` s before treating them as "database unavailable"::

    if is_integrity_violation(error):
        return JSONResponse({"detail": describe_integrity_error(error)}, status_code=409)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.exc import DBAPIError, IntegrityError

__all__ = [
    "IntegrityErrorKind",
    "IntegrityViolation",
    "describe_integrity_error",
    "integrity_error_kind",
    "is_integrity_violation",
    "parse_integrity_error",
]

IntegrityErrorKind = Literal["unique", "foreign_key", "not_null", "check", "exclusion", "unknown"]

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
    for parse in (_parse_postgresql, _parse_mysql, _parse_sqlite):
        violation = parse(original)
        if violation is not None:
            return violation
    return IntegrityViolation("unknown")


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


def is_integrity_violation(error: BaseException) -> bool:
    """Return whether ``error`` reports a violated constraint, whatever its exception class."""
    if isinstance(error, IntegrityError):
        return True
    return isinstance(error, DBAPIError) and parse_integrity_error(error).kind != "unknown"


# --- PostgreSQL: SQLSTATE and the server's structured fields -----------------------------------

_POSTGRES_KINDS: dict[str, IntegrityErrorKind] = {
    "23505": "unique",
    "23503": "foreign_key",
    "23001": "foreign_key",  # restrict_violation
    "23502": "not_null",
    "23514": "check",
    "23P01": "exclusion",
}

# The key part of a DETAIL such as 'Key (region, code)=(eu, 7) already exists.'; only the
# column list before ")=(" is read, the values after it never are.
_POSTGRES_KEY_DETAIL = re.compile(r"Key \((?P<columns>.*?)\)=\(")


def _parse_postgresql(original: BaseException | None) -> IntegrityViolation | None:
    # psycopg errors carry everything; SQLAlchemy's asyncpg adapter carries the SQLSTATE and
    # keeps asyncpg's own exception, which has the constraint and column, as the __cause__.
    candidates = [e for e in (original, getattr(original, "__cause__", None)) if e is not None]
    sqlstate = _first(candidates, "sqlstate", "pgcode")
    kind = _POSTGRES_KINDS.get(sqlstate) if isinstance(sqlstate, str) else None
    if kind is None:
        return None
    constraint = _first(candidates, "constraint_name")
    column = _first(candidates, "column_name")
    if kind == "not_null":
        return IntegrityViolation.of(kind, columns=[column] if column else [])
    columns: list[str] = []
    if kind in ("unique", "exclusion"):
        detail = _first(candidates, "detail", "message_detail")
        match = _POSTGRES_KEY_DETAIL.match(detail) if isinstance(detail, str) else None
        if match:  # an expression index yields no identifiers: the constraint alone is named
            columns = match["columns"].split(", ")
    return IntegrityViolation.of(kind, constraint, columns)


def _first(candidates: list[BaseException], *names: str) -> Any:
    """The first non-empty attribute among ``names`` on the errors or their ``diag``."""
    for candidate in candidates:
        for holder in (candidate, getattr(candidate, "diag", None)):
            for name in names:
                value = getattr(holder, name, None)
                if value:
                    return value
    return None


# --- MySQL / MariaDB: error codes and message patterns -----------------------------------------

_MYSQL_CODES: dict[int, tuple[IntegrityErrorKind, re.Pattern[str] | None]] = {
    # "Duplicate entry '...' for key 'users.users_email_key'" (the table prefix is MySQL 8)
    1062: ("unique", re.compile(r".* for key '(?:[^'.]*\.)?(?P<constraint>[^']*)'$", re.S)),
    1586: ("unique", re.compile(r".* for key '(?:[^'.]*\.)?(?P<constraint>[^']*)'$", re.S)),
    1022: ("unique", None),
    1169: ("unique", None),
    # "... a foreign key constraint fails (`db`.`t`, CONSTRAINT `t_a_fkey` FOREIGN KEY ..."
    1451: ("foreign_key", re.compile(r".*?, CONSTRAINT `(?P<constraint>[^`]*)` FOREIGN KEY", re.S)),
    1452: ("foreign_key", re.compile(r".*?, CONSTRAINT `(?P<constraint>[^`]*)` FOREIGN KEY", re.S)),
    1216: ("foreign_key", None),
    1217: ("foreign_key", None),
    1048: ("not_null", re.compile(r"Column '(?P<column>[^']*)' cannot be null")),
    1364: ("not_null", re.compile(r"Field '(?P<column>[^']*)' doesn't have a default value")),
    3819: ("check", re.compile(r"Check constraint '(?P<constraint>[^']*)' is violated")),
    4025: ("check", re.compile(r"CONSTRAINT `(?P<constraint>[^`]*)` failed for")),
}


def _parse_mysql(original: BaseException | None) -> IntegrityViolation | None:
    args: tuple[Any, ...] = getattr(original, "args", ())
    code = args[0] if args else None
    if not isinstance(code, int) or code not in _MYSQL_CODES:
        return None
    kind, pattern = _MYSQL_CODES[code]
    message = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
    match = pattern.match(message) if pattern is not None else None
    if match is None:
        return IntegrityViolation(kind)
    names = match.groupdict()
    column = names.get("column")
    return IntegrityViolation.of(kind, names.get("constraint"), [column] if column else [])


# --- SQLite: message patterns ------------------------------------------------------------------

_SQLITE_PATTERN = re.compile(
    r"(?P<label>UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (?P<subject>.*))?$", re.S
)
_SQLITE_KINDS: dict[str, IntegrityErrorKind] = {
    "UNIQUE": "unique",
    "NOT NULL": "not_null",
    "CHECK": "check",
    "FOREIGN KEY": "foreign_key",
}


def _parse_sqlite(original: BaseException | None) -> IntegrityViolation | None:
    args: tuple[Any, ...] = getattr(original, "args", ())
    message = args[0] if args and isinstance(args[0], str) else ""
    match = _SQLITE_PATTERN.match(message)
    if match is None:
        return None
    kind = _SQLITE_KINDS[match["label"]]
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
