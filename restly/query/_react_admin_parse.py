"""react-admin list requests read with a compiled ``ReactAdminPlan``: 400 for anything malformed.

``parse_react_admin_params`` checks the query string's keys, reads the JSON of ``sort``,
``range`` and ``filter`` with the guards every route uses (``restly._limits``: no NaN, no
overflowing numbers, no NUL characters or lone surrogates), parses each value with its
field's type and builds the conditions from the plan's bound filters::

    params = parse_react_admin_params(plan, None, "[0,9]", '{"views_gte":10}', ["range", "filter"])
    params.where        # (ra_post.views >= :views_1,)
    params.limit        # 10
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import ValidationError

from .._limits import RefusedNumber, forbidden_character, loads_finite
from ..exc import BadRequest
from ._plan import Op
from ._react_admin import ReactAdminField, ReactAdminListParams, ReactAdminPlan
from ._sql import BoundFilter

__all__ = ["parse_react_admin_params", "react_admin_parameters_openapi"]

_PARAMETERS = frozenset({"sort", "range", "filter", "embed"})
# Largest index react-admin can send exactly (JavaScript's Number.MAX_SAFE_INTEGER); it also
# keeps OFFSET inside every database's 64-bit range.
_MAX_INDEX = 2**53 - 1
_MAX_SEARCH_WORDS = 10


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _loads(parameter: str, text: str, example: str) -> Any:
    try:
        return loads_finite(text)
    except RefusedNumber as error:
        reason = f"{error.text} is " + (
            "not a JSON number" if error.constant else "too large for a number"
        )
    except json.JSONDecodeError as error:
        reason = f"{error.msg} at position {error.pos}"
    except (ValueError, RecursionError):
        reason = "it is too large or too deeply nested"
    raise BadRequest(f"{parameter} must be JSON such as {example}; {reason} in {_shown(text)}")


def _check_text(text: str, where: str) -> str:
    found = forbidden_character(text)
    if found is not None:
        kind = "a NUL character" if found == "\x00" else "an unpaired surrogate"
        raise BadRequest(f"{where} contains {kind}")
    return text


def _value(field: ReactAdminField, raw: Any, where: str) -> Any:
    if isinstance(raw, (list, dict)):
        raise BadRequest(f"{where} must be a single value; got {_shown(json.dumps(raw))}")
    try:
        return field.validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"] == "string_nul":  # the value types' own NUL guard
            raise BadRequest(f"{where} contains a NUL character") from None
        reason = first["msg"]
    except (ValueError, TypeError, OverflowError) as error:
        reason = str(error)
    raise BadRequest(f"{where} is invalid: {reason}; got {_shown(json.dumps(raw))}")


def _values(field: ReactAdminField, raw: Any, where: str, plan: ReactAdminPlan) -> list[Any]:
    items = raw if isinstance(raw, list) else [raw]
    if len(items) > plan.max_rows:
        raise BadRequest(
            f"{where} lists {len(items)} values; at most {plan.max_rows} are accepted"
        )
    return [None if item is None else _value(field, item, where) for item in items]


def _clause(bound: BoundFilter, value: Any) -> sa.ColumnElement[bool]:
    """The condition of ``bound`` for ``value`` (one that always asks for one: a list, a
    word, a direction of ISNULL or a value to compare with)."""
    return bound.build(bound.shape(value), bound.slot_values(value))


def _equal(
    field: ReactAdminField, values: list[Any], *, negate: bool
) -> sa.ColumnElement[bool] | None:
    """``field`` equals one of ``values`` (``None`` meaning NULL), or none of them; built
    from the field's EQ / NE / ISNULL filters. None: no condition."""
    given = [value for value in values if value is not None]
    has_null = len(given) < len(values)
    filters = field.filters
    if not negate:
        match = _clause(filters[Op.EQ], given)
        if has_null:
            is_null = _clause(filters[Op.ISNULL], True)
            return sa.or_(is_null, match) if given else is_null
        return match
    if not given:
        return _clause(filters[Op.ISNULL], False) if has_null else None
    differs = _clause(filters[Op.NE], given)  # NULL differs from every value
    if has_null:
        return sa.and_(_clause(filters[Op.ISNULL], False), differs)
    return differs


