"""One request's `?fields=` and `?expand=`, read against a view's `Shapes`.

```python
shape = read_shape(compiled.shapes, request.query_params)   # None: neither was sent
statement = statement.options(*shape.options)              # one SELECT ... IN per expansion
body = shape.dump_many(objects)
```

Names are checked against what the view compiled (write-only fields are not there); an
unknown or not allowed name is a 422 naming it, in FastAPI's error format, so it is answered
like every other invalid query parameter (problem details included). Shapes are kept per
distinct pair of parameter values, and the dump models and statements per expansion set,
each bounded by `MAX_SHAPES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter
from starlette.datastructures import QueryParams

from .._caches import put_bounded
from ._shapes import EXPAND, FIELDS, Expansion, Shapes, children, shaped_model

__all__ = ["MAX_SHAPES", "Expanded", "Shape", "read_shape"]

#: Most shapes kept per view (distinct ``fields``/``expand`` values); then built per request.
MAX_SHAPES = 256


@dataclass(frozen=True, slots=True)
class Expanded:
    """What one set of expansions loads and dumps (shared by every shape expanding it)."""

    options: tuple[Any, ...]
    one: TypeAdapter[Any]
    many: TypeAdapter[Any]
    #: The view's base statement with these loads, and its by-id read (parameter
    #: ``ID_PARAMETER``): the statements of restly's own list and get.
    list_base: Any
    get_objects: Any
    #: Prepared list statements over ``list_base`` (``restly.query.prepared_list``).
    list_statements: dict[Any, Any]


@dataclass(frozen=True, slots=True)
class Shape:
    """What one request asked for: the loads to add, and how to dump its objects."""

    expanded: Expanded
    #: pydantic's ``include`` (python names, nested), or None for every field.
    include: Any
    include_many: Any

    @property
    def options(self) -> tuple[Any, ...]:
        return self.expanded.options

    def dump_one(self, obj: Any) -> bytes:
        adapter = self.expanded.one
        return adapter.dump_json(
            adapter.validate_python(obj, from_attributes=True), by_alias=True, include=self.include
        )

    def dump_many(self, objects: Sequence[Any]) -> bytes:
        adapter = self.expanded.many
        return adapter.dump_json(
            adapter.validate_python(objects, from_attributes=True),
            by_alias=True,
            include=self.include_many,
        )


def read_shape(shapes: Shapes, query: QueryParams) -> Shape | None:
    """The shape a request's query asks for; None when it sends neither parameter (or
    only one the view does not accept, which is then ignored like any unknown key)."""
    fields = _values(query, FIELDS) if shapes.sparse else None
    expand = _values(query, EXPAND) if shapes.expansions else None
    if fields is None and expand is None:
        return None
    key = (tuple(fields) if fields is not None else ("\0",), tuple(expand or ()))
    shape = shapes.cache.get(key)
    if shape is None:
        shape = _build(shapes, fields, expand or [])
        put_bounded(shapes.cache, key, shape, MAX_SHAPES)
    return shape


def _values(query: QueryParams, name: str) -> list[str] | None:
    if name not in query:
        return None
    return [part.strip() for value in query.getlist(name) for part in value.split(",") if part.strip()]


def _refuse(name: str, unknown: list[str], allowed: Sequence[str], what: str) -> None:
    names = ", ".join(repr(n) for n in unknown)
    raise RequestValidationError(
        [
            {
                "type": f"unknown_{name}",
                "loc": ("query", name),
                "msg": f"Unknown {what} {names}; {name} takes: {', '.join(allowed)}",
                "input": ",".join(unknown),
            }
        ]
    )


def _build(shapes: Shapes, fields: list[str] | None, expand: list[str]) -> Shape:
    unknown = [name for name in expand if name not in shapes.expansions]
    if unknown:
        _refuse(EXPAND, unknown, sorted(shapes.expansions), "relation")
    expanded = set(expand)
    if fields is not None:
        if not fields:
            raise RequestValidationError(
                [
                    {
                        "type": "missing_fields",
                        "loc": ("query", FIELDS),
                        "msg": "fields names no field; send at least one, or leave it out "
                        "for every field",
                        "input": "",
                    }
                ]
            )
        unknown = [name for name in fields if name not in shapes.selectable]
        if unknown:
            _refuse(FIELDS, unknown, sorted(shapes.selectable), "field")
        for name in fields:  # a dotted field, or an expandable relation, expands it
            where, _ = shapes.selectable[name]
            if name in shapes.expansions:
                expanded.add(name)
            elif where:
                expanded.add(where)
    for path in list(expanded):  # author.publisher expands author too
        while "." in path:
            path = path.rpartition(".")[0]
            expanded.add(path)
    closed = frozenset(expanded)
    loads = shapes.expanded.get(closed)
    if loads is None:  # one per subset of `expandable` (bounded too: subsets multiply)
        model = shaped_model(shapes.schema, shapes.expansions, closed)
        options = tuple(_options(shapes.expansions, closed, None))
        list_base = shapes.base.options(*options)
        loads = Expanded(
            options=options,
            one=TypeAdapter(model),
            many=TypeAdapter(list[model]),  # type: ignore[valid-type]
            list_base=list_base,
            get_objects=list_base.where(shapes.by_id),
            list_statements={},
        )
        put_bounded(shapes.expanded, closed, loads, MAX_SHAPES)
    include = None if fields is None else _include(shapes, fields, closed, "")
    return Shape(
        expanded=loads,
        include=include,
        include_many=None if include is None else {"__all__": include},
    )


def _options(expansions: Any, expanded: frozenset[str], parent: str | None) -> list[Any]:
    options = []
    for expansion in children(expansions, parent):
        if expansion.path in expanded:
            below = [*expansion.nested_options, *_options(expansions, expanded, expansion.path)]
            option = expansion.option()
            options.append(option.options(*below) if below else option)
    return options


def _include(shapes: Shapes, fields: list[str], expanded: frozenset[str], level: str) -> Any:
    """pydantic's ``include`` for the item (``level`` ""), or an expanded relation at
    ``level``: the fields named at that level, and every relation expanded below it
    (whole, or as its own dotted fields select)."""
    chosen: dict[str, Any] = {}
    for name in fields:
        where, python = shapes.selectable[name]
        if where == level and name not in shapes.expansions:
            chosen[python] = True
    for expansion in children(shapes.expansions, level or None):
        if expansion.path not in expanded:
            continue
        chosen[expansion.key] = _expanded_include(shapes, fields, expanded, expansion)
    return chosen


def _expanded_include(
    shapes: Shapes, fields: list[str], expanded: frozenset[str], expansion: Expansion
) -> Any:
    selected = any(shapes.selectable[name][0] == expansion.path for name in fields)
    if not selected:
        return True  # the whole related object (with what is expanded below it)
    below = _include(shapes, fields, expanded, expansion.path)
    return {"__all__": below} if expansion.many else below
