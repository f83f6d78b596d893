"""Keyset pagination: the total order of a listing, and the condition that seeks past a row.

A listing is ordered by its ``order_by`` keys and then by the primary key (``keyset``), so
no two rows tie. The page after a row holds the rows that sort after that row's values of
those keys; ``seek`` writes that condition key by key, ``(a > x) OR (a = x AND id > z)``,
led by ``a >= x`` so an index on the first key serves it (page 1000 costs what page 1 does)::

    keys = keyset(bound, ("-published", "title"))        # published DESC, title, id
    statement = ordered(select(Book), keys).where(seek(keys, [day, "Dune", 42], [False] * 3))

NULLs sort where the database puts them by default (PostgreSQL and Oracle: after every
value in ascending order; SQLite, MySQL and MariaDB: before), so the unpaged order is
unchanged and an index on the key still serves it; each comparison of a nullable key is
rendered for the database it runs on (``_Compare``), so the pages follow that order on each.
A page before a row (``backwards``) is read in the reverse order, which reverses the NULLs'
place too on every one of these databases, and turned around by the caller.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.visitors import InternalTraversal

from ._cursor import EnumName
from ._plan import int_bounds
from ._sql import BoundPlan, Join
from ._values import INT64_BOUNDS

__all__ = ["KEY_LABEL", "Keyset", "Position", "SortKey", "keyset", "ordered", "seek"]

KEY_LABEL = "restly_key_"
"""Prefix of the labels of the sort-key columns a keyset page statement adds."""

#: Databases that sort NULL after every value in ascending order (and first descending).
NULLS_HIGH = frozenset({"postgresql", "oracle"})


@dataclass(frozen=True, slots=True)
class SortKey:
    """One key of a listing's order: its expression, direction and whether it can be NULL;
    ``python_type``: the type of its values (None when the column type does not say)."""

    expression: Any
    descending: bool
    nullable: bool
    python_type: Any = None
    #: The values an integer key's column holds (a driver refuses others).
    bounds: tuple[int, int] | None = None

    @classmethod
    def of(cls, expression: Any, descending: bool, nullable: bool) -> SortKey:
        column_type = getattr(expression, "type", None)
        try:
            python_type = column_type.python_type  # type: ignore[union-attr]
        except (NotImplementedError, AttributeError):
            python_type = None
        return cls(expression, descending, nullable, python_type, int_bounds(column_type))

    def order(self, backwards: bool = False) -> Any:
        """The ORDER BY term, reversed for a page read ``backwards``."""
        return self.expression.desc() if self.descending != backwards else self.expression.asc()


@dataclass(frozen=True, slots=True)
class Keyset:
    """The keys of a listing's total order and the joins its relation keys need."""

    keys: tuple[SortKey, ...]
    joins: tuple[Join, ...]

    def columns(self) -> list[Any]:
        """The keys as labelled columns, to read a row's position from the page itself."""
        return [key.expression.label(f"{KEY_LABEL}{i}") for i, key in enumerate(self.keys)]

    def load(self, values: Sequence[Any]) -> tuple[Any, ...] | None:
        """``values`` read from a cursor, as the keys bind them (enum members from their
        names); ``None`` when they do not fit the keys (their number or types)."""
        if len(values) != len(self.keys):
            return None
        loaded = []
        for key, value in zip(self.keys, values):
            if isinstance(value, EnumName):
                members = getattr(key.expression.type, "enum_class", None)
                if members is None or value not in members.__members__:
                    return None
                value = members[value]
            if not _fits(key, value):
                return None
            loaded.append(value)
        return tuple(loaded)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: after (or, ``backwards``, before) the row with these key values."""

    values: tuple[Any, ...]
    backwards: bool = False

    @property
    def nulls(self) -> tuple[bool, ...]:
        """Which values are NULL: part of the statement's shape."""
        return tuple(value is None for value in self.values)


#: Orders kept per bound plan (clients choose them; past this they are built anew).
MAX_KEYSETS = 256