def _words(field_name: str, raw: Any) -> list[str]:
    if not isinstance(raw, str):
        raise BadRequest(f'filter "{field_name}" must be a string; got {_shown(json.dumps(raw))}')
    words = _check_text(raw, f'filter "{field_name}"').split()
    if len(words) > _MAX_SEARCH_WORDS:
        raise BadRequest(
            f'filter "{field_name}" has {len(words)} words; at most {_MAX_SEARCH_WORDS}'
        )
    return words


def _parse_filter(
    plan: ReactAdminPlan, text: str | None
) -> tuple[dict[str, Any], list[sa.ColumnElement[bool]]]:
    if text is None:
        return {}, []
    raw = _loads("filter", text, '{"title": "Hello", "id": [1, 2]}')
    if not isinstance(raw, dict):
        raise BadRequest(
            f'filter must be a JSON object such as {{"title": "Hello"}}; got {_shown(text)}'
        )
    parsed: dict[str, Any] = {}
    where: list[sa.ColumnElement[bool] | None] = []
    for key, given in raw.items():
        where_key = f'filter "{key}"'
        field = plan.fields.get(key)
        if field is not None:
            parsed[key] = values = _values(field, given, where_key, plan)
            if not isinstance(given, list):
                parsed[key] = values[0]
            where.append(_equal(field, values, negate=False))
            continue
        operator = plan.operators.get(key)
        if operator is not None:
            field, op = operator
            if op is Op.NE:
                parsed[key] = values = _values(field, given, where_key, plan)
                where.append(_equal(field, values, negate=True))
            elif op is Op.CONTAINS:
                parsed[key] = words = _words(key, given)
                where.extend(_clause(field.filters[op], word) for word in words)
            else:
                if given is None:
                    raise BadRequest(f"{where_key} needs a value to compare with; got null")
                parsed[key] = value = _value(field, given, where_key)
                where.append(_clause(field.filters[op], value))
            continue
        if key == "q":
            if not plan.search:
                raise BadRequest('filter "q" searches text fields, and this resource has none')
            parsed[key] = words = _words(key, given)
            where.extend(
                sa.or_(*(_clause(search, word) for search in plan.search)) for word in words
            )
            continue
        _check_text(key, "a filter key")
        raise BadRequest(f'unknown filter field "{key}"; filter on: {plan.field_list()}')
    return parsed, [condition for condition in where if condition is not None]


def _parse_sort(
    plan: ReactAdminPlan, text: str | None
) -> tuple[tuple[str, Literal["ASC", "DESC"]] | None, list[Any]]:
    if text is None:
        return None, [column.asc() for column in plan.primary_key_columns]
    raw = _loads("sort", text, '["title", "ASC"]')
    if not (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(item, str) for item in raw)
        and raw[1].isascii()  # "aſc".upper() is "ASC" too
        and raw[1].upper() in ("ASC", "DESC")
    ):
        raise BadRequest(
            f'sort must be a JSON array ["field", "ASC" or "DESC"]; got {_shown(text)}'
        )
    name, order = raw[0], raw[1].upper()
    field = plan.fields.get(name)
    if field is None:
        _check_text(name, "the sort field")
        raise BadRequest(f'cannot sort by unknown field "{name}"; sort by: {plan.field_list()}')
    # Ties follow the sort's direction, so an index on the column serves the ORDER BY.
    descending = order == "DESC"
    sort = field.sort
    expressions = [sort.expression.desc() if descending else sort.expression.asc()]
    expressions.extend(
        column.desc() if descending else column.asc()
        for column in plan.primary_key_columns
        if column is not sort.column
    )
    return (name, "DESC" if descending else "ASC"), expressions


