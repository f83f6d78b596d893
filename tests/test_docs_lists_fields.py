"""The example of sparse fields and expansion (docs/list-parameters.md), loaded from
``docs/examples/`` and exercised over HTTP like a reader would."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

import restly as fr
from tests.test_docs_examples import fr_globals, load, serve

__all__ = ["fr_globals", "load"]  # fixtures, imported to be used here

pytestmark = pytest.mark.anyio


async def test_list_fields_expand(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("list_fields_expand")
    engine = fr_globals.get_async_engine()
    await fr.db.async_create_all(example.Base, engine)
    async with fr.async_session(fr_globals) as session:
        session.add_all(
            [
                example.Author(id=1, name="Frank Herbert", password="spice"),
                example.Author(id=2, name="Jane Austen", password="darcy", retired=True),
                example.Book(id=1, title="Dune", published_at=date(1965, 8, 1), author_id=1),
                example.Book(id=2, title="Emma", published_at=date(1815, 12, 23), author_id=2),
                example.Book(id=3, title="Messiah", published_at=date(1969, 10, 15), author_id=1),
                example.Review(id=1, book_id=1, stars=5),
                example.Review(id=2, book_id=3, stars=3),
            ]
        )
    async with serve(example.app, fr_globals) as client:
        sparse = await client.get("/books", params={"fields": "id,title", "page_size": 2})
        assert sparse.json()["items"] == [{"id": 1, "title": "Dune"}, {"id": 2, "title": "Emma"}]

        statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        expanded = await client.get("/books", params={"expand": "author,reviews"})
        assert len(statements) == 3  # the page (short: it proves the total), one load per relation
        first, emma, _ = expanded.json()["items"]
        assert first == {
            "id": 1, "title": "Dune", "published_at": "1965-08-01", "author_id": 1,
            "author": {"id": 1, "name": "Frank Herbert"},
            "reviews": [{"id": 1, "book_id": 1, "stars": 5}],
        }  # fmt: skip
        assert emma["author"] is None  # retired: hidden by the row scope
        assert "spice" not in expanded.text

        one = await client.get("/books/1", params={"fields": "title,author.name"})
        assert one.json() == {"title": "Dune", "author": {"name": "Frank Herbert"}}

        refused = await client.get("/books", params={"fields": "title,author.password"})
        assert refused.status_code == 422
        assert "'author.password'" in refused.json()["detail"][0]["msg"]

        walked, url = [], "/books?fields=title&order_by=-published_at&page_size=1"
        while url:
            page = (await client.get(url)).json()
            walked += [item["title"] for item in page["items"]]
            cursor = page.get("next_cursor")
            url = f"/books?fields=title&order_by=-published_at&page_size=1&cursor={cursor}" if cursor else ""
        assert walked == ["Messiah", "Dune", "Emma"]
