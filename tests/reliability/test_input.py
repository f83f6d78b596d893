"""Bad input never reaches the database nor yields a 5xx: every route, sync and async, every
backend. Each case answers a 4xx with a standard-JSON body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

import restly as fr

from .conftest import strict_json
from .models import Base, make_app, thing, view_base

__all__ = ["Base"]  # the ``database`` fixture creates the tables of this module's Base

pytestmark = pytest.mark.anyio


class Strict(BaseModel):
    value: int


@pytest.fixture
def client(database: Any, kind: str, client_for: Any) -> Any:
    return client_for(make_app(kind))


@pytest.fixture
def things(kind: str) -> str:
    return f"/{kind}/things"


async def assert_refused(response: Any, status: int = 422) -> Any:
    assert response.status_code == status, response.text
    return strict_json(response)


async def assert_refused_on_create_and_update(client: Any, things: str, raw: bytes) -> None:
    """``raw`` is refused with 422 as a creation body and as an update body."""
    headers = {"content-type": "application/json"}
    await assert_refused(await client.post(things, content=raw, headers=headers))
    created = (await client.post(things, json=thing())).json()
    await assert_refused(await client.patch(f"{things}/{created['id']}", content=raw, headers=headers))


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [("count", -(2**31), 2**31 - 1), ("big", -(2**63), 2**63 - 1), ("small", -(2**15), 2**15 - 1)],
)
async def test_integers_outside_the_column_range_answer_422(
    client: Any, things: str, field: str, low: int, high: int
) -> None:
    for value in (low - 1, high + 1, 10**30):
        body = await assert_refused(await client.post(things, json=thing(**{field: value})))
        assert body["detail"][0]["loc"] == ["body", field]
    for value in (low, high):
        created = await client.post(things, json=thing(**{field: value}))
        assert created.status_code == 201, created.text
        assert created.json()[field] == value
        read = await client.get(f"{things}/{created.json()['id']}")
        assert read.json()[field] == value
    created_id = created.json()["id"]
    refused = await client.patch(f"{things}/{created_id}", json={field: high + 1})
    await assert_refused(refused)


async def test_path_ids_outside_the_column_range_answer_422(client: Any, things: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        for value in (2**31, -(2**31) - 1, 2**64, 10**40):
            response = await client.request(method, f"{things}/{value}", json={})
            body = await assert_refused(response)
            assert body["detail"][0]["loc"] == ["path", "id"]
        assert (await client.request(method, f"{things}/{2**31 - 1}", json={})).status_code == 404


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"])
@pytest.mark.parametrize("field", ["ratio", "price", "count", "data"])
async def test_non_finite_numbers_answer_422_with_a_valid_json_body(
    client: Any, things: str, field: str, token: bytes
) -> None:
    raw = b'{"count": 1, "label": "x", "%s": %s}' % (field.encode(), token)
    if field == "count":
        raw = b'{"count": %s, "label": "x"}' % token
    headers = {"content-type": "application/json"}
    body = await assert_refused(await client.post(things, content=raw, headers=headers))
    assert body["detail"][0]["type"] == "json_invalid"
    created = (await client.post(things, json=thing())).json()
    await assert_refused(await client.patch(f"{things}/{created['id']}", content=raw, headers=headers))
    assert (await client.get(f"{things}/{created['id']}")).json() == created


async def test_validation_answers_never_echo_non_finite_numbers(fr_globals: Any) -> None:
    """Routes restly does not harden still answer a 422 that is valid JSON."""
    app = FastAPI()
    fr.configure(app=app)

    @app.post("/plain")
    async def plain(payload: Strict) -> int:
        return payload.value

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for raw, echoed in ((b'{"value": NaN}', "nan"), (b'{"value": "\\ud800"}', "\\ud800")):
            response = await client.post(
                "/plain", content=raw, headers={"content-type": "application/json"}
            )
            assert response.status_code == 422
            assert strict_json(response)["detail"][0]["input"] == echoed


async def test_strings_longer_than_the_column_answer_422_and_openapi_says_so(
    client: Any, things: str, kind: str
) -> None:
    body = await assert_refused(await client.post(things, json=thing(label="é" * 21)))
    assert body["detail"][0]["type"] == "string_too_long"
    created = await client.post(things, json=thing(label="é" * 20))
    assert created.status_code == 201 and created.json()["label"] == "é" * 20
    schemas = make_app(kind).openapi()["components"]["schemas"]
    label = schemas["ThingCreate"]["properties"]["label"]
    assert label["maxLength"] == 20
    assert "maxLength" not in str(schemas["ThingCreate"]["properties"]["notes"])


@pytest.mark.parametrize(
    "raw",
    [
        rb'{"count": 1, "label": "\ud800"}',
        rb'{"count": 1, "label": "a\udfffb"}',
        rb'{"count": 1, "label": "x", "notes": "\uDBFF"}',
        rb'{"count": 1, "label": "x", "data": {"\ud800": 1}}',
        rb'{"count": 1, "label": "x", "data": ["\udc00"]}',
        rb'{"count": 1, "label": "a\u0000b"}',
        rb'{"count": 1, "label": "x", "notes": "\u0000"}',
        rb'{"count": 1, "label": "x", "data": {"k\u0000": "v"}}',
        b'{"count": 1, "label": "\xff\xfe"}',
        b'{"count": 1, "label": "\xed\xa0\x80"}',
    ],
    ids=lambda raw: raw.decode("latin-1"),
)
async def test_lone_surrogates_nul_and_invalid_utf8_in_bodies_answer_422(
    client: Any, things: str, raw: bytes
) -> None:
    await assert_refused_on_create_and_update(client, things, raw)
    assert len((await client.get(things)).json()) == 1


async def test_valid_surrogate_pairs_and_unicode_are_stored(client: Any, things: str) -> None:
    raw = rb'{"count": 1, "label": "\ud83d\ude00 \u00e9", "data": {"k": "\ud83d\ude00"}}'
    created = await client.post(things, content=raw, headers={"content-type": "application/json"})
    assert created.status_code == 201, created.text
    assert created.json()["label"] == "\U0001f600 é"
    read = (await client.get(f"{things}/{created.json()['id']}")).json()
    assert read["data"] == {"k": "\U0001f600"}


@pytest.mark.parametrize(
    "url",
    [
        "/{kind}/owners?name=a%00b",
        "/{kind}/owners?name=%ff",
        "/{kind}/owners?name=%ed%a0%80",
        "/{kind}/owners/1%00",
        "/{kind}/owners/%ff",
    ],
)
async def test_nul_and_invalid_utf8_in_urls_answer_422(client: Any, kind: str, url: str) -> None:
    body = await assert_refused(await client.get(url.format(kind=kind)))
    assert body["detail"][0]["loc"][0] in ("query", "path")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"count": 1, "label": ',
        b"{'count': 1}",
        b"[" * 10_000 + b"]" * 10_000,
        b'{"count": 1, "label": "x", "data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"count": 1, "label": "x", "data": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}",
        b"1" * 5_000,
        b'"text"',
        b"[]",
        b"5",
        b"null",
        b"true",
    ],
    ids=lambda raw: raw[:24].decode(),
)
async def test_malformed_deep_and_non_object_json_answer_422(
    client: Any, things: str, raw: bytes
) -> None:
    await assert_refused_on_create_and_update(client, things, raw)


async def test_nesting_up_to_the_limit_is_stored(
    client: Any, things: str, database: Any
) -> None:
    from restly._limits import MAX_JSON_DEPTH

    for depth, fits_everywhere in ((30, True), (MAX_JSON_DEPTH - 1, False)):
        deep: Any = 1
        for _ in range(depth):
            deep = [deep]
        created = await client.post(things, json=thing(data=deep))
        if fits_everywhere or database.dialect != "mariadb":
            assert created.status_code == 201, created.text[:200]
            assert created.json()["data"] == deep
        else:  # MariaDB's JSON_VALID check refuses more than 32 levels
            assert created.status_code == 409, created.text[:200]
            assert strict_json(created)["detail"].startswith("Check constraint violated")
    brackets_in_strings = thing(notes='\\"' + "[" * 300, data=["{" * 300, '\\"]]'])
    created = await client.post(things, json=brackets_in_strings)
    assert created.status_code == 201, created.text[:200]
    assert created.json()["notes"] == brackets_in_strings["notes"]


async def test_bodies_over_the_limit_answer_413_with_json(
    database: Any, kind: str, client_for: Any
) -> None:
    fr.configure(max_body_size=2_000)
    client = client_for(make_app(kind))
    things = f"/{kind}/things"
    big = thing(notes="x" * 3_000)
    response = await client.post(things, json=big)
    body = await assert_refused(response, 413)
    assert body == {"detail": "Content Too Large"}

    async def stream() -> Any:  # no Content-Length: the limit counts the bytes received
        for _ in range(10):
            yield b"x" * 500

    streamed = await client.post(things, content=stream(), headers={"content-type": "application/json"})
    await assert_refused(streamed, 413)
    created = await client.post(things, json=thing(notes="x" * 100))
    assert created.status_code == 201
    await assert_refused(await client.patch(f"{things}/{created.json()['id']}", json=big), 413)
    assert len((await client.get(things)).json()) == 1


async def test_the_default_body_limit_is_one_mebibyte(
    database: Any, kind: str, client_for: Any
) -> None:
    client = client_for(make_app(kind))
    things = f"/{kind}/things"
    await assert_refused(await client.post(things, json=thing(notes="x" * (1024 * 1024))), 413)
    fitting = await client.post(things, json=thing(data="x" * 1000))
    assert fitting.status_code == 201


def test_configure_checks_the_limits(fr_globals: Any) -> None:
    with pytest.raises(fr.RestlyConfigurationError, match="max_body_size"):
        fr.configure(max_body_size=-1)
    with pytest.raises(fr.RestlyConfigurationError, match="connect_timeout"):
        fr.configure(connect_timeout=0)
    fr.configure(max_body_size=None, connect_timeout=None, statement_timeout=2.5)
    assert fr_globals.max_body_size is None and fr_globals.statement_timeout == 2.5


async def test_unknown_fields_answer_422_naming_them(client: Any, things: str) -> None:
    body = await assert_refused(await client.post(things, json=thing(lable="typo")))
    assert body["detail"][0]["type"] == "extra_forbidden"
    assert body["detail"][0]["loc"] == ["body", "lable"]
    created = (await client.post(things, json=thing())).json()
    await assert_refused(await client.patch(f"{things}/{created['id']}", json={"cuont": 2}))
    assert (await client.get(f"{things}/{created['id']}")).json() == created


async def test_read_only_and_server_set_fields_are_never_written(client: Any, things: str) -> None:
    sent = thing(id=999, created_at="2000-01-01T00:00:00Z")
    created = await client.post(things, json=sent)
    assert created.status_code == 201
    body = created.json()
    assert body["id"] != 999 and not body["created_at"].startswith("2000")
    patched = await client.patch(
        f"{things}/{body['id']}", json={"id": 5, "created_at": "2000-01-01T00:00:00Z", "count": 2}
    )
    assert patched.status_code == 200
    assert patched.json() == {**body, "count": 2}


async def test_write_only_fields_are_never_read(
    database: Any, kind: str, client_for: Any
) -> None:
    class OwnerSchema(fr.IDSchema):
        name: fr.WriteOnly[str]

    from .models import Owner

    app = FastAPI()
    namespace = {"prefix": "/owners", "model": Owner, "schema": OwnerSchema}
    fr.include_view(app, type("OwnerView", (view_base(kind),), namespace))
    client = client_for(app)
    created = await client.post("/owners", json={"name": "secret"})
    assert created.status_code == 201 and created.json() == {"id": created.json()["id"]}
    owner_id = created.json()["id"]
    for response in (
        await client.get(f"/owners/{owner_id}"),
        await client.get("/owners"),
        await client.patch(f"/owners/{owner_id}", json={"name": "other"}),
    ):
        assert "secret" not in response.text and "other" not in response.text
        assert "name" not in response.text
