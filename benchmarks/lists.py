"""Lists at scale: keyset pages deep in a large table, and planned against exact counts.

``python -m benchmarks.lists`` seeds one table of ``--rows`` rows (1,000,000 by default;
COPY on PostgreSQL, batched executemany on SQLite), serves it with restly's
``AsyncRestView`` in-process (ASGI, no sockets), and times, median of ``--requests``:

- a keyset page at the middle of the table against the first page (target <= 1.5x), and
  the same page by offset beside it, ordered by the primary key and by a key with ties;
- the total with ``Prefer: count=planned`` against ``count=exact`` (PostgreSQL; target
  >= 20x faster; elsewhere planned falls back to exact, and the ratio is about 1).

::

    python -m benchmarks.lists --backend postgresql              # 1,000,000 rows
    python -m benchmarks.lists --rows 100000 --requests 10       # a quick run

Ratios are of one run; nothing here is asserted by the tests (``benchmarks/tests`` only
check that a small run completes).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from sqlalchemy import Index, String, func, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.query import cursor_binding, cursor_codec, estimating, plans_counts, watch_estimates

from .dataset import BACKENDS, Database
from .db import make_async_engine, make_sync_engine
from .profile import call_asgi
from .scenarios import Request

__all__ = ["main"]

PAGE = 50
SCORES = 1000  # ~1,000 rows share each score: a sort key with many ties


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "bench_event"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    score: Mapped[int]
    label: Mapped[str] = mapped_column(String(40))
    # What a keyset listing by score needs: the sort key, then the tiebreaker.
    __table_args__ = (Index("ix_bench_event_score_id", "score", "id"),)


def _rows(count: int) -> Iterator[tuple[int, int, str]]:
    rng = random.Random(7)
    for index in range(1, count + 1):
        yield index, rng.randrange(SCORES), f"event {index}"


def seed(database: Database, rows: int) -> None:
    """A fresh ``bench_event`` of ``rows`` rows, with fresh planner statistics."""
    engine = make_sync_engine(database.sync_url)
    try:
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        if database.backend == "postgresql":
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                with cursor.copy("COPY bench_event (id, score, label) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in _rows(rows):
                        copy.write_row(row)
                raw.commit()
            finally:
                raw.close()
        else:
            with engine.begin() as connection:
                batch: list[dict[str, Any]] = []
                for index, score, label in _rows(rows):
                    batch.append({"id": index, "score": score, "label": label})
                    if len(batch) == 50_000:
                        connection.execute(insert(Event), batch)
                        batch.clear()
                if batch:
                    connection.execute(insert(Event), batch)
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    finally:
        engine.dispose()


def build_app(database: Database) -> tuple[FastAPI, type]:
    globals_ = fr.FRGlobals()
    with fr.use_fr_globals(globals_):
        fr.configure(async_engine=make_async_engine(database.async_url))

        class EventView(fr.AsyncRestView):
            prefix = "/events"
            model = Event
            include_pagination_metadata = True

        app = FastAPI()
        fr.include_view(app, EventView)
    return app, EventView


def middle_cursor(database: Database, view: type, order: str, depth: int) -> str:
    """The cursor a client holds after walking to row ``depth`` (made directly: walking
    half a million rows page by page would be the benchmark's whole run)."""
    columns = (Event.score, Event.id) if order == "score" else (Event.id,)
    engine = make_sync_engine(database.sync_url)
    try:
        with engine.connect() as connection:
            statement = select(*columns).order_by(*columns).offset(depth - 1).limit(1)
            values = tuple(connection.execute(statement).one())
    finally:
        engine.dispose()
    params = view.__restly_compiled__.list_params.get().model_validate(
        {"order_by": order, "page_size": PAGE} if order else {"page_size": PAGE}
    )
    binding = cursor_binding(view.__restly_compiled__.cursor_scope, params)
    return cursor_codec(None).encode(binding, values, False)


async def timed(app: Any, variants: list[tuple[str, dict[str, str]]], rounds: int) -> list[float]:
    """Median milliseconds of each ``(path, headers)``, measured in interleaved rounds (so
    the machine's other load hits them alike), after 3 untimed rounds."""
    times: list[list[float]] = [[] for _ in variants]
    for round_ in range(rounds + 3):
        for index, (path, headers) in enumerate(variants):
            start = time.perf_counter()
            status = await call_asgi(app, Request("GET", path), headers)
            elapsed = (time.perf_counter() - start) * 1000
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            if round_ >= 3:
                times[index].append(elapsed)
    return [statistics.median(samples) for samples in times]


async def measure(database: Database, rows: int, rounds: int) -> list[tuple[str, float, str]]:
    app, view = build_app(database)
    depth = rows // 2
    none = {"Prefer": "count=none"}
    results: list[tuple[str, float, str]] = []
    async with app.router.lifespan_context(app):
        for order in ("", "score"):
            base = {"page_size": PAGE, **({"order_by": order} if order else {})}
            label = f"order_by={order or 'id (default)'}"
            cursor = middle_cursor(database, view, order, depth)
            first, deep, offset = await timed(app, [
                (f"/events?{urlencode(base)}", none),
                (f"/events?{urlencode({**base, 'cursor': cursor})}", none),
                (f"/events?{urlencode({**base, 'page': depth // PAGE + 1})}", none),
            ], rounds)  # fmt: skip
            results += [
                (f"{label}: first page", first, "1.00x"),
                (f"{label}: keyset page at row {depth:,}", deep, f"{deep / first:.2f}x (target <= 1.5x)"),
                (f"{label}: offset page at row {depth:,}", offset, f"{offset / first:.2f}x"),
            ]
        for filters in ({}, {"score__lt": SCORES // 2}):
            path = f"/events?{urlencode({'page_size': PAGE, **filters})}"
            uncounted, exact, planned = await timed(app, [
                (path, none), (path, {"Prefer": "count=exact"}), (path, {"Prefer": "count=planned"}),
            ], rounds)  # fmt: skip
            # What the count itself costs: the request less the same request uncounted.
            exact_cost, planned_cost = exact - uncounted, max(planned - uncounted, 0.01)
            where = " where score < 500" if filters else ""
            results += [
                (f"first page, count=none{where}", uncounted, ""),
                (f"first page, count=exact{where}", exact, f"count: {exact_cost:.2f} ms"),
                (f"first page, count=planned{where}", planned,
                 f"{exact / planned:.1f}x faster; the count {exact_cost / planned_cost:.0f}x "
                 "(target >= 20x on PostgreSQL)"),
            ]  # fmt: skip
        results += await statements_alone(database, rounds)
    return results


async def statements_alone(database: Database, rounds: int) -> list[tuple[str, float, str]]:
    """The counting statements on their own (no HTTP, no page): ``count(*)`` against the
    ``EXPLAIN`` a planned count runs, interleaved."""
    engine = make_async_engine(database.async_url)
    watch_estimates(engine.sync_engine)
    exact_statement = select(func.count()).select_from(Event)
    planned_statement = (
        estimating(select(Event.id)) if plans_counts(engine.sync_engine) else exact_statement
    )
    times: tuple[list[float], list[float]] = ([], [])
    try:
        async with engine.connect() as connection:
            for round_ in range(rounds + 3):
                for samples, statement in zip(times, (exact_statement, planned_statement)):
                    start = time.perf_counter()
                    (await connection.execute(statement)).all()
                    if round_ >= 3:
                        samples.append((time.perf_counter() - start) * 1000)
    finally:
        await engine.dispose()
    exact, planned = (statistics.median(samples) for samples in times)
    kind = "EXPLAIN" if database.backend == "postgresql" else "count(*): no planner here"
    return [
        ("statement alone: SELECT count(*)", exact, "1.00x"),
        (f"statement alone: planned ({kind})", planned, f"{exact / planned:.0f}x faster"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lists", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the table (default 1,000,000)")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per measurement")
    args = parser.parse_args(argv)
    if args.rows < 2 * PAGE or args.requests < 1:
        parser.error(f"--rows must be at least {2 * PAGE} and --requests positive")
    with tempfile.TemporaryDirectory(prefix="restly-lists-") as workdir:
        database = Database.create(args.backend, Path(workdir))
        started = time.perf_counter()
        seed(database, args.rows)
        print(f"seeded {args.rows:,} rows on {args.backend} in {time.perf_counter() - started:.1f} s")
        results = asyncio.run(measure(database, args.rows, args.requests))
    out = io.StringIO()
    out.write(f"\n| {args.backend}, {args.rows:,} rows, page of {PAGE} | ms (median) | ratio |\n")
    out.write("|---|---:|---|\n")
    for name, milliseconds, ratio in results:
        out.write(f"| {name} | {milliseconds:.2f} | {ratio} |\n")
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
