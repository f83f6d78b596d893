"""Support for the reference and relationship tests: tables, apps and a statement counter.

::

    async with tables(db_urls, Base.metadata) as db:
        seed(db, [Author(id=1, name="Ann")])
        view = rest_view(fr.AsyncRestView, Book, BookSchema, "/books", globals=g)
        async with client_for(view) as http, StatementCounter(db) as statements:
            await http.get("/books")
        assert statements.count == 3
"""

from __future__ import annotations

import types
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, Integer, MetaData, event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

import restly as fr
from restly.db import build_async_engine, build_engine

__all__ = ["Database", "StatementCounter", "client_for", "rest_view", "seed", "tables"]


@dataclass(frozen=True)
class Database:
    """A sync and an async engine on one test database holding fresh tables."""

    dialect: str
    engine: Engine
    async_engine: AsyncEngine


@asynccontextmanager
async def tables(db_urls: Any, metadata: MetaData) -> AsyncIterator[Database]:
    """Create ``metadata``'s tables (dropping leftovers first); drop them afterwards."""
    pgbouncer = getattr(db_urls, "pgbouncer", False)
    engine = build_engine(db_urls.sync_url, pgbouncer=pgbouncer)
    async_engine = build_async_engine(db_urls.async_url, pgbouncer=pgbouncer)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    try:
        yield Database(db_urls.dialect, engine, async_engine)
    finally:
        await async_engine.dispose()
        metadata.drop_all(engine)
        engine.dispose()


def seed(db: Database, rows: Iterable[Any]) -> None:
    """Store ``rows`` (ORM objects with explicit ids) and commit; on PostgreSQL, move the
    id sequences past them so rows created later get fresh ids."""
    rows = list(rows)
    with Session(db.engine) as session:
        session.add_all(rows)
        session.flush()
        if db.dialect == "postgresql":
            tables = {type(row).__table__ for row in rows}
            for table in (t for t in tables if isinstance(t.c.id.type, Integer)):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )
        session.commit()


def rest_view(
    base: type[Any] | tuple[type[Any], ...],
    model: type[Any],
    schema: type[Any],
    prefix: str,
    *,
    globals: fr.FRGlobals,  # noqa: A002 - mirrors the class keyword
    **options: Any,
) -> type[Any]:
    """``class <Model>View(*bases, globals=globals): prefix, model, schema, **options``."""
    namespace = {"prefix": prefix, "model": model, "schema": schema, **options}
    bases = base if isinstance(base, tuple) else (base,)
    return types.new_class(
        f"{model.__name__}View", bases, {"globals": globals}, lambda ns: ns.update(namespace)
    )


@asynccontextmanager
async def client_for(
    db: Database, fr_globals: fr.FRGlobals, *views: type[Any]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of an app mounting ``views``, configured with ``db``'s engines."""
    with fr.use_fr_globals(fr_globals):
        fr.configure(engine=db.engine, async_engine=db.async_engine)
    app = FastAPI()
    fr.include_view(app, *views)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


class StatementCounter:
    """Counts the SQL statements both engines of ``db`` send while the block runs."""

    def __init__(self, db: Database) -> None:
        self._engines = (db.engine, db.async_engine.sync_engine)
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        """How many statements were sent."""
        return len(self.statements)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    async def __aenter__(self) -> StatementCounter:
        for engine in self._engines:
            event.listen(engine, "before_cursor_execute", self._record)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        for engine in self._engines:
            event.remove(engine, "before_cursor_execute", self._record)
