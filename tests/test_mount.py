"""include_view / include_views: forms, idempotency, routers, bulk mounting."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from restly.exc import RestlyConfigurationError


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "mount_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(20))


def paths(app: FastAPI) -> list[str]:
    return sorted(app.openapi()["paths"])


def test_decorator_form_mounts_and_returns_the_class(fr_globals: fr.FRGlobals) -> None:
    app = FastAPI()

    @fr.include_view(app)
    class NoteView(fr.AsyncRestView):
        prefix = "/notes"
        model = Note

    assert NoteView.__name__ == "NoteView"
    assert paths(app) == ["/notes", "/notes/{id}"]


def test_include_view_with_several_views_and_idempotency(fr_globals: fr.FRGlobals) -> None:
    class Ping(fr.View):
        prefix = "/ping"

        @fr.get("")
        async def ping(self) -> str:
            return "pong"

    class NoteView(fr.RestView):
        prefix = "/notes"
        model = Note

    app = FastAPI()
    fr.include_view(app, Ping, NoteView)
    route_count = len(app.routes)
    fr.include_view(app, NoteView)
    fr.include_views(app)
    assert len(app.routes) == route_count
    assert paths(app) == ["/notes", "/notes/{id}", "/ping"]


def test_include_views_mounts_the_registry_in_order(fr_globals: fr.FRGlobals) -> None:
    other = fr.FRGlobals()
    views = [
        type(f"V{i}", (fr.AsyncRestView,), {"prefix": f"/n{i}", "model": Note}) for i in range(30)
    ]
    with fr.use_fr_globals(other):

        class Hidden(fr.View):
            prefix = "/hidden"

            @fr.get("")
            async def read(self) -> None: ...

    app = FastAPI()
    fr.include_views(app)
    mounted = [route.path for route in app.routes if route.path.startswith("/n")]  # type: ignore[attr-defined]
    assert list(dict.fromkeys(mounted))[:6] == ["/n0", "/n0/", "/n0/{id}", "/n1", "/n1/", "/n1/{id}"]
    assert "/hidden" not in paths(app)
    assert len(paths(app)) == 2 * len(views)
    second = FastAPI()
    fr.include_views(second, globals=other)
    assert paths(second) == ["/hidden"]


@pytest.mark.anyio
async def test_routers_are_accepted_like_apps(fr_globals: fr.FRGlobals) -> None:
    router = APIRouter(prefix="/api")

    @fr.include_view(router)
    class Ping(fr.View):
        prefix = "/ping"

        @fr.get("")
        async def ping(self) -> str:
            return "pong"

    app = FastAPI()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/api/ping")).json() == "pong"
        assert (await client.get("/api/ping/")).json() == "pong"


def test_mounting_after_openapi_was_generated_updates_it(fr_globals: fr.FRGlobals) -> None:
    app = FastAPI()
    assert paths(app) == []
    fr.include_view(app, type("NoteView", (fr.AsyncRestView,), {"prefix": "/notes", "model": Note}))
    assert paths(app) == ["/notes", "/notes/{id}"]


def test_abstract_views_and_other_objects_cannot_be_mounted(fr_globals: fr.FRGlobals) -> None:
    class Shared(fr.AsyncRestView):
        pass

    with pytest.raises(RestlyConfigurationError, match="'Shared' cannot be mounted"):
        fr.include_view(FastAPI(), Shared)
    with pytest.raises(TypeError, match="needs a FastAPI app or an APIRouter"):
        fr.include_view(object(), Shared)  # type: ignore[call-overload]


def test_default_tags_come_from_the_prefix_and_explicit_tags_win(fr_globals: fr.FRGlobals) -> None:
    app = FastAPI()
    fr.include_view(app, type("NoteView", (fr.AsyncRestView,), {"prefix": "/api/notes", "model": Note}))
    fr.include_view(
        app,
        type("Tagged", (fr.AsyncRestView,), {"prefix": "/tagged", "model": Note, "tags": ["mine"]}),
    )
    paths_ = app.openapi()["paths"]
    assert paths_["/api/notes"]["get"]["tags"] == ["notes"]
    assert paths_["/tagged/{id}"]["patch"]["tags"] == ["mine"]


class Problem(BaseModel):
    """A user's error body."""

    reason: str


def test_routes_share_one_response_field_per_error_model(fr_globals: fr.FRGlobals) -> None:
    app = FastAPI()
    fr.include_view(
        app,
        type("NoteView", (fr.AsyncRestView,), {"prefix": "/notes", "model": Note}),
        type(
            "Other",
            (fr.RestView,),
            {"prefix": "/other", "model": Note, "responses": {401: {"model": Problem}}},
        ),
    )
    routes = [route for route in app.routes if isinstance(route, APIRoute)]
    by_model: dict[type, set[int]] = {}
    for route in routes:
        for code, response in route.responses.items():
            model = response.get("model")
            if model is not None:
                # The documented model is kept, and its field is the one FastAPI reads.
                assert route.response_fields[code].field_info.annotation is model
                by_model.setdefault(model, set()).add(id(route.response_fields[code]))
    assert {model.__name__ for model in by_model} == {"ErrorDetail", "ValidationErrors", "Problem"}
    assert all(len(fields) == 1 for fields in by_model.values())
    document = app.openapi()
    errors = document["paths"]["/notes/{id}"]["patch"]["responses"]
    assert errors["404"] == {
        "description": "No object with this id",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}},
    }
    assert document["paths"]["/other"]["get"]["responses"]["401"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }


