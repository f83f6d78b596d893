"""What an app serves, read for `assert_rows_hidden`: its mounted model views and the
requests that reach a given model through each of them.

::

    for view in mounted_views(app):
        view.name, view.base          # "BookView", "/api/books" (as mounted)
        view.by_id                    # (("GET", "/api/books/{id}"), ("PATCH", ...), ...)
        view.relation_keys(Author)    # ["author.id"]: list filters naming an Author
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from sqlalchemy.orm import RelationshipProperty

from .._annotations import nested_models
from .._introspect import mapper_of, primary_key_attribute
from ..mount import RestlyRoute
from ..query import MAX_RELATION_DEPTH
from ..schemas import Reference, references_in
from ..views import BaseRestView

__all__ = [
    "NO_BODY",
    "MountedView",
    "Request",
    "hidden_ids",
    "missing_id",
    "mounted_views",
    "public_pk",
    "related",
]

#: Methods in the order routes are probed: reads, then writes, deletes last.
_ORDER = {"GET": 0, "HEAD": 1, "POST": 2, "PUT": 3, "PATCH": 4, "DELETE": 5}
#: Most levels of nested responses searched for a hidden row.
_MAX_NESTING = 4

NO_BODY: Any = object()


@dataclass(frozen=True)
class Request:
    """One request to send (``body`` is JSON, or `NO_BODY`)."""

    method: str
    url: str
    params: Mapping[str, str] | None = None
    body: Any = NO_BODY


@dataclass(frozen=True)
class MountedView:
    """A model view as mounted on an app: its prefix there and its routes."""

    view: Any
    base: str
    routes: tuple[tuple[str, str, str], ...]  # (route name, method, full path)

    @property
    def name(self) -> str:
        return str(self.view.__name__)

    @property
    def model(self) -> type[Any]:
        return self.view.model  # type: ignore[no-any-return]

    @property
    def pk(self) -> str | None:
        """The public name of the primary key in the view's responses, if they show it."""
        return public_pk(self.view.response_schema, self.model)

    @property
    def react_admin(self) -> bool:
        return hasattr(self.view.__restly_compiled__, "plan")

    @property
    def by_id(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every route taking the row's ``{id}``, deletes last."""
        found = [(method, path) for _, method, path in self.routes if "{id}" in path]
        return sorted(found, key=lambda route: _ORDER.get(route[0], len(_ORDER)))

    @property
    def updates(self) -> list[tuple[str, str]]:
        """``(method, path)`` of the generated update routes (PATCH, react-admin's PUT)."""
        return [(m, p) for name, m, p in self.routes if name in ("patch", "put") and "{id}" in p]

    def list_request(self) -> Request:
        """The list's first page, as large as the view allows."""
        if self.react_admin:
            rows = self.view.__restly_compiled__.plan.max_rows
            return Request("GET", self.base, {"range": json.dumps([0, rows - 1])})
        return Request("GET", self.base)

    def filtered(self, ident: Any) -> Request:
        """The list filtered by primary key ``ident``."""
        assert self.pk is not None
        if self.react_admin:
            value = str(ident) if isinstance(ident, uuid.UUID) else ident
            return Request("GET", self.base, {"filter": json.dumps({self.pk: [value]})})
        return Request("GET", self.base, {self.pk: str(ident)})

    def references_to(self, model: type[Any]) -> list[Reference]:
        """The reference fields of the update body pointing at ``model``."""
        found = references_in(self.view.update_schema, self.model)
        return [ref for ref in found if related(model, ref.target.model)]

    def relation_keys(self, model: type[Any]) -> list[str]:
        """List filter keys naming a row of ``model`` across a relation (``author.id``;
        ``tags`` for ``list[fr.IDRef[Tag]]``). React-admin lists filter columns only."""
        if self.react_admin:
            return []
        return _relation_keys(self.model, self.view.response_schema, model, "", 0)

    def shown(self, item: Any, model: type[Any]) -> Iterable[tuple[str, Any]]:
        """``(field path, id)`` of each row of ``model`` a response ``item`` nests."""
        return _shown(self.model, self.view.response_schema, item, model, "", 0)


def mounted_views(app: Any) -> list[MountedView]:
    """The model views mounted on ``app`` (routers included with a prefix count)."""
    routes: dict[Any, list[tuple[str, str, str]]] = {}
    bases: dict[Any, str] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, RestlyRoute) or context.path is None:
            continue
        if not route.include_in_schema:
            continue  # the collection's "/" twin
        view = route.view
        if not (isinstance(view, type) and issubclass(view, BaseRestView)):
            continue
        outer = context.path[: len(context.path) - len(route.view_path)]
        bases.setdefault(view, outer + view.prefix)
        name = route.name.rsplit(".", 1)[-1]
        methods = sorted(route.methods or ())
        routes.setdefault(view, []).extend((name, method, context.path) for method in methods)
    return [MountedView(view, bases[view], tuple(found)) for view, found in routes.items()]


