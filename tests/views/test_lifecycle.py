"""The write pipeline (SPEC §9): ``authorize`` -> ``snapshot`` -> mutate -> flush ->
``before_action_commit`` -> commit -> ``after_action_commit``, over HTTP, for REST and
react-admin views, sync and async, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, HTTPException
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.exc import Forbidden, NotFound

pytestmark = pytest.mark.anyio

Hook = Callable[..., Any]


class Base(DeclarativeBase):
    pass


class Doc(Base):
    __tablename__ = "lc_doc"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    owner: Mapped[str] = mapped_column(String(20), default="ann")
    published: Mapped[bool] = mapped_column(default=False)


class Audit(Base):
    __tablename__ = "lc_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry: Mapped[str] = mapped_column(String(200))


def current_user(x_user: str = Header("ann")) -> str:
    return x_user


def as_method(kind: str, body: Hook) -> Hook:
    """``body(self, *args)`` as a hook of the view's kind: a coroutine on async views."""
    if kind == "async":

        async def hook(self: Any, *args: Any) -> Any:
            return body(self, *args)

    else:

        def hook(self: Any, *args: Any) -> Any:  # type: ignore[misc]
            return body(self, *args)

    return hook


def make_view(
    kind: str, flavour: str = "rest", raw: dict[str, Hook] | None = None, **hooks: Hook
) -> type:
    """A view of ``Doc`` of ``kind`` (async/sync) and ``flavour`` (rest/react-admin) with the
    given hooks (plain functions ``(self, action, ...)``), a ``user`` dependency, and a
    custom ``POST /{id}/publish`` action run through ``write_action``."""
    bases = {
        ("async", "rest"): fr.AsyncRestView,
        ("sync", "rest"): fr.RestView,
        ("async", "react-admin"): fr.AsyncReactAdminView,
        ("sync", "react-admin"): fr.ReactAdminView,
    }
    namespace: dict[str, Any] = {
        "prefix": "/papers",
        "model": Doc,
        "__annotations__": {"user": Annotated[str, Depends(current_user)]},
    }
    for name, body in hooks.items():
        namespace[name] = as_method(kind, body)
    namespace.update(raw or {})  # hooks written for the view's kind already
    if kind == "async":

        @fr.post("/{id}/publish")
        async def publish(self: Any, id: int, fail: bool = False) -> dict[str, Any]:
            doc = await self.handle_get(id)
            async with self.write_action("publish", obj=doc) as write:
                doc.published = True
                if fail:
                    raise HTTPException(418, "no tea")
            return {"id": write.obj.id, "published": write.obj.published}

    else:

        @fr.post("/{id}/publish")
        def publish(self: Any, id: int, fail: bool = False) -> dict[str, Any]:  # type: ignore[misc]
            doc = self.handle_get(id)
            with self.write_action("publish", obj=doc) as write:
                doc.published = True
                if fail:
                    raise HTTPException(418, "no tea")
            return {"id": write.obj.id, "published": write.obj.published}

    namespace["publish"] = publish
    return type(f"{kind.title()}{flavour.title().replace('-', '')}DocView", (bases[kind, flavour],), namespace)


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def serve(
    database: Any, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> Callable[[type], httpx.AsyncClient]:
    def serve_view(view: type) -> httpx.AsyncClient:
        app = FastAPI()
        fr.include_view(app, view)
        return client_for(app)

    return serve_view


def rows(fr_globals: fr.FRGlobals, model: type) -> list[Any]:
    with fr_globals.get_sessionmaker()() as session:
        return list(session.scalars(select(model).order_by(model.id)))  # type: ignore[attr-defined]


def count(fr_globals: fr.FRGlobals, model: type) -> int:
    with fr_globals.get_sessionmaker()() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def seed(fr_globals: fr.FRGlobals, *titles: str) -> list[int]:
    with fr_globals.get_sessionmaker()() as session:
        docs = [Doc(title=title) for title in titles]
        session.add_all(docs)
        session.commit()
        return [doc.id for doc in docs]


# -- the phases and their order --------------------------------------------------------


@pytest.mark.parametrize("flavour", ["rest", "react-admin"])
async def test_every_write_runs_the_phases_in_order_with_old_and_new(
    kind: str, flavour: str, serve: Any, fr_globals: fr.FRGlobals
) -> None:
    events: list[tuple[Any, ...]] = []

    def authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        events.append(("authorize", action, obj.title if obj else None, data.title if data else None))

    def before(self: Any, action: str, new: Any, old: Any = None) -> None:
        # after the flush: the new row has its id; inside the transaction
        events.append(("before", action, new.id, new.title, old and old["title"]))

    def after(self: Any, action: str, new: Any, old: Any = None) -> None:
        events.append(("after", action, new.id, new.title, old and old["title"]))

    view = make_view(
        kind, flavour, authorize=authorize, before_action_commit=before, after_action_commit=after
    )
    client = serve(view)
    created = await client.post("/papers", json={"title": "one"})
    assert created.status_code == 201, created.text
    doc_id = created.json()["id"]
    assert events == [
        ("authorize", "create", None, "one"),
        ("before", "create", doc_id, "one", None),
        ("after", "create", doc_id, "one", None),
    ]
    events.clear()
    method = "PATCH" if flavour == "rest" else "PUT"
    changed = await client.request(method, f"/papers/{doc_id}", json={"title": "two"})
    assert changed.status_code == 200 and changed.json()["title"] == "two"
    assert events == [
        ("authorize", "update", "one", "two"),  # the row as read, and the body
        ("before", "update", doc_id, "two", "one"),  # old is the snapshot before the change
        ("after", "update", doc_id, "two", "one"),
    ]
    events.clear()
    assert (await client.get(f"/papers/{doc_id}")).status_code == 200
    assert (await client.get("/papers")).status_code == 200
    assert events == [("authorize", "get_one", "two", None), ("authorize", "get_many", None, None)]
    events.clear()
    deleted = await client.delete(f"/papers/{doc_id}")
    assert deleted.status_code == (204 if flavour == "rest" else 200)
    assert events == [
        ("authorize", "delete", "two", None),
        ("before", "delete", doc_id, "two", "two"),
        ("after", "delete", doc_id, "two", "two"),
    ]
    assert rows(fr_globals, Doc) == []


async def test_before_action_commit_runs_inside_the_transaction(
    kind: str, serve: Any, fr_globals: fr.FRGlobals
) -> None:
    """An audit row the hook adds is committed with the write, or not at all."""

    def before(self: Any, action: str, new: Any, old: Any = None) -> None:
        was = old["title"] if old else None
        self.session.add(Audit(entry=f"{action} {new.id}: {was} -> {new.title} by {self.user}"))

    client = serve(make_view(kind, before_action_commit=before))
    doc_id = (await client.post("/papers", json={"title": "a"}, headers={"X-User": "bob"})).json()["id"]
    await client.patch(f"/papers/{doc_id}", json={"title": "b"})
    await client.delete(f"/papers/{doc_id}")
    assert [audit.entry for audit in rows(fr_globals, Audit)] == [
        f"create {doc_id}: None -> a by bob",
        f"update {doc_id}: a -> b by ann",
        f"delete {doc_id}: b -> b by ann",
    ]


@pytest.mark.parametrize("verb", ["create", "update", "delete"])
async def test_before_action_commit_raising_rolls_back_everything(
    kind: str, verb: str, serve: Any, fr_globals: fr.FRGlobals
) -> None:
    """The write and the rows the hook itself wrote are gone; the hook's HTTPException keeps
    its status."""

    async def async_before(self: Any, action: str, new: Any, old: Any = None) -> None:
        self.session.add(Audit(entry=f"{action} {new.id}"))
        await self.session.flush()  # written to the database inside the transaction...
        raise HTTPException(409, f"{action} refused by a business rule")  # ...then refused

    def sync_before(self: Any, action: str, new: Any, old: Any = None) -> None:
        self.session.add(Audit(entry=f"{action} {new.id}"))
        self.session.flush()
        raise HTTPException(409, f"{action} refused by a business rule")

    (doc_id,) = seed(fr_globals, "kept")
    before = async_before if kind == "async" else sync_before
    client = serve(make_view(kind, raw={"before_action_commit": before}))
    if verb == "create":
        answer = await client.post("/papers", json={"title": "new"})
    elif verb == "update":
        answer = await client.patch(f"/papers/{doc_id}", json={"title": "changed"})
    else:
        answer = await client.delete(f"/papers/{doc_id}")
    assert answer.status_code == 409
    assert answer.json() == {"detail": f"{verb} refused by a business rule"}
    assert [(doc.id, doc.title) for doc in rows(fr_globals, Doc)] == [(doc_id, "kept")]
    assert count(fr_globals, Audit) == 0


async def test_after_action_commit_failing_keeps_the_write_and_logs(
    kind: str, serve: Any, fr_globals: fr.FRGlobals, caplog: pytest.LogCaptureFixture
) -> None:
    """The client gets its success (it must not retry a write that happened); the traceback
    is on the ``restly`` logger; what the hook wrote before failing is not committed."""

    async def async_after(self: Any, action: str, new: Any, old: Any = None) -> None:
        self.session.add(Audit(entry="half-done side effect"))
        await self.session.flush()
        raise RuntimeError("the mail server is down")

    def sync_after(self: Any, action: str, new: Any, old: Any = None) -> None:
        self.session.add(Audit(entry="half-done side effect"))
        self.session.flush()
        raise RuntimeError("the mail server is down")

    after = async_after if kind == "async" else sync_after
    client = serve(make_view(kind, raw={"after_action_commit": after}))
    with caplog.at_level(logging.ERROR, logger="restly"):
        created = await client.post("/papers", json={"title": "durable"})
        assert created.status_code == 201
        changed = await client.patch(f"/papers/{created.json()['id']}", json={"title": "still"})
        assert changed.status_code == 200 and changed.json()["title"] == "still"
    assert [doc.title for doc in rows(fr_globals, Doc)] == ["still"]
    assert count(fr_globals, Audit) == 0
    failures = [record for record in caplog.records if record.name == "restly"]
    assert len(failures) == 2
    assert all(record.exc_info and "mail server is down" in str(record.exc_info[1]) for record in failures)
    assert "after_action_commit('create') failed" in failures[0].getMessage()


# -- authorize -------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["rest", "react-admin"])
async def test_authorize_refuses_before_anything_is_written(
    kind: str, flavour: str, serve: Any, fr_globals: fr.FRGlobals
) -> None:
    """Only Ann's documents are hers to change; others may read. The class-level ``user``
    dependency is readable in ``authorize``."""

    def authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        if action in (fr.Action.GET_MANY, fr.Action.GET_ONE):
            return
        if obj is not None and obj.owner != self.user:
            raise Forbidden("not yours")
        if data is not None and data.title == "forbidden":
            raise Forbidden()

    (anns,) = seed(fr_globals, "ann's")
    client = serve(make_view(kind, flavour, authorize=authorize))
    bob = {"X-User": "bob"}
    method = "PATCH" if flavour == "rest" else "PUT"
    refused = [
        await client.request(method, f"/papers/{anns}", json={"title": "bob's now"}, headers=bob),
        await client.delete(f"/papers/{anns}", headers=bob),
        await client.post("/papers", json={"title": "forbidden"}),
        await client.post(f"/papers/{anns}/publish", headers=bob),
    ]
    assert [answer.status_code for answer in refused] == [403, 403, 403, 403]
    assert refused[0].json()["detail"] == "not yours"
    assert [(doc.title, doc.published) for doc in rows(fr_globals, Doc)] == [("ann's", False)]
    allowed = await client.request(method, f"/papers/{anns}", json={"title": "ann's v2"})
    assert allowed.status_code == 200
    assert (await client.get(f"/papers/{anns}", headers=bob)).json()["title"] == "ann's v2"


async def test_authorize_may_hide_rows_and_refuse_lists(
    kind: str, serve: Any, fr_globals: fr.FRGlobals
) -> None:
    def authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        if self.user == "guest" and action == fr.Action.GET_MANY:
            raise Forbidden("guests cannot list")
        if obj is not None and obj.title == "secret":
            raise NotFound()  # answers like a missing row

    secret, public = seed(fr_globals, "secret", "public")
    client = serve(make_view(kind, authorize=authorize))
    missing = await client.get("/papers/999999")
    hidden = await client.get(f"/papers/{secret}")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json()) == (
        404,
        {"detail": "Not Found"},
    )
    assert (await client.patch(f"/papers/{secret}", json={"title": "x"})).status_code == 404
    assert (await client.delete(f"/papers/{secret}")).status_code == 404
    assert (await client.get(f"/papers/{public}")).json()["title"] == "public"
    listed = await client.get("/papers", headers={"X-User": "guest"})
    assert (listed.status_code, listed.json()) == (403, {"detail": "guests cannot list"})
    assert len((await client.get("/papers")).json()) == 2
    assert [doc.title for doc in rows(fr_globals, Doc)] == ["secret", "public"]