def test_responses_fastapi_titles_or_refuses_are_left_to_fastapi(fr_globals: fr.FRGlobals) -> None:
    """A model that is not a pydantic class gets its own field (FastAPI titles its schema
    after the route), and a model for a status without a body fails as in FastAPI."""

    class Listing(fr.View):
        prefix = "/listing"

        @fr.get("", responses={409: {"model": list[Problem]}, 401: {"model": Problem}})
        async def read(self) -> None: ...

    app = FastAPI()
    fr.include_view(app, Listing)
    conflict = app.openapi()["paths"]["/listing"]["get"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"] == {
        "items": {"$ref": "#/components/schemas/Problem"},
        "type": "array",
        "title": "Response 409 Listing Read",  # FastAPI titles it after the operation id
    }

    class Empty(fr.View):
        prefix = "/empty"

        @fr.get("", responses={204: {"model": Problem}})
        async def read(self) -> None: ...

    with pytest.raises(AssertionError, match="Status code 204 must not have a response body"):
        fr.include_view(FastAPI(), Empty)


# -- x-resource-ref names the path of the app whose document it is --------------------------


class Writer(Base):
    __tablename__ = "mount_writer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


class Essay(Base):
    __tablename__ = "mount_essay"
    id: Mapped[int] = mapped_column(primary_key=True)
    writer_id: Mapped[int] = mapped_column(ForeignKey("mount_writer.id"))
    writer: Mapped[Writer] = relationship()


class EssaySchema(fr.IDSchema):
    writer: fr.IDRef[Writer]


def reference_views(base: type, writers: str, globals: fr.FRGlobals) -> list[type]:  # noqa: A002
    writer_view = type(
        "WriterView", (base,), {"prefix": writers, "model": Writer}, globals=globals
    )
    essay_view = type(
        "EssayView",
        (base,),
        {"prefix": "/essays", "model": Essay, "schema": EssaySchema},
        globals=globals,
    )
    return [writer_view, essay_view]


async def writer_reference(client: httpx.AsyncClient) -> str | None:
    document = (await client.get("/openapi.json")).json()
    ref: str | None = document["components"]["schemas"]["EssaySchema"]["properties"]["writer"].get(
        "x-resource-ref"
    )
    return ref


@pytest.mark.anyio
@pytest.mark.parametrize("base", [fr.AsyncRestView, fr.RestView], ids=["async", "sync"])
async def test_two_apps_serving_one_model_each_document_their_own_path(
    base: type, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    first, second = FastAPI(), FastAPI()
    fr.include_view(first, *reference_views(base, "/first/writers", fr.FRGlobals()))
    fr.include_view(second, *reference_views(base, "/second/writers", fr.FRGlobals()))
    assert await writer_reference(client_for(second)) == "/second/writers"
    assert await writer_reference(client_for(first)) == "/first/writers"


@pytest.mark.anyio
@pytest.mark.parametrize("base", [fr.AsyncRestView, fr.RestView], ids=["async", "sync"])
async def test_references_name_the_full_path_through_included_routers(
    base: type, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    writer_view, essay_view = reference_views(base, "/writers", fr.FRGlobals())
    router = APIRouter(prefix="/api")
    fr.include_view(router, writer_view)
    app = FastAPI()
    fr.include_view(app, essay_view)
    app.include_router(router, prefix="/v1")
    client = client_for(app)
    assert (await client.get("/v1/api/writers")).status_code != 404
    assert await writer_reference(client) == "/v1/api/writers"


@pytest.mark.anyio
async def test_a_router_only_app_documents_the_routers_prefix(
    fr_globals: fr.FRGlobals, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    """An app restly never saw builds its document itself: the active globals' views say
    where each model is served."""
    router = APIRouter(prefix="/api")
    fr.include_view(router, *reference_views(fr.AsyncRestView, "/writers", fr_globals))
    app = FastAPI()
    app.include_router(router)
    assert await writer_reference(client_for(app)) == "/api/writers"


def test_mounting_stores_nothing_on_the_router_and_stays_idempotent(
    fr_globals: fr.FRGlobals,
) -> None:
    router = APIRouter()
    views = reference_views(fr.AsyncRestView, "/writers", fr_globals)
    fr.include_view(router, *views)
    before = dict(router.__dict__)
    count = len(router.routes)
    fr.include_view(router, *views)
    fr.include_views(router)
    assert len(router.routes) == count
    assert router.__dict__.keys() == before.keys()
    assert not any(key.startswith("_restly") for key in router.__dict__)
