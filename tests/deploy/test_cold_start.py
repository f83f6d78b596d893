"""Several processes creating the schema at once (a multi-worker cold start) on every backend:
one creates the tables and seeds them, the others wait and find them; none fails.

Each round drops the tables, then tells every process to start at the same instant; ten
rounds per backend. Two processes create the tests' tables, one with ``create_all``, one with
``async_create_all``; two others run the start-up of ``python -m restly demo`` (its tables
and sample data), at the same time."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import restly as fr
from restly._demo.models import Author, DemoBase
from restly._demo.seed import AUTHORS
from tests.conftest import DatabaseURLs

from .models import TAGS, Base, Tag
from .servers import ROOT

MODES = ("sync", "async", "demo", "demo")
PROCESSES = len(MODES)
ROUNDS = 10
ANSWER_SECONDS = 60


@pytest.fixture
def starters(db_urls: DatabaseURLs) -> Iterator[list[subprocess.Popen[str]]]:
    """``PROCESSES`` cold-start workers for the database of ``db_urls``, ready to go."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.deploy.coldstart_worker", db_urls.sync_url, mode],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for mode in MODES
    ]
    try:
        for process in processes:
            assert _answer(process) == "ready"
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.stdin.close()  # type: ignore[union-attr]
        for process in processes:
            try:
                process.wait(ANSWER_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(ANSWER_SECONDS)
            process.stdout.close()  # type: ignore[union-attr]


def _answer(process: subprocess.Popen[str]) -> str:
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line:
        raise AssertionError(f"a cold-start worker exited ({process.wait(ANSWER_SECONDS)})")
    return line.strip()


def _drop(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        for metadata in (Base.metadata, DemoBase.metadata, fr.idempotency_metadata):
            metadata.drop_all(engine)
    finally:
        engine.dispose()


def _schema(url: str) -> tuple[set[str], list[str], list[str]]:
    """The tables, the tags and the demo's authors."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            tags = list(connection.scalars(select(Tag.name).order_by(Tag.id)))
            authors = list(connection.scalars(select(Author.name).order_by(Author.id)))
            return tables, tags, authors
    finally:
        engine.dispose()


def test_workers_starting_at_once_create_and_seed_the_schema_once(
    db_urls: DatabaseURLs, starters: list[subprocess.Popen[str]]
) -> None:
    expected = {*Base.metadata.tables, *DemoBase.metadata.tables, *fr.idempotency_metadata.tables}
    try:
        for round_number in range(ROUNDS):
            _drop(db_urls.sync_url)
            for process in starters:  # all of them are blocked reading: they start together
                process.stdin.write("go\n")  # type: ignore[union-attr]
                process.stdin.flush()  # type: ignore[union-attr]
            answers = [_answer(process) for process in starters]
            assert answers == ["ok"] * PROCESSES, f"round {round_number}: {answers}"
            tables, tags, authors = _schema(db_urls.sync_url)
            assert expected <= tables, f"round {round_number}"
            assert tags == list(TAGS), f"round {round_number}: seeded more than once"
            assert authors == [name for name, _, _ in AUTHORS], f"round {round_number}"
    finally:
        _drop(db_urls.sync_url)


def test_a_failing_seed_rolls_back_and_frees_the_lock(
    db_urls: DatabaseURLs, fr_globals: fr.FRGlobals
) -> None:
    """A seed that raises leaves no sample rows (nor the tables, where DDL is transactional:
    PostgreSQL, SQLite) and does not keep the lock: the next start creates and seeds."""
    fr.configure(database_url=db_urls.sync_url)
    _drop(db_urls.sync_url)

    def broken_seed(session: Session) -> None:
        session.add(Tag(name="half"))
        session.flush()
        raise RuntimeError("seed failed")

    try:
        with pytest.raises(RuntimeError, match="seed failed"):
            fr.db.create_all(Base, seed=broken_seed)
        with fr_globals.get_engine().connect() as connection:
            if inspect(connection).has_table(Tag.__tablename__):  # MariaDB: DDL commits itself
                assert connection.scalar(select(func.count()).select_from(Tag)) == 0
            else:
                assert db_urls.dialect in ("postgresql", "sqlite")
        fr.db.create_all(Base, seed=lambda session: session.add(Tag(name="whole")))
        with fr_globals.get_engine().connect() as connection:
            assert list(connection.scalars(select(Tag.name))) == ["whole"]
    finally:
        fr_globals.get_engine().dispose()
        _drop(db_urls.sync_url)
