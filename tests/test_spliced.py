"""restly._spliced: generated list parameters join the OpenAPI document after FastAPI built it.

The document must be exactly the one FastAPI builds when it gets the parameters through
the routes' ``openapi_extra`` (same keys, same order, no ``null``), for apps and for routers
included into them, and each document must own its objects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import enum
import json
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest
import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Header
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
import restly.mount
from restly._spliced import PendingResponses


class Base(DeclarativeBase):
    pass


class Shelf(enum.Enum):
    top = "top"
    bottom = "bottom"


class Writer(Base):
    __tablename__ = "spliced_writer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))


class Volume(Base):
    __tablename__ = "spliced_volume"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(80))
    price: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(8, 2))
    shelf: Mapped[Shelf]
    printed_on: Mapped[dt.date | None]
    weight: Mapped[float | None]
    writer_id: Mapped[int] = mapped_column(sa.ForeignKey("spliced_writer.id"))
    writer: Mapped[Writer] = relationship()


class WriterSchema(fr.IDSchema):
    name: str


class VolumeSchema(fr.IDSchema):
    title: str
    price: decimal.Decimal
    shelf: Shelf
    printed_on: dt.date | None = None
    weight: float | None = None
    writer: fr.IDRef[Writer]


def tenant(x_tenant: str | None = Header(None)) -> str | None:
    """A parameter of FastAPI's own on every route: the generated ones come after it."""
    return x_tenant


def build_app(sync: bool) -> FastAPI:
    """Views with every kind of generated list parameter, on the app and on a router."""
    base: Any = fr.RestView if sync else fr.AsyncRestView
    app = FastAPI(dependencies=[Depends(tenant)])

    class WriterView(base):  # type: ignore[misc, valid-type]
        prefix = "/writers"
        model = Writer
        schema = WriterSchema

    class VolumeView(base):  # type: ignore[misc, valid-type]
        prefix = "/volumes"
        model = Volume
        schema = VolumeSchema
        include_pagination_metadata = True
        sparse_fields = True
        expandable = ("writer",)

    class PlainVolumeView(base):  # type: ignore[misc, valid-type]
        prefix = "/plain-volumes"
        model = Volume
        extra_query_params: ClassVar[dict[str, Any]] = {"q": str}

    router = APIRouter()
    fr.include_view(router, PlainVolumeView)

    class RoutedWriterView(base):  # type: ignore[misc, valid-type]
        prefix = "/routed-writers"
        model = Writer

    fr.include_view(app, WriterView, VolumeView)
    fr.include_view(router, RoutedWriterView)
    app.include_router(router, prefix="/api")
    return app


@contextlib.contextmanager
def _nothing_kept_aside(routes: Any) -> Iterator[list[Any]]:
    yield []


@contextlib.contextmanager
def _no_response_kept_aside(routes: Any) -> Iterator[PendingResponses]:
    yield PendingResponses()


def as_fastapi_builds_it(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> str:
    """The document when FastAPI gets every parameter through `openapi_extra`, and every
    response through the routes' `responses`."""
    with monkeypatch.context() as patch:
        patch.setattr(restly.mount, "spliced_parameters", _nothing_kept_aside)
        patch.setattr(restly.mount, "spliced_responses", _no_response_kept_aside)
        app.openapi_schema = None
        document = json.dumps(app.openapi())
    app.openapi_schema = None
    return document


@pytest.mark.anyio
@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_the_document_is_the_one_fastapi_builds(
    fr_globals: fr.FRGlobals, monkeypatch: pytest.MonkeyPatch, sync: bool
) -> None:
    app = build_app(sync)
    expected = as_fastapi_builds_it(app, monkeypatch)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    assert json.dumps(answer.json()) == expected  # key order included
    listed = answer.json()["paths"]["/volumes"]["get"]["parameters"]
    names = [parameter["name"] for parameter in listed]
    assert {"page", "order_by", "title", "fields", "expand", "Prefer"} <= set(names)
    assert names[0] == "x-tenant"
    assert len(names) == len(set(names))  # added once, not once more by FastAPI
    routed = answer.json()["paths"]["/api/routed-writers"]["get"]["parameters"]
    assert [p["name"] for p in routed].count("page") == 1


def test_each_operation_and_each_build_owns_its_parameters(fr_globals: fr.FRGlobals) -> None:
    app = build_app(sync=False)
    document = app.openapi()
    first = document["paths"]["/volumes"]["get"]["parameters"]
    assert first[1]["name"] == "page"
    first[1]["name"] = "changed"
    first[1]["schema"]["type"] = "changed"
    other = document["paths"]["/api/plain-volumes"]["get"]["parameters"]
    assert [p["schema"].get("type") for p in other if p["name"] == "page"] == ["integer"]
    app.openapi_schema = None
    rebuilt = app.openapi()["paths"]["/volumes"]["get"]["parameters"]
    assert rebuilt[1]["name"] == "page"
    assert rebuilt[1]["schema"]["type"] == "integer"


def test_a_routes_own_openapi_extra_still_goes_through_fastapi(fr_globals: fr.FRGlobals) -> None:
    app = FastAPI()

    @fr.include_view(app)
    class StatsView(fr.View):
        prefix = "/stats"

        @fr.get(
            "",
            openapi_extra={"parameters": [{"name": "day", "in": "query", "schema": None}]},
        )
        async def stats(self) -> dict[str, int]:
            return {}

    parameters = app.openapi()["paths"]["/stats"]["get"]["parameters"]
    assert parameters == [{"name": "day", "in": "query"}]  # FastAPI dropped the null


def test_each_operation_owns_its_error_responses(fr_globals: fr.FRGlobals) -> None:
    app = build_app(sync=False)
    document = app.openapi()
    writers = document["paths"]["/writers/{id}"]["get"]["responses"]
    volumes = document["paths"]["/volumes/{id}"]["get"]["responses"]
    assert writers["404"] == volumes["404"]  # the same answer, documented on both
    writers["404"]["description"] = "changed"
    volumes["404"]["content"]["application/json"]["schema"]["$ref"] = "changed"
    deleted = document["paths"]["/volumes/{id}"]["delete"]["responses"]["404"]
    assert deleted["description"] != "changed"
    assert deleted["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorDetail")


@pytest.mark.parametrize("problem_details", [False, True])
def test_views_sharing_a_path_are_documented_as_fastapi_does(
    fr_globals: fr.FRGlobals, monkeypatch: pytest.MonkeyPatch, problem_details: bool
) -> None:
    """Two views on one prefix: FastAPI documents the later route of each operation; the
    responses of both are FastAPI's own, with problem details too; and other views' kept
    responses (with ETags, sync) are put back as FastAPI writes them."""
    app = FastAPI()

    class FirstView(fr.AsyncRestView):
        prefix = "/shared"
        model = Writer

    class SecondView(fr.AsyncRestView):
        prefix = "/shared"
        model = Writer
        exclude_routes = ("delete",)

    class OtherView(fr.AsyncRestView):  # with ETags: responses of its own, and header parameters
        prefix = "/other"
        model = Writer
        etag = True

    class PlainView(fr.RestView):
        prefix = "/plain"
        model = Writer

    fr.include_view(app, FirstView, SecondView, OtherView, PlainView)
    if problem_details:
        fr.configure(app, problem_details=True)
    expected = as_fastapi_builds_it(app, monkeypatch)
    assert json.dumps(app.openapi()) == expected
    assert "404" in app.openapi()["paths"]["/other/{id}"]["delete"]["responses"]
