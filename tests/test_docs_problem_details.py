"""The examples of the "Error format" guide (``docs/errors.md``, problem details), run as a
reader would: every answer shown there is checked here."""

from __future__ import annotations

from typing import Any

import pytest

import restly as fr
from tests.test_docs_examples import fr_globals, load, serve  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
NOT_AN_INTEGER = "Input should be a valid integer, unable to parse string as an integer"


async def test_errors_problem_details(load: Any, fr_globals: fr.FRGlobals) -> None:  # noqa: F811
    example = load("errors_problem_details")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        missing = await client.get("/books/7")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == PROBLEM
        assert missing.json() == {
            "type": "/problems/not-found",
            "title": "Not Found",
            "status": 404,
            "detail": "Not Found",
        }
        assert (await client.post("/authors", json={"name": "Ann"})).status_code == 201
        duplicate = await client.post("/authors", json={"name": "Ann"})
        assert duplicate.json() == {
            "type": "/problems/constraint-violation",
            "title": "Constraint Violation",
            "status": 409,
            "detail": "Unique constraint violated: name",
        }
        invalid = await client.post("/books", json={"author": "Ann"})
        assert invalid.status_code == 422
        assert invalid.json() == {
            "type": "/problems/validation",
            "title": "Invalid Request",
            "status": 422,
            "detail": (
                "title: Field required; "
                "author: Input should be a valid integer, unable to parse string as an integer"
            ),
            "errors": [
                {"detail": "Field required", "pointer": "#/title", "code": "missing"},
                {"detail": NOT_AN_INTEGER, "pointer": "#/author", "code": "int_parsing"},
            ],
        }
        unknown = await client.get("/books?colour=red")
        assert unknown.json()["errors"] == [
            {
                "detail": "Extra inputs are not permitted",
                "parameter": "colour",
                "code": "extra_forbidden",
            }
        ]
        not_allowed = await client.put("/books")
        assert not_allowed.headers["allow"] == "GET, HEAD, POST, OPTIONS"
        assert not_allowed.json() == {
            "type": "about:blank",
            "title": "Method Not Allowed",
            "status": 405,
            "detail": "Method Not Allowed",
        }
        head = await client.head("/books/7")
        assert (head.status_code, head.content, head.headers["content-type"]) == (404, b"", PROBLEM)
        document = example.app.openapi()
        response = document["paths"]["/books/{id}"]["get"]["responses"]["404"]
        problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
        assert response["content"] == {PROBLEM: problem}


async def test_errors_problem_extensions(load: Any, fr_globals: fr.FRGlobals) -> None:  # noqa: F811
    example = load("errors_problem_extensions")
    async with serve(example.app, fr_globals) as client:
        paid = await client.post("/invoices/7/pay")
        assert paid.status_code == 409
        assert paid.json() == {
            "type": "about:blank",
            "title": "Conflict",
            "status": 409,
            "detail": "This invoice is already paid",
            "invoice": 7,
        }
