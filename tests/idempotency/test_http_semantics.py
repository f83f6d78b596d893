"""`Idempotency-Key` with the rest of the write's HTTP semantics: ETags and `If-Match`,
`Prefer: return=`, `Location`, problem details and OpenAPI, sync and async, REST and
react-admin views, on SQLite, PostgreSQL and MariaDB.

A replay is the first answer exactly: its status (201, 200, or 204 for a minimal update),
its body and every header (`ETag`, `Location`, `Preference-Applied`, `Content-Type`), plus
`Idempotent-Replayed: true`. It is decided before the preconditions (`http_semantics.md` §2
line 12): the `If-Match` that held for the first request is stale for its retry, which
still gets the first answer, never 412.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

import restly as fr

from .models import Base, Item, Versioned, count_items, make_view, stored_keys

__all__ = ["Base"]

pytestmark = pytest.mark.anyio

Serve = Callable[..., httpx.AsyncClient]
KEY = {"Idempotency-Key": '"5f0c-retry-me"'}
SECONDS = 60


@pytest.fixture(params=["async", "sync", "async-ra", "sync-ra"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["version", "digest"])
def tags(request: pytest.FixtureRequest) -> dict[str, Any]:
    """How the view's ETags are made: the model's version counter, or a digest of the JSON
    answer (`etag = True`)."""
    return {"model": Versioned} if request.param == "version" else {"etag": True}


def without_replay_flag(response: httpx.Response) -> dict[str, str]:
    headers = dict(response.headers)
    assert headers.pop("idempotent-replayed") == "true"
    return headers


def assert_replays(replay: httpx.Response, first: httpx.Response) -> None:
    """`replay` is `first` again: status, body, every header, and the replay flag."""
    assert "idempotent-replayed" not in first.headers
    assert replay.status_code == first.status_code, replay.text
    assert replay.content == first.content
    assert without_replay_flag(replay) == dict(first.headers)


# -- ETags and If-Match ------------------------------------------------------------------------


async def test_a_retried_conditional_patch_is_replayed_not_412(
    serve: Serve, flavour: str, tags: dict[str, Any], fr_globals: fr.FRGlobals
) -> None:
    calls: list[str] = []
    client = serve(make_view(flavour, calls, **tags))
    created = await client.post("/items", json={"name": "a"})
    path = f"/items/{created.json()['id']}"
    read = await client.get(path)
    tag = read.headers["etag"]
    first = await client.patch(path, json={"count": 2}, headers={**KEY, "If-Match": tag})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != tag
    # The retry carries the tag that held for the first request: stale now, yet replayed.
    again = await client.patch(path, json={"count": 2}, headers={**KEY, "If-Match": tag})
    assert_replays(again, first)
    assert calls.count("after:update") == 1
    assert (await client.get(path)).headers["etag"] == first.headers["etag"]
    # Without the key the same request is a stale write: the tag really is stale.
    stale = await client.patch(path, json={"count": 2}, headers={"If-Match": tag})
    assert stale.status_code == 412, stale.text


async def test_a_key_reused_with_a_stale_tag_is_422_not_412(
    serve: Serve, tags: dict[str, Any], fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view("async", **tags))
    path = f"/items/{(await client.post('/items', json={'name': 'a'})).json()['id']}"
    tag = (await client.get(path)).headers["etag"]
    assert (await client.patch(path, json={"count": 2}, headers={**KEY, "If-Match": tag})).status_code == 200
    reused = await client.patch(path, json={"count": 3}, headers={**KEY, "If-Match": tag})
    assert reused.status_code == 422, reused.text
    assert (await client.get(path)).json()["count"] == 2


async def test_a_required_if_match_does_not_hide_a_replay(
    serve: Serve, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view("sync", model=Versioned, require_if_match=True))
    path = f"/items/{(await client.post('/items', json={'name': 'a'})).json()['id']}"
    tag = (await client.get(path)).headers["etag"]
    first = await client.patch(path, json={"count": 1}, headers={**KEY, "If-Match": tag})
    assert first.status_code == 200, first.text
    assert_replays(await client.patch(path, json={"count": 1}, headers=KEY), first)
    assert (await client.patch(path, json={"count": 1})).status_code == 428


async def test_a_created_object_s_etag_and_location_are_replayed(
    serve: Serve, flavour: str, tags: dict[str, Any], fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(flavour, **tags))
    first = await client.post("/items", json={"name": "a"}, headers=KEY)
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"/items/{first.json()['id']}"
    assert first.headers["etag"].startswith('"')
    # The object changes after it was created: the replay still answers the creation.
    path = first.headers["location"]
    assert (await client.patch(path, json={"count": 9})).status_code == 200
    assert_replays(await client.post("/items", json={"name": "a"}, headers=KEY), first)
    assert count_items(fr_globals, tags.get("model", Item)) == 1


# -- Prefer: return=minimal ----------------------------------------------------------------------


async def test_a_minimal_create_is_replayed_as_201_without_a_body(
    serve: Serve, flavour: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(flavour, etag=True))
    headers = {**KEY, "Prefer": "return=minimal"}
    first = await client.post("/items", json={"name": "a"}, headers=headers)
    assert (first.status_code, first.content) == (201, b"")
    assert first.headers["preference-applied"] == "return=minimal"
    assert first.headers["location"].startswith("/items/")
    assert "etag" in first.headers
    replay = await client.post("/items", json={"name": "a"}, headers=headers)
    assert_replays(replay, first)
    [stored] = stored_keys(fr_globals)
    assert (stored.status, stored.body) == (201, None)


async def test_a_minimal_update_is_replayed_as_204(
    serve: Serve, flavour: str, tags: dict[str, Any], fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(flavour, **tags))
    path = f"/items/{(await client.post('/items', json={'name': 'a'})).json()['id']}"
    headers = {**KEY, "Prefer": "return=minimal"}
    first = await client.patch(path, json={"count": 4}, headers=headers)
    assert (first.status_code, first.content) == (204, b"")
    assert first.headers["preference-applied"] == "return=minimal"
    assert "etag" in first.headers and "content-type" not in first.headers
    assert_replays(await client.patch(path, json={"count": 4}, headers=headers), first)


async def test_a_retry_with_another_preference_gets_the_first_answer(
    serve: Serve, fr_globals: fr.FRGlobals
) -> None:
    """The key names one request; what it answered is what its retries get, whichever
    representation they prefer (`Prefer` is not part of the request's fingerprint)."""
    client = serve(make_view("async"))
    first = await client.post(
        "/items", json={"name": "a"}, headers={**KEY, "Prefer": "return=minimal"}
    )
    assert first.status_code == 201 and first.content == b""
    for prefer in ("return=representation", None):
        headers = {**KEY, **({"Prefer": prefer} if prefer else {})}
        assert_replays(await client.post("/items", json={"name": "a"}, headers=headers), first)
    assert count_items(fr_globals) == 1


async def test_a_representation_is_replayed_with_its_preference_applied(
    serve: Serve, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view("sync"))
    headers = {**KEY, "Prefer": "return=representation"}
    first = await client.post("/items", json={"name": "a"}, headers=headers)
    assert first.status_code == 201 and first.json()["name"] == "a"
    assert first.headers["preference-applied"] == "return=representation"
    assert_replays(await client.post("/items", json={"name": "a"}, headers=headers), first)


# -- problem details -----------------------------------------------------------------------------


@pytest.fixture
def serve_problems(
    keyed: Any, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> Callable[..., httpx.AsyncClient]:
    def serve_views(*views: type) -> httpx.AsyncClient:
        app = FastAPI()
        fr.configure(app, problem_details=True)
        fr.include_view(app, *views)
        return client_for(app)

    return serve_views


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


PROBLEM = "application/problem+json"


async def test_a_reused_key_is_a_422_problem_of_its_own_type(
    serve_problems: Serve, kind: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve_problems(make_view(kind))
    assert (await client.post("/items", json={"name": "a"}, headers=KEY)).status_code == 201
    reused = await client.post("/items", json={"name": "b"}, headers=KEY)
    assert reused.status_code == 422
    assert reused.headers["content-type"] == PROBLEM
    body = reused.json()
    assert body["type"] == "/problems/idempotency-key-reuse"
    assert body["title"] == "Idempotency Key Reused"
    assert body["status"] == 422
    assert body["detail"].startswith("Idempotency-Key: This Idempotency-Key was already used")
    [error] = body["errors"]
    assert error["header"] == "Idempotency-Key" and error["code"] == "idempotency_key_reused"
    assert "pointer" not in error and "input" not in error
    assert count_items(fr_globals) == 1


async def test_a_malformed_or_missing_key_is_a_400_problem(
    serve_problems: Serve, kind: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve_problems(make_view(kind, idempotency="required"))
    for headers in ({"Idempotency-Key": '"unclosed'}, {}):
        response = await client.post("/items", json={"name": "a"}, headers=headers)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert (body["type"], body["status"]) == ("about:blank", 400)
        assert "Idempotency-Key" in body["detail"]
    assert count_items(fr_globals) == 0


async def test_a_duplicate_in_flight_is_a_409_problem_with_retry_after(
    serve_problems: Serve, kind: str, keyed: Any, fr_globals: fr.FRGlobals
) -> None:
    if keyed.dialect == "sqlite":
        fr.configure(connect_timeout=0.5)  # how long the duplicate waits for the write lock
    started, release = threading.Event(), threading.Event()

    def hold(self: Any, action: str, new: Any, old: Any = None) -> None:
        started.set()
        assert release.wait(SECONDS)

    async def async_hold(self: Any, action: str, new: Any, old: Any = None) -> None:
        started.set()
        await anyio.to_thread.run_sync(release.wait, SECONDS)

    view = make_view(kind, before_action_commit=async_hold if kind == "async" else hold)
    client = serve_problems(view)
    with anyio.fail_after(SECONDS):
        first = asyncio.ensure_future(client.post("/items", json={"name": "a"}, headers=KEY))
        try:
            await anyio.to_thread.run_sync(started.wait, SECONDS)
            duplicate = await client.post("/items", json={"name": "a"}, headers=KEY)
        finally:
            release.set()
        answer = await first
    assert answer.status_code == 201, answer.text
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.headers["content-type"] == PROBLEM
    assert duplicate.headers["retry-after"] == "1"
    body = duplicate.json()
    assert body["type"] == "/problems/idempotency-key-in-flight"
    assert body["title"] == "Idempotency Key In Use"
    assert "still being processed" in body["detail"]
    assert count_items(fr_globals) == 1


async def test_without_problem_details_the_errors_keep_their_json_shapes(
    serve: Serve, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view("async"))
    assert (await client.post("/items", json={"name": "a"}, headers=KEY)).status_code == 201
    reused = await client.post("/items", json={"name": "b"}, headers=KEY)
    assert reused.headers["content-type"] == "application/json"
    [error] = reused.json()["detail"]
    assert error["type"] == "idempotency_key_reused"
    assert error["loc"] == ["header", "Idempotency-Key"]


def test_the_exceptions_are_restly_s_and_fastapi_s() -> None:
    from fastapi.exceptions import RequestValidationError

    assert issubclass(fr.exc.IdempotencyKeyInFlight, fr.exc.Conflict)
    assert issubclass(fr.exc.IdempotencyKeyReused, RequestValidationError)
    assert issubclass(fr.exc.IdempotencyKeyReused, fr.RestlyError)
    raised = fr.exc.IdempotencyKeyInFlight(retry_after=3)
    assert (raised.status_code, raised.headers) == (409, {"Retry-After": "3"})


# -- OpenAPI -------------------------------------------------------------------------------------


def openapi_of(*views: type, problems: bool = False) -> dict[str, Any]:
    app = FastAPI()
    if problems:
        fr.configure(app, problem_details=True)
    fr.include_view(app, *views)
    return app.openapi()


def test_openapi_adds_the_key_s_errors_to_a_write_s_others(fr_globals: fr.FRGlobals) -> None:
    document = openapi_of(make_view("async", etag=True))
    post = document["paths"]["/items"]["post"]["responses"]
    assert post["409"]["description"] == (
        "A database constraint was violated; or a request with this Idempotency-Key is "
        "still being processed (retry after Retry-After seconds)"
    )
    assert post["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorDetail")
    assert set(post["201"]["headers"]) >= {"Location", "ETag", "Preference-Applied", "Idempotent-Replayed"}
    patch = document["paths"]["/items/{id}"]["patch"]["responses"]
    assert patch["400"]["description"] == (
        "A malformed If-Match / If-None-Match; or malformed Idempotency-Key"
    )
    assert "Idempotent-Replayed" in patch["204"]["headers"]
    assert "Retry-After" in patch["409"]["headers"]
    for responses in (post, patch):
        assert responses["422"]["description"] == (
            "Invalid request, or this Idempotency-Key was used for another request"
        )
        schema = responses["422"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/HTTPValidationError")  # FastAPI's own, kept
    delete = document["paths"]["/items/{id}"]["delete"]["responses"]
    assert "Idempotency-Key" not in delete["409"]["description"]


def test_openapi_with_problem_details_documents_the_key_s_errors_as_problems(
    fr_globals: fr.FRGlobals,
) -> None:
    document = openapi_of(make_view("sync-ra", idempotency="required"), problems=True)
    for path, method in (("/items", "post"), ("/items/{id}", "patch")):
        responses = document["paths"][path][method]["responses"]
        assert "or none sent" in responses["400"]["description"]
        for status, schema in (("400", "Problem"), ("409", "Problem"), ("422", "ValidationProblem")):
            content = responses[status]["content"]
            assert list(content) == [PROBLEM], (path, method, status)
            assert content[PROBLEM]["schema"]["$ref"] == f"#/components/schemas/{schema}"
        assert "used for another request" in responses["422"]["description"]
    assert "ErrorDetail" not in document["components"]["schemas"]
