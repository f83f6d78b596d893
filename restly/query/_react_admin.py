"""react-admin's list parameters (``sort``, ``range``, ``filter``) as a dialect of this engine.

``ra-data-simple-rest`` sends JSON query parameters instead of ``?field__op=value`` keys::

    GET /posts?sort=["title","ASC"]&range=[0,24]&filter={"author_id":3,"views_gte":10,"q":"dune"}

They name the same things, so they compile to the same objects: ``compile_react_admin_plan``
builds, once per view, a ``ListPlan`` over the response schema's top-level fields (targets,
filter specs with their value types) and binds it to the model (``BoundFilter``,
``BoundSort``); ``parse_react_admin_params`` reads one request into a
``ReactAdminListParams`` whose ``where`` and ``order_by`` come from those bound filters and
sorts, answering 400 with a message for anything malformed (``_react_admin_parse``)::

    plan = compile_react_admin_plan(PostSchema, model=Post, default_page_size=None,
                                    max_page_size=1000)
    params = parse_react_admin_params(plan, '["title","ASC"]', "[0,9]", '{"id":[1,2]}', ())

The dialect's keys: ``field`` (equal; a list is IN, ``null`` IS NULL), ``field_neq``,
``field_gte``/``_gt``/``_lte``/``_lt``, ``field_q`` (every word, ignoring case) and ``q``
(each word in one of the text fields). A many-to-one relationship field filters and sorts by
its foreign key column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter
from sqlalchemy.orm import Mapper

from .._annotations import allows_none, unwrap
from .._introspect import column_python_type
from ..schemas import idref_target, is_write_only
from ._plan import FilterSpec, ListPlan, Op, _int_bounds, _narrow_to_column, python_name
from ._sql import BoundFilter, BoundSort, bind_plan
from ._targets import Target, public_name, resolve_target
from ._values import ScalarKind, scalar_kind, stored_value_type

__all__ = [
    "DEFAULT_RANGE_SIZE",
    "ReactAdminField",
    "ReactAdminListParams",
    "ReactAdminPlan",
    "compile_react_admin_plan",
]

#: Rows answered when a list request sends no ``range`` and the view sets no default.
DEFAULT_RANGE_SIZE = 25
_SUFFIXES = {
    "_neq": Op.NE,
    "_q": Op.CONTAINS,
    "_gte": Op.GTE,
    "_gt": Op.GT,
    "_lte": Op.LTE,
    "_lt": Op.LT,
}
_RANGE_OPS = (Op.GT, Op.GTE, Op.LT, Op.LTE)


@dataclass(frozen=True, slots=True)
class ReactAdminListParams:
    """One react-admin list request, parsed and checked.

    ``filter`` holds the parsed values by public field name (``{"author_id": 3}``) for
    overrides to read; ``where`` and ``order_by`` are the SQL they compiled to.
    """

    filter: Mapping[str, Any]
    sort: tuple[str, Literal["ASC", "DESC"]] | None
    start: int
    limit: int
    where: tuple[sa.ColumnElement[bool], ...]
    order_by: tuple[sa.ColumnElement[Any], ...]


@dataclass(frozen=True, slots=True)
class ReactAdminField:
    """A top-level field of the response schema: its wire name, how one of its values
    parses, its bound filters by operator and its bound sort."""

    name: str
    validate: Any
    filters: Mapping[Op, BoundFilter]
    sort: BoundSort


@dataclass(frozen=True, slots=True)
class ReactAdminPlan:
    """What a react-admin view compiles at class creation to parse its list requests."""

    list_plan: ListPlan
    fields: Mapping[str, ReactAdminField]
    operators: Mapping[str, tuple[ReactAdminField, Op]]
    search: tuple[BoundFilter, ...]
    primary_key: ReactAdminField | None
    primary_key_columns: tuple[sa.Column[Any], ...]
    default_limit: int
    max_rows: int

    def field_list(self) -> str:
        return ", ".join(self.fields) or "(none)"


# -- class creation ----------------------------------------------------------------------


def compile_react_admin_plan(
    schema: type[BaseModel], *, model: type, default_page_size: int | None, max_page_size: int
) -> ReactAdminPlan:
    """Compile the dialect for ``schema``'s top-level fields on ``model``."""
    taken: set[str] = set()
    specs: list[FilterSpec] = []
    value_types: dict[str, Any] = {}
    spec_names: dict[str, dict[Op, str]] = {}
    targets: list[Target] = []
    for target, column in _top_level_targets(schema, model):
        targets.append(target)
        bounds = _int_bounds(column)
        storage = None if column is None else column_python_type(column.type)
        value_types[target.key] = value_type = stored_value_type(
            target.kind, target.annotation, bounds, storage
        )
        names = spec_names[target.key] = {}
        for op in _ops_for(target.kind):
            key = op.key(target.key)
            names[op] = python_name(key, taken)
            specs.append(FilterSpec(key, names[op], target, op, value_type))
    list_plan = ListPlan(schema, tuple(specs), tuple(targets), default_page_size, max_page_size)
    bound = bind_plan(list_plan, model)
    fields = {
        target.key: ReactAdminField(
            target.key,
            TypeAdapter(value_types[target.key]).validate_python,
            {op: bound.filters[name] for op, name in spec_names[target.key].items()},
            bound.sorts[target.key],
        )
        for target in targets
    }
    operators = {
        field.name + suffix: (field, op)
        for field in fields.values()
        for suffix, op in _SUFFIXES.items()
        if op in field.filters and field.name + suffix not in fields
    }
    pk_columns = bound.primary_key
    # The field the getMany filter names (``{"id": [...]}``), by column identity: columns
    # compare into SQL expressions.
    primary_key = next((f for f in fields.values() if f.sort.column is pk_columns[0]), None)
    return ReactAdminPlan(
        list_plan=list_plan,
        fields=fields,
        operators=operators,
        search=tuple(f.filters[Op.CONTAINS] for f in fields.values() if Op.CONTAINS in f.filters),
        primary_key=primary_key,
        primary_key_columns=pk_columns,
        default_limit=min(default_page_size or DEFAULT_RANGE_SIZE, max_page_size),
        max_rows=max_page_size,
    )


