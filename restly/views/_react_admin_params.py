"""React-admin list parameters: ``sort``, ``range`` and ``filter``, parsed once per request.

Each react-admin view compiles a `Plan` when its class is created (the field map, value
parsers, operators and search columns); `parse_list_params` reads one request with it into a
`ReactAdminListParams`, answering 400 with a message for anything malformed::

    GET /posts?sort=["title","ASC"]&range=[0,24]&filter={"author_id":3,"q":"dune"}
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, and_, or_, true, types
from sqlalchemy.orm import ColumnProperty, RelationshipDirection, RelationshipProperty

from ..exc import BadRequest
from .._introspect import column_python_type, mapper_of

__all__ = [
    "DEFAULT_RANGE_SIZE",
    "FilterParam",
    "Plan",
    "RangeParam",
    "ReactAdminListParams",
    "SortParam",
    "build_plan",
    "parse_list_params",
]

#: Rows answered when a list request sends no ``range`` and the view sets no default.
DEFAULT_RANGE_SIZE = 25
_PARAMETERS = frozenset({"sort", "range", "filter", "embed"})
# Largest index react-admin can send exactly (JavaScript's Number.MAX_SAFE_INTEGER); it also
# keeps OFFSET inside every database's 64-bit range.
_MAX_INDEX = 2**53 - 1
_MAX_SEARCH_WORDS = 10
_COMPARISONS = {"_gte": "__ge__", "_gt": "__gt__", "_lte": "__le__", "_lt": "__lt__"}
_SUFFIXES = ("_neq", "_q", *_COMPARISONS)


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
    where: tuple[ColumnElement[bool], ...]
    order_by: tuple[ColumnElement[Any], ...]


@dataclass(frozen=True, slots=True)
class _Field:
    """A filterable, sortable field: its public name, SQL expression and value parser."""

    name: str
    expression: Any
    validate: Callable[[Any], Any]
    nullable: bool
    orderable: bool
    text: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """What a react-admin view precomputes at class creation to parse list requests."""

    fields: Mapping[str, _Field]
    operators: Mapping[str, tuple[_Field, str]]
    search: tuple[Any, ...]
    primary_key: _Field | None
    pk_expression: Any
    default_limit: int
    max_rows: int

    def field_list(self) -> str:
        return ", ".join(self.fields) or "(none)"


# -- class creation ----------------------------------------------------------------------


def build_plan(cls: Any) -> Plan:
    model = cls.model
    mapper = mapper_of(model)
    assert mapper is not None  # checked before derivation
    pk_column = mapper.primary_key[0]
    fields: dict[str, _Field] = {}
    primary_key = None
    for name, info in cls.response_schema.model_fields.items():
        found = _column_of(mapper, name)
        if found is None:
            continue
        column, attribute = found
        annotation = column_python_type(column.type)
        base = annotation
        if typing.get_origin(annotation) is Annotated:
            base = typing.get_args(annotation)[0]
        if not _is_scalar(base):
            continue  # JSON, arrays, binary: nothing react-admin can filter on
        wire = info.serialization_alias or info.alias or name
        sql_type = column.type
        if isinstance(sql_type, types.TypeDecorator):
            sql_type = sql_type.impl_instance
        field = _Field(
            name=wire,
            expression=getattr(model, attribute),
            validate=TypeAdapter(annotation).validate_python,
            nullable=bool(getattr(column, "nullable", True)),
            orderable=base is not bool,
            text=isinstance(sql_type, types.String) and not isinstance(sql_type, types.Enum),
        )
        fields[wire] = field
        if column is pk_column:
            primary_key = field
    operators = {
        field.name + suffix: (field, suffix)
        for field in fields.values()
        for suffix in _SUFFIXES
        if field.name + suffix not in fields
        and (suffix != "_q" or field.text)
        and (suffix not in _COMPARISONS or field.orderable)
    }
    max_rows = cls.max_page_size
    return Plan(
        fields=fields,
        operators=operators,
        search=tuple(field.expression for field in fields.values() if field.text),
        primary_key=primary_key,
        pk_expression=getattr(model, mapper.get_property_by_column(pk_column).key),
        default_limit=min(cls.default_page_size or DEFAULT_RANGE_SIZE, max_rows),
        max_rows=max_rows,
    )


def _column_of(mapper: Any, name: str) -> tuple[Any, str] | None:
    """The column behind schema field ``name`` and the attribute to query: the field's own
    column, or the foreign key of a many-to-one relationship."""
    prop = mapper.attrs.get(name)
    if isinstance(prop, ColumnProperty):
        return prop.columns[0], name
    if isinstance(prop, RelationshipProperty):
        local = list(prop.local_columns)
        if prop.direction is RelationshipDirection.MANYTOONE and len(local) == 1:
            return local[0], mapper.get_property_by_column(local[0]).key
    return None


def _is_scalar(annotation: Any) -> bool:
    """Whether values of ``annotation`` can be compared in SQL (not JSON, arrays, bytes)."""
    if typing.get_origin(annotation) is Literal:
        return True
    if annotation is Any or annotation in (bytes, dict, list):
        return False
    return isinstance(annotation, type)


# -- parsing -------------------------------------------------------------------------------


class _JSONConstant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _JSONConstant(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _JSONConstant(f"{text} is too large for a number")
    return value


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _loads(parameter: str, text: str, example: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _JSONConstant as error:
        reason = str(error)
    except json.JSONDecodeError as error:
        reason = f"{error.msg} at position {error.pos}"
    except (ValueError, RecursionError):
        reason = "it is too large or too deeply nested"
    raise BadRequest(f"{parameter} must be JSON such as {example}; {reason} in {_shown(text)}")


def _check_text(value: Any, where: str) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise BadRequest(f"{where} contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(f"{where} contains an unpaired surrogate") from None
    return value


def _value(field: _Field, raw: Any, where: str) -> Any:
    if isinstance(raw, (list, dict)):
        raise BadRequest(f"{where} must be a single value; got {_shown(json.dumps(raw))}")
    try:
        value = field.validate(raw)
    except (ValidationError, ValueError, TypeError, OverflowError) as error:
        reason = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
        raise BadRequest(f"{where} is invalid: {reason}; got {_shown(json.dumps(raw))}") from None
    return _check_text(value, where)


def _values(field: _Field, raw: Any, where: str, plan: Plan) -> list[Any]:
    items = raw if isinstance(raw, list) else [raw]
    if len(items) > plan.max_rows:
        raise BadRequest(
            f"{where} lists {len(items)} values; at most {plan.max_rows} are accepted"
        )
    return [None if item is None else _value(field, item, where) for item in items]


def _equal(field: _Field, values: list[Any], *, negate: bool) -> ColumnElement[bool]:
    """``field`` equals one of ``values`` (``None`` meaning NULL), or none of them."""
    column = field.expression
    given = [value for value in values if value is not None]
    has_null = len(given) < len(values)
    match = column == given[0] if len(given) == 1 else column.in_(given)
    if not negate:
        if has_null:
            return or_(column.is_(None), match) if given else column.is_(None)
        return match  # type: ignore[no-any-return]
    if has_null:
        return and_(column.is_not(None), ~match) if given else column.is_not(None)
    if not given:
        return true()
    return or_(~match, column.is_(None)) if field.nullable else ~match  # NULL differs from all


def _words(field_name: str, raw: Any) -> list[str]:
    if not isinstance(raw, str):
        raise BadRequest(f'filter "{field_name}" must be a string; got {_shown(json.dumps(raw))}')
    words: list[str] = _check_text(raw, f'filter "{field_name}"').split()
    if len(words) > _MAX_SEARCH_WORDS:
        raise BadRequest(
            f'filter "{field_name}" has {len(words)} words; at most {_MAX_SEARCH_WORDS}'
        )
    return words


def _parse_filter(
    plan: Plan, text: str | None
) -> tuple[dict[str, Any], list[ColumnElement[bool]]]:
    if text is None:
        return {}, []
    raw = _loads("filter", text, '{"title": "Hello", "id": [1, 2]}')
    if not isinstance(raw, dict):
        raise BadRequest(
            f'filter must be a JSON object such as {{"title": "Hello"}}; got {_shown(text)}'
        )
    parsed: dict[str, Any] = {}
    where: list[ColumnElement[bool]] = []
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
            field, suffix = operator
            if suffix == "_neq":
                parsed[key] = values = _values(field, given, where_key, plan)
                where.append(_equal(field, values, negate=True))
            elif suffix == "_q":
                parsed[key] = words = _words(key, given)
                where.extend(field.expression.icontains(w, autoescape=True) for w in words)
            else:
                if given is None:
                    raise BadRequest(f"{where_key} needs a value to compare with; got null")
                parsed[key] = value = _value(field, given, where_key)
                where.append(getattr(field.expression, _COMPARISONS[suffix])(value))
            continue
        if key == "q":
            if not plan.search:
                raise BadRequest('filter "q" searches text fields, and this resource has none')
            parsed[key] = words = _words(key, given)
            where.extend(
                or_(*(column.icontains(word, autoescape=True) for column in plan.search))
                for word in words
            )
            continue
        _check_text(key, "a filter key")
        raise BadRequest(f'unknown filter field "{key}"; filter on: {plan.field_list()}')
    return parsed, where


def _parse_sort(plan: Plan, text: str | None) -> tuple[tuple[str, Any] | None, list[Any]]:
    if text is None:
        return None, [plan.pk_expression.asc()]
    raw = _loads("sort", text, '["title", "ASC"]')
    if not (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(item, str) for item in raw)
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
    column = field.expression
    # Ties follow the sort's direction, so an index on the column serves the ORDER BY.
    direction = "desc" if order == "DESC" else "asc"
    ordered = getattr(column, direction)()
    if field is plan.primary_key:
        return (name, order), [ordered]
    return (name, order), [ordered, getattr(plan.pk_expression, direction)()]


def _parse_range(plan: Plan, text: str | None) -> tuple[int, int] | None:
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


def parse_list_params(
    plan: Plan, sort: str | None, range_: str | None, filter_: str | None, request: Request
) -> ReactAdminListParams:
    """Check the query string and parse ``sort``, ``range`` and ``filter`` (400 on error)."""
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
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


# -- views ---------------------------------------------------------------------------------

SortParam = Annotated[
    str | None,
    Query(description='JSON array ["field", "ASC" | "DESC"]', examples=['["id","ASC"]']),
]
RangeParam = Annotated[
    str | None,
    Query(alias="range", description="JSON array [start, end], both included", examples=["[0,9]"]),
]
FilterParam = Annotated[
    str | None,
    Query(alias="filter", description="JSON object {field: value}", examples=['{"id":[1,2]}']),
]
