"""The examples of ``fr.MustExist`` (docs/relationships.md) and of storage limits
(docs/schemas.md), loaded from ``docs/examples/`` and exercised over HTTP like a reader would."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from sqlalchemy import event

import restly as fr
from restly.exc import RestlyConfigurationError
from tests.test_docs_examples import fr_globals, load, serve

__all__ = ["fr_globals", "load"]  # fixtures, imported to be used here

pytestmark = pytest.mark.anyio


async def test_must_exist(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("references_must_exist")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with fr.async_session(fr_globals) as session:
        session.add_all([example.Author(name="Ann"), example.Author(name="Bob")])
    engine = fr_globals.get_async_engine().sync_engine
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async with serve(example.app, fr_globals) as client:
        missing = await client.post(
            "/reviews", json={"text": "Great", "author_id": 1, "editor_id": 9}
        )
        assert (missing.status_code, missing.json()) == (
            404,
            {"detail": "Id not found for editor_id: 9"},
        )
        event.listen(engine, "before_cursor_execute", record)
        try:
            created = await client.post(
                "/reviews",
                json={"text": "Great", "author_id": 1, "editor_id": 2, "legacy_author": 2},
            )
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert created.status_code == 201, created.text
        assert created.json() == {
            "id": 1, "text": "Great", "author_id": 1, "editor_id": 2, "legacy_author": 2
        }
        lookups = [s for s in statements if s.startswith("SELECT")]
        assert lookups == [
            "SELECT author.id \nFROM author \nWHERE author.id IN (?, ?)"
        ], statements
        cleared = await client.patch("/reviews/1", json={"editor_id": None})
        assert cleared.status_code == 200 and cleared.json()["editor_id"] is None
        wrapped = await client.post("/reviews", json={"text": "X", "author_id": {"id": 1}})
        assert wrapped.status_code == 422  # a plain int, unlike fr.IDRef
        filtered = (await client.get("/reviews", params={"author_id": 1})).json()
        assert [review["id"] for review in filtered] == [1]
        document = (await client.get("/openapi.json")).json()["components"]["schemas"]
        assert document["ReviewCreate"]["properties"]["author_id"]["type"] == "integer"


async def test_must_exist_error_message_shown_in_the_guide(
    load: Any, fr_globals: fr.FRGlobals
) -> None:
    example = load("references_must_exist")

    class ReviewSchema(fr.IDSchema):
        text: str
        author_id: fr.MustExist[int]
        legacy_author: Optional[fr.MustExist[int]] = None

    with pytest.raises(RestlyConfigurationError) as raised:

        class ReviewView(fr.AsyncRestView, globals=fr_globals):
            prefix = "/old-reviews"
            model = example.Review
            schema = ReviewSchema

    assert raised.value.problems == (
        "ReviewView.schema field 'legacy_author' is fr.MustExist[int] but column "
        "Review.legacy_author has no ForeignKey to take the target from; name the target: "
        "fr.MustExist[int, Target].",
    )


async def test_storage_limits(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("schemas_storage_limits")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with serve(example.app, fr_globals) as client:
        too_long = await client.post("/authors", json={"name": "x" * 101})
        assert too_long.status_code == 422
        (error,) = too_long.json()["detail"]
        assert (error["type"], error["loc"], error["msg"]) == (
            "string_too_long",
            ["body", "name"],
            "String should have at most 100 characters",
        )
        handle = await client.post("/authors", json={"name": "Ann", "handle": "h" * 16})
        assert handle.json()["detail"][0]["ctx"] == {"max_length": 15}
        for stars in (-1, 2**15):
            refused = await client.post("/authors", json={"name": "A", "stars": stars})
            assert refused.status_code == 422
        created = await client.post("/authors", json={"name": "n" * 100, "stars": 2**15 - 1})
        assert created.status_code == 201, created.text
        patched = await client.patch("/authors/1", json={"name": "y" * 101})
        assert patched.status_code == 422
        schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
        creation = schemas["AuthorCreate"]["properties"]
        assert creation["name"]["maxLength"] == 100
        assert creation["handle"]["maxLength"] == 15
        assert (creation["stars"]["minimum"], creation["stars"]["maximum"]) == (0, 2**15 - 1)
        assert "maxLength" not in schemas["AuthorSchema"]["properties"]["name"]
