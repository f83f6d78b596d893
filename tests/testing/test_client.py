"""``RestlyTestClient`` and ``AsyncRestlyTestClient``: status checks per method."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fastapi import FastAPI, Response

from restly.testing import AsyncRestlyTestClient, RestlyTestClient

METHODS = ("get", "post", "put", "patch", "delete")
DEFAULTS = {"get": 200, "post": 201, "put": 200, "patch": 200, "delete": 204}


def status_app() -> FastAPI:
    """Every method on ``/status/{code}`` answers ``code`` with a small JSON body (no body
    for 204)."""
    app = FastAPI()

    def answer(code: int) -> Response:
        if code == 204:
            return Response(status_code=204)
        return Response(f'{{"answered": {code}}}', status_code=code, media_type="application/json")

    app.add_api_route("/status/{code}", answer, methods=[m.upper() for m in METHODS])
    return app


@pytest.fixture
def client() -> RestlyTestClient:
    return RestlyTestClient(status_app())


@pytest.fixture
async def async_client() -> AsyncIterator[AsyncRestlyTestClient]:
    async with AsyncRestlyTestClient(status_app()) as opened:
        yield opened


def call(client: RestlyTestClient, method: str) -> Callable[..., Any]:
    return getattr(client, method)  # type: ignore[no-any-return]


# -- sync ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_expected_status_passes(client: RestlyTestClient, method: str) -> None:
    response = call(client, method)(f"/status/{DEFAULTS[method]}")
    assert response.status_code == DEFAULTS[method]


@pytest.mark.parametrize("method", METHODS)
def test_other_status_fails_with_method_url_statuses_and_body(
    client: RestlyTestClient, method: str
) -> None:
    with pytest.raises(AssertionError) as raised:
        call(client, method)("/status/409")
    assert str(raised.value) == (
        f"{method.upper()} http://testserver/status/409 returned 409, expected "
        f'{DEFAULTS[method]}. Response body:\n{{"answered": 409}}'
    )


def test_empty_body_is_named(client: RestlyTestClient) -> None:
    with pytest.raises(AssertionError, match="returned 204, expected 200. Response body:\n<empty>$"):
        client.get("/status/204")


def test_long_body_is_cut(client: RestlyTestClient) -> None:
    app = FastAPI()
    app.add_api_route("/long", lambda: Response("x" * 5000, status_code=500))
    with pytest.raises(AssertionError) as raised:
        RestlyTestClient(app).get("/long")
    assert str(raised.value).endswith("x" * 2000 + "... (5000 characters)")


@pytest.mark.parametrize("method", METHODS)
def test_assert_status_code_expects_another_status(client: RestlyTestClient, method: str) -> None:
    assert call(client, method)("/status/404", assert_status_code=404).status_code == 404
    with pytest.raises(AssertionError, match=r"returned 201, expected 404\."):
        call(client, method)("/status/201", assert_status_code=404)


@pytest.mark.parametrize("method", METHODS)
def test_assert_status_code_none_skips_the_check(client: RestlyTestClient, method: str) -> None:
    assert call(client, method)("/status/500", assert_status_code=None).status_code == 500


def test_other_arguments_reach_the_request(client: RestlyTestClient) -> None:
    app = FastAPI()

    @app.post("/echo", status_code=201)
    def echo(body: dict[str, int], q: int) -> dict[str, int]:
        return {**body, "q": q}

    answered = RestlyTestClient(app).post("/echo", json={"a": 1}, params={"q": 2})
    assert answered.json() == {"a": 1, "q": 2}


def test_request_and_head_are_not_checked(client: RestlyTestClient) -> None:
    assert client.request("GET", "/status/500").status_code == 500
    assert client.head("/status/500").status_code == 405


# -- async -----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("method", METHODS)
async def test_async_expected_status_passes(
    async_client: AsyncRestlyTestClient, method: str
) -> None:
    response = await getattr(async_client, method)(f"/status/{DEFAULTS[method]}")
    assert response.status_code == DEFAULTS[method]


@pytest.mark.anyio
@pytest.mark.parametrize("method", METHODS)
async def test_async_other_status_fails_with_method_url_statuses_and_body(
    async_client: AsyncRestlyTestClient, method: str
) -> None:
    with pytest.raises(AssertionError) as raised:
        await getattr(async_client, method)("/status/409")
    assert str(raised.value) == (
        f"{method.upper()} http://testserver/status/409 returned 409, expected "
        f'{DEFAULTS[method]}. Response body:\n{{"answered": 409}}'
    )


@pytest.mark.anyio
@pytest.mark.parametrize("method", METHODS)
async def test_async_assert_status_code_overrides_and_skips(
    async_client: AsyncRestlyTestClient, method: str
) -> None:
    send = getattr(async_client, method)
    assert (await send("/status/404", assert_status_code=404)).status_code == 404
    assert (await send("/status/500", assert_status_code=None)).status_code == 500
    with pytest.raises(AssertionError, match=r"returned 201, expected 404\."):
        await send("/status/201", assert_status_code=404)


@pytest.mark.anyio
async def test_async_client_raises_app_exceptions() -> None:
    app = FastAPI()

    @app.get("/boom")
    def boom() -> None:
        raise ValueError("boom")

    async with AsyncRestlyTestClient(app) as opened:
        with pytest.raises(ValueError, match="boom"):
            await opened.get("/boom")
    async with AsyncRestlyTestClient(app, raise_app_exceptions=False) as opened:
        assert (await opened.get("/boom", assert_status_code=500)).status_code == 500
