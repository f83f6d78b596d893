"""The SQL side of a list plan, bound to one model: filter clauses, sort keys, primary key.

Relation filters use ``has()`` / ``any()`` (EXISTS), never joins, so a row is never repeated
and counts stay right; sorting on a to-one relation uses an aliased LEFT OUTER JOIN, which
cannot repeat rows either::

    bound = plan.bind(Book)
    bound.filters["author_name"].clause(["Ann"])
    # EXISTS (SELECT 1 FROM author WHERE author.id = book.author_id AND author.name = 'Ann')
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import QueryableAttribute

from ..exc import RestlyConfigurationError
from ._plan import FilterSpec, ListPlan, Op
from ._targets import ResolvedTarget, Target, resolve_target
from ._values import ScalarKind

__all__ = ["BoundFilter", "BoundPlan", "BoundSort", "LIKE_ESCAPE", "like_pattern"]

LIKE_ESCAPE = "\\"
"""The explicit LIKE escape character used by ``__contains``."""

Converter = Callable[[Any], Any]
Join = tuple[Any, Any]  # (aliased entity, relationship onclause)


def like_pattern(word: str) -> str:
    """``%word%`` with LIKE wildcards in ``word`` escaped, so they match literally."""
    escaped = (
        word.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def _as_naive_utc(value: dt.datetime) -> dt.datetime:
    # A TIMESTAMP WITHOUT TIME ZONE column holds UTC wall time by convention; asyncpg
    # refuses aware values for it.
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _as_aware_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _converter(kind: ScalarKind, column: sa.Column[Any] | None) -> Converter | None:
    """How to turn a parsed value into what the column's driver accepts, if it needs it."""
    if column is None:
        return None
    if kind is ScalarKind.DATETIME and isinstance(column.type, sa.DateTime):
        return _as_aware_utc if column.type.timezone else _as_naive_utc
    if kind is ScalarKind.ENUM and not isinstance(column.type, sa.Enum):
        # sa.Enum columns take members; any other column stores the member's value.
        return _enum_value
    return None


@dataclass(frozen=True, slots=True)
class BoundFilter:
    """One filter key compiled for a model: ``clause(value)`` is its WHERE condition."""

    op: Op
    target: ResolvedTarget
    convert: Converter | None

    def _wrap(self, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        """Carry a condition on the related row through each relation: EXISTS, no join."""
        for hop in reversed(self.target.hops):
            condition = hop.any(condition) if hop.property.uselist else hop.has(condition)
        return condition

    def _convert_all(self, values: Sequence[Any]) -> list[Any]:
        convert = self.convert
        return [convert(v) for v in values] if convert else list(values)

    def clause(self, value: Any) -> sa.ColumnElement[bool] | None:
        """The condition for a parsed value; None when it asks for nothing (no words)."""
        leaf, op = self.target.leaf, self.op
        if op is Op.EQ:
            values = self._convert_all(value)
            return self._wrap(leaf == values[0] if len(values) == 1 else leaf.in_(values))
        if op is Op.NE:
            return self._not_in(self._convert_all(value))
        if op is Op.ISNULL:
            return self._is_null(bool(value))
        if op is Op.CONTAINS:
            words = value.split()
            if not words:
                return None
            likes = [leaf.ilike(like_pattern(word), escape=LIKE_ESCAPE) for word in words]
            return self._wrap(sa.and_(*likes))
        bound = self.convert(value) if self.convert else value
        return self._wrap(_COMPARE[op](leaf, bound))

    def _not_in(self, values: list[Any]) -> sa.ColumnElement[bool]:
        # "not equal" is the negation of "equal": rows whose value is NULL (or that have no
        # related row) match too, as a user expects; plain SQL NOT IN would drop them.
        if self.target.hops:
            return sa.not_(self._wrap(self.target.leaf.in_(values)))
        condition = self.target.leaf.not_in(values)
        if self.target.nullable:
            condition = sa.or_(self.target.leaf.is_(None), condition)
        return condition

    def _is_null(self, want_null: bool) -> sa.ColumnElement[bool]:
        leaf = self.target.leaf
        if not self.target.hops:
            return leaf.is_(None) if want_null else leaf.is_not(None)
        # Through a relation, "null" means no related row carries a value.
        present = self._wrap(leaf.is_not(None))
        return sa.not_(present) if want_null else present


_COMPARE: dict[Op, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
    Op.GT: lambda leaf, value: leaf > value,
    Op.GTE: lambda leaf, value: leaf >= value,
    Op.LT: lambda leaf, value: leaf < value,
    Op.LTE: lambda leaf, value: leaf <= value,
}


@dataclass(frozen=True, slots=True)
class BoundSort:
    """One ``order_by`` key compiled for a model: the joins it needs and the expression."""

    joins: tuple[Join, ...]
    expression: Any
    column: sa.Column[Any] | None


@dataclass(frozen=True, slots=True)
class BoundPlan:
    """A ``ListPlan`` bound to a model. Built once per (params class, model)."""

    filters: dict[str, BoundFilter]  # by params field name
    sorts: dict[str, BoundSort]  # by sort key, without the "-"
    primary_key: tuple[sa.Column[Any], ...]
    max_page_size: int
    default_page_size: int | None

    @classmethod
    def build(cls, plan: ListPlan, model: type) -> BoundPlan:
        """Resolve every key of ``plan`` on ``model``; a key it cannot serve is a bug."""
        missing: list[str] = []
        resolved: dict[str, ResolvedTarget] = {}

        def resolve(target: Target) -> ResolvedTarget:
            if target.key not in resolved:
                found = resolve_target(model, target)
                if found is None:
                    missing.append(target.key)
                    return ResolvedTarget((), sa.null(), None)
                resolved[target.key] = found
            return resolved[target.key]

        filters = {
            spec.field_name: _bind_filter(spec, resolve(spec.target)) for spec in plan.filters
        }
        aliases: dict[tuple[str, ...], Join] = {}
        sorts = {
            target.key: _bind_sort(model, target, resolve(target), aliases)
            for target in plan.sort_targets
        }
        if missing:
            raise RestlyConfigurationError(
                f"{model.__name__} has no attribute or relationship for "
                f"{sorted(set(missing))} of {plan.schema.__name__}; give the schema fields "
                f"the model's attribute names, or pass model= to create_list_params_schema."
            )
        return cls(
            filters,
            sorts,
            tuple(sa.inspect(model).primary_key),
            plan.max_page_size,
            plan.default_page_size,
        )


def _bind_filter(spec: FilterSpec, target: ResolvedTarget) -> BoundFilter:
    return BoundFilter(spec.op, target, _converter(spec.target.kind, target.column))


def _bind_sort(
    model: type,
    target: Target,
    resolved: ResolvedTarget,
    aliases: dict[tuple[str, ...], Join],
) -> BoundSort:
    """Sort expression for ``target``; relations get one shared alias per relation path."""
    entity: Any = model
    joins: list[Join] = []
    for depth, hop in enumerate(resolved.hops, start=1):
        path = tuple(crossed.key for crossed in resolved.hops[:depth])
        if path not in aliases:
            alias = aliased(hop.property.mapper.class_)
            relation: QueryableAttribute[Any] = getattr(entity, hop.key)
            aliases[path] = (alias, relation.of_type(alias))
        joins.append(aliases[path])
        entity = aliases[path][0]
    # A reference's value is not its own attribute: the foreign key or the related pk.
    leaf = resolved.leaf.key if target.reference else target.leaf
    expression = getattr(entity, leaf) if joins else resolved.leaf
    return BoundSort(tuple(joins), expression, None if joins else resolved.column)