def _top_level_targets(
    schema: type[BaseModel], model: type
) -> Iterable[tuple[Target, sa.Column[Any] | None]]:
    """Each top-level field of ``schema`` that is a column of ``model`` (or a many-to-one
    relationship, as its foreign key), as a target and its column."""
    mapper: Mapper[Any] = sa.inspect(model)
    for name, info in schema.model_fields.items():
        if is_write_only(info):
            continue
        key = public_name(name, info)
        nullable = allows_none(info.annotation)
        annotation = unwrap(info.annotation)
        found = scalar_kind(annotation)
        nested = found is None
        kind = ScalarKind.LITERAL if found is None else found
        if nested:
            relationship = mapper.relationships.get(name)
            if relationship is None or relationship.uselist:
                continue
            # A nested record of a many-to-one: resolved as a reference, its value is the
            # foreign key's (the kind is the column's, read once it is resolved).
            annotation = None
        reference = nested or idref_target(info) is not None
        target = Target(key, (), name, kind, annotation, nullable, False, reference)
        resolved = resolve_target(model, target)
        if resolved is None or resolved.hops:
            continue  # not on the model, or across a relationship: react-admin compares columns
        if nested:
            if resolved.column is None:
                continue
            annotation = unwrap(column_python_type(resolved.column.type))
            found = scalar_kind(annotation)
            if found is None:
                continue
            target = replace(target, kind=found, annotation=annotation)
        yield _narrow_to_column(target, resolved.column), resolved.column


def _ops_for(kind: ScalarKind) -> list[Op]:
    # Null is always accepted (``{"field": null}``), so every field has ISNULL.
    ops = [Op.EQ, Op.NE, Op.ISNULL]
    if kind.orderable:
        ops.extend(_RANGE_OPS)
    if kind is ScalarKind.STR:
        ops.append(Op.CONTAINS)
    return ops
