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


@pytest.mark.postgres
def test_reset_restores_the_seeded_rows_and_leaves_no_dead_rows_behind(fresh_postgres_database, tmp_path):
    # Write scenarios are reset after every run; the dead row versions they left used to
    # pile up (300 pages grew to 7,721 over 24 runs) and slowed every list round after round.
    from sqlalchemy import func, insert, select, text, update

    from benchmarks.db import make_sync_engine
    from benchmarks.models import Book

    database = Database.create("postgresql", tmp_path)
    database.seed()
    engine = make_sync_engine(database.sync_url)
    pages = text("SELECT pg_relation_size('book') / current_setting('block_size')::int")
    try:
        with engine.connect() as connection:
            seeded_pages = connection.execute(pages).scalar_one()
            seeded = connection.execute(select(Book.id, Book.price, Book.in_stock).order_by(Book.id)).all()
        template = {k: v for k, v in generate_rows()[1][0].items() if k != "id"}
        for cycle in range(6):
            with engine.begin() as connection:  # what a create run and a patch run leave
                connection.execute(insert(Book), [dict(template, title=f"new {cycle} {n}") for n in range(500)])
                connection.execute(update(Book).where(Book.id <= 300).values(price=Book.price + 1, in_stock=~Book.in_stock))
            database.reset()
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(Book)).scalar_one() == BOOKS
            assert connection.execute(select(Book.id, Book.price, Book.in_stock).order_by(Book.id)).all() == seeded
            # vacuumed: the space of the dead versions is reused, not appended to
            assert connection.execute(pages).scalar_one() <= seeded_pages + 30
    finally:
        engine.dispose()
