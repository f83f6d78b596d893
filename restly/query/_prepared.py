"""List statements built once per request *shape*, run with bound parameters.

A list route receives endless combinations of values but few shapes: which filters were
sent (and with one value or a list, how many words), the sort keys, whether it is paged.
``prepared_list`` builds the statements of a shape once, with a bound parameter in place of
every value, and keeps them in the view's cache; a request then only computes its
parameters. SQLAlchemy's compiled cache already spares the SQL compilation; this spares
building the expressions (about a tenth of a millisecond per filter)::

    page, count, parameters = prepared_list(params, select(*columns), Book, total=True, cache={})
    rows = (await session.execute(page, parameters)).all()   # base may also be select(Book)

The page statement carries the total as its last column, labelled ``TOTAL_LABEL``: an
uncorrelated ``(SELECT count(*) ... same WHERE)`` the database evaluates once, so a page and
its total take one round trip. ``count`` is the same count on its own, for an empty page.
"""

from __future__ import annotations

from collections.abc import Hashable, MutableMapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from ._apply import order_by_keys, sent_filters
from ._params import list_params_page, list_plan
from ._sql import BoundFilter, BoundPlan, bind_plan

__all__ = ["MAX_SHAPES", "TOTAL_LABEL", "prepared_list"]

TOTAL_LABEL = "restly_total"
"""Label of the total a page statement carries as its last column."""

MAX_SHAPES = 512
"""Shapes kept per cache: clients choose shapes, so the cache must not grow without end
(a request of a new shape past this builds its statements, as an uncached one would)."""

_LIMIT = "restly_limit"
_OFFSET = "restly_offset"


@dataclass(frozen=True, slots=True)
class _Prepared:
    page: sa.Select[Any]
    count: sa.Select[Any] | None
    slot_names: tuple[tuple[str, ...], ...]  # per filter of the shape, in its order


def prepared_list(
    params: BaseModel,
    base: sa.Select[Any],
    model: type,
    *,
    total: bool,
    cache: MutableMapping[Hashable, Any],
) -> tuple[sa.Select[Any], sa.Select[Any] | None, dict[str, Any]]:
    """The page statement (with the total when ``total``), the count statement (``None``
    without ``total``) and the parameters for one list request over ``base``.

    ``cache`` belongs to one ``(base, model)``: the caller keeps one per view.
    """
    bound = bind_plan(list_plan(params), model)
    sent = sent_filters(bound, params)
    order = tuple(getattr(params, "order_by", None) or ())
    page, page_size = list_params_page(params)
    key = (tuple((name, shape) for name, _, _, shape in sent), order, page is None, total)
    prepared: _Prepared | None = cache.get(key)
    if prepared is None:
        prepared = _prepare(bound, base, model, sent, order, paged=page is not None, total=total)
        if len(cache) < MAX_SHAPES:
            cache[key] = prepared
    parameters: dict[str, Any] = {}
    for (_, bound_filter, value, _), names in zip(sent, prepared.slot_names):
        parameters.update(zip(names, bound_filter.slot_values(value)))
    if page is None or page_size is None:
        parameters[_LIMIT] = bound.max_page_size
    else:
        parameters[_LIMIT] = page_size
        parameters[_OFFSET] = (page - 1) * page_size
    return prepared.page, prepared.count, parameters


def _prepare(
    bound: BoundPlan,
    base: sa.Select[Any],
    model: type,
    sent: list[tuple[str, BoundFilter, Any, Any]],
    order: tuple[str, ...],
    *,
    paged: bool,
    total: bool,
) -> _Prepared:
    clauses, slot_names = [], []
    for name, bound_filter, _, shape in sent:
        clause, names = bound_filter.template(shape, f"restly_{name}")
        clauses.append(clause)
        slot_names.append(tuple(names))
    filtered = base.where(*clauses)
    page = order_by_keys(bound, order, filtered).limit(sa.bindparam(_LIMIT, type_=sa.Integer))
    if paged:
        page = page.offset(sa.bindparam(_OFFSET, type_=sa.Integer))
    count = None
    if total:
        # From the model, not from ``base``: its loader options have no place in a count.
        count = sa.select(sa.func.count()).select_from(model).where(*clauses)
        page = page.add_columns(count.correlate(None).scalar_subquery().label(TOTAL_LABEL))
    return _Prepared(page, count, tuple(slot_names))