def hidden_ids(rows: Any) -> dict[type[Any], list[Any]]:
    """``{model: [primary keys]}`` of ORM objects, or of such a mapping itself."""
    found: dict[type[Any], list[Any]] = {}
    if isinstance(rows, Mapping):
        for model, ids in rows.items():
            found.setdefault(model, []).extend(ids)
    else:
        for row in rows:
            state = sa.inspect(row)
            if state.identity is None or len(state.identity) != 1:
                raise TypeError(
                    f"assert_rows_hidden() needs stored rows with one primary key; got {row!r}"
                )
            found.setdefault(type(row), []).append(state.identity[0])
    found = {model: ids for model, ids in found.items() if ids}
    if not found:
        raise TypeError("assert_rows_hidden() needs at least one hidden row")
    return found


def missing_id(example: Any) -> Any:
    """An id of ``example``'s type that no row has."""
    if isinstance(example, int) and not isinstance(example, bool):
        return -1
    if isinstance(example, uuid.UUID):
        return uuid.UUID(int=0)
    if isinstance(example, str):
        return "restly-missing-id"
    raise TypeError(
        f"assert_rows_hidden() cannot pick a missing id like {example!r}; pass "
        "missing_ids={Model: an id no row has}"
    )


def related(a: type[Any], b: Any) -> bool:
    """Whether rows of ``a`` can be rows of ``b`` (one class, or mapped inheritance)."""
    return isinstance(b, type) and (issubclass(a, b) or issubclass(b, a))


def public_pk(schema: Any, model: type[Any]) -> str | None:
    mapper = mapper_of(model)
    if mapper is None or len(mapper.primary_key) != 1:
        return None
    name = primary_key_attribute(mapper)
    info = schema.model_fields.get(name)
    return None if info is None else str(info.serialization_alias or info.alias or name)


def _relation_fields(
    owner: type[Any], schema: Any
) -> Iterable[tuple[str, Any, type[Any], list[Any]]]:
    """``(public name, field, related model, nested schemas)`` of each relationship field."""
    mapper = mapper_of(owner)
    if mapper is None:
        return
    for name, info in schema.model_fields.items():
        prop = mapper.attrs.get(name)
        if isinstance(prop, RelationshipProperty):
            key = info.serialization_alias or info.alias or name
            yield key, prop, prop.mapper.class_, nested_models(info.annotation)


def _relation_keys(
    owner: type[Any], schema: Any, model: type[Any], prefix: str, depth: int
) -> list[str]:
    if depth >= MAX_RELATION_DEPTH:
        return []
    keys = []
    for key, prop, target, nested in _relation_fields(owner, schema):
        if not nested and prop.uselist and related(model, target):
            keys.append(prefix + key)  # list[fr.IDRef[Model]]: filters by the related ids
        for sub in nested:
            pk = public_pk(sub, target)
            if pk is not None and related(model, target):
                keys.append(f"{prefix}{key}.{pk}")
            keys += _relation_keys(target, sub, model, f"{prefix}{key}.", depth + 1)
    return keys


def _shown(
    owner: type[Any], schema: Any, data: Any, model: type[Any], prefix: str, depth: int
) -> Iterable[tuple[str, Any]]:
    if not isinstance(data, dict) or depth > _MAX_NESTING:
        return
    for key, _, target, nested in _relation_fields(owner, schema):
        value = data.get(key)
        for item in value if isinstance(value, list) else [] if value is None else [value]:
            if not nested and related(model, target):
                yield prefix + key, item  # an fr.IDRef: the id itself
            for sub in nested:
                pk = public_pk(sub, target)
                if pk is not None and isinstance(item, dict) and related(model, target):
                    yield prefix + key, item.get(pk)
                yield from _shown(target, sub, item, model, f"{prefix}{key}.", depth + 1)