# -- write_action ----------------------------------------------------------------------


async def test_write_action_runs_a_custom_action_through_the_pipeline(
    kind: str, serve: Any, fr_globals: fr.FRGlobals
) -> None:
    events: list[tuple[Any, ...]] = []

    def authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        events.append(("authorize", action, obj.published))

    def before(self: Any, action: str, new: Any, old: Any = None) -> None:
        events.append(("before", action, old["published"], new.published))
        self.session.add(Audit(entry=f"{action} {new.id}"))

    def after(self: Any, action: str, new: Any, old: Any = None) -> None:
        events.append(("after", action, old["published"], new.published))

    (doc_id,) = seed(fr_globals, "draft")
    client = serve(
        make_view(kind, authorize=authorize, before_action_commit=before, after_action_commit=after)
    )
    answer = await client.post(f"/papers/{doc_id}/publish")
    assert answer.json() == {"id": doc_id, "published": True}
    assert events == [
        ("authorize", "publish", False),
        ("before", "publish", False, True),
        ("after", "publish", False, True),
    ]
    assert [doc.published for doc in rows(fr_globals, Doc)] == [True]
    assert [audit.entry for audit in rows(fr_globals, Audit)] == [f"publish {doc_id}"]


async def test_write_action_failing_inside_the_block_writes_nothing(
    kind: str, serve: Any, fr_globals: fr.FRGlobals
) -> None:
    events: list[str] = []

    def before(self: Any, action: str, new: Any, old: Any = None) -> None:
        events.append(action)

    (doc_id,) = seed(fr_globals, "draft")
    client = serve(make_view(kind, before_action_commit=before))
    answer = await client.post(f"/papers/{doc_id}/publish", params={"fail": "true"})
    assert (answer.status_code, answer.json()) == (418, {"detail": "no tea"})
    assert events == []  # the hooks run only for a block that completed
    assert [doc.published for doc in rows(fr_globals, Doc)] == [False]


