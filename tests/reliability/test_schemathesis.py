"""Contract fuzzing: schemathesis generates requests (valid and invalid) from the OpenAPI
document of the representative app and checks every answer.

For every operation of sync and async views over a resource with every field kind:

- no 5xx answer, ever;
- every status code is documented for its operation;
- every documented response body conforms to its schema, with the documented content type;
- data violating the schema is refused (negative data rejection).

One long-lived client serves all cases, so async engines keep a single event loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, reject, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient  # noqa: E402
from starlette.testclient import httpx as _client_http  # noqa: E402  (httpx2 or httpx)

import restly as fr  # noqa: E402
from restly.db import FRGlobals, use_fr_globals  # noqa: E402

from .models import Base, make_app  # noqa: E402

#: Examples per operation and generation mode; keeps the whole test well under 90 s.
MAX_EXAMPLES = int(os.environ.get("RESTLY_FUZZ_EXAMPLES", "60"))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz_globals(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[FRGlobals]:
    from tests.conftest import postgres_urls, sqlite_urls

    urls = sqlite_urls(tmp_path) if request.param == "sqlite" else postgres_urls()
    g = FRGlobals()
    with use_fr_globals(g):
        fr.configure(database_url=urls.sync_url, async_database_url=urls.async_url)
        engine = g.get_engine()
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        try:
            yield g
        finally:
            g.reset_database()
            Base.metadata.drop_all(engine)
            engine.dispose()


def test_the_api_honours_its_openapi_contract(fuzz_globals: FRGlobals) -> None:
    app = make_app()
    schema = schemathesis.openapi.from_dict(app.openapi())
    tally = {"cases": 0, "5xx": 0}
    failures: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        try:
            fuzz(schema, client, tally, failures)
        finally:
            # async engines were used inside the client's event loop: dispose them there
            client.portal.call(fuzz_globals.dispose)  # type: ignore[union-attr]
    print(f"schemathesis: {tally['cases']} cases, {tally['5xx']} answers 5xx")
    assert not failures, "\n\n".join(failures[:10])
    assert tally["5xx"] == 0


def fuzz(schema: Any, client: TestClient, tally: dict[str, int], failures: list[str]) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(operation, mode, client, tally, failures)


def fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    client: TestClient,
    tally: dict[str, int],
    failures: list[str],
) -> None:
    # A list route's parameters are all query text, where "invalid data must be refused"
    # cannot be decided (``?name__ne=true``: `true` is a fine string). Those routes keep
    # every other check, invalid data included; tests/query asserts their 422s one by one.
    is_list = operation.method.upper() == "GET" and not operation.path.endswith("}")
    checks = [check for check in CHECKS if not (is_list and check is negative_data_rejection)]

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        kwargs.pop("cookies", None)  # the API reads none; httpx deprecates them
        if isinstance(kwargs.get("data"), (bytes, str)):
            kwargs["content"] = kwargs.pop("data")  # httpx spelling of a raw body
        try:
            response = client.request(**kwargs)
        except _client_http.InvalidURL:
            reject()  # a URL the HTTP client itself refuses to send never reaches the server
        tally["cases"] += 1
        tally["5xx"] += response.status_code >= 500
        try:
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - reported together
            failures.append(f"{operation.label}: {str(error)[:1500]}")

    run()
