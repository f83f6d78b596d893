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
(``fr.IDRef`` and ``fr.MustExist`` fields of an update) and a relation filter naming it (``?author.id=``)
answer as for a missing id, and that no response nests it. Writes are sent only to rows
that must answer 404 (or, for references, to a visible row, which the test's transaction
rolls back): run it in a test with the plugin's isolation. A missing id is ``-1`` for
integer keys, the nil UUID, or ``"restly-missing-id"``; pass ``missing_ids`` otherwise.

Every leak found is reported in one ``AssertionError`` naming the view, the route and the
row. It also fails when no mounted view serves or references a hidden row's model (nothing
would have been checked). It returns a `ScopeCheck` listing what it checked and skipped.

The checks are written once, as a generator that yields the requests to send and receives
the responses; `assert_rows_hidden` and `async_assert_rows_hidden` only drive it.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._mounted import NO_BODY, MountedView, Request, hidden_ids, missing_id, mounted_views, related

__all__ = ["ScopeCheck", "assert_rows_hidden", "async_assert_rows_hidden"]

#: Longest part of a response body quoted in a leak.
MAX_BODY_SHOWN = 200

Rows = Iterable[Any] | Mapping[type[Any], Iterable[Any]]
Probes = Generator[Request, Any, list[str]]


@dataclass
class ScopeCheck:
    """What `assert_rows_hidden` checked (one line per probe) and could not check."""

    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def assert_rows_hidden(
    client: Any,
    rows: Rows,
    *,
    app: Any = None,
    headers: Mapping[str, str] | None = None,
    missing_ids: Mapping[type[Any], Any] | None = None,
) -> ScopeCheck:
    """Assert that ``rows`` (ORM objects, or ``{Model: [ids]}``) are invisible to the
    user ``client`` calls as (with ``headers``), on every route of ``app`` (default:
    ``client.app``). See the module documentation."""
    check = _Check(app if app is not None else client.app, rows, missing_ids or {})
    probes = check.run()
    try:
        request = next(probes)
        while True:
            request = probes.send(_send(client, request, headers))
    except StopIteration as done:
        return check.finish(done.value)


async def async_assert_rows_hidden(
    client: Any,
    rows: Rows,
    *,
    app: Any = None,
    headers: Mapping[str, str] | None = None,
    missing_ids: Mapping[type[Any], Any] | None = None,
) -> ScopeCheck:
    """`assert_rows_hidden` over an async client (an ``httpx.AsyncClient``)."""
    check = _Check(app if app is not None else client.app, rows, missing_ids or {})
    probes = check.run()
    try:
        request = next(probes)
        while True:
            request = probes.send(await _send(client, request, headers))
    except StopIteration as done:
        return check.finish(done.value)


def _send(client: Any, request: Request, headers: Mapping[str, str] | None) -> Any:
    # ``request``: the test clients check no status there
    kwargs: dict[str, Any] = {"params": request.params, "headers": headers}
    if request.body is not NO_BODY:
        kwargs["json"] = request.body
    return client.request(request.method, request.url, **kwargs)


