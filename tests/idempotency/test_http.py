"""`Idempotency-Key` over HTTP (draft-ietf-httpapi-idempotency-key-header; the checklist of
`http_semantics.md` §2), for REST and react-admin views, sync and async, on SQLite,
PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update

import restly as fr

from .models import Base, count_items, make_view, stored_keys

__all__ = ["Base"]

pytestmark = pytest.mark.anyio

Serve = Callable[..., httpx.AsyncClient]
KEY = '"8e03978e-40d5-43e8-bc93-6894a57f9324"'


@pytest.fixture(params=["async", "sync", "async-ra", "sync-ra"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def keyed(key: str = KEY, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


# -- 3, 4: the first request runs once; a repeat replays its answer --------------------


async def test_a_repeat_replays_the_first_answer_and_runs_nothing(
    serve: Serve, flavour: str, fr_globals: fr.FRGlobals
) -> None:
    calls: list[str] = []
    client = serve(make_view(flavour, calls))
    first = await client.post("/items", json={"name": "a"}, headers=keyed())
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    hooks_after_first = list(calls)
    assert hooks_after_first == ["authorize:create", "before:create", "after:create"]
    for _ in range(3):
        again = await client.post("/items", json={"name": "a"}, headers=keyed())
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["content-type"] == "application/json"
    assert calls == hooks_after_first  # no hook ran for a replay
    assert count_items(fr_globals) == 1
    [stored] = stored_keys(fr_globals)
    assert (stored.status, stored.body) == (201, first.text)
    assert KEY.strip('"') not in stored.lookup  # stored hashed with its scope


async def test_a_patch_is_replayed_and_not_applied_twice(
    serve: Serve, flavour: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(flavour))
    item = (await client.post("/items", json={"name": "a", "count": 1})).json()
    path = f"/items/{item['id']}"
    first = await client.patch(path, json={"count": 2}, headers=keyed())
    assert first.status_code == 200 and first.json()["count"] == 2
    # Meanwhile another client changes the row: a replay answers what the first request did.
    assert (await client.patch(path, json={"count": 7})).status_code == 200
    again = await client.patch(path, json={"count": 2}, headers=keyed())
    assert again.status_code == 200 and again.json()["count"] == 2
    assert again.headers["idempotent-replayed"] == "true"
    assert (await client.get(path)).json()["count"] == 7


async def test_without_the_header_nothing_is_stored(
    serve: Serve, flavour: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(flavour))
    assert (await client.post("/items", json={"name": "a"})).status_code == 201
    assert (await client.post("/items", json={"name": "b"})).status_code == 201
    assert stored_keys(fr_globals) == []


# -- 1: the header's format -------------------------------------------------------------


@pytest.mark.parametrize("sent", ['"abc"', "abc", "8e03978e-40d5-43e8", '"a b\\"c\\\\"', "x" * 255])
async def test_quoted_strings_and_bare_tokens_are_keys(serve: Serve, sent: str) -> None:
    client = serve(make_view("async"))
    first = await client.post("/items", json={"name": "a"}, headers=keyed(sent))
    again = await client.post("/items", json={"name": "a"}, headers=keyed(sent))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_quoted_key_and_the_same_bare_token_are_one_key(serve: Serve) -> None:
    client = serve(make_view("async"))
    assert (await client.post("/items", json={"name": "a"}, headers=keyed('"k-1"'))).status_code == 201
    again = await client.post("/items", json={"name": "a"}, headers=keyed("k-1"))
    assert again.headers["idempotent-replayed"] == "true"


MALFORMED = {
    "empty": "",
    "empty quoted": '""',
    "256 characters": "x" * 256,
    "256 characters quoted": '"' + "x" * 256 + '"',
    "10 KB": "k" * 10_240,
    "control character": "a\tb",
    "unclosed quote": '"abc',
    "text after the quote": '"abc";x=1',
    "bad escape": '"a\\nb"',
    "space in a token": "a b",
    "comma in a token": "a,b",
}


@pytest.mark.parametrize("sent", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_a_malformed_key_is_400_and_writes_nothing(
    serve: Serve, flavour: str, sent: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(flavour))
    response = await client.post("/items", json={"name": "a"}, headers=keyed(sent))
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("Idempotency-Key ")
    assert count_items(fr_globals) == 0 and stored_keys(fr_globals) == []


@pytest.mark.parametrize("raw", [b"a\x00b", b"caf\xc3\xa9", b"a\x7fb"], ids=["NUL", "UTF-8", "DEL"])
async def test_raw_bytes_outside_visible_ascii_are_400(serve: Serve, raw: bytes) -> None:
    client = serve(make_view("async"))
    response = await client.post(
        "/items", json={"name": "a"}, headers=[(b"idempotency-key", raw)]
    )
    assert response.status_code == 400, response.text


async def test_two_headers_are_400(serve: Serve, fr_globals: fr.FRGlobals) -> None:
    client = serve(make_view("sync"))
    response = await client.post(
        "/items", json={"name": "a"}, headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    )
    assert response.status_code == 400
    assert "once" in response.json()["detail"]
    assert count_items(fr_globals) == 0


async def test_a_malformed_key_is_400_even_with_an_invalid_body(serve: Serve) -> None:
    client = serve(make_view("async"))
    response = await client.post("/items", json={"name": 5}, headers=keyed(""))
    assert response.status_code == 400


# -- 5, 11: the same key for another request -----------------------------------------------


async def test_reordered_keys_and_whitespace_are_the_same_body(serve: Serve, flavour: str) -> None:
    client = serve(make_view(flavour))
    first = await client.post(
        "/items", content=b'{"name": "a", "count": 3}', headers=keyed(**{"content-type": "application/json"})
    )
    assert first.status_code == 201
    again = await client.post(
        "/items", content=b'{ "count":3,\n"name":"a" }', headers=keyed(**{"content-type": "application/json"})
    )
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"


async def test_the_same_key_with_another_body_method_or_route_is_422(
    serve: Serve, flavour: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(flavour))
    first = (await client.post("/items", json={"name": "a"}, headers=keyed())).json()
    other = (await client.post("/items", json={"name": "b"})).json()
    attempts = [
        client.post("/items", json={"name": "z"}, headers=keyed()),  # another body
        client.patch(f"/items/{first['id']}", json={"name": "a"}, headers=keyed()),  # method
    ]
    patched = await client.patch(f"/items/{first['id']}", json={"count": 1}, headers=keyed('"p"'))
    assert patched.status_code == 200
    attempts.append(client.patch(f"/items/{other['id']}", json={"count": 1}, headers=keyed('"p"')))  # route
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["header", "Idempotency-Key"]
        assert "Idempotency-Key was already used for another request" in error["msg"]
    assert count_items(fr_globals) == 2
    assert (await client.get(f"/items/{other['id']}")).json()["count"] == 0


# -- 2: which methods honour the header ---------------------------------------------------


async def test_get_put_and_delete_ignore_the_header(serve: Serve, fr_globals: fr.FRGlobals) -> None:
    client = serve(make_view("async-ra"))
    item = (await client.post("/items", json={"name": "a"})).json()
    path = f"/items/{item['id']}"
    for _ in range(2):
        got = await client.get(path, headers=keyed())
        assert got.status_code == 200 and "idempotent-replayed" not in got.headers
    for count in (1, 2):  # PUT is idempotent by itself: both run
        put = await client.put(path, json={"name": "a", "count": count}, headers=keyed('"put"'))
        assert put.status_code == 200 and put.json()["count"] == count
        assert "idempotent-replayed" not in put.headers
    assert (await client.delete(path, headers=keyed('"del"'))).status_code == 200
    assert (await client.delete(path, headers=keyed('"del"'))).status_code == 404
    assert stored_keys(fr_globals) == []


async def test_a_view_with_idempotency_off_ignores_the_header(
    serve: Serve, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view("async", idempotency=False))
    for _ in range(2):
        response = await client.post("/items", json={"name": "a"}, headers=keyed(""))
        assert "idempotent-replayed" not in response.headers
    assert count_items(fr_globals) == 1  # the second one is a unique violation: 409
    assert stored_keys(fr_globals) == []


# -- 7: required ------------------------------------------------------------------------------


async def test_a_view_may_require_the_header(
    serve: Serve, flavour: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(flavour, idempotency="required"))
    missing = await client.post("/items", json={"name": "a"})
    assert missing.status_code == 400
    assert missing.json()["detail"] == "This route requires an Idempotency-Key header"
    assert count_items(fr_globals) == 0
    created = await client.post("/items", json={"name": "a"}, headers=keyed())
    assert created.status_code == 201
    assert (await client.patch(f"/items/{created.json()['id']}", json={"count": 1})).status_code == 400
    assert (await client.get("/items")).status_code == 200  # reads need no key


# -- 8: scopes --------------------------------------------------------------------------------


async def test_keys_are_scoped_per_caller(serve: Serve, flavour: str, fr_globals: fr.FRGlobals) -> None:
    client = serve(make_view(flavour))
    ann = await client.post("/items", json={"name": "a"}, headers=keyed(**{"X-User": "ann"}))
    bob = await client.post("/items", json={"name": "b"}, headers=keyed(**{"X-User": "bob"}))
    assert (ann.status_code, bob.status_code) == (201, 201)
    assert "idempotent-replayed" not in bob.headers  # bob's key is not ann's
    again = await client.post("/items", json={"name": "b"}, headers=keyed(**{"X-User": "bob"}))
    assert again.content == bob.content and again.headers["idempotent-replayed"] == "true"
    assert count_items(fr_globals) == 2


# -- 9: expiry and purging ----------------------------------------------------------------------


def expire_all(fr_globals: fr.FRGlobals) -> None:
    table = fr.idempotency.idempotency_keys
    with fr_globals.get_sessionmaker()() as session:
        session.execute(update(table).values(expires_at=table.c.expires_at - 86_400 - 1))
        session.commit()


async def test_after_its_lifetime_a_key_runs_anew(serve: Serve, flavour: str, fr_globals: fr.FRGlobals) -> None:
    client = serve(make_view(flavour))
    first = await client.post("/items", json={"name": "a"}, headers=keyed())
    [stored] = stored_keys(fr_globals)
    assert stored.expires_at - stored.created_at == 86_400  # 24 hours by default
    expire_all(fr_globals)
    again = await client.post("/items", json={"name": "b"}, headers=keyed())
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert count_items(fr_globals) == 2


async def test_the_lifetime_is_configurable(serve: Serve, fr_globals: fr.FRGlobals) -> None:
    from datetime import timedelta

    fr.configure(idempotency_ttl=timedelta(minutes=5))
    client = serve(make_view("sync"))
    await client.post("/items", json={"name": "a"}, headers=keyed())
    [stored] = stored_keys(fr_globals)
    assert stored.expires_at - stored.created_at == 300


@pytest.mark.parametrize("ttl", [0, -1, 0.5, "1h", True, None])
def test_a_bad_lifetime_is_a_configuration_error(fr_globals: fr.FRGlobals, ttl: Any) -> None:
    with pytest.raises(fr.RestlyConfigurationError, match=r"configure\(idempotency_ttl=\.\.\.\)"):
        fr.configure(idempotency_ttl=ttl)


async def test_expired_keys_are_purged(serve: Serve, fr_globals: fr.FRGlobals) -> None:
    client = serve(make_view("async"))
    await client.post("/items", json={"name": "a"}, headers=keyed('"old"'))
    expire_all(fr_globals)
    await client.post("/items", json={"name": "b"}, headers=keyed('"new"'))
    async with fr.async_session() as session:
        assert await fr.idempotency.async_purge_expired(session) == 1
    with fr.session() as sync_session:
        assert fr.idempotency.purge_expired(sync_session) == 0
    [kept] = stored_keys(fr_globals)
    assert kept.status == 201
    replay = await client.post("/items", json={"name": "b"}, headers=keyed('"new"'))
    assert replay.headers["idempotent-replayed"] == "true"


# -- 10: only committed answers are stored ------------------------------------------------------


async def test_failed_requests_are_not_stored_so_a_retry_runs(
    serve: Serve, flavour: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(flavour))
    assert (await client.post("/items", json={"name": "taken"})).status_code == 201
    invalid = await client.post("/items", json={"name": 5}, headers=keyed())
    assert invalid.status_code == 422
    conflict = await client.post("/items", json={"name": "taken"}, headers=keyed('"k2"'))
    assert conflict.status_code == 409  # a unique violation, rolled back
    assert stored_keys(fr_globals) == []
    retried = await client.post("/items", json={"name": "free"}, headers=keyed())
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    assert count_items(fr_globals) == 2


async def test_a_hook_refusing_the_write_leaves_the_key_free(
    serve: Serve, kind: str, fr_globals: fr.FRGlobals
) -> None:
    refuse = {"on": True}

    def check(self: Any, action: str, new: Any, old: Any = None) -> None:
        if refuse["on"]:
            raise fr.exc.Forbidden("not now")

    async def async_check(self: Any, action: str, new: Any, old: Any = None) -> None:
        check(self, action, new, old)

    hook = async_check if kind == "async" else check
    client = serve(make_view(kind, before_action_commit=hook))
    assert (await client.post("/items", json={"name": "a"}, headers=keyed())).status_code == 403
    refuse["on"] = False
    retried = await client.post("/items", json={"name": "a"}, headers=keyed())
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- configuration --------------------------------------------------------------------------


def test_a_bad_idempotency_option_is_a_configuration_error(fr_globals: fr.FRGlobals) -> None:
    with pytest.raises(fr.RestlyConfigurationError) as raised:
        make_view("async", idempotency="always")
    assert "IdemAsyncView" in str(raised.value)
    assert ".idempotency must be True, False or \"required\"; got 'always'" in str(raised.value)


def test_an_async_idempotency_scope_is_a_configuration_error(fr_globals: fr.FRGlobals) -> None:
    async def idempotency_scope(self: Any) -> str:
        return "x"

    with pytest.raises(fr.RestlyConfigurationError, match=r"idempotency_scope must be a plain method"):
        make_view("async", idempotency_scope=idempotency_scope)


# -- 13: OpenAPI ------------------------------------------------------------------------------


def openapi_of(*views: type) -> dict[str, Any]:
    from fastapi import FastAPI

    app = FastAPI()
    fr.include_view(app, *views)
    return app.openapi()


def test_openapi_documents_the_header_on_post_and_patch(fr_globals: fr.FRGlobals) -> None:
    document = openapi_of(make_view("async-ra"))
    for path, method in (("/items", "post"), ("/items/{id}", "patch")):
        operation = document["paths"][path][method]
        [header] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and header["required"] is False
        assert "RFC 8941" in header["description"] and "24 hours" in header["description"]
        assert header["schema"]["type"] == "string"
        assert "still being processed" in operation["responses"]["409"]["description"]
        assert "Retry-After" in operation["responses"]["409"]["headers"]
        assert "used for another request" in operation["responses"]["422"]["description"]
        assert "Malformed Idempotency-Key" in operation["responses"]["400"]["description"]
    for path, method in (("/items/{id}", "put"), ("/items/{id}", "delete"), ("/items", "get")):
        parameters = document["paths"][path][method].get("parameters", [])
        assert all(p["name"] != "Idempotency-Key" for p in parameters)


def test_openapi_marks_a_required_header_and_leaves_it_out_when_off(fr_globals: fr.FRGlobals) -> None:
    fr.configure(idempotency_ttl=1800)
    required = openapi_of(make_view("sync", idempotency="required"))["paths"]["/items"]["post"]
    [header] = [p for p in required["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["required"] is True and "30 minutes" in header["description"]
    assert "or none sent" in required["responses"]["400"]["description"]
    off = openapi_of(make_view("sync", idempotency=False))["paths"]["/items"]["post"]
    assert all(p["name"] != "Idempotency-Key" for p in off["parameters"])  # X-User stays
    assert "400" not in off["responses"]


# -- the table must exist -----------------------------------------------------------------------


async def test_a_missing_table_is_a_500_that_says_how_to_create_it(
    serve: Serve, fr_globals: fr.FRGlobals, caplog: pytest.LogCaptureFixture
) -> None:
    client = serve(make_view("async"))
    fr.idempotency_metadata.drop_all(fr_globals.get_engine())
    response = await client.post("/items", json={"name": "a"}, headers=keyed())
    assert response.status_code == 500
    assert "restly_idempotency_keys" not in response.text
    assert "fr.idempotency_metadata" in caplog.text
    assert count_items(fr_globals) == 0
    assert (await client.post("/items", json={"name": "a"})).status_code == 201  # no key: fine


async def test_create_all_creates_restly_s_table(fr_globals: fr.FRGlobals, tmp_path: Any) -> None:
    from sqlalchemy import inspect

    fr.configure(
        database_url=f"sqlite:///{tmp_path}/c.db", async_database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db"
    )
    await fr.db.async_create_all(Base)
    assert "restly_idempotency_keys" in inspect(fr_globals.get_engine()).get_table_names()
    await fr_globals.dispose()
