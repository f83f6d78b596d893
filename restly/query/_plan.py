"""The list plan: every accepted query key, decided once per response schema.

``compile_plan`` turns a response schema (and its model) into a ``ListPlan``: for each key
such as ``age__gte`` or ``author.name``, the target value, the operator and the pydantic
type that parses it. The plan is attached to the generated params class, and bound to SQL
once per model (``restly.query._sql.bind_plan``), so a request only looks keys up::

    plan = compile_plan(UserSchema, model=User, default_page_size=None, max_page_size=1000)
    [f.key for f in plan.filters]   # ['id', 'id__ne', 'id__gt', ..., 'name__contains', ...]
"""

from __future__ import annotations

import enum
import functools
import keyword
import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel

from ..exc import RestlyConfigurationError
from ._targets import Target, collect_targets, resolve_target
from ._values import (
    INT64_BOUNDS,
    ScalarKind,
    contains_type,
    one_or_more_type,
    single_type,
)

__all__ = [
    "RESERVED_KEYS",
    "FilterSpec",
    "ListPlan",
    "Op",
    "compile_plan",
    "int_bounds",
    "python_name",
]

RESERVED_KEYS = frozenset({"page", "page_size", "order_by", "cursor"})
"""Query keys restly uses itself; a schema field with one of these names keeps its
operator keys (``page__gte``) but has no bare equality key."""


class Op(enum.Enum):
    """A filter operator; the value is the key suffix after ``__`` ("" for equality)."""

    EQ = ""
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    ISNULL = "isnull"
    CONTAINS = "contains"

    def key(self, path: str) -> str:
        """The query key of this operator on ``path``: ``age`` -> ``age__gte``."""
        return f"{path}__{self.value}" if self.value else path


_DESCRIPTIONS = {
    Op.EQ: "Equal to one of these values (comma-separated or repeated).",
    Op.NE: "Not equal to any of these values (comma-separated or repeated).",
    Op.GT: "Greater than this value.",
    Op.GTE: "Greater than or equal to this value.",
    Op.LT: "Less than this value.",
    Op.LTE: "Less than or equal to this value.",
    Op.ISNULL: "true: only where it is empty (null); false: only where it is set.",
    Op.CONTAINS: "Contains every one of these whitespace-separated words, ignoring case.",
}

_RANGE_OPS = (Op.GT, Op.GTE, Op.LT, Op.LTE)

# PostgreSQL binds integers with the column's own width (asyncpg refuses an out-of-range
# value), so each integer type gets its own bounds; the widest first (subclasses first).
_INT_BOUNDS: tuple[tuple[type[sa.types.TypeEngine[Any]], tuple[int, int]], ...] = (
    (sa.SmallInteger, (-(2**15), 2**15 - 1)),
    (sa.BigInteger, INT64_BOUNDS),
    (sa.Integer, (-(2**31), 2**31 - 1)),
)


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """One accepted filter key: ``key`` on the wire, ``field_name`` on the params class."""

    key: str
    field_name: str
    target: Target
    op: Op
    value_type: Any

    @property
    def description(self) -> str:
        """What this filter does, for OpenAPI."""
        return f"Filter on `{self.target.key}`: {_DESCRIPTIONS[self.op]}"