# -- decided when the class is created -------------------------------------------------


def test_hooks_of_the_wrong_kind_or_signature_are_refused_at_class_creation() -> None:
    async def async_authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        pass

    def sync_after(self: Any, action: str, new: Any, old: Any = None) -> None:
        pass

    def short_before(self: Any, action: str) -> None:
        pass

    with pytest.raises(fr.RestlyConfigurationError) as sync_view:
        type("SyncDocs", (fr.RestView,), {"prefix": "/d", "model": Doc, "authorize": async_authorize})
    assert "SyncDocs.authorize must be a plain function on a sync view; got async def" in str(sync_view.value)
    with pytest.raises(fr.RestlyConfigurationError) as async_view:
        type("AsyncDocs", (fr.AsyncRestView,), {"prefix": "/d", "model": Doc, "after_action_commit": sync_after})
    assert "AsyncDocs.after_action_commit must be a coroutine on a async view" in str(async_view.value)
    assert "async def after_action_commit(self, action, new, old)" in str(async_view.value)
    with pytest.raises(fr.RestlyConfigurationError) as signature:
        type("Short", (fr.RestView,), {"prefix": "/d", "model": Doc, "before_action_commit": short_before})
    assert "Short.before_action_commit must accept (action, new, old)" in str(signature.value)


