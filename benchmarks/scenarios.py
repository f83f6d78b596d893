"""The benchmark scenarios, each a deterministic list of HTTP requests.

A load generator replays a scenario's requests round-robin; ``identity`` reduces a
response to what every contender must agree on, so a contender that does less work
(wrong page, missing total) fails verification instead of winning::

    scenario = SCENARIOS["get"]
    for request in scenario.requests()[:3]:
        print(request.method, request.path)
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .dataset import AUTHORS, BOOKS, generate_rows
from .models import STATUSES

__all__ = ["SCENARIOS", "Request", "Scenario"]

REQUESTS_PER_SCENARIO = 500
_SEED = 7


@dataclass(frozen=True)
class Request:
    """One HTTP request; ``body`` is a JSON document or ``None``."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    #: Send a new ``Idempotency-Key`` with every request (the load generators make one
    #: per request sent, so a replayed list never repeats a key).
    keyed: bool = False

    def body_bytes(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Scenario:
    """A named workload: its requests, the status every response must have, and whether
    it writes (then the runner resets the database after measuring it)."""

    name: str
    title: str
    status: int
    build: Callable[[random.Random], list[Request]] = field(repr=False)
    writes: bool = False

    def requests(self) -> list[Request]:
        """The scenario's requests; the same list on every call and in every process."""
        return self.build(random.Random(f"{_SEED}-{self.name}"))

    def identity(self, body: Any) -> Any:
        """What every contender's response must agree on (values may differ in format)."""
        if not isinstance(body, dict):
            return type(body).__name__
        if "items" in body:
            found = {
                **{key: body.get(key) for key in ("total", "page", "page_size", "total_pages")},
                "ids": [item.get("id") for item in body["items"]],
            }
            if any("author" in item for item in body["items"]):  # an expanded author
                found["authors"] = [
                    (item.get("author") or {}).get("name") for item in body["items"]
                ]
            return found
        if self.name.startswith("create"):
            return sorted(body)
        return body.get("id")


def _repeat(path: str) -> Callable[[random.Random], list[Request]]:
    return lambda _rng: [Request("GET", path)]


def _gets(rng: random.Random) -> list[Request]:
    ids = rng.sample(range(1, BOOKS + 1), REQUESTS_PER_SCENARIO)
    return [Request("GET", f"/books/{book_id}") for book_id in ids]


def _creates(rng: random.Random) -> list[Request]:
    return [
        Request(
            "POST",
            "/books",
            {
                "title": f"New book {i}",
                "pages": rng.randint(40, 1200),
                "price": round(rng.uniform(2, 120), 2),
                "in_stock": rng.random() < 0.5,
                "published_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00",
                "summary": None if i % 4 == 0 else f"Summary of new book {i}.",
                "status": rng.choice(STATUSES),
                "author_id": rng.randint(1, AUTHORS),
            },
        )
        for i in range(REQUESTS_PER_SCENARIO)
    ]


def _keyed_creates(rng: random.Random) -> list[Request]:
    """The creates of ``create``, each sent with a new ``Idempotency-Key``: what the first
    request with a key costs (claim, store) against the plain create in the same run. The
    handwritten baseline ignores the header."""
    return [
        Request(request.method, request.path, request.body, keyed=True)
        for request in _creates(rng)
    ]


def _patches(rng: random.Random) -> list[Request]:
    """Two passes over the same rows, so that every PATCH changes the row it hits.

    Pass A moves ``price`` and ``in_stock`` away from the seeded values, pass B to other
    values; replaying A after B changes them again. (Repeating one body would make every
    later PATCH a no-op: SQLAlchemy issues no UPDATE for unchanged values.) The runner
    restores the seeded values after each measurement. Nothing else filters or sorts on
    these columns.
    """
    seeded = {book["id"]: book for book in generate_rows()[1]}
    ids = rng.sample(range(1, BOOKS + 1), REQUESTS_PER_SCENARIO // 2)
    return [
        Request(
            "PATCH",
            f"/books/{book_id}",
            {
                "price": round(seeded[book_id]["price"] + step, 2),
                "in_stock": (step == 1) != seeded[book_id]["in_stock"],
            },
        )
        for step in (1, 2)
        for book_id in ids
    ]


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "list50",
            "list 50, filter + sort + total",
            200,
            _repeat("/books?status=published&order_by=-published_at&page=3&page_size=50"),
        ),
        Scenario(
            "list50_expand",
            "list 50 as list50, each book's author expanded",
            200,
            _repeat(
                "/books?status=published&order_by=-published_at&page=3&page_size=50&expand=author"
            ),
        ),
        Scenario("get", "get by id", 200, _gets),
        Scenario("create", "create", 201, _creates, writes=True),
        Scenario("create_keyed", "create + Idempotency-Key", 201, _keyed_creates, writes=True),
        Scenario("patch", "patch", 200, _patches, writes=True),
        Scenario("list1000", "list 1000", 200, _repeat("/books?order_by=id&page=3&page_size=1000")),
    )
}
