"""Scenarios are deterministic, and every request succeeds against the baseline app."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from benchmarks.dataset import BOOKS, Database, generate_rows
from benchmarks.scenarios import SCENARIOS


def test_requests_are_identical_on_every_call():
    for scenario in SCENARIOS.values():
        assert scenario.requests() == scenario.requests()


def test_seed_rows_are_deterministic_with_unique_sort_keys():
    authors, books = generate_rows()
    assert (authors, books) == generate_rows()
    assert len({book["published_at"] for book in books}) == len(books) == BOOKS


def test_identity_keeps_what_must_match():
    page = {"items": [{"id": 4, "title": "x"}], "total": 9, "page": 2, "page_size": 1, "total_pages": 9}
    assert SCENARIOS["list50"].identity(page) == {
        "total": 9, "page": 2, "page_size": 1, "total_pages": 9, "ids": [4],
    }  # fmt: skip
    assert SCENARIOS["get"].identity({"id": 4, "title": "x"}) == 4
    assert SCENARIOS["create"].identity({"id": 4, "title": "x"}) == ["id", "title"]


@pytest.fixture
def handwritten_app(tmp_path, monkeypatch):
    database = Database.create("sqlite", tmp_path)
    database.seed()
    for name, value in database.environ().items():
        monkeypatch.setenv(name, value)
    from benchmarks.contenders.handwritten import app

    return app


def test_every_scenario_succeeds_against_the_handwritten_app(handwritten_app):
    async def replay() -> None:
        transport = httpx.ASGITransport(app=handwritten_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for scenario in SCENARIOS.values():
                for request in scenario.requests()[:5]:
                    response = await client.request(request.method, request.path, json=request.body)
                    assert response.status_code == scenario.status, (request, response.text)
                    body = response.json()
                    if "items" in body:
                        assert len(body["items"]) == body["page_size"]

    assert os.environ["RESTLY_BENCH_ASYNC_URL"].startswith("sqlite+aiosqlite")
    asyncio.run(replay())


def test_every_patch_changes_its_row_even_when_replayed():
    state = {book["id"]: (book["price"], book["in_stock"]) for book in generate_rows()[1]}
    for request in SCENARIOS["patch"].requests() * 2:
        book_id = int(request.path.rsplit("/", 1)[1])
        new = (request.body["price"], request.body["in_stock"])
        assert new != state[book_id], request
        state[book_id] = new