def _parse_range(plan: ReactAdminPlan, text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    raw = _loads("range", text, "[0, 24]")
    if not (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(item, int) and not isinstance(item, bool) for item in raw)
        and 0 <= raw[0] <= raw[1] <= _MAX_INDEX
    ):
        raise BadRequest(
            f"range must be a JSON array [start, end] of integers with 0 <= start <= end <= "
            f"{_MAX_INDEX}; got {_shown(text)}"
        )
    start, end = raw
    if end - start + 1 > plan.max_rows:
        raise BadRequest(
            f"range [{start}, {end}] asks for {end - start + 1} rows; at most {plan.max_rows} "
            "rows per request"
        )
    return start, end - start + 1


def parse_react_admin_params(
    plan: ReactAdminPlan,
    sort: str | None,
    range_: str | None,
    filter_: str | None,
    query_keys: Iterable[str],
) -> ReactAdminListParams:
    """Check the query string's keys (``query_keys``, repeated as sent) and parse ``sort``,
    ``range`` and ``filter`` (400 on error)."""
    seen: set[str] = set()
    for key in query_keys:
        if key not in _PARAMETERS:
            _check_text(key, "a query parameter name")
            raise BadRequest(
                f'unknown query parameter "{key}"; react-admin lists take sort, range and filter'
            )
        if key in seen:
            raise BadRequest(f'query parameter "{key}" is given more than once')
        seen.add(key)
    if "embed" in seen:
        raise BadRequest("embed is not supported: this resource does not embed related records")
    parsed_filter, where = _parse_filter(plan, filter_)
    parsed_sort, order_by = _parse_sort(plan, sort)
    window = _parse_range(plan, range_)
    if window is None:
        start, limit = 0, plan.default_limit
        ids = parsed_filter.get(plan.primary_key.name) if plan.primary_key else None
        if isinstance(ids, list):
            limit = len(ids)  # getMany: every named record (ids are capped at max_rows)
    else:
        start, limit = window
    return ReactAdminListParams(
        parsed_filter, parsed_sort, start, limit, tuple(where), tuple(order_by)
    )


# -- OpenAPI -------------------------------------------------------------------------------

_DIRECTION = "^(?:[Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])$"


def react_admin_parameters_openapi(plan: ReactAdminPlan) -> dict[str, Any]:
    """``{"parameters": [...]}`` of a react-admin list route, for its ``openapi_extra``.

    Each parameter is JSON in the query string (``content: application/json``), with the
    schema of what it may hold: the sort fields, the range's bounds, the filter keys.
    What JSON Schema cannot say is in the descriptions: ``start <= end``, the most rows
    per request, the type of each filter value.
    """
    index = {"type": "integer", "minimum": 0, "maximum": _MAX_INDEX}
    keys = [*plan.fields, *plan.operators, *(("q",) if plan.search else ())]
    sort = {
        "type": "array",
        "prefixItems": [{"enum": list(plan.fields)}, {"type": "string", "pattern": _DIRECTION}],
        "minItems": 2,
        "maxItems": 2,
    }
    described = (
        ("sort", 'The order: ["field", "ASC" | "DESC"]; ties follow the primary key.', sort),
        (
            "range",
            f"The rows: [start, end], both included, start <= end, at most {plan.max_rows} "
            f"rows (default: the first {plan.default_limit}).",
            {"type": "array", "prefixItems": [index, index], "minItems": 2, "maxItems": 2},
        ),
        (
            "filter",
            'The conditions: {"field": value} (a list: any of them; null: none), '
            '"field_gte" / _gt / _lte / _lt / _neq / _q, and "q" to search text fields.',
            {"type": "object", "propertyNames": {"enum": keys}},
        ),
    )
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": description,
                "content": {"application/json": {"schema": schema}},
            }
            for name, description, schema in described
        ]
    }
