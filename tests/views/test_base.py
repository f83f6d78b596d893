"""fr.View: route decorators, class-level dependencies, inheritance, ordering, threadpool."""

from __future__ import annotations

import asyncio
import threading
import typing
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, Request

import restly as fr

pytestmark = pytest.mark.anyio


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def current_user(x_user: Annotated[str, Header()] = "anonymous") -> str:
    return x_user


async def test_decorators_answer_with_their_default_statuses(fr_globals: fr.FRGlobals) -> None:
    class Things(fr.View):
        prefix = "/things"

        @fr.get("")
        async def read(self) -> list[int]:
            return [1]

        @fr.post("")
        async def create(self) -> dict[str, bool]:
            return {"created": True}

        @fr.put("/{n}")
        async def replace(self, n: int) -> int:
            return n

        @fr.patch("/{n}")
        def change(self, n: int) -> int:
            return n * 2

        @fr.delete("/{n}")
        async def remove(self, n: int) -> None:
            return None

        @fr.route("/{n}/twice", methods=["GET", "POST"], status_code=202)
        async def twice(self, n: int) -> int:
            return 2 * n

    app = FastAPI()
    fr.include_view(app, Things)
    async with client_for(app) as client:
        assert ((r := await client.get("/things")).status_code, r.json()) == (200, [1])
        assert (await client.post("/things")).status_code == 201
        assert (await client.put("/things/3")).json() == 3
        assert (await client.patch("/things/3")).json() == 6
        removed = await client.delete("/things/3")
        assert (removed.status_code, removed.content) == (204, b"")
        assert ((r := await client.post("/things/4/twice")).status_code, r.json()) == (202, 8)
        assert (await client.get("/things/x/twice")).status_code == 422


async def test_class_level_dependencies_are_read_from_self(fr_globals: fr.FRGlobals) -> None:
    class Me(fr.View):
        prefix = "/me"
        user: Annotated[str, Depends(current_user)]
        request: Request  # a plain annotation: not a dependency, never set

        @fr.get("")
        async def who(self) -> dict[str, Any]:
            return {"user": self.user, "has_request": hasattr(self, "request")}

        @fr.get("/sync")
        def who_sync(self) -> str:
            return self.user

    app = FastAPI()
    fr.include_view(app, Me)
    async with client_for(app) as client:
        response = await client.get("/me", headers={"x-user": "ann"})
        assert response.json() == {"user": "ann", "has_request": False}
        assert (await client.get("/me/sync")).json() == "anonymous"


