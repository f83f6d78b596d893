"""``201 Created`` carries ``Location`` (RFC 9110 §10.2.2, §15.3.2) and writes honour
``Prefer: return=minimal|representation`` (RFC 7240 §4.2, §3), over HTTP, for REST and
react-admin views, sync and async, with and without ETags, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Card(Base):
    __tablename__ = "loc_card"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))


class Tagged(Base):
    __tablename__ = "loc_tagged"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(50))


BASES = {
    ("async", "rest"): fr.AsyncRestView,
    ("sync", "rest"): fr.RestView,
    ("async", "react-admin"): fr.AsyncReactAdminView,
    ("sync", "react-admin"): fr.ReactAdminView,
}


@pytest.fixture(params=list(BASES), ids=lambda key: "-".join(key))
def base(request: pytest.FixtureRequest) -> type:
    return BASES[request.param]


@pytest.fixture(params=[False, True], ids=["plain", "etag"])
def etag(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def app_client(
    database: Any, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> Callable[[FastAPI], httpx.AsyncClient]:
    return client_for


def card_view(base: type, etag: bool, prefix: str = "/cards") -> type:
    return type("CardView", (base,), {"prefix": prefix, "model": Card, "etag": etag})


async def test_201_carries_the_location_of_the_new_item(
    app_client: Any, base: type, etag: bool
) -> None:
    app = FastAPI()
    fr.include_view(app, card_view(base, etag))
    client = app_client(app)
    for url in ("/cards", "/cards/"):
        answer = await client.post(url, json={"title": "a"})
        assert answer.status_code == 201
        location = answer.headers["Location"]
        assert location == f"/cards/{answer.json()['id']}"
        assert (await client.get(location)).json() == answer.json()


async def test_location_respects_router_prefixes_and_the_root_path(
    app_client: Any, base: type
) -> None:
    """Under a router prefix, a mounted sub-app, and the root path a proxy strips or keeps."""
    inner = FastAPI()
    router = APIRouter(prefix="/v1")
    fr.include_view(router, card_view(base, False))
    inner.include_router(router)
    outer = FastAPI()
    outer.mount("/api", inner)
    client = app_client(outer)
    answer = await client.post("/api/v1/cards", json={"title": "a"})
    assert answer.headers["Location"] == f"/api/v1/cards/{answer.json()['id']}"
    assert (await client.get(answer.headers["Location"])).status_code == 200

    proxied = FastAPI()
    fr.include_view(proxied, card_view(base, False))
    for path in ("/cards", "/edge/cards"):  # the proxy stripped /edge, or kept it
        transport = httpx.ASGITransport(app=proxied, root_path="/edge")
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as edge:
            answer = await edge.post(path, json={"title": "b"})
            assert answer.headers["Location"] == f"/edge/cards/{answer.json()['id']}", path


async def test_location_percent_encodes_the_id(app_client: Any, base: type) -> None:
    app = FastAPI()
    view = type("TaggedView", (base,), {"prefix": "/tagged", "model": Tagged})
    fr.include_view(app, view)
    client = app_client(app)
    answer = await client.post("/tagged", json={"id": "a b/c?", "title": "x"})
    assert answer.headers["Location"] == "/tagged/a%20b%2Fc%3F"


async def test_prefer_return_minimal_answers_without_a_body(
    app_client: Any, base: type, etag: bool
) -> None:
    app = FastAPI()
    fr.include_view(app, card_view(base, etag))
    client = app_client(app)
    minimal = {"Prefer": "return=minimal"}
    created = await client.post("/cards", json={"title": "a"}, headers=minimal)
    assert (created.status_code, created.content) == (201, b"")
    assert created.headers["Preference-Applied"] == "return=minimal"
    location = created.headers["Location"]
    assert (await client.get(location)).json()["title"] == "a"
    assert ("ETag" in created.headers) is etag
    update = client.put if base.__name__.endswith("ReactAdminView") else client.patch
    updated = await update(location, json={"title": "b"}, headers=minimal)
    assert (updated.status_code, updated.content) == (204, b"")
    assert updated.headers["Preference-Applied"] == "return=minimal"
    if etag:
        assert updated.headers["ETag"] == (await client.get(location)).headers["ETag"]
    assert (await client.get(location)).json()["title"] == "b"


async def test_prefer_return_representation_and_unknown_preferences(
    app_client: Any, base: type
) -> None:
    app = FastAPI()
    fr.include_view(app, card_view(base, False))
    client = app_client(app)
    full = await client.post("/cards", json={"title": "a"}, headers={"Prefer": "return=representation"})
    assert full.status_code == 201 and full.json()["title"] == "a"
    assert full.headers["Preference-Applied"] == "return=representation"
    for prefer in ("return=weird", "respond-async, wait=5", ";;==,,", 'return="minimal', "return"):
        answer = await client.post("/cards", json={"title": "b"}, headers={"Prefer": prefer})
        assert answer.status_code == 201 and answer.json()["title"] == "b", prefer
        assert "Preference-Applied" not in answer.headers, prefer
    first = httpx.Headers([("Prefer", "handling=lenient"), ("Prefer", "RETURN = minimal; x=1")])
    answer = await client.post("/cards", json={"title": "c"}, headers=first)
    assert (answer.status_code, answer.content) == (201, b"")
