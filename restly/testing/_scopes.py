"""Check that rows outside a user's row scopes are invisible on every route of an app.

::

    from restly.testing import assert_rows_hidden

    def test_tenants_are_isolated(client, other_tenants_post, other_tenants_author):
        # client calls the app as a user of tenant 1; the rows belong to tenant 2
        assert_rows_hidden(client, [other_tenants_post, other_tenants_author],
                           headers={"X-User": "alice"})

For every view mounted on the app that serves a hidden row's model, and every hidden row,
it asserts that the row answers **exactly as a missing row does** (the same status and body,
ids aside) on each route with an ``{id}`` (get, patch, put, delete, and the view's own
routes such as ``POST /posts/{id}/publish``), that a list filtered by the row's id answers
as one filtered by a missing id (``total`` and ``Content-Range`` included), and that no
list shows it. Across all mounted views it checks that a reference to the row in a body
(``fr.IDRef`` fields of an update) and a relation filter naming it (``?author.id=``)
answer as for a missing id, and that no response nests it. Writes are sent only to rows
that must answer 404 (or, for references, to a visible row, which the test's transaction
rolls back): run it in a test with the plugin's isolation. A missing id is ``-1`` for
integer keys, the nil UUID, or ``"restly-missing-id"``; pass ``missing_ids`` otherwise.

Every leak found is reported in one ``AssertionError`` naming the view, the route and the
row. It also fails when no mounted view serves or references a hidden row's model (nothing
would have been checked). It returns a `ScopeCheck` listing what it checked and skipped.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from sqlalchemy.orm import RelationshipProperty

from .._annotations import nested_models
from .._introspect import mapper_of, primary_key_attribute
from ..mount import RestlyRoute
from ..query import MAX_RELATION_DEPTH
from ..schemas import references_in
from ..views import BaseRestView

__all__ = ["ScopeCheck", "assert_rows_hidden", "async_assert_rows_hidden"]

_ORDER = {"GET": 0, "HEAD": 1, "POST": 2, "PUT": 3, "PATCH": 4, "DELETE": 5}
_NO_BODY = object()


@dataclass
class ScopeCheck:
    """What `assert_rows_hidden` checked (one line per probe) and could not check."""

    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    params: Mapping[str, str] | None = None
    body: Any = _NO_BODY


@dataclass(frozen=True)
class _Mounted:
    view: Any
    base: str  # the view's prefix, as mounted
    routes: tuple[tuple[str, str, str], ...]  # (route name, method, full path)

    @property
    def name(self) -> str:
        return str(self.view.__name__)


def assert_rows_hidden(
    client: Any,
    rows: Iterable[Any] | Mapping[type[Any], Iterable[Any]],
    *,
    app: Any = None,
    headers: Mapping[str, str] | None = None,
    missing_ids: Mapping[type[Any], Any] | None = None,
) -> ScopeCheck:
    """Assert that ``rows`` (ORM objects, or ``{Model: [ids]}``) are invisible to the
    user ``client`` calls as (with ``headers``), on every route of ``app`` (default:
    ``client.app``). See the module documentation."""
    probes = _probes(app if app is not None else client.app, rows, missing_ids or {})
    request = next(probes)
    try:
        while True:
            request = probes.send(_send(client, request, headers))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def async_assert_rows_hidden(
    client: Any,
    rows: Iterable[Any] | Mapping[type[Any], Iterable[Any]],
    *,
    app: Any = None,
    headers: Mapping[str, str] | None = None,
    missing_ids: Mapping[type[Any], Any] | None = None,
) -> ScopeCheck:
    """`assert_rows_hidden` over an async client (``httpx.AsyncClient``)."""
    probes = _probes(app if app is not None else client.app, rows, missing_ids or {})
    request = next(probes)
    try:
        while True:
            request = probes.send(await _send(client, request, headers))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _send(client: Any, request: _Request, headers: Mapping[str, str] | None) -> Any:
    kwargs: dict[str, Any] = {"params": request.params, "headers": headers}
    if request.body is not _NO_BODY:
        kwargs["json"] = request.body
    return client.request(request.method, request.url, **kwargs)


# -- the probes: requests out, responses in --------------------------------------------------

Probes = Generator[_Request, Any, ScopeCheck]


def _probes(app: Any, rows: Any, missing_ids: Mapping[type[Any], Any]) -> Probes:
    hidden = _hidden_ids(rows)
    mounted = _mounted_views(app)
    report, leaks = ScopeCheck(), []
    deletes: list[tuple[str, str, str, _Request, _Request, Any, Any]] = []
    visible: dict[Any, list[Any]] = {}  # view -> its first page of items
    for view in mounted:
        if not view.routes:
            continue
        answer = yield _list_request(view)
        visible[view.view] = _items(answer)
    for model, ids in hidden.items():
        missing = missing_ids.get(model, _missing_id(ids[0]))
        served = [m for m in mounted if _related(model, m.view.model)]
        for view in served:
            pk = _pk_field(view.view)
            if pk is None:
                report.skipped.append(f"{view.name}: its responses do not show the primary key")
                continue
            if "{" in view.view.prefix:
                report.skipped.append(f"{view.name}: its prefix has path parameters")
                continue
            for ident in ids:
                row = f"{model.__name__} {ident}"
                shown = [i for i in visible[view.view] if _same(i.get(pk), ident)]
                report.checked.append(f"{view.name} GET {view.base} does not list {row}")
                if shown:
                    leaks.append(f"{view.name} GET {view.base} lists hidden row {row}: {shown[0]}")
                probes = [
                    (view.name, f"GET {view.base} filtered by {pk}", row,
                     _filtered(view, pk, ident), _filtered(view, pk, missing), ident, missing)
                ]  # fmt: skip
                for _, method, path in sorted(view.routes, key=lambda r: _ORDER.get(r[1], 9)):
                    if "{id}" not in path:
                        continue
                    body = {} if method in ("POST", "PUT", "PATCH") else _NO_BODY
                    probe = (
                        view.name, f"{method} {path}", row,
                        _Request(method, path.replace("{id}", str(ident)), body=body),
                        _Request(method, path.replace("{id}", str(missing)), body=body),
                        ident, missing,
                    )  # fmt: skip
                    (deletes if method == "DELETE" else probes).append(probe)
                for probe in probes:
                    leaks += yield from _compare(*probe)
                    report.checked.append(f"{probe[0]} {probe[1]} hides {row}")
        referencing = 0
        for view in mounted:
            found = yield from _references(view, model, ids, missing, visible[view.view], report)
            referencing += found[0]
            leaks.extend(found[1])
            leaks.extend(_nested_leaks(view, model, ids, visible[view.view]))
        if not served and not referencing:
            leaks.append(f"no mounted view serves or references {model.__name__}: nothing was checked")
    for probe in deletes:  # last: a delete that leaks removes the row
        leaks += yield from _compare(*probe)
        report.checked.append(f"{probe[0]} {probe[1]} hides {probe[2]}")
    if leaks:
        raise AssertionError(
            f"rows outside the scope are visible ({len(leaks)} leak"
            f"{'' if len(leaks) == 1 else 's'}):\n" + "\n".join(f"  - {leak}" for leak in leaks)
        )
    return report


def _compare(
    view: str, label: str, row: str, hidden: _Request, missing: _Request, ident: Any, absent: Any
) -> Generator[_Request, Any, list[str]]:
    """One route called for the hidden row and for a missing one: equal answers, or a leak."""
    first = yield hidden
    second = yield missing
    a, b = _answer(first, ident), _answer(second, absent)
    if a == b:
        return []
    where = f"{view} {label}".strip()
    return [
        f"{where}: hidden row {row} answers {first.status_code} {first.text[:200]!r}, "
        f"but a missing id answers {second.status_code} {second.text[:200]!r}"
    ]


def _references(
    view: _Mounted, model: type[Any], ids: list[Any], missing: Any, items: list[Any], report: ScopeCheck
) -> Generator[_Request, Any, tuple[int, list[str]]]:
    """Bodies referencing the hidden rows (``fr.IDRef`` fields of an update), and relation
    filters naming them, answer as for a missing id."""
    leaks: list[str] = []
    count = 0
    update = next(((m, p) for n, m, p in view.routes if n in ("patch", "put") and "{id}" in p), None)
    refs = [r for r in references_in(view.view.update_schema, view.view.model) if _related(model, r.target.model)]
    pk = _pk_field(view.view)
    if refs and update is not None:
        count += 1
        if not items or pk is None:
            report.skipped.append(f"{view.name}: no visible row to send references to {model.__name__} with")
        else:
            method, path = update
            url = path.replace("{id}", str(items[0][pk]))
            for ref in refs:
                for ident in ids:
                    value, other = ([ident], [missing]) if ref.many else (ident, missing)
                    label = f"{method} {path} with {ref.label}"
                    row = f"{model.__name__} {ident}"
                    leaks += yield from _compare(
                        view.name, label, row, _Request(method, url, body={ref.label: value}),
                        _Request(method, url, body={ref.label: other}), ident, missing,
                    )
                    report.checked.append(f"{view.name} {label} refuses {row}")
    if _is_react_admin(view.view):
        return count, leaks
    for key in _relation_keys(view.view.model, view.view.response_schema, model, ""):
        count += 1
        for ident in ids:
            row = f"{model.__name__} {ident}"
            leaks += yield from _compare(
                view.name, f"GET {view.base}?{key}=", row, _Request("GET", view.base, {key: str(ident)}),
                _Request("GET", view.base, {key: str(missing)}), ident, missing,
            )
            report.checked.append(f"{view.name} GET {view.base}?{key}= does not match through {row}")
    return count, leaks


def _relation_keys(owner: type[Any], schema: Any, model: type[Any], prefix: str, depth: int = 0) -> list[str]:
    """List filter keys naming a row of ``model`` across a relation (``author.id``,
    ``tags`` for ``list[fr.IDRef[Tag]]``)."""
    mapper = mapper_of(owner)
    if mapper is None or depth >= MAX_RELATION_DEPTH:
        return []
    keys = []
    for name, info in schema.model_fields.items():
        prop = mapper.attrs.get(name)
        if not isinstance(prop, RelationshipProperty):
            continue
        related = prop.mapper.class_
        key = prefix + (info.serialization_alias or info.alias or name)
        nested = nested_models(info.annotation)
        if not nested and prop.uselist and _related(model, related):
            keys.append(key)  # list[fr.IDRef[Model]]: filters by the related ids
        for sub in nested:
            pk = _public_pk(sub, related)
            if pk is not None and _related(model, related):
                keys.append(f"{key}.{pk}")
            keys += _relation_keys(related, sub, model, key + ".", depth + 1)
    return keys


def _nested_leaks(view: _Mounted, model: type[Any], ids: list[Any], items: list[Any]) -> list[str]:
    """Responses nesting a hidden row (``{"author": {"id": 3}}``, ``"tags": [3]``)."""
    leaks = []
    for item in items:
        for path, value in _shown(view.view.model, view.view.response_schema, item, model, ""):
            if any(_same(value, ident) for ident in ids):
                leaks.append(f"{view.name} GET {view.base} shows hidden row {model.__name__} {value} in {path!r}")
    return leaks


def _shown(owner: type[Any], schema: Any, data: Any, model: type[Any], prefix: str, depth: int = 0) -> Iterable[tuple[str, Any]]:
    """``(field path, id)`` of every row of ``model`` that ``data`` (an answer of
    ``schema``) shows through a relationship."""
    mapper = mapper_of(owner)
    if mapper is None or not isinstance(data, dict) or depth > 4:
        return
    for name, info in schema.model_fields.items():
        prop = mapper.attrs.get(name)
        key = info.serialization_alias or info.alias or name
        if not isinstance(prop, RelationshipProperty) or data.get(key) is None:
            continue
        related = prop.mapper.class_
        values = data[key] if isinstance(data[key], list) else [data[key]]
        nested = nested_models(info.annotation)
        for value in values:
            if not nested and _related(model, related):
                yield prefix + key, value  # an fr.IDRef: the id itself
            for sub in nested:
                pk = _public_pk(sub, related)
                if pk is not None and isinstance(value, dict) and _related(model, related):
                    yield prefix + key, value.get(pk)
                yield from _shown(related, sub, value, model, f"{prefix}{key}.", depth + 1)


# -- reading the app and the rows --------------------------------------------------------


def _hidden_ids(rows: Any) -> dict[type[Any], list[Any]]:
    found: dict[type[Any], list[Any]] = {}
    if isinstance(rows, Mapping):
        for model, ids in rows.items():
            found.setdefault(model, []).extend(ids)
    else:
        for row in rows:
            state = sa.inspect(row)
            if state.identity is None or len(state.identity) != 1:
                raise TypeError(f"assert_rows_hidden() needs stored rows with one primary key; got {row!r}")
            found.setdefault(type(row), []).append(state.identity[0])
    if not any(found.values()):
        raise TypeError("assert_rows_hidden() needs at least one hidden row")
    return {model: ids for model, ids in found.items() if ids}


def _mounted_views(app: Any) -> list[_Mounted]:
    routes: dict[Any, list[tuple[str, str, str]]] = {}
    bases: dict[Any, str] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, RestlyRoute) or not route.include_in_schema or context.path is None:
            continue
        view = route.view
        if not (isinstance(view, type) and issubclass(view, BaseRestView)):
            continue
        outer = context.path[: len(context.path) - len(route.view_path)]
        bases.setdefault(view, outer + view.prefix)
        name = route.name.rsplit(".", 1)[-1]
        routes.setdefault(view, []).extend((name, method, context.path) for method in sorted(route.methods or ()))
    return [_Mounted(view, bases[view], tuple(found)) for view, found in routes.items()]


def _list_request(view: _Mounted) -> _Request:
    if _is_react_admin(view.view):
        rows = view.view.__restly_compiled__.plan.max_rows
        return _Request("GET", view.base, {"range": json.dumps([0, rows - 1])})
    return _Request("GET", view.base)


def _filtered(view: _Mounted, pk: str, ident: Any) -> _Request:
    if _is_react_admin(view.view):
        return _Request("GET", view.base, {"filter": json.dumps({pk: [_json(ident)]})})
    return _Request("GET", view.base, {pk: str(ident)})


def _items(response: Any) -> list[Any]:
    try:
        data = response.json()
    except ValueError:
        return []
    if isinstance(data, dict):
        data = data.get("items", [])
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _answer(response: Any, ident: Any) -> tuple[int, str, str | None]:
    """A response without the id it names (``Id not found for author: 3``)."""
    text = response.text
    if ident is not None:
        text = re.sub(rf"(?<![\w-]){re.escape(str(ident))}(?!\w)", "<id>", text)
    return response.status_code, text, response.headers.get("content-range")


def _pk_field(view: Any) -> str | None:
    return _public_pk(view.response_schema, view.model)


def _public_pk(schema: Any, model: type[Any]) -> str | None:
    mapper = mapper_of(model)
    if mapper is None or len(mapper.primary_key) != 1:
        return None
    info = schema.model_fields.get(primary_key_attribute(mapper))
    if info is None:
        return None
    return str(info.serialization_alias or info.alias or primary_key_attribute(mapper))


def _is_react_admin(view: Any) -> bool:
    return hasattr(view.__restly_compiled__, "plan")


def _related(a: type[Any], b: Any) -> bool:
    return isinstance(b, type) and (issubclass(a, b) or issubclass(b, a))


def _same(value: Any, ident: Any) -> bool:
    return value is not None and str(value) == str(ident)


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _missing_id(example: Any) -> Any:
    if isinstance(example, bool):
        raise TypeError("assert_rows_hidden() cannot pick a missing id; pass missing_ids")
    if isinstance(example, int):
        return -1
    if isinstance(example, uuid.UUID):
        return uuid.UUID(int=0)
    if isinstance(example, str):
        return "restly-missing-id"
    raise TypeError(
        f"assert_rows_hidden() cannot pick a missing id like {example!r}; pass "
        "missing_ids={Model: an id no row has}"
    )