async def test_a_base_dependency_named_before_it_exists_reaches_later_subclasses(
    fr_globals: fr.FRGlobals, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This module uses postponed annotations: "UserLater" is looked up when a view is
    # created. AppView is created (and compiled) before that name exists.
    class AppView(fr.View):
        prefix = "/app"
        user: UserLater

        @fr.get("/ping")
        async def ping(self) -> bool:
            return True

    monkeypatch.setitem(globals(), "UserLater", Annotated[str, Depends(current_user)])

    class Me(AppView):
        prefix = "/me"

        @fr.get("")
        async def who(self) -> str:
            return self.user

    app = FastAPI()
    fr.include_view(app, Me)
    async with client_for(app) as client:
        assert (await client.get("/me", headers={"x-user": "ann"})).json() == "ann"


def test_the_annotations_of_restly_view_classes_resolve_at_run_time() -> None:
    # Class creation resolves every class of a view's MRO, and reuses the result only for
    # classes whose annotations all resolve: restly's own must, or each view pays again.
    bases = (fr.View, fr.RestView, fr.AsyncRestView, fr.ReactAdminView, fr.AsyncReactAdminView)
    for base in bases:
        for klass in base.__mro__:
            if klass.__module__.startswith("restly."):
                typing.get_type_hints(klass)  # NameError for a name only type checkers see


async def test_subclasses_inherit_override_and_remove_routes(fr_globals: fr.FRGlobals) -> None:
    class Base(fr.View):
        __abstract__ = True  # has routes of its own: concrete unless marked abstract
        user: Annotated[str, Depends(current_user)]

        @fr.get("/hello")
        async def hello(self) -> str:
            return f"hello {self.user}"

        @fr.get("/bye")
        async def bye(self) -> str:
            return "bye"

    class English(Base):
        prefix = "/en"

    class Dutch(Base):
        prefix = "/nl"

        async def hello(self) -> str:  # no decorator: keeps GET /hello
            return f"hallo {self.user}"

        bye = None  # removes the route

    app = FastAPI()
    fr.include_view(app, English, Dutch)
    async with client_for(app) as client:
        assert (await client.get("/en/hello", headers={"x-user": "ann"})).json() == "hello ann"
        assert (await client.get("/nl/hello", headers={"x-user": "ann"})).json() == "hallo ann"
        assert (await client.get("/en/bye")).json() == "bye"
        assert (await client.get("/nl/bye")).status_code == 404
    assert list(fr_globals.registry) == [English, Dutch]


async def test_static_paths_win_over_parameters_whatever_the_declaration_order(
    fr_globals: fr.FRGlobals,
) -> None:
    class Items(fr.View):
        prefix = "/items"

        @fr.get("/{item_id}")
        async def one(self, item_id: int) -> int:
            return item_id

        @fr.get("/stats")
        async def stats(self) -> str:
            return "stats"

    app = FastAPI()
    fr.include_view(app, Items)
    async with client_for(app) as client:
        assert (await client.get("/items/stats")).json() == "stats"
        assert (await client.get("/items/7")).json() == 7


async def test_view_options_reach_every_route(fr_globals: fr.FRGlobals) -> None:
    calls: list[str] = []

    async def audit() -> None:
        calls.append("audit")

    class Audited(fr.View):
        prefix = "/audited"
        tags = ["audit"]
        dependencies = [Depends(audit)]
        responses = {403: {"description": "Forbidden"}}

        @fr.get("", summary="Audited read")
        async def read(self) -> str:
            return "ok"

    app = FastAPI()
    fr.include_view(app, Audited)
    async with client_for(app) as client:
        assert (await client.get("/audited")).json() == "ok"
    assert calls == ["audit"]
    operation = app.openapi()["paths"]["/audited"]["get"]
    assert operation["tags"] == ["audit"]
    assert operation["summary"] == "Audited read"
    assert "403" in operation["responses"]


async def test_sync_routes_run_off_the_event_loop(fr_globals: fr.FRGlobals) -> None:
    """A sync handler waits for an async handler: on the loop, this would deadlock."""
    released = threading.Event()

    class Blocking(fr.View):
        prefix = "/blocking"

        @fr.get("/wait")
        def wait(self) -> bool:
            return released.wait(timeout=10)

        @fr.get("/release")
        async def release(self) -> bool:
            released.set()
            return True

    app = FastAPI()
    fr.include_view(app, Blocking)
    async with client_for(app) as client:
        waiting = asyncio.ensure_future(client.get("/blocking/wait"))
        await asyncio.sleep(0.05)
        assert (await client.get("/blocking/release")).json() is True
        assert (await waiting).json() is True


def test_route_paths_must_be_relative(fr_globals: fr.FRGlobals) -> None:
    with pytest.raises(fr.RestlyConfigurationError) as caught:

        class Health(fr.View):
            prefix = "/health"

            @fr.get("x")
            async def status(self) -> str:
                return "ok"

    assert str(caught.value) == (
        "Health is misconfigured (1 problem):\n"
        "  - Health.status: route paths must be '' or start with '/'; got 'x'. Use \"/x\"."
    )


async def test_a_route_with_several_methods_has_one_operation_per_method(
    fr_globals: fr.FRGlobals,
) -> None:
    class Echo(fr.View):
        prefix = "/echo"

        @fr.route("", methods=["GET", "POST"])
        async def echo(self) -> str:
            return "echo"

    app = FastAPI()
    fr.include_view(app, Echo)
    operations = app.openapi()["paths"]["/echo"]
    assert operations["get"]["operationId"] != operations["post"]["operationId"]
    async with client_for(app) as client:
        assert (await client.get("/echo")).json() == (await client.post("/echo/")).json() == "echo"
