"""The SQL side of a list plan, bound to one model: filter clauses, sort keys, primary key.

Relation filters use ``has()`` / ``any()`` (EXISTS), never joins, so a row is never repeated
and counts stay right; sorting on a to-one relation uses an aliased LEFT OUTER JOIN, which
cannot repeat rows either::

    bound = bind_plan(plan, Book)
    bound.filters["author_name"].clause(["Ann"])
    # EXISTS (SELECT 1 FROM author WHERE author.id = book.author_id AND author.name = 'Ann')
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import QueryableAttribute

from ..exc import RestlyConfigurationError
from ._plan import FilterSpec, ListPlan, Op
from ._targets import ResolvedTarget, Target, resolve_target
from ._values import ScalarKind

__all__ = ["LIKE_ESCAPE", "BoundFilter", "BoundPlan", "BoundSort", "bind_plan", "like_pattern"]

LIKE_ESCAPE = "\\"
"""The explicit LIKE escape character used by ``__contains``."""

Converter = Callable[[Any], Any]
Join = tuple[Any, Any]  # (aliased entity, relationship onclause)


def bind_plan(plan: ListPlan, model: type) -> BoundPlan:
    """The SQL side of ``plan`` for ``model``; built on first use, then reused.

    Kept on the plan (``plan.bound``), so it lives exactly as long as the params class.
    """
    bound: BoundPlan | None = plan.bound.get(model)
    if bound is None:
        with plan.lock:
            bound = plan.bound.get(model) or BoundPlan.build(plan, model)
            plan.bound[model] = bound
    return bound


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


#: The shape of one filter's clause: what its SQL depends on besides the values (one value
#: or a list, the number of words, which way ``__isnull`` goes). ``None``: no condition.
Shape = Any


@dataclass(frozen=True, slots=True)
class BoundFilter:
    """One filter key compiled for a model: ``clause(value)`` is its WHERE condition.

    A clause is built from its shape and its slots (the values it compares with), so the
    same code gives a clause with the values in it (``clause``) and a reusable one with a
    bound parameter per slot (``template`` + ``slot_values``)::

        shape = bound.shape(["Ann"])                     # 1: one value
        clause, names = bound.template(shape, "p_name")  # author.name = :p_name_0
        bound.slot_values(["Ann"])                       # ["Ann"], in ``names`` order
    """

    op: Op
    target: ResolvedTarget
    convert: Converter | None

    def shape(self, value: Any) -> Shape:
        """What the clause for a parsed ``value`` looks like, hashable; None: no clause."""
        op = self.op
        if op is Op.EQ:
            return 1 if len(value) == 1 else "in"
        if op is Op.ISNULL:
            return bool(value)
        if op is Op.CONTAINS:
            return len(value.split()) or None
        return op  # NE (always a list), GT/GTE/LT/LTE (one value)

    def slot_values(self, value: Any) -> list[Any]:
        """The values the clause compares with, converted for the driver, in slot order."""
        op, convert = self.op, self.convert
        if op is Op.EQ or op is Op.NE:
            values = [convert(v) for v in value] if convert else list(value)
            return [values[0]] if op is Op.EQ and len(values) == 1 else [values]
        if op is Op.ISNULL:
            return []
        if op is Op.CONTAINS:
            return [like_pattern(word) for word in value.split()]
        return [convert(value) if convert else value]

    def clause(self, value: Any) -> sa.ColumnElement[bool] | None:
        """The condition for a parsed value; None when it asks for nothing (no words)."""
        shape = self.shape(value)
        return None if shape is None else self.build(shape, self.slot_values(value))

    def template(self, shape: Shape, name: str) -> tuple[sa.ColumnElement[bool], list[str]]:
        """The condition for values of ``shape`` as bound parameters named ``name_0``...,
        and those names in slot order (``slot_values`` gives the values)."""
        count = {Op.ISNULL: 0, Op.CONTAINS: shape}.get(self.op, 1)
        expanding = shape == "in" or self.op is Op.NE  # a list: one parameter, any length
        names = [f"{name}_{index}" for index in range(count)]
        slots: list[Any] = [sa.bindparam(slot, expanding=expanding) for slot in names]
        return self.build(shape, slots), names

    def build(self, shape: Shape, slots: Sequence[Any]) -> sa.ColumnElement[bool]:
        """The condition of ``shape`` comparing with ``slots`` (values or bound parameters)."""
        leaf, op = self.target.leaf, self.op
        if op is Op.EQ:
            return self._wrap(leaf == slots[0] if shape == 1 else leaf.in_(slots[0]))
        if op is Op.NE:
            return self._not_in(slots[0])
        if op is Op.ISNULL:
            return self._is_null(shape)
        if op is Op.CONTAINS:
            likes = [leaf.ilike(pattern, escape=LIKE_ESCAPE) for pattern in slots]
            return self._wrap(sa.and_(*likes))
        return self._wrap(_COMPARE[op](leaf, slots[0]))

    def _wrap(self, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        """Carry a condition on the related row through each relation: EXISTS, no join."""
        for hop in reversed(self.target.hops):
            condition = hop.any(condition) if hop.property.uselist else hop.has(condition)
        return condition

    def _not_in(self, values: Any) -> sa.ColumnElement[bool]:
        # "not equal" is the negation of "equal": rows whose value is NULL (or that have no
        # related row) match too, as a user expects; plain SQL NOT IN would drop them.
        if self.target.hops:
            return sa.not_(self._wrap(self.target.leaf.in_(values)))
        condition: sa.ColumnElement[bool] = self.target.leaf.not_in(values)
        if self.target.nullable:
            condition = sa.or_(self.target.leaf.is_(None), condition)
        return condition

    def _is_null(self, want_null: bool) -> sa.ColumnElement[bool]:
        leaf: QueryableAttribute[Any] | sa.ColumnElement[Any] = self.target.leaf
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
    """One ``order_by`` key compiled for a model: the joins it needs and the expression.

    ``nullable``: whether the expression can be NULL (a nullable column, a hybrid, or a
    value across a LEFT OUTER JOIN), which keyset pages must place where the database does.
    """

    joins: tuple[Join, ...]
    expression: Any
    column: sa.Column[Any] | None
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class BoundPlan:
    """A ``ListPlan`` bound to a model. Built once per (params class, model)."""

    filters: dict[str, BoundFilter]  # by params field name
    sorts: dict[str, BoundSort]  # by sort key, without the "-"
    primary_key: tuple[sa.Column[Any], ...]
    max_page_size: int
    default_page_size: int | None
    #: The total orders of the ``order_by`` values met (``restly.query._keyset``), bounded.
    keysets: dict[tuple[str, ...], Any] = field(default_factory=dict, compare=False, repr=False)

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
    return BoundSort(
        tuple(joins), expression, None if joins else resolved.column, resolved.nullable
    )