class _Check:
    """The probes of one call: requests out, responses in, leaks collected."""

    def __init__(self, app: Any, rows: Rows, missing_ids: Mapping[type[Any], Any]) -> None:
        self.hidden = hidden_ids(rows)
        self.missing = {m: missing_ids.get(m, missing_id(ids[0])) for m, ids in self.hidden.items()}
        self.views = mounted_views(app)
        self.report = ScopeCheck()
        self.visible: dict[Any, list[Any]] = {}  # view -> the items of its first page
        self.deletes: list[tuple[MountedView, str, Request, Request, type[Any], Any]] = []

    def run(self) -> Probes:
        leaks: list[str] = []
        for view in self.views:
            self.visible[view.view] = _items((yield view.list_request()))
        for model, ids in self.hidden.items():
            served = [view for view in self.views if related(model, view.model)]
            for view in served:
                leaks += yield from self._served(view, model, ids)
            referencing = 0
            for view in self.views:
                leaks += yield from self._references(view, model, ids)
                referencing += bool(view.references_to(model) or view.relation_keys(model))
                leaks += self._nested(view, model, ids)
            if not served and not referencing:
                leaks.append(
                    f"no mounted view serves or references {model.__name__}: nothing was checked"
                )
        for probe in self.deletes:  # last: a delete that leaks removes the row
            leaks += yield from self._compare(*probe)
        return leaks

    def finish(self, leaks: list[str]) -> ScopeCheck:
        if leaks:
            noun = "leak" if len(leaks) == 1 else "leaks"
            listed = "\n".join(f"  - {leak}" for leak in leaks)
            raise AssertionError(
                f"rows outside the scope are visible ({len(leaks)} {noun}):\n{listed}"
            )
        return self.report

    def _served(self, view: MountedView, model: type[Any], ids: list[Any]) -> Probes:
        """The view's own routes: lists and every route taking the row's id."""
        leaks: list[str] = []
        if view.pk is None:
            self.report.skipped.append(f"{view.name}: its responses do not show the primary key")
            return leaks
        if "{" in view.view.prefix:
            self.report.skipped.append(f"{view.name}: its prefix has path parameters")
            return leaks
        missing = self.missing[model]
        for ident in ids:
            row = f"{model.__name__} {ident}"
            self.report.checked.append(f"{view.name} GET {view.base} does not list {row}")
            shown = [item for item in self.visible[view.view] if _same(item.get(view.pk), ident)]
            if shown:
                leaks.append(f"{view.name} GET {view.base} lists hidden row {row}: {shown[0]}")
            label = f"GET {view.base} filtered by {view.pk}"
            hidden, absent = view.filtered(ident), view.filtered(missing)
            leaks += yield from self._compare(view, label, hidden, absent, model, ident)
            for method, path in view.by_id:
                body = {} if method in ("POST", "PUT", "PATCH") else NO_BODY
                hidden = Request(method, path.replace("{id}", str(ident)), body=body)
                absent = Request(method, path.replace("{id}", str(missing)), body=body)
                probe = (view, f"{method} {path}", hidden, absent, model, ident)
                if method == "DELETE":
                    self.deletes.append(probe)
                else:
                    leaks += yield from self._compare(*probe)
        return leaks

    def _references(self, view: MountedView, model: type[Any], ids: list[Any]) -> Probes:
        """Update bodies referencing the rows, and list filters naming them."""
        leaks: list[str] = []
        missing = self.missing[model]
        references = view.references_to(model)
        items = self.visible[view.view]
        if references and view.updates and (not items or view.pk is None):
            self.report.skipped.append(
                f"{view.name}: no visible row to send references to {model.__name__} with"
            )
        elif references:
            for method, path in view.updates:
                url = path.replace("{id}", str(items[0][view.pk]))
                for ref in references:
                    for ident in ids:
                        value, other = ([ident], [missing]) if ref.many else (ident, missing)
                        hidden = Request(method, url, body={ref.label: value})
                        absent = Request(method, url, body={ref.label: other})
                        label = f"{method} {path} with {ref.label}"
                        leaks += yield from self._compare(
                            view, label, hidden, absent, model, ident, "refuses"
                        )
        for key in view.relation_keys(model):
            for ident in ids:
                hidden = Request("GET", view.base, {key: str(ident)})
                absent = Request("GET", view.base, {key: str(missing)})
                label = f"GET {view.base}?{key}="
                leaks += yield from self._compare(
                    view, label, hidden, absent, model, ident, "does not match through"
                )
        return leaks

    def _nested(self, view: MountedView, model: type[Any], ids: list[Any]) -> list[str]:
        """Responses of the view's list nesting a hidden row."""
        return [
            f"{view.name} GET {view.base} shows hidden row {model.__name__} {value} in {path!r}"
            for item in self.visible[view.view]
            for path, value in view.shown(item, model)
            if any(_same(value, ident) for ident in ids)
        ]

    def _compare(
        self, view: MountedView, label: str, hidden: Request, absent: Request,
        model: type[Any], ident: Any, verb: str = "hides",
    ) -> Probes:  # fmt: skip
        """One route called for the hidden row and for a missing one: equal answers, or a leak."""
        row = f"{model.__name__} {ident}"
        self.report.checked.append(f"{view.name} {label} {verb} {row}")
        first = yield hidden
        second = yield absent
        if _answer(first, ident) == _answer(second, self.missing[model]):
            return []
        return [
            f"{view.name} {label}: hidden row {row} answers {first.status_code} "
            f"{first.text[:MAX_BODY_SHOWN]!r}, but a missing id answers {second.status_code} "
            f"{second.text[:MAX_BODY_SHOWN]!r}"
        ]


def _items(response: Any) -> list[Any]:
    """The items of a list answer (a JSON array, or the envelope's ``items``)."""
    try:
        data = response.json()
    except ValueError:
        return []
    if isinstance(data, dict):
        data = data.get("items", [])
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _answer(response: Any, ident: Any) -> tuple[int, str, str | None]:
    """A response without the id it names (``Id not found for author: 3``)."""
    text = re.sub(rf"(?<![\w-]){re.escape(str(ident))}(?!\w)", "<id>", response.text)
    return response.status_code, text, response.headers.get("content-range")


def _same(value: Any, ident: Any) -> bool:
    return value is not None and str(value) == str(ident)
