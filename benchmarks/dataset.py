"""The benchmark database: where it lives, how it is seeded, how it is reset.

Seeding is deterministic (fixed random seed), so every run and every contender serves the
same rows::

    database = Database.create("sqlite", workdir)   # or "postgresql"
    database.seed()                                 # fresh tables, 500 authors, 10,000 books
    database.reset()                                # undo what the write scenarios did
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, bindparam, delete, insert, or_, text, update

import restly as fr

from .db import ASYNC_URL_ENV, PGBOUNCER_ENV, SYNC_URL_ENV, make_sync_engine
from .models import STATUSES, Author, Base, Book

__all__ = ["AUTHORS", "BACKENDS", "BOOKS", "POSTGRES_URL_ENV", "Database"]

AUTHORS = 500
BOOKS = 10_000
SEED = 20_240_601
BACKENDS = ("sqlite", "postgresql")
POSTGRES_URL_ENV = "RESTLY_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/restly_bench"
EPOCH = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Database:
    """One benchmark database, reachable through a sync and an async driver."""

    backend: str
    sync_url: str
    async_url: str
    #: Where the contenders connect, when not straight to the database: ``user@host:port/db``
    #: of a PgBouncer in front of it (the runner seeds and resets directly).
    pgbouncer: str | None = None

    @classmethod
    def create(cls, backend: str, workdir: Path) -> Database:
        """Point at a fresh SQLite file in ``workdir``, or at the PostgreSQL database."""
        if backend == "sqlite":
            path = workdir / "bench.sqlite3"
            return cls(backend, f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}")
        if backend == "postgresql":
            url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
            rest = url.split("://", 1)[1]
            return cls(backend, f"postgresql+psycopg://{rest}", f"postgresql+asyncpg://{rest}")
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")

    def environ(self) -> dict[str, str]:
        """Environment variables that tell a contender process which database to use."""
        if self.pgbouncer is None:
            return {ASYNC_URL_ENV: self.async_url, SYNC_URL_ENV: self.sync_url}
        return {
            ASYNC_URL_ENV: f"postgresql+asyncpg://{self.pgbouncer}",
            SYNC_URL_ENV: f"postgresql+psycopg://{self.pgbouncer}",
            PGBOUNCER_ENV: "1",
        }

    def free_connections(self) -> int | None:
        """Client connections the database server still accepts (``None``: no such limit).

        PostgreSQL refuses a connection past ``max_connections`` ("sorry, too many clients
        already"); the runner compares this with what its contenders' pools may open before
        it starts them, so a run does not fail half-way with 500s.
        """
        if self.backend != "postgresql":
            return None
        engine = make_sync_engine(self.sync_url)
        try:
            with engine.connect() as connection:
                limit = connection.execute(text("SHOW max_connections")).scalar_one()
                used = connection.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
                ).scalar_one()
        finally:
            engine.dispose()
        return int(limit) - int(used)

    def seed(self) -> None:
        """(Re)create the tables and insert the deterministic data set."""
        engine = make_sync_engine(self.sync_url)
        try:
            Base.metadata.drop_all(engine)
            Base.metadata.create_all(engine)
            fr.idempotency_metadata.drop_all(engine)  # restly's keys (create_keyed)
            fr.idempotency_metadata.create_all(engine)
            authors, books = generate_rows()
            with engine.begin() as connection:
                connection.execute(insert(Author), authors)
                connection.execute(insert(Book), books)
            with engine.connect() as connection:
                if self.backend == "sqlite":
                    # WAL lets readers run while a write scenario commits, as in production.
                    connection.execute(text("PRAGMA journal_mode=WAL"))
                else:
                    # Rows were inserted with explicit ids: move the sequences past them.
                    for table in ("author", "book"):
                        connection.execute(
                            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))")
                        )  # fmt: skip
                # Fresh planner statistics, so both backends plan the list queries well.
                connection.execute(text("ANALYZE"))
                connection.commit()
            self._vacuum(engine)
        finally:
            engine.dispose()

    def _vacuum(self, engine: Engine) -> None:
        """PostgreSQL: ``VACUUM ANALYZE`` the tables the write scenarios change.

        Every create leaves a row that ``reset`` deletes, every patch an old row version:
        dead tuples that autovacuum clears only now and then. Left alone, 24 create and
        reset cycles grew ``book`` from 300 to 7,721 pages and made list50's two statements
        13× slower (1.9 → 24 ms), so list throughput fell round after round whatever the
        contender; a vacuumed table (as autovacuum keeps a production one) reads in 0.5 ms.
        """
        if self.backend != "postgresql":
            return
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) book, author"))
            connection.execute(text(f"VACUUM (ANALYZE) {fr.idempotency.idempotency_keys.name}"))

    def reset(self) -> None:
        """Back to the seeded state: delete the books a create scenario added and restore
        the columns the patch scenario changes (``price``, ``in_stock``)."""
        _authors, books = generate_rows()
        table = Book.__table__
        restore = (  # only the rows a patch changed: no new row version for the others
            update(table)
            .where(
                table.c.id == bindparam("row_id"),
                or_(
                    table.c.price.is_distinct_from(bindparam("seed_price")),
                    table.c.in_stock.is_distinct_from(bindparam("seed_in_stock")),
                ),
            )
            .values(price=bindparam("seed_price"), in_stock=bindparam("seed_in_stock"))
        )
        rows = [
            {"row_id": book["id"], "seed_price": book["price"], "seed_in_stock": book["in_stock"]}
            for book in books
        ]
        engine = make_sync_engine(self.sync_url)
        try:
            with engine.begin() as connection:
                connection.execute(delete(table).where(table.c.id > BOOKS))
                connection.execute(delete(fr.idempotency.idempotency_keys))
                connection.execute(restore, rows)
            self._vacuum(engine)
        finally:
            engine.dispose()


def generate_rows() -> tuple[list[dict], list[dict]]:
    """The seeded rows, identical on every call: ``(authors, books)``."""
    rng = random.Random(SEED)
    authors = [
        {
            "id": i,
            "name": f"Author {i}",
            "email": f"author{i}@example.org",
            "born": rng.randint(1900, 2000),
            "bio": None if rng.random() < 0.3 else f"Biography of author {i}. " * 4,
        }
        for i in range(1, AUTHORS + 1)
    ]
    # Distinct minutes make published_at unique, so a sort on it has exactly one answer
    # and every contender returns the same page.
    minutes = rng.sample(range(20 * 365 * 24 * 60), BOOKS)
    books = [
        {
            "id": i,
            "title": f"Book {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
            "pages": rng.randint(40, 1200),
            "price": round(rng.uniform(2, 120), 2),
            "in_stock": rng.random() < 0.7,
            "published_at": EPOCH + timedelta(minutes=minutes[i - 1]),
            "summary": None if rng.random() < 0.25 else f"Summary of book {i}. " * 8,
            "status": rng.choices(STATUSES, weights=(2, 6, 2))[0],
            "author_id": rng.randint(1, AUTHORS),
        }
        for i in range(1, BOOKS + 1)
    ]
    return authors, books


WORDS = ("river", "stone", "night", "garden", "machine", "letter", "winter", "signal")