def keyset(bound: BoundPlan, order: tuple[str, ...]) -> Keyset:
    """The order of a listing sorted by ``order`` (``-`` descending): its keys, then each
    primary-key column not among them, in the direction of the last key (so an index on
    that key, whose entries end with the primary key, serves the whole order)."""
    found: Keyset | None = bound.keysets.get(order)
    if found is None:
        found = _keyset(bound, order)
        if len(bound.keysets) < MAX_KEYSETS:
            bound.keysets[order] = found
    return found


def _keyset(bound: BoundPlan, order: tuple[str, ...]) -> Keyset:
    keys: list[SortKey] = []
    joins: list[Join] = []
    joined: set[int] = set()
    sorted_columns: set[int] = set()
    descending = False
    for key in order:
        descending = key.startswith("-")
        sort = bound.sorts[key[1:] if descending else key]
        for join in sort.joins:
            if id(join[0]) not in joined:
                joined.add(id(join[0]))
                joins.append(join)
        keys.append(SortKey.of(sort.expression, descending, sort.nullable))
        if sort.column is not None:
            sorted_columns.add(id(sort.column))
    keys.extend(
        SortKey.of(column, descending, False)
        for column in bound.primary_key
        if id(column) not in sorted_columns
    )
    return Keyset(tuple(keys), tuple(joins))


def ordered(query: sa.Select[Any], keys: Keyset, *, backwards: bool = False) -> sa.Select[Any]:
    """``query`` with the keys' LEFT OUTER JOINs and ORDER BY (reversed ``backwards``)."""
    for alias, onclause in keys.joins:
        query = query.outerjoin(alias, onclause)
    return query.order_by(*(key.order(backwards) for key in keys.keys))


def seek(
    keys: Keyset, slots: Sequence[Any], nulls: Sequence[bool], *, backwards: bool = False
) -> sa.ColumnElement[bool]:
    """Rows after the position whose key values are ``slots`` (values or bound parameters;
    ``nulls`` says which are NULL), or before it ``backwards``."""
    branches = []
    ties: list[sa.ColumnElement[bool]] = []
    for key, slot, null in zip(keys.keys, slots, nulls):
        descending = key.descending != backwards
        beyond = _Compare(key.expression, slot, ">", descending, null, key.nullable)
        branches.append(sa.and_(*ties, beyond) if ties else beyond)
        ties.append(_Compare(key.expression, slot, "=", descending, null, key.nullable))
    condition = branches[0] if len(branches) == 1 else sa.or_(*branches)
    first = keys.keys[0]
    if len(branches) > 1 and not first.nullable and not nulls[0]:
        # Redundant, for the planner: the first key bounds the range an index scans.
        lead = _Compare(first.expression, slots[0], ">=", first.descending != backwards)
        condition = sa.and_(lead, condition)
    return condition