@dataclass(frozen=True, slots=True)
class ListPlan:
    """Everything a list request may ask for, compiled once per params class."""

    schema: type[BaseModel]
    filters: tuple[FilterSpec, ...]
    sort_targets: tuple[Target, ...]
    default_page_size: int | None
    max_page_size: int
    extra_fields: tuple[str, ...] = ()
    #: The plan bound to each model it served (filled and read by ``_sql.bind_plan``).
    bound: dict[type, Any] = field(default_factory=dict, compare=False, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def sort_keys(self) -> tuple[str, ...]:
        """The keys ``order_by`` accepts (each also with a leading ``-``)."""
        return tuple(target.key for target in self.sort_targets)


def python_name(key: str, taken: set[str]) -> str:
    """A python identifier for query key ``key`` that no other field or BaseModel uses."""
    name = _identifier(key)
    candidate, counter = name, 1
    while candidate in taken:
        counter += 1
        candidate = f"{name}_{counter}"
    taken.add(candidate)
    return candidate


@functools.lru_cache(maxsize=4096)
def _identifier(key: str) -> str:
    # Cached: every view has keys such as "id__gte", and a check against BaseModel is slow.
    name = re.sub(r"\W", "_", key)
    if (
        not name.isidentifier()
        or keyword.iskeyword(name)
        or name.startswith(("_", "model_"))
        or hasattr(BaseModel, name)
        or name in RESERVED_KEYS
    ):
        name = f"f_{name}"
    return name


def compile_plan(
    schema: type[BaseModel],
    *,
    model: type | None,
    default_page_size: int | None,
    max_page_size: int,
) -> ListPlan:
    """Decide every filter and sort key ``schema`` offers (on ``model`` when given)."""
    taken = set(RESERVED_KEYS)
    filters: list[FilterSpec] = []
    sort_targets: list[Target] = []
    for target in collect_targets(schema):
        bounds: tuple[int, int] | None = None
        nullable, through_many = target.nullable, target.through_many
        if model is not None:
            resolved = resolve_target(model, target)
            if resolved is None:
                continue  # not on the model (computed field, property): not filterable
            bounds = _int_bounds(resolved.column)
            target = _narrow_to_column(target, resolved.column)
            nullable = nullable or resolved.nullable
            through_many = resolved.through_many
        for op in _ops_for(target.kind, nullable):
            key = op.key(target.key)
            if key in RESERVED_KEYS:
                continue
            value_type = _value_type(op, target, bounds)
            filters.append(FilterSpec(key, python_name(key, taken), target, op, value_type))
        if not through_many:
            sort_targets.append(target)
    plan = ListPlan(schema, tuple(filters), tuple(sort_targets), default_page_size, max_page_size)
    return plan


def _ops_for(kind: ScalarKind, nullable: bool) -> list[Op]:
    ops = [Op.EQ, Op.NE]
    if kind.orderable:
        ops.extend(_RANGE_OPS)
    if nullable:
        ops.append(Op.ISNULL)
    if kind is ScalarKind.STR:
        ops.append(Op.CONTAINS)
    return ops


#: The value type of every ``__isnull`` key: one object, so that what is derived from it
#: (its JSON schema, checked when a view is created; see ``value_type_schema``, keyed by
#: identity) is built once, not once per view (``bool | None`` makes a new object each time).
_ISNULL_TYPE: Any = bool | None


def _value_type(op: Op, target: Target, bounds: tuple[int, int] | None) -> Any:
    if op in (Op.EQ, Op.NE):
        return one_or_more_type(target.kind, target.annotation, bounds)
    if op is Op.ISNULL:
        return _ISNULL_TYPE
    if op is Op.CONTAINS:
        return contains_type()
    return single_type(target.kind, target.annotation, bounds)


def _narrow_to_column(target: Target, column: sa.Column[Any] | None) -> Target:
    """A ``str`` field over a database enum accepts only the enum's labels.

    PostgreSQL fails on an unknown label (and on LIKE) for a native enum, so such a field
    offers equality only, checked against the labels: a bad value answers 422, not 500.
    """
    if (
        target.kind is ScalarKind.STR
        and column is not None
        and isinstance(column.type, sa.Enum)
        and column.type.enum_class is None
        and column.type.enums
    ):
        labels = Literal[tuple(column.type.enums)]  # type: ignore[valid-type]
        return replace(target, kind=ScalarKind.LITERAL, annotation=labels)
    return target


def _int_bounds(column: sa.Column[Any] | None) -> tuple[int, int] | None:
    return None if column is None else int_bounds(column.type)


def int_bounds(column_type: Any) -> tuple[int, int] | None:
    """The values an integer column type holds (``None``: not an integer type)."""
    for type_, bounds in _INT_BOUNDS:
        if isinstance(column_type, type_):
            return bounds
    return None


def check_extra_names(plan: ListPlan, names: list[str]) -> None:
    """Refuse extra query parameters whose names restly already uses for this schema."""
    used = RESERVED_KEYS | {spec.key for spec in plan.filters}
    clashes = sorted(set(names) & used)
    if clashes:
        raise RestlyConfigurationError(
            f"extra_query_params {clashes} clash with list parameters of "
            f"{plan.schema.__name__}; rename them (e.g. 'x_{clashes[0]}')."
        )
