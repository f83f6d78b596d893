"""``fr.serve_docs_offline``: Swagger UI and ReDoc render from the app's own assets, with no
request leaving for a CDN (docs/configuration.md, "API docs without internet")."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import restly as fr
from restly.exc import RestlyConfigurationError
from tests.test_docs_examples import fr_globals, load, serve  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


async def assets_of(client: Any, page: str) -> list[str]:
    response = await client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return ASSET.findall(response.text)


async def test_offline_docs(load: Any, fr_globals: fr.FRGlobals) -> None:  # noqa: F811
    example = load("offline_docs")
    async with serve(example.app, fr_globals) as client:
        for page, expected in (("/docs", 3), ("/redoc", 2)):
            urls = await assets_of(client, page)
            assert len(urls) == expected, urls  # script(s), stylesheet, favicon
            for url in urls:
                assert url.startswith("/docs-assets/"), url  # nothing from a CDN
                asset = await client.get(url)
                assert asset.status_code == 200 and len(asset.content) > 1000, url
        swagger = (await client.get("/docs")).text
        assert "url: '/openapi.json'" in swagger and "Library - Swagger UI" in swagger
        assert "fonts.googleapis.com" not in (await client.get("/redoc")).text
        assert (await client.get("/openapi.json")).status_code == 200


async def test_pages_follow_the_root_path_and_stay_off_when_turned_off(
    fr_globals: fr.FRGlobals,  # noqa: F811
) -> None:
    app = FastAPI(redoc_url=None)
    fr.serve_docs_offline(app, assets_url="/static/docs")
    transport = httpx.ASGITransport(app=app, root_path="/api")  # behind a proxy at /api
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        urls = await assets_of(client, "/docs")
        assert all(url.startswith("/api/static/docs/") for url in urls), urls
        assert "url: '/api/openapi.json'" in (await client.get("/docs")).text
        assert (await client.get("/redoc")).status_code == 404
        for url in urls:  # as the browser asks for them
            assert (await client.get(url)).status_code == 200, url


def test_a_bad_assets_url_or_a_missing_package_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(RestlyConfigurationError, match="'/docs-assets'"):
        fr.serve_docs_offline(FastAPI(), assets_url="docs/")
    monkeypatch.setattr("restly._docs_ui._ASSETS_PACKAGE", "not_a_package_restly_knows")
    with pytest.raises(RestlyConfigurationError, match=r'pip install "restly\[offline-docs\]"'):
        fr.serve_docs_offline(FastAPI())