class _Compare(sa.ColumnElement[bool]):
    """``sorted`` (a key's expression) sorts after ``slot`` in the given direction (``>``),
    after or with it (``>=``), or with it (``=``), written for the database running the
    statement (``resolve``): where NULL sorts, how its values compare."""

    __visit_name__ = "restly_compare"
    inherit_cache = True
    # A condition already: databases without a boolean type must not get "... = 1", which
    # would hide the comparison from the index.
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("sorted", InternalTraversal.dp_clauseelement),
        ("slot", InternalTraversal.dp_clauseelement),
        ("relation", InternalTraversal.dp_string),
        ("descending", InternalTraversal.dp_boolean),
        ("null", InternalTraversal.dp_boolean),
        ("nullable", InternalTraversal.dp_boolean),
    ]
    type = sa.Boolean()

    def __init__(
        self,
        expression: Any,
        slot: Any,
        relation: str,
        descending: bool,
        null: bool = False,
        nullable: bool = False,
    ) -> None:
        self.sorted = coercions.expect(roles.ExpressionElementRole, expression)
        self.slot = sa.null() if null else slot
        self.relation = relation
        self.descending = descending
        self.null = null
        self.nullable = nullable

    def resolve(self, dialect: str) -> sa.ColumnElement[bool]:
        """The plain condition on ``dialect``."""
        expression: Any = self.sorted
        if self.null:
            if self.relation == "=":
                return expression.is_(None)  # type: ignore[no-any-return]
            # After NULL come the values if NULL sorts first in this direction; else nothing.
            return sa.false() if self._null_last(dialect) else expression.is_not(None)
        left, right = _comparable(expression, self.slot, dialect)
        if self.relation == "=":
            return left == right  # type: ignore[no-any-return]
        if self.descending:
            condition = left <= right if self.relation == ">=" else left < right
        else:
            condition = left >= right if self.relation == ">=" else left > right
        if self.nullable and self._null_last(dialect):
            return sa.or_(condition, expression.is_(None))
        return condition  # type: ignore[no-any-return]

    def _null_last(self, dialect: str) -> bool:
        # NULL sorts after every value: high ascending, or low descending.
        return (dialect in NULLS_HIGH) != self.descending


#: Dialects whose native ENUM sorts by label position but compares labels as text, and
#: whose FLOAT is single precision (compared with a double, a value is not equal to itself).
_MYSQL = frozenset({"mysql", "mariadb"})


def _comparable(expression: Any, slot: Any, dialect: str) -> tuple[Any, Any]:
    """Both sides of a comparison as ORDER BY compares them on ``dialect``."""
    if dialect not in _MYSQL:
        return expression, slot
    column_type = expression.type
    labels = getattr(column_type, "enums", None)
    if labels and getattr(column_type, "native_enum", False):
        # An ENUM sorts by the position of its label: compare the positions.
        return sa.func.field(expression, *labels), sa.func.field(slot, *labels)
    if _single_precision(column_type):
        return expression, sa.cast(slot, sa.Float())  # CAST(? AS FLOAT): MariaDB 10.4.5+
    return expression, slot


def _single_precision(column_type: Any) -> bool:
    """A MySQL/MariaDB ``FLOAT`` (4 bytes), not a ``DOUBLE`` (nor ``REAL``, ``FLOAT(25+)``)."""
    if not isinstance(column_type, sa.Float) or isinstance(column_type, (sa.Double, sa.REAL)):
        return False
    return column_type.precision is None or column_type.precision <= 24


@compiles(_Compare)
def _compile_compare(element: _Compare, compiler: Any, **kw: Any) -> str:
    resolved = element.resolve(compiler.dialect.name)
    return "(" + str(compiler.process(resolved, **kw)) + ")"


def _fits(key: SortKey, value: Any) -> bool:
    """Whether a cursor's value binds to ``key`` without a database error: of its type,
    within an integer column's range, text without NUL, a finite decimal. (A client may
    forge a cursor when no ``cursor_key`` is configured: it gets a 400, never a 500.)"""
    if value is None:
        return key.nullable
    if isinstance(value, str) and "\x00" in value:
        return False
    expected = key.python_type
    if expected is None:
        return isinstance(value, _CURSOR_TYPES)
    if isinstance(value, bool) and expected is not bool:
        return False
    if expected is float:
        return isinstance(value, float)
    if expected is int:
        low, high = key.bounds or INT64_BOUNDS
        return isinstance(value, int) and low <= value <= high
    if expected is decimal.Decimal:
        if isinstance(value, int):
            return abs(value) < _DECIMALS
        return isinstance(value, decimal.Decimal) and value.is_finite() and abs(value) < _DECIMALS
    return isinstance(value, expected)


_DECIMALS = decimal.Decimal("1e100")


_CURSOR_TYPES = (
    bool, int, float, str, decimal.Decimal, dt.date, dt.time, dt.timedelta, uuid.UUID,
    enum.Enum, bytes,
)  # fmt: skip