def test_a_view_without_hooks_runs_no_phase() -> None:
    """The choice is made once, per class: no hook overridden, no phase to run."""

    class Plain(fr.AsyncRestView):
        prefix = "/plain"
        model = Doc

    class Audited(fr.AsyncRestView):
        prefix = "/audited"
        model = Doc

        async def after_action_commit(self, action: str, new: Any, old: Any = None) -> None:
            pass

    plain, audited = Plain.__restly_compiled__.lifecycle, Audited.__restly_compiled__.lifecycle
    assert not (plain.authorize or plain.before_commit or plain.after_commit or plain.around_row)
    assert audited.after_commit and audited.snapshots and not audited.authorize


async def test_exclude_routes_takes_view_route_members(
    fr_globals: fr.FRGlobals, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    class ReadOnlyDocs(fr.AsyncRestView):
        prefix = "/papers"
        model = Doc
        exclude_routes = (fr.ViewRoute.CREATE, fr.ViewRoute.UPDATE, fr.ViewRoute.DELETE)

    app = FastAPI()
    fr.include_view(app, ReadOnlyDocs)
    methods = {method for route in app.routes for method in getattr(route, "methods", ())}
    assert methods & {"POST", "PATCH", "DELETE"} == set()
    assert "GET" in methods
    assert fr.ViewRoute.DELETE == "delete" and str(fr.ViewRoute.LIST) == "index"
    assert fr.Action.CREATE == "create" and fr.Action.GET_MANY == "get_many"
