"""Apply validated list parameters to a ``select()``: WHERE, ORDER BY, LIMIT/OFFSET.

The list route builds its page and its count from the same scoped query::

    query = select(User).where(User.tenant_id == tenant)         # the view's own scope
    page_query = apply_list_params(params, query, User)
    total = await session.scalar(list_count_query(params, query, User))
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from ..exc import BadRequest
from ._keyset import keyset, ordered, seek
from ._params import list_params_page, list_plan, list_position
from ._sql import BoundFilter, BoundPlan, bind_plan

__all__ = ["apply_list_params", "list_count_query", "order_by_keys", "sent_filters"]


def apply_list_params(
    params: BaseModel,
    query: sa.Select[Any],
    model: type,
    schema: type[BaseModel] | None = None,
    *,
    filters: bool = True,
    order: bool = True,
    paginate: bool = True,
) -> sa.Select[Any]:
    """Return ``query`` filtered, ordered and paginated as ``params`` asks.

    Args:
        params: an instance of a class from ``create_list_params_schema``.
        query: the base select, e.g. ``select(Model)``, possibly already scoped.
        model: the mapped class ``query`` selects.
        schema: accepted for FastAPI-Restly compatibility and ignored: the params class
            carries the plan compiled from its schema.
        filters / order / paginate: switch each part off, e.g. ``order=False,
            paginate=False`` for the count query.

    Ordering always ends with the primary key, in the direction of the last sort key, so
    equal sort values keep a stable order, pages never skip or repeat rows, and an index on
    the last sort key still serves the ORDER BY (InnoDB index entries end with the primary
    key, SQLite's with the rowid, which an integer primary key is). An unpaginated list is
    limited to ``max_page_size``.

    A keyset page (a ``cursor`` that a REST view decoded into ``params``) starts after its
    position instead of at an offset; a page *before* a position comes in reverse order,
    and the view turns it around.
    """
    del schema  # the plan on the params class was compiled from it
    bound = bind_plan(list_plan(params), model)
    if filters:
        query = _filter(bound, params, query)
    position = list_position(params) if order and paginate else None
    if paginate and position is None and getattr(params, "cursor", None) is not None:
        # Only a REST view decodes (and checks) cursors: never answer page 1 instead.
        raise BadRequest(
            "The cursor parameter is not supported by this route; use page and page_size."
        )
    if order:
        keys = keyset(bound, tuple(getattr(params, "order_by", None) or ()))
        query = ordered(query, keys, backwards=position is not None and position.backwards)
        if position is not None:
            slots = [
                sa.bindparam(None, value, type_=key.expression.type)
                for key, value in zip(keys.keys, position.values)
            ]
            query = query.where(seek(keys, slots, position.nulls, backwards=position.backwards))
    if paginate:
        page, page_size = list_params_page(params)
        if page is None or page_size is None:
            query = query.limit(bound.max_page_size)
        elif position is not None:
            query = query.limit(page_size)
        else:
            query = query.limit(page_size).offset((page - 1) * page_size)
    return query


def list_count_query(params: BaseModel, query: sa.Select[Any], model: type) -> sa.Select[Any]:
    """``SELECT count(*)`` of the rows ``params`` filters from ``query``, ignoring pages."""
    filtered = apply_list_params(params, query, model, order=False, paginate=False)
    return sa.select(sa.func.count()).select_from(filtered.order_by(None).subquery())


def sent_filters(bound: BoundPlan, params: BaseModel) -> list[tuple[str, BoundFilter, Any, Any]]:
    """The filters a request sent that ask for a condition, by field name:
    ``(field name, bound filter, value, shape)`` (see ``BoundFilter.shape``)."""
    # Only the keys the client sent: a request pays for what it asks, not for the schema.
    sent = []
    for name in sorted(params.model_fields_set):
        bound_filter = bound.filters.get(name)
        value = getattr(params, name)
        if bound_filter is None or value is None:
            continue
        shape = bound_filter.shape(value)
        if shape is not None:
            sent.append((name, bound_filter, value, shape))
    return sent


def _filter(bound: BoundPlan, params: BaseModel, query: sa.Select[Any]) -> sa.Select[Any]:
    for _, bound_filter, value, shape in sent_filters(bound, params):
        query = query.where(bound_filter.build(shape, bound_filter.slot_values(value)))
    return query


def order_by_keys(bound: BoundPlan, keys: tuple[str, ...], query: sa.Select[Any]) -> sa.Select[Any]:
    """``query`` ordered by sort ``keys`` (``-`` for descending), then by the primary key
    in the direction of the last key; relation keys add their LEFT OUTER JOINs."""
    return ordered(query, keyset(bound, keys))
