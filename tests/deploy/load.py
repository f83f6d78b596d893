"""A bounded mixed load over HTTP (httpx, loopback) and the checks of what it left behind.

Each of ``concurrency`` clients works on rows of its own (so every answer is known in
advance): it creates notes (async view) and memos (sync view), some with an
``Idempotency-Key`` that it sends again on a fresh connection, patches and deletes rows it
created, lists, and writes batches of lines. `Ledger` records what the server answered;
`check_database` compares it with the rows left::

    ledger = asyncio.run(mixed_load(server.url, operations=400))
    ledger.assert_no_surprises()
    check_database(sync_url, ledger)
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from .models import Batch, Line, Memo, Note

__all__ = ["Ledger", "check_database", "mixed_load", "walk_pages"]

RESOURCES = ("notes", "memos")
TIMEOUT = 30.0


@dataclass
class Ledger:
    """What a load run was answered."""

    #: ``(method, route) -> Counter(status)``
    statuses: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)
    #: Answers whose status was not the one the request must get: ``(request, status, body)``.
    surprises: list[tuple[str, int, str]] = field(default_factory=list)
    #: resource -> {id: title} of rows created (a 201) and not deleted since.
    alive: dict[str, dict[int, str]] = field(default_factory=lambda: {r: {} for r in RESOURCES})
    #: resource -> ids deleted (a 204).
    deleted: dict[str, set[int]] = field(default_factory=lambda: {r: set() for r in RESOURCES})
    #: resource -> {id: rank} last written by a 200 PATCH (or the create).
    ranks: dict[str, dict[int, int]] = field(default_factory=lambda: {r: {} for r in RESOURCES})
    #: batch id -> size, of every 201 batch.
    batches: dict[int, int] = field(default_factory=dict)
    #: keyed creates: (resource, title, id) of each.
    keyed: list[tuple[str, str, int]] = field(default_factory=list)
    #: keyed creates whose retry (on a new connection) replayed the first answer.
    replays: int = 0
    #: The worker processes that answered (their ``X-Worker``).
    workers: set[str] = field(default_factory=set)
    requests: int = 0

    def record(self, label: str, response: httpx.Response, expected: int) -> None:
        self.requests += 1
        method, route = label.split(" ", 1)
        self.statuses.setdefault((method, route), Counter())[response.status_code] += 1
        self.workers.add(response.headers.get("x-worker", "?"))
        if response.status_code != expected:
            self.surprises.append((label, response.status_code, response.text[:300]))

    def assert_no_surprises(self) -> None:
        assert not self.surprises, self.surprises[:10]
        server_errors = {k: c for k, c in self.statuses.items() if any(s >= 500 for s in c)}
        assert not server_errors, server_errors


#: Sent on a request, the server closes the connection after answering: the client's next
#: request opens a new one, which any worker may accept.
LAST = {"Connection": "close"}
#: What each client does, in turn.
STEPS = ("create", "list", "patch", "create", "keyed", "patch", "delete", "list", "batch", "get")


async def mixed_load(
    base: str, *, operations: int, concurrency: int = 8, run: str = "", ledger: Ledger | None = None
) -> Ledger:
    """Send about ``operations`` requests from ``concurrency`` clients; the `Ledger` (a
    new one, or ``ledger`` continued: then give each run its own ``run`` label)."""
    ledger = Ledger() if ledger is None else ledger
    per_client = max(1, operations // concurrency)
    async with httpx.AsyncClient(
        base_url=base, timeout=TIMEOUT, limits=httpx.Limits(max_connections=concurrency * 2)
    ) as client:
        await asyncio.gather(
            *(_client(client, ledger, f"{run}{n}", per_client) for n in range(concurrency))
        )
    return ledger


async def _client(client: httpx.AsyncClient, ledger: Ledger, name: str, count: int) -> None:
    mine: dict[str, list[int]] = {r: [] for r in RESOURCES}
    steps = itertools.cycle(STEPS)
    for step_number in range(count):
        resource = RESOURCES[step_number % 2]
        step = next(steps)
        if step in ("patch", "delete", "get") and not mine[resource]:
            step = "create"
        await _step(client, ledger, resource, step, mine[resource], f"{name}-{step_number}")


async def _step(
    client: httpx.AsyncClient, ledger: Ledger, resource: str, step: str, mine: list[int],
    tag: str,
) -> None:  # fmt: skip
    path = f"/{resource}"
    if step == "create":
        body = {"title": f"t-{tag}", "rank": 0}
        response = await client.post(path, json=body)
        ledger.record(f"POST {path}", response, 201)
        if response.status_code == 201:
            _created(ledger, resource, mine, response.json())
    elif step == "keyed":
        body = {"title": f"k-{tag}", "rank": 0}
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        first = await client.post(path, json=body, headers={**headers, **LAST})
        ledger.record(f"POST {path} (keyed)", first, 201)
        again = await client.post(path, json=body, headers=headers)  # on a new connection
        ledger.record(f"POST {path} (retry)", again, 201)
        if first.status_code == 201:
            _created(ledger, resource, mine, first.json())
            ledger.keyed.append((resource, body["title"], first.json()["id"]))
            if again.headers.get("idempotent-replayed") == "true" and again.content == first.content:
                ledger.replays += 1
    elif step == "patch":
        row_id = mine[len(mine) // 2]
        rank = ledger.ranks[resource][row_id] + 1
        response = await client.patch(f"{path}/{row_id}", json={"rank": rank})
        ledger.record(f"PATCH {path}/{{id}}", response, 200)
        if response.status_code == 200:
            ledger.ranks[resource][row_id] = rank
    elif step == "delete":
        row_id = mine.pop(0)
        response = await client.delete(f"{path}/{row_id}")
        ledger.record(f"DELETE {path}/{{id}}", response, 204)
        if response.status_code == 204:
            ledger.deleted[resource].add(row_id)
            del ledger.alive[resource][row_id]
            del ledger.ranks[resource][row_id]
    elif step == "get":
        response = await client.get(f"{path}/{mine[-1]}")
        ledger.record(f"GET {path}/{{id}}", response, 200)
    elif step == "list":
        response = await client.get(path, params={"order_by": "-id", "page_size": 20}, headers=LAST)
        ledger.record(f"GET {path}", response, 200)
    else:
        response = await client.post("/batches", params={"size": 3})
        ledger.record("POST /batches", response, 201)
        if response.status_code == 201:
            ledger.batches[response.json()["id"]] = 3


def _created(ledger: Ledger, resource: str, mine: list[int], row: dict[str, Any]) -> None:
    mine.append(row["id"])
    ledger.alive[resource][row["id"]] = row["title"]
    ledger.ranks[resource][row["id"]] = row["rank"]


def check_database(sync_url: str, ledger: Ledger) -> dict[str, int]:
    """Assert the rows left are exactly what the answers said; the row counts."""
    engine = create_engine(sync_url, poolclass=NullPool)
    counts: dict[str, int] = {}
    try:
        with engine.connect() as connection:
            for resource, model in zip(RESOURCES, (Note, Memo)):
                rows = {row.id: (row.title, row.rank) for row in connection.execute(select(model))}
                expected = {
                    row_id: (title, ledger.ranks[resource][row_id])
                    for row_id, title in ledger.alive[resource].items()
                }
                assert rows == expected, f"{resource}: the rows are not what the 201/200/204 said"
                counts[resource] = len(rows)
            titles = Counter(
                connection.scalars(select(Note.title).union_all(select(Memo.title)))
            )
            wrong = [
                title
                for resource, title, row_id in ledger.keyed
                if titles[title] != (row_id in ledger.alive[resource])
            ]
            assert not wrong, f"keyed creates not stored exactly once (unless deleted): {wrong}"
            sizes = dict(
                connection.execute(
                    select(Batch.id, func.count(Line.id)).outerjoin(Line).group_by(Batch.id)
                ).all()
            )
            assert sizes == ledger.batches, "a batch is missing, extra, or not whole"
            counts["batches"] = len(sizes)
    finally:
        engine.dispose()
    return counts


async def walk_pages(base: str, resource: str, page_size: int, tries: int = 30) -> tuple[list[int], int]:
    """Walk every keyset page of ``resource`` over fresh connections; ``(ids, crossings)``.

    Until a cursor has been answered by a worker other than the one that issued it, each
    page's cursor is sent again (at most ``tries`` times) until one does; ``crossings``
    counts the cursors another worker accepted. Every answer to one cursor is one page."""
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
        return await _walk(client, resource, page_size, tries)


async def _walk(
    client: httpx.AsyncClient, resource: str, page_size: int, tries: int
) -> tuple[list[int], int]:
    ids: list[int] = []
    crossings = 0
    params: dict[str, Any] = {"order_by": "title", "page_size": page_size}
    issuer: str | None = None
    while True:
        answers: list[httpx.Response] = []
        for _ in range(tries if issuer is not None and not crossings else 1):
            response = await client.get(f"/{resource}", params=params, headers=LAST)
            assert response.status_code == 200, response.text
            answers.append(response)
            if response.headers["x-worker"] != issuer:
                break
        assert len({answer.content for answer in answers}) == 1, "one cursor, different pages"
        page = answers[-1]
        if issuer is not None and page.headers["x-worker"] != issuer:
            crossings += 1
        ids.extend(item["id"] for item in page.json())
        next_link = page.links.get("next")
        if next_link is None:
            return ids, crossings
        params = dict(httpx.URL(next_link["url"]).params)
        issuer = page.headers["x-worker"]
